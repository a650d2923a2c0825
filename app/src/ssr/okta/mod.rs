//! Talking to Okta's Management API: the [`OktaApi`] trait, its one HTTP implementation
//! ([`client::OktaClient`]), page-by-page cursors that follow `Link: rel="next"`, the
//! rate-limit [`governor`], credentials, and typed errors.

pub mod client;
pub mod clients;
pub mod credential;
pub mod governor;
pub mod model;
pub mod trust;

use async_trait::async_trait;

pub use self::client::{OktaClient, OktaSettings};
pub use self::clients::OktaClients;
pub use self::credential::OktaCredential;
pub use self::model::{
    OktaApp, OktaAppUser, OktaGroup, OktaGroupRule, OktaLogEvent, OktaRole, OktaUser,
};
pub use self::trust::OktaTrust;
use crate::model::{GroupId, UserId};
use crate::ssr::secrets::SecretError;

/// What can go wrong calling Okta. Never carries the credential.
#[derive(Debug, thiserror::Error)]
pub enum OktaError {
    /// Okta answered with its error body.
    #[error("Okta answered {status} {code}: {summary}")]
    Api {
        status: u16,
        code: String,
        summary: String,
        error_id: String,
        request_id: String,
    },
    /// No answer after the retries (connection refused or dropped, timeouts).
    #[error("Okta could not be reached: {0}")]
    Unreachable(String),
    /// Still rate limited after waiting for the resets.
    #[error("Okta kept refusing with 429 (rate limited)")]
    RateLimited,
    #[error("the Okta credential could not be read: {0}")]
    Credential(#[from] SecretError),
    #[error(transparent)]
    BadKey(#[from] credential::BadPrivateKey),
    /// An answer Gatepass cannot use (bad JSON, a next link to another host, …).
    #[error("unexpected answer from Okta: {0}")]
    Protocol(String),
}

impl OktaError {
    /// The HTTP status of an Okta error answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            OktaError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Okta's error code (`E0000006`, …) of an error answer.
    pub fn code(&self) -> Option<&str> {
        match self {
            OktaError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// Where a page starts: a first request (path and query under the org URL) or Okta's `next`
/// link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    Start(String),
    Next(url::Url),
}

fn with_query(path: &str, pairs: &[(&str, &str)]) -> Cursor {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    let q = ser.finish();
    Cursor::Start(if q.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{q}")
    })
}

impl Cursor {
    /// `GET /api/v1/users` (optionally with a `search`), `limit` per page.
    pub fn users(search: Option<&str>, limit: u32) -> Cursor {
        let limit = limit.to_string();
        let mut q = vec![("limit", limit.as_str())];
        if let Some(s) = search {
            q.push(("search", s));
        }
        with_query("/api/v1/users", &q)
    }

    /// `GET /api/v1/groups` with member counts (`expand=stats`), optionally filtered.
    pub fn groups(filter: Option<&str>, limit: u32) -> Cursor {
        let limit = limit.to_string();
        let mut q = vec![("limit", limit.as_str()), ("expand", "stats")];
        if let Some(f) = filter {
            q.push(("filter", f));
        }
        with_query("/api/v1/groups", &q)
    }

    /// `GET /api/v1/groups/{id}/users`.
    pub fn group_members(group_id: &str, limit: u32) -> Cursor {
        with_query(
            &format!("/api/v1/groups/{}/users", encode_segment(group_id)),
            &[("limit", &limit.to_string())],
        )
    }

    /// `GET /api/v1/groups/rules`.
    pub fn group_rules(limit: u32) -> Cursor {
        with_query("/api/v1/groups/rules", &[("limit", &limit.to_string())])
    }

    /// `GET /api/v1/apps`: ACTIVE apps only, `limit` per page.
    pub fn apps(limit: u32) -> Cursor {
        with_query(
            "/api/v1/apps",
            &[
                ("limit", &limit.to_string()),
                ("filter", "status eq \"ACTIVE\""),
            ],
        )
    }

    /// `GET /api/v1/apps/{id}/users`: everyone assigned, directly or through a group.
    pub fn app_users(app_id: &str, limit: u32) -> Cursor {
        with_query(
            &format!("/api/v1/apps/{}/users", encode_segment(app_id)),
            &[("limit", &limit.to_string())],
        )
    }

    /// `GET /api/v1/logs` from `since` (RFC 3339), optionally filtered.
    pub fn logs(since: &str, filter: Option<&str>, limit: u32) -> Cursor {
        let limit = limit.to_string();
        let mut q = vec![("since", since), ("limit", limit.as_str())];
        if let Some(f) = filter {
            q.push(("filter", f));
        }
        with_query("/api/v1/logs", &q)
    }
}

/// Percent-encodes an id for use as one path segment.
pub fn encode_segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// One page and where the next one starts.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

/// The Okta Management API as Gatepass uses it.
#[async_trait]
pub trait OktaApi: Send + Sync {
    /// The user an API token acts as (`/users/me`); `None` for a service app.
    async fn me(&self) -> Result<Option<OktaUser>, OktaError>;
    /// `GET /api/v1/users/{id}`: one person by Okta id (any status); `None` when Okta has no
    /// such user.
    async fn user(&self, user_id: &UserId) -> Result<Option<OktaUser>, OktaError>;
    /// Admin roles of a user.
    async fn user_roles(&self, user_id: &str) -> Result<Vec<OktaRole>, OktaError>;
    /// Groups a group-scoped role is limited to (empty: all).
    async fn role_group_targets(
        &self,
        user_id: &str,
        role_id: &str,
    ) -> Result<Vec<OktaGroup>, OktaError>;
    async fn users_page(&self, cursor: &Cursor) -> Result<Page<OktaUser>, OktaError>;
    async fn groups_page(&self, cursor: &Cursor) -> Result<Page<OktaGroup>, OktaError>;
    async fn group_members_page(&self, cursor: &Cursor) -> Result<Page<OktaUser>, OktaError>;
    async fn group_rules_page(&self, cursor: &Cursor) -> Result<Page<OktaGroupRule>, OktaError>;
    async fn logs_page(&self, cursor: &Cursor) -> Result<Page<OktaLogEvent>, OktaError>;
    /// Adds a member (idempotent).
    async fn add_member(&self, group_id: &GroupId, user_id: &UserId) -> Result<(), OktaError>;
    /// Removes a member (idempotent).
    async fn remove_member(&self, group_id: &GroupId, user_id: &UserId) -> Result<(), OktaError>;
    async fn apps_page(&self, cursor: &Cursor) -> Result<Page<OktaApp>, OktaError>;
    async fn app_users_page(&self, cursor: &Cursor) -> Result<Page<OktaAppUser>, OktaError>;
    /// Assigns a person to an app directly (`POST /api/v1/apps/{id}/users`, scope `USER`;
    /// idempotent). The app's id travels as a grant's `group_id`.
    async fn assign_app(&self, app_id: &GroupId, user_id: &UserId) -> Result<(), OktaError>;
    /// How Okta assigns a person to an app now (`GET /api/v1/apps/{id}/users/{uid}`): `USER`,
    /// `GROUP`, or `None` when not at all.
    async fn app_assignment(
        &self,
        app_id: &GroupId,
        user_id: &UserId,
    ) -> Result<Option<String>, OktaError>;
    /// Removes a person's direct assignment (`DELETE /api/v1/apps/{id}/users/{uid}`). Okta
    /// refuses with 403 `E0000046` while a group still gives the person the app.
    async fn unassign_app(&self, app_id: &GroupId, user_id: &UserId) -> Result<(), OktaError>;
    /// HTTP calls made so far (including retries and token requests).
    fn calls(&self) -> u64;
    /// Calls the client lets be in flight at once (so callers know how many to start).
    fn concurrency(&self) -> usize {
        1
    }
}
