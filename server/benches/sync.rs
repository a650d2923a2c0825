//! A full directory sync of a large org from the Okta simulator, into a fresh database: wall
//! time, Okta calls, bytes written, database size and peak memory; under Okta's default rate
//! limits (with a shorter window, so the run takes seconds, not the better part of an hour)
//! against the floor the configured share of them allows, or with the limits lifted.
//!
//! The floor: the busiest bucket needs N windows at the share (its pages over its share of a
//! window, rounded up); a run that starts as a window opens (the bench waits for one) can end no
//! sooner than the last of them opens, (N - 1) windows later.
//!
//!     cargo bench -p server --bench sync [-- SCALE] [window=SECS | lifted] [share=F]
//!                                        [engine=postgres] [resync]
//!
//! - `SCALE`: `users=100k,groups=10k,memberships=1m` (the default);
//! - `window=SECS` (or a bare number): Okta's per-window limits with this window (default 2 s);
//!   `lifted`: no rate limit at all (100 million calls a window, 1,000 in flight);
//! - `share=F`: the share of each bucket Gatepass may use (default 0.5, as `okta.rate_limit_share`);
//! - `engine=postgres`: PostgreSQL at `GATEPASS_TEST_POSTGRES_URL` (`scripts/with-postgres.sh`)
//!   instead of a SQLite file;
//! - `resync`: a second full sync of the same org into the now-filled database, measured too.
//!
//! `RUST_LOG=app::ssr::services::sync=debug` logs each batch written (rows, milliseconds).
//!
//! The simulator runs in a child process (this binary again), so the figures of this process are
//! the sync's alone: bytes written are what it handed to `write`/`pwrite` (`wchar` in
//! `/proc/self/io`: the database file, its WAL and the few kilobytes of HTTP requests), and the
//! block layer's count (`write_bytes`); on PostgreSQL the WAL the server generated.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::model::{DatabaseEngine, SyncKind};
use app::ssr::clock::SystemClock;
use app::ssr::db::Db;
use app::ssr::okta::client::OktaSettings;
use app::ssr::okta::{OktaClient, OktaCredential};
use app::ssr::secrets::local::LocalSecrets;
use app::ssr::secrets::CachedSecrets;
use app::ssr::services::sync::{DirectorySync, GroupFilter};
use app::ssr::testing::fresh_db;
use okta_sim::edge::{Faults, Limits};
use okta_sim::seed::{self, Scale, SeedFile};
use okta_sim::store::{GroupKind, Org};
use okta_sim::{start, Sim};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sqlx::Connection;

const CHILD: &str = "GATEPASS_BENCH_SYNC_SIM";
const NOW: i64 = 1_700_000_000_000;

/// What the parent asks of the simulator process.
#[derive(Serialize, Deserialize)]
struct SimSpec {
    scale: String,
    limits: Limits,
}

/// What the simulator process reports once it serves.
#[derive(Serialize, Deserialize)]
struct SimReady {
    url: String,
    users: usize,
    groups: usize,
    /// Pages per rate-limit bucket a full sync needs at Gatepass's page sizes.
    user_pages: u64,
    group_pages: u64,
    member_pages: u64,
}

fn proc_field(file: &str, field: &str) -> u64 {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// User + system CPU seconds of a process, from `/proc/<pid>/stat`.
fn cpu_secs(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat; 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

#[derive(Clone, Copy)]
struct Io {
    wchar: u64,
    write_bytes: u64,
    cpu: f64,
}

fn io_now() -> Io {
    Io {
        wchar: proc_field("/proc/self/io", "wchar:"),
        write_bytes: proc_field("/proc/self/io", "write_bytes:"),
        cpu: cpu_secs("self"),
    }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn pages(items: usize, per_page: usize) -> u64 {
    items.div_ceil(per_page).max(1) as u64
}

/// The child: builds the org, serves it, reports, and stops when stdin closes.
fn run_sim(spec: SimSpec) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let mut org = Org::new(1, NOW);
        seed::generate(&mut org, spec.scale.parse::<Scale>().unwrap(), NOW).unwrap();
        let admin: SeedFile = serde_json::from_value(serde_json::json!({
            "users": [{ "login": "bench@example.com", "roles": [{ "type": "SUPER_ADMIN" }] }],
            "tokens": [{ "token": "bench", "user": "bench@example.com" }]
        }))
        .unwrap();
        admin.apply(&mut org, NOW).unwrap();
        let deprovisioned = org
            .users
            .iter()
            .filter(|u| u.status == "DEPROVISIONED")
            .count();
        let ready = SimReady {
            url: String::new(),
            users: org.users.len(),
            groups: org.groups.len(),
            // Users in two passes (DEPROVISIONED only by search), 200 a page.
            user_pages: pages(org.users.len() - deprovisioned, 200) + pages(deprovisioned, 200),
            // Groups 200 a page, plus the group rules.
            group_pages: pages(org.groups.len(), 200) + 1,
            // Members of every non-empty group but Everyone, 1,000 a page.
            member_pages: org
                .groups
                .iter()
                .filter(|g| g.kind != GroupKind::BuiltIn && !g.members.is_empty())
                .map(|g| pages(g.members.len(), 1000))
                .sum(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim = start(
            Sim::new(org, spec.limits, Faults::default(), None),
            listener,
        )
        .unwrap();
        let ready = SimReady {
            url: sim.base_url(),
            ..ready
        };
        println!("{}", serde_json::to_string(&ready).unwrap());
        std::io::stdout().flush().unwrap();
        tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            while std::io::stdin().read_line(&mut sink).unwrap_or(0) > 0 {}
        })
        .await
        .unwrap();
        sim.stop().await;
    });
}

/// Size of the database: the SQLite file (after a checkpoint) or PostgreSQL's.
async fn db_size(engine: DatabaseEngine, url: &SecretString) -> u64 {
    match engine {
        DatabaseEngine::Sqlite => {
            let path = url
                .expose_secret()
                .trim_start_matches("sqlite://")
                .to_owned();
            std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
        }
        DatabaseEngine::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url.expose_secret())
                .await
                .unwrap();
            let size: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
                .fetch_one(&mut conn)
                .await
                .unwrap();
            size as u64
        }
    }
}

/// PostgreSQL's WAL position, to measure what a run wrote.
async fn pg_wal_lsn(url: &SecretString) -> String {
    let mut conn = sqlx::PgConnection::connect(url.expose_secret())
        .await
        .unwrap();
    sqlx::query_scalar("SELECT pg_current_wal_lsn()::text")
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

async fn pg_wal_since(url: &SecretString, lsn: &str) -> u64 {
    let mut conn = sqlx::PgConnection::connect(url.expose_secret())
        .await
        .unwrap();
    let bytes: f64 =
        sqlx::query_scalar("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::float8")
            .bind(lsn)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    bytes as u64
}

/// What the rate limits allow: the windows the busiest bucket needs, of `window` seconds.
#[derive(Clone, Copy)]
struct Floor {
    windows: u64,
    window: u64,
}

impl Floor {
    /// Seconds from the opening of the first window to that of the last.
    fn secs(&self) -> f64 {
        (self.windows.saturating_sub(1) * self.window) as f64
    }

    /// Waits until the simulator's next window opens (windows are aligned to the epoch).
    async fn wait_for_a_window(&self) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let w = self.window as f64;
        let next = ((now / w).floor() + 1.0) * w;
        tokio::time::sleep(Duration::from_secs_f64(next - now + 0.002)).await;
    }
}

/// One measured full sync; the database is closed afterwards (on SQLite: checkpointed).
async fn measured_sync(
    label: &str,
    engine: DatabaseEngine,
    url: &SecretString,
    okta: &OktaClient,
    floor: Option<Floor>,
) {
    let db = Db::connect(url, &app::ssr::db::DbOptions::default())
        .await
        .unwrap();
    let wal_before = match engine {
        DatabaseEngine::Postgres => Some(pg_wal_lsn(url).await),
        DatabaseEngine::Sqlite => None,
    };
    if let Some(floor) = floor {
        floor.wait_for_a_window().await;
    }
    let before = io_now();
    let t = Instant::now();
    let run = DirectorySync {
        db: &db,
        okta,
        clock: &SystemClock,
        filter: GroupFilter::default(),
        holder: "bench".into(),
        progress: &|_| {},
    }
    .run(SyncKind::Full)
    .await
    .unwrap();
    let took = t.elapsed().as_secs_f64();
    db.close().await;
    let after = io_now();
    let size = db_size(engine, url).await;
    let c = &run.counts;
    println!(
        "{label}: {took:.2} s wall, {:.2} s CPU in the syncing process; {} Okta calls",
        after.cpu - before.cpu,
        c.calls
    );
    if let Some(floor) = floor {
        println!(
            "  rate-limit floor {:.1} s (the busiest bucket needs {} windows at the share; the \
             run started as one opened); wall time {:.2}x the floor",
            floor.secs(),
            floor.windows,
            took / floor.secs()
        );
    }
    println!(
        "  seen: {} users, {} groups, {} memberships; removed: {} users, {} groups, {} memberships",
        c.users_seen,
        c.groups_seen,
        c.memberships_seen,
        c.users_removed,
        c.groups_removed,
        c.memberships_removed
    );
    match wal_before {
        Some(lsn) => {
            let wal = pg_wal_since(url, &lsn).await;
            println!(
                "  PostgreSQL WAL written {:.1} MB; database {:.1} MB ({:.2}x its size)",
                mb(wal),
                mb(size),
                wal as f64 / size as f64
            );
        }
        None => {
            let written = after.wchar - before.wchar;
            println!(
                "  written {:.1} MB (write calls; block layer {:.1} MB); database {:.1} MB ({:.2}x its size)",
                mb(written),
                mb(after.write_bytes - before.write_bytes),
                mb(size),
                written as f64 / size as f64
            );
        }
    }
}

fn main() {
    if let Ok(spec) = std::env::var(CHILD) {
        run_sim(serde_json::from_str(&spec).unwrap());
        return;
    }
    // `RUST_LOG=app::ssr::services::sync=debug` shows each batch the sync writes.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let value = |key: &str| {
        args.iter()
            .find_map(|a| a.strip_prefix(&format!("{key}=")).map(str::to_owned))
    };
    let scale = args
        .iter()
        .find(|a| {
            a.starts_with("users=") || a.starts_with("groups=") || a.starts_with("memberships=")
        })
        .cloned()
        .unwrap_or_else(|| "users=100k,groups=10k,memberships=1m".into());
    let lifted = args.iter().any(|a| a == "lifted");
    let window: u64 = value("window")
        .or_else(|| args.iter().find(|a| a.parse::<u64>().is_ok()).cloned())
        .map_or(2, |w| w.parse().expect("window=SECS"));
    let share: f64 = value("share").map_or(0.5, |s| s.parse().expect("share=F"));
    let engine = match value("engine").as_deref() {
        None | Some("sqlite") => DatabaseEngine::Sqlite,
        Some("postgres") => DatabaseEngine::Postgres,
        Some(other) => panic!("engine={other}: expected sqlite or postgres"),
    };
    let resync = args.iter().any(|a| a == "resync");

    // Okta's workforce defaults per window, only the window shorter; or no limit at all.
    let limits = if lifted {
        Limits {
            limits: ["users", "groups", "group", "default"]
                .into_iter()
                .map(|b| (b.to_string(), 100_000_000))
                .collect(),
            concurrency: 1000,
            ..Limits::default()
        }
    } else {
        Limits {
            window_secs: window,
            ..Limits::default()
        }
    };
    let spec = SimSpec {
        scale: scale.clone(),
        limits: limits.clone(),
    };
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(CHILD, serde_json::to_string(&spec).unwrap())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ready: SimReady = serde_json::from_str(&line).expect("the simulator's ready line");
    let sim_pid = child.id().to_string();
    let sim_cpu_before = cpu_secs(&sim_pid);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let t = fresh_db(engine).await;
        t.db.close().await;
        std::env::set_var("GATEPASS_BENCH_TOKEN", "bench");
        let mut settings = OktaSettings::new(
            ready.url.parse().unwrap(),
            OktaCredential::ApiToken {
                token: "env:GATEPASS_BENCH_TOKEN".parse().unwrap(),
            },
        );
        settings.rate_share = share;
        let okta = OktaClient::new(
            settings,
            CachedSecrets::new(None, Arc::new(LocalSecrets), Duration::from_secs(3600)),
        )
        .unwrap();

        // The floor: the windows the busiest bucket needs at the share (a bucket's share is
        // rounded down to whole calls, at least one). A run starting as a window opens can end
        // no sooner than the last of them opens.
        let floor = (!lifted).then(|| {
            let per_window =
                |bucket: &str| (f64::from(limits.limits[bucket]) * share).floor().max(1.0);
            let windows = (ready.user_pages as f64 / per_window("users"))
                .ceil()
                .max((ready.group_pages as f64 / per_window("groups")).ceil())
                .max((ready.member_pages as f64 / per_window("group")).ceil());
            Floor {
                windows: windows as u64,
                window,
            }
        });
        println!(
            "org: {} users, {} groups ({scale}); {}; {} database",
            ready.users,
            ready.groups,
            if lifted {
                "rate limits lifted".to_string()
            } else {
                format!("Okta's per-window limits with a {window} s window, share {share}")
            },
            engine.label()
        );
        println!(
            "pages a full sync needs: users {}, groups {}, members {}",
            ready.user_pages, ready.group_pages, ready.member_pages
        );
        measured_sync(
            "full sync into an empty database",
            engine,
            &t.url,
            &okta,
            floor,
        )
        .await;
        if resync {
            measured_sync(
                "full sync again (nothing changed)",
                engine,
                &t.url,
                &okta,
                floor,
            )
            .await;
        }
        println!(
            "memory: peak RSS of the syncing process {} MiB; simulator CPU {:.2} s",
            proc_field("/proc/self/status", "VmHWM:") / 1024,
            cpu_secs(&sim_pid) - sim_cpu_before
        );
    });
    drop(child.stdin.take());
    child.wait().unwrap();
}
