//! Access reviews: campaigns that ask reviewers to certify who is in the governed groups, their
//! items and decisions, and the report that is the evidence.

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// Declares a string-backed enum with `as_str`, `parse` and `ALL`.
macro_rules! word_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }
    };
}

word_enum! {
    /// Who reviews a group's members.
    ReviewerRule {
        /// The approvers of the group's policy (people named and members of approver groups).
        Approvers = "approvers",
        /// The same named people for every group.
        People = "people",
        /// Each member's manager (Okta `profile.managerId`).
        Managers = "managers",
    }
}

word_enum! {
    /// What an item nobody decided gets when the campaign closes.
    DefaultAction {
        /// The membership is removed.
        Revoke = "revoke",
        /// The membership stays, flagged in the report as not certified.
        Keep = "keep",
        /// The due date moves once; what is still undecided then is kept and flagged.
        Extend = "extend",
    }
}

word_enum! {
    /// Where a campaign stands.
    ReviewState {
        /// Waits for its start.
        Scheduled = "scheduled",
        /// Reviewers decide.
        Open = "open",
        /// Closed to decisions; the revocations are being queued.
        Closing = "closing",
        /// Done: the report is final.
        Closed = "closed",
    }
}

word_enum! {
    /// A reviewer's decision on one membership.
    ReviewDecision {
        Keep = "keep",
        Revoke = "revoke",
    }
}

word_enum! {
    /// Which memberships a campaign covers.
    ReviewInclude {
        /// Memberships made outside Gatepass and live Gatepass grants.
        Both = "both",
        /// Only memberships made outside Gatepass.
        Standing = "standing",
        /// Only live Gatepass grants.
        Grants = "grants",
    }
}

impl ReviewState {
    pub fn label(self) -> &'static str {
        match self {
            ReviewState::Scheduled => "Scheduled",
            ReviewState::Open => "Open",
            ReviewState::Closing => "Closing",
            ReviewState::Closed => "Closed",
        }
    }
}

impl ReviewerRule {
    pub fn label(self) -> &'static str {
        match self {
            ReviewerRule::Approvers => "The group's approvers (from its policy)",
            ReviewerRule::People => "The people named below, for every group",
            ReviewerRule::Managers => "Each member's manager (Okta profile)",
        }
    }
}

impl DefaultAction {
    pub fn label(self) -> &'static str {
        match self {
            DefaultAction::Revoke => "Revoke it",
            DefaultAction::Keep => "Keep it, flagged as not certified",
            DefaultAction::Extend => "Extend the due date once, then keep and flag",
        }
    }
}

/// Which groups a campaign covers: the union of what is named. Stored with the campaign.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewScope {
    /// Okta group ids.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Name patterns with `*` wildcards (`aws-*`).
    #[serde(default)]
    pub patterns: Vec<String>,
    /// Policy ids: the groups each governs.
    #[serde(default)]
    pub policies: Vec<i64>,
    /// Every group a policy makes requestable.
    #[serde(default)]
    pub all_requestable: bool,
    /// Every `OKTA_GROUP` in the directory.
    #[serde(default)]
    pub all_okta_groups: bool,
}

/// A campaign as the admin pages and the report show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    pub state: ReviewState,
    pub scope: ReviewScope,
    /// The scope in words (`aws-* (pattern), prod-db-admin`).
    pub scope_label: String,
    pub include: ReviewInclude,
    pub reviewers: ReviewerRule,
    /// Names of the people named as reviewers (rule `people`).
    pub reviewer_people: Vec<String>,
    /// Names of the fallback reviewers.
    pub fallback: Vec<String>,
    pub default_action: DefaultAction,
    pub extend_secs: i64,
    pub revoke_on_decision: bool,
    pub remind_before_secs: Option<i64>,
    pub starts_at: Timestamp,
    pub due_at: Timestamp,
    pub extended_at: Option<Timestamp>,
    pub opened_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub closed_by: Option<String>,
    pub schedule_id: Option<i64>,
    pub created_by: String,
    pub created_at: Timestamp,
    /// Items snapshotted when it opened.
    pub items: i64,
    /// Items decided so far.
    pub decided: i64,
}

/// Counts of one slice of a campaign (a group, a reviewer, or all of it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewTally {
    /// The group's or the reviewer's name; empty for the whole campaign.
    pub name: String,
    pub items: i64,
    pub undecided: i64,
    pub kept: i64,
    pub revoked: i64,
    /// Undecided at the close: given the default (kept and flagged, or revoked).
    pub defaulted: i64,
}

/// Admin › Reviews › one campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignDetail {
    pub campaign: Campaign,
    pub total: ReviewTally,
    pub by_group: Vec<ReviewTally>,
    pub by_reviewer: Vec<ReviewTally>,
    /// Items nobody may review (the member is the only fallback reviewer).
    pub unrouted: i64,
    /// Revocations queued in Okta and not yet done; failed ones.
    pub removals_pending: i64,
    pub removals_failed: i64,
}

/// A recurring review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewSchedule {
    pub id: i64,
    pub name: String,
    pub every_months: i64,
    pub review_days: i64,
    pub next_start_at: Timestamp,
    pub enabled: bool,
    pub created_by: String,
}

/// Admin › Reviews.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewsOverview {
    pub campaigns: Vec<Campaign>,
    pub schedules: Vec<ReviewSchedule>,
    /// Pass as `before` for older campaigns.
    pub next_before: Option<i64>,
}

/// One membership under review, as its reviewer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewItem {
    pub id: i64,
    pub campaign_id: i64,
    pub user_id: String,
    pub user_name: String,
    pub login: String,
    pub title: Option<String>,
    pub department: Option<String>,
    pub group_id: String,
    pub group_name: String,
    /// `Some(n)`: Gatepass grant #n; `None`: made outside Gatepass.
    pub grant_id: Option<i64>,
    pub since: Option<Timestamp>,
    pub last_login: Option<Timestamp>,
    /// Who approved the grant (or the last request) and why it was asked for.
    pub granted_by: Option<String>,
    pub last_reason: Option<String>,
    /// How the reviewer was chosen: `approvers`, `people`, `manager` or `fallback`.
    pub route: String,
    pub decision: Option<ReviewDecision>,
    pub comment: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<Timestamp>,
    /// A revocation already carried out (no change of mind then).
    pub final_: bool,
    /// Keep needs a comment (the group's policy says so).
    pub keep_needs_comment: bool,
}

/// A reviewer's open campaigns, with how much is left in each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyCampaign {
    pub id: i64,
    pub name: String,
    pub due_at: Timestamp,
    pub items: i64,
    pub undecided: i64,
}

/// Reviews › one campaign: the caller's items, a page at a time, grouped by group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyReviewPage {
    pub campaign: MyCampaign,
    pub revoke_on_decision: bool,
    pub items: Vec<ReviewItem>,
    /// The groups the caller reviews in this campaign: (id, name, undecided).
    pub groups: Vec<(String, String, i64)>,
    /// Items matching the filters (all pages).
    pub matching: i64,
    /// Pass as `after` for the next page.
    pub next_after: Option<i64>,
}

/// One line of a campaign's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportLine {
    pub item: i64,
    pub user_id: String,
    pub login: String,
    pub name: String,
    pub group_id: String,
    pub group: String,
    /// `grant #N` or `outside Gatepass`.
    pub access: String,
    pub since: Option<String>,
    pub last_login: Option<String>,
    pub reviewer: String,
    pub route: String,
    pub decision: String,
    pub defaulted: bool,
    pub comment: String,
    pub decided_by: String,
    pub decided_at: Option<String>,
    pub outcome: String,
    /// What was done about a revocation: `queued`, `ended`, `skipped` (with why).
    pub effect: String,
    /// The Okta removal's state (`pending`, `done`, `dead`) and last error.
    pub okta: String,
}

/// What the campaign form submits, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignForm {
    pub name: String,
    /// Group names or ids, comma-separated.
    pub groups: String,
    /// Name patterns, comma-separated.
    pub patterns: String,
    /// Policy ids, comma-separated.
    pub policies: String,
    pub all_requestable: bool,
    pub all_okta_groups: bool,
    /// `both`, `standing`, `grants`.
    pub include: String,
    /// `approvers`, `people`, `managers`.
    pub reviewers: String,
    /// Logins, comma-separated.
    pub reviewer_people: String,
    /// Logins, comma-separated.
    pub fallback: String,
    /// UTC `2026-12-01T09:00`; empty: now.
    pub starts: String,
    /// Days from the start to the due date.
    pub due_days: String,
    /// `revoke`, `keep`, `extend`.
    pub default_action: String,
    /// Days `extend` adds.
    pub extend_days: String,
    pub revoke_on_decision: bool,
    /// Days before the due date to remind; empty: no reminder.
    pub remind_days: String,
    /// Repeat every N months; empty: once.
    pub repeat_months: String,
}
