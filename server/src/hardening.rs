//! Defences around every request that are not about who is signed in:
//!
//! - [`security_headers`]: a strict Content-Security-Policy with a fresh nonce per response
//!   (Leptos puts it on the hydration script), `frame-ancestors 'none'`, `nosniff`,
//!   `Referrer-Policy: same-origin`, and HSTS when Gatepass is served over https;
//! - [`api_error_status`]: a server function's error answers with the status its `AppError`
//!   names, also when the error arose before the function ran (arguments that do not parse);
//! - [`WindowLimiter`]: how often one client address may start a sign-in, how often one API
//!   token may be used;
//! - [`metrics_allowed`]: `/metrics` only for a scraper presenting the configured token.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use rand::RngCore as _;
use secrecy::{ExposeSecret, SecretString};

use app::error::AppError;
use app::ssr::CspNonce;

/// How the security headers are set for this deployment.
#[derive(Debug, Clone)]
pub struct HeaderPolicy {
    /// Gatepass is reached over https: send HSTS.
    pub https: bool,
    /// Where sign-out may send the browser (the identity provider's origin), for `form-action`.
    pub provider_origin: Option<String>,
}

/// The Content-Security-Policy for a response with `nonce`.
pub fn content_security_policy(nonce: &str, provider_origin: Option<&str>) -> String {
    let form_action = match provider_origin {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".to_owned(),
    };
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action {form_action}; frame-ancestors 'none'"
    )
}

/// Middleware: gives the request a fresh nonce (read by the page shell) and sets the security
/// headers on the response.
pub async fn security_headers(
    State(policy): State<Arc<HeaderPolicy>>,
    mut request: Request,
    next: Next,
) -> Response {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    let nonce = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let csp = content_security_policy(&nonce, policy.provider_origin.as_deref());
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if policy.https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

/// Largest error body [`api_error_status`] reads to find the error's status.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Middleware for `/api/…`: a server function's error body names an [`AppError`]; the response
/// carries that error's status. Errors raised before the function body ran (arguments that do
/// not parse, a missing argument) otherwise leave Leptos's 500.
pub async fn api_error_status(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    if !is_api || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_ERROR_BODY).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "error body too large").into_response();
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        // A transport error on the server side is a request the server could not read.
        parts.status = match error {
            AppError::Transport(_) => StatusCode::BAD_REQUEST,
            other => other.status_code(),
        };
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Counts events per key (a client address, an API token) in one-minute windows.
#[derive(Debug, Clone)]
pub struct WindowLimiter<K> {
    per_minute: u32,
    windows: Arc<Mutex<HashMap<K, (Instant, u32)>>>,
}

/// Sign-in starts per client address.
pub type LoginLimiter = WindowLimiter<IpAddr>;

impl<K: std::hash::Hash + Eq> WindowLimiter<K> {
    /// At most `per_minute` events per key and minute (0: no limit).
    pub fn new(per_minute: u32) -> Self {
        WindowLimiter {
            per_minute,
            windows: Arc::default(),
        }
    }

    /// Whether one more event may happen for `key` now.
    pub fn allow(&self, key: K) -> bool {
        self.check(key).is_ok()
    }

    /// Counts one more event for `key`; when over the limit, the seconds until its window ends
    /// (for `Retry-After`).
    pub fn check(&self, key: K) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() > 100_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
        }
        let (start, count) = windows.entry(key).or_insert((now, 0));
        if now.duration_since(*start) >= Duration::from_secs(60) {
            *start = now;
            *count = 0;
        }
        *count += 1;
        if *count <= self.per_minute {
            Ok(())
        } else {
            let left = Duration::from_secs(60).saturating_sub(now.duration_since(*start));
            Err(left.as_secs().max(1))
        }
    }
}

/// The client's address, when the server was started with connection info.
pub fn client_addr(request: &Request) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// Middleware for `/auth/login`: 429 once an address started too many sign-ins this minute.
pub async fn limit_sign_in_starts(
    State(limiter): State<LoginLimiter>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path() == "/auth/login" {
        if let Some(addr) = client_addr(&request) {
            if !limiter.allow(addr) {
                tracing::warn!(%addr, "too many sign-in starts from one address");
                let mut response = (
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many sign-in attempts from your address. Wait a minute and try again.",
                )
                    .into_response();
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
                return response;
            }
        }
    }
    next.run(request).await
}

/// Whether a `/metrics` request presents the configured scrape token
/// (`Authorization: Bearer <token>`); without a configured token nobody may read it.
pub fn metrics_allowed(headers: &HeaderMap, token: Option<&SecretString>) -> bool {
    let Some(token) = token else {
        return false;
    };
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    crate::oidc::constant_time_eq(given.as_bytes(), token.expose_secret().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_only_nonced_scripts_and_no_framing() {
        let csp = content_security_policy("abc", Some("https://acme.okta.com"));
        assert!(csp.contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval';"));
        assert!(!csp.contains("unsafe-inline"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(csp.contains("form-action 'self' https://acme.okta.com;"));
    }

    #[test]
    fn the_limiter_counts_per_address() {
        let limiter = LoginLimiter::new(3);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        assert!((0..3).all(|_| limiter.allow(a)));
        assert!(!limiter.allow(a));
        assert!(limiter.allow(b));
        assert!((0..1000).all(|_| LoginLimiter::new(0).allow(a)));
    }

    #[test]
    fn metrics_need_the_exact_token() {
        let token = SecretString::from("scrape-me");
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, v.parse().unwrap());
            h
        };
        assert!(metrics_allowed(&with("Bearer scrape-me"), Some(&token)));
        assert!(!metrics_allowed(&with("Bearer scrape-mf"), Some(&token)));
        assert!(!metrics_allowed(&with("Bearer scrape-me"), None));
        assert!(!metrics_allowed(&HeaderMap::new(), Some(&token)));
    }
}
