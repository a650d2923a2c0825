//! The Okta simulator in tests: an org from a JSON seed on a free port, and signing in to
//! Gatepass through its login page.

use app::ssr::testing::ms;
use okta_sim::edge::{Faults, Limits};
use okta_sim::seed::SeedFile;
use okta_sim::store::Org;
use okta_sim::{start, RunningSim, Sim};

use super::TestApp;

/// A simulator on a free loopback port holding `seed` (instants default to 2023-11-14).
pub async fn start_sim(seed: serde_json::Value) -> RunningSim {
    let seed: SeedFile = serde_json::from_value(seed).expect("seed parses");
    let mut org = Org::new(9, 1_700_000_000_000);
    seed.apply(&mut org, 1_700_000_000_000)
        .expect("seed applies");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start(
        Sim::new(org, Limits::default(), Faults::default(), None),
        listener,
    )
    .unwrap()
}

/// The `Location` of a redirect.
pub fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_owned()
}

/// Starts sign-in at Gatepass (coming back to `return_to`), opens the simulator's login page
/// and picks `login`; returns the simulator's redirect back to Gatepass, not yet followed.
pub async fn pick_person(
    app: &TestApp,
    client: &reqwest::Client,
    login: &str,
    return_to: &str,
) -> String {
    let res = client
        .get(app.url(&format!("/auth/login?return_to={return_to}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let authorize = location(&res);
    let page = client.get(&authorize).send().await.unwrap();
    assert_eq!(page.status(), 200, "the simulator's login page");
    let params: Vec<(String, String)> = url::Url::parse(&authorize)
        .unwrap()
        .query_pairs()
        .into_owned()
        .chain([("login".to_owned(), login.to_owned())])
        .collect();
    let action = authorize.split('?').next().unwrap().to_owned();
    let res = client.post(action).form(&params).send().await.unwrap();
    assert_eq!(res.status(), 303);
    location(&res)
}

/// Signs `client` in to Gatepass as `login` through the simulator.
pub async fn sign_in(app: &TestApp, client: &reqwest::Client, login: &str) {
    let callback = pick_person(app, client, login, "/").await;
    let res = client.get(&callback).send().await.unwrap();
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
}

/// Copies the simulator's people into `app`'s directory, as a sync would leave them (so they
/// can sign in as themselves before any sync ran), leaving out the people with the logins
/// `left_out` (not synced yet).
pub async fn mirror_people_except(app: &TestApp, sim: &RunningSim, left_out: &[&str]) {
    let people: Vec<app::ssr::db::directory::UserRecord> = {
        let org = sim.sim.org.read().unwrap();
        org.users
            .iter()
            .filter(|u| !left_out.contains(&u.login.as_str()))
            .map(|u| app::ssr::db::directory::UserRecord {
                okta_id: u.id.clone().into(),
                login: u.login.clone(),
                email: u.email.clone(),
                display_name: format!("{} {}", u.first_name, u.last_name),
                status: u.status.clone(),
                profile: Default::default(),
            })
            .collect()
    };
    for person in &people {
        app::ssr::db::directory::upsert_user(&app.db, person, ms(1))
            .await
            .unwrap();
    }
}

/// Gatepass signing people in through a simulator seeded with `seed` (its OIDC app is added
/// here), `admin` (a login) as bootstrap admin, `configure` applied to the configuration after
/// that; the simulator's people are in the directory except `not_synced`. `configure` gets the
/// simulator's base URL.
pub async fn spawn_with_sim(
    engine: app::model::DatabaseEngine,
    mut seed: serde_json::Value,
    admin: &str,
    not_synced: &[&str],
    configure: impl FnOnce(&mut gatepass::config::Config, &str) + Send + 'static,
) -> (TestApp, RunningSim) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    seed["oidcClients"] = serde_json::json!([{
        "clientId": "gatepass", "clientSecret": "sim-secret",
        "redirectUris": [format!("{origin}/auth/callback")],
        "postLogoutRedirectUris": [format!("{origin}/auth/signed-out")]
    }]);
    let sim = start_sim(seed).await;
    let org = sim.base_url();
    let admin = admin.to_owned();
    let app = super::spawn_app_on(
        engine,
        listener,
        std::sync::Arc::new(app::ssr::clock::SystemClock),
        move |config| {
            config.oidc = Some(gatepass::config::OidcConfig {
                issuer_url: format!("{org}/oauth2/default"),
                client_id: "gatepass".into(),
                client_secret: secrecy::SecretString::from("sim-secret"),
                ..gatepass::config::OidcConfig::default()
            });
            config.auth.bootstrap_admins = vec![admin];
            configure(config, &org);
        },
    )
    .await;
    mirror_people_except(&app, &sim, not_synced).await;
    (app, sim)
}

/// The Okta settings form as the page posts it: an API token at `secret_ref` for `org`.
pub fn settings_form<'a>(org: &'a str, secret_ref: &'a str) -> Vec<(&'a str, &'a str)> {
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
