//! `bundles` and `bundle_groups`: named sets of requestable groups, and the request rows of a
//! bundle request (`access_requests.bundle_id`, `bundle_lead`). Functions taking a transaction
//! run inside the caller's.

use super::{Db, DbError, Tx};
use crate::model::{Bundle, GroupId, RequestId, Timestamp};

/// Inserts a bundle, or replaces the one with its name (its id stays); returns its id.
pub async fn save(
    tx: &mut Tx,
    name: &str,
    description: &str,
    groups: &[GroupId],
    at: Timestamp,
    by: &str,
) -> Result<i64, DbError> {
    let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM bundles WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut **tx)
        .await?;
    let id = match existing {
        Some(id) => {
            sqlx::query(
                "UPDATE bundles SET description = $2, updated_at = $3, updated_by = $4 \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(description)
            .bind(at)
            .bind(by)
            .execute(&mut **tx)
            .await?;
            sqlx::query("DELETE FROM bundle_groups WHERE bundle_id = $1")
                .bind(id)
                .execute(&mut **tx)
                .await?;
            id
        }
        None => {
            sqlx::query_scalar(
                "INSERT INTO bundles (name, description, updated_at, updated_by) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(name)
            .bind(description)
            .bind(at)
            .bind(by)
            .fetch_one(&mut **tx)
            .await?
        }
    };
    for g in groups {
        sqlx::query("INSERT INTO bundle_groups (bundle_id, group_id) VALUES ($1, $2)")
            .bind(id)
            .bind(g)
            .execute(&mut **tx)
            .await?;
    }
    Ok(id)
}

/// Deletes bundle `id` and its policy; whether there was one. Requests already made keep
/// their rows.
pub async fn delete(tx: &mut Tx, id: i64) -> Result<bool, DbError> {
    for sql in [
        "DELETE FROM policies WHERE bundle_id = $1",
        "DELETE FROM bundle_groups WHERE bundle_id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut **tx).await?;
    }
    let done = sqlx::query("DELETE FROM bundles WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() > 0)
}

type Row = (
    i64,
    String,
    String,
    Timestamp,
    String,
    Option<String>,
    Option<String>,
);

/// Folds rows (one per group, ordered by bundle) into bundles.
fn fold(rows: Vec<Row>) -> Vec<Bundle> {
    let mut out: Vec<Bundle> = Vec::new();
    for (id, name, description, at, by, group, group_name) in rows {
        if out.last().is_none_or(|b| b.id != id) {
            out.push(Bundle {
                id,
                name,
                description,
                groups: Vec::new(),
                group_names: Vec::new(),
                updated_at: at,
                updated_by: by,
            });
        }
        if let (Some(b), Some(g)) = (out.last_mut(), group) {
            b.group_names.push(group_name.unwrap_or_else(|| g.clone()));
            b.groups.push(GroupId(g));
        }
    }
    out
}

const SELECT: &str = "SELECT b.id, b.name, b.description, b.updated_at, b.updated_by, \
    bg.group_id, g.name FROM bundles b \
    LEFT JOIN bundle_groups bg ON bg.bundle_id = b.id \
    LEFT JOIN groups g ON g.okta_id = bg.group_id";

/// Every bundle with its groups, by name.
pub async fn list(db: &Db) -> Result<Vec<Bundle>, DbError> {
    let rows: Vec<Row> = sqlx::query_as(&format!("{SELECT} ORDER BY b.name, b.id, g.name"))
        .fetch_all(db.pool())
        .await?;
    Ok(fold(rows))
}

/// One bundle with its groups.
pub async fn find(db: &Db, id: i64) -> Result<Option<Bundle>, DbError> {
    let rows: Vec<Row> = sqlx::query_as(&format!("{SELECT} WHERE b.id = $1 ORDER BY g.name"))
        .bind(id)
        .fetch_all(db.pool())
        .await?;
    Ok(fold(rows).pop())
}

/// One bundle by name.
pub async fn find_by_name(db: &Db, name: &str) -> Result<Option<Bundle>, DbError> {
    let id: Option<i64> = sqlx::query_scalar("SELECT id FROM bundles WHERE name = $1")
        .bind(name)
        .fetch_optional(db.pool())
        .await?;
    match id {
        Some(id) => find(db, id).await,
        None => Ok(None),
    }
}

/// Marks request `id` as part of the request for `bundle` decided on `lead`.
pub async fn tie(tx: &mut Tx, id: RequestId, bundle: i64, lead: RequestId) -> Result<(), DbError> {
    sqlx::query("UPDATE access_requests SET bundle_id = $2, bundle_lead = $3 WHERE id = $1")
        .bind(id)
        .bind(bundle)
        .bind(lead)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The lead of the bundle request `id` belongs to (itself for a lead), if it belongs to one.
pub async fn lead_of(tx: &mut Tx, id: RequestId) -> Result<Option<RequestId>, DbError> {
    let lead: Option<Option<i64>> =
        sqlx::query_scalar("SELECT bundle_lead FROM access_requests WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(lead.flatten().map(RequestId))
}

/// The bundle request `id` was part of, if any.
pub async fn bundle_id_of(tx: &mut Tx, id: RequestId) -> Result<Option<i64>, DbError> {
    let bundle: Option<Option<i64>> =
        sqlx::query_scalar("SELECT bundle_id FROM access_requests WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(bundle.flatten())
}

/// The other requests of the bundle request led by `lead`, in id order.
pub async fn followers(tx: &mut Tx, lead: RequestId) -> Result<Vec<RequestId>, DbError> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM access_requests WHERE bundle_lead = $1 AND id <> $1 ORDER BY id",
    )
    .bind(lead)
    .fetch_all(&mut **tx)
    .await?;
    Ok(ids.into_iter().map(RequestId).collect())
}

/// The live grants (scheduled or active) of the bundle request led by `lead`: their ids.
pub async fn live_grants(
    tx: &mut Tx,
    lead: RequestId,
) -> Result<Vec<crate::model::GrantId>, DbError> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT g.id FROM grants g JOIN access_requests r ON r.id = g.request_id \
         WHERE r.bundle_lead = $1 AND g.state IN ('scheduled', 'active') ORDER BY g.id",
    )
    .bind(lead)
    .fetch_all(&mut **tx)
    .await?;
    Ok(ids.into_iter().map(crate::model::GrantId).collect())
}
