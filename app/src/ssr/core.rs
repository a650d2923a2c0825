//! `Core`: what services and jobs run on — the database, the clock, the secret store, the
//! settings of authorization and of trust in Okta orgs, this process's name, the cached Okta
//! client, the grant engine's wake-up signal and the in-process caches. Built once at start-up, cheap to clone, and
//! free of Leptos: the grant engine, the sync and the CLI use it without a web server.
//!
//! Services are built from it (`core.access()`, `core.sync()`, … in `services/mod.rs`);
//! `AppState` (in `state.rs`) is this plus the Leptos options.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::auth::AuthSettings;
use super::cache::Caches;
use super::clock::Clock;
use super::db::Db;
use super::okta::{OktaClients, OktaTrust};
use super::secrets::CachedSecrets;
use super::signal::EngineSignal;

/// Shared server context; cheap to clone.
#[derive(Clone, Debug)]
pub struct Core {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub auth: AuthSettings,
    pub secrets: CachedSecrets,
    /// A name for this process in locks and leases (host, pid, random).
    pub instance: String,
    /// Wakes the grant engine when work is queued or a grant moves.
    pub engine: EngineSignal,
    /// The Okta orgs and local secret references the configuration allows (none by default).
    pub okta_trust: OktaTrust,
    /// The Okta client built for the saved settings.
    pub okta: OktaClients,
    /// Cancelled when the process shuts down: jobs and background syncs stop taking work.
    pub stopping: CancellationToken,
    /// Work started on request that outlives the request (a sync an admin started): shutdown
    /// waits for it.
    pub tasks: TaskTracker,
    /// What page views read again and again (directory counts, people's standing).
    pub caches: Caches,
    /// The `env:`/`file:` secret references webhook endpoints may use (from the
    /// configuration; `aws-secretsmanager:` references are always allowed).
    pub webhook_secret_refs: Vec<crate::ssr::secrets::SecretRef>,
    /// The SMTP server people's email goes through (from the configuration); `None`: no email.
    pub email: Option<crate::ssr::mail::EmailSettings>,
    /// How long before a grant's end its holder is reminded (each lead that fits the grant).
    pub reminder_leads: Vec<crate::model::GrantDuration>,
    /// How long a request waits before its approvers are reminded; `None`: never.
    pub pending_reminder: Option<crate::model::GrantDuration>,
    /// How long a request waits before the admins are told; `None`: never.
    pub pending_escalation: Option<crate::model::GrantDuration>,
    /// Slack's Web API (from the configuration: the bot token goes there and nowhere else).
    pub slack: crate::ssr::slack::SlackApi,
    /// The address people reach Gatepass at, for links in messages.
    pub public_url: String,
    /// Who is on call, for policies that approve the on-call person (`[pagerduty]`).
    pub on_call: Option<Arc<dyn crate::ssr::pagerduty::OnCallCheck>>,
    /// Starter bundles and policies, applied after a sync while there are none
    /// (`policies.starter_file`).
    pub starter: Option<Arc<crate::model::StarterSet>>,
}

impl Core {
    /// Everything the core holds, trusting no Okta org yet (see [`Core::with_okta_trust`]).
    pub fn new(db: Db, clock: Arc<dyn Clock>, auth: AuthSettings, secrets: CachedSecrets) -> Self {
        let instance = format!(
            "{}-{}-{:08x}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "gatepass".into()),
            std::process::id(),
            rand::random::<u32>()
        );
        Core {
            db,
            clock,
            auth,
            secrets,
            instance,
            engine: EngineSignal::default(),
            okta_trust: OktaTrust::default(),
            okta: OktaClients::default(),
            stopping: CancellationToken::new(),
            tasks: TaskTracker::new(),
            caches: Caches::default(),
            webhook_secret_refs: Vec::new(),
            email: None,
            reminder_leads: crate::ssr::delivery::default_reminder_leads(),
            pending_reminder: Some(crate::model::GrantDuration::from_secs(4 * 3600)),
            pending_escalation: Some(crate::model::GrantDuration::from_secs(24 * 3600)),
            slack: crate::ssr::slack::SlackApi::default(),
            public_url: "http://127.0.0.1:3000".into(),
            on_call: None,
            starter: None,
        }
    }

    /// The same core, asking `check` who is on call.
    pub fn with_on_call(mut self, check: Arc<dyn crate::ssr::pagerduty::OnCallCheck>) -> Self {
        self.on_call = Some(check);
        self
    }

    /// The same core, calling Slack's Web API at `api` and linking to Gatepass at `public_url`.
    pub fn with_slack(mut self, api: crate::ssr::slack::SlackApi, public_url: &str) -> Self {
        self.slack = api;
        self.public_url = public_url.trim_end_matches('/').to_owned();
        self
    }

    /// The same core, sending credentials only where `trust` allows.
    pub fn with_okta_trust(mut self, trust: OktaTrust) -> Self {
        self.okta_trust = trust;
        self
    }

    /// The same core, sending people email through `email`.
    pub fn with_email(mut self, email: Option<crate::ssr::mail::EmailSettings>) -> Self {
        self.email = email;
        self
    }

    /// The same core, reminding holders `leads` before their grants end.
    pub fn with_reminder_leads(mut self, leads: Vec<crate::model::GrantDuration>) -> Self {
        self.reminder_leads = leads;
        self
    }

    /// The same core, reminding approvers of requests pending for `after` (`None`: never).
    pub fn with_pending_reminder(mut self, after: Option<crate::model::GrantDuration>) -> Self {
        self.pending_reminder = after;
        self
    }

    /// The same core, telling the admins of requests pending for `after` (`None`: never).
    pub fn with_pending_escalation(mut self, after: Option<crate::model::GrantDuration>) -> Self {
        self.pending_escalation = after;
        self
    }

    /// The same core, letting webhook endpoints use the `env:`/`file:` references `refs`.
    pub fn with_webhook_secret_refs(mut self, refs: Vec<crate::ssr::secrets::SecretRef>) -> Self {
        self.webhook_secret_refs = refs.into_iter().filter(|r| r.source.is_local()).collect();
        self
    }
}
