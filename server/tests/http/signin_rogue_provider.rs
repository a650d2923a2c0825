//! Sign-in against a deliberately faulty OpenID provider served over real HTTP: every defect in
//! the ID token must be refused, and a control run with a correct token must succeed (so each
//! refusal is caused by the defect, not by the test rig).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::common::{browser, engines, spawn_app_on, TestApp};
use app::model::{Me, UserId};
use app::ssr::clock::{Clock, ManualClock, SystemClock};
use gatepass::config::OidcConfig;
use gatepass::config::SessionConfig;

const KEY: &str = include_str!("../fixtures/rogue-provider-key.pem");
const UNKNOWN_KEY: &str = include_str!("../fixtures/unknown-key.pem");

/// What the provider gets wrong in the ID token.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Defect {
    None,
    WrongNonce,
    OtherAudience,
    Expired,
    UnknownKey,
    WrongIssuer,
    NotSigned,
}

#[derive(Clone)]
struct Rogue {
    issuer: String,
    defect: Defect,
    nonce: Arc<Mutex<Option<String>>>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn sign(pem: &str, kid: &str, claims: &Value) -> String {
    let header = json!({ "alg": "RS256", "typ": "JWT", "kid": kid });
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let key = SigningKey::<sha2::Sha256>::new(RsaPrivateKey::from_pkcs8_pem(pem).unwrap());
    let signature = key.sign(input.as_bytes()).to_bytes();
    format!("{input}.{}", b64(&signature))
}

async fn discovery(State(rogue): State<Rogue>) -> Json<Value> {
    let i = &rogue.issuer;
    Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/keys"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "code_challenge_methods_supported": ["S256"]
    }))
}

async fn keys() -> Json<Value> {
    let key = RsaPrivateKey::from_pkcs8_pem(KEY).unwrap();
    let public = key.to_public_key();
    Json(json!({ "keys": [{
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": "good",
        "n": b64(&public.n().to_bytes_be()), "e": b64(&public.e().to_bytes_be())
    }]}))
}

#[derive(serde::Deserialize)]
struct AuthorizeParams {
    redirect_uri: String,
    state: String,
    nonce: String,
}

async fn authorize(
    State(rogue): State<Rogue>,
    Query(p): Query<AuthorizeParams>,
) -> impl IntoResponse {
    *rogue.nonce.lock().unwrap() = Some(p.nonce);
    Redirect::to(&format!(
        "{}?code=rogue-code&state={}",
        p.redirect_uri, p.state
    ))
}

async fn token(State(rogue): State<Rogue>) -> Json<Value> {
    let nonce = rogue.nonce.lock().unwrap().clone().unwrap_or_default();
    let mut claims = json!({
        "iss": rogue.issuer, "sub": "00ualice", "aud": "gatepass",
        "iat": now(), "exp": now() + 300, "nonce": nonce, "email": "alice@example.com"
    });
    let (mut pem, mut kid) = (KEY, "good");
    match rogue.defect {
        Defect::None => {}
        Defect::WrongNonce => claims["nonce"] = json!("not-the-nonce-gatepass-sent"),
        Defect::OtherAudience => claims["aud"] = json!("some-other-app"),
        Defect::Expired => {
            claims["iat"] = json!(now() - 7200);
            claims["exp"] = json!(now() - 3600);
        }
        Defect::UnknownKey => (pem, kid) = (UNKNOWN_KEY, "unknown"),
        Defect::WrongIssuer => claims["iss"] = json!("https://evil.example"),
        Defect::NotSigned => {}
    }
    let id_token = if rogue.defect == Defect::NotSigned {
        let header = b64(json!({ "alg": "none" }).to_string().as_bytes());
        format!("{header}.{}.", b64(claims.to_string().as_bytes()))
    } else {
        sign(pem, kid, &claims)
    };
    Json(json!({
        "access_token": "rogue-access-token", "token_type": "Bearer",
        "expires_in": 300, "id_token": id_token
    }))
}

async fn start_rogue(defect: Defect) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let rogue = Rogue {
        issuer: format!("http://{addr}"),
        defect,
        nonce: Arc::default(),
    };
    let app = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/keys", get(keys))
        .route("/authorize", get(authorize))
        .route("/token", post(token))
        .with_state(rogue.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    rogue.issuer
}

async fn gatepass_for(issuer: String, clock: Arc<dyn Clock>, session: SessionConfig) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    spawn_app_on(engines()[0], listener, clock, move |config| {
        config.oidc = Some(OidcConfig {
            issuer_url: issuer,
            client_id: "gatepass".into(),
            client_secret: SecretString::from("s3cret"),
            ..OidcConfig::default()
        });
        config.session = session;
    })
    .await
}

async fn me(app: &TestApp, client: &reqwest::Client) -> Option<Me> {
    client
        .post(app.url("/api/session/me"))
        .send()
        .await
        .unwrap()
        .json::<Option<Me>>()
        .await
        .unwrap()
}

/// Runs a whole sign-in against a provider with `defect`; returns the callback's status, page
/// and who is signed in afterwards.
async fn sign_in_with(defect: Defect) -> (u16, String, Option<Me>) {
    let app = gatepass_for(
        start_rogue(defect).await,
        Arc::new(SystemClock),
        SessionConfig::default(),
    )
    .await;
    let client = browser();
    let (status, page) = sign_in(&app, &client).await;
    (status, page, me(&app, &client).await)
}

/// Signs `client` in at `app`; returns the callback's status and page.
async fn sign_in(app: &TestApp, client: &reqwest::Client) -> (u16, String) {
    let res = client.get(app.url("/auth/login")).send().await.unwrap();
    let authorize = res.headers()["location"].to_str().unwrap().to_string();
    let res = client.get(&authorize).send().await.unwrap();
    let callback = res.headers()["location"].to_str().unwrap().to_string();
    let res = client.get(&callback).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

#[tokio::test]
async fn sessions_end_after_idle_time_and_absolute_lifetime() {
    let issuer = start_rogue(Defect::None).await;
    let start = time::OffsetDateTime::now_utc();

    // Idle: 30 minutes without a request ends the session; activity keeps it alive.
    let clock = ManualClock::at(start);
    let settings = SessionConfig {
        idle_timeout_minutes: 30,
        absolute_timeout_hours: 24,
        ..SessionConfig::default()
    };
    let app = gatepass_for(issuer.clone(), Arc::new(clock.clone()), settings).await;
    let client = browser();
    assert_eq!(sign_in(&app, &client).await.0, 303);
    clock.advance(time::Duration::minutes(20));
    assert!(
        me(&app, &client).await.is_some(),
        "still fresh after 20 minutes"
    );
    clock.advance(time::Duration::minutes(20));
    assert!(
        me(&app, &client).await.is_some(),
        "40 minutes, but active 20 minutes ago"
    );
    clock.advance(time::Duration::minutes(31));
    assert_eq!(me(&app, &client).await, None, "idle for 31 minutes");

    // Absolute: however active, the session ends a fixed time after sign-in.
    drop(app);
    let clock = ManualClock::at(start);
    let settings = SessionConfig {
        idle_timeout_minutes: 48 * 60,
        absolute_timeout_hours: 1,
        ..SessionConfig::default()
    };
    let app = gatepass_for(issuer, Arc::new(clock.clone()), settings).await;
    let client = browser();
    assert_eq!(sign_in(&app, &client).await.0, 303);
    clock.advance(time::Duration::minutes(59));
    assert!(me(&app, &client).await.is_some());
    clock.advance(time::Duration::minutes(2));
    assert_eq!(me(&app, &client).await, None, "past the absolute lifetime");
}

#[tokio::test]
async fn an_active_session_is_written_at_most_once_a_minute() {
    let issuer = start_rogue(Defect::None).await;
    let clock = ManualClock::at(time::OffsetDateTime::now_utc());
    let app = gatepass_for(issuer, Arc::new(clock.clone()), SessionConfig::default()).await;
    let client = browser();
    assert_eq!(sign_in(&app, &client).await.0, 303);
    let deadline = || async {
        let all = app::ssr::db::sessions::session_expiries(&app.db)
            .await
            .unwrap();
        *all.last().expect("a session row")
    };
    let signed_in = deadline().await;
    clock.advance(time::Duration::seconds(30));
    for _ in 0..3 {
        assert!(me(&app, &client).await.is_some());
    }
    assert_eq!(deadline().await, signed_in, "not written within the minute");
    clock.advance(time::Duration::seconds(31));
    assert!(me(&app, &client).await.is_some());
    assert_eq!(
        deadline().await,
        signed_in.plus_secs(61),
        "61 s later: the idle deadline moved with the request"
    );
}

#[tokio::test]
async fn a_correct_token_signs_in() {
    let (status, page, me) = sign_in_with(Defect::None).await;
    assert_eq!(status, 303, "{page}");
    assert_eq!(me.expect("signed in").okta_id, UserId::from("00ualice"));
}

#[tokio::test]
async fn every_defective_token_is_refused() {
    for (defect, expected) in [
        (Defect::WrongNonce, "nonce"),
        (Defect::OtherAudience, "audience"),
        (Defect::Expired, "expired"),
        (Defect::UnknownKey, "key"),
        (Defect::WrongIssuer, "issuer"),
        (Defect::NotSigned, "ID token"),
    ] {
        let (status, page, me) = sign_in_with(defect).await;
        assert_eq!(status, 401, "{defect:?}: {page}");
        assert!(
            page.contains("Sign-in failed: the ID token is not valid"),
            "{defect:?}: {page}"
        );
        assert!(
            page.to_lowercase().contains(&expected.to_lowercase()),
            "{defect:?} should mention {expected}: {page}"
        );
        assert_eq!(me, None, "{defect:?}: nobody signed in");
    }
}
