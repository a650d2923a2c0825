//! Where a pending request goes beyond its policy's approvers: the policy's second tier after
//! it waited `after`, the admins after a further time (both may then decide it), and the
//! out-of-office delegates of the people who may decide it. Each routing is a
//! `request_approvers` row saying how (`via`) and an audit event; the notifications of the
//! event reach the people it adds.

use crate::error::AppError;
use std::collections::HashMap;

use crate::model::{
    AccessRequest, AuditAction, Delegation, Escalation, Policy, RequestId, Timestamp,
};
use crate::ssr::auth::Requester;
use crate::ssr::db::requests::{self, Tier};
use crate::ssr::db::{delegations, directory, notifications};
use crate::ssr::services::access::{printable, AccessService};

/// The longest delegation: a person away longer hands their approvals over for good.
const MAX_DELEGATION_DAYS: i64 = 90;

impl AccessService<'_> {
    /// Takes the escalation steps due now and routes pending requests to delegations that
    /// started since; how many requests escalated.
    pub async fn route_pending(&self) -> Result<usize, AppError> {
        let now = self.now();
        let mut escalated = 0;
        for (id, tier) in requests::escalations_due(self.db, now, 200).await? {
            let mut tx = self.db.begin_write().await?;
            // Decided meanwhile: nothing to escalate.
            if !requests::lock_pending_request(&mut tx, id).await? {
                continue;
            }
            if !requests::mark_escalated(&mut tx, id, tier, now).await? {
                continue;
            }
            let policy: Policy =
                serde_json::from_str(&requests::request_policy_json(&mut tx, id).await?)
                    .map_err(|_| AppError::Internal)?;
            let Some(escalation) = policy.rules.escalation else {
                continue;
            };
            match tier {
                Tier::Second => self.to_second_tier(&mut tx, id, &escalation).await?,
                Tier::Admins => self.to_admins(&mut tx, id).await?,
            }
            self.route_to_delegates(&mut tx, Some(id)).await?;
            tx.commit().await?;
            escalated += 1;
        }
        let mut tx = self.db.begin_write().await?;
        self.route_to_delegates(&mut tx, None).await?;
        tx.commit().await?;
        Ok(escalated)
    }

    async fn to_second_tier(
        &self,
        tx: &mut crate::ssr::db::Tx,
        id: RequestId,
        e: &Escalation,
    ) -> Result<(), AppError> {
        let users = e.users.iter().map(|u| ("user", u.as_str()));
        let groups = e.groups.iter().map(|g| ("group", g.as_str()));
        for (kind, reference) in users.chain(groups) {
            requests::add_approver(tx, id, kind, reference, Some("escalation")).await?;
        }
        self.audit(
            tx,
            "gatepass",
            AuditAction::RequestEscalatedSecondTier,
            format!("request:{id}"),
            serde_json::json!({ "users": e.users, "groups": e.groups, "after_secs": e.after_secs }),
        )
        .await
    }

    async fn to_admins(&self, tx: &mut crate::ssr::db::Tx, id: RequestId) -> Result<(), AppError> {
        let admins = notifications::admin_recipients(tx).await?;
        for admin in &admins {
            requests::add_approver(tx, id, "user", admin, Some("admins")).await?;
        }
        self.audit(
            tx,
            "gatepass",
            AuditAction::RequestEscalatedAdmins,
            format!("request:{id}"),
            serde_json::json!({ "admins": admins }),
        )
        .await
    }

    /// Names `delegate_login` to stand in for the caller from `starts_at` (`None`: now) to
    /// `ends_at`:
    /// requests routed to the caller in that time go to the delegate too (never a request the
    /// delegate made). Pending requests are routed at once when it runs now.
    pub async fn set_delegation(
        &self,
        who: &Requester,
        delegate_login: &str,
        starts_at: Option<Timestamp>,
        ends_at: Timestamp,
    ) -> Result<Delegation, AppError> {
        let me = who.me();
        let now = self.now();
        let starts_at = starts_at.unwrap_or(now);
        let login = delegate_login.trim();
        printable("Delegate", login)?;
        if login.is_empty() {
            return Err(AppError::invalid(
                "Delegate",
                "enter the login of who stands in",
            ));
        }
        let delegate = directory::user_id_by_login(self.db, login)
            .await?
            .ok_or_else(|| {
                AppError::invalid("Delegate", format!("nobody with the login {login:?}"))
            })?;
        let found = directory::find_user(self.db, delegate.as_str())
            .await?
            .filter(|u| u.status == "ACTIVE")
            .ok_or_else(|| {
                AppError::invalid("Delegate", format!("{login} is not an active Okta user"))
            })?;
        if delegate == me.okta_id {
            return Err(AppError::invalid(
                "Delegate",
                "name someone other than yourself",
            ));
        }
        if ends_at <= starts_at {
            return Err(AppError::invalid("Until", "must be after the start"));
        }
        if ends_at <= now {
            return Err(AppError::invalid("Until", "must be in the future"));
        }
        if ends_at.millis_since(starts_at.max(now)) > MAX_DELEGATION_DAYS * 86_400_000 {
            return Err(AppError::invalid(
                "Until",
                format!("a delegation lasts at most {MAX_DELEGATION_DAYS} days"),
            ));
        }
        let mut tx = self.db.begin_write().await?;
        let id =
            delegations::insert(&mut tx, &me.okta_id, &delegate, starts_at, ends_at, now).await?;
        self.audit(
            &mut tx,
            &me.login,
            AuditAction::DelegationSaved,
            format!("user:{}", me.okta_id),
            serde_json::json!({ "id": id, "delegate": delegate, "starts_at": starts_at, "ends_at": ends_at }),
        )
        .await?;
        if starts_at <= now {
            self.route_to_delegates(&mut tx, None).await?;
        }
        tx.commit().await?;
        Ok(Delegation {
            id,
            delegate_id: delegate,
            delegate_name: found.display_name,
            delegate_login: found.login,
            starts_at,
            ends_at,
        })
    }

    /// Removes the caller's delegation `id` (requests already routed to the delegate stay
    /// theirs to decide too).
    pub async fn remove_delegation(
        &self,
        who: &Requester,
        id: i64,
    ) -> Result<Delegation, AppError> {
        let me = who.me();
        let mut tx = self.db.begin_write().await?;
        let removed = delegations::delete(&mut tx, &me.okta_id, id)
            .await?
            .ok_or_else(|| AppError::NotFound("That delegation".into()))?;
        self.audit(
            &mut tx,
            &me.login,
            AuditAction::DelegationRemoved,
            format!("user:{}", me.okta_id),
            serde_json::json!({ "id": id, "delegate": removed.delegate_id }),
        )
        .await?;
        tx.commit().await?;
        Ok(removed)
    }

    /// The caller's delegations that have not ended.
    pub async fn my_delegations(&self, who: &Requester) -> Result<Vec<Delegation>, AppError> {
        Ok(delegations::of_user(self.db, &who.me().okta_id, self.now()).await?)
    }
}

/// How each of `list` reached people beyond its policy, and its emergency review, in words
/// for its page: `escalated to the second tier at …`, `delegated to Tom Baker for Priya
/// Natarajan`, `emergency access flagged by …: …`.
pub fn notes_of(
    list: &[AccessRequest],
    routing: &HashMap<RequestId, requests::Routing>,
) -> HashMap<RequestId, Vec<String>> {
    let mut out = HashMap::new();
    for r in list {
        let found = routing.get(&r.id).cloned().unwrap_or_default();
        let mut notes = Vec::new();
        if let Some(state) = r.emergency {
            notes.push(match (&found.followup, state) {
                (Some((by, at, comment)), _) => {
                    let said = if comment.is_empty() {
                        String::new()
                    } else {
                        format!(": {comment}")
                    };
                    format!(
                        "emergency access {} by {by} at {}{said}",
                        state.as_str(),
                        at.utc_datetime()
                    )
                }
                _ => "emergency access, waiting for an approver's review".to_owned(),
            });
        }
        if let Some(at) = found.escalated_at {
            notes.push(format!(
                "escalated to the second tier at {}",
                at.utc_datetime()
            ));
        }
        if let Some(at) = found.admins_escalated_at {
            notes.push(format!("escalated to the admins at {}", at.utc_datetime()));
        }
        for (delegate, away) in found.delegates {
            notes.push(format!("delegated to {delegate} for {away}"));
        }
        if !notes.is_empty() {
            out.insert(r.id, notes);
        }
    }
    out
}
