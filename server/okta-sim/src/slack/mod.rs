//! A Slack stand-in next to the simulated Okta org: the subset of Slack's Web API that Gatepass
//! calls (`/slack/api/{method}`: `auth.test`, `users.lookupByEmail`, `conversations.open`,
//! `chat.postMessage`, `chat.update`, `chat.postEphemeral`, `views.open`) with Slack's shapes,
//! errors and rate-limit answers, and the other direction: people clicking buttons and
//! submitting modals on the `/__slack` page, sent to Gatepass's interactions URL as signed
//! `block_actions` / `view_submission` payloads, exactly as Slack sends them.
//!
//! Every user of the simulated org with an email who is not DEPROVISIONED is a Slack user (one
//! per email, as Slack keeps emails unique), plus Slack-only users added through
//! [`Slack::add_user`]. Control endpoints under `/__slack/` (no auth, loopback only) steer it:
//! configuration, injected faults, extra users, and JSON views of what it holds. It keeps the
//! latest [`KEEP`] messages, interactions and `response_url` posts in memory.
//!
//! Written from Slack's documentation, not from Gatepass's client, so a misreading on either
//! side shows up as a disagreement in the tests; Slack's official Python SDK checks it in
//! `server/tests/slack_sdk`.

mod blocks;
mod interaction;
mod page;
mod web;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::time::now_ms;
use super::Sim;

pub use self::interaction::{Interaction, InteractionHeaders, ResponsePost};

/// Messages, interactions and `response_url` posts kept (each).
pub const KEEP: usize = 10_000;
/// The simulated workspace.
pub const TEAM_ID: &str = "T0GATEPASS";
/// Its domain (`<domain>.slack.com` on Slack).
pub const TEAM_DOMAIN: &str = "gatepass-sim";
/// Its name, as `auth.test` reports it.
pub const TEAM_NAME: &str = "Gatepass (simulated Slack)";
/// The Slack app Gatepass is installed as.
pub const APP_ID: &str = "A0GATEPASS";
/// The app's bot.
pub const BOT_ID: &str = "B0GATEPASS";
/// The bot's user.
pub const BOT_USER_ID: &str = "U0GATEPASSBOT";
/// The bot user's name.
pub const BOT_NAME: &str = "gatepass";
/// The legacy verification token sent in every payload's `token` (deprecated by Slack in
/// favour of signatures; apps should ignore it).
pub const VERIFICATION_TOKEN: &str = "gatepass-sim-verification-token";
/// The demo's bot token.
pub const DEFAULT_BOT_TOKEN: &str = "xoxb-gatepass-demo";
/// The demo's signing secret.
pub const DEFAULT_SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
/// How long a `trigger_id` can open a view (Slack: 3 s).
pub const DEFAULT_TRIGGER_TTL_SECS: u64 = 3;

/// How the stand-in is set up; settable at runtime ([`Slack::set_config`],
/// `POST /__slack/config` with any subset of the camelCase fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlackConfig {
    /// The bot token the Web API accepts (`Authorization: Bearer …`).
    pub bot_token: String,
    /// The app's signing secret: the key of `X-Slack-Signature`.
    pub signing_secret: String,
    /// Where interactions are sent (the app's "Interactivity Request URL"); loopback only.
    pub interactions_url: String,
    /// Latency added to every Web API call.
    pub latency_ms: u64,
    /// How long a `trigger_id` can open a view.
    pub trigger_ttl_secs: u64,
}

impl SlackConfig {
    /// The defaults, with interactions sent to `{gatepass_url}/slack/interactions`.
    pub fn for_gatepass(gatepass_url: &str) -> Self {
        SlackConfig {
            bot_token: DEFAULT_BOT_TOKEN.into(),
            signing_secret: DEFAULT_SIGNING_SECRET.into(),
            interactions_url: format!("{}/slack/interactions", gatepass_url.trim_end_matches('/')),
            latency_ms: 0,
            trigger_ttl_secs: DEFAULT_TRIGGER_TTL_SECS,
        }
    }
}

impl Default for SlackConfig {
    fn default() -> Self {
        Self::for_gatepass("http://127.0.0.1:3000")
    }
}

/// What an injected fault answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SlackFault {
    /// HTTP 429, `Retry-After: N`, `{"ok":false,"error":"ratelimited"}`.
    RateLimited { retry_after_secs: u64 },
    /// HTTP 200 `{"ok":false,"error":…}`.
    Error(String),
}

/// A fault waiting for the next calls ([`Slack::fail_next`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingFault {
    /// The Web API method it applies to; `None` for any.
    pub method: Option<String>,
    /// Calls it still answers.
    pub remaining: u32,
    pub kind: SlackFault,
}

/// A Slack user: one per email of the simulated org, or added with [`Slack::add_user`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SlackUser {
    pub id: String,
    pub email: String,
    /// The username (`name`): the email's local part.
    pub name: String,
    pub real_name: String,
    pub display_name: String,
    pub first_name: String,
    pub last_name: String,
    /// From the simulated Okta org (else added with [`Slack::add_user`]).
    pub okta: bool,
}

impl SlackUser {
    /// The user as `users.lookupByEmail` shows it.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "deleted": false,
            "real_name": self.real_name,
            "tz": "Etc/UTC",
            "tz_label": "Coordinated Universal Time",
            "tz_offset": 0,
            "is_admin": false,
            "is_owner": false,
            "is_bot": false,
            "is_app_user": false,
            "updated": 0,
            "profile": {
                "email": self.email,
                "real_name": self.real_name,
                "real_name_normalized": self.real_name,
                "display_name": self.display_name,
                "display_name_normalized": self.display_name,
                "first_name": self.first_name,
                "last_name": self.last_name,
                "team": TEAM_ID,
            },
        })
    }
}

/// An earlier version of an updated message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageVersion {
    pub text: String,
    pub blocks: Value,
    /// When it was replaced.
    pub replaced_at_ms: i64,
}

/// A message the app posted.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SlackMessage {
    /// `D…` (a direct message with the app) or `C…` (a public channel).
    pub channel: String,
    pub ts: String,
    pub at_ms: i64,
    /// The Slack user a `D…` channel belongs to.
    pub recipient: Option<String>,
    pub text: String,
    /// The Block Kit blocks as shown now (`[]` when none).
    pub blocks: Value,
    /// How many times `chat.update` (or a `response_url` post) changed it.
    pub updates: u32,
    /// The versions it replaced, oldest first.
    pub previous: Vec<MessageVersion>,
    /// Ephemeral (`chat.postEphemeral`): only this user sees it.
    pub ephemeral_for: Option<String>,
    /// The message metadata the app attached (`metadata`: `event_type`, `event_payload`), or
    /// null.
    pub metadata: Value,
}

impl SlackMessage {
    /// Whether `user` sees this message.
    pub fn visible_to(&self, user: &str) -> bool {
        match &self.ephemeral_for {
            Some(u) => u == user,
            None => self.recipient.as_deref().is_none_or(|r| r == user),
        }
    }
}

/// A modal open in someone's Slack.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenView {
    /// `V…`.
    pub id: String,
    pub user: String,
    pub callback_id: String,
    pub private_metadata: String,
    /// The view as `views.open` answered it.
    pub view: Value,
    /// Errors the app answered a submission with, by `block_id`.
    pub errors: BTreeMap<String, String>,
}

#[derive(Debug)]
struct Trigger {
    user: String,
    issued_ms: i64,
    used: bool,
}

/// Where a `response_url` posts to.
#[derive(Debug, Clone)]
struct ResponseTarget {
    user: String,
    channel: String,
    message_ts: String,
}

#[derive(Debug, Default)]
struct State {
    config: SlackConfig,
    base_url: String,
    /// Slack-only users by id.
    extras: BTreeMap<String, SlackUser>,
    /// Known ids of the org's users → lowercased email.
    ids: HashMap<String, String>,
    /// Opened DM channels → user id.
    dms: HashMap<String, String>,
    messages: VecDeque<SlackMessage>,
    last_ts_us: i64,
    triggers: HashMap<String, Trigger>,
    trigger_order: VecDeque<String>,
    views: Vec<OpenView>,
    next_view: u64,
    interactions: VecDeque<Interaction>,
    responses: VecDeque<ResponsePost>,
    response_urls: HashMap<String, ResponseTarget>,
    response_order: VecDeque<String>,
    faults: Vec<PendingFault>,
    calls: HashMap<String, u64>,
}

fn keep<T>(list: &mut VecDeque<T>, item: T) {
    if list.len() == KEEP {
        list.pop_front();
    }
    list.push_back(item);
}

/// The Slack stand-in's state, one per [`Sim`].
#[derive(Debug)]
pub struct Slack {
    sim: Weak<Sim>,
    state: Mutex<State>,
}

/// The Slack id of the user with `email`: `U` and the first 10 uppercase hex digits of the
/// SHA-256 of the lowercased email.
pub fn user_id_for(email: &str) -> String {
    let digest = Sha256::digest(email.trim().to_lowercase().as_bytes());
    let hex: String = digest[..5].iter().map(|b| format!("{b:02X}")).collect();
    format!("U{hex}")
}

/// The id of the direct-message channel between the app and `user_id` (stable).
pub fn dm_channel_for(user_id: &str) -> String {
    let digest = Sha256::digest(format!("im:{user_id}").as_bytes());
    let hex: String = digest[..5].iter().map(|b| format!("{b:02X}")).collect();
    format!("D{hex}")
}

fn org_user(u: &super::store::User) -> SlackUser {
    let email = u.email.trim().to_owned();
    SlackUser {
        id: user_id_for(&email),
        name: email.split('@').next().unwrap_or_default().to_lowercase(),
        real_name: u.display_name(),
        display_name: u.display_name(),
        first_name: u.first_name.clone(),
        last_name: u.last_name.clone(),
        email,
        okta: true,
    }
}

fn is_slack_user(u: &super::store::User) -> bool {
    !u.email.trim().is_empty() && u.status != "DEPROVISIONED"
}

/// `<secs>.<6 digits>`.
fn format_ts(us: i64) -> String {
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

impl Slack {
    pub(crate) fn new(sim: Weak<Sim>, config: SlackConfig) -> Self {
        Slack {
            sim,
            state: Mutex::new(State {
                config,
                base_url: "http://127.0.0.1".into(),
                ..State::default()
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("slack lock")
    }

    /// The configuration in force.
    pub fn config(&self) -> SlackConfig {
        self.state().config.clone()
    }

    /// Replaces the configuration.
    pub fn set_config(&self, config: SlackConfig) {
        self.state().config = config;
    }

    /// Changes part of the configuration; returns the result.
    pub fn update_config(&self, change: impl FnOnce(&mut SlackConfig)) -> SlackConfig {
        let mut state = self.state();
        change(&mut state.config);
        state.config.clone()
    }

    /// The simulator's URL (`http://127.0.0.1:PORT`), once it serves.
    pub fn base_url(&self) -> String {
        self.state().base_url.clone()
    }

    pub(crate) fn set_base_url(&self, url: String) {
        self.state().base_url = url;
    }

    /// Adds a Slack-only user (or finds the one with this email); returns the id.
    pub fn add_user(&self, email: &str, name: &str) -> String {
        if let Some(u) = self.user_by_email(email) {
            return u.id;
        }
        let email = email.trim().to_owned();
        let name = name.trim();
        let (first, last) = name.split_once(' ').unwrap_or((name, ""));
        let user = SlackUser {
            id: user_id_for(&email),
            name: email.split('@').next().unwrap_or_default().to_lowercase(),
            real_name: name.to_owned(),
            display_name: name.to_owned(),
            first_name: first.to_owned(),
            last_name: last.to_owned(),
            email,
            okta: false,
        };
        let id = user.id.clone();
        self.state().extras.insert(id.clone(), user);
        id
    }

    /// Every Slack user: the org's (one per email, in the org's order), then the extras.
    pub fn users(&self) -> Vec<SlackUser> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        if let Some(sim) = self.sim.upgrade() {
            let org = sim.org.read().expect("org lock");
            for u in org.users.iter().filter(|u| is_slack_user(u)) {
                if seen.insert(u.email.trim().to_lowercase()) {
                    out.push(org_user(u));
                }
            }
        }
        let mut state = self.state();
        for u in &out {
            state.ids.insert(u.id.clone(), u.email.to_lowercase());
        }
        for u in state.extras.values() {
            if seen.insert(u.email.to_lowercase()) {
                out.push(u.clone());
            }
        }
        out
    }

    /// The Slack user with `email` (case-insensitive).
    pub fn user_by_email(&self, email: &str) -> Option<SlackUser> {
        let email = email.trim();
        if email.is_empty() {
            return None;
        }
        let from_org = self.sim.upgrade().and_then(|sim| {
            let org = sim.org.read().expect("org lock");
            org.users
                .iter()
                .find(|u| is_slack_user(u) && u.email.trim().eq_ignore_ascii_case(email))
                .map(org_user)
        });
        let mut state = self.state();
        match from_org {
            Some(u) => {
                state.ids.insert(u.id.clone(), u.email.to_lowercase());
                Some(u)
            }
            None => state
                .extras
                .values()
                .find(|u| u.email.eq_ignore_ascii_case(email))
                .cloned(),
        }
    }

    /// The Slack user with id `id`.
    pub fn user(&self, id: &str) -> Option<SlackUser> {
        let (known, extra) = {
            let state = self.state();
            (state.ids.get(id).cloned(), state.extras.get(id).cloned())
        };
        if let Some(email) = known {
            if let Some(u) = self.user_by_email(&email).filter(|u| u.id == id) {
                return Some(u);
            }
        }
        if let Some(u) = self.users().into_iter().find(|u| u.id == id) {
            return Some(u);
        }
        extra
    }

    /// The id of the Slack user with `email`.
    pub fn user_id_for_email(&self, email: &str) -> Option<String> {
        self.user_by_email(email).map(|u| u.id)
    }

    /// Makes the next `count` Web API calls (of `method`, or any with `None`) fail with `kind`.
    pub fn fail_next(&self, method: Option<String>, count: u32, kind: SlackFault) {
        if count > 0 {
            self.state().faults.push(PendingFault {
                method,
                remaining: count,
                kind,
            });
        }
    }

    /// Drops every pending fault.
    pub fn clear_faults(&self) {
        self.state().faults.clear();
    }

    /// The faults still waiting.
    pub fn faults(&self) -> Vec<PendingFault> {
        self.state().faults.clone()
    }

    /// Takes one fault for a call of `method`, if any waits.
    fn take_fault(&self, method: &str) -> Option<SlackFault> {
        let mut state = self.state();
        let i = state
            .faults
            .iter()
            .position(|f| f.method.as_deref().is_none_or(|m| m == method))?;
        let fault = &mut state.faults[i];
        fault.remaining -= 1;
        let kind = fault.kind.clone();
        if fault.remaining == 0 {
            state.faults.remove(i);
        }
        Some(kind)
    }

    fn count_call(&self, method: &str) {
        *self.state().calls.entry(method.to_owned()).or_default() += 1;
    }

    /// Web API calls of `method` so far, including those that failed.
    pub fn calls(&self, method: &str) -> u64 {
        self.state().calls.get(method).copied().unwrap_or(0)
    }

    /// Web API calls so far by method, including those that failed.
    pub fn all_calls(&self) -> BTreeMap<String, u64> {
        self.state()
            .calls
            .iter()
            .map(|(m, n)| (m.clone(), *n))
            .collect()
    }

    /// Every message kept, oldest first.
    pub fn messages(&self) -> Vec<SlackMessage> {
        self.state().messages.iter().cloned().collect()
    }

    /// The messages `user` sees, oldest first.
    pub fn messages_for(&self, user: &str) -> Vec<SlackMessage> {
        self.state()
            .messages
            .iter()
            .filter(|m| m.visible_to(user))
            .cloned()
            .collect()
    }

    /// The modals open for `user`, oldest first.
    pub fn open_views(&self, user: &str) -> Vec<OpenView> {
        self.state()
            .views
            .iter()
            .filter(|v| v.user == user)
            .cloned()
            .collect()
    }

    /// Closes one of `user`'s modals, as the user's Cancel does; false if it was not open.
    pub fn close_view(&self, user: &str, view_id: &str) -> bool {
        let mut state = self.state();
        let before = state.views.len();
        state.views.retain(|v| !(v.user == user && v.id == view_id));
        state.views.len() != before
    }

    /// Every interaction sent to the app, oldest first.
    pub fn interactions(&self) -> Vec<Interaction> {
        self.state().interactions.iter().cloned().collect()
    }

    /// Every post the app made to a `response_url`, oldest first.
    pub fn responses(&self) -> Vec<ResponsePost> {
        self.state().responses.iter().cloned().collect()
    }

    /// Forgets messages, views, interactions, responses, triggers, faults and call counts
    /// (keeps the configuration and the added users).
    pub fn reset(&self) {
        let mut state = self.state();
        let (config, base_url, extras) = (
            state.config.clone(),
            state.base_url.clone(),
            std::mem::take(&mut state.extras),
        );
        *state = State {
            config,
            base_url,
            extras,
            ..State::default()
        };
    }

    /// A new message timestamp: `<secs>.<6 digits>`, unique and increasing.
    fn next_ts(state: &mut State) -> String {
        let us = (now_ms() * 1000).max(state.last_ts_us + 1);
        state.last_ts_us = us;
        format_ts(us)
    }

    fn keep_message(state: &mut State, message: SlackMessage) {
        keep(&mut state.messages, message);
    }
}

/// Routes of the Web API (`/slack/api/`) and of the control API and page (`/__slack`).
pub fn routes() -> Router<Arc<Sim>> {
    Router::new().merge(web::routes()).merge(page::routes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_from_the_lowercased_email() {
        let id = user_id_for("Ada@Example.com");
        assert_eq!(id, user_id_for(" ada@example.com"));
        assert_eq!(id.len(), 11);
        assert!(id.starts_with('U'));
        assert!(id[1..]
            .chars()
            .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c)));
        // sha256("ada@example.com") starts with these bytes.
        let digest = Sha256::digest(b"ada@example.com");
        assert_eq!(
            &id[1..],
            &digest[..5]
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect::<String>()
        );
        assert_ne!(dm_channel_for(&id), dm_channel_for(&user_id_for("bob@x")));
        assert!(dm_channel_for(&id).starts_with('D'));
    }

    #[test]
    fn timestamps_have_six_digits() {
        assert_eq!(format_ts(1_700_000_000_000_042), "1700000000.000042");
        let mut state = State::default();
        let a = Slack::next_ts(&mut state);
        let b = Slack::next_ts(&mut state);
        assert!(b > a, "{b} after {a}");
    }
}
