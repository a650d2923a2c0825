//! `AppError`: the one error type the browser sees.
//!
//! Lower layers (`DbError`, later `OktaError`) map into it exactly once; the message is written
//! for people, details stay in the server log.

use http::StatusCode;
use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

/// An error a page or server function can show to the person using Gatepass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// No signed-in person.
    #[error("Sign in to continue.")]
    Unauthenticated,
    /// Signed in, but not allowed.
    #[error("You do not have permission to do that.")]
    Forbidden,
    /// Signed in, but the person is not (yet) in Gatepass's copy of the Okta directory.
    #[error("Gatepass does not know you yet: your Okta account is not in its copy of the directory. Try again after the next sync, or ask an administrator.")]
    NotInDirectory,
    /// The thing asked for does not exist.
    #[error("{0} was not found.")]
    NotFound(String),
    /// Bad input: which field, and what is wrong with it.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The request conflicts with the current state (e.g. already decided).
    #[error("{0}")]
    Conflict(String),
    /// What the caller read has changed since (its version, e.g. a policy's `ETag`, no longer
    /// matches): nothing was written.
    #[error("{0}")]
    Stale(String),
    /// A system Gatepass depends on (database, Okta) is not answering.
    #[error("{0} is unavailable right now. Try again shortly.")]
    Unavailable(String),
    /// A fault on the server; the details are in the server log.
    #[error("Something went wrong on the server. The details have been logged.")]
    Internal,
    /// The browser could not talk to the server, or could not read its answer.
    #[error("Could not reach Gatepass: {0}")]
    Transport(String),
}

impl AppError {
    /// The HTTP status this error is answered with.
    pub fn status_code(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::NotInDirectory => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Stale(_) => StatusCode::PRECONDITION_FAILED,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal | AppError::Transport(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short heading for error views.
    pub fn title(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => "Sign-in required",
            AppError::Forbidden => "Not allowed",
            AppError::NotInDirectory => "Not in the directory yet",
            AppError::NotFound(_) => "Not found",
            AppError::Invalid { .. } => "Check your input",
            AppError::Conflict(_) => "Already changed",
            AppError::Stale(_) => "Changed meanwhile",
            AppError::Unavailable(_) => "Temporarily unavailable",
            AppError::Internal => "Server error",
            AppError::Transport(_) => "Connection problem",
        }
    }

    /// A validation error for one input field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(e)
            | ServerFnErrorErr::Response(e)
            | ServerFnErrorErr::Deserialization(e) => AppError::Transport(e),
            ServerFnErrorErr::Args(e) => AppError::invalid("request", e),
            ServerFnErrorErr::MissingArg(e) => AppError::invalid(e, "is required"),
            _ => AppError::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_kind_of_error() {
        assert_eq!(
            AppError::Unauthenticated.status_code(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(AppError::Forbidden.status_code(), StatusCode::FORBIDDEN);
        assert_eq!(
            AppError::NotFound("Group".into()).status_code(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            AppError::invalid("reason", "is required").status_code(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            AppError::Unavailable("The database".into()).status_code(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[test]
    fn round_trips_through_the_server_fn_encoding() {
        let e = AppError::invalid("duration", "must be at most 8 hours");
        let bytes = e.ser();
        assert_eq!(AppError::de(bytes), e);
        assert_eq!(e.to_string(), "duration: must be at most 8 hours");
    }

    #[test]
    fn internal_error_says_nothing_about_internals() {
        let e = AppError::from_server_fn_error(ServerFnErrorErr::ServerError(
            "password authentication failed for user gatepass".into(),
        ));
        assert_eq!(e, AppError::Internal);
        assert!(!e.to_string().contains("password"));
    }
}
