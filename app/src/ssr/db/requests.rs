//! `access_requests`, `request_approvers` and `approvals`: requests, who may decide them and
//! the decisions made. Functions taking a transaction run inside the caller's.

use std::collections::HashMap;

use super::{Db, DbError, Tx};
use crate::model::{
    AccessRequest, Decision, GrantId, GroupId, RequestId, RequestState, Resource, Timestamp, UserId,
};

/// A request as stored (approvals counted separately).
#[derive(sqlx::FromRow)]
struct RequestRow {
    id: i64,
    requester_id: String,
    group_id: String,
    reason: String,
    duration_secs: i64,
    starts_at: Option<Timestamp>,
    state: String,
    quorum: i64,
    approvals: i64,
    extends_grant_id: Option<i64>,
    created_at: Timestamp,
    decided_at: Option<Timestamp>,
    decided_by: Option<String>,
    ticket: Option<String>,
    ticket_url: Option<String>,
    followup: Option<String>,
    resource: String,
}

const REQUEST_COLUMNS: &str = "r.id, r.requester_id, r.group_id, r.reason, r.duration_secs, \
    r.starts_at, r.state, r.quorum, \
    (SELECT COUNT(*) FROM approvals a WHERE a.request_id = r.id AND a.decision = 'approve') \
      AS approvals, \
    r.extends_grant_id, r.created_at, r.decided_at, r.decided_by, r.ticket, r.ticket_url, \
    r.followup, r.resource";

impl From<RequestRow> for AccessRequest {
    fn from(r: RequestRow) -> Self {
        AccessRequest {
            id: RequestId(r.id),
            requester_id: UserId(r.requester_id),
            group_id: GroupId(r.group_id),
            resource: Resource::parse(&r.resource).unwrap_or_default(),
            reason: r.reason,
            duration_secs: r.duration_secs,
            starts_at: r.starts_at,
            state: RequestState::parse(&r.state).unwrap_or(RequestState::Pending),
            quorum: r.quorum,
            approvals: r.approvals,
            extends_grant_id: r.extends_grant_id.map(GrantId),
            ticket: r.ticket,
            ticket_url: r.ticket_url,
            emergency: r
                .followup
                .as_deref()
                .and_then(crate::model::Followup::parse),
            created_at: r.created_at,
            decided_at: r.decided_at,
            decided_by: r.decided_by,
        }
    }
}

/// The policy as it was when request `id` was made (its JSON), if there is such a request.
pub async fn policy_snapshot(db: &Db, id: RequestId) -> Result<Option<String>, DbError> {
    Ok(
        sqlx::query_scalar("SELECT policy FROM access_requests WHERE id = $1")
            .bind(id)
            .fetch_optional(db.pool())
            .await?,
    )
}

/// What a new request holds.
#[derive(Debug, Clone)]
pub struct NewRequest<'a> {
    pub requester_id: &'a UserId,
    /// The group's id, or the app's.
    pub group_id: &'a GroupId,
    pub resource: Resource,
    pub reason: &'a str,
    pub duration_secs: i64,
    pub starts_at: Option<Timestamp>,
    pub policy_json: &'a str,
    pub quorum: i64,
    pub extends_grant_id: Option<GrantId>,
    pub created_at: Timestamp,
    /// The ticket reference and its link.
    pub ticket: Option<&'a str>,
    pub ticket_url: Option<&'a str>,
    /// The policy it is made under.
    pub policy_id: i64,
    /// An emergency (break-glass) activation: its review afterwards starts pending.
    pub emergency: bool,
    /// When the policy's second tier of approvers, and the admins, join if it is undecided.
    pub escalate_at: Option<Timestamp>,
    pub admins_at: Option<Timestamp>,
}

/// Inserts a pending request and who may decide it; returns its id.
pub async fn insert_request(
    tx: &mut Tx,
    r: &NewRequest<'_>,
    approver_users: &[UserId],
    approver_groups: &[GroupId],
) -> Result<RequestId, DbError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO access_requests (requester_id, group_id, reason, duration_secs, starts_at, \
           state, policy, quorum, extends_grant_id, created_at, ticket, ticket_url, policy_id, \
           emergency, followup, escalate_at, admins_at, resource) \
         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
           $16, $17) RETURNING id",
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
    .bind(r.ticket)
    .bind(r.ticket_url)
    .bind(r.policy_id)
    .bind(r.emergency)
    .bind(r.emergency.then_some("pending"))
    .bind(r.escalate_at)
    .bind(r.admins_at)
    .bind(r.resource.as_str())
    .fetch_one(&mut **tx)
    .await?;
    let users = approver_users.iter().map(|u| ("user", u.as_str()));
    let groups = approver_groups.iter().map(|g| ("group", g.as_str()));
    for (kind, reference) in users.chain(groups) {
        add_approver(tx, RequestId(id), kind, reference, None).await?;
    }
    Ok(RequestId(id))
}

/// Routes request `id` to a person (`kind` `user`) or the members of a group (`group`) too,
/// noting how (`via`: `escalation`, `admins`, `delegate:<okta id>`; `None`: its policy);
/// false if it already was.
pub async fn add_approver(
    tx: &mut Tx,
    id: RequestId,
    kind: &str,
    reference: &str,
    via: Option<&str>,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "INSERT INTO request_approvers (request_id, kind, ref, via) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(kind)
    .bind(reference)
    .bind(via)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Takes the request's row lock if it is still pending (the first write of a decision, so
/// concurrent deciders queue up); false if it is decided already or does not exist.
pub async fn lock_pending_request(tx: &mut Tx, id: RequestId) -> Result<bool, DbError> {
    let done =
        sqlx::query("UPDATE access_requests SET state = state WHERE id = $1 AND state = 'pending'")
            .bind(id)
            .execute(&mut **tx)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// One request, inside a transaction.
pub async fn find_request_tx(tx: &mut Tx, id: RequestId) -> Result<Option<AccessRequest>, DbError> {
    let row: Option<RequestRow> = sqlx::query_as(&format!(
        "SELECT {REQUEST_COLUMNS} FROM access_requests r WHERE r.id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(AccessRequest::from))
}

/// One request.
pub async fn find_request(db: &Db, id: RequestId) -> Result<Option<AccessRequest>, DbError> {
    let row: Option<RequestRow> = sqlx::query_as(&format!(
        "SELECT {REQUEST_COLUMNS} FROM access_requests r WHERE r.id = $1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(AccessRequest::from))
}

/// The policy snapshot stored with a request.
pub async fn request_policy_json(tx: &mut Tx, id: RequestId) -> Result<String, DbError> {
    Ok(
        sqlx::query_scalar("SELECT policy FROM access_requests WHERE id = $1")
            .bind(id)
            .fetch_one(&mut **tx)
            .await?,
    )
}

/// The policy snapshot request `id` was made under (JSON), if the request exists.
pub async fn find_request_policy(db: &Db, id: RequestId) -> Result<Option<String>, DbError> {
    Ok(
        sqlx::query_scalar("SELECT policy FROM access_requests WHERE id = $1")
            .bind(id)
            .fetch_optional(db.pool())
            .await?,
    )
}

/// Counts the approver entries of request `$1` that name user `$2`, in person or through a group.
const APPROVER_OF: &str = "SELECT COUNT(*) FROM request_approvers ra WHERE ra.request_id = $1 AND \
       ((ra.kind = 'user' AND ra.ref = $2) OR (ra.kind = 'group' AND EXISTS ( \
          SELECT 1 FROM memberships m WHERE m.group_id = ra.ref AND m.user_id = $2)))";

/// Whether `user_id` may decide request `id`: named, or a member of a named group.
pub async fn is_request_approver(
    tx: &mut Tx,
    id: RequestId,
    user_id: &UserId,
) -> Result<bool, DbError> {
    let n: i64 = sqlx::query_scalar(APPROVER_OF)
        .bind(id)
        .bind(user_id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(n > 0)
}

/// [`is_request_approver`], outside a transaction (for reading).
pub async fn approver_of(db: &Db, id: RequestId, user_id: &UserId) -> Result<bool, DbError> {
    let n: i64 = sqlx::query_scalar(APPROVER_OF)
        .bind(id)
        .bind(user_id)
        .fetch_one(db.pool())
        .await?;
    Ok(n > 0)
}

/// Records one approver's decision; false if this approver already decided.
pub async fn insert_approval(
    tx: &mut Tx,
    request_id: RequestId,
    approver_id: &UserId,
    decision: Decision,
    comment: &str,
    duration_secs: Option<i64>,
    at: Timestamp,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "INSERT INTO approvals (request_id, approver_id, decision, comment, duration_secs, at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (request_id, approver_id) DO NOTHING",
    )
    .bind(request_id)
    .bind(approver_id)
    .bind(decision.as_str())
    .bind(comment)
    .bind(duration_secs)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Approvals so far and the shortest duration an approver allowed.
pub async fn approval_tally(
    tx: &mut Tx,
    request_id: RequestId,
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
    tx: &mut Tx,
    id: RequestId,
    state: RequestState,
    at: Timestamp,
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

/// Request `r` is routed to user `$1`: named, or a member of a named group.
const ROUTED_TO_1: &str = "EXISTS (SELECT 1 FROM request_approvers ra WHERE ra.request_id = r.id \
    AND ((ra.kind = 'user' AND ra.ref = $1) OR (ra.kind = 'group' AND EXISTS ( \
      SELECT 1 FROM memberships m WHERE m.group_id = ra.ref AND m.user_id = $1))))";

/// Pending requests that `user_id` may decide (named or through a group), oldest first.
pub async fn list_pending_for_approver(
    db: &Db,
    user_id: &UserId,
    limit: i64,
) -> Result<Vec<AccessRequest>, DbError> {
    let rows: Vec<RequestRow> = sqlx::query_as(&format!(
        "SELECT {REQUEST_COLUMNS} FROM access_requests r WHERE r.state = 'pending' AND {ROUTED_TO_1} \
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
    user_id: &UserId,
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
    tx: &mut Tx,
    user_id: &UserId,
    group_id: &GroupId,
) -> Result<Option<RequestId>, DbError> {
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
    tx: &mut Tx,
    created_before: Timestamp,
    start_before: Timestamp,
) -> Result<Vec<RequestId>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM access_requests WHERE state = 'pending' AND \
           (created_at < $1 OR (starts_at IS NOT NULL AND starts_at < $2)) ORDER BY id",
    )
    .bind(created_before)
    .bind(start_before)
    .fetch_all(&mut **tx)
    .await?)
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
         LEFT JOIN apps ap ON ap.okta_id = r.group_id \
         LEFT JOIN users u ON u.okta_id = r.requester_id \
         WHERE r.state = 'pending' \
           AND ($1 = '%%' OR LOWER(COALESCE(gr.name, ap.label)) LIKE $1 ESCAPE '\\' \
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

/// The decisions on each of `ids` , in a query per 500 requests.
pub async fn list_decisions_of(
    db: &Db,
    ids: &[RequestId],
) -> Result<HashMap<RequestId, Vec<(String, bool, String)>>, DbError> {
    let mut out: HashMap<RequestId, Vec<(String, bool, String)>> = HashMap::new();
    for chunk in ids.chunks(500) {
        let list = super::placeholders(1, chunk.len());
        let sql = format!(
            "SELECT a.request_id, COALESCE(u.display_name, a.approver_id), a.decision, a.comment \
             FROM approvals a LEFT JOIN users u ON u.okta_id = a.approver_id \
             WHERE a.request_id IN ({list}) ORDER BY a.request_id, a.at"
        );
        let mut q = sqlx::query_as::<_, (RequestId, String, String, String)>(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        for (id, name, decision, comment) in q.fetch_all(db.pool()).await? {
            out.entry(id)
                .or_default()
                .push((name, decision == "approve", comment));
        }
    }
    Ok(out)
}

/// The groups `user_id` holds a live grant of, or has a pending request for, under policy
/// `policy_id` — those in `except` aside (asking again for them extends, it adds nothing) —
/// by name.
pub async fn live_under_policy(
    db: &Db,
    user_id: &UserId,
    policy_id: i64,
    except: &[GroupId],
) -> Result<Vec<String>, DbError> {
    let skip = if except.is_empty() {
        String::new()
    } else {
        format!(
            "g.okta_id NOT IN ({}) AND",
            super::placeholders(3, except.len())
        )
    };
    let sql = format!(
        "SELECT g.name FROM groups g WHERE {skip} g.okta_id IN ( \
           SELECT gr.group_id FROM grants gr JOIN access_requests r ON r.id = gr.request_id \
             WHERE gr.user_id = $1 AND gr.state IN ('scheduled', 'active') \
               AND r.policy_id = $2 \
           UNION SELECT r.group_id FROM access_requests r \
             WHERE r.requester_id = $1 AND r.state = 'pending' AND r.policy_id = $2) \
         ORDER BY g.name"
    );
    let mut q = sqlx::query_scalar(&sql).bind(user_id).bind(policy_id);
    for g in except {
        q = q.bind(g);
    }
    Ok(q.fetch_all(db.pool()).await?)
}

/// How many emergency activations `user_id` made since `since`, counted in the transaction
/// that is about to add one (so that concurrent activations take turns).
pub async fn emergencies_since(
    tx: &mut Tx,
    user_id: &UserId,
    since: Timestamp,
) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM access_requests \
         WHERE requester_id = $1 AND emergency AND created_at > $2",
    )
    .bind(user_id)
    .bind(since)
    .fetch_one(&mut **tx)
    .await?)
}

/// Records the review of emergency request `id` afterwards, if it is still waiting for one.
pub async fn record_followup(
    tx: &mut Tx,
    id: RequestId,
    outcome: crate::model::Followup,
    by: &str,
    at: Timestamp,
    comment: &str,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE access_requests SET followup = $2, followup_by = $3, followup_at = $4, \
           followup_comment = $5 WHERE id = $1 AND followup = 'pending'",
    )
    .bind(id)
    .bind(outcome.as_str())
    .bind(by)
    .bind(at)
    .bind(comment)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Emergency activations waiting for `user_id`'s review (as one of their approvers; never
/// their own), oldest first.
pub async fn emergencies_to_review(
    db: &Db,
    user_id: &UserId,
    limit: i64,
) -> Result<Vec<AccessRequest>, DbError> {
    let rows: Vec<RequestRow> = sqlx::query_as(&format!(
        "SELECT {REQUEST_COLUMNS} FROM access_requests r WHERE r.followup = 'pending' \
           AND r.requester_id <> $1 AND {ROUTED_TO_1} \
         ORDER BY r.created_at, r.id LIMIT $2"
    ))
    .bind(user_id)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(AccessRequest::from).collect())
}

/// Which step of a policy's escalation is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// The policy's second tier of approvers.
    Second,
    /// The admins.
    Admins,
}

/// Pending requests with an escalation step due at `now` and not taken yet, oldest first.
pub async fn escalations_due(
    db: &Db,
    now: Timestamp,
    limit: i64,
) -> Result<Vec<(RequestId, Tier)>, DbError> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, 2 FROM access_requests WHERE state = 'pending' AND escalate_at <= $1 \
           AND escalated_at IS NULL \
         UNION ALL SELECT id, 3 FROM access_requests WHERE state = 'pending' \
           AND admins_at <= $1 AND admins_escalated_at IS NULL \
         ORDER BY 1, 2 LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, tier)| {
            let tier = if tier == 2 {
                Tier::Second
            } else {
                Tier::Admins
            };
            (RequestId(id), tier)
        })
        .collect())
}

/// Marks escalation step `tier` of request `id` taken at `at`; false if it already was.
pub async fn mark_escalated(
    tx: &mut Tx,
    id: RequestId,
    tier: Tier,
    at: Timestamp,
) -> Result<bool, DbError> {
    let column = match tier {
        Tier::Second => "escalated_at",
        Tier::Admins => "admins_escalated_at",
    };
    let done = sqlx::query(&format!(
        "UPDATE access_requests SET {column} = $2 WHERE id = $1 AND {column} IS NULL"
    ))
    .bind(id)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How a request reached people beyond its policy, and its emergency review.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routing {
    /// An emergency (break-glass) activation.
    pub emergency: bool,
    pub escalated_at: Option<Timestamp>,
    pub admins_escalated_at: Option<Timestamp>,
    /// The review afterwards of an emergency: who, when, what they said.
    pub followup: Option<(String, Timestamp, String)>,
    /// (delegate's name, the name of the person away).
    pub delegates: Vec<(String, String)>,
    /// The bundle request it is part of: its lead and the bundle's name.
    pub bundle: Option<(RequestId, String)>,
    /// For a bundle's lead: the names of the groups its requests ask for.
    pub bundle_groups: Vec<String>,
}

/// [`Routing`] of requests `ids` (those with any), in one statement whatever their number:
/// the request's own columns (`kind` 0), its delegate rows (`kind` 1), and for a bundle's lead
/// the groups of its requests (`kind` 2), side by side.
pub async fn routing_among(
    db: &Db,
    ids: &[RequestId],
) -> Result<HashMap<RequestId, Routing>, DbError> {
    let mut out: HashMap<RequestId, Routing> = HashMap::new();
    type Row = (
        RequestId,
        i64,
        i64,
        Option<Timestamp>,
        Option<Timestamp>,
        Option<String>,
        Option<Timestamp>,
        Option<String>,
        Option<i64>,
    );
    for chunk in ids.chunks(500) {
        let n = chunk.len();
        let (first, second, third) = (
            super::placeholders(1, n),
            super::placeholders(n + 1, n),
            super::placeholders(2 * n + 1, n),
        );
        // Text columns: for kind 0 the follow-up (by, comment) or, with no follow-up, the
        // bundle's name in the second; for kind 1 the delegate and the person away; for
        // kind 2 the group's name.
        let sql = format!(
            "SELECT r.id, 0, CAST(CASE WHEN r.emergency THEN 1 ELSE 0 END AS BIGINT), \
               r.escalated_at, r.admins_escalated_at, r.followup_by, r.followup_at, \
               COALESCE(r.followup_comment, b.name), r.bundle_lead \
             FROM access_requests r LEFT JOIN bundles b ON b.id = r.bundle_id \
             WHERE r.id IN ({first}) AND (r.emergency OR r.escalated_at IS NOT NULL \
               OR r.admins_escalated_at IS NOT NULL OR r.bundle_id IS NOT NULL) \
             UNION ALL \
             SELECT ra.request_id, 1, 0, NULL, NULL, COALESCE(d.display_name, ra.ref), NULL, \
               COALESCE(a.display_name, SUBSTR(ra.via, 10)), NULL \
             FROM request_approvers ra LEFT JOIN users d ON d.okta_id = ra.ref \
               LEFT JOIN users a ON a.okta_id = SUBSTR(ra.via, 10) \
             WHERE ra.request_id IN ({second}) AND ra.via LIKE 'delegate:%' \
             UNION ALL \
             SELECT m.bundle_lead, 2, 0, NULL, NULL, COALESCE(g.name, m.group_id), NULL, NULL, \
               NULL \
             FROM access_requests m LEFT JOIN groups g ON g.okta_id = m.group_id \
             WHERE m.bundle_lead IN ({third}) \
             ORDER BY 1, 2, 6"
        );
        let mut q = sqlx::query_as::<_, Row>(&sql);
        for id in chunk.iter().chain(chunk).chain(chunk) {
            q = q.bind(*id);
        }
        for (id, kind, emergency, second, admins, by, at, text, lead) in
            q.fetch_all(db.pool()).await?
        {
            let r = out.entry(id).or_default();
            match kind {
                1 => {
                    // A delegate row: the delegate's name and the name of the person away.
                    r.delegates
                        .push((by.unwrap_or_default(), text.unwrap_or_default()));
                    continue;
                }
                2 => {
                    r.bundle_groups.push(by.unwrap_or_default());
                    continue;
                }
                _ => {}
            }
            r.emergency = emergency == 1;
            r.escalated_at = second;
            r.admins_escalated_at = admins;
            match (by, at) {
                (Some(by), Some(at)) => r.followup = Some((by, at, text.unwrap_or_default())),
                _ => {
                    if let (Some(lead), Some(name)) = (lead, text) {
                        r.bundle = Some((RequestId(lead), name));
                    }
                }
            }
        }
    }
    Ok(out)
}
