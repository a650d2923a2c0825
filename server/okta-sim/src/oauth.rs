//! OAuth 2.0 for service apps at the org authorization server: `POST /oauth2/v1/token` with
//! `client_credentials` and a `private_key_jwt` client assertion, checked as Okta checks it
//! (RS256 signature against the app's registered key, `iss`/`sub`, audience, expiry, replay),
//! and scopes limited to those granted to the app.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde_json::{json, Value};

use super::http::{random_id, Base};
use super::jwt::{self, JwtError};
use super::time::now_ms;
use super::Sim;

/// How long access tokens live (Okta: one hour).
pub const ACCESS_TOKEN_SECS: i64 = 3600;

/// A standard OAuth error response.
pub fn oauth_error(status: StatusCode, error: &str, description: impl Into<String>) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description.into() })),
    )
        .into_response()
}

fn invalid_client(description: impl Into<String>) -> Response {
    oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", description)
}

/// Routes of the org authorization server.
pub fn routes() -> Router<Arc<Sim>> {
    Router::new().route("/oauth2/v1/token", post(token))
}

fn unverified_claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&B64.decode(payload).ok()?).ok()
}

async fn token(
    State(sim): State<Arc<Sim>>,
    base: Base,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "client_credentials" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!(
                "The authorization grant type is not supported by the authorization server. Configured grant types: [client_credentials]. Got: {:?}",
                field("grant_type")
            ),
        );
    }
    if field("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
        return invalid_client(
            "Client authentication failed: client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
        );
    }
    let assertion = field("client_assertion");
    let Some(claims) = unverified_claims(assertion) else {
        return invalid_client("The client_assertion is not a valid JWT.");
    };
    let client_id = claims["iss"].as_str().unwrap_or_default().to_owned();
    let app = {
        let org = sim.org.read().expect("org lock");
        org.service_apps.get(&client_id).cloned()
    };
    let Some(app) = app else {
        return invalid_client("The client_id in the client_assertion is not a known service app.");
    };
    if !field("client_id").is_empty() && field("client_id") != client_id {
        return invalid_client("The client_id does not match the client_assertion issuer.");
    }
    let claims = match jwt::verify(assertion, &app.keys) {
        Ok(c) => c,
        Err(JwtError::Algorithm) => {
            return invalid_client("The client_assertion must be signed with RS256.")
        }
        Err(JwtError::UnknownKey) => {
            return invalid_client("The client_assertion kid does not match a registered key.")
        }
        Err(_) => return invalid_client("The client_assertion signature is invalid."),
    };
    if claims["sub"].as_str() != Some(client_id.as_str()) {
        return invalid_client("The client_assertion sub must equal its iss (the client_id).");
    }
    let audience = format!("{}/oauth2/v1/token", base.0);
    let aud_ok = match &claims["aud"] {
        Value::String(a) => *a == audience,
        Value::Array(a) => a.iter().any(|x| x.as_str() == Some(audience.as_str())),
        _ => false,
    };
    if !aud_ok {
        return invalid_client(format!(
            "The audience of the client_assertion is invalid. It must be {audience}."
        ));
    }
    let now = now_ms() / 1000;
    let Some(exp) = claims["exp"].as_i64() else {
        return invalid_client("The client_assertion has no exp claim.");
    };
    if exp <= now {
        return invalid_client("The client_assertion token is expired.");
    }
    if exp > now + ACCESS_TOKEN_SECS {
        return invalid_client(
            "The client_assertion token has an expiration too far into the future.",
        );
    }
    let Some(jti) = claims["jti"].as_str() else {
        return invalid_client("The client_assertion has no jti claim.");
    };
    if !sim.remember_jti(&client_id, jti) {
        return invalid_client("The client_assertion token has already been used.");
    }

    let requested: Vec<String> = field("scope")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if requested.is_empty() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "The authorization server requires a scope for client_credentials.",
        );
    }
    let refused: Vec<&str> = requested
        .iter()
        .filter(|s| !app.scopes.contains(s))
        .map(String::as_str)
        .collect();
    if !refused.is_empty() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            format!(
                "The following scopes are not allowed: {}",
                refused.join(", ")
            ),
        );
    }
    let access_token = random_id("", 64);
    sim.grant_service_token(
        access_token.clone(),
        client_id,
        requested.clone(),
        now_ms() + ACCESS_TOKEN_SECS * 1000,
    );
    Json(json!({
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_SECS,
        "access_token": access_token,
        "scope": requested.join(" "),
    }))
    .into_response()
}
