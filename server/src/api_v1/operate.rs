//! Running Gatepass through the API (administrators, `admin` scope): live grants (revoke, try a
//! failed one again), pending requests, groups with their members and grants, drift (list, act),
//! directory sync (status, start), and following the audit log as it grows. Each is the same
//! service call as the admin pages make.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use app::model::{
    AuditEvent, DirectoryCounts, DriftItem, Grant, GrantId, GrantView, GroupDetail, GroupSummary,
    RequestView, SyncKind, SyncRun,
};
use app::ssr::db::audit::recorded_via;
use app::ssr::services::audit::{follow, FOLLOW_MAX_WAIT_SECS};

use super::{body, id_of, link_next, query_value, ApiError, ApiQuery, ApiState, Caller};

/// A search and the page to start from.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct Search {
    /// Part of a group's or person's name.
    #[serde(default)]
    q: String,
    /// `next` of the previous page.
    #[serde(default)]
    cursor: String,
}

impl Search {
    /// The page number a cursor names (0 without one).
    fn page(&self) -> Result<i64, ApiError> {
        if self.cursor.is_empty() {
            return Ok(0);
        }
        self.cursor
            .parse()
            .ok()
            .filter(|p| *p >= 0)
            .ok_or_else(|| ApiError::invalid("cursor", "use the `next` of the previous page"))
    }
}

/// A page of live grants.
#[derive(Serialize, ToSchema)]
pub struct GrantPage {
    pub items: Vec<GrantView>,
    pub next: Option<String>,
}

/// A page of pending requests.
#[derive(Serialize, ToSchema)]
pub struct RequestPage {
    pub items: Vec<RequestView>,
    pub next: Option<String>,
}

/// `page` as the answer, with `Link: <path?q=…&cursor=next>; rel="next"` when there is a next.
fn paged(page: impl Serialize, next: Option<&String>, path: &str, q: &str) -> Response {
    let link = next.map(|n| format!("{path}?q={}&cursor={n}", query_value(q)));
    let mut response = Json(page).into_response();
    link_next(&mut response, link);
    response
}

/// Live and scheduled grants, newest first, whose group or holder matches `q` (`admin`).
#[utoipa::path(get, path = "/api/v1/admin/grants", tag = "admin", params(Search),
    responses((status = 200, description = "A page of grants", body = GrantPage)))]
pub(super) async fn grants(
    State(s): State<ApiState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<Search>,
) -> Result<Response, ApiError> {
    let search = query;
    let admin = caller.admin()?;
    let page = search.page()?;
    let overview = s
        .core
        .catalog()
        .admin_overview(&admin, &search.q, 0, page)
        .await?;
    let next = overview.more_grants.then(|| (page + 1).to_string());
    let link = next.clone();
    let page = GrantPage {
        items: overview.grants,
        next,
    };
    Ok(paged(
        page,
        link.as_ref(),
        "/api/v1/admin/grants",
        &search.q,
    ))
}

/// Pending requests, oldest first, whose group or requester matches `q` (`admin`).
#[utoipa::path(get, path = "/api/v1/admin/requests", tag = "admin", params(Search),
    responses((status = 200, description = "A page of requests", body = RequestPage)))]
pub(super) async fn pending(
    State(s): State<ApiState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<Search>,
) -> Result<Response, ApiError> {
    let search = query;
    let admin = caller.admin()?;
    let page = search.page()?;
    let overview = s
        .core
        .catalog()
        .admin_overview(&admin, &search.q, page, 0)
        .await?;
    let next = overview.more_requests.then(|| (page + 1).to_string());
    let link = next.clone();
    let page = RequestPage {
        items: overview.pending,
        next,
    };
    Ok(paged(
        page,
        link.as_ref(),
        "/api/v1/admin/requests",
        &search.q,
    ))
}

/// Why a grant is revoked.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    /// Told to the holder and kept in the audit log.
    reason: String,
}

/// Ends any grant now, with a reason (`admin`); Gatepass removes the Okta membership at once.
#[utoipa::path(post, path = "/api/v1/admin/grants/{id}/revoke", tag = "admin",
    params(("id" = i64, Path, description = "The grant's number")),
    request_body = Revocation,
    responses((status = 200, description = "The grant, ending", body = Grant)))]
pub(super) async fn revoke(
    State(s): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<Grant>, ApiError> {
    let admin = caller.admin()?;
    let id = GrantId(id_of(&id, "grant")?);
    let why: Revocation = body(&bytes)?;
    let access = s.core.access();
    Ok(Json(
        recorded_via(caller.via(), access.revoke(&admin, id, &why.reason)).await?,
    ))
}

/// Tries a failed grant again (`admin`).
#[utoipa::path(post, path = "/api/v1/admin/grants/{id}/retry", tag = "admin",
    params(("id" = i64, Path, description = "The grant's number")),
    responses((status = 200, description = "The grant, being added again", body = Grant)))]
pub(super) async fn retry(
    State(s): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Grant>, ApiError> {
    let admin = caller.admin()?;
    let id = GrantId(id_of(&id, "grant")?);
    let access = s.core.access();
    Ok(Json(
        recorded_via(caller.via(), access.retry_failed(&admin, id)).await?,
    ))
}

/// A page of synced groups.
#[derive(Serialize, ToSchema)]
pub struct GroupsPage {
    pub items: Vec<GroupSummary>,
    pub next: Option<String>,
}

/// Synced groups whose name contains `q`, by name, with member and grant counts and the policy
/// that applies (`admin`).
#[utoipa::path(get, path = "/api/v1/admin/groups", tag = "admin", params(Search),
    operation_id = "admin_groups",
    responses((status = 200, description = "A page of groups", body = GroupsPage)))]
pub(super) async fn groups(
    State(s): State<ApiState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<Search>,
) -> Result<Response, ApiError> {
    let search = query;
    let admin = caller.admin()?;
    let list = s
        .core
        .groups()
        .list(&admin, &search.q, &search.cursor)
        .await?;
    let link = list.next.clone();
    let page = GroupsPage {
        items: list.groups,
        next: list.next,
    };
    Ok(paged(
        page,
        link.as_ref(),
        "/api/v1/admin/groups",
        &search.q,
    ))
}

/// One group: its members and why each is there, its live grants, its drift, its policy
/// (`admin`).
#[utoipa::path(get, path = "/api/v1/admin/groups/{id}", tag = "admin",
    operation_id = "admin_group",
    params(("id" = String, Path, description = "The Okta group id")),
    responses((status = 200, description = "The group", body = GroupDetail)))]
pub(super) async fn group(
    State(s): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<GroupDetail>, ApiError> {
    let admin = caller.admin()?;
    Ok(Json(s.core.groups().detail(&admin, &id).await?))
}

/// Which drift.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct DriftQuery {
    /// `open` (default), `ignored` or `resolved`.
    #[serde(default)]
    state: Option<String>,
    /// `next` of the previous page.
    #[serde(default)]
    cursor: Option<i64>,
}

/// A page of drift.
#[derive(Serialize, ToSchema)]
pub struct DriftList {
    pub items: Vec<DriftItem>,
    pub next: Option<i64>,
    /// How many are open and ignored in all.
    pub open: i64,
    pub ignored: i64,
}

/// Differences between Okta and Gatepass's grants, newest first (`admin`).
#[utoipa::path(get, path = "/api/v1/admin/drift", tag = "admin", params(DriftQuery),
    responses((status = 200, description = "A page of drift", body = DriftList)))]
pub(super) async fn drift(
    State(s): State<ApiState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<DriftQuery>,
) -> Result<Response, ApiError> {
    let q = query;
    let admin = caller.admin()?;
    let state = q.state.unwrap_or_else(|| "open".to_owned());
    let page = s
        .core
        .drift()
        .list(&admin, &state, q.cursor.unwrap_or(0))
        .await?;
    let link = page.next.map(|n| {
        format!(
            "/api/v1/admin/drift?state={}&cursor={n}",
            query_value(&state)
        )
    });
    let mut response = Json(DriftList {
        items: page.items,
        next: page.next,
        open: page.open,
        ignored: page.ignored,
    })
    .into_response();
    link_next(&mut response, link);
    Ok(response)
}

/// What to do about a drift item.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DriftDecision {
    /// `reapply`, `revoke` or `ignore`.
    #[schema(pattern = "^(reapply|revoke|ignore)$")]
    action: String,
}

/// Acts on a drift item (`admin`).
#[utoipa::path(post, path = "/api/v1/admin/drift/{id}", tag = "admin",
    params(("id" = i64, Path, description = "The drift item's number")),
    request_body = DriftDecision,
    responses((status = 200, description = "The item, decided", body = DriftItem)))]
pub(super) async fn act_on_drift(
    State(s): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<DriftItem>, ApiError> {
    let admin = caller.admin()?;
    let id = id_of(&id, "drift item")?;
    let decision: DriftDecision = body(&bytes)?;
    let drift = s.core.drift();
    Ok(Json(
        recorded_via(caller.via(), drift.act(&admin, id, &decision.action)).await?,
    ))
}

/// Directory sync: whether one runs now, the recent runs, the directory's size.
#[derive(Serialize, ToSchema)]
pub struct SyncState {
    pub running: bool,
    pub runs: Vec<SyncRun>,
    pub directory: DirectoryCounts,
}

/// The directory sync's state (`admin`).
#[utoipa::path(get, path = "/api/v1/admin/sync", tag = "admin",
    responses((status = 200, description = "The sync's state", body = SyncState)))]
pub(super) async fn sync_state(
    State(s): State<ApiState>,
    caller: Caller,
) -> Result<Json<SyncState>, ApiError> {
    let admin = caller.admin()?;
    let overview = s.core.sync().overview(&admin).await?;
    Ok(Json(SyncState {
        running: overview.running,
        runs: overview.runs,
        directory: overview.directory,
    }))
}

/// Which sync to start.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncStart {
    /// `full` (everything, removals found) or `incremental` (what changed; the default).
    #[serde(default)]
    #[schema(pattern = "^(full|incremental)$")]
    kind: Option<String>,
}

/// What was started.
#[derive(Serialize, ToSchema)]
pub struct Started {
    pub message: String,
}

/// Starts a directory sync now, in the background (`admin`); 409 if one is running.
#[utoipa::path(post, path = "/api/v1/admin/sync", tag = "admin", request_body = SyncStart,
    responses((status = 202, description = "Started", body = Started)))]
pub(super) async fn start_sync(
    State(s): State<ApiState>,
    caller: Caller,
    bytes: Bytes,
) -> Result<(StatusCode, Json<Started>), ApiError> {
    let admin = caller.admin()?;
    let start: SyncStart = body(&bytes)?;
    let kind = match start.kind.as_deref() {
        None | Some("incremental") => SyncKind::Incremental,
        Some("full") => SyncKind::Full,
        Some(_) => return Err(ApiError::invalid("kind", "full or incremental")),
    };
    let sync = s.core.sync();
    let message = recorded_via(caller.via(), sync.start(&admin, kind)).await?;
    Ok((StatusCode::ACCEPTED, Json(Started { message })))
}

/// Where to follow from.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct FollowQuery {
    /// `next` of the previous call; absent: from now on.
    #[serde(default)]
    after: Option<i64>,
    /// Seconds to wait for a new event when there is none yet (0 to 25; 25 by default).
    #[serde(default)]
    #[param(minimum = 0, maximum = 25)]
    wait: Option<u64>,
}

/// New events, oldest first.
#[derive(Serialize, ToSchema)]
pub struct Followed {
    pub items: Vec<AuditEvent>,
    /// `after` of the next call.
    pub next: i64,
}

/// Follows the audit log (`admin`): the events after `after`, oldest first, answered as soon as
/// there is one (or after `wait` seconds with none). Call again with `next` to keep following.
#[utoipa::path(get, path = "/api/v1/audit/follow", tag = "admin", params(FollowQuery),
    responses((status = 200, description = "New events", body = Followed)))]
pub(super) async fn follow_audit(
    State(s): State<ApiState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<FollowQuery>,
) -> Result<Json<Followed>, ApiError> {
    let q = query;
    let admin = caller.admin()?;
    let wait = q.wait.unwrap_or(FOLLOW_MAX_WAIT_SECS);
    if wait > FOLLOW_MAX_WAIT_SECS {
        return Err(ApiError::invalid(
            "wait",
            format!("from 0 to {FOLLOW_MAX_WAIT_SECS} seconds"),
        ));
    }
    let (items, next) = follow(
        &s.core.db,
        &admin,
        q.after,
        std::time::Duration::from_secs(wait),
        500,
    )
    .await?;
    Ok(Json(Followed { items, next }))
}
