//! The attack suite: each test reproduces an attack on Gatepass and proves it now fails. Tests
//! are named after the line of `docs/SECURITY.md`'s threat model they prove (`t<NN>_…`), and run
//! on SQLite and PostgreSQL where a database is involved.

mod common;

use std::sync::{Arc, Mutex};

use app::model::{AuthMethod, IntegrationSettings};
use app::ssr::clock::SystemClock;
use app::ssr::db::audit::list_audit_events;
use axum::extract::Request;
use axum::response::IntoResponse;
use common::okta::{mirror_people, sign_in, start_sim};
use common::{browser, engines, post, spawn_app_on, TestApp};
use gatepass::config::{OidcConfig, OktaBootstrap};
use gatepass::okta_sim::RunningSim;
use secrecy::SecretString;
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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let sim = start_sim(json!({
        "users": [
            { "login": "admin@example.com", "firstName": "Ada", "lastName": "Admin", "roles": [{ "type": "SUPER_ADMIN" }] },
            { "login": "bob@example.com", "firstName": "Bob", "lastName": "Member" }
        ],
        "groups": [{ "name": "eng", "members": ["admin@example.com", "bob@example.com"] }],
        "tokens": [{ "token": TOKEN, "user": "admin@example.com" }],
        "oidcClients": [{
            "clientId": "gatepass", "clientSecret": "sim-secret",
            "redirectUris": [format!("{origin}/auth/callback")],
            "postLogoutRedirectUris": [format!("{origin}/auth/signed-out")]
        }]
    }))
    .await;
    let issuer = format!("{}/oauth2/default", sim.base_url());
    let org = sim.base_url();
    let app = spawn_app_on(engine, listener, Arc::new(SystemClock), move |config| {
        config.oidc = Some(OidcConfig {
            issuer_url: issuer,
            client_id: "gatepass".into(),
            client_secret: SecretString::from("sim-secret"),
            ..OidcConfig::default()
        });
        config.auth.bootstrap_admins = vec!["admin@example.com".into()];
        config.okta = Some(OktaBootstrap {
            org_url: org,
            secret_ref: format!("env:{TOKEN_VAR}"),
            ..OktaBootstrap::default()
        });
        configure(config);
    })
    .await;
    mirror_people(&app, &sim).await;
    (app, sim)
}

fn settings_form<'a>(org: &'a str, secret_ref: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("org_url", org),
        ("auth_method", "api_token"),
        ("secret_ref", secret_ref),
        ("client_id", ""),
        ("key_id", ""),
        ("sync_incremental_minutes", "10"),
        ("sync_full_hours", "24"),
        ("group_name_prefix", ""),
        ("group_types", ""),
    ]
}

/// Writes integration settings straight into the database, as settings saved before the
/// configuration changed (or by someone with database write access) would be.
async fn plant_settings(app: &TestApp, org_url: &str, secret_ref: &str) {
    let settings = IntegrationSettings {
        org_url: org_url.into(),
        auth_method: AuthMethod::ApiToken,
        secret_ref: secret_ref.into(),
        secret_is_local: true,
        client_id: None,
        key_id: None,
        sync_incremental_minutes: 10,
        sync_full_hours: 24,
        group_name_prefix: None,
        group_types: vec![],
        updated_at: 1,
        updated_by: "planted".into(),
    };
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
