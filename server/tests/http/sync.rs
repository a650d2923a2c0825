//! Directory sync against the Okta simulator, on both database engines: a full sync of a
//! generated org leaves the database equal to Okta; an incremental sync after one change makes
//! a handful of calls and picks it up; deactivation and removals show; one sync at a time; the
//! members of several groups are listed at once, within the share of Okta's rate limits; an
//! interrupted run is recorded failed and marks nothing removed; the lock's lease is renewed
//! while a run lasts.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use app::model::SyncKind;
use app::ssr::clock::{Clock, ManualClock, SystemClock};
use app::ssr::db::directory::{self, UserRecord};
use app::ssr::db::{sync as runs, Db};
use app::ssr::okta::client::OktaSettings;
use app::ssr::okta::{OktaApi, OktaClient, OktaCredential};
use app::ssr::secrets::local::LocalSecrets;
use app::ssr::secrets::CachedSecrets;
use app::ssr::services::sync::{DirectorySync, GroupFilter, SyncError};
use app::ssr::testing::ms;
use app::ssr::testing::{engines, fresh_db};
use okta_sim::edge::{Faults, Limits};
use okta_sim::seed::{self, SeedFile};
use okta_sim::store::{GroupKind, Org};
use okta_sim::{start, RunningSim, Sim};
use serde_json::json;

const TOKEN: &str = "sync-token";

async fn sim(scale: &str) -> RunningSim {
    let now = 1_700_000_000_000;
    let mut org = Org::new(11, now);
    seed::generate(&mut org, scale.parse().unwrap(), now).unwrap();
    let extra: SeedFile = serde_json::from_value(json!({
        "users": [{ "login": "sync-admin@example.com", "roles": [{ "type": "SUPER_ADMIN" }] }],
        "groups": [{ "name": "ruled", "members": [] }],
        "rules": [{ "name": "rule", "groups": ["ruled"] }],
        "tokens": [{ "token": TOKEN, "user": "sync-admin@example.com" }]
    }))
    .unwrap();
    extra.apply(&mut org, now).unwrap();
    // A roomy rate limit: these tests are about what is synced, not about waiting.
    let limits = Limits {
        limits: [
            ("users", 100_000),
            ("groups", 100_000),
            ("group", 100_000),
            ("default", 100_000),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
        concurrency: 1000,
        ..Limits::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start(Sim::new(org, limits, Faults::default(), None), listener).unwrap()
}

fn client(sim: &RunningSim) -> OktaClient {
    std::env::set_var("GATEPASS_TEST_SYNC_TOKEN", TOKEN);
    OktaClient::new(
        OktaSettings::new(
            sim.base_url().parse().unwrap(),
            OktaCredential::ApiToken {
                token: "env:GATEPASS_TEST_SYNC_TOKEN".parse().unwrap(),
            },
        ),
        CachedSecrets::new(None, Arc::new(LocalSecrets), Duration::from_secs(300)),
    )
    .unwrap()
}

async fn sync(
    db: &Db,
    okta: &dyn OktaApi,
    kind: SyncKind,
) -> Result<app::model::SyncRun, SyncError> {
    DirectorySync {
        db,
        okta,
        clock: &SystemClock,
        filter: GroupFilter::default(),
        holder: "test".into(),
        progress: &|_| {},
    }
    .run(kind)
    .await
}

/// Okta's memberships (BUILT_IN excluded) as (group id, user id).
fn okta_memberships(sim: &RunningSim) -> BTreeSet<(String, String)> {
    let org = sim.sim.org.read().unwrap();
    org.groups
        .iter()
        .filter(|g| g.kind != GroupKind::BuiltIn)
        .flat_map(|g| {
            g.members
                .iter()
                .map(|&u| (g.id.clone(), org.users[u as usize].id.clone()))
        })
        .collect()
}

async fn put_member(sim: &RunningSim, group: &str, user: &str, add: bool) {
    let url = format!("{}/api/v1/groups/{group}/users/{user}", sim.base_url());
    let c = reqwest::Client::new();
    let req = if add { c.put(url) } else { c.delete(url) };
    let res = req
        .header("Authorization", format!("SSWS {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
}

#[tokio::test]
async fn full_sync_of_a_generated_org_matches_okta_exactly() {
    let sim = sim("users=5000,groups=500,memberships=50000").await;
    for engine in engines() {
        let t = fresh_db(engine).await;
        // Someone Gatepass knew of who is no longer in Okta.
        directory::upsert_user(
            &t.db,
            &UserRecord {
                okta_id: "00ugone".into(),
                login: "gone@example.com".into(),
                email: "gone@example.com".into(),
                display_name: "Gone".into(),
                status: "ACTIVE".into(),
                profile: Default::default(),
            },
            ms(1),
        )
        .await
        .unwrap();
        let okta = client(&sim);
        let run = sync(&t.db, &okta, SyncKind::Full).await.unwrap();
        assert_eq!(run.kind, SyncKind::Full);

        let ours: BTreeSet<(String, String)> = directory::all_memberships(&t.db)
            .await
            .unwrap()
            .into_iter()
            .collect();
        let theirs = okta_memberships(&sim);
        assert_eq!(theirs.len(), 50_000);
        assert_eq!(ours, theirs, "memberships equal Okta's");

        let users = directory::all_user_statuses(&t.db).await.unwrap();
        let groups = directory::all_groups(&t.db).await.unwrap();
        {
            let org = sim.sim.org.read().unwrap();
            let expected: Vec<(String, String)> = {
                let mut v: Vec<_> = org
                    .users
                    .iter()
                    .map(|u| (u.id.clone(), u.status.clone()))
                    .collect();
                v.sort();
                v
            };
            assert_eq!(
                users, expected,
                "every user, every status (DEPROVISIONED included)"
            );
            assert!(users.iter().any(|(_, s)| s == "DEPROVISIONED"));
            assert_eq!(groups.len(), org.groups.len());
            let ruled = org
                .groups
                .iter()
                .find(|g| g.name == "ruled")
                .unwrap()
                .id
                .clone();
            assert!(
                groups.iter().any(|(id, _, rule)| *id == ruled && *rule),
                "rule-managed marked"
            );
            assert_eq!(
                groups.iter().filter(|(_, t, _)| t == "APP_GROUP").count(),
                50
            );
        }
        assert!(
            directory::find_user(&t.db, "00ugone")
                .await
                .unwrap()
                .is_none(),
            "marked removed"
        );
        assert_eq!(run.counts.users_removed, 1);
        assert_eq!(run.counts.memberships_seen, 50_000);
        // users (2 passes) + groups + rules + one listing per non-empty group.
        assert!(run.counts.calls < 600, "{} calls", run.counts.calls);
        t.db.close().await;
    }
}

#[tokio::test]
async fn incremental_sync_picks_up_one_change_in_a_few_calls() {
    for engine in engines() {
        // A fresh org per engine: every change below is recent to the next run.
        let sim = sim("users=300,groups=40,memberships=1200").await;
        let t = fresh_db(engine).await;
        let okta = client(&sim);
        sync(&t.db, &okta, SyncKind::Full).await.unwrap();

        let quiet = sync(&t.db, &okta, SyncKind::Incremental).await.unwrap();
        assert_eq!(quiet.kind, SyncKind::Incremental);
        // Users, group rules, groups changed (none), Okta's apps.
        assert!(
            quiet.counts.calls <= 4,
            "a quiet org costs {} calls",
            quiet.counts.calls
        );

        let (group, user, other) = {
            let org = sim.sim.org.read().unwrap();
            let g = org
                .groups
                .iter()
                .find(|g| g.kind == GroupKind::Okta && g.name.starts_with("group-"))
                .unwrap();
            let outsider = org
                .users
                .iter()
                .enumerate()
                .find(|(i, _)| !g.members.contains(&(*i as u32)))
                .unwrap()
                .1;
            let member = &org.users[*g.members.iter().next().unwrap() as usize];
            (g.id.clone(), outsider.id.clone(), member.id.clone())
        };
        // One change: users changed (none), group rules, groups changed (one), its members,
        // apps.
        put_member(&sim, &group, &user, true).await;
        let run = sync(&t.db, &okta, SyncKind::Incremental).await.unwrap();
        assert!(
            run.counts.calls <= 5,
            "one change costs {} calls",
            run.counts.calls
        );
        let ours: BTreeSet<_> = directory::all_memberships(&t.db)
            .await
            .unwrap()
            .into_iter()
            .collect();
        assert!(
            ours.contains(&(group.clone(), user.clone())),
            "the addition arrived"
        );
        assert_eq!(ours, okta_memberships(&sim));
        assert_eq!(run.counts.memberships_removed, 0);

        put_member(&sim, &group, &other, false).await;
        let run = sync(&t.db, &okta, SyncKind::Incremental).await.unwrap();
        assert!(
            run.counts.calls <= 5,
            "one change costs {} calls",
            run.counts.calls
        );
        let ours: BTreeSet<_> = directory::all_memberships(&t.db)
            .await
            .unwrap()
            .into_iter()
            .collect();
        assert!(
            !ours.contains(&(group.clone(), other.clone())),
            "the removal arrived"
        );
        assert_eq!(ours, okta_memberships(&sim));
        assert_eq!(run.counts.memberships_removed, 1);

        // Deactivated in Okta: shows as such after the next incremental sync.
        let res = reqwest::Client::new()
            .put(format!("{}/__sim/users/{user}/status", sim.base_url()))
            .json(&json!({ "status": "DEPROVISIONED" }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        sync(&t.db, &okta, SyncKind::Incremental).await.unwrap();
        assert_eq!(
            directory::find_user(&t.db, &user)
                .await
                .unwrap()
                .unwrap()
                .status,
            "DEPROVISIONED"
        );
        t.db.close().await;
    }
}

#[tokio::test]
async fn one_sync_at_a_time_and_failures_are_recorded() {
    let sim = sim("users=20,groups=3,memberships=10").await;
    let t = fresh_db(engines()[0]).await;
    let okta = client(&sim);
    assert!(
        runs::try_acquire_sync_lock(&t.db, "other-replica", ms(0), ms(i64::MAX))
            .await
            .unwrap()
    );
    assert!(matches!(
        sync(&t.db, &okta, SyncKind::Full).await,
        Err(SyncError::Busy)
    ));
    assert!(
        runs::list_sync_runs(&t.db, 10).await.unwrap().is_empty(),
        "nothing ran"
    );
    runs::release_sync_lock(&t.db, "other-replica")
        .await
        .unwrap();

    reqwest::Client::new()
        .put(format!("{}/__sim/faults", sim.base_url()))
        .json(&json!({ "errorRate": 1.0 }))
        .send()
        .await
        .unwrap();
    let mut settings = OktaSettings::new(
        sim.base_url().parse().unwrap(),
        OktaCredential::ApiToken {
            token: "env:GATEPASS_TEST_SYNC_TOKEN".parse().unwrap(),
        },
    );
    settings.max_attempts = 2;
    settings.backoff_base = Duration::from_millis(1);
    let failing = OktaClient::new(
        settings,
        CachedSecrets::new(None, Arc::new(LocalSecrets), Duration::from_secs(1)),
    )
    .unwrap();
    std::env::set_var("GATEPASS_TEST_SYNC_TOKEN", TOKEN);
    let err = sync(&t.db, &failing, SyncKind::Full).await.unwrap_err();
    assert!(err.to_string().contains("500"), "{err}");
    let recorded = runs::list_sync_runs(&t.db, 1).await.unwrap();
    assert_eq!(recorded[0].status.as_str(), "failed");
    assert!(recorded[0].error.as_deref().unwrap().contains("E0000009"));
    // The users listings and the group rules start at once; each gives up after two tries.
    let calls = recorded[0].counts.calls;
    assert!((2..=6).contains(&calls), "{calls} calls");
    assert!(
        runs::try_acquire_sync_lock(&t.db, "next", ms(0), ms(1))
            .await
            .unwrap(),
        "lock released after a failure"
    );
}

async fn control(sim: &RunningSim, path: &str, body: serde_json::Value) {
    let res = reqwest::Client::new()
        .put(format!("{}/__sim/{path}", sim.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{path}");
}

/// The simulator's request log as (path, HTTP status, arrival in ms since the epoch).
async fn requests(sim: &RunningSim) -> Vec<(String, u64, i64)> {
    let v: serde_json::Value = reqwest::get(format!("{}/__sim/requests", sim.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["status"].as_u64().unwrap(),
                r["atMs"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn is_member_listing(path: &str) -> bool {
    path.starts_with("/api/v1/groups/") && path.ends_with("/users")
}

#[tokio::test]
async fn members_of_several_groups_are_listed_at_once() {
    let sim = sim("users=400,groups=48,memberships=2400").await;
    // Every answer takes 100 ms: listed one group at a time, no two listings start within it.
    control(&sim, "faults", json!({ "latencyMs": 100 })).await;
    let t = fresh_db(engines()[0]).await;
    let okta = client(&sim);
    sync(&t.db, &okta, SyncKind::Full).await.unwrap();
    let mut starts: Vec<i64> = requests(&sim)
        .await
        .into_iter()
        .filter(|(path, _, _)| is_member_listing(path))
        .map(|(_, _, at)| at)
        .collect();
    starts.sort();
    assert_eq!(starts.len(), 48);
    let most_at_once = starts
        .iter()
        .map(|&a| starts.iter().filter(|&&b| b >= a && b < a + 50).count())
        .max()
        .unwrap();
    assert!(
        most_at_once >= 4,
        "at most {most_at_once} member listings started within 50 ms"
    );
    let ours: BTreeSet<(String, String)> = directory::all_memberships(&t.db)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(ours, okta_memberships(&sim));
}

#[tokio::test]
async fn a_full_sync_keeps_within_its_share_of_the_rate_limits() {
    let sim = sim("users=300,groups=60,memberships=1200").await;
    // 40 member listings a one-second window; the client takes half (its default share).
    control(
        &sim,
        "rate-limits",
        json!({ "windowSecs": 1, "limits": { "group": 40 } }),
    )
    .await;
    let t = fresh_db(engines()[0]).await;
    let okta = client(&sim);
    sync(&t.db, &okta, SyncKind::Full).await.unwrap();
    let log = requests(&sim).await;
    assert!(
        log.iter().all(|(_, status, _)| *status == 200),
        "never refused"
    );
    let mut per_window = std::collections::BTreeMap::<i64, usize>::new();
    for (_, _, at) in log.iter().filter(|(path, _, _)| is_member_listing(path)) {
        *per_window.entry(at / 1000).or_default() += 1;
    }
    assert_eq!(per_window.values().sum::<usize>(), 60);
    assert!(per_window.values().all(|&n| n <= 20), "{per_window:?}");
    let ours: BTreeSet<(String, String)> = directory::all_memberships(&t.db)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(ours, okta_memberships(&sim));
}

#[tokio::test]
async fn an_interrupted_full_sync_is_recorded_failed_and_marks_nothing_removed() {
    let sim = sim("users=200,groups=20,memberships=400").await;
    control(&sim, "faults", json!({ "latencyMs": 300 })).await;
    for engine in engines() {
        let t = fresh_db(engine).await;
        directory::upsert_user(
            &t.db,
            &UserRecord {
                okta_id: "00ugone".into(),
                login: "gone@example.com".into(),
                email: "gone@example.com".into(),
                display_name: "Gone".into(),
                status: "ACTIVE".into(),
                profile: Default::default(),
            },
            ms(1),
        )
        .await
        .unwrap();
        let okta = client(&sim);
        let stop = Default::default();
        let run = DirectorySync {
            db: &t.db,
            okta: &okta,
            clock: &SystemClock,
            filter: GroupFilter::default(),
            holder: "test".into(),
            progress: &|_| {},
        };
        let running = run.run_until(SyncKind::Full, &stop);
        let interrupt = async {
            // Stopped once it has started.
            while runs::list_sync_runs(&t.db, 1).await.unwrap().is_empty() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            stop.cancel();
        };
        let (result, ()) = tokio::join!(running, interrupt);
        assert!(matches!(result, Err(SyncError::Interrupted)), "{result:?}");
        let recorded = runs::list_sync_runs(&t.db, 1).await.unwrap();
        assert_eq!(recorded[0].status.as_str(), "failed");
        assert!(
            recorded[0].error.as_deref().unwrap().contains("stopped"),
            "{:?}",
            recorded[0].error
        );
        assert!(
            directory::find_user(&t.db, "00ugone")
                .await
                .unwrap()
                .is_some(),
            "nothing marked removed"
        );
        assert_eq!(
            runs::sync_lock_holder(&t.db).await.unwrap(),
            None,
            "lock released"
        );
        t.db.close().await;
    }
}

#[tokio::test]
async fn the_lock_lease_is_renewed_while_a_sync_runs() {
    let sim = sim("users=5,groups=2,memberships=4").await;
    // Slow answers keep the run going while the clock is moved.
    control(&sim, "faults", json!({ "latencyMs": 1000 })).await;
    let t = fresh_db(engines()[0]).await;
    let okta = client(&sim);
    let clock = ManualClock::at(time::OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap());
    let started = clock.timestamp();
    let run = DirectorySync {
        db: &t.db,
        okta: &okta,
        clock: &clock,
        filter: GroupFilter::default(),
        holder: "test".into(),
        progress: &|_| {},
    };
    let lease_end = || async {
        runs::sync_lock_holder(&t.db)
            .await
            .unwrap()
            .map(|(holder, until)| {
                assert_eq!(holder, "test");
                until
            })
    };
    let watch = async {
        while lease_end().await.is_none() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let first = lease_end().await.unwrap();
        // 200 s later by the sync's clock the lease is renewed from then on…
        clock.advance(time::Duration::seconds(200));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while lease_end().await.unwrap() <= first {
            assert!(tokio::time::Instant::now() < deadline, "not renewed");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // …so another process finds it taken after the first lease would have ended.
        clock.advance(time::Duration::seconds(200));
        let now = clock.timestamp();
        assert!(now.millis() > first.millis());
        assert!(
            !runs::try_acquire_sync_lock(&t.db, "other", now, now.plus_millis(1))
                .await
                .unwrap()
        );
    };
    let (result, ()) = tokio::join!(run.run(SyncKind::Full), watch);
    let run = result.unwrap();
    assert_eq!(run.started_at, started);
}

/// The demo's starter policies (`scripts/demo-policies.toml`) resolve against the demo org
/// once it is synced — every bundle and policy is saved — and are applied only while Gatepass
/// has none.
#[tokio::test]
async fn the_demo_starter_policies_resolve_against_the_synced_demo_org() {
    let now = 1_700_000_000_000;
    let mut org = Org::new(11, now);
    seed::demo(
        TOKEN,
        seed::SeedOidcClient {
            client_id: "gatepass".into(),
            client_secret: "s".into(),
            redirect_uris: vec!["http://127.0.0.1:9/auth/callback".into()],
            post_logout_redirect_uris: vec![],
        },
    )
    .apply(&mut org, now)
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = start(
        Sim::new(org, Limits::default(), Faults::default(), None),
        listener,
    )
    .unwrap();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/demo-policies.toml"
    ))
    .unwrap();
    let set: app::model::StarterSet = toml::from_str(&text).unwrap();
    for engine in engines() {
        let t = fresh_db(engine).await;
        sync(&t.db, &client(&sim), SyncKind::Full).await.unwrap();
        let code = app::ssr::services::policy_code::PolicyCodeService {
            access: app::ssr::services::access::AccessService {
                db: &t.db,
                clock: &SystemClock,
                signal: None,
                on_call: None,
            },
        };
        let saved = code.apply_starter(&set).await.unwrap();
        assert_eq!(
            saved,
            set.bundles.len() + set.policies.len(),
            "every starter entry resolves on {engine:?}"
        );
        assert_eq!(code.apply_starter(&set).await.unwrap(), 0, "only once");
        let all = app::ssr::db::policies::list_policies(&t.db).await.unwrap();
        assert!(all.iter().any(|p| p.rules.break_glass.is_some()));
        assert!(all
            .iter()
            .any(|p| p.rules.on_call_schedule.as_deref() == Some("PDEMO01")));
        assert!(all
            .iter()
            .any(|p| matches!(p.target, app::model::PolicyTarget::Bundle(_))));
        assert!(all
            .iter()
            .any(|p| matches!(p.target, app::model::PolicyTarget::App(_))));
        assert!(all.iter().all(|p| p.updated_by == "config"));
    }
}
