//! Server functions about the Gatepass server itself.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::SystemStatus;

/// Whether Gatepass is up; for signed-in people also its database and directory size.
#[server(endpoint = "system/status", prefix = "/api")]
pub async fn get_system_status() -> Result<SystemStatus, AppError> {
    use crate::ssr::{auth::current_user, state::AppState};
    let signed_in = current_user().is_some();
    super::respond(async { AppState::current()?.system().status(signed_in).await }.await)
}
