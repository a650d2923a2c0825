//! Okta's names for kinds of groups and for the statuses of users, as enums: what Gatepass
//! decides on (which groups it may manage, who may use it) is written against these, not
//! against string literals. The directory keeps Okta's names as it read them.

/// The kind of an Okta group (`type` in Okta's API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKind {
    /// Made in Okta: the only kind whose members an API client may change.
    OktaGroup,
    /// Pushed from an application (Active Directory, Workday, …).
    AppGroup,
    /// Okta's own (`Everyone`).
    BuiltIn,
}

impl GroupKind {
    pub const ALL: [GroupKind; 3] = [
        GroupKind::OktaGroup,
        GroupKind::AppGroup,
        GroupKind::BuiltIn,
    ];

    /// Okta's name.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupKind::OktaGroup => "OKTA_GROUP",
            GroupKind::AppGroup => "APP_GROUP",
            GroupKind::BuiltIn => "BUILT_IN",
        }
    }

    /// The kind Okta names `s`, if Gatepass knows it.
    pub fn parse(s: &str) -> Option<Self> {
        GroupKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether Okta names this kind `s`.
    pub fn is(self, s: &str) -> bool {
        self.as_str() == s
    }
}

/// The status of an Okta user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    Staged,
    Provisioned,
    Active,
    Recovery,
    LockedOut,
    PasswordExpired,
    Suspended,
    Deprovisioned,
}

impl UserStatus {
    pub const ALL: [UserStatus; 8] = [
        UserStatus::Staged,
        UserStatus::Provisioned,
        UserStatus::Active,
        UserStatus::Recovery,
        UserStatus::LockedOut,
        UserStatus::PasswordExpired,
        UserStatus::Suspended,
        UserStatus::Deprovisioned,
    ];

    /// The statuses that let a person use Gatepass: active accounts, including those locked
    /// out, with an expired password or in recovery (the person is still employed and their
    /// Okta session rules apply).
    pub const ALLOWING_ACCESS: [UserStatus; 4] = [
        UserStatus::Active,
        UserStatus::LockedOut,
        UserStatus::PasswordExpired,
        UserStatus::Recovery,
    ];

    /// Okta's name.
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Staged => "STAGED",
            UserStatus::Provisioned => "PROVISIONED",
            UserStatus::Active => "ACTIVE",
            UserStatus::Recovery => "RECOVERY",
            UserStatus::LockedOut => "LOCKED_OUT",
            UserStatus::PasswordExpired => "PASSWORD_EXPIRED",
            UserStatus::Suspended => "SUSPENDED",
            UserStatus::Deprovisioned => "DEPROVISIONED",
        }
    }

    /// The status Okta names `s`, if Gatepass knows it.
    pub fn parse(s: &str) -> Option<Self> {
        UserStatus::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether a person with this status may use Gatepass.
    pub fn allows_access(self) -> bool {
        UserStatus::ALLOWING_ACCESS.contains(&self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in GroupKind::ALL {
            assert_eq!(GroupKind::parse(k.as_str()), Some(k));
        }
        for s in UserStatus::ALL {
            assert_eq!(UserStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(
            UserStatus::parse("active"),
            None,
            "Okta's names are upper case"
        );
        assert!(UserStatus::Recovery.allows_access());
        assert!(!UserStatus::Suspended.allows_access());
    }
}
