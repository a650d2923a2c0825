//! The command-line client of the `/api/v1` REST API: `gatepass login`, `groups`, `request`,
//! `access`, `give-back`, `approvals`, `approve`, `deny`, and `policies export|apply`
//! ([`policies`]). It talks to a Gatepass server with a
//! personal access token — from `GATEPASS_TOKEN` (and `GATEPASS_URL`), or stored by
//! `gatepass login` in the user's config directory with mode 0600 — and prints for people, or
//! the API's JSON with `--json`. Redirects are never followed (the token goes to the address
//! given, or nowhere), and the address must be https unless it is this machine.
//!
//! Asking for access and deciding carry an `Idempotency-Key` and are retried with it when
//! Gatepass cannot be reached, so a flaky connection never asks or decides twice.
//!
//! Exit codes: 0 done; 1 Gatepass refused (the message says why); 2 usage; 3 no token, or the
//! token was refused; 4 Gatepass unreachable or failing; 5 `--wait` ended without access
//! (denied, cancelled, expired, failed, or timed out).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

mod policies;

use app::model::{
    AccessRequest, CatalogEntry, GrantState, GrantView, MyAccess, RequestState, RequestView,
    Timestamp,
};

/// Options every client command takes.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// Print the API's JSON instead of text for people.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The client's commands (see `gatepass <command> --help`).
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Store a personal access token (read from standard input) for the Gatepass at `--url`,
    /// after checking it. Make one on Settings › API tokens.
    Login {
        /// Gatepass's address, e.g. https://gatepass.example.com.
        #[arg(long, env = "GATEPASS_URL")]
        url: String,
    },
    /// Groups you may request, whose name contains QUERY.
    Groups { query: Option<String> },
    /// Ask for a group (its id, or its exact name when only one group you may request has it).
    Request {
        group: String,
        /// How long: 30m, 2h, 1d (default: the policy's).
        #[arg(long = "for", value_name = "DURATION")]
        duration: Option<String>,
        /// Why (some policies require it).
        #[arg(long, default_value = "")]
        reason: String,
        /// Start later, at a UTC date and time (2026-06-01T10:00).
        #[arg(long)]
        start: Option<String>,
        /// A ticket reference, e.g. OPS-123 (some policies require one).
        #[arg(long)]
        ticket: Option<String>,
        /// Wait for the decision and for the Okta membership, showing progress.
        #[arg(long)]
        wait: bool,
        /// Longest to wait with --wait, in minutes.
        #[arg(long, default_value_t = 60)]
        wait_minutes: u64,
    },
    /// What you hold (and until when) and your requests.
    Access,
    /// Give a grant back now.
    GiveBack { grant: i64 },
    /// Requests waiting for your decision.
    Approvals,
    /// Approve a request you are an approver of.
    Approve {
        request: i64,
        #[arg(long, default_value = "")]
        comment: String,
        /// Approve for less time than asked (30m, 2h).
        #[arg(long = "for", value_name = "DURATION")]
        duration: Option<String>,
    },
    /// Deny a request you are an approver of (a comment is required).
    Deny {
        request: i64,
        #[arg(long)]
        comment: String,
    },
    /// Policies as code: export them to a file, or make them exactly what a file says
    /// (administrators, with an `admin`-scoped token).
    Policies {
        #[command(subcommand)]
        command: policies::PoliciesCommand,
    },
}

/// Why a command failed, and its exit code.
#[derive(Debug)]
pub struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn new(code: u8, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }
}

/// Where `gatepass login` keeps the address and token.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    url: String,
    token: String,
}

/// `$GATEPASS_CLI_CONFIG`, else `$XDG_CONFIG_HOME/gatepass/cli.json`, else
/// `~/.config/gatepass/cli.json`.
fn stored_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("GATEPASS_CLI_CONFIG") {
        return Some(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("gatepass").join("cli.json"))
}

/// The address must be https, or http to this machine.
fn check_url(url: &str) -> Result<String, Failure> {
    let parsed = url::Url::parse(url.trim())
        .map_err(|e| Failure::new(2, format!("`{url}` is not an address: {e}")))?;
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        None => false,
    };
    if parsed.scheme() != "https" && !(parsed.scheme() == "http" && loopback) {
        return Err(Failure::new(
            2,
            "use an https:// address (http:// only to this machine): the token must not travel in clear",
        ));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// The address and token to use: the environment first, then what `login` stored.
fn credentials() -> Result<(String, String), Failure> {
    let env_token = std::env::var("GATEPASS_TOKEN")
        .ok()
        .filter(|t| !t.is_empty());
    let stored: Option<Stored> = stored_path()
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok());
    let url = std::env::var("GATEPASS_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| stored.as_ref().map(|s| s.url.clone()));
    let token = env_token.or_else(|| stored.map(|s| s.token));
    match (url, token) {
        (Some(url), Some(token)) => Ok((check_url(&url)?, token)),
        _ => Err(Failure::new(
            3,
            "not signed in: run `gatepass login --url https://…` (with a token from Settings › API tokens), or set GATEPASS_URL and GATEPASS_TOKEN",
        )),
    }
}

/// One Gatepass server, called with one token.
struct Api {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Api {
    fn new(url: String, token: String) -> Result<Api, Failure> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("gatepass-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Failure::new(4, format!("cannot make an HTTP client: {e}")))?;
        Ok(Api { http, url, token })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Failure> {
        self.call_with(method, path, body, &[]).await
    }

    /// [`Api::call`] with extra headers (`If-Match`).
    async fn call_with(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Result<Value, Failure> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.token);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req
            .send()
            .await
            .map_err(|e| Failure::new(4, format!("cannot reach Gatepass at {}: {e}", self.url)))?;
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        let value: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        if status.is_success() {
            return Ok(value);
        }
        let message = value["error"]["message"]
            .as_str()
            .map(|m| match value["error"]["field"].as_str() {
                Some(f) => format!("{f}: {m}"),
                None => m.to_owned(),
            })
            .unwrap_or_else(|| format!("Gatepass answered {status}"));
        let code = match status.as_u16() {
            401 => 3,
            s if s >= 500 || status.is_redirection() => 4,
            _ => 1,
        };
        Err(Failure::new(code, message))
    }

    async fn get(&self, path: &str) -> Result<Value, Failure> {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, Failure> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// A call that changes something, made safe to repeat: it carries an `Idempotency-Key`,
    /// and when Gatepass cannot be reached or fails it is sent again (twice at most, a second
    /// apart) with the same key, so that it acts once whatever happened to the first answer.
    async fn post_once(&self, path: &str, body: Value) -> Result<Value, Failure> {
        use rand::distributions::{Alphanumeric, DistString};
        let key = format!(
            "gatepass-cli-{}",
            Alphanumeric.sample_string(&mut rand::thread_rng(), 24)
        );
        let mut retries = 0;
        loop {
            let headers = [("Idempotency-Key", key.as_str())];
            match self
                .call_with(reqwest::Method::POST, path, Some(body.clone()), &headers)
                .await
            {
                Err(failure) if failure.code == 4 && retries < 2 => {
                    retries += 1;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                answer => return answer,
            }
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, Failure> {
    serde_json::from_value(value)
        .map_err(|e| Failure::new(4, format!("Gatepass answered something unexpected: {e}")))
}

/// `2h 05m 09s left`, `ended` (as the pages' countdown says it).
fn left(until: Timestamp, now: Timestamp) -> String {
    match app::components::countdown::remaining(until - now) {
        ended if ended == "ended" => ended,
        time => format!("{time} left"),
    }
}

fn now() -> Timestamp {
    Timestamp::from(time::OffsetDateTime::now_utc())
}

/// Runs a client command; prints its result (or the failure) and says how it ended.
pub fn run(command: ClientCommand, args: ClientArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gatepass: cannot start the async runtime: {e}");
            return ExitCode::from(4);
        }
    };
    match runtime.block_on(execute(command, args.json)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("gatepass: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

async fn execute(command: ClientCommand, json_out: bool) -> Result<(), Failure> {
    if let ClientCommand::Login { url } = &command {
        return login(url).await;
    }
    let (url, token) = credentials()?;
    let api = Api::new(url, token)?;
    let print = |value: &Value| {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
    };
    match command {
        ClientCommand::Login { .. } => unreachable!("handled above"),
        ClientCommand::Policies { command } => policies::run(&api, command, json_out).await,
        ClientCommand::Groups { query } => {
            let mut items = Vec::new();
            let mut cursor = String::new();
            loop {
                let path = format!(
                    "/api/v1/groups?q={}&cursor={}",
                    crate::api_v1::query_value(query.as_deref().unwrap_or("")),
                    crate::api_v1::query_value(&cursor)
                );
                let page = api.get(&path).await?;
                items.extend(page["items"].as_array().cloned().unwrap_or_default());
                match page["next"].as_str() {
                    Some(next) if items.len() < 1000 => cursor = next.to_owned(),
                    _ => break,
                }
            }
            if json_out {
                print(&Value::Array(items));
                return Ok(());
            }
            let entries: Vec<CatalogEntry> = parse(Value::Array(items))?;
            if entries.is_empty() {
                println!("No group you may request matches.");
            }
            for e in entries {
                let approvers = if e.auto_approve {
                    "auto-approved".to_owned()
                } else {
                    format!("approved by {}", e.approvers.join(", "))
                };
                let held = e
                    .held_until
                    .map(|t| format!(" · you hold it ({})", left(t, now())))
                    .unwrap_or_default();
                println!(
                    "{}  {}  up to {} · {approvers}{held}",
                    e.group_id.0,
                    e.name,
                    app::format::describe_duration(e.max_duration_secs)
                );
            }
            Ok(())
        }
        ClientCommand::Request {
            group,
            duration,
            reason,
            start,
            ticket,
            wait,
            wait_minutes,
        } => {
            let group_id = resolve_group(&api, &group).await?;
            let mut body = json!({ "group_id": group_id, "reason": reason });
            if let Some(d) = duration {
                body["duration"] = json!(d);
            }
            if let Some(s) = start {
                body["start"] = json!(s);
            }
            if let Some(t) = ticket {
                body["ticket"] = json!(t);
            }
            let answer = api.post_once("/api/v1/requests", body).await?;
            let request: AccessRequest = parse(answer.clone())?;
            if !wait {
                if json_out {
                    print(&answer);
                } else {
                    println!(
                        "Request #{} {}.",
                        request.id.0,
                        describe_state(request.state)
                    );
                }
                return Ok(());
            }
            wait_for(
                &api,
                request,
                Duration::from_secs(wait_minutes * 60),
                json_out,
            )
            .await
        }
        ClientCommand::Access => {
            let answer = api.get("/api/v1/access").await?;
            if json_out {
                print(&answer);
                return Ok(());
            }
            let mine: MyAccess = parse(answer)?;
            let now = now();
            let live: Vec<&GrantView> = mine
                .grants
                .iter()
                .filter(|g| matches!(g.grant.state, GrantState::Active | GrantState::Scheduled))
                .collect();
            if live.is_empty() {
                println!("You hold no access through Gatepass.");
            }
            for g in live {
                println!(
                    "grant #{}  {}  {}  until {} ({})",
                    g.grant.id.0,
                    g.group_name,
                    g.grant.state.as_str(),
                    g.grant.ends_at.utc_datetime(),
                    left(g.grant.ends_at, now)
                );
            }
            for r in mine
                .requests
                .iter()
                .filter(|r| r.request.state == RequestState::Pending)
            {
                println!(
                    "request #{}  {}  waiting for approval ({} of {})",
                    r.request.id.0, r.group_name, r.request.approvals, r.request.quorum
                );
            }
            Ok(())
        }
        ClientCommand::GiveBack { grant } => {
            let answer = api
                .post(&format!("/api/v1/grants/{grant}/give-back"), json!({}))
                .await?;
            if json_out {
                print(&answer);
            } else {
                println!("Grant #{grant} given back; Gatepass removes the Okta membership now.");
            }
            Ok(())
        }
        ClientCommand::Approvals => {
            let answer = api.get("/api/v1/approvals").await?;
            if json_out {
                print(&answer["items"]);
                return Ok(());
            }
            let queue: Vec<RequestView> = parse(answer["items"].clone())?;
            if queue.is_empty() {
                println!("Nothing waits for your decision.");
            }
            for r in queue {
                println!(
                    "request #{}  {} asks for {} for {}: {}",
                    r.request.id.0,
                    r.requester_name,
                    r.group_name,
                    app::format::describe_duration(r.request.duration_secs),
                    if r.request.reason.is_empty() {
                        "(no reason)"
                    } else {
                        &r.request.reason
                    }
                );
            }
            Ok(())
        }
        ClientCommand::Approve {
            request,
            comment,
            duration,
        } => {
            let mut body = json!({ "decision": "approve", "comment": comment });
            if let Some(d) = duration {
                body["duration"] = json!(d);
            }
            decided(&api, request, body, json_out).await
        }
        ClientCommand::Deny { request, comment } => {
            let body = json!({ "decision": "deny", "comment": comment });
            decided(&api, request, body, json_out).await
        }
    }
}

fn describe_state(state: RequestState) -> &'static str {
    match state {
        RequestState::Pending => "is waiting for approval",
        RequestState::Approved => "is approved",
        RequestState::Denied => "was denied",
        RequestState::Cancelled => "was cancelled",
        RequestState::Expired => "expired",
    }
}

async fn decided(api: &Api, request: i64, body: Value, json_out: bool) -> Result<(), Failure> {
    let answer = api
        .post_once(&format!("/api/v1/approvals/{request}"), body)
        .await?;
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(&answer).unwrap_or_default()
        );
        return Ok(());
    }
    let r: AccessRequest = parse(answer)?;
    match r.state {
        RequestState::Pending => println!(
            "Your approval of request #{request} is recorded ({} of {}).",
            r.approvals, r.quorum
        ),
        state => println!("Request #{request} {}.", describe_state(state)),
    }
    Ok(())
}

/// A group id as given (`00g…`), or the id of the one group in the person's catalog with
/// exactly that name; several with that name are refused with their ids.
async fn resolve_group(api: &Api, group: &str) -> Result<String, Failure> {
    if app::ssr::services::identity::looks_like_group_id(group) {
        return Ok(group.to_owned());
    }
    let page = api
        .get(&format!(
            "/api/v1/groups?q={}",
            crate::api_v1::query_value(group)
        ))
        .await?;
    let entries: Vec<CatalogEntry> = parse(page["items"].clone())?;
    let exact: Vec<&CatalogEntry> = entries.iter().filter(|e| e.name == group).collect();
    match exact.as_slice() {
        [one] => Ok(one.group_id.0.clone()),
        [] => Err(Failure::new(
            1,
            format!(
                "no group named `{group}` that you may request (see `gatepass groups {group}`)"
            ),
        )),
        several => Err(Failure::new(
            1,
            format!(
                "several groups you may request are named `{group}`; give one's id: {}",
                several
                    .iter()
                    .map(|e| e.group_id.0.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// `request --wait`: follows the request until the membership is in Okta (exit 0) or it ends
/// otherwise (exit 5), printing one progress line per change.
async fn wait_for(
    api: &Api,
    request: AccessRequest,
    limit: Duration,
    json_out: bool,
) -> Result<(), Failure> {
    let started = Instant::now();
    let id = request.id;
    let mut last = String::new();
    loop {
        let mine: MyAccess = parse(api.get("/api/v1/access").await?)?;
        let state = mine
            .requests
            .iter()
            .find(|r| r.request.id == id)
            .map(|r| r.request.state)
            .unwrap_or(request.state);
        let grant = mine.grants.iter().find(|g| g.grant.request_id == id);
        let (line, done) = match (state, grant.map(|g| g.grant.state)) {
            (RequestState::Pending, _) => ("waiting for approval".to_owned(), None),
            (RequestState::Approved, Some(GrantState::Active)) => {
                let g = grant.expect("matched");
                (
                    format!(
                        "access granted: {} until {}",
                        g.group_name,
                        g.grant.ends_at.utc_datetime()
                    ),
                    Some(0),
                )
            }
            (RequestState::Approved, Some(GrantState::Scheduled)) => {
                let g = grant.expect("matched");
                (
                    format!(
                        "approved; access starts {}",
                        g.grant.starts_at.utc_datetime()
                    ),
                    Some(0),
                )
            }
            (RequestState::Approved, Some(GrantState::Failed)) => (
                "approved, but Okta refused the membership".to_owned(),
                Some(5),
            ),
            (RequestState::Approved, _) => {
                ("approved; adding the Okta membership".to_owned(), None)
            }
            (other, _) => (describe_state(other).to_owned(), Some(5)),
        };
        if line != last {
            if json_out {
                println!("{}", json!({ "request": id.0, "status": line }));
            } else if std::io::stderr().is_terminal() {
                eprint!("\r\x1b[2K{line}");
                if done.is_some() {
                    eprintln!();
                }
            } else {
                eprintln!("{line}");
            }
            last = line;
        }
        match done {
            Some(0) => return Ok(()),
            Some(code) => return Err(Failure::new(code, format!("request #{} {last}", id.0))),
            None => {}
        }
        if started.elapsed() > limit {
            return Err(Failure::new(
                5,
                format!(
                    "request #{} is still not done after {} min",
                    id.0,
                    limit.as_secs() / 60
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `gatepass login`: reads a token from standard input, checks it, stores it (mode 0600).
async fn login(url: &str) -> Result<(), Failure> {
    let url = check_url(url)?;
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Paste a token from {url}/settings/tokens: ");
        let _ = std::io::stderr().flush();
    }
    let mut token = String::new();
    stdin
        .lock()
        .read_line(&mut token)
        .map_err(|e| Failure::new(2, format!("cannot read the token: {e}")))?;
    let token = token.trim().to_owned();
    if token.is_empty() {
        return Err(Failure::new(2, "no token given (paste it, or pipe it in)"));
    }
    let api = Api::new(url.clone(), token.clone())?;
    let me = api.get("/api/v1/whoami").await?;
    let path = stored_path()
        .ok_or_else(|| Failure::new(2, "no config directory: set HOME or GATEPASS_CLI_CONFIG"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::new(1, format!("cannot create {}: {e}", dir.display())))?;
    }
    let stored = serde_json::to_vec_pretty(&Stored { url, token }).expect("serialisable");
    write_private(&path, &stored)
        .map_err(|e| Failure::new(1, format!("cannot write {}: {e}", path.display())))?;
    println!(
        "Signed in as {} with token `{}`; stored in {}",
        me["login"].as_str().unwrap_or("?"),
        me["token"]["name"].as_str().unwrap_or("?"),
        path.display()
    );
    Ok(())
}

/// Writes `bytes` to `path` readable by its owner only.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_go_over_https_or_to_this_machine_only() {
        assert!(check_url("https://gatepass.example.com/").is_ok());
        assert!(check_url("http://127.0.0.1:3000").is_ok());
        assert!(check_url("http://localhost:3000").is_ok());
        assert!(check_url("http://[::1]:3000").is_ok());
        for bad in [
            "http://gatepass.example.com",
            "http://10.0.0.1",
            "ftp://x",
            "gatepass",
        ] {
            assert_eq!(check_url(bad).unwrap_err().code, 2, "{bad}");
        }
    }

    #[test]
    fn time_left_reads_like_people_say_it() {
        let t = Timestamp::from_millis(10_000_000);
        assert_eq!(left(t.plus_secs(2 * 3600 + 5 * 60), t), "2h 05m 00s left");
        assert_eq!(left(t.plus_secs(90), t), "1m 30s left");
        assert_eq!(left(t, t), "ended");
    }
}
