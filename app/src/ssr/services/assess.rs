//! What the policies say about one person asking for one group: which policy applies, each
//! rule it sets with whether the person passes it and why, and who would approve. The request
//! path (requests and break-glass) refuses with the first rule that fails; the policy preview
//! on *Admin › Policies* shows every rule. One evaluation, so the preview cannot drift from
//! what a request meets.

use crate::error::AppError;
use crate::format::describe_duration;
use crate::model::{
    GroupId, GroupKind, Policy, PolicyPreview, PolicyTarget, PreviewApprover, PreviewCheck,
    Resource, Timestamp, UserId,
};
use crate::ssr::db::apps::AppRecord;
use crate::ssr::db::directory::{self, GroupRecord, UserRecord};
use crate::ssr::db::{delegations, policies, requests, Db};
use crate::ssr::services::policy::{resolve_app_policy, resolve_policy};
use crate::ssr::services::windows::RequestWindow;

/// The rules in the order the request path checks them.
#[derive(Debug)]
pub struct Assessment {
    /// What is asked for; for an app, its id, label and sign-on mode stand in the record.
    pub group: GroupRecord,
    /// Whether it is an Okta group or an app.
    pub resource: Resource,
    /// The policy that applies, if any.
    pub policy: Option<Policy>,
    /// Each rule's name and outcome: what it found, or the refusal a request gets.
    pub checks: Vec<(&'static str, Result<String, AppError>)>,
}

/// The rule of a policy's request window (see [`Assessment::without`]).
pub const REQUEST_WINDOW: &str = "Request window";

impl Assessment {
    /// The assessment without `rule` (break-glass skips the request window).
    pub fn without(mut self, rule: &str) -> Self {
        self.checks.retain(|(r, _)| *r != rule);
        self
    }

    /// The group and its policy when every rule passes; else the first refusal.
    pub fn into_allowed(self) -> Result<(GroupRecord, Policy), AppError> {
        for (_, outcome) in self.checks {
            outcome?;
        }
        let policy = self.policy.ok_or(AppError::Internal)?;
        Ok((self.group, policy))
    }
}

/// A policy's name for people: the group it is for, or its pattern.
pub fn policy_label(policy: &Policy, group: &GroupRecord) -> String {
    match &policy.target {
        PolicyTarget::Group(_) => format!("policy #{} for {}", policy.id, group.name),
        PolicyTarget::Pattern(p) => format!("policy #{} for {p}", policy.id),
        PolicyTarget::Bundle(_) => format!("policy #{} for a bundle", policy.id),
        PolicyTarget::App(_) => format!("policy #{} for the app {}", policy.id, group.name),
    }
}

/// What a person asks for: an Okta group or an Okta app.
#[derive(Debug, Clone)]
pub enum Target {
    Group(GroupRecord),
    App(AppRecord),
}

/// Evaluates the policies for `person` asking for `target` (see [`assess`], [`assess_app`]).
pub async fn assess_target(
    db: &Db,
    person: &UserId,
    target: Target,
    start: Timestamp,
) -> Result<Assessment, AppError> {
    match target {
        Target::Group(g) => assess(db, person, g, start).await,
        Target::App(a) => assess_app(db, person, a, start).await,
    }
}

/// The record an app stands in as the thing asked for.
pub fn app_as_target(app: AppRecord) -> GroupRecord {
    GroupRecord {
        okta_id: GroupId(app.okta_id.0),
        name: app.label,
        description: format!("Okta app ({})", app.sign_on_mode),
        okta_type: app.status,
        managed_by_rule: false,
    }
}

/// Evaluates the policies for `person` asking to be assigned to `app`, with access starting at
/// `start`: the app's own policy (patterns match groups, never apps), the app active in Okta,
/// then the same person rules as for a group.
pub async fn assess_app(
    db: &Db,
    person: &UserId,
    app: AppRecord,
    start: Timestamp,
) -> Result<Assessment, AppError> {
    let all = policies::list_policies(db).await?;
    let policy = resolve_app_policy(&all, &app.okta_id).cloned();
    let active = app.status == "ACTIVE";
    let target = app_as_target(app);
    let kind = if active {
        Ok("an active Okta app Gatepass can assign people to".into())
    } else {
        Err(AppError::invalid(
            "App",
            format!(
                "{} cannot be requested: the app is not active in Okta",
                target.name
            ),
        ))
    };
    assess_under(
        db,
        person,
        (target, Resource::App),
        policy,
        ("Okta app", kind),
        start,
    )
    .await
}

/// Evaluates the policies for `person` asking for `group`, with access starting at `start`.
/// Reads only; a rule that cannot be evaluated because an earlier one failed is left out.
pub async fn assess(
    db: &Db,
    person: &UserId,
    group: GroupRecord,
    start: Timestamp,
) -> Result<Assessment, AppError> {
    let all = policies::list_policies(db).await?;
    let policy = resolve_policy(&all, &group.okta_id, &group.name).cloned();
    let kind = if !GroupKind::OktaGroup.is(&group.okta_type) || group.managed_by_rule {
        Err(AppError::invalid(
            "Group",
            format!(
                "{} cannot be requested: Okta manages its membership",
                group.name
            ),
        ))
    } else {
        Ok("an Okta group Gatepass can change".into())
    };
    assess_under(
        db,
        person,
        (group, Resource::Group),
        policy,
        ("Okta group", kind),
        start,
    )
    .await
}

/// The checks of `target` under `policy`: that one applies and makes it requestable, what
/// Okta allows of the target (`kind`), then the person rules.
async fn assess_under(
    db: &Db,
    person: &UserId,
    (target, resource): (GroupRecord, Resource),
    policy: Option<Policy>,
    kind: (&'static str, Result<String, AppError>),
    start: Timestamp,
) -> Result<Assessment, AppError> {
    let field = match resource {
        Resource::Group => "Group",
        Resource::App => "App",
    };
    let cannot = |why: String| AppError::invalid(field, why);
    let mut checks: Vec<(&'static str, Result<String, AppError>)> = Vec::new();
    let Some(p) = policy.clone() else {
        checks.push((
            "Policy",
            Err(cannot(format!(
                "{} cannot be requested: no policy applies to it",
                target.name
            ))),
        ));
        return Ok(Assessment {
            group: target,
            resource,
            policy,
            checks,
        });
    };
    let label = policy_label(&p, &target);
    checks.push((
        "Policy",
        if p.requestable {
            Ok(format!("{label} applies"))
        } else {
            Err(cannot(format!(
                "{} cannot be requested ({label} makes it not requestable)",
                target.name
            )))
        },
    ));
    checks.push(kind);
    checks.extend(
        rule_checks(
            db,
            person,
            &p,
            &label,
            &target.name,
            start,
            std::slice::from_ref(&target.okta_id),
        )
        .await?,
    );
    Ok(Assessment {
        group: target,
        resource,
        policy,
        checks,
    })
}

/// The rules of `policy` that concern the person rather than the group: who may request, the
/// request window at `start`, and the cap on live grants (`except`: the groups asked for,
/// which asking again only extends). `what` names the thing asked for in refusals.
pub async fn rule_checks(
    db: &Db,
    person: &UserId,
    p: &Policy,
    label: &str,
    what: &str,
    start: Timestamp,
    except: &[GroupId],
) -> Result<Vec<(&'static str, Result<String, AppError>)>, AppError> {
    let mut checks: Vec<(&'static str, Result<String, AppError>)> = Vec::new();
    checks.push((
        "Who may request",
        if p.eligible_groups.is_empty() {
            Ok("everyone".into())
        } else if directory::is_member_of_any(db, person, &p.eligible_groups).await? {
            Ok("a member of an eligible group".into())
        } else {
            Err(AppError::Forbidden)
        },
    ));
    if let Some(text) = &p.rules.request_window {
        let window = RequestWindow::parse(text).map_err(|_| AppError::Internal)?;
        checks.push((
            REQUEST_WINDOW,
            match window.admits(start) {
                Ok(()) => Ok(format!("open ({text})")),
                Err(local) => Err(AppError::invalid(
                    "Start",
                    format!(
                        "access to {} may start only {text} ({label}); that is {local} there",
                        what
                    ),
                )),
            },
        ));
    }
    if let Some(max) = p.rules.max_live_grants {
        let held = requests::live_under_policy(db, person, p.id, except).await?;
        checks.push((
            "Live grants per person",
            if (held.len() as i64) < max {
                Ok(format!("{} of at most {max} held or asked for", held.len()))
            } else {
                Err(AppError::Conflict(format!(
                    "{label} allows at most {max} live grants or pending requests per person, \
                     and you have {}: {}. Give one back first.",
                    held.len(),
                    held.join(", ")
                )))
            },
        ));
    }
    Ok(checks)
}

/// Who would decide a request by `requester` under `policy` now, and how each came to: named,
/// through a group, or standing in for someone away. The requester is left out unless the
/// policy allows self-approval (and a delegate never decides their own request).
pub async fn approvers(
    db: &Db,
    policy: &Policy,
    requester: &UserId,
    now: Timestamp,
) -> Result<Vec<PreviewApprover>, AppError> {
    let mut out: Vec<PreviewApprover> = Vec::new();
    let push = |user: UserRecord, via: String, out: &mut Vec<PreviewApprover>| {
        if (&user.okta_id != requester || policy.allow_self_approval)
            && !out.iter().any(|a| a.user_id == user.okta_id)
        {
            out.push(PreviewApprover {
                user_id: user.okta_id,
                name: user.display_name,
                login: user.login,
                via,
            });
        }
    };
    for u in &policy.approver_users {
        if let Some(user) = directory::find_user(db, u.as_str()).await? {
            push(user, "named".into(), &mut out);
        }
    }
    for g in &policy.approver_groups {
        let name = group_name(db, g).await?;
        for id in directory::member_ids(db, g.as_str()).await? {
            if let Some(user) = directory::find_user(db, &id).await? {
                push(user, format!("member of {name}"), &mut out);
            }
        }
    }
    let deciders: Vec<UserId> = out.iter().map(|a| a.user_id.clone()).collect();
    for (away, delegate) in delegations::delegates_of(db, &deciders, now).await? {
        if &delegate == requester {
            continue;
        }
        if let Some(user) = directory::find_user(db, delegate.as_str()).await? {
            let away = out
                .iter()
                .find(|a| a.user_id == away)
                .map(|a| a.name.clone())
                .unwrap_or_default();
            push(user, format!("delegate of {away}"), &mut out);
        }
    }
    Ok(out)
}

async fn group_name(db: &Db, id: &GroupId) -> Result<String, AppError> {
    Ok(directory::find_group(db, id.as_str())
        .await?
        .map_or_else(|| id.to_string(), |g| g.name))
}

/// The policy preview: what `assess` and `approvers` say about `person` and `group` now.
pub async fn preview(
    db: &Db,
    person: &UserRecord,
    target: Target,
    now: Timestamp,
) -> Result<PolicyPreview, AppError> {
    let person_id = person.okta_id.clone();
    let a = assess_target(db, &person_id, target, now).await?;
    let may_request = a.checks.iter().all(|(_, o)| o.is_ok());
    let checks = a
        .checks
        .iter()
        .map(|(rule, outcome)| PreviewCheck {
            rule: (*rule).to_owned(),
            passed: outcome.is_ok(),
            detail: match outcome {
                Ok(found) => found.clone(),
                Err(AppError::Forbidden) => {
                    "not a member of any group the policy lets request".into()
                }
                Err(e) => e.to_string(),
            },
        })
        .collect();
    let (approvers, rules) = match &a.policy {
        Some(p) => (approvers(db, p, &person_id, now).await?, policy_rules(p)),
        None => (Vec::new(), Vec::new()),
    };
    Ok(PolicyPreview {
        person: format!("{} ({})", person.display_name, person.login),
        group: a.group.name.clone(),
        policy_id: a.policy.as_ref().map(|p| p.id),
        policy: a.policy.as_ref().map(|p| policy_label(p, &a.group)),
        may_request,
        checks,
        quorum: a.policy.as_ref().map_or(0, |p| p.quorum),
        auto_approve: a.policy.as_ref().is_some_and(|p| p.auto_approve),
        approvers,
        rules,
    })
}

/// The rest of what the policy says, in words, for the preview.
fn policy_rules(p: &Policy) -> Vec<String> {
    let mut out = vec![format!(
        "{} by default, at most {}",
        describe_duration(p.default_duration_secs),
        describe_duration(p.max_duration_secs)
    )];
    if p.require_reason {
        out.push("a reason is required".into());
    }
    if let Some(t) = &p.ticket_pattern {
        out.push(format!("a ticket matching {t} is required"));
    }
    if let Some(b) = &p.rules.break_glass {
        out.push(format!(
            "break-glass: up to {} without approval, {} a day",
            describe_duration(b.max_secs),
            b.per_day
        ));
    }
    if let Some(s) = &p.rules.on_call_schedule {
        out.push(format!(
            "approved at once when the requester is on call for PagerDuty schedule {s}"
        ));
    }
    if let Some(e) = &p.rules.escalation {
        out.push(format!(
            "undecided after {}, it escalates{}",
            describe_duration(e.after_secs),
            e.admins_after_secs
                .map(|a| format!(", and to admins after a further {}", describe_duration(a)))
                .unwrap_or_default()
        ));
    }
    out
}
