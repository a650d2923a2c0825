//! `policies`: who may request which group, who approves and for how long. Functions taking a
//! transaction run inside the caller's.

use sqlx::Row;

use super::{json_list, parse_list, Db, DbError, Tx};
use crate::model::{AppId, GroupId, Policy, PolicyTarget, Timestamp};

/// The policy's switches, as bits of one column (a row of separate columns would be too wide).
const REQUESTABLE: i64 = 1;
const REQUIRE_REASON: i64 = 2;
const SELF_APPROVAL: i64 = 4;
const AUTO_APPROVE: i64 = 8;
const GATEPASS_ONLY: i64 = 16;
const KEEP_NEEDS_COMMENT: i64 = 32;

const POLICY_COLUMNS: &str = "id, group_id, pattern, bundle_id, eligible_groups, approver_users, \
    approver_groups, quorum, default_duration_secs, max_duration_secs, \
    CAST(CASE WHEN requestable THEN 1 ELSE 0 END + CASE WHEN require_reason THEN 2 ELSE 0 END \
      + CASE WHEN allow_self_approval THEN 4 ELSE 0 END + CASE WHEN auto_approve THEN 8 ELSE 0 END \
      + CASE WHEN approve_in_gatepass_only THEN 16 ELSE 0 END \
      + CASE WHEN keep_needs_comment THEN 32 ELSE 0 END AS BIGINT) AS flags, \
    slack_channel, updated_at, updated_by, ticket_pattern, ticket_url, rules, app_id";

/// A policy as stored.
#[derive(sqlx::FromRow)]
struct PolicyRow {
    id: i64,
    group_id: Option<String>,
    pattern: Option<String>,
    bundle_id: Option<i64>,
    eligible_groups: String,
    approver_users: String,
    approver_groups: String,
    quorum: i64,
    default_duration_secs: i64,
    max_duration_secs: i64,
    flags: i64,
    slack_channel: Option<String>,
    updated_at: Timestamp,
    updated_by: String,
    ticket_pattern: Option<String>,
    ticket_url: Option<String>,
    rules: String,
    app_id: Option<String>,
}

impl From<PolicyRow> for Policy {
    fn from(r: PolicyRow) -> Self {
        let flags = r.flags;
        Policy {
            id: r.id,
            target: match (r.group_id, r.bundle_id, r.app_id, r.pattern) {
                (Some(g), _, _, _) => PolicyTarget::Group(GroupId(g)),
                (None, Some(b), _, _) => PolicyTarget::Bundle(b),
                (None, None, Some(a), _) => PolicyTarget::App(AppId(a)),
                (None, None, None, p) => PolicyTarget::Pattern(p.unwrap_or_default()),
            },
            requestable: flags & REQUESTABLE != 0,
            eligible_groups: parse_list(&r.eligible_groups),
            approver_users: parse_list(&r.approver_users),
            approver_groups: parse_list(&r.approver_groups),
            quorum: r.quorum,
            default_duration_secs: r.default_duration_secs,
            max_duration_secs: r.max_duration_secs,
            require_reason: flags & REQUIRE_REASON != 0,
            allow_self_approval: flags & SELF_APPROVAL != 0,
            auto_approve: flags & AUTO_APPROVE != 0,
            approve_in_gatepass_only: flags & GATEPASS_ONLY != 0,
            slack_channel: r.slack_channel,
            keep_needs_comment: flags & KEEP_NEEDS_COMMENT != 0,
            ticket_pattern: r.ticket_pattern,
            ticket_url: r.ticket_url,
            // Written by this code from a checked policy: a row that does not parse is one
            // written by hand, and gets no further rules rather than failing every read.
            rules: serde_json::from_str(&r.rules).unwrap_or_default(),
            updated_at: r.updated_at,
            updated_by: r.updated_by,
        }
    }
}

/// Deletes a policy; returns it as it was, or `None` if there was none with that id.
pub async fn delete_policy(tx: &mut Tx, id: i64) -> Result<Option<Policy>, DbError> {
    let row: Option<PolicyRow> = sqlx::query_as(&format!(
        "SELECT {POLICY_COLUMNS} FROM policies WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    if row.is_some() {
        sqlx::query("DELETE FROM policies WHERE id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(row.map(Policy::from))
}

/// Inserts the policy for `p.target`, or updates the one it has in place (its id stays);
/// returns its id.
pub async fn upsert_policy(tx: &mut Tx, p: &Policy) -> Result<i64, DbError> {
    let (group, pattern, bundle, app) = target_columns(&p.target);
    let existing: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM policies WHERE (group_id = $1) OR (pattern = $2) OR (bundle_id = $3) \
           OR (app_id = $4)",
    )
    .bind(group)
    .bind(pattern)
    .bind(bundle)
    .bind(app)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(id) = existing {
        update_policy(tx, id, p).await?;
        return Ok(id);
    }
    let query = sqlx::query(
        "INSERT INTO policies (group_id, pattern, requestable, eligible_groups, approver_users, \
           approver_groups, quorum, default_duration_secs, max_duration_secs, require_reason, \
           allow_self_approval, auto_approve, updated_at, updated_by, approve_in_gatepass_only, \
           slack_channel, keep_needs_comment, ticket_pattern, ticket_url, rules, bundle_id, \
           app_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
           $18, $19, $20, $21, $22) \
         RETURNING id",
    );
    let id: i64 = bind_policy(query, p)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
    Ok(id)
}

/// Binds `$1`…`$22` of an insert or an update of a policy: its target, rules and stamps, in
/// the columns' order.
fn bind_policy<'q>(query: AnyQuery<'q>, p: &'q Policy) -> AnyQuery<'q> {
    let (group, pattern, bundle, app) = target_columns(&p.target);
    query
        .bind(group)
        .bind(pattern)
        .bind(p.requestable)
        .bind(json_list(&p.eligible_groups))
        .bind(json_list(&p.approver_users))
        .bind(json_list(&p.approver_groups))
        .bind(p.quorum)
        .bind(p.default_duration_secs)
        .bind(p.max_duration_secs)
        .bind(p.require_reason)
        .bind(p.allow_self_approval)
        .bind(p.auto_approve)
        .bind(p.updated_at)
        .bind(&p.updated_by)
        .bind(p.approve_in_gatepass_only)
        .bind(p.slack_channel.as_deref())
        .bind(p.keep_needs_comment)
        .bind(p.ticket_pattern.as_deref())
        .bind(p.ticket_url.as_deref())
        .bind(serde_json::to_string(&p.rules).unwrap_or_else(|_| "{}".into()))
        .bind(bundle)
        .bind(app)
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// The `group_id`, `pattern`, `bundle_id` and `app_id` columns of a target (exactly one is
/// set).
fn target_columns(
    target: &PolicyTarget,
) -> (Option<&str>, Option<&str>, Option<i64>, Option<&str>) {
    match target {
        PolicyTarget::Group(g) => (Some(g.as_str()), None, None, None),
        PolicyTarget::Pattern(pat) => (None, Some(pat.as_str()), None, None),
        PolicyTarget::Bundle(b) => (None, None, Some(*b), None),
        PolicyTarget::App(a) => (None, None, None, Some(a.as_str())),
    }
}

/// Writes `p` over the policy `id` (its target included); whether there was one.
pub async fn update_policy(tx: &mut Tx, id: i64, p: &Policy) -> Result<bool, DbError> {
    let query = sqlx::query(
        "UPDATE policies SET group_id = $1, pattern = $2, requestable = $3, eligible_groups = $4, \
           approver_users = $5, approver_groups = $6, quorum = $7, default_duration_secs = $8, \
           max_duration_secs = $9, require_reason = $10, allow_self_approval = $11, \
           auto_approve = $12, updated_at = $13, updated_by = $14, \
           approve_in_gatepass_only = $15, slack_channel = $16, keep_needs_comment = $17, \
           ticket_pattern = $18, ticket_url = $19, rules = $20, bundle_id = $21, app_id = $22 \
         WHERE id = $23",
    );
    let done = bind_policy(query, p).bind(id).execute(&mut **tx).await?;
    Ok(done.rows_affected() > 0)
}

/// Keeps other writers of policies out until `tx` ends, so that what it reads of them is what
/// it writes over (PostgreSQL; on SQLite a write transaction already holds the only writer).
pub async fn lock_policies(tx: &mut Tx) -> Result<(), DbError> {
    if tx.engine() == crate::model::DatabaseEngine::Postgres {
        sqlx::query("LOCK TABLE policies IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Every policy as `tx` sees it, in id order.
pub async fn policies_in(tx: &mut Tx) -> Result<Vec<Policy>, DbError> {
    let rows: Vec<PolicyRow> = sqlx::query_as(&format!(
        "SELECT {POLICY_COLUMNS} FROM policies ORDER BY id"
    ))
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(Policy::from).collect())
}

/// One policy, by id.
pub async fn find_policy(db: &Db, id: i64) -> Result<Option<Policy>, DbError> {
    let row: Option<PolicyRow> = sqlx::query_as(&format!(
        "SELECT {POLICY_COLUMNS} FROM policies WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(Policy::from))
}

/// Every policy, group policies first.
pub async fn list_policies(db: &Db) -> Result<Vec<Policy>, DbError> {
    let rows: Vec<PolicyRow> = sqlx::query_as(&format!(
        "SELECT {POLICY_COLUMNS} FROM policies \
         ORDER BY bundle_id IS NOT NULL, pattern IS NOT NULL, group_id, pattern, bundle_id, \
           app_id"
    ))
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(Policy::from).collect())
}
