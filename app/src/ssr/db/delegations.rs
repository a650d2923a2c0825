//! `delegations`: out-of-office delegates. While a delegation runs, the pending requests its
//! person may decide are routed to the delegate too (a `request_approvers` row with
//! `via = 'delegate:<okta id>'`). Functions taking a transaction run inside the caller's.

use super::{Db, DbError, Tx};
use crate::model::{Delegation, RequestId, Timestamp, UserId};

/// Records a delegation; returns its id.
pub async fn insert(
    tx: &mut Tx,
    user: &UserId,
    delegate: &UserId,
    starts_at: Timestamp,
    ends_at: Timestamp,
    now: Timestamp,
) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO delegations (user_id, delegate_id, starts_at, ends_at, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(user)
    .bind(delegate)
    .bind(starts_at)
    .bind(ends_at)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?)
}

const COLUMNS: &str = "d.id, d.delegate_id, u.display_name, u.login, d.starts_at, d.ends_at";

type Row = (i64, String, String, String, Timestamp, Timestamp);

fn delegation(r: Row) -> Delegation {
    Delegation {
        id: r.0,
        delegate_id: UserId(r.1),
        delegate_name: r.2,
        delegate_login: r.3,
        starts_at: r.4,
        ends_at: r.5,
    }
}

/// `user`'s delegations that have not ended by `now`, soonest first.
pub async fn of_user(db: &Db, user: &UserId, now: Timestamp) -> Result<Vec<Delegation>, DbError> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM delegations d JOIN users u ON u.okta_id = d.delegate_id \
         WHERE d.user_id = $1 AND d.ends_at > $2 ORDER BY d.starts_at, d.id"
    ))
    .bind(user)
    .bind(now)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(delegation).collect())
}

/// Deletes `user`'s delegation `id`; returns it, or `None` when `user` has no such one.
pub async fn delete(tx: &mut Tx, user: &UserId, id: i64) -> Result<Option<Delegation>, DbError> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM delegations d JOIN users u ON u.okta_id = d.delegate_id \
         WHERE d.id = $1 AND d.user_id = $2"
    ))
    .bind(id)
    .bind(user)
    .fetch_optional(&mut **tx)
    .await?;
    if row.is_some() {
        sqlx::query("DELETE FROM delegations WHERE id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(row.map(delegation))
}

/// Who stands in for whom at `now`, among `users`: (away, delegate).
pub async fn delegates_of(
    db: &Db,
    users: &[UserId],
    now: Timestamp,
) -> Result<Vec<(UserId, UserId)>, DbError> {
    let mut out = Vec::new();
    for user in users {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT d.user_id, d.delegate_id FROM delegations d \
               JOIN users u ON u.okta_id = d.delegate_id \
             WHERE d.user_id = $1 AND d.starts_at <= $2 AND d.ends_at > $2 \
               AND u.removed_at IS NULL AND u.status = 'ACTIVE' ORDER BY d.id",
        )
        .bind(user)
        .bind(now)
        .fetch_all(db.pool())
        .await?;
        out.extend(rows.into_iter().map(|(a, d)| (UserId(a), UserId(d))));
    }
    Ok(out)
}

/// Pending requests (all, or only `request`) that a running delegation should reach but does
/// not yet: (request, away, delegate). The person away may decide the request through its
/// policy or an escalation (not as someone's delegate: no chains); the delegate is an active
/// person who is neither the requester nor already routed the request; and nobody stands in
/// for the requester.
pub async fn due(
    tx: &mut Tx,
    now: Timestamp,
    request: Option<RequestId>,
) -> Result<Vec<(RequestId, UserId, UserId)>, DbError> {
    let only = if request.is_some() {
        "AND r.id = $2"
    } else {
        ""
    };
    let sql = format!(
        "SELECT DISTINCT r.id, d.user_id, d.delegate_id FROM access_requests r \
           JOIN delegations d ON d.starts_at <= $1 AND d.ends_at > $1 \
           JOIN users u ON u.okta_id = d.delegate_id \
         WHERE r.state = 'pending' {only} \
           AND d.delegate_id <> r.requester_id AND d.user_id <> r.requester_id \
           AND u.removed_at IS NULL AND u.status = 'ACTIVE' \
           AND EXISTS (SELECT 1 FROM request_approvers ra WHERE ra.request_id = r.id \
             AND (ra.via IS NULL OR ra.via NOT LIKE 'delegate:%') \
             AND ((ra.kind = 'user' AND ra.ref = d.user_id) OR (ra.kind = 'group' AND EXISTS ( \
               SELECT 1 FROM memberships m WHERE m.group_id = ra.ref AND m.user_id = d.user_id)))) \
           AND NOT EXISTS (SELECT 1 FROM request_approvers ra WHERE ra.request_id = r.id \
             AND ra.kind = 'user' AND ra.ref = d.delegate_id) \
         ORDER BY r.id, d.user_id, d.delegate_id"
    );
    let mut query = sqlx::query_as(&sql).bind(now);
    if let Some(id) = request {
        query = query.bind(id);
    }
    let rows: Vec<(i64, String, String)> = query.fetch_all(&mut **tx).await?;
    Ok(rows
        .into_iter()
        .map(|(r, a, d)| (RequestId(r), UserId(a), UserId(d)))
        .collect())
}
