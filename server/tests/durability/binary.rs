//! The real `gatepass` binary as child processes on loopback, for tests and benchmarks: free
//! ports, a child that is SIGKILLed when dropped (its output kept in a file for failure
//! messages), `gatepass okta-sim`, `gatepass serve` (and its other commands) configured
//! against the simulator, waiting until ready, signing in through the simulator's login page,
//! form posts to server functions, and reading `/metrics`.
//!
//! It depends on nothing else in `tests/common`, so `benches/grant_latency.rs` includes it too
//! (`#[path = "../tests/common/binary.rs"]`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The `/metrics` scrape token of test servers.
pub const METRICS_TOKEN: &str = "test-metrics-scrape-token";

pub use reqwest::StatusCode;
use serde_json::Value;

/// The simulator's SSWS API token (a super admin's).
pub const SIM_TOKEN: &str = "sim-api-token";
/// The secret of the simulator's OIDC app for Gatepass.
pub const SIM_CLIENT_SECRET: &str = "sim-client-secret";
/// The signing secret of webhook endpoints the tests add (`env:GATEPASS_TEST_WEBHOOK_SECRET`).
pub const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A free loopback port, from the kernel.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A free loopback port below the kernel's ephemeral range, for a server restarted on the same
/// port: no outgoing connection can take it as its local port while the server is down.
pub fn stable_port() -> u16 {
    use rand::Rng;
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    if low > 12_000 {
        let mut rng = rand::thread_rng();
        for _ in 0..1000 {
            let port = rng.gen_range(10_000..low);
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
                return port;
            }
        }
    }
    free_port()
}

/// A child process with its stdout and stderr appended to a log file; SIGKILLed and reaped
/// when dropped, so a failing test leaves nothing running.
pub struct Proc {
    child: Child,
    log: PathBuf,
}

impl Proc {
    pub fn spawn(mut cmd: Command, log: &Path) -> Proc {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("open the child's log");
        cmd.stdin(Stdio::null())
            .stdout(out.try_clone().expect("log handle"))
            .stderr(out);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
        Proc {
            child,
            log: log.to_path_buf(),
        }
    }

    /// SIGKILL (what `Child::kill` sends on Unix), then reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The exit status, if the process has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The last `lines` lines of the log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log, lines)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The last `lines` lines of a file.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// An HTTP client that keeps cookies like a browser but does not follow redirects.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("HTTP client")
}

/// `gatepass okta-sim` on a free loopback port, with [`SIM_TOKEN`] and an OIDC app whose
/// redirect URIs are on `gatepass_url`. `args` are further options (`--seed`, `--scale`,
/// `--latency-ms`, …).
pub struct OktaSim {
    pub url: String,
    /// Its mail catcher's port (messages on `/__inbox/messages`).
    pub smtp_port: u16,
    pub proc: Proc,
}

impl OktaSim {
    pub async fn start(bin: &Path, log: &Path, gatepass_url: &str, args: &[&str]) -> OktaSim {
        let (port, smtp_port) = (free_port(), free_port());
        let mut cmd = Command::new(bin);
        cmd.args(["okta-sim", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--smtp-listen", &format!("127.0.0.1:{smtp_port}")])
            .args(["--api-token", SIM_TOKEN])
            .args(["--oidc-client-secret", SIM_CLIENT_SECRET])
            .args(["--gatepass-url", gatepass_url])
            .args(args)
            .env("RUST_LOG", "warn");
        let mut sim = OktaSim {
            url: format!("http://127.0.0.1:{port}"),
            smtp_port,
            proc: Proc::spawn(cmd, log),
        };
        let url = format!(
            "{}/oauth2/default/.well-known/openid-configuration",
            sim.url
        );
        wait_for_200(&browser(), &url, &mut sim.proc, Duration::from_secs(60)).await;
        sim
    }

    /// Lifts the simulator's rate limits (tests and benchmarks measure Gatepass, not quotas).
    pub async fn lift_rate_limits(&self, http: &reqwest::Client) {
        let res = http
            .put(format!("{}/__sim/rate-limits", self.url))
            .json(&serde_json::json!({
                "limits": { "group": 1_000_000, "groups": 1_000_000, "users": 1_000_000, "default": 1_000_000 },
                "concurrency": 1000
            }))
            .send()
            .await
            .expect("PUT /__sim/rate-limits");
        assert!(res.status().is_success(), "rate limits: {}", res.status());
    }

    /// An Okta Management API `GET` as the token's holder (`path` starts with `/api/v1`).
    pub async fn api_get(&self, http: &reqwest::Client, path: &str) -> Value {
        let res = http
            .get(format!("{}{path}", self.url))
            .header("authorization", format!("SSWS {SIM_TOKEN}"))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert_eq!(res.status(), 200, "GET {path}");
        res.json().await.expect("JSON")
    }

    /// The ids of the groups Okta lists `user_id` in.
    pub async fn groups_of(&self, http: &reqwest::Client, user_id: &str) -> Vec<String> {
        self.api_get(http, &format!("/api/v1/users/{user_id}/groups"))
            .await
            .as_array()
            .expect("a list of groups")
            .iter()
            .map(|g| g["id"].as_str().expect("group id").to_owned())
            .collect()
    }

    /// The simulator's request log: (method, path, status), in the order answered.
    pub async fn requests(&self, http: &reqwest::Client) -> Vec<(String, String, u16)> {
        let log: Value = http
            .get(format!("{}/__sim/requests", self.url))
            .send()
            .await
            .expect("GET /__sim/requests")
            .json()
            .await
            .expect("JSON");
        log["requests"]
            .as_array()
            .expect("requests")
            .iter()
            .map(|r| {
                (
                    r["method"].as_str().unwrap_or_default().to_owned(),
                    r["path"].as_str().unwrap_or_default().to_owned(),
                    r["status"].as_u64().unwrap_or_default() as u16,
                )
            })
            .collect()
    }
}

/// How to run `gatepass` against an [`OktaSim`]: `serve` on `127.0.0.1:port` with this
/// public URL, the simulator as OIDC provider and Okta org ([`SIM_TOKEN`] through
/// `env:GATEPASS_TEST_OKTA_TOKEN`, or `okta_token`), `admin` as bootstrap admin.
#[derive(Debug, Clone)]
pub struct Gatepass {
    pub bin: PathBuf,
    pub port: u16,
    pub data_dir: PathBuf,
    /// Another database than `<data_dir>/gatepass.db`.
    pub database_url: Option<String>,
    pub okta_url: String,
    /// The API token this process uses (several processes may hold different ones).
    pub okta_token: String,
    pub admin: String,
    /// Where the process's output goes (appended across restarts).
    pub log: PathBuf,
    /// Email to this mail catcher (the simulator's), when set.
    pub smtp_port: Option<u16>,
    /// Slack's Web API at the simulator's Slack stand-in (admins still connect the app).
    pub slack: bool,
}

impl Gatepass {
    /// A configuration on `port` against the simulator at `okta_url`, with its own data
    /// directory and log in `dir`.
    pub fn new(bin: &Path, dir: &Path, okta_url: &str, admin: &str, port: u16) -> Gatepass {
        let data_dir = dir.join(format!("gatepass-{port}"));
        std::fs::create_dir_all(&data_dir).expect("data dir");
        Gatepass {
            bin: bin.to_path_buf(),
            port,
            log: dir.join(format!("gatepass-{port}.log")),
            data_dir,
            database_url: None,
            okta_url: okta_url.into(),
            okta_token: SIM_TOKEN.into(),
            admin: admin.into(),
            smtp_port: None,
            slack: false,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `gatepass <args>` with this configuration in its environment (and no other
    /// `GATEPASS_*` variable inherited from the caller).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("GATEPASS_") {
                cmd.env_remove(key);
            }
        }
        cmd.args(args)
            .env("GATEPASS_DATA_DIR", &self.data_dir)
            .env("GATEPASS_PUBLIC_URL", self.url())
            .env(
                "GATEPASS_OIDC__ISSUER_URL",
                format!("{}/oauth2/default", self.okta_url),
            )
            .env("GATEPASS_OIDC__CLIENT_ID", "gatepass")
            .env("GATEPASS_OIDC__CLIENT_SECRET", SIM_CLIENT_SECRET)
            .env(
                "GATEPASS_AUTH__BOOTSTRAP_ADMINS",
                format!("[\"{}\"]", self.admin),
            )
            .env("GATEPASS_OKTA__ORG_URL", &self.okta_url)
            .env("GATEPASS_OKTA__SECRET_REF", "env:GATEPASS_TEST_OKTA_TOKEN")
            .env("GATEPASS_TEST_OKTA_TOKEN", &self.okta_token)
            .env("GATEPASS_METRICS__TOKEN", METRICS_TOKEN)
            .env(
                "GATEPASS_NOTIFICATIONS__ALLOWED_SECRET_REFS",
                "[\"env:GATEPASS_TEST_WEBHOOK_SECRET\", \"env:GATEPASS_TEST_SLACK_TOKEN\", \
                 \"env:GATEPASS_TEST_SLACK_SIGNING\"]",
            )
            .env("GATEPASS_TEST_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .env(
                "GATEPASS_TEST_SLACK_TOKEN",
                okta_sim::slack::DEFAULT_BOT_TOKEN,
            )
            .env(
                "GATEPASS_TEST_SLACK_SIGNING",
                okta_sim::slack::DEFAULT_SIGNING_SECRET,
            )
            .env("RUST_LOG", "warn");
        if let Some(url) = &self.database_url {
            cmd.env("GATEPASS_DATABASE_URL", url);
        }
        if self.slack {
            cmd.env(
                "GATEPASS_NOTIFICATIONS__SLACK__API_URL",
                format!("{}/slack/api/", self.okta_url),
            );
        }
        if let Some(port) = self.smtp_port {
            cmd.env("GATEPASS_NOTIFICATIONS__EMAIL__SMTP_HOST", "127.0.0.1")
                .env("GATEPASS_NOTIFICATIONS__EMAIL__SMTP_PORT", port.to_string())
                .env("GATEPASS_NOTIFICATIONS__EMAIL__SECURITY", "none")
                .env(
                    "GATEPASS_NOTIFICATIONS__EMAIL__FROM",
                    "gatepass@example.com",
                );
        }
        cmd
    }

    /// Starts `gatepass serve` and waits until `/readyz` answers 200.
    pub async fn serve(&self) -> Proc {
        let listen = format!("127.0.0.1:{}", self.port);
        let mut proc = Proc::spawn(self.command(&["serve", "--listen", &listen]), &self.log);
        let ready = format!("{}/readyz", self.url());
        wait_for_200(&browser(), &ready, &mut proc, Duration::from_secs(120)).await;
        proc
    }

    /// Runs `gatepass <args>` to the end: (success, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out = self
            .command(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run gatepass {args:?}: {e}"));
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// Polls `url` until it answers 200; panics with the log's tail if `proc` ends first or
/// `timeout` passes.
pub async fn wait_for_200(http: &reqwest::Client, url: &str, proc: &mut Proc, timeout: Duration) {
    let t = Instant::now();
    loop {
        if http
            .get(url)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return;
        }
        if let Some(status) = proc.exited() {
            panic!(
                "the process ended ({status}) before {url} answered:\n{}",
                proc.log_tail(30)
            );
        }
        assert!(
            t.elapsed() < timeout,
            "{url} did not answer 200 within {timeout:?}:\n{}",
            proc.log_tail(30)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Signs `login` in to Gatepass at `base` through the simulator's login page; the session
/// cookie stays in `http`'s cookie store.
pub async fn sign_in(http: &reqwest::Client, base: &str, login: &str) {
    let res = http
        .get(format!("{base}/auth/login?return_to=/"))
        .send()
        .await
        .expect("GET /auth/login");
    assert!(res.status().is_redirection(), "login: {}", res.status());
    let authorize = res.headers()["location"].to_str().unwrap().to_owned();
    let mut form: Vec<(String, String)> = url::Url::parse(&authorize)
        .expect("authorize URL")
        .query_pairs()
        .into_owned()
        .collect();
    form.push(("login".into(), login.into()));
    let res = http
        .post(authorize.split('?').next().unwrap())
        .form(&form)
        .send()
        .await
        .expect("POST the simulator's login form");
    assert!(res.status().is_redirection(), "sign-in: {}", res.status());
    let callback = res.headers()["location"].to_str().unwrap().to_owned();
    let res = http.get(callback).send().await.expect("GET the callback");
    assert!(res.status().is_redirection(), "callback: {}", res.status());
}

/// POSTs a form to a server function at `base` as a browser there would (with its `Origin`):
/// the status and the JSON answer (`Null` if it is not JSON). `Err` when no whole answer came
/// (the server is down, or went down meanwhile).
pub async fn post_form(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    form: &[(&str, String)],
) -> reqwest::Result<(StatusCode, Value)> {
    let res = http
        .post(format!("{base}{path}"))
        .header("origin", base)
        .form(form)
        .send()
        .await?;
    let status = res.status();
    let body = res.bytes().await?;
    Ok((status, serde_json::from_slice(&body).unwrap_or_default()))
}

/// [`post_form`] that must be answered 200.
pub async fn post_ok(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    form: &[(&str, String)],
) -> Value {
    let (status, body) = post_form(http, base, path, form)
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    assert_eq!(status, 200, "POST {path}: {body}");
    body
}

/// Waits until a directory sync has succeeded.
pub async fn wait_for_sync(http: &reqwest::Client, base: &str) {
    let t = Instant::now();
    loop {
        let overview = post_ok(http, base, "/api/okta/sync", &[]).await;
        if overview["runs"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["status"] == "ok"))
        {
            return;
        }
        assert!(t.elapsed() < Duration::from_secs(120), "no directory sync");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Saves a requestable, auto-approving policy for the groups matching `applies_to`.
pub async fn save_auto_policy(
    http: &reqwest::Client,
    base: &str,
    applies_to: &str,
    default_duration: &str,
    max_duration: &str,
) {
    post_ok(
        http,
        base,
        "/api/access/policies/save",
        &[
            ("applies_to", applies_to.into()),
            ("eligible_groups", String::new()),
            ("approver_users", String::new()),
            ("approver_groups", String::new()),
            ("quorum", "1".into()),
            ("default_duration", default_duration.into()),
            ("max_duration", max_duration.into()),
            ("requestable", "on".into()),
            ("auto_approve", "on".into()),
        ],
    )
    .await;
}

/// The first `n` groups the signed-in person may request, from the catalog.
pub async fn requestable_groups(http: &reqwest::Client, base: &str, n: usize) -> Vec<String> {
    catalog_entries(http, base, n)
        .await
        .iter()
        .map(|e| e["group_id"].as_str().expect("group_id").to_owned())
        .collect()
}

/// The first `n` entries of the signed-in person's catalog (as `/api/access/catalog` answers).
pub async fn catalog_entries(http: &reqwest::Client, base: &str, n: usize) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut after = String::new();
    while entries.len() < n {
        let page = post_ok(
            http,
            base,
            "/api/access/catalog",
            &[("q", String::new()), ("after", after.clone())],
        )
        .await;
        entries.extend(
            page["entries"]
                .as_array()
                .expect("catalog entries")
                .iter()
                .cloned(),
        );
        match page["next"].as_str() {
            Some(next) => after = next.to_owned(),
            None => break,
        }
    }
    entries.truncate(n);
    entries
}

/// Asks for `group_id` for `duration`, starting now, without a reason.
pub async fn request_access(
    http: &reqwest::Client,
    base: &str,
    group_id: &str,
    duration: &str,
) -> reqwest::Result<(StatusCode, Value)> {
    post_form(
        http,
        base,
        "/api/access/request",
        &[
            ("group_id", group_id.into()),
            ("duration", duration.into()),
            ("reason", String::new()),
            ("start", String::new()),
        ],
    )
    .await
}

/// `/metrics` at `base`.
pub async fn metrics(http: &reqwest::Client, base: &str) -> reqwest::Result<String> {
    http.get(format!("{base}/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await?
        .error_for_status()?
        .text()
        .await
}

/// The value of the sample `name` (with its labels, e.g.
/// `gatepass_okta_ops{kind="add",state="done"}`) in a Prometheus text page; 0 when absent.
pub fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.split(' ').next() == Some(name))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

/// A webhook receiver on loopback that takes `delay` to answer 204 and records each
/// delivery's `webhook-id`; returns its URL and the ids so far.
pub async fn webhook_receiver(delay: Duration) -> (String, Arc<Mutex<Vec<String>>>) {
    let ids: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = ids.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap| {
            let seen = seen.clone();
            async move {
                tokio::time::sleep(delay).await;
                let id = headers
                    .get("webhook-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                seen.lock().unwrap().push(id);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the webhook receiver");
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, ids)
}
