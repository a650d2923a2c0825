//! The notifier: carries the queued deliveries (`notifications`: webhooks, email, Slack) out — durably, like the grant
//! engine: it claims due deliveries with a lease (on PostgreSQL `FOR UPDATE SKIP LOCKED`, so
//! several Gatepass processes share the work), delivers them, and records each outcome under
//! its claim. A crash leaves rows in flight that are taken up again when their lease runs out:
//! delivery is at least once, and a webhook's `webhook-id` (the same on every try) lets its
//! receiver drop repeats. Failures are retried with capped exponential backoff and jitter (an
//! endpoint's `Retry-After` is honoured) up to [`MAX_ATTEMPTS`] tries, then the delivery is
//! failed: shown to admins, who can retry it.

use std::time::Duration;

use futures::StreamExt;
use tokio::task::JoinSet;

use crate::ssr::core::Core;
use crate::ssr::db::notifications::{self as store, Claim, Outcome};
use crate::ssr::db::DbError;
use crate::ssr::delivery::DeliveryError;
use crate::ssr::services::email::deliver_email;
use crate::ssr::services::notifications::deliver_webhook;
use crate::ssr::services::slack::deliver_slack;

/// How long a claimed delivery is ours: longer than a delivery may take
/// ([`DELIVERY_TIMEOUT`](crate::ssr::services::notifications::DELIVERY_TIMEOUT)) plus reading
/// what it needs.
const LEASE_MS: i64 = 30_000;
/// Tries before a delivery is failed (about a day of backoff).
pub const MAX_ATTEMPTS: i64 = 12;
/// Longest wait between tries.
const MAX_BACKOFF_MS: i64 = 3_600_000;
/// Deliveries in flight at once (and claimed by one pass of [`deliver_once`]). Most of a
/// delivery's time is waiting on the other side (an endpoint, Slack, the SMTP server).
const CONCURRENCY: usize = 64;
/// Longest the notifier sleeps without looking for work (events of other processes, and
/// commits that wake nobody).
const IDLE_POLL: Duration = Duration::from_millis(250);

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NotifierReport {
    pub delivered: usize,
    pub retried: usize,
    pub failed: usize,
    /// Deliveries with nobody to deliver to (a person with no Slack account).
    pub skipped: usize,
    /// Claims taken over by another notifier before their outcome was recorded.
    pub lost: usize,
}

enum Done {
    Delivered,
    Skipped,
    Retried,
    Failed,
    Lost,
}

/// Delivers the due deliveries once (up to [`CONCURRENCY`] of them).
pub async fn deliver_once(core: &Core) -> Result<NotifierReport, DbError> {
    let now = core.clock.timestamp();
    let claims = store::claim_notifications(
        &core.db,
        &core.instance,
        now,
        now.plus_millis(LEASE_MS),
        CONCURRENCY as i64,
    )
    .await?;
    let outcomes = futures::stream::iter(claims)
        .map(|claim| deliver(core, claim))
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    let mut report = NotifierReport::default();
    for outcome in outcomes {
        match outcome? {
            Done::Delivered => report.delivered += 1,
            Done::Skipped => report.skipped += 1,
            Done::Retried => report.retried += 1,
            Done::Failed => report.failed += 1,
            Done::Lost => report.lost += 1,
        }
    }
    Ok(report)
}

/// Makes one delivery and records how it went.
async fn deliver(core: &Core, claim: Claim) -> Result<Done, DbError> {
    let result = match claim.channel.as_str() {
        "webhook" => deliver_webhook(core, &claim).await.map(|_| None),
        "email" => deliver_email(core, &claim).await.map(|_| None),
        "slack" => deliver_slack(core, &claim).await,
        other => Err(DeliveryError {
            message: format!("Gatepass has no channel `{other}`"),
            retry: false,
            retry_after: None,
        }),
    };
    let now = core.clock.timestamp();
    let (outcome, done) = match &result {
        Ok(None) => (Outcome::Delivered, Done::Delivered),
        Ok(Some(why)) => (Outcome::Skipped { why }, Done::Skipped),
        Err(e) if e.retry && claim.attempts < MAX_ATTEMPTS => {
            let asked = e
                .retry_after
                .map_or(0, |d| d.as_millis().min(MAX_BACKOFF_MS as u128) as i64);
            let wait = super::backoff_ms(claim.attempts, MAX_BACKOFF_MS).max(asked);
            tracing::warn!(delivery = claim.id, attempts = claim.attempts, error = %e.message, "notifier: a delivery failed; retrying");
            (
                Outcome::Retry {
                    error: &e.message,
                    next: now.plus_millis(wait),
                },
                Done::Retried,
            )
        }
        Err(e) => {
            tracing::error!(delivery = claim.id, attempts = claim.attempts, error = %e.message, "notifier: a delivery failed for good");
            (Outcome::Failed { error: &e.message }, Done::Failed)
        }
    };
    if store::close_claim(&core.db, &claim, outcome, now).await? {
        Ok(done)
    } else {
        tracing::warn!(
            delivery = claim.id,
            "notifier: the delivery's lease was taken over meanwhile; its outcome here is dropped"
        );
        Ok(Done::Lost)
    }
}

/// The notifier's loop; runs until `core.stopping` is cancelled, then lets the deliveries in
/// flight finish (each is bounded by the delivery time-out). It keeps up to [`CONCURRENCY`]
/// deliveries in flight and claims more as they end, so a slow endpoint holds one slot, not
/// everyone's deliveries. Every turn first collects *all* the deliveries that ended, then
/// fills every free slot with one claim: a turn costs a write, so refilling one slot per turn
/// would cap the notifier at one delivery per write however fast the channels answer.
pub async fn run(core: Core) {
    let signal = core.engine.clone();
    let mut in_flight: JoinSet<Result<Done, DbError>> = JoinSet::new();
    while !core.stopping.is_cancelled() {
        while let Some(done) = in_flight.try_join_next() {
            log_ended(done);
        }
        let free = CONCURRENCY - in_flight.len();
        if free > 0 {
            let now = core.clock.timestamp();
            match store::claim_notifications(
                &core.db,
                &core.instance,
                now,
                now.plus_millis(LEASE_MS),
                free as i64,
            )
            .await
            {
                Ok(claims) => {
                    for claim in claims {
                        let core = core.clone();
                        in_flight.spawn(async move { deliver(&core, claim).await });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "notifier: database error"),
            }
        }
        // Sleep until a delivery ends (a slot is free), a commit wakes us, or the next retry
        // is due; at most `IDLE_POLL` (events recorded by other processes). With deliveries
        // in flight, their ends wake us soon enough.
        let wait = if !in_flight.is_empty() {
            IDLE_POLL
        } else {
            match store::next_due(&core.db).await {
                Ok(Some(at)) => Duration::from_millis(
                    (at - core.clock.timestamp()).clamp(0, IDLE_POLL.as_millis() as i64) as u64,
                ),
                _ => IDLE_POLL,
            }
        };
        tokio::select! {
            Some(done) = in_flight.join_next(), if !in_flight.is_empty() => log_ended(done),
            _ = signal.notifier_woken(wait.max(Duration::from_millis(20))) => {}
            _ = core.stopping.cancelled() => {}
        }
    }
    while let Some(done) = in_flight.join_next().await {
        log_ended(done);
    }
}

/// Logs what went wrong with a delivery task that ended (its outcome is recorded already).
fn log_ended(done: Result<Result<Done, DbError>, tokio::task::JoinError>) {
    match done {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "notifier: database error"),
        Err(e) => tracing::error!(error = %e, "notifier: a delivery task failed"),
    }
}
