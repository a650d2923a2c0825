//! Durability of the grant engine on the real binary: `gatepass serve` and `gatepass okta-sim`
//! run as child processes on loopback. Okta ends up holding exactly the memberships of the
//! active grants when Gatepass is SIGKILLed at random moments under load, and when two
//! processes share one PostgreSQL database each membership change reaches Okta exactly once.
//!
//! Grants last at least a minute and the checks wait for them to end, so each test takes a few
//! minutes (they run side by side).

mod binary;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::model::{DatabaseEngine, Grant, GrantState};
use app::ssr::db::{audit, grants, notifications, outbox, Db, DbOptions};
use app::ssr::testing::engines;
use app::ssr::testing::fresh_db;
use binary::*;
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_gatepass");
/// The requester, one of the simulator's generated people; Gatepass's bootstrap admin.
const ADMIN: &str = "user0000000@example.com";
/// Who decides the requests for [`APPROVAL_PATTERNS`].
const APPROVER: &str = "user0000001@example.com";
/// Groups whose requests wait for [`APPROVER`] (`group-013…` and `group-014…`: some 200 of the 1,500).
const APPROVAL_PATTERNS: [&str; 2] = ["group-013*", "group-014*"];

/// What Gatepass's database says: every grant, and its Okta operations by (kind, state).
#[derive(Debug, PartialEq)]
struct DbState {
    grants: Vec<Grant>,
    ops: Vec<(String, String, i64)>,
}

impl DbState {
    async fn read(db: &Db) -> DbState {
        DbState {
            grants: grants::list_grants(db, None, 1_000_000)
                .await
                .expect("read grants"),
            ops: outbox::op_counts(db).await.expect("read Okta operations"),
        }
    }

    /// Operations not carried out yet (pending, or in flight under a lease).
    fn unfinished(&self) -> i64 {
        self.ops
            .iter()
            .filter(|(_, state, _)| state == "pending" || state == "in_flight")
            .map(|(_, _, n)| n)
            .sum()
    }

    fn ops(&self, kind: &str, state: &str) -> i64 {
        self.ops
            .iter()
            .filter(|(k, s, _)| k == kind && s == state)
            .map(|(_, _, n)| n)
            .sum()
    }

    fn grants_in(&self, states: &[GrantState]) -> Vec<&Grant> {
        self.grants
            .iter()
            .filter(|g| states.contains(&g.state))
            .collect()
    }
}

/// The groups Okta lists `user` in, but for those in `baseline` (held before any grant, such
/// as the built-in `Everyone`).
async fn okta_groups(
    sim: &OktaSim,
    http: &reqwest::Client,
    user: &str,
    baseline: &BTreeSet<String>,
) -> BTreeSet<String> {
    let groups = sim.groups_of(http, user).await.into_iter();
    groups.filter(|g| !baseline.contains(g)).collect()
}

/// Waits (up to `timeout`) for a moment when Gatepass has no Okta operation left and `done`
/// holds; returns the database state then with [`okta_groups`], read between two identical
/// database reads (so no operation ran meanwhile).
async fn quiet_moment(
    db: &Db,
    sim: &OktaSim,
    http: &reqwest::Client,
    (user, baseline): (&str, &BTreeSet<String>),
    timeout: Duration,
    done: impl Fn(&DbState) -> bool,
) -> (DbState, BTreeSet<String>) {
    let t = Instant::now();
    loop {
        let before = DbState::read(db).await;
        if before.unfinished() == 0 && done(&before) {
            let okta = okta_groups(sim, http, user, baseline).await;
            if DbState::read(db).await == before {
                return (before, okta);
            }
        }
        assert!(
            t.elapsed() < timeout,
            "no quiet moment within {timeout:?}: {:?}",
            before.ops
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Asserts that Okta lists the requester in exactly the groups of the active grants: every
/// active grant's membership is present, every ended grant's is absent (unless the group was
/// granted again), and nothing else is there. Returns how many were checked each way.
fn assert_okta_matches_grants(state: &DbState, okta: &BTreeSet<String>) -> (usize, usize) {
    let active: Vec<&Grant> = state.grants_in(&[GrantState::Active]);
    let active_groups: BTreeSet<&str> = active.iter().map(|g| g.group_id.as_str()).collect();
    assert_eq!(
        active_groups.len(),
        active.len(),
        "two active grants of one group"
    );
    let unsettled = state.grants_in(&[GrantState::Scheduled, GrantState::Revoking]);
    assert!(
        unsettled.is_empty(),
        "grants left scheduled or revoking with no operation to finish them: {unsettled:?}"
    );
    let missing: Vec<&&Grant> = active
        .iter()
        .filter(|g| !okta.contains(g.group_id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} active grant(s) without their Okta membership: {missing:?}",
        missing.len()
    );
    let ended: Vec<&Grant> = state
        .grants_in(&[GrantState::Revoked, GrantState::Failed])
        .into_iter()
        .filter(|g| !active_groups.contains(g.group_id.as_str()))
        .collect();
    let left_behind: Vec<&&Grant> = ended
        .iter()
        .filter(|g| okta.contains(g.group_id.as_str()))
        .collect();
    assert!(
        left_behind.is_empty(),
        "{} ended grant(s) whose Okta membership is still there: {left_behind:?}",
        left_behind.len()
    );
    let extra: Vec<&String> = okta
        .iter()
        .filter(|g| !active_groups.contains(g.as_str()))
        .collect();
    assert!(
        extra.is_empty(),
        "Okta memberships without an active grant: {extra:?}"
    );
    assert_eq!(okta.len(), active.len());
    (active.len(), ended.len())
}

/// The membership changes Okta answered, per group of `user`, in the order answered.
fn membership_calls(
    log: &[(String, String, u16)],
    user: &str,
) -> BTreeMap<String, Vec<(String, u16)>> {
    let mut calls: BTreeMap<String, Vec<(String, u16)>> = BTreeMap::new();
    for (method, path, status) in log {
        if method != "PUT" && method != "DELETE" {
            continue;
        }
        let Some(rest) = path.strip_prefix("/api/v1/groups/") else {
            continue;
        };
        if let Some((group, member)) = rest.split_once("/users/") {
            if member == user {
                calls
                    .entry(group.to_owned())
                    .or_default()
                    .push((method.clone(), *status));
            }
        }
    }
    calls
}

/// The requests the kill test sends, and what came of them.
struct Load {
    base: String,
    http: reqwest::Client,
    groups: Vec<String>,
    next: AtomicUsize,
    stop: AtomicBool,
    /// Groups whose request Gatepass answered 200: their grants must be in its database.
    acknowledged: Mutex<Vec<String>>,
    /// Answers other than 200, by status.
    refused: Mutex<BTreeMap<u16, usize>>,
    /// Answers lost to a kill.
    lost: AtomicUsize,
    /// Lost answers whose grant was found there after the restart.
    lost_but_done: AtomicUsize,
    given_back: AtomicUsize,
}

impl Load {
    /// Asks for groups one after the other until told to stop. Every fourth grant lasts 100 s
    /// rather than 60, so some are still active when Okta is compared after the last restart.
    async fn ask_for_groups(self: Arc<Self>) {
        while !self.stop.load(Ordering::SeqCst) {
            let i = self.next.fetch_add(1, Ordering::SeqCst);
            let Some(group) = self.groups.get(i) else {
                break;
            };
            let duration = if i.is_multiple_of(4) { "100s" } else { "1m" };
            match self.ask(group, duration).await {
                None => {}
                Some((status, _)) if status == 200 => {
                    self.acknowledged.lock().unwrap().push(group.clone())
                }
                Some((status, _)) => {
                    *self
                        .refused
                        .lock()
                        .unwrap()
                        .entry(status.as_u16())
                        .or_default() += 1
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Asks for `group` until Gatepass answers. When an answer is lost (the server was killed)
    /// it first looks, as a careful client would, whether the request was carried out before
    /// asking again; `None` when it was.
    async fn ask(&self, group: &str, duration: &str) -> Option<(StatusCode, Value)> {
        let t = Instant::now();
        let mut lost = false;
        loop {
            assert!(
                t.elapsed() < Duration::from_secs(120),
                "no answer to a request for {group} in 2 minutes"
            );
            if lost {
                match post_form(
                    &self.http,
                    &self.base,
                    "/api/access/catalog/entry",
                    &[("group_id", group.into())],
                )
                .await
                {
                    Ok((status, entry)) if status == 200 => {
                        if !entry["held_until"].is_null() {
                            self.lost_but_done.fetch_add(1, Ordering::SeqCst);
                            return None;
                        }
                    }
                    _ => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                }
            }
            match request_access(&self.http, &self.base, group, duration).await {
                Ok(answer) => return Some(answer),
                Err(_) => {
                    lost = true;
                    self.lost.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    /// Now and then gives one of the active grants back early (its removal races the kills).
    async fn give_back_some(self: Arc<Self>) {
        while !self.stop.load(Ordering::SeqCst) {
            let pause = rand::thread_rng().gen_range(500..1500);
            tokio::time::sleep(Duration::from_millis(pause)).await;
            let Ok((status, mine)) =
                post_form(&self.http, &self.base, "/api/access/mine", &[]).await
            else {
                continue;
            };
            if status != 200 {
                continue;
            }
            let active: Vec<i64> = mine["grants"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|g| g["grant"]["state"] == "Active")
                .filter_map(|g| g["grant"]["id"].as_i64())
                .collect();
            if active.is_empty() {
                continue;
            }
            let id = active[rand::thread_rng().gen_range(0..active.len())];
            let t = Instant::now();
            // Until answered: a lost answer is asked again (then answered 409 if it was done).
            while t.elapsed() < Duration::from_secs(120) {
                match post_form(
                    &self.http,
                    &self.base,
                    "/api/access/give-back",
                    &[("grant_id", id.to_string())],
                )
                .await
                {
                    Ok((status, _)) => {
                        if status == 200 {
                            self.given_back.fetch_add(1, Ordering::SeqCst);
                        }
                        break;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        }
    }
}

/// Gatepass survives `kill -9` at any moment: while grants (of 60 and 100 s, auto-approved)
/// are asked for, given back and ended, `gatepass serve` is SIGKILLed at random intervals at
/// least 20 times and restarted on the same SQLite database. Afterwards, at a quiet moment
/// while some grants are still active, Okta lists exactly the active grants' memberships (each
/// present, every ended one absent); once all have ended, Okta holds none of them, no
/// membership was added again after its removal, nothing failed, every request Gatepass
/// acknowledged has its grant, and `gatepass audit verify` accepts the audit chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_load_leaves_okta_matching_the_grants() {
    const MIN_KILLS: usize = 20;
    const MIN_LOAD: Duration = Duration::from_secs(40);
    let t0 = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = Path::new(BIN);
    // Restarts reuse the port: sessions, cookies and the OIDC redirect are tied to the URL.
    let port = stable_port();
    let base = format!("http://127.0.0.1:{port}");
    let sim = OktaSim::start(
        bin,
        &dir.path().join("okta-sim.log"),
        &base,
        &[
            "--seed",
            "none",
            "--scale",
            "users=20,groups=1500,memberships=0",
            // Okta calls take a while, so kills land while some are in flight.
            "--latency-ms",
            "20",
        ],
    )
    .await;
    let http = browser();
    sim.lift_rate_limits(&http).await;
    let mut gatepass = Gatepass::new(bin, dir.path(), &sim.url, ADMIN, port);
    gatepass.smtp_port = Some(sim.smtp_port);
    gatepass.slack = true;
    let mut server = gatepass.serve().await;
    sign_in(&http, &base, ADMIN).await;
    wait_for_sync(&http, &base).await;
    save_auto_policy(&http, &base, "group-*", "1m", "1h").await;
    // Some groups need an approver's decision: each of their requests asks the approver, by
    // email and in Slack, and stays pending.
    for pattern in APPROVAL_PATTERNS {
        post_ok(
            &http,
            &base,
            "/api/access/policies/save",
            &[
                ("applies_to", pattern.into()),
                ("eligible_groups", String::new()),
                ("approver_users", APPROVER.into()),
                ("approver_groups", String::new()),
                ("quorum", "1".into()),
                ("default_duration", "1m".into()),
                ("max_duration", "1h".into()),
                ("requestable", "on".into()),
            ],
        )
        .await;
    }
    // People's notices also go to Slack (the simulator's stand-in).
    post_ok(
        &http,
        &base,
        "/api/notifications/slack/save",
        &[
            ("bot_token_ref", "env:GATEPASS_TEST_SLACK_TOKEN".into()),
            (
                "signing_secret_ref",
                "env:GATEPASS_TEST_SLACK_SIGNING".into(),
            ),
            ("default_channel", String::new()),
            ("enabled", "on".into()),
        ],
    )
    .await;
    // Every request is also a webhook delivery; the receiver is slow enough that kills catch
    // some in flight.
    let (hook_url, hook_ids) = webhook_receiver(Duration::from_millis(30)).await;
    post_ok(
        &http,
        &base,
        "/api/notifications/webhooks/add",
        &[
            ("name", "durability".into()),
            ("url", hook_url),
            ("secret_ref", "env:GATEPASS_TEST_WEBHOOK_SECRET".into()),
            ("events", "request.created".into()),
        ],
    )
    .await;
    let (to_approve, groups): (Vec<Value>, Vec<Value>) = catalog_entries(&http, &base, 2000)
        .await
        .into_iter()
        .partition(|e| e["auto_approve"] == false);
    let ids = |entries: Vec<Value>| -> Vec<String> {
        entries
            .iter()
            .map(|e| e["group_id"].as_str().expect("group_id").to_owned())
            .collect()
    };
    let (to_approve, groups) = (ids(to_approve), ids(groups));
    assert!(groups.len() >= 1000, "{} requestable groups", groups.len());
    assert!(
        to_approve.len() >= 150,
        "{} groups to approve",
        to_approve.len()
    );
    let user = sim.api_get(&http, &format!("/api/v1/users/{ADMIN}")).await["id"]
        .as_str()
        .expect("the requester's Okta id")
        .to_owned();
    let baseline = okta_groups(&sim, &http, &user, &BTreeSet::new()).await;
    assert!(baseline.iter().all(|g| !groups.contains(g)), "{baseline:?}");
    let setup = t0.elapsed();

    // Load: two requesters and a giver-back, while the server is killed and restarted.
    let load = Arc::new(Load {
        base: base.clone(),
        http: http.clone(),
        groups,
        next: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        acknowledged: Mutex::new(Vec::new()),
        refused: Mutex::new(BTreeMap::new()),
        lost: AtomicUsize::new(0),
        lost_but_done: AtomicUsize::new(0),
        given_back: AtomicUsize::new(0),
    });
    // And a burst of requests that wait for the approver (one each for `to_approve`).
    let pending = Arc::new(Load {
        groups: to_approve,
        next: AtomicUsize::new(0),
        acknowledged: Mutex::new(Vec::new()),
        refused: Mutex::new(BTreeMap::new()),
        lost: AtomicUsize::new(0),
        lost_but_done: AtomicUsize::new(0),
        given_back: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        base: base.clone(),
        http: http.clone(),
    });
    let tasks = vec![
        tokio::spawn(pending.clone().ask_for_groups()),
        tokio::spawn(load.clone().ask_for_groups()),
        tokio::spawn(load.clone().ask_for_groups()),
        tokio::spawn(load.clone().give_back_some()),
    ];
    let load_started = Instant::now();
    let mut kills = 0;
    let mut restart_time = Duration::ZERO;
    while kills < MIN_KILLS || load_started.elapsed() < MIN_LOAD {
        let pause = rand::thread_rng().gen_range(500..2500);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        server.kill();
        kills += 1;
        let t = Instant::now();
        server = gatepass.serve().await;
        restart_time += t.elapsed();
    }
    load.stop.store(true, Ordering::SeqCst);
    pending.stop.store(true, Ordering::SeqCst);
    for task in tasks {
        task.await.expect("load task");
    }
    let load_time = load_started.elapsed();
    let asked = load.next.load(Ordering::SeqCst).min(load.groups.len());

    // A quiet moment after the last restart, while the 100 s grants are active (an operation
    // in flight at the last kill waits for its lease, a minute, before it is taken up again).
    let url = format!(
        "sqlite://{}",
        gatepass.data_dir.join("gatepass.db").display()
    );
    let db = Db::connect(&SecretString::from(url), &DbOptions::default())
        .await
        .expect("open Gatepass's database");
    let (mid, okta) = quiet_moment(
        &db,
        &sim,
        &http,
        (&user, &baseline),
        Duration::from_secs(240),
        |_| true,
    )
    .await;
    let quiet_after = load_started.elapsed();
    let (present, absent) = assert_okta_matches_grants(&mid, &okta);
    assert!(
        present >= 10 && absent >= 10,
        "too few grants to compare both ways: {present} active, {absent} ended"
    );

    // Everything ends.
    let (end, okta) = quiet_moment(
        &db,
        &sim,
        &http,
        (&user, &baseline),
        Duration::from_secs(300),
        |s| {
            s.grants_in(&[
                GrantState::Active,
                GrantState::Scheduled,
                GrantState::Revoking,
            ])
            .is_empty()
        },
    )
    .await;
    assert_okta_matches_grants(&end, &okta);
    assert!(
        okta.is_empty(),
        "memberships left after every grant ended: {okta:?}"
    );
    // Kills landed while Okta calls were in flight: those operations were taken up again
    // after their lease ran out (and none failed for another reason).
    let ops = outbox::list_okta_ops(&db)
        .await
        .expect("read Okta operations");
    let taken_up_again = ops.iter().filter(|(_, _, tries, _)| *tries > 1).count();
    assert!(taken_up_again > 0, "no kill caught an Okta call in flight");
    let errors: Vec<_> = ops.iter().filter_map(|(_, _, _, e)| e.as_ref()).collect();
    assert!(errors.is_empty(), "Okta calls failed: {errors:?}");
    let failed = end.grants_in(&[GrantState::Failed]);
    assert!(failed.is_empty(), "grants failed: {failed:?}");
    assert_eq!(end.ops("add", "dead"), 0, "adds given up");
    let granted: BTreeSet<&str> = end.grants.iter().map(|g| g.group_id.as_str()).collect();
    let acknowledged = load.acknowledged.lock().unwrap().clone();
    let forgotten: Vec<&String> = acknowledged
        .iter()
        .filter(|g| !granted.contains(g.as_str()))
        .collect();
    assert!(
        forgotten.is_empty(),
        "acknowledged requests without a grant: {forgotten:?}"
    );

    // No membership was added back after Okta confirmed its removal.
    let log = sim.requests(&http).await;
    let calls = membership_calls(&log, &user);
    let mut re_added = Vec::new();
    let (mut puts, mut deletes) = (0, 0);
    for (group, seq) in &calls {
        let mut removed = false;
        for (method, status) in seq {
            match method.as_str() {
                "PUT" => {
                    puts += 1;
                    if removed {
                        re_added.push(group);
                    }
                }
                _ => {
                    deletes += 1;
                    removed |= *status == 204;
                }
            }
        }
    }
    assert!(
        re_added.is_empty(),
        "memberships added again after their removal: {re_added:?}"
    );

    // Every request's webhook was delivered (none lost), some more than once after a kill
    // (at least once: the receiver drops repeats by `webhook-id`), none failed.
    let deadline = Instant::now() + Duration::from_secs(120);
    let deliveries = loop {
        let counts = notifications::counts(&db).await.expect("read deliveries");
        let unfinished: i64 = counts
            .iter()
            .filter(|(_, s, _)| s == "pending" || s == "in_flight")
            .map(|(_, _, n)| n)
            .sum();
        if unfinished == 0 {
            break counts;
        }
        assert!(
            Instant::now() < deadline,
            "deliveries unfinished: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(
        deliveries.iter().all(|(_, s, _)| s == "delivered"),
        "{deliveries:?}"
    );
    let filter = app::model::AuditFilter {
        action: "request.created".into(),
        ..Default::default()
    };
    let expected: BTreeSet<String> = audit::search_audit_events(&db, &filter, None, 1_000_000)
        .await
        .expect("read the audit log")
        .into_iter()
        .filter(|e| e.action == "request.created")
        .map(|e| format!("evt_{}", e.seq))
        .collect();
    let received = hook_ids.lock().unwrap().clone();
    let distinct: BTreeSet<String> = received.iter().cloned().collect();
    assert_eq!(
        distinct, expected,
        "each request's webhook, none lost or invented"
    );
    let repeats = received.len() - distinct.len();
    assert!(
        repeats <= kills * 32,
        "{repeats} repeats after {kills} kills"
    );
    // And every email the outbox queued reached the mail catcher (repeats after a kill are
    // recognised by their Message-ID), none lost.
    let queued: BTreeSet<String> = notifications::list_deliveries(&db, None, 0, 10_000_000)
        .await
        .expect("read deliveries")
        .into_iter()
        .filter(|d| d.channel == "email")
        .map(|d| format!("<evt-{}-{}@gatepass>", d.event_seq, d.target))
        .collect();
    let inbox: Value = http
        .get(format!("{}/__inbox/messages", sim.url))
        .send()
        .await
        .expect("the simulator's inbox")
        .json()
        .await
        .expect("inbox JSON");
    let mails: Vec<String> = inbox["mails"]
        .as_array()
        .expect("mails")
        .iter()
        .map(|m| m["message_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    let distinct_mails: BTreeSet<String> = mails.iter().cloned().collect();
    assert!(
        queued.len() >= asked,
        "{} emails queued for {asked} grants",
        queued.len()
    );
    assert_eq!(
        distinct_mails, queued,
        "each queued email delivered, none lost or invented"
    );
    let mail_repeats = mails.len() - distinct_mails.len();
    assert!(
        mail_repeats <= kills * 32,
        "{mail_repeats} repeats after {kills} kills"
    );
    // And every Slack message the outbox queued reached the stand-in (repeats after a kill
    // are recognised by the delivery id in the message's metadata), none lost.
    let queued: BTreeSet<i64> = notifications::list_deliveries(&db, None, 0, 10_000_000)
        .await
        .expect("read deliveries")
        .into_iter()
        .filter(|d| d.channel == "slack")
        .map(|d| d.id)
        .collect();
    let posted: Value = http
        .get(format!("{}/__slack/messages", sim.url))
        .send()
        .await
        .expect("the Slack stand-in's messages")
        .json()
        .await
        .expect("messages JSON");
    let posts: Vec<i64> = posted["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["metadata"]["event_payload"]["delivery"].as_i64())
        .collect();
    let distinct_posts: BTreeSet<i64> = posts.iter().copied().collect();
    assert!(
        queued.len() >= asked,
        "{} Slack messages queued for {asked} grants",
        queued.len()
    );
    assert_eq!(
        distinct_posts, queued,
        "each queued Slack message posted, none lost or invented"
    );
    let post_repeats = posts.len() - distinct_posts.len();
    assert!(
        post_repeats <= kills * 32,
        "{post_repeats} repeats after {kills} kills"
    );
    // Among them, the approver was asked about every request that waits for them, once by
    // email and once in Slack (a card to decide from), and about nothing auto-approved.
    let approver = sim
        .api_get(&http, &format!("/api/v1/users/{APPROVER}"))
        .await["id"]
        .as_str()
        .expect("the approver's Okta id")
        .to_owned();
    let asked_approver = |channel: &'static str| {
        let db = &db;
        let approver = approver.clone();
        async move {
            notifications::list_deliveries(db, None, 0, 10_000_000)
                .await
                .expect("read deliveries")
                .into_iter()
                .filter(|d| {
                    d.channel == channel
                        && d.target == approver.as_str()
                        && d.event == "request.created"
                })
                .count()
        }
    };
    let waiting = pending.acknowledged.lock().unwrap().len();
    assert!(
        waiting >= 100,
        "only {waiting} requests wait for the approver"
    );
    for channel in ["email", "slack"] {
        let n = asked_approver(channel).await;
        // Requests whose answer a kill lost were still recorded: at least one per
        // acknowledged request, at most one per group.
        assert!(
            (waiting..=pending.groups.len()).contains(&n),
            "the approver was asked {n} times by {channel} for {waiting} waiting requests"
        );
    }
    println!(
        "kill -9: {} webhooks delivered, {repeats} of them again after a kill; {} emails, \
         {mail_repeats} again; {} Slack messages, {post_repeats} again; {waiting} requests \
         waiting for the approver, who was asked about each by email and in Slack",
        distinct.len(),
        distinct_mails.len(),
        distinct_posts.len()
    );

    drop(server);
    let (ok, out, err) = gatepass.run(&["audit", "verify"]);
    assert!(ok, "gatepass audit verify failed:\n{out}\n{err}");
    let events: usize = out
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .unwrap_or_default();
    assert!(
        events >= end.grants.len(),
        "audit verify checked {events} event(s): {out}"
    );

    println!(
        "kill -9: {kills} kills in {:.0} s (restarts {:.1} s on average); {asked} grants asked \
         for, {} acknowledged, {} answers lost ({} of them carried out), refused {:?}, {} given \
         back; {} grants in the database",
        load_time.as_secs_f64(),
        restart_time.as_secs_f64() / kills as f64,
        acknowledged.len(),
        load.lost.load(Ordering::SeqCst),
        load.lost_but_done.load(Ordering::SeqCst),
        load.refused.lock().unwrap(),
        load.given_back.load(Ordering::SeqCst),
        end.grants.len(),
    );
    println!(
        "kill -9: quiet {:.0} s after the load began: {present} active grants present in Okta, \
         {absent} ended ones absent; in the end {puts} PUTs and {deletes} DELETEs for {} \
         memberships, operations {:?} ({taken_up_again} taken up again after a kill), {events} \
         audit events verified; {:.0} s in all (setup {:.0} s)",
        quiet_after.as_secs_f64(),
        calls.len(),
        end.ops,
        t0.elapsed().as_secs_f64(),
        setup.as_secs_f64(),
    );
}

/// Two `gatepass serve` processes on one PostgreSQL database share the grant engine's work
/// without doing any of it twice: 300 one-minute grants, asked for through both within a few
/// seconds, end together, and Okta receives exactly one `PUT` and one `DELETE` per membership
/// (none is left); each process made some of those calls (its own `/metrics` counts its
/// answered Okta calls; each uses its own API token, so Okta's system log tells whose change
/// it was); the audit chain both appended to verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_on_one_postgres_database_change_each_membership_once() {
    const GRANTS: usize = 300;
    if !engines().contains(&DatabaseEngine::Postgres) {
        eprintln!("skipped: GATEPASS_TEST_POSTGRES_URL is not set");
        return;
    }
    let t0 = Instant::now();
    let test_db = fresh_db(DatabaseEngine::Postgres).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = Path::new(BIN);
    let seed = dir.path().join("seed.json");
    let admin = |name: &str| {
        serde_json::json!({
            "login": format!("okta-admin-{name}@example.com"),
            "firstName": "Okta",
            "lastName": format!("Admin {name}"),
            "roles": [{ "type": "SUPER_ADMIN" }]
        })
    };
    let token = |name: &str| serde_json::json!({ "token": format!("token-{name}"), "user": format!("okta-admin-{name}@example.com") });
    std::fs::write(
        &seed,
        serde_json::json!({
            "users": [admin("a"), admin("b")],
            "tokens": [token("a"), token("b")]
        })
        .to_string(),
    )
    .unwrap();
    let (port_a, port_b) = (free_port(), free_port());
    let sim = OktaSim::start(
        bin,
        &dir.path().join("okta-sim.log"),
        &format!("http://127.0.0.1:{port_a}"),
        &[
            "--seed",
            seed.to_str().unwrap(),
            "--scale",
            &format!("users=10,groups={},memberships=0", GRANTS * 10 / 9 + 20),
            "--latency-ms",
            "5",
        ],
    )
    .await;
    let http = browser();
    sim.lift_rate_limits(&http).await;
    let process = |port: u16, name: &str| Gatepass {
        database_url: Some(test_db.url.expose_secret().to_owned()),
        okta_token: format!("token-{name}"),
        ..Gatepass::new(bin, dir.path(), &sim.url, ADMIN, port)
    };
    let (a, b) = (process(port_a, "a"), process(port_b, "b"));
    let _server_a = a.serve().await;
    let _server_b = b.serve().await;
    let (url_a, url_b) = (a.url(), b.url());
    // Sign in through A; the session lives in the shared database, so B knows it too.
    sign_in(&http, &url_a, ADMIN).await;
    wait_for_sync(&http, &url_a).await;
    save_auto_policy(&http, &url_a, "group-*", "1m", "1h").await;
    let groups = requestable_groups(&http, &url_b, GRANTS).await;
    assert_eq!(groups.len(), GRANTS, "requestable groups");
    let user = sim.api_get(&http, &format!("/api/v1/users/{ADMIN}")).await["id"]
        .as_str()
        .expect("the requester's Okta id")
        .to_owned();
    let baseline = okta_groups(&sim, &http, &user, &BTreeSet::new()).await;
    assert!(baseline.iter().all(|g| !groups.contains(g)), "{baseline:?}");
    let actor = |name: &str| {
        let (sim, http) = (&sim, &http);
        let login = format!("okta-admin-{name}@example.com");
        async move {
            sim.api_get(http, &format!("/api/v1/users/{login}")).await["id"]
                .as_str()
                .expect("admin id")
                .to_owned()
        }
    };
    let (actor_a, actor_b) = (actor("a").await, actor("b").await);
    let setup = t0.elapsed();

    // Every grant asked for within a few seconds, half through each process.
    let t = Instant::now();
    let groups = Arc::new(groups);
    let mut tasks = Vec::new();
    for k in 0..8 {
        let (http, groups) = (http.clone(), groups.clone());
        let (url_a, url_b) = (url_a.clone(), url_b.clone());
        tasks.push(tokio::spawn(async move {
            for i in (k..groups.len()).step_by(8) {
                let base = if i.is_multiple_of(2) { &url_a } else { &url_b };
                let (status, body) = request_access(&http, base, &groups[i], "1m")
                    .await
                    .expect("request");
                assert_eq!(status, 200, "{body}");
                assert_eq!(body["state"], "Approved", "{body}");
            }
        }));
    }
    for task in tasks {
        task.await.expect("requests");
    }
    let asked_in = t.elapsed();

    let added = wait_until(&test_db.db, Duration::from_secs(120), |s| {
        s.ops("add", "done") as usize == GRANTS && s.unfinished() == 0
    })
    .await;
    let okta = okta_groups(&sim, &http, &user, &baseline).await;
    assert_okta_matches_grants(&added, &okta);
    assert_eq!(okta.len(), GRANTS);
    let ended = wait_until(&test_db.db, Duration::from_secs(240), |s| {
        s.grants_in(&[GrantState::Revoked]).len() == GRANTS && s.unfinished() == 0
    })
    .await;
    let spread = {
        let ends: Vec<i64> = ended.grants.iter().map(|g| g.ends_at.millis()).collect();
        ends.iter().max().unwrap() - ends.iter().min().unwrap()
    };
    assert!(ended
        .grants
        .iter()
        .all(|g| g.revoked_reason.as_deref() == Some("expired")));
    assert_eq!(
        (ended.ops("add", "done"), ended.ops("remove", "done")),
        (GRANTS as i64, GRANTS as i64)
    );

    // Okta's side: exactly one PUT and one DELETE per membership, none left.
    let okta = okta_groups(&sim, &http, &user, &baseline).await;
    assert!(okta.is_empty(), "memberships left: {okta:?}");
    let calls = membership_calls(&sim.requests(&http).await, &user);
    let granted: BTreeSet<&str> = ended.grants.iter().map(|g| g.group_id.as_str()).collect();
    assert_eq!(
        calls.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        granted,
        "groups Okta was called for"
    );
    for (group, seq) in &calls {
        assert_eq!(
            seq,
            &[("PUT".to_owned(), 204), ("DELETE".to_owned(), 204)],
            "Okta calls for the membership of {group}"
        );
    }

    // Who did the work: each process's own count of Okta's 204 answers (membership changes),
    // and the system log's actor (each process holds its own token).
    let changes = |base: String| {
        let http = http.clone();
        async move {
            let m = metrics(&http, &base).await.expect("metrics");
            metric(
                &m,
                "gatepass_okta_calls_total{bucket=\"group\",status=\"204\"}",
            ) as usize
        }
    };
    let (by_a, by_b) = (changes(url_a.clone()).await, changes(url_b.clone()).await);
    assert_eq!(
        by_a + by_b,
        2 * GRANTS,
        "membership changes counted by A and B"
    );
    assert!(by_a > 0 && by_b > 0, "A made {by_a}, B {by_b}");
    let events = sim
        .api_get(
            &http,
            "/api/v1/logs?since=2000-01-01T00:00:00.000Z&until=2100-01-01T00:00:00.000Z&limit=1000",
        )
        .await;
    let events = events.as_array().expect("events");
    assert!(events.len() < 1000, "one page of events");
    let count = |kind: &str, actor: &str| {
        events
            .iter()
            .filter(|e| e["eventType"] == kind && e["actor"]["id"] == actor)
            .count()
    };
    let (add, remove) = ("group.user_membership.add", "group.user_membership.remove");
    let split = [
        (count(add, &actor_a), count(add, &actor_b)),
        (count(remove, &actor_a), count(remove, &actor_b)),
    ];
    assert_eq!(split[0].0 + split[0].1, GRANTS, "adds in the system log");
    assert_eq!(
        split[1].0 + split[1].1,
        GRANTS,
        "removals in the system log"
    );
    assert_eq!(
        (split[0].0 + split[1].0, split[0].1 + split[1].1),
        (by_a, by_b),
        "the system log and /metrics agree on who did what"
    );

    let (ok, out, err) = a.run(&["audit", "verify"]);
    assert!(ok, "gatepass audit verify failed:\n{out}\n{err}");

    println!(
        "two processes: {GRANTS} grants asked for in {:.1} s, ends {:.1} s apart; adds by A/B \
         {}/{}, removals by A/B {}/{}; 1 PUT and 1 DELETE per membership; {}; {:.0} s in all \
         (setup {:.0} s)",
        asked_in.as_secs_f64(),
        spread as f64 / 1000.0,
        split[0].0,
        split[0].1,
        split[1].0,
        split[1].1,
        out.trim(),
        t0.elapsed().as_secs_f64(),
        setup.as_secs_f64(),
    );
}

/// Polls the database until `done` holds (up to `timeout`).
async fn wait_until(db: &Db, timeout: Duration, done: impl Fn(&DbState) -> bool) -> DbState {
    let t = Instant::now();
    loop {
        let state = DbState::read(db).await;
        if done(&state) {
            return state;
        }
        assert!(
            t.elapsed() < timeout,
            "not reached within {timeout:?}: {} grants, operations {:?}",
            state.grants.len(),
            state.ops
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
