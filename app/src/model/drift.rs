//! Drift between Okta and Gatepass, and the admin's view of one group.

use super::{GrantId, GroupId, Timestamp, UserId};
use serde::{Deserialize, Serialize};

use super::{GrantView, Policy};

/// What disagrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum DriftKind {
    /// An active grant whose membership Okta no longer has.
    Missing,
    /// A membership of a requestable group that no grant accounts for.
    Unmanaged,
}

impl DriftKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DriftKind::Missing => "missing",
            DriftKind::Unmanaged => "unmanaged",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [DriftKind::Missing, DriftKind::Unmanaged]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    /// What it means, for people.
    pub fn describe(self) -> &'static str {
        match self {
            DriftKind::Missing => "Granted by Gatepass, but no longer a member in Okta",
            DriftKind::Unmanaged => "Member in Okta, but not through Gatepass",
        }
    }
}

/// Where a drift item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum DriftState {
    /// Waiting for an admin.
    Open,
    /// An admin accepted it; listed again only if it clears and comes back.
    Ignored,
    /// Re-applied, revoked, or cleared up by itself.
    Resolved,
}

impl DriftState {
    pub fn as_str(self) -> &'static str {
        match self {
            DriftState::Open => "open",
            DriftState::Ignored => "ignored",
            DriftState::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [DriftState::Open, DriftState::Ignored, DriftState::Resolved]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// What an admin does about an open drift item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DriftAction {
    /// Add the membership again (a grant's missing membership).
    Reapply,
    /// End it: revoke the grant, or remove the membership Okta has outside Gatepass.
    Revoke,
    /// Accept it as it is.
    Ignore,
}

impl DriftAction {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "reapply" => Some(DriftAction::Reapply),
            "revoke" => Some(DriftAction::Revoke),
            "ignore" => Some(DriftAction::Ignore),
            _ => None,
        }
    }
}

/// One drift item with the names people read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DriftItem {
    pub id: i64,
    pub kind: DriftKind,
    pub user_id: UserId,
    pub user_name: String,
    pub group_id: GroupId,
    pub group_name: String,
    pub grant_id: Option<GrantId>,
    pub state: DriftState,
    /// `reapplied`, `revoked` or `cleared` once resolved.
    pub resolution: Option<String>,
    pub detected_at: Timestamp,
    pub decided_at: Option<Timestamp>,
    pub decided_by: Option<String>,
}

/// A page of drift items, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftPage {
    pub items: Vec<DriftItem>,
    /// The `before` id of the next page.
    pub next: Option<i64>,
    pub open: i64,
    pub ignored: i64,
    /// As many items are open as Gatepass lists at once; more are listed as these are dealt
    /// with.
    pub capped: bool,
}

/// A member of a group, as Gatepass knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GroupMember {
    pub user_id: UserId,
    pub name: String,
    pub login: String,
    /// `okta_sync` (seen by a directory sync) or `grant` (added by Gatepass since).
    pub source: String,
    pub seen_at: Timestamp,
    /// The live grant that accounts for it, if any.
    pub grant_id: Option<GrantId>,
    pub grant_ends_at: Option<Timestamp>,
}

/// A group in the admins' list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GroupSummary {
    pub group_id: GroupId,
    pub name: String,
    pub okta_type: String,
    pub managed_by_rule: bool,
    pub members: i64,
    pub live_grants: i64,
    /// The policy that applies: the group's name or the pattern; none if no policy matches.
    pub policy: Option<String>,
    pub requestable: bool,
}

/// A page of the admins' group list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupList {
    pub groups: Vec<GroupSummary>,
    /// The `after` name of the next page.
    pub next: Option<String>,
}

/// Admin › Groups › one group: who is in it and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GroupDetail {
    pub summary: GroupSummary,
    pub description: String,
    pub policy: Option<Policy>,
    pub members: Vec<GroupMember>,
    /// More members than listed.
    pub members_truncated: bool,
    pub grants: Vec<GrantView>,
    pub drift: Vec<DriftItem>,
    pub last_sync_at: Option<Timestamp>,
}

/// What needs an admin's attention now (the banner on the admin pages).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminAlerts {
    /// Open drift items.
    pub drift_open: i64,
    /// Removals from Okta that keep failing (still being retried).
    pub removals_failing: i64,
    /// Grants whose add Okta refused or that kept failing.
    pub grants_failed: i64,
    /// Notifications that could not be delivered (until retried).
    pub notifications_failed: i64,
    /// Emergency (break-glass) grants active now.
    #[serde(default)]
    pub emergencies_live: i64,
    /// Emergency activations no approver has reviewed yet.
    #[serde(default)]
    pub emergencies_unreviewed: i64,
}
