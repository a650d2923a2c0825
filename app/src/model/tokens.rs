//! API tokens: what a personal access token may do (its scopes) and how it is listed. The token
//! itself appears once, in [`CreatedToken`], and is never stored.

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// A service identity's id (a service token's owner): `service:` and its name. Okta ids never
/// hold a colon, so no person's id is ever one.
pub const SERVICE_OWNER: &str = "service:";

/// What a token may be used for. A token never does more than its person's role allows at the
/// time of each call: `approve` only decides requests its person is an approver of, `admin`
/// only works while its person is an administrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read the catalog, one's own access and requests, one's approval queue.
    Read,
    /// Ask for access, cancel one's requests, give access back.
    Request,
    /// Decide requests one is an approver of.
    Approve,
    /// Administration (only while the person is an administrator).
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Read, Scope::Request, Scope::Approve, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Request => "request",
            Scope::Approve => "approve",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// What the scope allows, in a sentence for the settings page.
    pub fn describe(self) -> &'static str {
        match self {
            Scope::Read => "see the catalog, your access and requests, and your approval queue",
            Scope::Request => "ask for access, cancel your requests and give access back",
            Scope::Approve => "approve or deny requests you are an approver of",
            Scope::Admin => "administer Gatepass (only while you are an administrator)",
        }
    }
}

/// Tokens per page of the administrators' list.
pub const TOKENS_PAGE: i64 = 100;

/// A token as its person (and admins) see it: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    /// The token's first characters (`gpat_Ab12…`), to tell tokens apart.
    pub display: String,
    pub scopes: Vec<Scope>,
    /// Whose token it is: Okta id and, for admins' lists, the person's login.
    pub owner_id: String,
    pub owner_login: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub last_used_ip: Option<String>,
    pub revoked_at: Option<Timestamp>,
}

/// A token just made: the token, shown this once, and its record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub token: String,
    pub info: ApiToken,
}

/// Settings › API tokens: the person's tokens, newest first, and what they may choose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyTokens {
    pub tokens: Vec<ApiToken>,
    /// The scopes this person may give a token now (`admin` only for administrators).
    pub allowed_scopes: Vec<Scope>,
    /// The longest a token may live, in days.
    pub max_days: i64,
}
