//! `slack_settings`, `slack_users`, `slack_posts` and `slack_replays`: the Slack app's settings
//! (secret references only), what Slack answered for people's emails, the request cards posted
//! (so that a decision updates each), and the interaction signatures already taken. Also what
//! Slack adds to the outbox when an event is recorded ([`queue_for_event`]): request cards to a
//! channel, and updates of a request's cards when it moves.

use super::{Db, DbError, Tx};
use crate::model::{Policy, Timestamp};

/// The Slack app's settings as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackSettingsRow {
    pub bot_token_ref: String,
    pub signing_secret_ref: String,
    pub default_channel: Option<String>,
    pub enabled: bool,
    pub updated_at: Timestamp,
    pub updated_by: String,
}

/// The settings, if an admin saved them.
pub async fn settings(db: &Db) -> Result<Option<SlackSettingsRow>, DbError> {
    let row: Option<(String, String, Option<String>, i64, Timestamp, String)> = sqlx::query_as(
        "SELECT bot_token_ref, signing_secret_ref, default_channel, \
           CAST(CASE WHEN enabled THEN 1 ELSE 0 END AS BIGINT), updated_at, updated_by \
         FROM slack_settings WHERE id = 1",
    )
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|r| SlackSettingsRow {
        bot_token_ref: r.0,
        signing_secret_ref: r.1,
        default_channel: r.2,
        enabled: r.3 != 0,
        updated_at: r.4,
        updated_by: r.5,
    }))
}

/// Saves the settings (replacing any).
pub async fn save_settings(tx: &mut Tx, s: &SlackSettingsRow) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO slack_settings (id, bot_token_ref, signing_secret_ref, default_channel, \
           enabled, updated_at, updated_by) VALUES (1, $1, $2, $3, $4, $5, $6) \
         ON CONFLICT (id) DO UPDATE SET bot_token_ref = excluded.bot_token_ref, \
           signing_secret_ref = excluded.signing_secret_ref, \
           default_channel = excluded.default_channel, enabled = excluded.enabled, \
           updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(&s.bot_token_ref)
    .bind(&s.signing_secret_ref)
    .bind(s.default_channel.as_deref())
    .bind(s.enabled)
    .bind(s.updated_at)
    .bind(&s.updated_by)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What Slack answered for a person's email: (the email asked about, the Slack user or none,
/// when).
pub async fn cached_user(
    db: &Db,
    okta_id: &str,
) -> Result<Option<(String, Option<String>, Timestamp)>, DbError> {
    Ok(
        sqlx::query_as("SELECT email, slack_id, looked_up_at FROM slack_users WHERE okta_id = $1")
            .bind(okta_id)
            .fetch_optional(db.pool())
            .await?,
    )
}

/// The direct message channel with the app Slack opened for Slack user `slack_id`, if any.
pub async fn dm_channel(db: &Db, okta_id: &str, slack_id: &str) -> Result<Option<String>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT dm_channel FROM slack_users WHERE okta_id = $1 AND slack_id = $2",
    )
    .bind(okta_id)
    .bind(slack_id)
    .fetch_optional(db.pool())
    .await?
    .flatten())
}

/// Remembers the direct message channel Slack opened for `okta_id` (as Slack user `slack_id`).
pub async fn remember_dm_channel(
    db: &Db,
    okta_id: &str,
    slack_id: &str,
    channel: &str,
) -> Result<(), DbError> {
    sqlx::query("UPDATE slack_users SET dm_channel = $3 WHERE okta_id = $1 AND slack_id = $2")
        .bind(okta_id)
        .bind(slack_id)
        .bind(channel)
        .execute(db.write_pool())
        .await?;
    Ok(())
}

/// Records what Slack answered for `okta_id`'s `email`.
pub async fn cache_user(
    db: &Db,
    okta_id: &str,
    email: &str,
    slack_id: Option<&str>,
    at: Timestamp,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO slack_users (okta_id, email, slack_id, looked_up_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (okta_id) DO UPDATE SET email = excluded.email, slack_id = excluded.slack_id, \
           looked_up_at = excluded.looked_up_at, dm_channel = CASE \
             WHEN slack_users.slack_id = excluded.slack_id THEN slack_users.dm_channel END",
    )
    .bind(okta_id)
    .bind(email)
    .bind(slack_id)
    .bind(at)
    .execute(db.write_pool())
    .await?;
    Ok(())
}

/// The people Slack named `slack_id` for their current email, looked up since `since`, who are
/// still in the directory: (Okta id, email).
pub async fn people_for_slack_user(
    db: &Db,
    slack_id: &str,
    since: Timestamp,
) -> Result<Vec<(String, String)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT s.okta_id, s.email FROM slack_users s JOIN users u ON u.okta_id = s.okta_id \
         WHERE s.slack_id = $1 AND s.looked_up_at >= $2 AND u.removed_at IS NULL \
           AND lower(u.email) = lower(s.email) ORDER BY s.okta_id",
    )
    .bind(slack_id)
    .bind(since)
    .fetch_all(db.pool())
    .await?)
}

/// The people who may decide request `id` (named, or members of named groups), active and with
/// an email, at most `limit`: (Okta id, email).
pub async fn approvers_with_email(
    db: &Db,
    id: i64,
    limit: i64,
) -> Result<Vec<(String, String)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT u.okta_id, u.email FROM users u \
         WHERE u.removed_at IS NULL AND u.status = 'ACTIVE' AND u.email <> '' \
           AND (EXISTS (SELECT 1 FROM request_approvers ra WHERE ra.request_id = $1 \
                  AND ra.kind = 'user' AND ra.ref = u.okta_id) \
             OR EXISTS (SELECT 1 FROM request_approvers ra JOIN memberships m \
                  ON m.group_id = ra.ref WHERE ra.request_id = $1 AND ra.kind = 'group' \
                  AND m.user_id = u.okta_id)) \
         ORDER BY u.okta_id LIMIT $2",
    )
    .bind(id)
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

/// Where Slack put the request card of delivery `notification_id`.
pub async fn record_post(
    db: &Db,
    notification_id: i64,
    channel_id: &str,
    ts: &str,
) -> Result<(), DbError> {
    sqlx::query("UPDATE slack_posts SET channel_id = $2, ts = $3 WHERE notification_id = $1")
        .bind(notification_id)
        .bind(channel_id)
        .bind(ts)
        .execute(db.write_pool())
        .await?;
    Ok(())
}

/// A request card: its delivery and where Slack put it (once posted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    pub notification_id: i64,
    pub channel_id: Option<String>,
    pub ts: Option<String>,
}

/// The cards of request `id`.
pub async fn posts_for_request(db: &Db, id: i64) -> Result<Vec<Post>, DbError> {
    let rows: Vec<(i64, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT notification_id, channel_id, ts FROM slack_posts WHERE request_id = $1 \
         ORDER BY notification_id",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(notification_id, channel_id, ts)| Post {
            notification_id,
            channel_id,
            ts,
        })
        .collect())
}

/// Takes an interaction's signature; false if it was taken before (a replay). Forgets
/// signatures older than `forget_before` (their timestamps are refused anyway).
pub async fn take_signature(
    db: &Db,
    signature: &str,
    now: Timestamp,
    forget_before: Timestamp,
) -> Result<bool, DbError> {
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM slack_replays WHERE seen_at < $1")
        .bind(forget_before)
        .execute(&mut *tx)
        .await?;
    let taken = sqlx::query(
        "INSERT INTO slack_replays (signature, seen_at) VALUES ($1, $2) \
         ON CONFLICT (signature) DO NOTHING",
    )
    .bind(signature)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(taken.rows_affected() == 1)
}

/// Events whose request cards are updated: a new approval and every end of a pending request.
fn moves_a_request(action: &str) -> bool {
    matches!(
        action,
        "request.approval_recorded"
            | "request.approved"
            | "request.denied"
            | "request.expired"
            | "request.cancelled"
    )
}

/// Events that post a request card to the request's approvers (and a channel).
pub fn posts_a_card(action: &str) -> bool {
    matches!(
        action,
        "request.created" | "request.created.extension" | "request.reminder_sent"
    )
}

/// Slack's part of queueing event `seq` (see `notifications::queue_for_event`), when Slack is
/// turned on: a new request's card also goes to the policy's channel (or the default one);
/// every card queued for a request is remembered (to be updated); and when a request moves,
/// one delivery updates all of its cards.
pub async fn queue_for_event(
    tx: &mut Tx,
    seq: i64,
    action: &str,
    subject: &str,
    at: Timestamp,
) -> Result<u64, DbError> {
    let Some(id) = subject
        .strip_prefix("request:")
        .and_then(|id| id.parse::<i64>().ok())
    else {
        return Ok(0);
    };
    if !(posts_a_card(action) || moves_a_request(action)) {
        return Ok(0);
    }
    let settings: Option<Option<String>> =
        sqlx::query_scalar("SELECT default_channel FROM slack_settings WHERE id = 1 AND enabled")
            .fetch_optional(&mut **tx)
            .await?;
    let Some(default_channel) = settings else {
        return Ok(0);
    };
    let insert = "INSERT INTO notifications (event_seq, channel, target, state, next_attempt_at, \
                  created_at) VALUES ($1, 'slack', $2, 'pending', $3, $3) \
                  ON CONFLICT (channel, target, event_seq) DO NOTHING";
    let mut queued = 0;
    if moves_a_request(action) {
        let has_cards: i64 = sqlx::query_scalar(
            "SELECT CAST(CASE WHEN EXISTS (SELECT 1 FROM slack_posts WHERE request_id = $1) \
             THEN 1 ELSE 0 END AS BIGINT)",
        )
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
        if has_cards != 0 {
            queued += sqlx::query(insert)
                .bind(seq)
                .bind(format!("refresh:request:{id}"))
                .bind(at)
                .execute(&mut **tx)
                .await?
                .rows_affected();
        }
        return Ok(queued);
    }
    if action != "request.reminder_sent" {
        let policy: Option<String> =
            sqlx::query_scalar("SELECT policy FROM access_requests WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?;
        let channel = policy
            .and_then(|p| serde_json::from_str::<Policy>(&p).ok())
            .and_then(|p| p.slack_channel)
            .or(default_channel);
        if let Some(channel) = channel {
            queued += sqlx::query(insert)
                .bind(seq)
                .bind(format!("channel:{channel}"))
                .bind(at)
                .execute(&mut **tx)
                .await?
                .rows_affected();
        }
    }
    // Every card of this event (the direct messages queued just before, the channel's).
    sqlx::query(
        "INSERT INTO slack_posts (notification_id, request_id) \
         SELECT n.id, $2 FROM notifications n WHERE n.event_seq = $1 AND n.channel = 'slack' \
         ON CONFLICT (notification_id) DO NOTHING",
    )
    .bind(seq)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(queued)
}

/// The decisions recorded on request `id`, in order: (the approver's name, `approve`/`deny`,
/// comment, when).
pub async fn decisions_of(
    db: &Db,
    id: i64,
) -> Result<Vec<(String, String, String, Timestamp)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT COALESCE(u.display_name, a.approver_id), a.decision, a.comment, a.at \
         FROM approvals a LEFT JOIN users u ON u.okta_id = a.approver_id \
         WHERE a.request_id = $1 ORDER BY a.at, a.approver_id",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?)
}
