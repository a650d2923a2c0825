//! `grants`: time-boxed memberships, from scheduled to revoked, and the per-membership lock that
//! serialises changes to one person's access to one group. Functions taking a transaction run
//! inside the caller's.

use super::{Db, DbError, Tx};
use crate::model::{Grant, GrantId, GrantState, GroupId, RequestId, Resource, Timestamp, UserId};

type GrantRow = (
    i64,
    i64,
    String,
    String,
    Timestamp,
    Timestamp,
    String,
    Option<String>,
    String,
);

impl From<GrantRow> for Grant {
    fn from(
        (id, request_id, user_id, group_id, starts_at, ends_at, state, reason, resource): GrantRow,
    ) -> Self {
        Grant {
            id: GrantId(id),
            request_id: RequestId(request_id),
            user_id: UserId(user_id),
            group_id: GroupId(group_id),
            starts_at,
            ends_at,
            state: GrantState::parse(&state).unwrap_or(GrantState::Failed),
            revoked_reason: reason,
            resource: Resource::parse(&resource).unwrap_or_default(),
        }
    }
}

const GRANT_COLUMNS: &str =
    "id, request_id, user_id, group_id, starts_at, ends_at, state, revoked_reason, resource";

/// Inserts a grant; returns its id.
pub async fn insert_grant(tx: &mut Tx, g: &Grant, at: Timestamp) -> Result<GrantId, DbError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO grants (request_id, user_id, group_id, starts_at, ends_at, state, \
           created_at, updated_at, resource) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) \
         RETURNING id",
    )
    .bind(g.request_id)
    .bind(&g.user_id)
    .bind(&g.group_id)
    .bind(g.starts_at)
    .bind(g.ends_at)
    .bind(g.state.as_str())
    .bind(at)
    .bind(g.resource.as_str())
    .fetch_one(&mut **tx)
    .await?)
}

/// The person's live (scheduled or active) grant of a group, if any.
pub async fn live_grant_for(
    tx: &mut Tx,
    user_id: &UserId,
    group_id: &GroupId,
) -> Result<Option<Grant>, DbError> {
    let row: Option<GrantRow> = sqlx::query_as(&format!(
        "SELECT {GRANT_COLUMNS} FROM grants WHERE user_id = $1 AND group_id = $2 \
           AND state IN ('scheduled', 'active') ORDER BY ends_at DESC LIMIT 1"
    ))
    .bind(user_id)
    .bind(group_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(Grant::from))
}

/// The grants of request `id`, oldest first.
pub async fn grants_of_request(db: &Db, id: RequestId) -> Result<Vec<Grant>, DbError> {
    let rows: Vec<GrantRow> = sqlx::query_as(&format!(
        "SELECT {GRANT_COLUMNS} FROM grants WHERE request_id = $1 ORDER BY id"
    ))
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(Grant::from).collect())
}

/// The request of each of the grants `ids` (grant → request), in a query per 500.
pub async fn requests_of_grants(
    db: &Db,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, i64>, DbError> {
    let mut out = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT id, request_id FROM grants WHERE id IN ({})",
            super::placeholders(1, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (i64, i64)>(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        out.extend(q.fetch_all(db.pool()).await?);
    }
    Ok(out)
}

/// One grant.
pub async fn find_grant(db: &Db, id: GrantId) -> Result<Option<Grant>, DbError> {
    let row: Option<GrantRow> =
        sqlx::query_as(&format!("SELECT {GRANT_COLUMNS} FROM grants WHERE id = $1"))
            .bind(id)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(Grant::from))
}

/// One grant, inside a transaction.
pub async fn find_grant_tx(tx: &mut Tx, id: GrantId) -> Result<Option<Grant>, DbError> {
    let row: Option<GrantRow> =
        sqlx::query_as(&format!("SELECT {GRANT_COLUMNS} FROM grants WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row.map(Grant::from))
}

/// Moves a grant's end; false unless it is still scheduled or active.
pub async fn set_grant_end(
    tx: &mut Tx,
    id: GrantId,
    ends_at: Timestamp,
    at: Timestamp,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE grants SET ends_at = $2, updated_at = $3 \
         WHERE id = $1 AND state IN ('scheduled', 'active')",
    )
    .bind(id)
    .bind(ends_at)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves a grant from one of `from` to `to` with a reason; false if it was in none of them.
pub async fn transition_grant(
    tx: &mut Tx,
    id: GrantId,
    from: &[GrantState],
    to: GrantState,
    reason: Option<&str>,
    at: Timestamp,
) -> Result<bool, DbError> {
    let list: Vec<String> = from.iter().map(|s| format!("'{}'", s.as_str())).collect();
    let done = sqlx::query(&format!(
        "UPDATE grants SET state = $2, revoked_reason = COALESCE($3, revoked_reason), \
           updated_at = $4 WHERE id = $1 AND state IN ({})",
        list.join(", ")
    ))
    .bind(id)
    .bind(to.as_str())
    .bind(reason)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A person's grants, live ones first, then the most recent.
pub async fn list_grants_of(db: &Db, user_id: &UserId, limit: i64) -> Result<Vec<Grant>, DbError> {
    let rows: Vec<GrantRow> = sqlx::query_as(&format!(
        "SELECT {GRANT_COLUMNS} FROM grants WHERE user_id = $1 \
         ORDER BY CASE WHEN state IN ('active', 'scheduled') THEN 0 ELSE 1 END, ends_at DESC \
         LIMIT $2"
    ))
    .bind(user_id)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(Grant::from).collect())
}

/// Grants in `state` (any when `None`), ending soonest first.
pub async fn list_grants(
    db: &Db,
    state: Option<GrantState>,
    limit: i64,
) -> Result<Vec<Grant>, DbError> {
    let rows: Vec<GrantRow> = sqlx::query_as(&format!(
        "SELECT {GRANT_COLUMNS} FROM grants WHERE ($1 = '' OR state = $1) ORDER BY ends_at, id LIMIT $2"
    ))
    .bind(state.map(|s| s.as_str()).unwrap_or(""))
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(Grant::from).collect())
}

/// Live grants (scheduled, active, ending, failed) whose group or holder (name or login)
/// contains `needle` (case-insensitive), ending soonest first, `limit` from `offset`.
pub async fn search_live_grants(
    db: &Db,
    needle: &str,
    offset: i64,
    limit: i64,
) -> Result<Vec<Grant>, DbError> {
    let rows: Vec<GrantRow> = sqlx::query_as(&format!(
        "SELECT {} FROM grants g \
         LEFT JOIN groups gr ON gr.okta_id = g.group_id \
         LEFT JOIN apps ap ON ap.okta_id = g.group_id \
         LEFT JOIN users u ON u.okta_id = g.user_id \
         WHERE g.state IN ('active', 'scheduled', 'revoking', 'failed') \
           AND ($1 = '%%' OR LOWER(COALESCE(gr.name, ap.label)) LIKE $1 ESCAPE '\\' OR LOWER(u.display_name) LIKE $1 ESCAPE '\\' \
                OR LOWER(u.login) LIKE $1 ESCAPE '\\') \
         ORDER BY g.ends_at, g.id LIMIT $2 OFFSET $3",
        GRANT_COLUMNS
            .split(", ")
            .map(|c| format!("g.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .bind(super::contains_pattern(needle))
    .bind(limit)
    .bind(offset)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(Grant::from).collect())
}

/// The grants of `group_id` that are scheduled, active, ending or failed, by end.
pub async fn live_grants_of_group(db: &Db, group_id: &GroupId) -> Result<Vec<Grant>, DbError> {
    let rows: Vec<GrantRow> = sqlx::query_as(&format!(
        "SELECT {GRANT_COLUMNS} FROM grants WHERE group_id = $1 \
           AND state IN ('scheduled', 'active', 'revoking', 'failed') ORDER BY ends_at, id"
    ))
    .bind(group_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(Grant::from).collect())
}

/// Whether the grant behind an add is still active (an add for a grant that ended since it
/// was queued must not be applied).
pub async fn grant_is_active(db: &Db, grant_id: GrantId) -> Result<bool, DbError> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM grants WHERE id = $1 AND state = 'active'")
            .bind(grant_id)
            .fetch_one(db.pool())
            .await?;
    Ok(n == 1)
}

/// Grants whose start or end has come at `now`.
pub async fn due_grants(db: &Db, now: Timestamp, limit: i64) -> Result<Vec<Grant>, DbError> {
    let rows: Vec<GrantRow> = sqlx::query_as(&format!(
        "SELECT {GRANT_COLUMNS} FROM grants WHERE (state = 'scheduled' AND starts_at <= $1) \
           OR (state = 'active' AND ends_at <= $1) ORDER BY id LIMIT $2"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(Grant::from).collect())
}

/// The next instant a grant starts or ends.
pub async fn next_grant_change(db: &Db) -> Result<Option<Timestamp>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT MIN(CASE WHEN state = 'scheduled' THEN starts_at ELSE ends_at END) FROM grants \
         WHERE state IN ('scheduled', 'active')",
    )
    .fetch_one(db.pool())
    .await?)
}

/// Grants per state.
pub async fn grant_counts(db: &Db) -> Result<Vec<(String, i64)>, DbError> {
    Ok(
        sqlx::query_as("SELECT state, COUNT(*) FROM grants GROUP BY state ORDER BY state")
            .fetch_all(db.pool())
            .await?,
    )
}

/// Pending requests and live grants of people Okta no longer lists as active (a status other
/// than those `allowed`, or gone from Okta): (`request` or `grant`, its id, the person's status
/// or `REMOVED`), at most `limit`.
pub async fn held_by_inactive_people(
    tx: &mut Tx,
    allowed: &[&str],
    limit: i64,
) -> Result<Vec<(String, i64, String)>, DbError> {
    let list: Vec<String> = allowed.iter().map(|s| format!("'{s}'")).collect();
    let inactive = format!(
        "(u.removed_at IS NOT NULL OR u.status NOT IN ({}))",
        list.join(", ")
    );
    let status = "CASE WHEN u.removed_at IS NOT NULL THEN 'REMOVED' ELSE u.status END";
    Ok(sqlx::query_as(&format!(
        "SELECT 'request', r.id, {status} FROM access_requests r \
           JOIN users u ON u.okta_id = r.requester_id \
          WHERE r.state = 'pending' AND {inactive} \
         UNION ALL \
         SELECT 'grant', g.id, {status} FROM grants g JOIN users u ON u.okta_id = g.user_id \
          WHERE g.state IN ('scheduled', 'active') AND {inactive} \
         LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?)
}

/// Serialises changes to one person's access to one group until the transaction ends. On
/// PostgreSQL a transaction-scoped advisory lock (two requests for the same membership take
/// turns, others run in parallel); SQLite's write transactions already run one at a time.
pub async fn lock_membership(
    tx: &mut Tx,
    user_id: &UserId,
    group_id: &GroupId,
) -> Result<(), DbError> {
    if tx.engine() == crate::model::DatabaseEngine::Postgres {
        sqlx::query("SELECT CAST(pg_advisory_xact_lock(hashtextextended($1, 0)) AS TEXT)")
            .bind(format!("{user_id}/{group_id}"))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Moves a grant from `from` to `to` only if it still starts and ends when the caller read it:
/// the scheduler's check that no extension (or other change) committed meanwhile.
#[allow(clippy::too_many_arguments)]
pub async fn transition_grant_as_read(
    tx: &mut Tx,
    id: GrantId,
    from: GrantState,
    to: GrantState,
    reason: Option<&str>,
    at: Timestamp,
    starts_at: Timestamp,
    ends_at: Timestamp,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE grants SET state = $2, revoked_reason = COALESCE($3, revoked_reason), \
           updated_at = $4 WHERE id = $1 AND state = $5 AND starts_at = $6 AND ends_at = $7",
    )
    .bind(id)
    .bind(to.as_str())
    .bind(reason)
    .bind(at)
    .bind(from.as_str())
    .bind(starts_at)
    .bind(ends_at)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}
