//! The attack suite: each test reproduces an attack on Gatepass and proves it now fails. Tests
//! are named after the line of `docs/SECURITY.md`'s threat model they prove (`t<NN>_…`), and run
//! on SQLite and PostgreSQL where a database is involved.

use std::sync::{Arc, Mutex};

use crate::common::okta::{pick_person, settings_form, sign_in, spawn_with_sim};
use crate::common::{browser, engines, post, TestApp};
use app::ssr::db::audit::list_audit_events;
use axum::extract::Request;
use axum::response::IntoResponse;
use gatepass::config::OktaBootstrap;
use okta_sim::RunningSim;
use serde_json::json;

const TOKEN: &str = "attack-suite-okta-token";
const TOKEN_VAR: &str = "GATEPASS_TEST_ATTACK_TOKEN";

/// A host an attacker controls: it answers every request like an Okta org would (with an
/// `X-Okta-Request-Id`), or redirects to `redirect_to`, and keeps each request's
/// `Authorization` header.
struct Catcher {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Catcher {
    async fn start(redirect_to: Option<String>) -> Catcher {
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = seen.clone();
        let handler = move |request: Request| {
            let log = log.clone();
            let redirect_to = redirect_to.clone();
            async move {
                let auth = request
                    .headers()
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-")
                    .to_owned();
                log.lock()
                    .unwrap()
                    .push(format!("{} {} {auth}", request.method(), request.uri()));
                match redirect_to {
                    Some(to) => (
                        axum::http::StatusCode::TEMPORARY_REDIRECT,
                        [("location", format!("{to}{}", request.uri()))],
                    )
                        .into_response(),
                    None => (
                        [
                            ("x-okta-request-id", "fake"),
                            ("content-type", "application/json"),
                        ],
                        r#"{"id":"00ufake","status":"ACTIVE","profile":{"login":"x","email":"x"}}"#,
                    )
                        .into_response(),
                }
            }
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, axum::Router::new().fallback(handler))
                .await
                .unwrap()
        });
        Catcher { url, seen }
    }

    fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// Gatepass against the simulator (allowed by configuration, with `env:` [`TOKEN_VAR`]), an
/// admin `admin@example.com` and a requester `bob@example.com`.
async fn setup(
    engine: app::model::DatabaseEngine,
    configure: impl FnOnce(&mut gatepass::config::Config) + Send + 'static,
) -> (TestApp, RunningSim) {
    std::env::set_var(TOKEN_VAR, TOKEN);
    std::env::set_var("GATEPASS_TEST_ATTACK_OTHER_SECRET", "not-for-okta");
    let seed = json!({
        "users": [
            { "id": "00uadmin000000000001", "login": "admin@example.com", "firstName": "Ada", "lastName": "Admin", "roles": [{ "type": "SUPER_ADMIN" }] },
            { "id": "00ubob00000000000001", "login": "bob@example.com", "firstName": "Bob", "lastName": "Member" },
            // Carries the admin's email address: Okta does not keep emails unique.
            { "id": "00umallory0000000001", "login": "mallory@example.com", "email": "admin@example.com", "firstName": "Mal", "lastName": "Lory" },
            { "id": "00unewbie0000000001", "login": "newbie@example.com", "firstName": "New", "lastName": "Hire" }
        ],
        "groups": [
            { "name": "eng", "members": ["admin@example.com", "bob@example.com"] },
            { "name": "team_a" }
        ],
        "tokens": [{ "token": TOKEN, "user": "admin@example.com" }]
    });
    // As a sync would leave the directory, except for a new hire not synced yet.
    spawn_with_sim(
        engine,
        seed,
        "admin@example.com",
        &["newbie@example.com"],
        move |config, org| {
            config.okta = Some(OktaBootstrap {
                org_url: org.to_owned(),
                secret_ref: format!("env:{TOKEN_VAR}"),
                ..OktaBootstrap::default()
            });
            configure(config);
        },
    )
    .await
}

/// Writes integration settings straight into the database, as settings saved before the
/// configuration changed (or by someone with database write access) would be.
async fn plant_settings(app: &TestApp, org_url: &str, secret_ref: &str) {
    let settings = app::ssr::testing::test_integration(org_url, secret_ref);
    let mut tx = app.db.begin_write().await.unwrap();
    app::ssr::db::integration::save_integration(&mut tx, &settings)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn audit_actions(app: &TestApp) -> Vec<String> {
    list_audit_events(&app.db, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

/// T01: a rogue admin cannot point the integration at a host of their own, nor name a local
/// secret (`env:`/`file:`) the configuration does not, so no credential leaves for it.
#[tokio::test]
async fn t01_rogue_admin_cannot_choose_where_credentials_go() {
    for engine in engines() {
        let catcher = Catcher::start(None).await;
        let (app, sim) = setup(engine, |_| {}).await;
        let admin = browser();
        sign_in(&app, &admin, "admin@example.com").await;
        let before = audit_actions(&app).await;
        let org = sim.base_url();

        for (org_url, secret_ref, field) in [
            // Another host, with the configured reference.
            (
                catcher.url.as_str(),
                format!("env:{TOKEN_VAR}"),
                "Okta domain",
            ),
            // Another host, with a new AWS reference.
            (
                catcher.url.as_str(),
                "aws-secretsmanager:gatepass/okta".into(),
                "Okta domain",
            ),
            // The real org, but a local secret the configuration does not name.
            (
                org.as_str(),
                "env:GATEPASS_OIDC__CLIENT_SECRET".into(),
                "Secret reference",
            ),
            (
                org.as_str(),
                "env:GATEPASS_TEST_ATTACK_OTHER_SECRET".into(),
                "Secret reference",
            ),
            (org.as_str(), "file:/etc/passwd".into(), "Secret reference"),
            (
                org.as_str(),
                "file:/nonexistent/probe".into(),
                "Secret reference",
            ),
        ] {
            let (status, body) = post(
                &app,
                &admin,
                "/api/okta/settings/save",
                &settings_form(org_url, &secret_ref),
            )
            .await;
            assert_eq!(status, 422, "{org_url} {secret_ref}: {body}");
            assert_eq!(body["Invalid"]["field"], field, "{body}");
            // `file:` no longer tells whether a path exists: the same answer for both.
            assert!(
                !body.to_string().contains("not found") && !body.to_string().contains("passwd"),
                "{body}"
            );
        }
        assert_eq!(audit_actions(&app).await, before, "nothing was saved");

        // The connection test and a sync still go to the configured org only.
        let (status, _) = post(&app, &admin, "/api/okta/test", &[]).await;
        assert_eq!(status, 200);
        assert!(catcher.requests().is_empty(), "{:?}", catcher.requests());
    }
}

/// T02: settings in the database that name an org or local secret the configuration does not
/// allow (saved before it changed, or written by someone with database access) are never used:
/// the connection test, the sync and the grant engine send nothing there.
#[tokio::test]
async fn t02_planted_settings_never_send_the_credential_elsewhere() {
    for engine in engines() {
        let catcher = Catcher::start(None).await;
        let (app, _sim) = setup(engine, |_| {}).await;
        let admin = browser();
        sign_in(&app, &admin, "admin@example.com").await;
        for (org_url, secret_ref) in [
            (catcher.url.clone(), format!("env:{TOKEN_VAR}")),
            (
                catcher.url.clone(),
                "env:GATEPASS_TEST_ATTACK_OTHER_SECRET".into(),
            ),
        ] {
            plant_settings(&app, &org_url, &secret_ref).await;
            let (status, body) = post(&app, &admin, "/api/okta/test", &[]).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["steps"][0]["outcome"], "Failed", "{body}");
            assert!(
                body["steps"][0]["detail"]
                    .as_str()
                    .unwrap()
                    .contains("only allows"),
                "{body}"
            );
            let (status, _) = post(&app, &admin, "/api/okta/sync/now", &[]).await;
            assert_eq!(status, 200);
            // The engine asks for a client for these settings, as its loop does.
            let settings = app::ssr::db::integration::find_integration(&app.db)
                .await
                .unwrap()
                .unwrap();
            let server_state = app.state.clone();
            assert!(server_state.okta_client(&settings).await.is_err());
        }
        // Give a background sync time to have called out, if it were going to.
        for _ in 0..20 {
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert!(catcher.requests().is_empty(), "{:?}", catcher.requests());
    }
}

/// T03: the allowed org redirecting elsewhere does not carry the credential along.
#[tokio::test]
async fn t03_a_redirect_from_the_org_is_not_followed_with_the_credential() {
    let catcher = Catcher::start(None).await;
    let redirector = Catcher::start(Some(catcher.url.clone())).await;
    let org = redirector.url.clone();
    let (app, _sim) = setup(engines()[0], move |config| {
        config.okta = Some(OktaBootstrap {
            org_url: org,
            secret_ref: format!("env:{TOKEN_VAR}"),
            ..OktaBootstrap::default()
        });
    })
    .await;
    let admin = browser();
    sign_in(&app, &admin, "admin@example.com").await;
    let (status, body) = post(&app, &admin, "/api/okta/test", &[]).await;
    assert_eq!(status, 200, "{body}");
    let client = app
        .state
        .okta_client(
            &app::ssr::db::integration::find_integration(&app.db)
                .await
                .unwrap()
                .unwrap(),
        )
        .await
        .unwrap();
    use app::ssr::okta::OktaApi;
    assert!(client.me().await.is_err(), "a redirect is an error");
    assert!(!redirector.requests().is_empty(), "the org was asked");
    assert!(catcher.requests().is_empty(), "{:?}", catcher.requests());
}

/// The person signed in to `client` (`null` when nobody is).
async fn whoami(app: &TestApp, client: &reqwest::Client) -> serde_json::Value {
    post(app, client, "/api/session/me", &[]).await.1
}

/// T04: someone with another account carrying an admin's email signs in as themselves, never as
/// the admin (a person is their Okta id, nothing else).
#[tokio::test]
async fn t04_an_account_with_an_admins_email_is_not_the_admin() {
    for engine in engines() {
        let (app, _sim) = setup(engine, |_| {}).await;
        let mallory = browser();
        sign_in(&app, &mallory, "mallory@example.com").await;
        let me = whoami(&app, &mallory).await;
        assert_eq!(me["okta_id"], "00umallory0000000001", "{me}");
        assert_eq!(me["is_admin"], false, "{me}");
        let (status, _) = post(&app, &mallory, "/api/okta/settings", &[]).await;
        assert_eq!(status, 403);
    }
}

/// T05: a new hire the directory does not know yet is looked up by id in Okta at sign-in, and
/// becomes themselves (not anyone sharing a claim with them).
#[tokio::test]
async fn t05_a_person_not_yet_synced_is_looked_up_by_id() {
    let (app, _sim) = setup(engines()[0], |_| {}).await;
    let newbie = browser();
    sign_in(&app, &newbie, "newbie@example.com").await;
    let me = whoami(&app, &newbie).await;
    assert_eq!(me["okta_id"], "00unewbie0000000001", "{me}");
    assert_eq!(me["in_directory"], true, "fetched from Okta by id: {me}");
}

/// T06: a person Okta suspends loses their session at their next request once Gatepass knows
/// (after a sync), and cannot sign in again.
#[tokio::test]
async fn t06_a_suspended_person_is_signed_out_at_once() {
    for engine in engines() {
        let (app, sim) = setup(engine, |_| {}).await;
        let bob = browser();
        sign_in(&app, &bob, "bob@example.com").await;
        let (status, _) = post(&app, &bob, "/api/access/mine", &[]).await;
        assert_eq!(status, 200);
        let set_status = |status: &'static str| {
            let url = format!("{}/__sim/users/00ubob00000000000001/status", sim.base_url());
            async move {
                let res = reqwest::Client::new()
                    .put(url)
                    .json(&json!({ "status": status }))
                    .send()
                    .await
                    .unwrap();
                assert!(res.status().is_success(), "{}", res.text().await.unwrap());
            }
        };
        set_status("SUSPENDED").await;
        app.state
            .sync()
            .run(app::model::SyncKind::Full)
            .await
            .unwrap();
        let (status, _) = post(&app, &bob, "/api/access/mine", &[]).await;
        assert_eq!(status, 401, "signed out");
        assert_eq!(whoami(&app, &bob).await, serde_json::Value::Null);
        // Okta itself refuses a suspended person's sign-in; and should the provider let them in
        // (reactivated there, not yet synced here), Gatepass refuses as long as its directory
        // says suspended.
        let callback = pick_person(&app, &bob, "bob@example.com", "/").await;
        let res = bob.get(&callback).send().await.unwrap();
        assert_eq!(res.status(), 401, "refused by the provider");
        set_status("ACTIVE").await;
        let callback = pick_person(&app, &bob, "bob@example.com", "/").await;
        let res = bob.get(&callback).send().await.unwrap();
        assert_eq!(res.status(), 403);
        assert!(res.text().await.unwrap().contains("not active"));
        assert_eq!(whoami(&app, &bob).await, serde_json::Value::Null);
    }
}

/// T08: after sign-in Gatepass only returns to a path on its own origin, whatever `return_to`
/// says (a tab, which browsers drop, used to turn `/\t/evil.example` into `//evil.example`).
#[tokio::test]
async fn t08_sign_in_never_returns_to_another_site() {
    let (app, _sim) = setup(engines()[0], |_| {}).await;
    for (return_to, expected) in [
        ("/%09/evil.example/x", "/"),
        ("/%0A/evil.example/x", "/"),
        ("/%20/evil.example/x", "/"),
        ("//evil.example/x", "/"),
        ("/%5Cevil.example", "/"),
        ("https://evil.example/", "/"),
        ("/approvals%3Fpage%3D2", "/approvals?page=2"),
    ] {
        let client = browser();
        let callback = pick_person(&app, &client, "bob@example.com", return_to).await;
        let res = client.get(&callback).send().await.unwrap();
        assert_eq!(res.status(), 303);
        assert_eq!(
            res.headers()["location"].to_str().unwrap(),
            expected,
            "{return_to}"
        );
    }
}

/// T09: starting sign-ins costs an anonymous client little: a pending sign-in lives ten minutes,
/// and one address may start only so many a minute.
#[tokio::test]
async fn t09_anonymous_sign_in_starts_are_short_lived_and_limited() {
    let (app, _sim) = setup(engines()[0], |config| {
        config.session.sign_in_starts_per_minute = 20;
    })
    .await;
    let before = app::ssr::db::sessions::session_expiries(&app.db)
        .await
        .unwrap()
        .len();
    let mut refused = 0;
    for _ in 0..25 {
        let res = browser().get(app.url("/auth/login")).send().await.unwrap();
        match res.status().as_u16() {
            303 => {}
            429 => refused += 1,
            other => panic!("{other}"),
        }
    }
    assert_eq!(refused, 5, "the 21st start in a minute is refused");
    let expiries = app::ssr::db::sessions::session_expiries(&app.db)
        .await
        .unwrap();
    assert_eq!(expiries.len() - before, 20);
    let now = app::model::Timestamp::from(time::OffsetDateTime::now_utc());
    assert!(
        expiries
            .iter()
            .all(|e| *e <= now.plus_millis(10 * 60_000 + 5_000)),
        "pending sign-ins live ten minutes"
    );
}

/// T11: every page carries a strict Content-Security-Policy whose nonce is the one on the
/// hydration script, and headers against sniffing, framing and referrer leaks.
#[tokio::test]
async fn t11_pages_carry_a_nonced_content_security_policy() {
    let (app, _sim) = setup(engines()[0], |_| {}).await;
    let bob = browser();
    sign_in(&app, &bob, "bob@example.com").await;
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let res = bob.get(app.url("/access")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let h = res.headers().clone();
        let csp = h["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "same-origin");
        assert!(h.get("strict-transport-security").is_none(), "http here");
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|r| r.split('\'').next())
            .unwrap()
            .to_owned();
        let html = res.text().await.unwrap();
        assert!(
            html.contains(&format!("nonce=\"{nonce}\"")),
            "the hydration script carries the nonce"
        );
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1], "a fresh nonce per response");
}

/// T12: `/metrics` answers only a scraper with the configured token, never a browser session.
#[tokio::test]
async fn t12_metrics_need_the_scrape_token_not_a_session() {
    let (app, _sim) = setup(engines()[0], |_| {}).await;
    let admin = browser();
    sign_in(&app, &admin, "admin@example.com").await;
    let get = |client: &reqwest::Client, token: Option<&str>| {
        let mut req = client.get(app.url("/metrics"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    assert_eq!(
        get(&admin, None).await.unwrap().status(),
        401,
        "a session is not enough"
    );
    assert_eq!(get(&browser(), Some("wrong")).await.unwrap().status(), 401);
    let res = get(&browser(), Some(crate::common::METRICS_TOKEN))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    drop((app, _sim));

    let (off, _sim) = setup(engines()[0], |config| config.metrics.token = None).await;
    let res = browser().get(off.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 404, "off unless a token is configured");
}

/// T15: a person signed in but not in the directory cannot act (a clear 403, not a 500).
#[tokio::test]
async fn t15_a_person_outside_the_directory_cannot_request() {
    let (app, _sim) = setup(engines()[0], |config| {
        // No saved integration: nobody can be looked up in Okta at sign-in.
        let okta = config.okta.as_mut().unwrap();
        okta.allowed_org_urls
            .push(std::mem::take(&mut okta.org_url));
        okta.secret_ref.clear();
    })
    .await;
    let newbie = browser();
    sign_in(&app, &newbie, "newbie@example.com").await;
    assert_eq!(whoami(&app, &newbie).await["in_directory"], false);
    for (path, form) in [
        ("/api/access/mine", vec![]),
        (
            "/api/access/request",
            vec![
                ("group_id", "00gteam"),
                ("duration", "1h"),
                ("reason", "x"),
                ("start", ""),
            ],
        ),
    ] {
        let (status, body) = post(&app, &newbie, path, &form).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert_eq!(body, json!("NotInDirectory"), "{path}");
    }
}

/// T16: input that cannot be read, or is unreasonably long, is refused with a 4xx naming the
/// problem — never a 500 — and changes nothing.
#[tokio::test]
async fn t16_bad_and_oversized_input_is_a_client_error() {
    for engine in engines() {
        let (app, _sim) = setup(engine, |_| {}).await;
        let admin = browser();
        sign_in(&app, &admin, "admin@example.com").await;
        let before = audit_actions(&app).await;
        let long = "a".repeat(60_000);
        for (path, form, status) in [
            ("/api/access/cancel", vec![("request_id", "abc")], 422),
            ("/api/access/cancel", vec![], 422),
            (
                "/api/access/give-back",
                vec![("grant_id", "99999999999999999999")],
                422,
            ),
            (
                "/api/access/catalog",
                vec![("q", long.as_str()), ("after", "")],
                422,
            ),
            (
                "/api/groups",
                vec![("q", long.as_str()), ("after", "")],
                422,
            ),
            (
                "/api/access/admin",
                vec![
                    ("q", ""),
                    ("requests_page", "9223372036854775807"),
                    ("grants_page", "0"),
                ],
                422,
            ),
            (
                "/api/audit",
                vec![
                    ("actor", long.as_str()),
                    ("subject", ""),
                    ("action", ""),
                    ("from", ""),
                    ("to", ""),
                ],
                422,
            ),
        ] {
            let (got, body) = post(&app, &admin, path, &form).await;
            assert_eq!(got, status, "{path}: {body}");
        }
        let huge = "a".repeat(100_000);
        let (got, _) = post(
            &app,
            &admin,
            "/api/access/catalog",
            &[("q", &huge), ("after", "")],
        )
        .await;
        assert_eq!(got, 413, "bodies over the limit are refused before parsing");
        assert_eq!(audit_actions(&app).await, before, "nothing changed");
    }
}

/// T18: a group whose name holds LIKE's wildcards (`_`) is found by id, and searching for
/// `team_a` finds exactly it.
#[tokio::test]
async fn t18_groups_with_wildcard_characters_in_their_names_work() {
    for engine in engines() {
        let (app, _sim) = setup(engine, |_| {}).await;
        app.state
            .sync()
            .run(app::model::SyncKind::Full)
            .await
            .unwrap();
        let admin = browser();
        sign_in(&app, &admin, "admin@example.com").await;
        let (status, body) = post(
            &app,
            &admin,
            "/api/access/policies/save",
            &[
                ("applies_to", "team_a"),
                ("requestable", "on"),
                ("eligible_groups", ""),
                ("approver_users", "admin@example.com"),
                ("approver_groups", ""),
                ("quorum", "1"),
                ("default_duration", "1h"),
                ("max_duration", "4h"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let bob = browser();
        sign_in(&app, &bob, "bob@example.com").await;
        let (status, page) = post(
            &app,
            &bob,
            "/api/access/catalog",
            &[("q", "team_a"), ("after", "")],
        )
        .await;
        assert_eq!(status, 200, "{page}");
        let entries = page["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 1, "{page}");
        let id = entries[0]["group_id"].as_str().unwrap().to_owned();
        let (status, entry) = post(
            &app,
            &bob,
            "/api/access/catalog/entry",
            &[("group_id", &id)],
        )
        .await;
        assert_eq!(status, 200, "{entry}");
        assert_eq!(entry["name"], "team_a");
        let (status, _) = post(
            &app,
            &bob,
            "/api/access/catalog",
            &[("q", "team-a"), ("after", "")],
        )
        .await;
        assert_eq!(status, 200);
    }
}

/// N2: behind https, the session cookie is `Secure` and every answer carries HSTS.
#[tokio::test]
async fn t19_https_deployments_send_hsts_and_secure_cookies() {
    let (app, _sim) = setup(engines()[0], |config| {
        config.public_url = Some("https://gatepass.example.com".into());
    })
    .await;
    let res = browser().get(app.url("/auth/login")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let hsts = res.headers()["strict-transport-security"].to_str().unwrap();
    assert!(hsts.contains("max-age=31536000"), "{hsts}");
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
}

/// The Slack interactivity endpoint on the real server: closed (404) until an admin connects
/// Slack, outside the session (no cookie is set, none is needed), and once connected it refuses
/// what Slack did not sign — whatever session or origin comes with it.
#[tokio::test]
async fn the_slack_endpoint_takes_only_what_slack_signed() {
    for engine in engines() {
        std::env::set_var("GATEPASS_TEST_ATTACK_SLACK", "xoxb-or-secret");
        let app = crate::common::spawn_app_on(
            engine,
            tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
            Arc::new(app::ssr::clock::SystemClock),
            |c| c.notifications.allowed_secret_refs = vec!["env:GATEPASS_TEST_ATTACK_SLACK".into()],
        )
        .await;
        let body = "payload=%7B%22type%22%3A%22block_actions%22%7D";
        let send = |headers: &'static [(&'static str, &'static str)]| {
            let mut req = reqwest::Client::new()
                .post(app.url("/slack/interactions"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            req.send()
        };
        let res = send(&[]).await.unwrap();
        assert_eq!(res.status(), 404, "not set up");
        assert!(res.headers().get("set-cookie").is_none(), "no session");

        let mut tx = app.db.begin_write().await.unwrap();
        app::ssr::db::slack::save_settings(
            &mut tx,
            &app::ssr::db::slack::SlackSettingsRow {
                bot_token_ref: "env:GATEPASS_TEST_ATTACK_SLACK".into(),
                signing_secret_ref: "env:GATEPASS_TEST_ATTACK_SLACK".into(),
                default_channel: None,
                enabled: true,
                updated_at: app::ssr::testing::ms(1),
                updated_by: "root".into(),
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        for headers in [
            &[][..],
            &[
                ("x-slack-request-timestamp", "1"),
                ("x-slack-signature", "v0=00"),
            ][..],
            &[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ][..],
        ] {
            let res = send(headers).await.unwrap();
            assert_eq!(res.status(), 401, "{headers:?}");
            assert!(!res.text().await.unwrap().contains("xoxb"));
        }
        assert!(
            !audit_actions(&app)
                .await
                .iter()
                .any(|a| a.starts_with("request.")),
            "nothing decided"
        );
    }
}
