//! Sign-in through the Okta simulator's OIDC side, as `make demo` does it: Gatepass redirects to
//! the simulator's login page, the person picks who they are, Gatepass verifies the ID token
//! and matches `sub` (the Okta user id) to the directory; sign-out ends at the simulator.

use std::sync::Arc;

use crate::common::okta::{location, pick_person, start_sim};
use crate::common::{browser, engines, spawn_app_on, TestApp};
use app::model::{DatabaseEngine, Me, UserId};
use app::ssr::clock::SystemClock;
use app::ssr::db::directory::{upsert_user, UserRecord};
use app::ssr::testing::ms;
use gatepass::config::OidcConfig;
use okta_sim::RunningSim;
use serde_json::json;

async fn setup(engine: DatabaseEngine) -> (TestApp, RunningSim, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let sim = start_sim(json!({
        "users": [
            { "login": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace" },
            { "login": "newcomer@example.com", "firstName": "New", "lastName": "Comer" },
            { "login": "away@example.com", "firstName": "Away", "lastName": "Person", "status": "SUSPENDED" }
        ],
        "oidcClients": [{
            "clientId": "gatepass", "clientSecret": "sim-secret",
            "redirectUris": [format!("{origin}/auth/callback")],
            "postLogoutRedirectUris": [format!("{origin}/auth/signed-out")]
        }]
    }))
    .await;
    let ada_id = sim.sim.org.read().unwrap().users[0].id.clone();
    let issuer = format!("{}/oauth2/default", sim.base_url());
    // The client secret comes from the secret store, by reference.
    std::env::set_var("GATEPASS_TEST_SIM_OIDC_SECRET", "sim-secret");
    let app = spawn_app_on(engine, listener, Arc::new(SystemClock), move |config| {
        config.oidc = Some(OidcConfig {
            issuer_url: issuer,
            client_id: "gatepass".into(),
            client_secret_ref: Some("env:GATEPASS_TEST_SIM_OIDC_SECRET".into()),
            ..OidcConfig::default()
        });
    })
    .await;
    upsert_user(
        &app.db,
        &UserRecord {
            okta_id: UserId::from(ada_id.clone()),
            login: "ada@example.com".into(),
            email: "ada@example.com".into(),
            display_name: "Ada Lovelace".into(),
            status: "ACTIVE".into(),
            profile: Default::default(),
        },
        ms(1),
    )
    .await
    .unwrap();
    (app, sim, ada_id)
}

async fn me(app: &TestApp, client: &reqwest::Client) -> Option<Me> {
    let res = client
        .post(app.url("/api/session/me"))
        .send()
        .await
        .unwrap();
    res.json().await.unwrap()
}

#[tokio::test]
async fn signs_in_through_the_simulator_and_out_again() {
    for engine in engines() {
        let (app, sim, ada_id) = setup(engine).await;
        let client = browser();
        let callback = pick_person(&app, &client, "ada@example.com", "/approvals").await;
        assert!(
            callback.starts_with(&app.url("/auth/callback")),
            "{callback}"
        );
        let res = client.get(&callback).send().await.unwrap();
        assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
        assert_eq!(location(&res), "/approvals");

        let me = me(&app, &client).await.expect("signed in");
        assert_eq!(me.okta_id, UserId::from(ada_id), "sub is the Okta user id");
        assert!(me.in_directory, "{me:?}");
        assert_eq!(me.display_name, "Ada Lovelace");

        let res = client
            .post(app.url("/auth/logout"))
            .header("origin", app.url(""))
            .send()
            .await
            .unwrap();
        let end_session = location(&res);
        assert!(
            end_session.starts_with(&format!("{}/oauth2/default/v1/logout", sim.base_url())),
            "{end_session}"
        );
        let res = client.get(&end_session).send().await.unwrap();
        assert_eq!(
            res.status(),
            303,
            "the simulator accepts Gatepass's sign-out"
        );
        assert_eq!(location(&res), app.url("/auth/signed-out"));
        assert_eq!(self::me(&app, &client).await, None);
    }
}

#[tokio::test]
async fn people_not_synced_sign_in_and_unknown_or_suspended_people_are_refused() {
    let (app, _sim, _) = setup(engines()[0]).await;
    let client = browser();
    let callback = pick_person(&app, &client, "newcomer@example.com", "/approvals").await;
    let res = client.get(&callback).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let me = me(&app, &client).await.expect("signed in");
    assert!(!me.in_directory, "not synced yet: {me:?}");
    assert_eq!(me.email, "newcomer@example.com");

    for login in ["stranger@example.com", "away@example.com"] {
        let client = browser();
        let back = pick_person(&app, &client, login, "/approvals").await;
        assert!(back.contains("error=access_denied"), "{login}: {back}");
        let res = client.get(&back).send().await.unwrap();
        assert_eq!(res.status(), 401, "{login}");
        assert_eq!(self::me(&app, &client).await, None, "{login}");
    }
}
