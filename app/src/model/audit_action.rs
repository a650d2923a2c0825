//! `AuditAction`: every kind of change Gatepass records in its audit log, named once. The names
//! are stored with each event and are what the audit log's *Action* filter matches.

use std::fmt;

/// What an audit event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// Admin › Okta integration saved (or `[okta]` applied at start-up).
    IntegrationSaved,
    /// An admin asked for a directory sync now.
    SyncRequested,
    PolicySaved,
    PolicyDeleted,
    /// A policies file was applied (each policy it changed has its own saved/deleted event).
    PoliciesApplied,
    RequestCreated,
    /// A request for a group the person holds: it extends the grant once approved.
    RequestCreatedExtension,
    /// One approver approved; more approvals are needed.
    ApprovalRecorded,
    RequestApproved,
    RequestDenied,
    RequestCancelled,
    RequestExpired,
    /// A request waited long: its approvers are reminded.
    RequestReminded,
    /// A request waited longer still: the admins are told.
    RequestEscalated,
    GrantScheduled,
    GrantStarted,
    GrantExtended,
    GrantExpired,
    /// A grant ends soon: its holder is reminded (with a way to ask for more time).
    GrantExpiringSoon,
    GrantEnded,
    GrantRetried,
    MembershipAdded,
    MembershipRemoved,
    MembershipAddSkipped,
    /// Okta assigned a person to an app for a grant.
    AppAssigned,
    /// Okta removed a grant's app assignment.
    AppUnassigned,
    /// A grant ended but its app assignment stays: a group still gives it.
    AppAssignmentKept,
    MembershipAddFailed,
    /// A removal from Okta failed several times (it is still retried): admins are alerted.
    MembershipRemoveFailing,
    DriftDetected,
    DriftCleared,
    DriftIgnored,
    DriftReapplied,
    DriftRevoked,
    /// An admin added a webhook endpoint.
    WebhookAdded,
    /// An admin deleted a webhook endpoint.
    WebhookDeleted,
    /// An admin queued a failed delivery again.
    DeliveryRetried,
    /// A person changed which email they get.
    PreferencesSaved,
    /// An admin changed the Slack app's settings.
    SlackSaved,
    /// An admin changed which kinds of notice go out by email and in Slack.
    SwitchesSaved,
    /// A sync found new drift (one event per sync, for the admins' alert).
    DriftFound,
    /// A person made an API token (its name, scopes and expiry; never the token).
    TokenCreated,
    /// A token was revoked by its person or an admin.
    TokenRevoked,
    /// An admin made an access review campaign (scheduled or starting now).
    ReviewCreated,
    /// A campaign opened: its items were snapshotted and its reviewers told.
    ReviewStarted,
    /// A reviewer kept or revoked items (or changed their mind).
    ReviewDecided,
    /// The reviewers with items left were reminded before the due date.
    ReviewReminded,
    /// The due date passed with items undecided and moved once.
    ReviewExtended,
    /// A campaign closed (by an admin or at its due date); undecided items got the default.
    ReviewClosed,
    /// A revoked item's membership was ended (grant) or queued for removal (outside Gatepass).
    ReviewRevoked,
    /// An admin made or stopped a recurring review.
    ReviewScheduleSaved,
    /// A request went to the delegate of an approver who is away.
    RequestDelegated,
    /// A request left undecided went to its policy's second tier of approvers.
    RequestEscalatedSecondTier,
    /// A request left undecided longer still went to the admins to decide.
    RequestEscalatedAdmins,
    /// Break-glass: access activated without approval (approvers and admins are alerted).
    EmergencyActivated,
    /// An approver confirmed an emergency activation was justified, or flagged it.
    EmergencyReviewed,
    /// A person named an out-of-office delegate for some dates.
    DelegationSaved,
    /// A person removed an out-of-office delegation.
    DelegationRemoved,
    /// An admin saved a bundle (its name, description and groups).
    BundleSaved,
    /// An admin deleted a bundle and its policy.
    BundleDeleted,
}

impl AuditAction {
    /// Every action.
    pub const ALL: [AuditAction; 60] = [
        AuditAction::IntegrationSaved,
        AuditAction::SyncRequested,
        AuditAction::PolicySaved,
        AuditAction::PolicyDeleted,
        AuditAction::PoliciesApplied,
        AuditAction::RequestCreated,
        AuditAction::RequestCreatedExtension,
        AuditAction::ApprovalRecorded,
        AuditAction::RequestApproved,
        AuditAction::RequestDenied,
        AuditAction::RequestCancelled,
        AuditAction::RequestExpired,
        AuditAction::RequestReminded,
        AuditAction::RequestEscalated,
        AuditAction::GrantScheduled,
        AuditAction::GrantStarted,
        AuditAction::GrantExtended,
        AuditAction::GrantExpired,
        AuditAction::GrantExpiringSoon,
        AuditAction::GrantEnded,
        AuditAction::GrantRetried,
        AuditAction::MembershipAdded,
        AuditAction::MembershipRemoved,
        AuditAction::MembershipAddSkipped,
        AuditAction::AppAssigned,
        AuditAction::AppUnassigned,
        AuditAction::AppAssignmentKept,
        AuditAction::MembershipAddFailed,
        AuditAction::MembershipRemoveFailing,
        AuditAction::DriftDetected,
        AuditAction::DriftCleared,
        AuditAction::DriftIgnored,
        AuditAction::DriftReapplied,
        AuditAction::DriftRevoked,
        AuditAction::WebhookAdded,
        AuditAction::WebhookDeleted,
        AuditAction::DeliveryRetried,
        AuditAction::PreferencesSaved,
        AuditAction::SlackSaved,
        AuditAction::SwitchesSaved,
        AuditAction::DriftFound,
        AuditAction::TokenCreated,
        AuditAction::TokenRevoked,
        AuditAction::ReviewCreated,
        AuditAction::ReviewStarted,
        AuditAction::ReviewDecided,
        AuditAction::ReviewReminded,
        AuditAction::ReviewExtended,
        AuditAction::ReviewClosed,
        AuditAction::ReviewRevoked,
        AuditAction::ReviewScheduleSaved,
        AuditAction::RequestDelegated,
        AuditAction::RequestEscalatedSecondTier,
        AuditAction::RequestEscalatedAdmins,
        AuditAction::EmergencyActivated,
        AuditAction::EmergencyReviewed,
        AuditAction::DelegationSaved,
        AuditAction::DelegationRemoved,
        AuditAction::BundleSaved,
        AuditAction::BundleDeleted,
    ];

    /// The name stored with the event.
    pub fn as_str(self) -> &'static str {
        use AuditAction::*;
        match self {
            IntegrationSaved => "okta.integration.saved",
            SyncRequested => "okta.sync.requested",
            PolicySaved => "policy.saved",
            PolicyDeleted => "policy.deleted",
            PoliciesApplied => "policy.applied",
            RequestCreated => "request.created",
            RequestCreatedExtension => "request.created.extension",
            ApprovalRecorded => "request.approval_recorded",
            RequestApproved => "request.approved",
            RequestDenied => "request.denied",
            RequestCancelled => "request.cancelled",
            RequestExpired => "request.expired",
            RequestReminded => "request.reminder_sent",
            RequestEscalated => "request.escalated",
            GrantScheduled => "grant.scheduled",
            GrantStarted => "grant.started",
            GrantExtended => "grant.extended",
            GrantExpired => "grant.expired",
            GrantExpiringSoon => "grant.expiring_soon",
            GrantEnded => "grant.ended",
            GrantRetried => "grant.retried",
            MembershipAdded => "okta.membership.added",
            MembershipRemoved => "okta.membership.removed",
            MembershipAddSkipped => "okta.membership.add_skipped",
            AppAssigned => "okta.app.assigned",
            AppUnassigned => "okta.app.unassigned",
            AppAssignmentKept => "okta.app.assignment_kept",
            MembershipAddFailed => "okta.membership.add_failed",
            MembershipRemoveFailing => "okta.membership.remove_failing",
            DriftDetected => "drift.detected",
            DriftCleared => "drift.cleared",
            DriftIgnored => "drift.ignored",
            DriftReapplied => "drift.reapplied",
            DriftRevoked => "drift.revoked",
            WebhookAdded => "notifications.webhook_added",
            WebhookDeleted => "notifications.webhook_deleted",
            DeliveryRetried => "notifications.delivery_retried",
            PreferencesSaved => "notifications.preferences_saved",
            SlackSaved => "notifications.slack_saved",
            SwitchesSaved => "notifications.switches_saved",
            DriftFound => "drift.found",
            TokenCreated => "token.created",
            TokenRevoked => "token.revoked",
            ReviewCreated => "review.created",
            ReviewStarted => "review.started",
            ReviewDecided => "review.decided",
            ReviewReminded => "review.reminder_sent",
            ReviewExtended => "review.extended",
            ReviewClosed => "review.closed",
            ReviewRevoked => "review.revoked",
            ReviewScheduleSaved => "review.schedule_saved",
            RequestDelegated => "request.delegated",
            RequestEscalatedSecondTier => "request.escalated.second_tier",
            RequestEscalatedAdmins => "request.escalated.admins",
            EmergencyActivated => "request.emergency",
            EmergencyReviewed => "request.emergency_reviewed",
            DelegationSaved => "request.delegation_saved",
            DelegationRemoved => "request.delegation_removed",
            BundleSaved => "policy.bundle_saved",
            BundleDeleted => "policy.bundle_deleted",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_grouped() {
        let mut names: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), AuditAction::ALL.len());
        for a in AuditAction::ALL {
            assert_eq!(a.to_string(), a.as_str());
            let family = a.as_str().split('.').next().unwrap();
            assert!(
                [
                    "okta",
                    "policy",
                    "request",
                    "grant",
                    "drift",
                    "notifications",
                    "token",
                    "review"
                ]
                .contains(&family),
                "{a}: the audit log's filters group actions by these prefixes"
            );
        }
    }
}
