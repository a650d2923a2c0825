//! Wire types of the Okta integration pages: settings, the connection test, audit events.

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// How Gatepass authenticates to Okta.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthMethod {
    /// An SSWS API token.
    ApiToken,
    /// An OAuth 2.0 service app (client credentials, `private_key_jwt`).
    OAuthServiceApp,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ApiToken => "api_token",
            AuthMethod::OAuthServiceApp => "oauth_service_app",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "api_token" => Some(AuthMethod::ApiToken),
            "oauth_service_app" => Some(AuthMethod::OAuthServiceApp),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AuthMethod::ApiToken => "API token (SSWS)",
            AuthMethod::OAuthServiceApp => "OAuth 2.0 service app",
        }
    }
}

/// The integration as saved (references only: the credential itself is never here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationSettings {
    /// `https://acme.okta.com`.
    pub org_url: String,
    pub auth_method: AuthMethod,
    /// Where the API token or the service app's private key is kept.
    pub secret_ref: String,
    /// Whether `secret_ref` is a local (env/file) secret, for development and the demo.
    pub secret_is_local: bool,
    pub client_id: Option<String>,
    pub key_id: Option<String>,
    pub sync_incremental_minutes: i64,
    pub sync_full_hours: i64,
    pub group_name_prefix: Option<String>,
    /// Okta group types synced; empty: all.
    pub group_types: Vec<String>,
    /// Milliseconds since the epoch.
    pub updated_at: Timestamp,
    pub updated_by: String,
}

/// What the settings form sends: raw text, validated by the server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationInput {
    pub org_url: String,
    pub auth_method: String,
    pub secret_ref: String,
    pub client_id: String,
    pub key_id: String,
    pub sync_incremental_minutes: String,
    pub sync_full_hours: String,
    pub group_name_prefix: String,
    /// Comma-separated.
    pub group_types: String,
}

/// How a step of the connection test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StepOutcome {
    Passed,
    Failed,
    Skipped,
}

/// One step of the connection test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestStep {
    pub name: String,
    pub outcome: StepOutcome,
    pub detail: String,
}

/// What the credential lets Gatepass do, and what follows from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capability {
    pub name: String,
    /// `Some(true)` allowed, `Some(false)` refused, `None` not known.
    pub allowed: Option<bool>,
    /// "All groups", or the groups a scoped role covers.
    pub scope: String,
    pub consequence: String,
}

/// The connection test's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionReport {
    pub steps: Vec<TestStep>,
    /// Who the credential acts as (login or client id), when known.
    pub acts_as: Option<String>,
    /// Okta admin roles behind the credential.
    pub roles: Vec<String>,
    pub capabilities: Vec<Capability>,
}

impl ConnectionReport {
    pub fn passed(&self) -> bool {
        self.steps.iter().all(|s| s.outcome != StepOutcome::Failed)
    }
}

/// One audit log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    pub seq: i64,
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub details: String,
}

/// What the sync page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncOverview {
    pub settings: Option<IntegrationSettings>,
    pub runs: Vec<super::SyncRun>,
    pub directory: super::DirectoryCounts,
    /// Whether a sync is running now (anywhere).
    pub running: bool,
}

/// Which audit events to show; empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    /// Part of the actor (login).
    pub actor: String,
    /// Part of the subject (`grant:12`, `request:3`, `group:…`) or of the details (a group or
    /// person id).
    pub subject: String,
    /// Start of the action (`request.`, `grant.ended`).
    pub action: String,
    /// From this instant (ms), inclusive.
    pub from: Option<Timestamp>,
    /// Before this instant (ms).
    pub to: Option<Timestamp>,
}

/// A piece of an audit event's sentence: plain words, a name, or a link to the page of what
/// it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phrase {
    Text(String),
    Name(String),
    Link { text: String, href: String },
}

/// An audit event as people read it: who did what to what, in a sentence with names and links,
/// and, for the curious, the raw details and its place in the hash chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLine {
    pub seq: i64,
    pub at: Timestamp,
    pub action: String,
    pub sentence: Vec<Phrase>,
    /// The details, pretty-printed JSON.
    pub details: String,
    /// For a policy or settings change: each field that changed, before → after.
    pub changes: Vec<(String, String, String)>,
    pub prev_hash: String,
    pub hash: String,
}

/// One page of the audit log, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    /// The same events as people read them (the page; empty in exports).
    #[serde(default)]
    pub lines: Vec<AuditLine>,
    /// `before` for the next (older) page.
    pub next_before: Option<i64>,
}
