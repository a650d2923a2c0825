//! The built-in demo company, Northwind Labs (`--seed demo`): 26 people across IT,
//! engineering, finance, sales, support and people ops, in every user status; 21 groups of
//! every type, one kept by a group rule; 4 apps ([`DEMO_APPS`]): Datadog for engineering,
//! the production AWS console with nobody assigned (requested through Gatepass), Snowflake for
//! one data engineer, and an inactive legacy Jira. The org is `demo.json`, an ordinary seed file
//! embedded in the binary; [`demo`] adds what is chosen at start: the API token and Gatepass's
//! OIDC app.

use super::{SeedFile, SeedOidcClient, SeedRole, SeedToken};

/// The demo org as a seed file (it also works as `--seed server/okta-sim/src/seed/demo.json`).
pub const DEMO_SEED: &str = include_str!("demo.json");

/// Who the demo's API token acts as: Sam Reyes, IT administrator and Okta super admin.
pub const TOKEN_OWNER: &str = "sam.reyes@northwind.example";

/// Who is on call for the demo's PagerDuty schedule (`PDEMO01`, *Platform primary*).
pub const DEMO_ON_CALL: &str = "lena.fischer@northwind.example";

/// One of the demo's apps and who is assigned to it.
#[derive(Debug, Clone, Copy)]
pub struct DemoApp {
    pub id: &'static str,
    pub label: &'static str,
    pub status: &'static str,
    /// Assigned groups, by name (their members hold the app with scope `GROUP`).
    pub groups: &'static [&'static str],
    /// Users assigned directly, by login (scope `USER`).
    pub users: &'static [&'static str],
}

/// The demo's apps, as `demo.json` seeds them.
pub const DEMO_APPS: [DemoApp; 4] = [
    DemoApp {
        id: "0oademodatadog00a0g4",
        label: "Datadog",
        status: "ACTIVE",
        groups: &["engineering"],
        users: &[],
    },
    DemoApp {
        id: "0oademoawsprod00a0g4",
        label: "AWS Console \u{2014} Production",
        status: "ACTIVE",
        groups: &[],
        users: &[],
    },
    DemoApp {
        id: "0oademosnowflk00a0g4",
        label: "Snowflake",
        status: "ACTIVE",
        groups: &[],
        users: &["chloe.martin@northwind.example"],
    },
    DemoApp {
        id: "0oademojiraold00a0g4",
        label: "Legacy Jira",
        status: "INACTIVE",
        groups: &[],
        users: &[],
    },
];

/// The demo org, with `api_token` as Sam Reyes's SSWS token (a super admin) and `client` as
/// the OIDC app people sign in to Gatepass with.
pub fn demo(api_token: &str, client: SeedOidcClient) -> SeedFile {
    let mut file: SeedFile =
        serde_json::from_str(DEMO_SEED).expect("demo.json is a valid seed file (tested below)");
    file.tokens.push(SeedToken {
        token: api_token.into(),
        user: TOKEN_OWNER.into(),
        roles: vec![SeedRole {
            kind: "SUPER_ADMIN".into(),
            groups: None,
        }],
    });
    file.oidc_clients.push(client);
    file
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{GroupKind, Org, RoleKind};

    fn client() -> SeedOidcClient {
        SeedOidcClient {
            client_id: "gatepass".into(),
            client_secret: "s".into(),
            redirect_uris: vec!["http://127.0.0.1:3000/auth/callback".into()],
            post_logout_redirect_uris: vec![],
        }
    }

    fn demo_org() -> Org {
        let mut org = Org::new(1, 0);
        demo("tok", client()).apply(&mut org, 0).unwrap();
        org
    }

    #[test]
    fn demo_seed_is_a_consistent_company() {
        let org = demo_org();
        for kind in [GroupKind::Okta, GroupKind::App, GroupKind::BuiltIn] {
            assert!(org.groups.iter().any(|g| g.kind == kind), "{kind:?}");
        }
        for status in crate::store::USER_STATUSES {
            let n = org.users.iter().filter(|u| u.status == status).count();
            // The demo has every status but the transient ones nobody can sign in with.
            if !["PROVISIONED", "RECOVERY", "PASSWORD_EXPIRED", "LOCKED_OUT"].contains(&status) {
                assert!(n > 0, "{status}");
            }
        }
        let eng = org.group_by_id_or_name("engineering").unwrap();
        assert!(org.rule_managed(eng));
        let sam = org.find_user(TOKEN_OWNER).unwrap();
        assert_eq!(org.tokens.get("tok"), Some(&sam));
        assert!(org.users[sam as usize]
            .roles
            .iter()
            .any(|r| r.kind == RoleKind::SuperAdmin));
        assert!(org.oidc_clients.contains_key("gatepass"));
    }

    /// The people `make demo` prints and the browser tests sign in as: login, status, title and
    /// groups (besides Everyone).
    #[rustfmt::skip]
    const PEOPLE: [(&str, &str, &str, &str); 26] = [
        ("maya.okafor", "ACTIVE", "IT Director", "gatepass-admins"),
        ("sam.reyes", "ACTIVE", "IT Administrator", "gatepass-admins AD-Domain-Admins"),
        ("priya.natarajan", "ACTIVE", "VP Engineering", "engineering eng-leads github-org-owners AD-VPN-Users"),
        ("tom.becker", "ACTIVE", "Engineering Manager, Platform", "engineering eng-leads aws-prod-readonly k8s-prod-deployers AD-VPN-Users"),
        ("lena.fischer", "ACTIVE", "Site Reliability Engineer", "engineering aws-prod-admin aws-prod-readonly aws-staging-admin k8s-prod-deployers AD-VPN-Users"),
        ("jonas.berg", "ACTIVE", "Backend Engineer", "engineering aws-staging-admin AD-VPN-Users"),
        ("aiko.tanaka", "ACTIVE", "Backend Engineer", "engineering aws-staging-admin AD-VPN-Users"),
        ("diego.alvarez", "ACTIVE", "Frontend Engineer", "engineering AD-VPN-Users"),
        ("chloe.martin", "ACTIVE", "Data Engineer", "engineering prod-db-readonly AD-VPN-Users"),
        ("omar.haddad", "ACTIVE", "Security Engineer", "engineering aws-prod-readonly AD-VPN-Users"),
        ("nora.lindqvist", "ACTIVE", "Engineering Manager, Data", "engineering eng-leads AD-VPN-Users"),
        ("ravi.shah", "ACTIVE", "Contractor, Mobile", "engineering AD-VPN-Users"),
        ("grace.kim", "ACTIVE", "Finance Director", "finance netsuite-approvers"),
        ("peter.novak", "ACTIVE", "Accountant", "finance"),
        ("hannah.cohen", "ACTIVE", "Payroll Specialist", "finance payroll-access"),
        ("luis.romero", "ACTIVE", "Head of Sales", "sales salesforce-admins"),
        ("emma.wilson", "ACTIVE", "Account Executive", "sales"),
        ("kwame.mensah", "ACTIVE", "Sales Engineer", "sales"),
        ("sofia.rossi", "ACTIVE", "Support Lead", "support zendesk-admins"),
        ("ben.carter", "ACTIVE", "Support Engineer", "support"),
        ("mia.schmidt", "ACTIVE", "Support Engineer", "support"),
        ("yusuf.demir", "ACTIVE", "People Partner", "people-ops"),
        ("julia.santos", "ACTIVE", "Recruiter", "people-ops"),
        ("victor.petrov", "DEPROVISIONED", "Backend Engineer (left)", ""),
        ("elsa.nyberg", "SUSPENDED", "Account Executive (on leave)", "sales"),
        ("felix.wagner", "STAGED", "Incoming Engineer", "engineering AD-VPN-Users"),
    ];

    /// The demo's groups after Everyone, in order, with their type.
    #[rustfmt::skip]
    const GROUPS: [(&str, &str); 21] = [
        ("gatepass-admins", "OKTA_GROUP"), ("engineering", "OKTA_GROUP"), ("finance", "OKTA_GROUP"),
        ("sales", "OKTA_GROUP"), ("support", "OKTA_GROUP"), ("people-ops", "OKTA_GROUP"),
        ("eng-leads", "OKTA_GROUP"), ("aws-prod-admin", "OKTA_GROUP"),
        ("aws-prod-readonly", "OKTA_GROUP"), ("aws-staging-admin", "OKTA_GROUP"),
        ("prod-db-readonly", "OKTA_GROUP"), ("prod-db-admin", "OKTA_GROUP"),
        ("k8s-prod-deployers", "OKTA_GROUP"), ("github-org-owners", "OKTA_GROUP"),
        ("salesforce-admins", "OKTA_GROUP"), ("netsuite-approvers", "OKTA_GROUP"),
        ("payroll-access", "OKTA_GROUP"), ("zendesk-admins", "OKTA_GROUP"),
        ("break-glass", "OKTA_GROUP"), ("AD-Domain-Admins", "APP_GROUP"),
        ("AD-VPN-Users", "APP_GROUP"),
    ];

    #[test]
    fn demo_seed_holds_the_expected_people_and_groups() {
        let org = demo_org();
        let got: Vec<(String, &str, &str, Vec<&str>)> = org
            .users
            .iter()
            .map(|u| {
                let groups = u
                    .groups
                    .iter()
                    .filter(|&&g| g != Org::EVERYONE)
                    .map(|&g| org.groups[g as usize].name.as_str())
                    .collect();
                let title = u.title.as_deref().unwrap_or_default();
                (u.login.clone(), u.status.as_str(), title, groups)
            })
            .collect();
        let want: Vec<(String, &str, &str, Vec<&str>)> = PEOPLE
            .iter()
            .map(|&(who, status, title, groups)| {
                let groups = groups.split_whitespace().collect();
                (format!("{who}@northwind.example"), status, title, groups)
            })
            .collect();
        assert_eq!(got, want);

        let groups: Vec<(&str, &str)> = org
            .groups
            .iter()
            .map(|g| (g.name.as_str(), g.kind.as_str()))
            .collect();
        assert_eq!(groups[0], ("Everyone", "BUILT_IN"));
        assert_eq!(groups[1..], GROUPS);
        let maya = &org.users[org.find_user("maya.okafor@northwind.example").unwrap() as usize];
        let roles: Vec<_> = maya.roles.iter().map(|r| r.kind).collect();
        assert_eq!(roles, [RoleKind::ReadOnlyAdmin]);

        let owners = |group: &str| -> Vec<String> {
            let g = org.group_by_id_or_name(group).unwrap();
            org.groups[g as usize]
                .owners
                .iter()
                .map(|o| format!("{} {}", o.who.kind(), o.to_json(&org)["displayName"]))
                .collect()
        };
        assert_eq!(
            owners("aws-prod-admin"),
            ["USER \"Tom Becker\"", "GROUP \"eng-leads\""]
        );
        assert_eq!(owners("break-glass"), ["GROUP \"gatepass-admins\""]);
        assert!(owners("engineering").is_empty());
    }

    #[test]
    fn demo_seed_holds_the_expected_apps_and_assignments() {
        let org = demo_org();
        type Facts<'a> = (&'a str, &'a str, &'a str, Vec<&'a str>, Vec<&'a str>);
        let got: Vec<Facts<'_>> = org
            .apps
            .iter()
            .map(|a| {
                let groups = a
                    .groups
                    .iter()
                    .map(|g| org.groups[g.group as usize].name.as_str())
                    .collect();
                let users = a
                    .users
                    .keys()
                    .map(|&u| org.users[u as usize].login.as_str())
                    .collect();
                (a.id.as_str(), a.label.as_str(), a.status(), groups, users)
            })
            .collect();
        let want: Vec<Facts<'_>> = DEMO_APPS
            .iter()
            .map(|a| (a.id, a.label, a.status, a.groups.to_vec(), a.users.to_vec()))
            .collect();
        assert_eq!(got, want);

        // Every engineer holds Datadog through the engineering group; Chloe holds Snowflake
        // directly; nobody holds the production AWS console yet.
        let datadog = org.find_app("0oademodatadog00a0g4").unwrap();
        let engineers = org.groups[org.group_by_id_or_name("engineering").unwrap() as usize]
            .members
            .clone();
        assert_eq!(org.app_user_set(datadog), engineers);
        let lena = org.find_user("lena.fischer@northwind.example").unwrap();
        assert_eq!(org.app_assignment(datadog, lena).unwrap().scope(), "GROUP");
        let snowflake = org.find_app("0oademosnowflk00a0g4").unwrap();
        let chloe = org.find_user("chloe.martin@northwind.example").unwrap();
        assert_eq!(
            org.app_assignment(snowflake, chloe).unwrap().scope(),
            "USER"
        );
        assert_eq!(org.app_user_set(snowflake).len(), 1);
        let aws = org.find_app("0oademoawsprod00a0g4").unwrap();
        assert!(org.app_user_set(aws).is_empty());
        let modes: Vec<&str> = org.apps.iter().map(|a| a.sign_on_mode.as_str()).collect();
        assert_eq!(modes, ["SAML_2_0", "SAML_2_0", "SAML_2_0", "AUTO_LOGIN"]);
    }
}
