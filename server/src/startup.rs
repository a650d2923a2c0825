//! Start-up: connect and migrate the database, build the router, serve until a signal.

use std::sync::Arc;
use std::time::Duration;

use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::{Extension, Router};
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use app::ssr::auth::AuthSettings;
use app::ssr::clock::{Clock, SystemClock};
use app::ssr::core::Core;
use app::ssr::db::{Db, DbError};
use app::ssr::jobs::{JobSettings, Jobs};
use app::ssr::secrets::aws::{AwsSecrets, AwsSettings};
use app::ssr::secrets::local::LocalSecrets;
use app::ssr::secrets::{CachedSecrets, SecretStore};
use app::ssr::state::AppState;
use app::{shell, App};

use crate::config::{Config, Redacted};
use crate::hardening::{HeaderPolicy, LoginLimiter, WindowLimiter};
use crate::health;
use crate::oidc::{Oidc, OidcError, OidcSettings};
use crate::session::{self, DbSessionStore, SessionSettings};
use crate::signin::{self, SignInContext};

/// Failures while starting or serving.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Serve(#[from] std::io::Error),
    #[error("sign-in: {0}")]
    Oidc(#[from] OidcError),
    #[error("{0}")]
    App(app::error::AppError),
    #[error("directory sync: {0}")]
    Sync(app::ssr::services::sync::SyncError),
    #[error("{0}")]
    Secret(String),
    #[error("{0}")]
    Audit(String),
}

/// Connects to the database and applies migrations.
pub async fn open_database(config: &Config) -> Result<Db, StartupError> {
    let url = config.database_url();
    let db = Db::connect(&url, &config.db_options()).await?;
    let applied = db.migrate().await?;
    tracing::info!(database = %Redacted(&url), engine = ?db.engine(), applied, "database ready");
    Ok(db)
}

/// Leptos options built from Gatepass's own configuration (no Cargo.toml needed at run time).
pub fn leptos_options(config: &Config, addr: std::net::SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("gatepass")
        .site_root(config.site_root.display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .env(leptos::config::Env::PROD)
        .build()
}

/// The request-level defences of [`crate::hardening`] for one deployment.
#[derive(Debug, Clone)]
pub struct Hardening {
    pub headers: Arc<HeaderPolicy>,
    pub sign_in_starts: LoginLimiter,
    /// The token a Prometheus scraper presents for `/metrics`; `None`: `/metrics` is off.
    pub metrics_token: Option<MetricsToken>,
    /// Largest request body accepted (bytes).
    pub max_body: usize,
    /// `/api/v1` calls per token and minute.
    pub api_calls: WindowLimiter<i64>,
}

/// The configured `/metrics` scrape token (a request extension for the handler).
#[derive(Debug, Clone)]
pub struct MetricsToken(pub secrecy::SecretString);

/// The whole HTTP application.
pub fn router(
    state: AppState,
    signin: SignInContext,
    sessions: SessionSettings,
    hardening: Hardening,
) -> Router {
    let store = DbSessionStore::new(state.db.clone(), state.clock.clone(), sessions.idle_timeout);
    let routes = generate_route_list(App);
    let context_state = state.clone();
    let provide_state = move || provide_context(context_state.clone());
    let shell_options = state.options.clone();
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/admin/audit/export", get(crate::audit_export::export))
        .route(
            "/admin/reviews/{id}/{file}",
            get(crate::review_report::report),
        )
        .route("/metrics", get(health::metrics))
        .merge(signin::routes())
        .leptos_routes_with_context(&state, routes, provide_state.clone(), move || {
            shell(shell_options.as_ref().clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(provide_state, shell))
        // Layers run outermost (last) first: trace, refuse cross-site writes, load the session,
        // identify the person, send anonymous page loads to sign-in.
        .layer(from_fn(signin::require_sign_in_for_pages))
        .layer(from_fn_with_state(state.clone(), signin::attach_user))
        .layer(session::layer(store, &sessions))
        .layer(from_fn(signin::refuse_cross_site))
        .layer(from_fn_with_state(
            hardening.sign_in_starts.clone(),
            crate::hardening::limit_sign_in_starts,
        ))
        .layer(from_fn(crate::hardening::api_error_status))
        .layer(from_fn_with_state(
            hardening.headers.clone(),
            crate::hardening::security_headers,
        ))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            hardening.max_body,
        ))
        .layer(Extension(hardening.metrics_token.clone()))
        .layer(Extension(signin))
        // The REST API: bearer tokens only, no session, no cookies.
        .merge(
            crate::api_v1::router(
                state.core.as_ref().clone(),
                hardening.api_calls.clone(),
                hardening.max_body,
            )
            .layer(from_fn_with_state(
                hardening.headers.clone(),
                crate::hardening::security_headers,
            )),
        )
        // Slack's interactivity endpoint: signed by Slack, no session, no browser.
        .merge(
            crate::slack::router(state.core.as_ref().clone(), hardening.max_body).layer(
                from_fn_with_state(
                    hardening.headers.clone(),
                    crate::hardening::security_headers,
                ),
            ),
        )
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// A bound, ready-to-run server; tests use it with port 0.
pub struct Server {
    listener: TcpListener,
    app: Router,
    db: Db,
    state: AppState,
}

impl Server {
    /// Opens the database, binds `config.listen` and builds the router.
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> Result<Server, StartupError> {
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartupError::Bind {
                    addr: config.listen,
                    source,
                })?;
        Server::build_on(listener, config, clock).await
    }

    /// Like [`Server::build`], on a listener the caller bound (tests that must know the
    /// address before configuring an identity provider).
    pub async fn build_on(
        listener: TcpListener,
        config: Config,
        clock: Arc<dyn Clock>,
    ) -> Result<Server, StartupError> {
        let db = open_database(&config).await?;
        let addr = listener.local_addr()?;
        let public_origin = config.public_url_or(addr);
        let secrets = secret_store(&config).await;
        let oidc = match &config.oidc {
            Some(o) => Some(Arc::new(Oidc::new(OidcSettings {
                issuer_url: o.issuer_url.clone(),
                client_id: o.client_id.clone(),
                client_secret: oidc_client_secret(o, &secrets).await?,
                scopes: o.scopes.clone(),
                redirect_url: format!("{public_origin}/auth/callback"),
                post_logout_url: format!("{public_origin}/auth/signed-out"),
            })?)),
            None => {
                tracing::warn!("no [oidc] configured: nobody can sign in");
                None
            }
        };
        let sessions = SessionSettings {
            idle_timeout: Duration::from_secs(config.session.idle_timeout_minutes * 60),
            secure_cookie: public_origin.starts_with("https://"),
        };
        let hardening = Hardening {
            headers: Arc::new(HeaderPolicy {
                https: public_origin.starts_with("https://"),
                provider_origin: config
                    .oidc
                    .as_ref()
                    .and_then(|o| url::Url::parse(&o.issuer_url).ok())
                    .map(|u| u.origin().ascii_serialization()),
            }),
            sign_in_starts: LoginLimiter::new(config.session.sign_in_starts_per_minute),
            metrics_token: config.metrics.token.clone().map(MetricsToken),
            max_body: config.max_request_bytes,
            api_calls: WindowLimiter::new(config.api.rate_limit_per_minute),
        };
        let signin = SignInContext {
            oidc,
            public_origin,
            absolute_timeout_secs: config.session.absolute_timeout_hours as i64 * 3600,
        };
        let on_call = config.on_call(&secrets);
        let starter = config.starter().ok().flatten().map(Arc::new);
        let core = Core {
            okta: config.okta_clients(),
            on_call,
            starter,
            ..Core::new(
                db.clone(),
                clock.clone(),
                AuthSettings {
                    admin_groups: config.auth.admin_groups.clone(),
                    admin_group_types: config.auth.admin_group_types.clone(),
                    bootstrap_admins: config.auth.bootstrap_admins.clone(),
                },
                secrets,
            )
            .with_okta_trust(config.okta_trust())
            .with_webhook_secret_refs(config.webhook_secret_refs())
            .with_email(config.email_settings(&config.public_url_or(addr)))
            .with_reminder_leads(config.reminder_leads())
            .with_pending_reminder(config.pending_reminder())
            .with_pending_escalation(config.pending_escalation())
            .with_slack(config.slack_api(), &config.public_url_or(addr))
        };
        app::ssr::db::notifications::set_channel_enabled(&db, "email", core.email.is_some())
            .await?;
        bootstrap_integration(&config, &core).await?;
        bootstrap_slack(&config, &core).await?;
        let state = AppState::new(leptos_options(&config, addr), core);
        session::spawn_cleanup(
            DbSessionStore::new(db.clone(), clock, sessions.idle_timeout),
            Duration::from_secs(600),
        );
        Ok(Server {
            listener,
            app: router(state.clone(), signin, sessions, hardening),
            db,
            state,
        })
    }

    /// The server's own database pool.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The state every request sees.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    /// Serves until `shutdown` completes, then closes the database pool.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        self.run_with_jobs(shutdown, None).await
    }

    /// Serves until `shutdown` completes, then stops in order: the HTTP server (requests in
    /// progress finish; nothing new is accepted), then `jobs` (see [`Jobs::stop`]), then the
    /// database pool.
    pub async fn run_with_jobs(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
        jobs: Option<Jobs>,
    ) -> Result<(), StartupError> {
        // Responses are streamed in several writes (the page as it renders): without
        // TCP_NODELAY, Nagle's algorithm holds the last small write until the client's delayed
        // ACK, adding ~40 ms to a share of responses on keep-alive connections.
        let listener = self.listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "cannot set TCP_NODELAY");
            }
        });
        let served = axum::serve(
            listener,
            self.app
                .into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        if let Some(jobs) = jobs {
            jobs.stop().await;
        }
        self.db.close().await;
        served?;
        Ok(())
    }
}

/// The secret store from `[secrets]`: env and file secrets always; AWS Secrets Manager when a
/// region is configured.
pub async fn secret_store(config: &Config) -> CachedSecrets {
    let aws: Option<Arc<dyn SecretStore>> = match &config.secrets.aws_region {
        Some(region) => Some(Arc::new(
            AwsSecrets::new(&AwsSettings {
                region: Some(region.clone()),
                endpoint_url: config.secrets.aws_endpoint_url.clone(),
            })
            .await,
        )),
        None => None,
    };
    CachedSecrets::new(
        aws,
        Arc::new(LocalSecrets),
        Duration::from_secs(config.secrets.cache_ttl_secs),
    )
}

/// The OIDC client secret: given, or read from the secret store.
async fn oidc_client_secret(
    oidc: &crate::config::OidcConfig,
    secrets: &CachedSecrets,
) -> Result<secrecy::SecretString, StartupError> {
    let Some(reference) = &oidc.client_secret_ref else {
        return Ok(oidc.client_secret.clone());
    };
    let reference: app::ssr::secrets::SecretRef = reference
        .parse()
        .map_err(|m: String| StartupError::Secret(format!("oidc.client_secret_ref: {m}")))?;
    secrets
        .get(&reference)
        .await
        .map_err(|e| StartupError::Secret(format!("oidc.client_secret_ref: {e}")))
}

/// Applies `[okta]` when no integration settings have been saved yet (audited as `config`).
pub async fn bootstrap_integration(config: &Config, core: &Core) -> Result<(), StartupError> {
    let Some(okta) = config.okta.as_ref().filter(|o| o.configures_integration()) else {
        return Ok(());
    };
    let service = core.integration();
    if service
        .current()
        .await
        .map_err(StartupError::App)?
        .is_some()
    {
        tracing::info!("Okta settings already saved; [okta] in the configuration is not applied");
        return Ok(());
    }
    service
        .save_as("config", &okta.input())
        .await
        .map_err(StartupError::App)?;
    tracing::info!(org = %okta.org_url, "Okta integration configured from [okta]");
    Ok(())
}

/// Connects Slack from `[notifications.slack]` when it names the app's secrets and no admin has
/// saved Slack settings yet. A Slack that cannot be reached is logged, not fatal.
pub async fn bootstrap_slack(config: &Config, core: &Core) -> Result<(), StartupError> {
    let slack = &config.notifications.slack;
    if slack.bot_token_ref.trim().is_empty() {
        return Ok(());
    }
    if app::ssr::db::slack::settings(&core.db).await?.is_some() {
        tracing::info!("Slack settings already saved; [notifications.slack] is not applied");
        return Ok(());
    }
    let input = app::ssr::services::slack::SlackInput {
        bot_token_ref: slack.bot_token_ref.clone(),
        signing_secret_ref: slack.signing_secret_ref.clone(),
        default_channel: slack.default_channel.clone(),
        enabled: true,
    };
    match core.slack().save_as("config", input).await {
        Ok(who) => tracing::info!(%who, "Slack connected from [notifications.slack]"),
        Err(e) => tracing::warn!(error = %e, "Slack from [notifications.slack] not connected"),
    }
    Ok(())
}

/// `gatepass serve`.
pub async fn serve(config: Config) -> Result<(), StartupError> {
    let site_root = config.site_root.clone();
    let pending_max_age_hours = config.requests.pending_max_age_hours;
    let server = Server::build(config, Arc::new(SystemClock)).await?;
    let addr = server.local_addr();
    if !site_root.join("pkg/gatepass.js").exists() {
        tracing::warn!(
            site_root = %site_root.display(),
            "no built site found: pages render but will not hydrate (run `make site`)"
        );
    }
    let jobs = Jobs::start(
        &server.state().core,
        JobSettings::new(Duration::from_secs(pending_max_age_hours * 3600)),
    );
    tracing::info!(%addr, "Gatepass is listening on http://{addr}");
    server.run_with_jobs(shutdown_signal(), Some(jobs)).await?;
    tracing::info!("Gatepass stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
