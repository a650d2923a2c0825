//! The Management API subset: users, groups, memberships, group owners, admin roles, group
//! rules and the system log, with Okta's paging, filters, permissions and errors. (User types
//! and the user schema are in `meta`; apps and their assignments in `apps`.)

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::filter::{self, Expr, Kind, Val};
use super::http::{authenticate, page, paging, param, Base, Caller, OktaError};
use super::store::{GroupKind, LogTarget, Org, User};
use super::time::{format_instant, now_ms, parse_instant};
use super::Sim;

pub(crate) type Q = Query<Vec<(String, String)>>;
pub(crate) type ApiResult = Result<Response, OktaError>;

/// Routes under `/api/v1`.
pub fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route("/api/v1/users", get(list_users))
        .route("/api/v1/users/{id}", get(get_user))
        .route("/api/v1/users/{id}/groups", get(user_groups))
        .route("/api/v1/users/{id}/roles", get(user_roles))
        .route(
            "/api/v1/users/{id}/roles/{role}/targets/groups",
            get(role_group_targets),
        )
        .route("/api/v1/groups", get(list_groups))
        .route("/api/v1/groups/rules", get(list_group_rules))
        .route("/api/v1/groups/{id}", get(get_group))
        .route("/api/v1/groups/{id}/users", get(group_users))
        .route("/api/v1/groups/{id}/owners", get(group_owners))
        .route(
            "/api/v1/groups/{gid}/users/{uid}",
            put(add_member).delete(remove_member),
        )
        .route("/api/v1/logs", get(list_logs))
}

/// Attributes usable in user `search`/`filter`.
fn user_schema(attr: &str) -> Option<Kind> {
    match attr {
        "id" | "status" | "profile.login" | "profile.email" | "profile.firstName"
        | "profile.lastName" | "profile.title" | "profile.department" => Some(Kind::Text),
        "created" | "lastUpdated" | "activated" | "statusChanged" | "lastLogin" => {
            Some(Kind::Instant)
        }
        _ => None,
    }
}

fn user_attr<'a>(u: &'a User, attr: &str) -> Val<'a> {
    let opt_t = |v: Option<i64>| v.map(Val::Instant).unwrap_or(Val::Missing);
    let opt_s = |v: &'a Option<String>| v.as_deref().map(Val::Text).unwrap_or(Val::Missing);
    match attr {
        "id" => Val::Text(&u.id),
        "status" => Val::Text(&u.status),
        "profile.login" => Val::Text(&u.login),
        "profile.email" => Val::Text(&u.email),
        "profile.firstName" => Val::Text(&u.first_name),
        "profile.lastName" => Val::Text(&u.last_name),
        "profile.title" => opt_s(&u.title),
        "profile.department" => opt_s(&u.department),
        "created" => Val::Instant(u.created),
        "lastUpdated" => Val::Instant(u.last_updated),
        "activated" => opt_t(u.activated),
        "statusChanged" => opt_t(u.status_changed),
        "lastLogin" => opt_t(u.last_login),
        _ => Val::Missing,
    }
}

/// Parses `search` and `filter` (both may be given; both must match).
fn expressions(
    query: &[(String, String)],
    schema: &dyn Fn(&str) -> Option<Kind>,
) -> Result<Vec<Expr>, OktaError> {
    ["search", "filter"]
        .into_iter()
        .filter_map(|name| param(query, name).map(|v| (name, v)))
        .map(|(name, v)| {
            filter::parse(v, schema).map_err(|e| OktaError::invalid_search(format!("{name}: {e}")))
        })
        .collect()
}

fn caller(sim: &Sim, headers: &HeaderMap) -> Result<Caller, OktaError> {
    authenticate(sim, headers)
}

async fn list_users(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    base: Base,
    uri: Uri,
    Query(query): Q,
) -> ApiResult {
    let who = caller(&sim, &headers)?;
    let org = sim.org.read().expect("org lock");
    who.read_users(&org)?;
    if let Some(q) = param(&query, "q") {
        // `q`: prefix match on first name, last name or email; not pageable.
        let limit = paging(&query, 10, 200)?.limit;
        let q = q.to_lowercase();
        let items = org
            .users
            .iter()
            .filter(|u| u.status != "DEPROVISIONED")
            .filter(|u| {
                [&u.first_name, &u.last_name, &u.email]
                    .iter()
                    .any(|f| f.to_lowercase().starts_with(&q))
            })
            .take(limit)
            .map(|u| u.view(&base.0))
            .collect::<Vec<_>>();
        return Ok(page(&base, &uri, items, None));
    }
    let paging = paging(&query, 200, 200)?;
    let exprs = expressions(&query, &user_schema)?;
    // Without a search, Okta lists every user except DEPROVISIONED ones.
    let hide_deprovisioned = param(&query, "search").is_none();
    let start = Org::start_after(paging.after.as_deref(), |id| org.user_by_id(id))
        .ok_or_else(|| OktaError::validation("after", "after: unknown cursor"))?;

    let candidates: Box<dyn Iterator<Item = (usize, &User)>> =
        match exprs.iter().find_map(|e| e.pinned("profile.login")) {
            Some(login) => Box::new(
                org.find_user(login)
                    .filter(|&i| i as usize >= start as usize)
                    .map(|i| (i as usize, &org.users[i as usize]))
                    .into_iter(),
            ),
            None => Box::new(org.users.iter().enumerate().skip(start as usize)),
        };
    let matching = candidates.map(|(_, u)| u).filter(|u| {
        !(hide_deprovisioned && u.status == "DEPROVISIONED")
            && exprs.iter().all(|e| e.matches(&|a| user_attr(u, a)))
    });
    let (found, next) = take_page(matching, paging.limit, |u| &u.id);
    let items: Vec<_> = found.into_iter().map(|u| u.view(&base.0)).collect();
    Ok(page(&base, &uri, items, next))
}

/// Up to `limit` items and, when more follow, the cursor (the last item's id) of the next page.
pub(crate) fn take_page<'a, T>(
    mut items: impl Iterator<Item = &'a T>,
    limit: usize,
    id: impl Fn(&'a T) -> &'a str,
) -> (Vec<&'a T>, Option<String>) {
    let page: Vec<&'a T> = items.by_ref().take(limit).collect();
    let next = match (items.next(), page.last()) {
        (Some(_), Some(last)) => Some(id(*last).to_owned()),
        _ => None,
    };
    (page, next)
}

fn find_user_or_404(org: &Org, id: &str) -> Result<u32, OktaError> {
    org.find_user(id)
        .ok_or_else(|| OktaError::not_found(id, "User"))
}

async fn get_user(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    base: Base,
    Path(id): Path<String>,
) -> ApiResult {
    let who = caller(&sim, &headers)?;
    let org = sim.org.read().expect("org lock");
    if id == "me" {
        return match who {
            Caller::Token { user } => {
                Ok(Json(org.users[user as usize].to_json(&base.0)).into_response())
            }
            Caller::App { .. } => Err(OktaError::not_found("me", "User")),
        };
    }
    who.read_users(&org)?;
    let u = find_user_or_404(&org, &id)?;
    Ok(Json(org.users[u as usize].to_json(&base.0)).into_response())
}

async fn user_groups(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    base: Base,
    uri: Uri,
    Path(id): Path<String>,
) -> ApiResult {
    let who = caller(&sim, &headers)?;
    let org = sim.org.read().expect("org lock");
    who.read_groups(&org)?;
    let u = find_user_or_404(&org, &id)?;
    let items = org.users[u as usize]
        .groups
        .iter()
        .map(|&g| org.groups[g as usize].view(&base.0, None))
        .collect::<Vec<_>>();
    Ok(page(&base, &uri, items, None))
}

fn role_json(base: &str, user_id: &str, r: &super::store::Role, now: i64) -> Value {
    let mut v = json!({
        "id": r.id,
        "label": r.kind.label(),
        "type": r.kind.as_str(),
        "status": "ACTIVE",
        "created": format_instant(now),
        "lastUpdated": format_instant(now),
        "assignmentType": "USER",
        "_links": {
            "assignee": { "href": format!("{base}/api/v1/users/{user_id}") }
        }
    });
    if r.kind.group_scoped() && r.groups.is_some() {
        v["_links"]["targets"] = json!({
            "groups": { "href": format!("{base}/api/v1/users/{user_id}/roles/{}/targets/groups", r.id) }
        });
    }
    v
}

async fn user_roles(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    base: Base,
    uri: Uri,
    Path(id): Path<String>,
) -> ApiResult {
    let who = caller(&sim, &headers)?;
    let org = sim.org.read().expect("org lock");
    // Anyone may read their own roles; reading another's needs an admin role.
    let u = find_user_or_404(&org, &id)?;
    if !matches!(who, Caller::Token { user } if user == u) {
        who.read_roles(&org)?;
    }
    let user = &org.users[u as usize];
    let items = user
        .roles
        .iter()
        .map(|r| role_json(&base.0, &user.id, r, user.created))
        .collect();
    Ok(page(&base, &uri, items, None))
}

async fn role_group_targets(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    base: Base,
    uri: Uri,
    Path((id, role)): Path<(String, String)>,
) -> ApiResult {
    let who = caller(&sim, &headers)?;
    let org = sim.org.read().expect("org lock");
    let u = find_user_or_404(&org, &id)?;
    if !matches!(who, Caller::Token { user } if user == u) {
        who.read_roles(&org)?;
    }
    let r = org.users[u as usize]
        .roles
        .iter()
        .find(|r| r.id == role)
        .ok_or_else(|| OktaError::not_found(&role, "Role"))?;
    let items = match &r.groups {
        Some(gs) => gs
            .iter()
            .map(|&g| org.groups[g as usize].to_json(&base.0, None))
            .collect(),
        // Okta answers an unscoped role's targets with 404 E0000007 too? It lists nothing.
        None => Vec::new(),
    };
    Ok(page(&base, &uri, items, None))
}

/// Attributes usable in group `filter` (`search` allows the profile too).
fn group_filter_schema(attr: &str) -> Option<Kind> {
    match attr {
        "id" | "type" => Some(Kind::Text),
        "lastUpdated" | "lastMembershipUpdated" => Some(Kind::Instant),
        _ => None,
    }
}

fn group_search_schema(attr: &str) -> Option<Kind> {
    match attr {
        "profile.name" | "profile.description" => Some(Kind::Text),
        "created" => Some(Kind::Instant),
        other => group_filter_schema(other),
    }
}

fn group_attr<'a>(g: &'a super::store::Group, attr: &str) -> Val<'a> {
    match attr {
        "id" => Val::Text(&g.id),
        "type" => Val::Text(g.kind.as_str()),
        "profile.name" => Val::Text(&g.name),
        "profile.description" => Val::Text(&g.description),
        "created" => Val::Instant(g.created),
        "lastUpdated" => Val::Instant(g.last_updated),
        "lastMembershipUpdated" => Val::Instant(g.last_membership_updated),
        _ => Val::Missing,
    }
}

async fn list_groups(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    base: Base,
    uri: Uri,
    Query(query): Q,
) -> ApiResult {
    let who = caller(&sim, &headers)?;
    let org = sim.org.read().expect("org lock");
    who.read_groups(&org)?;
    let stats = param(&query, "expand").is_some_and(|e| e.split(',').any(|x| x.trim() == "stats"));
    let stats_of = |g: &super::store::Group| {
        stats.then(|| org.find_group(&g.id).map_or(0, |i| org.group_app_count(i)))
    };
    if let Some(q) = param(&query, "q") {
        // `q`: name prefix, at most 300 results, never a next page.
        let limit = paging(&query, 300, 300)?.limit;
        let q = q.to_lowercase();
        let items = org
            .groups
            .iter()
            .filter(|g| g.name.to_lowercase().starts_with(&q))
            .take(limit)
            .map(|g| g.view(&base.0, stats_of(g)))
            .collect::<Vec<_>>();
        return Ok(page(&base, &uri, items, None));
    }
    let paging = paging(&query, 10_000, 10_000)?;
    let mut exprs = Vec::new();
    if let Some(s) = param(&query, "search") {
        exprs.push(
            filter::parse(s, &group_search_schema)
                .map_err(|e| OktaError::invalid_search(format!("search: {e}")))?,
        );
    }
    if let Some(f) = param(&query, "filter") {
        exprs.push(
            filter::parse(f, &group_filter_schema)
                .map_err(|e| OktaError::invalid_search(format!("filter: {e}")))?,
        );
    }
    let start = Org::start_after(paging.after.as_deref(), |id| org.find_group(id))
        .ok_or_else(|| OktaError::validation("after", "after: unknown cursor"))?;
    let matching = org
        .groups
        .iter()
        .skip(start as usize)
        .filter(|g| exprs.iter().all(|e| e.matches(&|a| group_attr(g, a))));
    let (found, next) = take_page(matching, paging.limit, |g| &g.id);
    let items: Vec<_> = found
        .into_iter()
        .map(|g| g.view(&base.0, stats_of(g)))
        .collect();
    Ok(page(&base, &uri, items, next))
}

fn find_group_or_404(org: &Org, id: &str) -> Result<u32, OktaError> {
    org.find_group(id)
        .ok_or_else(|| OktaError::not_found(id, "UserGroup"))
}

async fn get_group(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    base: Base,
    Path(id): Path<String>,
    Query(query): Q,
) -> ApiResult {
    let who = caller(&sim, &headers)?;
    let org = sim.org.read().expect("org lock");
    who.read_groups(&org)?;
    let g = find_group_or_404(&org, &id)?;
    let stats = param(&query, "expand").is_some_and(|e| e.contains("stats"));
    let stats = stats.then(|| org.group_app_count(g));
    Ok(Json(org.groups[g as usize].to_json(&base.0, stats)).into_response())
}

async fn group_users(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    base: Base,
    uri: Uri,
    Path(id): Path<String>,
    Query(query): Q,
) -> ApiResult {
    let who = caller(&sim, &headers)?;
    let org = sim.org.read().expect("org lock");
    who.read_groups(&org)?;
    let g = find_group_or_404(&org, &id)?;
    let paging = paging(&query, 1000, 1000)?;
    let start = Org::start_after(paging.after.as_deref(), |id| org.user_by_id(id))
        .ok_or_else(|| OktaError::validation("after", "after: unknown cursor"))?;
    let members = org.groups[g as usize]
        .members
        .range(start..)
        .map(|&u| &org.users[u as usize]);
    let (users, next) = take_page(members, paging.limit, |u| &u.id);
    let items: Vec<_> = users.iter().map(|u| u.view(&base.0)).collect();
    Ok(page(&base, &uri, items, next))
}

/// Attributes usable in a group-owner `search` (SCIM filter by owner type).
fn owner_schema(attr: &str) -> Option<Kind> {
    match attr {
        "type" | "id" => Some(Kind::Text),
        _ => None,
    }
}

async fn group_owners(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    base: Base,
    uri: Uri,
    Path(id): Path<String>,
    Query(query): Q,
) -> ApiResult {
    let who = caller(&sim, &headers)?;
    let org = sim.org.read().expect("org lock");
    who.read_groups(&org)?;
    let g = find_group_or_404(&org, &id)?;
    let paging = paging(&query, 1000, 1000)?;
    let search = param(&query, "search")
        .map(|s| filter::parse(s, &owner_schema))
        .transpose()
        .map_err(|e| OktaError::invalid_search(format!("search: {e}")))?;
    let owners = &org.groups[g as usize].owners;
    let start = match paging.after.as_deref() {
        None => 0,
        Some(after) => owners
            .iter()
            .position(|o| o.id(&org) == after)
            .map(|i| i + 1)
            .ok_or_else(|| OktaError::validation("after", "after: unknown cursor"))?,
    };
    let matching = owners[start..].iter().filter(|o| {
        search.as_ref().is_none_or(|e| {
            e.matches(&|a| match a {
                "type" => Val::Text(o.who.kind()),
                "id" => Val::Text(o.id(&org)),
                _ => Val::Missing,
            })
        })
    });
    let (found, next) = take_page(matching, paging.limit, |o| o.id(&org));
    let items: Vec<Value> = found.into_iter().map(|o| o.to_json(&org)).collect();
    Ok(page(&base, &uri, items, next))
}

async fn add_member(
    sim: State<Arc<Sim>>,
    headers: HeaderMap,
    ids: Path<(String, String)>,
) -> ApiResult {
    change_membership(sim, headers, ids, true).await
}

async fn remove_member(
    sim: State<Arc<Sim>>,
    headers: HeaderMap,
    ids: Path<(String, String)>,
) -> ApiResult {
    change_membership(sim, headers, ids, false).await
}

async fn change_membership(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((gid, uid)): Path<(String, String)>,
    member: bool,
) -> ApiResult {
    let who = caller(&sim, &headers)?;
    let mut org = sim.org.write().expect("org lock");
    let g = find_group_or_404(&org, &gid)?;
    let u = org
        .user_by_id(&uid)
        .ok_or_else(|| OktaError::not_found(&uid, "User"))?;
    who.manage_group(&org, g)?;
    let kind = org.groups[g as usize].kind;
    if kind != GroupKind::Okta {
        return Err(OktaError::forbidden().cause(format!(
            "You can only change the membership of groups of type OKTA_GROUP; this group is {}",
            kind.as_str()
        )));
    }
    let actor = who.actor(&org);
    org.set_membership(g, u, member, actor, now_ms());
    drop(org);
    sim.persist_soon();
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_group_rules(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    base: Base,
    uri: Uri,
    Query(query): Q,
) -> ApiResult {
    let who = caller(&sim, &headers)?;
    let org = sim.org.read().expect("org lock");
    who.read_groups(&org)?;
    let paging = paging(&query, 50, 200)?;
    let start = Org::start_after(paging.after.as_deref(), |id| {
        org.rules.iter().position(|r| r.id == id).map(|i| i as u32)
    })
    .ok_or_else(|| OktaError::validation("after", "after: unknown cursor"))?;
    let rules: Vec<_> = org.rules.iter().skip(start as usize).collect();
    let more = rules.len() > paging.limit;
    let items: Vec<Value> = rules
        .iter()
        .take(paging.limit)
        .map(|r| {
            json!({
                "type": "group_rule",
                "id": r.id,
                "status": "ACTIVE",
                "name": r.name,
                "created": format_instant(r.created),
                "lastUpdated": format_instant(r.created),
                "conditions": {
                    "people": { "users": { "exclude": [] }, "groups": { "exclude": [] } },
                    "expression": { "value": r.expression, "type": "urn:okta:expression:1.0" }
                },
                "actions": {
                    "assignUserToGroups": {
                        "groupIds": r.groups.iter().map(|&g| org.groups[g as usize].id.clone()).collect::<Vec<_>>()
                    }
                }
            })
        })
        .collect();
    let next = more
        .then(|| {
            items
                .last()
                .and_then(|r| r["id"].as_str())
                .map(str::to_owned)
        })
        .flatten();
    Ok(page(&base, &uri, items, next))
}

fn log_schema(attr: &str) -> Option<Kind> {
    match attr {
        "eventType" | "actor.id" | "target.id" | "outcome.result" => Some(Kind::Text),
        "published" => Some(Kind::Instant),
        _ => None,
    }
}

async fn list_logs(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    base: Base,
    uri: Uri,
    Query(query): Q,
) -> ApiResult {
    let who = caller(&sim, &headers)?;
    let org = sim.org.read().expect("org lock");
    who.read_logs(&org)?;
    let paging = paging(&query, 100, 1000)?;
    let now = now_ms();
    let instant = |name: &str| -> Result<Option<i64>, OktaError> {
        param(&query, name)
            .map(|v| {
                parse_instant(v).ok_or_else(|| {
                    OktaError::validation(name, format!("{name}: {v:?} is not an ISO 8601 instant"))
                })
            })
            .transpose()
    };
    let since = instant("since")?.unwrap_or(now - 7 * 24 * 3600 * 1000);
    let until = instant("until")?;
    let expr = param(&query, "filter")
        .map(|f| filter::parse(f, &log_schema))
        .transpose()
        .map_err(|e| OktaError::invalid_search(format!("filter: {e}")))?;
    // The cursor is the position in the log to continue from.
    let start = match paging.after.as_deref() {
        None => 0,
        Some(a) => a
            .parse::<usize>()
            .map_err(|_| OktaError::validation("after", "after: unknown cursor"))?,
    };
    let mut items = Vec::new();
    let mut pos = start.min(org.events.len());
    let mut more = false;
    for (seq, e) in org.events.iter().enumerate().skip(start) {
        if items.len() == paging.limit {
            more = true;
            break;
        }
        pos = seq + 1;
        if e.published < since || until.is_some_and(|u| e.published >= u) {
            continue;
        }
        let user = &org.users[e.user as usize].id;
        let other = match e.target {
            LogTarget::Group(g) => &org.groups[g as usize].id,
            LogTarget::App(a) => &org.apps[a as usize].id,
        };
        let matches = |x: &Expr| {
            [user, other].iter().any(|target| {
                x.matches(&|a| match a {
                    "eventType" => Val::Text(e.event_type),
                    "actor.id" => Val::Text(&e.actor.id),
                    "target.id" => Val::Text(target),
                    "outcome.result" => Val::Text("SUCCESS"),
                    "published" => Val::Instant(e.published),
                    _ => Val::Missing,
                })
            })
        };
        if !expr.as_ref().is_none_or(matches) {
            continue;
        }
        items.push(e.to_json(&org));
    }
    // Without `until` the request is a poll: Okta always gives a next link to poll again.
    let next = (more || until.is_none()).then(|| pos.to_string());
    Ok(page(&base, &uri, items, next))
}
