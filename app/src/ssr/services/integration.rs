//! The Okta integration: validating and saving its settings (audited), building the Okta client
//! from them, and the connection test that shows admins what Gatepass can and cannot do.

use std::sync::Arc;
use std::time::Duration;

use crate::error::AppError;
use crate::model::{
    AuditAction, AuthMethod, Capability, ConnectionReport, GroupKind, IntegrationInput,
    IntegrationSettings, StepOutcome, TestStep, Timestamp,
};
use crate::ssr::auth::Admin;
use crate::ssr::clock::Clock;
use crate::ssr::db::{audit, integration, Db};
use crate::ssr::okta::client::{parse_org_url, OktaSettings};
use crate::ssr::okta::credential::SERVICE_APP_SCOPES;
use crate::ssr::okta::{Cursor, OktaApi, OktaClient, OktaCredential, OktaError, OktaTrust};
use crate::ssr::secrets::{CachedSecrets, SecretRef};

impl From<OktaError> for AppError {
    fn from(e: OktaError) -> Self {
        tracing::warn!(error = %e, "Okta call failed");
        match e {
            OktaError::Unreachable(_) | OktaError::RateLimited => {
                AppError::Unavailable("Okta".into())
            }
            OktaError::Credential(_) => AppError::Unavailable("The Okta credential".into()),
            _ => AppError::Conflict(
                "Okta refused the request; the details are in the server log.".into(),
            ),
        }
    }
}

/// Parses the settings form; the first problem found is reported with its field. The org must
/// be one `trust` allows, and so must an `env:`/`file:` secret reference; a changed org needs
/// its secret reference chosen again (`before` is what is saved now).
pub fn parse_input(
    input: &IntegrationInput,
    trust: &OktaTrust,
    before: Option<&IntegrationSettings>,
    now: Timestamp,
    by: &str,
) -> Result<IntegrationSettings, AppError> {
    let org_url = parse_org_url(&input.org_url).map_err(|m| AppError::invalid("Okta domain", m))?;
    trust
        .check_org(&org_url)
        .map_err(|m| AppError::invalid("Okta domain", m))?;
    let auth_method = AuthMethod::parse(input.auth_method.trim()).ok_or_else(|| {
        AppError::invalid(
            "Authentication",
            "choose an API token or an OAuth 2.0 service app",
        )
    })?;
    let secret_ref: SecretRef = input.secret_ref.trim().parse().map_err(|m: String| {
        AppError::invalid(
            "Secret reference",
            format!("{m}. Enter where the secret is kept, never the secret itself"),
        )
    })?;
    trust
        .check_secret_ref(&secret_ref)
        .map_err(|m| AppError::invalid("Secret reference", m))?;
    let org = org_url.as_str().trim_end_matches('/').to_owned();
    if let Some(before) = before {
        if before.org_url != org && before.secret_ref == secret_ref.to_string() {
            return Err(AppError::invalid(
                "Secret reference",
                "the Okta domain changed: choose the secret reference for the new org again \
                 (the saved one belongs to the previous org)",
            ));
        }
    }
    let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let client_id = text(&input.client_id);
    let key_id = text(&input.key_id);
    if auth_method == AuthMethod::OAuthServiceApp && client_id.is_none() {
        return Err(AppError::invalid(
            "Client id",
            "a service app needs its client id (0oa…)",
        ));
    }
    let number = |field: &str, raw: &str, min: i64, max: i64| -> Result<i64, AppError> {
        match raw.trim().parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(AppError::invalid(
                field,
                format!("enter a whole number from {min} to {max}"),
            )),
        }
    };
    let sync_incremental_minutes = number(
        "Incremental sync every (minutes)",
        &input.sync_incremental_minutes,
        1,
        1440,
    )?;
    let sync_full_hours = number("Full sync every (hours)", &input.sync_full_hours, 1, 168)?;
    let mut group_types = Vec::new();
    for t in input
        .group_types
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let t = t.to_ascii_uppercase();
        if GroupKind::parse(&t).is_none() {
            return Err(AppError::invalid(
                "Group types",
                format!("{t:?} is not an Okta group type (OKTA_GROUP, APP_GROUP, BUILT_IN)"),
            ));
        }
        if !group_types.contains(&t) {
            group_types.push(t);
        }
    }
    Ok(IntegrationSettings {
        org_url: org,
        auth_method,
        secret_is_local: secret_ref.source.is_local(),
        secret_ref: secret_ref.to_string(),
        client_id: if auth_method == AuthMethod::OAuthServiceApp {
            client_id
        } else {
            None
        },
        key_id: if auth_method == AuthMethod::OAuthServiceApp {
            key_id
        } else {
            None
        },
        sync_incremental_minutes,
        sync_full_hours,
        group_name_prefix: text(&input.group_name_prefix),
        group_types,
        updated_at: now,
        updated_by: by.to_owned(),
    })
}

/// The client settings for saved integration settings, refused unless `trust` allows both the
/// org and the secret reference (settings saved before the configuration changed, or written
/// to the database by other means, are not used).
pub fn okta_settings(s: &IntegrationSettings, trust: &OktaTrust) -> Result<OktaSettings, AppError> {
    let org_url = parse_org_url(&s.org_url).map_err(|m| AppError::invalid("Okta domain", m))?;
    trust.check_org(&org_url).map_err(|m| {
        tracing::warn!("saved Okta settings name an org the configuration does not allow");
        AppError::invalid("Okta domain", m)
    })?;
    let secret: SecretRef = s
        .secret_ref
        .parse()
        .map_err(|m: String| AppError::invalid("Secret reference", m))?;
    trust.check_secret_ref(&secret).map_err(|m| {
        tracing::warn!(
            "saved Okta settings name a secret reference the configuration does not allow"
        );
        AppError::invalid("Secret reference", m)
    })?;
    let credential = match s.auth_method {
        AuthMethod::ApiToken => OktaCredential::ApiToken { token: secret },
        AuthMethod::OAuthServiceApp => OktaCredential::ServiceApp {
            client_id: s.client_id.clone().unwrap_or_default(),
            key_id: s.key_id.clone(),
            private_key: secret,
            scopes: SERVICE_APP_SCOPES.iter().map(|s| s.to_string()).collect(),
        },
    };
    Ok(OktaSettings::new(org_url, credential))
}

/// Operations on the integration.
pub struct IntegrationService<'a> {
    pub db: &'a Db,
    pub clock: &'a dyn Clock,
    pub secrets: &'a CachedSecrets,
    pub trust: &'a OktaTrust,
}

impl IntegrationService<'_> {
    /// The saved settings, if any.
    pub async fn current(&self) -> Result<Option<IntegrationSettings>, AppError> {
        Ok(integration::find_integration(self.db).await?)
    }

    /// Validates and saves the settings, with an audit event, in one transaction.
    #[tracing::instrument(skip(self, admin, input), fields(admin = %admin.me().login))]
    pub async fn save(
        &self,
        admin: &Admin,
        input: &IntegrationInput,
    ) -> Result<IntegrationSettings, AppError> {
        self.save_as(&admin.me().login, input).await
    }

    /// Saves settings on behalf of `actor` (an admin, or `config` at start-up).
    pub async fn save_as(
        &self,
        actor: &str,
        input: &IntegrationInput,
    ) -> Result<IntegrationSettings, AppError> {
        let now = self.clock.timestamp();
        let before = integration::find_integration(self.db).await?;
        let settings = parse_input(input, self.trust, before.as_ref(), now, actor)?;
        let mut tx = self.db.begin_write().await?;
        integration::save_integration(&mut tx, &settings).await?;
        let details = serde_json::json!({
            "before": before.as_ref().map(audit_view),
            "after": audit_view(&settings),
        });
        audit::insert_audit_event(
            &mut tx,
            now,
            actor,
            AuditAction::IntegrationSaved,
            "integration",
            &details,
        )
        .await?;
        tx.commit().await?;
        // A new reference must be read afresh.
        if let Ok(r) = settings.secret_ref.parse::<SecretRef>() {
            self.secrets.forget(&r).await;
        }
        Ok(settings)
    }

    /// Runs the connection test's steps and reads the capabilities.
    #[tracing::instrument(skip(self, _admin))]
    pub async fn test_connection(&self, _admin: &Admin) -> Result<ConnectionReport, AppError> {
        let settings = self
            .current()
            .await?
            .ok_or_else(|| AppError::Conflict("Save the Okta settings first.".into()))?;
        Ok(connection_report(&settings, self.secrets, self.trust).await)
    }
}

fn audit_view(s: &IntegrationSettings) -> serde_json::Value {
    serde_json::json!({
        "org_url": s.org_url,
        "auth_method": s.auth_method.as_str(),
        "secret_ref": s.secret_ref,
        "client_id": s.client_id,
        "key_id": s.key_id,
        "sync_incremental_minutes": s.sync_incremental_minutes,
        "sync_full_hours": s.sync_full_hours,
        "group_name_prefix": s.group_name_prefix,
        "group_types": s.group_types,
    })
}

fn step(name: &str, outcome: StepOutcome, detail: impl Into<String>) -> TestStep {
    TestStep {
        name: name.into(),
        outcome,
        detail: detail.into(),
    }
}

fn okta_refusal(e: &OktaError) -> String {
    match e {
        OktaError::Api {
            status,
            code,
            summary,
            ..
        } => format!("Okta answered {status} {code}: {summary}"),
        other => other.to_string(),
    }
}

/// The connection test against `settings`, with a fresh client (nothing cached).
pub async fn connection_report(
    settings: &IntegrationSettings,
    secrets: &CachedSecrets,
    trust: &OktaTrust,
) -> ConnectionReport {
    let mut report = ConnectionReport {
        steps: Vec::new(),
        acts_as: None,
        roles: Vec::new(),
        capabilities: Vec::new(),
    };
    let names = [
        "Domain reachable",
        "Credential found in the secret store",
        "Credential accepted by Okta",
        "Who the credential acts as",
        "Capabilities",
    ];
    let skip_rest = |report: &mut ConnectionReport, from: usize| {
        for name in &names[from..] {
            report.steps.push(step(
                name,
                StepOutcome::Skipped,
                "skipped: an earlier step failed",
            ));
        }
    };

    // 1. Reachable, and answering like Okta.
    let client_settings = match okta_settings(settings, trust) {
        Ok(s) => s,
        Err(e) => {
            report
                .steps
                .push(step(names[0], StepOutcome::Failed, e.to_string()));
            skip_rest(&mut report, 1);
            return report;
        }
    };
    let probe = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map(|c| {
            c.get(
                client_settings
                    .org_url
                    .join("/api/v1/users?limit=1")
                    .expect("static"),
            )
        });
    let reachable = match probe {
        Ok(req) => req.send().await.map_err(|e| {
            if e.is_timeout() {
                "no answer within 10 s".to_owned()
            } else {
                "connection failed (DNS, TLS or network)".to_owned()
            }
        }),
        Err(e) => Err(e.to_string()),
    };
    match reachable {
        Ok(res) if res.headers().contains_key("x-okta-request-id") => report.steps.push(step(
            names[0],
            StepOutcome::Passed,
            format!(
                "{} answers as Okta does (HTTP {} without a credential)",
                settings.org_url,
                res.status().as_u16()
            ),
        )),
        Ok(res) => {
            report.steps.push(step(
                names[0],
                StepOutcome::Failed,
                format!(
                    "{} answered HTTP {}, but not as an Okta org",
                    settings.org_url,
                    res.status().as_u16()
                ),
            ));
            skip_rest(&mut report, 1);
            return report;
        }
        Err(reason) => {
            report.steps.push(step(
                names[0],
                StepOutcome::Failed,
                format!("{}: {reason}", settings.org_url),
            ));
            skip_rest(&mut report, 1);
            return report;
        }
    }

    // 2. The secret is where the reference says.
    let reference = client_settings.credential.secret_ref().clone();
    secrets.forget(&reference).await;
    match secrets.get(&reference).await {
        Ok(_) => report.steps.push(step(
            names[1],
            StepOutcome::Passed,
            format!(
                "{reference} was read (the value is never shown){}",
                if reference.source.is_local() {
                    "; a local secret, for development and demos only"
                } else {
                    ""
                }
            ),
        )),
        Err(e) => {
            report
                .steps
                .push(step(names[1], StepOutcome::Failed, e.to_string()));
            skip_rest(&mut report, 2);
            return report;
        }
    }

    // 3. Okta accepts it.
    let client = match OktaClient::new(
        OktaSettings {
            max_attempts: 2,
            ..client_settings
        },
        secrets.clone(),
    ) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            report
                .steps
                .push(step(names[2], StepOutcome::Failed, e.to_string()));
            skip_rest(&mut report, 3);
            return report;
        }
    };
    let me = match settings.auth_method {
        AuthMethod::ApiToken => client.me().await,
        AuthMethod::OAuthServiceApp => client
            .users_page(&Cursor::users(None, 1))
            .await
            .map(|_| None),
    };
    let me = match me {
        Ok(me) => {
            report.steps.push(step(
                names[2],
                StepOutcome::Passed,
                "Okta accepted the credential",
            ));
            me
        }
        Err(e) => {
            report
                .steps
                .push(step(names[2], StepOutcome::Failed, okta_refusal(&e)));
            skip_rest(&mut report, 3);
            return report;
        }
    };

    // 4. Who, with which admin roles.
    let mut manage_scope: Option<Option<Vec<String>>> = None; // None: no right; Some(None): all
    let mut apps_admin = false;
    match (&me, settings.auth_method) {
        (Some(user), _) => {
            report.acts_as = Some(user.profile.login.clone());
            match client.user_roles(&user.id).await {
                Ok(roles) => {
                    for role in &roles {
                        report.roles.push(role.kind.clone());
                        match role.kind.as_str() {
                            "SUPER_ADMIN" | "ORG_ADMIN" => {
                                manage_scope = Some(None);
                                apps_admin = true;
                            }
                            "APP_ADMIN" => apps_admin = true,
                            "GROUP_MEMBERSHIP_ADMIN" | "USER_ADMIN" => {
                                let targets = client
                                    .role_group_targets(&user.id, &role.id)
                                    .await
                                    .unwrap_or_default();
                                let names: Vec<String> =
                                    targets.into_iter().map(|g| g.profile.name).collect();
                                manage_scope = match (manage_scope.take(), names.is_empty()) {
                                    (Some(None), _) | (_, true) => Some(None),
                                    (Some(Some(mut prev)), false) => {
                                        prev.extend(names);
                                        Some(Some(prev))
                                    }
                                    (None, false) => Some(Some(names)),
                                };
                            }
                            _ => {}
                        }
                    }
                    report.steps.push(step(
                        names[3],
                        StepOutcome::Passed,
                        format!(
                            "{} with the admin roles: {}",
                            user.profile.login,
                            if roles.is_empty() {
                                "none".to_owned()
                            } else {
                                report.roles.join(", ")
                            }
                        ),
                    ));
                }
                Err(e) => report
                    .steps
                    .push(step(names[3], StepOutcome::Failed, okta_refusal(&e))),
            }
        }
        (None, _) => {
            report.acts_as = settings.client_id.clone();
            report.steps.push(step(
                names[3],
                StepOutcome::Passed,
                format!(
                    "service app {}; Okta limits it by its granted scopes and admin roles",
                    settings.client_id.as_deref().unwrap_or("?")
                ),
            ));
        }
    }

    // 5. Capabilities, probed where reading, derived from roles where writing.
    let read_users = client.users_page(&Cursor::users(None, 1)).await;
    let read_groups = client.groups_page(&Cursor::groups(None, 1)).await;
    fn allowed_to<T>(r: &Result<T, OktaError>) -> Option<bool> {
        match r {
            Ok(_) => Some(true),
            Err(e) if e.status() == Some(403) => Some(false),
            // A service app not granted the apps scopes: its token request is refused.
            Err(e) if e.code() == Some("invalid_scope") => Some(false),
            Err(_) => None,
        }
    }
    let users_ok = allowed_to(&read_users);
    let groups_ok = allowed_to(&read_groups);
    report.capabilities.push(Capability {
        name: "Read users".into(),
        allowed: users_ok,
        scope: "All users".into(),
        consequence: match users_ok {
            Some(true) => "Gatepass syncs people and matches sign-ins to them.".into(),
            _ => "Gatepass cannot sync people: nobody can be matched or request access.".into(),
        },
    });
    report.capabilities.push(Capability {
        name: "Read groups and members".into(),
        allowed: groups_ok,
        scope: "All groups".into(),
        consequence: match groups_ok {
            Some(true) => "Gatepass syncs groups and memberships, and finds drift.".into(),
            _ => "Gatepass cannot list groups: nothing can be made requestable.".into(),
        },
    });
    let (allowed, scope, consequence) = match (settings.auth_method, manage_scope) {
        (AuthMethod::ApiToken, Some(None)) => (
            Some(true),
            "All OKTA_GROUP groups".to_owned(),
            "Approved access is added at once and removed at expiry, for any group.".to_owned(),
        ),
        (AuthMethod::ApiToken, Some(Some(groups))) => (
            Some(true),
            format!("Only: {}", groups.join(", ")),
            "Only these groups can be requestable; access to others cannot be granted.".to_owned(),
        ),
        (AuthMethod::ApiToken, None) => (
            Some(false),
            "None".to_owned(),
            "Gatepass can read but not grant: approvals cannot add memberships.".to_owned(),
        ),
        (AuthMethod::OAuthServiceApp, _) => (
            None,
            "Scope okta.groups.manage granted; the app's admin roles decide which groups"
                .to_owned(),
            "Okta answers the first grant; a refusal shows on the grant and in the log.".to_owned(),
        ),
    };
    report.capabilities.push(Capability {
        name: "Manage group membership".into(),
        allowed,
        scope,
        consequence,
    });
    // Okta apps as requestable resources: optional, so neither row fails the check.
    let apps_ok = allowed_to(&client.apps_page(&Cursor::apps(1)).await);
    report.capabilities.push(Capability {
        name: "Read apps and assignments".into(),
        allowed: apps_ok,
        scope: "ACTIVE apps".into(),
        consequence: match apps_ok {
            Some(true) => "Gatepass syncs apps: a policy can make an app requestable.".into(),
            _ => "Apps cannot be requested (grant okta.apps.read to a service app).".into(),
        },
    });
    let (allowed, scope, consequence) = match (settings.auth_method, apps_admin) {
        (AuthMethod::ApiToken, true) => (
            Some(true),
            "All apps".to_owned(),
            "Approved app access is assigned at once and unassigned at expiry.".to_owned(),
        ),
        (AuthMethod::ApiToken, false) => (
            Some(false),
            "None".to_owned(),
            "Approvals cannot assign apps (needs SUPER_ADMIN, ORG_ADMIN or APP_ADMIN).".to_owned(),
        ),
        (AuthMethod::OAuthServiceApp, _) => (
            None,
            "Scope okta.apps.manage granted; the app's admin roles decide which apps".to_owned(),
            "Okta answers the first assignment; a refusal shows on the grant and in the log."
                .to_owned(),
        ),
    };
    report.capabilities.push(Capability {
        name: "Manage app assignments".into(),
        allowed,
        scope,
        consequence,
    });
    let failed = [users_ok, groups_ok].contains(&Some(false));
    report.steps.push(step(
        names[4],
        if failed {
            StepOutcome::Failed
        } else {
            StepOutcome::Passed
        },
        if failed {
            "the credential lacks a right Gatepass needs (see the table)"
        } else {
            "see the table"
        },
    ));
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::testing::ms;

    fn input() -> IntegrationInput {
        IntegrationInput {
            org_url: "acme.okta.com".into(),
            auth_method: "api_token".into(),
            secret_ref: "aws-secretsmanager:gatepass/okta#token".into(),
            client_id: "ignored-for-tokens".into(),
            key_id: String::new(),
            sync_incremental_minutes: "10".into(),
            sync_full_hours: "24".into(),
            group_name_prefix: " aws- ".into(),
            group_types: "okta_group, APP_GROUP,OKTA_GROUP".into(),
        }
    }

    fn trust() -> OktaTrust {
        OktaTrust::new(
            vec![
                parse_org_url("acme.okta.com").unwrap(),
                parse_org_url("acme-preview.oktapreview.com").unwrap(),
            ],
            vec!["env:OKTA_TOKEN".parse().unwrap()],
        )
    }

    #[test]
    fn parses_and_normalises_settings() {
        let s = parse_input(&input(), &trust(), None, ms(5), "ada").unwrap();
        assert_eq!(s.org_url, "https://acme.okta.com");
        assert_eq!(s.auth_method, AuthMethod::ApiToken);
        assert!(!s.secret_is_local);
        assert_eq!(s.client_id, None, "client id only for service apps");
        assert_eq!(s.group_name_prefix.as_deref(), Some("aws-"));
        assert_eq!(s.group_types, ["OKTA_GROUP", "APP_GROUP"]);
    }

    #[test]
    fn every_bad_field_is_named() {
        type Case = (fn(&mut IntegrationInput), &'static str, &'static str);
        let cases: [Case; 11] = [
            (
                |i| i.org_url = "attacker.example".into(),
                "Okta domain",
                "only allows https://acme.okta.com",
            ),
            (
                |i| i.org_url = "http://127.0.0.1:9".into(),
                "Okta domain",
                "only allows",
            ),
            (
                |i| i.secret_ref = "env:GATEPASS_OIDC__CLIENT_SECRET".into(),
                "Secret reference",
                "only be chosen in the server's configuration",
            ),
            (
                |i| i.secret_ref = "file:/etc/shadow".into(),
                "Secret reference",
                "only be chosen in the server's configuration",
            ),
            (
                |i| i.org_url = "http://acme.okta.com".into(),
                "Okta domain",
                "https",
            ),
            (
                |i| i.auth_method = "password".into(),
                "Authentication",
                "API token",
            ),
            (
                |i| i.secret_ref = "00abcdefTOKEN".into(),
                "Secret reference",
                "never the secret itself",
            ),
            (
                |i| {
                    i.auth_method = "oauth_service_app".into();
                    i.client_id = " ".into();
                },
                "Client id",
                "client id",
            ),
            (
                |i| i.sync_incremental_minutes = "0".into(),
                "Incremental sync",
                "1 to 1440",
            ),
            (
                |i| i.sync_full_hours = "a day".into(),
                "Full sync",
                "1 to 168",
            ),
            (
                |i| i.group_types = "OKTA_GROUP,SECURITY".into(),
                "Group types",
                "SECURITY",
            ),
        ];
        for (change, field, message) in cases {
            let mut i = input();
            change(&mut i);
            match parse_input(&i, &trust(), None, ms(0), "ada") {
                Err(AppError::Invalid {
                    field: f,
                    message: m,
                }) => {
                    assert!(f.starts_with(field), "{f}");
                    assert!(m.contains(message), "{f}: {m}");
                }
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_new_org_needs_its_secret_reference_chosen_again() {
        let saved = parse_input(&input(), &trust(), None, ms(1), "ada").unwrap();
        let mut moved = input();
        moved.org_url = "acme-preview.oktapreview.com".into();
        match parse_input(&moved, &trust(), Some(&saved), ms(2), "ada") {
            Err(AppError::Invalid { field, message }) => {
                assert_eq!(field, "Secret reference");
                assert!(message.contains("choose the secret reference"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        moved.secret_ref = "aws-secretsmanager:gatepass/okta-preview#token".into();
        let s = parse_input(&moved, &trust(), Some(&saved), ms(2), "ada").unwrap();
        assert_eq!(s.org_url, "https://acme-preview.oktapreview.com");
        // The same org with the same reference is an ordinary edit.
        let mut same = input();
        same.sync_full_hours = "12".into();
        assert!(parse_input(&same, &trust(), Some(&saved), ms(3), "ada").is_ok());
    }

    #[test]
    fn saved_settings_outside_the_trust_build_no_client() {
        let saved = parse_input(&input(), &trust(), None, ms(1), "ada").unwrap();
        assert!(okta_settings(&saved, &trust()).is_ok());
        let elsewhere = OktaTrust::new(vec![parse_org_url("other.okta.com").unwrap()], vec![]);
        assert!(okta_settings(&saved, &elsewhere).is_err());
        assert!(okta_settings(&saved, &OktaTrust::default()).is_err());
        let local = IntegrationSettings {
            secret_ref: "env:GATEPASS_OIDC__CLIENT_SECRET".into(),
            ..saved
        };
        assert!(okta_settings(&local, &trust()).is_err());
    }
}
