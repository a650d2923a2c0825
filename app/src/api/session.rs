//! Server functions about the caller's own session.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::Me;

/// Who is signed in to this session, if anyone.
#[server(endpoint = "session/me", prefix = "/api")]
pub async fn get_me() -> Result<Option<Me>, AppError> {
    Ok(crate::ssr::auth::current_user())
}
