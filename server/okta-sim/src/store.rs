//! The simulated org: users, groups, memberships, apps and their assignments, admin roles,
//! group rules, credentials and the system log, held in memory with the indexes the API needs
//! to answer a page quickly.
//!
//! Collections keep insertion order; the paging cursor (`after`) is the id of the last item
//! returned, so a page is an index lookup plus a short scan whatever the org size.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use serde_json::{json, Value};

use super::time::format_instant;

/// Okta's group types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKind {
    /// Managed in Okta; the only type whose membership the API may change.
    Okta,
    /// Imported from an app (AD, LDAP, …); the app owns its membership.
    App,
    /// `Everyone`: every user, maintained by Okta.
    BuiltIn,
}

impl GroupKind {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupKind::Okta => "OKTA_GROUP",
            GroupKind::App => "APP_GROUP",
            GroupKind::BuiltIn => "BUILT_IN",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "OKTA_GROUP" => Some(GroupKind::Okta),
            "APP_GROUP" => Some(GroupKind::App),
            "BUILT_IN" => Some(GroupKind::BuiltIn),
            _ => None,
        }
    }
}

/// The org's one user type (`default`); every user has it.
pub const USER_TYPE_ID: &str = "otysimDefaultType0g4";
/// The id of the default user type's schema (`GET /api/v1/meta/schemas/user/{id}`, or `default`).
pub const USER_SCHEMA_ID: &str = "oscsimDefaultUser0g4";

/// Okta's user statuses.
pub const USER_STATUSES: [&str; 8] = [
    "ACTIVE",
    "STAGED",
    "PROVISIONED",
    "RECOVERY",
    "PASSWORD_EXPIRED",
    "LOCKED_OUT",
    "SUSPENDED",
    "DEPROVISIONED",
];

/// A user and its profile.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub status: String,
    pub created: i64,
    pub activated: Option<i64>,
    pub status_changed: Option<i64>,
    pub last_login: Option<i64>,
    pub last_updated: i64,
    pub login: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub title: Option<String>,
    pub department: Option<String>,
    /// The manager: `profile.managerId` (their id) and `profile.manager` (their name).
    pub manager: Option<(String, String)>,
    /// Indexes of the groups this user belongs to.
    pub groups: BTreeSet<u32>,
    /// Admin role assignments held by this user.
    pub roles: Vec<Role>,
}

impl User {
    pub fn display_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// The user as Okta's API shows it, ready to serialize without building a JSON tree.
    pub fn view<'a>(&'a self, base: &'a str) -> UserOut<'a> {
        UserOut {
            id: &self.id,
            status: &self.status,
            created: Instant(self.created),
            activated: self.activated.map(Instant),
            status_changed: self.status_changed.map(Instant),
            last_login: self.last_login.map(Instant),
            last_updated: Instant(self.last_updated),
            password_changed: self.activated.map(Instant),
            kind: TypeRef { id: USER_TYPE_ID },
            profile: UserProfileOut {
                first_name: &self.first_name,
                last_name: &self.last_name,
                mobile_phone: None,
                second_email: None,
                login: &self.login,
                email: &self.email,
                title: self.title.as_deref(),
                department: self.department.as_deref(),
                manager_id: self.manager.as_ref().map(|m| m.0.as_str()),
                manager: self.manager.as_ref().map(|m| m.1.as_str()),
            },
            credentials: CredentialsOut::OKTA,
            links: UserLinks {
                self_: Href(base, "/api/v1/users/", &self.id, ""),
            },
        }
    }

    /// The user as a JSON value.
    pub fn to_json(&self, base: &str) -> Value {
        serde_json::to_value(self.view(base)).expect("serializable")
    }
}

/// An instant that serializes in Okta's format without allocating.
#[derive(Debug, Clone, Copy)]
pub struct Instant(pub i64);

impl Serialize for Instant {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&InstantText(self.0))
    }
}

struct InstantText(i64);

impl std::fmt::Display for InstantText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        super::time::write_instant(f, self.0)
    }
}

/// `{"href": base + prefix + id + suffix}`, serialized without allocating.
#[derive(Debug, Clone, Copy)]
pub struct Href<'a>(&'a str, &'static str, &'a str, &'static str);

impl Serialize for Href<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        struct Text<'b>(&'b Href<'b>);
        impl std::fmt::Display for Text<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let h = self.0;
                write!(f, "{}{}{}{}", h.0, h.1, h.2, h.3)
            }
        }
        struct Url<'b>(&'b Href<'b>);
        impl Serialize for Url<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&Text(self.0))
            }
        }
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry("href", &Url(self))?;
        m.end()
    }
}

#[derive(Serialize)]
pub struct TypeRef {
    id: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserProfileOut<'a> {
    first_name: &'a str,
    last_name: &'a str,
    mobile_phone: Option<&'a str>,
    second_email: Option<&'a str>,
    login: &'a str,
    email: &'a str,
    title: Option<&'a str>,
    department: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    manager_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    manager: Option<&'a str>,
}

#[derive(Serialize)]
pub struct CredentialsOut {
    password: Empty,
    provider: Provider,
}

#[derive(Serialize)]
pub struct Empty {}

#[derive(Serialize)]
pub struct Provider {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'static str,
}

impl CredentialsOut {
    const OKTA: CredentialsOut = CredentialsOut {
        password: Empty {},
        provider: Provider {
            kind: "OKTA",
            name: "OKTA",
        },
    };
}

#[derive(Serialize)]
pub struct UserLinks<'a> {
    #[serde(rename = "self")]
    self_: Href<'a>,
}

/// A user in Okta's JSON shape.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserOut<'a> {
    id: &'a str,
    status: &'a str,
    created: Instant,
    activated: Option<Instant>,
    status_changed: Option<Instant>,
    last_login: Option<Instant>,
    last_updated: Instant,
    password_changed: Option<Instant>,
    #[serde(rename = "type")]
    kind: TypeRef,
    profile: UserProfileOut<'a>,
    credentials: CredentialsOut,
    #[serde(rename = "_links")]
    links: UserLinks<'a>,
}

/// A group.
#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub description: String,
    pub kind: GroupKind,
    pub created: i64,
    pub last_updated: i64,
    pub last_membership_updated: i64,
    /// Indexes of member users.
    pub members: BTreeSet<u32>,
    /// Group owners (Okta Identity Governance), in the order they were assigned.
    pub owners: Vec<Owner>,
}

/// A group owner: a user or a group, and when it was assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub who: OwnerRef,
    pub assigned: i64,
}

/// Who owns a group: a user or a group (by index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerRef {
    User(u32),
    Group(u32),
}

impl OwnerRef {
    /// Okta's owner `type`: `USER` or `GROUP`.
    pub fn kind(self) -> &'static str {
        match self {
            OwnerRef::User(_) => "USER",
            OwnerRef::Group(_) => "GROUP",
        }
    }
}

impl Owner {
    /// The owner's id (a user or group id).
    pub fn id(self, org: &Org) -> &str {
        match self.who {
            OwnerRef::User(u) => &org.users[u as usize].id,
            OwnerRef::Group(g) => &org.groups[g as usize].id,
        }
    }

    /// The owner as Okta's Group Owners API shows it (`GroupOwner`).
    pub fn to_json(self, org: &Org) -> Value {
        let display_name = match self.who {
            OwnerRef::User(u) => org.users[u as usize].display_name(),
            OwnerRef::Group(g) => org.groups[g as usize].name.clone(),
        };
        json!({
            "id": self.id(org),
            "type": self.who.kind(),
            "resolved": true,
            "originId": null,
            "originType": "OKTA_DIRECTORY",
            "displayName": display_name,
            "lastUpdated": format_instant(self.assigned),
        })
    }
}

impl Group {
    /// The group as Okta's API shows it; `stats` (the number of apps assigned to the group)
    /// adds `_embedded.stats` (`expand=stats`).
    pub fn view<'a>(&'a self, base: &'a str, stats: Option<usize>) -> GroupOut<'a> {
        let app = self.kind == GroupKind::App;
        GroupOut {
            id: &self.id,
            created: Instant(self.created),
            last_updated: Instant(self.last_updated),
            last_membership_updated: Instant(self.last_membership_updated),
            object_class: [if app {
                "okta:windows_security_principal"
            } else {
                "okta:user_group"
            }],
            kind: self.kind.as_str(),
            profile: GroupProfileOut {
                name: &self.name,
                description: &self.description,
                sam_account_name: app.then_some(self.name.as_str()),
            },
            links: GroupLinks {
                logo: [
                    Logo {
                        name: "medium",
                        href: Href(base, "/img/logos/groups/okta-medium.png", "", ""),
                        kind: "image/png",
                    },
                    Logo {
                        name: "large",
                        href: Href(base, "/img/logos/groups/okta-large.png", "", ""),
                        kind: "image/png",
                    },
                ],
                users: Href(base, "/api/v1/groups/", &self.id, "/users"),
                apps: Href(base, "/api/v1/groups/", &self.id, "/apps"),
            },
            embedded: stats.map(|apps_count| Embedded {
                stats: Stats {
                    users_count: self.members.len(),
                    apps_count,
                    group_push_mappings_count: 0,
                    has_admin_privilege: false,
                },
            }),
        }
    }

    /// The group as a JSON value.
    pub fn to_json(&self, base: &str, stats: Option<usize>) -> Value {
        serde_json::to_value(self.view(base, stats)).expect("serializable")
    }
}

/// A group in Okta's JSON shape.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupOut<'a> {
    id: &'a str,
    created: Instant,
    last_updated: Instant,
    last_membership_updated: Instant,
    object_class: [&'static str; 1],
    #[serde(rename = "type")]
    kind: &'static str,
    profile: GroupProfileOut<'a>,
    #[serde(rename = "_links")]
    links: GroupLinks<'a>,
    #[serde(rename = "_embedded", skip_serializing_if = "Option::is_none")]
    embedded: Option<Embedded>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupProfileOut<'a> {
    name: &'a str,
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sam_account_name: Option<&'a str>,
}

#[derive(Serialize)]
pub struct GroupLinks<'a> {
    logo: [Logo<'a>; 2],
    users: Href<'a>,
    apps: Href<'a>,
}

#[derive(Serialize)]
pub struct Logo<'a> {
    name: &'static str,
    #[serde(flatten)]
    href: Href<'a>,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
pub struct Embedded {
    stats: Stats,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    users_count: usize,
    apps_count: usize,
    group_push_mappings_count: usize,
    has_admin_privilege: bool,
}

/// A group rule: Okta keeps the target groups filled from an expression.
#[derive(Debug, Clone)]
pub struct GroupRule {
    pub id: String,
    pub name: String,
    pub expression: String,
    pub groups: Vec<u32>,
    pub created: i64,
}

/// How people sign in to an app (`signOnMode`): the modes the simulator shows in a shape
/// Okta's SDKs parse (each mode has its own model with its own required settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignOnMode {
    /// SAML 2.0 (most OIN apps: Datadog, AWS, Snowflake, …).
    Saml2,
    /// OpenID Connect.
    OpenIdConnect,
    /// A bookmark: a link on the dashboard, no sign-in.
    Bookmark,
    /// Secure Web Authentication (SWA): Okta fills in a sign-in form.
    AutoLogin,
}

impl SignOnMode {
    pub const ALL: [SignOnMode; 4] = [
        SignOnMode::Saml2,
        SignOnMode::OpenIdConnect,
        SignOnMode::Bookmark,
        SignOnMode::AutoLogin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SignOnMode::Saml2 => "SAML_2_0",
            SignOnMode::OpenIdConnect => "OPENID_CONNECT",
            SignOnMode::Bookmark => "BOOKMARK",
            SignOnMode::AutoLogin => "AUTO_LOGIN",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// An app instance (`0oa…`) and who is assigned to it.
#[derive(Debug, Clone)]
pub struct App {
    pub id: String,
    /// The app's key name (`datadog`, `amazon_aws`, `bookmark`, …).
    pub name: String,
    /// The display name (`Datadog`).
    pub label: String,
    pub sign_on_mode: SignOnMode,
    /// `ACTIVE` or `INACTIVE` (deleted apps are gone).
    pub active: bool,
    /// Where the app lives (its sign-in, ACS or launch URL, by sign-on mode).
    pub url: String,
    pub created: i64,
    pub last_updated: i64,
    /// Direct assignments (scope `USER`): user index → when assigned.
    pub users: BTreeMap<u32, i64>,
    /// Group assignments in priority order (the first has priority 0).
    pub groups: Vec<AppGroup>,
}

/// A group assigned to an app, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppGroup {
    pub group: u32,
    pub assigned: i64,
}

impl App {
    /// `ACTIVE` or `INACTIVE`.
    pub fn status(&self) -> &'static str {
        if self.active {
            "ACTIVE"
        } else {
            "INACTIVE"
        }
    }
}

/// How a user holds an app: directly (scope `USER`), through assigned groups (scope `GROUP`),
/// or both (Okta shows `USER` then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppAssignment {
    /// When the direct assignment was made, if there is one.
    pub direct: Option<i64>,
    /// The assigned groups the user is a member of, in priority order.
    pub groups: Vec<AppGroup>,
}

impl AppAssignment {
    /// Okta's `scope`: `USER` when assigned directly, else `GROUP`.
    pub fn scope(&self) -> &'static str {
        if self.direct.is_some() {
            "USER"
        } else {
            "GROUP"
        }
    }

    /// When the assignment began (the earliest of its sources).
    pub fn created(&self) -> i64 {
        self.times().min().unwrap_or_default()
    }

    /// When the assignment last changed (the latest of its sources).
    pub fn last_updated(&self) -> i64 {
        self.times().max().unwrap_or_default()
    }

    fn times(&self) -> impl Iterator<Item = i64> + '_ {
        self.direct
            .into_iter()
            .chain(self.groups.iter().map(|g| g.assigned))
    }
}

/// Admin roles that decide what a credential may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub id: String,
    pub kind: RoleKind,
    /// Group targets (for group-scoped roles); `None` means all groups.
    pub groups: Option<Vec<u32>>,
}

/// The standard admin roles the simulator knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleKind {
    SuperAdmin,
    OrgAdmin,
    ReadOnlyAdmin,
    GroupMembershipAdmin,
    UserAdmin,
    HelpDeskAdmin,
    AppAdmin,
}

impl RoleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RoleKind::SuperAdmin => "SUPER_ADMIN",
            RoleKind::OrgAdmin => "ORG_ADMIN",
            RoleKind::ReadOnlyAdmin => "READ_ONLY_ADMIN",
            RoleKind::GroupMembershipAdmin => "GROUP_MEMBERSHIP_ADMIN",
            RoleKind::UserAdmin => "USER_ADMIN",
            RoleKind::HelpDeskAdmin => "HELP_DESK_ADMIN",
            RoleKind::AppAdmin => "APP_ADMIN",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RoleKind::SuperAdmin => "Super Administrator",
            RoleKind::OrgAdmin => "Organizational Administrator",
            RoleKind::ReadOnlyAdmin => "Read Only Administrator",
            RoleKind::GroupMembershipAdmin => "Group Membership Administrator",
            RoleKind::UserAdmin => "Group Administrator",
            RoleKind::HelpDeskAdmin => "Help Desk Administrator",
            RoleKind::AppAdmin => "Application Administrator",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            RoleKind::SuperAdmin,
            RoleKind::OrgAdmin,
            RoleKind::ReadOnlyAdmin,
            RoleKind::GroupMembershipAdmin,
            RoleKind::UserAdmin,
            RoleKind::HelpDeskAdmin,
            RoleKind::AppAdmin,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// Whether the role may be limited to a set of groups.
    pub fn group_scoped(self) -> bool {
        matches!(
            self,
            RoleKind::GroupMembershipAdmin | RoleKind::UserAdmin | RoleKind::HelpDeskAdmin
        )
    }
}

/// What a set of roles allows.
pub fn roles_can_read(roles: &[Role]) -> bool {
    !roles.is_empty()
}

/// Whether `roles` may change the membership of group `g`.
pub fn roles_can_manage_group(roles: &[Role], g: u32) -> bool {
    roles.iter().any(|r| match r.kind {
        RoleKind::SuperAdmin | RoleKind::OrgAdmin => true,
        RoleKind::GroupMembershipAdmin | RoleKind::UserAdmin => {
            r.groups.as_ref().is_none_or(|gs| gs.contains(&g))
        }
        RoleKind::ReadOnlyAdmin | RoleKind::HelpDeskAdmin | RoleKind::AppAdmin => false,
    })
}

/// Whether `roles` may change app assignments. `APP_ADMIN` covers every app here: Okta can
/// limit it to some apps (app instance targets), which the simulator does not model.
pub fn roles_can_manage_apps(roles: &[Role]) -> bool {
    roles.iter().any(|r| {
        matches!(
            r.kind,
            RoleKind::SuperAdmin | RoleKind::OrgAdmin | RoleKind::AppAdmin
        )
    })
}

/// An OAuth 2.0 service app (client credentials with `private_key_jwt`).
#[derive(Debug, Clone)]
pub struct ServiceApp {
    pub client_id: String,
    pub keys: Vec<super::jwt::PublicJwk>,
    /// Okta API scopes granted to the app.
    pub scopes: Vec<String>,
    pub roles: Vec<Role>,
}

/// An OIDC web app that signs people in (Gatepass itself).
#[derive(Debug, Clone)]
pub struct OidcClient {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
}

/// A system log event about a membership change: a user added to or removed from a group or
/// an app.
#[derive(Debug, Clone)]
pub struct LogEvent {
    pub uuid: String,
    pub published: i64,
    pub event_type: &'static str,
    pub actor: Actor,
    pub user: u32,
    /// The group or app the user joined or left.
    pub target: LogTarget,
}

/// The second target of a membership event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTarget {
    /// A group (`UserGroup`): `group.user_membership.*`.
    Group(u32),
    /// An app (`AppInstance`): `application.user_membership.*`.
    App(u32),
}

/// Who made a change, as the system log shows it.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: String,
    pub kind: &'static str,
    pub alternate_id: String,
    pub display_name: String,
}

/// Outcome of a membership change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Changed,
    Unchanged,
}

/// Deterministic generator of Okta-like ids (`00u…`, `00g…`: 20 characters).
#[derive(Debug, Clone)]
pub struct IdGen(u64);

impl IdGen {
    pub fn new(seed: u64) -> Self {
        IdGen(seed)
    }

    fn next_u64(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `prefix` followed by random base-62 characters up to `len`.
    pub fn next(&mut self, prefix: &str, len: usize) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut out = String::with_capacity(len);
        out.push_str(prefix);
        let mut bits = self.next_u64();
        let mut left = 10;
        while out.len() < len {
            if left == 0 {
                bits = self.next_u64();
                left = 10;
            }
            out.push(ALPHABET[(bits % 62) as usize] as char);
            bits /= 62;
            left -= 1;
        }
        out
    }
}

/// The whole org.
#[derive(Debug)]
pub struct Org {
    pub users: Vec<User>,
    user_ids: HashMap<String, u32>,
    user_logins: HashMap<String, u32>,
    pub groups: Vec<Group>,
    group_ids: HashMap<String, u32>,
    pub rules: Vec<GroupRule>,
    /// App instances, in the order they were added.
    pub apps: Vec<App>,
    app_ids: HashMap<String, u32>,
    /// SSWS API tokens → the admin user they act as.
    pub tokens: HashMap<String, u32>,
    pub service_apps: HashMap<String, ServiceApp>,
    pub oidc_clients: HashMap<String, OidcClient>,
    pub events: Vec<LogEvent>,
    pub ids: IdGen,
    /// When the org was made (the default user type's and schema's timestamps).
    pub created: i64,
    memberships: usize,
}

impl Org {
    /// An org holding only the built-in `Everyone` group.
    pub fn new(seed: u64, now: i64) -> Self {
        let mut org = Org {
            users: Vec::new(),
            user_ids: HashMap::new(),
            user_logins: HashMap::new(),
            groups: Vec::new(),
            group_ids: HashMap::new(),
            rules: Vec::new(),
            apps: Vec::new(),
            app_ids: HashMap::new(),
            tokens: HashMap::new(),
            service_apps: HashMap::new(),
            oidc_clients: HashMap::new(),
            events: Vec::new(),
            ids: IdGen::new(seed),
            created: now,
            memberships: 0,
        };
        org.insert_group(Group {
            id: String::new(),
            name: "Everyone".into(),
            description: "All users in your organization".into(),
            kind: GroupKind::BuiltIn,
            created: now,
            last_updated: now,
            last_membership_updated: now,
            members: BTreeSet::new(),
            owners: Vec::new(),
        })
        .expect("empty org");
        org
    }

    /// The built-in `Everyone` group's index.
    pub const EVERYONE: u32 = 0;

    /// Number of memberships in groups other than `Everyone`.
    pub fn membership_count(&self) -> usize {
        self.memberships
    }

    /// Adds a user (an empty id gets a generated one) and puts it in `Everyone`.
    pub fn insert_user(&mut self, mut user: User) -> Result<u32, String> {
        if user.id.is_empty() {
            user.id = self.ids.next("00u", 20);
        }
        let login = user.login.to_lowercase();
        if self.user_logins.contains_key(&login) {
            return Err(format!("duplicate user login {:?}", user.login));
        }
        if self.user_ids.contains_key(&user.id) {
            return Err(format!("duplicate user id {:?}", user.id));
        }
        let idx = self.users.len() as u32;
        self.user_ids.insert(user.id.clone(), idx);
        self.user_logins.insert(login, idx);
        user.groups.insert(Self::EVERYONE);
        self.users.push(user);
        self.groups[Self::EVERYONE as usize].members.insert(idx);
        Ok(idx)
    }

    /// Adds a group (an empty id gets a generated one).
    pub fn insert_group(&mut self, mut group: Group) -> Result<u32, String> {
        if group.id.is_empty() {
            group.id = self.ids.next("00g", 20);
        }
        if self.group_ids.contains_key(&group.id) {
            return Err(format!("duplicate group id {:?}", group.id));
        }
        let idx = self.groups.len() as u32;
        self.group_ids.insert(group.id.clone(), idx);
        self.groups.push(group);
        Ok(idx)
    }

    /// Looks a user up by id or login (as `GET /api/v1/users/{idOrLogin}` does).
    pub fn find_user(&self, id_or_login: &str) -> Option<u32> {
        self.user_ids
            .get(id_or_login)
            .or_else(|| self.user_logins.get(&id_or_login.to_lowercase()))
            .copied()
    }

    /// Looks a user up by id only.
    pub fn user_by_id(&self, id: &str) -> Option<u32> {
        self.user_ids.get(id).copied()
    }

    pub fn find_group(&self, id: &str) -> Option<u32> {
        self.group_ids.get(id).copied()
    }

    /// Looks a group up by id or exact name (seed files name groups).
    pub fn group_by_id_or_name(&self, key: &str) -> Option<u32> {
        self.find_group(key).or_else(|| {
            self.groups
                .iter()
                .position(|g| g.name == key)
                .map(|i| i as u32)
        })
    }

    /// Whether a group rule keeps group `g` filled.
    pub fn rule_managed(&self, g: u32) -> bool {
        self.rules.iter().any(|r| r.groups.contains(&g))
    }

    /// Adds user `u` to group `g` without any check (seeding); no log event.
    pub fn seed_membership(&mut self, g: u32, u: u32) {
        if self.groups[g as usize].members.insert(u) {
            self.users[u as usize].groups.insert(g);
            if g != Self::EVERYONE {
                self.memberships += 1;
            }
        }
    }

    /// Adds or removes a membership as the API does; writes a system log event when
    /// something changed and bumps the group's `lastMembershipUpdated`.
    pub fn set_membership(
        &mut self,
        g: u32,
        u: u32,
        member: bool,
        actor: Actor,
        now: i64,
    ) -> Change {
        let changed = if member {
            self.groups[g as usize].members.insert(u)
        } else {
            self.groups[g as usize].members.remove(&u)
        };
        if !changed {
            return Change::Unchanged;
        }
        if member {
            self.users[u as usize].groups.insert(g);
            self.memberships += 1;
        } else {
            self.users[u as usize].groups.remove(&g);
            self.memberships -= 1;
        }
        self.groups[g as usize].last_membership_updated = now;
        let uuid = self.ids.next("", 32);
        self.events.push(LogEvent {
            uuid,
            published: now,
            event_type: if member {
                "group.user_membership.add"
            } else {
                "group.user_membership.remove"
            },
            actor,
            user: u,
            target: LogTarget::Group(g),
        });
        Change::Changed
    }

    /// Adds an app (an empty id gets a generated one).
    pub fn insert_app(&mut self, mut app: App) -> Result<u32, String> {
        if app.id.is_empty() {
            app.id = self.ids.next("0oa", 20);
        }
        if self.app_ids.contains_key(&app.id) {
            return Err(format!("duplicate app id {:?}", app.id));
        }
        let idx = self.apps.len() as u32;
        self.app_ids.insert(app.id.clone(), idx);
        self.apps.push(app);
        Ok(idx)
    }

    /// Looks an app up by id.
    pub fn find_app(&self, id: &str) -> Option<u32> {
        self.app_ids.get(id).copied()
    }

    /// How user `u` holds app `a`, if at all.
    pub fn app_assignment(&self, a: u32, u: u32) -> Option<AppAssignment> {
        let app = &self.apps[a as usize];
        let user = &self.users[u as usize];
        let found = AppAssignment {
            direct: app.users.get(&u).copied(),
            groups: app
                .groups
                .iter()
                .filter(|g| user.groups.contains(&g.group))
                .copied()
                .collect(),
        };
        (found.direct.is_some() || !found.groups.is_empty()).then_some(found)
    }

    /// How many apps group `g` is assigned to.
    pub fn group_app_count(&self, g: u32) -> usize {
        self.apps
            .iter()
            .filter(|a| a.groups.iter().any(|x| x.group == g))
            .count()
    }

    /// Every user assigned to app `a` (directly or through a group), in user order.
    pub fn app_user_set(&self, a: u32) -> BTreeSet<u32> {
        let app = &self.apps[a as usize];
        let mut all: BTreeSet<u32> = app.users.keys().copied().collect();
        for g in &app.groups {
            all.extend(self.groups[g.group as usize].members.iter().copied());
        }
        all
    }

    /// Assigns app `a` to user `u` directly, as `POST /api/v1/apps/{id}/users` does: a user who
    /// held it only through a group now holds it directly too (scope `USER`). Logs an event
    /// when the user had no assignment before.
    pub fn assign_app(&mut self, a: u32, u: u32, actor: Actor, now: i64) -> Change {
        let had = self.app_assignment(a, u).is_some();
        let app = &mut self.apps[a as usize];
        if app.users.contains_key(&u) {
            return Change::Unchanged;
        }
        app.users.insert(u, now);
        if !had {
            self.log_app_event(a, u, true, actor, now);
        }
        Change::Changed
    }

    /// Removes user `u`'s direct assignment to app `a` (no check that a group still grants
    /// it: the API refuses that case before calling this). Logs an event when the user no
    /// longer holds the app.
    pub fn unassign_app(&mut self, a: u32, u: u32, actor: Actor, now: i64) -> Change {
        if self.apps[a as usize].users.remove(&u).is_none() {
            return Change::Unchanged;
        }
        if self.app_assignment(a, u).is_none() {
            self.log_app_event(a, u, false, actor, now);
        }
        Change::Changed
    }

    /// Assigns group `g` to app `a` (lowest priority) or removes that assignment; no log event
    /// (the control API does this, not the Management API).
    pub fn set_app_group(&mut self, a: u32, g: u32, assigned: bool, now: i64) -> Change {
        let groups = &mut self.apps[a as usize].groups;
        let at = groups.iter().position(|x| x.group == g);
        match (assigned, at) {
            (true, None) => groups.push(AppGroup {
                group: g,
                assigned: now,
            }),
            (false, Some(i)) => {
                groups.remove(i);
            }
            _ => return Change::Unchanged,
        }
        Change::Changed
    }

    fn log_app_event(&mut self, a: u32, u: u32, added: bool, actor: Actor, now: i64) {
        let uuid = self.ids.next("", 32);
        self.events.push(LogEvent {
            uuid,
            published: now,
            event_type: if added {
                "application.user_membership.add"
            } else {
                "application.user_membership.remove"
            },
            actor,
            user: u,
            target: LogTarget::App(a),
        });
    }

    /// Index of the first item after the cursor `after` (an id), given the cursor's lookup.
    pub fn start_after(after: Option<&str>, lookup: impl Fn(&str) -> Option<u32>) -> Option<u32> {
        match after {
            None => Some(0),
            Some(id) => lookup(id).map(|i| i + 1),
        }
    }
}

impl LogEvent {
    /// The event as Okta's System Log API shows it.
    pub fn to_json(&self, org: &Org) -> Value {
        let user = &org.users[self.user as usize];
        let add = self.event_type.ends_with(".add");
        let (verb, legacy, target) = match self.target {
            LogTarget::Group(g) => {
                let group = &org.groups[g as usize];
                (
                    if add {
                        "Add user to group membership"
                    } else {
                        "Remove user from group membership"
                    },
                    Some(if add {
                        "core.user_group_member.user_add"
                    } else {
                        "core.user_group_member.user_remove"
                    }),
                    json!({ "id": group.id, "type": "UserGroup", "alternateId": "unknown", "displayName": group.name, "detailEntry": null }),
                )
            }
            LogTarget::App(a) => {
                let app = &org.apps[a as usize];
                (
                    if add {
                        "Add user to application membership"
                    } else {
                        "Remove user from application membership"
                    },
                    // Not modelled: Okta's legacy names for app assignment events.
                    None,
                    json!({ "id": app.id, "type": "AppInstance", "alternateId": app.label, "displayName": app.label, "detailEntry": null }),
                )
            }
        };
        json!({
            "uuid": self.uuid,
            "published": format_instant(self.published),
            "eventType": self.event_type,
            "version": "0",
            "severity": "INFO",
            "legacyEventType": legacy,
            "displayMessage": verb,
            "actor": {
                "id": self.actor.id,
                "type": self.actor.kind,
                "alternateId": self.actor.alternate_id,
                "displayName": self.actor.display_name,
                "detailEntry": null
            },
            "client": { "userAgent": null, "zone": "null", "device": null, "id": null, "ipAddress": "127.0.0.1", "geographicalContext": null },
            "outcome": { "result": "SUCCESS", "reason": null },
            "target": [
                { "id": user.id, "type": "User", "alternateId": user.login, "displayName": user.display_name(), "detailEntry": null },
                target
            ],
            "transaction": { "type": "WEB", "id": self.uuid, "detail": {} },
            "debugContext": { "debugData": {} },
            "authenticationContext": { "authenticationStep": 0, "externalSessionId": "unknown" },
            "securityContext": {}
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(login: &str) -> User {
        User {
            id: String::new(),
            status: "ACTIVE".into(),
            created: 0,
            activated: Some(0),
            status_changed: None,
            last_login: None,
            last_updated: 0,
            login: login.into(),
            email: login.into(),
            first_name: "A".into(),
            last_name: "B".into(),
            title: None,
            department: None,
            manager: None,
            groups: BTreeSet::new(),
            roles: vec![],
        }
    }

    fn actor() -> Actor {
        Actor {
            id: "x".into(),
            kind: "User",
            alternate_id: "x".into(),
            display_name: "x".into(),
        }
    }

    #[test]
    fn ids_look_like_okta_and_are_deterministic() {
        let mut a = IdGen::new(7);
        let mut b = IdGen::new(7);
        let id = a.next("00u", 20);
        assert_eq!(id.len(), 20);
        assert!(id.starts_with("00u"));
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(id, b.next("00u", 20));
        assert_ne!(a.next("00u", 20), id);
    }

    #[test]
    fn users_join_everyone_and_logins_are_unique_case_insensitively() {
        let mut org = Org::new(1, 0);
        let u = org.insert_user(user("ada@example.com")).unwrap();
        assert!(org.groups[0].members.contains(&u));
        assert_eq!(org.find_user("ADA@example.com"), Some(u));
        let id = org.users[u as usize].id.clone();
        assert_eq!(org.find_user(&id), Some(u));
        assert!(org.insert_user(user("Ada@Example.com")).is_err());
        assert_eq!(org.membership_count(), 0, "Everyone is not counted");
    }

    #[test]
    fn membership_changes_are_idempotent_logged_and_bump_the_group() {
        let mut org = Org::new(1, 0);
        let u = org.insert_user(user("ada@example.com")).unwrap();
        let g = org
            .insert_group(Group {
                id: String::new(),
                name: "eng".into(),
                description: String::new(),
                kind: GroupKind::Okta,
                created: 0,
                last_updated: 0,
                last_membership_updated: 0,
                members: BTreeSet::new(),
                owners: Vec::new(),
            })
            .unwrap();
        assert_eq!(org.set_membership(g, u, true, actor(), 5), Change::Changed);
        assert_eq!(
            org.set_membership(g, u, true, actor(), 6),
            Change::Unchanged
        );
        assert_eq!(org.groups[g as usize].last_membership_updated, 5);
        assert_eq!(org.membership_count(), 1);
        assert_eq!(org.set_membership(g, u, false, actor(), 7), Change::Changed);
        assert_eq!(
            org.set_membership(g, u, false, actor(), 8),
            Change::Unchanged
        );
        assert_eq!(org.membership_count(), 0);
        let kinds: Vec<_> = org.events.iter().map(|e| e.event_type).collect();
        assert_eq!(
            kinds,
            ["group.user_membership.add", "group.user_membership.remove"]
        );
        assert!(!org.users[u as usize].groups.contains(&g));
    }

    #[test]
    fn group_scoped_roles_manage_only_their_groups() {
        let scoped = [Role {
            id: "r".into(),
            kind: RoleKind::GroupMembershipAdmin,
            groups: Some(vec![3]),
        }];
        assert!(roles_can_manage_group(&scoped, 3));
        assert!(!roles_can_manage_group(&scoped, 4));
        let ro = [Role {
            id: "r".into(),
            kind: RoleKind::ReadOnlyAdmin,
            groups: None,
        }];
        assert!(roles_can_read(&ro));
        assert!(!roles_can_manage_group(&ro, 3));
        assert!(!roles_can_read(&[]));
        assert!(!roles_can_manage_apps(&ro) && !roles_can_manage_apps(&scoped));
        let app_admin = [Role {
            id: "r".into(),
            kind: RoleKind::AppAdmin,
            groups: None,
        }];
        assert!(roles_can_manage_apps(&app_admin) && roles_can_read(&app_admin));
        assert!(!roles_can_manage_group(&app_admin, 3));
        assert_eq!(RoleKind::parse("APP_ADMIN"), Some(RoleKind::AppAdmin));
        assert_eq!(RoleKind::AppAdmin.label(), "Application Administrator");
    }

    #[test]
    fn app_assignments_follow_direct_assignments_and_group_memberships() {
        let mut org = Org::new(1, 0);
        let u = org.insert_user(user("ada@example.com")).unwrap();
        let g = org
            .insert_group(Group {
                id: String::new(),
                name: "eng".into(),
                description: String::new(),
                kind: GroupKind::Okta,
                created: 0,
                last_updated: 0,
                last_membership_updated: 0,
                members: BTreeSet::new(),
                owners: Vec::new(),
            })
            .unwrap();
        let a = org
            .insert_app(App {
                id: String::new(),
                name: "datadog".into(),
                label: "Datadog".into(),
                sign_on_mode: SignOnMode::Saml2,
                active: true,
                url: String::new(),
                created: 0,
                last_updated: 0,
                users: BTreeMap::new(),
                groups: Vec::new(),
            })
            .unwrap();
        assert!(org.apps[0].id.starts_with("0oa") && org.apps[0].id.len() == 20);
        assert_eq!(org.find_app(&org.apps[0].id.clone()), Some(a));
        assert_eq!(org.app_assignment(a, u), None);
        // Through a group: scope GROUP, gained and lost with the membership.
        assert_eq!(org.set_app_group(a, g, true, 10), Change::Changed);
        assert_eq!(org.set_app_group(a, g, true, 11), Change::Unchanged);
        assert_eq!(org.group_app_count(g), 1);
        let stats = org.groups[g as usize].to_json("http://o", Some(org.group_app_count(g)));
        assert_eq!(stats["_embedded"]["stats"]["appsCount"], 1);
        assert_eq!(org.app_assignment(a, u), None);
        org.set_membership(g, u, true, actor(), 20);
        let held = org.app_assignment(a, u).unwrap();
        assert_eq!((held.scope(), held.created()), ("GROUP", 10));
        // Directly too: scope USER; removing the direct one leaves GROUP.
        assert_eq!(org.assign_app(a, u, actor(), 30), Change::Changed);
        assert_eq!(org.assign_app(a, u, actor(), 31), Change::Unchanged);
        assert_eq!(org.app_assignment(a, u).unwrap().scope(), "USER");
        assert_eq!(org.unassign_app(a, u, actor(), 40), Change::Changed);
        assert_eq!(org.app_assignment(a, u).unwrap().scope(), "GROUP");
        org.set_membership(g, u, false, actor(), 50);
        assert_eq!(org.app_assignment(a, u), None);
        assert!(org.app_user_set(a).is_empty());
        // Only gaining or losing the app is an app membership event.
        let kinds: Vec<_> = org
            .events
            .iter()
            .map(|e| (e.event_type, e.target))
            .collect();
        assert_eq!(
            kinds,
            [
                ("group.user_membership.add", LogTarget::Group(g)),
                ("group.user_membership.remove", LogTarget::Group(g)),
            ]
        );
        org.assign_app(a, u, actor(), 60);
        org.unassign_app(a, u, actor(), 70);
        let kinds: Vec<_> = org.events[2..]
            .iter()
            .map(|e| (e.event_type, e.target))
            .collect();
        assert_eq!(
            kinds,
            [
                ("application.user_membership.add", LogTarget::App(a)),
                ("application.user_membership.remove", LogTarget::App(a)),
            ]
        );
        // Group events still show the group as their second target.
        let e = org.events[0].to_json(&org);
        assert_eq!(e["target"][1]["type"], "UserGroup");
        assert_eq!(e["legacyEventType"], "core.user_group_member.user_add");
    }
}
