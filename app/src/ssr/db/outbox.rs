//! `okta_ops`, the Okta outbox: membership changes queued in the transaction that decided them,
//! claimed with a lease by the grant engine's workers and closed with their outcome (audited).
//! Outcomes are fenced: only the claim that still holds the lease may record one.

use super::grants::transition_grant;
use super::{Db, DbError, Tx};
use crate::model::{
    AuditAction, GrantId, GrantState, GroupId, OpKind, Resource, Timestamp, UserId,
};

/// Queues an Okta membership change for the grant engine (for a grant, or — a membership
/// found outside Gatepass — for none).
pub async fn insert_okta_op(
    tx: &mut Tx,
    kind: OpKind,
    user_id: &UserId,
    (group_id, resource): (&GroupId, Resource),
    grant_id: Option<GrantId>,
    at: Timestamp,
) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO okta_ops (kind, user_id, group_id, grant_id, state, next_attempt_at, \
           created_at, resource) VALUES ($1, $2, $3, $4, 'pending', $5, $5, $6) RETURNING id",
    )
    .bind(kind.as_str())
    .bind(user_id)
    .bind(group_id)
    .bind(grant_id)
    .bind(at)
    .bind(resource.as_str())
    .fetch_one(&mut **tx)
    .await?)
}

/// Pending Okta operations as (kind, user, group, grant; 0 for a membership made outside
/// Gatepass), oldest first.
pub async fn list_pending_okta_ops(db: &Db) -> Result<Vec<(String, String, String, i64)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT kind, user_id, group_id, COALESCE(grant_id, 0) FROM okta_ops \
         WHERE state = 'pending' ORDER BY id",
    )
    .fetch_all(db.pool())
    .await?)
}

/// The Okta operations of the grants `ids`, oldest first.
pub async fn ops_of_grants(
    db: &Db,
    ids: &[GrantId],
) -> Result<Vec<crate::model::OktaOpView>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    type Row = (
        i64,
        i64,
        String,
        String,
        String,
        i64,
        Option<String>,
        Timestamp,
        Option<Timestamp>,
    );
    let sql = format!(
        "SELECT id, grant_id, kind, resource, state, attempts, last_error, created_at, done_at \
         FROM okta_ops WHERE grant_id IN ({}) ORDER BY id",
        super::placeholders(1, ids.len())
    );
    let mut q = sqlx::query_as::<_, Row>(&sql);
    for id in ids {
        q = q.bind(*id);
    }
    Ok(q.fetch_all(db.pool())
        .await?
        .into_iter()
        .map(
            |(id, grant, kind, resource, state, attempts, last_error, created_at, done_at)| {
                crate::model::OktaOpView {
                    id,
                    grant_id: GrantId(grant),
                    kind,
                    resource: Resource::parse(&resource).unwrap_or_default(),
                    state,
                    attempts,
                    last_error,
                    created_at,
                    done_at,
                }
            },
        )
        .collect())
}

/// A queued Okta membership change, as claimed by a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OktaOp {
    pub id: i64,
    /// Who claimed it (the process's instance id).
    pub owner: String,
    pub kind: OpKind,
    pub user_id: UserId,
    /// The group's id, or the app's.
    pub group_id: GroupId,
    pub resource: Resource,
    pub grant_id: Option<GrantId>,
    /// Tries so far, this one included.
    pub attempts: i64,
}

/// A claimed operation as `claim_okta_ops` returns it: id, kind, user, group or app, grant,
/// attempts, resource.
type ClaimedRow = (i64, String, String, String, Option<i64>, i64, String);

/// Claims up to `limit` due operations for `owner` until `lease_until`: pending ones whose time
/// has come and in-flight ones whose lease ran out (a crashed worker's). An operation waits
/// while an earlier one for the same membership is unfinished, so changes apply in order.
pub async fn claim_okta_ops(
    db: &Db,
    owner: &str,
    now: Timestamp,
    lease_until: Timestamp,
    limit: i64,
) -> Result<Vec<OktaOp>, DbError> {
    let lock = db.skip_locked();
    let rows: Vec<ClaimedRow> = sqlx::query_as(&format!(
        "UPDATE okta_ops SET state = 'in_flight', lease_owner = $1, lease_until = $2, \
           attempts = attempts + 1 \
         WHERE id IN (SELECT o.id FROM okta_ops o \
           WHERE ((o.state = 'pending' AND o.next_attempt_at <= $3) \
                  OR (o.state = 'in_flight' AND o.lease_until < $3)) \
             AND NOT EXISTS (SELECT 1 FROM okta_ops e WHERE e.user_id = o.user_id \
                  AND e.group_id = o.group_id AND e.id < o.id \
                  AND e.state IN ('pending', 'in_flight')) \
           ORDER BY o.id LIMIT $4 {lock}) \
         RETURNING id, kind, user_id, group_id, grant_id, attempts, resource"
    ))
    .bind(owner)
    .bind(lease_until)
    .bind(now)
    .bind(limit)
    .fetch_all(db.write_pool())
    .await?;
    let mut ops: Vec<OktaOp> = rows
        .into_iter()
        .map(
            |(id, kind, user_id, group_id, grant_id, attempts, resource)| OktaOp {
                id,
                owner: owner.to_owned(),
                kind: OpKind::parse(&kind).unwrap_or(OpKind::Remove),
                user_id: UserId(user_id),
                group_id: GroupId(group_id),
                resource: Resource::parse(&resource).unwrap_or_default(),
                grant_id: grant_id.map(GrantId),
                attempts,
            },
        )
        .collect();
    ops.sort_by_key(|o| o.id);
    Ok(ops)
}

/// Outcomes are recorded only while the claim `op` stands for is still the operation's
/// current one — in flight, leased to its owner, not claimed again since (each claim counts an
/// attempt): `… AND state = 'in_flight' AND lease_owner = $3 AND attempts = $4`. An outcome
/// under a lost claim would race the claim that replaced it, so it is dropped.
const STILL_CLAIMED: &str = "state = 'in_flight' AND lease_owner = $3 AND attempts = $4";

/// Ends a claimed operation as `state` (`done` or `dead`, with `error`) inside `tx`; false
/// (nothing changed) if the claim was lost meanwhile.
async fn close_claim(
    tx: &mut Tx,
    op: &OktaOp,
    state: &str,
    error: Option<&str>,
    now: Timestamp,
) -> Result<bool, DbError> {
    let updated = sqlx::query(&format!(
        "UPDATE okta_ops SET state = $5, last_error = COALESCE($6, last_error), done_at = $2, \
           lease_owner = NULL, lease_until = NULL WHERE id = $1 AND {STILL_CLAIMED}"
    ))
    .bind(op.id)
    .bind(now)
    .bind(&op.owner)
    .bind(op.attempts)
    .bind(state)
    .bind(error)
    .execute(&mut **tx)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Marks an operation done; a removal also finishes its grant (revoking → revoked). Returns
/// false (and changes nothing) if the claim was lost meanwhile.
pub async fn finish_okta_op(db: &Db, op: &OktaOp, now: Timestamp) -> Result<bool, DbError> {
    let mut tx = db.begin_write().await?;
    if !close_claim(&mut tx, op, "done", None, now).await? {
        return Ok(false);
    }
    // The directory mirrors what Okta now has, so views and drift checks need not wait for
    // the next sync (which confirms it: a sync only drops rows last seen before it started).
    match (op.resource, op.kind) {
        (Resource::Group, OpKind::Add) => {
            sqlx::query(
                "INSERT INTO memberships (group_id, user_id, source, seen_at, since) \
                 VALUES ($1, $2, 'grant', $3, $3) \
                 ON CONFLICT (group_id, user_id) DO UPDATE SET source = 'grant', \
                   seen_at = excluded.seen_at, \
                   since = COALESCE(memberships.since, excluded.since)",
            )
            .bind(&op.group_id)
            .bind(&op.user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        (Resource::Group, OpKind::Remove) => {
            sqlx::query("DELETE FROM memberships WHERE group_id = $1 AND user_id = $2")
                .bind(&op.group_id)
                .bind(&op.user_id)
                .execute(&mut *tx)
                .await?;
        }
        (Resource::App, OpKind::Add) => {
            super::apps::record_assignment(&mut tx, &op.group_id, &op.user_id, now).await?;
        }
        (Resource::App, OpKind::Remove) => {
            super::apps::forget_assignment(&mut tx, &op.group_id, &op.user_id).await?;
        }
    }
    if op.kind == OpKind::Remove {
        end_revoking(&mut tx, op, now).await?;
    }
    let action = match (op.resource, op.kind) {
        (Resource::Group, OpKind::Add) => AuditAction::MembershipAdded,
        (Resource::Group, OpKind::Remove) => AuditAction::MembershipRemoved,
        (Resource::App, OpKind::Add) => AuditAction::AppAssigned,
        (Resource::App, OpKind::Remove) => AuditAction::AppUnassigned,
    };
    let details = serde_json::json!({ "attempts": op.attempts });
    op_audit(&mut tx, op, action, details, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Whether `op`, on its first try, is to make its grant's first change in Okta: no earlier add
/// of the grant was carried out (an admin's retry of a failed grant counts as a first).
pub async fn first_of_grant(db: &Db, op: &OktaOp) -> Result<bool, DbError> {
    let Some(grant) = op.grant_id else {
        return Ok(false);
    };
    let earlier: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM okta_ops WHERE grant_id = $1 AND id < $2 AND kind = 'add' \
           AND state = 'done'",
    )
    .bind(grant)
    .bind(op.id)
    .fetch_one(db.pool())
    .await?;
    Ok(earlier == 0 && op.attempts == 1)
}

/// Ends the grant of a removal (revoking → revoked); whether it did (false: no grant, or it had
/// ended already).
async fn end_revoking(tx: &mut Tx, op: &OktaOp, now: Timestamp) -> Result<bool, DbError> {
    match op.grant_id {
        Some(grant) => {
            transition_grant(
                tx,
                grant,
                &[GrantState::Revoking],
                GrantState::Revoked,
                None,
                now,
            )
            .await
        }
        None => Ok(false),
    }
}

/// An app unassignment Okta refused because a group still gives the person the app: the grant
/// ends now (revoking → revoked, audited once with `reason`: the person keeps the app through
/// the group), while the removal of the grant's own direct assignment waits until `next_at`
/// and is tried again until the group no longer gives it (its tries start over, so no alarm
/// is raised for it). Returns false (and changes nothing) if the claim was lost meanwhile.
pub async fn keep_for_group(
    db: &Db,
    op: &OktaOp,
    reason: &str,
    now: Timestamp,
    next_at: Timestamp,
) -> Result<bool, DbError> {
    let mut tx = db.begin_write().await?;
    let done = sqlx::query(&format!(
        "UPDATE okta_ops SET state = 'pending', next_attempt_at = $2, last_error = $5, \
           attempts = 0, lease_owner = NULL, lease_until = NULL WHERE id = $1 AND {STILL_CLAIMED}"
    ))
    .bind(op.id)
    .bind(next_at)
    .bind(&op.owner)
    .bind(op.attempts)
    .bind(reason)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    if end_revoking(&mut tx, op, now).await? {
        let details = serde_json::json!({ "reason": reason });
        op_audit(&mut tx, op, AuditAction::AppAssignmentKept, details, now).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Closes an add that was not sent because its grant ended before Okta was called. Returns
/// false (and changes nothing) if the claim was lost meanwhile.
pub async fn skip_okta_op(db: &Db, op: &OktaOp, now: Timestamp) -> Result<bool, DbError> {
    let mut tx = db.begin_write().await?;
    if !close_claim(&mut tx, op, "done", None, now).await? {
        return Ok(false);
    }
    let details = serde_json::json!({ "reason": "the grant ended before Okta was called" });
    op_audit(&mut tx, op, AuditAction::MembershipAddSkipped, details, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Extends the leases of every operation `owner` has in flight to `until` (the worker's
/// heartbeat while its calls run); returns how many.
pub async fn renew_op_leases(db: &Db, owner: &str, until: Timestamp) -> Result<u64, DbError> {
    let done = sqlx::query(
        "UPDATE okta_ops SET lease_until = $2 WHERE lease_owner = $1 AND state = 'in_flight'",
    )
    .bind(owner)
    .bind(until)
    .execute(db.write_pool())
    .await?;
    Ok(done.rows_affected())
}

/// Gives up `owner`'s leases on the operations it has in flight, so they may be claimed again
/// from `now` on (a worker that stops before their calls finished). Returns how many.
pub async fn release_op_leases(db: &Db, owner: &str, now: Timestamp) -> Result<u64, DbError> {
    let done = sqlx::query(
        "UPDATE okta_ops SET lease_until = $2 WHERE lease_owner = $1 AND state = 'in_flight'",
    )
    .bind(owner)
    .bind(now.plus_millis(-1))
    .execute(db.write_pool())
    .await?;
    Ok(done.rows_affected())
}

/// The audit event for what the grant engine did in Okta.
async fn op_audit(
    tx: &mut Tx,
    op: &OktaOp,
    action: AuditAction,
    mut details: serde_json::Value,
    now: Timestamp,
) -> Result<(), DbError> {
    details["user"] = serde_json::json!(op.user_id);
    details[op.resource.as_str()] = serde_json::json!(op.group_id);
    let subject = op
        .grant_id
        .map_or_else(|| format!("okta_op:{}", op.id), |g| format!("grant:{g}"));
    super::audit::insert_audit_event(tx, now, "gatepass", action, &subject, &details).await
}

/// Puts an operation back for another try at `next_at`. Returns false (and changes nothing)
/// if the claim was lost meanwhile.
pub async fn retry_okta_op(
    db: &Db,
    op: &OktaOp,
    error: &str,
    next_at: Timestamp,
) -> Result<bool, DbError> {
    let done = sqlx::query(&format!(
        "UPDATE okta_ops SET state = 'pending', next_attempt_at = $2, last_error = $5, \
           lease_owner = NULL, lease_until = NULL WHERE id = $1 AND {STILL_CLAIMED}"
    ))
    .bind(op.id)
    .bind(next_at)
    .bind(&op.owner)
    .bind(op.attempts)
    .bind(error)
    .execute(db.write_pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records that a removal keeps failing after `op.attempts` tries (it is still retried): an
/// audit event, which alerts the admins.
pub async fn alarm_failing_removal(
    db: &Db,
    op: &OktaOp,
    error: &str,
    now: Timestamp,
) -> Result<(), DbError> {
    let mut tx = db.begin_write().await?;
    let details = serde_json::json!({ "attempts": op.attempts, "error": error });
    op_audit(
        &mut tx,
        op,
        AuditAction::MembershipRemoveFailing,
        details,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Gives an add up: the operation is dead, its grant failed (shown to admins).
pub async fn kill_okta_op(
    db: &Db,
    op: &OktaOp,
    error: &str,
    now: Timestamp,
) -> Result<bool, DbError> {
    let mut tx = db.begin_write().await?;
    if !close_claim(&mut tx, op, "dead", Some(error), now).await? {
        return Ok(false);
    }
    if let Some(grant) = op.grant_id {
        transition_grant(
            &mut tx,
            grant,
            &[GrantState::Active],
            GrantState::Failed,
            Some(error),
            now,
        )
        .await?;
    }
    let details = serde_json::json!({ "attempts": op.attempts, "error": error });
    op_audit(&mut tx, op, AuditAction::MembershipAddFailed, details, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// When the next operation becomes due (a pending one's time, or a lease running out); an
/// operation waiting behind an earlier one for the same membership is not due on its own.
pub async fn next_op_due(db: &Db) -> Result<Option<Timestamp>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT MIN(CASE WHEN o.state = 'pending' THEN o.next_attempt_at ELSE o.lease_until END) \
         FROM okta_ops o WHERE o.state IN ('pending', 'in_flight') \
           AND NOT EXISTS (SELECT 1 FROM okta_ops e WHERE e.user_id = o.user_id \
                AND e.group_id = o.group_id AND e.id < o.id \
                AND e.state IN ('pending', 'in_flight'))",
    )
    .fetch_one(db.pool())
    .await?)
}

/// Operations by state, for tests and metrics: (kind, state, attempts, last error).
pub async fn list_okta_ops(db: &Db) -> Result<Vec<(String, String, i64, Option<String>)>, DbError> {
    Ok(
        sqlx::query_as("SELECT kind, state, attempts, last_error FROM okta_ops ORDER BY id")
            .fetch_all(db.pool())
            .await?,
    )
}

/// Removals still pending after at least `attempts` failed tries: Okta keeps refusing or
/// failing them, and someone has to look.
pub async fn failing_removals(db: &Db, attempts: i64) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM okta_ops WHERE kind = 'remove' AND state IN ('pending', 'in_flight') \
           AND attempts >= $1",
    )
    .bind(attempts)
    .fetch_one(db.pool())
    .await?)
}

/// Okta operations per kind and state.
pub async fn op_counts(db: &Db) -> Result<Vec<(String, String, i64)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT kind, state, COUNT(*) FROM okta_ops GROUP BY kind, state ORDER BY kind, state",
    )
    .fetch_all(db.pool())
    .await?)
}

/// Milliseconds from queueing to done of the last `limit` finished operations of `kind`.
pub async fn op_latencies(db: &Db, kind: &str, limit: i64) -> Result<Vec<i64>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT done_at - created_at FROM okta_ops WHERE kind = $1 AND state = 'done' \
         ORDER BY id DESC LIMIT $2",
    )
    .bind(kind)
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

/// Milliseconds from a grant's end to its membership's removal, for the last `limit` expiries.
pub async fn expiry_lags(db: &Db, limit: i64) -> Result<Vec<i64>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT o.done_at - g.ends_at FROM okta_ops o JOIN grants g ON g.id = o.grant_id \
         WHERE o.kind = 'remove' AND o.state = 'done' AND g.revoked_reason = 'expired' \
         ORDER BY o.id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}
