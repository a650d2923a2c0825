//! Server functions, grouped by resource. Each is a thin adapter: check who is calling, call a
//! service, map the error. No SQL and no business rules here.

pub mod access;
pub mod groups;
pub mod notifications;
pub mod okta;
pub mod reviews;
pub mod session;
pub mod system;
pub mod tokens;

#[cfg(feature = "ssr")]
use crate::error::AppError;

/// Sets the HTTP status of the current response from an error, then passes the result on.
#[cfg(feature = "ssr")]
pub(crate) fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(e) = &result {
        if let Some(options) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            options.set_status(e.status_code());
        }
    }
    result
}

/// The preamble of a server function: checks that the caller holds the capability `C` (a
/// [`Requester`](crate::ssr::auth::Requester) or an [`Admin`](crate::ssr::auth::Admin)), hands
/// it and the current state to `body`, and sets the response's HTTP status from an error.
#[cfg(feature = "ssr")]
pub(crate) async fn serve<C, T, F, Fut>(body: F) -> Result<T, AppError>
where
    C: crate::ssr::auth::Capability,
    F: FnOnce(C, crate::ssr::state::AppState) -> Fut,
    Fut: std::future::Future<Output = Result<T, AppError>>,
{
    use crate::ssr::state::AppState;
    respond(async { body(C::require()?, AppState::current()?).await }.await)
}

/// Longest search text or paging cursor (a group name) a list accepts.
#[cfg(feature = "ssr")]
pub(crate) const MAX_SEARCH: usize = 200;

/// `text` if it is at most [`MAX_SEARCH`] characters without control characters; otherwise a
/// validation error naming `field` (an unbounded search would make the database work for
/// nothing; a NUL would not even reach PostgreSQL).
#[cfg(feature = "ssr")]
pub(crate) fn bounded<'a>(field: &str, text: &'a str) -> Result<&'a str, AppError> {
    if text.chars().count() > MAX_SEARCH {
        return Err(AppError::invalid(
            field,
            format!("use at most {MAX_SEARCH} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(AppError::invalid(field, "remove the control characters"));
    }
    Ok(text)
}
