//! `policies`, `access_requests`, `request_approvers`, `approvals`, `grants` and `okta_ops`:
//! the SQL of the access workflow. Functions taking a transaction run inside the caller's.

use sqlx::{Any, Transaction};

use super::{Db, DbError};
use crate::model::{AccessRequest, Grant, GrantState, Policy, PolicyTarget, RequestState};

type Tx<'c> = Transaction<'c, Any>;

fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).expect("strings serialize")
}

fn parse_list(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

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
    i64,
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
                (Some(g), _) => PolicyTarget::Group(g),
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
pub async fn delete_policy(tx: &mut Tx<'_>, id: i64) -> Result<Option<Policy>, DbError> {
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
pub async fn upsert_policy(tx: &mut Tx<'_>, p: &Policy) -> Result<i64, DbError> {
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

/// A request as stored (approvals counted separately).
type RequestRow = (
    i64,
    String,
    String,
    String,
    i64,
    Option<i64>,
    String,
    i64,
    i64,
    Option<i64>,
    i64,
    Option<i64>,
    Option<String>,
);

const REQUEST_COLUMNS: &str = "r.id, r.requester_id, r.group_id, r.reason, r.duration_secs, \
    r.starts_at, r.state, r.quorum, \
    (SELECT COUNT(*) FROM approvals a WHERE a.request_id = r.id AND a.decision = 'approve'), \
    r.extends_grant_id, r.created_at, r.decided_at, r.decided_by";

impl From<RequestRow> for AccessRequest {
    fn from(r: RequestRow) -> Self {
        let (
            id,
            requester_id,
            group_id,
            reason,
            duration_secs,
            starts_at,
            state,
            quorum,
            approvals,
            extends,
            created_at,
            decided_at,
            decided_by,
        ) = r;
        AccessRequest {
            id,
            requester_id,
            group_id,
            reason,
            duration_secs,
            starts_at,
            state: RequestState::parse(&state).unwrap_or(RequestState::Pending),
            quorum,
            approvals,
            extends_grant_id: extends,
            created_at,
            decided_at,
            decided_by,
        }
    }
}

/// What a new request holds.
#[derive(Debug, Clone)]
pub struct NewRequest<'a> {
    pub requester_id: &'a str,
    pub group_id: &'a str,
    pub reason: &'a str,
    pub duration_secs: i64,
    pub starts_at: Option<i64>,
    pub policy_json: &'a str,
    pub quorum: i64,
    pub extends_grant_id: Option<i64>,
    pub created_at: i64,
}

/// Inserts a pending request and who may decide it; returns its id.
pub async fn insert_request(
    tx: &mut Tx<'_>,
    r: &NewRequest<'_>,
    approver_users: &[String],
    approver_groups: &[String],
) -> Result<i64, DbError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO access_requests (requester_id, group_id, reason, duration_secs, starts_at, \
           state, policy, quorum, extends_grant_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9) RETURNING id",
    )
    .bind(r.requester_id)
    .bind(r.group_id)
    .bind(r.reason)
    .bind(r.duration_secs)
    .bind(r.starts_at)
    .bind(r.policy_json)
    .bind(r.quorum)
    .bind(r.extends_grant_id)
    .bind(r.created_at)
    .fetch_one(&mut **tx)
    .await?;
    for (kind, refs) in [("user", approver_users), ("group", approver_groups)] {
        for reference in refs {
            sqlx::query(
                "INSERT INTO request_approvers (request_id, kind, ref) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(kind)
            .bind(reference)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(id)
}

/// Takes the request's row lock if it is still pending (the first write of a decision, so
/// concurrent deciders queue up); false if it is decided already or does not exist.
pub async fn lock_pending_request(tx: &mut Tx<'_>, id: i64) -> Result<bool, DbError> {
    let done =
        sqlx::query("UPDATE access_requests SET state = state WHERE id = $1 AND state = 'pending'")
            .bind(id)
            .execute(&mut **tx)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// One request, inside a transaction.
pub async fn find_request_tx(tx: &mut Tx<'_>, id: i64) -> Result<Option<AccessRequest>, DbError> {
    let row: Option<RequestRow> = sqlx::query_as(&format!(
        "SELECT {REQUEST_COLUMNS} FROM access_requests r WHERE r.id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(AccessRequest::from))
}

/// One request.
pub async fn find_request(db: &Db, id: i64) -> Result<Option<AccessRequest>, DbError> {
    let row: Option<RequestRow> = sqlx::query_as(&format!(
        "SELECT {REQUEST_COLUMNS} FROM access_requests r WHERE r.id = $1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(AccessRequest::from))
}

/// The policy snapshot stored with a request.
pub async fn request_policy_json(tx: &mut Tx<'_>, id: i64) -> Result<String, DbError> {
    Ok(
        sqlx::query_scalar("SELECT policy FROM access_requests WHERE id = $1")
            .bind(id)
            .fetch_one(&mut **tx)
            .await?,
    )
}

/// Whether `user_id` may decide request `id`: named, or a member of a named group.
pub async fn is_request_approver(tx: &mut Tx<'_>, id: i64, user_id: &str) -> Result<bool, DbError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM request_approvers ra WHERE ra.request_id = $1 AND \
           ((ra.kind = 'user' AND ra.ref = $2) OR (ra.kind = 'group' AND EXISTS ( \
              SELECT 1 FROM memberships m WHERE m.group_id = ra.ref AND m.user_id = $2)))",
    )
    .bind(id)
    .bind(user_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(n > 0)
}

/// Records one approver's decision; false if this approver already decided.
pub async fn insert_approval(
    tx: &mut Tx<'_>,
    request_id: i64,
    approver_id: &str,
    approve: bool,
    comment: &str,
    duration_secs: Option<i64>,
    at: i64,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "INSERT INTO approvals (request_id, approver_id, decision, comment, duration_secs, at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (request_id, approver_id) DO NOTHING",
    )
    .bind(request_id)
    .bind(approver_id)
    .bind(if approve { "approve" } else { "deny" })
    .bind(comment)
    .bind(duration_secs)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Approvals so far and the shortest duration an approver allowed.
pub async fn approval_tally(
    tx: &mut Tx<'_>,
    request_id: i64,
) -> Result<(i64, Option<i64>), DbError> {
    Ok(sqlx::query_as(
        "SELECT COUNT(*), MIN(duration_secs) FROM approvals \
         WHERE request_id = $1 AND decision = 'approve'",
    )
    .bind(request_id)
    .fetch_one(&mut **tx)
    .await?)
}

/// Moves a pending request to `state`; false if it was no longer pending.
pub async fn decide_request(
    tx: &mut Tx<'_>,
    id: i64,
    state: RequestState,
    at: i64,
    by: &str,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE access_requests SET state = $2, decided_at = $3, decided_by = $4 \
         WHERE id = $1 AND state = 'pending'",
    )
    .bind(id)
    .bind(state.as_str())
    .bind(at)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Pending requests that `user_id` may decide (named or through a group), oldest first.
pub async fn list_pending_for_approver(
    db: &Db,
    user_id: &str,
    limit: i64,
) -> Result<Vec<AccessRequest>, DbError> {
    let rows: Vec<RequestRow> = sqlx::query_as(&format!(
        "SELECT {REQUEST_COLUMNS} FROM access_requests r WHERE r.state = 'pending' AND EXISTS ( \
           SELECT 1 FROM request_approvers ra WHERE ra.request_id = r.id AND \
             ((ra.kind = 'user' AND ra.ref = $1) OR (ra.kind = 'group' AND EXISTS ( \
               SELECT 1 FROM memberships m WHERE m.group_id = ra.ref AND m.user_id = $1)))) \
         ORDER BY r.created_at, r.id LIMIT $2"
    ))
    .bind(user_id)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(AccessRequest::from).collect())
}

/// A person's requests, newest first.
pub async fn list_requests_of(
    db: &Db,
    user_id: &str,
    limit: i64,
) -> Result<Vec<AccessRequest>, DbError> {
    let rows: Vec<RequestRow> = sqlx::query_as(&format!(
        "SELECT {REQUEST_COLUMNS} FROM access_requests r WHERE r.requester_id = $1 \
         ORDER BY r.created_at DESC, r.id DESC LIMIT $2"
    ))
    .bind(user_id)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(AccessRequest::from).collect())
}

/// The person's pending request for a group, if any.
pub async fn pending_request_for(
    tx: &mut Tx<'_>,
    user_id: &str,
    group_id: &str,
) -> Result<Option<i64>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM access_requests WHERE requester_id = $1 AND group_id = $2 \
           AND state = 'pending' LIMIT 1",
    )
    .bind(user_id)
    .bind(group_id)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Pending requests made before `created_before`, or whose scheduled start passed before
/// `start_before`.
pub async fn stale_pending_requests(
    tx: &mut Tx<'_>,
    created_before: i64,
    start_before: i64,
) -> Result<Vec<i64>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM access_requests WHERE state = 'pending' AND \
           (created_at < $1 OR (starts_at IS NOT NULL AND starts_at < $2)) ORDER BY id",
    )
    .bind(created_before)
    .bind(start_before)
    .fetch_all(&mut **tx)
    .await?)
}

type GrantRow = (i64, i64, String, String, i64, i64, String, Option<String>);

impl From<GrantRow> for Grant {
    fn from(
        (id, request_id, user_id, group_id, starts_at, ends_at, state, reason): GrantRow,
    ) -> Self {
        Grant {
            id,
            request_id,
            user_id,
            group_id,
            starts_at,
            ends_at,
            state: GrantState::parse(&state).unwrap_or(GrantState::Failed),
            revoked_reason: reason,
        }
    }
}

const GRANT_COLUMNS: &str =
    "id, request_id, user_id, group_id, starts_at, ends_at, state, revoked_reason";

/// Inserts a grant; returns its id.
pub async fn insert_grant(tx: &mut Tx<'_>, g: &Grant, at: i64) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO grants (request_id, user_id, group_id, starts_at, ends_at, state, \
           created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(g.request_id)
    .bind(&g.user_id)
    .bind(&g.group_id)
    .bind(g.starts_at)
    .bind(g.ends_at)
    .bind(g.state.as_str())
    .bind(at)
    .fetch_one(&mut **tx)
    .await?)
}

/// The person's live (scheduled or active) grant of a group, if any.
pub async fn live_grant_for(
    tx: &mut Tx<'_>,
    user_id: &str,
    group_id: &str,
) -> Result<Option<Grant>, DbError> {
    let row: Option<GrantRow> = sqlx::query_as(&format!(
        "SELECT {GRANT_COLUMNS} FROM grants WHERE user_id = $1 AND group_id = $2 \
           AND state IN ('scheduled', 'active') ORDER BY ends_at DESC LIMIT 1"
    ))
    .bind(user_id)
    .bind(group_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(Grant::from))
}

/// One grant, inside a transaction.
pub async fn find_grant_tx(tx: &mut Tx<'_>, id: i64) -> Result<Option<Grant>, DbError> {
    let row: Option<GrantRow> =
        sqlx::query_as(&format!("SELECT {GRANT_COLUMNS} FROM grants WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row.map(Grant::from))
}

/// Moves a grant's end; false unless it is still scheduled or active.
pub async fn set_grant_end(
    tx: &mut Tx<'_>,
    id: i64,
    ends_at: i64,
    at: i64,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE grants SET ends_at = $2, updated_at = $3 \
         WHERE id = $1 AND state IN ('scheduled', 'active')",
    )
    .bind(id)
    .bind(ends_at)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves a grant from one of `from` to `to` with a reason; false if it was in none of them.
pub async fn transition_grant(
    tx: &mut Tx<'_>,
    id: i64,
    from: &[GrantState],
    to: GrantState,
    reason: Option<&str>,
    at: i64,
) -> Result<bool, DbError> {
    let list: Vec<String> = from.iter().map(|s| format!("'{}'", s.as_str())).collect();
    let done = sqlx::query(&format!(
        "UPDATE grants SET state = $2, revoked_reason = COALESCE($3, revoked_reason), \
           updated_at = $4 WHERE id = $1 AND state IN ({})",
        list.join(", ")
    ))
    .bind(id)
    .bind(to.as_str())
    .bind(reason)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A person's grants, live ones first, then the most recent.
pub async fn list_grants_of(db: &Db, user_id: &str, limit: i64) -> Result<Vec<Grant>, DbError> {
    let rows: Vec<GrantRow> = sqlx::query_as(&format!(
        "SELECT {GRANT_COLUMNS} FROM grants WHERE user_id = $1 \
         ORDER BY CASE WHEN state IN ('active', 'scheduled') THEN 0 ELSE 1 END, ends_at DESC \
         LIMIT $2"
    ))
    .bind(user_id)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(Grant::from).collect())
}

/// Queues an Okta membership change for the grant engine (for a grant, or — a membership
/// found outside Gatepass — for none).
pub async fn insert_okta_op(
    tx: &mut Tx<'_>,
    add: bool,
    user_id: &str,
    group_id: &str,
    grant_id: Option<i64>,
    at: i64,
) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO okta_ops (kind, user_id, group_id, grant_id, state, next_attempt_at, \
           created_at) VALUES ($1, $2, $3, $4, 'pending', $5, $5) RETURNING id",
    )
    .bind(if add { "add" } else { "remove" })
    .bind(user_id)
    .bind(group_id)
    .bind(grant_id)
    .bind(at)
    .fetch_one(&mut **tx)
    .await?)
}

/// Pending Okta operations as (kind, user, group, grant), oldest first.
pub async fn list_pending_okta_ops(db: &Db) -> Result<Vec<(String, String, String, i64)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT kind, user_id, group_id, grant_id FROM okta_ops WHERE state = 'pending' ORDER BY id",
    )
    .fetch_all(db.pool())
    .await?)
}

/// Groups that can be made requestable (Okta groups not filled by a rule, present), whose
/// name contains `search` (case-insensitive), ordered by name, after `after_name`.
pub async fn list_requestable_candidates(
    db: &Db,
    search: &str,
    after_name: &str,
    limit: i64,
) -> Result<Vec<(String, String, String)>, DbError> {
    let pattern = super::contains_pattern(search);
    Ok(sqlx::query_as(
        "SELECT okta_id, name, description FROM groups \
         WHERE okta_type = 'OKTA_GROUP' AND managed_by_rule = FALSE AND removed_at IS NULL \
           AND LOWER(name) LIKE $1 ESCAPE '\\' AND name > $2 ORDER BY name LIMIT $3",
    )
    .bind(pattern)
    .bind(after_name)
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

/// One group that can be made requestable (as [`list_requestable_candidates`]), by Okta id.
pub async fn requestable_candidate(
    db: &Db,
    group_id: &str,
) -> Result<Option<(String, String, String)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT okta_id, name, description FROM groups \
         WHERE okta_id = $1 AND okta_type = 'OKTA_GROUP' AND managed_by_rule = FALSE \
           AND removed_at IS NULL",
    )
    .bind(group_id)
    .fetch_optional(db.pool())
    .await?)
}

/// Ids of the groups a user belongs to (as last synced).
pub async fn user_group_ids(db: &Db, user_id: &str) -> Result<Vec<String>, DbError> {
    Ok(
        sqlx::query_scalar("SELECT group_id FROM memberships WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(db.pool())
            .await?,
    )
}

/// Display names of users and groups by id (for approver lists).
pub async fn display_names(
    db: &Db,
    user_ids: &[String],
    group_ids: &[String],
) -> Result<Vec<String>, DbError> {
    let mut out = Vec::new();
    for id in user_ids {
        let name: Option<String> =
            sqlx::query_scalar("SELECT display_name FROM users WHERE okta_id = $1")
                .bind(id)
                .fetch_optional(db.pool())
                .await?;
        out.push(name.unwrap_or_else(|| id.clone()));
    }
    for id in group_ids {
        let name: Option<String> = sqlx::query_scalar("SELECT name FROM groups WHERE okta_id = $1")
            .bind(id)
            .fetch_optional(db.pool())
            .await?;
        out.push(format!("members of {}", name.unwrap_or_else(|| id.clone())));
    }
    Ok(out)
}

/// Group names by id, for showing requests and grants.
pub async fn group_name(db: &Db, group_id: &str) -> Result<String, DbError> {
    let name: Option<String> = sqlx::query_scalar("SELECT name FROM groups WHERE okta_id = $1")
        .bind(group_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(name.unwrap_or_else(|| group_id.to_owned()))
}

/// A user's display name by id.
pub async fn user_name(db: &Db, user_id: &str) -> Result<String, DbError> {
    let name: Option<String> =
        sqlx::query_scalar("SELECT display_name FROM users WHERE okta_id = $1")
            .bind(user_id)
            .fetch_optional(db.pool())
            .await?;
    Ok(name.unwrap_or_else(|| user_id.to_owned()))
}

/// Pending requests whose group or requester (name or login) contains `needle`
/// (case-insensitive), oldest first, `limit` from `offset`.
pub async fn search_pending_requests(
    db: &Db,
    needle: &str,
    offset: i64,
    limit: i64,
) -> Result<Vec<AccessRequest>, DbError> {
    let rows: Vec<RequestRow> = sqlx::query_as(&format!(
        "SELECT {REQUEST_COLUMNS} FROM access_requests r \
         LEFT JOIN groups gr ON gr.okta_id = r.group_id \
         LEFT JOIN users u ON u.okta_id = r.requester_id \
         WHERE r.state = 'pending' AND ($1 = '%%' OR LOWER(gr.name) LIKE $1 ESCAPE '\\' \
               OR LOWER(u.display_name) LIKE $1 ESCAPE '\\' OR LOWER(u.login) LIKE $1 ESCAPE '\\') \
         ORDER BY r.created_at, r.id LIMIT $2 OFFSET $3"
    ))
    .bind(super::contains_pattern(needle))
    .bind(limit)
    .bind(offset)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(AccessRequest::from).collect())
}

/// Grants in `state` (any when `None`), ending soonest first.
pub async fn list_grants(
    db: &Db,
    state: Option<GrantState>,
    limit: i64,
) -> Result<Vec<Grant>, DbError> {
    let rows: Vec<GrantRow> = sqlx::query_as(&format!(
        "SELECT {GRANT_COLUMNS} FROM grants WHERE ($1 = '' OR state = $1) ORDER BY ends_at, id LIMIT $2"
    ))
    .bind(state.map(|s| s.as_str()).unwrap_or(""))
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(Grant::from).collect())
}

/// Live grants (scheduled, active, ending, failed) whose group or holder (name or login)
/// contains `needle` (case-insensitive), ending soonest first, `limit` from `offset`.
pub async fn search_live_grants(
    db: &Db,
    needle: &str,
    offset: i64,
    limit: i64,
) -> Result<Vec<Grant>, DbError> {
    let rows: Vec<GrantRow> = sqlx::query_as(&format!(
        "SELECT {} FROM grants g \
         LEFT JOIN groups gr ON gr.okta_id = g.group_id \
         LEFT JOIN users u ON u.okta_id = g.user_id \
         WHERE g.state IN ('active', 'scheduled', 'revoking', 'failed') \
           AND ($1 = '%%' OR LOWER(gr.name) LIKE $1 ESCAPE '\\' OR LOWER(u.display_name) LIKE $1 ESCAPE '\\' \
                OR LOWER(u.login) LIKE $1 ESCAPE '\\') \
         ORDER BY g.ends_at, g.id LIMIT $2 OFFSET $3",
        GRANT_COLUMNS
            .split(", ")
            .map(|c| format!("g.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .bind(super::contains_pattern(needle))
    .bind(limit)
    .bind(offset)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(Grant::from).collect())
}

/// The grants of `group_id` that are scheduled, active, ending or failed, by end.
pub async fn live_grants_of_group(db: &Db, group_id: &str) -> Result<Vec<Grant>, DbError> {
    let rows: Vec<GrantRow> = sqlx::query_as(&format!(
        "SELECT {GRANT_COLUMNS} FROM grants WHERE group_id = $1 \
           AND state IN ('scheduled', 'active', 'revoking', 'failed') ORDER BY ends_at, id"
    ))
    .bind(group_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(Grant::from).collect())
}

/// The decisions recorded on a request as (approver name, approved, comment), in order.
pub async fn list_decisions(
    db: &Db,
    request_id: i64,
) -> Result<Vec<(String, bool, String)>, DbError> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT COALESCE(u.display_name, a.approver_id), a.decision, a.comment FROM approvals a \
         LEFT JOIN users u ON u.okta_id = a.approver_id WHERE a.request_id = $1 ORDER BY a.at",
    )
    .bind(request_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(n, d, c)| (n, d == "approve", c))
        .collect())
}

/// A queued Okta membership change, as claimed by a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OktaOp {
    pub id: i64,
    /// Who claimed it (the process's instance id).
    pub owner: String,
    pub add: bool,
    pub user_id: String,
    pub group_id: String,
    pub grant_id: Option<i64>,
    /// Tries so far, this one included.
    pub attempts: i64,
}

/// Claims up to `limit` due operations for `owner` until `lease_until`: pending ones whose time
/// has come and in-flight ones whose lease ran out (a crashed worker's). An operation waits
/// while an earlier one for the same membership is unfinished, so changes apply in order.
pub async fn claim_okta_ops(
    db: &Db,
    engine: crate::model::DatabaseEngine,
    owner: &str,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> Result<Vec<OktaOp>, DbError> {
    let lock = if engine == crate::model::DatabaseEngine::Postgres {
        "FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let rows: Vec<(i64, String, String, String, Option<i64>, i64)> = sqlx::query_as(&format!(
        "UPDATE okta_ops SET state = 'in_flight', lease_owner = $1, lease_until = $2, \
           attempts = attempts + 1 \
         WHERE id IN (SELECT o.id FROM okta_ops o \
           WHERE ((o.state = 'pending' AND o.next_attempt_at <= $3) \
                  OR (o.state = 'in_flight' AND o.lease_until < $3)) \
             AND NOT EXISTS (SELECT 1 FROM okta_ops e WHERE e.user_id = o.user_id \
                  AND e.group_id = o.group_id AND e.id < o.id \
                  AND e.state IN ('pending', 'in_flight')) \
           ORDER BY o.id LIMIT $4 {lock}) \
         RETURNING id, kind, user_id, group_id, grant_id, attempts"
    ))
    .bind(owner)
    .bind(lease_until)
    .bind(now)
    .bind(limit)
    .fetch_all(db.write_pool())
    .await?;
    let mut ops: Vec<OktaOp> = rows
        .into_iter()
        .map(|(id, kind, user_id, group_id, grant_id, attempts)| OktaOp {
            id,
            owner: owner.to_owned(),
            add: kind == "add",
            user_id,
            group_id,
            grant_id,
            attempts,
        })
        .collect();
    ops.sort_by_key(|o| o.id);
    Ok(ops)
}

/// Whether the grant behind an add is still active (an add for a grant that ended since it
/// was queued must not be applied).
pub async fn grant_is_active(db: &Db, grant_id: i64) -> Result<bool, DbError> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM grants WHERE id = $1 AND state = 'active'")
            .bind(grant_id)
            .fetch_one(db.pool())
            .await?;
    Ok(n == 1)
}

/// Outcomes are recorded only while the claim `op` stands for is still the operation's
/// current one — in flight, leased to its owner, not claimed again since (each claim counts an
/// attempt): `… AND state = 'in_flight' AND lease_owner = $3 AND attempts = $4`. An outcome
/// under a lost claim would race the claim that replaced it, so it is dropped.
const STILL_CLAIMED: &str = "state = 'in_flight' AND lease_owner = $3 AND attempts = $4";

/// Ends a claimed operation as `state` (`done` or `dead`, with `error`) inside `tx`; false
/// (nothing changed) if the claim was lost meanwhile.
async fn close_claim(
    tx: &mut Tx<'_>,
    op: &OktaOp,
    state: &str,
    error: Option<&str>,
    now: i64,
) -> Result<bool, DbError> {
    let updated = sqlx::query(&format!(
        "UPDATE okta_ops SET state = $5, last_error = COALESCE($6, last_error), done_at = $2, \
           lease_owner = NULL, lease_until = NULL WHERE id = $1 AND {STILL_CLAIMED}"
    ))
    .bind(op.id)
    .bind(now)
    .bind(&op.owner)
    .bind(op.attempts)
    .bind(state)
    .bind(error)
    .execute(&mut **tx)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Marks an operation done; a removal also finishes its grant (revoking → revoked). Returns
/// false (and changes nothing) if the claim was lost meanwhile.
pub async fn finish_okta_op(db: &Db, op: &OktaOp, now: i64) -> Result<bool, DbError> {
    let mut tx = db.begin_write().await?;
    if !close_claim(&mut tx, op, "done", None, now).await? {
        return Ok(false);
    }
    // The directory mirrors what Okta now has, so views and drift checks need not wait for
    // the next sync (which confirms it: a sync only drops rows last seen before it started).
    if op.add {
        sqlx::query(
            "INSERT INTO memberships (group_id, user_id, source, seen_at) VALUES ($1, $2, 'grant', $3) \
             ON CONFLICT (group_id, user_id) DO UPDATE SET source = 'grant', seen_at = excluded.seen_at",
        )
        .bind(&op.group_id)
        .bind(&op.user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    } else {
        sqlx::query("DELETE FROM memberships WHERE group_id = $1 AND user_id = $2")
            .bind(&op.group_id)
            .bind(&op.user_id)
            .execute(&mut *tx)
            .await?;
    }
    if let (false, Some(grant)) = (op.add, op.grant_id) {
        transition_grant(
            &mut tx,
            grant,
            &[GrantState::Revoking],
            GrantState::Revoked,
            None,
            now,
        )
        .await?;
    }
    let action = if op.add {
        "okta.membership.added"
    } else {
        "okta.membership.removed"
    };
    op_audit(
        &mut tx,
        db,
        op,
        action,
        serde_json::json!({ "attempts": op.attempts }),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Closes an add that was not sent because its grant ended before Okta was called. Returns
/// false (and changes nothing) if the claim was lost meanwhile.
pub async fn skip_okta_op(db: &Db, op: &OktaOp, now: i64) -> Result<bool, DbError> {
    let mut tx = db.begin_write().await?;
    if !close_claim(&mut tx, op, "done", None, now).await? {
        return Ok(false);
    }
    let details = serde_json::json!({ "reason": "the grant ended before Okta was called" });
    op_audit(&mut tx, db, op, "okta.membership.add_skipped", details, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Extends the leases of every operation `owner` has in flight to `until` (the worker's
/// heartbeat while its calls run); returns how many.
pub async fn renew_op_leases(db: &Db, owner: &str, until: i64) -> Result<u64, DbError> {
    let done = sqlx::query(
        "UPDATE okta_ops SET lease_until = $2 WHERE lease_owner = $1 AND state = 'in_flight'",
    )
    .bind(owner)
    .bind(until)
    .execute(db.write_pool())
    .await?;
    Ok(done.rows_affected())
}

/// The audit event for what the grant engine did in Okta.
async fn op_audit(
    tx: &mut Tx<'_>,
    db: &Db,
    op: &OktaOp,
    action: &str,
    mut details: serde_json::Value,
    now: i64,
) -> Result<(), DbError> {
    details["user"] = serde_json::json!(op.user_id);
    details["group"] = serde_json::json!(op.group_id);
    let subject = op
        .grant_id
        .map_or_else(|| format!("okta_op:{}", op.id), |g| format!("grant:{g}"));
    super::audit::insert_audit_event(tx, db.engine(), now, "gatepass", action, &subject, &details)
        .await
}

/// Puts an operation back for another try at `next_at`. Returns false (and changes nothing)
/// if the claim was lost meanwhile.
pub async fn retry_okta_op(
    db: &Db,
    op: &OktaOp,
    error: &str,
    next_at: i64,
) -> Result<bool, DbError> {
    let done = sqlx::query(&format!(
        "UPDATE okta_ops SET state = 'pending', next_attempt_at = $2, last_error = $5, \
           lease_owner = NULL, lease_until = NULL WHERE id = $1 AND {STILL_CLAIMED}"
    ))
    .bind(op.id)
    .bind(next_at)
    .bind(&op.owner)
    .bind(op.attempts)
    .bind(error)
    .execute(db.write_pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives an add up: the operation is dead, its grant failed (shown to admins).
pub async fn kill_okta_op(db: &Db, op: &OktaOp, error: &str, now: i64) -> Result<bool, DbError> {
    let mut tx = db.begin_write().await?;
    if !close_claim(&mut tx, op, "dead", Some(error), now).await? {
        return Ok(false);
    }
    if let Some(grant) = op.grant_id {
        transition_grant(
            &mut tx,
            grant,
            &[GrantState::Active],
            GrantState::Failed,
            Some(error),
            now,
        )
        .await?;
    }
    let details = serde_json::json!({ "attempts": op.attempts, "error": error });
    op_audit(&mut tx, db, op, "okta.membership.add_failed", details, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// When the next operation becomes due (a pending one's time, or a lease running out); an
/// operation waiting behind an earlier one for the same membership is not due on its own.
pub async fn next_op_due(db: &Db) -> Result<Option<i64>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT MIN(CASE WHEN o.state = 'pending' THEN o.next_attempt_at ELSE o.lease_until END) \
         FROM okta_ops o WHERE o.state IN ('pending', 'in_flight') \
           AND NOT EXISTS (SELECT 1 FROM okta_ops e WHERE e.user_id = o.user_id \
                AND e.group_id = o.group_id AND e.id < o.id \
                AND e.state IN ('pending', 'in_flight'))",
    )
    .fetch_one(db.pool())
    .await?)
}

/// Grants whose start or end has come at `now`.
pub async fn due_grants(db: &Db, now: i64, limit: i64) -> Result<Vec<Grant>, DbError> {
    let rows: Vec<GrantRow> = sqlx::query_as(&format!(
        "SELECT {GRANT_COLUMNS} FROM grants WHERE (state = 'scheduled' AND starts_at <= $1) \
           OR (state = 'active' AND ends_at <= $1) ORDER BY id LIMIT $2"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(Grant::from).collect())
}

/// The next instant a grant starts or ends.
pub async fn next_grant_change(db: &Db) -> Result<Option<i64>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT MIN(CASE WHEN state = 'scheduled' THEN starts_at ELSE ends_at END) FROM grants \
         WHERE state IN ('scheduled', 'active')",
    )
    .fetch_one(db.pool())
    .await?)
}

/// Operations by state, for tests and metrics: (kind, state, attempts, last error).
pub async fn list_okta_ops(db: &Db) -> Result<Vec<(String, String, i64, Option<String>)>, DbError> {
    Ok(
        sqlx::query_as("SELECT kind, state, attempts, last_error FROM okta_ops ORDER BY id")
            .fetch_all(db.pool())
            .await?,
    )
}

/// Removals still pending after at least `attempts` failed tries: Okta keeps refusing or
/// failing them, and someone has to look.
pub async fn failing_removals(db: &Db, attempts: i64) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM okta_ops WHERE kind = 'remove' AND state IN ('pending', 'in_flight') \
           AND attempts >= $1",
    )
    .bind(attempts)
    .fetch_one(db.pool())
    .await?)
}

/// Grants per state.
pub async fn grant_counts(db: &Db) -> Result<Vec<(String, i64)>, DbError> {
    Ok(
        sqlx::query_as("SELECT state, COUNT(*) FROM grants GROUP BY state ORDER BY state")
            .fetch_all(db.pool())
            .await?,
    )
}

/// Okta operations per kind and state.
pub async fn op_counts(db: &Db) -> Result<Vec<(String, String, i64)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT kind, state, COUNT(*) FROM okta_ops GROUP BY kind, state ORDER BY kind, state",
    )
    .fetch_all(db.pool())
    .await?)
}

/// Milliseconds from queueing to done of the last `limit` finished operations of `kind`.
pub async fn op_latencies(db: &Db, kind: &str, limit: i64) -> Result<Vec<i64>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT done_at - created_at FROM okta_ops WHERE kind = $1 AND state = 'done' \
         ORDER BY id DESC LIMIT $2",
    )
    .bind(kind)
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

/// Milliseconds from a grant's end to its membership's removal, for the last `limit` expiries.
pub async fn expiry_lags(db: &Db, limit: i64) -> Result<Vec<i64>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT o.done_at - g.ends_at FROM okta_ops o JOIN grants g ON g.id = o.grant_id \
         WHERE o.kind = 'remove' AND o.state = 'done' AND g.revoked_reason = 'expired' \
         ORDER BY o.id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

/// Pending requests and live grants of people Okta no longer lists as active (a status other
/// than those `allowed`, or gone from Okta): (`request` or `grant`, its id, the person's status
/// or `REMOVED`), at most `limit`.
pub async fn held_by_inactive_people(
    tx: &mut Tx<'_>,
    allowed: &[&str],
    limit: i64,
) -> Result<Vec<(String, i64, String)>, DbError> {
    let list: Vec<String> = allowed.iter().map(|s| format!("'{s}'")).collect();
    let inactive = format!(
        "(u.removed_at IS NOT NULL OR u.status NOT IN ({}))",
        list.join(", ")
    );
    let status = "CASE WHEN u.removed_at IS NOT NULL THEN 'REMOVED' ELSE u.status END";
    Ok(sqlx::query_as(&format!(
        "SELECT 'request', r.id, {status} FROM access_requests r \
           JOIN users u ON u.okta_id = r.requester_id \
          WHERE r.state = 'pending' AND {inactive} \
         UNION ALL \
         SELECT 'grant', g.id, {status} FROM grants g JOIN users u ON u.okta_id = g.user_id \
          WHERE g.state IN ('scheduled', 'active') AND {inactive} \
         LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?)
}

/// Serialises changes to one person's access to one group until the transaction ends. On
/// PostgreSQL a transaction-scoped advisory lock (two requests for the same membership take
/// turns, others run in parallel); SQLite's write transactions already run one at a time.
pub async fn lock_membership(
    tx: &mut Tx<'_>,
    engine: crate::model::DatabaseEngine,
    user_id: &str,
    group_id: &str,
) -> Result<(), DbError> {
    if engine == crate::model::DatabaseEngine::Postgres {
        sqlx::query("SELECT CAST(pg_advisory_xact_lock(hashtextextended($1, 0)) AS TEXT)")
            .bind(format!("{user_id}/{group_id}"))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Moves a grant from `from` to `to` only if it still starts and ends when the caller read it:
/// the scheduler's check that no extension (or other change) committed meanwhile.
#[allow(clippy::too_many_arguments)]
pub async fn transition_grant_as_read(
    tx: &mut Tx<'_>,
    id: i64,
    from: GrantState,
    to: GrantState,
    reason: Option<&str>,
    at: i64,
    starts_at: i64,
    ends_at: i64,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE grants SET state = $2, revoked_reason = COALESCE($3, revoked_reason), \
           updated_at = $4 WHERE id = $1 AND state = $5 AND starts_at = $6 AND ends_at = $7",
    )
    .bind(id)
    .bind(to.as_str())
    .bind(reason)
    .bind(at)
    .bind(from.as_str())
    .bind(starts_at)
    .bind(ends_at)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}
