//! `webhook_endpoints`, `webhook_subscriptions` and `notifications`, the notification outbox:
//! deliveries are queued in the transaction that records their event (see
//! [`queue_for_event`], called for every audit event), claimed with a lease by the notifier and
//! closed with their outcome. Outcomes are fenced like the Okta outbox's: only the claim that
//! still holds the lease may record one.

use super::{Db, DbError, Tx};
use crate::model::Timestamp;

/// A webhook endpoint as stored (its secret is a reference, never the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointRow {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub secret_ref: String,
    pub enabled: bool,
    pub created_at: Timestamp,
    pub created_by: String,
    /// The events it receives, sorted (`*`: every one).
    pub events: Vec<String>,
}

/// The people an event concerns, by what it is about (its audit subject).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Who may decide request N (people named, members of groups named), not its requester.
    Approvers(i64),
    /// The delegates request N was routed to, standing in for someone away.
    Delegates(i64),
    /// Who asked for request N.
    Requester(i64),
    /// Who holds grant N.
    Holder(i64),
    /// Who has items to review in campaign N (`review.reminder_sent`: items still undecided).
    Reviewers(i64),
    /// The admins (`notification_admins`); they cannot turn these off.
    Admins,
}

/// Who hears of an event by email: new requests go to their approvers, decisions to the
/// requester, a grant's start, failure and end to its holder; a grant Okta refused and a
/// removal that keeps failing also to the admins. Other events go to no person.
pub fn audiences(action: &str, subject: &str) -> Vec<Audience> {
    let mut out: Vec<Audience> = audience(action, subject).into_iter().collect();
    if matches!(
        action,
        "okta.membership.add_failed"
            | "okta.membership.remove_failing"
            | "request.escalated"
            | "request.emergency"
            | "drift.found"
    ) {
        out.push(Audience::Admins);
    }
    out
}

/// The person-level audience of an event (see [`audiences`]).
fn audience(action: &str, subject: &str) -> Option<Audience> {
    let (kind, id) = subject.split_once(':')?;
    let id: i64 = id.parse().ok()?;
    match (kind, action) {
        (
            "request",
            "request.created"
            | "request.created.extension"
            | "request.reminder_sent"
            | "request.approval_recorded"
            | "request.emergency"
            | "request.escalated.second_tier"
            | "request.escalated.admins",
        ) => Some(Audience::Approvers(id)),
        (
            "request",
            "request.approved" | "request.denied" | "request.expired" | "request.cancelled",
        ) => Some(Audience::Requester(id)),
        ("request", "request.delegated") => Some(Audience::Delegates(id)),
        ("review", "review.started" | "review.reminder_sent") => Some(Audience::Reviewers(id)),
        (
            "grant",
            "grant.scheduled"
            | "grant.started"
            | "grant.expiring_soon"
            | "grant.ended"
            | "grant.expired"
            | "okta.membership.add_failed",
        ) => Some(Audience::Holder(id)),
        _ => None,
    }
}

/// The kind of email an event is, as people turn kinds off: requests to decide, decisions on
/// one's requests, one's access starting, failing or ending, and reminders before it ends.
pub fn notification_kind(action: &str, audience: Audience) -> &'static str {
    match (audience, action) {
        (Audience::Approvers(_) | Audience::Delegates(_) | Audience::Reviewers(_), _) => {
            "to_decide"
        }
        (Audience::Requester(_), _) => "decisions",
        (Audience::Holder(_), "grant.expiring_soon") => "reminders",
        (Audience::Holder(_), _) => "access",
        // Not a kind anyone can turn off.
        (Audience::Admins, _) => "admin_alerts",
    }
}

/// The channels to people: email and Slack direct messages.
pub const PERSON_CHANNELS: [&str; 2] = ["email", "slack"];

/// The kinds `user` turned off, per channel: (channel, kind).
pub async fn opt_outs(db: &Db, user: &str) -> Result<Vec<(String, String)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT channel, kind FROM notification_opt_outs WHERE user_id = $1 \
         ORDER BY channel, kind",
    )
    .bind(user)
    .fetch_all(db.pool())
    .await?)
}

/// Replaces the kinds `user` turned off: (channel, kind).
pub async fn set_opt_outs(tx: &mut Tx, user: &str, off: &[(&str, &str)]) -> Result<(), DbError> {
    sqlx::query("DELETE FROM notification_opt_outs WHERE user_id = $1")
        .bind(user)
        .execute(&mut **tx)
        .await?;
    for (channel, kind) in off {
        sqlx::query(
            "INSERT INTO notification_opt_outs (user_id, channel, kind) VALUES ($1, $2, $3)",
        )
        .bind(user)
        .bind(channel)
        .bind(kind)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The kinds admins turned off, per channel: (channel, kind).
pub async fn switched_off(db: &Db) -> Result<Vec<(String, String)>, DbError> {
    Ok(
        sqlx::query_as("SELECT channel, kind FROM notification_switches ORDER BY channel, kind")
            .fetch_all(db.pool())
            .await?,
    )
}

/// Replaces the kinds admins turned off: (channel, kind).
pub async fn set_switched_off(tx: &mut Tx, off: &[(&str, &str)]) -> Result<(), DbError> {
    sqlx::query("DELETE FROM notification_switches")
        .execute(&mut **tx)
        .await?;
    for (channel, kind) in off {
        sqlx::query("INSERT INTO notification_switches (channel, kind) VALUES ($1, $2)")
            .bind(channel)
            .bind(kind)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Turns a channel to people on or off (from the configuration, at start-up).
pub async fn set_channel_enabled(db: &Db, channel: &str, enabled: bool) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO notification_channels (channel, enabled) VALUES ($1, $2) \
         ON CONFLICT (channel) DO UPDATE SET enabled = excluded.enabled",
    )
    .bind(channel)
    .bind(enabled)
    .execute(db.write_pool())
    .await?;
    Ok(())
}

/// People who can be reached on `channel` (`email`, `slack`): active in Okta, with an email
/// address (Slack finds people by it), the channel turned on, and who did not turn this kind
/// off (`kind` is the parameter holding the kind, e.g. `$4`).
fn reachable(channel: &str, kind: &str) -> String {
    let on = if channel == "slack" {
        "EXISTS (SELECT 1 FROM slack_settings s WHERE s.enabled)"
    } else {
        "EXISTS (SELECT 1 FROM notification_channels c WHERE c.channel = 'email' AND c.enabled)"
    };
    format!(
        "u.removed_at IS NULL AND u.status = 'ACTIVE' AND u.email <> '' AND {on} \
         AND NOT EXISTS (SELECT 1 FROM notification_switches w WHERE w.channel = '{channel}' \
           AND w.kind = {kind}) \
         AND NOT EXISTS (SELECT 1 FROM notification_opt_outs o WHERE o.user_id = u.okta_id \
           AND o.channel = '{channel}' AND o.kind = {kind})"
    )
}

/// An audit event being recorded, as the outbox sees it.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    pub seq: i64,
    pub action: &'a str,
    pub subject: &'a str,
    pub actor: &'a str,
    pub at: Timestamp,
    pub details: &'a serde_json::Value,
}

/// Queues the deliveries of `event` to the people it concerns (see [`audiences`]) on each
/// channel that is on. Approvers are only asked about a request that is still pending (an
/// auto-approved one is decided before its creation is recorded). A person who cancelled their own request is not told of it; an approval
/// that does not complete the quorum goes by email to the other approvers ("1 of 2"; in Slack
/// their cards say it).
async fn queue_for_people(tx: &mut Tx, event: &Event<'_>) -> Result<u64, DbError> {
    let mut channels: &[&str] = &PERSON_CHANNELS;
    if event.action == "request.approval_recorded" {
        let (approvals, quorum) = (
            event.details["approvals"].as_i64().unwrap_or(0),
            event.details["quorum"].as_i64().unwrap_or(0),
        );
        if approvals >= quorum {
            return Ok(0);
        }
        channels = &["email"];
    }
    let mut queued = 0;
    for audience in audiences(event.action, event.subject) {
        for channel in channels {
            queued += queue_for(tx, event, audience, channel).await?;
        }
    }
    Ok(queued)
}

async fn queue_for(
    tx: &mut Tx,
    event: &Event<'_>,
    audience: Audience,
    channel: &str,
) -> Result<u64, DbError> {
    let Event {
        seq,
        action,
        actor,
        at,
        ..
    } = *event;
    let insert = format!(
        "INSERT INTO notifications (event_seq, channel, target, state, next_attempt_at, \
         created_at) SELECT $1, '{channel}', u.okta_id, 'pending', $2, $2 FROM users u"
    );
    let reachable = reachable(channel, "$4");
    let (sql, id) = match audience {
        // Driven by the request's approvers (people named, and members of groups named), each
        // looked up by key: never a pass over every user of the directory.
        Audience::Approvers(id) => (
            format!(
                "{insert} WHERE u.okta_id IN ( \
                     SELECT ra.ref FROM request_approvers ra \
                       WHERE ra.request_id = $3 AND ra.kind = 'user' \
                     UNION SELECT m.user_id FROM request_approvers ra JOIN memberships m \
                       ON m.group_id = ra.ref WHERE ra.request_id = $3 AND ra.kind = 'group') \
                   AND {reachable} \
                   AND EXISTS (SELECT 1 FROM access_requests r WHERE r.id = $3 \
                          AND (r.state = 'pending' OR $5 = 'request.emergency') \
                          AND r.requester_id <> u.okta_id) \
                   AND NOT ($5 = 'request.approval_recorded' AND u.login = $6) \
                 ON CONFLICT (channel, target, event_seq) DO NOTHING"
            ),
            id,
        ),
        // Only the delegates of the request, while it is pending.
        Audience::Delegates(id) => (
            format!(
                "{insert} WHERE u.okta_id IN ( \
                     SELECT ra.ref FROM request_approvers ra WHERE ra.request_id = $3 \
                       AND ra.kind = 'user' AND ra.via LIKE 'delegate:%') \
                   AND {reachable} \
                   AND EXISTS (SELECT 1 FROM access_requests r WHERE r.id = $3 \
                          AND r.state = 'pending' AND r.requester_id <> u.okta_id) \
                 ON CONFLICT (channel, target, event_seq) DO NOTHING"
            ),
            id,
        ),
        Audience::Requester(id) => (
            format!(
                "{insert} JOIN access_requests r ON r.requester_id = u.okta_id \
                 WHERE r.id = $3 AND {reachable} \
                   AND NOT ($5 = 'request.cancelled' AND u.login = $6) \
                 ON CONFLICT (channel, target, event_seq) DO NOTHING"
            ),
            id,
        ),
        Audience::Holder(id) => (
            format!(
                "{insert} JOIN grants g ON g.user_id = u.okta_id \
                 WHERE g.id = $3 AND {reachable} \
                 ON CONFLICT (channel, target, event_seq) DO NOTHING"
            ),
            id,
        ),
        // Each reviewer of the campaign once: the item's own reviewer, or the members of its
        // pool other than the member under review.
        Audience::Reviewers(id) => {
            let undecided = if action == "review.reminder_sent" {
                "AND i.decision IS NULL"
            } else {
                ""
            };
            (
                format!(
                    "{insert} WHERE u.okta_id IN ( \
                         SELECT i.reviewer_id FROM review_items i WHERE i.campaign_id = $3 \
                           AND i.reviewer_id IS NOT NULL {undecided} \
                         UNION SELECT p.reviewer_id FROM review_pool_members p \
                           WHERE p.campaign_id = $3 AND EXISTS (SELECT 1 FROM review_items i \
                             WHERE i.campaign_id = $3 AND i.pool = p.pool \
                               AND i.user_id <> p.reviewer_id {undecided})) \
                       AND {reachable} \
                     ON CONFLICT (channel, target, event_seq) DO NOTHING"
                ),
                id,
            )
        }
        Audience::Admins => {
            let sql = format!(
                "{insert} JOIN notification_admins a ON a.user_id = u.okta_id \
                 WHERE {} ON CONFLICT (channel, target, event_seq) DO NOTHING",
                self::reachable(channel, "$3")
            );
            let query = sqlx::query(&sql)
                .bind(seq)
                .bind(at)
                .bind(notification_kind(action, audience));
            return Ok(query.execute(&mut **tx).await?.rows_affected());
        }
    };
    let mut query = sqlx::query(&sql)
        .bind(seq)
        .bind(at)
        .bind(id)
        .bind(notification_kind(action, audience));
    if let Audience::Requester(_) | Audience::Approvers(_) = audience {
        query = query.bind(action).bind(actor);
    }
    Ok(query.execute(&mut **tx).await?.rows_affected())
}

/// Queues the deliveries of audit `event` inside the event's own transaction: to every enabled
/// webhook endpoint that receives it, and to the people it concerns by email and in Slack.
/// Returns how many were queued.
pub async fn queue_for_event(tx: &mut Tx, event: &Event<'_>) -> Result<u64, DbError> {
    let people = queue_for_people(tx, event).await?
        + super::slack::queue_for_event(tx, event.seq, event.action, event.subject, event.at)
            .await?;
    let queued = sqlx::query(
        "INSERT INTO notifications (event_seq, channel, target, state, next_attempt_at, created_at) \
         SELECT $1, 'webhook', CAST(e.id AS TEXT), 'pending', $2, $2 FROM webhook_endpoints e \
         WHERE e.enabled AND EXISTS (SELECT 1 FROM webhook_subscriptions s \
           WHERE s.endpoint_id = e.id AND s.event IN ($3, '*')) \
         ON CONFLICT (channel, target, event_seq) DO NOTHING",
    )
    .bind(event.seq)
    .bind(event.at)
    .bind(event.action)
    .execute(&mut **tx)
    .await?;
    Ok(people + queued.rows_affected())
}

/// Adds an endpoint receiving `events`; `None` when the name is taken.
pub async fn insert_endpoint(
    tx: &mut Tx,
    name: &str,
    url: &str,
    secret_ref: &str,
    events: &[String],
    at: Timestamp,
    by: &str,
) -> Result<Option<i64>, DbError> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO webhook_endpoints (name, url, secret_ref, enabled, created_at, created_by) \
         VALUES ($1, $2, $3, TRUE, $4, $5) ON CONFLICT (name) DO NOTHING RETURNING id",
    )
    .bind(name)
    .bind(url)
    .bind(secret_ref)
    .bind(at)
    .bind(by)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(id) = id else { return Ok(None) };
    for event in events {
        sqlx::query("INSERT INTO webhook_subscriptions (endpoint_id, event) VALUES ($1, $2)")
            .bind(id)
            .bind(event)
            .execute(&mut **tx)
            .await?;
    }
    Ok(Some(id))
}

/// Deletes an endpoint; its deliveries not made yet are closed as failed. False if there was
/// no such endpoint.
pub async fn delete_endpoint(tx: &mut Tx, id: i64, now: Timestamp) -> Result<bool, DbError> {
    sqlx::query(
        "UPDATE notifications SET state = 'failed', last_error = 'the endpoint was deleted', \
           lease_owner = NULL, lease_until = NULL, delivered_at = NULL, next_attempt_at = $2 \
         WHERE channel = 'webhook' AND target = CAST($1 AS TEXT) \
           AND state IN ('pending', 'in_flight')",
    )
    .bind(id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM webhook_subscriptions WHERE endpoint_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    let deleted = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(deleted.rows_affected() == 1)
}

type EndpointTuple = (i64, String, String, String, i64, Timestamp, String);

const ENDPOINT_COLUMNS: &str = "e.id, e.name, e.url, e.secret_ref, \
    CAST(CASE WHEN e.enabled THEN 1 ELSE 0 END AS BIGINT), e.created_at, e.created_by";

async fn with_events(db: &Db, rows: Vec<EndpointTuple>) -> Result<Vec<EndpointRow>, DbError> {
    let subscriptions: Vec<(i64, String)> = sqlx::query_as(
        "SELECT endpoint_id, event FROM webhook_subscriptions ORDER BY endpoint_id, event",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, name, url, secret_ref, enabled, created_at, created_by)| EndpointRow {
                events: subscriptions
                    .iter()
                    .filter(|(e, _)| *e == id)
                    .map(|(_, event)| event.clone())
                    .collect(),
                id,
                name,
                url,
                secret_ref,
                enabled: enabled != 0,
                created_at,
                created_by,
            },
        )
        .collect())
}

/// Every endpoint, by name.
pub async fn list_endpoints(db: &Db) -> Result<Vec<EndpointRow>, DbError> {
    let rows: Vec<EndpointTuple> = sqlx::query_as(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints e ORDER BY e.name"
    ))
    .fetch_all(db.pool())
    .await?;
    with_events(db, rows).await
}

/// One endpoint.
pub async fn find_endpoint(db: &Db, id: i64) -> Result<Option<EndpointRow>, DbError> {
    let rows: Vec<EndpointTuple> = sqlx::query_as(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints e WHERE e.id = $1"
    ))
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    Ok(with_events(db, rows).await?.into_iter().next())
}

/// A queued delivery, as claimed by the notifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub id: i64,
    /// Who claimed it (the process's instance id).
    pub owner: String,
    pub channel: String,
    pub target: String,
    pub event_seq: i64,
    /// Tries so far, this one included.
    pub attempts: i64,
}

/// Claims up to `limit` due deliveries for `owner` until `lease_until`: pending ones whose time
/// has come and in-flight ones whose lease ran out (a crashed notifier's).
pub async fn claim_notifications(
    db: &Db,
    owner: &str,
    now: Timestamp,
    lease_until: Timestamp,
    limit: i64,
) -> Result<Vec<Claim>, DbError> {
    let lock = db.skip_locked();
    let rows: Vec<(i64, String, String, i64, i64)> = sqlx::query_as(&format!(
        "UPDATE notifications SET state = 'in_flight', lease_owner = $1, lease_until = $2, \
           attempts = attempts + 1 \
         WHERE id IN (SELECT n.id FROM notifications n \
           WHERE (n.state = 'pending' AND n.next_attempt_at <= $3) \
              OR (n.state = 'in_flight' AND n.lease_until < $3) \
           ORDER BY n.id LIMIT $4 {lock}) \
         RETURNING id, channel, target, event_seq, attempts"
    ))
    .bind(owner)
    .bind(lease_until)
    .bind(now)
    .bind(limit)
    .fetch_all(db.write_pool())
    .await?;
    let mut claims: Vec<Claim> = rows
        .into_iter()
        .map(|(id, channel, target, event_seq, attempts)| Claim {
            id,
            owner: owner.to_owned(),
            channel,
            target,
            event_seq,
            attempts,
        })
        .collect();
    claims.sort_by_key(|c| c.id);
    Ok(claims)
}

/// Records the outcome of `claim` — delivered, retried at `next`, failed for good or skipped — unless
/// the claim was lost meanwhile (it was taken over after its lease ran out): then nothing
/// changes and the answer is false.
pub async fn close_claim(
    db: &Db,
    claim: &Claim,
    outcome: Outcome<'_>,
    now: Timestamp,
) -> Result<bool, DbError> {
    let (state, error, next) = match outcome {
        Outcome::Delivered => ("delivered", None, now),
        Outcome::Retry { error, next } => ("pending", Some(error), next),
        Outcome::Failed { error } => ("failed", Some(error), now),
        Outcome::Skipped { why } => ("skipped", Some(why), now),
    };
    let delivered_at = (state == "delivered").then_some(now);
    let updated = sqlx::query(
        "UPDATE notifications SET state = $5, last_error = COALESCE($6, last_error), \
           next_attempt_at = $7, delivered_at = $2, lease_owner = NULL, lease_until = NULL \
         WHERE id = $1 AND state = 'in_flight' AND lease_owner = $3 AND attempts = $4",
    )
    .bind(claim.id)
    .bind(delivered_at)
    .bind(&claim.owner)
    .bind(claim.attempts)
    .bind(state)
    .bind(error)
    .bind(next)
    .execute(db.write_pool())
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// How a claimed delivery went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    Delivered,
    Retry {
        error: &'a str,
        next: Timestamp,
    },
    Failed {
        error: &'a str,
    },
    /// Nothing to deliver to, by design (a person with no Slack account): not a failure.
    Skipped {
        why: &'a str,
    },
}

/// A delivery as the delivery log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    pub id: i64,
    pub event_seq: i64,
    pub event: String,
    pub channel: String,
    pub target: String,
    /// The endpoint's name (webhooks, if it still exists) or the person's (email).
    pub target_name: Option<String>,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub next_attempt_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
}

type DeliveryTuple = (
    i64,
    i64,
    String,
    String,
    String,
    Option<String>,
    String,
    i64,
    Option<String>,
    Timestamp,
    Timestamp,
    Option<Timestamp>,
);

/// Deliveries newest first, below id `before` (0: from the newest), in `state` when given.
pub async fn list_deliveries(
    db: &Db,
    state: Option<&str>,
    before: i64,
    limit: i64,
) -> Result<Vec<DeliveryRow>, DbError> {
    let rows: Vec<DeliveryTuple> = sqlx::query_as(
        "SELECT n.id, n.event_seq, a.action, n.channel, n.target, COALESCE(e.name, u.display_name), \
           n.state, n.attempts, n.last_error, n.created_at, n.next_attempt_at, n.delivered_at \
         FROM notifications n JOIN audit_events a ON a.seq = n.event_seq \
         LEFT JOIN webhook_endpoints e ON n.channel = 'webhook' AND CAST(e.id AS TEXT) = n.target \
         LEFT JOIN users u ON n.channel IN ('email', 'slack') AND u.okta_id = n.target \
         WHERE ($1 = 0 OR n.id < $1) AND ($2 IS NULL OR n.state = $2) \
         ORDER BY n.id DESC LIMIT $3",
    )
    .bind(before)
    .bind(state)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| DeliveryRow {
            id: r.0,
            event_seq: r.1,
            event: r.2,
            channel: r.3,
            target: r.4,
            target_name: r.5,
            state: r.6,
            attempts: r.7,
            last_error: r.8,
            created_at: r.9,
            next_attempt_at: r.10,
            delivered_at: r.11,
        })
        .collect())
}

/// Queues a failed delivery again, due at `now`, with its tries counted afresh; false if it is
/// not failed (or its webhook endpoint is gone).
pub async fn requeue_failed(tx: &mut Tx, id: i64, now: Timestamp) -> Result<bool, DbError> {
    let updated = sqlx::query(
        "UPDATE notifications SET state = 'pending', attempts = 0, next_attempt_at = $2 \
         WHERE id = $1 AND state = 'failed' AND (channel <> 'webhook' OR EXISTS \
           (SELECT 1 FROM webhook_endpoints e WHERE CAST(e.id AS TEXT) = notifications.target))",
    )
    .bind(id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Deliveries per channel and state.
pub async fn counts(db: &Db) -> Result<Vec<(String, String, i64)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT channel, state, COUNT(*) FROM notifications GROUP BY channel, state \
         ORDER BY channel, state",
    )
    .fetch_all(db.pool())
    .await?)
}

/// Milliseconds from queueing to delivery of the latest `limit` deliveries, per channel.
pub async fn delivery_latencies(db: &Db, limit: i64) -> Result<Vec<(String, i64)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT channel, delivered_at - created_at FROM notifications \
         WHERE state = 'delivered' ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

/// When the earliest pending delivery is due, if any.
pub async fn next_due(db: &Db) -> Result<Option<Timestamp>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT MIN(CASE WHEN state = 'pending' THEN next_attempt_at ELSE lease_until END) \
         FROM notifications WHERE state IN ('pending', 'in_flight')",
    )
    .fetch_one(db.pool())
    .await?)
}

/// Active grants ending within `lead_ms` of `now` (not yet ended) that last longer than the
/// lead, and have had no reminder at this lead for their current end: (grant id, its end),
/// soonest first, at most `limit`.
pub async fn grants_to_remind(
    db: &Db,
    now: Timestamp,
    lead_ms: i64,
    limit: i64,
) -> Result<Vec<(i64, Timestamp)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT g.id, g.ends_at FROM grants g \
         WHERE g.state = 'active' AND g.ends_at > $1 AND g.ends_at - $2 <= $1 \
           AND g.ends_at - g.starts_at > $2 \
           AND NOT EXISTS (SELECT 1 FROM grant_reminders r WHERE r.grant_id = g.id \
             AND r.lead_ms = $2 AND r.ends_at = g.ends_at) \
         ORDER BY g.ends_at, g.id LIMIT $3",
    )
    .bind(now)
    .bind(lead_ms)
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

/// Records the reminder of grant `grant_id` at `lead_ms` before `ends_at`; false if one was
/// recorded already (by this process or another).
pub async fn record_reminder(
    tx: &mut Tx,
    grant_id: i64,
    lead_ms: i64,
    ends_at: Timestamp,
    at: Timestamp,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "INSERT INTO grant_reminders (grant_id, lead_ms, ends_at, sent_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (grant_id, lead_ms, ends_at) DO NOTHING",
    )
    .bind(grant_id)
    .bind(lead_ms)
    .bind(ends_at)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Pending requests made at least `after_ms` before `now` that have had no reminder of `kind`
/// (`approvers`, `admins`) yet, oldest first, at most `limit`.
pub async fn requests_to_remind(
    db: &Db,
    now: Timestamp,
    after_ms: i64,
    kind: &str,
    limit: i64,
) -> Result<Vec<i64>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT r.id FROM access_requests r WHERE r.state = 'pending' AND r.created_at <= $1 \
           AND NOT EXISTS (SELECT 1 FROM request_reminders x WHERE x.request_id = r.id \
             AND x.kind = $2) \
         ORDER BY r.created_at, r.id LIMIT $3",
    )
    .bind(now.plus_millis(-after_ms))
    .bind(kind)
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

/// Records a reminder of `kind` about request `id`; false if one was recorded already.
pub async fn record_request_reminder(
    tx: &mut Tx,
    id: i64,
    kind: &str,
    at: Timestamp,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "INSERT INTO request_reminders (request_id, kind, sent_at) VALUES ($1, $2, $3) \
         ON CONFLICT (request_id, kind) DO NOTHING",
    )
    .bind(id)
    .bind(kind)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets who gets admin alerts: the people `ids` (resolved by Gatepass's admin rules). Writes
/// only when that changed; true if it did.
pub async fn set_admin_recipients(db: &Db, ids: &[String]) -> Result<bool, DbError> {
    let mut wanted: Vec<&str> = ids.iter().map(String::as_str).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let current: Vec<String> =
        sqlx::query_scalar("SELECT user_id FROM notification_admins ORDER BY user_id")
            .fetch_all(db.pool())
            .await?;
    if current
        .iter()
        .map(String::as_str)
        .eq(wanted.iter().copied())
    {
        return Ok(false);
    }
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM notification_admins")
        .execute(&mut *tx)
        .await?;
    for id in wanted {
        sqlx::query("INSERT INTO notification_admins (user_id) VALUES ($1)")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Who gets admin alerts (the admins Gatepass knows), as the transaction sees it.
pub async fn admin_recipients(tx: &mut Tx) -> Result<Vec<String>, DbError> {
    Ok(
        sqlx::query_scalar("SELECT user_id FROM notification_admins ORDER BY user_id")
            .fetch_all(&mut **tx)
            .await?,
    )
}
