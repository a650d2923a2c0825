//! Policies as people write them — in a file under version control (`gatepass policies
//! export` / `apply`) or through the API: groups and people by name, durations in words. A
//! [`PolicyPlan`] is what applying a set of them would change, field by field, and the version
//! of the policies it was computed against.

use serde::{Deserialize, Serialize};

/// One policy, by names: what `[[policy]]` in a policies file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// A group's name (or Okta id, `00g…`), a name pattern with `*` (`aws-*`), a bundle
    /// (`bundle:<name>`) or an Okta app (`app:<label>` or `app:<0oa… id>`).
    pub applies_to: String,
    /// Whether people may ask for the group(s).
    #[serde(default = "yes")]
    pub requestable: bool,
    /// Groups (names or ids) whose members may ask; empty: everyone.
    #[serde(default)]
    pub eligible_groups: Vec<String>,
    /// Logins of the people who approve.
    #[serde(default)]
    pub approvers: Vec<String>,
    /// Groups (names or ids) whose members approve.
    #[serde(default)]
    pub approver_groups: Vec<String>,
    /// Approvals needed, 1 to 10.
    #[serde(default = "one")]
    pub quorum: i64,
    /// `1h`, `90m`, `1d`: what a request gets unless it asks otherwise.
    pub default_duration: String,
    /// The longest a request may ask for (at most 90 days).
    pub max_duration: String,
    #[serde(default)]
    pub require_reason: bool,
    #[serde(default)]
    pub allow_self_approval: bool,
    #[serde(default)]
    pub auto_approve: bool,
    /// Decisions only in Gatepass's pages (no Slack buttons).
    #[serde(default)]
    pub approve_in_gatepass_only: bool,
    /// A Slack channel id (`C…`) new requests are posted to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_channel: Option<String>,
    /// In an access review, keeping a member needs a comment.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_needs_comment: bool,
    /// Requests need a ticket reference matching this regular expression (whole).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_pattern: Option<String>,
    /// The ticket's link: `https://…{ticket}…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_url: Option<String>,
    /// At most this many live grants (and pending requests) per person from this policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_live_grants: Option<i64>,
    /// When requested access may start: `Mon-Fri 09:00-18:00 Europe/Berlin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_window: Option<String>,
    /// Break-glass: emergency access without approval, for at most this long (`1h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub break_glass_max: Option<String>,
    /// Emergency activations a person may make in any 24 hours (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub break_glass_per_day: Option<i64>,
    /// A request undecided this long (`30m`) goes to the escalation approvers too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_after: Option<String>,
    /// Logins of the second tier of approvers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalation_approvers: Vec<String>,
    /// Groups (names or ids) whose members are the second tier.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalation_approver_groups: Vec<String>,
    /// After this further time undecided, the admins too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_to_admins_after: Option<String>,
    /// A PagerDuty schedule id (`P…`): whoever is on call for it is approved at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_call_schedule: Option<String>,
}

fn yes() -> bool {
    true
}

fn one() -> i64 {
    1
}

/// A set of policies: the whole truth for the policies it manages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PolicySet {
    #[serde(default, rename = "policy")]
    pub policies: Vec<PolicySpec>,
}

/// A bundle as people write it: its name, what it is for, and its groups (names or ids).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub groups: Vec<String>,
}

/// The starter policies the operator's configuration names (`policies.starter_file`): bundles
/// and policies applied once, after the first directory sync, while Gatepass has none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StarterSet {
    #[serde(default, rename = "bundle")]
    pub bundles: Vec<BundleSpec>,
    #[serde(default, rename = "policy")]
    pub policies: Vec<PolicySpec>,
}

/// The policies as they are now, and their version (`If-Match` of an apply).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PolicyExport {
    pub version: String,
    #[serde(rename = "policy")]
    pub policies: Vec<PolicySpec>,
}

/// What one policy's change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Add,
    Change,
    Delete,
}

/// One field's value before and after (`null` where the policy does not exist).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FieldChange {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// One policy added, changed or deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PolicyChange {
    pub kind: ChangeKind,
    pub applies_to: String,
    pub fields: Vec<FieldChange>,
}

/// What applying a set would change, against the policies at `version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PolicyPlan {
    /// The version of the policies the plan was made against.
    pub version: String,
    pub changes: Vec<PolicyChange>,
    /// The policies the set leaves as they are.
    pub unchanged: usize,
}

impl PolicySpec {
    /// Each field as text, in file order (for plans: `before → after`).
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let list = |v: &[String]| v.join(", ");
        let opt = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
        vec![
            ("requestable", self.requestable.to_string()),
            ("eligible_groups", list(&self.eligible_groups)),
            ("approvers", list(&self.approvers)),
            ("approver_groups", list(&self.approver_groups)),
            ("quorum", self.quorum.to_string()),
            ("default_duration", self.default_duration.clone()),
            ("max_duration", self.max_duration.clone()),
            ("require_reason", self.require_reason.to_string()),
            ("allow_self_approval", self.allow_self_approval.to_string()),
            ("auto_approve", self.auto_approve.to_string()),
            (
                "approve_in_gatepass_only",
                self.approve_in_gatepass_only.to_string(),
            ),
            (
                "slack_channel",
                self.slack_channel.clone().unwrap_or_default(),
            ),
            ("keep_needs_comment", self.keep_needs_comment.to_string()),
            (
                "ticket_pattern",
                self.ticket_pattern.clone().unwrap_or_default(),
            ),
            ("ticket_url", self.ticket_url.clone().unwrap_or_default()),
            ("max_live_grants", opt(self.max_live_grants)),
            (
                "request_window",
                self.request_window.clone().unwrap_or_default(),
            ),
            (
                "break_glass_max",
                self.break_glass_max.clone().unwrap_or_default(),
            ),
            ("break_glass_per_day", opt(self.break_glass_per_day)),
            (
                "escalate_after",
                self.escalate_after.clone().unwrap_or_default(),
            ),
            ("escalation_approvers", list(&self.escalation_approvers)),
            (
                "escalation_approver_groups",
                list(&self.escalation_approver_groups),
            ),
            (
                "escalate_to_admins_after",
                self.escalate_to_admins_after.clone().unwrap_or_default(),
            ),
            (
                "on_call_schedule",
                self.on_call_schedule.clone().unwrap_or_default(),
            ),
        ]
    }
}
