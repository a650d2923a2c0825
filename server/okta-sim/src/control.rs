//! The simulator's own control API under `/__sim/` (no auth, loopback only): the request log,
//! fault injection, rate-limit settings, credential rotation, user status changes, and app
//! assignments (read them all; assign or unassign a group; activate or deactivate an app), so
//! tests can steer the org and count Okta calls. Not rate limited and not logged.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::edge::{Faults, LimitsPatch};
use super::store::Org;
use super::time::now_ms;
use super::Sim;

/// Routes under `/__sim`.
pub fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route("/__sim/org", get(org_summary))
        .route("/__sim/requests", get(requests).delete(clear_requests))
        .route("/__sim/faults", get(get_faults).put(put_faults))
        .route("/__sim/rate-limits", get(get_limits).put(put_limits))
        .route("/__sim/api-tokens", post(add_api_token))
        .route(
            "/__sim/access-tokens",
            axum::routing::delete(revoke_access_tokens),
        )
        .route("/__sim/users/{id}/status", put(set_user_status))
        .route("/__sim/apps", get(list_apps))
        .route("/__sim/apps/{app}", get(get_app))
        .route("/__sim/apps/{app}/status", put(set_app_status))
        .route(
            "/__sim/apps/{app}/groups/{group}",
            put(assign_app_group).delete(unassign_app_group),
        )
}

fn bad_request(msg: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": msg.into() })),
    )
        .into_response()
}

async fn org_summary(State(sim): State<Arc<Sim>>) -> Json<serde_json::Value> {
    let org = sim.org.read().expect("org lock");
    Json(json!({
        "users": org.users.len(),
        "groups": org.groups.len(),
        "memberships": org.membership_count(),
        "apps": org.apps.len(),
        "events": org.events.len(),
    }))
}

async fn requests(State(sim): State<Arc<Sim>>) -> Json<serde_json::Value> {
    let log = sim.requests.lock().expect("request log lock");
    Json(json!({ "requests": log.iter().collect::<Vec<_>>() }))
}

async fn clear_requests(State(sim): State<Arc<Sim>>) -> StatusCode {
    sim.requests.lock().expect("request log lock").clear();
    StatusCode::NO_CONTENT
}

async fn get_faults(State(sim): State<Arc<Sim>>) -> Json<Faults> {
    Json(sim.faults.read().expect("faults lock").clone())
}

async fn put_faults(State(sim): State<Arc<Sim>>, body: axum::body::Bytes) -> Response {
    let faults: Faults = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => return bad_request(format!("faults: {e}")),
    };
    if let Err(e) = faults.validate() {
        return bad_request(e);
    }
    *sim.faults.write().expect("faults lock") = faults.clone();
    Json(faults).into_response()
}

async fn get_limits(State(sim): State<Arc<Sim>>) -> Response {
    Json(sim.limiter.lock().expect("limiter lock").limits.clone()).into_response()
}

async fn put_limits(State(sim): State<Arc<Sim>>, body: axum::body::Bytes) -> Response {
    let patch: LimitsPatch = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => return bad_request(format!("rate-limits: {e}")),
    };
    let mut limiter = sim.limiter.lock().expect("limiter lock");
    limiter.apply(patch);
    Json(limiter.limits.clone()).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewToken {
    token: String,
    /// Login or id of the user the token acts as.
    user: String,
    /// A token this one replaces (revoked at once), for rotation tests.
    #[serde(default)]
    replaces: Option<String>,
}

async fn add_api_token(State(sim): State<Arc<Sim>>, body: axum::body::Bytes) -> Response {
    let new: NewToken = match serde_json::from_slice(&body) {
        Ok(t) => t,
        Err(e) => return bad_request(format!("api-tokens: {e}")),
    };
    if new.token.is_empty() || new.token.contains(char::is_whitespace) {
        return bad_request("token must be non-empty and without spaces");
    }
    let mut org = sim.org.write().expect("org lock");
    let Some(u) = org.find_user(&new.user) else {
        return bad_request(format!("no user {:?}", new.user));
    };
    if let Some(old) = &new.replaces {
        if org.tokens.remove(old).is_none() {
            return bad_request("the token to replace does not exist");
        }
    }
    org.tokens.insert(new.token, u);
    drop(org);
    sim.persist_soon();
    StatusCode::NO_CONTENT.into_response()
}

async fn revoke_access_tokens(State(sim): State<Arc<Sim>>) -> StatusCode {
    sim.revoke_access_tokens();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewStatus {
    status: String,
}

async fn set_user_status(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let new: NewStatus = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return bad_request(format!("status: {e}")),
    };
    if !super::store::USER_STATUSES.contains(&new.status.as_str()) {
        return bad_request(format!("unknown status {:?}", new.status));
    }
    let mut org = sim.org.write().expect("org lock");
    let Some(u) = org.find_user(&id) else {
        return bad_request(format!("no user {id:?}"));
    };
    let now = now_ms();
    let user = &mut org.users[u as usize];
    user.status = new.status;
    user.status_changed = Some(now);
    user.last_updated = now;
    drop(org);
    sim.persist_soon();
    StatusCode::NO_CONTENT.into_response()
}

/// One app's assignments as tests read them: its groups (priority order) and every assigned
/// user with the scope Okta would show (`USER` when assigned directly, else `GROUP`), whether
/// the assignment is direct, and the assigned groups that grant it.
fn app_state(org: &Org, a: u32) -> serde_json::Value {
    let app = &org.apps[a as usize];
    let users: Vec<serde_json::Value> = org
        .app_user_set(a)
        .into_iter()
        .filter_map(|u| {
            let asg = org.app_assignment(a, u)?;
            let user = &org.users[u as usize];
            Some(json!({
                "id": user.id,
                "login": user.login,
                "scope": asg.scope(),
                "direct": asg.direct.is_some(),
                "groups": asg.groups.iter().map(|g| org.groups[g.group as usize].name.clone()).collect::<Vec<_>>(),
            }))
        })
        .collect();
    json!({
        "id": app.id,
        "name": app.name,
        "label": app.label,
        "status": app.status(),
        "signOnMode": app.sign_on_mode.as_str(),
        "groups": app.groups.iter().map(|g| {
            let group = &org.groups[g.group as usize];
            json!({ "id": group.id, "name": group.name })
        }).collect::<Vec<_>>(),
        "users": users,
    })
}

/// An app by id, or by label or name (tests name apps as the seed does).
fn find_app(org: &Org, key: &str) -> Option<u32> {
    org.find_app(key).or_else(|| {
        org.apps
            .iter()
            .position(|a| a.label == key || a.name == key)
            .map(|i| i as u32)
    })
}

async fn list_apps(State(sim): State<Arc<Sim>>) -> Json<serde_json::Value> {
    let org = sim.org.read().expect("org lock");
    let apps: Vec<_> = (0..org.apps.len() as u32)
        .map(|a| app_state(&org, a))
        .collect();
    Json(json!({ "apps": apps }))
}

async fn get_app(State(sim): State<Arc<Sim>>, Path(key): Path<String>) -> Response {
    let org = sim.org.read().expect("org lock");
    match find_app(&org, &key) {
        Some(a) => Json(app_state(&org, a)).into_response(),
        None => bad_request(format!("no app {key:?}")),
    }
}

async fn set_app_status(
    State(sim): State<Arc<Sim>>,
    Path(key): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let new: NewStatus = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return bad_request(format!("status: {e}")),
    };
    let active = match new.status.as_str() {
        "ACTIVE" => true,
        "INACTIVE" => false,
        other => return bad_request(format!("app status {other:?} is not ACTIVE or INACTIVE")),
    };
    let mut org = sim.org.write().expect("org lock");
    let Some(a) = find_app(&org, &key) else {
        return bad_request(format!("no app {key:?}"));
    };
    let app = &mut org.apps[a as usize];
    if app.active != active {
        app.active = active;
        app.last_updated = now_ms();
    }
    drop(org);
    sim.persist_soon();
    StatusCode::NO_CONTENT.into_response()
}

async fn assign_app_group(sim: State<Arc<Sim>>, ids: Path<(String, String)>) -> Response {
    change_app_group(sim, ids, true).await
}

async fn unassign_app_group(sim: State<Arc<Sim>>, ids: Path<(String, String)>) -> Response {
    change_app_group(sim, ids, false).await
}

/// Assigns a group (by id or name) to an app (by id, label or name), at the lowest priority,
/// or removes it; 204 either way, idempotent.
async fn change_app_group(
    State(sim): State<Arc<Sim>>,
    Path((app, group)): Path<(String, String)>,
    assigned: bool,
) -> Response {
    let mut org = sim.org.write().expect("org lock");
    let Some(a) = find_app(&org, &app) else {
        return bad_request(format!("no app {app:?}"));
    };
    let Some(g) = org.group_by_id_or_name(&group) else {
        return bad_request(format!("no group {group:?}"));
    };
    org.set_app_group(a, g, assigned, now_ms());
    drop(org);
    sim.persist_soon();
    StatusCode::NO_CONTENT.into_response()
}
