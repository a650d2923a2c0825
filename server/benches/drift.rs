//! The drift check after a sync, at the scale of a large org, on SQLite: 100,000 users,
//! 10,000 groups, 1,000,000 memberships, and requestable patterns covering every group — the
//! worst case, where every membership is standing access outside Gatepass. Prints the time of
//! the first comparison (which opens at most `MAX_OPEN` items) and of a repeat (which finds
//! the same and opens none).
//!
//!     cargo bench -p server --bench drift

use std::time::Instant;

use app::model::{DatabaseEngine, PolicyTarget, Timestamp};
use app::ssr::auth::Admin;
use app::ssr::clock::SystemClock;
use app::ssr::db::directory::{
    upsert_groups_batch, upsert_memberships_batch, upsert_users_batch, GroupRecord, SyncedGroup,
    UserRecord,
};
use app::ssr::services::access::{AccessService, PolicyInput};
use app::ssr::services::drift::DriftService;
use app::ssr::testing::{fresh_db, test_person as me};

const USERS: usize = 100_000;
const GROUPS: usize = 10_000;
const PER_GROUP: usize = 100;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let t = fresh_db(DatabaseEngine::Sqlite).await;
        let db = t.db.clone();
        let started = Instant::now();
        for chunk in (0..USERS).collect::<Vec<_>>().chunks(1000) {
            let users: Vec<UserRecord> = chunk
                .iter()
                .map(|i| UserRecord {
                    okta_id: format!("00u{i:07}").into(),
                    login: format!("user{i}@example.com"),
                    email: format!("user{i}@example.com"),
                    display_name: format!("User {i}"),
                    status: "ACTIVE".into(),
                    profile: Default::default(),
                })
                .collect();
            upsert_users_batch(&db, &users, Timestamp::from_millis(1))
                .await
                .unwrap();
        }
        for chunk in (0..GROUPS).collect::<Vec<_>>().chunks(500) {
            let groups: Vec<SyncedGroup> = chunk
                .iter()
                .map(|i| SyncedGroup {
                    record: GroupRecord {
                        okta_id: format!("00g{i:06}").into(),
                        name: format!("team-{:02}-{i:05}", i % 50),
                        description: String::new(),
                        okta_type: "OKTA_GROUP".into(),
                        managed_by_rule: false,
                    },
                    last_updated: None,
                    last_membership_updated: None,
                    member_count: Some(PER_GROUP as i64),
                })
                .collect();
            upsert_groups_batch(&db, &groups, Timestamp::from_millis(1))
                .await
                .unwrap();
        }
        for g in 0..GROUPS {
            let members: Vec<String> = (0..PER_GROUP)
                .map(|k| format!("00u{:07}", (g * 37 + k * 1009) % USERS))
                .collect();
            upsert_memberships_batch(
                &db,
                &format!("00g{g:06}"),
                &members,
                Timestamp::from_millis(1),
            )
            .await
            .unwrap();
        }
        println!(
            "seeded {USERS} users, {GROUPS} groups, {} memberships in {:.1} s",
            GROUPS * PER_GROUP,
            started.elapsed().as_secs_f64()
        );
        let access = AccessService {
            db: &db,
            clock: &SystemClock,
            signal: None,
        };
        for t in 0..50 {
            access
                .save_policy(
                    &Admin::for_tests(me("root")),
                    PolicyInput {
                        target: Some(PolicyTarget::Pattern(format!("team-{t:02}-*"))),
                        requestable: true,
                        approver_users: vec!["approver".into()],
                        quorum: 1,
                        default_duration: "1h".parse().unwrap(),
                        max_duration: "1d".parse().unwrap(),
                        ..PolicyInput::default()
                    },
                )
                .await
                .unwrap();
        }
        let drift = DriftService {
            db: &db,
            clock: &SystemClock,
            signal: None,
        };
        for run in ["first comparison", "repeat"] {
            let t = Instant::now();
            let r = drift.detect(Timestamp::EPOCH).await.unwrap();
            println!(
                "drift, {run:<16} {:>6.2} s  ({} opened, {} left for later, {} cleared)",
                t.elapsed().as_secs_f64(),
                r.detected,
                r.not_listed,
                r.cleared
            );
        }
    });
}
