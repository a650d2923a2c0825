//! Test support: fresh, migrated databases on each engine.
//!
//! SQLite always runs. PostgreSQL runs when `GATEPASS_TEST_POSTGRES_URL` names a server whose
//! user may create databases (`make test` starts a throwaway cluster and sets it); with
//! `GATEPASS_TEST_REQUIRE_POSTGRES=1` a missing URL fails the test instead of skipping it.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use secrecy::SecretString;
use sqlx::{Connection, Executor};

use super::db::{Db, DbOptions};
use crate::model::{DatabaseEngine, Timestamp};

/// A migrated database that lives as long as this value (SQLite) or the cluster (PostgreSQL).
pub struct TestDb {
    pub db: Db,
    pub url: SecretString,
    _dir: Option<tempfile::TempDir>,
}

/// The engines the current test run covers.
pub fn engines() -> Vec<DatabaseEngine> {
    let mut engines = vec![DatabaseEngine::Sqlite];
    if std::env::var("GATEPASS_TEST_POSTGRES_URL").is_ok() {
        engines.push(DatabaseEngine::Postgres);
    } else if std::env::var("GATEPASS_TEST_REQUIRE_POSTGRES").as_deref() == Ok("1") {
        panic!("GATEPASS_TEST_REQUIRE_POSTGRES=1 but GATEPASS_TEST_POSTGRES_URL is not set");
    }
    engines
}

/// A fresh, empty, migrated database on `engine`.
pub async fn fresh_db(engine: DatabaseEngine) -> TestDb {
    let (url, dir) = match engine {
        DatabaseEngine::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("gatepass.db").display());
            (url, Some(dir))
        }
        DatabaseEngine::Postgres => (fresh_postgres_database().await, None),
    };
    let url = SecretString::from(url);
    let db = Db::connect(&url, &DbOptions::default())
        .await
        .expect("connect to test database");
    db.migrate().await.expect("migrate test database");
    TestDb { db, url, _dir: dir }
}

/// Runs `test` once per engine, each time on a fresh database.
pub async fn each_engine<F, Fut>(test: F)
where
    F: Fn(Db) -> Fut,
    Fut: Future<Output = ()>,
{
    for engine in engines() {
        eprintln!("-- on {}", engine.label());
        let t = fresh_db(engine).await;
        test(t.db.clone()).await;
        t.db.close().await;
    }
}

async fn fresh_postgres_database() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let admin_url =
        std::env::var("GATEPASS_TEST_POSTGRES_URL").expect("GATEPASS_TEST_POSTGRES_URL");
    let name = format!(
        "gatepass_test_{}_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let mut conn = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("connect to GATEPASS_TEST_POSTGRES_URL");
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create test database");
    conn.close().await.ok();
    let (base, query) = admin_url
        .split_once('?')
        .map_or((admin_url.as_str(), None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Integration settings with an API token held at `secret_ref`, as saved on `org_url`, for tests
/// that need settings without the settings form.
pub fn test_integration(org_url: &str, secret_ref: &str) -> crate::model::IntegrationSettings {
    crate::model::IntegrationSettings {
        org_url: org_url.into(),
        auth_method: crate::model::AuthMethod::ApiToken,
        secret_ref: secret_ref.into(),
        secret_is_local: !secret_ref.starts_with("aws-secretsmanager:"),
        client_id: None,
        key_id: None,
        sync_incremental_minutes: 10,
        sync_full_hours: 24,
        group_name_prefix: None,
        group_types: vec![],
        updated_at: Timestamp::EPOCH,
        updated_by: "test".into(),
    }
}

/// A signed-in person for service tests: `id@example.com`, in the directory, an admin flag
/// that only `Admin::for_tests` callers rely on.
pub fn test_person(id: &str) -> crate::model::Me {
    crate::model::Me {
        okta_id: id.into(),
        login: format!("{id}@example.com"),
        email: format!("{id}@example.com"),
        display_name: id.into(),
        in_directory: true,
        is_admin: true,
    }
}

/// A moto server (AWS emulator) on a free loopback port; stopped when dropped.
///
/// Found through `GATEPASS_TEST_MOTO_SERVER` (path of `moto_server`; `make test` installs it in a
/// venv). Without it the test is skipped, unless `GATEPASS_TEST_REQUIRE_MOTO=1`.
pub struct Moto {
    pub url: String,
    child: std::process::Child,
}

impl Moto {
    pub fn start() -> Option<Moto> {
        let Ok(bin) = std::env::var("GATEPASS_TEST_MOTO_SERVER") else {
            if std::env::var("GATEPASS_TEST_REQUIRE_MOTO").as_deref() == Ok("1") {
                panic!("GATEPASS_TEST_REQUIRE_MOTO=1 but GATEPASS_TEST_MOTO_SERVER is not set");
            }
            eprintln!("skipped: GATEPASS_TEST_MOTO_SERVER is not set");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = std::process::Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Moto {
            url: format!("http://127.0.0.1:{port}"),
            child,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "moto_server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Some(moto)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The instant `n` milliseconds after the epoch: short for fixed instants in tests.
pub fn ms(n: i64) -> crate::model::Timestamp {
    crate::model::Timestamp::from_millis(n)
}
