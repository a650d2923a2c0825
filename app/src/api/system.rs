//! Server functions about the Gatepass server itself.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::SystemStatus;

/// Database reachability and directory size, for the home page.
#[server(endpoint = "system/status", prefix = "/api")]
pub async fn get_system_status() -> Result<SystemStatus, AppError> {
    use crate::ssr::state::AppState;
    super::respond(async { AppState::current()?.system().status().await }.await)
}
