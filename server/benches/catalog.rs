//! The request catalog with 10,000 groups: time to build one page for a person, as median and
//! 99th percentile, on SQLite.
//!
//!     cargo bench -p server --bench catalog

use std::time::{Duration, Instant};

use app::model::{DatabaseEngine, PolicyTarget, Timestamp};
use app::ssr::auth::{Admin, Requester};
use app::ssr::clock::SystemClock;
use app::ssr::db::directory::{
    upsert_groups_batch, upsert_users_batch, GroupRecord, SyncedGroup, UserRecord,
};
use app::ssr::services::access::{AccessService, PolicyInput};
use app::ssr::services::catalog::CatalogService;
use app::ssr::testing::{fresh_db, test_person as me};

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let t = fresh_db(DatabaseEngine::Sqlite).await;
        let db = t.db.clone();
        let users: Vec<UserRecord> = ["requester", "approver"].iter().map(|u| UserRecord {
            okta_id: u.to_string().into(), login: format!("{u}@example.com"), email: format!("{u}@example.com"), display_name: u.to_string(), status: "ACTIVE".into(), profile: Default::default(),
        }).collect();
        upsert_users_batch(&db, &users, Timestamp::from_millis(1)).await.unwrap();
        for chunk in (0..10_000).collect::<Vec<_>>().chunks(500) {
            let groups: Vec<SyncedGroup> = chunk.iter().map(|i| SyncedGroup {
                record: GroupRecord { okta_id: format!("00g{i:06}").into(), name: format!("team-{:02}-{i:05}", i % 50), description: format!("Group {i}"), okta_type: "OKTA_GROUP".into(), managed_by_rule: false },
                last_updated: None, last_membership_updated: None, member_count: Some(10),
            }).collect();
            upsert_groups_batch(&db, &groups, Timestamp::from_millis(1)).await.unwrap();
        }
        let access = AccessService { db: &db, clock: &SystemClock, signal: None, on_call: None };
        // A pattern per team (50), and an own policy for 100 groups.
        for t in 0..50 {
            access.save_policy(&Admin::for_tests(me("root")), PolicyInput {
                target: Some(PolicyTarget::Pattern(format!("team-{t:02}-*"))), requestable: true, eligible_groups: vec![],
                approver_users: vec!["approver".into()], approver_groups: vec![], quorum: 1,
                default_duration: "4h".parse().unwrap(), max_duration: "1d".parse().unwrap(), require_reason: true, allow_self_approval: false, auto_approve: false, ..Default::default()
            }).await.unwrap();
        }
        for i in 0..100 {
            access.save_policy(&Admin::for_tests(me("root")), PolicyInput {
                target: Some(PolicyTarget::Group(format!("00g{:06}", i * 97).into())), requestable: true, eligible_groups: vec![],
                approver_users: vec!["approver".into()], approver_groups: vec![], quorum: 2,
                default_duration: "1h".parse().unwrap(), max_duration: "8h".parse().unwrap(), require_reason: true, allow_self_approval: false, auto_approve: false, ..Default::default()
            }).await.unwrap();
        }
        let caches = app::ssr::cache::Caches::default();
        let catalog = CatalogService { db: &db, caches: &caches };
        let who = Requester::for_tests(me("requester"));
        for (name, search, after) in [("first page", "", ""), ("page from the middle", "", "team-25-"), ("search \"-42-\"", "-42-", "")] {
            let mut times = Vec::new();
            let mut entries = 0;
            for i in 0..220 {
                let t = Instant::now();
                let page = catalog.catalog(&who, search, after).await.unwrap();
                if i >= 20 { times.push(t.elapsed()); }
                entries = page.entries.len();
            }
            times.sort();
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            println!("catalog, 10,000 groups, 150 policies, {name:<22} median {:>6.2} ms  p99 {:>6.2} ms  ({entries} entries)", ms(times[100]), ms(times[198]));
        }
    });
}
