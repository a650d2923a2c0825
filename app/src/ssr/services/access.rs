//! The access workflow: policies, requests, approvals with quorum, grants, cancellations,
//! give-backs, revocations and the expiry of stale requests.
//!
//! Every state change writes its audit event in the same transaction. A decision first takes
//! the request's row (a no-op `UPDATE … WHERE state = 'pending'`), so concurrent approvers
//! queue up and exactly one decision is recorded. Approval creates the grant and, for an
//! active grant, the Okta `add` operation in the outbox the grant engine works through;
//! ending a grant queues the `remove`.

use crate::error::AppError;
use crate::format::describe_duration;
use crate::model::{
    AccessRequest, AuditAction, BreakGlass, Decision, Escalation, Grant, GrantDuration, GrantId,
    GrantState, GroupId, GroupKind, OpKind, Policy, PolicyRules, PolicySpec, PolicyTarget,
    RequestId, RequestState, Resource, Timestamp, UserId, UserStatus,
};
use crate::ssr::auth::{Admin, Requester};
use crate::ssr::clock::Clock;
use crate::ssr::db::apps::{self, AppRecord};
use crate::ssr::db::requests::NewRequest;
use crate::ssr::db::{audit, delegations, directory, grants, outbox, policies, requests, Db, Tx};
use crate::ssr::services::assess::Target;
use crate::ssr::services::policy::{MAX_POLICY_DURATION_SECS, MIN_DURATION_SECS};

/// Longest reason kept.
pub(crate) const MAX_REASON: usize = 1000;

/// Parses an optional scheduled start from a form: `2026-06-01T10:00` (UTC); empty: none.
pub fn parse_start(text: &str) -> Result<Option<Timestamp>, AppError> {
    parse_moment("Start", text)
}

/// Parses an optional date and time from form field `field`: `2026-06-01T10:00` (UTC);
/// empty: none.
pub fn parse_moment(field: &str, text: &str) -> Result<Option<Timestamp>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let format =
        time::format_description::parse_borrowed::<1>("[year]-[month]-[day]T[hour]:[minute]")
            .map_err(|_| AppError::Internal)?;
    let at = time::PrimitiveDateTime::parse(text, &format).map_err(|_| {
        AppError::invalid(field, "enter a date and time like 2026-06-01T10:00 (UTC)")
    })?;
    Ok(Some(Timestamp::from(at.assume_utc())))
}

/// The bounds of a policy's further rules; errors name the policy form's field.
fn check_rules(rules: &PolicyRules, requestable: bool) -> Result<(), AppError> {
    if let Some(n) = rules.max_live_grants {
        if !(1..=1000).contains(&n) {
            return Err(AppError::invalid(
                "Live grants per person",
                "must be from 1 to 1000 (empty: no limit)",
            ));
        }
    }
    if let Some(b) = &rules.break_glass {
        if !requestable {
            return Err(AppError::invalid(
                "Emergency maximum",
                "only a requestable group can have break-glass access",
            ));
        }
        if !(MIN_DURATION_SECS..=MAX_EMERGENCY_SECS).contains(&b.max_secs) {
            return Err(AppError::invalid(
                "Emergency maximum",
                "must be between 1 minute and 1 day: emergency access is short",
            ));
        }
        if !(1..=24).contains(&b.per_day) {
            return Err(AppError::invalid(
                "Emergency activations a day",
                "must be from 1 to 24",
            ));
        }
    }
    if let Some(id) = &rules.on_call_schedule {
        let valid = id.starts_with('P')
            && (2..=20).contains(&id.len())
            && id
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if !valid {
            return Err(AppError::invalid(
                "On-call schedule",
                "enter the schedule's PagerDuty id (P… in its address), not its name",
            ));
        }
    }
    if let Some(e) = &rules.escalation {
        let bounds = MIN_DURATION_SECS..=30 * 86_400;
        if !bounds.contains(&e.after_secs) {
            return Err(AppError::invalid(
                "Escalate after",
                "must be between 1 minute and 30 days",
            ));
        }
        if e.admins_after_secs.is_some_and(|s| !bounds.contains(&s)) {
            return Err(AppError::invalid(
                "Then to admins after",
                "must be between 1 minute and 30 days (empty: not to admins)",
            ));
        }
        if e.users.is_empty() && e.groups.is_empty() && e.admins_after_secs.is_none() {
            return Err(AppError::invalid(
                "Escalation approvers",
                "name who a request escalates to (people, groups, or admins after a time)",
            ));
        }
    }
    Ok(())
}

/// The longest an emergency grant may last.
pub const MAX_EMERGENCY_SECS: i64 = 86_400;

/// The audit subject of a policy: the group it applies to, or its pattern.
fn policy_subject(policy: &Policy) -> String {
    match &policy.target {
        PolicyTarget::Group(g) => format!("group:{g}"),
        PolicyTarget::Pattern(p) => format!("pattern:{p}"),
        PolicyTarget::Bundle(b) => format!("bundle:{b}"),
        PolicyTarget::App(a) => format!("app:{a}"),
    }
}

/// The duration (the policy's default unless asked), reason and ticket of a request for
/// `what` under `policy`, each checked; the error names the field.
#[allow(clippy::type_complexity)]
pub(crate) fn request_terms<'t>(
    policy: &Policy,
    what: &str,
    duration: Option<GrantDuration>,
    reason: &'t str,
    ticket: &str,
) -> Result<(i64, &'t str, Option<(String, Option<String>)>), AppError> {
    let duration = duration.map_or(policy.default_duration_secs, GrantDuration::secs);
    if duration < MIN_DURATION_SECS || duration > policy.max_duration_secs {
        return Err(AppError::invalid(
            "Duration",
            format!(
                "must be from 1m to {} for {what}",
                describe_duration(policy.max_duration_secs)
            ),
        ));
    }
    let reason = free_text("Reason", reason, MAX_REASON)?;
    if policy.require_reason && reason.is_empty() {
        return Err(AppError::invalid("Reason", "say why you need this access"));
    }
    let ticket = super::tickets::ticket_for(policy, ticket)?;
    Ok((duration, reason, ticket))
}

/// What the on-call check found for a request.
pub(crate) struct OnCallOutcome {
    schedule: String,
    pub(crate) approves: bool,
    /// Why PagerDuty could not tell.
    error: Option<String>,
}

impl OnCallOutcome {
    /// The check, as the `request.created` event records it.
    fn audit_detail(&self) -> serde_json::Value {
        serde_json::json!({
            "schedule": self.schedule,
            "on_call": self.approves,
            "error": self.error,
        })
    }
}

/// Refuses a scheduled start in the past or more than 30 days ahead.
pub(crate) fn check_start(start: Option<Timestamp>, now: Timestamp) -> Result<(), AppError> {
    if let Some(start) = start {
        if start <= now {
            return Err(AppError::invalid(
                "Start",
                "a scheduled start must be in the future",
            ));
        }
        if start > now.plus_secs(30 * 86_400) {
            return Err(AppError::invalid("Start", "schedule at most 30 days ahead"));
        }
    }
    Ok(())
}

/// When a request made at `now` under `policy` goes to its second tier of approvers, and to
/// the admins, if it is still undecided.
pub(crate) fn escalation_times(
    policy: &Policy,
    now: Timestamp,
) -> (Option<Timestamp>, Option<Timestamp>) {
    match &policy.rules.escalation {
        Some(e) => {
            let second = now.plus_secs(e.after_secs);
            (
                Some(second),
                e.admins_after_secs.map(|a| second.plus_secs(a)),
            )
        }
        None => (None, None),
    }
}

/// What an admin submits for a policy.
#[derive(Debug, Clone, Default)]
pub struct PolicyInput {
    pub target: Option<PolicyTarget>,
    pub requestable: bool,
    pub eligible_groups: Vec<GroupId>,
    pub approver_users: Vec<UserId>,
    pub approver_groups: Vec<GroupId>,
    pub quorum: i64,
    pub default_duration: GrantDuration,
    pub max_duration: GrantDuration,
    pub require_reason: bool,
    pub allow_self_approval: bool,
    pub auto_approve: bool,
    /// Decisions only in Gatepass's pages (no Slack buttons).
    pub approve_in_gatepass_only: bool,
    /// A Slack channel id new requests are posted to (`C…`).
    pub slack_channel: Option<String>,
    /// In an access review, keeping a member needs a comment.
    pub keep_needs_comment: bool,
    /// Requests need a ticket matching this (checked: `tickets::parse_pattern`).
    pub ticket_pattern: Option<String>,
    /// The ticket's link template (checked: `tickets::parse_url_template`).
    pub ticket_url: Option<String>,
    /// Limits, break-glass and escalation (the window in its canonical form).
    pub rules: PolicyRules,
}

/// The policy form as posted: names, logins and text, resolved against the directory.
#[derive(Debug, Clone, Default)]
pub struct PolicyForm {
    /// A group name, or a pattern containing `*`.
    pub applies_to: String,
    pub eligible_groups: String,
    pub approver_users: String,
    pub approver_groups: String,
    pub quorum: String,
    pub default_duration: String,
    pub max_duration: String,
    pub requestable: bool,
    pub require_reason: bool,
    pub allow_self_approval: bool,
    pub auto_approve: bool,
    pub approve_in_gatepass_only: bool,
    pub slack_channel: String,
    pub keep_needs_comment: bool,
    pub ticket_pattern: String,
    pub ticket_url: String,
    pub max_live_grants: String,
    pub request_window: String,
    pub break_glass_max: String,
    pub break_glass_per_day: String,
    pub escalate_after: String,
    pub escalation_approvers: String,
    pub escalation_approver_groups: String,
    pub escalate_to_admins_after: String,
    pub on_call_schedule: String,
}

fn names(list: &str) -> impl Iterator<Item = &str> {
    list.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A group named in a form: its Okta id (`00g…`, any type: a deliberate choice), or a name that
/// exactly one present group has, of type `OKTA_GROUP`. Names are only a convenience: an
/// ambiguous name, or one of a group filled from elsewhere (`APP_GROUP`, `BUILT_IN`), is refused
/// with what to give instead.
pub async fn resolve_group(db: &Db, field: &str, text: &str) -> Result<GroupId, AppError> {
    use crate::ssr::services::identity::looks_like_group_id;
    printable(field, text)?;
    if looks_like_group_id(text) {
        if let Some(group) = directory::find_group(db, text).await? {
            return Ok(group.okta_id);
        }
    }
    let found = directory::groups_named(db, text, 10).await?;
    match found.as_slice() {
        [] => Err(AppError::invalid(field, format!("no group named {text:?}"))),
        [(id, kind)] if GroupKind::OktaGroup.is(kind) => Ok(GroupId::from(id.clone())),
        [(_, kind)] => Err(AppError::invalid(
            field,
            format!(
                "{text:?} is an {kind} (its members come from outside Okta's own groups); \
                 give its Okta id (00g…) to use it on purpose"
            ),
        )),
        several => Err(AppError::invalid(
            field,
            format!(
                "{} groups are named {text:?}; give the Okta id (00g…) of the one you mean",
                several.len()
            ),
        )),
    }
}

/// The refusal of a request for what Okta gives the person already, not through Gatepass: its
/// expiry would remove what was there before.
pub(crate) fn already_held(resource: Resource, name: &str) -> AppError {
    AppError::Conflict(match resource {
        Resource::Group => {
            format!("You are already a member of {name} in Okta (not through Gatepass).")
        }
        Resource::App => format!(
            "You are already assigned to the app {name} in Okta (directly or through a group, \
             not through Gatepass)."
        ),
    })
}

/// An Okta app named in a form (after `app:`): its Okta id, or the label exactly one present
/// app has.
pub async fn resolve_app(db: &Db, field: &str, text: &str) -> Result<AppRecord, AppError> {
    printable(field, text)?;
    if let Some(app) = apps::find_app(db, text).await? {
        return Ok(app);
    }
    let mut found = apps::apps_labelled(db, text).await?;
    match found.len() {
        0 => Err(AppError::invalid(
            field,
            format!("no Okta app labelled {text:?} (Gatepass knows ACTIVE apps after a sync)"),
        )),
        1 => Ok(found.remove(0)),
        n => Err(AppError::invalid(
            field,
            format!("{n} apps are labelled {text:?}; give the Okta id (0oa…) of the one you mean"),
        )),
    }
}

/// Refuses a name or login holding a control character (no Okta name or login has one; a NUL
/// would not even reach PostgreSQL): a clear error naming `field` instead of a failed query.
pub fn printable(field: &str, text: &str) -> Result<(), AppError> {
    if text.chars().any(char::is_control) {
        return Err(AppError::invalid(
            field,
            format!("{text:?} holds a control character"),
        ));
    }
    Ok(())
}

/// Free text people type (a reason, a comment), trimmed: at most `max` characters, and no
/// control characters but line breaks and tabs (a NUL would not even reach PostgreSQL).
pub fn free_text<'t>(field: &str, text: &'t str, max: usize) -> Result<&'t str, AppError> {
    let text = text.trim();
    if text.chars().count() > max {
        return Err(AppError::invalid(
            field,
            format!("keep it under {max} characters"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(AppError::invalid(field, "remove the control characters"));
    }
    Ok(text)
}

/// A duration a form must give; the error names `field`.
fn required_duration(field: &str, text: &str) -> Result<GrantDuration, AppError> {
    text.parse().map_err(|m| AppError::invalid(field, m))
}

/// A duration a form may leave empty; the error names `field`.
pub fn optional_duration(field: &str, text: &str) -> Result<Option<GrantDuration>, AppError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    required_duration(field, text).map(Some)
}

/// Resolves a posted policy form: every group and person must exist; the error names which.
pub async fn resolve_policy_form(db: &Db, f: &PolicyForm) -> Result<PolicyInput, AppError> {
    let quorum = f
        .quorum
        .trim()
        .parse()
        .map_err(|_| AppError::invalid("Quorum", "enter a whole number of approvals"))?;
    let list = |text: &str| names(text).map(str::to_owned).collect::<Vec<_>>();
    let text = |t: &str| Some(t.trim().to_owned()).filter(|t| !t.is_empty());
    let number = |field: &'static str, t: &str| {
        text(t)
            .map(|t| {
                t.parse::<i64>()
                    .map_err(|_| AppError::invalid(field, "enter a whole number"))
            })
            .transpose()
    };
    let spec = PolicySpec {
        applies_to: f.applies_to.clone(),
        requestable: f.requestable,
        eligible_groups: list(&f.eligible_groups),
        approvers: list(&f.approver_users),
        approver_groups: list(&f.approver_groups),
        quorum,
        default_duration: f.default_duration.clone(),
        max_duration: f.max_duration.clone(),
        require_reason: f.require_reason,
        allow_self_approval: f.allow_self_approval,
        auto_approve: f.auto_approve,
        approve_in_gatepass_only: f.approve_in_gatepass_only,
        slack_channel: Some(f.slack_channel.clone()),
        keep_needs_comment: f.keep_needs_comment,
        ticket_pattern: Some(f.ticket_pattern.clone()).filter(|t| !t.trim().is_empty()),
        ticket_url: Some(f.ticket_url.clone()).filter(|t| !t.trim().is_empty()),
        max_live_grants: number("Live grants per person", &f.max_live_grants)?,
        request_window: text(&f.request_window),
        break_glass_max: text(&f.break_glass_max),
        break_glass_per_day: number("Emergency activations a day", &f.break_glass_per_day)?,
        escalate_after: text(&f.escalate_after),
        escalation_approvers: list(&f.escalation_approvers),
        escalation_approver_groups: list(&f.escalation_approver_groups),
        escalate_to_admins_after: text(&f.escalate_to_admins_after),
        on_call_schedule: text(&f.on_call_schedule),
    };
    resolve_policy_spec(db, &spec).await
}

/// How a policy names a bundle it applies to: `bundle:<name>`.
pub const BUNDLE_PREFIX: &str = "bundle:";
/// How a policy (and the preview) names an Okta app: `app:<label or id>`.
pub const APP_PREFIX: &str = "app:";

/// A policy as people write it (the form, a policies file, the API), resolved against the
/// directory: groups by name or id ([`resolve_group`]), approvers by login. Errors name the
/// field as the policy form labels it.
pub async fn resolve_policy_spec(db: &Db, spec: &PolicySpec) -> Result<PolicyInput, AppError> {
    let applies = spec.applies_to.trim();
    let target = if applies.is_empty() {
        None
    } else if let Some(name) = applies.strip_prefix(BUNDLE_PREFIX) {
        let bundle = crate::ssr::db::bundles::find_by_name(db, name.trim())
            .await?
            .ok_or_else(|| {
                AppError::invalid("Applies to", format!("no bundle named {:?}", name.trim()))
            })?;
        Some(PolicyTarget::Bundle(bundle.id))
    } else if let Some(app) = applies.strip_prefix(APP_PREFIX) {
        Some(PolicyTarget::App(
            resolve_app(db, "Applies to", app.trim()).await?.okta_id,
        ))
    } else if applies.contains('*') {
        Some(PolicyTarget::Pattern(applies.to_owned()))
    } else {
        Some(PolicyTarget::Group(
            resolve_group(db, "Applies to", applies).await?,
        ))
    };
    let groups = |field: &'static str, list: &[String]| {
        let list = list.to_vec();
        async move {
            let mut ids = Vec::new();
            for name in list.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
                ids.push(resolve_group(db, field, name).await?);
            }
            Ok::<_, AppError>(ids)
        }
    };
    let eligible_groups = groups("Who may request", &spec.eligible_groups).await?;
    let approver_groups = groups("Approver groups", &spec.approver_groups).await?;
    let approver_users = people(db, "Approvers", &spec.approvers).await?;
    let rules = PolicyRules {
        max_live_grants: spec.max_live_grants,
        request_window: spec
            .request_window
            .as_deref()
            .map(|w| {
                super::windows::RequestWindow::parse(w)
                    .map(|w| w.canonical())
                    .map_err(|m| AppError::invalid("Request window", m))
            })
            .transpose()?,
        break_glass: match (&spec.break_glass_max, spec.break_glass_per_day) {
            (Some(max), per_day) => Some(BreakGlass {
                max_secs: required_duration("Emergency maximum", max)?.secs(),
                per_day: per_day.unwrap_or(1),
            }),
            (None, Some(_)) => {
                return Err(AppError::invalid(
                    "Emergency activations a day",
                    "set the emergency maximum too, or leave both empty",
                ))
            }
            (None, None) => None,
        },
        escalation: match &spec.escalate_after {
            Some(after) => Some(Escalation {
                after_secs: required_duration("Escalate after", after)?.secs(),
                users: people(db, "Escalation approvers", &spec.escalation_approvers).await?,
                groups: groups(
                    "Escalation approver groups",
                    &spec.escalation_approver_groups,
                )
                .await?,
                admins_after_secs: optional_duration(
                    "Then to admins after",
                    spec.escalate_to_admins_after.as_deref().unwrap_or(""),
                )?
                .map(GrantDuration::secs),
            }),
            None if !spec.escalation_approvers.is_empty()
                || !spec.escalation_approver_groups.is_empty()
                || spec.escalate_to_admins_after.is_some() =>
            {
                return Err(AppError::invalid(
                    "Escalate after",
                    "say after how long an undecided request escalates",
                ))
            }
            None => None,
        },
        on_call_schedule: spec
            .on_call_schedule
            .as_deref()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty()),
    };
    Ok(PolicyInput {
        target,
        requestable: spec.requestable,
        eligible_groups,
        approver_users,
        approver_groups,
        quorum: spec.quorum,
        default_duration: required_duration("Default duration", &spec.default_duration)?,
        max_duration: required_duration("Maximum duration", &spec.max_duration)?,
        require_reason: spec.require_reason,
        allow_self_approval: spec.allow_self_approval,
        auto_approve: spec.auto_approve,
        approve_in_gatepass_only: spec.approve_in_gatepass_only,
        slack_channel: slack_channel(spec.slack_channel.as_deref().unwrap_or(""))?,
        keep_needs_comment: spec.keep_needs_comment,
        ticket_pattern: super::tickets::parse_pattern(
            spec.ticket_pattern.as_deref().unwrap_or(""),
        )?,
        ticket_url: super::tickets::parse_url_template(spec.ticket_url.as_deref().unwrap_or(""))?,
        rules,
    })
}

/// People named by login in a policy's `field`, as Okta ids; every one must exist.
async fn people(db: &Db, field: &str, logins: &[String]) -> Result<Vec<UserId>, AppError> {
    let mut ids = Vec::new();
    for login in logins.iter().map(|l| l.trim()).filter(|l| !l.is_empty()) {
        printable(field, login)?;
        ids.push(
            directory::user_id_by_login(db, login)
                .await?
                .ok_or_else(|| {
                    AppError::invalid(field, format!("nobody with the login {login:?}"))
                })?,
        );
    }
    Ok(ids)
}

/// A Slack channel as a policy names it: its id (`C…` or `G…`, as Slack shows it under the
/// channel's details), or nothing.
pub fn slack_channel(text: &str) -> Result<Option<String>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let valid = (text.starts_with('C') || text.starts_with('G'))
        && (9..=20).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if valid {
        Ok(Some(text.to_owned()))
    } else {
        Err(AppError::invalid(
            "Slack channel",
            "enter the channel's id (C… in the channel's details in Slack), not its name",
        ))
    }
}

/// What a requester submits.
#[derive(Debug, Clone, Default)]
pub struct RequestInput {
    pub group_id: GroupId,
    /// `None`: the policy's default.
    pub duration: Option<GrantDuration>,
    pub reason: String,
    /// Scheduled start (ms); `None`: as soon as approved.
    pub starts_at: Option<Timestamp>,
    /// A ticket reference (required when the policy has a ticket pattern).
    pub ticket: String,
}

/// An approver's decision.
#[derive(Debug, Clone)]
pub struct DecisionInput {
    pub request_id: RequestId,
    pub decision: Decision,
    pub comment: String,
    /// A shorter duration than asked for (approvals only).
    pub duration: Option<GrantDuration>,
}

/// The workflow's operations.
pub struct AccessService<'a> {
    pub db: &'a Db,
    pub clock: &'a dyn Clock,
    /// Wakes the grant engine after a commit that queued work or moved a grant.
    pub signal: Option<&'a crate::ssr::signal::EngineSignal>,
    /// Who is on call (PagerDuty), for policies that approve the on-call person.
    pub on_call: Option<&'a dyn crate::ssr::pagerduty::OnCallCheck>,
}

impl AccessService<'_> {
    pub(crate) fn now(&self) -> Timestamp {
        self.clock.timestamp()
    }

    pub(crate) fn wake_engine(&self) {
        if let Some(signal) = self.signal {
            signal.wake();
        }
    }

    pub(crate) async fn audit(
        &self,
        tx: &mut Tx,
        actor: &str,
        action: AuditAction,
        subject: String,
        details: serde_json::Value,
    ) -> Result<(), AppError> {
        audit::insert_audit_event(tx, self.now(), actor, action, &subject, &details).await?;
        Ok(())
    }

    /// Validates and saves a policy (replacing the target's previous one in place), audited.
    /// Decisions already made keep the policy they were made under (requests carry a snapshot).
    #[tracing::instrument(skip(self, admin, input))]
    pub async fn save_policy(&self, admin: &Admin, input: PolicyInput) -> Result<Policy, AppError> {
        self.save_policy_as(&admin.me().login, input).await
    }

    /// [`save_policy`](Self::save_policy) by `by`: an admin's login, or `config` for the
    /// starter policies the operator's configuration names.
    pub(crate) async fn save_policy_as(
        &self,
        by: &str,
        input: PolicyInput,
    ) -> Result<Policy, AppError> {
        let mut policy = self.check_policy(by, input).await?;
        let mut tx = self.db.begin_write().await?;
        policies::lock_policies(&mut tx).await?;
        policy.id = policies::upsert_policy(&mut tx, &policy).await?;
        self.record_policy(&mut tx, by, AuditAction::PolicySaved, &policy)
            .await?;
        tx.commit().await?;
        Ok(policy)
    }

    /// `input` checked against the directory and the rules every policy keeps, as the policy
    /// it would save (id 0, stamped now by `admin`); nothing is written.
    pub(crate) async fn check_policy(
        &self,
        by: &str,
        input: PolicyInput,
    ) -> Result<Policy, AppError> {
        let target = input.target.clone().ok_or_else(|| {
            AppError::invalid("Applies to", "choose a group or enter a name pattern")
        })?;
        match &target {
            PolicyTarget::Group(id) => {
                let group = directory::find_group(self.db, id.as_str())
                    .await?
                    .ok_or_else(|| {
                        AppError::invalid("Applies to", "no such group in the directory")
                    })?;
                if input.requestable {
                    if !GroupKind::OktaGroup.is(&group.okta_type) {
                        return Err(AppError::invalid(
                            "Requestable",
                            format!("{} is an {} group: Okta does not let its membership be changed through the API", group.name, group.okta_type),
                        ));
                    }
                    if group.managed_by_rule {
                        return Err(AppError::invalid(
                            "Requestable",
                            format!(
                                "{} is filled by an Okta group rule, which would undo any grant",
                                group.name
                            ),
                        ));
                    }
                }
            }
            PolicyTarget::Bundle(id) => {
                if crate::ssr::db::bundles::find(self.db, *id).await?.is_none() {
                    return Err(AppError::invalid("Applies to", "no such bundle"));
                }
            }
            PolicyTarget::App(id) => {
                if apps::find_app(self.db, id.as_str()).await?.is_none() {
                    return Err(AppError::invalid(
                        "Applies to",
                        "no such app in the directory (Gatepass knows ACTIVE apps after a sync)",
                    ));
                }
            }
            PolicyTarget::Pattern(p) => {
                printable("Applies to", p)?;
                if p.trim().is_empty() || p.len() > 200 {
                    return Err(AppError::invalid(
                        "Applies to",
                        "enter a name pattern, e.g. aws-*",
                    ));
                }
            }
        }
        let (default, max) = (input.default_duration.secs(), input.max_duration.secs());
        if !(MIN_DURATION_SECS..=MAX_POLICY_DURATION_SECS).contains(&max) {
            return Err(AppError::invalid(
                "Maximum duration",
                "must be between 1 minute and 90 days",
            ));
        }
        if default < MIN_DURATION_SECS || default > max {
            return Err(AppError::invalid(
                "Default duration",
                "must be at least 1 minute and at most the maximum",
            ));
        }
        if input.requestable
            && !input.auto_approve
            && input.approver_users.is_empty()
            && input.approver_groups.is_empty()
        {
            return Err(AppError::invalid(
                "Approvers",
                "name at least one approver (a person or a group), or auto-approve",
            ));
        }
        if !(1..=10).contains(&input.quorum) {
            return Err(AppError::invalid(
                "Quorum",
                "must be from 1 to 10 approvals",
            ));
        }
        check_rules(&input.rules, input.requestable)?;
        let now = self.now();
        Ok(Policy {
            id: 0,
            target,
            requestable: input.requestable,
            eligible_groups: input.eligible_groups,
            approver_users: input.approver_users,
            approver_groups: input.approver_groups,
            quorum: input.quorum,
            default_duration_secs: default,
            max_duration_secs: max,
            require_reason: input.require_reason,
            allow_self_approval: input.allow_self_approval,
            auto_approve: input.auto_approve,
            approve_in_gatepass_only: input.approve_in_gatepass_only,
            slack_channel: input.slack_channel,
            keep_needs_comment: input.keep_needs_comment,
            ticket_pattern: input.ticket_pattern,
            ticket_url: input.ticket_url,
            rules: input.rules,
            updated_at: now,
            updated_by: by.to_owned(),
        })
    }

    /// The audit event of a policy saved or deleted by `admin`, in `tx`.
    pub(crate) async fn record_policy(
        &self,
        tx: &mut Tx,
        by: &str,
        action: AuditAction,
        policy: &Policy,
    ) -> Result<(), AppError> {
        self.audit(
            tx,
            by,
            action,
            policy_subject(policy),
            serde_json::to_value(policy).unwrap_or_default(),
        )
        .await
    }

    /// Deletes a policy, audited. Pending requests and live grants keep the policy they were
    /// made under; the groups it covered fall to the next matching policy, or to none.
    pub async fn delete_policy(&self, admin: &Admin, id: i64) -> Result<Policy, AppError> {
        let mut tx = self.db.begin_write().await?;
        policies::lock_policies(&mut tx).await?;
        let policy = policies::delete_policy(&mut tx, id)
            .await?
            .ok_or_else(|| AppError::NotFound("That policy".into()))?;
        self.record_policy(
            &mut tx,
            &admin.me().login,
            AuditAction::PolicyDeleted,
            &policy,
        )
        .await?;
        tx.commit().await?;
        Ok(policy)
    }

    /// Asks for a group. Eligibility, duration and reason are checked against the policy; a
    /// group already held becomes an extension of the grant; a pending request is not
    /// duplicated. Auto-approved policies grant at once.
    #[tracing::instrument(skip(self, who, input), fields(group = %input.group_id))]
    pub async fn request_access(
        &self,
        who: &Requester,
        input: RequestInput,
    ) -> Result<AccessRequest, AppError> {
        let me = who.me();
        let now = self.now();
        check_start(input.starts_at, now)?;
        let assessment = self
            .assess(&me.okta_id, &input.group_id, input.starts_at.unwrap_or(now))
            .await?;
        let resource = assessment.resource;
        let (group, policy) = assessment.into_allowed()?;
        let group_id = group.okta_id.clone();
        let (duration, reason, ticket) = request_terms(
            &policy,
            &group.name,
            input.duration,
            &input.reason,
            &input.ticket,
        )?;

        // Asked before the transaction (a network call): whether the on-call rule approves it.
        let on_call = self.on_call_approves(&policy, me, input.starts_at).await?;
        let approved_by = if policy.auto_approve {
            Some("policy")
        } else if on_call.as_ref().is_some_and(|c| c.approves) {
            Some("on-call")
        } else {
            None
        };
        // Read before the transaction: inside it, a second pool connection could wait for ever
        // behind requests that hold the others while they wait for this one's lock.
        let member_in_okta = self
            .held_in_okta(resource, &group.okta_id, &me.okta_id)
            .await?;
        let mut tx = self.db.begin_write().await?;
        // Concurrent requests for the same membership take turns, so each sees what the one
        // before it did (a pending request, a live grant to extend).
        grants::lock_membership(&mut tx, &me.okta_id, &group_id).await?;
        if let Some(pending) =
            requests::pending_request_for(&mut tx, &me.okta_id, &group_id).await?
        {
            return Err(AppError::Conflict(format!(
                "You already asked for {} (request #{pending}); it is waiting for approval.",
                group.name
            )));
        }
        let extends = grants::live_grant_for(&mut tx, &me.okta_id, &group_id).await?;
        // A membership (or app assignment) Okta already has, not through Gatepass, must not be
        // granted: its expiry would remove what was there before.
        if extends.is_none() && member_in_okta {
            return Err(already_held(resource, &group.name));
        }
        let policy_json = serde_json::to_string(&policy).unwrap_or_default();
        let id = requests::insert_request(
            &mut tx,
            &NewRequest {
                requester_id: &me.okta_id,
                group_id: &group_id,
                resource,
                reason,
                duration_secs: duration,
                starts_at: input.starts_at,
                policy_json: &policy_json,
                quorum: policy.quorum,
                extends_grant_id: extends.as_ref().map(|g| g.id),
                created_at: now,
                ticket: ticket.as_ref().map(|t| t.0.as_str()),
                ticket_url: ticket.as_ref().and_then(|t| t.1.as_deref()),
                policy_id: policy.id,
                emergency: false,
                escalate_at: escalation_times(&policy, now).0,
                admins_at: escalation_times(&policy, now).1,
            },
            &policy.approver_users,
            &policy.approver_groups,
        )
        .await?;
        // Decided before its creation is recorded, so that the outbox does not ask approvers
        // to decide it.
        if let Some(by) = approved_by {
            requests::decide_request(&mut tx, id, RequestState::Approved, now, by).await?;
        }
        let mut details = serde_json::json!({ "group": group.okta_id, "duration_secs": duration, "reason": reason, "starts_at": input.starts_at, "ticket": ticket.as_ref().map(|t| &t.0) });
        if let Some(check) = &on_call {
            details["on_call"] = check.audit_detail();
        }
        self.audit(
            &mut tx,
            &me.login,
            if extends.is_some() {
                AuditAction::RequestCreatedExtension
            } else {
                AuditAction::RequestCreated
            },
            format!("request:{id}"),
            details,
        )
        .await?;
        // After the request's creation is recorded: its notice goes to the approvers, and
        // each delegate hears of what they stand in for (`request.delegated`).
        if approved_by.is_none() {
            self.route_to_delegates(&mut tx, Some(id)).await?;
        }
        if let Some(by) = approved_by {
            let mut details = serde_json::json!({ "auto": true, "group": group.okta_id });
            if by == "on-call" {
                details["on_call"] = serde_json::json!(policy.rules.on_call_schedule);
            }
            self.audit(
                &mut tx,
                by,
                AuditAction::RequestApproved,
                format!("request:{id}"),
                details,
            )
            .await?;
            self.carry_out(&mut tx, id, duration, by).await?;
        }
        let request = requests::find_request_tx(&mut tx, id)
            .await?
            .ok_or(AppError::Internal)?;
        tx.commit().await?;
        if approved_by.is_some() {
            self.wake_engine();
        }
        Ok(request)
    }

    /// Whether the policy's on-call rule approves `me`'s request now: `None` when it has none
    /// (or approves every request anyway), or the access starts later (on call now says
    /// nothing about then); else PagerDuty's answer, or why there is none — then the request
    /// goes to its approvers as usual. Matched by the email Okta has for the person (the
    /// directory's, not the sign-in's).
    pub(crate) async fn on_call_approves(
        &self,
        policy: &Policy,
        me: &crate::model::Me,
        starts_at: Option<Timestamp>,
    ) -> Result<Option<OnCallOutcome>, AppError> {
        let Some(schedule) = policy.rules.on_call_schedule.clone() else {
            return Ok(None);
        };
        if policy.auto_approve || starts_at.is_some() {
            return Ok(None);
        }
        let Some(check) = self.on_call else {
            return Ok(Some(OnCallOutcome {
                schedule,
                approves: false,
                error: Some("PagerDuty is not configured on this server".into()),
            }));
        };
        let email = directory::find_user(self.db, me.okta_id.as_str())
            .await?
            .map(|u| u.email)
            .unwrap_or_default();
        let answer = check.is_on_call(&schedule, &email).await;
        if let Err(e) = &answer {
            tracing::warn!(schedule = %schedule, error = %e, "the on-call check failed: the request goes to its approvers");
        }
        Ok(Some(OnCallOutcome {
            schedule,
            approves: answer == Ok(true),
            error: answer.err(),
        }))
    }

    /// What the policies say about `person` asking for the group or app `group_id` with
    /// access starting at `start` (see [`assess_target`](super::assess::assess_target)); an
    /// unknown id: not found.
    pub async fn assess(
        &self,
        person: &UserId,
        group_id: &GroupId,
        start: Timestamp,
    ) -> Result<super::assess::Assessment, AppError> {
        let target = self.target(group_id).await?;
        super::assess::assess_target(self.db, person, target, start).await
    }

    /// Whether Okta gives `user` the group or app `id` already (a membership; an app assignment,
    /// direct or through a group), as the directory copy has it.
    pub(crate) async fn held_in_okta(
        &self,
        resource: Resource,
        id: &GroupId,
        user: &UserId,
    ) -> Result<bool, AppError> {
        Ok(match resource {
            Resource::Group => {
                directory::is_member_of_any(self.db, user, std::slice::from_ref(id)).await?
            }
            Resource::App => apps::assignment(self.db, id, user).await?.is_some(),
        })
    }

    /// The present group, or else app, with Okta id `id`.
    pub async fn target(&self, id: &GroupId) -> Result<Target, AppError> {
        printable("Group", id.as_str())?;
        if let Some(group) = directory::find_group(self.db, id.as_str()).await? {
            return Ok(Target::Group(group));
        }
        apps::find_app(self.db, id.as_str())
            .await?
            .map(Target::App)
            .ok_or_else(|| AppError::NotFound("That group".into()))
    }

    /// The policy preview for the person with `login` asking for `group` (a name or id).
    pub async fn preview(
        &self,
        _admin: &Admin,
        login: &str,
        group: &str,
    ) -> Result<crate::model::PolicyPreview, AppError> {
        let login = login.trim();
        printable("Person", login)?;
        let person = match directory::user_id_by_login(self.db, login).await? {
            Some(id) => directory::find_user(self.db, id.as_str()).await?,
            None => None,
        }
        .ok_or_else(|| AppError::invalid("Person", format!("nobody with the login {login:?}")))?;
        let group = group.trim();
        let target = match group.strip_prefix(APP_PREFIX) {
            Some(app) => Target::App(resolve_app(self.db, "Group", app.trim()).await?),
            None => {
                let group_id = resolve_group(self.db, "Group", group).await?;
                self.target(&group_id).await?
            }
        };
        super::assess::preview(self.db, &person, target, self.now()).await
    }

    /// Routes pending requests (all, or only `request`) to the delegates of the people away
    /// who may decide them, each audited (`request.delegated`); how many it routed.
    pub(crate) async fn route_to_delegates(
        &self,
        tx: &mut Tx,
        request: Option<RequestId>,
    ) -> Result<usize, AppError> {
        let mut routed = 0;
        for (id, away, delegate) in delegations::due(tx, self.now(), request).await? {
            let via = format!("delegate:{away}");
            if requests::add_approver(tx, id, "user", delegate.as_str(), Some(&via)).await? {
                self.audit(
                    tx,
                    "gatepass",
                    AuditAction::RequestDelegated,
                    format!("request:{id}"),
                    serde_json::json!({ "delegate": delegate, "for": away }),
                )
                .await?;
                routed += 1;
            }
        }
        Ok(routed)
    }

    /// Creates the grant (or extends the existing one) for an approved request, and queues
    /// the Okta change when the grant is active now.
    pub(crate) async fn carry_out(
        &self,
        tx: &mut Tx,
        request_id: RequestId,
        duration: i64,
        actor: &str,
    ) -> Result<(), AppError> {
        let now = self.now();
        let r = requests::find_request_tx(tx, request_id)
            .await?
            .ok_or(AppError::Internal)?;
        let policy: Policy =
            serde_json::from_str(&requests::request_policy_json(tx, request_id).await?)
                .map_err(|_| AppError::Internal)?;
        if let Some(grant_id) = r.extends_grant_id {
            if let Some(g) = grants::find_grant_tx(tx, grant_id).await? {
                // At most the policy's maximum from when the grant starts (now, or its
                // scheduled start): an extension never moves the end before the start.
                let ends = (g.ends_at.max(now).plus_secs(duration))
                    .min(g.starts_at.max(now).plus_secs(policy.max_duration_secs));
                if grants::set_grant_end(tx, g.id, ends, now).await? {
                    self.audit(
                        tx,
                        actor,
                        AuditAction::GrantExtended,
                        format!("grant:{}", g.id),
                        serde_json::json!({ "from": g.ends_at, "to": ends }),
                    )
                    .await?;
                    return Ok(());
                }
            }
        }
        let starts = r.starts_at.unwrap_or(now).max(now);
        let state = if starts <= now {
            GrantState::Active
        } else {
            GrantState::Scheduled
        };
        let grant = Grant {
            id: GrantId(0),
            request_id,
            user_id: r.requester_id.clone(),
            group_id: r.group_id.clone(),
            resource: r.resource,
            starts_at: starts,
            ends_at: starts.plus_secs(duration),
            state,
            revoked_reason: None,
        };
        let grant_id = grants::insert_grant(tx, &grant, now).await?;
        if state == GrantState::Active {
            outbox::insert_okta_op(
                tx,
                OpKind::Add,
                &grant.user_id,
                (&grant.group_id, grant.resource),
                Some(grant_id),
                now,
            )
            .await?;
        }
        self.audit(
            tx,
            actor,
            if state == GrantState::Active { AuditAction::GrantStarted } else { AuditAction::GrantScheduled },
            format!("grant:{grant_id}"),
            serde_json::json!({ "user": grant.user_id, "group": grant.group_id, "starts_at": grant.starts_at, "ends_at": grant.ends_at }),
        )
        .await?;
        Ok(())
    }

    /// Approves or denies. Only the request's approvers may decide; the requester only when
    /// the policy allows self-approval; a decided request cannot be decided again.
    #[tracing::instrument(skip(self, who, input), fields(request = input.request_id.0))]
    pub async fn decide(
        &self,
        who: &Requester,
        input: DecisionInput,
    ) -> Result<AccessRequest, AppError> {
        let me = who.me();
        let comment = free_text("Comment", &input.comment, MAX_REASON)?;
        if input.decision == Decision::Deny && comment.is_empty() {
            return Err(AppError::invalid("Comment", "say why you deny the request"));
        }
        let shorter = input.duration.map(GrantDuration::secs);
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        let (r, _) = self.may_decide(&mut tx, me, input.request_id, true).await?;
        if let Some(d) = shorter {
            if d < MIN_DURATION_SECS || d > r.duration_secs {
                return Err(AppError::invalid(
                    "Duration",
                    format!(
                        "may only shorten the request: from 1m to {}",
                        describe_duration(r.duration_secs)
                    ),
                ));
            }
        }
        if !requests::insert_approval(
            &mut tx,
            r.id,
            &me.okta_id,
            input.decision,
            comment,
            shorter,
            now,
        )
        .await?
        {
            return Err(AppError::Conflict(
                "You already decided this request.".into(),
            ));
        }
        let subject = format!("request:{}", r.id);
        if input.decision == Decision::Deny {
            requests::decide_request(&mut tx, r.id, RequestState::Denied, now, &me.login).await?;
            self.follow_lead(&mut tx, r.id, RequestState::Denied, 0, &me.login)
                .await?;
            self.audit(
                &mut tx,
                &me.login,
                AuditAction::RequestDenied,
                subject,
                serde_json::json!({ "group": r.group_id, "comment": comment }),
            )
            .await?;
        } else {
            let (approvals, shortest) = requests::approval_tally(&mut tx, r.id).await?;
            self.audit(&mut tx, &me.login, AuditAction::ApprovalRecorded, subject.clone(), serde_json::json!({ "group": r.group_id, "comment": comment, "approvals": approvals, "quorum": r.quorum })).await?;
            if approvals >= r.quorum {
                requests::decide_request(&mut tx, r.id, RequestState::Approved, now, &me.login)
                    .await?;
                self.audit(
                    &mut tx,
                    &me.login,
                    AuditAction::RequestApproved,
                    subject,
                    serde_json::json!({ "group": r.group_id, "approvals": approvals }),
                )
                .await?;
                let duration = shortest.map_or(r.duration_secs, |s| s.min(r.duration_secs));
                self.carry_out(&mut tx, r.id, duration, &me.login).await?;
                self.follow_lead(&mut tx, r.id, RequestState::Approved, duration, &me.login)
                    .await?;
            }
        }
        let decided = requests::find_request_tx(&mut tx, r.id)
            .await?
            .ok_or(AppError::Internal)?;
        tx.commit().await?;
        self.wake_engine();
        Ok(decided)
    }

    /// Whether `who` may decide request `id` now (an approver, the request pending, and not
    /// their own unless its policy allows it); what [`decide`](Self::decide) checks first, for
    /// asking a comment before a denial. Writes nothing.
    pub async fn check_decidable(&self, who: &Requester, id: RequestId) -> Result<(), AppError> {
        let mut tx = self.db.begin_write().await?;
        self.may_decide(&mut tx, who.me(), id, false).await?;
        // Dropped without a commit: nothing was written.
        drop(tx);
        Ok(())
    }

    /// The checks before a decision: the request and its policy snapshot when `me` may decide
    /// it. With `lock`, the pending request is locked for the decision.
    async fn may_decide(
        &self,
        tx: &mut Tx,
        me: &crate::model::Me,
        id: RequestId,
        lock: bool,
    ) -> Result<(AccessRequest, Policy), AppError> {
        // The caller first: someone who may not decide this request learns nothing about it
        // (whether it exists, who decided it) — the same answer for every request id.
        if !requests::is_request_approver(tx, id, &me.okta_id).await? {
            return Err(AppError::Forbidden);
        }
        let pending = if lock {
            requests::lock_pending_request(tx, id).await?
        } else {
            requests::find_request_tx(tx, id)
                .await?
                .is_some_and(|r| r.state == RequestState::Pending)
        };
        if !pending {
            return match requests::find_request_tx(tx, id).await? {
                Some(r) => Err(AppError::Conflict(format!(
                    "This request was already {} by {}.",
                    r.state.as_str(),
                    r.decided_by.unwrap_or_else(|| "someone else".into())
                ))),
                None => Err(AppError::NotFound("That request".into())),
            };
        }
        let r = requests::find_request_tx(tx, id)
            .await?
            .ok_or(AppError::Internal)?;
        let policy: Policy = serde_json::from_str(&requests::request_policy_json(tx, r.id).await?)
            .map_err(|_| AppError::Internal)?;
        if r.requester_id == me.okta_id && !policy.allow_self_approval {
            return Err(AppError::Conflict(
                "You cannot decide your own request.".into(),
            ));
        }
        Ok((r, policy))
    }

    /// The requester withdraws a pending request.
    pub async fn cancel(&self, who: &Requester, request_id: RequestId) -> Result<(), AppError> {
        let me = who.me();
        let mut tx = self.db.begin_write().await?;
        let r = requests::find_request_tx(&mut tx, request_id)
            .await?
            .ok_or_else(|| AppError::NotFound("That request".into()))?;
        if r.requester_id != me.okta_id {
            return Err(AppError::Forbidden);
        }
        let lead = crate::ssr::db::bundles::lead_of(&mut tx, request_id).await?;
        if lead.is_some_and(|l| l != request_id) {
            return Err(AppError::Conflict(format!(
                "This request is part of a bundle: cancel the bundle's request #{}.",
                lead.map_or(0, |l| l.0)
            )));
        }
        if !requests::decide_request(
            &mut tx,
            request_id,
            RequestState::Cancelled,
            self.now(),
            &me.login,
        )
        .await?
        {
            return Err(AppError::Conflict(format!(
                "This request is already {}.",
                r.state.as_str()
            )));
        }
        self.follow_lead(&mut tx, request_id, RequestState::Cancelled, 0, &me.login)
            .await?;
        self.audit(
            &mut tx,
            &me.login,
            AuditAction::RequestCancelled,
            format!("request:{request_id}"),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn end_grant(
        &self,
        actor: &str,
        grant_id: GrantId,
        reason: &str,
        owner: Option<&UserId>,
    ) -> Result<Grant, AppError> {
        let mut tx = self.db.begin_write().await?;
        let ended = self
            .end_grant_tx(&mut tx, actor, grant_id, reason, owner)
            .await?;
        tx.commit().await?;
        self.wake_engine();
        Ok(ended)
    }

    /// Ends a grant inside the caller's write transaction (the caller commits, then wakes the
    /// engine): a scheduled one is dropped, an active one starts revoking with its removal
    /// queued. Only the `owner`, when given, may end it.
    pub(crate) async fn end_grant_tx(
        &self,
        tx: &mut Tx,
        actor: &str,
        grant_id: GrantId,
        reason: &str,
        owner: Option<&UserId>,
    ) -> Result<Grant, AppError> {
        let now = self.now();
        let g = grants::find_grant_tx(tx, grant_id)
            .await?
            .ok_or_else(|| AppError::NotFound("That grant".into()))?;
        if owner.is_some_and(|o| *o != g.user_id) {
            return Err(AppError::Forbidden);
        }
        match g.state {
            // The update only moves the state it read: a concurrent end (or expiry) that
            // committed first leaves nothing to do, and this one reports the conflict.
            GrantState::Scheduled | GrantState::Active => {
                let to = if g.state == GrantState::Active {
                    GrantState::Revoking
                } else {
                    GrantState::Revoked
                };
                if !grants::transition_grant(tx, g.id, &[g.state], to, Some(reason), now).await? {
                    return Err(AppError::Conflict(
                        "This grant has just ended; reload to see it.".into(),
                    ));
                }
                if to == GrantState::Revoking {
                    outbox::insert_okta_op(
                        tx,
                        OpKind::Remove,
                        &g.user_id,
                        (&g.group_id, g.resource),
                        Some(g.id),
                        now,
                    )
                    .await?;
                }
            }
            other => {
                return Err(AppError::Conflict(format!(
                    "This grant is already {}.",
                    other.as_str()
                )))
            }
        }
        self.audit(
            tx,
            actor,
            AuditAction::GrantEnded,
            format!("grant:{}", g.id),
            serde_json::json!({ "reason": reason }),
        )
        .await?;
        let ended = grants::find_grant_tx(tx, g.id)
            .await?
            .ok_or(AppError::Internal)?;
        Ok(ended)
    }

    /// The holder gives a grant back before it ends.
    /// A grant of a bundle gives back the whole bundle: every live grant it made.
    pub async fn give_back(&self, who: &Requester, grant_id: GrantId) -> Result<Grant, AppError> {
        let me = who.me();
        let mut tx = self.db.begin_write().await?;
        let ended = self
            .end_grant_tx(
                &mut tx,
                &me.login,
                grant_id,
                "given back",
                Some(&me.okta_id),
            )
            .await?;
        if let Some(lead) = crate::ssr::db::bundles::lead_of(&mut tx, ended.request_id).await? {
            for other in crate::ssr::db::bundles::live_grants(&mut tx, lead).await? {
                self.end_grant_tx(&mut tx, &me.login, other, "given back", Some(&me.okta_id))
                    .await?;
            }
        }
        tx.commit().await?;
        self.wake_engine();
        Ok(ended)
    }

    /// An admin revokes any grant.
    pub async fn revoke(
        &self,
        admin: &Admin,
        grant_id: GrantId,
        reason: &str,
    ) -> Result<Grant, AppError> {
        let reason = free_text("Reason", reason, MAX_REASON)?;
        if reason.is_empty() {
            return Err(AppError::invalid("Reason", "say why you revoke this grant"));
        }
        self.end_grant(
            &admin.me().login,
            grant_id,
            &format!("revoked by an admin: {reason}"),
            None,
        )
        .await
    }

    /// Tries a failed grant again (an admin, after fixing what Okta refused): the grant is active
    /// again and its add is queued anew.
    pub async fn retry_failed(&self, admin: &Admin, grant_id: GrantId) -> Result<Grant, AppError> {
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        let g = grants::find_grant_tx(&mut tx, grant_id)
            .await?
            .ok_or_else(|| AppError::NotFound("That grant".into()))?;
        if g.state != GrantState::Failed {
            return Err(AppError::Conflict(format!(
                "Only a failed grant can be retried; this one is {}.",
                g.state.as_str()
            )));
        }
        if g.ends_at <= now {
            return Err(AppError::Conflict("This grant has ended meanwhile.".into()));
        }
        grants::transition_grant(
            &mut tx,
            g.id,
            &[GrantState::Failed],
            GrantState::Active,
            None,
            now,
        )
        .await?;
        outbox::insert_okta_op(
            &mut tx,
            OpKind::Add,
            &g.user_id,
            (&g.group_id, g.resource),
            Some(g.id),
            now,
        )
        .await?;
        self.audit(
            &mut tx,
            &admin.me().login,
            AuditAction::GrantRetried,
            format!("grant:{}", g.id),
            serde_json::json!({ "previous_error": g.revoked_reason }),
        )
        .await?;
        let retried = grants::find_grant_tx(&mut tx, g.id)
            .await?
            .ok_or(AppError::Internal)?;
        tx.commit().await?;
        self.wake_engine();
        Ok(retried)
    }

    /// Ends what people no longer active in Okta hold: their pending requests are cancelled and
    /// their live grants ended (each audited, actor `gatepass`). Runs after every directory
    /// sync; returns how many requests and grants it closed.
    pub async fn offboard_inactive(&self) -> Result<usize, AppError> {
        let allowing: Vec<&str> = UserStatus::ALLOWING_ACCESS
            .iter()
            .map(|s| s.as_str())
            .collect();
        let mut closed = 0;
        loop {
            let now = self.now();
            let mut tx = self.db.begin_write().await?;
            let items = grants::held_by_inactive_people(&mut tx, &allowing, 100).await?;
            if items.is_empty() {
                break;
            }
            for (kind, id, status) in &items {
                let why = format!("the person is no longer active in Okta ({status})");
                if kind == "request" {
                    if requests::decide_request(
                        &mut tx,
                        RequestId(*id),
                        RequestState::Cancelled,
                        now,
                        "gatepass",
                    )
                    .await?
                    {
                        self.audit(
                            &mut tx,
                            "gatepass",
                            AuditAction::RequestCancelled,
                            format!("request:{id}"),
                            serde_json::json!({ "reason": why }),
                        )
                        .await?;
                    }
                } else {
                    self.end_grant_tx(&mut tx, "gatepass", GrantId(*id), &why, None)
                        .await?;
                }
                closed += 1;
            }
            tx.commit().await?;
            self.wake_engine();
        }
        Ok(closed)
    }

    /// Expires pending requests older than `max_age_ms`, and those whose scheduled start has
    /// passed unapproved; returns how many.
    pub async fn expire_stale_requests(&self, max_age_ms: i64) -> Result<usize, AppError> {
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        let stale =
            requests::stale_pending_requests(&mut tx, now.plus_millis(-max_age_ms), now).await?;
        for id in &stale {
            if requests::decide_request(&mut tx, *id, RequestState::Expired, now, "gatepass")
                .await?
            {
                self.audit(
                    &mut tx,
                    "gatepass",
                    AuditAction::RequestExpired,
                    format!("request:{id}"),
                    serde_json::json!({}),
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(stale.len())
    }
}
