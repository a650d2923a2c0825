//! Administrators' operations (an `admin`-scoped token of a person who is an administrator at
//! the time of the call): policies — one at a time with `ETag`/`If-Match`, or a whole set as
//! code (export, plan, apply) — and the audit log.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use app::model::{AuditEvent, Policy, PolicyExport, PolicyPlan, PolicySet, PolicySpec, PolicyView};
use app::ssr::db::audit::recorded_via;
use app::ssr::services::audit::{audit_page, parse_filter};
use app::ssr::services::policy_code::{etag, version};

use super::{body, id_of, link_next, query_value, ApiError, ApiQuery, ApiState, Caller};

/// Every policy, and the version of the set.
#[derive(Serialize, ToSchema)]
pub struct Policies {
    pub items: Vec<PolicyView>,
    /// The version of all policies together (what `If-Match` of an apply takes).
    pub version: String,
}

/// `response` with `ETag: tag`.
fn tagged(mut response: Response, tag: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(tag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// The `If-Match` a write needs (428 without one: a blind overwrite is not offered).
fn if_match(headers: &HeaderMap) -> Result<String, ApiError> {
    headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::PRECONDITION_REQUIRED,
                "precondition_required",
                "send If-Match with the ETag (or version) you read, so that a change made \
                 meanwhile is not overwritten",
            )
        })
}

/// Every policy, with the names people read (`admin`).
#[utoipa::path(get, path = "/api/v1/policies", tag = "admin",
    responses((status = 200, description = "The policies", body = Policies,
        headers(("ETag" = String, description = "The version of the set")))))]
pub(super) async fn policies(
    State(s): State<ApiState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let admin = caller.admin()?;
    let items = s.core.catalog().policies(&admin).await?;
    let all: Vec<Policy> = items.iter().map(|v| v.policy.clone()).collect();
    let version = version(&all);
    Ok(tagged(
        Json(Policies {
            items,
            version: version.clone(),
        })
        .into_response(),
        &version,
    ))
}

/// One policy as people write it, with its id and version.
#[derive(Serialize, ToSchema)]
pub struct PolicyEntry {
    pub id: i64,
    /// The policy's version (its `ETag`; `If-Match` of a replace or delete).
    pub version: String,
    pub policy: PolicySpec,
}

/// `p` as an answer: as people write it, with its version as `ETag`.
async fn entry(s: &ApiState, p: &Policy) -> Result<Response, ApiError> {
    let tag = etag(p);
    let spec = s.core.policy_code().spec_of(p).await?;
    Ok(tagged(
        Json(PolicyEntry {
            id: p.id,
            version: tag.clone(),
            policy: spec,
        })
        .into_response(),
        &tag,
    ))
}

/// One policy, as a policies file writes it (`admin`).
#[utoipa::path(get, path = "/api/v1/policies/{id}", tag = "admin",
    params(("id" = i64, Path, description = "The policy's number")),
    responses((status = 200, description = "The policy", body = PolicyEntry,
        headers(("ETag" = String, description = "The policy's version")))))]
pub(super) async fn policy(
    State(s): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let admin = caller.admin()?;
    let id = id_of(&id, "policy")?;
    let (p, _) = s.core.policy_code().get(&admin, id).await?;
    entry(&s, &p).await
}

/// A new policy (`admin`); 409 when its group or pattern already has one.
#[utoipa::path(post, path = "/api/v1/policies", tag = "admin", request_body = PolicySpec,
    responses((status = 201, description = "The policy", body = PolicyEntry,
        headers(("ETag" = String, description = "The policy's version"),
            ("Location" = String, description = "The policy")))))]
pub(super) async fn create_policy(
    State(s): State<ApiState>,
    caller: Caller,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let admin = caller.admin()?;
    let spec: PolicySpec = body(&bytes)?;
    let code = s.core.policy_code();
    let p = recorded_via(caller.via(), code.create(&admin, &spec)).await?;
    let mut response = entry(&s, &p).await?;
    *response.status_mut() = StatusCode::CREATED;
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/policies/{}", p.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Replaces a policy (`admin`), only if it is still at the version in `If-Match` (412 if it
/// changed, 428 without `If-Match`).
#[utoipa::path(put, path = "/api/v1/policies/{id}", tag = "admin",
    params(("id" = i64, Path, description = "The policy's number"),
        ("If-Match" = String, Header, description = "The version read (`ETag`)")),
    request_body = PolicySpec,
    responses((status = 200, description = "The policy", body = PolicyEntry,
        headers(("ETag" = String, description = "The policy's new version")))))]
pub(super) async fn replace_policy(
    State(s): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let admin = caller.admin()?;
    let id = id_of(&id, "policy")?;
    let expected = if_match(&headers)?;
    let spec: PolicySpec = body(&bytes)?;
    let code = s.core.policy_code();
    let p = recorded_via(caller.via(), code.replace(&admin, id, &spec, &expected)).await?;
    entry(&s, &p).await
}

/// Deletes a policy (`admin`), only if it is still at the version in `If-Match`.
#[utoipa::path(delete, path = "/api/v1/policies/{id}", tag = "admin",
    params(("id" = i64, Path, description = "The policy's number"),
        ("If-Match" = String, Header, description = "The version read (`ETag`)")),
    responses((status = 204, description = "Deleted")))]
pub(super) async fn delete_policy(
    State(s): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let admin = caller.admin()?;
    let id = id_of(&id, "policy")?;
    let expected = if_match(&headers)?;
    let code = s.core.policy_code();
    recorded_via(caller.via(), code.delete(&admin, id, &expected)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every policy as a policies file holds it, and the set's version (`admin`).
#[utoipa::path(get, path = "/api/v1/policies/export", tag = "admin",
    responses((status = 200, description = "The policies", body = PolicyExport,
        headers(("ETag" = String, description = "The version of the set")))))]
pub(super) async fn export(
    State(s): State<ApiState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let admin = caller.admin()?;
    let export = s.core.policy_code().export(&admin).await?;
    let version = export.version.clone();
    Ok(tagged(Json(export).into_response(), &version))
}

/// What making the policies exactly this set would change, field by field (`admin`); nothing
/// is written. 422 lists every invalid policy.
#[utoipa::path(post, path = "/api/v1/policies/plan", tag = "admin", request_body = PolicySet,
    responses((status = 200, description = "The plan", body = PolicyPlan)))]
pub(super) async fn plan(
    State(s): State<ApiState>,
    caller: Caller,
    bytes: Bytes,
) -> Result<Json<PolicyPlan>, ApiError> {
    let admin = caller.admin()?;
    let set: PolicySet = body(&bytes)?;
    Ok(Json(s.core.policy_code().plan(&admin, &set).await?))
}

/// Makes the policies exactly this set, in one transaction (`admin`), only if they are still
/// at the version in `If-Match` (the plan's `version`; 412 if they changed meanwhile).
#[utoipa::path(post, path = "/api/v1/policies/apply", tag = "admin",
    params(("If-Match" = String, Header, description = "The plan's `version`")),
    request_body = PolicySet,
    responses((status = 200, description = "What was done, and the new version", body = PolicyPlan,
        headers(("ETag" = String, description = "The new version of the set")))))]
pub(super) async fn apply(
    State(s): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let admin = caller.admin()?;
    let expected = if_match(&headers)?;
    let set: PolicySet = body(&bytes)?;
    let code = s.core.policy_code();
    let done = recorded_via(caller.via(), code.apply(&admin, &set, &expected)).await?;
    let version = done.version.clone();
    Ok(tagged(Json(done).into_response(), &version))
}

/// Which events; empty filters match everything.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct AuditQuery {
    /// Part of the actor's login.
    #[serde(default)]
    actor: String,
    /// Part of the subject (`request:12`, `group:00g…`).
    #[serde(default)]
    subject: String,
    /// The action, or its start (`request.`).
    #[serde(default)]
    action: String,
    /// A UTC date (`2026-06-01`), inclusive.
    #[serde(default)]
    from: String,
    /// A UTC date, inclusive.
    #[serde(default)]
    to: String,
    /// `next` of the previous page: events older than this sequence number.
    #[serde(default)]
    cursor: Option<i64>,
    /// Events per page, 1 to 500 (100 by default).
    #[serde(default)]
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// One page of the audit log, newest first.
#[derive(Serialize, ToSchema)]
pub struct AuditEvents {
    pub items: Vec<AuditEvent>,
    /// The cursor of the next (older) page; absent on the last.
    pub next: Option<i64>,
}

/// The audit log, newest first, filtered as on the audit page (`admin`).
#[utoipa::path(get, path = "/api/v1/audit", tag = "admin", params(AuditQuery),
    responses((status = 200, description = "A page of events", body = AuditEvents,
        headers(("Link" = String, description = "`<…>; rel=\"next\"` when older events follow")))))]
pub(super) async fn audit(
    State(s): State<ApiState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Response, ApiError> {
    let q = query;
    let admin = caller.admin()?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid("limit", "from 1 to 500"));
    }
    let filter = parse_filter(&q.actor, &q.subject, &q.action, &q.from, &q.to)?;
    let page = audit_page(&s.core.db, &admin, &filter, q.cursor, limit).await?;
    let link = page.next_before.map(|next| {
        format!(
            "/api/v1/audit?actor={}&subject={}&action={}&from={}&to={}&limit={limit}&cursor={next}",
            query_value(&q.actor),
            query_value(&q.subject),
            query_value(&q.action),
            query_value(&q.from),
            query_value(&q.to),
        )
    });
    let mut response = Json(AuditEvents {
        items: page.events,
        next: page.next_before,
    })
    .into_response();
    link_next(&mut response, link);
    Ok(response)
}
