//! Browser sessions: tower-sessions backed by Gatepass's own database (either engine), so any
//! replica serves any signed-in person. Cookie `gatepass_session`: HttpOnly, SameSite=Lax,
//! Secure when the public URL is https; expires after a configurable idle time.
//!
//! Rows are keyed by a SHA-256 hash of the session id, never the id itself: someone who can read
//! the database cannot present a stored session as their own. A session that only holds a
//! sign-in in progress (anyone can start one) lives for the sign-in's ten minutes, not the idle
//! timeout of a signed-in session.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;
use tower_sessions::cookie::SameSite;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions::{Expiry, SessionManagerLayer};

use app::model::Timestamp;
use app::ssr::clock::Clock;
use app::ssr::db::sessions::{self, SessionRow};
use app::ssr::db::{Db, DbError};

/// Name of the session cookie; distinct from any identity provider's cookie names.
pub const COOKIE_NAME: &str = "gatepass_session";

/// The session key that marks a signed-in session (set by the sign-in routes).
pub const USER_KEY: &str = "gatepass.user";

/// The session key holding when a signed-in session's idle deadline last moved.
pub const TOUCHED_KEY: &str = "gatepass.touched";

/// A signed-in session's idle deadline moves (its row is written) when it would move by at
/// least this much: one write a minute per active person, not one per request.
pub const TOUCH_EVERY_MS: i64 = 60_000;

/// The database key of a session id: a hash, so stored keys cannot be used as cookies.
pub fn storage_key(id: &Id) -> String {
    app::ssr::sha256_hex(format!("gatepass-session:{id}").as_bytes())
}

/// A [`SessionStore`] over the `sessions` table. The store is the authority on expiry: a
/// session row expires `idle` after it was last saved, by Gatepass's [`Clock`].
#[derive(Debug, Clone)]
pub struct DbSessionStore {
    db: Db,
    clock: Arc<dyn Clock>,
    idle: Duration,
}

impl DbSessionStore {
    pub fn new(db: Db, clock: Arc<dyn Clock>, idle: Duration) -> Self {
        DbSessionStore { db, clock, idle }
    }

    fn encode(&self, record: &Record) -> session_store::Result<SessionRow> {
        let data = serde_json::to_vec(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        let idle = if record.data.contains_key(USER_KEY) {
            time::Duration::try_from(self.idle)
                .map_err(|e| session_store::Error::Encode(e.to_string()))?
        } else {
            time::Duration::seconds(crate::oidc::LOGIN_TTL_SECS)
        };
        Ok(SessionRow {
            data,
            expires_at: Timestamp::from(self.clock.now() + idle),
        })
    }
}

fn backend(e: DbError) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let row = self.encode(record)?;
        // Ids are 128 random bits; a collision is astronomically rare, but never overwrite.
        while !sessions::insert_session(&self.db, &storage_key(&record.id), &row)
            .await
            .map_err(backend)?
        {
            record.id = Id::default();
        }
        Ok(())
    }

    /// Writes an existing session; one deleted meanwhile (signed out, expired) stays deleted.
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let kept =
            sessions::save_session(&self.db, &storage_key(&record.id), &self.encode(record)?)
                .await
                .map_err(backend)?;
        if !kept {
            tracing::debug!("a session ended meanwhile was not saved again");
        }
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let now = self.clock.timestamp();
        let Some(row) = sessions::find_session(&self.db, &storage_key(id), now)
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data = serde_json::from_slice(&row.data)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = OffsetDateTime::from_unix_timestamp_nanos(
            i128::from(row.expires_at.millis()) * 1_000_000,
        )
        .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sessions::delete_session(&self.db, &storage_key(id))
            .await
            .map_err(backend)
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        let removed = sessions::delete_expired_sessions(&self.db, self.clock.timestamp())
            .await
            .map_err(backend)?;
        if removed > 0 {
            tracing::debug!(removed, "expired sessions deleted");
        }
        Ok(())
    }
}

/// Session cookie settings.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    pub idle_timeout: Duration,
    pub secure_cookie: bool,
}

/// The session layer for the router.
pub fn layer(
    store: DbSessionStore,
    settings: &SessionSettings,
) -> SessionManagerLayer<DbSessionStore> {
    let idle = time::Duration::try_from(settings.idle_timeout).unwrap_or(time::Duration::hours(8));
    SessionManagerLayer::new(store)
        .with_name(COOKIE_NAME)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(settings.secure_cookie)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle))
        // Saved when changed; `signin::attach_user` changes a signed-in session at most once a
        // minute (`TOUCHED_KEY`), which moves its idle deadline.
        .with_always_save(false)
}

/// Deletes expired sessions every `period`, until the process ends.
pub fn spawn_cleanup(store: DbSessionStore, period: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        loop {
            tick.tick().await;
            if let Err(e) = store.delete_expired().await {
                tracing::warn!(error = %e, "expired session cleanup failed");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::ssr::clock::ManualClock;
    use app::ssr::testing::each_engine;
    use time::macros::datetime;

    #[tokio::test]
    async fn round_trips_and_expires_records() {
        each_engine(|db| async move {
            let clock = ManualClock::at(datetime!(2026-01-01 00:00 UTC));
            let store = DbSessionStore::new(
                db.clone(),
                Arc::new(clock.clone()),
                Duration::from_secs(3600),
            );
            let mut record = Record {
                id: Id::default(),
                data: [(USER_KEY.to_string(), serde_json::json!({"sub": "00u1"}))].into(),
                expiry_date: datetime!(2026-01-01 01:00 UTC),
            };
            store.create(&mut record).await.unwrap();
            let loaded = store.load(&record.id).await.unwrap().expect("stored");
            assert_eq!(loaded.data, record.data);
            assert_eq!(loaded.expiry_date, record.expiry_date);

            clock.advance(time::Duration::minutes(61));
            assert!(store.load(&record.id).await.unwrap().is_none(), "expired");
            store.delete_expired().await.unwrap();
            clock.advance(time::Duration::minutes(-61));
            assert!(store.load(&record.id).await.unwrap().is_none(), "deleted");
        })
        .await;
    }

    #[tokio::test]
    async fn rows_are_keyed_by_a_hash_and_pending_sign_ins_live_minutes() {
        each_engine(|db| async move {
            let clock = ManualClock::at(datetime!(2026-01-01 00:00 UTC));
            let store = DbSessionStore::new(
                db.clone(),
                Arc::new(clock.clone()),
                Duration::from_secs(8 * 3600),
            );
            let mut pending = Record {
                id: Id::default(),
                data: [("gatepass.pending_login".to_string(), serde_json::json!({}))].into(),
                expiry_date: datetime!(2026-01-01 08:00 UTC),
            };
            store.create(&mut pending).await.unwrap();
            let plain = pending.id.to_string();
            assert!(
                sessions::find_session(&db, &plain, Timestamp::EPOCH)
                    .await
                    .unwrap()
                    .is_none(),
                "the plain id is not a key"
            );
            let row = sessions::find_session(&db, &storage_key(&pending.id), Timestamp::EPOCH)
                .await
                .unwrap()
                .expect("stored under the hash");
            assert_eq!(
                row.expires_at,
                clock.timestamp().plus_secs(crate::oidc::LOGIN_TTL_SECS)
            );
            clock.advance(time::Duration::minutes(11));
            assert!(store.load(&pending.id).await.unwrap().is_none());
        })
        .await;
    }

    #[tokio::test]
    async fn create_never_overwrites_an_existing_id() {
        each_engine(|db| async move {
            let clock = ManualClock::at(datetime!(2026-01-01 00:00 UTC));
            let store = DbSessionStore::new(db.clone(), Arc::new(clock), Duration::from_secs(3600));
            let expiry_date = datetime!(2026-01-02 00:00 UTC);
            let mut first = Record {
                id: Id(42),
                data: Default::default(),
                expiry_date,
            };
            store.create(&mut first).await.unwrap();
            let mut second = Record {
                id: Id(42),
                data: [("k".to_string(), serde_json::json!(1))].into(),
                expiry_date,
            };
            store.create(&mut second).await.unwrap();
            assert_ne!(second.id, Id(42), "a fresh id was chosen");
            assert!(store.load(&Id(42)).await.unwrap().unwrap().data.is_empty());
        })
        .await;
    }
}
