//! What a simulated org starts with: a JSON seed file (the format below, which `--state` also
//! saves), the built-in `demo` company (a seed file embedded in the binary, [`demo`]), or a
//! deterministic generated org of any size (`--scale`, [`scale`]).
//!
//! This module is the file format: the `Seed*` types and how a file is applied to an [`Org`]
//! (and taken back out of one, for `--state`). Apps are applied last, after users, groups and
//! credentials.

pub mod demo;
pub mod scale;

pub use demo::{demo, DEMO_ON_CALL};
pub use scale::{generate, Scale};

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::jwt::PublicJwk;
use crate::store::{
    App, AppGroup, Group, GroupKind, GroupRule, OidcClient, Org, Owner, OwnerRef, Role, RoleKind,
    ServiceApp, SignOnMode, User,
};
use crate::time::{format_instant, parse_instant};

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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apps: Vec<SeedApp>,
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
    /// The manager's login (or id), shown as `profile.managerId` and `profile.manager`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
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
    /// Group owners: users (by login or id) and groups (by name or id).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<SeedOwner>,
}

/// A group owner, as in Okta's "assign a group owner" body: `{"type": "USER"|"GROUP", "id"}`
/// (here `id` may also be a login or a group name); `lastUpdated` defaults to the group's
/// creation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedOwner {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
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

/// An app instance and who is assigned to it: `users` directly (logins or ids, scope `USER`),
/// `groups` (names or ids; members hold the app with scope `GROUP`) in priority order.
/// `signOnMode` is one of `SAML_2_0`, `OPENID_CONNECT`, `BOOKMARK`, `AUTO_LOGIN`; `url` (the
/// app's sign-in, ACS or launch URL) defaults to `https://{name}.example.com/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedApp {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    pub label: String,
    pub sign_on_mode: String,
    #[serde(default = "active")]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
    #[serde(default)]
    pub users: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
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

fn seed_app(org: &mut Org, a: &SeedApp, now: i64) -> Result<u32, String> {
    let whose = format!("app {}", a.label);
    if a.name.trim().is_empty() || a.label.trim().is_empty() {
        return Err(format!("{whose}: name and label must not be empty"));
    }
    let sign_on_mode = SignOnMode::parse(&a.sign_on_mode).ok_or_else(|| {
        let modes: Vec<&str> = SignOnMode::ALL.iter().map(|m| m.as_str()).collect();
        format!(
            "{whose}: signOnMode {:?} is not one of {}",
            a.sign_on_mode,
            modes.join(", ")
        )
    })?;
    let active = match a.status.as_str() {
        "ACTIVE" => true,
        "INACTIVE" => false,
        other => {
            return Err(format!(
                "{whose}: status {other:?} is not ACTIVE or INACTIVE"
            ))
        }
    };
    let created = instant(&a.created, now, &whose)?;
    let mut users = BTreeMap::new();
    for who in &a.users {
        let u = org
            .find_user(who)
            .ok_or_else(|| format!("{whose}: user {who:?} is not a user"))?;
        if users.insert(u, created).is_some() {
            return Err(format!("{whose}: user {who:?} is listed twice"));
        }
    }
    let mut groups: Vec<AppGroup> = Vec::new();
    for g in &a.groups {
        let group = org
            .group_by_id_or_name(g)
            .ok_or_else(|| format!("{whose}: group {g:?} is not a group"))?;
        if groups.iter().any(|x| x.group == group) {
            return Err(format!("{whose}: group {g:?} is listed twice"));
        }
        groups.push(AppGroup {
            group,
            assigned: created,
        });
    }
    org.insert_app(App {
        id: a.id.clone().unwrap_or_default(),
        name: a.name.clone(),
        label: a.label.clone(),
        sign_on_mode,
        active,
        url: a
            .url
            .clone()
            .unwrap_or_else(|| format!("https://{}.example.com/", a.name)),
        created,
        last_updated: instant(&a.last_updated, created, &whose)?,
        users,
        groups,
    })
    .map_err(|e| format!("{whose}: {e}"))
}

impl SeedFile {
    /// Adds everything in the file to `org`; errors name the entry at fault.
    pub fn apply(&self, org: &mut Org, now: i64) -> Result<(), String> {
        for u in &self.users {
            let created = instant(&u.created, now, &format!("user {}", u.login))?;
            if !crate::store::USER_STATUSES.contains(&u.status.as_str()) {
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
                manager: None,
                groups: BTreeSet::new(),
                roles: Vec::new(),
            })?;
        }
        // Managers may be listed after the people they manage.
        for u in &self.users {
            let Some(m) = &u.manager else { continue };
            let whose = format!("user {}", u.login);
            let boss = org
                .find_user(m)
                .ok_or_else(|| format!("{whose}: manager {m:?} is not a user"))?;
            let me = org.find_user(&u.login).ok_or_else(|| whose.clone())?;
            if boss == me {
                return Err(format!("{whose}: is their own manager"));
            }
            let boss = &org.users[boss as usize];
            org.users[me as usize].manager = Some((boss.id.clone(), boss.display_name()));
        }
        let mut seeded = Vec::with_capacity(self.groups.len());
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
                owners: Vec::new(),
            })?;
            for m in &g.members {
                let u = org
                    .find_user(m)
                    .ok_or_else(|| format!("{whose}: member {m:?} is not a user"))?;
                org.seed_membership(idx, u);
            }
            seeded.push(idx);
        }
        // Owners may name groups that come later in the file.
        for (g, &idx) in self.groups.iter().zip(&seeded) {
            let whose = format!("group {}", g.name);
            let created = org.groups[idx as usize].created;
            for o in &g.owners {
                let who = match o.kind.as_str() {
                    "USER" => org.find_user(&o.id).map(OwnerRef::User),
                    "GROUP" => org.group_by_id_or_name(&o.id).map(OwnerRef::Group),
                    other => {
                        return Err(format!(
                            "{whose}: owner type {other:?} is not USER or GROUP"
                        ))
                    }
                }
                .ok_or_else(|| {
                    format!(
                        "{whose}: owner {:?} is not a {}",
                        o.id,
                        o.kind.to_lowercase()
                    )
                })?;
                let owners = &mut org.groups[idx as usize].owners;
                if owners.iter().any(|x| x.who == who) {
                    return Err(format!("{whose}: owner {:?} is listed twice", o.id));
                }
                let assigned = instant(&o.last_updated, created, &whose)?;
                owners.push(Owner { who, assigned });
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
        // Apps come last, so the ids generated for them never shift those of the rest.
        for a in &self.apps {
            seed_app(org, a, now)?;
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
                    manager: u
                        .manager
                        .as_ref()
                        .and_then(|(id, _)| org.users.iter().find(|m| &m.id == id))
                        .map(|m| m.login.clone()),
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
                    owners: g
                        .owners
                        .iter()
                        .map(|&o| SeedOwner {
                            kind: o.who.kind().into(),
                            id: o.id(org).to_owned(),
                            last_updated: Some(format_instant(o.assigned)),
                        })
                        .collect(),
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
            apps: org
                .apps
                .iter()
                .map(|a| SeedApp {
                    id: Some(a.id.clone()),
                    name: a.name.clone(),
                    label: a.label.clone(),
                    sign_on_mode: a.sign_on_mode.as_str().into(),
                    status: a.status().into(),
                    url: Some(a.url.clone()),
                    created: Some(format_instant(a.created)),
                    last_updated: Some(format_instant(a.last_updated)),
                    users: a.users.keys().map(|&u| org.users[u as usize].id.clone()).collect(),
                    groups: a.groups.iter().map(|g| org.groups[g.group as usize].id.clone()).collect(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn owners_are_users_or_groups_and_mistakes_are_named() {
        let seed = |owners: serde_json::Value| -> Result<Org, String> {
            let file: SeedFile = serde_json::from_value(serde_json::json!({
                "users": [{ "login": "a@x" }],
                "groups": [
                    { "name": "g", "owners": owners },
                    { "name": "h" }
                ]
            }))
            .map_err(|e| e.to_string())?;
            let mut org = Org::new(1, 0);
            file.apply(&mut org, 0).map(|()| org)
        };
        // A group may be owned by a group seeded after it.
        let org = seed(serde_json::json!([
            { "type": "USER", "id": "a@x" },
            { "type": "GROUP", "id": "h", "lastUpdated": "2024-01-02T03:04:05.000Z" }
        ]))
        .unwrap();
        let g = &org.groups[1];
        assert_eq!(
            g.owners.iter().map(|o| o.who).collect::<Vec<_>>(),
            [OwnerRef::User(0), OwnerRef::Group(2)]
        );
        assert_eq!(g.owners[1].assigned, 1_704_164_645_000);
        for (owners, err) in [
            (
                serde_json::json!([{ "type": "USER", "id": "nobody@x" }]),
                "group g: owner \"nobody@x\" is not a user",
            ),
            (
                serde_json::json!([{ "type": "GROUP", "id": "nope" }]),
                "group g: owner \"nope\" is not a group",
            ),
            (
                serde_json::json!([{ "type": "APP", "id": "a@x" }]),
                "group g: owner type \"APP\" is not USER or GROUP",
            ),
            (
                serde_json::json!([{ "type": "USER", "id": "a@x" }, { "type": "USER", "id": "a@x" }]),
                "group g: owner \"a@x\" is listed twice",
            ),
        ] {
            assert_eq!(seed(owners).unwrap_err(), err);
        }
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
        org.groups[3].owners = vec![
            Owner {
                who: OwnerRef::User(7),
                assigned: 1_700_000_000_123,
            },
            Owner {
                who: OwnerRef::Group(4),
                assigned: 1_700_000_000_456,
            },
        ];
        let app: SeedApp = serde_json::from_value(serde_json::json!({
            "name": "datadog", "label": "Datadog", "signOnMode": "OPENID_CONNECT",
            "status": "INACTIVE", "users": [org.users[4].login.clone(), org.users[9].id.clone()],
            "groups": [org.groups[3].id.clone(), org.groups[1].name.clone()]
        }))
        .unwrap();
        let app = seed_app(&mut org, &app, 1_700_000_000_000).unwrap();
        let snap = SeedFile::snapshot(&org);
        let mut copy = Org::new(2, 0);
        snap.apply(&mut copy, 0).unwrap();
        assert_eq!(copy.membership_count(), 60);
        assert_eq!(copy.users[7].id, org.users[7].id);
        assert_eq!(copy.groups[3].members, org.groups[3].members);
        assert_eq!(copy.groups[3].owners, org.groups[3].owners);
        let (a, b) = (&org.apps[app as usize], &copy.apps[0]);
        assert_eq!(
            (&b.id, &b.name, &b.label, &b.url),
            (&a.id, &a.name, &a.label, &a.url)
        );
        assert_eq!(
            (b.sign_on_mode, b.active, b.created),
            (a.sign_on_mode, a.active, a.created)
        );
        assert_eq!(b.users, a.users);
        assert_eq!(
            b.groups, a.groups,
            "group assignments keep their priority order"
        );
        assert_eq!(copy.app_user_set(0), org.app_user_set(app));
    }

    #[test]
    fn apps_name_their_mistakes_and_old_files_still_load() {
        let seed = |app: serde_json::Value| -> Result<Org, String> {
            let file: SeedFile = serde_json::from_value(serde_json::json!({
                "users": [{ "login": "a@x" }],
                "groups": [{ "name": "g" }],
                "tokens": [{ "token": "t", "user": "a@x", "roles": [{ "type": "APP_ADMIN" }] }],
                "apps": [app]
            }))
            .map_err(|e| e.to_string())?;
            let mut org = Org::new(1, 0);
            file.apply(&mut org, 0).map(|()| org)
        };
        let org = seed(serde_json::json!({
            "name": "x", "label": "X", "signOnMode": "BOOKMARK", "users": ["a@x"], "groups": ["g"]
        }))
        .unwrap();
        assert_eq!(org.users[0].roles[0].kind, RoleKind::AppAdmin);
        assert!(org.apps[0].id.starts_with("0oa") && org.apps[0].id.len() == 20);
        for (app, err) in [
            (
                serde_json::json!({ "name": "x", "label": "X", "signOnMode": "WS_FEDERATION" }),
                "app X: signOnMode \"WS_FEDERATION\" is not one of SAML_2_0, OPENID_CONNECT, BOOKMARK, AUTO_LOGIN",
            ),
            (
                serde_json::json!({ "name": "x", "label": "X", "signOnMode": "BOOKMARK", "status": "DELETED" }),
                "app X: status \"DELETED\" is not ACTIVE or INACTIVE",
            ),
            (
                serde_json::json!({ "name": "x", "label": "X", "signOnMode": "BOOKMARK", "users": ["b@x"] }),
                "app X: user \"b@x\" is not a user",
            ),
            (
                serde_json::json!({ "name": "x", "label": "X", "signOnMode": "BOOKMARK", "groups": ["h"] }),
                "app X: group \"h\" is not a group",
            ),
            (
                serde_json::json!({ "name": "x", "label": "X", "signOnMode": "BOOKMARK", "groups": ["g", "g"] }),
                "app X: group \"g\" is listed twice",
            ),
        ] {
            assert_eq!(seed(app).unwrap_err(), err);
        }
        assert!(seed(
            serde_json::json!({ "name": "x", "label": "X", "signOnMode": "BOOKMARK", "color": 1 })
        )
        .unwrap_err()
        .contains("unknown field"));
        // A file without apps loads, and a snapshot of an org without apps has no `apps` key.
        let file: SeedFile = serde_json::from_str(r#"{"users": [{"login": "a@x"}]}"#).unwrap();
        let mut org = Org::new(1, 0);
        file.apply(&mut org, 0).unwrap();
        let snap = serde_json::to_value(SeedFile::snapshot(&org)).unwrap();
        assert!(snap.get("apps").is_none(), "{snap}");
    }
}
