//! Notifications to other systems: webhook endpoints (*Admin › Notifications*), the delivery
//! log, and how one delivery is made — a JSON payload signed by the Standard Webhooks scheme
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`).
//!
//! Deliveries are queued with their event (see `db::notifications`) and carried out by the
//! notifier job; delivery outcomes go to the delivery log, not the audit log, so an endpoint
//! that receives every event does not feed on its own deliveries.

use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use url::Url;

use crate::error::AppError;
use crate::model::{
    AuditAction, AuditEvent, Delivery, DeliveryPage, NotificationsOverview, Timestamp,
    WebhookEndpoint,
};
use crate::ssr::auth::Admin;
use crate::ssr::core::Core;
use crate::ssr::db::notifications::{self as store, DeliveryRow, EndpointRow};
use crate::ssr::db::{audit, DbError};
use crate::ssr::delivery::DeliveryError;
use crate::ssr::secrets::{SecretRef, SecretSource};

/// The version of the payload's schema (`version` in every payload).
pub const PAYLOAD_VERSION: u32 = 1;
/// Deliveries per page of the delivery log.
pub const DELIVERY_PAGE: i64 = 50;
/// The most endpoints Gatepass keeps.
pub const MAX_ENDPOINTS: usize = 50;
/// The prefix of a Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// How long one delivery may take (connecting included).
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// What an admin types to add an endpoint.
#[derive(Debug, Clone, Default)]
pub struct WebhookInput {
    pub name: String,
    pub url: String,
    pub secret_ref: String,
    /// Event names, or `*`.
    pub events: Vec<String>,
}

/// A webhook signing key: the bytes a `whsec_…` secret encodes.
pub struct WebhookKey(Vec<u8>);

impl std::fmt::Debug for WebhookKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookKey(…)")
    }
}

impl WebhookKey {
    /// The key a `whsec_<base64>` secret holds (24 to 64 bytes); an error that never repeats
    /// the value.
    pub fn parse(secret: &SecretString) -> Result<WebhookKey, String> {
        let text = secret.expose_secret().trim();
        let encoded = text.strip_prefix(SECRET_PREFIX).ok_or_else(|| {
            format!("the secret is not a webhook secret: it must start with {SECRET_PREFIX}")
        })?;
        let key = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| format!("the secret after {SECRET_PREFIX} is not base64"))?;
        if !(24..=64).contains(&key.len()) {
            return Err(format!(
                "the secret must hold 24 to 64 bytes (it holds {})",
                key.len()
            ));
        }
        Ok(WebhookKey(key))
    }

    /// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`: the `webhook-signature` value.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        let signature = mac.finalize().into_bytes();
        format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(signature)
        )
    }
}

/// A new random webhook secret (`whsec_` and 32 random bytes in base64), shown once to the
/// admin to keep in their secret store; Gatepass does not keep it.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!(
        "{SECRET_PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// Where a webhook may go: `https://`, or `http://` to this machine (loopback); no user name
/// or password in it, no fragment.
pub fn parse_endpoint_url(text: &str) -> Result<Url, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("enter the endpoint's URL".into());
    }
    if text.len() > 2000 {
        return Err("at most 2,000 characters".into());
    }
    let url = Url::parse(text).map_err(|e| format!("not a URL ({e})"))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err("use https:// (http:// only to this machine, 127.0.0.1)".into()),
        other => return Err(format!("use https:// (not {other}://)")),
    }
    if url.host().is_none() {
        return Err("the URL names no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "no user name or password in the URL: the signature authenticates Gatepass".into(),
        );
    }
    if url.fragment().is_some() {
        return Err("no #fragment in the URL".into());
    }
    Ok(url)
}

/// The event names an endpoint may receive.
pub fn event_names() -> Vec<String> {
    AuditAction::ALL
        .iter()
        .map(|a| a.as_str().to_owned())
        .collect()
}

/// Checks the chosen events: known names or `*`, at least one, each once.
pub fn parse_events(events: &[String]) -> Result<Vec<String>, String> {
    let known = event_names();
    if events.len() > 4 * known.len() {
        return Err("too many events".into());
    }
    let mut chosen: Vec<String> = Vec::new();
    for event in events.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        if event != "*" && !known.iter().any(|k| k == event) {
            return Err(format!("no event is called `{event}`"));
        }
        if !chosen.iter().any(|c| c == event) {
            chosen.push(event.to_owned());
        }
    }
    if chosen.is_empty() {
        return Err("choose at least one event (or every event)".into());
    }
    if chosen.iter().any(|c| c == "*") {
        chosen = vec!["*".to_owned()];
    }
    chosen.sort();
    Ok(chosen)
}

/// The JSON body of a delivery of `event` (documented in README, "Webhooks").
pub fn payload(event: &AuditEvent) -> serde_json::Value {
    let details: serde_json::Value =
        serde_json::from_str(&event.details).unwrap_or(serde_json::Value::Null);
    serde_json::json!({
        "type": event.action,
        "timestamp": event.at.to_string(),
        "version": PAYLOAD_VERSION,
        "data": {
            "event_seq": event.seq,
            "actor": event.actor,
            "subject": event.subject,
            "details": details,
        }
    })
}

/// The `webhook-id` of a delivery of event `seq` (the same on every try: receivers drop
/// repeats by it).
pub fn message_id(seq: i64) -> String {
    format!("evt_{seq}")
}

/// The HTTP client deliveries use: no redirects (a signed request goes where it was sent, or
/// nowhere), no proxy from the environment, bounded time.
fn http() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(DELIVERY_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("Gatepass-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the webhook HTTP client builds")
    })
}

/// Posts `body` (event message `id`) to `url`, signed with `key` at `now`.
pub async fn post_signed(
    url: &str,
    key: &WebhookKey,
    id: &str,
    now: Timestamp,
    body: &[u8],
) -> Result<u16, DeliveryError> {
    let timestamp = now.millis().div_euclid(1000);
    let response = http()
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", key.sign(id, timestamp, body))
        .body(body.to_vec())
        .send()
        .await
        .map_err(|e| DeliveryError {
            message: describe_send_error(&e),
            retry: true,
            retry_after: None,
        })?;
    let status = response.status();
    if status.is_success() {
        return Ok(status.as_u16());
    }
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let text = response.text().await.unwrap_or_default();
    let excerpt: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
    Err(DeliveryError {
        message: if excerpt.is_empty() {
            format!("the endpoint answered HTTP {}", status.as_u16())
        } else {
            format!("the endpoint answered HTTP {}: {excerpt}", status.as_u16())
        },
        // Redirects are not followed: a moved endpoint must be changed here.
        retry: !status.is_redirection(),
        retry_after,
    })
}

fn describe_send_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!("no answer within {} s", DELIVERY_TIMEOUT.as_secs())
    } else if e.is_connect() {
        "could not connect to the endpoint".to_owned()
    } else {
        "the request to the endpoint failed".to_owned()
    }
}

/// Admin › Notifications.
pub struct NotificationsService<'a> {
    pub core: &'a Core,
}

fn endpoint_view(row: EndpointRow) -> WebhookEndpoint {
    WebhookEndpoint {
        id: row.id,
        name: row.name,
        url: row.url,
        secret_ref: row.secret_ref,
        enabled: row.enabled,
        events: row.events,
        created_at: row.created_at,
        created_by: row.created_by,
    }
}

fn delivery_view(row: DeliveryRow) -> Delivery {
    let recipient = row
        .target_name
        .clone()
        .unwrap_or_else(|| match row.channel.as_str() {
            "webhook" => format!("endpoint {} (deleted)", row.target),
            _ => row.target.clone(),
        });
    Delivery {
        id: row.id,
        event_seq: row.event_seq,
        event: row.event,
        channel: row.channel,
        recipient,
        state: row.state,
        attempts: row.attempts,
        last_error: row.last_error,
        created_at: row.created_at,
        next_attempt_at: row.next_attempt_at,
        delivered_at: row.delivered_at,
    }
}

impl NotificationsService<'_> {
    /// The endpoints, the events they may receive, and how many deliveries failed.
    pub async fn overview(&self, _admin: &Admin) -> Result<NotificationsOverview, AppError> {
        let db = &self.core.db;
        let failed = store::counts(db)
            .await?
            .into_iter()
            .filter(|(_, state, _)| state == "failed")
            .map(|(_, _, n)| n)
            .sum();
        Ok(NotificationsOverview {
            endpoints: store::list_endpoints(db)
                .await?
                .into_iter()
                .map(endpoint_view)
                .collect(),
            events: event_names(),
            failed,
            email: self.core.email.as_ref().map(|e| {
                let security = match e.security {
                    crate::ssr::mail::SmtpSecurity::StartTls => "STARTTLS",
                    crate::ssr::mail::SmtpSecurity::Tls => "TLS",
                    crate::ssr::mail::SmtpSecurity::None => "unencrypted, this machine",
                };
                format!("{}:{} ({security}), from {}", e.host, e.port, e.from)
            }),
            switches: kinds_with(&store::switched_off(db).await?),
        })
    }

    /// Sets which kinds of notice go out by email and in Slack at all (`email_on`, `slack_on`:
    /// the kinds kept on), audited. People's own choices apply on top; admin alerts always go.
    pub async fn save_switches(
        &self,
        admin: &Admin,
        email_on: &[String],
        slack_on: &[String],
    ) -> Result<NotificationsOverview, AppError> {
        let (email_off, slack_off) = kinds_off(email_on, slack_on)?;
        let off = by_channel(&email_off, &slack_off);
        let now = self.core.clock.timestamp();
        let mut tx = self.core.db.begin_write().await?;
        store::set_switched_off(&mut tx, &off).await?;
        audit::insert_audit_event(
            &mut tx,
            now,
            &admin.me().login,
            AuditAction::SwitchesSaved,
            "notifications",
            &serde_json::json!({ "email_off": email_off, "slack_off": slack_off }),
        )
        .await?;
        tx.commit().await?;
        self.overview(admin).await
    }

    /// Sends a test email to the admin now (not queued: it changes nothing) and says what the
    /// server answered.
    pub async fn test_email(&self, admin: &Admin) -> Result<String, AppError> {
        let me = crate::ssr::db::directory::find_user(&self.core.db, admin.me().okta_id.as_str())
            .await?
            .filter(|u| !u.email.is_empty())
            .ok_or_else(|| {
                AppError::Conflict("The directory has no email address for you.".into())
            })?;
        let now = self.core.clock.timestamp();
        match crate::ssr::services::email::send_test(self.core, (&me.display_name, &me.email), now)
            .await
        {
            Ok(()) => Ok(format!("Sent a test message to {}.", me.email)),
            Err(e) => Err(AppError::Conflict(format!("Not sent: {}.", e.message))),
        }
    }

    /// Checks a secret reference: allowed by the configuration, readable, a webhook secret.
    async fn key_for(&self, reference: &str) -> Result<WebhookKey, AppError> {
        let secret = read_allowed_secret(self.core, "Secret reference", reference).await?;
        WebhookKey::parse(&secret).map_err(|m| AppError::invalid("Secret reference", m))
    }

    /// Adds an endpoint (audited); its secret must be readable and a webhook secret now.
    pub async fn add_webhook(
        &self,
        admin: &Admin,
        input: WebhookInput,
    ) -> Result<WebhookEndpoint, AppError> {
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::invalid("Name", "1 to 100 characters"));
        }
        let url = parse_endpoint_url(&input.url).map_err(|m| AppError::invalid("URL", m))?;
        let events = parse_events(&input.events).map_err(|m| AppError::invalid("Events", m))?;
        self.key_for(&input.secret_ref).await?;
        let secret_ref = input.secret_ref.trim();
        let db = &self.core.db;
        if store::list_endpoints(db).await?.len() >= MAX_ENDPOINTS {
            return Err(AppError::Conflict(format!(
                "Gatepass keeps at most {MAX_ENDPOINTS} webhook endpoints: delete one first."
            )));
        }
        let now = self.core.clock.timestamp();
        let actor = &admin.me().login;
        let mut tx = db.begin_write().await?;
        let id =
            store::insert_endpoint(&mut tx, name, url.as_str(), secret_ref, &events, now, actor)
                .await?
                .ok_or_else(|| AppError::invalid("Name", "another endpoint has this name"))?;
        audit::insert_audit_event(
            &mut tx,
            now,
            actor,
            AuditAction::WebhookAdded,
            &format!("webhook:{id}"),
            &serde_json::json!({
                "name": name,
                "url": url.as_str(),
                "secret_ref": secret_ref,
                "events": events,
            }),
        )
        .await?;
        tx.commit().await?;
        store::find_endpoint(db, id)
            .await?
            .map(endpoint_view)
            .ok_or(AppError::Internal)
    }

    /// Deletes an endpoint (audited); its deliveries not made yet fail.
    pub async fn delete_webhook(&self, admin: &Admin, id: i64) -> Result<(), AppError> {
        let db = &self.core.db;
        let endpoint = store::find_endpoint(db, id)
            .await?
            .ok_or_else(|| AppError::NotFound("That webhook endpoint".into()))?;
        let now = self.core.clock.timestamp();
        let mut tx = db.begin_write().await?;
        if !store::delete_endpoint(&mut tx, id, now).await? {
            return Err(AppError::NotFound("That webhook endpoint".into()));
        }
        audit::insert_audit_event(
            &mut tx,
            now,
            &admin.me().login,
            AuditAction::WebhookDeleted,
            &format!("webhook:{id}"),
            &serde_json::json!({ "name": endpoint.name, "url": endpoint.url }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sends a `webhook.test` event to an endpoint now (not queued, not audited: it changes
    /// nothing) and says what happened.
    pub async fn test_webhook(&self, admin: &Admin, id: i64) -> Result<String, AppError> {
        let endpoint = store::find_endpoint(&self.core.db, id)
            .await?
            .ok_or_else(|| AppError::NotFound("That webhook endpoint".into()))?;
        let key = self.key_for(&endpoint.secret_ref).await?;
        let now = self.core.clock.timestamp();
        let message = format!("test_{:016x}", rand::random::<u64>());
        let body = serde_json::json!({
            "type": "webhook.test",
            "timestamp": now.to_string(),
            "version": PAYLOAD_VERSION,
            "data": { "endpoint": endpoint.name, "requested_by": admin.me().login },
        });
        let body = serde_json::to_vec(&body).map_err(|_| AppError::Internal)?;
        match post_signed(&endpoint.url, &key, &message, now, &body).await {
            Ok(status) => Ok(format!(
                "Delivered: {} answered HTTP {status}.",
                endpoint.name
            )),
            Err(e) => Err(AppError::Conflict(format!(
                "Not delivered to {}: {}.",
                endpoint.name, e.message
            ))),
        }
    }

    /// A page of the delivery log (`state` empty: every state).
    pub async fn deliveries(
        &self,
        _admin: &Admin,
        state: &str,
        before: i64,
    ) -> Result<DeliveryPage, AppError> {
        let state = match state.trim() {
            "" => None,
            s @ ("pending" | "in_flight" | "delivered" | "failed" | "skipped") => Some(s),
            _ => {
                return Err(AppError::invalid(
                    "state",
                    "one of pending, in_flight, delivered, failed (or none)",
                ))
            }
        };
        if before < 0 {
            return Err(AppError::invalid("before", "a delivery number (0: newest)"));
        }
        let mut rows =
            store::list_deliveries(&self.core.db, state, before, DELIVERY_PAGE + 1).await?;
        let next_before = if rows.len() as i64 > DELIVERY_PAGE {
            rows.truncate(DELIVERY_PAGE as usize);
            rows.last().map(|r| r.id)
        } else {
            None
        };
        Ok(DeliveryPage {
            deliveries: rows.into_iter().map(delivery_view).collect(),
            next_before,
        })
    }

    /// Queues a failed delivery again (audited).
    pub async fn retry(&self, admin: &Admin, id: i64) -> Result<(), AppError> {
        let now = self.core.clock.timestamp();
        let mut tx = self.core.db.begin_write().await?;
        if !store::requeue_failed(&mut tx, id, now).await? {
            return Err(AppError::Conflict(
                "Only a failed delivery to an endpoint that still exists can be retried.".into(),
            ));
        }
        audit::insert_audit_event(
            &mut tx,
            now,
            &admin.me().login,
            AuditAction::DeliveryRetried,
            &format!("delivery:{id}"),
            &serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        self.core.engine.wake();
        Ok(())
    }
}

impl NotificationsService<'_> {
    /// Reminds the holders of grants that end within a reminder lead (each lead once per grant
    /// and end; when several are due at once, only the nearest is sent): one
    /// `grant.expiring_soon` event each, which queues their email and webhooks. Returns how
    /// many reminders were sent.
    pub async fn remind_expiring(&self) -> Result<usize, AppError> {
        let db = &self.core.db;
        let now = self.core.clock.timestamp();
        let mut leads: Vec<i64> = self
            .core
            .reminder_leads
            .iter()
            .map(|l| l.secs() * 1000)
            .collect();
        leads.sort_unstable();
        leads.dedup();
        let mut due: std::collections::BTreeMap<i64, (Timestamp, Vec<i64>)> = Default::default();
        for lead in &leads {
            for (grant, ends_at) in store::grants_to_remind(db, now, *lead, 500).await? {
                due.entry(grant)
                    .or_insert((ends_at, Vec::new()))
                    .1
                    .push(*lead);
            }
        }
        let mut sent = 0;
        for (grant, (ends_at, leads)) in due {
            let mut tx = db.begin_write().await?;
            // The nearest lead is the one that speaks; the others due with it are spent.
            let nearest = store::record_reminder(&mut tx, grant, leads[0], ends_at, now).await?;
            for lead in &leads[1..] {
                store::record_reminder(&mut tx, grant, *lead, ends_at, now).await?;
            }
            if nearest {
                audit::insert_audit_event(
                    &mut tx,
                    now,
                    "gatepass",
                    AuditAction::GrantExpiringSoon,
                    &format!("grant:{grant}"),
                    &serde_json::json!({ "ends_at": ends_at, "lead_secs": leads[0] / 1000 }),
                )
                .await?;
                sent += 1;
            }
            tx.commit().await?;
        }
        if sent > 0 {
            self.core.engine.wake();
        }
        Ok(sent)
    }
}

impl NotificationsService<'_> {
    /// Reminds the approvers of requests pending longer than the configured time, and tells
    /// the admins of those pending longer still, once each per request: a
    /// `request.reminder_sent` or `request.escalated` event, which emails them (and goes to
    /// webhooks). Returns how many reminders were sent.
    pub async fn remind_pending(&self) -> Result<usize, AppError> {
        let mut sent = 0;
        for (after, kind, action) in [
            (
                self.core.pending_reminder,
                "approvers",
                AuditAction::RequestReminded,
            ),
            (
                self.core.pending_escalation,
                "admins",
                AuditAction::RequestEscalated,
            ),
        ] {
            let Some(after) = after else { continue };
            sent += self.remind_pending_of(after, kind, action).await?;
        }
        if sent > 0 {
            self.core.engine.wake();
        }
        Ok(sent)
    }

    async fn remind_pending_of(
        &self,
        after: crate::model::GrantDuration,
        kind: &str,
        action: AuditAction,
    ) -> Result<usize, AppError> {
        let db = &self.core.db;
        let now = self.core.clock.timestamp();
        let mut sent = 0;
        for id in store::requests_to_remind(db, now, after.secs() * 1000, kind, 500).await? {
            let mut tx = db.begin_write().await?;
            if store::record_request_reminder(&mut tx, id, kind, now).await? {
                audit::insert_audit_event(
                    &mut tx,
                    now,
                    "gatepass",
                    action,
                    &format!("request:{id}"),
                    &serde_json::json!({ "pending_secs": after.secs() }),
                )
                .await?;
                sent += 1;
            }
            tx.commit().await?;
        }
        Ok(sent)
    }
}

impl NotificationsService<'_> {
    /// Writes who gets admin alerts by email — the bootstrap admins the directory knows and the
    /// members of the admin groups, by the same rules that make people admins — when it
    /// changed; true if it did.
    pub async fn refresh_admins(&self) -> Result<bool, AppError> {
        let db = &self.core.db;
        let settings = &self.core.auth;
        let mut ids: Vec<String> = Vec::new();
        for admin in &settings.bootstrap_admins {
            if let Some(id) = crate::ssr::db::directory::user_id_by_login(db, admin).await? {
                ids.push(id.to_string());
            }
        }
        for group in crate::ssr::services::identity::admin_group_ids(db, settings).await? {
            ids.extend(crate::ssr::db::directory::member_ids(db, group.as_str()).await?);
        }
        Ok(store::set_admin_recipients(db, &ids).await?)
    }
}

/// The kinds of email people may turn off: (kind, label, what it is).
pub const EMAIL_KINDS: [(&str, &str, &str); 4] = [
    (
        "to_decide",
        "Requests to decide",
        "Someone asks for a group you approve.",
    ),
    (
        "decisions",
        "Decisions on my requests",
        "Your request was approved, denied, expired or cancelled by someone else.",
    ),
    (
        "access",
        "My access",
        "Your access is scheduled, starts, fails in Okta or ends.",
    ),
    (
        "reminders",
        "Before my access ends",
        "A reminder, with a link to ask for more time.",
    ),
];

impl NotificationsService<'_> {
    /// What email the caller gets.
    pub async fn mine(
        &self,
        who: &crate::ssr::auth::Requester,
    ) -> Result<crate::model::MyNotifications, AppError> {
        let me = who.me();
        let off = store::opt_outs(&self.core.db, me.okta_id.as_str()).await?;
        let slack_configured = crate::ssr::db::slack::settings(&self.core.db)
            .await?
            .is_some_and(|s| s.enabled);
        let address = crate::ssr::db::directory::find_user(&self.core.db, me.okta_id.as_str())
            .await?
            .map(|u| u.email)
            .unwrap_or_default();
        Ok(crate::model::MyNotifications {
            email_configured: self.core.email.is_some(),
            address,
            slack_configured,
            kinds: kinds_with(&off),
        })
    }

    /// Sets which kinds the caller gets by email and in Slack (`email_on`, `slack_on`: the
    /// kinds to keep), audited.
    pub async fn save_mine(
        &self,
        who: &crate::ssr::auth::Requester,
        email_on: &[String],
        slack_on: &[String],
    ) -> Result<crate::model::MyNotifications, AppError> {
        let (email_off, slack_off) = kinds_off(email_on, slack_on)?;
        let off = by_channel(&email_off, &slack_off);
        let me = who.me();
        let now = self.core.clock.timestamp();
        let mut tx = self.core.db.begin_write().await?;
        store::set_opt_outs(&mut tx, me.okta_id.as_str(), &off).await?;
        audit::insert_audit_event(
            &mut tx,
            now,
            &me.login,
            AuditAction::PreferencesSaved,
            &format!("person:{}", me.okta_id),
            &serde_json::json!({ "email_off": email_off, "slack_off": slack_off }),
        )
        .await?;
        tx.commit().await?;
        self.mine(who).await
    }
}

/// Every kind of notice, on or off per channel as `off` (channel, kind) says.
fn kinds_with(off: &[(String, String)]) -> Vec<crate::model::EmailKind> {
    let is_off = |channel: &str, kind: &str| off.iter().any(|(c, k)| c == channel && k == kind);
    EMAIL_KINDS
        .iter()
        .map(|(kind, label, description)| crate::model::EmailKind {
            kind: (*kind).to_owned(),
            label: (*label).to_owned(),
            description: (*description).to_owned(),
            on: !is_off("email", kind),
            slack: !is_off("slack", kind),
        })
        .collect()
}

/// The kinds turned off by email and in Slack, from the kinds kept on; an unknown kind is
/// refused.
fn kinds_off(
    email_on: &[String],
    slack_on: &[String],
) -> Result<(Vec<&'static str>, Vec<&'static str>), AppError> {
    if let Some(unknown) = email_on
        .iter()
        .chain(slack_on)
        .find(|k| !EMAIL_KINDS.iter().any(|(kind, _, _)| kind == k))
    {
        return Err(AppError::invalid(
            "kind",
            format!("no kind of notification is called `{unknown}`"),
        ));
    }
    let off_in = |on: &[String]| -> Vec<&'static str> {
        EMAIL_KINDS
            .iter()
            .map(|(kind, _, _)| *kind)
            .filter(|kind| !on.iter().any(|o| o == kind))
            .collect()
    };
    Ok((off_in(email_on), off_in(slack_on)))
}

/// (channel, kind) pairs of kinds turned off.
fn by_channel<'a>(email_off: &[&'a str], slack_off: &[&'a str]) -> Vec<(&'static str, &'a str)> {
    email_off
        .iter()
        .map(|k| ("email", *k))
        .chain(slack_off.iter().map(|k| ("slack", *k)))
        .collect()
}

/// Reads the secret `reference` an admin gave for `field` (a webhook's signing secret, Slack's
/// token and signing secret): `aws-secretsmanager:` references, or `env:`/`file:` ones the
/// server's configuration names (`notifications.allowed_secret_refs`) — an admin cannot make
/// Gatepass read an arbitrary environment variable or file.
pub async fn read_allowed_secret(
    core: &Core,
    field: &str,
    reference: &str,
) -> Result<secrecy::SecretString, AppError> {
    let invalid = |m: String| AppError::invalid(field, m);
    let parsed: SecretRef = reference.trim().parse().map_err(invalid)?;
    if let SecretSource::Env(_) | SecretSource::File(_) = parsed.source {
        if !core.webhook_secret_refs.contains(&parsed) {
            return Err(invalid(
                "env: and file: references must be named in the server's configuration \
                 (notifications.allowed_secret_refs); use an aws-secretsmanager: reference"
                    .into(),
            ));
        }
    }
    core.secrets
        .get(&parsed)
        .await
        .map_err(|e| invalid(format!("cannot be read: {e}")))
}

/// Delivers one claimed webhook delivery: the endpoint, its key, the event.
pub async fn deliver_webhook(core: &Core, claim: &store::Claim) -> Result<u16, DeliveryError> {
    let db_error = |e: DbError| DeliveryError {
        message: format!("Gatepass could not read the delivery: {e}"),
        retry: true,
        retry_after: None,
    };
    let endpoint_id: i64 = claim
        .target
        .parse()
        .map_err(|_| DeliveryError::permanent("not a webhook endpoint id"))?;
    let endpoint = store::find_endpoint(&core.db, endpoint_id)
        .await
        .map_err(db_error)?
        .ok_or_else(|| DeliveryError::permanent("the endpoint was deleted"))?;
    if !endpoint.enabled {
        return Err(DeliveryError::permanent("the endpoint is turned off"));
    }
    let event = audit::find_audit_event(&core.db, claim.event_seq)
        .await
        .map_err(db_error)?
        .ok_or_else(|| DeliveryError::permanent("the event is gone"))?;
    let service = NotificationsService { core };
    let key = service
        .key_for(&endpoint.secret_ref)
        .await
        .map_err(|e| DeliveryError {
            message: e.to_string(),
            retry: true,
            retry_after: None,
        })?;
    let body = serde_json::to_vec(&payload(&event))
        .map_err(|_| DeliveryError::permanent("the event could not be written as JSON"))?;
    post_signed(
        &endpoint.url,
        &key,
        &message_id(event.seq),
        core.clock.timestamp(),
        &body,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_the_standard_webhooks_reference() {
        // The example of the Standard Webhooks specification (and its reference libraries).
        let key = WebhookKey::parse(&SecretString::from(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned(),
        ))
        .unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            key.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn refuses_what_is_not_a_webhook_secret_without_repeating_it() {
        for bad in ["00okta-api-token", "whsec_!!!", "whsec_c2hvcnQ="] {
            let e = WebhookKey::parse(&SecretString::from(bad.to_owned())).unwrap_err();
            assert!(!e.contains(bad), "{e}");
        }
        assert!(new_secret().starts_with(SECRET_PREFIX));
        assert!(WebhookKey::parse(&SecretString::from(new_secret())).is_ok());
        assert_ne!(new_secret(), new_secret());
    }

    #[test]
    fn endpoint_urls_are_https_or_loopback_without_credentials() {
        for ok in [
            "https://hooks.example.com/gatepass",
            "http://127.0.0.1:8080/x",
            "http://localhost/x",
            "http://[::1]:9/x",
        ] {
            assert!(parse_endpoint_url(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("", "enter"),
            ("http://hooks.example.com/x", "https://"),
            ("http://10.0.0.1/x", "https://"),
            ("ftp://127.0.0.1/x", "not ftp"),
            ("https://user:pw@hooks.example.com/", "user name"),
            ("https://hooks.example.com/#x", "fragment"),
            ("not a url", "not a URL"),
        ] {
            let e = parse_endpoint_url(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn events_are_known_names_or_every_one() {
        assert_eq!(
            parse_events(&["request.created".into(), "request.created".into()]).unwrap(),
            ["request.created"]
        );
        assert_eq!(
            parse_events(&["grant.started".into(), "*".into()]).unwrap(),
            ["*"]
        );
        assert!(parse_events(&[]).unwrap_err().contains("at least one"));
        assert!(parse_events(&["request.exploded".into()])
            .unwrap_err()
            .contains("request.exploded"));
    }
}
