//! The operations every person has: who am I, the catalog, my access, asking for a group,
//! cancelling, giving back, and deciding the requests one approves.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use app::error::AppError;
use app::model::{
    AccessRequest, CatalogEntry, Decision, Grant, GrantId, GroupId, MyAccess, RequestId,
    RequestView, Scope, UserId,
};
use app::ssr::db::audit::recorded_via;
use app::ssr::services::access::{optional_duration, parse_start, DecisionInput, RequestInput};

use super::{
    body, id_of, idempotent, link_next, query_value, Answer, ApiError, ApiQuery, ApiState, Caller,
};

/// The token's person, and the token.
#[derive(Serialize, ToSchema)]
pub struct Whoami {
    /// The Okta user id.
    pub okta_id: UserId,
    pub login: String,
    pub email: String,
    pub display_name: String,
    pub is_admin: bool,
    pub token: TokenInfo,
}

/// The token a call came with.
#[derive(Serialize, ToSchema)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<Scope>,
}

/// Who the token's person is, and what the token may do (any scope).
#[utoipa::path(get, path = "/api/v1/whoami", tag = "people",
    responses((status = 200, description = "The token's person", body = Whoami)))]
pub(super) async fn whoami(caller: Caller) -> Json<Whoami> {
    let me = caller.0.me();
    Json(Whoami {
        okta_id: me.okta_id.clone(),
        login: me.login.clone(),
        email: me.email.clone(),
        display_name: me.display_name.clone(),
        is_admin: me.is_admin,
        token: TokenInfo {
            id: caller.0.token_id,
            name: caller.0.token_name.clone(),
            scopes: caller.0.scopes().to_vec(),
        },
    })
}

/// Which groups, from where.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct GroupsQuery {
    /// Part of the group's name or description.
    #[serde(default)]
    q: String,
    /// `next` of the previous page.
    #[serde(default)]
    cursor: String,
}

/// One page of the catalog.
#[derive(Serialize, ToSchema)]
pub struct GroupPage {
    pub items: Vec<CatalogEntry>,
    /// The cursor of the next page; absent on the last.
    pub next: Option<String>,
}

/// The groups the person may request, by name, a page at a time (`read`).
#[utoipa::path(get, path = "/api/v1/groups", tag = "people", params(GroupsQuery),
    responses((status = 200, description = "A page of the catalog", body = GroupPage,
        headers(("Link" = String, description = "`<…>; rel=\"next\"` when more follow")))))]
pub(super) async fn groups(
    State(s): State<ApiState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<GroupsQuery>,
) -> Result<Response, ApiError> {
    let who = caller.requester(Scope::Read)?;
    let page = s
        .core
        .catalog()
        .catalog(&who, &query.q, &query.cursor)
        .await?;
    let link = page.next.as_ref().map(|next| {
        format!(
            "/api/v1/groups?q={}&cursor={}",
            query_value(&query.q),
            query_value(next)
        )
    });
    let mut response = Json(GroupPage {
        items: page.entries,
        next: page.next,
    })
    .into_response();
    link_next(&mut response, link);
    Ok(response)
}

/// One group the person may request (`read`).
#[utoipa::path(get, path = "/api/v1/groups/{id}", tag = "people",
    params(("id" = String, Path, description = "The Okta group id (`00g…`)")),
    responses((status = 200, description = "The group", body = CatalogEntry)))]
pub(super) async fn group(
    State(s): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CatalogEntry>, ApiError> {
    let who = caller.requester(Scope::Read)?;
    Ok(Json(s.core.catalog().entry(&who, &GroupId(id)).await?))
}

/// The person's grants and requests (`read`).
#[utoipa::path(get, path = "/api/v1/access", tag = "people",
    responses((status = 200, description = "Grants and requests", body = MyAccess)))]
pub(super) async fn my_access(
    State(s): State<ApiState>,
    caller: Caller,
) -> Result<Json<MyAccess>, ApiError> {
    let who = caller.requester(Scope::Read)?;
    Ok(Json(s.core.catalog().my_access(&who).await?))
}

/// The person's requests.
#[derive(Serialize, ToSchema)]
pub struct MyRequests {
    /// Newest first (the last 100).
    pub items: Vec<RequestView>,
}

/// The person's requests, newest first (`read`).
#[utoipa::path(get, path = "/api/v1/requests", tag = "people",
    responses((status = 200, description = "The requests", body = MyRequests)))]
pub(super) async fn my_requests(
    State(s): State<ApiState>,
    caller: Caller,
) -> Result<Json<MyRequests>, ApiError> {
    let who = caller.requester(Scope::Read)?;
    let mine = s.core.catalog().my_access(&who).await?;
    Ok(Json(MyRequests {
        items: mine.requests,
    }))
}

/// One request with its decisions (`read`): the person's own, one they approve, or any for an
/// administrator; 404 for anyone else.
#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "people",
    params(("id" = i64, Path, description = "The request's number")),
    responses((status = 200, description = "The request", body = RequestView)))]
pub(super) async fn request(
    State(s): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RequestView>, ApiError> {
    let who = caller.requester(Scope::Read)?;
    let id = RequestId(id_of(&id, "request")?);
    Ok(Json(s.core.catalog().request(&who, id).await?))
}

/// The person's grants.
#[derive(Serialize, ToSchema)]
pub struct MyGrants {
    /// Newest first (the last 100), ended ones included.
    pub items: Vec<app::model::GrantView>,
}

/// The person's grants, newest first (`read`).
#[utoipa::path(get, path = "/api/v1/grants", tag = "people",
    responses((status = 200, description = "The grants", body = MyGrants)))]
pub(super) async fn my_grants(
    State(s): State<ApiState>,
    caller: Caller,
) -> Result<Json<MyGrants>, ApiError> {
    let who = caller.requester(Scope::Read)?;
    let mine = s.core.catalog().my_access(&who).await?;
    Ok(Json(MyGrants { items: mine.grants }))
}

/// A request for a group.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    /// The Okta group id.
    group_id: String,
    /// `2h`, `30m`, `1d`; absent: the policy's default.
    #[serde(default)]
    duration: Option<String>,
    /// Why (required when the policy says so).
    #[serde(default)]
    reason: String,
    /// A UTC start (`2026-06-01T10:00`); absent: as soon as approved.
    #[serde(default)]
    start: Option<String>,
    /// A ticket reference (required, and checked against its pattern, when the policy says so).
    #[serde(default)]
    ticket: Option<String>,
}

/// Asks for a group (`request`); an extension when the person holds it. With
/// `Idempotency-Key`, a retry gets the first answer instead of asking again.
#[utoipa::path(post, path = "/api/v1/requests", tag = "people",
    params(("Idempotency-Key" = Option<String>, Header,
        description = "Makes a retry safe: the first answer is kept a day and given again")),
    request_body = NewRequest,
    responses((status = 201, description = "The request", body = AccessRequest,
        headers(("Location" = String, description = "The request")))))]
pub(super) async fn create_request(
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
                ticket: new.ticket.unwrap_or_default(),
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

/// Withdraws one of the person's pending requests (`request`).
#[utoipa::path(post, path = "/api/v1/requests/{id}/cancel", tag = "people",
    params(("id" = i64, Path, description = "The request's number")),
    responses((status = 204, description = "Cancelled")))]
pub(super) async fn cancel_request(
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

/// Ends one of the person's grants now (`request`).
#[utoipa::path(post, path = "/api/v1/grants/{id}/give-back", tag = "people",
    params(("id" = i64, Path, description = "The grant's number")),
    responses((status = 200, description = "The grant, ending", body = Grant)))]
pub(super) async fn give_back(
    State(s): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Grant>, ApiError> {
    let who = caller.requester(Scope::Request)?;
    let id = GrantId(id_of(&id, "grant")?);
    let access = s.core.access();
    Ok(Json(
        recorded_via(caller.via(), access.give_back(&who, id)).await?,
    ))
}

/// Requests waiting for a decision.
#[derive(Serialize, ToSchema)]
pub struct Approvals {
    pub items: Vec<RequestView>,
}

/// Requests waiting for the person's decision, oldest first (`read`).
#[utoipa::path(get, path = "/api/v1/approvals", tag = "people",
    responses((status = 200, description = "The queue", body = Approvals)))]
pub(super) async fn approvals(
    State(s): State<ApiState>,
    caller: Caller,
) -> Result<Json<Approvals>, ApiError> {
    let who = caller.requester(Scope::Read)?;
    let items = s.core.catalog().approval_queue(&who).await?;
    Ok(Json(Approvals { items }))
}

/// An approver's answer.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDecision {
    /// `approve` or `deny`.
    #[schema(pattern = "^(approve|deny)$")]
    decision: String,
    /// Required to deny.
    #[serde(default)]
    comment: String,
    /// A shorter duration than asked for (approvals only).
    #[serde(default)]
    duration: Option<String>,
}

/// Approves or denies a request the person is an approver of (`approve`); with
/// `Idempotency-Key`, a retry gets the first answer.
#[utoipa::path(post, path = "/api/v1/approvals/{id}", tag = "people",
    params(("id" = i64, Path, description = "The request's number"),
        ("Idempotency-Key" = Option<String>, Header,
            description = "Makes a retry safe: the first answer is kept a day and given again")),
    request_body = NewDecision,
    responses((status = 200, description = "The request, decided or with one more approval",
        body = AccessRequest)))]
pub(super) async fn decide(
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
