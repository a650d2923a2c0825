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

/// `GET /metrics`: Prometheus text (counts and latencies only; nothing secret), for a scraper
/// presenting the configured token (`metrics.token`) — never through a browser session.
pub async fn metrics(
    State(state): State<AppState>,
    axum::Extension(token): axum::Extension<Option<crate::startup::MetricsToken>>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    let Some(token) = token else {
        return (
            StatusCode::NOT_FOUND,
            "/metrics is off: set metrics.token (GATEPASS_METRICS__TOKEN) to scrape it",
        )
            .into_response();
    };
    if !crate::hardening::metrics_allowed(&headers, Some(&token.0)) {
        return (
            StatusCode::UNAUTHORIZED,
            [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
            "send the scrape token: Authorization: Bearer <metrics.token>",
        )
            .into_response();
    }
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
