//! A PagerDuty stand-in next to the simulated Okta org: the one REST API v2 endpoint Gatepass
//! calls, `GET /pagerduty/oncalls` (who is on call for which schedules), with PagerDuty's
//! shapes — `Authorization: Token token=<key>`, the `schedule_ids[]`, `user_ids[]`,
//! `include[]=users`, `since`/`until`, `earliest`, `offset`/`limit` query, classic pagination
//! (`limit`, `offset`, `more`, `total`) and the `{"error": {"message", "code", "errors"}}`
//! error object — and control endpoints under `/__pagerduty/` (no auth, loopback only) to put
//! people on call, change the key and inject faults.
//!
//! PagerDuty users are the org's users with an email (one per email, as PagerDuty keeps emails
//! unique), with ids made from the email. Written from PagerDuty's documentation; its official
//! Python client (`pagerduty` on PyPI) checks it in `server/tests/pagerduty_sdk`.
//!
//! Differences from PagerDuty: schedules are lists of on-call shifts set through the control
//! API (no layers, rotations or overrides), every shift is escalation level 1 of one escalation
//! policy per schedule, `time_zone` is accepted and ignored (times are UTC), and only the
//! on-calls endpoint exists.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::time::{format_instant, now_ms, parse_instant};
use super::Sim;

/// The demo's API key.
pub const DEFAULT_API_KEY: &str = "pd-demo-key-for-the-local-simulator";
/// Where the stand-in's API is, under the simulator's base URL.
pub const API_PATH: &str = "/pagerduty";
/// The most results a page holds (PagerDuty: 100).
const MAX_LIMIT: usize = 100;
/// API calls remembered for the control API.
const KEEP: usize = 10_000;
/// A page's size when the query gives none (PagerDuty: 25).
const DEFAULT_LIMIT: usize = 25;

/// One shift: who is on call from `start` to `end` (ms; `None`: no end).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shift {
    pub email: String,
    pub start: i64,
    pub end: Option<i64>,
}

/// A schedule and its shifts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub id: String,
    pub name: String,
    pub shifts: Vec<Shift>,
}

/// The stand-in's state.
#[derive(Debug)]
pub struct PagerDuty {
    inner: Mutex<State_>,
}

#[derive(Debug)]
struct State_ {
    /// The simulator's base URL (for `self` links).
    base_url: String,
    api_key: String,
    /// Answer every API call with this status (500, 503, 429) until cleared.
    fault: Option<u16>,
    schedules: BTreeMap<String, Schedule>,
    /// API calls served, newest last (the control API shows them).
    calls: Vec<String>,
}

impl Default for PagerDuty {
    fn default() -> Self {
        PagerDuty {
            inner: Mutex::new(State_ {
                base_url: String::new(),
                api_key: DEFAULT_API_KEY.to_owned(),
                fault: None,
                schedules: BTreeMap::new(),
                calls: Vec::new(),
            }),
        }
    }
}

impl PagerDuty {
    fn state(&self) -> std::sync::MutexGuard<'_, State_> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn set_base_url(&self, url: String) {
        self.state().base_url = url;
    }

    /// Sets the API key calls must carry.
    pub fn set_api_key(&self, key: &str) {
        self.state().api_key = key.to_owned();
    }

    /// Adds or replaces a schedule.
    pub fn put_schedule(&self, schedule: Schedule) {
        self.state().schedules.insert(schedule.id.clone(), schedule);
    }

    /// The API calls served, oldest first (method, path and query).
    pub fn calls(&self) -> Vec<String> {
        self.state().calls.clone()
    }

    /// Makes every API call answer `status` (`None`: answer normally).
    pub fn set_fault(&self, status: Option<u16>) {
        self.state().fault = status;
    }

    /// The demo's schedule: `PDEMO01`, *Platform primary*, with `email` on call for a year
    /// from now.
    pub fn seed_demo(&self, email: &str) {
        let now = now_ms();
        self.put_schedule(Schedule {
            id: "PDEMO01".into(),
            name: "Platform primary".into(),
            shifts: vec![Shift {
                email: email.to_owned(),
                start: now - 3_600_000,
                end: Some(now + 365 * 86_400_000),
            }],
        });
    }
}

/// A PagerDuty user id for an email (`P` and 6 characters from its hash, like PagerDuty's).
pub fn user_id_for(email: &str) -> String {
    let digest = Sha256::digest(email.trim().to_lowercase().as_bytes());
    let alphabet = b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
    let tail: String = digest[..6]
        .iter()
        .map(|b| alphabet[*b as usize % alphabet.len()] as char)
        .collect();
    format!("P{tail}")
}

/// PagerDuty's error object, with its status.
fn error(status: StatusCode, code: u32, message: &str, errors: &[String]) -> Response {
    let mut body = json!({ "error": { "message": message, "code": code } });
    if !errors.is_empty() {
        body["error"]["errors"] = json!(errors);
    }
    (status, Json(body)).into_response()
}

fn invalid(errors: &[String]) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        2001,
        "Invalid Input Provided",
        errors,
    )
}

/// The query as PagerDuty reads it: repeated `key[]` parameters collected.
fn params(raw: Option<&str>) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        out.entry(k.into_owned()).or_default().push(v.into_owned());
    }
    out
}

/// `GET /pagerduty/oncalls`.
async fn oncalls(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let pd = &sim.pagerduty;
    let (key, fault) = {
        let mut s = pd.state();
        if s.calls.len() == KEEP {
            s.calls.remove(0);
        }
        s.calls
            .push(format!("GET /oncalls?{}", raw.as_deref().unwrap_or("")));
        (s.api_key.clone(), s.fault)
    };
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Token token="));
    if token != Some(key.as_str()) {
        return error(StatusCode::UNAUTHORIZED, 2006, "Authentication failed", &[]);
    }
    match fault {
        Some(429) => {
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                2020,
                "Rate Limit Exceeded",
                &[],
            );
            r.headers_mut()
                .insert("retry-after", "2".parse().expect("a header value"));
            return r;
        }
        Some(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return error(status, 2000, "Internal Error", &[]);
        }
        None => {}
    }
    let q = params(raw.as_deref());
    let one = |k: &str| q.get(k).and_then(|v| v.last()).map(String::as_str);
    let number = |k: &str, default: usize| match one(k) {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| format!("{k} must be a non-negative integer")),
    };
    let (offset, limit) = match (number("offset", 0), number("limit", DEFAULT_LIMIT)) {
        (Ok(o), Ok(l)) => (o, l.clamp(1, MAX_LIMIT)),
        (Err(e), _) | (_, Err(e)) => return invalid(&[e]),
    };
    let now = now_ms();
    let (since, until) = match (one("since"), one("until")) {
        (None, None) => (now, now),
        (Some(s), Some(u)) => match (parse_instant(s), parse_instant(u)) {
            (Some(s), Some(u)) if s <= u => (s, u),
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    2004,
                    "Invalid 'since' or 'until' Parameter Values",
                    &["since and until must be ISO 8601 times, since before until".into()],
                )
            }
        },
        _ => return invalid(&["Both since and until must be given".into()]),
    };
    let schedules: Vec<String> = q.get("schedule_ids[]").cloned().unwrap_or_default();
    let users: Vec<String> = q.get("user_ids[]").cloned().unwrap_or_default();
    let include_users = q
        .get("include[]")
        .is_some_and(|v| v.iter().any(|i| i == "users"));
    let earliest = one("earliest") == Some("true");
    let names: BTreeMap<String, String> = {
        let org = sim.org.read().expect("org lock");
        org.users
            .iter()
            .filter(|u| !u.email.is_empty())
            .map(|u| {
                (
                    u.email.to_lowercase(),
                    format!("{} {}", u.first_name, u.last_name),
                )
            })
            .collect()
    };
    let base = pd.state().base_url.clone();
    let mut all: Vec<Value> = Vec::new();
    {
        let s = pd.state();
        for schedule in s.schedules.values() {
            if !schedules.is_empty() && !schedules.contains(&schedule.id) {
                continue;
            }
            let mut seen_first = false;
            for shift in &schedule.shifts {
                let email = shift.email.to_lowercase();
                let Some(name) = names.get(&email) else {
                    continue;
                };
                let user_id = user_id_for(&email);
                let overlaps = shift.start <= until && shift.end.is_none_or(|end| end > since);
                if !overlaps || (!users.is_empty() && !users.contains(&user_id)) {
                    continue;
                }
                if earliest && seen_first {
                    continue;
                }
                seen_first = true;
                let user_self = format!("{base}{API_PATH}/users/{user_id}");
                let user = if include_users {
                    json!({ "id": user_id, "type": "user", "summary": name, "name": name,
                            "email": email, "self": user_self,
                            "html_url": format!("{base}/__pagerduty/users/{user_id}") })
                } else {
                    json!({ "id": user_id, "type": "user_reference", "summary": name,
                            "self": user_self,
                            "html_url": format!("{base}/__pagerduty/users/{user_id}") })
                };
                all.push(json!({
                    "escalation_policy": {
                        "id": format!("E{}", &schedule.id[1.min(schedule.id.len())..]),
                        "type": "escalation_policy_reference",
                        "summary": format!("{} escalation", schedule.name),
                    },
                    "escalation_level": 1,
                    "schedule": {
                        "id": schedule.id, "type": "schedule_reference", "summary": schedule.name,
                        "self": format!("{base}{API_PATH}/schedules/{}", schedule.id),
                    },
                    "user": user,
                    "start": format_instant(shift.start),
                    "end": shift.end.map(format_instant),
                }));
            }
        }
    }
    let total = all.len();
    let page: Vec<Value> = all.into_iter().skip(offset).take(limit).collect();
    let more = offset + page.len() < total;
    let total = (one("total") == Some("true")).then_some(total);
    Json(json!({
        "oncalls": page, "limit": limit, "offset": offset, "more": more, "total": total,
    }))
    .into_response()
}

/// What the control API takes to change the stand-in.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Control {
    #[serde(default)]
    api_key: Option<String>,
    /// The status every API call answers from now on; `0`: answer normally again.
    #[serde(default)]
    fault: Option<u16>,
    /// Schedules to add or replace: shifts with RFC 3339 `start`/`end` (`end` may be null).
    #[serde(default)]
    schedules: Vec<ControlSchedule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ControlSchedule {
    id: String,
    name: String,
    shifts: Vec<ControlShift>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ControlShift {
    email: String,
    start: String,
    #[serde(default)]
    end: Option<String>,
}

/// `POST /__pagerduty/control`.
async fn control(State(sim): State<Arc<Sim>>, Json(c): Json<Control>) -> Response {
    let mut schedules = Vec::new();
    for s in c.schedules {
        let mut shifts = Vec::new();
        for shift in s.shifts {
            let (Some(start), end) = (
                parse_instant(&shift.start),
                shift.end.as_deref().map(parse_instant),
            ) else {
                return (StatusCode::BAD_REQUEST, "start must be an RFC 3339 time").into_response();
            };
            if end == Some(None) {
                return (
                    StatusCode::BAD_REQUEST,
                    "end must be an RFC 3339 time or null",
                )
                    .into_response();
            }
            shifts.push(Shift {
                email: shift.email,
                start,
                end: end.flatten(),
            });
        }
        schedules.push(Schedule {
            id: s.id,
            name: s.name,
            shifts,
        });
    }
    let pd = &sim.pagerduty;
    if let Some(key) = c.api_key {
        pd.set_api_key(&key);
    }
    if let Some(fault) = c.fault {
        pd.set_fault((fault != 0).then_some(fault));
    }
    for s in schedules {
        pd.put_schedule(s);
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /__pagerduty/state`: the schedules and the calls served.
async fn state(State(sim): State<Arc<Sim>>) -> Json<Value> {
    let s = sim.pagerduty.state();
    Json(json!({
        "schedules": s.schedules.values().collect::<Vec<_>>(),
        "fault": s.fault,
        "calls": s.calls,
    }))
}

/// The stand-in's routes.
pub fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route("/pagerduty/oncalls", get(oncalls))
        .route("/__pagerduty/control", post(control))
        .route("/__pagerduty/state", get(state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_look_like_pagerdutys_and_come_from_the_lowercased_email() {
        let id = user_id_for("Lena@Example.com");
        assert_eq!(id, user_id_for("lena@example.com "));
        assert_eq!(id.len(), 7);
        assert!(id.starts_with('P'));
        assert_ne!(id, user_id_for("ada@example.com"));
    }
}
