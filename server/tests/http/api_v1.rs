//! The `/api/v1` REST API and personal access tokens: made on Settings › API tokens, shown
//! once and stored only as a hash; a token's calls go through the same services as the pages
//! (a request asked with one token and approved with another, audited `via: token <name>`);
//! what a token may not do — missing scope, a cookie instead of a token, a revoked token, a
//! suspended person, too many calls — is refused with a specific error and changes nothing.

use serde_json::{json, Value};

use crate::common::okta::{sign_in, spawn_with_sim};
use crate::common::{browser, engines, post, TestApp};
use app::ssr::db::tokens::find_by_hash;
use app::ssr::services::tokens::token_hash;
use gatepass::config::OktaBootstrap;

const OKTA_TOKEN_VAR: &str = "GATEPASS_TEST_API_V1_OKTA_TOKEN";
const OKTA_TOKEN: &str = "api-v1-okta-token";

/// The server and the simulator, with calls limited to `per_minute` per token.
async fn setup(
    engine: app::model::DatabaseEngine,
    per_minute: u32,
) -> (TestApp, okta_sim::RunningSim) {
    std::env::set_var(OKTA_TOKEN_VAR, OKTA_TOKEN);
    let seed = json!({
        "users": [
            { "id": "00uadmin000000000001", "login": "admin@example.com", "firstName": "Ada", "lastName": "Admin", "roles": [{ "type": "SUPER_ADMIN" }] },
            { "id": "00ubob00000000000001", "login": "bob@example.com", "firstName": "Bob", "lastName": "Member" }
        ],
        "groups": [
            { "name": "eng", "members": ["admin@example.com"] },
            { "name": "ops", "members": [] },
            { "name": "ad-imported", "type": "APP_GROUP", "members": [] }
        ],
        "tokens": [{ "token": OKTA_TOKEN, "user": "admin@example.com" }]
    });
    spawn_with_sim(
        engine,
        seed,
        "admin@example.com",
        &[],
        move |config, org| {
            config.okta = Some(OktaBootstrap {
                org_url: org.to_owned(),
                secret_ref: format!("env:{OKTA_TOKEN_VAR}"),
                ..OktaBootstrap::default()
            });
            config.api.rate_limit_per_minute = per_minute;
        },
    )
    .await
}

/// The server after a sync (`per_minute` calls a minute per token), with `eng` requestable and approved
/// by the admin; the admin and bob signed in.
pub(crate) async fn eng_approved_by_admin(
    engine: app::model::DatabaseEngine,
    per_minute: u32,
) -> (
    TestApp,
    okta_sim::RunningSim,
    reqwest::Client,
    reqwest::Client,
) {
    let (app, sim) = setup(engine, per_minute).await;
    app.state
        .sync()
        .run(app::model::SyncKind::Full)
        .await
        .unwrap();
    let admin = browser();
    sign_in(&app, &admin, "admin@example.com").await;
    let bob = browser();
    sign_in(&app, &bob, "bob@example.com").await;
    let (status, policy) = post(
        &app,
        &admin,
        "/api/access/policies/save",
        &[
            ("applies_to", "eng"),
            ("eligible_groups", ""),
            ("approver_users", "admin@example.com"),
            ("approver_groups", ""),
            ("quorum", "1"),
            ("default_duration", "1h"),
            ("max_duration", "1d"),
            ("requestable", "on"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{policy}");
    (app, sim, admin, bob)
}

/// Makes a token on Settings › API tokens as `who` (signed in), with `scopes`.
pub(crate) async fn make_token(
    app: &TestApp,
    who: &reqwest::Client,
    name: &str,
    scopes: &[&str],
) -> (u16, Value) {
    let mut form = vec![("name", name.to_owned()), ("days", "30".to_owned())];
    for s in scopes {
        form.push((
            match *s {
                "read" => "scope_read",
                "request" => "scope_request",
                "approve" => "scope_approve",
                _ => "scope_admin",
            },
            "on".to_owned(),
        ));
    }
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    post(app, who, "/api/tokens/create", &form).await
}

/// Calls the API with `token` (none: no `Authorization` header).
pub(crate) async fn call(
    app: &TestApp,
    token: Option<&str>,
    method: reqwest::Method,
    path: &str,
    body: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = reqwest::Client::new().request(method, app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_owned());
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.json().await.unwrap_or_default())
}

pub(crate) fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_request_asked_and_approved_through_the_api_with_tokens_is_the_same_as_in_the_pages() {
    for engine in engines() {
        let (app, _sim, admin, bob) = eng_approved_by_admin(engine, 30).await;

        // Made on the settings page: shown once, stored as a hash only.
        let (status, made) = make_token(&app, &bob, "laptop", &["read", "request"]).await;
        assert_eq!(status, 200, "{made}");
        let token = made["token"].as_str().unwrap().to_owned();
        assert!(token.starts_with("gpat_") && token.len() == 45, "{token}");
        assert_eq!(made["info"]["scopes"], json!(["read", "request"]));
        assert!(
            find_by_hash(&app.db, &token).await.unwrap().is_none(),
            "not stored as is"
        );
        let stored = find_by_hash(&app.db, &token_hash(&token))
            .await
            .unwrap()
            .unwrap();
        // Lists show a short prefix to tell tokens apart, nothing that could be used.
        assert_eq!(stored.display, format!("{}…", &token[..9]));
        let (_, mine) = post(&app, &bob, "/api/tokens/mine", &[]).await;
        assert!(
            !mine.to_string().contains(&token),
            "listed without the token"
        );
        // Not more than the person's role: bob is no admin.
        let (status, refused) = make_token(&app, &bob, "root", &["admin"]).await;
        assert_eq!(status, 422, "{refused}");
        let (status, _) = make_token(&app, &bob, "", &["read"]).await;
        assert_eq!(status, 422, "a name is needed");
        let (status, _) = make_token(&app, &bob, "nothing", &[]).await;
        assert_eq!(status, 422, "a scope is needed");
        let (status, approver) = make_token(&app, &admin, "approver", &["read", "approve"]).await;
        assert_eq!(status, 200, "{approver}");
        let approver = approver["token"].as_str().unwrap().to_owned();

        // A browser session is not a token.
        let res = bob.get(app.url("/api/v1/whoami")).send().await.unwrap();
        assert_eq!(res.status(), 401);
        let body: Value = res.json().await.unwrap();
        assert_eq!(code(&body), "token_missing");

        let (status, _, me) = get(&app, &token, "/api/v1/whoami").await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["login"], "bob@example.com");
        assert_eq!(me["token"]["name"], "laptop");

        let (status, _, groups) = get(&app, &token, "/api/v1/groups?q=en").await;
        assert_eq!(status, 200, "{groups}");
        let eng = groups["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == "eng")
            .expect("eng is requestable")["group_id"]
            .as_str()
            .unwrap()
            .to_owned();

        // Bad input: a clear error naming the field, nothing recorded.
        let (status, _, bad) = post_json(&app, &token, "/api/v1/requests", "{\"group\": 1}").await;
        assert_eq!((status, code(&bad)), (422, "invalid"), "{bad}");
        let ask = json!({ "group_id": eng, "duration": "9d", "reason": "debugging" }).to_string();
        let (status, _, bad) = post_json(&app, &token, "/api/v1/requests", &ask).await;
        assert_eq!(status, 422, "longer than the policy allows: {bad}");
        // Text with a NUL character (which PostgreSQL cannot store) is refused, not a 500.
        for body in [
            json!({ "group_id": eng, "reason": "de\u{0}bug" }),
            json!({ "group_id": format!("{eng}\u{0}"), "reason": "debugging" }),
            json!({ "group_id": eng, "reason": "debugging", "ticket": "OPS\u{0}1" }),
        ] {
            let (status, _, bad) =
                post_json(&app, &token, "/api/v1/requests", &body.to_string()).await;
            assert_eq!((status, code(&bad)), (422, "invalid"), "{bad}");
        }
        let ask = json!({ "group_id": eng, "duration": "2h", "reason": "debugging" }).to_string();
        let (status, headers, request) = post_json(&app, &token, "/api/v1/requests", &ask).await;
        assert_eq!(status, 201, "{request}");
        let id = request["id"].as_i64().unwrap();
        assert_eq!(
            headers["location"],
            format!("/api/v1/requests/{id}").as_str()
        );

        // bob's token cannot decide (no scope; and he is not the approver anyway).
        let approve = json!({ "decision": "approve" }).to_string();
        let path = format!("/api/v1/approvals/{id}");
        let (status, _, refused) = post_json(&app, &token, &path, &approve).await;
        assert_eq!(
            (status, code(&refused)),
            (403, "insufficient_scope"),
            "{refused}"
        );
        // Denying needs a comment, as on the page.
        let deny = json!({ "decision": "deny" }).to_string();
        let (status, _, refused) = post_json(&app, &approver, &path, &deny).await;
        assert_eq!(status, 422, "{refused}");
        let (status, _, queue) = get(&app, &approver, "/api/v1/approvals").await;
        assert_eq!(status, 200);
        assert!(
            queue["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["request"]["id"] == id || r["id"] == id),
            "{queue}"
        );
        let (status, _, decided) = post_json(&app, &approver, &path, &approve).await;
        assert_eq!(status, 200, "{decided}");
        assert_eq!(decided["state"], "Approved");
        let (status, _, again) = post_json(&app, &approver, &path, &approve).await;
        assert_eq!(status, 409, "decided once: {again}");

        let (status, _, access) = get(&app, &token, "/api/v1/access").await;
        assert_eq!(status, 200);
        assert_eq!(access["grants"].as_array().unwrap().len(), 1, "{access}");

        // The audit log says which token did it.
        let events = app::ssr::db::audit::list_audit_events(&app.db, None, 50)
            .await
            .unwrap();
        let via = |action: &str| {
            events
                .iter()
                .find(|e| e.action == action)
                .map(|e| serde_json::from_str::<Value>(&e.details).unwrap()["via"].clone())
        };
        assert_eq!(via("request.created"), Some(json!("token laptop")));
        assert_eq!(via("request.approved"), Some(json!("token approver")));
        assert_eq!(
            via("token.created"),
            Some(Value::Null),
            "made in a browser session"
        );

        // Unknown operations answer in the API's shape.
        let (status, _, unknown) = get(&app, &token, "/api/v1/nope").await;
        assert_eq!((status, code(&unknown)), (404, "not_found"));

        // Revoked: refused at the next call.
        let (status, _) = post(
            &app,
            &bob,
            "/api/tokens/revoke",
            &[("id", &stored.id.to_string())],
        )
        .await;
        assert_eq!(status, 200);
        let (status, _, refused) = get(&app, &token, "/api/v1/whoami").await;
        assert_eq!((status, code(&refused)), (401, "token_revoked"));
        // Someone else's token cannot be revoked by id (admins use their own list).
        let (status, _) = post(&app, &bob, "/api/tokens/revoke", &[("id", "999")]).await;
        assert_eq!(status, 404);
    }
}

#[tokio::test]
async fn tokens_are_refused_when_unknown_malformed_rate_limited_or_their_person_is_suspended() {
    for engine in engines() {
        let (app, sim) = setup(engine, 30).await;
        let bob = browser();
        sign_in(&app, &bob, "bob@example.com").await;
        let (_, made) = make_token(&app, &bob, "script", &["read"]).await;
        let token = made["token"].as_str().unwrap().to_owned();

        for (header, expected) in [
            ("Basic Ym9iOnB3", "token_missing"),
            ("Bearer not-a-token", "token_malformed"),
            (
                "Bearer gpat_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                "token_unknown",
            ),
        ] {
            let res = reqwest::Client::new()
                .get(app.url("/api/v1/whoami"))
                .header("authorization", header)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 401, "{header}");
            assert!(res.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer"));
            let body: Value = res.json().await.unwrap();
            assert_eq!(code(&body), expected, "{header}");
        }

        // A read-only token cannot ask for access.
        let (status, _, refused) =
            post_json(&app, &token, "/api/v1/requests", "{\"group_id\": \"x\"}").await;
        assert_eq!((status, code(&refused)), (403, "insufficient_scope"));

        // At most 30 calls a minute per token (this test's configuration), then 429.
        let mut limited = None;
        for _ in 0..40 {
            let (status, headers, body) = get(&app, &token, "/api/v1/whoami").await;
            if status == 429 {
                limited = Some((headers, body));
                break;
            }
            assert_eq!(status, 200);
        }
        let (headers, body) = limited.expect("rate-limited within 40 calls");
        assert_eq!(code(&body), "rate_limited");
        let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&wait), "{wait}");

        // Okta suspends bob; after the next sync his token stops working.
        let (_, second) = make_token(&app, &bob, "other", &["read"]).await;
        let second = second["token"].as_str().unwrap().to_owned();
        let (status, _, _) = get(&app, &second, "/api/v1/whoami").await;
        assert_eq!(status, 200);
        let res = reqwest::Client::new()
            .put(format!(
                "{}/__sim/users/00ubob00000000000001/status",
                sim.base_url()
            ))
            .json(&json!({ "status": "SUSPENDED" }))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
        app.state
            .sync()
            .run(app::model::SyncKind::Full)
            .await
            .unwrap();
        let (status, _, refused) = get(&app, &second, "/api/v1/whoami").await;
        assert_eq!((status, code(&refused)), (401, "person_inactive"));
    }
}

/// `gatepass <args>` as a person runs it, with `env` (and none of the developer's settings).
fn cli(args: &[&str], env: &[(&str, &str)]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gatepass"));
    for (key, _) in std::env::vars() {
        if key.starts_with("GATEPASS_") || key == "XDG_CONFIG_HOME" {
            cmd.env_remove(key);
        }
    }
    cmd.args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn");
    cmd
}

/// Runs `gatepass <args>` off the async runtime: (exit code, stdout, stderr).
pub(crate) async fn run_cli(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = cli(args, env);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The logins of `group`'s members in the simulator (Okta's own API).
async fn okta_members(sim: &okta_sim::RunningSim, group: &str) -> Vec<String> {
    let http = reqwest::Client::new();
    let auth = format!("SSWS {OKTA_TOKEN}");
    let groups: Value = http
        .get(format!("{}/api/v1/groups?q={group}", sim.base_url()))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = groups[0]["id"].as_str().unwrap();
    let users: Value = http
        .get(format!("{}/api/v1/groups/{id}/users", sim.base_url()))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["profile"]["login"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_command_line_asks_waits_approves_and_gives_back_through_the_api() {
    let engine = engines()[0];
    let (app, sim, admin, bob) = eng_approved_by_admin(engine, 30).await;
    // The grant engine, as `gatepass serve` runs it: approvals reach Okta at once.
    let stop = app.state.core.stopping.child_token();
    let worker = tokio::spawn(app::ssr::jobs::grant_engine::run_worker(
        (*app.state.core).clone(),
        stop.clone(),
        std::time::Duration::from_secs(1),
    ));
    let (_, made) = make_token(&app, &bob, "cli", &["read", "request"]).await;
    let bob_token = made["token"].as_str().unwrap().to_owned();
    let (_, made) = make_token(&app, &admin, "cli", &["read", "approve"]).await;
    let admin_token = made["token"].as_str().unwrap().to_owned();
    let url = app.url("");
    let url = url.trim_end_matches('/');

    // Without a token: exit 3, saying how to sign in.
    // (No stored login either: not the developer's own.)
    let nowhere = tempfile::tempdir().unwrap();
    let none = nowhere.path().join("cli.json");
    let (code, _, err) = run_cli(
        &["access"],
        &[("GATEPASS_CLI_CONFIG", none.to_str().unwrap())],
    )
    .await;
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("gatepass login"), "{err}");
    // Not over plain http to another machine.
    let (code, _, err) = run_cli(
        &["access"],
        &[
            ("GATEPASS_URL", "http://10.0.0.1:3000"),
            ("GATEPASS_TOKEN", &bob_token),
        ],
    )
    .await;
    assert_eq!(code, 2, "{err}");

    // bob logs in (the token from standard input), stored readable by him only.
    let dir = tempfile::tempdir().unwrap();
    let stored = dir.path().join("cli.json");
    let stored_s = stored.to_str().unwrap().to_owned();
    let mut login = cli(
        &["login", "--url", url],
        &[("GATEPASS_CLI_CONFIG", &stored_s)],
    );
    login
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = login.spawn().unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{bob_token}\n").as_bytes())
            .unwrap();
    }
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("bob@example.com"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&stored).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let as_bob = [("GATEPASS_CLI_CONFIG", stored_s.as_str())];
    let as_admin = [
        ("GATEPASS_URL", url),
        ("GATEPASS_TOKEN", admin_token.as_str()),
    ];

    let (code, out, err) = run_cli(&["groups", "en"], &as_bob).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("eng") && out.contains("approved by"), "{out}");

    // bob asks and waits; the admin approves from the command line meanwhile.
    let mut ask = cli(
        &[
            "request",
            "eng",
            "--for",
            "2h",
            "--reason",
            "fix the build",
            "--wait",
        ],
        &as_bob,
    );
    ask.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let waiting = ask.spawn().unwrap();
    let mut request_id = None;
    for _ in 0..100 {
        let (code, out, err) = run_cli(&["approvals", "--json"], &as_admin).await;
        assert_eq!(code, 0, "{err}");
        let queue: Value = serde_json::from_str(&out).unwrap();
        if let Some(r) = queue.as_array().unwrap().first() {
            request_id = r["request"]["id"].as_i64();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let request_id = request_id
        .expect("the request reached the approver")
        .to_string();
    let (code, _, err) = run_cli(&["deny", &request_id], &as_admin).await;
    assert_eq!(code, 2, "deny needs --comment: {err}");
    let (code, out, err) = run_cli(
        &["approve", &request_id, "--comment", "go ahead"],
        &as_admin,
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("approved"), "{out}");
    let out = tokio::task::spawn_blocking(move || waiting.wait_with_output().unwrap())
        .await
        .unwrap();
    let progress = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{progress}");
    assert!(
        progress.contains("waiting for approval") && progress.contains("access granted: eng"),
        "{progress}"
    );
    assert!(okta_members(&sim, "eng")
        .await
        .contains(&"bob@example.com".to_owned()));

    let (code, out, _) = run_cli(&["access"], &as_bob).await;
    assert_eq!(code, 0);
    assert!(out.contains("eng") && out.contains("left"), "{out}");
    let grant = out
        .split_whitespace()
        .find_map(|w| w.strip_prefix('#'))
        .unwrap()
        .to_owned();
    let (code, _, err) = run_cli(&["give-back", &grant], &as_bob).await;
    assert_eq!(code, 0, "{err}");
    let mut gone = false;
    for _ in 0..100 {
        if !okta_members(&sim, "eng")
            .await
            .contains(&"bob@example.com".to_owned())
        {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(gone, "the membership left Okta");
    // Refused by Gatepass: exit 1 with its message (already given back).
    let (code, _, err) = run_cli(&["give-back", &grant], &as_bob).await;
    assert_eq!(code, 1, "{err}");
    // A revoked token: exit 3.
    let (_, mine) = post(&app, &bob, "/api/tokens/mine", &[]).await;
    let id = mine["tokens"][0]["id"].as_i64().unwrap().to_string();
    post(&app, &bob, "/api/tokens/revoke", &[("id", &id)]).await;
    let (code, _, err) = run_cli(&["access"], &as_bob).await;
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("revoked"), "{err}");
    stop.cancel();
    worker.await.unwrap();
}

/// `GET path` with `token`.
pub(crate) async fn get(
    app: &TestApp,
    token: &str,
    path: &str,
) -> (u16, reqwest::header::HeaderMap, Value) {
    call(app, Some(token), reqwest::Method::GET, path, None).await
}

/// `POST path` with `token` and a JSON `body`.
pub(crate) async fn post_json(
    app: &TestApp,
    token: &str,
    path: &str,
    body: &str,
) -> (u16, reqwest::header::HeaderMap, Value) {
    call(app, Some(token), reqwest::Method::POST, path, Some(body)).await
}

/// `POST path` with `token`, `body` and an `Idempotency-Key`.
async fn post_with_key(
    app: &TestApp,
    token: &str,
    path: &str,
    body: &str,
    key: &str,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let res = reqwest::Client::new()
        .post(app.url(path))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.json().await.unwrap_or_default())
}

#[tokio::test]
async fn a_retried_call_with_an_idempotency_key_gets_the_first_answer_and_acts_once() {
    for engine in engines() {
        let (app, _sim, admin, bob) = eng_approved_by_admin(engine, 30).await;
        let (_, made) = make_token(&app, &bob, "deploy", &["read", "request"]).await;
        let token = made["token"].as_str().unwrap().to_owned();
        let (_, made) = make_token(&app, &admin, "approver", &["read", "approve"]).await;
        let approver = made["token"].as_str().unwrap().to_owned();
        let (_, _, groups) = get(&app, &token, "/api/v1/groups").await;
        let eng = groups["items"][0]["group_id"].as_str().unwrap().to_owned();
        let ask = json!({ "group_id": eng, "duration": "1h", "reason": "deploy" }).to_string();

        let (status, headers, first) =
            post_with_key(&app, &token, "/api/v1/requests", &ask, "k-1").await;
        assert_eq!(status, 201, "{first}");
        assert!(headers.get("idempotent-replayed").is_none());
        // The retry (the answer was lost, say): the same answer, nothing asked again.
        let (status, headers, again) =
            post_with_key(&app, &token, "/api/v1/requests", &ask, "k-1").await;
        assert_eq!(status, 201, "{again}");
        assert_eq!(headers["idempotent-replayed"], "true");
        assert_eq!(again, first);
        let events = app::ssr::db::audit::list_audit_events(&app.db, None, 100)
            .await
            .unwrap();
        assert_eq!(
            events
                .iter()
                .filter(|e| e.action == "request.created")
                .count(),
            1
        );
        // Without the key the same call is a second request: refused (one is pending).
        let (status, _, _) = post_json(&app, &token, "/api/v1/requests", &ask).await;
        assert_eq!(status, 409);
        // The key for another call: refused, nothing done.
        let other = json!({ "group_id": eng, "duration": "2h", "reason": "deploy" }).to_string();
        let (status, _, reused) =
            post_with_key(&app, &token, "/api/v1/requests", &other, "k-1").await;
        assert_eq!(
            (status, code(&reused)),
            (422, "idempotency_key_reused"),
            "{reused}"
        );
        let (status, _, bad) =
            post_with_key(&app, &token, "/api/v1/requests", &ask, "no spaces allowed").await;
        assert_eq!(
            (status, bad["error"]["field"].as_str()),
            (422, Some("Idempotency-Key")),
            "{bad}"
        );
        // Keys are per token: another token's same key is its own.
        let id = first["id"].as_i64().unwrap();
        let approve = json!({ "decision": "approve", "comment": "ok" }).to_string();
        let path = format!("/api/v1/approvals/{id}");
        let (status, _, decided) = post_with_key(&app, &approver, &path, &approve, "k-1").await;
        assert_eq!(status, 200, "{decided}");
        let (status, headers, replayed) =
            post_with_key(&app, &approver, &path, &approve, "k-1").await;
        assert_eq!((status, &replayed), (200, &decided));
        assert_eq!(headers["idempotent-replayed"], "true");
        let (status, _, _) = post_json(&app, &approver, &path, &approve).await;
        assert_eq!(status, 409, "without the key: already decided");
    }
}

#[tokio::test]
async fn administrators_read_policies_and_the_audit_log_with_an_admin_token_and_nobody_else_does() {
    for engine in engines() {
        let (app, _sim, admin, bob) = eng_approved_by_admin(engine, 30).await;
        let (status, made) = make_token(&app, &admin, "audit", &["read", "admin"]).await;
        assert_eq!(status, 200, "{made}");
        let root = made["token"].as_str().unwrap().to_owned();
        let (_, made) = make_token(&app, &admin, "plain", &["read"]).await;
        let plain = made["token"].as_str().unwrap().to_owned();
        let (_, made) = make_token(&app, &bob, "bob", &["read", "request"]).await;
        let bobs = made["token"].as_str().unwrap().to_owned();

        let (status, _, list) = get(&app, &root, "/api/v1/policies").await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(list["items"][0]["applies_to"], "eng");
        for token in [&plain, &bobs] {
            let (status, _, refused) = get(&app, token, "/api/v1/policies").await;
            assert_eq!((status, code(&refused)), (403, "insufficient_scope"));
            let (status, _, _) = get(&app, token, "/api/v1/audit").await;
            assert_eq!(status, 403);
        }

        // The audit log a page at a time, filtered as on the audit page.
        let (status, headers, page) = get(&app, &root, "/api/v1/audit?action=token.&limit=2").await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert!(items.iter().all(|e| e["action"] == "token.created"));
        let next = page["next"].as_i64().expect("a third token event is older");
        let link = headers["link"].to_str().unwrap();
        assert!(
            link.contains(&format!("cursor={next}")) && link.ends_with("rel=\"next\""),
            "{link}"
        );
        let path = format!("/api/v1/audit?action=token.&limit=2&cursor={next}");
        let (_, _, older) = get(&app, &root, &path).await;
        assert_eq!(older["items"].as_array().unwrap().len(), 1, "{older}");
        assert!(older["next"].is_null());
        for bad in [
            "/api/v1/audit?limit=0",
            "/api/v1/audit?from=yesterday",
            "/api/v1/audit?colour=red",
        ] {
            let (status, _, body) = get(&app, &root, bad).await;
            assert_eq!((status, code(&body)), (422, "invalid"), "{bad}: {body}");
        }
    }
}
