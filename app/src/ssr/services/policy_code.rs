//! Policies as code, and writes that cannot overwrite each other silently. Each policy has a
//! version (its `ETag`: a hash of everything stored about it), and the set of all policies has
//! one too. A set written by people ([`PolicySpec`]s, by name) is checked whole — every error
//! listed — and compared with the stored policies field by field ([`PolicyPlan`]); applying it
//! makes exactly those changes in one transaction, and only if the policies are still at the
//! version the plan was made against. Single-policy writes through the API take the policy's
//! version the same way. All of it goes through [`AccessService`]'s checks and audit events:
//! the pages, the API and a policies file cannot disagree about what a valid policy is.

use std::collections::BTreeMap;

use serde_json::json;

use crate::error::AppError;
use crate::model::{
    AuditAction, ChangeKind, FieldChange, GrantDuration, Policy, PolicyChange, PolicyExport,
    PolicyPlan, PolicySet, PolicySpec, PolicyTarget,
};
use crate::ssr::auth::Admin;
use crate::ssr::db::{directory, policies, Db};
use crate::ssr::services::access::{resolve_group, resolve_policy_spec, AccessService};

/// Most policies one set may hold.
const MAX_POLICIES: usize = 2_000;

/// The policies service.
pub struct PolicyCodeService<'a> {
    pub access: AccessService<'a>,
}

/// A quoted entity tag for what `value` serializes to.
fn tag_of(value: &impl serde::Serialize) -> String {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    format!("\"{}\"", &crate::ssr::sha256_hex(&bytes)[..32])
}

/// A policy's version, as its `ETag` (quoted).
pub fn etag(policy: &Policy) -> String {
    tag_of(policy)
}

/// The version of a set of policies (in id order).
pub fn version(all: &[Policy]) -> String {
    let mut sorted: Vec<&Policy> = all.iter().collect();
    sorted.sort_by_key(|p| p.id);
    tag_of(&sorted)
}

/// Whether an `If-Match` value names `current` (one entity tag, or several separated by commas).
pub fn matches(if_match: &str, current: &str) -> bool {
    if_match.split(',').any(|t| t.trim() == current)
}

/// What identifies a policy's target across stored and written forms.
fn key(target: &PolicyTarget) -> String {
    match target {
        PolicyTarget::Group(g) => format!("group:{g}"),
        PolicyTarget::Pattern(p) => format!("pattern:{p}"),
        PolicyTarget::Bundle(b) => format!("bundle:{b}"),
        PolicyTarget::App(a) => format!("app:{a}"),
    }
}

impl PolicyCodeService<'_> {
    fn db(&self) -> &Db {
        self.access.db
    }

    /// A stored policy as people write it: groups by name where the name finds that group
    /// again (else by id), approvers by login, durations in words.
    pub async fn spec_of(&self, p: &Policy) -> Result<PolicySpec, AppError> {
        let group = |id: &crate::model::GroupId| {
            let id = id.clone();
            async move {
                let Some(found) = directory::find_group(self.db(), id.as_str()).await? else {
                    return Ok::<_, AppError>(id.0);
                };
                let by_name = resolve_group(self.db(), "", &found.name).await.ok();
                Ok(
                    if by_name.as_ref() == Some(&id) && !found.name.contains('*') {
                        found.name
                    } else {
                        id.0
                    },
                )
            }
        };
        let group_names = |ids: &[crate::model::GroupId]| {
            let ids = ids.to_vec();
            async move {
                let mut names = Vec::with_capacity(ids.len());
                for g in &ids {
                    names.push(group(g).await?);
                }
                Ok::<_, AppError>(names)
            }
        };
        let logins = |ids: &[crate::model::UserId]| {
            let ids = ids.to_vec();
            async move {
                let mut names = Vec::with_capacity(ids.len());
                for u in &ids {
                    names.push(match directory::find_user(self.db(), u.as_str()).await? {
                        Some(user) => user.login,
                        None => u.0.clone(),
                    });
                }
                Ok::<_, AppError>(names)
            }
        };
        let eligible_groups = group_names(&p.eligible_groups).await?;
        let approver_groups = group_names(&p.approver_groups).await?;
        let approvers = logins(&p.approver_users).await?;
        let words = |secs: i64| GrantDuration::from_secs(secs).to_string();
        let rules = &p.rules;
        let escalation = rules.escalation.as_ref();
        Ok(PolicySpec {
            applies_to: match &p.target {
                PolicyTarget::Group(g) => group(g).await?,
                PolicyTarget::Pattern(pattern) => pattern.clone(),
                PolicyTarget::Bundle(b) => {
                    match crate::ssr::db::bundles::find(self.db(), *b).await? {
                        Some(bundle) => format!(
                            "{}{}",
                            crate::ssr::services::access::BUNDLE_PREFIX,
                            bundle.name
                        ),
                        None => format!("{}#{b}", crate::ssr::services::access::BUNDLE_PREFIX),
                    }
                }
                PolicyTarget::App(a) => format!(
                    "{}{}",
                    crate::ssr::services::access::APP_PREFIX,
                    match crate::ssr::db::apps::find_app(self.db(), a.as_str()).await? {
                        Some(app) => app.label,
                        None => a.to_string(),
                    }
                ),
            },
            requestable: p.requestable,
            eligible_groups,
            approvers,
            approver_groups,
            quorum: p.quorum,
            default_duration: GrantDuration::from_secs(p.default_duration_secs).to_string(),
            max_duration: GrantDuration::from_secs(p.max_duration_secs).to_string(),
            require_reason: p.require_reason,
            allow_self_approval: p.allow_self_approval,
            auto_approve: p.auto_approve,
            approve_in_gatepass_only: p.approve_in_gatepass_only,
            slack_channel: p.slack_channel.clone(),
            keep_needs_comment: p.keep_needs_comment,
            ticket_pattern: p.ticket_pattern.clone(),
            ticket_url: p.ticket_url.clone(),
            max_live_grants: rules.max_live_grants,
            request_window: rules.request_window.clone(),
            break_glass_max: rules.break_glass.as_ref().map(|b| words(b.max_secs)),
            break_glass_per_day: rules.break_glass.as_ref().map(|b| b.per_day),
            escalate_after: escalation.map(|e| words(e.after_secs)),
            escalation_approvers: match escalation {
                Some(e) => logins(&e.users).await?,
                None => Vec::new(),
            },
            escalation_approver_groups: match escalation {
                Some(e) => group_names(&e.groups).await?,
                None => Vec::new(),
            },
            escalate_to_admins_after: escalation.and_then(|e| e.admins_after_secs).map(words),
            on_call_schedule: rules.on_call_schedule.clone(),
        })
    }

    /// Every policy as a policies file holds it — groups by name, then patterns, each in
    /// alphabetical order, so that the same policies always export to the same file — and
    /// their version.
    pub async fn export(&self, _admin: &Admin) -> Result<PolicyExport, AppError> {
        let all = policies::list_policies(self.db()).await?;
        let mut specs = Vec::with_capacity(all.len());
        for p in &all {
            // Groups first, then patterns, then bundles, then apps.
            let pattern = match p.target {
                PolicyTarget::Group(_) => 0,
                PolicyTarget::Pattern(_) => 1,
                PolicyTarget::Bundle(_) => 2,
                PolicyTarget::App(_) => 3,
            };
            specs.push((pattern, self.spec_of(p).await?));
        }
        specs.sort_by(|(a_pattern, a), (b_pattern, b)| {
            (a_pattern, a.applies_to.to_lowercase(), &a.applies_to).cmp(&(
                b_pattern,
                b.applies_to.to_lowercase(),
                &b.applies_to,
            ))
        });
        let specs = specs.into_iter().map(|(_, spec)| spec).collect();
        Ok(PolicyExport {
            version: version(&all),
            policies: specs,
        })
    }

    /// `spec` checked as the policy form checks it: the policy it would save.
    async fn checked(&self, admin: &Admin, spec: &PolicySpec) -> Result<Policy, AppError> {
        let input = resolve_policy_spec(self.db(), spec).await?;
        self.access.check_policy(&admin.me().login, input).await
    }

    /// Every policy of `set` checked; all errors at once, each naming its policy.
    async fn check_set(&self, admin: &Admin, set: &PolicySet) -> Result<Vec<Policy>, AppError> {
        if set.policies.len() > MAX_POLICIES {
            return Err(AppError::invalid(
                "policies",
                format!("at most {MAX_POLICIES} policies in one set"),
            ));
        }
        let mut checked = Vec::new();
        let mut errors = Vec::new();
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for (i, spec) in set.policies.iter().enumerate() {
            let name = if spec.applies_to.trim().is_empty() {
                format!("policy #{}", i + 1)
            } else {
                spec.applies_to.trim().to_owned()
            };
            match self.checked(admin, spec).await {
                Ok(p) => {
                    if let Some(first) = seen.insert(key(&p.target), name.clone()) {
                        errors.push(format!("{name}: applies to the same target as {first}"));
                    }
                    checked.push(p);
                }
                Err(AppError::Invalid { field, message }) => {
                    errors.push(format!("{name}: {field}: {message}"))
                }
                Err(other) => return Err(other),
            }
        }
        if errors.is_empty() {
            Ok(checked)
        } else {
            Err(AppError::invalid("policies", errors.join("\n")))
        }
    }

    /// The changes from `current` to `wanted` (both as stored policies): additions and changes
    /// in the set's order, then deletions.
    async fn diff(
        &self,
        current: &[Policy],
        wanted: &[Policy],
    ) -> Result<(Vec<PolicyChange>, usize), AppError> {
        let by_key: BTreeMap<String, &Policy> =
            current.iter().map(|p| (key(&p.target), p)).collect();
        let mut changes = Vec::new();
        let mut unchanged = 0;
        for w in wanted {
            let after = self.spec_of(w).await?;
            match by_key.get(&key(&w.target)) {
                None => changes.push(PolicyChange {
                    kind: ChangeKind::Add,
                    applies_to: after.applies_to.clone(),
                    fields: after
                        .fields()
                        .into_iter()
                        .map(|(field, value)| FieldChange {
                            field: field.to_owned(),
                            before: None,
                            after: Some(value),
                        })
                        .collect(),
                }),
                Some(c) => {
                    let before = self.spec_of(c).await?;
                    let fields: Vec<FieldChange> = before
                        .fields()
                        .into_iter()
                        .zip(after.fields())
                        .filter(|((_, b), (_, a))| a != b)
                        .map(|((field, b), (_, a))| FieldChange {
                            field: field.to_owned(),
                            before: Some(b),
                            after: Some(a),
                        })
                        .collect();
                    if fields.is_empty() {
                        unchanged += 1;
                    } else {
                        changes.push(PolicyChange {
                            kind: ChangeKind::Change,
                            applies_to: after.applies_to.clone(),
                            fields,
                        });
                    }
                }
            }
        }
        let wanted_keys: Vec<String> = wanted.iter().map(|w| key(&w.target)).collect();
        for c in current {
            if !wanted_keys.contains(&key(&c.target)) {
                let before = self.spec_of(c).await?;
                changes.push(PolicyChange {
                    kind: ChangeKind::Delete,
                    applies_to: before.applies_to.clone(),
                    fields: before
                        .fields()
                        .into_iter()
                        .map(|(field, value)| FieldChange {
                            field: field.to_owned(),
                            before: Some(value),
                            after: None,
                        })
                        .collect(),
                });
            }
        }
        Ok((changes, unchanged))
    }

    /// What applying `set` would change now; nothing is written. Refused (422) with every
    /// error when any policy of the set is invalid.
    pub async fn plan(&self, admin: &Admin, set: &PolicySet) -> Result<PolicyPlan, AppError> {
        let wanted = self.check_set(admin, set).await?;
        let current = policies::list_policies(self.db()).await?;
        let (changes, unchanged) = self.diff(&current, &wanted).await?;
        Ok(PolicyPlan {
            version: version(&current),
            changes,
            unchanged,
        })
    }

    /// Makes the stored policies exactly `set`, in one transaction, if they are still at
    /// `if_match` (the version a plan was made against; else 412 and nothing changes). Each
    /// policy added, changed or deleted is audited as in the pages, then the whole as
    /// `policy.applied`. The answer is what was done, with the new version.
    pub async fn apply(
        &self,
        admin: &Admin,
        set: &PolicySet,
        if_match: &str,
    ) -> Result<PolicyPlan, AppError> {
        let wanted = self.check_set(admin, set).await?;
        let mut tx = self.db().begin_write().await?;
        policies::lock_policies(&mut tx).await?;
        let current = policies::policies_in(&mut tx).await?;
        let before = version(&current);
        if !matches(if_match, &before) {
            return Err(AppError::Stale(format!(
                "the policies changed since the plan was made (now {before}); plan again"
            )));
        }
        let (changes, unchanged) = self.diff(&current, &wanted).await?;
        let by_key: BTreeMap<String, &Policy> =
            current.iter().map(|p| (key(&p.target), p)).collect();
        for w in &wanted {
            let mut policy = w.clone();
            match by_key.get(&key(&w.target)) {
                None => {
                    policy.id = policies::upsert_policy(&mut tx, &policy).await?;
                    self.access
                        .record_policy(
                            &mut tx,
                            &admin.me().login,
                            AuditAction::PolicySaved,
                            &policy,
                        )
                        .await?;
                }
                Some(c) if !same_rules(c, w) => {
                    policy.id = c.id;
                    policies::update_policy(&mut tx, c.id, &policy).await?;
                    self.access
                        .record_policy(
                            &mut tx,
                            &admin.me().login,
                            AuditAction::PolicySaved,
                            &policy,
                        )
                        .await?;
                }
                Some(_) => {}
            }
        }
        let wanted_keys: Vec<String> = wanted.iter().map(|w| key(&w.target)).collect();
        for c in &current {
            if !wanted_keys.contains(&key(&c.target)) {
                policies::delete_policy(&mut tx, c.id).await?;
                self.access
                    .record_policy(&mut tx, &admin.me().login, AuditAction::PolicyDeleted, c)
                    .await?;
            }
        }
        let after = version(&policies::policies_in(&mut tx).await?);
        let count = |k: ChangeKind| changes.iter().filter(|c| c.kind == k).count();
        self.access
            .audit(
                &mut tx,
                &admin.me().login,
                AuditAction::PoliciesApplied,
                "policies".to_owned(),
                json!({
                    "added": count(ChangeKind::Add),
                    "changed": count(ChangeKind::Change),
                    "deleted": count(ChangeKind::Delete),
                    "unchanged": unchanged,
                    "version_before": before,
                    "version_after": after,
                }),
            )
            .await?;
        tx.commit().await?;
        Ok(PolicyPlan {
            version: after,
            changes,
            unchanged,
        })
    }

    /// One policy and its version.
    pub async fn get(&self, _admin: &Admin, id: i64) -> Result<(Policy, String), AppError> {
        let policy = policies::find_policy(self.db(), id)
            .await?
            .ok_or_else(|| AppError::NotFound("That policy".into()))?;
        let tag = etag(&policy);
        Ok((policy, tag))
    }

    /// A new policy; refused (409) when its target already has one.
    pub async fn create(&self, admin: &Admin, spec: &PolicySpec) -> Result<Policy, AppError> {
        let mut policy = self.checked(admin, spec).await?;
        let mut tx = self.db().begin_write().await?;
        policies::lock_policies(&mut tx).await?;
        let current = policies::policies_in(&mut tx).await?;
        if let Some(existing) = current
            .iter()
            .find(|c| key(&c.target) == key(&policy.target))
        {
            return Err(AppError::Conflict(format!(
                "policy {} already applies to {}; replace it instead",
                existing.id,
                spec.applies_to.trim()
            )));
        }
        policy.id = policies::upsert_policy(&mut tx, &policy).await?;
        self.access
            .record_policy(
                &mut tx,
                &admin.me().login,
                AuditAction::PolicySaved,
                &policy,
            )
            .await?;
        tx.commit().await?;
        Ok(policy)
    }

    /// Replaces policy `id` with `spec`, if it is still at version `if_match` (else 412).
    pub async fn replace(
        &self,
        admin: &Admin,
        id: i64,
        spec: &PolicySpec,
        if_match: &str,
    ) -> Result<Policy, AppError> {
        let mut policy = self.checked(admin, spec).await?;
        let mut tx = self.db().begin_write().await?;
        policies::lock_policies(&mut tx).await?;
        let current = policies::policies_in(&mut tx).await?;
        let stored = current
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(|| AppError::NotFound("That policy".into()))?;
        let tag = etag(stored);
        if !matches(if_match, &tag) {
            return Err(AppError::Stale(format!(
                "policy {id} changed since it was read (now {tag}); read it again"
            )));
        }
        if let Some(other) = current
            .iter()
            .find(|c| c.id != id && key(&c.target) == key(&policy.target))
        {
            return Err(AppError::Conflict(format!(
                "policy {} already applies to {}",
                other.id,
                spec.applies_to.trim()
            )));
        }
        policy.id = id;
        policies::update_policy(&mut tx, id, &policy).await?;
        self.access
            .record_policy(
                &mut tx,
                &admin.me().login,
                AuditAction::PolicySaved,
                &policy,
            )
            .await?;
        tx.commit().await?;
        Ok(policy)
    }

    /// Deletes policy `id`, if it is still at version `if_match` (else 412).
    pub async fn delete(&self, admin: &Admin, id: i64, if_match: &str) -> Result<Policy, AppError> {
        let mut tx = self.db().begin_write().await?;
        policies::lock_policies(&mut tx).await?;
        let current = policies::policies_in(&mut tx).await?;
        let stored = current
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(|| AppError::NotFound("That policy".into()))?;
        let tag = etag(stored);
        if !matches(if_match, &tag) {
            return Err(AppError::Stale(format!(
                "policy {id} changed since it was read (now {tag}); read it again"
            )));
        }
        let policy = policies::delete_policy(&mut tx, id)
            .await?
            .ok_or_else(|| AppError::NotFound("That policy".into()))?;
        self.access
            .record_policy(
                &mut tx,
                &admin.me().login,
                AuditAction::PolicyDeleted,
                &policy,
            )
            .await?;
        tx.commit().await?;
        Ok(policy)
    }
}

/// Whether two policies say the same (their stamps and ids aside).
fn same_rules(a: &Policy, b: &Policy) -> bool {
    let strip = |p: &Policy| Policy {
        id: 0,
        updated_at: crate::model::Timestamp::EPOCH,
        updated_by: String::new(),
        ..p.clone()
    };
    strip(a) == strip(b)
}

impl PolicyCodeService<'_> {
    /// Applies the operator's starter bundles and policies when Gatepass has neither yet (a
    /// new install: the demo, a first deployment); otherwise does nothing. Each is saved as
    /// by `config`, audited like an admin's change; one that does not resolve against the
    /// directory (a group or person missing) is skipped with a warning. How many it saved.
    pub async fn apply_starter(&self, set: &crate::model::StarterSet) -> Result<usize, AppError> {
        if !policies::list_policies(self.db()).await?.is_empty()
            || !crate::ssr::db::bundles::list(self.db()).await?.is_empty()
        {
            return Ok(0);
        }
        let mut saved = 0;
        for b in &set.bundles {
            match self
                .access
                .save_bundle_as("config", &b.name, &b.description, &b.groups.join(", "))
                .await
            {
                Ok(_) => saved += 1,
                Err(e) => tracing::warn!(bundle = %b.name, error = %e, "starter bundle skipped"),
            }
        }
        for spec in &set.policies {
            let outcome = match resolve_policy_spec(self.db(), spec).await {
                Ok(input) => self
                    .access
                    .save_policy_as("config", input)
                    .await
                    .map(|_| ()),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(()) => saved += 1,
                Err(e) => {
                    tracing::warn!(policy = %spec.applies_to, error = %e, "starter policy skipped")
                }
            }
        }
        Ok(saved)
    }
}
