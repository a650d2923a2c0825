//! Server functions of the access workflow: the catalog, requests, approvals, My access,
//! policies. Each checks who is calling and hands over to a service.

// The policy form posts one field per argument.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{AccessRequest, CatalogEntry, CatalogPage, Grant, MyAccess, RequestView};

/// The groups the caller may request (`q` filters by name; `after` pages).
#[server(endpoint = "access/catalog", prefix = "/api")]
pub async fn get_catalog(q: String, after: String) -> Result<CatalogPage, AppError> {
    use crate::ssr::auth::Requester;
    super::serve(|who: Requester, state| async move {
        let (q, after) = (
            super::bounded("Search", &q)?,
            super::bounded("after", &after)?,
        );
        state.catalog().catalog(&who, q, after).await
    })
    .await
}

/// One group the caller may request.
#[server(endpoint = "access/catalog/entry", prefix = "/api")]
pub async fn get_catalog_entry(group_id: String) -> Result<CatalogEntry, AppError> {
    use crate::ssr::auth::Requester;
    super::serve(|who: Requester, state| async move {
        state
            .catalog()
            .entry(&who, &crate::model::GroupId(group_id))
            .await
    })
    .await
}

/// Asks for a group; `start` is an optional UTC date and time (`2026-06-01T10:00`).
#[server(endpoint = "access/request", prefix = "/api")]
pub async fn request_access(
    group_id: String,
    duration: String,
    reason: String,
    start: String,
    #[server(default)] ticket: String,
) -> Result<AccessRequest, AppError> {
    use crate::ssr::auth::Requester;
    use crate::ssr::services::access::{optional_duration, parse_start, RequestInput};
    super::serve(|who: Requester, state| async move {
        let input = RequestInput {
            group_id: crate::model::GroupId(group_id),
            duration: optional_duration("Duration", &duration)?,
            reason,
            starts_at: parse_start(&start)?,
            ticket,
        };
        state.access().request_access(&who, input).await
    })
    .await
}

/// The caller's grants and requests.
#[server(endpoint = "access/mine", prefix = "/api")]
pub async fn get_my_access() -> Result<MyAccess, AppError> {
    use crate::ssr::auth::Requester;
    super::serve(|who: Requester, state| async move { state.catalog().my_access(&who).await }).await
}

/// What the caller is (admin, approver of how many groups), for the header; `None` for
/// someone not signed in or not in the directory (every page asks, so that is no error).
#[server(endpoint = "access/roles", prefix = "/api")]
pub async fn get_roles() -> Result<Option<crate::model::Roles>, AppError> {
    use crate::ssr::auth::{Capability, Requester};
    let Ok(who) = Requester::require() else {
        return Ok(None);
    };
    let state = crate::ssr::state::AppState::current()?;
    super::respond(state.catalog().roles(&who).await.map(Some))
}

/// The caller's start page: what waits for them, what they hold, what they asked for; `None`
/// for someone not signed in or not in the directory (the start page is for anyone).
#[server(endpoint = "access/dashboard", prefix = "/api")]
pub async fn get_dashboard() -> Result<Option<crate::model::Dashboard>, AppError> {
    use crate::ssr::auth::{Capability, Requester};
    let Ok(who) = Requester::require() else {
        return Ok(None);
    };
    let state = crate::ssr::state::AppState::current()?;
    super::respond(state.catalog().dashboard(&who).await.map(Some))
}

/// A request's whole story, for its requester, its approvers and admins.
#[server(endpoint = "access/request/story", prefix = "/api")]
pub async fn get_request_story(id: i64) -> Result<crate::model::RequestStory, AppError> {
    use crate::ssr::auth::Requester;
    super::serve(|who: Requester, state| async move {
        state
            .catalog()
            .story(&who, crate::model::RequestId(id))
            .await
    })
    .await
}

/// Withdraws one of the caller's pending requests.
#[server(endpoint = "access/cancel", prefix = "/api")]
pub async fn cancel_request(request_id: i64) -> Result<(), AppError> {
    use crate::ssr::auth::Requester;
    super::serve(|who: Requester, state| async move {
        state
            .access()
            .cancel(&who, crate::model::RequestId(request_id))
            .await
    })
    .await
}

/// Ends one of the caller's grants now.
#[server(endpoint = "access/give-back", prefix = "/api")]
pub async fn give_back(grant_id: i64) -> Result<Grant, AppError> {
    use crate::ssr::auth::Requester;
    super::serve(|who: Requester, state| async move {
        state
            .access()
            .give_back(&who, crate::model::GrantId(grant_id))
            .await
    })
    .await
}

/// Requests waiting for the caller's decision.
#[server(endpoint = "access/approvals", prefix = "/api")]
pub async fn get_approvals() -> Result<Vec<RequestView>, AppError> {
    use crate::ssr::auth::Requester;
    super::serve(|who: Requester, state| async move { state.catalog().approval_queue(&who).await })
        .await
}

/// One bundle the caller may request.
#[server(endpoint = "access/catalog/bundle", prefix = "/api")]
pub async fn get_bundle_entry(id: i64) -> Result<crate::model::BundleEntry, AppError> {
    use crate::ssr::auth::Requester;
    super::serve(
        |who: Requester, state| async move { state.catalog().bundle_entry(&who, id).await },
    )
    .await
}

/// Asks for a bundle: one request, one decision, every group.
#[server(endpoint = "access/request/bundle", prefix = "/api")]
pub async fn request_bundle(
    bundle_id: i64,
    duration: String,
    reason: String,
    #[server(default)] start: String,
    #[server(default)] ticket: String,
) -> Result<AccessRequest, AppError> {
    use crate::ssr::auth::Requester;
    use crate::ssr::services::access::{optional_duration, parse_start};
    use crate::ssr::services::bundles::BundleRequestInput;
    super::serve(|who: Requester, state| async move {
        let input = BundleRequestInput {
            bundle_id,
            duration: optional_duration("Duration", &duration)?,
            reason,
            starts_at: parse_start(&start)?,
            ticket,
        };
        state.access().request_bundle(&who, input).await
    })
    .await
}

/// Every bundle (admins).
#[server(endpoint = "access/bundles", prefix = "/api")]
pub async fn get_bundles() -> Result<Vec<crate::model::Bundle>, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|admin: Admin, state| async move { state.access().bundles(&admin).await }).await
}

/// Saves a bundle by name (admins): a description and its groups (names or ids).
#[server(endpoint = "access/bundles/save", prefix = "/api")]
pub async fn save_bundle(
    name: String,
    #[server(default)] description: String,
    groups: String,
) -> Result<crate::model::Bundle, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|admin: Admin, state| async move {
        state
            .access()
            .save_bundle(&admin, &name, &description, &groups)
            .await
    })
    .await
}

/// Deletes a bundle and its policy (admins).
#[server(endpoint = "access/bundles/delete", prefix = "/api")]
pub async fn delete_bundle(id: i64) -> Result<(), AppError> {
    use crate::ssr::auth::Admin;
    super::serve(
        |admin: Admin, state| async move { state.access().delete_bundle(&admin, id).await },
    )
    .await
}

/// Break-glass: activates emergency access to a group at once, without approval, where its
/// policy allows it (`duration` empty: the emergency maximum).
#[server(endpoint = "access/emergency", prefix = "/api")]
pub async fn activate_emergency(
    group_id: String,
    duration: String,
    reason: String,
    #[server(default)] ticket: String,
) -> Result<AccessRequest, AppError> {
    use crate::ssr::auth::Requester;
    use crate::ssr::services::access::{optional_duration, RequestInput};
    super::serve(|who: Requester, state| async move {
        let input = RequestInput {
            group_id: crate::model::GroupId(group_id),
            duration: optional_duration("Duration", &duration)?,
            reason,
            starts_at: None,
            ticket,
        };
        state.access().activate_emergency(&who, input).await
    })
    .await
}

/// Emergency activations waiting for the caller's review.
#[server(endpoint = "access/emergencies", prefix = "/api")]
pub async fn get_emergencies() -> Result<Vec<RequestView>, AppError> {
    use crate::ssr::auth::Requester;
    super::serve(|who: Requester, state| async move {
        state.catalog().emergencies_to_review(&who).await
    })
    .await
}

/// Reviews an emergency activation afterwards: `outcome` `justified` or `flagged` (with a
/// comment saying why).
#[server(endpoint = "access/emergency/review", prefix = "/api")]
pub async fn review_emergency(
    request_id: i64,
    outcome: String,
    #[server(default)] comment: String,
) -> Result<AccessRequest, AppError> {
    use crate::ssr::auth::Requester;
    super::serve(|who: Requester, state| async move {
        let justified = match outcome.as_str() {
            "justified" => true,
            "flagged" => false,
            _ => return Err(AppError::invalid("Outcome", "justified or flagged")),
        };
        state
            .access()
            .review_emergency(
                &who,
                crate::model::RequestId(request_id),
                justified,
                &comment,
            )
            .await
    })
    .await
}

/// The caller's out-of-office delegations that have not ended.
#[server(endpoint = "access/delegations", prefix = "/api")]
pub async fn get_delegations() -> Result<Vec<crate::model::Delegation>, AppError> {
    use crate::ssr::auth::Requester;
    super::serve(|who: Requester, state| async move { state.access().my_delegations(&who).await })
        .await
}

/// Names a delegate for the caller's approvals from `from` (empty: now) until `until`, both
/// UTC date and time (`2026-06-01T10:00`).
#[server(endpoint = "access/delegations/save", prefix = "/api")]
pub async fn save_delegation(
    delegate: String,
    #[server(default)] from: String,
    until: String,
) -> Result<crate::model::Delegation, AppError> {
    use crate::ssr::auth::Requester;
    use crate::ssr::services::access::parse_moment;
    super::serve(|who: Requester, state| async move {
        let from = parse_moment("From", &from)?;
        let until = parse_moment("Until", &until)?
            .ok_or_else(|| AppError::invalid("Until", "say when you are back"))?;
        state
            .access()
            .set_delegation(&who, &delegate, from, until)
            .await
    })
    .await
}

/// Removes one of the caller's delegations.
#[server(endpoint = "access/delegations/remove", prefix = "/api")]
pub async fn remove_delegation(id: i64) -> Result<crate::model::Delegation, AppError> {
    use crate::ssr::auth::Requester;
    super::serve(
        |who: Requester, state| async move { state.access().remove_delegation(&who, id).await },
    )
    .await
}

/// Approves (`decision = "approve"`) or denies a request, with a comment and optionally a
/// shorter duration.
#[server(endpoint = "access/decide", prefix = "/api")]
pub async fn decide_request(
    request_id: i64,
    decision: String,
    comment: String,
    duration: String,
) -> Result<AccessRequest, AppError> {
    use crate::ssr::auth::Requester;
    use crate::ssr::services::access::{optional_duration, DecisionInput};
    super::serve(|who: Requester, state| async move {
        let decision = decision
            .parse()
            .map_err(|m| AppError::invalid("Decision", m))?;
        let input = DecisionInput {
            request_id: crate::model::RequestId(request_id),
            decision,
            comment,
            duration: optional_duration("Duration", &duration)?,
        };
        state.access().decide(&who, input).await
    })
    .await
}

/// Every policy (admins).
#[server(endpoint = "access/policies", prefix = "/api")]
pub async fn get_policies() -> Result<Vec<crate::model::PolicyView>, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|admin: Admin, state| async move { state.catalog().policies(&admin).await }).await
}

/// Saves the policy for a group or pattern (admins). Lists are comma-separated names.
#[server(endpoint = "access/policies/save", prefix = "/api")]
pub async fn save_policy(
    applies_to: String,
    eligible_groups: String,
    approver_users: String,
    approver_groups: String,
    quorum: String,
    default_duration: String,
    max_duration: String,
    requestable: Option<String>,
    require_reason: Option<String>,
    allow_self_approval: Option<String>,
    auto_approve: Option<String>,
    #[server(default)] approve_in_gatepass_only: Option<String>,
    #[server(default)] slack_channel: String,
    #[server(default)] keep_needs_comment: Option<String>,
    #[server(default)] ticket_pattern: String,
    #[server(default)] ticket_url: String,
    #[server(default)] max_live_grants: String,
    #[server(default)] request_window: String,
    #[server(default)] break_glass_max: String,
    #[server(default)] break_glass_per_day: String,
    #[server(default)] escalate_after: String,
    #[server(default)] escalation_approvers: String,
    #[server(default)] escalation_approver_groups: String,
    #[server(default)] escalate_to_admins_after: String,
    #[server(default)] on_call_schedule: String,
) -> Result<crate::model::Policy, AppError> {
    use crate::ssr::auth::Admin;
    use crate::ssr::services::access::{resolve_policy_form, PolicyForm};
    let form = PolicyForm {
        applies_to,
        eligible_groups,
        approver_users,
        approver_groups,
        quorum,
        default_duration,
        max_duration,
        requestable: requestable.is_some(),
        require_reason: require_reason.is_some(),
        allow_self_approval: allow_self_approval.is_some(),
        auto_approve: auto_approve.is_some(),
        approve_in_gatepass_only: approve_in_gatepass_only.is_some(),
        slack_channel,
        keep_needs_comment: keep_needs_comment.is_some(),
        ticket_pattern,
        ticket_url,
        max_live_grants,
        request_window,
        break_glass_max,
        break_glass_per_day,
        escalate_after,
        escalation_approvers,
        escalation_approver_groups,
        escalate_to_admins_after,
        on_call_schedule,
    };
    super::serve(|admin: Admin, state| async move {
        let input = resolve_policy_form(&state.db, &form).await?;
        state.access().save_policy(&admin, input).await
    })
    .await
}

/// What the policies say about a person (by login) asking for a group (by name or id), now
/// (admins): the same evaluation a request meets.
#[server(endpoint = "access/policies/preview", prefix = "/api")]
pub async fn preview_policy(
    person: String,
    group: String,
) -> Result<crate::model::PolicyPreview, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|admin: Admin, state| async move {
        state.access().preview(&admin, &person, &group).await
    })
    .await
}

/// Deletes a policy (admins).
#[server(endpoint = "access/policies/delete", prefix = "/api")]
pub async fn delete_policy(id: i64) -> Result<crate::model::Policy, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(
        |admin: Admin, state| async move { state.access().delete_policy(&admin, id).await },
    )
    .await
}

/// Everything pending and live, for admins (`q` filters by group or person; pages from 0).
#[server(endpoint = "access/admin", prefix = "/api")]
pub async fn get_admin_access(
    q: String,
    #[server(default)] requests_page: i64,
    #[server(default)] grants_page: i64,
) -> Result<crate::model::AdminAccessOverview, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|admin: Admin, state| async move {
        state
            .catalog()
            .admin_overview(
                &admin,
                super::bounded("Search", &q)?,
                requests_page,
                grants_page,
            )
            .await
    })
    .await
}

/// Revokes any grant at once (admins), with a reason.
#[server(endpoint = "access/revoke", prefix = "/api")]
pub async fn revoke_grant(grant_id: i64, reason: String) -> Result<Grant, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|admin: Admin, state| async move {
        state
            .access()
            .revoke(&admin, crate::model::GrantId(grant_id), &reason)
            .await
    })
    .await
}

/// Tries a failed grant again (admins).
#[server(endpoint = "access/retry", prefix = "/api")]
pub async fn retry_grant(grant_id: i64) -> Result<Grant, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|admin: Admin, state| async move {
        state
            .access()
            .retry_failed(&admin, crate::model::GrantId(grant_id))
            .await
    })
    .await
}
