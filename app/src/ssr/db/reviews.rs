//! `review_campaigns`, `review_groups`, `review_pool_members`, `review_items` and
//! `review_schedules`: access review campaigns, the memberships they snapshot, who reviews
//! each, the decisions and what was done about them.
//!
//! Who may see and decide an item is one SQL expression, [`mine`], used by every query a
//! reviewer runs: the items whose own reviewer they are, and the items of the pools they are
//! in, but never one about themself. Each half is an index lookup, so a reviewer's page costs
//! their items, not the campaign's.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Db, DbError, Tx};
use crate::model::{
    GroupId, ReviewDecision, ReviewInclude, ReviewItem, ReviewState, ReviewerRule, Timestamp,
};

const MINE_COLUMNS: &str = "ri.id, ri.campaign_id, ri.user_id, ri.group_id, ri.grant_id, \
    ri.decision, ri.user_name, ri.login, ri.group_name";

/// The items reviewer `r` (a parameter, e.g. `$2`) may see and decide — in campaign
/// `campaign` (a parameter) if given — as a table named `i` with the columns lists filter and
/// count by (`id`, `campaign_id`, `user_id`, `group_id`, `grant_id`, `decision`, `user_name`,
/// `login`, `group_name`); the rest of an item is joined back by id for the rows shown.
fn mine(r: &str, campaign: Option<&str>) -> String {
    let (own, pooled) = match campaign {
        Some(c) => (
            format!(" AND ri.campaign_id = {c}"),
            format!(" AND p.campaign_id = {c}"),
        ),
        None => (String::new(), String::new()),
    };
    // `CROSS JOIN` keeps SQLite's planner from walking every item of the campaign for the
    // pools: it reads the reviewer's pools first, then each pool's items.
    format!(
        "(SELECT {MINE_COLUMNS} FROM review_items ri WHERE ri.reviewer_id = {r}{own} \
          UNION ALL SELECT {MINE_COLUMNS} FROM review_pool_members p CROSS JOIN review_items ri \
          WHERE ri.campaign_id = p.campaign_id AND ri.pool = p.pool \
            AND p.reviewer_id = {r}{pooled} AND ri.user_id <> {r}) i"
    )
}

/// A campaign as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignRow {
    pub id: i64,
    pub name: String,
    pub scope: String,
    pub include_standing: bool,
    pub include_grants: bool,
    pub reviewers: String,
    pub reviewer_people: String,
    pub fallback: String,
    pub default_action: String,
    pub extend_secs: i64,
    pub revoke_on_decision: bool,
    pub remind_before_secs: Option<i64>,
    pub state: String,
    pub starts_at: Timestamp,
    pub due_at: Timestamp,
    pub extended_at: Option<Timestamp>,
    pub reminded_at: Option<Timestamp>,
    pub opened_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub closed_by: Option<String>,
    pub schedule_id: Option<i64>,
    pub items: i64,
    pub created_by: String,
    pub created_at: Timestamp,
    /// Items nobody may review (counted when it opened).
    pub unrouted: i64,
}

const CAMPAIGN_COLUMNS: &str = "c.id, c.name, c.scope, \
    CAST(CASE WHEN c.include_standing THEN 1 ELSE 0 END AS BIGINT), \
    CAST(CASE WHEN c.include_grants THEN 1 ELSE 0 END AS BIGINT), \
    c.reviewers, c.reviewer_people, c.fallback, c.default_action, c.extend_secs, \
    CAST(CASE WHEN c.revoke_on_decision THEN 1 ELSE 0 END AS BIGINT), c.remind_before_secs, \
    c.state, c.starts_at, c.due_at, c.extended_at, c.reminded_at, c.opened_at, c.closed_at, \
    c.closed_by, c.schedule_id, c.items, c.created_by, c.created_at, c.unrouted";

fn campaign_row(r: AnyRow) -> Result<CampaignRow, sqlx::Error> {
    Ok(CampaignRow {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        scope: r.try_get(2)?,
        include_standing: r.try_get::<i64, _>(3)? != 0,
        include_grants: r.try_get::<i64, _>(4)? != 0,
        reviewers: r.try_get(5)?,
        reviewer_people: r.try_get(6)?,
        fallback: r.try_get(7)?,
        default_action: r.try_get(8)?,
        extend_secs: r.try_get(9)?,
        revoke_on_decision: r.try_get::<i64, _>(10)? != 0,
        remind_before_secs: r.try_get(11)?,
        state: r.try_get(12)?,
        starts_at: r.try_get(13)?,
        due_at: r.try_get(14)?,
        extended_at: r.try_get(15)?,
        reminded_at: r.try_get(16)?,
        opened_at: r.try_get(17)?,
        closed_at: r.try_get(18)?,
        closed_by: r.try_get(19)?,
        schedule_id: r.try_get(20)?,
        items: r.try_get(21)?,
        created_by: r.try_get(22)?,
        created_at: r.try_get(23)?,
        unrouted: r.try_get(24)?,
    })
}

/// A campaign to be made.
#[derive(Debug, Clone)]
pub struct NewCampaign<'a> {
    pub name: &'a str,
    pub scope: &'a str,
    pub include: ReviewInclude,
    pub reviewers: ReviewerRule,
    pub reviewer_people: &'a str,
    pub fallback: &'a str,
    pub default_action: &'a str,
    pub extend_secs: i64,
    pub revoke_on_decision: bool,
    pub remind_before_secs: Option<i64>,
    pub starts_at: Timestamp,
    pub due_at: Timestamp,
    pub schedule_id: Option<i64>,
    pub created_by: &'a str,
}

/// Inserts a campaign, scheduled; returns its id.
pub async fn insert_campaign(
    tx: &mut Tx,
    c: &NewCampaign<'_>,
    now: Timestamp,
) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO review_campaigns (name, scope, include_standing, include_grants, reviewers, \
           reviewer_people, fallback, default_action, extend_secs, revoke_on_decision, \
           remind_before_secs, state, starts_at, due_at, schedule_id, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'scheduled', $12, $13, $14, $15, $16) \
         RETURNING id",
    )
    .bind(c.name)
    .bind(c.scope)
    .bind(c.include != ReviewInclude::Grants)
    .bind(c.include != ReviewInclude::Standing)
    .bind(c.reviewers.as_str())
    .bind(c.reviewer_people)
    .bind(c.fallback)
    .bind(c.default_action)
    .bind(c.extend_secs)
    .bind(c.revoke_on_decision)
    .bind(c.remind_before_secs)
    .bind(c.starts_at)
    .bind(c.due_at)
    .bind(c.schedule_id)
    .bind(c.created_by)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?)
}

/// A campaign by id.
pub async fn find_campaign(db: &Db, id: i64) -> Result<Option<CampaignRow>, DbError> {
    let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM review_campaigns c WHERE c.id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(db.pool()).await?;
    Ok(row.map(campaign_row).transpose()?)
}

/// A campaign by id, inside a write.
pub async fn find_campaign_tx(tx: &mut Tx, id: i64) -> Result<Option<CampaignRow>, DbError> {
    let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM review_campaigns c WHERE c.id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(&mut **tx).await?;
    Ok(row.map(campaign_row).transpose()?)
}

/// Campaigns newest first, before id `before` (0: from the newest), at most `limit`.
pub async fn list_campaigns(db: &Db, before: i64, limit: i64) -> Result<Vec<CampaignRow>, DbError> {
    let sql = format!(
        "SELECT {CAMPAIGN_COLUMNS} FROM review_campaigns c WHERE ($1 = 0 OR c.id < $1) \
         ORDER BY c.id DESC LIMIT $2"
    );
    let rows = sqlx::query(&sql)
        .bind(before)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    Ok(rows
        .into_iter()
        .map(campaign_row)
        .collect::<Result<_, _>>()?)
}

/// How many items of campaign `id` have a decision (an index range: only the decided ones
/// are read).
pub async fn decided_count(db: &Db, id: i64) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM review_items WHERE campaign_id = $1 AND decision IS NOT NULL",
    )
    .bind(id)
    .fetch_one(db.pool())
    .await?)
}

/// Ids of campaigns in `state` whose start (scheduled) or due date (open) has come.
pub async fn campaigns_due(
    db: &Db,
    state: ReviewState,
    now: Timestamp,
) -> Result<Vec<i64>, DbError> {
    let column = match state {
        ReviewState::Scheduled => "starts_at",
        _ => "due_at",
    };
    let sql = format!(
        "SELECT id FROM review_campaigns WHERE state = $1 AND {column} <= $2 ORDER BY id LIMIT 100"
    );
    Ok(sqlx::query_scalar(&sql)
        .bind(state.as_str())
        .bind(now)
        .fetch_all(db.pool())
        .await?)
}

/// Campaigns closed to decisions whose revocations are still being queued.
pub async fn campaigns_closing(db: &Db) -> Result<Vec<i64>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM review_campaigns WHERE state = 'closing' ORDER BY id LIMIT 100",
    )
    .fetch_all(db.pool())
    .await?)
}

/// Open campaigns whose reminder is due (`due_at - remind_before <= now`) and not yet sent.
pub async fn campaigns_to_remind(db: &Db, now: Timestamp) -> Result<Vec<i64>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM review_campaigns WHERE state = 'open' AND reminded_at IS NULL \
           AND remind_before_secs IS NOT NULL AND due_at - remind_before_secs * 1000 <= $1 \
         ORDER BY id LIMIT 100",
    )
    .bind(now)
    .fetch_all(db.pool())
    .await?)
}

/// Moves a campaign from `from` to `to` (stamping `opened_at` or `closed_at`); false if it was
/// not in `from` (someone else moved it first).
pub async fn move_campaign(
    tx: &mut Tx,
    id: i64,
    from: ReviewState,
    to: ReviewState,
    by: Option<&str>,
    now: Timestamp,
) -> Result<bool, DbError> {
    let stamp = match to {
        ReviewState::Open => ", opened_at = $4",
        ReviewState::Closing => ", closed_at = $4, closed_by = $5",
        _ => "",
    };
    let sql = format!("UPDATE review_campaigns SET state = $3{stamp} WHERE id = $1 AND state = $2");
    let mut q = sqlx::query(&sql)
        .bind(id)
        .bind(from.as_str())
        .bind(to.as_str());
    if !stamp.is_empty() {
        q = q.bind(now);
    }
    if to == ReviewState::Closing {
        q = q.bind(by.unwrap_or("gatepass"));
    }
    Ok(q.execute(&mut **tx).await?.rows_affected() == 1)
}

/// Records how many items the campaign's snapshot holds.
pub async fn set_item_count(tx: &mut Tx, id: i64) -> Result<i64, DbError> {
    sqlx::query(
        "UPDATE review_campaigns SET items = \
           (SELECT COUNT(*) FROM review_items WHERE campaign_id = $1) WHERE id = $1",
    )
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(
        sqlx::query_scalar("SELECT items FROM review_campaigns WHERE id = $1")
            .bind(id)
            .fetch_one(&mut **tx)
            .await?,
    )
}

/// Moves an open campaign's due date to `due_at`, once.
pub async fn extend_campaign(
    tx: &mut Tx,
    id: i64,
    due_at: Timestamp,
    now: Timestamp,
) -> Result<bool, DbError> {
    Ok(sqlx::query(
        "UPDATE review_campaigns SET due_at = $2, extended_at = $3 \
         WHERE id = $1 AND state = 'open' AND extended_at IS NULL",
    )
    .bind(id)
    .bind(due_at)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

/// Marks a campaign's reminder sent; false if it already was.
pub async fn mark_reminded(tx: &mut Tx, id: i64, now: Timestamp) -> Result<bool, DbError> {
    Ok(sqlx::query(
        "UPDATE review_campaigns SET reminded_at = $2 WHERE id = $1 AND reminded_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

/// Adds groups to a campaign's scope, with whether keeping needs a comment in each.
pub async fn insert_review_groups(
    tx: &mut Tx,
    campaign: i64,
    groups: &[(GroupId, bool)],
) -> Result<(), DbError> {
    let rows: Vec<(String, bool)> = groups.iter().map(|(g, n)| (g.0.clone(), *n)).collect();
    insert_pairs(
        tx,
        "review_groups (campaign_id, group_id, keep_needs_comment)",
        campaign,
        &rows,
    )
    .await
}

/// Adds reviewers to pools: (pool, reviewer id).
pub async fn insert_pool_members(
    tx: &mut Tx,
    campaign: i64,
    members: &[(String, String)],
) -> Result<(), DbError> {
    insert_pairs(
        tx,
        "review_pool_members (campaign_id, pool, reviewer_id)",
        campaign,
        members,
    )
    .await
}

/// Inserts rows of (campaign, a, b) into `into` (`table (col, col, col)`), 300 a statement,
/// skipping rows already there.
async fn insert_pairs<A, B>(
    tx: &mut Tx,
    into: &str,
    campaign: i64,
    rows: &[(A, B)],
) -> Result<(), DbError>
where
    A: Clone + Send + 'static + for<'q> sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any>,
    B: Clone + Send + 'static + for<'q> sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    for chunk in rows.chunks(300) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("($1, ${}, ${})", i * 2 + 2, i * 2 + 3))
            .collect();
        let sql = format!(
            "INSERT INTO {into} VALUES {} ON CONFLICT DO NOTHING",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(campaign);
        for (a, b) in chunk {
            q = q.bind(a.clone()).bind(b.clone());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Snapshots the items of a campaign from the directory, in the database (nothing is held in
/// memory, whatever the number of memberships): every present member of its groups, with
/// the live grant that accounts for the membership if any, routed to a reviewer by `rule`.
/// The member never reviews their own item: with no other reviewer in the pool (or no usable
/// manager), it goes to the `fallback` pool.
pub async fn snapshot_items(
    tx: &mut Tx,
    campaign: i64,
    include: ReviewInclude,
    rule: ReviewerRule,
) -> Result<u64, DbError> {
    let grant = "(SELECT MAX(g.id) FROM grants g WHERE g.user_id = m.user_id \
                   AND g.group_id = m.group_id AND g.state = 'active')";
    let include = match include {
        ReviewInclude::Both => "",
        ReviewInclude::Standing => "AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.user_id = m.user_id AND g.group_id = m.group_id AND g.state = 'active')",
        ReviewInclude::Grants => "AND EXISTS (SELECT 1 FROM grants g WHERE g.user_id = m.user_id AND g.group_id = m.group_id AND g.state = 'active')",
    };
    let others = |pool: &str| {
        format!(
            "EXISTS (SELECT 1 FROM review_pool_members p WHERE p.campaign_id = $1 \
               AND p.pool = {pool} AND p.reviewer_id <> m.user_id)"
        )
    };
    let (route, pool, reviewer) = match rule {
        ReviewerRule::Approvers | ReviewerRule::People => {
            let key = if rule == ReviewerRule::Approvers {
                "'group:' || m.group_id"
            } else {
                "'named'"
            };
            let ok = others(key);
            (
                format!(
                    "CASE WHEN {ok} THEN '{}' ELSE 'fallback' END",
                    rule.as_str()
                ),
                format!("CASE WHEN {ok} THEN {key} ELSE 'fallback' END"),
                "NULL".to_owned(),
            )
        }
        ReviewerRule::Managers => {
            let ok = "(u.manager_id IS NOT NULL AND u.manager_id <> u.okta_id AND EXISTS \
                       (SELECT 1 FROM users x WHERE x.okta_id = u.manager_id \
                          AND x.removed_at IS NULL AND x.status = 'ACTIVE'))";
            (
                format!("CASE WHEN {ok} THEN 'manager' ELSE 'fallback' END"),
                format!("CASE WHEN {ok} THEN NULL ELSE 'fallback' END"),
                format!("CASE WHEN {ok} THEN u.manager_id ELSE NULL END"),
            )
        }
    };
    let sql = format!(
        "INSERT INTO review_items (campaign_id, user_id, group_id, user_name, login, title, \
           department, group_name, grant_id, since, last_login, route, pool, reviewer_id) \
         SELECT $1, m.user_id, m.group_id, u.display_name, u.login, u.title, u.department, \
           gr.name, {grant}, \
           COALESCE((SELECT g.starts_at FROM grants g WHERE g.id = {grant}), m.since), \
           u.last_login, {route}, {pool}, {reviewer} \
         FROM review_groups rg \
         JOIN groups gr ON gr.okta_id = rg.group_id \
         JOIN memberships m ON m.group_id = rg.group_id \
         JOIN users u ON u.okta_id = m.user_id AND u.removed_at IS NULL \
         WHERE rg.campaign_id = $1 {include}"
    );
    Ok(sqlx::query(&sql)
        .bind(campaign)
        .execute(&mut **tx)
        .await?
        .rows_affected())
}

/// "Not decided", written so that no index can serve it: pushed into [`mine`]'s halves, an
/// indexable `decision IS NULL` would make SQLite walk every undecided item of the campaign
/// (`review_items_decided`) instead of the reviewer's own.
const UNDECIDED: &str = "COALESCE(i.decision, '') = ''";

// Queries driven by a list of item ids write `+campaign_id = $1`: the unary plus keeps SQLite
// from walking the campaign's index (a million rows) instead of looking the ids up.

/// Records `reviewer`'s decision on the items of `ids` they may review in open campaign
/// `campaign`; items whose revocation was already carried out are left as they are. Returns
/// the ids changed.
pub async fn decide_items(
    tx: &mut Tx,
    campaign: i64,
    reviewer: &str,
    ids: &[i64],
    decision: ReviewDecision,
    comment: &str,
    now: Timestamp,
) -> Result<Vec<i64>, DbError> {
    let mut changed = Vec::new();
    for chunk in ids.chunks(500) {
        let sql = format!(
            "UPDATE review_items SET decision = $3, comment = $4, decided_by = $2, decided_at = $5 \
             WHERE id IN ({}) AND +campaign_id = $1 AND effect IS NULL AND id IN \
               (SELECT i.id FROM {}) \
             RETURNING id",
            super::placeholders(6, chunk.len()),
            mine("$2", Some("$1")),
        );
        let mut q = sqlx::query_scalar::<_, i64>(&sql)
            .bind(campaign)
            .bind(reviewer)
            .bind(decision.as_str())
            .bind(comment)
            .bind(now);
        for id in chunk {
            q = q.bind(id);
        }
        changed.extend(q.fetch_all(&mut **tx).await?);
    }
    Ok(changed)
}

/// Item ids `reviewer` may review in `campaign`, undecided, in `group` (all groups if `None`).
pub async fn undecided_ids(
    tx: &mut Tx,
    campaign: i64,
    reviewer: &str,
    group: Option<&str>,
) -> Result<Vec<i64>, DbError> {
    let sql = format!(
        "SELECT i.id FROM {} WHERE {UNDECIDED} AND ($3 = '' OR i.group_id = $3) \
         ORDER BY i.id",
        mine("$2", Some("$1"))
    );
    Ok(sqlx::query_scalar(&sql)
        .bind(campaign)
        .bind(reviewer)
        .bind(group.unwrap_or(""))
        .fetch_all(&mut **tx)
        .await?)
}

/// Of `ids`, those in groups whose policy asks for a comment to keep.
pub async fn needing_keep_comment(
    tx: &mut Tx,
    campaign: i64,
    ids: &[i64],
) -> Result<Vec<i64>, DbError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT i.id FROM review_items i JOIN review_groups rg \
               ON rg.campaign_id = i.campaign_id AND rg.group_id = i.group_id \
             WHERE i.id IN ({}) AND +i.campaign_id = $1 AND rg.keep_needs_comment",
            super::placeholders(2, chunk.len())
        );
        let mut q = sqlx::query_scalar::<_, i64>(&sql).bind(campaign);
        for id in chunk {
            q = q.bind(id);
        }
        out.extend(q.fetch_all(&mut **tx).await?);
    }
    Ok(out)
}

/// A reviewer's open campaigns: (id, name, due, items, undecided).
pub async fn my_campaigns(
    db: &Db,
    reviewer: &str,
) -> Result<Vec<(i64, String, Timestamp, i64, i64)>, DbError> {
    let sql = format!(
        "SELECT c.id, c.name, c.due_at, COUNT(*), \
           COALESCE(SUM(CASE WHEN i.decision IS NULL THEN 1 ELSE 0 END), 0) \
         FROM review_campaigns c JOIN {} ON i.campaign_id = c.id \
         WHERE c.state = 'open' GROUP BY c.id, c.name, c.due_at ORDER BY c.due_at, c.id",
        mine("$1", None)
    );
    Ok(sqlx::query_as(&sql)
        .bind(reviewer)
        .fetch_all(db.pool())
        .await?)
}

/// Whether `reviewer` has (or had) items in `campaign`, whatever its state.
pub async fn reviews_in(db: &Db, campaign: i64, reviewer: &str) -> Result<bool, DbError> {
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM {} LIMIT 1) x",
        mine("$2", Some("$1"))
    );
    let n: i64 = sqlx::query_scalar(&sql)
        .bind(campaign)
        .bind(reviewer)
        .fetch_one(db.pool())
        .await?;
    Ok(n > 0)
}

/// Filters of a reviewer's list.
#[derive(Debug, Clone, Default)]
pub struct ItemFilter<'a> {
    /// A group id; empty: every group.
    pub group: &'a str,
    /// `undecided`, `decided` or empty (all).
    pub state: &'a str,
    /// Lower-cased `LIKE` pattern on the member's name or login; `%%`: all.
    pub person: &'a str,
    /// `grant`, `standing` or empty.
    pub access: &'a str,
}

fn filter_sql(f: &ItemFilter<'_>) -> String {
    let mut sql = String::new();
    if !f.group.is_empty() {
        sql.push_str(" AND i.group_id = $3");
    }
    match f.state {
        "undecided" => sql.push_str(&format!(" AND {UNDECIDED}")),
        "decided" => sql.push_str(&format!(" AND NOT {UNDECIDED}")),
        _ => {}
    }
    match f.access {
        "grant" => sql.push_str(" AND i.grant_id IS NOT NULL"),
        "standing" => sql.push_str(" AND i.grant_id IS NULL"),
        _ => {}
    }
    if f.person != "%%" {
        sql.push_str(
            " AND (LOWER(i.user_name) LIKE $4 ESCAPE '\\' OR LOWER(i.login) LIKE $4 ESCAPE '\\')",
        );
    }
    sql
}

/// A page of `reviewer`'s items in `campaign` matching `filter`, as the reviewer sees them, by group name then person,
/// from `offset`; and how many match in all.
pub async fn my_items(
    db: &Db,
    campaign: i64,
    reviewer: &str,
    filter: &ItemFilter<'_>,
    offset: i64,
    limit: i64,
) -> Result<(Vec<ReviewItem>, i64), DbError> {
    // One pass over the reviewer's items picks the page (and counts them all); only the page's
    // rows are then read in full, with the request behind each (the grant's, or the member's
    // last approved one for the group).
    let request = "COALESCE((SELECT gr.request_id FROM grants gr WHERE gr.id = it.grant_id), \
        (SELECT MAX(r.id) FROM access_requests r WHERE r.requester_id = it.user_id \
           AND r.group_id = it.group_id AND r.state = 'approved'))";
    let sql = format!(
        "WITH page AS (SELECT i.id, COUNT(*) OVER () AS total FROM {} \
           WHERE i.campaign_id = $1{} \
           ORDER BY i.group_name, i.group_id, i.user_name, i.id LIMIT $5 OFFSET $6) \
         SELECT it.id, it.user_id, it.user_name, it.login, it.title, it.department, it.group_id, \
           it.group_name, it.grant_id, it.since, it.last_login, \
           (SELECT r.decided_by FROM access_requests r WHERE r.id = {request}), \
           (SELECT r.reason FROM access_requests r WHERE r.id = {request}), \
           it.route, it.decision, it.comment, \
           (SELECT d.display_name FROM users d WHERE d.okta_id = it.decided_by), it.decided_at, \
           it.effect, \
           (SELECT CAST(CASE WHEN rg.keep_needs_comment THEN 1 ELSE 0 END AS BIGINT) \
              FROM review_groups rg WHERE rg.campaign_id = it.campaign_id \
                AND rg.group_id = it.group_id), \
           page.total \
         FROM page JOIN review_items it ON it.id = page.id \
         ORDER BY it.group_name, it.group_id, it.user_name, it.id",
        mine("$2", Some("$1")),
        filter_sql(filter)
    );
    let rows = sqlx::query(&sql)
        .bind(campaign)
        .bind(reviewer)
        .bind(filter.group)
        .bind(filter.person)
        .bind(limit)
        .bind(offset)
        .fetch_all(db.pool())
        .await?;
    let total = match rows.first() {
        Some(r) => r.try_get::<i64, _>(20)?,
        // Past the last page: count on their own.
        None => {
            sqlx::query_scalar(&format!(
                "SELECT COUNT(*) FROM {} WHERE i.campaign_id = $1{}",
                mine("$2", Some("$1")),
                filter_sql(filter)
            ))
            .bind(campaign)
            .bind(reviewer)
            .bind(filter.group)
            .bind(filter.person)
            .fetch_one(db.pool())
            .await?
        }
    };
    let items = rows
        .into_iter()
        .map(|r| {
            Ok(ReviewItem {
                id: r.try_get(0)?,
                campaign_id: campaign,
                user_id: r.try_get(1)?,
                user_name: r.try_get(2)?,
                login: r.try_get(3)?,
                title: r.try_get(4)?,
                department: r.try_get(5)?,
                group_id: r.try_get(6)?,
                group_name: r.try_get(7)?,
                grant_id: r.try_get(8)?,
                since: r.try_get(9)?,
                last_login: r.try_get(10)?,
                granted_by: r.try_get(11)?,
                last_reason: r.try_get(12)?,
                route: r.try_get(13)?,
                decision: r
                    .try_get::<Option<String>, _>(14)?
                    .as_deref()
                    .and_then(ReviewDecision::parse),
                comment: r.try_get(15)?,
                decided_by: r.try_get(16)?,
                decided_at: r.try_get(17)?,
                final_: r.try_get::<Option<String>, _>(18)?.is_some(),
                keep_needs_comment: r.try_get::<Option<i64>, _>(19)?.unwrap_or(0) != 0,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok((items, total))
}

/// The groups `reviewer` reviews in `campaign`: (id, name, undecided).
pub async fn my_groups(
    db: &Db,
    campaign: i64,
    reviewer: &str,
) -> Result<Vec<(String, String, i64)>, DbError> {
    let sql = format!(
        "SELECT i.group_id, i.group_name, \
           COALESCE(SUM(CASE WHEN i.decision IS NULL THEN 1 ELSE 0 END), 0) \
         FROM {} GROUP BY i.group_id, i.group_name ORDER BY i.group_name, i.group_id",
        mine("$2", Some("$1"))
    );
    Ok(sqlx::query_as(&sql)
        .bind(campaign)
        .bind(reviewer)
        .fetch_all(db.pool())
        .await?)
}

/// Counts per slice: (name, items, undecided, kept, revoked, defaulted).
pub type TallyRow = (String, i64, i64, i64, i64, i64);

/// Items (`n`), undecided (`u`), kept (`k`), revoked (`r`), defaulted (`d`) of the rows grouped.
const TALLY: &str = "COUNT(*) AS n, \
    COALESCE(SUM(CASE WHEN i.decision IS NULL AND i.outcome IS NULL THEN 1 ELSE 0 END), 0) AS u, \
    COALESCE(SUM(CASE WHEN COALESCE(i.outcome, CASE i.decision WHEN 'keep' THEN 'kept' WHEN 'revoke' THEN 'revoked' END) IN ('kept', 'flagged') THEN 1 ELSE 0 END), 0) AS k, \
    COALESCE(SUM(CASE WHEN COALESCE(i.outcome, CASE i.decision WHEN 'revoke' THEN 'revoked' END) = 'revoked' THEN 1 ELSE 0 END), 0) AS r, \
    COALESCE(SUM(CASE WHEN i.defaulted THEN 1 ELSE 0 END), 0) AS d";

/// A campaign's counts per group (every group, by name) and per reviewer (the decider, or the
/// reviewer or pool the item waits for; at most 500). Each groups the items first and names
/// the groups afterwards, so a campaign of a million items is read twice, not joined twice.
pub async fn tallies(db: &Db, campaign: i64) -> Result<(Vec<TallyRow>, Vec<TallyRow>), DbError> {
    let by_group = sqlx::query_as(&format!(
        "SELECT i.group_name, {TALLY} FROM review_items i WHERE i.campaign_id = $1 \
         GROUP BY i.group_id, i.group_name ORDER BY i.group_name, i.group_id"
    ))
    .bind(campaign)
    .fetch_all(db.pool())
    .await?;
    let by_reviewer = sqlx::query_as(&format!(
        "SELECT y.name, CAST(SUM(y.n) AS BIGINT), CAST(SUM(y.u) AS BIGINT), \
           CAST(SUM(y.k) AS BIGINT), CAST(SUM(y.r) AS BIGINT), CAST(SUM(y.d) AS BIGINT) FROM \
           (SELECT COALESCE(d.display_name, r.display_name, \
              CASE WHEN x.pool = 'fallback' THEN 'Fallback reviewers' \
                   WHEN x.pool = 'named' THEN 'Named reviewers' \
                   ELSE 'Approvers of ' || COALESCE(g.name, x.pool) END) AS name, \
              x.n, x.u, x.k, x.r, x.d FROM \
              (SELECT i.decided_by, i.reviewer_id, i.pool, {TALLY} FROM review_items i \
               WHERE i.campaign_id = $1 GROUP BY i.decided_by, i.reviewer_id, i.pool) x \
            LEFT JOIN users d ON d.okta_id = x.decided_by \
            LEFT JOIN users r ON r.okta_id = x.reviewer_id \
            LEFT JOIN groups g ON g.okta_id = \
              CASE WHEN x.pool LIKE 'group:%' THEN SUBSTR(x.pool, 7) END) y \
         GROUP BY y.name ORDER BY y.name LIMIT 500"
    ))
    .bind(campaign)
    .fetch_all(db.pool())
    .await?;
    Ok((by_group, by_reviewer))
}

/// Counts the items of a campaign nobody may review (in a pool whose only reviewer, if any, is
/// the member) and keeps the count with the campaign: pools are fixed when it opens.
pub async fn count_unrouted(tx: &mut Tx, campaign: i64) -> Result<i64, DbError> {
    sqlx::query(
        "UPDATE review_campaigns SET unrouted = (SELECT COUNT(*) FROM review_items i \
           WHERE i.campaign_id = $1 AND i.pool IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM review_pool_members p WHERE p.campaign_id = $1 \
               AND p.pool = i.pool AND p.reviewer_id <> i.user_id)) WHERE id = $1",
    )
    .bind(campaign)
    .execute(&mut **tx)
    .await?;
    Ok(
        sqlx::query_scalar("SELECT unrouted FROM review_campaigns WHERE id = $1")
            .bind(campaign)
            .fetch_one(&mut **tx)
            .await?,
    )
}

/// Revocations of a campaign whose Okta removal is still pending, and those that failed.
pub async fn removal_counts(db: &Db, campaign: i64) -> Result<(i64, i64), DbError> {
    Ok(sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN o.state IN ('pending', 'in_flight') THEN 1 ELSE 0 END), 0), \
           COALESCE(SUM(CASE WHEN o.state = 'dead' THEN 1 ELSE 0 END), 0) \
         FROM review_items i JOIN okta_ops o ON o.id = i.okta_op_id \
         WHERE i.campaign_id = $1 AND i.outcome = 'revoked' AND i.okta_op_id IS NOT NULL",
    )
    .bind(campaign)
    .fetch_one(db.pool())
    .await?)
}

/// At the close: every item gets its outcome — its decision, or for those undecided
/// `default_outcome` (`kept`... `flagged` or `revoked`), marked defaulted.
pub async fn settle_outcomes(
    tx: &mut Tx,
    campaign: i64,
    default_outcome: &str,
) -> Result<u64, DbError> {
    sqlx::query(
        "UPDATE review_items SET outcome = CASE decision WHEN 'keep' THEN 'kept' \
           ELSE 'revoked' END WHERE campaign_id = $1 AND decision IS NOT NULL AND outcome IS NULL",
    )
    .bind(campaign)
    .execute(&mut **tx)
    .await?;
    Ok(sqlx::query(
        "UPDATE review_items SET outcome = $2, defaulted = TRUE \
         WHERE campaign_id = $1 AND decision IS NULL AND outcome IS NULL",
    )
    .bind(campaign)
    .bind(default_outcome)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// A revoked item whose effect is still to be carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEffect {
    pub id: i64,
    pub user_id: String,
    pub group_id: String,
    pub grant_id: Option<i64>,
}

/// Items of a closed `campaign` whose outcome is revoked and not yet carried out, `limit`
/// at a time.
pub async fn pending_effects(
    db: &Db,
    campaign: i64,
    limit: i64,
) -> Result<Vec<PendingEffect>, DbError> {
    let rows: Vec<(i64, String, String, Option<i64>)> = sqlx::query_as(
        "SELECT id, user_id, group_id, grant_id FROM review_items \
         WHERE campaign_id = $1 AND effect IS NULL AND outcome = 'revoked' ORDER BY id LIMIT $2",
    )
    .bind(campaign)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, user_id, group_id, grant_id)| PendingEffect {
            id,
            user_id,
            group_id,
            grant_id,
        })
        .collect())
}

/// Of `ids`, the items of `campaign` decided revoke whose effect is still to be carried out
/// (inside the write that decided them).
pub async fn pending_effects_tx(
    tx: &mut Tx,
    campaign: i64,
    ids: &[i64],
) -> Result<Vec<PendingEffect>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, user_id, group_id, grant_id FROM review_items WHERE id IN ({}) \
           AND +campaign_id = $1 AND effect IS NULL AND decision = 'revoke' ORDER BY id",
        super::placeholders(2, ids.len())
    );
    let mut q = sqlx::query_as::<_, (i64, String, String, Option<i64>)>(&sql).bind(campaign);
    for id in ids {
        q = q.bind(id);
    }
    Ok(q.fetch_all(&mut **tx)
        .await?
        .into_iter()
        .map(|(id, user_id, group_id, grant_id)| PendingEffect {
            id,
            user_id,
            group_id,
            grant_id,
        })
        .collect())
}

/// Records what was done about a revoked item; false if something already was.
pub async fn set_effect(
    tx: &mut Tx,
    item: i64,
    effect: &str,
    note: &str,
    okta_op: Option<i64>,
    now: Timestamp,
) -> Result<bool, DbError> {
    Ok(sqlx::query(
        "UPDATE review_items SET effect = $2, effect_note = $3, okta_op_id = $4, effect_at = $5 \
         WHERE id = $1 AND effect IS NULL",
    )
    .bind(item)
    .bind(effect)
    .bind(note)
    .bind(okta_op)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

/// The newest removal queued for `grant`.
pub async fn removal_of_grant(tx: &mut Tx, grant: i64) -> Result<Option<i64>, DbError> {
    Ok(
        sqlx::query_scalar("SELECT MAX(id) FROM okta_ops WHERE grant_id = $1 AND kind = 'remove'")
            .bind(grant)
            .fetch_one(&mut **tx)
            .await?,
    )
}

/// One line of the report, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub id: i64,
    pub user_id: String,
    pub login: String,
    pub name: String,
    pub group_id: String,
    pub group: String,
    pub grant_id: Option<i64>,
    pub since: Option<Timestamp>,
    pub last_login: Option<Timestamp>,
    pub reviewer: String,
    pub route: String,
    pub decision: Option<String>,
    pub defaulted: bool,
    pub comment: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<Timestamp>,
    pub outcome: Option<String>,
    pub effect: Option<String>,
    pub effect_note: Option<String>,
    pub okta_state: Option<String>,
    pub okta_error: Option<String>,
}

/// A page of a campaign's report, after item id `after`, in id order.
pub async fn report_rows(
    db: &Db,
    campaign: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<ReportRow>, DbError> {
    let rows = sqlx::query(
        "SELECT i.id, i.user_id, i.login, i.user_name, \
           i.group_id, i.group_name, i.grant_id, i.since, i.last_login, \
           COALESCE(r.login, CASE WHEN i.pool = 'fallback' THEN 'fallback reviewers' \
             WHEN i.pool = 'named' THEN 'named reviewers' ELSE 'approvers' END), \
           i.route, i.decision, CAST(CASE WHEN i.defaulted THEN 1 ELSE 0 END AS BIGINT), \
           i.comment, d.login, i.decided_at, i.outcome, i.effect, i.effect_note, o.state, o.last_error \
         FROM review_items i \
         LEFT JOIN users r ON r.okta_id = i.reviewer_id \
         LEFT JOIN users d ON d.okta_id = i.decided_by \
         LEFT JOIN okta_ops o ON o.id = i.okta_op_id \
         WHERE i.id > $2 AND +i.campaign_id = $1 ORDER BY i.id LIMIT $3",
    )
    .bind(campaign)
    .bind(after)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            Ok(ReportRow {
                id: r.try_get(0)?,
                user_id: r.try_get(1)?,
                login: r.try_get(2)?,
                name: r.try_get(3)?,
                group_id: r.try_get(4)?,
                group: r.try_get(5)?,
                grant_id: r.try_get(6)?,
                since: r.try_get(7)?,
                last_login: r.try_get(8)?,
                reviewer: r.try_get(9)?,
                route: r.try_get(10)?,
                decision: r.try_get(11)?,
                defaulted: r.try_get::<i64, _>(12)? != 0,
                comment: r.try_get(13)?,
                decided_by: r.try_get(14)?,
                decided_at: r.try_get(15)?,
                outcome: r.try_get(16)?,
                effect: r.try_get(17)?,
                effect_note: r.try_get(18)?,
                okta_state: r.try_get(19)?,
                okta_error: r.try_get(20)?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?)
}

/// A recurring review as stored: (id, name, template, every months, review days, next start,
/// enabled, created by).
pub type ScheduleRow = (i64, String, String, i64, i64, Timestamp, i64, String);

const SCHEDULE_COLUMNS: &str = "id, name, template, every_months, review_days, next_start_at, \
    CAST(CASE WHEN enabled THEN 1 ELSE 0 END AS BIGINT), created_by";

/// Adds a recurring review; returns its id.
#[allow(clippy::too_many_arguments)]
pub async fn insert_schedule(
    tx: &mut Tx,
    name: &str,
    template: &str,
    every_months: i64,
    review_days: i64,
    next_start_at: Timestamp,
    by: &str,
    now: Timestamp,
) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO review_schedules (name, template, every_months, review_days, next_start_at, \
           enabled, created_by, created_at) VALUES ($1, $2, $3, $4, $5, TRUE, $6, $7) RETURNING id",
    )
    .bind(name)
    .bind(template)
    .bind(every_months)
    .bind(review_days)
    .bind(next_start_at)
    .bind(by)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?)
}

/// Every recurring review, newest first.
pub async fn list_schedules(db: &Db) -> Result<Vec<ScheduleRow>, DbError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {SCHEDULE_COLUMNS} FROM review_schedules ORDER BY id DESC LIMIT 200"
    ))
    .fetch_all(db.pool())
    .await?)
}

/// Enabled recurring reviews whose next start has come.
pub async fn schedules_due(db: &Db, now: Timestamp) -> Result<Vec<ScheduleRow>, DbError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {SCHEDULE_COLUMNS} FROM review_schedules WHERE enabled AND next_start_at <= $1 \
         ORDER BY id LIMIT 100"
    ))
    .bind(now)
    .fetch_all(db.pool())
    .await?)
}

/// Moves a recurring review's next start from `from` to `to`; false if another process did.
pub async fn advance_schedule(
    tx: &mut Tx,
    id: i64,
    from: Timestamp,
    to: Timestamp,
) -> Result<bool, DbError> {
    Ok(sqlx::query(
        "UPDATE review_schedules SET next_start_at = $3 \
         WHERE id = $1 AND next_start_at = $2 AND enabled",
    )
    .bind(id)
    .bind(from)
    .bind(to)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

/// Stops a recurring review; false if there is no such enabled one.
pub async fn disable_schedule(tx: &mut Tx, id: i64) -> Result<bool, DbError> {
    Ok(
        sqlx::query("UPDATE review_schedules SET enabled = FALSE WHERE id = $1 AND enabled")
            .bind(id)
            .execute(&mut **tx)
            .await?
            .rows_affected()
            == 1,
    )
}

/// Every present group a review may cover: (okta id, name, type, managed by a rule).
pub async fn review_candidates(db: &Db) -> Result<Vec<(String, String, String, bool)>, DbError> {
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT okta_id, name, okta_type, \
           CAST(CASE WHEN managed_by_rule THEN 1 ELSE 0 END AS BIGINT) \
         FROM groups WHERE removed_at IS NULL AND okta_type <> 'BUILT_IN' ORDER BY name, okta_id",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, kind, rule)| (id, name, kind, rule != 0))
        .collect())
}

/// The active, present members of `group`.
pub async fn active_members(db: &Db, group: &str) -> Result<Vec<String>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT m.user_id FROM memberships m JOIN users u ON u.okta_id = m.user_id \
         WHERE m.group_id = $1 AND u.removed_at IS NULL AND u.status = 'ACTIVE' ORDER BY m.user_id",
    )
    .bind(group)
    .fetch_all(db.pool())
    .await?)
}

/// Of `ids`, the people present and active in Okta.
pub async fn active_people(db: &Db, ids: &[String]) -> Result<Vec<String>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT okta_id FROM users WHERE removed_at IS NULL AND status = 'ACTIVE' \
           AND okta_id IN ({}) ORDER BY okta_id",
        super::placeholders(1, ids.len())
    );
    let mut q = sqlx::query_scalar(&sql);
    for id in ids {
        q = q.bind(id);
    }
    Ok(q.fetch_all(db.pool()).await?)
}

/// Display names of people by id (unknown ids as they are), in the order given, in one query.
pub async fn names_of(db: &Db, ids: &[String]) -> Result<Vec<String>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT okta_id, display_name FROM users WHERE okta_id IN ({})",
        super::placeholders(1, ids.len())
    );
    let mut q = sqlx::query_as::<_, (String, String)>(&sql);
    for id in ids {
        q = q.bind(id);
    }
    let found: std::collections::HashMap<String, String> =
        q.fetch_all(db.pool()).await?.into_iter().collect();
    Ok(ids
        .iter()
        .map(|id| found.get(id).cloned().unwrap_or_else(|| id.clone()))
        .collect())
}
