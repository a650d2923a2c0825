//! `/api/v1`: Gatepass's REST API for scripts and the command line. JSON in and out; a caller
//! is a personal access token (`Authorization: Bearer gpat_…`, nothing else — no cookies, so no
//! cross-site question arises), rate-limited per token (429 with `Retry-After`). Handlers are
//! thin adapters over the same services as the pages' server functions: the same validation,
//! authorization and audit events, each event marked `via: token <name>`. Errors are one shape:
//! `{"error": {"code", "message", "field"}}`. The OpenAPI 3.1 document is generated from the
//! handlers and wire types ([`openapi`]) and served at `/api/v1/openapi.json`, with a reference
//! page at `/api/v1/docs`.

mod admin;
pub mod openapi;
mod operate;
mod people;

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Serialize;
use utoipa::ToSchema;

use app::error::AppError;
use app::model::Scope;
use app::ssr::auth::{Requester, TokenCaller};
use app::ssr::core::Core;
use app::ssr::services::tokens::{AuthError, KeptAnswer, TokenRefused};

use crate::hardening::WindowLimiter;

/// What the handlers share.
#[derive(Clone)]
struct ApiState {
    core: Core,
    /// Calls per token and minute.
    limiter: WindowLimiter<i64>,
}

/// The API on its own, over `core` (the server merges it outside the session layers).
pub fn router<S: Clone + Send + Sync + 'static>(
    core: Core,
    limiter: WindowLimiter<i64>,
    max_body: usize,
) -> Router<S> {
    let one = Router::new()
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/api/v1/docs", get(openapi::reference))
        .route("/api/v1/whoami", get(people::whoami))
        .route("/api/v1/groups", get(people::groups))
        .route("/api/v1/groups/{id}", get(people::group))
        .route("/api/v1/access", get(people::my_access))
        .route(
            "/api/v1/requests",
            get(people::my_requests).post(people::create_request),
        )
        .route("/api/v1/requests/{id}", get(people::request))
        .route("/api/v1/grants", get(people::my_grants))
        .route("/api/v1/requests/{id}/cancel", post(people::cancel_request))
        .route("/api/v1/grants/{id}/give-back", post(people::give_back))
        .route("/api/v1/approvals", get(people::approvals))
        .route("/api/v1/approvals/{id}", post(people::decide))
        .route(
            "/api/v1/policies",
            get(admin::policies).post(admin::create_policy),
        )
        .route("/api/v1/policies/export", get(admin::export))
        .route(
            "/api/v1/policies/{id}",
            get(admin::policy)
                .put(admin::replace_policy)
                .delete(admin::delete_policy),
        )
        .route("/api/v1/audit", get(admin::audit))
        .route("/api/v1/audit/follow", get(operate::follow_audit))
        .route("/api/v1/admin/grants", get(operate::grants))
        .route("/api/v1/admin/grants/{id}/revoke", post(operate::revoke))
        .route("/api/v1/admin/grants/{id}/retry", post(operate::retry))
        .route("/api/v1/admin/requests", get(operate::pending))
        .route("/api/v1/admin/groups", get(operate::groups))
        .route("/api/v1/admin/groups/{id}", get(operate::group))
        .route("/api/v1/admin/drift", get(operate::drift))
        .route("/api/v1/admin/drift/{id}", post(operate::act_on_drift))
        .route(
            "/api/v1/admin/sync",
            get(operate::sync_state).post(operate::start_sync),
        )
        .route("/api/v1", get(unknown))
        .route(
            "/api/v1/{*rest}",
            get(unknown).post(unknown).put(unknown).delete(unknown),
        )
        .layer(tower_http::limit::RequestBodyLimitLayer::new(max_body));
    // A policies file holds many policies: its two operations take more.
    let sets = Router::new()
        .route("/api/v1/policies/plan", post(admin::plan))
        .route("/api/v1/policies/apply", post(admin::apply))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            max_body.max(POLICY_SET_MAX_BODY),
        ));
    Router::new()
        .merge(one)
        .merge(sets)
        .layer(axum::middleware::map_response(in_the_api_shape))
        .with_state(ApiState { core, limiter })
}

/// The largest policies file `plan` and `apply` take.
const POLICY_SET_MAX_BODY: usize = 4 << 20;

/// Answers the router itself makes (a body over the limit, a method the path does not take)
/// in the API's error shape, like every other refusal.
async fn in_the_api_shape(response: Response) -> Response {
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if json || response.status().is_success() {
        return response;
    }
    let refusal = match response.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "the body is larger than this operation takes",
        ),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this path does not take that method (see /api/v1/docs)",
        ),
        _ => return response,
    };
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut answer = refusal.into_response();
    if let Some(allow) = allow {
        answer.headers_mut().insert(header::ALLOW, allow);
    }
    answer
}

/// An error as the API answers it.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError {
            field: Some(field.to_owned()),
            ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
        }
    }

    fn scope(scope: Scope) -> Self {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!("this token lacks the `{}` scope", scope.as_str()),
        )
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let code = match &e {
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden => "forbidden",
            AppError::NotInDirectory => "not_in_directory",
            AppError::NotFound(_) => "not_found",
            AppError::Invalid { .. } => "invalid",
            AppError::Conflict(_) => "conflict",
            AppError::Stale(_) => "precondition_failed",
            AppError::Unavailable(_) => "unavailable",
            AppError::Internal | AppError::Transport(_) => "internal",
        };
        let (message, field) = match &e {
            AppError::Invalid { field, message } => (message.clone(), Some(field.clone())),
            other => (other.to_string(), None),
        };
        ApiError {
            status: e.status_code(),
            code,
            message,
            field,
            retry_after: None,
        }
    }
}

impl From<TokenRefused> for ApiError {
    fn from(why: TokenRefused) -> Self {
        let code = match why {
            TokenRefused::Missing => "token_missing",
            TokenRefused::Malformed => "token_malformed",
            TokenRefused::Unknown => "token_unknown",
            TokenRefused::Revoked => "token_revoked",
            TokenRefused::Expired => "token_expired",
            TokenRefused::PersonInactive => "person_inactive",
        };
        ApiError::new(StatusCode::UNAUTHORIZED, code, why.to_string())
    }
}

/// How every refusal is answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A machine-readable code: `invalid`, `not_found`, `forbidden`, `insufficient_scope`,
    /// `token_revoked`, `rate_limited`, `conflict`, …
    pub code: String,
    /// What a person reads.
    pub message: String,
    /// The input at fault (a body field, `query`, `Idempotency-Key`), when one is.
    pub field: Option<String>,
}

impl ApiError {
    /// The error's JSON body.
    fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message.clone(),
                field: self.field.clone(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body();
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"gatepass\""),
            );
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// The token the call came with, checked (live, its person active) and counted against its
/// rate limit.
struct Caller(TokenCaller);

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        let caller = state
            .core
            .tokens()
            .authenticate(authorization, ip.as_deref())
            .await
            .map_err(|e| match e {
                AuthError::Refused(why) => ApiError::from(why),
                AuthError::Failed(e) => ApiError::from(e),
            })?;
        if let Err(secs) = state.limiter.check(caller.token_id) {
            return Err(ApiError {
                retry_after: Some(secs),
                ..ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!("too many calls with this token; try again in {secs} s"),
                )
            });
        }
        Ok(Caller(caller))
    }
}

impl Caller {
    /// The person as a requester, if the token has `scope` ([`TokenCaller::requester`]
    /// decides; a missing scope is named as such).
    fn requester(&self, scope: Scope) -> Result<Requester, ApiError> {
        self.0.requester(scope).map_err(|e| self.refusal(scope, e))
    }

    /// The person as an administrator ([`TokenCaller::admin`] decides).
    fn admin(&self) -> Result<app::ssr::auth::Admin, ApiError> {
        self.0.admin().map_err(|e| self.refusal(Scope::Admin, e))
    }

    fn refusal(&self, scope: Scope, e: AppError) -> ApiError {
        if self.0.scopes().contains(&scope) {
            e.into()
        } else {
            ApiError::scope(scope)
        }
    }

    /// What the call's audit events say it came through.
    fn via(&self) -> String {
        format!("token {}", self.0.token_name)
    }
}

/// Query parameters of type `T`; a malformed or unknown one is refused in the API's shape
/// (after the token is checked: an extractor listed after [`Caller`]).
pub(super) struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(q)| ApiQuery(q))
            .map_err(|e| ApiError::invalid("query", e.body_text()))
    }
}

/// A JSON body of type `T`, or a clear error naming what is wrong with it. Text holding a NUL
/// character (`\u0000`) is refused whole: no name, reason or reference has one, and
/// PostgreSQL cannot store it.
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid("body", format!("not the JSON this call takes: {e}")))?;
    if holds_nul(&value) {
        return Err(ApiError::invalid(
            "body",
            "text may not hold a NUL character",
        ));
    }
    serde_json::from_value(value)
        .map_err(|e| ApiError::invalid("body", format!("not the JSON this call takes: {e}")))
}

/// Whether any string (or key) in `v` holds a NUL character.
fn holds_nul(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(holds_nul),
        serde_json::Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

fn id_of(text: &str, what: &str) -> Result<i64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::invalid("id", format!("{what} ids are numbers")))
}

async fn unknown() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such API operation (see README, “REST API”)",
    )
}

/// Percent-encodes a query value (here and in the command-line client).
pub(crate) fn query_value(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// `Link: <…>; rel="next"` on `response`, when there is a next page at `target`.
fn link_next(response: &mut Response, target: Option<String>) {
    if let Some(value) =
        target.and_then(|t| HeaderValue::from_str(&format!("<{t}>; rel=\"next\"")).ok())
    {
        response.headers_mut().insert(header::LINK, value);
    }
}

/// A successful answer, before it is sent (and kept, for an `Idempotency-Key`).
struct Answer {
    status: StatusCode,
    body: serde_json::Value,
    location: Option<String>,
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        if let Some(location) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        response
    }
}

/// Runs a state-changing call `op`, honouring an `Idempotency-Key` header: the first answer to
/// a key (success, or a refusal other than 401/429) is kept a day and given again to a retry of
/// the same call (`Idempotent-Replayed: true`); the key used for another call is refused.
async fn idempotent(
    s: &ApiState,
    caller: &Caller,
    headers: &HeaderMap,
    what: &str,
    bytes: &Bytes,
    op: impl std::future::Future<Output = Result<Answer, ApiError>>,
) -> Result<Response, ApiError> {
    let Some(key) = headers.get("idempotency-key") else {
        return op.await.map(IntoResponse::into_response);
    };
    let key = key
        .to_str()
        .ok()
        .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::invalid(
                "Idempotency-Key",
                "use 1 to 255 visible ASCII characters (a UUID, say)",
            )
        })?;
    let fingerprint = app::ssr::sha256_hex(&[what.as_bytes(), b"\n", bytes].concat());
    let tokens = s.core.tokens();
    match tokens.kept_answer(&caller.0, key, &fingerprint).await? {
        KeptAnswer::Replay { status, body } => {
            let status = StatusCode::from_u16(status).map_err(|_| AppError::Internal)?;
            let mut response = (
                status,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response();
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            return Ok(response);
        }
        KeptAnswer::Reused => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different call; use a new key",
            ))
        }
        KeptAnswer::Fresh => {}
    }
    let result = op.await;
    let kept = match &result {
        Ok(answer) => Some((answer.status, answer.body.to_string())),
        Err(e)
            if e.status.is_client_error()
                && !matches!(
                    e.status,
                    StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS
                ) =>
        {
            serde_json::to_string(&e.body()).ok().map(|b| (e.status, b))
        }
        Err(_) => None,
    };
    if let Some((status, body)) = kept {
        if let Err(e) = tokens
            .keep_answer(&caller.0, key, &fingerprint, status.as_u16(), &body)
            .await
        {
            tracing::warn!(error = %e, "cannot keep an answer for its Idempotency-Key");
        }
    }
    result.map(IntoResponse::into_response)
}
