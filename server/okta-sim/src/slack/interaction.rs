//! What Slack sends the app when people act: a button click (`block_actions`) or a modal
//! submission (`view_submission`), as Slack shapes them, form-encoded as `payload=<json>`,
//! signed with `X-Slack-Signature: v0=<HMAC-SHA256(signing secret, "v0:{ts}:{body}")>`, posted
//! to the interactions URL (loopback only) and recorded with the app's answer. Also the
//! `response_url` each click carries, which takes the app's follow-up posts.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::Sha256;

use super::blocks::find_button;
use super::web::{open_view_for, replace_content};
use super::{
    keep, now_ms, ResponseTarget, Slack, SlackMessage, SlackUser, State, Trigger, APP_ID, BOT_ID,
    BOT_USER_ID, KEEP, TEAM_DOMAIN, TEAM_ID, VERIFICATION_TOKEN,
};

/// How long the stand-in waits for the app's answer (Slack gives up after 3 s).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// The headers that authenticate an interaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InteractionHeaders {
    /// `X-Slack-Request-Timestamp`: Unix seconds.
    pub timestamp: String,
    /// `X-Slack-Signature`: `v0=<hex>`.
    pub signature: String,
}

/// An interaction sent to the app, and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Interaction {
    pub at_ms: i64,
    /// `block_actions` or `view_submission`.
    pub kind: String,
    /// The Slack user who acted.
    pub user: String,
    /// The `trigger_id` it carried (good for `views.open` for `trigger_ttl_secs`).
    pub trigger_id: String,
    /// The view submitted (`view_submission`).
    pub view_id: Option<String>,
    /// Where it was sent.
    pub url: String,
    pub headers: InteractionHeaders,
    /// The request body: `payload=<urlencoded JSON>`.
    pub body: String,
    /// The app's HTTP status; `None` when it did not answer (see `error`).
    pub status: Option<u16>,
    pub response_body: String,
    /// Why there is no answer (connection refused, timeout, not loopback).
    pub error: Option<String>,
    pub elapsed_ms: u64,
}

impl Interaction {
    /// The JSON payload inside the body.
    pub fn payload(&self) -> Value {
        url::form_urlencoded::parse(self.body.as_bytes())
            .find(|(k, _)| k == "payload")
            .and_then(|(_, v)| serde_json::from_str(&v).ok())
            .unwrap_or(Value::Null)
    }
}

/// A post the app made to a `response_url`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponsePost {
    pub at_ms: i64,
    /// The id in `/__slack/response/<id>`.
    pub id: String,
    pub user: String,
    pub channel: String,
    pub message_ts: String,
    pub body: Value,
    /// What it did: `replaced`, `deleted`, `posted`, `posted ephemeral`, or an error.
    pub outcome: String,
}

/// `v0=<hex HMAC-SHA256(secret, "v0:{timestamp}:{body}")>`, Slack's request signature.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(format!("v0:{timestamp}:{body}").as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("v0={hex}")
}

fn random_hex(len: usize) -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'))
        .collect()
}

/// Is `url` on this machine (`localhost` or a loopback address)?
fn is_loopback(url: &str) -> bool {
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => match u.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        },
        _ => false,
    }
}

fn user_json(u: &SlackUser) -> Value {
    json!({ "id": u.id, "username": u.name, "name": u.name, "team_id": TEAM_ID })
}

fn issue_trigger(state: &mut State, user: &str) -> String {
    let id = format!("{}.{}.{}", now_ms(), 1_000_000_000, random_hex(32));
    state.triggers.insert(
        id.clone(),
        Trigger {
            user: user.to_owned(),
            issued_ms: now_ms(),
            used: false,
        },
    );
    state.trigger_order.push_back(id.clone());
    if state.trigger_order.len() > KEEP {
        if let Some(old) = state.trigger_order.pop_front() {
            state.triggers.remove(&old);
        }
    }
    id
}

fn action_ts() -> String {
    let us = now_ms() * 1000;
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

impl Slack {
    /// Signs `body` sent at `timestamp` with the configured signing secret: the value of
    /// `X-Slack-Signature`.
    pub fn sign(&self, timestamp: i64, body: &str) -> String {
        signature(&self.config().signing_secret, timestamp, body)
    }

    /// `user_id` clicks the button `action_id` of message `ts` in `channel` (as that user
    /// sees it): a `block_actions` payload goes to the app. Errors when there is no such
    /// user, message or button; the app's answer (or its absence) is in the [`Interaction`].
    pub async fn click(
        &self,
        user_id: &str,
        channel: &str,
        ts: &str,
        action_id: &str,
    ) -> Result<Interaction, String> {
        let user = self
            .user(user_id)
            .ok_or_else(|| format!("no Slack user {user_id}"))?;
        let (payload, trigger_id) = {
            let mut state = self.state();
            let message: SlackMessage = state
                .messages
                .iter()
                .find(|m| m.channel == channel && m.ts == ts && m.visible_to(&user.id))
                .cloned()
                .ok_or_else(|| format!("no message {channel}/{ts} shown to {user_id}"))?;
            let (button, block_id) = find_button(&message.blocks, action_id)
                .ok_or_else(|| format!("no button {action_id:?} in message {ts}"))?;
            let trigger_id = issue_trigger(&mut state, &user.id);
            let response_id = random_hex(24);
            state.response_urls.insert(
                response_id.clone(),
                ResponseTarget {
                    user: user.id.clone(),
                    channel: channel.to_owned(),
                    message_ts: ts.to_owned(),
                },
            );
            state.response_order.push_back(response_id.clone());
            if state.response_order.len() > KEEP {
                if let Some(old) = state.response_order.pop_front() {
                    state.response_urls.remove(&old);
                }
            }
            let mut action = json!({
                "action_id": action_id,
                "block_id": block_id,
                "text": { "type": "plain_text", "text": button["text"]["text"], "emoji": true },
                "type": "button",
                "action_ts": action_ts(),
            });
            for field in ["value", "style", "url"] {
                if let Some(v) = button.get(field) {
                    action[field] = v.clone();
                }
            }
            let ephemeral = message.ephemeral_for.is_some();
            let mut payload = json!({
                "type": "block_actions",
                "user": user_json(&user),
                "api_app_id": APP_ID,
                "token": VERIFICATION_TOKEN,
                "container": {
                    "type": "message",
                    "message_ts": ts,
                    "channel_id": channel,
                    "is_ephemeral": ephemeral,
                },
                "trigger_id": trigger_id,
                "team": { "id": TEAM_ID, "domain": TEAM_DOMAIN },
                "enterprise": null,
                "is_enterprise_install": false,
                "channel": {
                    "id": channel,
                    "name": if channel.starts_with('D') { "directmessage" } else { channel },
                },
                "state": { "values": {} },
                "response_url": format!("{}/__slack/response/{response_id}", state.base_url),
                "actions": [action],
            });
            // Slack leaves the message out for ephemeral messages.
            if !ephemeral {
                payload["message"] = json!({
                    "type": "message",
                    "subtype": "bot_message",
                    "user": BOT_USER_ID,
                    "ts": ts,
                    "bot_id": BOT_ID,
                    "app_id": APP_ID,
                    "team": TEAM_ID,
                    "text": message.text,
                    "blocks": message.blocks,
                });
            }
            (payload, trigger_id)
        };
        Ok(self
            .deliver("block_actions", &user.id, trigger_id, None, &payload)
            .await)
    }

    /// `user_id` submits their open modal `view_id` with `values` (`block_id` → `action_id`
    /// → text) for its `plain_text_input`s: a `view_submission` payload goes to the app. The
    /// app's `{"response_action":"errors"}` keeps the view open with those errors; an empty 200
    /// answer or `clear` closes it; `update` replaces it; `push` opens another on top. Like
    /// Slack's client, a required input left empty (or outside its length limits) is not sent:
    /// the view shows the error and this returns `Err`.
    pub async fn submit_view(
        &self,
        user_id: &str,
        view_id: &str,
        values: BTreeMap<String, BTreeMap<String, String>>,
    ) -> Result<Interaction, String> {
        let user = self
            .user(user_id)
            .ok_or_else(|| format!("no Slack user {user_id}"))?;
        let (payload, trigger_id) = {
            let mut state = self.state();
            let open = state
                .views
                .iter_mut()
                .find(|v| v.user == user.id && v.id == view_id)
                .ok_or_else(|| format!("no view {view_id} open for {user_id}"))?;
            let (state_values, errors) = input_values(&open.view, &values)?;
            if !errors.is_empty() {
                open.errors = errors;
                return Err("the form has errors; nothing was sent".into());
            }
            let mut view = open.view.clone();
            view["state"] = json!({ "values": state_values });
            let trigger_id = issue_trigger(&mut state, &user.id);
            let payload = json!({
                "type": "view_submission",
                "team": { "id": TEAM_ID, "domain": TEAM_DOMAIN },
                "user": user_json(&user),
                "api_app_id": APP_ID,
                "token": VERIFICATION_TOKEN,
                "trigger_id": trigger_id,
                "view": view,
                "response_urls": [],
                "is_enterprise_install": false,
                "enterprise": null,
            });
            (payload, trigger_id)
        };
        let interaction = self
            .deliver(
                "view_submission",
                &user.id,
                trigger_id,
                Some(view_id.to_owned()),
                &payload,
            )
            .await;
        if interaction.status == Some(200) {
            self.apply_view_answer(&user.id, view_id, &interaction.response_body);
        }
        Ok(interaction)
    }

    /// What the app's 200 answer to a submission does to the view.
    fn apply_view_answer(&self, user: &str, view_id: &str, answer: &str) {
        let answer: Value = if answer.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(answer).unwrap_or(Value::Null)
        };
        let mut state = self.state();
        match answer["response_action"].as_str() {
            Some("errors") => {
                if let Some(v) = state
                    .views
                    .iter_mut()
                    .find(|v| v.user == user && v.id == view_id)
                {
                    v.errors = answer["errors"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(k, m)| (k.clone(), m.as_str().unwrap_or_default().to_owned()))
                        .collect();
                }
            }
            Some("clear") => state.views.retain(|v| v.user != user),
            Some("update") => {
                let replaced = open_view_for(&mut state, user, &answer["view"]);
                state.views.retain(|v| !(v.user == user && v.id == view_id));
                // The update keeps the view's id.
                if let Some(v) = state.views.iter_mut().find(|v| v.id == replaced.id) {
                    v.id = view_id.to_owned();
                    v.view["id"] = json!(view_id);
                    v.view["root_view_id"] = json!(view_id);
                }
            }
            Some("push") => {
                open_view_for(&mut state, user, &answer["view"]);
            }
            _ => state.views.retain(|v| !(v.user == user && v.id == view_id)),
        }
    }

    /// Signs, posts and records one interaction.
    async fn deliver(
        &self,
        kind: &str,
        user: &str,
        trigger_id: String,
        view_id: Option<String>,
        payload: &Value,
    ) -> Interaction {
        let config = self.config();
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &payload.to_string())
            .finish();
        let timestamp = now_ms() / 1000;
        let headers = InteractionHeaders {
            timestamp: timestamp.to_string(),
            signature: signature(&config.signing_secret, timestamp, &body),
        };
        let started = Instant::now();
        let answer = post(&config.interactions_url, &headers, &body).await;
        let (status, response_body, error) = match answer {
            Ok((status, text)) => (Some(status), text, None),
            Err(e) => (None, String::new(), Some(e)),
        };
        let interaction = Interaction {
            at_ms: now_ms(),
            kind: kind.to_owned(),
            user: user.to_owned(),
            trigger_id,
            view_id,
            url: config.interactions_url,
            headers,
            body,
            status,
            response_body,
            error,
            elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        keep(&mut self.state().interactions, interaction.clone());
        interaction
    }

    /// The app's post to `response_url` `id`: replaces or deletes the original message, or
    /// posts a new one (ephemeral unless `response_type` is `in_channel`).
    pub(super) fn take_response(&self, id: &str, body: Value) -> Result<String, String> {
        let mut state = self.state();
        let target = state
            .response_urls
            .get(id)
            .cloned()
            .ok_or_else(|| "expired_url".to_owned())?;
        let text = body["text"].as_str().map(str::to_owned);
        let mut blocks = body.get("blocks").filter(|b| !b.is_null()).cloned();
        if let Some(b) = &mut blocks {
            super::blocks::validate(b, 50).map_err(|_| "invalid_blocks".to_owned())?;
            super::blocks::fill_ids(b);
        }
        let truthy = |f: &str| body[f].as_bool() == Some(true) || body[f] == "true";
        let original = state
            .messages
            .iter()
            .position(|m| m.channel == target.channel && m.ts == target.message_ts);
        let outcome = if truthy("delete_original") {
            let i = original.ok_or_else(|| "message_not_found".to_owned())?;
            state.messages.remove(i);
            "deleted".to_owned()
        } else if truthy("replace_original") {
            let i = original.ok_or_else(|| "message_not_found".to_owned())?;
            replace_content(&mut state.messages[i], text, blocks);
            "replaced".to_owned()
        } else {
            if text.is_none() && blocks.is_none() {
                return Err("no_text".into());
            }
            let in_channel = body["response_type"] == "in_channel";
            let recipient = state
                .dms
                .get(&target.channel)
                .cloned()
                .or_else(|| original.and_then(|i| state.messages[i].recipient.clone()));
            let ts = Slack::next_ts(&mut state);
            let message = SlackMessage {
                channel: target.channel.clone(),
                ts,
                at_ms: now_ms(),
                recipient,
                text: text.unwrap_or_default(),
                blocks: blocks.unwrap_or_else(|| json!([])),
                updates: 0,
                previous: Vec::new(),
                ephemeral_for: (!in_channel).then(|| target.user.clone()),
                metadata: Value::Null,
            };
            Slack::keep_message(&mut state, message);
            if in_channel {
                "posted"
            } else {
                "posted ephemeral"
            }
            .to_owned()
        };
        keep(
            &mut state.responses,
            ResponsePost {
                at_ms: now_ms(),
                id: id.to_owned(),
                user: target.user,
                channel: target.channel,
                message_ts: target.message_ts,
                body,
                outcome: outcome.clone(),
            },
        );
        Ok(outcome)
    }
}

/// The `state.values` of a submission, and the errors Slack's client would show instead of
/// sending it.
#[allow(clippy::type_complexity)]
fn input_values(
    view: &Value,
    values: &BTreeMap<String, BTreeMap<String, String>>,
) -> Result<(Value, BTreeMap<String, String>), String> {
    let mut out = serde_json::Map::new();
    let mut errors = BTreeMap::new();
    let mut used = 0;
    for block in view["blocks"].as_array().into_iter().flatten() {
        if block["type"] != "input" {
            continue;
        }
        let block_id = block["block_id"].as_str().unwrap_or_default();
        let element = &block["element"];
        let action_id = element["action_id"].as_str().unwrap_or_default();
        let kind = element["type"].as_str().unwrap_or_default();
        let given = values.get(block_id).and_then(|m| m.get(action_id));
        used += usize::from(given.is_some());
        let entry = if kind == "plain_text_input" {
            let text = given.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
            let len = text.as_ref().map_or(0, |s| s.chars().count());
            let min = element["min_length"].as_u64().unwrap_or(0) as usize;
            let max = element["max_length"].as_u64().unwrap_or(3000) as usize;
            let optional = block["optional"].as_bool().unwrap_or(false);
            if text.is_none() && !optional {
                errors.insert(
                    block_id.to_owned(),
                    "Please complete this required field.".into(),
                );
            } else if text.is_some() && len < min {
                errors.insert(
                    block_id.to_owned(),
                    format!("Please enter at least {min} characters."),
                );
            } else if len > max {
                errors.insert(
                    block_id.to_owned(),
                    format!("Please enter no more than {max} characters."),
                );
            }
            json!({ "type": "plain_text_input", "value": text })
        } else if given.is_some() {
            return Err(format!("okta-sim: {kind} inputs are not simulated"));
        } else {
            json!({ "type": kind })
        };
        out.entry(block_id.to_owned())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .map(|m| m.insert(action_id.to_owned(), entry));
    }
    let given: usize = values.values().map(BTreeMap::len).sum();
    if given > used {
        return Err("values name an input the view does not have".into());
    }
    Ok((Value::Object(out), errors))
}

/// Posts an interaction to the app (loopback only; no proxy, no redirects): (status, body).
async fn post(
    url: &str,
    headers: &InteractionHeaders,
    body: &str,
) -> Result<(u16, String), String> {
    if !is_loopback(url) {
        return Err(format!(
            "not sent: the interactions URL {url} is not on this machine (loopback only)"
        ));
    }
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(ANSWER_TIMEOUT)
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    let resp = client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("user-agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
        .header("x-slack-request-timestamp", &headers.timestamp)
        .header("x-slack-signature", &headers.signature)
        .body(body.to_owned())
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                format!("no answer within {} s", ANSWER_TIMEOUT.as_secs())
            } else {
                format!("cannot reach {url}: {e}")
            }
        })?;
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    Ok((status, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_as_slack_documents() {
        // The example in Slack's "Verifying requests from Slack".
        let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        assert_eq!(
            signature("8f742231b10e8888abcd99yyyzzz85a5", 1_531_420_618, body),
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
        );
    }

    #[test]
    fn only_loopback_urls_are_called() {
        assert!(is_loopback("http://127.0.0.1:3000/slack/interactions"));
        assert!(is_loopback("http://localhost:3000/x"));
        assert!(is_loopback("http://[::1]:3000/x"));
        assert!(!is_loopback(
            "https://gatepass.example.com/slack/interactions"
        ));
        assert!(!is_loopback("http://10.0.0.1/x"));
        assert!(!is_loopback("file:///etc/passwd"));
    }

    #[test]
    fn required_inputs_are_checked_before_sending() {
        let view = json!({"blocks": [
            {"type": "input", "block_id": "reason", "element": {"type": "plain_text_input", "action_id": "text", "max_length": 5}},
            {"type": "input", "block_id": "note", "optional": true, "element": {"type": "plain_text_input", "action_id": "text"}}
        ]});
        let mut values = BTreeMap::new();
        let (state, errors) = input_values(&view, &values).unwrap();
        assert_eq!(errors.len(), 1);
        assert_eq!(state["note"]["text"]["value"], Value::Null);
        values.insert(
            "reason".to_owned(),
            BTreeMap::from([("text".to_owned(), "too long".to_owned())]),
        );
        let (_, errors) = input_values(&view, &values).unwrap();
        assert!(errors["reason"].contains("no more than 5"));
        values.insert(
            "reason".to_owned(),
            BTreeMap::from([("text".to_owned(), "ok".to_owned())]),
        );
        let (state, errors) = input_values(&view, &values).unwrap();
        assert!(errors.is_empty());
        assert_eq!(
            state["reason"]["text"],
            json!({"type": "plain_text_input", "value": "ok"})
        );
        values.insert(
            "other".to_owned(),
            BTreeMap::from([("x".to_owned(), "1".to_owned())]),
        );
        assert!(input_values(&view, &values).is_err());
    }
}
