//! Server functions, grouped by resource. Each is a thin adapter: check who is calling, call a
//! service, map the error. No SQL and no business rules here.

pub mod access;
pub mod groups;
pub mod okta;
pub mod session;
pub mod system;

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
