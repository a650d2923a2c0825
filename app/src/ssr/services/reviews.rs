//! Access reviews: an admin makes a campaign over governed groups; when it opens, every
//! membership in scope is snapshotted as an item and routed to a reviewer (the group's
//! approvers, named people, or the member's manager — never the member themself, whose item
//! goes to the fallback reviewers); reviewers keep or revoke; at the close undecided items get
//! the campaign's default and every revocation is carried out the way the grant engine removes
//! access: a live grant ends, a membership made outside Gatepass is removed through the Okta
//! outbox. Every step is audited (`review.*`), and the report is the evidence.

use crate::error::AppError;
use crate::model::{
    AuditAction, Campaign, CampaignDetail, CampaignForm, DefaultAction, GrantId, GrantState,
    GroupId, GroupKind, MyCampaign, MyReviewPage, OpKind, PolicyTarget, ReportLine, ReviewDecision,
    ReviewInclude, ReviewSchedule, ReviewScope, ReviewState, ReviewTally, ReviewerRule,
    ReviewsOverview, Timestamp, UserId,
};
use crate::ssr::auth::{Admin, Requester};
use crate::ssr::clock::Clock;
use crate::ssr::db::reviews::{self as store, CampaignRow, ItemFilter, NewCampaign, PendingEffect};
use crate::ssr::db::{audit, directory, grants, outbox, policies, Db, Tx};
use crate::ssr::services::access::{parse_start, resolve_group, AccessService};
use crate::ssr::services::policy::{pattern_matches, resolve_policy};

/// Items on one page of a reviewer's list.
pub const PAGE: i64 = 200;
/// Revocations a close carries out before answering; the rest are left to the job.
const EFFECTS_INLINE: usize = 2_000;
/// Longest a campaign may run, and furthest ahead it may start.
const MAX_DAYS: i64 = 366;
/// Longest comment kept with a decision.
const MAX_COMMENT: usize = 2_000;

/// Access reviews.
pub struct ReviewService<'a> {
    pub db: &'a Db,
    pub clock: &'a dyn Clock,
    pub signal: Option<&'a crate::ssr::signal::EngineSignal>,
}

/// A campaign's settings, parsed and checked.
#[derive(Debug, Clone)]
struct Settings {
    name: String,
    scope: ReviewScope,
    include: ReviewInclude,
    reviewers: ReviewerRule,
    reviewer_people: Vec<String>,
    fallback: Vec<String>,
    default_action: DefaultAction,
    extend_secs: i64,
    revoke_on_decision: bool,
    remind_before_secs: Option<i64>,
    review_days: i64,
    repeat_months: Option<i64>,
}

fn list(text: &str) -> Vec<&str> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// Whole days in `field` within `min..=MAX_DAYS`; `None` when empty and `optional`.
fn days(field: &str, text: &str, min: i64, optional: bool) -> Result<Option<i64>, AppError> {
    let text = text.trim();
    if text.is_empty() && optional {
        return Ok(None);
    }
    match text.parse::<i64>() {
        Ok(n) if (min..=MAX_DAYS).contains(&n) => Ok(Some(n)),
        _ => Err(AppError::invalid(
            field,
            format!("enter a whole number of days from {min} to {MAX_DAYS}"),
        )),
    }
}

/// `at` plus `months` calendar months (the day clamped to the month's length), same time.
pub fn add_months(at: Timestamp, months: i64) -> Timestamp {
    let t = time::OffsetDateTime::from(at);
    let total = t.year() as i64 * 12 + (t.month() as i64 - 1) + months;
    let (year, month) = (
        total.div_euclid(12) as i32,
        (total.rem_euclid(12) + 1) as u8,
    );
    let month = time::Month::try_from(month).unwrap_or(time::Month::January);
    let day = t.day().min(month.length(year));
    match time::Date::from_calendar_date(year, month, day) {
        Ok(date) => Timestamp::from(t.replace_date(date)),
        Err(_) => at,
    }
}

impl ReviewService<'_> {
    fn now(&self) -> Timestamp {
        self.clock.timestamp()
    }

    fn access(&self) -> AccessService<'_> {
        AccessService {
            db: self.db,
            clock: self.clock,
            signal: None,
            on_call: None,
        }
    }

    fn wake_engine(&self) {
        if let Some(signal) = self.signal {
            signal.wake();
        }
    }

    async fn audit(
        &self,
        tx: &mut Tx,
        actor: &str,
        action: AuditAction,
        campaign: i64,
        details: serde_json::Value,
    ) -> Result<(), AppError> {
        audit::insert_audit_event(
            tx,
            self.now(),
            actor,
            action,
            &format!("review:{campaign}"),
            &details,
        )
        .await?;
        Ok(())
    }

    /// People by login (or id), present in the directory; errors name `field`.
    async fn people(&self, field: &str, text: &str) -> Result<Vec<String>, AppError> {
        let mut ids = Vec::new();
        for login in list(text) {
            super::access::printable(field, login)?;
            let id = directory::user_id_by_login(self.db, login)
                .await?
                .ok_or_else(|| {
                    AppError::invalid(field, format!("nobody with the login {login:?}"))
                })?;
            if !ids.contains(&id.0) {
                ids.push(id.0);
            }
        }
        Ok(ids)
    }

    /// Parses and checks the campaign form: every error names its field, nothing is written.
    /// `default_fallback`: who reviews what no one else may when the form names nobody.
    async fn settings(
        &self,
        default_fallback: &str,
        f: &CampaignForm,
    ) -> Result<Settings, AppError> {
        let name = f.name.trim();
        if name.is_empty() || name.chars().count() > 120 {
            return Err(AppError::invalid(
                "Name",
                "give the campaign a name of at most 120 characters",
            ));
        }
        let mut groups = Vec::new();
        for g in list(&f.groups) {
            let id = resolve_group(self.db, "Groups", g).await?;
            if !groups.contains(&id.0) {
                groups.push(id.0);
            }
        }
        let patterns: Vec<String> = list(&f.patterns).into_iter().map(str::to_owned).collect();
        if let Some(p) = patterns.iter().find(|p| !p.contains('*')) {
            return Err(AppError::invalid(
                "Patterns",
                format!("{p:?} has no `*`: put a group's name under Groups, or use a pattern like aws-*"),
            ));
        }
        let mut policy_ids = Vec::new();
        for p in list(&f.policies) {
            let id: i64 = p.trim_start_matches('#').parse().map_err(|_| {
                AppError::invalid("Policies", format!("{p:?} is not a policy number"))
            })?;
            if policies::find_policy(self.db, id).await?.is_none() {
                return Err(AppError::invalid(
                    "Policies",
                    format!("there is no policy #{id}"),
                ));
            }
            policy_ids.push(id);
        }
        let scope = ReviewScope {
            groups,
            patterns,
            policies: policy_ids,
            all_requestable: f.all_requestable,
            all_okta_groups: f.all_okta_groups,
        };
        if scope == ReviewScope::default() {
            return Err(AppError::invalid(
                "Groups",
                "name the groups to review: groups, patterns, policies, all requestable groups or every Okta group",
            ));
        }
        let include = ReviewInclude::parse(f.include.trim())
            .ok_or_else(|| AppError::invalid("Include", "choose both, standing or grants"))?;
        let reviewers = ReviewerRule::parse(f.reviewers.trim()).ok_or_else(|| {
            AppError::invalid("Reviewers", "choose approvers, people or managers")
        })?;
        let reviewer_people = self.people("Reviewers", &f.reviewer_people).await?;
        if reviewers == ReviewerRule::People && reviewer_people.is_empty() {
            return Err(AppError::invalid(
                "Reviewers",
                "name at least one reviewer by login",
            ));
        }
        let mut fallback = self.people("Fallback reviewers", &f.fallback).await?;
        if fallback.is_empty() {
            fallback.push(default_fallback.to_owned());
        }
        let default_action = DefaultAction::parse(f.default_action.trim())
            .ok_or_else(|| AppError::invalid("If undecided", "choose revoke, keep or extend"))?;
        let review_days = days("Days to review", &f.due_days, 1, false)?.unwrap_or(14);
        let extend_days = days("Extend by", &f.extend_days, 1, true)?.unwrap_or(7);
        let remind = days("Remind", &f.remind_days, 1, true)?;
        if remind.is_some_and(|r| r >= review_days) {
            return Err(AppError::invalid(
                "Remind",
                "the reminder must come before the due date: fewer days than the review lasts",
            ));
        }
        let repeat_months = match f.repeat_months.trim() {
            "" => None,
            m => match m.parse::<i64>() {
                Ok(n) if (1..=24).contains(&n) => Some(n),
                _ => {
                    return Err(AppError::invalid(
                        "Repeat",
                        "enter every how many months (1 to 24), or leave it empty",
                    ))
                }
            },
        };
        if repeat_months.is_some_and(|m| review_days > m * 28) {
            return Err(AppError::invalid(
                "Days to review",
                "a recurring review must end before the next one starts",
            ));
        }
        Ok(Settings {
            name: name.to_owned(),
            scope,
            include,
            reviewers,
            reviewer_people,
            fallback,
            default_action,
            extend_secs: extend_days * 86_400,
            revoke_on_decision: f.revoke_on_decision,
            remind_before_secs: remind.map(|d| d * 86_400),
            review_days,
            repeat_months,
        })
    }

    /// Makes a campaign (and, with a repeat, the recurring review it is the first of); it opens
    /// at once unless it starts later. Audited `review.created`.
    #[tracing::instrument(skip(self, admin, form))]
    pub async fn create(&self, admin: &Admin, form: &CampaignForm) -> Result<Campaign, AppError> {
        let s = self.settings(&admin.me().okta_id.0, form).await?;
        let now = self.now();
        let starts_at = parse_start(&form.starts)
            .map_err(|_| AppError::invalid("Starts", "enter a date and time like 2026-12-01T09:00 (UTC), or leave it empty to start now"))?
            .unwrap_or(now)
            .max(now);
        if starts_at.millis_since(now) > MAX_DAYS * 86_400_000 {
            return Err(AppError::invalid("Starts", "start within a year"));
        }
        let mut tx = self.db.begin_write().await?;
        let schedule_id = match s.repeat_months {
            Some(every) => {
                let template = serde_json::to_string(form).map_err(|_| AppError::Internal)?;
                let id = store::insert_schedule(
                    &mut tx,
                    &s.name,
                    &template,
                    every,
                    s.review_days,
                    add_months(starts_at, every),
                    &admin.me().login,
                    now,
                )
                .await?;
                self.audit(
                    &mut tx,
                    &admin.me().login,
                    AuditAction::ReviewScheduleSaved,
                    0,
                    serde_json::json!({
                        "schedule": id, "name": s.name, "every_months": every, "enabled": true,
                    }),
                )
                .await?;
                Some(id)
            }
            None => None,
        };
        let id = self
            .insert(&mut tx, &s, starts_at, schedule_id, &admin.me().login)
            .await?;
        tx.commit().await?;
        if starts_at <= now {
            self.open(id).await?;
        }
        self.campaign(id).await
    }

    async fn insert(
        &self,
        tx: &mut Tx,
        s: &Settings,
        starts_at: Timestamp,
        schedule_id: Option<i64>,
        by: &str,
    ) -> Result<i64, AppError> {
        let scope = serde_json::to_string(&s.scope).map_err(|_| AppError::Internal)?;
        let (people, fallback) = (
            serde_json::to_string(&s.reviewer_people).map_err(|_| AppError::Internal)?,
            serde_json::to_string(&s.fallback).map_err(|_| AppError::Internal)?,
        );
        let due_at = starts_at.plus_secs(s.review_days * 86_400);
        let id = store::insert_campaign(
            tx,
            &NewCampaign {
                name: &s.name,
                scope: &scope,
                include: s.include,
                reviewers: s.reviewers,
                reviewer_people: &people,
                fallback: &fallback,
                default_action: s.default_action.as_str(),
                extend_secs: s.extend_secs,
                revoke_on_decision: s.revoke_on_decision,
                remind_before_secs: s.remind_before_secs,
                starts_at,
                due_at,
                schedule_id,
                created_by: by,
            },
            self.now(),
        )
        .await?;
        self.audit(
            tx,
            by,
            AuditAction::ReviewCreated,
            id,
            serde_json::json!({
                "name": s.name, "scope": s.scope, "include": s.include.as_str(),
                "reviewers": s.reviewers.as_str(), "default": s.default_action.as_str(),
                "starts_at": starts_at, "due_at": due_at, "schedule": schedule_id,
            }),
        )
        .await?;
        Ok(id)
    }

    /// The groups a scope covers, with each one's policy (if any): only `OKTA_GROUP`s not
    /// kept by a group rule, whose memberships Gatepass can remove.
    async fn resolve_scope(
        &self,
        scope: &ReviewScope,
    ) -> Result<Vec<(GroupId, Option<crate::model::Policy>)>, AppError> {
        let all_policies = policies::list_policies(self.db).await?;
        let chosen: Vec<&crate::model::Policy> = all_policies
            .iter()
            .filter(|p| scope.policies.contains(&p.id))
            .collect();
        let mut out = Vec::new();
        for (id, name, kind, by_rule) in store::review_candidates(self.db).await? {
            if !GroupKind::OktaGroup.is(&kind) || by_rule {
                continue;
            }
            let gid = GroupId(id);
            let policy = resolve_policy(&all_policies, &gid, &name);
            let governed_by_chosen = chosen.iter().any(|p| match &p.target {
                PolicyTarget::Group(g) => *g == gid,
                PolicyTarget::Pattern(pat) => pattern_matches(pat, &name),
                // A bundle's groups are reviewed through their own policies or by name.
                // Apps are not reviewed here (reviews are of group memberships).
                PolicyTarget::Bundle(_) | PolicyTarget::App(_) => false,
            });
            let wanted = scope.all_okta_groups
                || scope.groups.contains(&gid.0)
                || scope.patterns.iter().any(|p| pattern_matches(p, &name))
                || governed_by_chosen
                || (scope.all_requestable && policy.is_some_and(|p| p.requestable));
            if wanted {
                out.push((gid, policy.cloned()));
            }
        }
        Ok(out)
    }

    /// Opens a scheduled campaign: resolves its groups and reviewers and snapshots its items
    /// (in the database, in one transaction), then tells the reviewers (`review.started`).
    /// Returns how many items it holds; 0 and nothing done if it was not scheduled.
    #[tracing::instrument(skip(self))]
    pub async fn open(&self, id: i64) -> Result<i64, AppError> {
        let Some(c) = store::find_campaign(self.db, id).await? else {
            return Err(AppError::NotFound("That review".into()));
        };
        if c.state != ReviewState::Scheduled.as_str() {
            return Ok(0);
        }
        let scope: ReviewScope = serde_json::from_str(&c.scope).unwrap_or_default();
        let rule = ReviewerRule::parse(&c.reviewers).unwrap_or(ReviewerRule::Approvers);
        let include = match (c.include_standing, c.include_grants) {
            (true, false) => ReviewInclude::Standing,
            (false, true) => ReviewInclude::Grants,
            _ => ReviewInclude::Both,
        };
        let groups = self.resolve_scope(&scope).await?;
        // Reviewer pools, from the directory as it is now.
        let mut pools: Vec<(String, String)> = Vec::new();
        let fallback: Vec<String> = serde_json::from_str(&c.fallback).unwrap_or_default();
        for who in store::active_people(self.db, &fallback).await? {
            pools.push(("fallback".into(), who));
        }
        match rule {
            ReviewerRule::People => {
                let named: Vec<String> =
                    serde_json::from_str(&c.reviewer_people).unwrap_or_default();
                for who in store::active_people(self.db, &named).await? {
                    pools.push(("named".into(), who));
                }
            }
            ReviewerRule::Approvers => {
                let mut members_of: std::collections::HashMap<String, Vec<String>> =
                    Default::default();
                for (g, policy) in &groups {
                    let Some(p) = policy else { continue };
                    let pool = format!("group:{g}");
                    let users: Vec<String> = p.approver_users.iter().map(|u| u.0.clone()).collect();
                    for who in store::active_people(self.db, &users).await? {
                        pools.push((pool.clone(), who));
                    }
                    for ag in &p.approver_groups {
                        if !members_of.contains_key(&ag.0) {
                            let m = store::active_members(self.db, &ag.0).await?;
                            members_of.insert(ag.0.clone(), m);
                        }
                        for who in &members_of[&ag.0] {
                            pools.push((pool.clone(), who.clone()));
                        }
                    }
                }
            }
            ReviewerRule::Managers => {}
        }
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        if !store::move_campaign(
            &mut tx,
            id,
            ReviewState::Scheduled,
            ReviewState::Open,
            None,
            now,
        )
        .await?
        {
            return Ok(0);
        }
        let in_scope: Vec<(GroupId, bool)> = groups
            .iter()
            .map(|(g, p)| (g.clone(), p.as_ref().is_some_and(|p| p.keep_needs_comment)))
            .collect();
        store::insert_review_groups(&mut tx, id, &in_scope).await?;
        store::insert_pool_members(&mut tx, id, &pools).await?;
        store::snapshot_items(&mut tx, id, include, rule).await?;
        let items = store::set_item_count(&mut tx, id).await?;
        let unrouted = store::count_unrouted(&mut tx, id).await?;
        self.audit(
            &mut tx,
            "gatepass",
            AuditAction::ReviewStarted,
            id,
            serde_json::json!({
                "name": c.name, "groups": in_scope.len(), "items": items, "unrouted": unrouted,
            "due_at": c.due_at,
            }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            campaign = id,
            items,
            groups = in_scope.len(),
            "access review opened"
        );
        Ok(items)
    }

    /// A campaign for the pages; `decided` as the caller counted it (`None`: counted here).
    async fn campaign_view(
        &self,
        c: CampaignRow,
        decided: Option<i64>,
    ) -> Result<Campaign, AppError> {
        let decided = match decided {
            Some(n) => n,
            None => store::decided_count(self.db, c.id).await?,
        };
        let scope: ReviewScope = serde_json::from_str(&c.scope).unwrap_or_default();
        let mut label = Vec::new();
        for g in &scope.groups {
            label.push(
                directory::find_group(self.db, g)
                    .await?
                    .map_or(g.clone(), |g| g.name),
            );
        }
        label.extend(scope.patterns.iter().map(|p| format!("{p} (pattern)")));
        label.extend(scope.policies.iter().map(|p| format!("policy #{p}")));
        if scope.all_requestable {
            label.push("all requestable groups".into());
        }
        if scope.all_okta_groups {
            label.push("every Okta group".into());
        }
        let ids = |json: &str| serde_json::from_str::<Vec<String>>(json).unwrap_or_default();
        Ok(Campaign {
            id: c.id,
            name: c.name,
            state: ReviewState::parse(&c.state).unwrap_or(ReviewState::Closed),
            scope,
            scope_label: label.join(", "),
            include: match (c.include_standing, c.include_grants) {
                (true, false) => ReviewInclude::Standing,
                (false, true) => ReviewInclude::Grants,
                _ => ReviewInclude::Both,
            },
            reviewers: ReviewerRule::parse(&c.reviewers).unwrap_or(ReviewerRule::Approvers),
            reviewer_people: store::names_of(self.db, &ids(&c.reviewer_people)).await?,
            fallback: store::names_of(self.db, &ids(&c.fallback)).await?,
            default_action: DefaultAction::parse(&c.default_action).unwrap_or(DefaultAction::Keep),
            extend_secs: c.extend_secs,
            revoke_on_decision: c.revoke_on_decision,
            remind_before_secs: c.remind_before_secs,
            starts_at: c.starts_at,
            due_at: c.due_at,
            extended_at: c.extended_at,
            opened_at: c.opened_at,
            closed_at: c.closed_at,
            closed_by: c.closed_by,
            schedule_id: c.schedule_id,
            created_by: c.created_by,
            created_at: c.created_at,
            items: c.items,
            decided,
        })
    }

    async fn campaign(&self, id: i64) -> Result<Campaign, AppError> {
        let c = store::find_campaign(self.db, id)
            .await?
            .ok_or_else(|| AppError::NotFound("That review".into()))?;
        self.campaign_view(c, None).await
    }

    /// Admin › Reviews: campaigns newest first (20 a page, before id `before`), and the
    /// recurring reviews.
    pub async fn overview(&self, _admin: &Admin, before: i64) -> Result<ReviewsOverview, AppError> {
        let rows = store::list_campaigns(self.db, before.max(0), 21).await?;
        let next_before = (rows.len() > 20).then(|| rows[19].id);
        let mut campaigns = Vec::new();
        for c in rows.into_iter().take(20) {
            campaigns.push(self.campaign_view(c, None).await?);
        }
        let schedules = store::list_schedules(self.db)
            .await?
            .into_iter()
            .map(
                |(id, name, _, every_months, review_days, next_start_at, enabled, created_by)| {
                    ReviewSchedule {
                        id,
                        name,
                        every_months,
                        review_days,
                        next_start_at,
                        enabled: enabled != 0,
                        created_by,
                    }
                },
            )
            .collect();
        Ok(ReviewsOverview {
            campaigns,
            schedules,
            next_before,
        })
    }

    /// Admin › Reviews › one campaign: its settings, progress and counts.
    pub async fn detail(&self, _admin: &Admin, id: i64) -> Result<CampaignDetail, AppError> {
        let c = store::find_campaign(self.db, id)
            .await?
            .ok_or_else(|| AppError::NotFound("That review".into()))?;
        let unrouted = c.unrouted;
        let (by_group, by_reviewer) = store::tallies(self.db, id).await?;
        let total = by_group
            .iter()
            .fold((String::new(), 0, 0, 0, 0, 0), |t, g| {
                (t.0, t.1 + g.1, t.2 + g.2, t.3 + g.3, t.4 + g.4, t.5 + g.5)
            });
        let campaign = self
            .campaign_view(c, Some(total.1 - total.2 - total.5))
            .await?;
        let tally =
            |(name, items, undecided, kept, revoked, defaulted): store::TallyRow| ReviewTally {
                name,
                items,
                undecided,
                kept,
                revoked,
                defaulted,
            };
        let (removals_pending, removals_failed) = store::removal_counts(self.db, id).await?;
        Ok(CampaignDetail {
            campaign,
            total: tally(total),
            by_group: by_group.into_iter().take(500).map(tally).collect(),
            by_reviewer: by_reviewer.into_iter().map(tally).collect(),
            unrouted,
            removals_pending,
            removals_failed,
        })
    }

    /// Reviews: the open campaigns in which the caller has items.
    pub async fn my_campaigns(&self, who: &Requester) -> Result<Vec<MyCampaign>, AppError> {
        Ok(store::my_campaigns(self.db, &who.me().okta_id.0)
            .await?
            .into_iter()
            .map(|(id, name, due_at, items, undecided)| MyCampaign {
                id,
                name,
                due_at,
                items,
                undecided,
            })
            .collect())
    }

    /// Reviews › one campaign: the caller's items matching the filters, a page at a time.
    /// Someone with no item in it (or a campaign not open) gets "not found".
    pub async fn my_page(
        &self,
        who: &Requester,
        campaign: i64,
        filter: &ItemFilter<'_>,
        page: i64,
    ) -> Result<MyReviewPage, AppError> {
        let me = &who.me().okta_id.0;
        let not_found = || AppError::NotFound("That review".into());
        let mine = self
            .my_campaigns(who)
            .await?
            .into_iter()
            .find(|c| c.id == campaign)
            .ok_or_else(not_found)?;
        let c = store::find_campaign(self.db, campaign)
            .await?
            .ok_or_else(not_found)?;
        let page = page.clamp(0, 100_000);
        let (items, matching) =
            store::my_items(self.db, campaign, me, filter, page * PAGE, PAGE).await?;
        Ok(MyReviewPage {
            campaign: mine,
            revoke_on_decision: c.revoke_on_decision,
            items,
            groups: store::my_groups(self.db, campaign, me).await?,
            matching,
            next_after: ((page + 1) * PAGE < matching).then_some(page + 1),
        })
    }

    /// Records the caller's decision on items of an open campaign (`ids`, or with `group`
    /// every undecided item of theirs in that group — "keep all in this group"). All or
    /// nothing: an item the caller may not review (or already carried out) refuses the lot.
    /// With "revoke as soon as decided" a revocation is carried out at once. Returns how many
    /// items were decided.
    #[tracing::instrument(skip(self, who, comment))]
    pub async fn decide(
        &self,
        who: &Requester,
        campaign: i64,
        ids: &[i64],
        group: Option<&str>,
        decision: ReviewDecision,
        comment: &str,
    ) -> Result<usize, AppError> {
        let comment = super::access::free_text("Comment", comment, MAX_COMMENT)?;
        if ids.len() > 10_000 {
            return Err(AppError::invalid(
                "Items",
                "decide at most 10,000 items at once",
            ));
        }
        let me = who.me();
        let not_found = || AppError::NotFound("Those review items".into());
        let c = store::find_campaign(self.db, campaign)
            .await?
            .ok_or_else(not_found)?;
        let mut tx = self.db.begin_write().await?;
        let ids = match group {
            Some(g) => store::undecided_ids(&mut tx, campaign, &me.okta_id.0, Some(g)).await?,
            None => ids.to_vec(),
        };
        if ids.is_empty() {
            return Err(AppError::invalid(
                "Items",
                if group.is_some() {
                    "nothing is left to decide in this group"
                } else {
                    "select at least one item"
                },
            ));
        }
        if c.state != ReviewState::Open.as_str() {
            // Whether the caller has items in it is not said to someone who has none.
            return Err(
                if store::reviews_in(self.db, campaign, &me.okta_id.0).await? {
                    AppError::Conflict(
                        "This review is closed: decisions can no longer change.".into(),
                    )
                } else {
                    not_found()
                },
            );
        }
        if decision == ReviewDecision::Keep && comment.is_empty() {
            let needing = store::needing_keep_comment(&mut tx, campaign, &ids).await?;
            if !needing.is_empty() {
                return Err(AppError::invalid(
                    "Comment",
                    "the policy of this group asks why the access should stay: add a comment to keep it",
                ));
            }
        }
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        let changed = store::decide_items(
            &mut tx,
            campaign,
            &me.okta_id.0,
            &unique,
            decision,
            comment,
            self.now(),
        )
        .await?;
        if changed.len() != unique.len() {
            // Not theirs to review, not in this campaign, or already carried out: nothing changes.
            return Err(not_found());
        }
        self.audit(
            &mut tx,
            &me.login,
            AuditAction::ReviewDecided,
            campaign,
            serde_json::json!({
                "decision": decision.as_str(), "comment": comment, "items": changed.len(),
                "ids": changed.iter().take(1_000).collect::<Vec<_>>(), "group": group,
            }),
        )
        .await?;
        let mut effects = 0;
        if c.revoke_on_decision && decision == ReviewDecision::Revoke {
            effects = self.effects_in(&mut tx, &c, &changed, &me.login).await?;
        }
        tx.commit().await?;
        if effects > 0 {
            self.wake_engine();
        }
        Ok(changed.len())
    }

    /// Carries out the revocation of the items `ids` inside `tx` (decided revoke, not yet
    /// done).
    async fn effects_in(
        &self,
        tx: &mut Tx,
        c: &CampaignRow,
        ids: &[i64],
        actor: &str,
    ) -> Result<usize, AppError> {
        let mut done = 0;
        for chunk in ids.chunks(500) {
            for e in store::pending_effects_tx(tx, c.id, chunk).await? {
                self.effect(tx, c, &e, actor).await?;
                done += 1;
            }
        }
        Ok(done)
    }

    /// Ends the access of one revoked item: its live grant ends (removal queued by the grant
    /// engine's own path), or a membership made outside Gatepass is queued for removal. A
    /// membership that a live grant now accounts for, or a grant already over, is skipped
    /// with the reason. Audited `review.revoked`.
    async fn effect(
        &self,
        tx: &mut Tx,
        c: &CampaignRow,
        e: &PendingEffect,
        actor: &str,
    ) -> Result<(), AppError> {
        let now = self.now();
        let (user, group) = (UserId(e.user_id.clone()), GroupId(e.group_id.clone()));
        let reason = format!("revoked in access review \"{}\"", c.name);
        let (effect, note, op) = match e.grant_id {
            Some(g) => {
                let live = grants::find_grant_tx(tx, GrantId(g))
                    .await?
                    .is_some_and(|g| matches!(g.state, GrantState::Active | GrantState::Scheduled));
                if live {
                    self.access()
                        .end_grant_tx(tx, actor, GrantId(g), &reason, None)
                        .await?;
                    let op = store::removal_of_grant(tx, g).await?;
                    ("ended", format!("grant #{g} ended"), op)
                } else {
                    ("skipped", format!("grant #{g} had already ended"), None)
                }
            }
            None => match grants::live_grant_for(tx, &user, &group).await? {
                Some(g) => (
                    "skipped",
                    format!("the membership is now held through grant #{}", g.id.0),
                    None,
                ),
                None => {
                    let op = outbox::insert_okta_op(
                        tx,
                        OpKind::Remove,
                        &user,
                        (&group, crate::model::Resource::Group),
                        None,
                        now,
                    )
                    .await?;
                    ("queued", "Okta removal queued".to_owned(), Some(op))
                }
            },
        };
        store::set_effect(tx, e.id, effect, &note, op, now).await?;
        self.audit(
            tx,
            actor,
            AuditAction::ReviewRevoked,
            c.id,
            serde_json::json!({
                "item": e.id, "user": e.user_id, "group": e.group_id, "grant": e.grant_id,
                "effect": effect, "note": note, "okta_op": op,
            }),
        )
        .await?;
        Ok(())
    }

    /// An admin closes an open campaign now (before or at its due date).
    pub async fn close(&self, admin: &Admin, id: i64) -> Result<Campaign, AppError> {
        let c = store::find_campaign(self.db, id)
            .await?
            .ok_or_else(|| AppError::NotFound("That review".into()))?;
        if c.state == ReviewState::Scheduled.as_str() {
            return Err(AppError::Conflict(
                "This review has not started yet.".into(),
            ));
        }
        if !self.close_now(&c, &admin.me().login).await? {
            return Err(AppError::Conflict("This review is already closed.".into()));
        }
        self.finish(id, EFFECTS_INLINE).await?;
        self.campaign(id).await
    }

    /// Closes an open campaign: every item gets its outcome (undecided ones the default,
    /// marked defaulted), audited `review.closed`; false if it was not open.
    async fn close_now(&self, c: &CampaignRow, by: &str) -> Result<bool, AppError> {
        let now = self.now();
        let default = match DefaultAction::parse(&c.default_action) {
            Some(DefaultAction::Revoke) => "revoked",
            _ => "flagged",
        };
        let mut tx = self.db.begin_write().await?;
        if !store::move_campaign(
            &mut tx,
            c.id,
            ReviewState::Open,
            ReviewState::Closing,
            Some(by),
            now,
        )
        .await?
        {
            return Ok(false);
        }
        let defaulted = store::settle_outcomes(&mut tx, c.id, default).await?;
        self.audit(
            &mut tx,
            by,
            AuditAction::ReviewClosed,
            c.id,
            serde_json::json!({
                "name": c.name, "defaulted": defaulted, "default": default,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Carries out the revocations of a closing campaign, at most `budget` of them; marks it
    /// closed when none is left. Returns how many it carried out.
    async fn finish(&self, id: i64, budget: usize) -> Result<usize, AppError> {
        let Some(c) = store::find_campaign(self.db, id).await? else {
            return Ok(0);
        };
        let actor = c.closed_by.clone().unwrap_or_else(|| "gatepass".into());
        let mut done = 0;
        loop {
            let batch = store::pending_effects(self.db, id, 200).await?;
            if batch.is_empty() {
                break;
            }
            if done >= budget {
                if done > 0 {
                    self.wake_engine();
                }
                return Ok(done);
            }
            let mut tx = self.db.begin_write().await?;
            for e in &batch {
                self.effect(&mut tx, &c, e, &actor).await?;
            }
            tx.commit().await?;
            done += batch.len();
            self.wake_engine();
        }
        let mut tx = self.db.begin_write().await?;
        store::move_campaign(
            &mut tx,
            id,
            ReviewState::Closing,
            ReviewState::Closed,
            None,
            self.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(done)
    }

    /// The report, a page at a time (after item id `after`), in item order.
    pub async fn report(
        &self,
        _admin: &Admin,
        id: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ReportLine>, AppError> {
        let time = |t: Option<Timestamp>| t.map(|t| t.utc_datetime());
        Ok(
            store::report_rows(self.db, id, after, limit.clamp(1, 5_000))
                .await?
                .into_iter()
                .map(|r| {
                    let decision = r.decision.clone().unwrap_or_default();
                    ReportLine {
                        item: r.id,
                        user_id: r.user_id,
                        login: r.login,
                        name: r.name,
                        group_id: r.group_id,
                        group: r.group,
                        access: r
                            .grant_id
                            .map_or("outside Gatepass".into(), |g| format!("grant #{g}")),
                        since: time(r.since),
                        last_login: time(r.last_login),
                        reviewer: r.reviewer,
                        route: r.route,
                        decision,
                        defaulted: r.defaulted,
                        comment: r.comment.unwrap_or_default(),
                        decided_by: r.decided_by.unwrap_or_default(),
                        decided_at: time(r.decided_at),
                        outcome: r.outcome.unwrap_or_default(),
                        effect: match (r.effect, r.effect_note) {
                            (Some(e), Some(n)) => format!("{e}: {n}"),
                            (Some(e), None) => e,
                            _ => String::new(),
                        },
                        okta: match (r.okta_state, r.okta_error) {
                            (Some(s), Some(err)) if s != "done" => format!("{s}: {err}"),
                            (Some(s), _) => s,
                            _ => String::new(),
                        },
                    }
                })
                .collect(),
        )
    }

    /// Stops a recurring review (campaigns it made stay as they are).
    pub async fn stop_schedule(&self, admin: &Admin, id: i64) -> Result<(), AppError> {
        let mut tx = self.db.begin_write().await?;
        if !store::disable_schedule(&mut tx, id).await? {
            return Err(AppError::NotFound("That recurring review".into()));
        }
        self.audit(
            &mut tx,
            &admin.me().login,
            AuditAction::ReviewScheduleSaved,
            0,
            serde_json::json!({
                "schedule": id, "enabled": false,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The job's round: starts recurring reviews and scheduled campaigns whose time came,
    /// reminds reviewers before due dates, extends or closes campaigns past their due date,
    /// and carries out the revocations of closing ones. Returns how many things it did.
    pub async fn tick(&self) -> Result<usize, AppError> {
        let now = self.now();
        let mut did = 0;
        for (sid, _, template, every, review_days, next, _, by) in
            store::schedules_due(self.db, now).await?
        {
            let Ok(mut form) = serde_json::from_str::<CampaignForm>(&template) else {
                tracing::warn!(
                    schedule = sid,
                    "a recurring review's template is unreadable"
                );
                continue;
            };
            form.repeat_months.clear();
            form.due_days = review_days.to_string();
            let creator = directory::user_id_by_login(self.db, &by)
                .await?
                .map(|u| u.0)
                .unwrap_or_default();
            let Ok(s) = self.settings(&creator, &form).await else {
                tracing::warn!(
                    schedule = sid,
                    "a recurring review no longer validates; skipped"
                );
                let mut tx = self.db.begin_write().await?;
                store::advance_schedule(&mut tx, sid, next, add_months(next, every)).await?;
                tx.commit().await?;
                continue;
            };
            let mut tx = self.db.begin_write().await?;
            if !store::advance_schedule(&mut tx, sid, next, add_months(next, every)).await? {
                continue;
            }
            let start = next.max(now);
            self.insert(&mut tx, &s, start, Some(sid), "gatepass")
                .await?;
            tx.commit().await?;
            did += 1;
        }
        for id in store::campaigns_due(self.db, ReviewState::Scheduled, now).await? {
            self.open(id).await?;
            did += 1;
        }
        for id in store::campaigns_to_remind(self.db, now).await? {
            let mut tx = self.db.begin_write().await?;
            if store::mark_reminded(&mut tx, id, now).await? {
                self.audit(
                    &mut tx,
                    "gatepass",
                    AuditAction::ReviewReminded,
                    id,
                    serde_json::json!({}),
                )
                .await?;
                did += 1;
            }
            tx.commit().await?;
        }
        for id in store::campaigns_due(self.db, ReviewState::Open, now).await? {
            let Some(c) = store::find_campaign(self.db, id).await? else {
                continue;
            };
            if c.default_action == DefaultAction::Extend.as_str() && c.extended_at.is_none() {
                let due = now.max(c.due_at).plus_secs(c.extend_secs);
                let mut tx = self.db.begin_write().await?;
                if store::extend_campaign(&mut tx, id, due, now).await? {
                    self.audit(
                        &mut tx,
                        "gatepass",
                        AuditAction::ReviewExtended,
                        id,
                        serde_json::json!({
                            "from": c.due_at, "to": due,
                        }),
                    )
                    .await?;
                }
                tx.commit().await?;
            } else {
                self.close_now(&c, "gatepass").await?;
            }
            did += 1;
        }
        for id in store::campaigns_closing(self.db).await? {
            did += self.finish(id, EFFECTS_INLINE).await?;
        }
        Ok(did)
    }
}

/// The report's CSV columns, in order.
pub const REPORT_COLUMNS: [&str; 20] = [
    "item",
    "user_id",
    "login",
    "name",
    "group_id",
    "group",
    "access",
    "since",
    "last_login",
    "reviewer",
    "route",
    "decision",
    "defaulted",
    "comment",
    "decided_by",
    "decided_at",
    "outcome",
    "effect",
    "okta",
    "campaign",
];

/// One report line as a CSV row (each cell quoted and neutralised, see
/// [`csv_cell`](crate::ssr::services::audit::csv_cell)), with its campaign's id.
pub fn report_csv_row(campaign: i64, l: &ReportLine) -> String {
    use crate::ssr::services::audit::csv_cell;
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let cells = [
        l.item.to_string(),
        l.user_id.clone(),
        l.login.clone(),
        l.name.clone(),
        l.group_id.clone(),
        l.group.clone(),
        l.access.clone(),
        opt(&l.since),
        opt(&l.last_login),
        l.reviewer.clone(),
        l.route.clone(),
        l.decision.clone(),
        l.defaulted.to_string(),
        l.comment.clone(),
        l.decided_by.clone(),
        opt(&l.decided_at),
        l.outcome.clone(),
        l.effect.clone(),
        l.okta.clone(),
        campaign.to_string(),
    ];
    let mut row = cells
        .iter()
        .map(|c| csv_cell(c))
        .collect::<Vec<_>>()
        .join(",");
    row.push_str("\r\n");
    row
}
