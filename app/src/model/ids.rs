//! Ids as types of their own: a person's Okta user id, an Okta group id, a request's and a
//! grant's number. Each is what it wraps on the wire and in the database (serde and sqlx
//! transparent), but they do not mix: `(user, group)` passed as `(group, user)` does not
//! compile.
//!
//! ```compile_fail
//! use app::model::{GroupId, UserId};
//! fn add_member(group: &GroupId, user: &UserId) {}
//! let (ada, ops) = (UserId::from("00uada"), GroupId::from("00gops"));
//! add_member(&ada, &ops);
//! ```
//!
//! ```
//! use app::model::{GroupId, UserId};
//! fn add_member(group: &GroupId, user: &UserId) {}
//! let (ada, ops) = (UserId::from("00uada"), GroupId::from("00gops"));
//! add_member(&ops, &ada);
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

/// An id type wrapping `$inner`, displayed as it.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "ssr", derive(sqlx::Type, utoipa::ToSchema), sqlx(transparent))]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<$inner> for $name {
            fn from(v: $inner) -> Self {
                $name(v)
            }
        }
    };
}

id_type!(
    /// A person's Okta user id (`00u…`; the ID token's `sub`).
    UserId(String)
);
id_type!(
    /// An Okta group id (`00g…`).
    GroupId(String)
);
id_type!(
    /// An Okta app id (`0oa…`).
    AppId(String)
);
id_type!(
    /// A request's number.
    RequestId(i64)
);
id_type!(
    /// A grant's number.
    GrantId(i64)
);

impl UserId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl GroupId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AppId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for UserId {
    fn from(v: &str) -> Self {
        UserId(v.to_owned())
    }
}

impl From<&str> for GroupId {
    fn from(v: &str) -> Self {
        GroupId(v.to_owned())
    }
}

impl Copy for RequestId {}
impl Copy for GrantId {}
