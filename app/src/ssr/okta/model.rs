//! What Gatepass reads from Okta's Management API (the fields it uses; the rest is ignored).

use serde::Deserialize;

/// A user (`GET /api/v1/users`, group members).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OktaUser {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub last_updated: Option<String>,
    #[serde(default)]
    pub last_login: Option<String>,
    pub profile: OktaUserProfile,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OktaUserProfile {
    pub login: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub department: Option<String>,
    /// The manager's Okta user id.
    #[serde(default)]
    pub manager_id: Option<String>,
    /// The manager's display name.
    #[serde(default)]
    pub manager: Option<String>,
}

impl OktaUser {
    /// "First Last", or the display name, or the login.
    pub fn display_name(&self) -> String {
        let p = &self.profile;
        if let Some(d) = p.display_name.as_deref().filter(|d| !d.trim().is_empty()) {
            return d.to_owned();
        }
        let full = [p.first_name.as_deref(), p.last_name.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.trim().is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if full.is_empty() {
            p.login.clone()
        } else {
            full
        }
    }
}

/// An app (`GET /api/v1/apps`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OktaApp {
    pub id: String,
    pub name: String,
    pub label: String,
    pub status: String,
    pub sign_on_mode: String,
    #[serde(default)]
    pub last_updated: Option<String>,
}

/// A person assigned to an app (`GET /api/v1/apps/{id}/users`): directly (`USER`) or only
/// through a group (`GROUP`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct OktaAppUser {
    pub id: String,
    pub scope: String,
}

/// A group (`GET /api/v1/groups`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OktaGroup {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub last_updated: Option<String>,
    #[serde(default)]
    pub last_membership_updated: Option<String>,
    pub profile: OktaGroupProfile,
    #[serde(default, rename = "_embedded")]
    pub embedded: Option<OktaGroupEmbedded>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct OktaGroupProfile {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct OktaGroupEmbedded {
    #[serde(default)]
    pub stats: Option<OktaGroupStats>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OktaGroupStats {
    pub users_count: u64,
}

impl OktaGroup {
    /// Member count from `expand=stats`, when asked for.
    pub fn users_count(&self) -> Option<u64> {
        self.embedded
            .as_ref()
            .and_then(|e| e.stats.as_ref())
            .map(|s| s.users_count)
    }
}

/// An admin role assignment (`GET /api/v1/users/{id}/roles`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct OktaRole {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub label: Option<String>,
}

/// A group rule (`GET /api/v1/groups/rules`): the groups it keeps filled.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct OktaGroupRule {
    pub id: String,
    #[serde(default)]
    pub status: Option<String>,
    pub actions: OktaRuleActions,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OktaRuleActions {
    #[serde(default)]
    pub assign_user_to_groups: Option<OktaRuleGroups>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OktaRuleGroups {
    #[serde(default)]
    pub group_ids: Vec<String>,
}

/// A system log event (`GET /api/v1/logs`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OktaLogEvent {
    pub uuid: String,
    pub published: String,
    pub event_type: String,
    #[serde(default)]
    pub target: Vec<OktaLogTarget>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct OktaLogTarget {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// Okta's error body.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct OktaErrorBody {
    pub error_code: String,
    pub error_summary: String,
    pub error_id: String,
    pub error_causes: Vec<OktaErrorCause>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct OktaErrorCause {
    pub error_summary: String,
}
