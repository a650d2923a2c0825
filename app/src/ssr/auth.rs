//! Who is calling, and capability values that prove what they may do.
//!
//! The session layer puts a [`SignedIn`] into the request's extensions; server functions turn it
//! into a capability with `require_*`. Only those functions can construct a capability, so a
//! service that takes `&Admin` cannot be reached by someone who is not one.

use http::request::Parts;
use leptos::prelude::use_context;

use crate::error::AppError;
use crate::model::Me;

/// The outcome of matching a session to the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// A person who may use Gatepass (possibly not in the directory yet).
    Allowed(Me),
    /// Okta lists the person with a status that ends their access (or no longer lists them):
    /// the session ends.
    Refused { okta_id: String, status: String },
}

/// Who counts as an administrator (from configuration).
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Okta groups whose members are administrators: ids (`00g…`), or names that exactly one
    /// group of an allowed type has.
    pub admin_groups: Vec<String>,
    /// Okta group types a name in `admin_groups` may resolve to (`OKTA_GROUP` by default: an
    /// `APP_GROUP` is filled from another directory).
    pub admin_group_types: Vec<String>,
    /// Okta user ids, or logins, of administrators regardless of groups.
    pub bootstrap_admins: Vec<String>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            admin_groups: Vec::new(),
            admin_group_types: vec!["OKTA_GROUP".into()],
            bootstrap_admins: Vec::new(),
        }
    }
}

/// Request extension set by the session layer for a signed-in person.
#[derive(Debug, Clone)]
pub struct SignedIn(pub Me);

/// Proof that the caller is signed in; everyone signed in may request access.
#[derive(Debug, Clone)]
pub struct Requester(Me);

/// Proof that the caller is a Gatepass administrator.
#[derive(Debug, Clone)]
pub struct Admin(Me);

impl Requester {
    pub fn me(&self) -> &Me {
        &self.0
    }

    /// A capability for service tests, which have no request to check.
    #[cfg(any(test, feature = "test-support"))]
    pub fn for_tests(me: Me) -> Requester {
        Requester(me)
    }
}

impl Admin {
    pub fn me(&self) -> &Me {
        &self.0
    }

    /// A capability for service tests, which have no request to check.
    #[cfg(any(test, feature = "test-support"))]
    pub fn for_tests(me: Me) -> Admin {
        Admin(me)
    }
}

/// The signed-in person of the current request, if any.
pub fn current_user() -> Option<Me> {
    let parts = use_context::<Parts>()?;
    parts.extensions.get::<SignedIn>().map(|s| s.0.clone())
}

/// Fails with `Unauthenticated` unless someone is signed in, and with `NotInDirectory` for a
/// person the synced directory does not know (every requester action needs their record).
pub fn require_requester() -> Result<Requester, AppError> {
    requester_from(current_user())
}

/// The same check for plain HTTP handlers, from the person the session layer attached.
pub fn requester_from(me: Option<Me>) -> Result<Requester, AppError> {
    let me = me.ok_or(AppError::Unauthenticated)?;
    if me.in_directory {
        Ok(Requester(me))
    } else {
        Err(AppError::NotInDirectory)
    }
}

/// Fails unless the caller is signed in and an administrator.
pub fn require_admin() -> Result<Admin, AppError> {
    require_admin_from(current_user())
}

/// The same check for plain HTTP handlers, from the person the session layer attached.
pub fn require_admin_from(me: Option<Me>) -> Result<Admin, AppError> {
    let me = me.ok_or(AppError::Unauthenticated)?;
    if me.is_admin {
        Ok(Admin(me))
    } else {
        Err(AppError::Forbidden)
    }
}

/// A capability a server function demands of its caller (see `api::serve`).
pub trait Capability: Sized {
    /// The capability of the person signed in to this request, or why they do not hold it.
    fn require() -> Result<Self, AppError>;
}

impl Capability for Requester {
    fn require() -> Result<Self, AppError> {
        require_requester()
    }
}

impl Capability for Admin {
    fn require() -> Result<Self, AppError> {
        require_admin()
    }
}

/// Proof that an API call came with a live personal access token: whose it is (standing checked
/// against the directory on this call) and what it may do. It yields [`Requester`] or [`Admin`]
/// only within its scopes, and [`Admin`] only while its person is an administrator.
#[derive(Debug, Clone)]
pub struct TokenCaller {
    me: Me,
    scopes: Vec<crate::model::Scope>,
    /// The token's id and name (`via: token <name>` in the audit log).
    pub token_id: i64,
    pub token_name: String,
}

impl TokenCaller {
    /// Only the token service makes these, after checking the token.
    pub(crate) fn new(
        me: Me,
        scopes: Vec<crate::model::Scope>,
        token_id: i64,
        token_name: String,
    ) -> Self {
        TokenCaller {
            me,
            scopes,
            token_id,
            token_name,
        }
    }

    pub fn me(&self) -> &Me {
        &self.me
    }

    pub fn scopes(&self) -> &[crate::model::Scope] {
        &self.scopes
    }

    /// Whether the token acts as a service identity (`service:<name>`), not a person.
    pub fn is_service(&self) -> bool {
        self.me
            .okta_id
            .as_str()
            .starts_with(crate::model::SERVICE_OWNER)
    }

    /// The person as a requester, if the token has `scope` (`read`, `request`, `approve`). A
    /// service identity is nobody's requester or approver.
    pub fn requester(&self, scope: crate::model::Scope) -> Result<Requester, AppError> {
        if !self.scopes.contains(&scope) || self.is_service() {
            return Err(AppError::Forbidden);
        }
        requester_from(Some(self.me.clone()))
    }

    /// The person as an administrator: the token has the `admin` scope and its person is an
    /// administrator now.
    pub fn admin(&self) -> Result<Admin, AppError> {
        if !self.scopes.contains(&crate::model::Scope::Admin) {
            return Err(AppError::Forbidden);
        }
        require_admin_from(Some(self.me.clone()))
    }
}
