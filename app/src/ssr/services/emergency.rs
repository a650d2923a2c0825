//! Break-glass: emergency access without approval, where a policy allows it. The requester
//! gives a reason (and a ticket when the policy asks for one); the grant starts at once, for at
//! most the policy's emergency maximum; the approvers and admins are alerted by the
//! `request.emergency` event; and an approver reviews it afterwards — justified, or flagged.
//! A person may activate at most the policy's number a day (any 24 hours, across policies).
//! Every other rule of a request applies but the request window: emergencies keep no hours.

use crate::error::AppError;
use crate::format::describe_duration;
use crate::model::{AccessRequest, AuditAction, Followup, GrantDuration, RequestId, RequestState};
use crate::ssr::auth::Requester;
use crate::ssr::db::requests::NewRequest;
use crate::ssr::db::{grants, requests};
use crate::ssr::services::access::{free_text, AccessService, RequestInput, MAX_REASON};
use crate::ssr::services::policy::MIN_DURATION_SECS;

/// The longest comment kept with a follow-up review.
const MAX_COMMENT: usize = 1000;

impl AccessService<'_> {
    /// Activates emergency access to `input.group_id` for the caller, without approval, when
    /// its policy allows break-glass and every rule a request meets passes.
    #[tracing::instrument(skip(self, who, input), fields(group = %input.group_id))]
    pub async fn activate_emergency(
        &self,
        who: &Requester,
        input: RequestInput,
    ) -> Result<AccessRequest, AppError> {
        let me = who.me();
        let now = self.now();
        if input.starts_at.is_some() {
            return Err(AppError::invalid(
                "Start",
                "emergency access starts at once; ask as usual to schedule access",
            ));
        }
        // Emergencies do not keep office hours: the request window does not apply.
        let assessment = self
            .assess(&me.okta_id, &input.group_id, now)
            .await?
            .without(super::assess::REQUEST_WINDOW);
        let resource = assessment.resource;
        let (group, policy) = assessment.into_allowed()?;
        let glass = policy.rules.break_glass.clone().ok_or_else(|| {
            AppError::invalid(
                "Group",
                format!(
                    "{} has no emergency access: ask for it as usual",
                    group.name
                ),
            )
        })?;
        let duration = input.duration.map_or(glass.max_secs, GrantDuration::secs);
        if !(MIN_DURATION_SECS..=glass.max_secs).contains(&duration) {
            return Err(AppError::invalid(
                "Duration",
                format!(
                    "emergency access to {} lasts from 1m to {}",
                    group.name,
                    describe_duration(glass.max_secs)
                ),
            ));
        }
        let reason = free_text("Reason", &input.reason, MAX_REASON)?;
        if reason.is_empty() {
            return Err(AppError::invalid(
                "Reason",
                "say what the emergency is: approvers and admins read it now",
            ));
        }
        let ticket = super::tickets::ticket_for(&policy, &input.ticket)?;
        let group_id = group.okta_id.clone();
        // Read before the transaction (see `request_access`).
        let member_in_okta = self.held_in_okta(resource, &group_id, &me.okta_id).await?;
        let mut tx = self.db.begin_write().await?;
        grants::lock_membership(&mut tx, &me.okta_id, &group_id).await?;
        // Counted under the lock of the write, so activations at the same time take turns.
        let used =
            requests::emergencies_since(&mut tx, &me.okta_id, now.plus_secs(-86_400)).await?;
        if used >= glass.per_day {
            return Err(AppError::Conflict(format!(
                "You have used emergency access {used} time(s) in the last 24 hours, the most \
                 the policy for {} allows. Ask for access as usual, or ask an admin.",
                group.name
            )));
        }
        if let Some(pending) =
            requests::pending_request_for(&mut tx, &me.okta_id, &group_id).await?
        {
            return Err(AppError::Conflict(format!(
                "You already asked for {} (request #{pending}); cancel it to use emergency access.",
                group.name
            )));
        }
        if let Some(live) = grants::live_grant_for(&mut tx, &me.okta_id, &group_id).await? {
            return Err(AppError::Conflict(format!(
                "You already hold {} (grant #{}) until {}.",
                group.name,
                live.id,
                live.ends_at.utc_datetime()
            )));
        }
        if member_in_okta {
            return Err(super::access::already_held(resource, &group.name));
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
                starts_at: None,
                policy_json: &policy_json,
                quorum: policy.quorum,
                extends_grant_id: None,
                created_at: now,
                ticket: ticket.as_ref().map(|t| t.0.as_str()),
                ticket_url: ticket.as_ref().and_then(|t| t.1.as_deref()),
                policy_id: policy.id,
                emergency: true,
                escalate_at: None,
                admins_at: None,
            },
            // Its approvers review it afterwards.
            &policy.approver_users,
            &policy.approver_groups,
        )
        .await?;
        self.route_to_delegates(&mut tx, Some(id)).await?;
        requests::decide_request(&mut tx, id, RequestState::Approved, now, "break-glass").await?;
        self.audit(
            &mut tx,
            &me.login,
            AuditAction::EmergencyActivated,
            format!("request:{id}"),
            serde_json::json!({
                "group": group_id, "duration_secs": duration, "reason": reason,
                "ticket": ticket.as_ref().map(|t| &t.0),
            }),
        )
        .await?;
        self.carry_out(&mut tx, id, duration, &me.login).await?;
        let request = requests::find_request_tx(&mut tx, id)
            .await?
            .ok_or(AppError::Internal)?;
        tx.commit().await?;
        self.wake_engine();
        Ok(request)
    }

    /// An approver's review of an emergency activation afterwards: `justified`, or flagged
    /// (with a comment saying why). Only the request's approvers, never its requester, and
    /// once.
    pub async fn review_emergency(
        &self,
        who: &Requester,
        id: RequestId,
        justified: bool,
        comment: &str,
    ) -> Result<AccessRequest, AppError> {
        let me = who.me();
        let comment = free_text("Comment", comment, MAX_COMMENT)?;
        let mut tx = self.db.begin_write().await?;
        // The same answer for a request that does not exist and one the caller may not see.
        if !requests::is_request_approver(&mut tx, id, &me.okta_id).await? {
            return Err(AppError::Forbidden);
        }
        let r = requests::find_request_tx(&mut tx, id)
            .await?
            .ok_or(AppError::Forbidden)?;
        let Some(state) = r.emergency else {
            return Err(AppError::Conflict(format!(
                "Request #{id} was not an emergency activation."
            )));
        };
        if r.requester_id == me.okta_id {
            return Err(AppError::Conflict(
                "You cannot review your own emergency access.".into(),
            ));
        }
        if !justified && comment.is_empty() {
            return Err(AppError::invalid(
                "Comment",
                "say why the emergency access was not justified",
            ));
        }
        let outcome = if justified {
            Followup::Justified
        } else {
            Followup::Flagged
        };
        if state != Followup::Pending
            || !requests::record_followup(&mut tx, id, outcome, &me.login, self.now(), comment)
                .await?
        {
            return Err(AppError::Conflict(format!(
                "This emergency access was already reviewed ({}).",
                state.as_str()
            )));
        }
        self.audit(
            &mut tx,
            &me.login,
            AuditAction::EmergencyReviewed,
            format!("request:{id}"),
            serde_json::json!({ "outcome": outcome.as_str(), "comment": comment }),
        )
        .await?;
        let reviewed = requests::find_request_tx(&mut tx, id)
            .await?
            .ok_or(AppError::Internal)?;
        tx.commit().await?;
        Ok(reviewed)
    }
}
