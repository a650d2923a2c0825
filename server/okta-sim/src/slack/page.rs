//! The stand-in's own side under `/__slack` (no auth, loopback only): the page people use as
//! their Slack in the demo (pick who you are, read the app's messages rendered from Block Kit,
//! click their buttons, fill in and submit modals; server-rendered, no JavaScript), the
//! `response_url`s, and the control API tests use (configuration, faults, extra users, and
//! JSON views of messages, interactions, responses, open views and call counts).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::blocks::{escape, mrkdwn, render, text, ButtonTarget};
use super::{Interaction, OpenView, SlackConfig, SlackFault, SlackMessage};
use crate::Sim;

/// Messages shown on the page (the newest).
const SHOWN: usize = 200;
/// People offered in the "Viewing as" picker.
const PICKER: usize = 500;

pub(super) fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route("/__slack", get(page))
        .route("/__slack/messages", get(messages))
        .route("/__slack/interactions", get(interactions))
        .route("/__slack/responses", get(responses))
        .route("/__slack/views", get(views))
        .route("/__slack/calls", get(calls))
        .route("/__slack/users", get(users).post(add_user))
        .route("/__slack/config", get(get_config).post(set_config))
        .route(
            "/__slack/faults",
            get(get_faults).post(add_fault).delete(clear_faults),
        )
        .route("/__slack/reset", post(reset))
        .route("/__slack/click", post(click))
        .route("/__slack/submit", post(submit))
        .route("/__slack/close", post(close))
        .route("/__slack/response/{id}", post(take_response))
}

fn bad_request(msg: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": msg.into() })),
    )
        .into_response()
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"))
}

fn form(body: &[u8]) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// Back to the page as `user`, with an error to show if any.
fn back(user: &str, error: Option<String>) -> Response {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("as", user);
    if let Some(e) = error {
        query.append_pair("error", &e);
    }
    Redirect::to(&format!("/__slack?{}", query.finish())).into_response()
}

#[derive(Deserialize)]
struct Who {
    #[serde(rename = "as")]
    user: Option<String>,
}

async fn messages(State(sim): State<Arc<Sim>>, Query(who): Query<Who>) -> Json<Value> {
    let list = match who.user {
        Some(u) => sim.slack.messages_for(&u),
        None => sim.slack.messages(),
    };
    Json(json!({ "messages": list }))
}

async fn interactions(State(sim): State<Arc<Sim>>) -> Json<Value> {
    Json(json!({ "interactions": sim.slack.interactions() }))
}

async fn responses(State(sim): State<Arc<Sim>>) -> Json<Value> {
    Json(json!({ "responses": sim.slack.responses() }))
}

async fn views(State(sim): State<Arc<Sim>>, Query(who): Query<Who>) -> Response {
    match who.user {
        Some(u) => Json(json!({ "views": sim.slack.open_views(&u) })).into_response(),
        None => bad_request("views: ?as=<Slack user id> is required"),
    }
}

async fn calls(State(sim): State<Arc<Sim>>) -> Json<Value> {
    Json(json!({ "calls": sim.slack.all_calls() }))
}

async fn users(State(sim): State<Arc<Sim>>) -> Json<Value> {
    Json(json!({ "users": sim.slack.users() }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    email: String,
    name: String,
}

async fn add_user(State(sim): State<Arc<Sim>>, body: Bytes) -> Response {
    let new: NewUser = match serde_json::from_slice(&body) {
        Ok(u) => u,
        Err(e) => return bad_request(format!("users: {e}")),
    };
    let email = new.email.trim();
    if !email.contains('@') || email.contains(char::is_whitespace) {
        return bad_request(format!("users: {email:?} is not an email address"));
    }
    let id = sim.slack.add_user(email, &new.name);
    match sim.slack.user(&id) {
        Some(u) => (StatusCode::CREATED, Json(u)).into_response(),
        None => bad_request("users: not added"),
    }
}

async fn get_config(State(sim): State<Arc<Sim>>) -> Json<SlackConfig> {
    Json(sim.slack.config())
}

/// A partial configuration (`POST /__slack/config`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConfigPatch {
    bot_token: Option<String>,
    signing_secret: Option<String>,
    interactions_url: Option<String>,
    latency_ms: Option<u64>,
    trigger_ttl_secs: Option<u64>,
}

async fn set_config(State(sim): State<Arc<Sim>>, body: Bytes) -> Response {
    let patch: ConfigPatch = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => return bad_request(format!("config: {e}")),
    };
    if patch.bot_token.as_ref().is_some_and(|t| t.is_empty()) {
        return bad_request("config: botToken must not be empty");
    }
    Json(sim.slack.update_config(|c| {
        if let Some(v) = patch.bot_token {
            c.bot_token = v;
        }
        if let Some(v) = patch.signing_secret {
            c.signing_secret = v;
        }
        if let Some(v) = patch.interactions_url {
            c.interactions_url = v;
        }
        if let Some(v) = patch.latency_ms {
            c.latency_ms = v;
        }
        if let Some(v) = patch.trigger_ttl_secs {
            c.trigger_ttl_secs = v;
        }
    }))
    .into_response()
}

async fn get_faults(State(sim): State<Arc<Sim>>) -> Json<Value> {
    Json(json!({ "faults": sim.slack.faults() }))
}

/// `{"method": null|"chat.postMessage", "count": 2, "retryAfter": 1}` or `{…, "error": "…"}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewFault {
    #[serde(default)]
    method: Option<String>,
    #[serde(default = "one")]
    count: u32,
    retry_after: Option<u64>,
    error: Option<String>,
}

fn one() -> u32 {
    1
}

async fn add_fault(State(sim): State<Arc<Sim>>, body: Bytes) -> Response {
    let new: NewFault = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => return bad_request(format!("faults: {e}")),
    };
    let kind = match (new.retry_after, new.error) {
        (Some(secs), None) => SlackFault::RateLimited {
            retry_after_secs: secs,
        },
        (None, Some(e)) if !e.is_empty() => SlackFault::Error(e),
        _ => return bad_request("faults: give either retryAfter (seconds) or error (a code)"),
    };
    sim.slack.fail_next(new.method, new.count, kind);
    Json(json!({ "faults": sim.slack.faults() })).into_response()
}

async fn clear_faults(State(sim): State<Arc<Sim>>) -> StatusCode {
    sim.slack.clear_faults();
    StatusCode::NO_CONTENT
}

async fn reset(State(sim): State<Arc<Sim>>) -> StatusCode {
    sim.slack.reset();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClickJson {
    #[serde(rename = "as")]
    user: String,
    channel: String,
    ts: String,
    action_id: String,
}

async fn click(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Response {
    if is_json(&headers) {
        let c: ClickJson = match serde_json::from_slice(&body) {
            Ok(c) => c,
            Err(e) => return bad_request(format!("click: {e}")),
        };
        return match sim
            .slack
            .click(&c.user, &c.channel, &c.ts, &c.action_id)
            .await
        {
            Ok(i) => Json(i).into_response(),
            Err(e) => bad_request(e),
        };
    }
    let f = form(&body);
    let field = |n: &str| f.get(n).map(String::as_str).unwrap_or_default();
    let result = sim
        .slack
        .click(
            field("as"),
            field("channel"),
            field("ts"),
            field("action_id"),
        )
        .await;
    back(field("as"), result.err())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SubmitJson {
    #[serde(rename = "as")]
    user: String,
    view_id: String,
    #[serde(default)]
    values: BTreeMap<String, BTreeMap<String, String>>,
}

async fn submit(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Response {
    if is_json(&headers) {
        let s: SubmitJson = match serde_json::from_slice(&body) {
            Ok(s) => s,
            Err(e) => return bad_request(format!("submit: {e}")),
        };
        return match sim.slack.submit_view(&s.user, &s.view_id, s.values).await {
            Ok(i) => Json(i).into_response(),
            Err(e) => bad_request(e),
        };
    }
    let f = form(&body);
    let user = f.get("as").cloned().unwrap_or_default();
    let view_id = f.get("view_id").cloned().unwrap_or_default();
    let Some(open) = sim
        .slack
        .open_views(&user)
        .into_iter()
        .find(|v| v.id == view_id)
    else {
        return back(&user, Some(format!("no view {view_id} open")));
    };
    // Inputs are named by their block's index in the view: `input<i>`.
    let mut values: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (i, block) in open.view["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(v) = f.get(&format!("input{i}")) {
            values
                .entry(block["block_id"].as_str().unwrap_or_default().to_owned())
                .or_default()
                .insert(
                    block["element"]["action_id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    v.clone(),
                );
        }
    }
    let result = sim.slack.submit_view(&user, &view_id, values).await;
    back(&user, result.err())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CloseJson {
    #[serde(rename = "as")]
    user: String,
    view_id: String,
}

async fn close(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Response {
    if is_json(&headers) {
        let c: CloseJson = match serde_json::from_slice(&body) {
            Ok(c) => c,
            Err(e) => return bad_request(format!("close: {e}")),
        };
        return Json(json!({ "closed": sim.slack.close_view(&c.user, &c.view_id) }))
            .into_response();
    }
    let f = form(&body);
    let user = f.get("as").cloned().unwrap_or_default();
    sim.slack.close_view(
        &user,
        f.get("view_id").map(String::as_str).unwrap_or_default(),
    );
    back(&user, None)
}

async fn take_response(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "ok": false, "error": "invalid_payload" })),
        )
            .into_response();
    };
    match sim.slack.take_response(&id, body) {
        Ok(_) => Json(json!({ "ok": true })).into_response(),
        Err(e) if e == "expired_url" => (
            StatusCode::NOT_FOUND,
            Json(json!({ "ok": false, "error": e })),
        )
            .into_response(),
        Err(e) => Json(json!({ "ok": false, "error": e })).into_response(),
    }
}

fn when(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(|t| format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second()))
        .unwrap_or_default()
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:56rem;margin:1rem auto;padding:0 1rem;color:#1d1c1d;line-height:1.45}\
 h1{font-size:1.4rem}h3{margin:.2rem 0}.msg,.modal{border:1px solid #ddd;border-radius:8px;padding:.6rem .9rem;margin:.8rem 0;background:#fff}\
 .modal{border-color:#1264a3;box-shadow:0 2px 8px #0002}.meta{color:#616061;font-size:.85rem}.note{color:#616061;font-style:italic}\
 .fields{display:grid;grid-template-columns:1fr 1fr;gap:.3rem 1rem;margin:.3rem 0}.section{margin:.35rem 0}.context{color:#616061;font-size:.85rem;margin:.3rem 0}\
 .actions{display:flex;gap:.5rem;flex-wrap:wrap;margin:.4rem 0}.inline{display:inline}\
 .btn{display:inline-block;padding:.3rem .8rem;border:1px solid #bbb;border-radius:4px;background:#fff;color:#1d1c1d;text-decoration:none;font:inherit;cursor:pointer}\
 .btn.primary{background:#007a5a;border-color:#007a5a;color:#fff}.btn.danger{background:#e01e5a;border-color:#e01e5a;color:#fff}\
 .flash{background:#f4ede4;border-left:4px solid #e8912d;padding:.5rem .8rem}.flash.err{background:#fde8ec;border-color:#e01e5a}\
 .error{color:#e01e5a}textarea{width:100%;min-height:4rem;font:inherit}pre{white-space:pre-wrap;word-break:break-all;margin:.3rem 0}\
 label{font-weight:600;display:block;margin-top:.5rem}.unsupported{color:#999}";

fn flash(last: Option<&Interaction>, error: Option<&str>) -> String {
    let mut out = String::new();
    if let Some(e) = error {
        out.push_str(&format!(
            "<p class=\"flash err\">Not sent: {}</p>",
            escape(e)
        ));
    }
    if let Some(i) = last {
        let answer = match (i.status, &i.error) {
            (Some(s), _) => format!(
                "Gatepass answered <b>{s}</b>{}",
                if i.response_body.trim().is_empty() {
                    " (empty body)".to_owned()
                } else {
                    format!(":<pre>{}</pre>", escape(&i.response_body))
                }
            ),
            (None, Some(e)) => format!("no answer: {}", escape(e)),
            (None, None) => "no answer".to_owned(),
        };
        let class = if i.status.is_some_and(|s| (200..300).contains(&s)) {
            "flash"
        } else {
            "flash err"
        };
        out.push_str(&format!(
            "<div class=\"{class}\">Your last action ({}, {} UTC, {} ms): {answer}</div>",
            escape(&i.kind),
            when(i.at_ms),
            i.elapsed_ms
        ));
    }
    out
}

fn render_view(user: &str, v: &OpenView) -> String {
    let mut inputs = |i: usize, block: &Value| {
        let block_id = block["block_id"].as_str().unwrap_or_default();
        let element = &block["element"];
        let error = v
            .errors
            .get(block_id)
            .map(|e| format!("<div class=\"error\">{}</div>", escape(e)))
            .unwrap_or_default();
        let hint = block
            .get("hint")
            .map(|h| format!("<div class=\"context\">{}</div>", text(h)))
            .unwrap_or_default();
        let optional = if block["optional"] == true {
            " <span class=\"meta\">(optional)</span>"
        } else {
            ""
        };
        let field = if element["type"] == "plain_text_input" {
            let placeholder = element["placeholder"]["text"].as_str().unwrap_or_default();
            let initial = element["initial_value"].as_str().unwrap_or_default();
            format!(
                "<textarea id=\"input{i}\" name=\"input{i}\" placeholder=\"{}\">{}</textarea>",
                escape(placeholder),
                escape(initial)
            )
        } else {
            format!(
                "<span class=\"unsupported\">[{} not simulated]</span>",
                escape(element["type"].as_str().unwrap_or("element"))
            )
        };
        format!(
            "<label for=\"input{i}\">{}{optional}</label>{field}{error}{hint}",
            text(&block["label"])
        )
    };
    let body = render(&v.view["blocks"], None, &mut inputs);
    let submit = v.view["submit"]["text"].as_str().unwrap_or("Submit");
    let close = v.view["close"]["text"].as_str().unwrap_or("Cancel");
    format!(
        "<div class=\"modal\"><h2>{title}</h2>\
         <form method=\"post\" action=\"/__slack/submit\">\
         <input type=\"hidden\" name=\"as\" value=\"{user}\"><input type=\"hidden\" name=\"view_id\" value=\"{id}\">\
         {body}<p><button type=\"submit\" class=\"btn primary\">{submit}</button></p></form>\
         <form method=\"post\" action=\"/__slack/close\">\
         <input type=\"hidden\" name=\"as\" value=\"{user}\"><input type=\"hidden\" name=\"view_id\" value=\"{id}\">\
         <button type=\"submit\" class=\"btn\">{close}</button></form></div>",
        title = escape(v.view["title"]["text"].as_str().unwrap_or_default()),
        user = escape(user),
        id = escape(&v.id),
        submit = escape(submit),
        close = escape(close),
    )
}

fn render_message(user: &str, m: &SlackMessage) -> String {
    let target = ButtonTarget {
        user,
        channel: &m.channel,
        ts: &m.ts,
    };
    let has_blocks = m.blocks.as_array().is_some_and(|b| !b.is_empty());
    let body = if has_blocks {
        render(&m.blocks, Some(&target), &mut |_, b| {
            format!(
                "<div class=\"unsupported\">[input: {}]</div>",
                text(&b["label"])
            )
        })
    } else {
        format!("<div class=\"section\">{}</div>", mrkdwn(&m.text))
    };
    let place = if m.channel.starts_with('D') {
        "Direct message from Gatepass".to_owned()
    } else {
        format!("#{}", escape(&m.channel))
    };
    let mut notes = Vec::new();
    if m.updates > 0 {
        notes.push("(edited)".to_owned());
    }
    if m.ephemeral_for.is_some() {
        notes.push("Only visible to you".to_owned());
    }
    format!(
        "<div class=\"msg\"><div class=\"meta\">{place} · {} UTC · ts {} <span class=\"note\">{}</span></div>{body}</div>",
        when(m.at_ms),
        escape(&m.ts),
        notes.join(" · ")
    )
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(rename = "as")]
    user: Option<String>,
    error: Option<String>,
}

async fn page(State(sim): State<Arc<Sim>>, Query(q): Query<PageQuery>) -> Html<String> {
    let slack = &sim.slack;
    let all = slack.messages();
    let user = q.user.filter(|u| !u.is_empty()).or_else(|| {
        all.iter()
            .rev()
            .find_map(|m| m.ephemeral_for.clone().or_else(|| m.recipient.clone()))
    });
    // The picker: people with messages first, then everyone else (up to PICKER).
    let with_messages: BTreeSet<String> = all
        .iter()
        .filter_map(|m| m.ephemeral_for.clone().or_else(|| m.recipient.clone()))
        .collect();
    let mut people = slack.users();
    people.sort_by_key(|u| !with_messages.contains(&u.id));
    let options: String = people
        .iter()
        .take(PICKER)
        .map(|u| {
            format!(
                "<option value=\"{}\"{}>{} &lt;{}&gt;{}</option>",
                escape(&u.id),
                if user.as_deref() == Some(u.id.as_str()) {
                    " selected"
                } else {
                    ""
                },
                escape(&u.real_name),
                escape(&u.email),
                if with_messages.contains(&u.id) {
                    " ✉"
                } else {
                    ""
                }
            )
        })
        .collect();
    let mut main = String::new();
    let mut has_modal = false;
    if let Some(user) = &user {
        let who = slack.user(user);
        main.push_str(&format!(
            "<h2>{}</h2>",
            who.as_ref().map_or_else(
                || format!("{} (not a Slack user)", escape(user)),
                |u| format!("{} · <code>{}</code>", escape(&u.real_name), escape(&u.id))
            )
        ));
        let last = slack
            .interactions()
            .into_iter()
            .rev()
            .find(|i| &i.user == user);
        main.push_str(&flash(last.as_ref(), q.error.as_deref()));
        for v in slack.open_views(user).iter().rev() {
            has_modal = true;
            main.push_str(&render_view(user, v));
        }
        let mine: Vec<&SlackMessage> = all.iter().filter(|m| m.visible_to(user)).collect();
        if mine.is_empty() {
            main.push_str("<p class=\"note\">No messages yet.</p>");
        }
        for m in mine.iter().rev().take(SHOWN) {
            main.push_str(&render_message(user, m));
        }
    } else {
        main.push_str("<p class=\"note\">No messages yet: pick someone to view their Slack.</p>");
    }
    let refresh = if has_modal {
        ""
    } else {
        "<meta http-equiv=\"refresh\" content=\"5\">"
    };
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">{refresh}\
         <title>Slack · Okta simulator</title><style>{STYLE}</style></head><body>\
         <h1>Slack · Okta simulator</h1>\
         <p class=\"meta\">What Gatepass sent to Slack, as each person sees it, newest first. Buttons and forms here act as that person: the stand-in sends Gatepass a signed interaction, as Slack would.{}</p>\
         <form method=\"get\" action=\"/__slack\">Viewing as <select name=\"as\">{options}</select> <button type=\"submit\" class=\"btn\">View</button></form>\
         {main}</body></html>",
        if has_modal { "" } else { " This page reloads every 5 seconds." }
    ))
}
