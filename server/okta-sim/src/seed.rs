//! What a simulated org starts with: the built-in `demo` company, a JSON seed file (the same
//! format `--state` saves), or a deterministic generated org of any size (`--scale`).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::jwt::PublicJwk;
use super::store::{
    Group, GroupKind, GroupRule, OidcClient, Org, Role, RoleKind, ServiceApp, User,
};
use super::time::{format_instant, parse_instant};

/// A seed file. Ids and instants are optional: missing ones are generated.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedFile {
    #[serde(default)]
    pub users: Vec<SeedUser>,
    #[serde(default)]
    pub groups: Vec<SeedGroup>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<SeedRule>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<SeedToken>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_apps: Vec<SeedServiceApp>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub oidc_clients: Vec<SeedOidcClient>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedUser {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub login: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default = "active")]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
    /// Admin roles held by the user.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<SeedRole>,
}

fn active() -> String {
    "ACTIVE".into()
}

fn okta_group() -> String {
    "OKTA_GROUP".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedGroup {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "okta_group", rename = "type")]
    pub kind: String,
    /// Members by login or user id.
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_membership_updated: Option<String>,
}

/// A group rule; `groups` (names or ids) are the groups it keeps filled.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub expression: String,
    pub groups: Vec<String>,
}

/// An SSWS API token acting as `user` (login or id); `roles` are added to that user.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedToken {
    pub token: String,
    pub user: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<SeedRole>,
}

/// An admin role; `groups` (names or ids) limit a group-scoped role.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedRole {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
}

/// An OAuth service app: its public keys (JWKS and/or PEM), granted scopes, admin roles
/// (default `SUPER_ADMIN`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedServiceApp {
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_pem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<SeedRole>>,
}

/// An OIDC web app (Gatepass) that signs people in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedOidcClient {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
}

fn instant(s: &Option<String>, default: i64, what: &str) -> Result<i64, String> {
    match s {
        None => Ok(default),
        Some(v) => {
            parse_instant(v).ok_or_else(|| format!("{what}: {v:?} is not an ISO 8601 instant"))
        }
    }
}

fn roles(org: &mut Org, seeds: &[SeedRole], whose: &str) -> Result<Vec<Role>, String> {
    seeds
        .iter()
        .map(|r| {
            let kind = RoleKind::parse(&r.kind)
                .ok_or_else(|| format!("{whose}: unknown admin role {:?}", r.kind))?;
            let groups = match &r.groups {
                None => None,
                Some(_) if !kind.group_scoped() => {
                    return Err(format!(
                        "{whose}: role {} cannot be limited to groups",
                        r.kind
                    ))
                }
                Some(gs) => Some(
                    gs.iter()
                        .map(|g| {
                            org.group_by_id_or_name(g).ok_or_else(|| {
                                format!("{whose}: role target group {g:?} does not exist")
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                ),
            };
            Ok(Role {
                id: org.ids.next("ra1", 20),
                kind,
                groups,
            })
        })
        .collect()
}

impl SeedFile {
    /// Adds everything in the file to `org`; errors name the entry at fault.
    pub fn apply(&self, org: &mut Org, now: i64) -> Result<(), String> {
        for u in &self.users {
            let created = instant(&u.created, now, &format!("user {}", u.login))?;
            if !super::store::USER_STATUSES.contains(&u.status.as_str()) {
                return Err(format!("user {}: unknown status {:?}", u.login, u.status));
            }
            org.insert_user(User {
                id: u.id.clone().unwrap_or_default(),
                status: u.status.clone(),
                created,
                activated: (u.status != "STAGED").then_some(created),
                status_changed: Some(created),
                last_login: None,
                last_updated: instant(&u.last_updated, created, &format!("user {}", u.login))?,
                login: u.login.clone(),
                email: u.email.clone().unwrap_or_else(|| u.login.clone()),
                first_name: u.first_name.clone(),
                last_name: u.last_name.clone(),
                title: u.title.clone(),
                department: u.department.clone(),
                groups: BTreeSet::new(),
                roles: Vec::new(),
            })?;
        }
        for g in &self.groups {
            let whose = format!("group {}", g.name);
            let kind = GroupKind::parse(&g.kind)
                .ok_or_else(|| format!("{whose}: unknown type {:?}", g.kind))?;
            if kind == GroupKind::BuiltIn {
                return Err(format!(
                    "{whose}: BUILT_IN groups cannot be seeded (Everyone exists already)"
                ));
            }
            let created = instant(&g.created, now, &whose)?;
            let idx = org.insert_group(Group {
                id: g.id.clone().unwrap_or_default(),
                name: g.name.clone(),
                description: g.description.clone(),
                kind,
                created,
                last_updated: instant(&g.last_updated, created, &whose)?,
                last_membership_updated: instant(&g.last_membership_updated, created, &whose)?,
                members: BTreeSet::new(),
            })?;
            for m in &g.members {
                let u = org
                    .find_user(m)
                    .ok_or_else(|| format!("{whose}: member {m:?} is not a user"))?;
                org.seed_membership(idx, u);
            }
        }
        for r in &self.rules {
            let groups = r
                .groups
                .iter()
                .map(|g| {
                    org.group_by_id_or_name(g)
                        .ok_or_else(|| format!("rule {}: group {g:?} does not exist", r.name))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let id = r.id.clone().unwrap_or_else(|| org.ids.next("0pr", 20));
            org.rules.push(GroupRule {
                id,
                name: r.name.clone(),
                expression: r.expression.clone(),
                groups,
                created: now,
            });
        }
        for u in &self.users {
            if u.roles.is_empty() {
                continue;
            }
            let idx = org.find_user(&u.login).expect("inserted above");
            let rs = roles(org, &u.roles, &format!("user {}", u.login))?;
            org.users[idx as usize].roles.extend(rs);
        }
        for t in &self.tokens {
            let whose = format!("token for {}", t.user);
            let u = org
                .find_user(&t.user)
                .ok_or_else(|| format!("{whose}: no such user"))?;
            if t.token.trim().is_empty() || t.token.contains(char::is_whitespace) {
                return Err(format!(
                    "{whose}: a token must be non-empty and without spaces"
                ));
            }
            let rs = roles(org, &t.roles, &whose)?;
            org.users[u as usize].roles.extend(rs);
            org.tokens.insert(t.token.clone(), u);
        }
        for a in &self.service_apps {
            let whose = format!("service app {}", a.client_id);
            let mut keys = Vec::new();
            if let Some(jwks) = &a.jwks {
                for k in jwks["keys"]
                    .as_array()
                    .ok_or_else(|| format!("{whose}: jwks needs a keys array"))?
                {
                    keys.push(PublicJwk::from_jwk(k).map_err(|e| format!("{whose}: {e}"))?);
                }
            }
            if let Some(pem) = &a.public_key_pem {
                keys.push(
                    PublicJwk::from_pem(pem, a.kid.clone()).map_err(|e| format!("{whose}: {e}"))?,
                );
            }
            if keys.is_empty() {
                return Err(format!("{whose}: give jwks or publicKeyPem"));
            }
            let default_roles = [SeedRole {
                kind: "SUPER_ADMIN".into(),
                groups: None,
            }];
            let rs = roles(org, a.roles.as_deref().unwrap_or(&default_roles), &whose)?;
            org.service_apps.insert(
                a.client_id.clone(),
                ServiceApp {
                    client_id: a.client_id.clone(),
                    keys,
                    scopes: a.scopes.clone(),
                    roles: rs,
                },
            );
        }
        for c in &self.oidc_clients {
            org.oidc_clients.insert(
                c.client_id.clone(),
                OidcClient {
                    client_id: c.client_id.clone(),
                    client_secret: c.client_secret.clone(),
                    redirect_uris: c.redirect_uris.clone(),
                    post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
                },
            );
        }
        Ok(())
    }

    /// A snapshot of `org` in seed-file form (what `--state` saves; the system log is not kept).
    pub fn snapshot(org: &Org) -> SeedFile {
        let seed_roles = |rs: &[Role]| -> Vec<SeedRole> {
            rs.iter()
                .map(|r| SeedRole {
                    kind: r.kind.as_str().into(),
                    groups: r.groups.as_ref().map(|gs| {
                        gs.iter()
                            .map(|&g| org.groups[g as usize].id.clone())
                            .collect()
                    }),
                })
                .collect()
        };
        SeedFile {
            users: org
                .users
                .iter()
                .map(|u| SeedUser {
                    id: Some(u.id.clone()),
                    login: u.login.clone(),
                    email: Some(u.email.clone()),
                    first_name: u.first_name.clone(),
                    last_name: u.last_name.clone(),
                    status: u.status.clone(),
                    title: u.title.clone(),
                    department: u.department.clone(),
                    created: Some(format_instant(u.created)),
                    last_updated: Some(format_instant(u.last_updated)),
                    roles: seed_roles(&u.roles),
                })
                .collect(),
            groups: org
                .groups
                .iter()
                .filter(|g| g.kind != GroupKind::BuiltIn)
                .map(|g| SeedGroup {
                    id: Some(g.id.clone()),
                    name: g.name.clone(),
                    description: g.description.clone(),
                    kind: g.kind.as_str().into(),
                    members: g.members.iter().map(|&u| org.users[u as usize].id.clone()).collect(),
                    created: Some(format_instant(g.created)),
                    last_updated: Some(format_instant(g.last_updated)),
                    last_membership_updated: Some(format_instant(g.last_membership_updated)),
                })
                .collect(),
            rules: org
                .rules
                .iter()
                .map(|r| SeedRule {
                    id: Some(r.id.clone()),
                    name: r.name.clone(),
                    expression: r.expression.clone(),
                    groups: r.groups.iter().map(|&g| org.groups[g as usize].id.clone()).collect(),
                })
                .collect(),
            tokens: org
                .tokens
                .iter()
                .map(|(t, &u)| SeedToken {
                    token: t.clone(),
                    user: org.users[u as usize].id.clone(),
                    roles: Vec::new(),
                })
                .collect(),
            service_apps: org
                .service_apps
                .values()
                .map(|a| SeedServiceApp {
                    client_id: a.client_id.clone(),
                    jwks: Some(serde_json::json!({ "keys": a.keys.iter().map(PublicJwk::to_jwk).collect::<Vec<_>>() })),
                    public_key_pem: None,
                    kid: None,
                    scopes: a.scopes.clone(),
                    roles: Some(seed_roles(&a.roles)),
                })
                .collect(),
            oidc_clients: org
                .oidc_clients
                .values()
                .map(|c| SeedOidcClient {
                    client_id: c.client_id.clone(),
                    client_secret: c.client_secret.clone(),
                    redirect_uris: c.redirect_uris.clone(),
                    post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
                })
                .collect(),
        }
    }
}

/// Size of a generated org.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scale {
    pub users: usize,
    pub groups: usize,
    pub memberships: usize,
}

impl std::str::FromStr for Scale {
    type Err = String;

    /// `users=N,groups=M,memberships=K` (any order; `k`/`m` suffixes allowed: `100k`, `1m`).
    fn from_str(s: &str) -> Result<Self, String> {
        let mut scale = Scale {
            users: 0,
            groups: 0,
            memberships: 0,
        };
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?}: expected key=number"))?;
            let v = v.trim().to_ascii_lowercase();
            let (digits, mult) = match v.strip_suffix('k') {
                Some(d) => (d, 1_000),
                None => match v.strip_suffix('m') {
                    Some(d) => (d, 1_000_000),
                    None => (v.as_str(), 1),
                },
            };
            let n: usize = digits
                .parse()
                .map_err(|_| format!("{part:?}: {v:?} is not a number"))?;
            let n = n
                .checked_mul(mult)
                .ok_or_else(|| format!("{part:?}: {v:?} is too large"))?;
            match k.trim() {
                "users" => scale.users = n,
                "groups" => scale.groups = n,
                "memberships" => scale.memberships = n,
                other => {
                    return Err(format!(
                        "unknown scale key {other:?} (users, groups, memberships)"
                    ))
                }
            }
        }
        if scale.memberships > 0 && (scale.users == 0 || scale.groups == 0) {
            return Err("memberships need users and groups".into());
        }
        if scale.memberships > scale.users.saturating_mul(scale.groups) {
            return Err("more memberships than users × groups".into());
        }
        Ok(scale)
    }
}

const FIRST: [&str; 16] = [
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Ken",
    "Margaret",
    "Dennis",
    "Radia",
    "Leslie",
    "Hedy",
    "Linus",
    "Katherine",
    "Tim",
];
const LAST: [&str; 16] = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Hamilton",
    "Ritchie",
    "Perlman",
    "Lamport",
    "Lamarr",
    "Torvalds",
    "Johnson",
    "Berners-Lee",
];

/// Adds a deterministic generated org: `users` users (a few suspended and deprovisioned),
/// `groups` groups (every tenth an APP_GROUP) and exactly `memberships` memberships spread
/// evenly over the groups.
pub fn generate(org: &mut Org, scale: Scale, now: i64) -> Result<(), String> {
    let day = 86_400_000;
    let first_user = org.users.len() as u32;
    for i in 0..scale.users {
        let status = match i % 97 {
            13 => "SUSPENDED",
            41 => "DEPROVISIONED",
            _ => "ACTIVE",
        };
        let created = now - 400 * day + (i as i64 % 365) * day;
        org.insert_user(User {
            id: String::new(),
            status: status.into(),
            created,
            activated: Some(created),
            status_changed: Some(created),
            last_login: None,
            last_updated: created,
            login: format!("user{i:07}@example.com"),
            email: format!("user{i:07}@example.com"),
            first_name: FIRST[i % FIRST.len()].into(),
            last_name: LAST[(i / FIRST.len()) % LAST.len()].into(),
            title: None,
            department: Some(format!("dept-{}", i % 40)),
            groups: BTreeSet::new(),
            roles: Vec::new(),
        })?;
    }
    let first_group = org.groups.len() as u32;
    for j in 0..scale.groups {
        let created = now - 300 * day + (j as i64 % 300) * day;
        org.insert_group(Group {
            id: String::new(),
            name: format!("group-{j:05}"),
            description: format!("Generated group {j}"),
            kind: if j % 10 == 9 {
                GroupKind::App
            } else {
                GroupKind::Okta
            },
            created,
            last_updated: created,
            last_membership_updated: created,
            members: BTreeSet::new(),
        })?;
    }
    if scale.memberships == 0 {
        return Ok(());
    }
    let n = scale.users as u64;
    // A stride coprime with n walks distinct users within each group.
    let mut step = (n / 2 + 1).max(1);
    while gcd(step, n) != 1 {
        step += 1;
    }
    for j in 0..scale.groups {
        let count =
            scale.memberships / scale.groups + usize::from(j < scale.memberships % scale.groups);
        let start = (j as u64).wrapping_mul(7919) % n;
        for t in 0..count as u64 {
            let u = (start + t * step) % n;
            org.seed_membership(first_group + j as u32, first_user + u as u32);
        }
    }
    Ok(())
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The built-in demo company: Northwind Labs.
pub fn demo(api_token: &str, client: SeedOidcClient) -> SeedFile {
    let people: [(&str, &str, &str, &str, &str); 26] = [
        ("Maya", "Okafor", "it", "IT Director", "ACTIVE"),
        ("Sam", "Reyes", "it", "IT Administrator", "ACTIVE"),
        (
            "Priya",
            "Natarajan",
            "engineering",
            "VP Engineering",
            "ACTIVE",
        ),
        (
            "Tom",
            "Becker",
            "engineering",
            "Engineering Manager, Platform",
            "ACTIVE",
        ),
        (
            "Lena",
            "Fischer",
            "engineering",
            "Site Reliability Engineer",
            "ACTIVE",
        ),
        ("Jonas", "Berg", "engineering", "Backend Engineer", "ACTIVE"),
        (
            "Aiko",
            "Tanaka",
            "engineering",
            "Backend Engineer",
            "ACTIVE",
        ),
        (
            "Diego",
            "Alvarez",
            "engineering",
            "Frontend Engineer",
            "ACTIVE",
        ),
        ("Chloe", "Martin", "engineering", "Data Engineer", "ACTIVE"),
        (
            "Omar",
            "Haddad",
            "engineering",
            "Security Engineer",
            "ACTIVE",
        ),
        (
            "Nora",
            "Lindqvist",
            "engineering",
            "Engineering Manager, Data",
            "ACTIVE",
        ),
        (
            "Ravi",
            "Shah",
            "engineering",
            "Contractor, Mobile",
            "ACTIVE",
        ),
        ("Grace", "Kim", "finance", "Finance Director", "ACTIVE"),
        ("Peter", "Novak", "finance", "Accountant", "ACTIVE"),
        ("Hannah", "Cohen", "finance", "Payroll Specialist", "ACTIVE"),
        ("Luis", "Romero", "sales", "Head of Sales", "ACTIVE"),
        ("Emma", "Wilson", "sales", "Account Executive", "ACTIVE"),
        ("Kwame", "Mensah", "sales", "Sales Engineer", "ACTIVE"),
        ("Sofia", "Rossi", "support", "Support Lead", "ACTIVE"),
        ("Ben", "Carter", "support", "Support Engineer", "ACTIVE"),
        ("Mia", "Schmidt", "support", "Support Engineer", "ACTIVE"),
        ("Yusuf", "Demir", "people", "People Partner", "ACTIVE"),
        ("Julia", "Santos", "people", "Recruiter", "ACTIVE"),
        (
            "Victor",
            "Petrov",
            "engineering",
            "Backend Engineer (left)",
            "DEPROVISIONED",
        ),
        (
            "Elsa",
            "Nyberg",
            "sales",
            "Account Executive (on leave)",
            "SUSPENDED",
        ),
        (
            "Felix",
            "Wagner",
            "engineering",
            "Incoming Engineer",
            "STAGED",
        ),
    ];
    let login = |f: &str, l: &str| {
        format!(
            "{}.{}@northwind.example",
            f.to_lowercase(),
            l.to_lowercase()
        )
    };
    let users: Vec<SeedUser> = people
        .iter()
        .map(|(f, l, dept, title, status)| SeedUser {
            id: None,
            login: login(f, l),
            email: None,
            first_name: (*f).into(),
            last_name: (*l).into(),
            status: (*status).into(),
            title: Some((*title).into()),
            department: Some((*dept).into()),
            created: None,
            last_updated: None,
            roles: Vec::new(),
        })
        .collect();
    let dept = |d: &str| -> Vec<String> {
        people
            .iter()
            .filter(|p| p.2 == d && p.4 != "DEPROVISIONED")
            .map(|p| login(p.0, p.1))
            .collect()
    };
    let who = |names: &[&str]| -> Vec<String> {
        names
            .iter()
            .map(|n| {
                let p = people.iter().find(|p| p.0 == *n).expect("demo person");
                login(p.0, p.1)
            })
            .collect()
    };
    let group = |name: &str, desc: &str, kind: &str, members: Vec<String>| SeedGroup {
        id: None,
        name: name.into(),
        description: desc.into(),
        kind: kind.into(),
        members,
        created: None,
        last_updated: None,
        last_membership_updated: None,
    };
    let groups = vec![
        group(
            "gatepass-admins",
            "Administers Gatepass",
            "OKTA_GROUP",
            who(&["Maya", "Sam"]),
        ),
        group(
            "engineering",
            "All engineers (kept by a group rule)",
            "OKTA_GROUP",
            dept("engineering"),
        ),
        group("finance", "Finance team", "OKTA_GROUP", dept("finance")),
        group("sales", "Sales team", "OKTA_GROUP", dept("sales")),
        group("support", "Customer support", "OKTA_GROUP", dept("support")),
        group(
            "people-ops",
            "People operations",
            "OKTA_GROUP",
            dept("people"),
        ),
        group(
            "eng-leads",
            "Engineering managers",
            "OKTA_GROUP",
            who(&["Priya", "Tom", "Nora"]),
        ),
        group(
            "aws-prod-admin",
            "Administrator on the production AWS account",
            "OKTA_GROUP",
            who(&["Lena"]),
        ),
        group(
            "aws-prod-readonly",
            "Read-only on the production AWS account",
            "OKTA_GROUP",
            who(&["Lena", "Tom", "Omar"]),
        ),
        group(
            "aws-staging-admin",
            "Administrator on the staging AWS account",
            "OKTA_GROUP",
            who(&["Lena", "Jonas", "Aiko"]),
        ),
        group(
            "prod-db-readonly",
            "Read-only access to production databases",
            "OKTA_GROUP",
            who(&["Chloe"]),
        ),
        group(
            "prod-db-admin",
            "Full access to production databases",
            "OKTA_GROUP",
            vec![],
        ),
        group(
            "k8s-prod-deployers",
            "Deploy to the production cluster",
            "OKTA_GROUP",
            who(&["Lena", "Tom"]),
        ),
        group(
            "github-org-owners",
            "Owners of the GitHub organization",
            "OKTA_GROUP",
            who(&["Priya"]),
        ),
        group(
            "salesforce-admins",
            "Salesforce administrators",
            "OKTA_GROUP",
            who(&["Luis"]),
        ),
        group(
            "netsuite-approvers",
            "Approve payments in NetSuite",
            "OKTA_GROUP",
            who(&["Grace"]),
        ),
        group(
            "payroll-access",
            "Access to the payroll system",
            "OKTA_GROUP",
            who(&["Hannah"]),
        ),
        group(
            "zendesk-admins",
            "Zendesk administrators",
            "OKTA_GROUP",
            who(&["Sofia"]),
        ),
        group(
            "break-glass",
            "Emergency access to everything (expected empty)",
            "OKTA_GROUP",
            vec![],
        ),
        group(
            "AD-Domain-Admins",
            "Imported from Active Directory",
            "APP_GROUP",
            who(&["Sam"]),
        ),
        group(
            "AD-VPN-Users",
            "Imported from Active Directory",
            "APP_GROUP",
            dept("engineering"),
        ),
    ];
    let rules = vec![SeedRule {
        id: None,
        name: "Engineers by department".into(),
        expression: "user.department == \"engineering\"".into(),
        groups: vec!["engineering".into()],
    }];
    let tokens = vec![SeedToken {
        token: api_token.into(),
        user: login("Sam", "Reyes"),
        roles: vec![SeedRole {
            kind: "SUPER_ADMIN".into(),
            groups: None,
        }],
    }];
    let mut users = users;
    // Maya administers Okta read-only; Sam (the token's owner) is a super admin.
    users[0].roles.push(SeedRole {
        kind: "READ_ONLY_ADMIN".into(),
        groups: None,
    });
    SeedFile {
        users,
        groups,
        rules,
        tokens,
        service_apps: Vec::new(),
        oidc_clients: vec![client],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_parses_and_checks() {
        let s: Scale = "users=100k,groups=10k,memberships=1m".parse().unwrap();
        assert_eq!(
            s,
            Scale {
                users: 100_000,
                groups: 10_000,
                memberships: 1_000_000
            }
        );
        assert!("users=2,groups=1,memberships=3"
            .parse::<Scale>()
            .unwrap_err()
            .contains("more memberships"));
        assert!("people=3"
            .parse::<Scale>()
            .unwrap_err()
            .contains("unknown scale key"));
        assert!("users=x"
            .parse::<Scale>()
            .unwrap_err()
            .contains("not a number"));
    }

    #[test]
    fn generated_orgs_have_exactly_the_memberships_asked_for() {
        let mut org = Org::new(1, 0);
        generate(
            &mut org,
            "users=1000,groups=30,memberships=7001".parse().unwrap(),
            1_700_000_000_000,
        )
        .unwrap();
        assert_eq!(org.users.len(), 1000);
        assert_eq!(org.groups.len(), 31);
        assert_eq!(org.membership_count(), 7001);
        let mut again = Org::new(1, 0);
        generate(
            &mut again,
            "users=1000,groups=30,memberships=7001".parse().unwrap(),
            1_700_000_000_000,
        )
        .unwrap();
        assert_eq!(org.users[500].id, again.users[500].id, "deterministic");
    }

    #[test]
    fn demo_seed_is_a_consistent_company() {
        let client = SeedOidcClient {
            client_id: "gatepass".into(),
            client_secret: "s".into(),
            redirect_uris: vec!["http://127.0.0.1:3000/auth/callback".into()],
            post_logout_redirect_uris: vec![],
        };
        let mut org = Org::new(1, 0);
        demo("tok", client).apply(&mut org, 0).unwrap();
        assert!(org.users.len() >= 25);
        assert!(org.groups.len() >= 16);
        for kind in [GroupKind::Okta, GroupKind::App, GroupKind::BuiltIn] {
            assert!(org.groups.iter().any(|g| g.kind == kind), "{kind:?}");
        }
        let eng = org.group_by_id_or_name("engineering").unwrap();
        assert!(org.rule_managed(eng));
        assert!(org.tokens.contains_key("tok"));
    }

    #[test]
    fn seed_errors_name_the_entry() {
        let file: SeedFile = serde_json::from_value(serde_json::json!({
            "users": [{ "login": "a@x" }],
            "groups": [{ "name": "g", "members": ["nobody@x"] }]
        }))
        .unwrap();
        let err = file.apply(&mut Org::new(1, 0), 0).unwrap_err();
        assert_eq!(err, "group g: member \"nobody@x\" is not a user");
        let bad: Result<SeedFile, _> = serde_json::from_value(serde_json::json!({ "userz": [] }));
        assert!(bad.unwrap_err().to_string().contains("unknown field"));
    }

    #[test]
    fn snapshots_round_trip() {
        let mut org = Org::new(1, 0);
        generate(
            &mut org,
            "users=50,groups=5,memberships=60".parse().unwrap(),
            1_700_000_000_000,
        )
        .unwrap();
        let snap = SeedFile::snapshot(&org);
        let mut copy = Org::new(2, 0);
        snap.apply(&mut copy, 0).unwrap();
        assert_eq!(copy.membership_count(), 60);
        assert_eq!(copy.users[7].id, org.users[7].id);
        assert_eq!(copy.groups[3].members, org.groups[3].members);
    }
}
