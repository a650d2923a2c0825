//! The Okta simulator (`gatepass okta-sim`, behind the `server` crate's default `okta-sim`
//! feature): a faithful, seedable Okta org over HTTP, for the demo, the tests and the
//! benchmarks. It depends on nothing of Gatepass, so what it checks (rate-limit buckets,
//! instants, shapes) is written from Okta's documentation, not copied from the client.
//!
//! It serves the Management API subset Gatepass uses (users, groups, memberships, apps and app
//! assignments, admin roles, group rules, system log), and what other Okta clients read
//! alongside (user types, the user schema, group owners), with Okta's paging, errors, rate
//! limits and credentials (SSWS tokens tied to admin roles; OAuth service apps with
//! `private_key_jwt`), the OIDC side of the `default` authorization server for sign-in, and a
//! `/__sim/` control API for fault injection, the request log and steering the org.
//!
//! Known differences from Okta are listed in the README ("The Okta simulator").

pub mod api;
pub mod apps;
pub mod control;
pub mod edge;
pub mod filter;
pub mod http;
pub mod inbox;
pub mod jwt;
pub mod meta;
pub mod oauth;
pub mod oidc;
pub mod pagerduty;
#[cfg(test)]
mod proptests;
pub mod seed;
pub mod slack;
pub mod store;
pub mod time;

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, RwLock};

use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Notify};

use self::edge::{Faults, Limits, LoggedRequest, RateLimiter, REQUEST_LOG_CAP};
use self::http::OktaError;
use self::oidc::OidcState;
use self::seed::{Scale, SeedFile, SeedOidcClient};
use self::store::Org;
use self::time::now_ms;

/// OAuth access tokens of service apps: token → (client id, scopes, expiry ms).
type ServiceTokens = HashMap<String, (String, Vec<String>, i64)>;

/// A running simulated org's shared state.
pub struct Sim {
    pub org: RwLock<Org>,
    pub limiter: Mutex<RateLimiter>,
    pub faults: RwLock<Faults>,
    pub requests: Mutex<VecDeque<LoggedRequest>>,
    pub in_flight: AtomicUsize,
    pub oidc: Mutex<OidcState>,
    service_tokens: Mutex<ServiceTokens>,
    /// Client-assertion ids already used, per app (replay protection).
    jtis: Mutex<HashSet<(String, String)>>,
    persist: Option<(PathBuf, Notify)>,
    /// The demo's mail catcher and webhook receiver (`/__inbox`).
    pub inbox: inbox::Inbox,
    /// The Slack stand-in (`/slack/api/`, `/__slack`).
    pub slack: slack::Slack,
    /// The PagerDuty stand-in (`/pagerduty/oncalls`, `/__pagerduty`).
    pub pagerduty: pagerduty::PagerDuty,
}

impl Sim {
    /// A simulator for `org` with `limits` and `faults`; `state` is where changes are saved.
    pub fn new(org: Org, limits: Limits, faults: Faults, state: Option<PathBuf>) -> Arc<Self> {
        Arc::new_cyclic(|me| Sim {
            org: RwLock::new(org),
            limiter: Mutex::new(RateLimiter::new(limits)),
            faults: RwLock::new(faults),
            requests: Mutex::new(VecDeque::new()),
            in_flight: AtomicUsize::new(0),
            oidc: Mutex::new(OidcState::default()),
            service_tokens: Mutex::new(HashMap::new()),
            jtis: Mutex::new(HashSet::new()),
            persist: state.map(|p| (p, Notify::new())),
            inbox: inbox::Inbox::default(),
            slack: slack::Slack::new(me.clone(), slack::SlackConfig::default()),
            pagerduty: pagerduty::PagerDuty::default(),
        })
    }

    pub(crate) fn log_request(&self, r: LoggedRequest) {
        let mut log = self.requests.lock().expect("request log lock");
        if log.len() == REQUEST_LOG_CAP {
            log.pop_front();
        }
        log.push_back(r);
    }

    pub(crate) fn service_token(&self, token: &str) -> Option<(String, Vec<String>)> {
        let tokens = self.service_tokens.lock().expect("token lock");
        tokens
            .get(token)
            .filter(|(_, _, exp)| *exp > now_ms())
            .map(|(c, s, _)| (c.clone(), s.clone()))
    }

    pub(crate) fn grant_service_token(
        &self,
        token: String,
        client: String,
        scopes: Vec<String>,
        exp: i64,
    ) {
        self.service_tokens
            .lock()
            .expect("token lock")
            .insert(token, (client, scopes, exp));
    }

    /// Records a client assertion id; false if it was seen before.
    pub(crate) fn remember_jti(&self, client: &str, jti: &str) -> bool {
        self.jtis
            .lock()
            .expect("jti lock")
            .insert((client.to_owned(), jti.to_owned()))
    }

    /// Forgets every OAuth access token (service apps and sign-in).
    pub fn revoke_access_tokens(&self) {
        self.service_tokens.lock().expect("token lock").clear();
        *self.oidc.lock().expect("oidc lock") = OidcState::default();
    }

    /// Asks for the org to be saved to the `--state` file (soon, coalescing bursts).
    pub(crate) fn persist_soon(&self) {
        if let Some((_, notify)) = &self.persist {
            notify.notify_one();
        }
    }

    fn save(&self) -> std::io::Result<()> {
        let Some((path, _)) = &self.persist else {
            return Ok(());
        };
        let snapshot = SeedFile::snapshot(&self.org.read().expect("org lock"));
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(&snapshot)?)?;
        std::fs::rename(tmp, path)
    }
}

/// The whole simulator as an axum router.
pub fn router(sim: Arc<Sim>) -> Router {
    let okta = Router::new()
        .merge(api::routes())
        .merge(apps::routes())
        .merge(meta::routes())
        .merge(oauth::routes())
        .merge(oidc::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(|| async { OktaError::method_not_allowed() })
        .layer(from_fn_with_state(sim.clone(), edge::okta_edge));
    Router::new()
        .merge(control::routes())
        .merge(inbox::routes())
        .merge(slack::routes())
        .merge(pagerduty::routes())
        .merge(okta)
        .with_state(sim)
}

async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    OktaError::not_found(uri.path(), "Resource").into_response()
}

/// A simulator serving on a listener; stops when dropped.
pub struct RunningSim {
    pub addr: SocketAddr,
    pub sim: Arc<Sim>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningSim {
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving and waits for the server to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Serves `sim` on `listener` in a background task.
pub fn start(sim: Arc<Sim>, listener: TcpListener) -> std::io::Result<RunningSim> {
    let addr = listener.local_addr()?;
    sim.slack.set_base_url(format!("http://{addr}"));
    sim.pagerduty.set_base_url(format!("http://{addr}"));
    let (stop, stopped) = oneshot::channel::<()>();
    let app = router(sim.clone());
    if sim.persist.is_some() {
        let saver = sim.clone();
        tokio::spawn(async move {
            let Some((_, notify)) = &saver.persist else {
                return;
            };
            loop {
                notify.notified().await;
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                if let Err(e) = saver.save() {
                    tracing::warn!(error = %e, "okta-sim: cannot save state");
                }
            }
        });
    }
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    Ok(RunningSim {
        addr,
        sim,
        stop: Some(stop),
        task: Some(task),
    })
}

/// `gatepass okta-sim` options.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7000")]
    pub listen: SocketAddr,
    /// `demo` (a small company) or a JSON seed file; `none` for an empty org.
    #[arg(long, value_name = "demo|FILE", default_value = "demo")]
    pub seed: String,
    /// Adds a generated org: `users=N,groups=M,memberships=K` (`k`/`m` suffixes allowed).
    #[arg(long, value_name = "SPEC")]
    pub scale: Option<Scale>,
    /// SSWS token of the seeded super admin (random if not given).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "OKTA_SIM_API_TOKEN",
        hide_env_values = true
    )]
    pub api_token: Option<String>,
    /// Load the org from FILE if it exists (instead of the seed) and save changes to it.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Client id of the OIDC app registered for Gatepass.
    #[arg(long, value_name = "ID", default_value = "gatepass")]
    pub oidc_client_id: String,
    /// Its client secret (random if not given).
    #[arg(
        long,
        value_name = "SECRET",
        env = "OKTA_SIM_OIDC_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub oidc_client_secret: Option<String>,
    /// Gatepass's public URL: sets the app's redirect (`/auth/callback`) and sign-out URIs.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:3000")]
    pub gatepass_url: String,
    /// Length of a rate-limit window in seconds (Okta: 60).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub rate_limit_window: u64,
    /// Requests in flight at once before 429 (Okta: 75).
    #[arg(long, value_name = "N", default_value_t = 75)]
    pub concurrency: usize,
    /// Latency added to every API call.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Share of API calls answered with 500 (0–1).
    #[arg(long, value_name = "SHARE", default_value_t = 0.0)]
    pub error_rate: f64,
    /// Share of API calls whose connection is dropped (0–1).
    #[arg(long, value_name = "SHARE", default_value_t = 0.0)]
    pub drop_rate: f64,
    /// Also run a mail catcher (SMTP, no TLS) on ADDR; its messages show on `/__inbox`.
    #[arg(long, value_name = "ADDR")]
    pub smtp_listen: Option<SocketAddr>,
    /// Milliseconds the mail catcher takes to accept each message (a slow mail server).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub smtp_latency_ms: u64,
    /// The bot token the Slack stand-in's Web API accepts.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "OKTA_SIM_SLACK_BOT_TOKEN",
        hide_env_values = true,
        default_value = slack::DEFAULT_BOT_TOKEN
    )]
    pub slack_bot_token: String,
    /// The Slack app's signing secret (signs the interactions sent to Gatepass).
    #[arg(
        long,
        value_name = "SECRET",
        env = "OKTA_SIM_SLACK_SIGNING_SECRET",
        hide_env_values = true,
        default_value = slack::DEFAULT_SIGNING_SECRET
    )]
    pub slack_signing_secret: String,
    /// Where the Slack stand-in sends interactions (loopback only) [default:
    /// `{gatepass-url}/slack/interactions`].
    #[arg(long, value_name = "URL")]
    pub slack_interactions_url: Option<String>,
    /// Latency added to every Slack Web API call.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub slack_latency_ms: u64,
    /// How long a Slack `trigger_id` can open a modal (Slack: 3).
    #[arg(long, value_name = "SECS", default_value_t = slack::DEFAULT_TRIGGER_TTL_SECS)]
    pub slack_trigger_ttl_secs: u64,
    /// The API key the PagerDuty stand-in accepts (`Authorization: Token token=…`).
    #[arg(
        long,
        value_name = "KEY",
        env = "OKTA_SIM_PAGERDUTY_API_KEY",
        hide_env_values = true,
        default_value = pagerduty::DEFAULT_API_KEY
    )]
    pub pagerduty_api_key: String,
}

impl SimArgs {
    /// The Slack stand-in's configuration from the options.
    pub fn slack_config(&self) -> slack::SlackConfig {
        let mut config = slack::SlackConfig::for_gatepass(&self.gatepass_url);
        config.bot_token = self.slack_bot_token.clone();
        config.signing_secret = self.slack_signing_secret.clone();
        if let Some(url) = &self.slack_interactions_url {
            config.interactions_url = url.clone();
        }
        config.latency_ms = self.slack_latency_ms;
        config.trigger_ttl_secs = self.slack_trigger_ttl_secs;
        config
    }
}

/// What a start-up made, for printing.
pub struct Built {
    pub org: Org,
    pub api_token: String,
    pub client: SeedOidcClient,
}

/// Builds the org from the options (state file, seed, scale).
pub fn build_org(args: &SimArgs) -> Result<Built, String> {
    let now = now_ms();
    let api_token = args
        .api_token
        .clone()
        .unwrap_or_else(|| http::random_id("00", 42));
    let url = args.gatepass_url.trim_end_matches('/');
    let client = SeedOidcClient {
        client_id: args.oidc_client_id.clone(),
        client_secret: args
            .oidc_client_secret
            .clone()
            .unwrap_or_else(|| http::random_id("", 40)),
        redirect_uris: vec![format!("{url}/auth/callback")],
        post_logout_redirect_uris: vec![format!("{url}/auth/signed-out")],
    };
    let mut org = Org::new(0x6761_7465_7061_7373, now);
    if let Some(path) = args.state.as_ref().filter(|p| p.exists()) {
        let file = read_seed(path)?;
        file.apply(&mut org, now)?;
        return Ok(Built {
            org,
            api_token,
            client,
        });
    }
    match args.seed.as_str() {
        "demo" => seed::demo(&api_token, client.clone()).apply(&mut org, now)?,
        "none" => SeedFile {
            oidc_clients: vec![client.clone()],
            ..SeedFile::default()
        }
        .apply(&mut org, now)?,
        path => {
            let mut file = read_seed(std::path::Path::new(path))?;
            if !file
                .oidc_clients
                .iter()
                .any(|c| c.client_id == client.client_id)
            {
                file.oidc_clients.push(client.clone());
            }
            file.apply(&mut org, now)?;
        }
    }
    if let Some(scale) = args.scale {
        seed::generate(&mut org, scale, now)?;
    }
    // The `--api-token` (or the random one) always acts as a super admin.
    if !org.tokens.contains_key(&api_token) {
        let owner = org
            .users
            .iter()
            .position(|u| {
                u.roles
                    .iter()
                    .any(|r| r.kind == store::RoleKind::SuperAdmin)
            })
            .map(|i| i as u32);
        let owner = match owner {
            Some(o) => o,
            None => {
                let file = SeedFile {
                    users: vec![seed::SeedUser {
                        id: None,
                        login: "okta-sim-admin@example.com".into(),
                        email: None,
                        first_name: "Okta".into(),
                        last_name: "Admin".into(),
                        status: "ACTIVE".into(),
                        title: Some("Super administrator".into()),
                        department: None,
                        manager: None,
                        created: None,
                        last_updated: None,
                        roles: vec![seed::SeedRole {
                            kind: "SUPER_ADMIN".into(),
                            groups: None,
                        }],
                    }],
                    ..SeedFile::default()
                };
                file.apply(&mut org, now)?;
                org.find_user("okta-sim-admin@example.com")
                    .expect("just added")
            }
        };
        org.tokens.insert(api_token.clone(), owner);
    }
    Ok(Built {
        org,
        api_token,
        client,
    })
}

fn read_seed(path: &std::path::Path) -> Result<SeedFile, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read seed {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("seed {}: {e}", path.display()))
}

/// Runs `gatepass okta-sim` until Ctrl-C.
pub fn run(args: SimArgs) -> ExitCode {
    let faults = Faults {
        latency_ms: args.latency_ms,
        error_rate: args.error_rate,
        drop_rate: args.drop_rate,
        rate_limited: false,
    };
    if let Err(e) = faults.validate() {
        eprintln!("okta-sim: {e}");
        return ExitCode::from(2);
    }
    let started = std::time::Instant::now();
    let built = match build_org(&args) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("okta-sim: {e}");
            return ExitCode::from(2);
        }
    };
    let limits = Limits {
        window_secs: args.rate_limit_window.max(1),
        concurrency: args.concurrency,
        ..Limits::default()
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("okta-sim: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let listener = match TcpListener::bind(args.listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("okta-sim: cannot listen on {}: {e}", args.listen);
                return ExitCode::FAILURE;
            }
        };
        let Built {
            org,
            api_token,
            client,
        } = built;
        let summary = describe(&org, &api_token, &client);
        let sim = Sim::new(org, limits, faults, args.state.clone());
        sim.slack.set_config(args.slack_config());
        sim.pagerduty.set_api_key(&args.pagerduty_api_key);
        if args.seed == "demo" {
            // Lena Fischer (SRE) is on call for the demo's schedule, PDEMO01.
            sim.pagerduty.seed_demo(seed::DEMO_ON_CALL);
        }
        let running = match start(sim.clone(), listener) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("okta-sim: {e}");
                return ExitCode::FAILURE;
            }
        };
        let base = running.base_url();
        if let Some(addr) = args.smtp_listen {
            match TcpListener::bind(addr).await {
                Ok(l) => {
                    let addr = l.local_addr().unwrap_or(addr);
                    tokio::spawn(inbox::serve_smtp(
                        sim.clone(),
                        l,
                        std::time::Duration::from_millis(args.smtp_latency_ms),
                    ));
                    println!("okta-sim: mail catcher on smtp://{addr}; inbox at {base}/__inbox");
                }
                Err(e) => {
                    eprintln!("okta-sim: cannot listen for SMTP on {addr}: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        println!("okta-sim: listening on {base}");
        println!("okta-sim: Slack Web API at {base}/slack/api/; Slack inbox at {base}/__slack");
        println!("okta-sim: PagerDuty REST API at {base}/pagerduty (schedules: {base}/__pagerduty/state)");
        println!("okta-sim: ready in {} ms", started.elapsed().as_millis());
        for line in summary.lines() {
            println!("okta-sim: {}", line.replace("{base}", &base));
        }
        let _ = tokio::signal::ctrl_c().await;
        running.stop().await;
        if let Err(e) = sim.save() {
            eprintln!("okta-sim: cannot save state: {e}");
        }
        ExitCode::SUCCESS
    })
}

/// What the start-up banner says: counts, credentials, who can sign in.
fn describe(org: &Org, api_token: &str, client: &SeedOidcClient) -> String {
    let mut out = format!(
        "org: {} users, {} groups, {} memberships\n",
        org.users.len(),
        org.groups.len(),
        org.membership_count()
    );
    let owner = org
        .tokens
        .get(api_token)
        .map(|&u| org.users[u as usize].login.as_str());
    out.push_str(&format!(
        "API token (SSWS, super admin {}): {api_token}\n",
        owner.unwrap_or("?")
    ));
    out.push_str("OIDC issuer: {base}/oauth2/default\n");
    out.push_str(&format!(
        "OIDC client id: {}  client secret: {}  redirect: {}\n",
        client.client_id,
        client.client_secret,
        client.redirect_uris.join(", ")
    ));
    if org.users.len() <= 100 {
        out.push_str("people you can sign in as:\n");
        for u in &org.users {
            let roles: Vec<&str> = u.roles.iter().map(|r| r.kind.as_str()).collect();
            let groups: Vec<&str> = u
                .groups
                .iter()
                .filter(|&&g| g != Org::EVERYONE)
                .map(|&g| org.groups[g as usize].name.as_str())
                .collect();
            out.push_str(&format!(
                "  {:<40} {:<14} {}{}{}\n",
                u.login,
                u.status,
                u.title.as_deref().unwrap_or(""),
                if groups.is_empty() {
                    String::new()
                } else {
                    format!(" — groups: {}", groups.join(", "))
                },
                if roles.is_empty() {
                    String::new()
                } else {
                    format!(" — Okta roles: {}", roles.join(", "))
                },
            ));
        }
    }
    out
}
