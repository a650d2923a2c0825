//! Notifications: the webhook endpoints admins add and the delivery log.

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// A webhook endpoint: where Gatepass posts the events it receives, signed with the secret
/// its reference names (the secret itself is never stored or shown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub secret_ref: String,
    pub enabled: bool,
    /// The events it receives: audit action names, or `*` for every one.
    pub events: Vec<String>,
    pub created_at: Timestamp,
    pub created_by: String,
}

/// Admin › Notifications: the endpoints and the events one may receive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationsOverview {
    pub endpoints: Vec<WebhookEndpoint>,
    /// Every event name an endpoint may receive (`*` aside).
    pub events: Vec<String>,
    /// Failed deliveries (shown until retried).
    pub failed: i64,
    /// How email goes out (server, security, sender), when the configuration turns it on.
    pub email: Option<String>,
    /// Which kinds of notice go out by email and in Slack at all.
    pub switches: Vec<EmailKind>,
}

/// One delivery of one event to one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: i64,
    /// The audit event it delivers.
    pub event_seq: i64,
    pub event: String,
    /// `webhook` or `email`.
    pub channel: String,
    /// The endpoint's name (or its id when it was deleted), or the person's name.
    pub recipient: String,
    /// `pending`, `in_flight`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    /// When it is tried next (pending).
    pub next_attempt_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
}

/// One page of the delivery log, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryPage {
    pub deliveries: Vec<Delivery>,
    /// Pass as `before` for the next (older) page.
    pub next_before: Option<i64>,
}

/// One kind of email a person may turn off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailKind {
    /// `to_decide`, `decisions`, `access` or `reminders`.
    pub kind: String,
    pub label: String,
    pub description: String,
    /// Whether the person gets it by email.
    pub on: bool,
    /// Whether the person gets it in Slack.
    pub slack: bool,
}

/// Settings › Notifications: what email a person gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyNotifications {
    /// Whether this server sends email at all.
    pub email_configured: bool,
    /// Where it goes (the directory's address for the person).
    pub address: String,
    /// Whether this Gatepass posts to Slack.
    pub slack_configured: bool,
    pub kinds: Vec<EmailKind>,
}

/// Admin › Notifications › Slack: the Slack app's settings (secret references, never values).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlackSettings {
    /// Whether an admin saved settings.
    pub configured: bool,
    pub bot_token_ref: String,
    pub signing_secret_ref: String,
    /// A channel id (`C…`) every new request is posted to, unless its policy names another;
    /// empty: none.
    pub default_channel: String,
    pub enabled: bool,
    pub updated_at: Option<Timestamp>,
    pub updated_by: String,
    /// Where the Slack app's Interactivity Request URL must point.
    pub interactivity_url: String,
}
