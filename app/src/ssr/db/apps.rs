//! `apps` and `app_users`: the copy of Okta's ACTIVE applications and of who is assigned to
//! each (directly, `USER`, or only through a group, `GROUP`), kept by the sync and by the grant
//! engine as it assigns and unassigns. Functions taking a transaction run inside the caller's.

use super::{Db, DbError, Tx};
use crate::model::{AppId, GroupId, Timestamp, UserId};

/// An app as Gatepass keeps it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AppRecord {
    pub okta_id: AppId,
    /// Okta's app name (`amazon_aws`, …).
    pub name: String,
    /// What people see.
    pub label: String,
    pub sign_on_mode: String,
    pub status: String,
}

/// Inserts or refreshes an app seen by a sync at `synced_at`, clearing any removal mark.
pub async fn upsert_app(
    db: &Db,
    app: &AppRecord,
    okta_last_updated: Option<Timestamp>,
    synced_at: Timestamp,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO apps (okta_id, name, label, sign_on_mode, status, okta_last_updated, \
           synced_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (okta_id) DO UPDATE SET name = excluded.name, label = excluded.label, \
           sign_on_mode = excluded.sign_on_mode, status = excluded.status, \
           okta_last_updated = excluded.okta_last_updated, synced_at = excluded.synced_at, \
           removed_at = NULL",
    )
    .bind(&app.okta_id)
    .bind(&app.name)
    .bind(&app.label)
    .bind(&app.sign_on_mode)
    .bind(&app.status)
    .bind(okta_last_updated)
    .bind(synced_at)
    .execute(db.write_pool())
    .await?;
    Ok(())
}

/// Marks apps a sync (started at `started`) did not see as removed; returns how many.
pub async fn mark_unseen_apps_removed(db: &Db, started: Timestamp) -> Result<u64, DbError> {
    let done =
        sqlx::query("UPDATE apps SET removed_at = $1 WHERE synced_at < $1 AND removed_at IS NULL")
            .bind(started)
            .execute(db.write_pool())
            .await?;
    Ok(done.rows_affected())
}

/// Records the people a sync found assigned to `app` (Okta id and scope `USER`/`GROUP`) and
/// drops the rows it no longer found (last seen before `started`). People Gatepass does not
/// know (not synced) are skipped. Returns how many rows it kept.
pub async fn replace_app_users(
    db: &Db,
    app: &AppId,
    users: &[(UserId, String)],
    started: Timestamp,
) -> Result<u64, DbError> {
    let mut tx = db.begin_write().await?;
    let mut kept = 0;
    for (user, scope) in users {
        let done = sqlx::query(
            "INSERT INTO app_users (app_id, user_id, scope, source, seen_at) \
             SELECT $1, okta_id, $3, 'okta_sync', $4 FROM users WHERE okta_id = $2 \
             ON CONFLICT (app_id, user_id) DO UPDATE SET scope = excluded.scope, \
               seen_at = excluded.seen_at",
        )
        .bind(app)
        .bind(user)
        .bind(scope)
        .bind(started)
        .execute(&mut *tx)
        .await?;
        kept += done.rows_affected();
    }
    sqlx::query("DELETE FROM app_users WHERE app_id = $1 AND seen_at < $2")
        .bind(app)
        .bind(started)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(kept)
}

/// One present app.
pub async fn find_app(db: &Db, okta_id: &str) -> Result<Option<AppRecord>, DbError> {
    Ok(sqlx::query_as(
        "SELECT okta_id, name, label, sign_on_mode, status FROM apps \
         WHERE okta_id = $1 AND removed_at IS NULL",
    )
    .bind(okta_id)
    .fetch_optional(db.pool())
    .await?)
}

/// Present apps whose label is exactly `label`.
pub async fn apps_labelled(db: &Db, label: &str) -> Result<Vec<AppRecord>, DbError> {
    Ok(sqlx::query_as(
        "SELECT okta_id, name, label, sign_on_mode, status FROM apps \
         WHERE label = $1 AND removed_at IS NULL ORDER BY okta_id LIMIT 5",
    )
    .bind(label)
    .fetch_all(db.pool())
    .await?)
}

/// Every present app, by label.
pub async fn list_apps(db: &Db) -> Result<Vec<AppRecord>, DbError> {
    Ok(sqlx::query_as(
        "SELECT okta_id, name, label, sign_on_mode, status FROM apps \
         WHERE removed_at IS NULL ORDER BY label, okta_id",
    )
    .fetch_all(db.pool())
    .await?)
}

/// How Okta has assigned `user` to `app`, if at all: `USER` or `GROUP`.
pub async fn assignment(db: &Db, app: &GroupId, user: &UserId) -> Result<Option<String>, DbError> {
    Ok(
        sqlx::query_scalar("SELECT scope FROM app_users WHERE app_id = $1 AND user_id = $2")
            .bind(app)
            .bind(user)
            .fetch_optional(db.pool())
            .await?,
    )
}

/// The apps Okta assigns `user` to (directly or through a group), as grant-style ids.
pub async fn app_ids_of(db: &Db, user: &UserId) -> Result<Vec<GroupId>, DbError> {
    Ok(
        sqlx::query_scalar("SELECT app_id FROM app_users WHERE user_id = $1")
            .bind(user)
            .fetch_all(db.pool())
            .await?,
    )
}

/// Notes the direct assignment a grant made.
pub async fn record_assignment(
    tx: &mut Tx,
    app: &GroupId,
    user: &UserId,
    at: Timestamp,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO app_users (app_id, user_id, scope, source, seen_at) \
         SELECT $1, $2, 'USER', 'grant', $3 WHERE EXISTS (SELECT 1 FROM apps WHERE okta_id = $1) \
         ON CONFLICT (app_id, user_id) DO UPDATE SET scope = 'USER', source = 'grant', \
           seen_at = excluded.seen_at",
    )
    .bind(app)
    .bind(user)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Forgets a grant's assignment once Okta removed it.
pub async fn forget_assignment(tx: &mut Tx, app: &GroupId, user: &UserId) -> Result<(), DbError> {
    sqlx::query("DELETE FROM app_users WHERE app_id = $1 AND user_id = $2")
        .bind(app)
        .bind(user)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
