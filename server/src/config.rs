//! Configuration: a TOML file overlaid by `GATEPASS_*` environment variables, validated once at
//! start-up.
//!
//! Environment keys map to config keys by dropping the prefix, lower-casing and reading `__` as
//! a level of nesting: `GATEPASS_DATABASE_URL` is `database_url`, `GATEPASS_DB__MAX_CONNECTIONS`
//! is `db.max_connections`. A value that reads as a TOML literal (`42`, `true`, `["a"]`) is taken
//! as one; anything else is a string. Unknown keys are reported as warnings, wrong values as
//! errors that name the key, what was wrong and what is expected.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Environment variables that configure the process or its tooling rather than a config key.
const NOT_KEYS: &[&str] = &["GATEPASS_CONFIG", "GATEPASS_CACHE"];
/// Prefix of variables read by Gatepass's test suite, not by the server.
const TEST_PREFIX: &str = "GATEPASS_TEST_";

/// The validated configuration of a Gatepass server.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Directory for local state (the default SQLite database lives here).
    pub data_dir: PathBuf,
    /// `sqlite://PATH` (default: `sqlite://<data_dir>/gatepass.db`) or `postgres://…`.
    pub database_url: Option<SecretString>,
    /// Where the built site (`pkg/gatepass.js`, `.wasm`, `.css`) is served from.
    pub site_root: PathBuf,
    /// Log line format.
    pub log_format: LogFormat,
    /// The URL people use to reach Gatepass (default `http://<listen>`); the OIDC redirect URL
    /// and cookie security derive from it.
    pub public_url: Option<String>,
    pub db: DbConfig,
    /// Sign-in with an OpenID Connect provider (Okta). Absent: nobody can sign in.
    pub oidc: Option<OidcConfig>,
    pub session: SessionConfig,
    pub auth: AuthConfig,
    pub secrets: SecretsConfig,
    pub requests: RequestsConfig,
    /// Okta integration settings applied at start-up when none have been saved yet (after
    /// that, admins change them on the settings page).
    pub okta: Option<OktaBootstrap>,
    pub metrics: MetricsConfig,
    pub notifications: NotificationsConfig,
    pub api: ApiConfig,
    /// PagerDuty, for policies that approve whoever is on call. Absent: such policies send
    /// every request to their approvers.
    pub pagerduty: Option<PagerDutyConfig>,
    pub policies: PoliciesConfig,
    /// Largest request body accepted, in bytes (forms are small; larger bodies get 413).
    pub max_request_bytes: usize,
}

/// `[policies]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PoliciesConfig {
    /// A policies file with `[[bundle]]` and `[[policy]]` entries, applied after a directory
    /// sync while Gatepass has no policy and no bundle (a new install). Checked at load.
    pub starter_file: Option<PathBuf>,
}

/// `[pagerduty]`: where PagerDuty's REST API is and the secret reference of its API key (a
/// read-only key is enough). The key goes to this address and no other.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerDutyConfig {
    #[serde(default = "pagerduty_url")]
    pub api_url: String,
    /// `env:NAME`, `file:PATH` or `aws-secretsmanager:…`.
    pub api_key_ref: String,
}

fn pagerduty_url() -> String {
    app::ssr::pagerduty::DEFAULT_API_URL.into()
}

/// The `/api/v1` REST API.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ApiConfig {
    /// Calls one token may make per minute (`GATEPASS_API__RATE_LIMIT_PER_MINUTE`; 0: no
    /// limit); more are answered 429 with `Retry-After`.
    pub rate_limit_per_minute: u32,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            rate_limit_per_minute: 600,
        }
    }
}

/// `/metrics` for Prometheus.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MetricsConfig {
    /// The bearer token a scraper must present (`GATEPASS_METRICS__TOKEN`); unset: `/metrics`
    /// answers 404.
    pub token: Option<SecretString>,
}

/// Notifications: webhooks, email, reminders before grants end.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct NotificationsConfig {
    /// How long before a grant ends its holder is reminded (`15m`, `1d`, …; each only when the
    /// grant lasts longer). Empty: no reminders.
    pub expiry_reminders: Vec<String>,
    /// How long a request waits before its approvers are reminded (`4h`); empty: never.
    pub remind_approvers_after: String,
    /// How long a request waits before the admins are told (`1d`); empty: never.
    pub escalate_to_admins_after: String,
    /// `env:`/`file:` secret references that webhook endpoints may use for their signing
    /// secret (`aws-secretsmanager:` references need no listing): an admin cannot make
    /// Gatepass sign with an arbitrary environment variable or file.
    pub allowed_secret_refs: Vec<String>,
    /// Email to people (`[notifications.email]`); absent: no email.
    pub email: Option<EmailConfig>,
    /// Where Slack's Web API is (`[notifications.slack]`). Admins connect the Slack app on
    /// Admin › Notifications; the bot token goes to this address and no other.
    pub slack: SlackConfig,
}

/// Slack's Web API address: `https://slack.com/api/` unless the operator points Gatepass at a
/// stand-in on this machine (the demo, tests). Optionally the Slack app's settings to start
/// with (secret references), applied at start-up only while no admin has saved any.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SlackConfig {
    pub api_url: String,
    pub bot_token_ref: String,
    pub signing_secret_ref: String,
    pub default_channel: String,
}

impl Default for SlackConfig {
    fn default() -> Self {
        SlackConfig {
            api_url: app::ssr::slack::DEFAULT_API_URL.into(),
            bot_token_ref: String::new(),
            signing_secret_ref: String::new(),
            default_channel: String::new(),
        }
    }
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        NotificationsConfig {
            expiry_reminders: vec!["15m".into(), "1d".into()],
            remind_approvers_after: "4h".into(),
            escalate_to_admins_after: "1d".into(),
            allowed_secret_refs: Vec::new(),
            email: None,
            slack: SlackConfig::default(),
        }
    }
}

/// The SMTP server Gatepass sends people's email through. Only the operator chooses it: the
/// password is sent to this server and no other.
#[derive(Debug, Clone, Deserialize)]
pub struct EmailConfig {
    pub smtp_host: String,
    #[serde(default = "EmailConfig::default_port")]
    pub smtp_port: u16,
    /// `starttls` (default), `tls`, or `none` (a server on this machine only).
    #[serde(default = "EmailConfig::default_security")]
    pub security: String,
    /// The sender, e.g. `Gatepass <gatepass@example.com>`.
    pub from: String,
    #[serde(default)]
    pub username: String,
    /// The SMTP password's secret reference (any kind: the operator chooses it).
    #[serde(default)]
    pub password_ref: String,
}

impl EmailConfig {
    fn default_port() -> u16 {
        587
    }

    fn default_security() -> String {
        "starttls".into()
    }
}

/// Access requests.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RequestsConfig {
    /// A pending request nobody decided for this long expires.
    pub pending_max_age_hours: u64,
}

impl Default for RequestsConfig {
    fn default() -> Self {
        RequestsConfig {
            pending_max_age_hours: 72,
        }
    }
}

/// Where secrets come from.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SecretsConfig {
    /// AWS region of Secrets Manager; without it `aws-secretsmanager:` references fail.
    pub aws_region: Option<String>,
    /// Another Secrets Manager endpoint (VPC endpoint, or a test double).
    pub aws_endpoint_url: Option<String>,
    /// How long a secret is kept in memory before it is read again.
    pub cache_ttl_secs: u64,
}

impl Default for SecretsConfig {
    fn default() -> Self {
        SecretsConfig {
            aws_region: None,
            aws_endpoint_url: None,
            cache_ttl_secs: 300,
        }
    }
}

/// The `[okta]` section: the same fields as the settings page, applied when none are saved;
/// and where the Okta credential may go, which the settings page cannot change.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct OktaBootstrap {
    /// The Okta org. Credentials are only ever sent to it (and to `allowed_org_urls`).
    pub org_url: String,
    /// Other orgs admins may choose on the settings page (e.g. a preview org).
    pub allowed_org_urls: Vec<String>,
    /// `env:`/`file:` references admins may choose on the settings page besides `secret_ref`
    /// (`aws-secretsmanager:` references are always allowed; the IAM policy limits them).
    pub allowed_secret_refs: Vec<String>,
    /// `api_token` or `oauth_service_app`.
    pub auth_method: String,
    /// `aws-secretsmanager:NAME[#key]`, `env:VAR` or `file:PATH`.
    pub secret_ref: String,
    pub client_id: String,
    pub key_id: String,
    pub sync_incremental_minutes: u32,
    pub sync_full_hours: u32,
    pub group_name_prefix: String,
    pub group_types: Vec<String>,
    /// The share (0.01–1) of each of Okta's rate-limit buckets Gatepass may use. Applies
    /// always, not only when the settings are first saved: Okta's limits are org-wide, shared
    /// with every other integration calling the org, so leave them room.
    pub rate_limit_share: f64,
}

impl Default for OktaBootstrap {
    fn default() -> Self {
        OktaBootstrap {
            org_url: String::new(),
            allowed_org_urls: Vec::new(),
            allowed_secret_refs: Vec::new(),
            auth_method: "api_token".into(),
            secret_ref: String::new(),
            client_id: String::new(),
            key_id: String::new(),
            sync_incremental_minutes: 10,
            sync_full_hours: 24,
            group_name_prefix: String::new(),
            group_types: Vec::new(),
            rate_limit_share: app::ssr::okta::client::DEFAULT_RATE_SHARE,
        }
    }
}

impl OktaBootstrap {
    /// Whether the section configures an integration (org and secret), not only the trust.
    pub fn configures_integration(&self) -> bool {
        !self.org_url.trim().is_empty() || !self.secret_ref.trim().is_empty()
    }

    /// Where credentials may be sent and which local references may name them. Values that
    /// do not parse are left out (validation reports them first).
    pub fn trust(&self) -> app::ssr::okta::OktaTrust {
        use app::ssr::okta::client::parse_org_url;
        let orgs = std::iter::once(&self.org_url)
            .chain(&self.allowed_org_urls)
            .filter(|u| !u.trim().is_empty())
            .filter_map(|u| parse_org_url(u).ok())
            .collect();
        let refs = std::iter::once(&self.secret_ref)
            .chain(&self.allowed_secret_refs)
            .filter_map(|r| r.parse().ok())
            .collect();
        app::ssr::okta::OktaTrust::new(orgs, refs)
    }

    /// As the settings form would send it.
    pub fn input(&self) -> app::model::IntegrationInput {
        app::model::IntegrationInput {
            org_url: self.org_url.clone(),
            auth_method: self.auth_method.clone(),
            secret_ref: self.secret_ref.clone(),
            client_id: self.client_id.clone(),
            key_id: self.key_id.clone(),
            sync_incremental_minutes: self.sync_incremental_minutes.to_string(),
            sync_full_hours: self.sync_full_hours.to_string(),
            group_name_prefix: self.group_name_prefix.clone(),
            group_types: self.group_types.join(","),
        }
    }
}

/// The OIDC web application registered for Gatepass at the identity provider.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct OidcConfig {
    /// Issuer, exactly as the provider states it, e.g. `https://acme.okta.com/oauth2/default`.
    pub issuer_url: String,
    pub client_id: String,
    /// The client secret itself (from the environment: `GATEPASS_OIDC__CLIENT_SECRET`)…
    pub client_secret: SecretString,
    /// …or where it is kept: `aws-secretsmanager:NAME[#key]`, `env:VAR` or `file:PATH`.
    pub client_secret_ref: Option<String>,
    /// Scopes asked for; `openid` is always included.
    pub scopes: Vec<String>,
}

impl Default for OidcConfig {
    fn default() -> Self {
        OidcConfig {
            issuer_url: String::new(),
            client_id: String::new(),
            client_secret: SecretString::from(String::new()),
            client_secret_ref: None,
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
        }
    }
}

/// Session lifetimes.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SessionConfig {
    /// A session not used for this long ends.
    pub idle_timeout_minutes: u64,
    /// A session ends this long after sign-in, however active.
    pub absolute_timeout_hours: u64,
    /// Sign-ins one client address may start per minute (0: no limit). Behind a proxy every
    /// client has the proxy's address: raise it there.
    pub sign_in_starts_per_minute: u32,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            idle_timeout_minutes: 8 * 60,
            absolute_timeout_hours: 24,
            sign_in_starts_per_minute: 60,
        }
    }
}

/// Who is an administrator.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    /// Okta groups whose members are Gatepass administrators: ids (`00g…`, preferred), or names
    /// that exactly one group of an allowed type has (an ambiguous name makes nobody an admin).
    pub admin_groups: Vec<String>,
    /// Group types a name in `admin_groups` may resolve to.
    pub admin_group_types: Vec<String>,
    /// Okta user ids or logins that are administrators regardless of groups (for first start).
    /// Never emails: Okta does not keep them unique.
    pub bootstrap_admins: Vec<String>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            admin_groups: Vec::new(),
            admin_group_types: vec!["OKTA_GROUP".into()],
            bootstrap_admins: Vec::new(),
        }
    }
}

/// Database pool settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct DbConfig {
    pub max_connections: u32,
    pub acquire_timeout_secs: u64,
}

/// `text` for people, `json` for log collectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            data_dir: PathBuf::from("data"),
            database_url: None,
            site_root: PathBuf::from("target/site"),
            log_format: LogFormat::Text,
            public_url: None,
            db: DbConfig::default(),
            oidc: None,
            session: SessionConfig::default(),
            auth: AuthConfig::default(),
            secrets: SecretsConfig::default(),
            requests: RequestsConfig::default(),
            okta: None,
            metrics: MetricsConfig::default(),
            api: ApiConfig::default(),
            notifications: NotificationsConfig::default(),
            pagerduty: None,
            policies: PoliciesConfig::default(),
            max_request_bytes: 64 * 1024,
        }
    }
}

impl Default for DbConfig {
    fn default() -> Self {
        DbConfig {
            max_connections: 10,
            acquire_timeout_secs: 5,
        }
    }
}

/// What can be wrong with the configuration. Every message names the key or file.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("config file {path} is not valid TOML: {reason}")]
    Syntax { path: String, reason: String },
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
}

/// A loaded configuration and what was noticed while loading it.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    /// Keys that Gatepass does not know (probably misspelt); shown as warnings.
    pub unknown_keys: Vec<String>,
}

impl Config {
    /// Reads `file` (if given) and overlays `GATEPASS_*` variables from `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Loaded, ConfigError> {
        let mut root = match file {
            Some(path) => read_file(path)?,
            None => toml::Table::new(),
        };
        let mut from_env = BTreeMap::new();
        for (name, value) in env {
            let Some(rest) = name.strip_prefix("GATEPASS_") else {
                continue;
            };
            if NOT_KEYS.contains(&name.as_str()) || name.starts_with(TEST_PREFIX) || rest.is_empty()
            {
                continue;
            }
            let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
            from_env.insert(path.join("."), name.clone());
            insert_path(&mut root, &path, env_value(&value)).map_err(|message| {
                ConfigError::Invalid {
                    key: name.clone(),
                    message,
                }
            })?;
        }

        let mut unknown_keys = Vec::new();
        let mut note_unknown = |path: serde_ignored::Path<'_>| unknown_keys.push(path.to_string());
        let de = serde_ignored::Deserializer::new(toml::Value::Table(root), &mut note_unknown);
        let config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            ConfigError::Invalid {
                key: describe_key(&key, &from_env),
                // Keep it to one line: the value deserializer may append "in `table`".
                message: e
                    .into_inner()
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            }
        })?;
        config.validate(&from_env)?;
        Ok(Loaded {
            config,
            unknown_keys,
        })
    }

    fn validate(&self, from_env: &BTreeMap<String, String>) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            key: describe_key(key, from_env),
            message,
        };
        if let Some(url) = &self.database_url {
            let url = url.expose_secret();
            let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or("");
            if !matches!(scheme, "sqlite" | "postgres" | "postgresql") {
                let shown = if scheme.is_empty() {
                    "no scheme".to_string()
                } else {
                    format!("scheme `{scheme}`")
                };
                return Err(invalid(
                    "database_url",
                    format!("{shown} is not supported; expected sqlite://PATH or postgres://USER@HOST/DB"),
                ));
            }
        }
        if self.db.max_connections == 0 || self.db.max_connections > 1000 {
            return Err(invalid(
                "db.max_connections",
                format!(
                    "{} is out of range; expected 1 to 1000",
                    self.db.max_connections
                ),
            ));
        }
        if self.db.acquire_timeout_secs == 0 {
            return Err(invalid(
                "db.acquire_timeout_secs",
                "must be at least 1 second".into(),
            ));
        }
        if let Some(url) = &self.public_url {
            check_http_url(url).map_err(|m| invalid("public_url", m))?;
        }
        if let Some(oidc) = &self.oidc {
            check_http_url(&oidc.issuer_url).map_err(|m| invalid("oidc.issuer_url", m))?;
            if oidc.client_id.trim().is_empty() {
                return Err(invalid(
                    "oidc.client_id",
                    "is required when [oidc] is set".into(),
                ));
            }
            match (
                &oidc.client_secret_ref,
                oidc.client_secret.expose_secret().is_empty(),
            ) {
                (None, true) => {
                    return Err(invalid(
                        "oidc.client_secret",
                        "is required when [oidc] is set: give oidc.client_secret_ref (where the \
                         secret is kept) or GATEPASS_OIDC__CLIENT_SECRET"
                            .into(),
                    ))
                }
                (Some(_), false) => {
                    return Err(invalid(
                        "oidc.client_secret_ref",
                        "give either oidc.client_secret or oidc.client_secret_ref, not both".into(),
                    ))
                }
                (Some(r), true) => {
                    r.parse::<app::ssr::secrets::SecretRef>()
                        .map_err(|m| invalid("oidc.client_secret_ref", m))?;
                }
                (None, false) => {}
            }
        }
        if let Some(okta) = &self.okta {
            for url in &okta.allowed_org_urls {
                app::ssr::okta::client::parse_org_url(url)
                    .map_err(|m| invalid("okta.allowed_org_urls", m))?;
            }
            for r in &okta.allowed_secret_refs {
                r.parse::<app::ssr::secrets::SecretRef>()
                    .map_err(|m| invalid("okta.allowed_secret_refs", m))?;
            }
            app::ssr::okta::client::check_rate_share(okta.rate_limit_share)
                .map_err(|m| invalid("okta.rate_limit_share", m))?;
        }
        if let Some(okta) = self.okta.as_ref().filter(|o| o.configures_integration()) {
            if let Err(app::error::AppError::Invalid { field, message }) =
                app::ssr::services::integration::parse_input(
                    &okta.input(),
                    &okta.trust(),
                    None,
                    app::model::Timestamp::EPOCH,
                    "config",
                )
            {
                let key = match field.as_str() {
                    "Okta domain" => "okta.org_url",
                    "Authentication" => "okta.auth_method",
                    "Secret reference" => "okta.secret_ref",
                    "Client id" => "okta.client_id",
                    "Group types" => "okta.group_types",
                    f if f.starts_with("Incremental") => "okta.sync_incremental_minutes",
                    _ => "okta.sync_full_hours",
                };
                return Err(invalid(key, message));
            }
        }
        if !(1..=24 * 90).contains(&self.requests.pending_max_age_hours) {
            return Err(invalid(
                "requests.pending_max_age_hours",
                format!(
                    "{} is out of range; expected 1 to 2160 hours",
                    self.requests.pending_max_age_hours
                ),
            ));
        }
        if self.secrets.cache_ttl_secs == 0 {
            return Err(invalid(
                "secrets.cache_ttl_secs",
                "must be at least 1 second".into(),
            ));
        }
        if self.session.idle_timeout_minutes == 0 {
            return Err(invalid(
                "session.idle_timeout_minutes",
                "must be at least 1".into(),
            ));
        }
        for r in &self.notifications.allowed_secret_refs {
            r.parse::<app::ssr::secrets::SecretRef>()
                .map_err(|m| invalid("notifications.allowed_secret_refs", m))?;
        }
        let after = self.notifications.remind_approvers_after.trim();
        if !after.is_empty() {
            after.parse::<app::model::GrantDuration>().map_err(|m| {
                invalid(
                    "notifications.remind_approvers_after",
                    format!("`{after}`: {m}"),
                )
            })?;
        }
        for lead in &self.notifications.expiry_reminders {
            lead.parse::<app::model::GrantDuration>()
                .map_err(|m| invalid("notifications.expiry_reminders", format!("`{lead}`: {m}")))?;
        }
        if let Some(e) = &self.notifications.email {
            app::ssr::mail::EmailSettings::parse(
                &e.smtp_host,
                e.smtp_port,
                &e.security,
                &e.from,
                &e.username,
                &e.password_ref,
                "http://127.0.0.1",
            )
            .map_err(|(field, m)| invalid(&format!("notifications.email.{field}"), m))?;
        }
        app::ssr::slack::SlackApi::new(&self.notifications.slack.api_url)
            .map_err(|m| invalid("notifications.slack.api_url", m))?;
        if let Some(path) = &self.policies.starter_file {
            self.starter().map_err(|m| {
                invalid("policies.starter_file", format!("{}: {m}", path.display()))
            })?;
        }
        if let Some(pd) = &self.pagerduty {
            app::ssr::pagerduty::check_api_url(&pd.api_url)
                .map_err(|m| invalid("pagerduty.api_url", m))?;
            pd.api_key_ref
                .parse::<app::ssr::secrets::SecretRef>()
                .map_err(|m| invalid("pagerduty.api_key_ref", m))?;
        }
        if self.max_request_bytes < 4096 {
            return Err(invalid("max_request_bytes", "must be at least 4096".into()));
        }
        if self
            .metrics
            .token
            .as_ref()
            .is_some_and(|t| t.expose_secret().len() < 16)
        {
            return Err(invalid(
                "metrics.token",
                "use at least 16 characters (it is a password for /metrics)".into(),
            ));
        }
        if self.session.absolute_timeout_hours == 0 {
            return Err(invalid(
                "session.absolute_timeout_hours",
                "must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// Where the Okta credential may be sent: the orgs and local references `[okta]` names;
    /// nothing without `[okta]`.
    pub fn okta_trust(&self) -> app::ssr::okta::OktaTrust {
        self.okta
            .as_ref()
            .map(OktaBootstrap::trust)
            .unwrap_or_default()
    }

    /// How long before a grant ends its holder is reminded (validated at load).
    pub fn reminder_leads(&self) -> Vec<app::model::GrantDuration> {
        self.notifications
            .expiry_reminders
            .iter()
            .filter_map(|l| l.parse().ok())
            .collect()
    }

    /// How long a request waits before its approvers are reminded (validated at load).
    pub fn pending_reminder(&self) -> Option<app::model::GrantDuration> {
        self.notifications
            .remind_approvers_after
            .trim()
            .parse()
            .ok()
    }

    /// How long a request waits before the admins are told (validated at load).
    pub fn pending_escalation(&self) -> Option<app::model::GrantDuration> {
        self.notifications
            .escalate_to_admins_after
            .trim()
            .parse()
            .ok()
    }

    /// Where people's email goes (validated at load), with links to `public_url`.
    pub fn email_settings(&self, public_url: &str) -> Option<app::ssr::mail::EmailSettings> {
        let e = self.notifications.email.as_ref()?;
        app::ssr::mail::EmailSettings::parse(
            &e.smtp_host,
            e.smtp_port,
            &e.security,
            &e.from,
            &e.username,
            &e.password_ref,
            public_url,
        )
        .ok()
    }

    /// The starter bundles and policies of `policies.starter_file`, when it names one.
    pub fn starter(&self) -> Result<Option<app::model::StarterSet>, String> {
        let Some(path) = &self.policies.starter_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot be read: {e}"))?;
        toml::from_str(&text)
            .map(Some)
            .map_err(|e| format!("is not a policies file: {}", e.message()))
    }

    /// PagerDuty's on-call check, when `[pagerduty]` is configured (validated at load).
    pub fn on_call(
        &self,
        secrets: &app::ssr::secrets::CachedSecrets,
    ) -> Option<std::sync::Arc<dyn app::ssr::pagerduty::OnCallCheck>> {
        let pd = self.pagerduty.as_ref()?;
        let key = pd.api_key_ref.parse().ok()?;
        let check = app::ssr::pagerduty::PagerDuty::new(&pd.api_url, key, secrets.clone()).ok()?;
        Some(std::sync::Arc::new(check))
    }

    /// Slack's Web API (validated at load).
    pub fn slack_api(&self) -> app::ssr::slack::SlackApi {
        app::ssr::slack::SlackApi::new(&self.notifications.slack.api_url).unwrap_or_default()
    }

    /// The `env:`/`file:` references webhook endpoints may use.
    pub fn webhook_secret_refs(&self) -> Vec<app::ssr::secrets::SecretRef> {
        self.notifications
            .allowed_secret_refs
            .iter()
            .filter_map(|r| r.parse().ok())
            .collect()
    }

    /// The Okta clients' cache, using the configured share of Okta's rate limits.
    pub fn okta_clients(&self) -> app::ssr::okta::OktaClients {
        app::ssr::okta::OktaClients::with_rate_share(
            self.okta
                .as_ref()
                .map_or(app::ssr::okta::client::DEFAULT_RATE_SHARE, |o| {
                    o.rate_limit_share
                }),
        )
    }

    /// The origin people reach Gatepass at: `public_url`, else `http://<bound address>`.
    pub fn public_url_or(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{bound}"),
        }
    }

    /// The database URL in force: the configured one or the SQLite file under `data_dir`.
    pub fn database_url(&self) -> SecretString {
        match &self.database_url {
            Some(url) => url.clone(),
            None => SecretString::from(format!(
                "sqlite://{}",
                self.data_dir.join("gatepass.db").display()
            )),
        }
    }

    /// Pool options from `db.*`.
    pub fn db_options(&self) -> app::ssr::db::DbOptions {
        app::ssr::db::DbOptions {
            max_connections: self.db.max_connections,
            acquire_timeout: Duration::from_secs(self.db.acquire_timeout_secs),
        }
    }
}

/// The database URL with any password removed, for logs.
pub struct Redacted<'a>(pub &'a SecretString);

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.0.expose_secret();
        match url.split_once("://") {
            Some((scheme, rest)) => {
                let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
                let host = host.split_once('?').map_or(host, |(h, _)| h);
                write!(f, "{scheme}://{host}")
            }
            None => f.write_str("[unparsable database URL]"),
        }
    }
}

/// Accepts `http://…` and `https://…` URLs with a host.
fn check_http_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| {
            format!("`{url}` is not an http(s) URL; expected e.g. https://gatepass.example.com")
        })?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(format!("`{url}` has no valid host"));
    }
    Ok(())
}

fn read_file(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    text.parse::<toml::Table>()
        .map_err(|e| ConfigError::Syntax {
            path: path.display().to_string(),
            reason: e.message().to_string(),
        })
}

/// Reads an environment value as a TOML literal when it is one, else as a string.
fn env_value(raw: &str) -> toml::Value {
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

fn insert_path(root: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty key")?;
    let mut table = root;
    for part in parents {
        let entry = table
            .entry(part.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        table = entry
            .as_table_mut()
            .ok_or_else(|| format!("`{part}` is a value in the config file, not a table"))?;
    }
    table.insert(last.clone(), value);
    Ok(())
}

/// `database_url`, or `GATEPASS_DATABASE_URL (database_url)` when the value came from the
/// environment.
fn describe_key(key: &str, from_env: &BTreeMap<String, String>) -> String {
    match from_env.get(key) {
        Some(var) => format!("{var} ({key})"),
        None => key.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn load(toml_text: &str, pairs: &[(&str, &str)]) -> Result<Loaded, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gatepass.toml");
        std::fs::write(&path, toml_text).unwrap();
        Config::load(Some(&path), env(pairs))
    }

    #[test]
    fn defaults_listen_on_loopback_with_sqlite_under_data_dir() {
        let loaded = Config::load(None, env(&[])).unwrap();
        assert_eq!(loaded.config.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(
            loaded.config.database_url().expose_secret(),
            "sqlite://data/gatepass.db"
        );
        assert!(loaded.unknown_keys.is_empty());
    }

    #[test]
    fn environment_overrides_the_file_with_nesting() {
        let loaded = load(
            "listen = \"127.0.0.1:4000\"\ndata_dir = \"/var/lib/gp\"\n[db]\nmax_connections = 3\n",
            &[
                ("GATEPASS_LISTEN", "0.0.0.0:8080"),
                ("GATEPASS_DB__MAX_CONNECTIONS", "7"),
                ("GATEPASS_CONFIG", "/ignored/as/a/key.toml"),
                ("OTHER_VAR", "x"),
            ],
        )
        .unwrap();
        assert_eq!(loaded.config.listen.to_string(), "0.0.0.0:8080");
        assert_eq!(loaded.config.db.max_connections, 7);
        assert_eq!(loaded.config.data_dir, PathBuf::from("/var/lib/gp"));
        assert!(loaded.unknown_keys.is_empty(), "{:?}", loaded.unknown_keys);
    }

    #[test]
    fn unsupported_database_scheme_names_the_variable() {
        let err = Config::load(None, env(&[("GATEPASS_DATABASE_URL", "mysql://x")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "GATEPASS_DATABASE_URL (database_url): scheme `mysql` is not supported; \
             expected sqlite://PATH or postgres://USER@HOST/DB"
        );
    }

    #[test]
    fn okta_section_is_validated_like_the_settings_page() {
        let ok = load(
            "[okta]\norg_url = \"acme.okta.com\"\nsecret_ref = \"env:OKTA_TOKEN\"\n",
            &[],
        )
        .unwrap();
        let okta = ok.config.okta.unwrap();
        assert_eq!(okta.auth_method, "api_token");
        assert_eq!(okta.sync_incremental_minutes, 10);
        for (text, key, why) in [
            ("org_url = \"http://acme.okta.com\"\nsecret_ref = \"env:T\"", "okta.org_url", "https"),
            ("org_url = \"acme.okta.com\"\nsecret_ref = \"00plaintexttoken\"", "okta.secret_ref", "never the secret itself"),
            ("org_url = \"acme.okta.com\"\nsecret_ref = \"env:T\"\nauth_method = \"oauth_service_app\"", "okta.client_id", "client id"),
        ] {
            let err = load(&format!("[okta]\n{text}\n"), &[]).unwrap_err();
            let ConfigError::Invalid { key: k, message } = err else { panic!("{err:?}") };
            assert_eq!(k, key);
            assert!(message.contains(why), "{key}: {message}");
        }
        let err =
            Config::load(None, env(&[("GATEPASS_SECRETS__CACHE_TTL_SECS", "0")])).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("GATEPASS_SECRETS__CACHE_TTL_SECS (secrets.cache_ttl_secs)"),
            "{err}"
        );
    }

    #[test]
    fn okta_rate_limit_share_is_a_fraction() {
        let default = Config::load(None, env(&[])).unwrap();
        assert_eq!(default.config.okta_clients().rate_share(), 0.5);
        let set = load("[okta]\nrate_limit_share = 0.3\n", &[]).unwrap();
        assert_eq!(set.config.okta_clients().rate_share(), 0.3);
        assert!(
            !set.config.okta.as_ref().unwrap().configures_integration(),
            "the share alone configures no integration"
        );
        let all = Config::load(None, env(&[("GATEPASS_OKTA__RATE_LIMIT_SHARE", "1")])).unwrap();
        assert_eq!(all.config.okta_clients().rate_share(), 1.0);
        for bad in ["0", "1.5", "-0.5", "nan"] {
            let err = load(&format!("[okta]\nrate_limit_share = {bad}\n"), &[]).unwrap_err();
            let ConfigError::Invalid { key, message } = err else {
                panic!("{err:?}")
            };
            assert_eq!(key, "okta.rate_limit_share");
            assert!(message.contains("from 0.01 to 1"), "{bad}: {message}");
        }
        let err =
            Config::load(None, env(&[("GATEPASS_OKTA__RATE_LIMIT_SHARE", "half")])).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "GATEPASS_OKTA__RATE_LIMIT_SHARE (okta.rate_limit_share): invalid type"
            ),
            "{err}"
        );
    }

    #[test]
    fn bad_listen_address_names_the_key() {
        let err = load("listen = \"not an address\"\n", &[]).unwrap_err();
        let ConfigError::Invalid { key, message } = err else {
            panic!("{err:?}")
        };
        assert_eq!(key, "listen");
        assert!(message.contains("socket address"), "{message}");
    }

    #[test]
    fn wrong_type_names_the_nested_key() {
        let err = load("[db]\nmax_connections = \"many\"\n", &[]).unwrap_err();
        let ConfigError::Invalid { key, .. } = err else {
            panic!("{err:?}")
        };
        assert_eq!(key, "db.max_connections");
        let err = Config::load(None, env(&[("GATEPASS_DB__MAX_CONNECTIONS", "0")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "GATEPASS_DB__MAX_CONNECTIONS (db.max_connections): 0 is out of range; expected 1 to 1000"
        );
    }

    #[test]
    fn unknown_keys_are_reported_not_fatal() {
        let loaded = load(
            "lisen = \"127.0.0.1:1\"\n",
            &[("GATEPASS_DATA_DRI", "/tmp")],
        )
        .unwrap();
        assert_eq!(
            loaded.unknown_keys,
            vec!["data_dri".to_string(), "lisen".to_string()]
        );
    }

    #[test]
    fn unknown_nested_keys_are_reported_with_their_path() {
        let loaded = load("[db]\nmax_conections = 3\n", &[]).unwrap();
        assert_eq!(loaded.unknown_keys, vec!["db.max_conections".to_string()]);
        assert_eq!(loaded.config.db.max_connections, 10);
    }

    #[test]
    fn syntax_errors_name_the_file() {
        let err = load("listen = \n", &[]).unwrap_err();
        assert!(matches!(err, ConfigError::Syntax { .. }), "{err:?}");
        assert!(err.to_string().contains("gatepass.toml"));
        let err =
            Config::load(Some(Path::new("/nonexistent/gatepass.toml")), env(&[])).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("cannot read config file /nonexistent/gatepass.toml"));
    }

    #[test]
    fn the_database_password_never_shows() {
        let loaded = Config::load(
            None,
            env(&[(
                "GATEPASS_DATABASE_URL",
                "postgres://gp:s3cret@db.internal:5432/gatepass?sslmode=require",
            )]),
        )
        .unwrap();
        let url = loaded.config.database_url();
        assert_eq!(
            Redacted(&url).to_string(),
            "postgres://db.internal:5432/gatepass"
        );
        assert!(!format!("{:?}", loaded.config).contains("s3cret"));
    }

    #[test]
    fn oidc_section_is_validated() {
        let err = load(
            "[oidc]\nissuer_url = \"okta.example.com\"\nclient_id = \"x\"\n",
            &[],
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("oidc.issuer_url: `okta.example.com` is not an http(s) URL"),
            "{err}"
        );
        let err = load(
            "[oidc]\nissuer_url = \"https://acme.okta.com\"\nclient_id = \"x\"\n",
            &[],
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("oidc.client_secret: is required"),
            "{err}"
        );
        let loaded = load(
            "[oidc]\nissuer_url = \"https://acme.okta.com/oauth2/default\"\nclient_id = \"0oa1\"\n",
            &[("GATEPASS_OIDC__CLIENT_SECRET", "shh-very-secret")],
        )
        .unwrap();
        let oidc = loaded.config.oidc.as_ref().unwrap();
        assert_eq!(oidc.client_secret.expose_secret(), "shh-very-secret");
        assert_eq!(oidc.scopes, ["openid", "email", "profile"]);
        assert!(!format!("{:?}", loaded.config).contains("shh-very-secret"));

        let by_ref = load(
            "[oidc]\nissuer_url = \"https://acme.okta.com\"\nclient_id = \"0oa1\"\nclient_secret_ref = \"aws-secretsmanager:gatepass/oidc#secret\"\n",
            &[],
        )
        .unwrap();
        assert_eq!(
            by_ref.config.oidc.unwrap().client_secret_ref.as_deref(),
            Some("aws-secretsmanager:gatepass/oidc#secret")
        );
        let err = load(
            "[oidc]\nissuer_url = \"https://acme.okta.com\"\nclient_id = \"0oa1\"\nclient_secret_ref = \"plain-secret\"\n",
            &[],
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("oidc.client_secret_ref: this is not a secret reference"),
            "{err}"
        );
        assert!(!err.to_string().contains("plain-secret"));
        let err = load(
            "[oidc]\nissuer_url = \"https://acme.okta.com\"\nclient_id = \"0oa1\"\nclient_secret_ref = \"env:X\"\n",
            &[("GATEPASS_OIDC__CLIENT_SECRET", "also")],
        )
        .unwrap_err();
        assert!(err.to_string().contains("not both"), "{err}");
    }

    #[test]
    fn public_url_must_be_http() {
        let err = Config::load(None, env(&[("GATEPASS_PUBLIC_URL", "ftp://x")])).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("GATEPASS_PUBLIC_URL (public_url): `ftp://x` is not an http(s) URL"),
            "{err}"
        );
        let loaded = Config::load(
            None,
            env(&[("GATEPASS_PUBLIC_URL", "https://gp.example.com/")]),
        )
        .unwrap();
        assert_eq!(
            loaded.config.public_url_or(([127, 0, 0, 1], 1).into()),
            "https://gp.example.com"
        );
    }

    #[test]
    fn a_starter_file_and_pagerduty_are_checked_at_load() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("starter.toml");
        std::fs::write(&bad, "[[policy]]\napplies_to = \"x\"\nnope = 1\n").unwrap();
        for path in [bad.clone(), dir.path().join("missing.toml")] {
            let err = Config::load(
                None,
                env(&[("GATEPASS_POLICIES__STARTER_FILE", path.to_str().unwrap())]),
            )
            .unwrap_err();
            assert!(err.to_string().contains("policies.starter_file"), "{err}");
        }
        let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/demo-policies.toml");
        let loaded = Config::load(None, env(&[("GATEPASS_POLICIES__STARTER_FILE", demo)])).unwrap();
        let set = loaded.config.starter().unwrap().unwrap();
        assert_eq!((set.bundles.len(), set.policies.len()), (1, 5));

        for (url, key, field) in [
            ("http://api.pagerduty.com", "env:PD", "pagerduty.api_url"),
            ("https://api.pagerduty.com", "PD", "pagerduty.api_key_ref"),
        ] {
            let err = Config::load(
                None,
                env(&[
                    ("GATEPASS_PAGERDUTY__API_URL", url),
                    ("GATEPASS_PAGERDUTY__API_KEY_REF", key),
                ]),
            )
            .unwrap_err();
            assert!(err.to_string().contains(field), "{err}");
        }
    }

    #[test]
    fn log_format_accepts_text_and_json_only() {
        let loaded = Config::load(None, env(&[("GATEPASS_LOG_FORMAT", "json")])).unwrap();
        assert_eq!(loaded.config.log_format, LogFormat::Json);
        let err = Config::load(None, env(&[("GATEPASS_LOG_FORMAT", "xml")])).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("GATEPASS_LOG_FORMAT (log_format): unknown variant `xml`"),
            "{err}"
        );
    }
}
