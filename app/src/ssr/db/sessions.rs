//! `sessions`: browser sessions, so any Gatepass replica can serve any signed-in person.
//! The payload is opaque here (bytes); expiry is a [`Timestamp`].

use super::{Db, DbError};
use crate::model::Timestamp;

/// A stored session payload and when it expires (ms since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub data: Vec<u8>,
    pub expires_at: Timestamp,
}

/// Inserts a new session; `false` when the id is already taken (the caller picks another).
pub async fn insert_session(db: &Db, id: &str, row: &SessionRow) -> Result<bool, DbError> {
    write_row(
        db,
        "INSERT INTO sessions (id, data, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (id) DO NOTHING",
        id,
        row,
    )
    .await
}

/// Runs `sql` with the session's id, data and expiry as `$1`–`$3`; whether it wrote a row.
async fn write_row(db: &Db, sql: &str, id: &str, row: &SessionRow) -> Result<bool, DbError> {
    let done = sqlx::query(sql)
        .bind(id)
        .bind(&row.data)
        .bind(row.expires_at)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces a stored session; false if there is none (deleted by a sign-out or as expired
/// meanwhile: a request that loaded it before cannot bring it back).
pub async fn save_session(db: &Db, id: &str, row: &SessionRow) -> Result<bool, DbError> {
    let sql = "UPDATE sessions SET data = $2, expires_at = $3 WHERE id = $1";
    write_row(db, sql, id, row).await
}

/// The session `id` if it has not expired by `now` (ms).
pub async fn find_session(
    db: &Db,
    id: &str,
    now: Timestamp,
) -> Result<Option<SessionRow>, DbError> {
    let row: Option<(Vec<u8>, Timestamp)> =
        sqlx::query_as("SELECT data, expires_at FROM sessions WHERE id = $1 AND expires_at > $2")
            .bind(id)
            .bind(now)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(|(data, expires_at)| SessionRow { data, expires_at }))
}

/// When each stored session expires, soonest first: how many there are and how long
/// they live, for tests and operators.
pub async fn session_expiries(db: &Db) -> Result<Vec<Timestamp>, DbError> {
    Ok(
        sqlx::query_scalar("SELECT expires_at FROM sessions ORDER BY expires_at")
            .fetch_all(db.pool())
            .await?,
    )
}

/// Deletes one session (sign-out); deleting a missing one is not an error.
pub async fn delete_session(db: &Db, id: &str) -> Result<(), DbError> {
    sqlx::query("DELETE FROM sessions WHERE id = $1")
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Deletes every session expired by `now` (ms); returns how many.
pub async fn delete_expired_sessions(db: &Db, now: Timestamp) -> Result<u64, DbError> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::testing::{each_engine, ms};

    fn row(data: &[u8], expires_at: Timestamp) -> SessionRow {
        SessionRow {
            data: data.to_vec(),
            expires_at,
        }
    }

    #[tokio::test]
    async fn insert_refuses_a_taken_id() {
        each_engine(|db| async move {
            assert!(insert_session(&db, "a", &row(b"{}", ms(10_000)))
                .await
                .unwrap());
            assert!(!insert_session(&db, "a", &row(b"other", ms(20_000)))
                .await
                .unwrap());
            assert_eq!(
                find_session(&db, "a", ms(0)).await.unwrap(),
                Some(row(b"{}", ms(10_000)))
            );
        })
        .await;
    }

    #[tokio::test]
    async fn save_replaces_and_find_ignores_expired() {
        each_engine(|db| async move {
            assert!(!save_session(&db, "s", &row(b"one", ms(1_000)))
                .await
                .unwrap());
            assert_eq!(
                find_session(&db, "s", ms(0)).await.unwrap(),
                None,
                "saving does not create"
            );
            assert!(insert_session(&db, "s", &row(b"one", ms(1_000)))
                .await
                .unwrap());
            assert!(save_session(&db, "s", &row(b"two", ms(2_000)))
                .await
                .unwrap());
            assert_eq!(
                find_session(&db, "s", ms(1_500)).await.unwrap(),
                Some(row(b"two", ms(2_000)))
            );
            assert_eq!(find_session(&db, "s", ms(2_000)).await.unwrap(), None);
            assert_eq!(find_session(&db, "missing", ms(0)).await.unwrap(), None);
        })
        .await;
    }

    #[tokio::test]
    async fn delete_and_cleanup() {
        each_engine(|db| async move {
            for (id, exp) in [("old1", 100), ("old2", 200), ("live", 10_000)] {
                insert_session(&db, id, &row(b"x", ms(exp))).await.unwrap();
            }
            assert_eq!(delete_expired_sessions(&db, ms(200)).await.unwrap(), 2);
            assert_eq!(delete_expired_sessions(&db, ms(200)).await.unwrap(), 0);
            delete_session(&db, "live").await.unwrap();
            delete_session(&db, "live").await.unwrap();
            assert_eq!(find_session(&db, "live", ms(0)).await.unwrap(), None);
            // A request still holding the signed-out session cannot save it back.
            assert!(!save_session(&db, "live", &row(b"x", ms(20_000)))
                .await
                .unwrap());
            assert_eq!(find_session(&db, "live", ms(0)).await.unwrap(), None);
        })
        .await;
    }
}
