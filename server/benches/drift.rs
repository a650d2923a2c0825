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
use app::ssr::services::access::{AccessService, PolicyInput};
use app::ssr::services::drift::DriftService;
use app::ssr::testing::{fresh_db, test_person as me};

#[path = "common/large_org.rs"]
mod large_org;

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
        large_org::seed(&db, USERS, GROUPS, PER_GROUP).await;
        println!(
            "seeded {USERS} users, {GROUPS} groups, {} memberships in {:.1} s",
            GROUPS * PER_GROUP,
            started.elapsed().as_secs_f64()
        );
        let access = AccessService {
            db: &db,
            clock: &SystemClock,
            signal: None,
            on_call: None,
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
