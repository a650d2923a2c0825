//! The grant engine: carries the queued Okta membership changes (`okta_ops`) out, starts
//! scheduled grants and ends expired ones — durably: everything it needs is in the database,
//! so a crash at any point leaves rows the next start picks up.
//!
//! - **Worker**: claims due operations with a lease (on PostgreSQL `FOR UPDATE SKIP LOCKED`, so
//!   several Gatepass processes share the work; SQLite has one writer), calls Okta (`PUT` /
//!   `DELETE` membership, both idempotent), marks them done. Failures are retried with capped
//!   exponential backoff and jitter; an add that keeps failing is marked dead and its grant
//!   failed (shown to admins); a removal is never given up.
//! - **Scheduler**: sleeps until the earliest start or end of a grant (woken early when a grant
//!   lands or moves), then in one transaction per grant marks it active (queueing the add) or
//!   revoking (queueing the remove).

use std::time::Duration;

use futures::StreamExt;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::model::{AuditAction, GrantState, OpKind, Resource};
use crate::ssr::core::Core;
use crate::ssr::db::{audit, grants, outbox, DbError};
use crate::ssr::okta::{OktaApi, OktaError};

/// How long a claimed operation is ours before another worker may take it. The worker renews
/// the leases of its calls in flight every `HEARTBEAT`, so a call may take longer than this;
/// after a crash, the operation is taken over within it.
const LEASE_MS: i64 = 15_000;
/// How often the worker renews its leases.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// Okta's refusal to unassign an app from a person a group still assigns it to.
const KEPT_BY_GROUP: &str = "E0000046";
/// How often such a removal is tried again.
const KEPT_RECHECK_MS: i64 = 15 * 60_000;
/// Tries before an add is given up (a removal never is).
pub const MAX_ADD_ATTEMPTS: i64 = 8;
/// Longest wait between tries.
const MAX_BACKOFF_MS: i64 = 5 * 60_000;
/// How soon the worker looks again when Okta is not configured or its client cannot be made.
const NO_OKTA_RETRY: Duration = Duration::from_secs(5);
/// Longest the scheduler sleeps without looking again.
const MAX_SLEEP: Duration = Duration::from_secs(30);
/// Operations claimed at once by one pass of [`work_once`].
const BATCH: i64 = 50;
/// Okta calls in flight at once from one worker (the Okta client's own cap applies too).
const CONCURRENCY: usize = 16;
/// How long a stopping worker waits for its calls in flight (by default).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The wait before try number `attempts + 1` of an Okta operation.
pub fn backoff_ms(attempts: i64) -> i64 {
    super::backoff_ms(attempts, MAX_BACKOFF_MS)
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    pub done: usize,
    pub retried: usize,
    pub dead: usize,
    /// Claims taken over by another worker before their outcome was recorded.
    pub lost: usize,
}

/// Works once through the due operations with `okta`.
pub async fn work_once(state: &Core, okta: &dyn OktaApi) -> Result<PassReport, DbError> {
    let now = state.clock.timestamp();
    let ops = outbox::claim_okta_ops(
        &state.db,
        &state.instance,
        now,
        now.plus_millis(LEASE_MS),
        BATCH,
    )
    .await?;
    // Different memberships are independent (claiming keeps one per membership in flight):
    // call Okta for several at once, within the client's own concurrency cap.
    let outcomes = futures::stream::iter(ops)
        .map(|op| apply(state, okta, op))
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    let mut report = PassReport::default();
    for outcome in outcomes {
        match outcome? {
            Outcome::Done => report.done += 1,
            Outcome::Retried => report.retried += 1,
            Outcome::Dead => report.dead += 1,
            Outcome::Lost => report.lost += 1,
        }
    }
    Ok(report)
}

enum Outcome {
    Done,
    Retried,
    Dead,
    /// Another claim replaced this one (the lease ran out); nothing was recorded.
    Lost,
}

/// Carries one claimed operation out and records how it went.
async fn apply(state: &Core, okta: &dyn OktaApi, op: outbox::OktaOp) -> Result<Outcome, DbError> {
    let add = op.kind == OpKind::Add;
    // An add for a grant that ended meanwhile is not applied.
    if add {
        if let Some(grant) = op.grant_id {
            if !grants::grant_is_active(&state.db, grant).await? {
                let now = state.clock.timestamp();
                let kept = record(|| outbox::skip_okta_op(&state.db, &op, now)).await?;
                return Ok(kept_or_lost(kept, Outcome::Done, &op));
            }
        }
    }
    // An app assignment Okta has already, not through Gatepass, is not the grant's to take (its
    // end would remove it). The request path refuses what the directory copy knows of; this
    // asks Okta itself before a grant's first assignment, for what changed since the last sync.
    if add && op.resource == Resource::App && outbox::first_of_grant(&state.db, &op).await? {
        match okta.app_assignment(&op.group_id, &op.user_id).await {
            Ok(Some(scope)) => {
                let reason = format!(
                    "Okta already assigns the person to the app (scope {scope}), not through \
                     Gatepass: the grant does not take that assignment over"
                );
                let now = state.clock.timestamp();
                let kept = record(|| outbox::kill_okta_op(&state.db, &op, &reason, now)).await?;
                return Ok(kept_or_lost(kept, Outcome::Dead, &op));
            }
            Ok(None) => {}
            Err(e) => {
                let now = state.clock.timestamp();
                let reason = describe(&e);
                let next = now.plus_millis(backoff_ms(op.attempts));
                let kept = record(|| outbox::retry_okta_op(&state.db, &op, &reason, next)).await?;
                return Ok(kept_or_lost(kept, Outcome::Retried, &op));
            }
        }
    }
    let result = match (op.resource, add) {
        (Resource::Group, true) => okta.add_member(&op.group_id, &op.user_id).await,
        (Resource::Group, false) => okta.remove_member(&op.group_id, &op.user_id).await,
        (Resource::App, true) => okta.assign_app(&op.group_id, &op.user_id).await,
        (Resource::App, false) => okta.unassign_app(&op.group_id, &op.user_id).await,
    };
    let now = state.clock.timestamp();
    // An app assignment a group still gives is not Gatepass's to take: Okta refuses
    // (E0000046). The grant ends; the grant's own assignment is removed once the group no
    // longer gives the app.
    if let Err(e) = &result {
        if !add && op.resource == Resource::App && e.code() == Some(KEPT_BY_GROUP) {
            let reason = "a group the person belongs to still gives them the app";
            let next = now.plus_millis(KEPT_RECHECK_MS);
            let kept = record(|| outbox::keep_for_group(&state.db, &op, reason, now, next)).await?;
            return Ok(kept_or_lost(kept, Outcome::Retried, &op));
        }
    }
    // Removing what is already gone is done too.
    let result = result.or_else(|e| {
        if !add && e.status() == Some(404) {
            Ok(())
        } else {
            Err(e)
        }
    });
    match result {
        Ok(()) => {
            let kept = record(|| outbox::finish_okta_op(&state.db, &op, now)).await?;
            // Someone's standing may rest on this membership (an admin group).
            state.caches.membership_changed();
            Ok(kept_or_lost(kept, Outcome::Done, &op))
        }
        Err(e) => {
            let permanent = matches!(e.status(), Some(400 | 403 | 404));
            let reason = describe(&e);
            if add && (permanent || op.attempts >= MAX_ADD_ATTEMPTS) {
                tracing::error!(op = op.id, grant = op.grant_id.map(|g| g.0), error = %reason, "okta: adding a membership failed for good");
                let kept = record(|| outbox::kill_okta_op(&state.db, &op, &reason, now)).await?;
                Ok(kept_or_lost(kept, Outcome::Dead, &op))
            } else {
                if add {
                    tracing::warn!(op = op.id, attempts = op.attempts, error = %reason, "okta: adding a membership failed; retrying");
                } else {
                    tracing::error!(op = op.id, grant = op.grant_id.map(|g| g.0), attempts = op.attempts, error = %reason, "okta: REMOVING A MEMBERSHIP FAILED; retrying");
                }
                let next = now.plus_millis(backoff_ms(op.attempts));
                let kept = record(|| outbox::retry_okta_op(&state.db, &op, &reason, next)).await?;
                if kept
                    && !add
                    && op.attempts == crate::ssr::services::drift::REMOVAL_ALARM_ATTEMPTS
                {
                    record(|| outbox::alarm_failing_removal(&state.db, &op, &reason, now)).await?;
                }
                Ok(kept_or_lost(kept, Outcome::Retried, &op))
            }
        }
    }
}

/// The outcome, or `Lost` when the claim had been taken over before it could be recorded.
fn kept_or_lost(kept: bool, outcome: Outcome, op: &outbox::OktaOp) -> Outcome {
    if kept {
        outcome
    } else {
        tracing::warn!(op = op.id, attempts = op.attempts, "grant engine: the operation's lease was taken over meanwhile; its outcome here is dropped");
        Outcome::Lost
    }
}

/// Records an outcome, trying the database again a few times: the call to Okta has been made,
/// and an outcome left unrecorded would keep the operation waiting until its lease runs out.
async fn record<F, Fut, T>(mut write: F) -> Result<T, DbError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, DbError>>,
{
    let mut tries = 0u64;
    loop {
        match write().await {
            Ok(kept) => return Ok(kept),
            Err(e) if tries < 3 => {
                tries += 1;
                tracing::warn!(error = %e, tries, "grant engine: recording an outcome failed; trying again");
                tokio::time::sleep(Duration::from_millis(200 * tries)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

fn describe(e: &OktaError) -> String {
    e.to_string()
}

/// Starts due scheduled grants and ends expired ones; returns how many it moved.
pub async fn schedule_once(state: &Core) -> Result<usize, DbError> {
    let now = state.clock.timestamp();
    let mut moved = 0;
    for listed in grants::due_grants(&state.db, now, 200).await? {
        let mut tx = state.db.begin_write().await?;
        // Read again inside the transaction, and move the grant only as read: an extension
        // that committed since the list was read keeps its new end.
        let Some(g) = grants::find_grant_tx(&mut tx, listed.id).await? else {
            continue;
        };
        let due = (g.state == GrantState::Scheduled && g.starts_at <= now)
            || (g.state == GrantState::Active && g.ends_at <= now);
        if !due {
            continue;
        }
        let (from, to, add, action) =
            if g.state == GrantState::Scheduled && g.starts_at <= now && g.ends_at > now {
                (
                    GrantState::Scheduled,
                    GrantState::Active,
                    true,
                    AuditAction::GrantStarted,
                )
            } else if g.state == GrantState::Scheduled {
                (
                    GrantState::Scheduled,
                    GrantState::Revoked,
                    false,
                    AuditAction::GrantEnded,
                )
            } else {
                (
                    GrantState::Active,
                    GrantState::Revoking,
                    false,
                    AuditAction::GrantExpired,
                )
            };
        if grants::transition_grant_as_read(
            &mut tx,
            g.id,
            from,
            to,
            (!add).then_some("expired"),
            now,
            g.starts_at,
            g.ends_at,
        )
        .await?
        {
            if to != GrantState::Revoked {
                outbox::insert_okta_op(
                    &mut tx,
                    if add { OpKind::Add } else { OpKind::Remove },
                    &g.user_id,
                    (&g.group_id, g.resource),
                    Some(g.id),
                    now,
                )
                .await?;
            }
            audit::insert_audit_event(
                &mut tx,
                now,
                "gatepass",
                action,
                &format!("grant:{}", g.id),
                &serde_json::json!({ "user": g.user_id, "group": g.group_id }),
            )
            .await?;
            moved += 1;
        }
        tx.commit().await?;
    }
    Ok(moved)
}

/// The worker loop. It keeps up to `CONCURRENCY` operations in
/// flight and claims more as each one finishes, so a burst of approvals does not wait for the
/// slowest call of a batch.
///
/// Once `stop` is cancelled it claims nothing more, lets the calls in flight finish for up to
/// `grace`, then abandons the rest and releases their leases, so another Gatepass
/// process (or the next start) takes them up at once rather than when the lease runs out.
pub async fn run_worker(state: Core, stop: CancellationToken, grace: Duration) {
    let signal = state.engine.clone();
    let mut in_flight: JoinSet<Result<Outcome, DbError>> = JoinSet::new();
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.is_cancelled() {
        // Collect every operation that ended, so one claim refills all the free slots.
        while let Some(done) = in_flight.try_join_next() {
            log_ended(done);
        }
        let free = CONCURRENCY - in_flight.len();
        let mut okta_ready = true;
        if free > 0 {
            let okta = match state.integration().current().await {
                Ok(Some(settings)) => state.okta_client(&settings).await.ok(),
                _ => None,
            };
            if let Some(okta) = okta {
                let now = state.clock.timestamp();
                match outbox::claim_okta_ops(
                    &state.db,
                    &state.instance,
                    now,
                    now.plus_millis(LEASE_MS),
                    free as i64,
                )
                .await
                {
                    Ok(ops) => {
                        for op in ops {
                            let (state, okta) = (state.clone(), okta.clone());
                            in_flight.spawn(async move { apply(&state, okta.as_ref(), op).await });
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "grant engine: database error"),
                }
            } else {
                okta_ready = false;
            }
        }
        // Sleep until an operation finishes (a slot is free), a commit queues work, or the
        // next retry is due.
        let wait = if !okta_ready {
            NO_OKTA_RETRY
        } else if in_flight.len() == CONCURRENCY {
            MAX_SLEEP
        } else {
            match outbox::next_op_due(&state.db).await {
                Ok(Some(at)) => Duration::from_millis(
                    (at - state.clock.timestamp()).clamp(0, MAX_SLEEP.as_millis() as i64) as u64,
                ),
                _ => MAX_SLEEP,
            }
        };
        // Due work that could not be claimed (an earlier change of the same membership is in
        // flight elsewhere): look again shortly rather than spin.
        let wait = if wait.is_zero() && in_flight.is_empty() {
            Duration::from_millis(50)
        } else {
            wait
        };
        tokio::select! {
            Some(done) = in_flight.join_next(), if !in_flight.is_empty() => log_ended(done),
            _ = signal.worker_woken() => {}
            _ = stop.cancelled() => {}
            _ = heartbeat.tick(), if !in_flight.is_empty() => {
                let until = state.clock.timestamp().plus_millis(LEASE_MS);
                if let Err(e) = outbox::renew_op_leases(&state.db, &state.instance, until).await {
                    tracing::warn!(error = %e, "grant engine: renewing leases failed");
                }
            }
            _ = tokio::time::sleep(wait), if !wait.is_zero() => {}
        }
    }
    finish_in_flight(&state, in_flight, grace).await;
}

/// Logs what went wrong with an operation task that ended (its outcome is recorded already).
fn log_ended(done: Result<Result<Outcome, DbError>, tokio::task::JoinError>) {
    match done {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "grant engine: database error"),
        Err(e) => tracing::error!(error = %e, "grant engine: an operation task failed"),
    }
}

/// On shutdown: waits up to `grace` for the calls in flight, then abandons the rest and
/// releases their leases (their calls are idempotent; whoever takes them up calls again).
async fn finish_in_flight(
    state: &Core,
    mut in_flight: JoinSet<Result<Outcome, DbError>>,
    grace: Duration,
) {
    let pending = in_flight.len();
    let drained = tokio::time::timeout(grace, async {
        while let Some(done) = in_flight.join_next().await {
            if let Ok(Err(e)) = done {
                tracing::warn!(error = %e, "grant engine: database error");
            }
        }
    })
    .await;
    if drained.is_err() {
        in_flight.abort_all();
        while in_flight.join_next().await.is_some() {}
    }
    let now = state.clock.timestamp();
    match outbox::release_op_leases(&state.db, &state.instance, now).await {
        Ok(0) => tracing::info!(finished = pending, "grant engine stopped"),
        Ok(n) => tracing::info!(
            finished = pending - n as usize,
            released = n,
            "grant engine stopped; operations still in flight were released"
        ),
        Err(e) => tracing::warn!(error = %e, "grant engine: releasing leases failed"),
    }
}

/// The scheduler loop; runs until `state.stopping` is cancelled.
pub async fn run_scheduler(state: Core) {
    let signal = state.engine.clone();
    while !state.stopping.is_cancelled() {
        match schedule_once(&state).await {
            Ok(n) if n > 0 => signal.wake(),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "grant scheduler: database error"),
        }
        let wait = match grants::next_grant_change(&state.db).await {
            Ok(Some(at)) => Duration::from_millis(
                (at - state.clock.timestamp()).clamp(0, MAX_SLEEP.as_millis() as i64) as u64,
            ),
            _ => MAX_SLEEP,
        };
        if !wait.is_zero() {
            tokio::select! {
                _ = signal.scheduler_woken(wait) => {}
                _ = state.stopping.cancelled() => {}
            }
        }
    }
}
