//! `/api/v1`: Gatepass's REST API for scripts and the command line. JSON in and out; a caller
//! is a personal access token (`Authorization: Bearer gpat_…`, nothing else — no cookies, so no
//! cross-site question arises), rate-limited per token (429 with `Retry-After`). Handlers are
//! thin adapters over the same services as the pages' server functions: the same validation,
//! authorization and audit events, each event marked `via: token <name>`. Errors are one shape:
//! `{"error": {"code", "message", "field"}}`.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use app::error::AppError;
use app::model::{Decision, GrantId, GroupId, RequestId, Scope};
use app::ssr::auth::{Requester, TokenCaller};
use app::ssr::core::Core;
use app::ssr::db::audit::recorded_via;
use app::ssr::services::access::{optional_duration, parse_start, DecisionInput, RequestInput};
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
    Router::new()
        .route("/api/v1/whoami", get(whoami))
        .route("/api/v1/groups", get(groups))
        .route("/api/v1/groups/{id}", get(group))
        .route("/api/v1/access", get(my_access))
        .route("/api/v1/requests", post(create_request))
        .route("/api/v1/requests/{id}/cancel", post(cancel_request))
        .route("/api/v1/grants/{id}/give-back", post(give_back))
        .route("/api/v1/approvals", get(approvals))
        .route("/api/v1/approvals/{id}", post(decide))
        .route("/api/v1/policies", get(policies))
        .route("/api/v1/audit", get(audit))
        .route("/api/v1", get(unknown))
        .route("/api/v1/{*rest}", get(unknown).post(unknown))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(max_body))
        .with_state(ApiState { core, limiter })
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

impl ApiError {
    /// The error's JSON body.
    fn body(&self) -> serde_json::Value {
        json!({ "error": { "code": self.code, "message": self.message, "field": self.field } })
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

/// A JSON body of type `T`, or a clear error naming what is wrong with it.
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid("body", format!("not the JSON this call takes: {e}")))
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

/// `GET /api/v1/whoami`: the token's person and the token (any scope).
async fn whoami(caller: Caller) -> Json<serde_json::Value> {
    let me = caller.0.me();
    Json(json!({
        "okta_id": me.okta_id, "login": me.login, "email": me.email,
        "display_name": me.display_name, "is_admin": me.is_admin,
        "token": { "id": caller.0.token_id, "name": caller.0.token_name, "scopes": caller.0.scopes() },
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupsQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    cursor: String,
}

/// `GET /api/v1/groups?q=&cursor=`: the groups the person may request, a page at a time (the
/// next page's cursor in `next` and a `Link: <…>; rel="next"` header).
async fn groups(
    State(s): State<ApiState>,
    caller: Caller,
    query: Result<Query<GroupsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let who = caller.requester(Scope::Read)?;
    let page = s
        .core
        .catalog()
        .catalog(&who, &query.q, &query.cursor)
        .await?;
    let mut response = Json(json!({ "items": page.entries, "next": page.next })).into_response();
    if let Some(next) = &page.next {
        let link = format!(
            "</api/v1/groups?q={}&cursor={}>; rel=\"next\"",
            query_value(&query.q),
            query_value(next)
        );
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}

/// Percent-encodes a query value (here and in the command-line client).
pub(crate) fn query_value(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// `GET /api/v1/groups/{id}`: one group the person may request.
async fn group(
    State(s): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<app::model::CatalogEntry>, ApiError> {
    let who = caller.requester(Scope::Read)?;
    Ok(Json(s.core.catalog().entry(&who, &GroupId(id)).await?))
}

/// `GET /api/v1/access`: the person's grants and requests.
async fn my_access(
    State(s): State<ApiState>,
    caller: Caller,
) -> Result<Json<app::model::MyAccess>, ApiError> {
    let who = caller.requester(Scope::Read)?;
    Ok(Json(s.core.catalog().my_access(&who).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRequest {
    group_id: String,
    /// `2h`, `30m`, `1d`; absent: the policy's default.
    #[serde(default)]
    duration: Option<String>,
    #[serde(default)]
    reason: String,
    /// A UTC start (`2026-06-01T10:00`); absent: as soon as approved.
    #[serde(default)]
    start: Option<String>,
}

/// `POST /api/v1/requests`: asks for a group (an extension when the person holds it).
/// With `Idempotency-Key`, a retry gets the first answer instead of asking again.
async fn create_request(
    State(s): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let who = caller.requester(Scope::Request)?;
    idempotent(
        &s,
        &caller,
        &headers,
        "POST /api/v1/requests",
        &bytes,
        async {
            let new: NewRequest = body(&bytes)?;
            let input = RequestInput {
                group_id: GroupId(new.group_id),
                duration: optional_duration("duration", new.duration.as_deref().unwrap_or(""))?,
                reason: new.reason,
                starts_at: parse_start(new.start.as_deref().unwrap_or(""))?,
            };
            let access = s.core.access();
            let request = recorded_via(caller.via(), access.request_access(&who, input)).await?;
            Ok(Answer {
                status: StatusCode::CREATED,
                location: Some(format!("/api/v1/requests/{}", request.id.0)),
                body: serde_json::to_value(&request).map_err(|_| AppError::Internal)?,
            })
        },
    )
    .await
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
            Some((e.status, e.body().to_string()))
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

/// `POST /api/v1/requests/{id}/cancel`: withdraws one of the person's pending requests.
async fn cancel_request(
    State(s): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let who = caller.requester(Scope::Request)?;
    let id = RequestId(id_of(&id, "request")?);
    let access = s.core.access();
    recorded_via(caller.via(), access.cancel(&who, id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/grants/{id}/give-back`: ends one of the person's grants now.
async fn give_back(
    State(s): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<app::model::Grant>, ApiError> {
    let who = caller.requester(Scope::Request)?;
    let id = GrantId(id_of(&id, "grant")?);
    let access = s.core.access();
    Ok(Json(
        recorded_via(caller.via(), access.give_back(&who, id)).await?,
    ))
}

/// `GET /api/v1/approvals`: requests waiting for the person's decision, oldest first.
async fn approvals(
    State(s): State<ApiState>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    let who = caller.requester(Scope::Read)?;
    let queue = s.core.catalog().approval_queue(&who).await?;
    Ok(Json(json!({ "items": queue })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewDecision {
    /// `approve` or `deny`.
    decision: String,
    /// Required to deny.
    #[serde(default)]
    comment: String,
    /// A shorter duration than asked for (approvals only).
    #[serde(default)]
    duration: Option<String>,
}

/// `POST /api/v1/approvals/{id}`: approves or denies a request the person is an approver of
/// (with `Idempotency-Key`, a retry gets the first answer).
async fn decide(
    State(s): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let who = caller.requester(Scope::Approve)?;
    let id = RequestId(id_of(&id, "request")?);
    let what = format!("POST /api/v1/approvals/{}", id.0);
    idempotent(&s, &caller, &headers, &what, &bytes, async {
        let new: NewDecision = body(&bytes)?;
        let decision: Decision = new
            .decision
            .parse()
            .map_err(|m: String| ApiError::invalid("decision", m))?;
        let input = DecisionInput {
            request_id: id,
            decision,
            comment: new.comment,
            duration: optional_duration("duration", new.duration.as_deref().unwrap_or(""))?,
        };
        let access = s.core.access();
        let decided = recorded_via(caller.via(), access.decide(&who, input)).await?;
        Ok(Answer {
            status: StatusCode::OK,
            location: None,
            body: serde_json::to_value(&decided).map_err(|_| AppError::Internal)?,
        })
    })
    .await
}

/// `GET /api/v1/policies`: every policy, with the names people read (administrators).
async fn policies(
    State(s): State<ApiState>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    let admin = caller.admin()?;
    let list = s.core.catalog().policies(&admin).await?;
    Ok(Json(json!({ "items": list })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    action: String,
    /// A UTC date (2026-06-01), inclusive.
    #[serde(default)]
    from: String,
    /// A UTC date, inclusive.
    #[serde(default)]
    to: String,
    /// The cursor: events older than this sequence number.
    #[serde(default)]
    cursor: Option<i64>,
    /// Events per page (1–500, 100 by default).
    #[serde(default)]
    limit: Option<i64>,
}

/// `GET /api/v1/audit?actor=&subject=&action=&from=&to=&cursor=&limit=`: the audit log, newest
/// first, filtered as on the audit page (administrators); `next` (and `Link`) for older events.
async fn audit(
    State(s): State<ApiState>,
    caller: Caller,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let admin = caller.admin()?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid("limit", "from 1 to 500"));
    }
    let filter =
        app::ssr::services::audit::parse_filter(&q.actor, &q.subject, &q.action, &q.from, &q.to)?;
    let page =
        app::ssr::services::audit::audit_page(&s.core.db, &admin, &filter, q.cursor, limit).await?;
    let mut response =
        Json(json!({ "items": page.events, "next": page.next_before })).into_response();
    if let Some(next) = page.next_before {
        let link = format!(
            "</api/v1/audit?actor={}&subject={}&action={}&from={}&to={}&limit={limit}&cursor={next}>; rel=\"next\"",
            query_value(&q.actor),
            query_value(&q.subject),
            query_value(&q.action),
            query_value(&q.from),
            query_value(&q.to),
        );
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}
