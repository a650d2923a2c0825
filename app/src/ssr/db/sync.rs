//! `sync_runs` (what each directory sync did) and `sync_lock` (one sync at a time across every
//! Gatepass process sharing the database).

use super::{Db, DbError};
use crate::model::{SyncCounts, SyncKind, SyncRun, SyncStatus, Timestamp};

const LOCK: &str = "directory";

/// Takes the sync lock for `holder` until `until` (ms) unless another holder's lease is still
/// running at `now`; true when taken.
pub async fn try_acquire_sync_lock(
    db: &Db,
    holder: &str,
    now: Timestamp,
    until: Timestamp,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "INSERT INTO sync_lock (name, holder, until) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until \
         WHERE sync_lock.until < $4 OR sync_lock.holder = excluded.holder",
    )
    .bind(LOCK)
    .bind(holder)
    .bind(until)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Extends `holder`'s lease; false if it no longer holds the lock.
pub async fn renew_sync_lock(db: &Db, holder: &str, until: Timestamp) -> Result<bool, DbError> {
    let done = sqlx::query("UPDATE sync_lock SET until = $3 WHERE name = $1 AND holder = $2")
        .bind(LOCK)
        .bind(holder)
        .bind(until)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Who holds the sync lock and until when (a lease past its end is free to take).
pub async fn sync_lock_holder(db: &Db) -> Result<Option<(String, Timestamp)>, DbError> {
    Ok(
        sqlx::query_as("SELECT holder, until FROM sync_lock WHERE name = $1")
            .bind(LOCK)
            .fetch_optional(db.pool())
            .await?,
    )
}

/// Gives the lock back.
pub async fn release_sync_lock(db: &Db, holder: &str) -> Result<(), DbError> {
    sqlx::query("DELETE FROM sync_lock WHERE name = $1 AND holder = $2")
        .bind(LOCK)
        .bind(holder)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Records the start of a run; returns its id.
pub async fn insert_sync_run(
    db: &Db,
    kind: SyncKind,
    started_at: Timestamp,
    changes_since: Option<Timestamp>,
) -> Result<i64, DbError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO sync_runs (kind, status, started_at, changes_since) \
         VALUES ($1, 'running', $2, $3) RETURNING id",
    )
    .bind(kind.as_str())
    .bind(started_at)
    .bind(changes_since)
    .fetch_one(db.pool())
    .await?;
    Ok(id)
}

/// Records how a run ended.
pub async fn finish_sync_run(
    db: &Db,
    id: i64,
    finished_at: Timestamp,
    counts: &SyncCounts,
    error: Option<&str>,
) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE sync_runs SET status = $2, finished_at = $3, users_seen = $4, groups_seen = $5, \
           memberships_seen = $6, users_removed = $7, groups_removed = $8, \
           memberships_removed = $9, calls = $10, error = $11 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(
        if error.is_some() {
            SyncStatus::Failed
        } else {
            SyncStatus::Ok
        }
        .as_str(),
    )
    .bind(finished_at)
    .bind(counts.users_seen)
    .bind(counts.groups_seen)
    .bind(counts.memberships_seen)
    .bind(counts.users_removed)
    .bind(counts.groups_removed)
    .bind(counts.memberships_removed)
    .bind(counts.calls)
    .bind(error)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// A `sync_runs` row as selected by [`list_sync_runs`].
type RunRow = (
    i64,
    String,
    String,
    Timestamp,
    Option<Timestamp>,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    Option<String>,
);

/// When the last successful run of any kind started (the next incremental run's baseline).
pub async fn last_successful_sync_start(db: &Db) -> Result<Option<Timestamp>, DbError> {
    let at: Option<Timestamp> =
        sqlx::query_scalar("SELECT MAX(started_at) FROM sync_runs WHERE status = 'ok'")
            .fetch_one(db.pool())
            .await?;
    Ok(at)
}

/// The most recent runs, newest first.
pub async fn list_sync_runs(db: &Db, limit: i64) -> Result<Vec<SyncRun>, DbError> {
    let rows: Vec<RunRow> = sqlx::query_as(
        "SELECT id, kind, status, started_at, finished_at, users_seen, groups_seen, \
           memberships_seen, users_removed, groups_removed, memberships_removed, calls, error \
         FROM sync_runs ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(SyncRun::from).collect())
}

impl From<RunRow> for SyncRun {
    fn from(
        (id, kind, status, started_at, finished_at, us, gs, ms, ur, gr, mr, calls, error): RunRow,
    ) -> Self {
        SyncRun {
            id,
            kind: if kind == "full" {
                SyncKind::Full
            } else {
                SyncKind::Incremental
            },
            status: SyncStatus::parse(&status),
            started_at,
            finished_at,
            counts: SyncCounts {
                users_seen: us,
                groups_seen: gs,
                memberships_seen: ms,
                users_removed: ur,
                groups_removed: gr,
                memberships_removed: mr,
                calls,
            },
            error,
        }
    }
}

/// The latest sync run, as (id, when it finished): changes when a sync starts or ends, so what
/// is derived from the directory can be kept until it does.
pub async fn latest_run(db: &Db) -> Result<Option<(i64, Option<Timestamp>)>, DbError> {
    Ok(
        sqlx::query_as("SELECT id, finished_at FROM sync_runs ORDER BY id DESC LIMIT 1")
            .fetch_optional(db.pool())
            .await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::testing::{each_engine, ms};

    #[tokio::test]
    async fn one_holder_at_a_time_until_the_lease_ends() {
        each_engine(|db| async move {
            assert!(try_acquire_sync_lock(&db, "a", ms(100), ms(200))
                .await
                .unwrap());
            assert!(
                !try_acquire_sync_lock(&db, "b", ms(150), ms(250))
                    .await
                    .unwrap(),
                "a holds it"
            );
            assert!(renew_sync_lock(&db, "a", ms(300)).await.unwrap());
            assert_eq!(
                sync_lock_holder(&db).await.unwrap(),
                Some(("a".to_string(), ms(300)))
            );
            assert!(
                !try_acquire_sync_lock(&db, "b", ms(250), ms(350))
                    .await
                    .unwrap(),
                "renewed"
            );
            assert!(
                try_acquire_sync_lock(&db, "b", ms(301), ms(400))
                    .await
                    .unwrap(),
                "lease over"
            );
            assert!(
                !renew_sync_lock(&db, "a", ms(500)).await.unwrap(),
                "a lost it"
            );
            release_sync_lock(&db, "b").await.unwrap();
            assert_eq!(sync_lock_holder(&db).await.unwrap(), None);
            assert!(try_acquire_sync_lock(&db, "c", ms(302), ms(400))
                .await
                .unwrap());
        })
        .await;
    }

    #[tokio::test]
    async fn runs_are_recorded_and_the_baseline_is_the_last_good_start() {
        each_engine(|db| async move {
            assert_eq!(last_successful_sync_start(&db).await.unwrap(), None);
            let a = insert_sync_run(&db, SyncKind::Full, ms(1_000), None)
                .await
                .unwrap();
            let counts = SyncCounts {
                users_seen: 3,
                calls: 7,
                ..SyncCounts::default()
            };
            finish_sync_run(&db, a, ms(2_000), &counts, None)
                .await
                .unwrap();
            let b = insert_sync_run(&db, SyncKind::Incremental, ms(3_000), Some(ms(1_000)))
                .await
                .unwrap();
            finish_sync_run(
                &db,
                b,
                ms(3_500),
                &SyncCounts::default(),
                Some("Okta could not be reached"),
            )
            .await
            .unwrap();
            assert_eq!(
                last_successful_sync_start(&db).await.unwrap(),
                Some(ms(1_000))
            );
            let runs = list_sync_runs(&db, 10).await.unwrap();
            assert_eq!(runs.len(), 2);
            assert_eq!(
                (runs[0].status.as_str(), runs[0].error.as_deref()),
                ("failed", Some("Okta could not be reached"))
            );
            assert_eq!(
                (
                    runs[1].kind,
                    runs[1].counts.users_seen,
                    runs[1].counts.calls
                ),
                (SyncKind::Full, 3, 7)
            );
        })
        .await;
    }
}
