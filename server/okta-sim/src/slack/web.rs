//! The Web API subset at `/slack/api/{method}`: arguments from the query, a form or a JSON body;
//! the bot token from `Authorization: Bearer` (or a `token` form field); answers as Slack gives
//! them, HTTP 200 with `ok:false` and an error code for every error but a rate limit (429 with
//! `Retry-After`) and an unknown method (404).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use super::blocks;
use super::{
    dm_channel_for, now_ms, OpenView, SlackFault, SlackMessage, BOT_ID, BOT_NAME, BOT_USER_ID,
    TEAM_ID, TEAM_NAME,
};
use super::{Slack, State as SlackState, APP_ID};
use crate::http::Base;
use crate::Sim;

/// The methods served.
pub(super) const METHODS: &[&str] = &[
    "auth.test",
    "users.lookupByEmail",
    "conversations.open",
    "chat.postMessage",
    "chat.update",
    "chat.postEphemeral",
    "views.open",
];

/// Scopes reported in `X-OAuth-Scopes` (what Gatepass's app asks for).
const SCOPES: &str = "chat:write,im:write,users:read,users:read.email";
/// The longest `text` Slack takes.
const MAX_TEXT: usize = 40_000;

pub(super) fn routes() -> Router<Arc<Sim>> {
    Router::new().route("/slack/api/{method}", get(call).post(call))
}

/// A Web API error: the code and, when Slack gives them, `response_metadata.messages`.
#[derive(Debug)]
pub(super) struct ApiError {
    code: String,
    messages: Vec<String>,
}

impl ApiError {
    fn new(code: &str) -> Self {
        ApiError {
            code: code.to_owned(),
            messages: Vec::new(),
        }
    }

    fn with(code: &str, messages: Vec<String>) -> Self {
        ApiError {
            code: code.to_owned(),
            messages,
        }
    }

    fn missing(field: &str) -> Self {
        Self::with(
            "invalid_arguments",
            vec![format!("[ERROR] missing required field: {field}")],
        )
    }
}

fn answer(status: StatusCode, body: Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    h.insert("x-oauth-scopes", HeaderValue::from_static(SCOPES));
    resp
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "ok": false, "error": self.code });
        if !self.messages.is_empty() {
            body["response_metadata"] = json!({ "messages": self.messages });
        }
        answer(StatusCode::OK, body)
    }
}

/// The arguments of a call, and the `token` given as a query or form field.
struct Args {
    values: Map<String, Value>,
    form_token: Option<String>,
}

fn parse_args(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Result<Args, ApiError> {
    let mut values = Map::new();
    let mut form_token = None;
    let mut take_form = |bytes: &[u8], values: &mut Map<String, Value>| {
        for (k, v) in url::form_urlencoded::parse(bytes) {
            if k == "token" {
                form_token = Some(v.clone().into_owned());
            }
            values.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    };
    if let Some(q) = query {
        take_form(q.as_bytes(), &mut values);
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("application/json") {
        if !body.iter().all(u8::is_ascii_whitespace) {
            match serde_json::from_slice::<Value>(body) {
                // Slack reads no token from a JSON body: it must come as a bearer token.
                Ok(Value::Object(map)) => values.extend(map),
                _ => return Err(ApiError::new("invalid_json")),
            }
        }
    } else if content_type.starts_with("multipart/") {
        return Err(ApiError::with(
            "invalid_form_data",
            vec!["[ERROR] okta-sim: multipart bodies are not simulated".into()],
        ));
    } else {
        take_form(body, &mut values);
    }
    Ok(Args { values, form_token })
}

impl Args {
    /// A string argument (numbers and booleans as written); empty counts as missing.
    fn str(&self, name: &str) -> Option<String> {
        match self.values.get(name)? {
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// A JSON argument, given as JSON or (in forms) as a JSON string.
    fn json(&self, name: &str, bad: &str) -> Result<Option<Value>, ApiError> {
        match self.values.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => serde_json::from_str(s)
                .map(Some)
                .map_err(|_| ApiError::new(bad)),
            Some(v) => Ok(Some(v.clone())),
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

async fn call(
    State(sim): State<Arc<Sim>>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    Base(base): Base,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let slack = &sim.slack;
    slack.count_call(&method);
    if !METHODS.contains(&method.as_str()) {
        return answer(
            StatusCode::NOT_FOUND,
            json!({ "ok": false, "error": "unknown_method", "req_method": method }),
        );
    }
    let config = slack.config();
    if config.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(config.latency_ms)).await;
    }
    match slack.take_fault(&method) {
        Some(SlackFault::RateLimited { retry_after_secs }) => {
            let mut resp = answer(
                StatusCode::TOO_MANY_REQUESTS,
                json!({ "ok": false, "error": "ratelimited" }),
            );
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            return resp;
        }
        Some(SlackFault::Error(code)) => return ApiError::new(&code).into_response(),
        None => {}
    }
    let args = match parse_args(query.as_deref(), &headers, &body) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    match bearer(&headers).or_else(|| args.form_token.clone()) {
        None => return ApiError::new("not_authed").into_response(),
        Some(t) if t != config.bot_token => return ApiError::new("invalid_auth").into_response(),
        Some(_) => {}
    }
    let result = match method.as_str() {
        "auth.test" => Ok(json!({
            "url": format!("{base}/__slack/"),
            "team": TEAM_NAME,
            "user": BOT_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": false,
        })),
        "users.lookupByEmail" => lookup_by_email(slack, &args),
        "conversations.open" => open_conversation(slack, &args),
        "chat.postMessage" => post_message(slack, &args),
        "chat.update" => update_message(slack, &args),
        "chat.postEphemeral" => post_ephemeral(slack, &args),
        "views.open" => open_view(slack, &args),
        _ => Err(ApiError::new("unknown_method")),
    };
    match result {
        Ok(mut body) => {
            let mut out = Map::new();
            out.insert("ok".into(), Value::Bool(true));
            if let Some(fields) = body.as_object_mut() {
                out.append(fields);
            }
            answer(StatusCode::OK, Value::Object(out))
        }
        Err(e) => e.into_response(),
    }
}

fn lookup_by_email(slack: &Slack, args: &Args) -> Result<Value, ApiError> {
    let email = args
        .str("email")
        .ok_or_else(|| ApiError::missing("email"))?;
    let user = slack
        .user_by_email(&email)
        .ok_or_else(|| ApiError::new("users_not_found"))?;
    Ok(json!({ "user": user.to_json() }))
}

fn open_conversation(slack: &Slack, args: &Args) -> Result<Value, ApiError> {
    if let Some(channel) = args.str("channel") {
        let (id, _) = slack.resolve_channel(&channel)?;
        return Ok(json!({ "no_op": true, "already_open": true, "channel": { "id": id } }));
    }
    let users = args
        .str("users")
        .ok_or_else(|| ApiError::new("users_list_not_supplied"))?;
    let users: Vec<&str> = users
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .collect();
    let [user] = users.as_slice() else {
        return Err(ApiError::with(
            "invalid_arguments",
            vec!["[ERROR] okta-sim: group DMs (several users) are not simulated".into()],
        ));
    };
    if slack.user(user).is_none() {
        return Err(ApiError::new("user_not_found"));
    }
    let id = dm_channel_for(user);
    let before = slack.state().dms.insert(id.clone(), (*user).to_owned());
    let mut body = json!({ "channel": { "id": id } });
    if before.is_some() {
        body["no_op"] = Value::Bool(true);
        body["already_open"] = Value::Bool(true);
    }
    Ok(body)
}

impl Slack {
    /// A channel argument → (channel id, the user of a DM). `D…`: a DM opened (or openable)
    /// with a current user; `C…`: a public channel (any id exists); `U…`: that user's DM.
    fn resolve_channel(&self, channel: &str) -> Result<(String, Option<String>), ApiError> {
        let not_found = || ApiError::new("channel_not_found");
        if channel.starts_with('C') && channel.len() > 1 {
            return Ok((channel.to_owned(), None));
        }
        let user = if channel.starts_with('U') || channel.starts_with('W') {
            self.user(channel).ok_or_else(not_found)?.id
        } else if channel.starts_with('D') {
            let known = self.state().dms.get(channel).cloned();
            match known {
                Some(u) => self.user(&u).ok_or_else(not_found)?.id,
                None => {
                    self.users()
                        .into_iter()
                        .find(|u| dm_channel_for(&u.id) == channel)
                        .ok_or_else(not_found)?
                        .id
                }
            }
        } else {
            return Err(not_found());
        };
        let id = dm_channel_for(&user);
        self.state().dms.insert(id.clone(), user.clone());
        Ok((id, Some(user)))
    }
}

/// `text` and `blocks` of a post or an update, checked: (text, blocks if given).
fn content(args: &Args) -> Result<(Option<String>, Option<Value>), ApiError> {
    let text = args.str("text");
    let mut blocks = args.json("blocks", "invalid_blocks_format")?;
    if let Some(b) = &mut blocks {
        blocks::validate(b, 50).map_err(|m| ApiError::with("invalid_blocks", m))?;
        blocks::fill_ids(b);
    }
    if text.is_none()
        && blocks
            .as_ref()
            .is_none_or(|b| b.as_array().is_none_or(Vec::is_empty))
    {
        return Err(ApiError::new("no_text"));
    }
    if text.as_ref().is_some_and(|t| t.chars().count() > MAX_TEXT) {
        return Err(ApiError::new("msg_too_long"));
    }
    Ok((text, blocks))
}

fn message_json(m: &SlackMessage) -> Value {
    let mut message = json!({
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "team": TEAM_ID,
        "text": m.text,
        "ts": m.ts,
    });
    if m.blocks.as_array().is_some_and(|b| !b.is_empty()) {
        message["blocks"] = m.blocks.clone();
    }
    if !m.metadata.is_null() {
        message["metadata"] = m.metadata.clone();
    }
    message
}

fn post_message(slack: &Slack, args: &Args) -> Result<Value, ApiError> {
    let channel = args
        .str("channel")
        .ok_or_else(|| ApiError::new("channel_not_found"))?;
    let (channel, recipient) = slack.resolve_channel(&channel)?;
    let (text, blocks) = content(args)?;
    let metadata = args
        .json("metadata", "invalid_metadata_format")?
        .unwrap_or(Value::Null);
    if !(metadata.is_null() || metadata["event_type"].is_string()) {
        return Err(ApiError::new("invalid_metadata_format"));
    }
    let mut state = slack.state();
    let message = SlackMessage {
        channel: channel.clone(),
        ts: Slack::next_ts(&mut state),
        at_ms: now_ms(),
        recipient,
        text: text.unwrap_or_default(),
        blocks: blocks.unwrap_or_else(|| json!([])),
        updates: 0,
        previous: Vec::new(),
        ephemeral_for: None,
        metadata,
    };
    let body = json!({ "channel": channel, "ts": message.ts, "message": message_json(&message) });
    Slack::keep_message(&mut state, message);
    Ok(body)
}

fn update_message(slack: &Slack, args: &Args) -> Result<Value, ApiError> {
    let channel = args
        .str("channel")
        .ok_or_else(|| ApiError::new("channel_not_found"))?;
    let ts = args.str("ts").ok_or_else(|| ApiError::missing("ts"))?;
    let (channel, _) = slack.resolve_channel(&channel)?;
    let (text, blocks) = content(args)?;
    let mut state = slack.state();
    let message = state
        .messages
        .iter_mut()
        .find(|m| m.channel == channel && m.ts == ts && m.ephemeral_for.is_none())
        .ok_or_else(|| ApiError::new("message_not_found"))?;
    replace_content(message, text, blocks);
    Ok(json!({
        "channel": channel,
        "ts": ts,
        "text": message.text,
        "message": message_json(message),
    }))
}

/// Applies an update: what is given replaces, what is not is kept (as `chat.update` does).
pub(super) fn replace_content(m: &mut SlackMessage, text: Option<String>, blocks: Option<Value>) {
    m.previous.push(super::MessageVersion {
        text: m.text.clone(),
        blocks: m.blocks.clone(),
        replaced_at_ms: now_ms(),
    });
    if m.previous.len() > 100 {
        m.previous.remove(0);
    }
    if let Some(t) = text {
        m.text = t;
    }
    if let Some(b) = blocks {
        m.blocks = b;
    }
    m.updates += 1;
}

fn post_ephemeral(slack: &Slack, args: &Args) -> Result<Value, ApiError> {
    let channel = args
        .str("channel")
        .ok_or_else(|| ApiError::new("channel_not_found"))?;
    let user = args.str("user").ok_or_else(|| ApiError::missing("user"))?;
    let (channel, recipient) = slack.resolve_channel(&channel)?;
    let user = slack
        .user(&user)
        .ok_or_else(|| ApiError::new("user_not_found"))?
        .id;
    if recipient.as_ref().is_some_and(|r| *r != user) {
        return Err(ApiError::new("user_not_in_channel"));
    }
    let (text, blocks) = content(args)?;
    let mut state = slack.state();
    let ts = Slack::next_ts(&mut state);
    Slack::keep_message(
        &mut state,
        SlackMessage {
            channel,
            ts: ts.clone(),
            at_ms: now_ms(),
            recipient,
            text: text.unwrap_or_default(),
            blocks: blocks.unwrap_or_else(|| json!([])),
            updates: 0,
            previous: Vec::new(),
            ephemeral_for: Some(user),
            metadata: Value::Null,
        },
    );
    Ok(json!({ "message_ts": ts }))
}

/// Checks a modal view as `views.open` does.
fn check_view(view: &Value) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    if view["type"] != "modal" {
        errors.push("[ERROR] must be one of [modal] [json-pointer:/view/type]".to_owned());
    }
    match view["title"]["text"].as_str() {
        _ if view["title"]["type"] != "plain_text" => errors
            .push("[ERROR] must be a plain_text text object [json-pointer:/view/title]".to_owned()),
        Some(t) if t.is_empty() || t.chars().count() > 24 => errors.push(
            "[ERROR] must be between 1 and 24 characters [json-pointer:/view/title/text]"
                .to_owned(),
        ),
        _ => {}
    }
    for field in ["submit", "close"] {
        if let Some(t) = view.get(field).filter(|t| !t.is_null()) {
            if t["type"] != "plain_text"
                || t["text"].as_str().is_none_or(|s| s.chars().count() > 24)
            {
                errors.push(format!(
                    "[ERROR] must be a plain_text text object of at most 24 characters [json-pointer:/view/{field}]"
                ));
            }
        }
    }
    let blocks = view.get("blocks").cloned().unwrap_or(Value::Null);
    if let Err(e) = blocks::validate(&blocks, 100) {
        errors.extend(
            e.into_iter()
                .map(|m| m.replace("[json-pointer:/blocks", "[json-pointer:/view/blocks")),
        );
    }
    let has_input = blocks
        .as_array()
        .is_some_and(|b| b.iter().any(|b| b["type"] == "input"));
    if has_input && view.get("submit").is_none_or(Value::is_null) {
        errors.push(
            "[ERROR] submit is required when an input block is present [json-pointer:/view/submit]"
                .to_owned(),
        );
    }
    for (field, max) in [("callback_id", 255), ("private_metadata", 3000)] {
        if view[field]
            .as_str()
            .is_some_and(|s| s.chars().count() > max)
        {
            errors.push(format!(
                "[ERROR] must be less than {} characters [json-pointer:/view/{field}]",
                max + 1
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn open_view(slack: &Slack, args: &Args) -> Result<Value, ApiError> {
    let trigger = args
        .str("trigger_id")
        .ok_or_else(|| ApiError::missing("trigger_id"))?;
    let view = args
        .json("view", "invalid_arguments")?
        .ok_or_else(|| ApiError::missing("view"))?;
    check_view(&view).map_err(|m| ApiError::with("invalid_arguments", m))?;
    let mut state = slack.state();
    let ttl_ms = i64::try_from(state.config.trigger_ttl_secs)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000);
    let t = state
        .triggers
        .get_mut(&trigger)
        .ok_or_else(|| ApiError::new("invalid_trigger_id"))?;
    if t.used {
        return Err(ApiError::new("exchanged_trigger_id"));
    }
    if now_ms() - t.issued_ms >= ttl_ms {
        return Err(ApiError::new("expired_trigger_id"));
    }
    t.used = true;
    let user = t.user.clone();
    let opened = open_view_for(&mut state, &user, &view);
    Ok(json!({ "view": opened.view }))
}

/// Opens `view` for `user`: the view object as Slack returns it, kept open.
pub(super) fn open_view_for(state: &mut SlackState, user: &str, view: &Value) -> OpenView {
    state.next_view += 1;
    let id = format!("V{:010X}", state.next_view);
    let text_or_null = |v: Option<&Value>| v.cloned().unwrap_or(Value::Null);
    let mut view_blocks = view.get("blocks").cloned().unwrap_or_else(|| json!([]));
    blocks::fill_ids(&mut view_blocks);
    let str_field = |f: &str| view[f].as_str().unwrap_or_default().to_owned();
    let full = json!({
        "id": id,
        "team_id": TEAM_ID,
        "type": "modal",
        "blocks": view_blocks,
        "private_metadata": str_field("private_metadata"),
        "callback_id": str_field("callback_id"),
        "state": { "values": {} },
        "hash": format!("{}.{}", now_ms() / 1000, crate::http::random_id("", 8)),
        "title": view["title"],
        "clear_on_close": view["clear_on_close"].as_bool().unwrap_or(false),
        "notify_on_close": view["notify_on_close"].as_bool().unwrap_or(false),
        "close": text_or_null(view.get("close")),
        "submit": text_or_null(view.get("submit")),
        "previous_view_id": null,
        "root_view_id": id,
        "app_id": APP_ID,
        "external_id": str_field("external_id"),
        "app_installed_team_id": TEAM_ID,
        "bot_id": BOT_ID,
    });
    let open = OpenView {
        id,
        user: user.to_owned(),
        callback_id: str_field("callback_id"),
        private_metadata: str_field("private_metadata"),
        view: full,
        errors: Default::default(),
    };
    state.views.push(open.clone());
    open
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_form_query_and_json_arguments() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let args = parse_args(
            Some("email=a%40b.c"),
            &headers,
            b"token=xoxb-1&blocks=%5B%7B%22type%22%3A%22divider%22%7D%5D",
        )
        .unwrap();
        assert_eq!(args.str("email").as_deref(), Some("a@b.c"));
        assert_eq!(args.form_token.as_deref(), Some("xoxb-1"));
        assert_eq!(
            args.json("blocks", "x").unwrap(),
            Some(json!([{"type": "divider"}]))
        );
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        let args = parse_args(None, &headers, br#"{"token":"t","ts":"1.000001"}"#).unwrap();
        assert_eq!(args.form_token, None, "no token from JSON bodies");
        assert_eq!(args.str("ts").as_deref(), Some("1.000001"));
        assert!(parse_args(None, &headers, b"[1]").is_err());
    }

    #[test]
    fn checks_views() {
        let ok = json!({"type": "modal", "title": {"type": "plain_text", "text": "Deny"},
            "submit": {"type": "plain_text", "text": "Deny"},
            "blocks": [{"type": "input", "block_id": "reason", "label": {"type": "plain_text", "text": "Why?"},
                        "element": {"type": "plain_text_input", "action_id": "text"}}]});
        assert_eq!(check_view(&ok), Ok(()));
        let mut no_submit = ok.clone();
        no_submit.as_object_mut().unwrap().remove("submit");
        assert!(check_view(&no_submit).is_err());
        assert!(check_view(
            &json!({"type": "home", "title": {"type": "plain_text", "text": "x"}, "blocks": []})
        )
        .is_err());
    }
}
