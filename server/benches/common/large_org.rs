//! The large org the scale benchmarks share: `users` people (with a title, a department, a
//! manager and a last sign-in), `groups` groups named `team-<nn>-<index>` (50 teams), and
//! `per_group` members in each, spread over the people deterministically.

use app::model::Timestamp;
use app::ssr::db::directory::{
    upsert_groups_batch, upsert_memberships_batch, upsert_users_batch, GroupRecord, SyncedGroup,
    UserProfile, UserRecord,
};
use app::ssr::db::Db;

/// The Okta id of person `i` and of group `g`.
pub fn user_id(i: usize) -> String {
    format!("00u{i:07}")
}

pub fn group_id(g: usize) -> String {
    format!("00g{g:06}")
}

/// Writes the org into `db` as a sync would.
pub async fn seed(db: &Db, users: usize, groups: usize, per_group: usize) {
    let at = Timestamp::from_millis(1);
    for chunk in (0..users).collect::<Vec<_>>().chunks(1000) {
        let people: Vec<UserRecord> = chunk
            .iter()
            .map(|&i| UserRecord {
                okta_id: user_id(i).into(),
                login: format!("user{i}@example.com"),
                email: format!("user{i}@example.com"),
                display_name: format!("User {i}"),
                status: "ACTIVE".into(),
                profile: UserProfile {
                    title: Some("Engineer".into()),
                    department: Some(format!("dept-{}", i % 40)),
                    manager_id: Some(user_id(i / 10)),
                    manager_name: None,
                    last_login: Some(Timestamp::from_millis(1_700_000_000_000)),
                },
            })
            .collect();
        upsert_users_batch(db, &people, at).await.unwrap();
    }
    for chunk in (0..groups).collect::<Vec<_>>().chunks(500) {
        let batch: Vec<SyncedGroup> = chunk
            .iter()
            .map(|&i| SyncedGroup {
                record: GroupRecord {
                    okta_id: group_id(i).into(),
                    name: format!("team-{:02}-{i:05}", i % 50),
                    description: String::new(),
                    okta_type: "OKTA_GROUP".into(),
                    managed_by_rule: false,
                },
                last_updated: None,
                last_membership_updated: None,
                member_count: Some(per_group as i64),
            })
            .collect();
        upsert_groups_batch(db, &batch, at).await.unwrap();
    }
    for g in 0..groups {
        let members: Vec<String> = (0..per_group)
            .map(|k| user_id((g * 37 + k * 1009) % users))
            .collect();
        upsert_memberships_batch(db, &group_id(g), &members, at)
            .await
            .unwrap();
    }
}
