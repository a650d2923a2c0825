//! Apps and their assignments: listing apps (paging, `q`, `filter`), one app, its users (each an
//! `AppUser` whose `scope` says whether it is held directly, `USER`, or through an assigned
//! group, `GROUP`), assigning and unassigning a user (with Okta's refusal while a group still
//! grants the app), and its group assignments, with Okta's shapes, permissions and errors.
//!
//! Creating, changing and deleting apps, and assigning groups through the Management API, are
//! not served: apps come from the seed and group assignments from the control API.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::api::{take_page, ApiResult, Q};
use super::filter::{self, Expr, Kind, Lit, Op};
use super::http::{authenticate, page, paging, param, Base, OktaError};
use super::store::{App, AppAssignment, Org, SignOnMode};
use super::time::{format_instant, now_ms};
use super::Sim;

/// Routes under `/api/v1/apps`.
pub fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route("/api/v1/apps", get(list_apps))
        .route("/api/v1/apps/{id}", get(get_app))
        .route(
            "/api/v1/apps/{id}/users",
            get(list_app_users).post(assign_user),
        )
        .route(
            "/api/v1/apps/{id}/users/{uid}",
            get(get_app_user).delete(unassign_user),
        )
        .route("/api/v1/apps/{id}/groups", get(list_app_groups))
}

/// The app as Okta's API shows it (`Application`, with the settings and credentials its
/// `signOnMode` model requires).
pub fn app_json(base: &str, a: &App) -> Value {
    let href = format!("{base}/api/v1/apps/{}", a.id);
    let link_name = format!("{}_link", a.name);
    let mut settings = json!({
        "app": {},
        "notifications": {
            "vpn": { "network": { "connection": "DISABLED" }, "message": null, "helpUrl": null }
        },
        "manualProvisioning": false,
        "implicitAssignment": false,
        "notes": { "admin": null, "enduser": null }
    });
    let mut credentials = json!({
        "userNameTemplate": { "template": "${source.login}", "type": "BUILT_IN" },
        "signing": {}
    });
    let lifecycle = if a.active { "deactivate" } else { "activate" };
    let mut links = json!({
        "logo": [{
            "name": "medium",
            "href": format!("{base}/assets/img/logos/default.png"),
            "type": "image/png"
        }],
        "appLinks": [{
            "name": link_name,
            "href": format!("{base}/home/{}/{}", a.name, a.id),
            "type": "text/html"
        }],
        "users": { "href": format!("{href}/users") },
        "groups": { "href": format!("{href}/groups") },
        "self": { "href": href },
        lifecycle: { "href": format!("{href}/lifecycle/{lifecycle}") }
    });
    match a.sign_on_mode {
        SignOnMode::Saml2 => {
            settings["signOn"] = json!({
                "defaultRelayState": "",
                "ssoAcsUrl": a.url,
                "idpIssuer": "http://www.okta.com/${org.externalKey}",
                "audience": a.url,
                "recipient": a.url,
                "destination": a.url,
                "subjectNameIdTemplate": "${user.userName}",
                "subjectNameIdFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
                "responseSigned": true,
                "assertionSigned": true,
                "signatureAlgorithm": "RSA_SHA256",
                "digestAlgorithm": "SHA256",
                "honorForceAuthn": true,
                "authnContextClassRef": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
                "requestCompressed": false,
                "allowMultipleAcsEndpoints": false,
                "acsEndpoints": [],
                "attributeStatements": []
            });
            links["metadata"] = json!({
                "href": format!("{href}/sso/saml/metadata"),
                "type": "application/xml"
            });
        }
        SignOnMode::OpenIdConnect => {
            settings["oauthClient"] = json!({
                "client_uri": a.url,
                "logo_uri": null,
                "redirect_uris": [format!("{}/authorization-code/callback", a.url.trim_end_matches('/'))],
                "post_logout_redirect_uris": [],
                "response_types": ["code"],
                "grant_types": ["authorization_code"],
                "application_type": "web",
                "consent_method": "REQUIRED",
                "issuer_mode": "DYNAMIC",
                "wildcard_redirect": "DISABLED",
                "initiate_login_uri": a.url
            });
            // An OIDC app's client id is its app id.
            credentials["oauthClient"] = json!({
                "autoKeyRotation": true,
                "client_id": a.id,
                "token_endpoint_auth_method": "client_secret_basic"
            });
        }
        SignOnMode::Bookmark => {
            settings["app"] = json!({ "requestIntegration": false, "url": a.url });
        }
        SignOnMode::AutoLogin => {
            settings["signOn"] = json!({ "loginUrl": a.url, "redirectUrl": null });
            credentials["scheme"] = json!("EDIT_USERNAME_AND_PASSWORD");
            credentials["revealPassword"] = json!(false);
        }
    }
    json!({
        "id": a.id,
        "name": a.name,
        "label": a.label,
        "status": a.status(),
        "lastUpdated": format_instant(a.last_updated),
        "created": format_instant(a.created),
        "accessibility": { "selfService": false, "errorRedirectUrl": null, "loginRedirectUrl": null },
        "visibility": {
            "autoSubmitToolbar": false,
            "hide": { "iOS": false, "web": false },
            "appLinks": { link_name: true }
        },
        "features": [],
        "signOnMode": a.sign_on_mode.as_str(),
        "credentials": credentials,
        "settings": settings,
        "_links": links
    })
}

/// A user's assignment as Okta's API shows it (`AppUser`). The simulated apps have no
/// provisioning, so the status is `ACTIVE` (Okta's status for an app without provisioning)
/// and `syncState` is `DISABLED`.
pub fn app_user_json(
    base: &str,
    org: &Org,
    a: u32,
    u: u32,
    asg: &AppAssignment,
    embed_user: bool,
) -> Value {
    let app = &org.apps[a as usize];
    let user = &org.users[u as usize];
    let mut links = json!({
        "app": { "href": format!("{base}/api/v1/apps/{}", app.id) },
        "user": { "href": format!("{base}/api/v1/users/{}", user.id) }
    });
    if asg.direct.is_none() {
        if let Some(g) = asg.groups.first() {
            let group = &org.groups[g.group as usize];
            links["group"] = json!({
                "name": group.name,
                "href": format!("{base}/api/v1/groups/{}", group.id)
            });
        }
    }
    let mut out = json!({
        "id": user.id,
        "externalId": null,
        "created": format_instant(asg.created()),
        "lastUpdated": format_instant(asg.last_updated()),
        "scope": asg.scope(),
        "status": "ACTIVE",
        "statusChanged": format_instant(asg.created()),
        "passwordChanged": null,
        "syncState": "DISABLED",
        "lastSync": null,
        "credentials": { "userName": user.login },
        "profile": {},
        "_links": links
    });
    if embed_user {
        out["_embedded"] = json!({ "user": user.to_json(base) });
    }
    out
}

fn find_app_or_404(org: &Org, id: &str) -> Result<u32, OktaError> {
    org.find_app(id)
        .ok_or_else(|| OktaError::not_found(id, "AppInstance"))
}

fn bad_cursor() -> OktaError {
    OktaError::validation("after", "after: unknown cursor")
}

/// A parsed app `filter`, with the users and groups it names looked up once.
#[derive(Debug)]
enum AppFilter {
    Id(String),
    Status(String),
    Name(String),
    /// Apps the user holds, directly or through a group (`None`: no such user).
    User(Option<u32>),
    /// Apps the group is assigned to (`None`: no such group).
    Group(Option<u32>),
    And(Box<AppFilter>, Box<AppFilter>),
    Or(Box<AppFilter>, Box<AppFilter>),
}

/// Parses an app `filter`: `eq` on `id`, `status`, `name`, `user.id` (apps assigned to the
/// user, directly or through a group) and `group.id` (apps assigned to the group), joined by
/// `and`/`or`. Anything else is 400 E0000001.
fn app_filter(org: &Org, text: &str) -> Result<AppFilter, OktaError> {
    let schema = |attr: &str| {
        matches!(attr, "id" | "status" | "name" | "user.id" | "group.id").then_some(Kind::Text)
    };
    let invalid = |e: String| OktaError::validation("filter", format!("filter: {e}"));
    let expr = filter::parse(text, &schema).map_err(invalid)?;
    resolve(org, &expr).map_err(invalid)
}

/// Checks the expression uses only `eq` and looks up what it names. (The parser lowercases
/// text literals, as Okta compares them ignoring case, so ids are looked up ignoring case too.)
fn resolve(org: &Org, e: &Expr) -> Result<AppFilter, String> {
    match e {
        Expr::Cmp {
            attr,
            op: Op::Eq,
            lit: Lit::Text(v),
        } => Ok(match attr.as_str() {
            "id" => AppFilter::Id(v.clone()),
            "status" => AppFilter::Status(v.clone()),
            "name" => AppFilter::Name(v.clone()),
            "user.id" => AppFilter::User(
                org.users
                    .iter()
                    .position(|u| u.id.eq_ignore_ascii_case(v))
                    .map(|i| i as u32),
            ),
            _ => AppFilter::Group(
                org.groups
                    .iter()
                    .position(|g| g.id.eq_ignore_ascii_case(v))
                    .map(|i| i as u32),
            ),
        }),
        Expr::Cmp { attr, .. } | Expr::Present(attr) => {
            Err(format!("{attr}: apps can only be filtered with eq"))
        }
        Expr::And(l, r) => Ok(AppFilter::And(
            Box::new(resolve(org, l)?),
            Box::new(resolve(org, r)?),
        )),
        Expr::Or(l, r) => Ok(AppFilter::Or(
            Box::new(resolve(org, l)?),
            Box::new(resolve(org, r)?),
        )),
        Expr::Not(_) => Err("apps cannot be filtered with not".into()),
    }
}

fn app_matches(org: &Org, a: u32, f: &AppFilter) -> bool {
    let app = &org.apps[a as usize];
    match f {
        AppFilter::Id(v) => app.id.eq_ignore_ascii_case(v),
        AppFilter::Status(v) => app.status().eq_ignore_ascii_case(v),
        AppFilter::Name(v) => app.name.eq_ignore_ascii_case(v),
        AppFilter::User(u) => u.is_some_and(|u| org.app_assignment(a, u).is_some()),
        AppFilter::Group(g) => g.is_some_and(|g| app.groups.iter().any(|x| x.group == g)),
        AppFilter::And(l, r) => app_matches(org, a, l) && app_matches(org, a, r),
        AppFilter::Or(l, r) => app_matches(org, a, l) || app_matches(org, a, r),
    }
}

/// `GET /api/v1/apps`: every app, ACTIVE and INACTIVE (no app is ever DELETED here), in the
/// order they were added; `q` is a prefix of the label or name, `limit` 20 by default and at
/// most 200.
async fn list_apps(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    base: Base,
    uri: Uri,
    Query(query): Q,
) -> ApiResult {
    let who = authenticate(&sim, &headers)?;
    let org = sim.org.read().expect("org lock");
    who.read_apps(&org)?;
    let paging = paging(&query, 20, 200)?;
    let expr = param(&query, "filter")
        .map(|f| app_filter(&org, f))
        .transpose()?;
    let q = param(&query, "q").map(str::to_lowercase);
    let start =
        Org::start_after(paging.after.as_deref(), |id| org.find_app(id)).ok_or_else(bad_cursor)?;
    let matching = org
        .apps
        .iter()
        .enumerate()
        .skip(start as usize)
        .filter(|(i, a)| {
            q.as_deref().is_none_or(|q| {
                a.label.to_lowercase().starts_with(q) || a.name.to_lowercase().starts_with(q)
            }) && expr
                .as_ref()
                .is_none_or(|e| app_matches(&org, *i as u32, e))
        })
        .map(|(_, a)| a);
    let (found, next) = take_page(matching, paging.limit, |a| &a.id);
    let items: Vec<Value> = found.into_iter().map(|a| app_json(&base.0, a)).collect();
    Ok(page(&base, &uri, items, next))
}

async fn get_app(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    base: Base,
    Path(id): Path<String>,
) -> ApiResult {
    let who = authenticate(&sim, &headers)?;
    let org = sim.org.read().expect("org lock");
    who.read_apps(&org)?;
    let a = find_app_or_404(&org, &id)?;
    Ok(Json(app_json(&base.0, &org.apps[a as usize])).into_response())
}

fn embeds_user(query: &[(String, String)]) -> bool {
    param(query, "expand").is_some_and(|e| e.split(',').any(|x| x.trim() == "user"))
}

/// `GET /api/v1/apps/{id}/users`: everyone assigned, directly or through a group, in user
/// order; `after` is a user id, `limit` 50 by default and at most 500; `q` is a prefix of the
/// user name, first name, last name or email.
async fn list_app_users(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    base: Base,
    uri: Uri,
    Path(id): Path<String>,
    Query(query): Q,
) -> ApiResult {
    let who = authenticate(&sim, &headers)?;
    let org = sim.org.read().expect("org lock");
    who.read_apps(&org)?;
    let a = find_app_or_404(&org, &id)?;
    let paging = paging(&query, 50, 500)?;
    let start = Org::start_after(paging.after.as_deref(), |id| org.user_by_id(id))
        .ok_or_else(bad_cursor)?;
    let q = param(&query, "q").map(str::to_lowercase);
    let embed = embeds_user(&query);
    let assigned = org.app_user_set(a);
    let matching = assigned.range(start..).filter(|&&u| {
        let user = &org.users[u as usize];
        q.as_deref().is_none_or(|q| {
            [&user.login, &user.first_name, &user.last_name, &user.email]
                .iter()
                .any(|f| f.to_lowercase().starts_with(q))
        })
    });
    let (found, next) = take_page(matching, paging.limit, |&u| &org.users[u as usize].id);
    let items: Vec<Value> = found
        .into_iter()
        .map(|&u| {
            let asg = org.app_assignment(a, u).expect("listed users are assigned");
            app_user_json(&base.0, &org, a, u, &asg, embed)
        })
        .collect();
    Ok(page(&base, &uri, items, next))
}

async fn get_app_user(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    base: Base,
    Path((id, uid)): Path<(String, String)>,
    Query(query): Q,
) -> ApiResult {
    let who = authenticate(&sim, &headers)?;
    let org = sim.org.read().expect("org lock");
    who.read_apps(&org)?;
    let a = find_app_or_404(&org, &id)?;
    let (u, asg) = org
        .user_by_id(&uid)
        .and_then(|u| Some((u, org.app_assignment(a, u)?)))
        .ok_or_else(|| OktaError::not_found(&uid, "AppUser"))?;
    let out = app_user_json(&base.0, &org, a, u, &asg, embeds_user(&query));
    Ok(Json(out).into_response())
}

/// `POST /api/v1/apps/{id}/users` with `{"id": userId, …}` (`scope`, `credentials` and
/// `profile` are accepted and ignored: the simulated apps have no app profile): assigns the
/// app to the user directly and answers the `AppUser`. Assigning again changes nothing; a user
/// who held the app only through a group now holds it directly too (scope `USER`), as Okta
/// converts it.
async fn assign_user(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    base: Base,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let who = authenticate(&sim, &headers)?;
    let mut org = sim.org.write().expect("org lock");
    let a = find_app_or_404(&org, &id)?;
    who.manage_apps(&org)?;
    let body: Value = serde_json::from_slice(&body).map_err(|_| OktaError::malformed_body())?;
    if !body.is_object() {
        return Err(OktaError::malformed_body());
    }
    let uid = match body.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        _ => {
            return Err(OktaError::validation(
                "id",
                "id: The field cannot be left blank",
            ))
        }
    };
    let u = org
        .user_by_id(&uid)
        .ok_or_else(|| OktaError::not_found(&uid, "User"))?;
    // Okta's admin console offers no assignment for a deactivated app; the API answer is not
    // documented. The simulator treats it as an invalid request about the app's state (400
    // E0000001, like Okta's other state checks), not a permission problem (403 would tell an
    // admin they lack a role they have).
    if !org.apps[a as usize].active {
        return Err(OktaError::validation(
            "appInstance",
            "appInstance: Users cannot be assigned to an inactive app",
        ));
    }
    let actor = who.actor(&org);
    org.assign_app(a, u, actor, now_ms());
    let asg = org.app_assignment(a, u).expect("just assigned");
    let out = app_user_json(&base.0, &org, a, u, &asg, false);
    drop(org);
    sim.persist_soon();
    Ok(Json(out).into_response())
}

/// `DELETE /api/v1/apps/{id}/users/{userId}`: removes the direct assignment (204). While an
/// assigned group still grants the app, Okta refuses with 403 E0000046 and changes nothing;
/// a user not assigned at all is 404.
async fn unassign_user(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((id, uid)): Path<(String, String)>,
) -> ApiResult {
    let who = authenticate(&sim, &headers)?;
    let mut org = sim.org.write().expect("org lock");
    let a = find_app_or_404(&org, &id)?;
    who.manage_apps(&org)?;
    let (u, asg) = org
        .user_by_id(&uid)
        .and_then(|u| Some((u, org.app_assignment(a, u)?)))
        .ok_or_else(|| OktaError::not_found(&uid, "AppUser"))?;
    if !asg.groups.is_empty() {
        return Err(OktaError::app_granted_by_group());
    }
    let actor = who.actor(&org);
    org.unassign_app(a, u, actor, now_ms());
    drop(org);
    sim.persist_soon();
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/v1/apps/{id}/groups`: the app's group assignments in priority order; `after` is a
/// group id, `limit` 20 by default and at most 200, `q` a prefix of the group name,
/// `expand=group` embeds the group.
async fn list_app_groups(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    base: Base,
    uri: Uri,
    Path(id): Path<String>,
    Query(query): Q,
) -> ApiResult {
    let who = authenticate(&sim, &headers)?;
    let org = sim.org.read().expect("org lock");
    who.read_apps(&org)?;
    let a = find_app_or_404(&org, &id)?;
    let app = &org.apps[a as usize];
    let paging = paging(&query, 20, 200)?;
    let start = match paging.after.as_deref() {
        None => 0,
        Some(after) => app
            .groups
            .iter()
            .position(|g| org.groups[g.group as usize].id == after)
            .map(|i| i + 1)
            .ok_or_else(bad_cursor)?,
    };
    let q = param(&query, "q").map(str::to_lowercase);
    let embed = param(&query, "expand").is_some_and(|e| e.split(',').any(|x| x.trim() == "group"));
    let matching = app.groups[start..].iter().filter(|g| {
        q.as_deref().is_none_or(|q| {
            org.groups[g.group as usize]
                .name
                .to_lowercase()
                .starts_with(q)
        })
    });
    let (found, next) = take_page(matching, paging.limit, |g| &org.groups[g.group as usize].id);
    let items: Vec<Value> = found
        .into_iter()
        .map(|g| {
            let priority = app
                .groups
                .iter()
                .position(|x| x.group == g.group)
                .unwrap_or_default();
            let group = &org.groups[g.group as usize];
            let mut v = json!({
                "id": group.id,
                "lastUpdated": format_instant(g.assigned),
                "priority": priority,
                "profile": {},
                "_links": {
                    "app": { "href": format!("{}/api/v1/apps/{}", base.0, app.id) },
                    "self": { "href": format!("{}/api/v1/apps/{}/groups/{}", base.0, app.id, group.id) },
                    "group": { "href": format!("{}/api/v1/groups/{}", base.0, group.id) }
                }
            });
            if embed {
                v["_embedded"] = json!({ "group": group.to_json(&base.0, None) });
            }
            v
        })
        .collect();
    Ok(page(&base, &uri, items, next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edge::{Faults, Limits};
    use crate::seed::SeedFile;
    use crate::store::{Role, RoleKind, ServiceApp};
    use axum::http::{header, HeaderValue};

    const DATADOG: &str = "0oaTESTdatadog000001";
    const JIRA: &str = "0oaTESTjira000000002";
    const BASE: &str = "http://o";

    /// ada and bob hold Datadog through `eng`; cy holds it directly; Jira is inactive.
    fn sim() -> Arc<Sim> {
        let file: SeedFile = serde_json::from_value(json!({
            "users": [
                { "login": "ada@x", "firstName": "Ada" },
                { "login": "bob@x", "firstName": "Bob" },
                { "login": "cy@x", "firstName": "Cy" },
                { "login": "ro@x" },
                { "login": "apps@x" },
                { "login": "root@x" }
            ],
            "groups": [{ "name": "eng", "members": ["ada@x", "bob@x"] }],
            "tokens": [
                { "token": "super", "user": "root@x", "roles": [{ "type": "SUPER_ADMIN" }] },
                { "token": "ro", "user": "ro@x", "roles": [{ "type": "READ_ONLY_ADMIN" }] },
                { "token": "appadmin", "user": "apps@x", "roles": [{ "type": "APP_ADMIN" }] }
            ],
            "apps": [
                { "id": DATADOG, "name": "datadog", "label": "Datadog", "signOnMode": "SAML_2_0",
                  "groups": ["eng"], "users": ["cy@x"] },
                { "id": JIRA, "name": "jira_onprem", "label": "Legacy Jira",
                  "signOnMode": "AUTO_LOGIN", "status": "INACTIVE" }
            ]
        }))
        .unwrap();
        let mut org = Org::new(1, 0);
        file.apply(&mut org, 1_700_000_000_000).unwrap();
        org.service_apps.insert(
            "svc".into(),
            ServiceApp {
                client_id: "svc".into(),
                keys: Vec::new(),
                scopes: vec!["okta.apps.read".into(), "okta.groups.manage".into()],
                roles: vec![Role {
                    id: "ra1".into(),
                    kind: RoleKind::SuperAdmin,
                    groups: None,
                }],
            },
        );
        let sim = Sim::new(org, Limits::default(), Faults::default(), None);
        sim.grant_service_token(
            "read-only-scopes".into(),
            "svc".into(),
            vec!["okta.apps.read".into(), "okta.groups.manage".into()],
            i64::MAX,
        );
        sim.grant_service_token(
            "no-app-scopes".into(),
            "svc".into(),
            vec!["okta.groups.manage".into()],
            i64::MAX,
        );
        sim
    }

    fn auth(credential: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let value = if credential.contains('-') {
            format!("Bearer {credential}")
        } else {
            format!("SSWS {credential}")
        };
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&value).unwrap(),
        );
        h
    }

    fn user_id(sim: &Sim, login: &str) -> String {
        let org = sim.org.read().unwrap();
        org.users[org.find_user(login).unwrap() as usize].id.clone()
    }

    fn query(q: &[(&str, &str)]) -> Q {
        Query(
            q.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// Status, body (`null` when empty) and `Link` headers.
    async fn answer(r: ApiResult) -> (StatusCode, Value, Vec<String>) {
        let resp = r.unwrap_or_else(IntoResponse::into_response);
        let status = resp.status();
        let links = resp
            .headers()
            .get_all(header::LINK)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, body, links)
    }

    async fn list_users(sim: &Arc<Sim>, cred: &str, q: &[(&str, &str)]) -> (StatusCode, Value) {
        let (s, b, _) = answer(
            list_app_users(
                State(sim.clone()),
                auth(cred),
                Base(BASE.into()),
                "/api/v1/apps/x/users".parse().unwrap(),
                Path(DATADOG.into()),
                query(q),
            )
            .await,
        )
        .await;
        (s, b)
    }

    /// Login → scope of everyone holding Datadog.
    async fn scopes(sim: &Arc<Sim>) -> Vec<(String, String)> {
        let (s, body) = list_users(sim, "super", &[]).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body.as_array()
            .unwrap()
            .iter()
            .map(|u| {
                (
                    u["credentials"]["userName"].as_str().unwrap().to_owned(),
                    u["scope"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    async fn assign(sim: &Arc<Sim>, cred: &str, app: &str, body: Value) -> (StatusCode, Value) {
        let (s, b, _) = answer(
            assign_user(
                State(sim.clone()),
                auth(cred),
                Base(BASE.into()),
                Path(app.into()),
                Bytes::from(body.to_string()),
            )
            .await,
        )
        .await;
        (s, b)
    }

    async fn unassign(sim: &Arc<Sim>, cred: &str, uid: &str) -> (StatusCode, Value) {
        let (s, b, _) = answer(
            unassign_user(
                State(sim.clone()),
                auth(cred),
                Path((DATADOG.into(), uid.into())),
            )
            .await,
        )
        .await;
        (s, b)
    }

    async fn get_user(sim: &Arc<Sim>, uid: &str) -> (StatusCode, Value) {
        let (s, b, _) = answer(
            get_app_user(
                State(sim.clone()),
                auth("super"),
                Base(BASE.into()),
                Path((DATADOG.into(), uid.into())),
                query(&[]),
            )
            .await,
        )
        .await;
        (s, b)
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[tokio::test]
    async fn direct_assignments_are_scope_user_and_group_ones_scope_group() {
        let sim = sim();
        assert_eq!(
            scopes(&sim).await,
            pairs(&[("ada@x", "GROUP"), ("bob@x", "GROUP"), ("cy@x", "USER")])
        );
        let (s, ada) = get_user(&sim, &user_id(&sim, "ada@x")).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(ada["status"], "ACTIVE");
        assert_eq!(ada["syncState"], "DISABLED");
        assert_eq!(ada["externalId"], Value::Null);
        assert_eq!(ada["_links"]["group"]["name"], "eng");
        assert_eq!(
            ada["_links"]["app"]["href"],
            format!("{BASE}/api/v1/apps/{DATADOG}")
        );
        assert_eq!(ada["created"], "2023-11-14T22:13:20.000Z");
        let (_, cy) = get_user(&sim, &user_id(&sim, "cy@x")).await;
        assert!(cy["_links"].get("group").is_none(), "{cy}");
        // Not assigned (ro@x), or no such user: 404 E0000007.
        for uid in [user_id(&sim, "ro@x"), "00uNoSuchUser0000000".into()] {
            let (s, e) = get_user(&sim, &uid).await;
            assert_eq!(
                (s, e["errorCode"].as_str()),
                (StatusCode::NOT_FOUND, Some("E0000007"))
            );
        }
        // Paging by user id; q matches the first name.
        let (_, page1) = list_users(&sim, "super", &[("limit", "2")]).await;
        assert_eq!(page1.as_array().unwrap().len(), 2);
        let after = page1[1]["id"].as_str().unwrap();
        let (_, page2) = list_users(&sim, "super", &[("limit", "2"), ("after", after)]).await;
        assert_eq!(page2[0]["credentials"]["userName"], "cy@x");
        let (_, bobs) = list_users(&sim, "super", &[("q", "bo")]).await;
        assert_eq!(bobs.as_array().unwrap().len(), 1);
        // Group assignments.
        let (s, groups, _) = answer(
            list_app_groups(
                State(sim.clone()),
                auth("super"),
                Base(BASE.into()),
                "/api/v1/apps/x/groups".parse().unwrap(),
                Path(DATADOG.into()),
                query(&[("expand", "group")]),
            )
            .await,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(groups[0]["priority"], 0);
        assert_eq!(groups[0]["_embedded"]["group"]["profile"]["name"], "eng");
    }

    #[tokio::test]
    async fn assigning_a_group_holder_converts_to_scope_user_and_is_idempotent() {
        let sim = sim();
        let ada = user_id(&sim, "ada@x");
        let body = json!({ "id": ada, "scope": "USER", "credentials": { "userName": "ada@x" } });
        let (s, first) = assign(&sim, "super", DATADOG, body.clone()).await;
        assert_eq!(s, StatusCode::OK, "{first}");
        assert_eq!(first["scope"], "USER");
        let (s, again) = assign(&sim, "super", DATADOG, body).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(again, first, "assigning twice answers the same AppUser");
        assert_eq!(scopes(&sim).await[0], ("ada@x".into(), "USER".into()));
        // She held the app before: no membership event.
        assert!(sim.org.read().unwrap().events.is_empty());
        // A new holder is logged.
        let ro = user_id(&sim, "ro@x");
        let (s, _) = assign(&sim, "super", DATADOG, json!({ "id": ro })).await;
        assert_eq!(s, StatusCode::OK);
        let org = sim.org.read().unwrap();
        let event = org.events.last().unwrap().to_json(&org);
        assert_eq!(event["eventType"], "application.user_membership.add");
        assert_eq!(event["target"][1]["type"], "AppInstance");
        assert_eq!(event["target"][1]["id"], DATADOG);
        assert_eq!(event["target"][0]["alternateId"], "ro@x");
    }

    #[tokio::test]
    async fn unassigning_is_refused_while_a_group_grants_the_app() {
        let sim = sim();
        let ada = user_id(&sim, "ada@x");
        // Only through the group.
        let (s, e) = unassign(&sim, "super", &ada).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert_eq!(e["errorCode"], "E0000046");
        assert_eq!(
            e["errorSummary"],
            "Deactivate application for user forbidden."
        );
        assert_eq!(
            e["errorCauses"][0]["errorSummary"],
            "The application cannot be unassigned from the user while their group memberships grant them access"
        );
        // Directly and through the group: still refused, and the direct assignment stays.
        assign(&sim, "super", DATADOG, json!({ "id": ada })).await;
        let (s, e) = unassign(&sim, "super", &ada).await;
        assert_eq!(
            (s, e["errorCode"].as_str()),
            (StatusCode::FORBIDDEN, Some("E0000046"))
        );
        assert_eq!(scopes(&sim).await[0], ("ada@x".into(), "USER".into()));
        assert!(sim.org.read().unwrap().events.is_empty());
    }

    #[tokio::test]
    async fn unassigning_a_direct_only_holder_works_then_404s() {
        let sim = sim();
        let cy = user_id(&sim, "cy@x");
        let (s, body) = unassign(&sim, "super", &cy).await;
        assert_eq!((s, body), (StatusCode::NO_CONTENT, Value::Null));
        let (s, _) = get_user(&sim, &cy).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, e) = unassign(&sim, "super", &cy).await;
        assert_eq!(
            (s, e["errorCode"].as_str()),
            (StatusCode::NOT_FOUND, Some("E0000007"))
        );
        assert_eq!(
            e["errorSummary"],
            format!("Not found: Resource not found: {cy} (AppUser)")
        );
        assert_eq!(
            scopes(&sim).await,
            pairs(&[("ada@x", "GROUP"), ("bob@x", "GROUP")])
        );
        let org = sim.org.read().unwrap();
        let kinds: Vec<_> = org.events.iter().map(|e| e.event_type).collect();
        assert_eq!(kinds, ["application.user_membership.remove"]);
        let event = org.events[0].to_json(&org);
        assert_eq!(
            event["displayMessage"],
            "Remove user from application membership"
        );
        assert_eq!(event["target"][1]["displayName"], "Datadog");
    }

    #[tokio::test]
    async fn only_app_managers_with_the_manage_scope_may_assign() {
        let sim = sim();
        let ro = user_id(&sim, "ro@x");
        let cy = user_id(&sim, "cy@x");
        // A read-only admin reads but cannot assign or unassign.
        let (s, _) = list_users(&sim, "ro", &[]).await;
        assert_eq!(s, StatusCode::OK);
        let (s, e) = assign(&sim, "ro", DATADOG, json!({ "id": ro })).await;
        assert_eq!(
            (s, e["errorCode"].as_str()),
            (StatusCode::FORBIDDEN, Some("E0000006"))
        );
        let (s, e) = unassign(&sim, "ro", &cy).await;
        assert_eq!(
            (s, e["errorCode"].as_str()),
            (StatusCode::FORBIDDEN, Some("E0000006"))
        );
        // An app admin may.
        let (s, _) = assign(&sim, "appadmin", DATADOG, json!({ "id": ro })).await;
        assert_eq!(s, StatusCode::OK);
        // A service app reads with okta.apps.read but needs okta.apps.manage to assign.
        let (s, _) = list_users(&sim, "read-only-scopes", &[]).await;
        assert_eq!(s, StatusCode::OK);
        let resp = assign_user(
            State(sim.clone()),
            auth("read-only-scopes"),
            Base(BASE.into()),
            Path(DATADOG.into()),
            Bytes::from(json!({ "id": cy }).to_string()),
        )
        .await
        .unwrap_err()
        .into_response();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        let www = resp.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert!(www.contains("insufficient_scope"), "{www}");
        // Without any apps scope it cannot even read.
        let (s, e) = list_users(&sim, "no-app-scopes", &[]).await;
        assert_eq!(
            (s, e["errorCode"].as_str()),
            (StatusCode::FORBIDDEN, Some("E0000006"))
        );
    }

    #[tokio::test]
    async fn bad_assignments_get_okta_errors() {
        let sim = sim();
        let ada = user_id(&sim, "ada@x");
        let (s, e) = assign(&sim, "super", DATADOG, json!({ "scope": "USER" })).await;
        assert_eq!(
            (s, e["errorCode"].as_str()),
            (StatusCode::BAD_REQUEST, Some("E0000001"))
        );
        let (s, e) = assign(
            &sim,
            "super",
            DATADOG,
            json!({ "id": "00uNoSuchUser0000000" }),
        )
        .await;
        assert_eq!(
            (s, e["errorCode"].as_str()),
            (StatusCode::NOT_FOUND, Some("E0000007"))
        );
        let (s, e) = assign(&sim, "super", JIRA, json!({ "id": ada })).await;
        assert_eq!(
            (s, e["errorCode"].as_str()),
            (StatusCode::BAD_REQUEST, Some("E0000001"))
        );
        let (s, e) = assign(&sim, "super", "0oaNoSuchApp00000000", json!({ "id": ada })).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert_eq!(
            e["errorSummary"],
            "Not found: Resource not found: 0oaNoSuchApp00000000 (AppInstance)"
        );
        let (s, e, _) = answer(
            assign_user(
                State(sim.clone()),
                auth("super"),
                Base(BASE.into()),
                Path(DATADOG.into()),
                Bytes::from_static(b"{not json"),
            )
            .await,
        )
        .await;
        assert_eq!(
            (s, e["errorCode"].as_str()),
            (StatusCode::BAD_REQUEST, Some("E0000003"))
        );
    }

    async fn apps(sim: &Arc<Sim>, q: &[(&str, &str)]) -> (StatusCode, Value, Vec<String>) {
        answer(
            list_apps(
                State(sim.clone()),
                auth("super"),
                Base(BASE.into()),
                "/api/v1/apps?limit=1".parse().unwrap(),
                query(q),
            )
            .await,
        )
        .await
    }

    fn labels(v: &Value) -> Vec<&str> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|a| a["label"].as_str().unwrap())
            .collect()
    }

    #[tokio::test]
    async fn apps_list_page_and_filter() {
        let sim = sim();
        let (s, all, _) = apps(&sim, &[]).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            labels(&all),
            ["Datadog", "Legacy Jira"],
            "inactive apps are listed too"
        );
        let dd = &all[0];
        assert_eq!(dd["signOnMode"], "SAML_2_0");
        assert_eq!(dd["status"], "ACTIVE");
        assert_eq!(
            dd["credentials"]["userNameTemplate"]["template"],
            "${source.login}"
        );
        assert_eq!(
            dd["_links"]["users"]["href"],
            format!("{BASE}/api/v1/apps/{DATADOG}/users")
        );
        assert_eq!(
            all[1]["settings"]["signOn"]["loginUrl"],
            "https://jira_onprem.example.com/"
        );

        let (_, first, links) = apps(&sim, &[("limit", "1")]).await;
        assert_eq!(labels(&first), ["Datadog"]);
        assert!(
            links
                .iter()
                .any(|l| l.contains(&format!("after={DATADOG}")) && l.ends_with("rel=\"next\"")),
            "{links:?}"
        );
        let (_, second, links) = apps(&sim, &[("limit", "1"), ("after", DATADOG)]).await;
        assert_eq!(labels(&second), ["Legacy Jira"]);
        assert_eq!(links.len(), 1, "no next page: {links:?}");

        for (filter, want) in [
            (r#"status eq "ACTIVE""#, vec!["Datadog"]),
            (r#"status eq "INACTIVE""#, vec!["Legacy Jira"]),
            (r#"name eq "jira_onprem""#, vec!["Legacy Jira"]),
            (&format!(r#"id eq "{DATADOG}""#), vec!["Datadog"]),
        ] {
            let (s, got, _) = apps(&sim, &[("filter", filter)]).await;
            assert_eq!((s, labels(&got)), (StatusCode::OK, want), "{filter}");
        }
        let ada = user_id(&sim, "ada@x");
        let (_, held, _) = apps(&sim, &[("filter", &format!(r#"user.id eq "{ada}""#))]).await;
        assert_eq!(labels(&held), ["Datadog"]);
        let (_, by_q, _) = apps(&sim, &[("q", "leg")]).await;
        assert_eq!(labels(&by_q), ["Legacy Jira"]);
        let (_, by_q, _) = apps(&sim, &[("q", "DATA")]).await;
        assert_eq!(labels(&by_q), ["Datadog"]);
        for bad in [r#"label eq "Datadog""#, r#"status sw "ACT""#, "status eq"] {
            let (s, e, _) = apps(&sim, &[("filter", bad)]).await;
            assert_eq!(
                (s, e["errorCode"].as_str()),
                (StatusCode::BAD_REQUEST, Some("E0000001")),
                "{bad}"
            );
        }
        let (s, e, _) = answer(
            get_app(
                State(sim.clone()),
                auth("ro"),
                Base(BASE.into()),
                Path("0oaNope".into()),
            )
            .await,
        )
        .await;
        assert_eq!(
            (s, e["errorCode"].as_str()),
            (StatusCode::NOT_FOUND, Some("E0000007"))
        );
    }
}
