//! `AppState`: everything a request handler or server function needs, built once at start-up.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::{use_context, LeptosOptions};

use super::auth::AuthSettings;
use super::clock::Clock;
use super::db::Db;
use super::okta::{OktaClient, OktaTrust};
use super::secrets::CachedSecrets;
use super::services::integration::{okta_settings, IntegrationService};
use super::services::system::SystemService;
use crate::error::AppError;
use crate::model::IntegrationSettings;

/// The Okta client built for the settings it was built from.
type ClientCache = Arc<tokio::sync::Mutex<Option<(IntegrationSettings, Arc<OktaClient>)>>>;

/// Shared server state; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub options: LeptosOptions,
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub auth: AuthSettings,
    pub secrets: CachedSecrets,
    /// A name for this process in locks (host, pid, random).
    pub instance: String,
    /// Wakes the grant engine when work is queued or a grant moves.
    pub engine: super::jobs::grant_engine::EngineSignal,
    /// The Okta orgs and local secret references the configuration allows (none by default).
    pub okta_trust: OktaTrust,
    okta: ClientCache,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.options.clone()
    }
}

impl AppState {
    /// The state provided to the current server function or page render.
    pub fn current() -> Result<AppState, AppError> {
        use_context::<AppState>().ok_or_else(|| {
            tracing::error!("AppState missing from the Leptos context");
            AppError::Internal
        })
    }

    /// Everything the state holds, plus an empty Okta client cache.
    pub fn new(
        options: LeptosOptions,
        db: Db,
        clock: Arc<dyn Clock>,
        auth: AuthSettings,
        secrets: CachedSecrets,
    ) -> Self {
        let instance = format!(
            "{}-{}-{:08x}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "gatepass".into()),
            std::process::id(),
            rand::random::<u32>()
        );
        AppState {
            options,
            db,
            clock,
            auth,
            secrets,
            instance,
            engine: Default::default(),
            okta_trust: OktaTrust::default(),
            okta: ClientCache::default(),
        }
    }

    /// The same state, sending credentials only where `trust` allows.
    pub fn with_okta_trust(mut self, trust: OktaTrust) -> Self {
        self.okta_trust = trust;
        self
    }

    pub fn system(&self) -> SystemService<'_> {
        SystemService::new(&self.db, self.clock.as_ref())
    }

    pub fn access(&self) -> super::services::access::AccessService<'_> {
        super::services::access::AccessService {
            db: &self.db,
            clock: self.clock.as_ref(),
            signal: Some(&self.engine),
        }
    }

    pub fn catalog(&self) -> super::services::catalog::CatalogService<'_> {
        super::services::catalog::CatalogService { db: &self.db }
    }

    pub fn drift(&self) -> super::services::drift::DriftService<'_> {
        super::services::drift::DriftService {
            db: &self.db,
            clock: self.clock.as_ref(),
            signal: Some(&self.engine),
        }
    }

    pub fn groups(&self) -> super::services::groups::GroupsService<'_> {
        super::services::groups::GroupsService { db: &self.db }
    }

    pub fn integration(&self) -> IntegrationService<'_> {
        IntegrationService {
            db: &self.db,
            clock: self.clock.as_ref(),
            secrets: &self.secrets,
            trust: &self.okta_trust,
        }
    }

    /// Sync settings, the last runs and the directory's size.
    pub async fn sync_overview(
        &self,
        _admin: &super::auth::Admin,
    ) -> Result<crate::model::SyncOverview, AppError> {
        let runs = super::db::sync::list_sync_runs(&self.db, 20).await?;
        Ok(crate::model::SyncOverview {
            settings: self.integration().current().await?,
            running: runs.iter().any(|r| r.status == "running"),
            runs,
            directory: super::db::directory::count_directory(&self.db).await?,
        })
    }

    /// Starts a sync in the background (audited); refused while one is running.
    pub async fn start_sync(
        &self,
        admin: &super::auth::Admin,
        full: bool,
    ) -> Result<String, AppError> {
        use crate::model::SyncKind;
        let settings = self
            .integration()
            .current()
            .await?
            .ok_or_else(|| AppError::Conflict("Save the Okta settings first.".into()))?;
        let runs = super::db::sync::list_sync_runs(&self.db, 1).await?;
        if runs.first().is_some_and(|r| r.status == "running") {
            return Err(AppError::Conflict("A sync is already running.".into()));
        }
        let kind = if full {
            SyncKind::Full
        } else {
            SyncKind::Incremental
        };
        super::services::audit::record(
            &self.db,
            self.clock.as_ref(),
            &admin.me().login,
            "okta.sync.requested",
            &settings.org_url,
            serde_json::json!({ "kind": kind.as_str() }),
        )
        .await?;
        let state = self.clone();
        tokio::spawn(async move {
            if let Err(e) = super::jobs::sync_scheduler::sync_once(&state, kind).await {
                tracing::warn!(error = %e, "requested directory sync failed");
            }
        });
        Ok(format!(
            "A {} sync of {} has started.",
            kind.as_str(),
            settings.org_url
        ))
    }

    /// The Okta client in use, if one was built.
    pub async fn cached_okta_client(&self) -> Option<Arc<OktaClient>> {
        self.okta.lock().await.as_ref().map(|(_, c)| c.clone())
    }

    /// The Okta client for `settings`, reused while the settings stay the same (so the rate
    /// governor and the cached access token carry over between calls).
    pub async fn okta_client(
        &self,
        settings: &IntegrationSettings,
    ) -> Result<Arc<OktaClient>, AppError> {
        let mut cache = self.okta.lock().await;
        let same = |cached: &IntegrationSettings| {
            IntegrationSettings {
                updated_at: 0,
                updated_by: String::new(),
                ..cached.clone()
            } == IntegrationSettings {
                updated_at: 0,
                updated_by: String::new(),
                ..settings.clone()
            }
        };
        if let Some((cached, client)) = cache.as_ref() {
            if same(cached) {
                return Ok(client.clone());
            }
        }
        let client = Arc::new(OktaClient::new(
            okta_settings(settings, &self.okta_trust)?,
            self.secrets.clone(),
        )?);
        *cache = Some((settings.clone(), client.clone()));
        Ok(client)
    }
}
