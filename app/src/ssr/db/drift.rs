//! `drift_items`, and the comparisons of the directory's memberships (what Okta has, as last
//! synced or changed by the grant engine) with the grants that find drift.

use super::{Db, DbError, Tx};
use crate::model::{
    DatabaseEngine, DriftItem, DriftKind, DriftState, GrantId, GroupId, Timestamp, UserId,
};

/// The Okta operations that make a membership's state uncertain at a sync that started at
/// `$1`: unfinished ones, and ones finished after the sync began (it may have listed the
/// group before or after).
const UNSETTLED: &str = "EXISTS (SELECT 1 FROM okta_ops o WHERE o.user_id = {u} \
    AND o.group_id = {g} AND (o.state IN ('pending', 'in_flight') OR o.done_at >= $1))";

fn unsettled(user: &str, group: &str) -> String {
    UNSETTLED.replace("{u}", user).replace("{g}", group)
}

/// Active group grants whose membership was added in Okta but is not there now, as (grant,
/// user, group); `since` is when the sync that read the directory started. (App assignments
/// are not drift-checked.)
pub async fn missing_memberships(
    db: &Db,
    since: Timestamp,
) -> Result<Vec<(GrantId, UserId, GroupId)>, DbError> {
    Ok(sqlx::query_as(&format!(
        "SELECT g.id, g.user_id, g.group_id FROM grants g \
         WHERE g.state = 'active' AND g.resource = 'group' \
           AND EXISTS (SELECT 1 FROM okta_ops a WHERE a.grant_id = g.id AND a.kind = 'add' \
                         AND a.state = 'done') \
           AND NOT EXISTS (SELECT 1 FROM memberships m \
                             WHERE m.group_id = g.group_id AND m.user_id = g.user_id) \
           AND NOT {} \
         ORDER BY g.id",
        unsettled("g.user_id", "g.group_id")
    ))
    .bind(since)
    .fetch_all(db.pool())
    .await?)
}

/// Memberships of `group_ids` that no active or ending grant accounts for, as (user, group).
pub async fn unmanaged_memberships(
    db: &Db,
    group_ids: &[GroupId],
    since: Timestamp,
) -> Result<Vec<(UserId, GroupId)>, DbError> {
    let mut out = Vec::new();
    for chunk in group_ids.chunks(200) {
        let list = super::placeholders(2, chunk.len());
        let sql = format!(
            "SELECT m.user_id, m.group_id FROM memberships m \
             WHERE m.group_id IN ({list}) \
               AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.user_id = m.user_id \
                                 AND g.group_id = m.group_id \
                                 AND g.state IN ('active', 'revoking')) \
               AND NOT {} \
             ORDER BY m.group_id, m.user_id",
            unsettled("m.user_id", "m.group_id")
        );
        let mut q = sqlx::query_as(&sql).bind(since);
        for id in chunk {
            q = q.bind(id);
        }
        out.extend(q.fetch_all(db.pool()).await?);
    }
    Ok(out)
}

/// A live (open or ignored) drift item, as the comparison needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveItem {
    pub id: i64,
    pub kind: DriftKind,
    pub user_id: UserId,
    pub group_id: GroupId,
    pub grant_id: Option<GrantId>,
    pub state: DriftState,
}

type LiveRow = (i64, String, UserId, GroupId, Option<GrantId>, String);

fn live(r: LiveRow) -> LiveItem {
    LiveItem {
        id: r.0,
        kind: DriftKind::parse(&r.1).unwrap_or(DriftKind::Unmanaged),
        user_id: r.2,
        group_id: r.3,
        grant_id: r.4,
        state: DriftState::parse(&r.5).unwrap_or(DriftState::Open),
    }
}

/// Every open or ignored item.
pub async fn live_items(tx: &mut Tx) -> Result<Vec<LiveItem>, DbError> {
    let rows: Vec<LiveRow> = sqlx::query_as(
        "SELECT id, kind, user_id, group_id, grant_id, state FROM drift_items \
         WHERE state <> 'resolved' ORDER BY id",
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(live).collect())
}

/// One item, locked for the rest of the transaction on PostgreSQL.
pub async fn find_item_tx(tx: &mut Tx, id: i64) -> Result<Option<LiveItem>, DbError> {
    let row: Option<LiveRow> = sqlx::query_as(&format!(
        "SELECT id, kind, user_id, group_id, grant_id, state FROM drift_items WHERE id = $1{}",
        if tx.engine() == DatabaseEngine::Postgres {
            " FOR UPDATE"
        } else {
            ""
        }
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(live))
}

/// Records a new open item; returns its id.
pub async fn insert_item(
    tx: &mut Tx,
    kind: DriftKind,
    user_id: &UserId,
    group_id: &GroupId,
    grant_id: Option<GrantId>,
    at: Timestamp,
) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO drift_items (kind, user_id, group_id, grant_id, state, detected_at) \
         VALUES ($1, $2, $3, $4, 'open', $5) RETURNING id",
    )
    .bind(kind.as_str())
    .bind(user_id)
    .bind(group_id)
    .bind(grant_id)
    .bind(at)
    .fetch_one(&mut **tx)
    .await?)
}

/// Moves a live item to `state` (with `resolution` when resolved), by `who` at `at`.
pub async fn decide_item(
    tx: &mut Tx,
    id: i64,
    state: DriftState,
    resolution: Option<&str>,
    who: &str,
    at: Timestamp,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE drift_items SET state = $2, resolution = $3, decided_by = $4, decided_at = $5 \
         WHERE id = $1 AND state <> 'resolved'",
    )
    .bind(id)
    .bind(state.as_str())
    .bind(resolution)
    .bind(who)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

type ItemRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    Option<i64>,
    String,
    Option<String>,
    Timestamp,
    Option<Timestamp>,
    Option<String>,
);

/// Items in `states`, of one group if given, newest first, with ids below `before` (0: from
/// the newest).
pub async fn list_items(
    db: &Db,
    states: &[DriftState],
    group_id: Option<&str>,
    before: i64,
    limit: i64,
) -> Result<Vec<DriftItem>, DbError> {
    let states = states
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let rows: Vec<ItemRow> = sqlx::query_as(&format!(
        "SELECT d.id, d.kind, d.user_id, COALESCE(u.display_name, d.user_id), d.group_id, \
                COALESCE(g.name, d.group_id), d.grant_id, d.state, d.resolution, d.detected_at, \
                d.decided_at, d.decided_by \
         FROM drift_items d \
         LEFT JOIN users u ON u.okta_id = d.user_id \
         LEFT JOIN groups g ON g.okta_id = d.group_id \
         WHERE d.state IN ({states}) AND ($1 = '' OR d.group_id = $1) AND ($2 = 0 OR d.id < $2) \
         ORDER BY d.id DESC LIMIT $3"
    ))
    .bind(group_id.unwrap_or(""))
    .bind(before)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| DriftItem {
            id: r.0,
            kind: DriftKind::parse(&r.1).unwrap_or(DriftKind::Unmanaged),
            user_id: UserId(r.2),
            user_name: r.3,
            group_id: GroupId(r.4),
            group_name: r.5,
            grant_id: r.6.map(GrantId),
            state: DriftState::parse(&r.7).unwrap_or(DriftState::Open),
            resolution: r.8,
            detected_at: r.9,
            decided_at: r.10,
            decided_by: r.11,
        })
        .collect())
}

/// What the admin banner counts, in one statement: open drift items, removals still pending
/// after at least `attempts` failed tries, failed grants, failed notifications, live
/// emergency grants and emergency activations not yet reviewed.
pub async fn alert_counts(
    db: &Db,
    attempts: i64,
) -> Result<(i64, i64, i64, i64, i64, i64), DbError> {
    Ok(sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM drift_items WHERE state = 'open'), \
                (SELECT COUNT(*) FROM okta_ops WHERE kind = 'remove' \
                   AND state IN ('pending', 'in_flight') AND attempts >= $1), \
                (SELECT COUNT(*) FROM grants WHERE state = 'failed'), \
                (SELECT COUNT(*) FROM notifications WHERE state = 'failed'), \
                (SELECT COUNT(*) FROM grants g JOIN access_requests r ON r.id = g.request_id \
                   WHERE g.state = 'active' AND r.followup IS NOT NULL), \
                (SELECT COUNT(*) FROM access_requests WHERE followup = 'pending')",
    )
    .bind(attempts)
    .fetch_one(db.pool())
    .await?)
}

/// How many items are open and how many ignored.
pub async fn count_live(db: &Db) -> Result<(i64, i64), DbError> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT state, COUNT(*) FROM drift_items WHERE state <> 'resolved' GROUP BY state",
    )
    .fetch_all(db.pool())
    .await?;
    let n = |s: &str| rows.iter().find(|r| r.0 == s).map_or(0, |r| r.1);
    Ok((n("open"), n("ignored")))
}
