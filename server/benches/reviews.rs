//! Access reviews at the scale of a large org, on SQLite: 100,000 users, 10,000 groups,
//! 1,000,000 memberships, every group requestable. Prints how long a campaign over all of it
//! takes to open (the snapshot of its million items) and how much the process's peak memory
//! grew meanwhile; then, for a reviewer with 5,000 items, the latency of what their review
//! page reads (the campaign list and a page of items with counts and groups), of "keep all" in
//! a group, of the close, and of reading the report.
//!
//!     cargo bench -p server --bench reviews
//!
//! `REVIEWS_BENCH_ENGINE=postgres` runs it on PostgreSQL (with `GATEPASS_TEST_POSTGRES_URL`,
//! as `scripts/with-postgres.sh` sets).

use std::time::Instant;

use app::model::{CampaignForm, DatabaseEngine, GroupId, PolicyTarget, ReviewDecision, Timestamp};
use app::ssr::auth::{Admin, Requester};
use app::ssr::clock::SystemClock;
use app::ssr::db::directory::{upsert_users_batch, UserRecord};
use app::ssr::db::reviews::ItemFilter;
use app::ssr::services::access::{AccessService, PolicyInput};
use app::ssr::services::reviews::ReviewService;
use app::ssr::testing::{fresh_db, test_person as me};

#[path = "common/large_org.rs"]
mod large_org;

const USERS: usize = 100_000;
const GROUPS: usize = 10_000;
const PER_GROUP: usize = 100;
/// Groups whose own policy names the reviewer measured (5,000 items).
const REVIEWED: usize = 50;
const ROUNDS: usize = 300;

/// A field of `/proc/self/status` in KiB (Linux).
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn quantiles(mut ms: Vec<f64>) -> String {
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let q = |p: f64| ms[((ms.len() as f64 * p) as usize).min(ms.len() - 1)];
    format!(
        "p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms",
        q(0.5),
        q(0.99),
        ms[ms.len() - 1]
    )
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let engine = match std::env::var("REVIEWS_BENCH_ENGINE").as_deref() {
            Ok("postgres") => DatabaseEngine::Postgres,
            _ => DatabaseEngine::Sqlite,
        };
        println!("on {}", engine.label());
        let t = fresh_db(engine).await;
        let db = t.db.clone();
        let started = Instant::now();
        let people: Vec<UserRecord> = ["approver", "reviewer"]
            .iter()
            .map(|u| UserRecord {
                okta_id: u.to_string().into(),
                login: format!("{u}@example.com"),
                email: format!("{u}@example.com"),
                display_name: u.to_string(),
                status: "ACTIVE".into(),
                profile: Default::default(),
            })
            .collect();
        upsert_users_batch(&db, &people, Timestamp::from_millis(1)).await.unwrap();
        large_org::seed(&db, USERS, GROUPS, PER_GROUP).await;
        let root = Admin::for_tests(me("root"));
        let access = AccessService { db: &db, clock: &SystemClock, signal: None, on_call: None };
        let policy = |target: PolicyTarget, approver: &str| PolicyInput {
            target: Some(target),
            requestable: true,
            approver_users: vec![approver.into()],
            quorum: 1,
            default_duration: "1h".parse().unwrap(),
            max_duration: "1d".parse().unwrap(),
            ..PolicyInput::default()
        };
        for t in 0..50 {
            access
                .save_policy(&root, policy(PolicyTarget::Pattern(format!("team-{t:02}-*")), "approver"))
                .await
                .unwrap();
        }
        for g in 0..REVIEWED {
            access
                .save_policy(&root, policy(PolicyTarget::Group(GroupId::from(large_org::group_id(g))), "reviewer"))
                .await
                .unwrap();
        }
        println!(
            "seeded {USERS} users, {GROUPS} groups, {} memberships in {:.1} s",
            GROUPS * PER_GROUP,
            started.elapsed().as_secs_f64()
        );

        let reviews = ReviewService { db: &db, clock: &SystemClock, signal: None };
        // Peak memory from here on (Linux: writing 5 to clear_refs resets VmHWM).
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let rss_before = status_kib("VmRSS:");
        let t0 = Instant::now();
        let c = reviews
            .create(
                &root,
                &CampaignForm {
                    name: "everything".into(),
                    all_requestable: true,
                    include: "both".into(),
                    reviewers: "approvers".into(),
                    due_days: "14".into(),
                    default_action: "keep".into(),
                    ..CampaignForm::default()
                },
            )
            .await
            .unwrap();
        println!(
            "campaign over {} groups opened with {} items in {:.1} s; peak memory {} MiB above the {} MiB before",
            GROUPS,
            c.items,
            t0.elapsed().as_secs_f64(),
            status_kib("VmHWM:").saturating_sub(rss_before) / 1024,
            rss_before / 1024
        );

        let reviewer = Requester::for_tests(me("reviewer"));
        let all = ItemFilter { person: "%%", state: "undecided", ..Default::default() };
        let first = reviews.my_page(&reviewer, c.id, &all, 0).await.unwrap();
        assert_eq!(first.matching, (REVIEWED * PER_GROUP) as i64);
        let mut page_ms = Vec::new();
        for _ in 0..ROUNDS {
            let t = Instant::now();
            let mine = reviews.my_campaigns(&reviewer).await.unwrap();
            let page = reviews.my_page(&reviewer, c.id, &all, 0).await.unwrap();
            page_ms.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!((mine.len(), page.items.len()), (1, 200));
        }
        println!("reviewer page (5,000 items: list, counts, first 200, groups)  {}", quantiles(page_ms));
        let last = ItemFilter { person: "%%", state: "all", ..Default::default() };
        let mut deep_ms = Vec::new();
        for _ in 0..ROUNDS / 3 {
            let t = Instant::now();
            let page = reviews.my_page(&reviewer, c.id, &last, 24).await.unwrap();
            deep_ms.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(page.items.len(), 200);
        }
        println!("reviewer page, last page (items 4,801-5,000)               {}", quantiles(deep_ms));
        let t = Instant::now();
        let kept = reviews
            .decide(&reviewer, c.id, &[], Some(large_org::group_id(1).as_str()), ReviewDecision::Keep, "fine")
            .await
            .unwrap();
        println!("keep all in a group ({kept} items)                           {:>6.1} ms", t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        let detail = reviews.detail(&root, c.id).await.unwrap();
        println!("admin's campaign page (counts per group and reviewer)       {:>6.1} ms", t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(detail.total.items, c.items);
        let t = Instant::now();
        let closed = reviews.close(&root, c.id).await.unwrap();
        println!("close ({} items get their outcome)                     {:>6.1} s", closed.items, t.elapsed().as_secs_f64());
        let t = Instant::now();
        let mut after = 0;
        let mut lines = 0;
        loop {
            let page = reviews.report(&root, c.id, after, 2_000).await.unwrap();
            let Some(last) = page.last() else { break };
            after = last.item;
            lines += page.len();
        }
        println!("report, all {lines} lines in pages of 2,000             {:>6.1} s", t.elapsed().as_secs_f64());
    });
}
