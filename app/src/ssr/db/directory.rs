//! The directory as last synced from Okta: `users`, `groups`, `memberships`.

use std::collections::{BTreeSet, HashMap};

use super::{Db, DbError};
use crate::model::{DirectoryCounts, GroupId, Timestamp, UserId};

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
    pub okta_id: UserId,
    pub login: String,
    pub email: String,
    pub display_name: String,
    pub status: String,
    /// What reviewers see of the person (written by syncs; not read back by `find_user`).
    pub profile: UserProfile,
}

/// The parts of an Okta profile that give a reviewer context, and the manager that reviews
/// may route to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserProfile {
    pub title: Option<String>,
    pub department: Option<String>,
    /// `profile.managerId`: the manager's Okta user id (the only way a manager is matched).
    pub manager_id: Option<String>,
    /// `profile.manager`: the manager's display name, shown but never matched.
    pub manager_name: Option<String>,
    /// Okta's `lastLogin`.
    pub last_login: Option<Timestamp>,
}

/// A group as read from Okta.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    pub okta_id: GroupId,
    pub name: String,
    pub description: String,
    pub okta_type: String,
    pub managed_by_rule: bool,
}

/// Inserts or refreshes a user seen by a sync at `synced_at` (ms), clearing any removal mark.
pub async fn upsert_user(db: &Db, user: &UserRecord, synced_at: Timestamp) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO users (okta_id, login, email, display_name, status, synced_at, title, \
           department, manager_id, manager_name, last_login) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (okta_id) DO UPDATE SET login = excluded.login, email = excluded.email, \
           display_name = excluded.display_name, status = excluded.status, \
           synced_at = excluded.synced_at, removed_at = NULL, title = excluded.title, \
           department = excluded.department, manager_id = excluded.manager_id, \
           manager_name = excluded.manager_name, last_login = excluded.last_login",
    )
    .bind(&user.okta_id)
    .bind(&user.login)
    .bind(&user.email)
    .bind(&user.display_name)
    .bind(&user.status)
    .bind(synced_at)
    .bind(&user.profile.title)
    .bind(&user.profile.department)
    .bind(&user.profile.manager_id)
    .bind(&user.profile.manager_name)
    .bind(user.profile.last_login)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Inserts or refreshes a group seen by a sync at `synced_at` (ms), clearing any removal mark.
pub async fn upsert_group(
    db: &Db,
    group: &GroupRecord,
    synced_at: Timestamp,
) -> Result<(), DbError> {
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
    group_id: &GroupId,
    user_id: &UserId,
    seen_at: Timestamp,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO memberships (group_id, user_id, source, seen_at, since) \
         VALUES ($1, $2, 'okta_sync', $3, $3) \
         ON CONFLICT (group_id, user_id) DO UPDATE SET source = 'okta_sync', \
           seen_at = excluded.seen_at, since = COALESCE(memberships.since, excluded.since)",
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

/// Whether `user_id` is a member of any of the present groups with the Okta ids `group_ids`.
/// Ids only: a group's name proves nothing (Okta does not keep names unique).
pub async fn is_member_of_any(
    db: &Db,
    user_id: &UserId,
    group_ids: &[GroupId],
) -> Result<bool, DbError> {
    if group_ids.is_empty() {
        return Ok(false);
    }
    let sql = format!(
        "SELECT COUNT(*) FROM memberships m JOIN groups g ON g.okta_id = m.group_id \
         WHERE m.user_id = $1 AND g.removed_at IS NULL AND g.okta_id IN ({})",
        super::placeholders(2, group_ids.len())
    );
    let mut query = sqlx::query_scalar::<_, i64>(&sql).bind(user_id);
    for group in group_ids {
        query = query.bind(group);
    }
    Ok(query.fetch_one(db.pool()).await? > 0)
}

/// Present groups named exactly `name`, of any type: (Okta id, type), at most `limit`.
pub async fn groups_named(
    db: &Db,
    name: &str,
    limit: i64,
) -> Result<Vec<(String, String)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT okta_id, okta_type FROM groups WHERE name = $1 AND removed_at IS NULL \
         ORDER BY okta_id LIMIT $2",
    )
    .bind(name)
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

/// A user by Okta id whether or not still present: the record and whether Okta no longer
/// lists them.
pub async fn find_user_standing(
    db: &Db,
    okta_id: &str,
) -> Result<Option<(UserRecord, bool)>, DbError> {
    let row: Option<(String, String, String, String, String, Option<i64>)> = sqlx::query_as(
        "SELECT okta_id, login, email, display_name, status, removed_at FROM users \
         WHERE okta_id = $1",
    )
    .bind(okta_id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|(id, login, email, name, status, removed_at)| {
        (
            UserRecord::from((id, login, email, name, status)),
            removed_at.is_some(),
        )
    }))
}

impl From<(String, String, String, String, String)> for UserRecord {
    fn from(
        (okta_id, login, email, display_name, status): (String, String, String, String, String),
    ) -> Self {
        UserRecord {
            okta_id: UserId(okta_id),
            login,
            email,
            display_name,
            status,
            profile: UserProfile::default(),
        }
    }
}

/// Marks a user as no longer present in Okta, as of `at` (ms).
pub async fn mark_user_removed(db: &Db, okta_id: &str, at: Timestamp) -> Result<bool, DbError> {
    let done =
        sqlx::query("UPDATE users SET removed_at = $2 WHERE okta_id = $1 AND removed_at IS NULL")
            .bind(okta_id)
            .bind(at)
            .execute(db.pool())
            .await?;
    Ok(done.rows_affected() == 1)
}

/// The Okta id of a present user by login (ignoring case; Okta keeps logins unique) or id.
/// Never by email: Okta does not keep emails unique.
pub async fn user_id_by_login(db: &Db, login: &str) -> Result<Option<UserId>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT okta_id FROM users WHERE (LOWER(login) = LOWER($1) OR okta_id = $1) \
           AND removed_at IS NULL ORDER BY okta_id LIMIT 1",
    )
    .bind(login)
    .fetch_optional(db.pool())
    .await?)
}

/// A present group by Okta id.
pub async fn find_group(db: &Db, okta_id: &str) -> Result<Option<GroupRecord>, DbError> {
    let row: Option<(String, String, String, String, i64)> = sqlx::query_as(
        "SELECT okta_id, name, description, okta_type, \
           CAST(CASE WHEN managed_by_rule THEN 1 ELSE 0 END AS BIGINT) \
         FROM groups WHERE okta_id = $1 AND removed_at IS NULL",
    )
    .bind(okta_id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(
        |(okta_id, name, description, okta_type, rule)| GroupRecord {
            okta_id: GroupId(okta_id),
            name,
            description,
            okta_type,
            managed_by_rule: rule != 0,
        },
    ))
}

/// A group as a sync read it: the record plus Okta's change stamps and member count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedGroup {
    pub record: GroupRecord,
    pub last_updated: Option<Timestamp>,
    pub last_membership_updated: Option<Timestamp>,
    /// From `expand=stats`; `None` when Okta did not say.
    pub member_count: Option<i64>,
}

/// `($1, $2, …), (…)` for `rows` rows of `cols` columns.
fn placeholders(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (1..=cols).map(|c| format!("${}", r * cols + c)).collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Upserts a page of users in one statement, stamping them with `synced_at`.
pub async fn upsert_users_batch(
    db: &Db,
    users: &[UserRecord],
    synced_at: Timestamp,
) -> Result<(), DbError> {
    if users.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO users (okta_id, login, email, display_name, status, synced_at, title, \
           department, manager_id, manager_name, last_login) VALUES {} \
         ON CONFLICT (okta_id) DO UPDATE SET login = excluded.login, email = excluded.email, \
           display_name = excluded.display_name, status = excluded.status, \
           synced_at = excluded.synced_at, removed_at = NULL, title = excluded.title, \
           department = excluded.department, manager_id = excluded.manager_id, \
           manager_name = excluded.manager_name, last_login = excluded.last_login",
        placeholders(users.len(), 11)
    );
    let mut q = sqlx::query(&sql);
    for u in users {
        q = q
            .bind(&u.okta_id)
            .bind(&u.login)
            .bind(&u.email)
            .bind(&u.display_name)
            .bind(&u.status)
            .bind(synced_at)
            .bind(&u.profile.title)
            .bind(&u.profile.department)
            .bind(&u.profile.manager_id)
            .bind(&u.profile.manager_name)
            .bind(u.profile.last_login);
    }
    q.execute(db.pool()).await?;
    Ok(())
}

/// Upserts a page of groups in one statement, stamping them with `synced_at`.
pub async fn upsert_groups_batch(
    db: &Db,
    groups: &[SyncedGroup],
    synced_at: Timestamp,
) -> Result<(), DbError> {
    if groups.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO groups (okta_id, name, description, okta_type, managed_by_rule, \
           okta_last_updated, okta_last_membership_updated, okta_member_count, synced_at) VALUES {} \
         ON CONFLICT (okta_id) DO UPDATE SET name = excluded.name, \
           description = excluded.description, okta_type = excluded.okta_type, \
           managed_by_rule = excluded.managed_by_rule, okta_last_updated = excluded.okta_last_updated, \
           okta_last_membership_updated = excluded.okta_last_membership_updated, \
           okta_member_count = excluded.okta_member_count, synced_at = excluded.synced_at, \
           removed_at = NULL",
        placeholders(groups.len(), 9)
    );
    let mut q = sqlx::query(&sql);
    for g in groups {
        q = q
            .bind(&g.record.okta_id)
            .bind(&g.record.name)
            .bind(&g.record.description)
            .bind(&g.record.okta_type)
            .bind(g.record.managed_by_rule)
            .bind(g.last_updated)
            .bind(g.last_membership_updated)
            .bind(g.member_count)
            .bind(synced_at);
    }
    q.execute(db.pool()).await?;
    Ok(())
}

/// Records that Okta lists `user_ids` in `group_id`, as of `seen_at`, in one statement.
pub async fn upsert_memberships_batch(
    db: &Db,
    group_id: &str,
    user_ids: &[String],
    seen_at: Timestamp,
) -> Result<(), DbError> {
    if user_ids.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO memberships (group_id, user_id, source, seen_at, since) VALUES {} \
         ON CONFLICT (group_id, user_id) DO UPDATE SET source = 'okta_sync', \
           seen_at = excluded.seen_at, since = COALESCE(memberships.since, excluded.since)",
        (0..user_ids.len())
            .map(|r| format!("($1, ${0}, 'okta_sync', ${1}, ${1})", r * 2 + 2, r * 2 + 3))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut q = sqlx::query(&sql).bind(group_id);
    for u in user_ids {
        q = q.bind(u).bind(seen_at);
    }
    q.execute(db.pool()).await?;
    Ok(())
}

/// What a directory sync read and has not written yet: written together, in one transaction,
/// by [`write_synced`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SyncedBatch {
    pub groups: Vec<SyncedGroup>,
    /// Each user at most once.
    pub users: Vec<UserRecord>,
    /// (group, member) pairs Okta lists; the group and the user are in this batch or written
    /// before it.
    pub memberships: Vec<(GroupId, UserId)>,
}

impl SyncedBatch {
    /// Rows to write.
    pub fn rows(&self) -> usize {
        self.groups.len() + self.users.len() + self.memberships.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows() == 0
    }
}

/// SQLite settings of the writer connection while a sync writes: a page cache that holds the
/// pages one of its transactions changes (32 MiB: at a million memberships a transaction of
/// 100,000 rows changes less; otherwise changed pages spill to the WAL and are written again),
/// and a checkpoint per 256 MiB of WAL instead of per 4 MiB, so that pages changed by several
/// transactions (the members index's, as memberships arrive group by group) are copied into the
/// database once rather than after every transaction. Statement journals (what undoes one
/// statement of a transaction) are kept in memory, not written to temporary files.
const BULK_PRAGMAS: &str =
    "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -32768; PRAGMA wal_autocheckpoint = 65536";
/// SQLite's defaults, restored after a sync (statement journals stay in memory).
const USUAL_PRAGMAS: &str =
    "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -2000; PRAGMA wal_autocheckpoint = 1000";

/// Sets the writer connection up for a sync's writes (`on`) or back (SQLite; nothing on
/// PostgreSQL). Applied before every batch, in case the pool replaced the connection.
async fn bulk_writes(db: &Db, on: bool) -> Result<(), DbError> {
    if db.engine() == crate::model::DatabaseEngine::Sqlite {
        let pragmas = if on { BULK_PRAGMAS } else { USUAL_PRAGMAS };
        sqlx::raw_sql(pragmas).execute(db.write_pool()).await?;
    }
    Ok(())
}

/// After a sync's writes: the writer connection's usual settings again, and (SQLite) the WAL
/// copied into the database and truncated, so it does not keep the size the sync gave it: first
/// without holding up writers, then the rest and the truncation, which waits for readers of
/// older snapshots (up to the busy timeout; skipped if they outlast it).
pub async fn finish_synced_writes(db: &Db) -> Result<(), DbError> {
    if db.engine() == crate::model::DatabaseEngine::Sqlite {
        bulk_writes(db, false).await?;
        for mode in ["PASSIVE", "TRUNCATE"] {
            sqlx::query(&format!("PRAGMA wal_checkpoint({mode})"))
                .execute(db.write_pool())
                .await?;
        }
    }
    Ok(())
}

/// Rows per statement when writing what a sync read: each statement binds its rows as one JSON
/// array (SQLite looks bound parameters up by walking a list, so thousands of them cost
/// quadratic time), and the rows of one statement bound what SQLite keeps to undo it.
const SYNCED_ROWS_PER_STATEMENT: usize = 2_000;

/// Writes what a sync read, in one transaction, stamping it `marker`: groups (inserted or
/// refreshed), then users, then memberships. A user already stamped `marker` is left as it is:
/// each user row is written once per sync however many groups list the person.
pub async fn write_synced(db: &Db, batch: &SyncedBatch, marker: Timestamp) -> Result<(), DbError> {
    if batch.is_empty() {
        return Ok(());
    }
    bulk_writes(db, true).await?;
    // The rows of a statement, as `value` (a JSON array per row).
    let rows = match db.engine() {
        crate::model::DatabaseEngine::Sqlite => "json_each($2)",
        crate::model::DatabaseEngine::Postgres => "jsonb_array_elements($2::jsonb)",
    };
    let groups_sql = format!(
        "INSERT INTO groups (okta_id, name, description, okta_type, managed_by_rule, \
           okta_last_updated, okta_last_membership_updated, okta_member_count, synced_at) \
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, \
           CAST(value ->> 4 AS BOOLEAN), CAST(value ->> 5 AS BIGINT), \
           CAST(value ->> 6 AS BIGINT), CAST(value ->> 7 AS BIGINT), $1 \
         FROM {rows} WHERE TRUE \
         ON CONFLICT (okta_id) DO UPDATE SET name = excluded.name, \
           description = excluded.description, okta_type = excluded.okta_type, \
           managed_by_rule = excluded.managed_by_rule, \
           okta_last_updated = excluded.okta_last_updated, \
           okta_last_membership_updated = excluded.okta_last_membership_updated, \
           okta_member_count = excluded.okta_member_count, synced_at = excluded.synced_at, \
           removed_at = NULL"
    );
    let users_sql = format!(
        "INSERT INTO users (okta_id, login, email, display_name, status, synced_at, title, \
           department, manager_id, manager_name, last_login) \
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, $1, \
           value ->> 5, value ->> 6, value ->> 7, value ->> 8, CAST(value ->> 9 AS BIGINT) \
         FROM {rows} WHERE TRUE \
         ON CONFLICT (okta_id) DO UPDATE SET login = excluded.login, email = excluded.email, \
           display_name = excluded.display_name, status = excluded.status, \
           synced_at = excluded.synced_at, removed_at = NULL, title = excluded.title, \
           department = excluded.department, manager_id = excluded.manager_id, \
           manager_name = excluded.manager_name, last_login = excluded.last_login \
         WHERE users.synced_at <> excluded.synced_at"
    );
    let memberships_sql = format!(
        "INSERT INTO memberships (group_id, user_id, seen_at, source, since) \
         SELECT value ->> 0, value ->> 1, $1, 'okta_sync', $1 FROM {rows} WHERE TRUE \
         ON CONFLICT (group_id, user_id) DO UPDATE SET source = 'okta_sync', \
           seen_at = excluded.seen_at, since = COALESCE(memberships.since, excluded.since)"
    );
    let mut tx = db.begin_write().await?;
    for groups in batch.groups.chunks(SYNCED_ROWS_PER_STATEMENT) {
        let json: Vec<_> = groups
            .iter()
            .map(|g| {
                serde_json::json!([
                    g.record.okta_id,
                    g.record.name,
                    g.record.description,
                    g.record.okta_type,
                    g.record.managed_by_rule,
                    g.last_updated,
                    g.last_membership_updated,
                    g.member_count
                ])
            })
            .collect();
        sqlx::query(&groups_sql)
            .bind(marker)
            .bind(serde_json::Value::from(json).to_string())
            .execute(&mut *tx)
            .await?;
    }
    for users in batch.users.chunks(SYNCED_ROWS_PER_STATEMENT) {
        let json = serde_json::to_string(
            &users
                .iter()
                .map(|u| {
                    let p = &u.profile;
                    serde_json::json!([
                        u.okta_id.0,
                        u.login,
                        u.email,
                        u.display_name,
                        u.status,
                        p.title,
                        p.department,
                        p.manager_id,
                        p.manager_name,
                        p.last_login.map(|t| t.millis()),
                    ])
                })
                .collect::<Vec<_>>(),
        )
        .expect("strings serialize");
        sqlx::query(&users_sql)
            .bind(marker)
            .bind(json)
            .execute(&mut *tx)
            .await?;
    }
    for memberships in batch.memberships.chunks(SYNCED_ROWS_PER_STATEMENT) {
        let json = serde_json::to_string(
            &memberships
                .iter()
                .map(|(g, u)| [&g.0, &u.0])
                .collect::<Vec<_>>(),
        )
        .expect("strings serialize");
        sqlx::query(&memberships_sql)
            .bind(marker)
            .bind(json)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// Groups stamped `synced_at` whose members must be listed (not BUILT_IN, not known to be
/// empty), after `after` in id order, `limit` at a time.
pub async fn groups_to_list(
    db: &Db,
    synced_at: Timestamp,
    after: &str,
    limit: i64,
) -> Result<Vec<String>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT okta_id FROM groups WHERE synced_at = $1 AND removed_at IS NULL \
           AND okta_type <> 'BUILT_IN' AND COALESCE(okta_member_count, 1) > 0 AND okta_id > $2 \
         ORDER BY okta_id LIMIT $3",
    )
    .bind(synced_at)
    .bind(after)
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

/// Marks users a full sync stamped `synced_at` did not see as removed; returns how many.
pub async fn mark_unseen_users_removed(
    db: &Db,
    synced_at: Timestamp,
    at: Timestamp,
) -> Result<u64, DbError> {
    let done =
        sqlx::query("UPDATE users SET removed_at = $2 WHERE synced_at < $1 AND removed_at IS NULL")
            .bind(synced_at)
            .bind(at)
            .execute(db.pool())
            .await?;
    Ok(done.rows_affected())
}

/// Marks groups a full sync stamped `synced_at` did not see as removed; returns how many.
pub async fn mark_unseen_groups_removed(
    db: &Db,
    synced_at: Timestamp,
    at: Timestamp,
) -> Result<u64, DbError> {
    let done = sqlx::query(
        "UPDATE groups SET removed_at = $2 WHERE synced_at < $1 AND removed_at IS NULL",
    )
    .bind(synced_at)
    .bind(at)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected())
}

/// Deletes memberships last seen (by a sync, or written when the grant engine changed them)
/// before `seen_at`, of one group or of all; returns how many.
pub async fn delete_unseen_memberships(
    db: &Db,
    seen_at: Timestamp,
    group_id: Option<&str>,
) -> Result<u64, DbError> {
    let done = match group_id {
        Some(g) => {
            sqlx::query("DELETE FROM memberships WHERE seen_at < $1 AND group_id = $2")
                .bind(seen_at)
                .bind(g)
                .execute(db.pool())
                .await?
        }
        None => {
            sqlx::query("DELETE FROM memberships WHERE seen_at < $1")
                .bind(seen_at)
                .execute(db.pool())
                .await?
        }
    };
    Ok(done.rows_affected())
}

/// Every membership as (group id, user id), ordered; for checks against Okta.
pub async fn all_memberships(db: &Db) -> Result<Vec<(String, String)>, DbError> {
    Ok(
        sqlx::query_as("SELECT group_id, user_id FROM memberships ORDER BY group_id, user_id")
            .fetch_all(db.pool())
            .await?,
    )
}

/// Every present user as (okta id, status), ordered by id.
pub async fn all_user_statuses(db: &Db) -> Result<Vec<(String, String)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT okta_id, status FROM users WHERE removed_at IS NULL ORDER BY okta_id",
    )
    .fetch_all(db.pool())
    .await?)
}

/// Every present group as (okta id, type, managed by rule), ordered by id.
pub async fn all_groups(db: &Db) -> Result<Vec<(String, String, bool)>, DbError> {
    // The Any driver reads no SQLite booleans: read 0/1.
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT okta_id, okta_type, CAST(CASE WHEN managed_by_rule THEN 1 ELSE 0 END AS BIGINT) \
         FROM groups WHERE removed_at IS NULL ORDER BY okta_id",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(|(id, t, r)| (id, t, r != 0)).collect())
}

/// A group in the admins' list: the record, members known, live grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupCounts {
    pub record: GroupRecord,
    pub members: i64,
    pub live_grants: i64,
}

type GroupCountsRow = (String, String, String, String, i64, i64, i64);

fn group_counts(
    (okta_id, name, description, okta_type, rule, members, live): GroupCountsRow,
) -> GroupCounts {
    GroupCounts {
        record: GroupRecord {
            okta_id: GroupId(okta_id),
            name,
            description,
            okta_type,
            managed_by_rule: rule != 0,
        },
        members,
        live_grants: live,
    }
}

const GROUP_COUNTS_COLUMNS: &str = "g.okta_id, g.name, g.description, g.okta_type, \
    CAST(CASE WHEN g.managed_by_rule THEN 1 ELSE 0 END AS BIGINT), \
    (SELECT COUNT(*) FROM memberships m WHERE m.group_id = g.okta_id), \
    (SELECT COUNT(*) FROM grants r WHERE r.group_id = g.okta_id \
       AND r.state IN ('scheduled', 'active', 'revoking'))";

/// Present groups whose name contains `search` (case-insensitive), by name after `after_name`.
pub async fn list_groups_with_counts(
    db: &Db,
    search: &str,
    after_name: &str,
    limit: i64,
) -> Result<Vec<GroupCounts>, DbError> {
    let pattern = super::contains_pattern(search);
    let rows: Vec<GroupCountsRow> = sqlx::query_as(&format!(
        "SELECT {GROUP_COUNTS_COLUMNS} FROM groups g \
         WHERE g.removed_at IS NULL AND LOWER(g.name) LIKE $1 ESCAPE '\\' AND g.name > $2 \
         ORDER BY g.name LIMIT $3"
    ))
    .bind(pattern)
    .bind(after_name)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(group_counts).collect())
}

/// One present group with its counts.
pub async fn group_with_counts(db: &Db, okta_id: &str) -> Result<Option<GroupCounts>, DbError> {
    let row: Option<GroupCountsRow> = sqlx::query_as(&format!(
        "SELECT {GROUP_COUNTS_COLUMNS} FROM groups g WHERE g.okta_id = $1 AND g.removed_at IS NULL"
    ))
    .bind(okta_id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(group_counts))
}

/// A member of a group as (user id, display name, login, source, seen at, live grant id,
/// grant end), by name; at most `limit`.
pub type MemberRow = (
    String,
    String,
    String,
    String,
    Timestamp,
    Option<i64>,
    Option<Timestamp>,
);

/// The Okta ids of every member of `group` (all of them: no paging).
pub async fn member_ids(db: &Db, group: &str) -> Result<Vec<String>, DbError> {
    Ok(
        sqlx::query_scalar("SELECT user_id FROM memberships WHERE group_id = $1")
            .bind(group)
            .fetch_all(db.pool())
            .await?,
    )
}

/// The members of `group_id` Gatepass knows of, with the live grant behind each (if any).
pub async fn group_members(db: &Db, group_id: &str, limit: i64) -> Result<Vec<MemberRow>, DbError> {
    Ok(sqlx::query_as(
        "SELECT m.user_id, COALESCE(u.display_name, m.user_id), COALESCE(u.login, ''), m.source, \
                m.seen_at, r.id, r.ends_at \
         FROM memberships m \
         LEFT JOIN users u ON u.okta_id = m.user_id \
         LEFT JOIN grants r ON r.user_id = m.user_id AND r.group_id = m.group_id \
              AND r.state IN ('active', 'revoking') \
         WHERE m.group_id = $1 \
         ORDER BY COALESCE(u.display_name, m.user_id), m.user_id LIMIT $2",
    )
    .bind(group_id)
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

/// Groups that can be made requestable (Okta groups not filled by a rule, present), ordered
/// by name, after `after_name`.
pub async fn list_requestable_candidates(
    db: &Db,
    after_name: &str,
    limit: i64,
) -> Result<Vec<(GroupId, String, String)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT okta_id, name, description FROM groups \
         WHERE okta_type = 'OKTA_GROUP' AND managed_by_rule = FALSE AND removed_at IS NULL \
           AND name > $1 ORDER BY name LIMIT $2",
    )
    .bind(after_name)
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

/// Ids of the groups a user belongs to (as last synced).
pub async fn user_group_ids(db: &Db, user_id: &UserId) -> Result<Vec<GroupId>, DbError> {
    Ok(
        sqlx::query_scalar("SELECT group_id FROM memberships WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(db.pool())
            .await?,
    )
}

/// People's display names and groups' names by id, read in one go for a whole page.
#[derive(Debug, Default, Clone)]
pub struct Names {
    users: HashMap<UserId, String>,
    groups: HashMap<GroupId, String>,
}

impl Names {
    /// A person's display name, or their id if Gatepass does not know them.
    pub fn user(&self, id: &UserId) -> String {
        self.users
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }

    /// A group's name, or its id if Gatepass does not know it.
    pub fn group(&self, id: &GroupId) -> String {
        self.groups
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }
}

/// Ids bound per `IN (…)` list: far below either engine's limit on parameters.
const IN_CHUNK: usize = 500;

/// The names of `users` and `groups` (or apps; an unknown id stands for itself), in a
/// query per 500 ids instead of one per id.
pub async fn names<'a>(
    db: &Db,
    users: impl IntoIterator<Item = &'a UserId>,
    groups: impl IntoIterator<Item = &'a GroupId>,
) -> Result<Names, DbError> {
    let users: BTreeSet<&UserId> = users.into_iter().collect();
    let groups: BTreeSet<&GroupId> = groups.into_iter().collect();
    let mut names = Names::default();
    for chunk in users.into_iter().collect::<Vec<_>>().chunks(IN_CHUNK) {
        let sql = format!(
            "SELECT okta_id, display_name FROM users WHERE okta_id IN ({})",
            super::placeholders(1, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (UserId, String)>(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        names.users.extend(q.fetch_all(db.pool()).await?);
    }
    // A request's or grant's resource is a group or an app: its id names one or the other.
    for chunk in groups.into_iter().collect::<Vec<_>>().chunks(IN_CHUNK) {
        let sql = format!(
            "SELECT okta_id, name FROM groups WHERE okta_id IN ({}) \
             UNION ALL SELECT okta_id, label FROM apps WHERE okta_id IN ({})",
            super::placeholders(1, chunk.len()),
            super::placeholders(1 + chunk.len(), chunk.len())
        );
        let mut q = sqlx::query_as::<_, (GroupId, String)>(&sql);
        for id in chunk.iter().chain(chunk) {
            q = q.bind(*id);
        }
        names.groups.extend(q.fetch_all(db.pool()).await?);
    }
    Ok(names)
}

/// The display names of the people with `logins` (login → name), in a query per 500.
pub async fn names_by_login(
    db: &Db,
    logins: &[String],
) -> Result<HashMap<String, String>, DbError> {
    let mut out = HashMap::new();
    for chunk in logins.chunks(IN_CHUNK) {
        let sql = format!(
            "SELECT login, display_name FROM users WHERE login IN ({})",
            super::placeholders(1, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (String, String)>(&sql);
        for login in chunk {
            q = q.bind(login);
        }
        out.extend(q.fetch_all(db.pool()).await?);
    }
    Ok(out)
}

/// Display names of approvers (people, then "members of" groups) from names read by
/// [`names`].
pub fn approver_names(names: &Names, users: &[UserId], groups: &[GroupId]) -> Vec<String> {
    users
        .iter()
        .map(|u| names.user(u))
        .chain(
            groups
                .iter()
                .map(|g| format!("members of {}", names.group(g))),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::testing::{each_engine, ms};

    fn user(n: u32) -> UserRecord {
        UserRecord {
            okta_id: format!("00u{n}").into(),
            login: format!("user{n}@example.com"),
            email: format!("user{n}@example.com"),
            display_name: format!("User {n}"),
            status: "ACTIVE".into(),
            profile: Default::default(),
        }
    }

    fn group(n: u32, rule: bool) -> GroupRecord {
        GroupRecord {
            okta_id: format!("00g{n}").into(),
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
                upsert_user(&db, &user(n), ms(1_000)).await.unwrap();
            }
            upsert_group(&db, &group(1, false), ms(1_000))
                .await
                .unwrap();
            upsert_group(&db, &group(2, true), ms(1_000)).await.unwrap();
            upsert_membership(
                &db,
                &GroupId::from("00g1"),
                &UserId::from("00u1"),
                ms(1_000),
            )
            .await
            .unwrap();
            upsert_membership(
                &db,
                &GroupId::from("00g1"),
                &UserId::from("00u2"),
                ms(1_000),
            )
            .await
            .unwrap();
            // Seen again: still one membership.
            upsert_membership(
                &db,
                &GroupId::from("00g1"),
                &UserId::from("00u2"),
                ms(2_000),
            )
            .await
            .unwrap();
            assert!(mark_user_removed(&db, "00u3", ms(3_000)).await.unwrap());
            assert!(!mark_user_removed(&db, "00u3", ms(4_000)).await.unwrap());
            assert_eq!(
                count_directory(&db).await.unwrap(),
                DirectoryCounts {
                    users: 2,
                    groups: 2,
                    memberships: 2
                }
            );
            // A later sync that sees the user again clears the removal mark.
            upsert_user(&db, &user(3), ms(5_000)).await.unwrap();
            assert_eq!(count_directory(&db).await.unwrap().users, 3);
        })
        .await;
    }

    #[tokio::test]
    async fn membership_needs_a_known_user_and_group() {
        each_engine(|db| async move {
            upsert_group(&db, &group(1, false), ms(1_000))
                .await
                .unwrap();
            let err = upsert_membership(
                &db,
                &GroupId::from("00g1"),
                &UserId::from("00u404"),
                ms(1_000),
            )
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
    async fn finds_users_by_id_only_and_knows_who_left() {
        each_engine(|db| async move {
            upsert_user(&db, &user(1), ms(1)).await.unwrap();
            upsert_user(&db, &user(2), ms(1)).await.unwrap();
            assert_eq!(find_user(&db, "00u1").await.unwrap(), Some(user(1)));
            assert_eq!(find_user(&db, "00u9").await.unwrap(), None);
            // Logins and ids find a person; an email never does.
            assert_eq!(
                user_id_by_login(&db, &user(2).login.to_uppercase())
                    .await
                    .unwrap(),
                Some(UserId::from("00u2"))
            );
            let mut twin = user(3);
            twin.login = "twin".into();
            twin.email = user(2).email;
            upsert_user(&db, &twin, ms(1)).await.unwrap();
            assert_eq!(
                user_id_by_login(&db, &user(2).email).await.unwrap(),
                (user(2).login == user(2).email).then(|| UserId::from("00u2"))
            );
            mark_user_removed(&db, "00u1", ms(2)).await.unwrap();
            assert_eq!(find_user(&db, "00u1").await.unwrap(), None);
            assert_eq!(
                find_user_standing(&db, "00u1").await.unwrap(),
                Some((user(1), true))
            );
            assert_eq!(
                find_user_standing(&db, "00u2").await.unwrap(),
                Some((user(2), false))
            );
        })
        .await;
    }

    #[tokio::test]
    async fn membership_by_group_id_only() {
        each_engine(|db| async move {
            upsert_user(&db, &user(1), ms(1)).await.unwrap();
            upsert_group(&db, &group(7, false), ms(1)).await.unwrap();
            upsert_membership(&db, &GroupId::from("00g7"), &UserId::from("00u1"), ms(1))
                .await
                .unwrap();
            let ada = UserId::from("00u1");
            let by_name = [GroupId::from("nope"), GroupId::from("group-7")];
            assert!(
                !is_member_of_any(&db, &ada, &by_name).await.unwrap(),
                "a name is not an id"
            );
            assert!(is_member_of_any(&db, &ada, &[GroupId::from("00g7")])
                .await
                .unwrap());
            assert!(!is_member_of_any(&db, &ada, &[]).await.unwrap());
            assert_eq!(
                groups_named(&db, "group-7", 5).await.unwrap(),
                [("00g7".to_string(), "OKTA_GROUP".to_string())]
            );
        })
        .await;
    }

    #[tokio::test]
    async fn a_sync_writes_each_user_once_and_memberships_after_their_rows() {
        each_engine(|db| async move {
            let synced = |n: u32, members: Option<i64>| SyncedGroup {
                record: group(n, n == 2),
                last_updated: Some(ms(10)),
                last_membership_updated: None,
                member_count: members,
            };
            let pair = |g: u32, u: u32| (GroupId(format!("00g{g}")), UserId(format!("00u{u}")));
            // Groups, users and the memberships that point at them, in one batch.
            let batch = SyncedBatch {
                groups: vec![synced(1, Some(2)), synced(2, None)],
                users: vec![user(1), user(2)],
                memberships: vec![pair(1, 1), pair(1, 2), pair(2, 2)],
            };
            assert_eq!(batch.rows(), 7);
            write_synced(&db, &batch, ms(100)).await.unwrap();
            assert_eq!(
                count_directory(&db).await.unwrap(),
                DirectoryCounts {
                    users: 2,
                    groups: 2,
                    memberships: 3
                }
            );
            assert_eq!(find_group(&db, "00g2").await.unwrap(), Some(group(2, true)));
            // Listed again by another group in the same sync: the row stays as first written.
            let mut renamed = user(1);
            renamed.display_name = "Renamed".into();
            let again = SyncedBatch {
                users: vec![renamed.clone()],
                memberships: vec![pair(2, 1)],
                ..SyncedBatch::default()
            };
            write_synced(&db, &again, ms(100)).await.unwrap();
            assert_eq!(find_user(&db, "00u1").await.unwrap(), Some(user(1)));
            assert_eq!(count_directory(&db).await.unwrap().memberships, 4);
            // The next sync writes it (and brings back someone marked removed).
            mark_user_removed(&db, "00u1", ms(150)).await.unwrap();
            write_synced(&db, &again, ms(200)).await.unwrap();
            assert_eq!(find_user(&db, "00u1").await.unwrap(), Some(renamed));
            // What the next sync did not see is found by its stamp.
            assert_eq!(
                mark_unseen_users_removed(&db, ms(200), ms(300))
                    .await
                    .unwrap(),
                1
            );
            assert_eq!(
                delete_unseen_memberships(&db, ms(200), None).await.unwrap(),
                3
            );
            assert_eq!(
                mark_unseen_groups_removed(&db, ms(200), ms(300))
                    .await
                    .unwrap(),
                2
            );
            finish_synced_writes(&db).await.unwrap();
        })
        .await;
    }

    #[tokio::test]
    async fn rejects_unknown_group_types() {
        each_engine(|db| async move {
            let mut g = group(9, false);
            g.okta_type = "MADE_UP".into();
            assert!(upsert_group(&db, &g, ms(1)).await.is_err());
            assert_eq!(count_directory(&db).await.unwrap().groups, 0);
        })
        .await;
    }
}
