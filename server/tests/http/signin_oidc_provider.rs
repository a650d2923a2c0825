//! Sign-in against panva `oidc-provider` (OpenID Certified), started on a free loopback port:
//! the happy path with a cookie-keeping client, and the ways a sign-in must fail.

use std::process::Stdio;
use std::sync::Arc;

use crate::common::{browser, engines, spawn_app_on, TestApp};
use app::model::{DatabaseEngine, Me, UserId};
use app::ssr::clock::SystemClock;
use app::ssr::db::directory::{upsert_user, UserRecord};
use app::ssr::testing::ms;
use gatepass::config::OidcConfig;
use secrecy::SecretString;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running oidc-provider; killed when dropped.
struct Provider {
    issuer: String,
    _child: Child,
}

async fn start_provider(gatepass_origin: &str) -> Provider {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../end2end");
    assert!(
        std::path::Path::new(root)
            .join("node_modules/oidc-provider")
            .is_dir(),
        "end2end/node_modules is missing: run `make tools`"
    );
    let mut child = Command::new("node")
        .arg("oidc-provider/server.mjs")
        .current_dir(root)
        .env(
            "OIDC_REDIRECT_URIS",
            format!("{gatepass_origin}/auth/callback"),
        )
        .env(
            "OIDC_POST_LOGOUT_REDIRECT_URIS",
            format!("{gatepass_origin}/auth/signed-out"),
        )
        .env("NODE_NO_WARNINGS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start node");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
        .await
        .expect("oidc-provider started in time")
        .unwrap()
        .expect("oidc-provider printed its issuer");
    let issuer = first
        .strip_prefix("issuer=")
        .expect("issuer line")
        .to_string();
    Provider {
        issuer,
        _child: child,
    }
}

/// Gatepass configured to sign in at a fresh oidc-provider, with Alice in the directory.
async fn setup(engine: DatabaseEngine) -> (TestApp, Provider) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let provider = start_provider(&origin).await;
    let issuer = provider.issuer.clone();
    let clock = Arc::new(SystemClock);
    let app = spawn_app_on(engine, listener, clock, move |config| {
        config.oidc = Some(OidcConfig {
            issuer_url: issuer,
            client_id: "gatepass".into(),
            client_secret: SecretString::from("gatepass-test-secret"),
            ..OidcConfig::default()
        });
        config.auth.bootstrap_admins = vec!["00ualice".into()];
    })
    .await;
    upsert_user(
        &app.db,
        &UserRecord {
            okta_id: "00ualice".into(),
            login: "alice".into(),
            email: "00ualice@example.com".into(),
            display_name: "Alice Liddell".into(),
            status: "ACTIVE".into(),
            profile: Default::default(),
        },
        ms(1),
    )
    .await
    .unwrap();
    (app, provider)
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location on {} {}", res.status(), res.url()))
        .to_str()
        .unwrap()
        .to_string()
}

fn absolute(base: &reqwest::Url, location: &str) -> String {
    base.join(location).unwrap().to_string()
}

fn attr<'a>(html: &'a str, before: &str, name: &str) -> Option<&'a str> {
    let start = html.find(before)?;
    let rest = &html[start..];
    let key = format!("{name}=\"");
    let at = rest.find(&key)? + key.len();
    let end = rest[at..].find('"')?;
    Some(&rest[at..at + end])
}

/// Drives the provider's pages from `url` (login as `login`, consent) until it redirects back to
/// Gatepass; returns that callback URL without calling it.
async fn authorize_at_provider(
    client: &reqwest::Client,
    url: &str,
    gatepass: &str,
    login: &str,
) -> String {
    let mut next = url.to_string();
    for _ in 0..20 {
        if next.starts_with(gatepass) {
            return next;
        }
        let res = client.get(&next).send().await.unwrap();
        if res.status().is_redirection() {
            next = absolute(res.url(), &location(&res));
            continue;
        }
        let page_url = res.url().clone();
        let html = res.text().await.unwrap();
        let action = attr(&html, "<form", "action").expect("a form at the provider");
        let prompt = attr(&html, "name=\"prompt\"", "value").unwrap_or("consent");
        let mut form = vec![("prompt", prompt.to_string())];
        if prompt == "login" {
            form.push(("login", login.to_string()));
            form.push(("password", "any".to_string()));
        }
        let res = client
            .post(absolute(&page_url, action))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert!(
            res.status().is_redirection(),
            "provider answered {}",
            res.status()
        );
        next = absolute(res.url(), &location(&res));
    }
    panic!("the provider never redirected back to Gatepass");
}

/// Starts a sign-in at Gatepass; returns the provider URL it redirects to.
async fn start_login(app: &TestApp, client: &reqwest::Client, return_to: &str) -> String {
    let res = client
        .get(app.url(&format!("/auth/login?return_to={return_to}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "login redirects to the provider");
    location(&res)
}

async fn me(app: &TestApp, client: &reqwest::Client) -> Option<Me> {
    let res = client
        .post(app.url("/api/session/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn session_cookie(app: &TestApp, res: &reqwest::Response) -> Option<String> {
    let _ = app;
    res.cookies()
        .find(|c| c.name() == "gatepass_session")
        .map(|c| c.value().to_string())
}

#[tokio::test]
async fn signs_in_and_out_end_to_end() {
    for engine in engines() {
        let (app, provider) = setup(engine).await;
        let client = browser();
        let origin = app.url("");

        // Anonymous page load: off to sign-in, remembering where to come back to.
        let res = client
            .get(app.url("/approvals?page=2"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        assert_eq!(
            location(&res),
            "/auth/login?return_to=/approvals%3Fpage%3D2"
        );

        let res = client
            .get(app.url("/auth/login?return_to=/approvals"))
            .send()
            .await
            .unwrap();
        let cookie_before = session_cookie(&app, &res).expect("a session for the pending sign-in");
        let authorize = location(&res);
        assert!(authorize.starts_with(&provider.issuer), "{authorize}");
        for part in [
            "code_challenge_method=S256",
            "state=",
            "nonce=",
            "response_type=code",
        ] {
            assert!(authorize.contains(part), "{part} missing in {authorize}");
        }

        let callback = authorize_at_provider(&client, &authorize, &origin, "00ualice").await;
        let res = client.get(&callback).send().await.unwrap();
        assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
        assert_eq!(location(&res), "/approvals");
        let cookie_after = session_cookie(&app, &res).expect("a new session id at sign-in");
        assert_ne!(cookie_before, cookie_after, "session id cycled at sign-in");

        let me = me(&app, &client).await.expect("signed in");
        assert_eq!(me.okta_id, UserId::from("00ualice"));
        assert_eq!(me.display_name, "Alice Liddell");
        assert!(me.in_directory && me.is_admin, "{me:?}");
        let res = client.get(app.url("/approvals")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.text().await.unwrap().contains("Alice Liddell"));

        // The old, pre-sign-in session id is worthless.
        let stale = reqwest::Client::new();
        let res = stale
            .post(app.url("/api/session/me"))
            .header("cookie", format!("gatepass_session={cookie_before}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.json::<Option<Me>>().await.unwrap(), None);

        // Sign out: server-side session deleted, then RP-initiated logout at the provider.
        let res = client
            .post(app.url("/auth/logout"))
            .header("origin", &origin)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        let end_session = location(&res);
        assert!(
            end_session.starts_with(&format!("{}/session/end", provider.issuer)),
            "{end_session}"
        );
        assert!(end_session.contains("id_token_hint="), "{end_session}");
        assert_eq!(
            me_with_cookie(&app, &cookie_after).await,
            None,
            "old cookie is anonymous"
        );
        assert_eq!(self::me(&app, &client).await, None);
    }
}

async fn me_with_cookie(app: &TestApp, cookie: &str) -> Option<Me> {
    reqwest::Client::new()
        .post(app.url("/api/session/me"))
        .header("cookie", format!("gatepass_session={cookie}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Calls Gatepass's callback and checks the sign-in failed visibly and left nobody signed in.
async fn assert_refused(app: &TestApp, client: &reqwest::Client, callback: &str, why: &str) {
    let res = client.get(callback).send().await.unwrap();
    assert_eq!(res.status(), 401, "{why}");
    let html = res.text().await.unwrap();
    assert!(html.contains("Sign-in failed"), "{why}: {html}");
    assert_eq!(me(app, client).await, None, "{why}: nobody is signed in");
}

fn replace_param(url: &str, name: &str, value: Option<&str>) -> String {
    let mut parsed = reqwest::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    {
        let mut query = parsed.query_pairs_mut();
        query.clear();
        for (k, v) in &pairs {
            query.append_pair(k, v);
        }
        if let Some(v) = value {
            query.append_pair(name, v);
        }
    }
    parsed.to_string()
}

fn param(url: &str, name: &str) -> String {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("{name} missing in {url}"))
}

#[tokio::test]
async fn tampered_or_missing_state_is_refused() {
    let (app, _provider) = setup(engines()[0]).await;
    let origin = app.url("");
    for (case, state) in [
        ("tampered state", Some("forged-state")),
        ("missing state", None),
    ] {
        let client = browser();
        let authorize = start_login(&app, &client, "/").await;
        let callback = authorize_at_provider(&client, &authorize, &origin, "00ualice").await;
        assert_refused(
            &app,
            &client,
            &replace_param(&callback, "state", state),
            case,
        )
        .await;
    }
}

#[tokio::test]
async fn replayed_code_is_refused() {
    let (app, _provider) = setup(engines()[0]).await;
    let origin = app.url("");
    let first = browser();
    let authorize = start_login(&app, &first, "/").await;
    let callback = authorize_at_provider(&first, &authorize, &origin, "00ualice").await;
    assert_eq!(first.get(&callback).send().await.unwrap().status(), 303);
    assert!(me(&app, &first).await.is_some());

    // Another browser replays the used code with its own valid state.
    let second = browser();
    let authorize = start_login(&app, &second, "/").await;
    let replay = replace_param(&callback, "state", Some(&param(&authorize, "state")));
    assert_refused(&app, &second, &replay, "replayed code").await;

    // And the first browser cannot use its callback twice either.
    let again = browser();
    assert_refused(
        &app,
        &again,
        &callback,
        "callback without a pending sign-in",
    )
    .await;
}

#[tokio::test]
async fn code_bound_to_another_pkce_verifier_is_refused() {
    let (app, _provider) = setup(engines()[0]).await;
    let origin = app.url("");
    let victim = browser();
    let authorize = start_login(&app, &victim, "/").await;
    let stolen = authorize_at_provider(&victim, &authorize, &origin, "00ualice").await;

    // An attacker injects the victim's unused code into their own sign-in.
    let attacker = browser();
    let authorize = start_login(&app, &attacker, "/").await;
    let injected = replace_param(&stolen, "state", Some(&param(&authorize, "state")));
    assert_refused(&app, &attacker, &injected, "PKCE verifier mismatch").await;
}

#[tokio::test]
async fn provider_refusal_is_shown() {
    let (app, _provider) = setup(engines()[0]).await;
    let client = browser();
    let authorize = start_login(&app, &client, "/").await;
    let state = param(&authorize, "state");
    let callback = app.url(&format!(
        "/auth/callback?error=access_denied&error_description=User+cancelled&state={state}"
    ));
    let res = client.get(&callback).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("the identity provider refused it (access_denied)"),
        "{page}"
    );
    assert!(
        !page.contains("User cancelled"),
        "the description is not shown"
    );
    assert_eq!(self::me(&app, &client).await, None);
}

/// T10: the failure page never repeats text from the link: anyone can send a victim a callback
/// link with a made-up error and description ("call this number…").
#[tokio::test]
async fn a_crafted_error_link_shows_only_fixed_text() {
    let (app, _provider) = setup(engines()[0]).await;
    let client = browser();
    let authorize = start_login(&app, &client, "/").await;
    let state = param(&authorize, "state");
    let callback = app.url(&format!(
        "/auth/callback?error=Your+account+is+locked&error_description=Call+%2B1-555-0100+now&state={state}"
    ));
    let res = client.get(&callback).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("Sign-in failed: the identity provider refused it."),
        "{page}"
    );
    for planted in ["locked", "555", "Call"] {
        assert!(!page.contains(planted), "{planted}: {page}");
    }
}

#[tokio::test]
async fn return_to_elsewhere_is_ignored() {
    let (app, _provider) = setup(engines()[0]).await;
    let origin = app.url("");
    let client = browser();
    let authorize = start_login(&app, &client, "https://evil.example/steal").await;
    let callback = authorize_at_provider(&client, &authorize, &origin, "00ualice").await;
    let res = client.get(&callback).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/");
}

#[tokio::test]
async fn cross_site_post_is_refused_and_changes_nothing() {
    let (app, _provider) = setup(engines()[0]).await;
    let origin = app.url("");
    let client = browser();
    let authorize = start_login(&app, &client, "/").await;
    let callback = authorize_at_provider(&client, &authorize, &origin, "00ualice").await;
    client.get(&callback).send().await.unwrap();
    assert!(me(&app, &client).await.is_some());

    for (header, value) in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let res = client
            .post(app.url("/auth/logout"))
            .header(header, value)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{header}");
        assert!(res.text().await.unwrap().contains("came from another site"));
        let res = client
            .post(app.url("/api/session/me"))
            .header(header, value)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{header}");
    }
    assert!(
        me(&app, &client).await.is_some(),
        "still signed in: the forged sign-out did nothing"
    );
}

#[tokio::test]
async fn someone_not_in_the_directory_signs_in_and_is_told() {
    let (app, _provider) = setup(engines()[0]).await;
    let origin = app.url("");
    let client = browser();
    let authorize = start_login(&app, &client, "/access").await;
    let callback = authorize_at_provider(&client, &authorize, &origin, "00unewbie").await;
    assert_eq!(client.get(&callback).send().await.unwrap().status(), 303);
    let me = me(&app, &client).await.expect("signed in");
    assert!(!me.in_directory);
    let res = client.get(app.url("/access")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("not in Gatepass's directory yet"));
}
