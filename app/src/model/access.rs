//! Wire types of the access workflow: policies, requests, grants.

use super::{AppId, GrantId, GroupId, RequestId, Timestamp, UserId};
use serde::{Deserialize, Serialize};

/// What a policy applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum PolicyTarget {
    /// One group, by Okta id.
    Group(GroupId),
    /// Groups whose name matches (`*` matches any run of characters).
    Pattern(String),
    /// A bundle of groups, by id: one request and one decision for all of them.
    Bundle(i64),
    /// One Okta app, by id: a grant assigns the person to it.
    App(AppId),
}

/// What a request or grant gives: membership of an Okta group, or assignment to an Okta app.
/// Its Okta id is the request's or grant's `group_id`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Resource {
    #[default]
    Group,
    App,
}

impl Resource {
    /// The name stored in the `resource` columns.
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Group => "group",
            Resource::App => "app",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Resource::Group, Resource::App]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// Who may request a group, who approves, and for how long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Policy {
    pub id: i64,
    pub target: PolicyTarget,
    pub requestable: bool,
    /// Okta group ids whose members may request; empty: everyone.
    pub eligible_groups: Vec<GroupId>,
    /// Okta user ids of the people who approve.
    pub approver_users: Vec<UserId>,
    /// Okta group ids whose members approve.
    pub approver_groups: Vec<GroupId>,
    pub quorum: i64,
    pub default_duration_secs: i64,
    pub max_duration_secs: i64,
    pub require_reason: bool,
    pub allow_self_approval: bool,
    pub auto_approve: bool,
    /// Decisions only in Gatepass's pages: Slack messages carry no Approve/Deny buttons and a
    /// click is refused.
    #[serde(default)]
    pub approve_in_gatepass_only: bool,
    /// A Slack channel id (`C…`) new requests are also posted to; `None`: the default channel
    /// of the Slack settings, if any.
    #[serde(default)]
    pub slack_channel: Option<String>,
    /// In an access review, keeping a member of the group needs a comment.
    #[serde(default)]
    pub keep_needs_comment: bool,
    /// A request needs a ticket reference matching this regular expression (whole).
    #[serde(default)]
    pub ticket_pattern: Option<String>,
    /// Where a ticket is shown: `https://…{ticket}…`.
    #[serde(default)]
    pub ticket_url: Option<String>,
    /// Limits, break-glass and escalation.
    #[serde(default)]
    pub rules: PolicyRules,
    pub updated_at: Timestamp,
    pub updated_by: String,
}

/// A policy's further rules: limits, emergency access and escalation (each off when absent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PolicyRules {
    /// At most this many live grants (and pending requests) per person from the policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_live_grants: Option<i64>,
    /// When requested access may start: `Mon-Fri 09:00-18:00 Europe/Berlin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_window: Option<String>,
    /// Emergency access without approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub break_glass: Option<BreakGlass>,
    /// Who else decides a request left undecided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<Escalation>,
    /// A PagerDuty schedule id: a request by whoever is on call for it now is approved at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_call_schedule: Option<String>,
}

/// Break-glass: a requester may activate access at once, without approval, after giving a
/// reason; approvers and admins are alerted and an approver reviews it afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BreakGlass {
    /// The longest an emergency grant lasts.
    pub max_secs: i64,
    /// Activations a person may make in any 24 hours.
    pub per_day: i64,
}

/// A second tier of approvers for a request still undecided after `after_secs`, and the
/// admins after a further `admins_after_secs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Escalation {
    pub after_secs: i64,
    #[serde(default)]
    pub users: Vec<UserId>,
    #[serde(default)]
    pub groups: Vec<GroupId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admins_after_secs: Option<i64>,
}

/// Where an emergency (break-glass) grant's review afterwards stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum Followup {
    /// Waiting for an approver.
    Pending,
    /// An approver confirmed it was justified.
    Justified,
    /// An approver flagged it as not justified.
    Flagged,
}

impl Followup {
    pub fn as_str(self) -> &'static str {
        match self {
            Followup::Pending => "pending",
            Followup::Justified => "justified",
            Followup::Flagged => "flagged",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Followup::Pending, Followup::Justified, Followup::Flagged]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// A request's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum RequestState {
    Pending,
    Approved,
    Denied,
    Cancelled,
    Expired,
}

impl RequestState {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Pending => "pending",
            RequestState::Approved => "approved",
            RequestState::Denied => "denied",
            RequestState::Cancelled => "cancelled",
            RequestState::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            RequestState::Pending,
            RequestState::Approved,
            RequestState::Denied,
            RequestState::Cancelled,
            RequestState::Expired,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// A request for membership of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AccessRequest {
    pub id: RequestId,
    pub requester_id: UserId,
    /// The Okta id of the group, or of the app when `resource` is [`Resource::App`].
    pub group_id: GroupId,
    #[serde(default)]
    pub resource: Resource,
    pub reason: String,
    pub duration_secs: i64,
    /// Scheduled start (ms); `None`: at approval.
    pub starts_at: Option<Timestamp>,
    pub state: RequestState,
    pub quorum: i64,
    /// Approvals recorded so far.
    pub approvals: i64,
    /// The grant this request extends, if it is an extension.
    pub extends_grant_id: Option<GrantId>,
    /// The ticket reference given with the request, and its link (from the policy's template).
    #[serde(default)]
    pub ticket: Option<String>,
    #[serde(default)]
    pub ticket_url: Option<String>,
    /// Set on an emergency (break-glass) activation: its review afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency: Option<Followup>,
    pub created_at: Timestamp,
    pub decided_at: Option<Timestamp>,
    pub decided_by: Option<String>,
}

/// An approver's answer to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    Approve,
    Deny,
}

impl Decision {
    /// The name posted by the approval form and stored in `approvals.decision`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Deny => "deny",
        }
    }
}

impl std::str::FromStr for Decision {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        [Decision::Approve, Decision::Deny]
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| "approve or deny".to_owned())
    }
}

/// What a queued Okta operation does to a membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpKind {
    Add,
    Remove,
}

impl OpKind {
    /// The name stored in `okta_ops.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Add => "add",
            OpKind::Remove => "remove",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [OpKind::Add, OpKind::Remove]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A grant's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum GrantState {
    Scheduled,
    Active,
    Revoking,
    Revoked,
    Failed,
}

impl GrantState {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantState::Scheduled => "scheduled",
            GrantState::Active => "active",
            GrantState::Revoking => "revoking",
            GrantState::Revoked => "revoked",
            GrantState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            GrantState::Scheduled,
            GrantState::Active,
            GrantState::Revoking,
            GrantState::Revoked,
            GrantState::Failed,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// Time-boxed membership of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Grant {
    pub id: GrantId,
    pub request_id: RequestId,
    pub user_id: UserId,
    /// The Okta id of the group, or of the app when `resource` is [`Resource::App`].
    pub group_id: GroupId,
    #[serde(default)]
    pub resource: Resource,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub state: GrantState,
    pub revoked_reason: Option<String>,
}

/// A group (or Okta app) as the catalog shows it to one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CatalogEntry {
    /// The group's Okta id, or the app's.
    pub group_id: GroupId,
    #[serde(default)]
    pub resource: Resource,
    pub name: String,
    pub description: String,
    pub default_duration_secs: i64,
    pub max_duration_secs: i64,
    pub require_reason: bool,
    /// Who approves ("auto-approved" when the policy says so).
    pub approvers: Vec<String>,
    pub quorum: i64,
    pub auto_approve: bool,
    /// When the person's current grant ends, if they hold the group.
    pub held_until: Option<Timestamp>,
    /// The person's pending request for it, if any.
    pub pending_request: Option<RequestId>,
    /// Whether Okta already lists the person as a member (for an app: assigned, directly or
    /// through a group) outside Gatepass.
    pub member_in_okta: bool,
    /// The pattern a ticket reference must match, when the policy requires one.
    #[serde(default)]
    pub ticket_pattern: Option<String>,
    /// The longest emergency (break-glass) access, when the policy allows it.
    #[serde(default)]
    pub break_glass_secs: Option<i64>,
}

/// A bundle: a named set of requestable groups, asked for and decided at once under its own
/// policy (`PolicyTarget::Bundle`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub groups: Vec<GroupId>,
    /// The groups' names, in the same order.
    pub group_names: Vec<String>,
    pub updated_at: Timestamp,
    pub updated_by: String,
}

/// A bundle as the catalog shows it to one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleEntry {
    pub bundle: Bundle,
    pub default_duration_secs: i64,
    pub max_duration_secs: i64,
    pub require_reason: bool,
    pub ticket_pattern: Option<String>,
    /// Who approves (names).
    pub approvers: Vec<String>,
    pub quorum: i64,
    pub auto_approve: bool,
    /// When the person's grants of the bundle end, if they hold it.
    pub held_until: Option<Timestamp>,
    /// The person's pending request for it (its lead), if any.
    pub pending_request: Option<RequestId>,
}

/// One page of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogPage {
    /// The bundles the person may request (all of them, on the first page only).
    #[serde(default)]
    pub bundles: Vec<BundleEntry>,
    pub entries: Vec<CatalogEntry>,
    /// Cursor of the next page (the last group's name).
    pub next: Option<String>,
}

/// A request with the names people read and the decisions made on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RequestView {
    pub request: AccessRequest,
    pub group_name: String,
    pub requester_name: String,
    pub decisions: Vec<DecisionView>,
    /// How it reached people beyond its policy, and its emergency review: `escalated to the
    /// second tier at …`, `delegated to Tom Baker for Priya Natarajan`, `flagged by …: …`.
    #[serde(default)]
    pub notes: Vec<String>,
    /// The bundle it asks for, and the groups it grants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<BundleOf>,
}

/// The bundle a request or grant belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BundleOf {
    pub name: String,
    /// The request the bundle was decided on (its lead).
    pub lead: RequestId,
    /// Its groups' names (on the lead request's view).
    #[serde(default)]
    pub groups: Vec<String>,
}

/// One approver's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DecisionView {
    pub approver: String,
    pub approved: bool,
    pub comment: String,
}

/// A grant with the names of its group and holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GrantView {
    pub grant: Grant,
    pub group_name: String,
    pub holder_name: String,
    /// Activated by break-glass, without approval.
    #[serde(default)]
    pub emergency: bool,
    /// The bundle it was granted with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<BundleOf>,
}

/// Admin › Requests and grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminAccessOverview {
    pub pending: Vec<RequestView>,
    pub grants: Vec<GrantView>,
    /// The pages shown (from 0), and whether more follow.
    pub requests_page: i64,
    pub grants_page: i64,
    pub more_requests: bool,
    pub more_grants: bool,
}

/// Everything on the My access page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MyAccess {
    pub grants: Vec<GrantView>,
    pub requests: Vec<RequestView>,
}

/// A policy with the names people read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PolicyView {
    pub policy: Policy,
    /// The group's name, or the pattern.
    pub applies_to: String,
    pub eligible: Vec<String>,
    pub approvers: Vec<String>,
}

/// *Admin › Policies › Preview*: what the policies say about one person asking for one group
/// now — the same evaluation a request meets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyPreview {
    /// `Name (login)`.
    pub person: String,
    pub group: String,
    pub policy_id: Option<i64>,
    /// `policy #3 for aws-*`; `None`: no policy applies.
    pub policy: Option<String>,
    /// Whether every rule passes.
    pub may_request: bool,
    /// Each rule in the order a request meets them.
    pub checks: Vec<PreviewCheck>,
    pub quorum: i64,
    pub auto_approve: bool,
    /// Who would decide the request now.
    pub approvers: Vec<PreviewApprover>,
    /// The policy's other terms, in words.
    pub rules: Vec<String>,
}

/// One rule of a preview, and what it found or why it refuses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewCheck {
    pub rule: String,
    pub passed: bool,
    pub detail: String,
}

/// Someone who would decide a request, and how they came to (`named`, `member of
/// approvers`, `delegate of Priya Natarajan`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewApprover {
    pub user_id: UserId,
    pub name: String,
    pub login: String,
    pub via: String,
}

/// An out-of-office delegation: while it runs, requests routed to its person go to the
/// delegate too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegation {
    pub id: i64,
    pub delegate_id: UserId,
    pub delegate_name: String,
    pub delegate_login: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
}

/// A queued Okta change of a grant, as the request page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OktaOpView {
    pub id: i64,
    pub grant_id: GrantId,
    /// `add` or `remove`.
    pub kind: String,
    pub resource: Resource,
    /// `pending`, `in_flight`, `done` or `dead`.
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub done_at: Option<Timestamp>,
}

/// A request's whole story: the request with its decisions, the policy as it was when it was
/// made, its grants, the Okta changes made for them, and every audit event about them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestStory {
    pub request: RequestView,
    /// The policy as it was when the request was made (pretty-printed JSON).
    pub policy: String,
    pub grants: Vec<GrantView>,
    pub okta_ops: Vec<OktaOpView>,
    pub events: Vec<super::AuditLine>,
}

/// What a person is in Gatepass, as the header says it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roles {
    pub admin: bool,
    /// Requestable groups (and apps) whose requests the person may decide (named, or a member
    /// of an approver group).
    pub approver_of: usize,
}

impl Roles {
    /// `admin`, `approver of 3 groups`, `requester`.
    pub fn label(&self) -> String {
        match (self.admin, self.approver_of) {
            (true, 0) => "admin".into(),
            (true, n) => format!("admin · approver of {n} group{}", plural(n)),
            (false, 0) => "requester".into(),
            (false, n) => format!("approver of {n} group{}", plural(n)),
        }
    }
}

impl Roles {
    /// `an admin`, `the approver of 3 groups`, `a requester`: for a sentence.
    pub fn describe(&self) -> String {
        match (self.admin, self.approver_of) {
            (true, 0) => "an admin".into(),
            (true, n) => format!("an admin and the approver of {n} group{}", plural(n)),
            (false, 0) => "a requester".into(),
            (false, n) => format!("the approver of {n} group{}", plural(n)),
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// A signed-in person's start page: their role, what waits for their decision, what they hold
/// and what they asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    pub roles: Roles,
    /// Requests waiting for the person's decision, and since when the oldest waits.
    pub to_decide: usize,
    pub oldest_waiting: Option<Timestamp>,
    /// Live grants (active or scheduled), ending soonest first.
    pub grants: Vec<GrantView>,
    /// Their requests waiting for a decision.
    pub pending: Vec<RequestView>,
}
