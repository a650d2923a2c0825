//! The sign-in routes (`/auth/login`, `/auth/callback`, `/auth/logout`, `/auth/signed-out`) and
//! the middleware around every request: who is signed in, pages that need sign-in, and refusal
//! of state-changing requests from other sites.

use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use app::model::Timestamp;
use app::ssr::auth::SignedIn;
use app::ssr::services::identity::{
    fetch_person, resolve_person, resolve_person_cached, Standing, VerifiedIdentity,
};
use app::ssr::state::AppState;

use crate::oidc::{safe_return_to, CallbackParams, Oidc, OidcError, PendingLogin, LOGIN_TTL_SECS};

const PENDING_KEY: &str = "gatepass.pending_login";
use crate::session::{TOUCHED_KEY, TOUCH_EVERY_MS, USER_KEY};

/// Shared by the sign-in routes and middleware.
#[derive(Debug, Clone)]
pub struct SignInContext {
    /// `None` when no provider is configured: nobody can sign in.
    pub oidc: Option<Arc<Oidc>>,
    /// Origin people reach Gatepass at, e.g. `https://gatepass.example.com`.
    pub public_origin: String,
    /// A session ends this long after sign-in, however active (seconds).
    pub absolute_timeout_secs: i64,
}

/// What the session remembers about the signed-in person.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionUser {
    identity: VerifiedIdentity,
    id_token: String,
    signed_in_at: Timestamp,
}

/// `/auth/*` routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/login", get(login))
        .route("/auth/callback", get(callback))
        .route("/auth/logout", post(logout))
        .route("/auth/signed-out", get(signed_out))
}

#[derive(Debug, Deserialize)]
struct LoginParams {
    return_to: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    Extension(ctx): Extension<SignInContext>,
    session: Session,
    Query(params): Query<LoginParams>,
) -> Response {
    let Some(oidc) = ctx.oidc.as_ref() else {
        return not_configured();
    };
    let return_to = safe_return_to(params.return_to.as_deref(), &ctx.public_origin);
    let now = state.clock.timestamp();
    match oidc.begin(return_to, now).await {
        Ok((url, pending)) => match session.insert(PENDING_KEY, pending).await {
            Ok(()) => Redirect::to(&url).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "cannot store the pending sign-in");
                failure(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Gatepass could not start a session. Try again shortly.",
                )
            }
        },
        Err(e) => {
            tracing::warn!(error = %e, "sign-in could not start");
            failure(StatusCode::BAD_GATEWAY, &e.public_message())
        }
    }
}

async fn callback(
    State(state): State<AppState>,
    Extension(ctx): Extension<SignInContext>,
    session: Session,
    Query(params): Query<CallbackParams>,
) -> Response {
    let Some(oidc) = ctx.oidc.as_ref() else {
        return not_configured();
    };
    // The pending sign-in is used at most once, whatever happens next.
    let pending: Option<PendingLogin> = session.remove(PENDING_KEY).await.unwrap_or(None);
    let now = state.clock.timestamp();
    let result = match pending {
        Some(p) if now - p.started_at <= LOGIN_TTL_SECS * 1000 => {
            oidc.finish(&p, &params).await.map(|r| (p, r))
        }
        _ => Err(OidcError::NoPendingLogin),
    };
    let (pending, signed_in) = match result {
        Ok(ok) => ok,
        Err(e) => {
            tracing::warn!(error = %e, "sign-in failed");
            return failure(StatusCode::UNAUTHORIZED, &e.public_message());
        }
    };
    // A new session id at sign-in: an id planted before sign-in is worthless after it.
    if let Err(e) = session.cycle_id().await {
        tracing::error!(error = %e, "cannot cycle the session id");
        return failure(
            StatusCode::SERVICE_UNAVAILABLE,
            "Gatepass could not start a session. Try again shortly.",
        );
    }
    // Someone the directory does not know yet is looked up by id in Okta (never matched by any
    // other claim); people Okta does not list as active are refused here already.
    look_up_new_person(&state, &signed_in.identity.sub, now).await;
    // A new sign-in is matched afresh (and what was kept for this person is dropped).
    state.caches.standing.forget(&signed_in.identity.sub);
    match resolve_person(&state.db, &state.auth, &signed_in.identity).await {
        Ok(Standing::Allowed(_)) => {}
        Ok(Standing::Refused { okta_id, status }) => {
            tracing::warn!(sub = %okta_id, %status, "sign-in refused: not active in Okta");
            let _ = session.flush().await;
            return failure(
                StatusCode::FORBIDDEN,
                "Sign-in refused: your Okta account is not active. Ask your Okta administrator.",
            );
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot resolve the signed-in person");
            return failure(
                StatusCode::SERVICE_UNAVAILABLE,
                "Gatepass could not look you up. Try again shortly.",
            );
        }
    }
    let user = SessionUser {
        identity: signed_in.identity,
        id_token: signed_in.id_token,
        signed_in_at: now,
    };
    tracing::info!(sub = %user.identity.sub, "signed in");
    // Saved with the sign-in: the idle deadline starts now.
    let _ = session.insert(TOUCHED_KEY, now).await;
    if let Err(e) = session.insert(USER_KEY, user).await {
        tracing::error!(error = %e, "cannot store the signed-in session");
        return failure(
            StatusCode::SERVICE_UNAVAILABLE,
            "Gatepass could not start a session. Try again shortly.",
        );
    }
    Redirect::to(&pending.return_to).into_response()
}

/// Records a person the directory does not know yet, looked up by id in Okta (when the
/// integration is configured); failures only mean they wait for the next sync.
async fn look_up_new_person(state: &AppState, sub: &str, now: Timestamp) {
    let Ok(Some(settings)) = state.integration().current().await else {
        return;
    };
    let Ok(okta) = state.okta_client(&settings).await else {
        return;
    };
    if let Err(e) = fetch_person(&state.db, okta.as_ref(), sub, now).await {
        tracing::warn!(error = %e, "cannot look the new person up in Okta; the sync will");
    }
}

async fn logout(Extension(ctx): Extension<SignInContext>, session: Session) -> Response {
    let user: Option<SessionUser> = session.get(USER_KEY).await.unwrap_or(None);
    if let Err(e) = session.flush().await {
        tracing::error!(error = %e, "cannot delete the session");
    }
    if let Some(user) = &user {
        tracing::info!(sub = %user.identity.sub, "signed out");
    }
    if let (Some(oidc), Some(user)) = (ctx.oidc.as_ref(), user) {
        if let Some(url) = oidc.logout_url(Some(&user.id_token)).await {
            return Redirect::to(&url).into_response();
        }
    }
    Redirect::to("/auth/signed-out").into_response()
}

async fn signed_out() -> Response {
    page(
        StatusCode::OK,
        "Signed out",
        "You are signed out of Gatepass.",
        r#"<a class="button" href="/auth/login">Sign in again</a>"#,
    )
}

fn not_configured() -> Response {
    failure(
        StatusCode::SERVICE_UNAVAILABLE,
        "Sign-in is not configured on this Gatepass server: an administrator sets [oidc] in its configuration.",
    )
}

fn failure(status: StatusCode, message: &str) -> Response {
    page(
        status,
        "Sign-in failed",
        message,
        r#"<a class="button" href="/auth/login">Try again</a>"#,
    )
}

/// A small self-contained page in Gatepass's style (these routes run outside the Leptos app).
fn page(status: StatusCode, title: &str, message: &str, action_html: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Gatepass</title><link rel=\"stylesheet\" href=\"/pkg/gatepass.css\"></head>\
         <body><main class=\"content\"><section class=\"panel{cls}\" role=\"{role}\">\
         <h1>{title}</h1><p>{message}</p><p>{action_html}</p></section></main></body></html>",
        title = escape(title),
        message = escape(message),
        cls = if status.is_success() { "" } else { " error-panel" },
        role = if status.is_success() { "status" } else { "alert" },
    );
    let mut response = (status, Html(html)).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        "no-store".parse().expect("static header"),
    );
    response
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Middleware: puts [`SignedIn`] into the request for a valid session; ends sessions past their
/// absolute lifetime.
pub async fn attach_user(
    State(state): State<AppState>,
    Extension(ctx): Extension<SignInContext>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    if let Ok(Some(user)) = session.get::<SessionUser>(USER_KEY).await {
        let now = state.clock.timestamp();
        if now - user.signed_in_at > ctx.absolute_timeout_secs * 1000 {
            tracing::info!(sub = %user.identity.sub, "session reached its absolute lifetime");
            let _ = session.flush().await;
        } else {
            match resolve_person_cached(&state.db, &state.auth, &state.caches, &user.identity).await
            {
                Ok(Standing::Allowed(me)) => {
                    // Only what a person does moves the idle deadline: not the browser fetching
                    // the site's files (many at once, and after a sign-out too).
                    if !request.uri().path().starts_with("/pkg/") {
                        touch(&session, now).await;
                    }
                    request.extensions_mut().insert(SignedIn(me));
                }
                Ok(Standing::Refused { okta_id, status }) => {
                    // Suspended, deprovisioned, never activated or gone: signed out at once.
                    tracing::info!(sub = %okta_id, %status, "session ended: not active in Okta");
                    let _ = session.flush().await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot resolve the signed-in person");
                    return (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response();
                }
            }
        }
    }
    next.run(request).await
}

/// Moves a signed-in session's idle deadline if it last moved [`TOUCH_EVERY_MS`] or more
/// ago (the session layer then saves it); a failure only means the next request tries again.
async fn touch(session: &Session, now: Timestamp) {
    let last: Option<Timestamp> = session.get(TOUCHED_KEY).await.unwrap_or(None);
    if last.is_none_or(|t| now - t >= TOUCH_EVERY_MS) {
        if let Err(e) = session.insert(TOUCHED_KEY, now).await {
            tracing::warn!(error = %e, "cannot move the session's idle deadline");
        }
    }
}

/// Middleware: anonymous page loads go to sign-in and come back (when sign-in is configured).
pub async fn require_sign_in_for_pages(
    Extension(ctx): Extension<SignInContext>,
    request: Request,
    next: Next,
) -> Response {
    let needs_page_sign_in = ctx.oidc.is_some()
        && matches!(*request.method(), Method::GET | Method::HEAD)
        && is_page(request.uri().path())
        && request.extensions().get::<SignedIn>().is_none();
    if needs_page_sign_in {
        let target = request
            .uri()
            .path_and_query()
            .map(|pq| pq.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let query = app::url::encode_query_value(&target);
        return Redirect::to(&format!("/auth/login?return_to={query}")).into_response();
    }
    next.run(request).await
}

fn is_page(path: &str) -> bool {
    !(path.starts_with("/api/")
        || path.starts_with("/auth/")
        || path.starts_with("/pkg/")
        || matches!(
            path,
            "/healthz" | "/readyz" | "/metrics" | "/favicon.svg" | "/favicon.ico"
        ))
}

/// Middleware: refuses state-changing requests that a browser marks as coming from another site.
pub async fn refuse_cross_site(
    Extension(ctx): Extension<SignInContext>,
    request: Request,
    next: Next,
) -> Response {
    let safe_method = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe_method && is_cross_site(request.headers(), &ctx.public_origin) {
        tracing::warn!(path = %request.uri().path(), "cross-site request refused");
        return (
            StatusCode::FORBIDDEN,
            "Refused: this request came from another site. Use Gatepass's own pages.",
        )
            .into_response();
    }
    next.run(request).await
}

/// `Sec-Fetch-Site` when the browser sends it; otherwise `Origin` compared with Gatepass's public
/// origin or the request's own host. Requests with neither (non-browser clients) pass.
fn is_cross_site(headers: &HeaderMap, public_origin: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    if origin == public_origin.trim_end_matches('/') {
        return false;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, h)| h);
    !(host.is_some() && origin_host == host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn cross_site_detection() {
        let public = "https://gp.example.com";
        assert!(!is_cross_site(&headers(&[]), public), "non-browser client");
        assert!(!is_cross_site(
            &headers(&[("sec-fetch-site", "same-origin")]),
            public
        ));
        assert!(is_cross_site(
            &headers(&[("sec-fetch-site", "cross-site")]),
            public
        ));
        assert!(is_cross_site(
            &headers(&[("sec-fetch-site", "same-site")]),
            public
        ));
        assert!(!is_cross_site(
            &headers(&[("origin", "https://gp.example.com")]),
            public
        ));
        assert!(is_cross_site(
            &headers(&[("origin", "https://evil.example")]),
            public
        ));
        assert!(!is_cross_site(
            &headers(&[
                ("origin", "http://127.0.0.1:3000"),
                ("host", "127.0.0.1:3000")
            ]),
            public
        ));
        assert!(is_cross_site(
            &headers(&[
                ("origin", "http://127.0.0.1:3001"),
                ("host", "127.0.0.1:3000")
            ]),
            public
        ));
    }

    #[test]
    fn pages_are_everything_but_api_auth_assets_and_probes() {
        assert!(is_page("/"));
        assert!(is_page("/approvals"));
        assert!(!is_page("/api/system/status"));
        assert!(!is_page("/auth/callback"));
        assert!(!is_page("/pkg/gatepass.js"));
        assert!(!is_page("/healthz"));
    }

    #[test]
    fn pages_escape_what_they_show() {
        assert_eq!(
            escape("<script>\"x\" & y"),
            "&lt;script&gt;&quot;x&quot; &amp; y"
        );
    }
}
