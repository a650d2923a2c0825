//! `POST /slack/interactions`: Slack's Interactivity Request URL. Outside the session and the
//! cross-site checks (Slack, not a browser, calls it); what it accepts is decided by
//! `app::ssr::services::slack::interaction` — Slack's signature, freshness, no replay — and it
//! answers within Slack's three seconds.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};

use app::ssr::core::Core;
use app::ssr::services::slack::{interaction, Reply};

/// The endpoint on its own, over `core` (the server merges it outside the session layers;
/// tests serve it alone).
pub fn router<S: Clone + Send + Sync + 'static>(core: Core, max_body: usize) -> Router<S> {
    Router::new()
        .route("/slack/interactions", post(interactions))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(max_body))
        .with_state(core)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn interactions(State(core): State<Core>, headers: HeaderMap, body: Bytes) -> Response {
    let reply = interaction(
        &core,
        header(&headers, "x-slack-request-timestamp"),
        header(&headers, "x-slack-signature"),
        &body,
    )
    .await;
    match reply {
        Ok(Reply::Ok(Some(answer))) => Json(answer).into_response(),
        Ok(Reply::Ok(None)) => StatusCode::OK.into_response(),
        Ok(Reply::Unauthorized(why)) => (StatusCode::UNAUTHORIZED, why).into_response(),
        Ok(Reply::BadRequest(why)) => (StatusCode::BAD_REQUEST, why).into_response(),
        Ok(Reply::NotFound) => (StatusCode::NOT_FOUND, "Slack is not set up").into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}
