//! The directory as last synced from Okta: `users`, `groups`, `memberships`.

use super::{Db, DbError};
use crate::model::DirectoryCounts;

/// Users, groups and memberships currently present (not marked removed).
pub async fn count_directory(db: &Db) -> Result<DirectoryCounts, DbError> {
    let (users, groups, memberships): (i64, i64, i64) = sqlx::query_as(
        "SELECT \
           (SELECT COUNT(*) FROM users WHERE removed_at IS NULL), \
           (SELECT COUNT(*) FROM groups WHERE removed_at IS NULL), \
           (SELECT COUNT(*) FROM memberships)",
    )
    .fetch_one(db.pool())
    .await?;
    Ok(DirectoryCounts {
        users,
        groups,
        memberships,
    })
}

/// A user as read from Okta.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub okta_id: String,
    pub login: String,
    pub email: String,
    pub display_name: String,
    pub status: String,
}

/// A group as read from Okta.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    pub okta_id: String,
    pub name: String,
    pub description: String,
    pub okta_type: String,
    pub managed_by_rule: bool,
}

/// Inserts or refreshes a user seen by a sync at `synced_at` (ms), clearing any removal mark.
pub async fn upsert_user(db: &Db, user: &UserRecord, synced_at: i64) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO users (okta_id, login, email, display_name, status, synced_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (okta_id) DO UPDATE SET login = excluded.login, email = excluded.email, \
           display_name = excluded.display_name, status = excluded.status, \
           synced_at = excluded.synced_at, removed_at = NULL",
    )
    .bind(&user.okta_id)
    .bind(&user.login)
    .bind(&user.email)
    .bind(&user.display_name)
    .bind(&user.status)
    .bind(synced_at)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Inserts or refreshes a group seen by a sync at `synced_at` (ms), clearing any removal mark.
pub async fn upsert_group(db: &Db, group: &GroupRecord, synced_at: i64) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO groups (okta_id, name, description, okta_type, managed_by_rule, synced_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (okta_id) DO UPDATE SET name = excluded.name, \
           description = excluded.description, okta_type = excluded.okta_type, \
           managed_by_rule = excluded.managed_by_rule, synced_at = excluded.synced_at, \
           removed_at = NULL",
    )
    .bind(&group.okta_id)
    .bind(&group.name)
    .bind(&group.description)
    .bind(&group.okta_type)
    .bind(group.managed_by_rule)
    .bind(synced_at)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Records that Okta lists `user_id` as a member of `group_id`, as of `seen_at` (ms).
pub async fn upsert_membership(
    db: &Db,
    group_id: &str,
    user_id: &str,
    seen_at: i64,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO memberships (group_id, user_id, source, seen_at) \
         VALUES ($1, $2, 'okta_sync', $3) \
         ON CONFLICT (group_id, user_id) DO UPDATE SET seen_at = excluded.seen_at",
    )
    .bind(group_id)
    .bind(user_id)
    .bind(seen_at)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// A present (not removed) user by Okta id.
pub async fn find_user(db: &Db, okta_id: &str) -> Result<Option<UserRecord>, DbError> {
    let row: Option<(String, String, String, String, String)> = sqlx::query_as(
        "SELECT okta_id, login, email, display_name, status FROM users \
         WHERE okta_id = $1 AND removed_at IS NULL",
    )
    .bind(okta_id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(UserRecord::from))
}

/// A present user whose email matches, ignoring case; `None` when none or several match.
pub async fn find_user_by_email(db: &Db, email: &str) -> Result<Option<UserRecord>, DbError> {
    let rows: Vec<(String, String, String, String, String)> = sqlx::query_as(
        "SELECT okta_id, login, email, display_name, status FROM users \
         WHERE LOWER(email) = LOWER($1) AND removed_at IS NULL LIMIT 2",
    )
    .bind(email)
    .fetch_all(db.pool())
    .await?;
    Ok(match <[_; 1]>::try_from(rows) {
        Ok([row]) => Some(UserRecord::from(row)),
        Err(_) => None,
    })
}

/// Whether `user_id` is a member of any of `groups` (each an Okta group id or exact name).
pub async fn is_member_of_any(db: &Db, user_id: &str, groups: &[String]) -> Result<bool, DbError> {
    if groups.is_empty() {
        return Ok(false);
    }
    let placeholders: Vec<String> = (0..groups.len()).map(|i| format!("${}", i + 2)).collect();
    let list = placeholders.join(", ");
    let sql = format!(
        "SELECT COUNT(*) FROM memberships m JOIN groups g ON g.okta_id = m.group_id \
         WHERE m.user_id = $1 AND g.removed_at IS NULL AND (g.okta_id IN ({list}) OR g.name IN ({list}))"
    );
    let mut query = sqlx::query_scalar::<_, i64>(&sql).bind(user_id);
    for group in groups {
        query = query.bind(group);
    }
    Ok(query.fetch_one(db.pool()).await? > 0)
}

impl From<(String, String, String, String, String)> for UserRecord {
    fn from(
        (okta_id, login, email, display_name, status): (String, String, String, String, String),
    ) -> Self {
        UserRecord {
            okta_id,
            login,
            email,
            display_name,
            status,
        }
    }
}

/// Marks a user as no longer present in Okta, as of `at` (ms).
pub async fn mark_user_removed(db: &Db, okta_id: &str, at: i64) -> Result<bool, DbError> {
    let done =
        sqlx::query("UPDATE users SET removed_at = $2 WHERE okta_id = $1 AND removed_at IS NULL")
            .bind(okta_id)
            .bind(at)
            .execute(db.pool())
            .await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::testing::each_engine;

    fn user(n: u32) -> UserRecord {
        UserRecord {
            okta_id: format!("00u{n}"),
            login: format!("user{n}@example.com"),
            email: format!("user{n}@example.com"),
            display_name: format!("User {n}"),
            status: "ACTIVE".into(),
        }
    }

    fn group(n: u32, rule: bool) -> GroupRecord {
        GroupRecord {
            okta_id: format!("00g{n}"),
            name: format!("group-{n}"),
            description: String::new(),
            okta_type: "OKTA_GROUP".into(),
            managed_by_rule: rule,
        }
    }

    #[tokio::test]
    async fn counts_present_users_groups_and_memberships() {
        each_engine(|db| async move {
            assert_eq!(
                count_directory(&db).await.unwrap(),
                DirectoryCounts::default()
            );
            for n in 1..=3 {
                upsert_user(&db, &user(n), 1_000).await.unwrap();
            }
            upsert_group(&db, &group(1, false), 1_000).await.unwrap();
            upsert_group(&db, &group(2, true), 1_000).await.unwrap();
            upsert_membership(&db, "00g1", "00u1", 1_000).await.unwrap();
            upsert_membership(&db, "00g1", "00u2", 1_000).await.unwrap();
            // Seen again: still one membership.
            upsert_membership(&db, "00g1", "00u2", 2_000).await.unwrap();
            assert!(mark_user_removed(&db, "00u3", 3_000).await.unwrap());
            assert!(!mark_user_removed(&db, "00u3", 4_000).await.unwrap());
            assert_eq!(
                count_directory(&db).await.unwrap(),
                DirectoryCounts {
                    users: 2,
                    groups: 2,
                    memberships: 2
                }
            );
            // A later sync that sees the user again clears the removal mark.
            upsert_user(&db, &user(3), 5_000).await.unwrap();
            assert_eq!(count_directory(&db).await.unwrap().users, 3);
        })
        .await;
    }

    #[tokio::test]
    async fn membership_needs_a_known_user_and_group() {
        each_engine(|db| async move {
            upsert_group(&db, &group(1, false), 1_000).await.unwrap();
            let err = upsert_membership(&db, "00g1", "00u404", 1_000)
                .await
                .unwrap_err();
            assert!(
                matches!(err, DbError::Sqlx(sqlx::Error::Database(_))),
                "{err:?}"
            );
        })
        .await;
    }

    #[tokio::test]
    async fn finds_users_by_id_and_unique_email() {
        each_engine(|db| async move {
            upsert_user(&db, &user(1), 1).await.unwrap();
            upsert_user(&db, &user(2), 1).await.unwrap();
            assert_eq!(find_user(&db, "00u1").await.unwrap(), Some(user(1)));
            assert_eq!(find_user(&db, "00u9").await.unwrap(), None);
            assert_eq!(
                find_user_by_email(&db, "USER2@example.com").await.unwrap(),
                Some(user(2))
            );
            // Two people sharing an email: no match rather than a guess.
            let mut twin = user(3);
            twin.email = "user2@example.com".into();
            upsert_user(&db, &twin, 1).await.unwrap();
            assert_eq!(
                find_user_by_email(&db, "user2@example.com").await.unwrap(),
                None
            );
            mark_user_removed(&db, "00u1", 2).await.unwrap();
            assert_eq!(find_user(&db, "00u1").await.unwrap(), None);
        })
        .await;
    }

    #[tokio::test]
    async fn membership_by_group_id_or_name() {
        each_engine(|db| async move {
            upsert_user(&db, &user(1), 1).await.unwrap();
            upsert_group(&db, &group(7, false), 1).await.unwrap();
            upsert_membership(&db, "00g7", "00u1", 1).await.unwrap();
            let by_name = vec!["nope".to_string(), "group-7".to_string()];
            assert!(is_member_of_any(&db, "00u1", &by_name).await.unwrap());
            assert!(is_member_of_any(&db, "00u1", &["00g7".to_string()])
                .await
                .unwrap());
            assert!(!is_member_of_any(&db, "00u1", &["group-8".to_string()])
                .await
                .unwrap());
            assert!(!is_member_of_any(&db, "00u1", &[]).await.unwrap());
        })
        .await;
    }

    #[tokio::test]
    async fn rejects_unknown_group_types() {
        each_engine(|db| async move {
            let mut g = group(9, false);
            g.okta_type = "MADE_UP".into();
            assert!(upsert_group(&db, &g, 1).await.is_err());
            assert_eq!(count_directory(&db).await.unwrap().groups, 0);
        })
        .await;
    }
}
