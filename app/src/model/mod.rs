//! Wire types shared by the browser and the server (serde), and the domain vocabulary: ids,
//! instants, durations, kinds and statuses, and the names of audit actions.

mod access;
mod audit_action;
mod directory_kinds;
mod drift;
mod duration;
mod ids;
mod instant;
mod notifications;
mod okta;
mod policy_code;
mod reviews;
mod tokens;

pub use access::*;
pub use audit_action::AuditAction;
pub use directory_kinds::{GroupKind, UserStatus};
pub use drift::*;
pub use duration::GrantDuration;
pub use ids::{AppId, GrantId, GroupId, RequestId, UserId};
pub use instant::Timestamp;
pub use notifications::*;
pub use okta::*;
pub use policy_code::*;
pub use reviews::*;
use serde::{Deserialize, Serialize};
pub use tokens::*;

/// Which database engine Gatepass is running on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DatabaseEngine {
    Sqlite,
    Postgres,
}

impl DatabaseEngine {
    /// Human name of the engine.
    pub fn label(self) -> &'static str {
        match self {
            DatabaseEngine::Sqlite => "SQLite",
            DatabaseEngine::Postgres => "PostgreSQL",
        }
    }
}

/// How many directory objects Gatepass knows of (as last synced from Okta).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DirectoryCounts {
    pub users: i64,
    pub groups: i64,
    pub memberships: i64,
}

/// The health of this Gatepass server, as shown on the home page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemStatus {
    /// When the server produced this status (the database answered), RFC 3339 UTC.
    pub checked_at: String,
    /// For signed-in people only: anonymous callers learn that Gatepass is up, nothing more.
    pub details: Option<SystemDetails>,
}

/// What a signed-in person sees of the server's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemDetails {
    /// Gatepass version (crate version).
    pub version: String,
    pub engine: DatabaseEngine,
    /// Round trip of a trivial query, in microseconds.
    pub database_latency_us: u64,
    pub directory: DirectoryCounts,
}

/// The person signed in to this browser session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    /// Okta user id (the ID token's `sub`).
    pub okta_id: UserId,
    pub login: String,
    pub email: String,
    pub display_name: String,
    /// Whether Gatepass's copy of the Okta directory knows this person yet.
    pub in_directory: bool,
    pub is_admin: bool,
}

/// Full (everything, removals found) or incremental (only what changed since the last run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum SyncKind {
    Full,
    Incremental,
}

impl SyncKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncKind::Full => "full",
            SyncKind::Incremental => "incremental",
        }
    }
}

/// Where a sync run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SyncStatus {
    Running,
    Ok,
    Failed,
}

impl SyncStatus {
    /// The name stored in `sync_runs.status` (and shown).
    pub fn as_str(self) -> &'static str {
        match self {
            SyncStatus::Running => "running",
            SyncStatus::Ok => "ok",
            SyncStatus::Failed => "failed",
        }
    }

    /// A stored status; an unknown one reads as failed.
    pub fn parse(s: &str) -> Self {
        [SyncStatus::Running, SyncStatus::Ok]
            .into_iter()
            .find(|x| x.as_str() == s)
            .unwrap_or(SyncStatus::Failed)
    }
}

/// What one directory sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SyncCounts {
    pub users_seen: i64,
    pub groups_seen: i64,
    pub memberships_seen: i64,
    pub users_removed: i64,
    pub groups_removed: i64,
    pub memberships_removed: i64,
    /// HTTP calls to Okta (retries included).
    pub calls: i64,
}

/// A recorded sync run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SyncRun {
    pub id: i64,
    pub kind: SyncKind,
    pub status: SyncStatus,
    /// Milliseconds since the epoch.
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub counts: SyncCounts,
    pub error: Option<String>,
}
