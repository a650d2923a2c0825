//! A full directory sync of a large org from the Okta simulator under Okta's default rate
//! limits (with a shorter window, so the run takes seconds, not the better part of an hour):
//! wall time against the floor the limits set, Okta calls, and memory.
//!
//!     cargo bench -p server --bench sync [-- users=100k,groups=10k,memberships=1m WINDOW_SECS]

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::model::SyncKind;
use app::ssr::clock::SystemClock;
use app::ssr::db::{Db, DbOptions};
use app::ssr::okta::client::OktaSettings;
use app::ssr::okta::{OktaClient, OktaCredential};
use app::ssr::secrets::local::LocalSecrets;
use app::ssr::secrets::CachedSecrets;
use app::ssr::services::sync::{DirectorySync, GroupFilter};
use okta_sim::edge::{Faults, Limits};
use okta_sim::seed::{self, Scale, SeedFile};
use okta_sim::store::Org;
use okta_sim::{start, Sim};
use secrecy::SecretString;

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let scale: Scale = args
        .iter()
        .find(|a| a.contains('='))
        .cloned()
        .unwrap_or_else(|| "users=100k,groups=10k,memberships=1m".into())
        .parse()
        .expect("scale");
    let window: u64 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(2);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let mut org = Org::new(1, 1_700_000_000_000);
        seed::generate(&mut org, scale, 1_700_000_000_000).unwrap();
        let admin: SeedFile = serde_json::from_value(serde_json::json!({
            "users": [{ "login": "bench@example.com", "roles": [{ "type": "SUPER_ADMIN" }] }],
            "tokens": [{ "token": "bench", "user": "bench@example.com" }]
        }))
        .unwrap();
        admin.apply(&mut org, 1_700_000_000_000).unwrap();
        let non_empty_groups = org.groups.iter().skip(1).filter(|g| !g.members.is_empty()).count();
        let users = org.users.len();
        let groups = org.groups.len();
        // Okta's workforce defaults per window; only the window is shorter.
        let limits = Limits { window_secs: window, ..Limits::default() };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim = start(Sim::new(org, limits.clone(), Faults::default(), None), listener).unwrap();

        let dir = tempfile::tempdir().unwrap();
        let url = SecretString::from(format!("sqlite://{}", dir.path().join("bench.db").display()));
        let db = Db::connect(&url, &DbOptions::default()).await.unwrap();
        db.migrate().await.unwrap();
        std::env::set_var("GATEPASS_BENCH_TOKEN", "bench");
        let okta = OktaClient::new(
            OktaSettings::new(
                sim.base_url().parse().unwrap(),
                OktaCredential::ApiToken { token: "env:GATEPASS_BENCH_TOKEN".parse().unwrap() },
            ),
            CachedSecrets::new(None, Arc::new(LocalSecrets), Duration::from_secs(3600)),
        )
        .unwrap();

        // The floor: pages per bucket over what half of each bucket allows per window.
        let share = 0.5;
        let per_window = |bucket: &str| (f64::from(limits.limits[bucket]) * share).floor();
        let user_pages = (users as f64 / 200.0).ceil() + 1.0;
        let group_pages = (groups as f64 / 200.0).ceil() + 1.0;
        let member_pages = non_empty_groups as f64;
        let windows = (user_pages / per_window("users"))
            .max(group_pages / per_window("groups"))
            .max(member_pages / per_window("group"));
        let floor = windows * window as f64;

        let rss_before = rss_kib("VmRSS:");
        let t = Instant::now();
        let run = DirectorySync {
            db: &db,
            okta: &okta,
            clock: &SystemClock,
            filter: GroupFilter::default(),
            holder: "bench".into(),
            progress: &|_| {},
        }
        .run(SyncKind::Full)
        .await
        .unwrap();
        let took = t.elapsed().as_secs_f64();
        let c = &run.counts;
        println!("org: {users} users, {groups} groups, {} memberships; window {window} s with Okta's per-window limits, 50% share", c.memberships_seen);
        println!("full sync: {took:.1} s wall; rate-limit floor {floor:.1} s ({:.0}% above); {} Okta calls", (took / floor - 1.0) * 100.0, c.calls);
        println!("seen: {} users, {} groups, {} memberships", c.users_seen, c.groups_seen, c.memberships_seen);
        println!("memory: RSS {} MiB before the sync (simulator's org loaded), peak {} MiB", rss_before / 1024, rss_kib("VmHWM:") / 1024);
        sim.stop().await;
    });
}
