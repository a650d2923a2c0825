//! `policies`: who may request which group, who approves and for how long. Functions taking a
//! transaction run inside the caller's.

use super::{json_list, parse_list, Db, DbError, Tx};
use crate::model::{GroupId, Policy, PolicyTarget, Timestamp};

const POLICY_COLUMNS: &str = "id, group_id, pattern, \
    CAST(CASE WHEN requestable THEN 1 ELSE 0 END AS BIGINT), eligible_groups, approver_users, \
    approver_groups, quorum, default_duration_secs, max_duration_secs, \
    CAST(CASE WHEN require_reason THEN 1 ELSE 0 END AS BIGINT), \
    CAST(CASE WHEN allow_self_approval THEN 1 ELSE 0 END AS BIGINT), \
    CAST(CASE WHEN auto_approve THEN 1 ELSE 0 END AS BIGINT), updated_at, updated_by";

type PolicyRow = (
    i64,
    Option<String>,
    Option<String>,
    i64,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    Timestamp,
    String,
);

impl From<PolicyRow> for Policy {
    fn from(r: PolicyRow) -> Self {
        let (
            id,
            group,
            pattern,
            req,
            eligible,
            users,
            groups,
            quorum,
            def,
            max,
            reason,
            own,
            auto,
            at,
            by,
        ) = r;
        Policy {
            id,
            target: match (group, pattern) {
                (Some(g), _) => PolicyTarget::Group(GroupId(g)),
                (None, p) => PolicyTarget::Pattern(p.unwrap_or_default()),
            },
            requestable: req != 0,
            eligible_groups: parse_list(&eligible),
            approver_users: parse_list(&users),
            approver_groups: parse_list(&groups),
            quorum,
            default_duration_secs: def,
            max_duration_secs: max,
            require_reason: reason != 0,
            allow_self_approval: own != 0,
            auto_approve: auto != 0,
            updated_at: at,
            updated_by: by,
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

/// Inserts or replaces the policy for `p.target`; returns its id.
pub async fn upsert_policy(tx: &mut Tx, p: &Policy) -> Result<i64, DbError> {
    let (group, pattern) = match &p.target {
        PolicyTarget::Group(g) => (Some(g.as_str()), None),
        PolicyTarget::Pattern(pat) => (None, Some(pat.as_str())),
    };
    let existing: Option<i64> =
        sqlx::query_scalar("SELECT id FROM policies WHERE (group_id = $1) OR (pattern = $2)")
            .bind(group)
            .bind(pattern)
            .fetch_optional(&mut **tx)
            .await?;
    if let Some(id) = existing {
        sqlx::query("DELETE FROM policies WHERE id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO policies (group_id, pattern, requestable, eligible_groups, approver_users, \
           approver_groups, quorum, default_duration_secs, max_duration_secs, require_reason, \
           allow_self_approval, auto_approve, updated_at, updated_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
    )
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
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

/// Every policy, group policies first.
pub async fn list_policies(db: &Db) -> Result<Vec<Policy>, DbError> {
    let rows: Vec<PolicyRow> = sqlx::query_as(&format!(
        "SELECT {POLICY_COLUMNS} FROM policies ORDER BY pattern IS NOT NULL, group_id, pattern"
    ))
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(Policy::from).collect())
}
