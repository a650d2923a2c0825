//! Probes for load balancers and orchestrators: `/healthz` (the process answers) and `/readyz`
//! (the database answers too).

use axum::{extract::State, http::StatusCode, response::IntoResponse, Json};
use serde_json::json;

use app::ssr::state::AppState;

/// `GET /healthz`: 200 while the process can answer HTTP.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: 200 when the database answers, 503 otherwise.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.db.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({ "status": "ready", "database": "ok" })),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "database": "unreachable" })),
            )
        }
    }
}
