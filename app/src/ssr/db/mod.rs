//! All SQL lives under this module, one file per table family.
//!
//! One code path serves both engines: sqlx's `Any` driver with portable SQL (`$1` placeholders,
//! instants as BIGINT milliseconds since the epoch). Dialect-specific SQL appears only where the
//! semantics differ, switched on [`Db::engine`].

pub mod apps;
pub mod audit;
pub mod bundles;
pub mod delegations;
pub mod directory;
pub mod drift;
pub mod grants;
pub mod integration;
pub mod notifications;
pub mod outbox;
pub mod policies;
pub mod requests;
pub mod reviews;
#[cfg(test)]
mod schema;
pub mod sessions;
pub mod slack;
pub mod sync;
pub mod tokens;

use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

use crate::error::AppError;
use crate::model::DatabaseEngine;

/// A write transaction (from [`Db::begin_write`]) that knows its engine, so functions that take
/// one need no engine argument and callers outside `db/` never handle sqlx types. It dereferences
/// to the connection the statements run on (`&mut **tx` inside `db/`). Dropped without
/// [`Tx::commit`], it rolls back.
#[derive(Debug)]
pub struct Tx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    engine: DatabaseEngine,
}

impl Tx {
    pub fn engine(&self) -> DatabaseEngine {
        self.engine
    }

    pub async fn commit(self) -> Result<(), DbError> {
        Ok(self.tx.commit().await?)
    }
}

impl std::ops::Deref for Tx {
    type Target = sqlx::AnyConnection;

    fn deref(&self) -> &sqlx::AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }
}

/// `$first, $first+1, …`: `n` numbered parameters for an `IN (…)` list.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A list of ids as stored in one TEXT column (a JSON array of strings).
pub(crate) fn json_list<T: serde::Serialize>(v: &[T]) -> String {
    serde_json::to_string(v).expect("ids serialize")
}

/// A list stored by [`json_list`] (empty if unreadable).
pub(crate) fn parse_list<T: serde::de::DeserializeOwned>(s: &str) -> Vec<T> {
    serde_json::from_str(s).unwrap_or_default()
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Errors of the storage layer. Mapped once into [`AppError`].
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL scheme `{0}`: expected `sqlite:` or `postgres:`")]
    UnsupportedScheme(String),
    #[error("cannot create the database directory {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A case-insensitive `LIKE … ESCAPE '\'` pattern for "contains `needle`" (compare with
/// `LOWER(column)`); LIKE's own wildcards in the needle match themselves (`group_1` finds
/// `group_1`, not `group-1`). An empty needle gives `%%`.
pub(crate) fn contains_pattern(needle: &str) -> String {
    format!("%{}%", like_escaped(&needle.trim().to_lowercase()))
}

/// A `LIKE … ESCAPE '\'` pattern for "starts with `prefix`" (case as given).
pub(crate) fn prefix_pattern(prefix: &str) -> String {
    format!("{}%", like_escaped(prefix))
}

fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match &e {
            DbError::Sqlx(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_))
            | DbError::Sqlx(sqlx::Error::PoolClosed) => {
                tracing::warn!(error = %e, "database unavailable");
                AppError::Unavailable("The database".into())
            }
            _ => {
                tracing::error!(error = %e, "database error");
                AppError::Internal
            }
        }
    }
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct DbOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// A connection pool to Gatepass's database, on either engine.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    /// SQLite: one connection every write transaction goes through, so writers queue in
    /// order (the pool is fair) instead of polling SQLite's busy handler, which under load
    /// lets a writer wait far longer than its turn.
    writer: Option<AnyPool>,
    engine: DatabaseEngine,
    /// Statements and transactions started through this pool (see [`Db::statements`]).
    statements: Arc<AtomicU64>,
}

/// The engine a database URL names, or an error naming the scheme.
pub fn engine_of(url: &str) -> Result<DatabaseEngine, DbError> {
    let scheme = url.split(':').next().unwrap_or_default();
    match scheme {
        "sqlite" => Ok(DatabaseEngine::Sqlite),
        "postgres" | "postgresql" => Ok(DatabaseEngine::Postgres),
        other => Err(DbError::UnsupportedScheme(other.to_string())),
    }
}

impl Db {
    /// Connects (creating a SQLite file and its directory when missing). Does not migrate.
    pub async fn connect(url: &SecretString, options: &DbOptions) -> Result<Db, DbError> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(sqlx::any::install_default_drivers);

        let url = url.expose_secret();
        let engine = engine_of(url)?;
        let url = match engine {
            DatabaseEngine::Sqlite => prepare_sqlite_url(url)?,
            DatabaseEngine::Postgres => url.to_string(),
        };
        let connect_options = AnyConnectOptions::from_str(&url)?;
        let max_connections = match engine {
            // One writer at a time is what SQLite allows; extra connections serve readers.
            DatabaseEngine::Sqlite => options.max_connections.max(2),
            DatabaseEngine::Postgres => options.max_connections,
        };
        let options_for = |max: u32| {
            AnyPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(options.acquire_timeout)
                // Not pinged before each use: that is a round trip per statement (to SQLite's
                // worker thread, or to the PostgreSQL server). A connection a PostgreSQL restart
                // broke fails the one statement it is used for and is then dropped (sqlx pings
                // every connection as it comes back to the pool).
                .test_before_acquire(false)
                .after_connect(move |conn, _meta| {
                    Box::pin(async move {
                        if engine == DatabaseEngine::Sqlite {
                            conn.execute(
                                "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
                                 PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
                            )
                            .await?;
                        }
                        Ok(())
                    })
                })
        };
        let pool = options_for(max_connections)
            .connect_with(connect_options.clone())
            .await?;
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let writer = if engine == DatabaseEngine::Sqlite && !in_memory {
            Some(options_for(1).connect_with(connect_options).await?)
        } else {
            None
        };
        Ok(Db {
            pool,
            writer,
            engine,
            statements: Arc::default(),
        })
    }

    /// Applies every pending migration for this engine. Returns how many were applied.
    pub async fn migrate(&self) -> Result<usize, DbError> {
        let migrator = match self.engine {
            DatabaseEngine::Sqlite => &SQLITE_MIGRATIONS,
            DatabaseEngine::Postgres => &POSTGRES_MIGRATIONS,
        };
        let before = self.applied_migrations().await.unwrap_or(0);
        migrator.run(&self.pool).await?;
        let after = self.applied_migrations().await?;
        Ok(after.saturating_sub(before))
    }

    async fn applied_migrations(&self) -> Result<usize, DbError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as usize)
    }

    /// A trivial round trip: is the database answering?
    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(self.pool()).await?;
        Ok(())
    }

    /// A transaction that is going to write. On SQLite it runs on the writer connection (so
    /// writers take turns in order) and takes the write lock at once, so a later write never
    /// fails because another connection committed in between (a read transaction cannot be
    /// upgraded then). On PostgreSQL it is a plain transaction.
    pub async fn begin_write(&self) -> Result<Tx, DbError> {
        let mut tx = self.write_pool().begin().await?;
        if self.engine == DatabaseEngine::Sqlite {
            sqlx::query("UPDATE sync_lock SET holder = holder WHERE 1 = 0")
                .execute(&mut *tx)
                .await?;
        }
        Ok(Tx {
            tx,
            engine: self.engine,
        })
    }

    pub fn engine(&self) -> DatabaseEngine {
        self.engine
    }

    /// What a claiming subquery adds so that concurrent claimers skip each other's rows:
    /// `FOR UPDATE SKIP LOCKED` on PostgreSQL; nothing on SQLite (one writer at a time).
    pub(crate) fn skip_locked(&self) -> &'static str {
        match self.engine {
            DatabaseEngine::Postgres => "FOR UPDATE SKIP LOCKED",
            DatabaseEngine::Sqlite => "",
        }
    }

    /// The pool, for one statement (counted).
    pub(crate) fn pool(&self) -> &AnyPool {
        self.statements.fetch_add(1, Ordering::Relaxed);
        &self.pool
    }

    /// Where single-statement writes that run often under load go (the grant engine's claims
    /// and retries): SQLite's writer connection, or the pool. Counted as [`Db::pool`].
    pub(crate) fn write_pool(&self) -> &AnyPool {
        self.statements.fetch_add(1, Ordering::Relaxed);
        self.writer.as_ref().unwrap_or(&self.pool)
    }

    /// How many statements (and write transactions, each counted once) have been started
    /// through this pool: tests read it around a page view to bound the queries a page costs.
    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Closes every connection; used at shutdown.
    pub async fn close(&self) {
        if let Some(writer) = &self.writer {
            writer.close().await;
        }
        self.pool.close().await;
    }
}

/// Makes sure a file-backed SQLite URL creates its file, and its directory exists.
fn prepare_sqlite_url(url: &str) -> Result<String, DbError> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = path.is_empty() || path == ":memory:" || query.contains("mode=memory");
    if !in_memory {
        if let Some(dir) = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|source| DbError::CreateDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
    }
    if query.contains("mode=") {
        Ok(url.to_string())
    } else if query.is_empty() {
        Ok(format!("{url}?mode=rwc"))
    } else {
        Ok(format!("{url}&mode=rwc"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_follows_the_scheme() {
        assert_eq!(
            engine_of("sqlite://data/x.db").unwrap(),
            DatabaseEngine::Sqlite
        );
        assert_eq!(
            engine_of("postgres://u@h/db").unwrap(),
            DatabaseEngine::Postgres
        );
        assert_eq!(
            engine_of("postgresql://u@h/db").unwrap(),
            DatabaseEngine::Postgres
        );
        let err = engine_of("mysql://x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unsupported database URL scheme `mysql`: expected `sqlite:` or `postgres:`"
        );
    }

    #[test]
    fn sqlite_urls_create_their_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nested/gatepass.db");
        let url = format!("sqlite://{}", file.display());
        assert_eq!(prepare_sqlite_url(&url).unwrap(), format!("{url}?mode=rwc"));
        assert!(file.parent().unwrap().is_dir());
        assert_eq!(
            prepare_sqlite_url("sqlite://x.db?mode=ro").unwrap(),
            "sqlite://x.db?mode=ro"
        );
        assert_eq!(
            prepare_sqlite_url("sqlite::memory:").unwrap(),
            "sqlite::memory:?mode=rwc"
        );
    }
}
