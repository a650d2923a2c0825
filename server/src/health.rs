//! Probes for load balancers and orchestrators: `/healthz` (the process answers), `/readyz`
//! (the database answers too), and `/metrics` for Prometheus.

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

/// `GET /metrics`: Prometheus text (counts and latencies only; nothing secret).
pub async fn metrics(State(state): State<AppState>) -> axum::response::Response {
    match app::ssr::services::metrics::render(&state).await {
        Ok(text) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => (e.status_code(), e.to_string()).into_response(),
    }
}
