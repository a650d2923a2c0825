//! Administrators' operations (an `admin`-scoped token of a person who is an administrator at
//! the time of the call): policies and the audit log.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use app::model::{AuditEvent, PolicyView};
use app::ssr::services::audit::{audit_page, parse_filter};

use super::{link_next, query_value, ApiError, ApiState, Caller};

/// Every policy.
#[derive(Serialize, ToSchema)]
pub struct Policies {
    pub items: Vec<PolicyView>,
}

/// Every policy, with the names people read (`admin`).
#[utoipa::path(get, path = "/api/v1/policies", tag = "admin",
    responses((status = 200, description = "The policies", body = Policies)))]
pub(super) async fn policies(
    State(s): State<ApiState>,
    caller: Caller,
) -> Result<Json<Policies>, ApiError> {
    let admin = caller.admin()?;
    let items = s.core.catalog().policies(&admin).await?;
    Ok(Json(Policies { items }))
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
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
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
