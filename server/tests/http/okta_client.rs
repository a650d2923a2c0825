//! Gatepass's Okta client against the Okta simulator over HTTP: paging across many pages,
//! staying inside the rate limit, waiting out 429 storms, riding through 5xx and dropped
//! connections, the OAuth service-app flow, typed errors, and recovering from a rotated
//! credential (local file and AWS Secrets Manager on moto) after exactly one 401.

use std::sync::Arc;
use std::time::Duration;

use app::model::{GroupId, UserId};
use app::ssr::okta::client::OktaSettings;
use app::ssr::okta::{Cursor, OktaApi, OktaClient, OktaCredential, OktaError};
use app::ssr::secrets::aws::{AwsSecrets, AwsSettings};
use app::ssr::secrets::local::LocalSecrets;
use app::ssr::secrets::{CachedSecrets, SecretRef};
use app::ssr::testing::Moto;
use okta_sim::edge::{Faults, Limits};
use okta_sim::seed::SeedFile;
use okta_sim::store::Org;
use okta_sim::{start, RunningSim, Sim};
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
use serde_json::{json, Value};

const TOKEN: &str = "client-test-token";
const READ_ONLY: &str = "client-read-only";

async fn sim(users: usize) -> RunningSim {
    let key = std::fs::read_to_string(fixture("rogue-provider-key.pem")).unwrap();
    let public = rsa::RsaPrivateKey::from_pkcs8_pem(&key)
        .unwrap()
        .to_public_key()
        .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap();
    let mut list = vec![
        json!({ "login": "admin@example.com", "firstName": "Ad", "lastName": "Min" }),
        json!({ "login": "viewer@example.com", "firstName": "Vi", "lastName": "Ewer" }),
    ];
    for i in 0..users {
        list.push(json!({ "login": format!("user{i:04}@example.com"), "firstName": "U", "lastName": i.to_string() }));
    }
    let seed: SeedFile = serde_json::from_value(json!({
        "users": list,
        "groups": [{ "name": "ops", "members": [] }],
        "tokens": [
            { "token": TOKEN, "user": "admin@example.com", "roles": [{ "type": "SUPER_ADMIN" }] },
            { "token": READ_ONLY, "user": "viewer@example.com", "roles": [{ "type": "READ_ONLY_ADMIN" }] }
        ],
        "serviceApps": [{
            "clientId": "0oagatepass", "publicKeyPem": public, "kid": "k1",
            "scopes": ["okta.users.read", "okta.groups.read", "okta.groups.manage"]
        }, {
            "clientId": "0oaappsmanager", "publicKeyPem": public, "kid": "k1",
            "scopes": ["okta.users.read", "okta.groups.read", "okta.groups.manage",
                       "okta.apps.read", "okta.apps.manage"]
        }],
        "apps": [{ "name": "datadog", "label": "Datadog", "signOnMode": "BOOKMARK" }]
    }))
    .unwrap();
    let mut org = Org::new(3, 1_700_000_000_000);
    seed.apply(&mut org, 1_700_000_000_000).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start(
        Sim::new(org, Limits::default(), Faults::default(), None),
        listener,
    )
    .unwrap()
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn local_secrets() -> CachedSecrets {
    CachedSecrets::new(None, Arc::new(LocalSecrets), Duration::from_secs(300))
}

/// A client using an API token kept in a file (returned so tests can rotate it).
fn token_client(sim: &RunningSim, token: &str) -> (OktaClient, tempfile::NamedTempFile) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), token).unwrap();
    let reference: SecretRef = format!("file:{}", file.path().display()).parse().unwrap();
    let mut settings = OktaSettings::new(
        sim.base_url().parse().unwrap(),
        OktaCredential::ApiToken { token: reference },
    );
    settings.backoff_base = Duration::from_millis(5);
    settings.backoff_cap = Duration::from_millis(50);
    // With 30% 5xx and 10% drops a call fails ~37% of the time: 12 tries make a page fail
    // once in ~150,000 (6 tries, the default, would be once in ~400).
    settings.max_attempts = 12;
    (OktaClient::new(settings, local_secrets()).unwrap(), file)
}

async fn control(sim: &RunningSim, path: &str, body: Value) {
    let res = reqwest::Client::new()
        .put(format!("{}/__sim/{path}", sim.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{path}");
}

async fn request_log(sim: &RunningSim) -> Vec<Value> {
    let v: Value = reqwest::get(format!("{}/__sim/requests", sim.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["requests"].as_array().unwrap().clone()
}

async fn all_users(client: &OktaClient, limit: u32) -> Result<Vec<String>, OktaError> {
    let mut cursor = Some(Cursor::users(None, limit));
    let mut logins = Vec::new();
    while let Some(c) = cursor.take() {
        let page = client.users_page(&c).await?;
        logins.extend(page.items.into_iter().map(|u| u.profile.login));
        cursor = page.next;
    }
    Ok(logins)
}

#[tokio::test]
async fn pages_through_many_pages_one_call_each() {
    let sim = sim(1048).await;
    let (client, _f) = token_client(&sim, TOKEN);
    let logins = all_users(&client, 150).await.unwrap();
    assert_eq!(logins.len(), 1050);
    let mut unique = logins.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 1050, "no duplicates");
    assert_eq!(client.calls(), 7);
    assert_eq!(request_log(&sim).await.len(), 7, "one Okta call per page");
}

#[tokio::test]
async fn stays_within_its_share_of_the_rate_limit() {
    let sim = sim(20).await;
    control(
        &sim,
        "rate-limits",
        json!({ "windowSecs": 2, "limits": { "users": 4 } }),
    )
    .await;
    let (client, _f) = token_client(&sim, TOKEN);
    // 22 users, 3 per page: 8 calls, at most 2 (half of 4) per 2-second window.
    assert_eq!(all_users(&client, 3).await.unwrap().len(), 22);
    let log = request_log(&sim).await;
    assert_eq!(log.len(), 8);
    assert!(
        log.iter().all(|r| r["status"] == 200),
        "never refused: {log:?}"
    );
    let mut per_window = std::collections::BTreeMap::<i64, usize>::new();
    for r in &log {
        *per_window
            .entry(r["atMs"].as_i64().unwrap() / 2000)
            .or_default() += 1;
    }
    assert!(per_window.values().all(|&n| n <= 2), "{per_window:?}");
}

#[tokio::test]
async fn waits_out_a_429_storm_without_hammering() {
    let sim = sim(3).await;
    control(&sim, "rate-limits", json!({ "windowSecs": 2 })).await;
    control(&sim, "faults", json!({ "rateLimited": true })).await;
    let (client, _f) = token_client(&sim, TOKEN);
    let base = sim.base_url();
    let lift = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        reqwest::Client::new()
            .put(format!("{base}/__sim/faults"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
    });
    let users = all_users(&client, 200).await.unwrap();
    lift.await.unwrap();
    assert_eq!(users.len(), 5);
    let log = request_log(&sim).await;
    let statuses: Vec<_> = log.iter().map(|r| r["status"].as_u64().unwrap()).collect();
    assert_eq!(
        statuses,
        [429, 200],
        "one refusal, then one call after the reset"
    );
    let (t429, t200) = (
        log[0]["atMs"].as_i64().unwrap(),
        log[1]["atMs"].as_i64().unwrap(),
    );
    assert!(
        t200 / 2000 > t429 / 2000,
        "the retry waited for the next window"
    );
}

#[tokio::test]
async fn a_30_percent_share_of_5xx_and_dropped_connections_does_not_stop_reads() {
    let sim = sim(198).await;
    control(&sim, "faults", json!({ "errorRate": 0.3, "dropRate": 0.1 })).await;
    let (client, _f) = token_client(&sim, TOKEN);
    let logins = all_users(&client, 20).await.unwrap();
    assert_eq!(logins.len(), 200);
    let log = request_log(&sim).await;
    let ok = log.iter().filter(|r| r["status"] == 200).count();
    assert_eq!(ok, 10, "every page read once");
    assert!(
        log.len() > 10,
        "some calls failed and were retried: {}",
        log.len()
    );
}

#[tokio::test]
async fn typed_errors_for_refusals() {
    let sim = sim(0).await;
    let (client, _f) = token_client(&sim, READ_ONLY);
    let me = client.me().await.unwrap().unwrap();
    let err = client
        .add_member(&GroupId::from("00gnope"), &UserId::from(me.id.clone()))
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(404), Some("E0000007")));
    let page = client.groups_page(&Cursor::groups(None, 10)).await.unwrap();
    let ops = page.items.iter().find(|g| g.profile.name == "ops").unwrap();
    assert_eq!(ops.users_count(), Some(0), "expand=stats read");
    let err = client
        .add_member(&GroupId::from(ops.id.clone()), &UserId::from(me.id.clone()))
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(403), Some("E0000006")));
    assert!(err.to_string().contains("permission"), "{err}");

    let (bad, _f) = token_client(&sim, "not-a-token");
    let err = bad.me().await.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(401), Some("E0000011")));
    assert!(
        !err.to_string().contains("not-a-token"),
        "the credential is never in an error"
    );

    let dead = OktaClient::new(
        {
            let mut s = OktaSettings::new(
                "http://127.0.0.1:9".parse().unwrap(),
                OktaCredential::ApiToken {
                    token: "env:GATEPASS_TEST_NO_SUCH_VAR".parse().unwrap(),
                },
            );
            s.max_attempts = 1;
            s
        },
        local_secrets(),
    )
    .unwrap();
    assert!(matches!(dead.me().await, Err(OktaError::Credential(_))));
}

#[tokio::test]
async fn service_app_gets_a_token_once_and_manages_membership() {
    let sim = sim(2).await;
    let reference: SecretRef = format!("file:{}", fixture("rogue-provider-key.pem"))
        .parse()
        .unwrap();
    let client = OktaClient::new(
        OktaSettings::new(
            sim.base_url().parse().unwrap(),
            OktaCredential::ServiceApp {
                client_id: "0oagatepass".into(),
                key_id: Some("k1".into()),
                private_key: reference,
                scopes: vec![
                    "okta.users.read".into(),
                    "okta.groups.read".into(),
                    "okta.groups.manage".into(),
                ],
            },
        ),
        local_secrets(),
    )
    .unwrap();
    assert_eq!(client.me().await.unwrap(), None, "a service app is no user");
    let users = all_users(&client, 200).await.unwrap();
    assert_eq!(users.len(), 4);
    let groups = client
        .groups_page(&Cursor::groups(Some("type eq \"OKTA_GROUP\""), 10))
        .await
        .unwrap();
    let ops = &groups.items[0];
    let user = client
        .users_page(&Cursor::users(
            Some("profile.login eq \"user0001@example.com\""),
            1,
        ))
        .await
        .unwrap();
    client
        .add_member(
            &GroupId::from(ops.id.clone()),
            &UserId::from(user.items[0].id.clone()),
        )
        .await
        .unwrap();
    client
        .add_member(
            &GroupId::from(ops.id.clone()),
            &UserId::from(user.items[0].id.clone()),
        )
        .await
        .unwrap();
    let members = client
        .group_members_page(&Cursor::group_members(&ops.id, 100))
        .await
        .unwrap();
    assert_eq!(members.items.len(), 1);
    client
        .remove_member(
            &GroupId::from(ops.id.clone()),
            &UserId::from(user.items[0].id.clone()),
        )
        .await
        .unwrap();
    let log = request_log(&sim).await;
    let token_calls = log
        .iter()
        .filter(|r| r["path"] == "/oauth2/v1/token")
        .count();
    assert_eq!(token_calls, 1, "the access token is cached");

    // Okta forgets the token: the next call gets 401, fetches a new one and succeeds.
    reqwest::Client::new()
        .delete(format!("{}/__sim/access-tokens", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(all_users(&client, 200).await.unwrap().len(), 4);
    let log = request_log(&sim).await;
    assert_eq!(
        log.iter()
            .filter(|r| r["path"] == "/oauth2/v1/token")
            .count(),
        2
    );
}

/// A service-app client for `client_id` with the usual (group) scopes.
fn service_app(sim: &RunningSim, client_id: &str) -> OktaClient {
    let reference: SecretRef = format!("file:{}", fixture("rogue-provider-key.pem"))
        .parse()
        .unwrap();
    OktaClient::new(
        OktaSettings::new(
            sim.base_url().parse().unwrap(),
            OktaCredential::ServiceApp {
                client_id: client_id.into(),
                key_id: Some("k1".into()),
                private_key: reference,
                scopes: vec![
                    "okta.users.read".into(),
                    "okta.groups.read".into(),
                    "okta.groups.manage".into(),
                ],
            },
        ),
        local_secrets(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_service_app_asks_for_the_apps_scopes_in_a_token_of_their_own() {
    let sim = sim(1).await;
    let user = {
        let org = sim.sim.org.read().unwrap();
        org.users[org.find_user("user0000@example.com").unwrap() as usize]
            .id
            .clone()
    };
    // Granted the apps scopes: it lists, assigns and unassigns.
    let client = service_app(&sim, "0oaappsmanager");
    let apps = client.apps_page(&Cursor::apps(200)).await.unwrap();
    assert_eq!(apps.items.len(), 1);
    let datadog = GroupId::from(apps.items[0].id.clone());
    client
        .assign_app(&datadog, &UserId::from(user.clone()))
        .await
        .unwrap();
    let users = client
        .app_users_page(&Cursor::app_users(datadog.as_str(), 500))
        .await
        .unwrap();
    assert_eq!(
        users
            .items
            .iter()
            .map(|u| (u.id.as_str(), u.scope.as_str()))
            .collect::<Vec<_>>(),
        [(user.as_str(), "USER")]
    );
    client
        .unassign_app(&datadog, &UserId::from(user.clone()))
        .await
        .unwrap();
    // Groups still use the token with the group scopes: two tokens in all, each cached.
    all_users(&client, 200).await.unwrap();
    all_users(&client, 200).await.unwrap();
    let tokens = request_log(&sim)
        .await
        .iter()
        .filter(|r| r["path"] == "/oauth2/v1/token")
        .count();
    assert_eq!(tokens, 2);

    // Not granted them: the apps calls are refused (`invalid_scope`), groups work on.
    let client = service_app(&sim, "0oagatepass");
    let e = client
        .assign_app(&datadog, &UserId::from(user.clone()))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("invalid_scope"), "{e}");
    assert_eq!(all_users(&client, 200).await.unwrap().len(), 3);
}

async fn rotate_in_sim(sim: &RunningSim, old: &str, new: &str) {
    let res = reqwest::Client::new()
        .post(format!("{}/__sim/api-tokens", sim.base_url()))
        .json(&json!({ "token": new, "user": "admin@example.com", "replaces": old }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
}

#[tokio::test]
async fn a_rotated_token_file_is_read_again_after_one_401() {
    let sim = sim(0).await;
    let (client, file) = token_client(&sim, TOKEN);
    assert!(client.me().await.unwrap().is_some());
    rotate_in_sim(&sim, TOKEN, "rotated-token").await;
    std::fs::write(file.path(), "rotated-token").unwrap();
    assert!(
        client.me().await.unwrap().is_some(),
        "recovers without a restart"
    );
    let statuses: Vec<_> = request_log(&sim)
        .await
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 401, 200]);
}

#[tokio::test]
async fn a_token_rotated_in_aws_secrets_manager_is_read_again_after_one_401() {
    let Some(moto) = Moto::start() else { return };
    let settings = AwsSettings {
        region: Some("eu-west-1".into()),
        endpoint_url: Some(moto.url.clone()),
    };
    let aws = AwsSecrets::with_static_credentials(&settings).await;
    let sm = aws.client().clone();
    sm.create_secret()
        .name("gatepass/okta")
        .secret_string(json!({ "token": TOKEN }).to_string())
        .send()
        .await
        .unwrap();
    let sim = sim(0).await;
    let secrets = CachedSecrets::new(
        Some(Arc::new(aws)),
        Arc::new(LocalSecrets),
        Duration::from_secs(3600),
    );
    let client = OktaClient::new(
        OktaSettings::new(
            sim.base_url().parse().unwrap(),
            OktaCredential::ApiToken {
                token: "aws-secretsmanager:gatepass/okta#token".parse().unwrap(),
            },
        ),
        secrets,
    )
    .unwrap();
    assert!(client.me().await.unwrap().is_some());

    rotate_in_sim(&sim, TOKEN, "rotated-in-aws").await;
    sm.put_secret_value()
        .secret_id("gatepass/okta")
        .secret_string(json!({ "token": "rotated-in-aws" }).to_string())
        .send()
        .await
        .unwrap();
    assert!(
        client.me().await.unwrap().is_some(),
        "recovers after one 401, no restart"
    );
    let statuses: Vec<_> = request_log(&sim)
        .await
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 401, 200]);

    sm.delete_secret()
        .secret_id("gatepass/okta")
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    rotate_in_sim(&sim, "rotated-in-aws", "rotated-again").await;
    let err = client.me().await.unwrap_err();
    assert!(matches!(&err, OktaError::Credential(_)), "{err}");
    assert!(
        err.to_string().contains("gatepass/okta"),
        "names the missing secret: {err}"
    );
}

/// The client paces itself per rate-limit bucket and the simulator enforces the buckets; each
/// side has its own table (the client's in `governor.rs`, the simulator's written from Okta's
/// documented limits). They must put real Okta paths in the same bucket, or the client would
/// pace one bucket while Okta (and the simulator) counts another.
#[test]
fn client_and_simulator_agree_on_rate_limit_buckets() {
    let paths = [
        "/api/v1/users",
        "/api/v1/users/me",
        "/api/v1/users/00ub0oNGTSWTBKOLGLNR",
        "/api/v1/users/ada@example.com",
        "/api/v1/users/00ub0oNGTSWTBKOLGLNR/groups",
        "/api/v1/users/00ub0oNGTSWTBKOLGLNR/roles",
        "/api/v1/users/00ub0oNGTSWTBKOLGLNR/roles/ra1b8aahBZuGJRRa30g4/targets/groups",
        "/api/v1/groups",
        "/api/v1/groups/rules",
        "/api/v1/groups/rules/0pr3f7zMZZHPgUoWO0g4",
        "/api/v1/groups/00g1emaKYZTWRYYRRTSK",
        "/api/v1/groups/00g1emaKYZTWRYYRRTSK/users",
        "/api/v1/groups/00g1emaKYZTWRYYRRTSK/users/00ub0oNGTSWTBKOLGLNR",
        "/api/v1/groups/00g1emaKYZTWRYYRRTSK/owners",
        "/api/v1/logs",
        "/oauth2/v1/token",
        "/oauth2/default/v1/token",
        "/api/v1/meta/types/user",
        "/api/v1/meta/types/user/otyz9fj2jMiRBC1ZT1d6",
        "/api/v1/meta/schemas/user/default",
        "/api/v1/apps",
        "/api/v1/apps/0oa1gjh63g214q0Hq0g4",
        "/api/v1/apps/0oa1gjh63g214q0Hq0g4/users",
        "/api/v1/apps/0oa1gjh63g214q0Hq0g4/users/00ub0oNGTSWTBKOLGLNR",
    ];
    let disagreements: Vec<String> = paths
        .iter()
        .filter_map(|p| {
            let (client, sim) = (
                app::ssr::okta::governor::rate_bucket(p),
                okta_sim::edge::rate_bucket(p),
            );
            (client != sim).then(|| format!("{p}: client {client}, simulator {sim}"))
        })
        .collect();
    assert!(disagreements.is_empty(), "{disagreements:#?}");
    // Every bucket the simulator knows is reached by at least one of these paths.
    for (_, bucket) in okta_sim::edge::RATE_BUCKETS {
        assert!(
            paths
                .iter()
                .any(|p| okta_sim::edge::rate_bucket(p) == *bucket),
            "{bucket}"
        );
    }
}
