//! Bundles: a named set of requestable groups with its own policy (`PolicyTarget::Bundle`). A
//! person asks for the bundle once: one request row per group, the first — the lead — carrying
//! the approvers and the decisions, the others following it. One decision grants (or denies)
//! every group; each group's grant then lives its own life in the grant engine, so a group
//! Okta refuses fails alone and visibly. Asking again for a held bundle extends its grants;
//! giving one back gives back the whole bundle.

use crate::error::AppError;
use crate::model::{
    AccessRequest, AuditAction, Bundle, GrantDuration, GroupId, GroupKind, Policy, PolicyTarget,
    RequestState, Timestamp,
};
use crate::ssr::auth::{Admin, Requester};
use crate::ssr::db::requests::NewRequest;
use crate::ssr::db::{bundles, directory, grants, policies, requests, Tx};
use crate::ssr::services::access::{
    check_start, escalation_times, free_text, printable, request_terms, resolve_group,
    AccessService,
};

/// Most groups in one bundle.
pub const MAX_GROUPS: usize = 20;

/// What a requester submits for a bundle.
#[derive(Debug, Clone, Default)]
pub struct BundleRequestInput {
    pub bundle_id: i64,
    /// `None`: the policy's default.
    pub duration: Option<GrantDuration>,
    pub reason: String,
    pub starts_at: Option<Timestamp>,
    pub ticket: String,
}

/// A bundle's policy, if it has one.
pub fn policy_of(all: &[Policy], bundle: i64) -> Option<&Policy> {
    all.iter()
        .find(|p| p.target == PolicyTarget::Bundle(bundle))
}

impl AccessService<'_> {
    /// Saves bundle `name` (replacing the one of that name): a description and its groups,
    /// by name or id — each an Okta group Gatepass can change. Audited.
    pub async fn save_bundle(
        &self,
        admin: &Admin,
        name: &str,
        description: &str,
        groups: &str,
    ) -> Result<Bundle, AppError> {
        self.save_bundle_as(&admin.me().login, name, description, groups)
            .await
    }

    /// [`save_bundle`](Self::save_bundle) by `by`: an admin's login, or `config` for the
    /// starter bundles the operator's configuration names.
    pub(crate) async fn save_bundle_as(
        &self,
        by: &str,
        name: &str,
        description: &str,
        groups: &str,
    ) -> Result<Bundle, AppError> {
        let name = name.trim();
        printable("Name", name)?;
        if name.is_empty() || name.chars().count() > 100 || name.contains('*') {
            return Err(AppError::invalid(
                "Name",
                "enter a name of at most 100 characters, without *",
            ));
        }
        let description = free_text("Description", description, 500)?;
        let mut ids: Vec<GroupId> = Vec::new();
        for g in groups
            .split([',', '\n'])
            .map(str::trim)
            .filter(|g| !g.is_empty())
        {
            let id = resolve_group(self.db, "Groups", g).await?;
            let group = directory::find_group(self.db, id.as_str())
                .await?
                .ok_or(AppError::Internal)?;
            if !GroupKind::OktaGroup.is(&group.okta_type) || group.managed_by_rule {
                return Err(AppError::invalid(
                    "Groups",
                    format!(
                        "{} cannot be in a bundle: Okta manages its membership",
                        group.name
                    ),
                ));
            }
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if ids.is_empty() || ids.len() > MAX_GROUPS {
            return Err(AppError::invalid(
                "Groups",
                format!("name from 1 to {MAX_GROUPS} groups"),
            ));
        }
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        policies::lock_policies(&mut tx).await?;
        let id = bundles::save(&mut tx, name, description, &ids, now, by).await?;
        self.audit(
            &mut tx,
            by,
            AuditAction::BundleSaved,
            format!("bundle:{id}"),
            serde_json::json!({ "name": name, "description": description, "groups": ids }),
        )
        .await?;
        tx.commit().await?;
        bundles::find(self.db, id).await?.ok_or(AppError::Internal)
    }

    /// Every bundle with its groups (admins).
    pub async fn bundles(&self, _admin: &Admin) -> Result<Vec<Bundle>, AppError> {
        Ok(bundles::list(self.db).await?)
    }

    /// Deletes a bundle and its policy. Audited; requests and grants already made stay.
    pub async fn delete_bundle(&self, admin: &Admin, id: i64) -> Result<(), AppError> {
        let mut tx = self.db.begin_write().await?;
        policies::lock_policies(&mut tx).await?;
        if !bundles::delete(&mut tx, id).await? {
            return Err(AppError::NotFound("That bundle".into()));
        }
        self.audit(
            &mut tx,
            &admin.me().login,
            AuditAction::BundleDeleted,
            format!("bundle:{id}"),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Asks for a bundle: every rule of its policy as for a group, then one request row per
    /// group (held groups of the same bundle are extended), decided together. Returns the
    /// lead request.
    pub async fn request_bundle(
        &self,
        who: &Requester,
        input: BundleRequestInput,
    ) -> Result<AccessRequest, AppError> {
        let me = who.me();
        let now = self.now();
        let bundle = bundles::find(self.db, input.bundle_id)
            .await?
            .ok_or_else(|| AppError::NotFound("That bundle".into()))?;
        let all = policies::list_policies(self.db).await?;
        let policy = policy_of(&all, bundle.id)
            .filter(|p| p.requestable)
            .cloned()
            .ok_or_else(|| {
                AppError::invalid("Bundle", format!("{} cannot be requested", bundle.name))
            })?;
        check_start(input.starts_at, now)?;
        let label = format!("policy #{} for bundle {}", policy.id, bundle.name);
        for (_, outcome) in super::assess::rule_checks(
            self.db,
            &me.okta_id,
            &policy,
            &label,
            &bundle.name,
            input.starts_at.unwrap_or(now),
            &bundle.groups,
        )
        .await?
        {
            outcome?;
        }
        let (duration, reason, ticket) = request_terms(
            &policy,
            &bundle.name,
            input.duration,
            &input.reason,
            &input.ticket,
        )?;
        // Read before the transaction (see `request_access`).
        let mut outside = Vec::new();
        for g in &bundle.groups {
            if directory::is_member_of_any(self.db, &me.okta_id, std::slice::from_ref(g)).await? {
                outside.push(g.clone());
            }
        }
        let on_call = self.on_call_approves(&policy, me, input.starts_at).await?;
        let approved_by = if policy.auto_approve {
            Some("policy")
        } else if on_call.as_ref().is_some_and(|c| c.approves) {
            Some("on-call")
        } else {
            None
        };
        let mut tx = self.db.begin_write().await?;
        let mut plan = Vec::new();
        for (g, name) in bundle.groups.iter().zip(&bundle.group_names) {
            grants::lock_membership(&mut tx, &me.okta_id, g).await?;
            if let Some(pending) = requests::pending_request_for(&mut tx, &me.okta_id, g).await? {
                return Err(AppError::Conflict(format!(
                    "You already asked for {name} (request #{pending}); it is waiting for approval."
                )));
            }
            let extends = grants::live_grant_for(&mut tx, &me.okta_id, g).await?;
            if let Some(held) = &extends {
                if bundles::bundle_id_of(&mut tx, held.request_id).await? != Some(bundle.id) {
                    return Err(AppError::Conflict(format!(
                        "You hold {name} already (grant #{}), not through {}: give it back first.",
                        held.id, bundle.name
                    )));
                }
            } else if outside.contains(g) {
                return Err(AppError::Conflict(format!(
                    "You are already a member of {name} in Okta (not through Gatepass)."
                )));
            }
            plan.push((g.clone(), extends.map(|e| e.id)));
        }
        let policy_json = serde_json::to_string(&policy).unwrap_or_default();
        let (escalate_at, admins_at) = escalation_times(&policy, now);
        let mut ids = Vec::new();
        for (i, (g, extends)) in plan.iter().enumerate() {
            let lead = i == 0;
            let none: &[crate::model::UserId] = &[];
            let no_groups: &[GroupId] = &[];
            let id = requests::insert_request(
                &mut tx,
                &NewRequest {
                    requester_id: &me.okta_id,
                    group_id: g,
                    resource: crate::model::Resource::Group,
                    reason,
                    duration_secs: duration,
                    starts_at: input.starts_at,
                    policy_json: &policy_json,
                    quorum: policy.quorum,
                    extends_grant_id: *extends,
                    created_at: now,
                    ticket: ticket.as_ref().map(|t| t.0.as_str()),
                    ticket_url: ticket.as_ref().and_then(|t| t.1.as_deref()),
                    policy_id: policy.id,
                    emergency: false,
                    escalate_at: if lead { escalate_at } else { None },
                    admins_at: if lead { admins_at } else { None },
                },
                // Only the lead is decided: the others have no approvers of their own.
                if lead { &policy.approver_users } else { none },
                if lead {
                    &policy.approver_groups
                } else {
                    no_groups
                },
            )
            .await?;
            ids.push(id);
        }
        let lead = ids[0];
        for id in &ids {
            bundles::tie(&mut tx, *id, bundle.id, lead).await?;
        }
        if let Some(by) = approved_by {
            for id in &ids {
                requests::decide_request(&mut tx, *id, RequestState::Approved, now, by).await?;
            }
        }
        self.audit(
            &mut tx,
            &me.login,
            AuditAction::RequestCreated,
            format!("request:{lead}"),
            serde_json::json!({
                "bundle": bundle.name, "groups": bundle.groups, "requests": ids,
                "duration_secs": duration, "reason": reason, "starts_at": input.starts_at,
                "ticket": ticket.as_ref().map(|t| &t.0),
            }),
        )
        .await?;
        if approved_by.is_none() {
            self.route_to_delegates(&mut tx, Some(lead)).await?;
        }
        if let Some(by) = approved_by {
            self.audit(
                &mut tx,
                by,
                AuditAction::RequestApproved,
                format!("request:{lead}"),
                serde_json::json!({ "auto": true, "bundle": bundle.name }),
            )
            .await?;
            for id in &ids {
                self.carry_out(&mut tx, *id, duration, by).await?;
            }
        }
        let request = requests::find_request_tx(&mut tx, lead)
            .await?
            .ok_or(AppError::Internal)?;
        tx.commit().await?;
        if approved_by.is_some() {
            self.wake_engine();
        }
        Ok(request)
    }

    /// After the lead of a bundle request is decided: the same decision for the others —
    /// denied, or approved and granted for `duration` (a shortened approval included).
    pub(crate) async fn follow_lead(
        &self,
        tx: &mut Tx,
        lead: crate::model::RequestId,
        state: RequestState,
        duration: i64,
        actor: &str,
    ) -> Result<(), AppError> {
        let now = self.now();
        for id in bundles::followers(tx, lead).await? {
            if requests::decide_request(tx, id, state, now, actor).await?
                && state == RequestState::Approved
            {
                self.carry_out(tx, id, duration, actor).await?;
            }
        }
        Ok(())
    }
}
