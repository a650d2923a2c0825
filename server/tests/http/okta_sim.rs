//! The Okta simulator over real HTTP: paging edge cases, every error code, role enforcement,
//! the OAuth service-app token flow, the OIDC side's strictness, and fault injection.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use okta_sim::edge::{Faults, Limits};
use okta_sim::seed::{self, SeedFile};
use okta_sim::store::Org;
use okta_sim::{start, RunningSim, Sim};
use reqwest::header::LINK;
use reqwest::StatusCode;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
use rsa::signature::{SignatureEncoding, Signer};
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const SUPER: &str = "super-token";
const READ_ONLY: &str = "ro-token";
const SCOPED: &str = "scoped-token";

fn seed_json(extra_users: usize) -> Value {
    let mut users = vec![
        json!({ "login": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace" }),
        json!({ "login": "bob@example.com", "firstName": "Bob", "lastName": "Builder" }),
        json!({ "login": "cy@example.com", "firstName": "Cy", "lastName": "Young" }),
        json!({ "login": "gone@example.com", "firstName": "Gone", "lastName": "Away", "status": "DEPROVISIONED" }),
    ];
    for i in 0..extra_users {
        users.push(json!({ "login": format!("u{i:03}@example.com"), "firstName": "U", "lastName": format!("{i}") }));
    }
    json!({
        "users": users,
        "groups": [
            { "name": "eng", "description": "Engineers", "members": ["ada@example.com", "bob@example.com"] },
            { "name": "ops", "members": [] },
            { "name": "ad-imported", "type": "APP_GROUP", "members": ["cy@example.com"] }
        ],
        "tokens": [
            { "token": SUPER, "user": "ada@example.com", "roles": [{ "type": "SUPER_ADMIN" }] },
            { "token": READ_ONLY, "user": "bob@example.com", "roles": [{ "type": "READ_ONLY_ADMIN" }] },
            { "token": SCOPED, "user": "cy@example.com", "roles": [{ "type": "GROUP_MEMBERSHIP_ADMIN", "groups": ["ops"] }] }
        ],
        "oidcClients": [{
            "clientId": "web", "clientSecret": "web-secret",
            "redirectUris": ["http://127.0.0.1:9/cb"],
            "postLogoutRedirectUris": ["http://127.0.0.1:9/bye"]
        }]
    })
}

async fn sim_with(seed: Value, limits: Limits) -> RunningSim {
    let file: SeedFile = serde_json::from_value(seed).expect("seed parses");
    let mut org = Org::new(42, 1_700_000_000_000);
    file.apply(&mut org, 1_700_000_000_000)
        .expect("seed applies");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start(Sim::new(org, limits, Faults::default(), None), listener).unwrap()
}

async fn sim() -> RunningSim {
    sim_with(seed_json(0), Limits::default()).await
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn get(sim: &RunningSim, token: &str, path: &str) -> reqwest::Response {
    client()
        .get(format!("{}{path}", sim.base_url()))
        .header("Authorization", format!("SSWS {token}"))
        .send()
        .await
        .unwrap()
}

fn links(res: &reqwest::Response) -> Vec<String> {
    res.headers()
        .get_all(LINK)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn next_link(res: &reqwest::Response) -> Option<String> {
    links(res).into_iter().find_map(|l| {
        l.strip_suffix(">; rel=\"next\"")
            .map(|u| u.trim_start_matches('<').to_owned())
    })
}

/// Follows `next` links from `path`; returns every page's item count and all items.
async fn walk(sim: &RunningSim, token: &str, path: &str) -> (Vec<usize>, Vec<Value>) {
    let mut url = format!("{}{path}", sim.base_url());
    let (mut sizes, mut all) = (Vec::new(), Vec::new());
    loop {
        let res = client()
            .get(&url)
            .header("Authorization", format!("SSWS {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{url}");
        let next = next_link(&res);
        let items: Vec<Value> = res.json().await.unwrap();
        sizes.push(items.len());
        all.extend(items);
        match next {
            Some(n) => {
                assert!(n.starts_with(&sim.base_url()), "absolute next link: {n}");
                url = n;
            }
            None => return (sizes, all),
        }
    }
}

fn logins(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|u| u["profile"]["login"].as_str().unwrap().to_owned())
        .collect()
}

async fn body(res: reqwest::Response) -> Value {
    res.json().await.unwrap()
}

async fn assert_okta_error(res: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status);
    for h in [
        "date",
        "x-okta-request-id",
        "x-rate-limit-limit",
        "x-rate-limit-remaining",
        "x-rate-limit-reset",
    ] {
        assert!(res.headers().contains_key(h), "{h} on an error response");
    }
    let b = body(res).await;
    assert_eq!(b["errorCode"], code, "{b}");
    assert_eq!(b["errorLink"], code);
    assert!(b["errorSummary"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(b["errorId"].as_str().is_some_and(|s| s.starts_with("oae")));
    assert!(b["errorCauses"].is_array());
    b
}

#[tokio::test]
async fn pages_users_with_absolute_links_on_separate_lines() {
    let sim = sim_with(seed_json(3), Limits::default()).await;
    // 3 + 3 listed users (the DEPROVISIONED one is not listed without a search).
    let (sizes, all) = walk(&sim, SUPER, "/api/v1/users?limit=2").await;
    assert_eq!(
        sizes,
        [2, 2, 2],
        "an exact multiple of the limit ends without an empty page"
    );
    let mut got = logins(&all);
    got.sort();
    assert_eq!(
        got,
        [
            "ada@example.com",
            "bob@example.com",
            "cy@example.com",
            "u000@example.com",
            "u001@example.com",
            "u002@example.com"
        ]
    );

    let res = get(&sim, SUPER, "/api/v1/users?limit=4").await;
    let l = links(&res);
    assert_eq!(l.len(), 2, "self and next are separate header lines: {l:?}");
    assert_eq!(
        l[0],
        format!("<{}/api/v1/users?limit=4>; rel=\"self\"", sim.base_url())
    );

    let (sizes, all) = walk(&sim, SUPER, "/api/v1/users?limit=5").await;
    assert_eq!(sizes, [5, 1]);
    assert_eq!(all.len(), 6);
}

#[tokio::test]
async fn empty_results_and_limits_over_the_maximum() {
    let sim = sim_with(seed_json(250), Limits::default()).await;
    let res = get(
        &sim,
        SUPER,
        "/api/v1/users?search=profile.login%20eq%20%22nobody%40x%22",
    )
    .await;
    assert_eq!(links(&res).len(), 1, "only self on an empty page");
    assert_eq!(body(res).await, json!([]));

    let (sizes, all) = walk(&sim, SUPER, "/api/v1/users?limit=5000").await;
    assert_eq!(sizes, [200, 53], "limit capped at the users maximum of 200");
    assert_eq!(all.len(), 253);

    let (sizes, _) = walk(&sim, SUPER, "/api/v1/users").await;
    assert_eq!(sizes, [200, 53], "default limit 200");
}

#[tokio::test]
async fn searches_and_filters_like_okta() {
    let sim = sim().await;
    let res = get(
        &sim,
        SUPER,
        "/api/v1/users?search=profile.login%20eq%20%22ADA%40example.com%22",
    )
    .await;
    assert_eq!(
        logins(body(res).await.as_array().unwrap()),
        ["ada@example.com"]
    );
    let res = get(
        &sim,
        SUPER,
        "/api/v1/users?search=status%20eq%20%22DEPROVISIONED%22",
    )
    .await;
    assert_eq!(
        logins(body(res).await.as_array().unwrap()),
        ["gone@example.com"]
    );
    let res = get(
        &sim,
        SUPER,
        "/api/v1/users?filter=lastUpdated%20gt%20%222020-01-01T00:00:00.000Z%22",
    )
    .await;
    assert_eq!(body(res).await.as_array().unwrap().len(), 3);
    let res = get(&sim, SUPER, "/api/v1/users/bob@example.com").await;
    assert_eq!(body(res).await["profile"]["firstName"], "Bob");
    let res = get(&sim, SUPER, "/api/v1/users/me").await;
    assert_eq!(body(res).await["profile"]["login"], "ada@example.com");

    let res = get(
        &sim,
        SUPER,
        "/api/v1/groups?filter=type%20eq%20%22APP_GROUP%22",
    )
    .await;
    let groups = body(res).await;
    assert_eq!(groups.as_array().unwrap().len(), 1);
    assert_eq!(groups[0]["profile"]["name"], "ad-imported");
    let res = get(
        &sim,
        SUPER,
        "/api/v1/groups?search=profile.name%20sw%20%22e%22&expand=stats",
    )
    .await;
    let groups = body(res).await;
    let names: Vec<_> = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["profile"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Everyone", "eng"]);
    assert_eq!(groups[1]["_embedded"]["stats"]["usersCount"], 2);
    assert_eq!(groups[0]["type"], "BUILT_IN");

    let res = get(&sim, SUPER, "/api/v1/groups?q=e&limit=1000").await;
    assert_eq!(links(&res).len(), 1, "q never pages");
    assert_eq!(body(res).await.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn every_error_code() {
    let sim = sim().await;
    assert_okta_error(get(&sim, "wrong", "/api/v1/users").await, 401, "E0000011").await;
    let res = client()
        .get(format!("{}/api/v1/users", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_okta_error(res, 401, "E0000011").await;
    assert_okta_error(
        get(&sim, SUPER, "/api/v1/users/00unope").await,
        404,
        "E0000007",
    )
    .await;
    assert_okta_error(
        get(&sim, SUPER, "/api/v1/groups/00gnope").await,
        404,
        "E0000007",
    )
    .await;
    assert_okta_error(
        get(&sim, SUPER, "/api/v1/groups/00gnope/users").await,
        404,
        "E0000007",
    )
    .await;
    let b = assert_okta_error(
        get(&sim, SUPER, "/api/v1/users?limit=zero").await,
        400,
        "E0000001",
    )
    .await;
    assert!(b["errorCauses"][0]["errorSummary"]
        .as_str()
        .unwrap()
        .contains("limit"));
    let b = assert_okta_error(
        get(&sim, SUPER, "/api/v1/users?search=nickName%20eq%20%22x%22").await,
        400,
        "E0000031",
    )
    .await;
    assert!(b["errorCauses"][0]["errorSummary"]
        .as_str()
        .unwrap()
        .contains("nickName"));
    assert_okta_error(
        get(&sim, SUPER, "/api/v1/users?after=00unknowncursor").await,
        400,
        "E0000001",
    )
    .await;
    let res = client()
        .post(format!("{}/api/v1/users", sim.base_url()))
        .header("Authorization", format!("SSWS {SUPER}"))
        .send()
        .await
        .unwrap();
    assert_okta_error(res, 405, "E0000022").await;
    assert_okta_error(
        get(&sim, SUPER, "/api/v1/nothing-here").await,
        404,
        "E0000007",
    )
    .await;
}

#[tokio::test]
async fn ssws_without_a_space_is_accepted_as_the_python_sdk_sends_it() {
    let sim = sim().await;
    let res = client()
        .get(format!("{}/api/v1/users/me", sim.base_url()))
        .header("Authorization", format!("SSWS{SUPER}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let h = res.headers();
    assert!(h.contains_key("date") && h.contains_key("x-okta-request-id"));
    assert_eq!(h["x-rate-limit-limit"], "600");
}

async fn member_ids(sim: &RunningSim, gid: &str) -> Vec<String> {
    let res = get(sim, SUPER, &format!("/api/v1/groups/{gid}/users")).await;
    body(res)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn id_of(sim: &RunningSim, kind: &str, key: &str) -> String {
    if kind == "user" {
        body(get(sim, SUPER, &format!("/api/v1/users/{key}")).await).await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    } else {
        let res = get(sim, SUPER, &format!("/api/v1/groups?q={key}")).await;
        body(res)
            .await
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["profile"]["name"] == key)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

async fn put_member(
    sim: &RunningSim,
    token: &str,
    gid: &str,
    uid: &str,
    add: bool,
) -> reqwest::Response {
    let url = format!("{}/api/v1/groups/{gid}/users/{uid}", sim.base_url());
    let req = if add {
        client().put(url)
    } else {
        client().delete(url)
    };
    req.header("Authorization", format!("SSWS {token}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn membership_changes_are_idempotent_logged_and_limited_to_okta_groups() {
    let sim = sim().await;
    let ops = id_of(&sim, "group", "ops").await;
    let cy = id_of(&sim, "user", "cy@example.com").await;
    let before = body(get(&sim, SUPER, &format!("/api/v1/groups/{ops}")).await).await
        ["lastMembershipUpdated"]
        .clone();

    for _ in 0..2 {
        assert_eq!(put_member(&sim, SUPER, &ops, &cy, true).await.status(), 204);
    }
    assert_eq!(member_ids(&sim, &ops).await, vec![cy.clone()]);
    let after = body(get(&sim, SUPER, &format!("/api/v1/groups/{ops}")).await).await
        ["lastMembershipUpdated"]
        .clone();
    assert_ne!(before, after, "lastMembershipUpdated bumps");
    let res = get(
        &sim,
        SUPER,
        &format!(
            "/api/v1/groups?filter=lastMembershipUpdated%20gt%20{}",
            urlencode(&format!("\"{}\"", before.as_str().unwrap()))
        ),
    )
    .await;
    let changed = body(res).await;
    assert_eq!(changed.as_array().unwrap().len(), 1);
    assert_eq!(changed[0]["id"], ops.as_str());

    for _ in 0..2 {
        assert_eq!(
            put_member(&sim, SUPER, &ops, &cy, false).await.status(),
            204
        );
    }
    assert!(member_ids(&sim, &ops).await.is_empty());

    let res = get(&sim, SUPER, "/api/v1/logs?since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z&filter=eventType%20eq%20%22group.user_membership.add%22%20or%20eventType%20eq%20%22group.user_membership.remove%22").await;
    let events = body(res).await;
    let kinds: Vec<_> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["group.user_membership.add", "group.user_membership.remove"],
        "one event per real change"
    );
    assert_eq!(events[0]["target"][0]["id"], cy.as_str());
    assert_eq!(events[0]["target"][1]["id"], ops.as_str());
    assert_eq!(events[0]["actor"]["alternateId"], "ada@example.com");

    let app_group = id_of(&sim, "group", "ad-imported").await;
    let b = assert_okta_error(
        put_member(&sim, SUPER, &app_group, &cy, true).await,
        403,
        "E0000006",
    )
    .await;
    assert!(b["errorCauses"][0]["errorSummary"]
        .as_str()
        .unwrap()
        .contains("APP_GROUP"));
    let everyone = id_of(&sim, "group", "Everyone").await;
    assert_okta_error(
        put_member(&sim, SUPER, &everyone, &cy, false).await,
        403,
        "E0000006",
    )
    .await;
    assert_okta_error(
        put_member(&sim, SUPER, &ops, "00unope", true).await,
        404,
        "E0000007",
    )
    .await;
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn roles_decide_what_a_token_may_do() {
    let sim = sim().await;
    let ops = id_of(&sim, "group", "ops").await;
    let eng = id_of(&sim, "group", "eng").await;
    let ada = id_of(&sim, "user", "ada@example.com").await;

    assert_eq!(get(&sim, READ_ONLY, "/api/v1/users").await.status(), 200);
    assert_okta_error(
        put_member(&sim, READ_ONLY, &ops, &ada, true).await,
        403,
        "E0000006",
    )
    .await;
    assert!(
        member_ids(&sim, &ops).await.is_empty(),
        "a refused PUT changes nothing"
    );

    assert_eq!(
        put_member(&sim, SCOPED, &ops, &ada, true).await.status(),
        204
    );
    assert_okta_error(
        put_member(&sim, SCOPED, &eng, &ada, false).await,
        403,
        "E0000006",
    )
    .await;
    assert_eq!(member_ids(&sim, &eng).await.len(), 2);

    let cy = id_of(&sim, "user", "cy@example.com").await;
    let roles = body(get(&sim, SCOPED, &format!("/api/v1/users/{cy}/roles")).await).await;
    assert_eq!(roles[0]["type"], "GROUP_MEMBERSHIP_ADMIN");
    let role_id = roles[0]["id"].as_str().unwrap();
    let targets = body(
        get(
            &sim,
            SCOPED,
            &format!("/api/v1/users/{cy}/roles/{role_id}/targets/groups"),
        )
        .await,
    )
    .await;
    assert_eq!(targets[0]["id"], ops.as_str());
}

// ---- OAuth 2.0 service app -------------------------------------------------------------

fn fixture_key(name: &str) -> RsaPrivateKey {
    let pem = std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    RsaPrivateKey::from_pkcs8_pem(&pem).unwrap()
}

fn assertion(key: &RsaPrivateKey, claims: Value) -> String {
    let header = json!({ "alg": "RS256", "kid": "app-key" });
    let input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let sig = SigningKey::<Sha256>::new(key.clone()).sign(input.as_bytes());
    format!("{input}.{}", B64.encode(sig.to_bytes()))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn service_app_sim() -> (RunningSim, RsaPrivateKey) {
    service_app_sim_with(&["okta.users.read", "okta.groups.read"]).await
}

async fn service_app_sim_with(scopes: &[&str]) -> (RunningSim, RsaPrivateKey) {
    let key = fixture_key("rogue-provider-key.pem");
    let pem = key
        .to_public_key()
        .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap();
    let mut seed = seed_json(0);
    seed["serviceApps"] = json!([{
        "clientId": "0oaservice", "publicKeyPem": pem, "kid": "app-key",
        "scopes": scopes
    }]);
    (sim_with(seed, Limits::default()).await, key)
}

async fn token_request(sim: &RunningSim, jwt: &str, scope: &str) -> reqwest::Response {
    client()
        .post(format!("{}/oauth2/v1/token", sim.base_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", scope),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", jwt),
        ])
        .send()
        .await
        .unwrap()
}

fn claims(sim: &RunningSim, jti: &str) -> Value {
    json!({ "iss": "0oaservice", "sub": "0oaservice", "aud": format!("{}/oauth2/v1/token", sim.base_url()), "exp": now() + 300, "iat": now(), "jti": jti })
}

#[tokio::test]
async fn service_app_gets_a_token_with_private_key_jwt_and_scopes_are_enforced() {
    let (sim, key) = service_app_sim().await;
    let res = token_request(
        &sim,
        &assertion(&key, claims(&sim, "j1")),
        "okta.users.read okta.groups.read",
    )
    .await;
    assert_eq!(res.status(), 200);
    let t = body(res).await;
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["scope"], "okta.users.read okta.groups.read");
    let access = t["access_token"].as_str().unwrap().to_owned();

    let bearer = |path: &str| {
        client()
            .get(format!("{}{path}", sim.base_url()))
            .bearer_auth(&access)
            .send()
    };
    assert_eq!(bearer("/api/v1/users").await.unwrap().status(), 200);
    assert_eq!(bearer("/api/v1/groups").await.unwrap().status(), 200);
    let res = bearer("/api/v1/logs").await.unwrap();
    assert!(res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));
    assert_okta_error(res, 403, "E0000006").await;

    let ops = id_of(&sim, "group", "ops").await;
    let ada = id_of(&sim, "user", "ada@example.com").await;
    let res = client()
        .put(format!(
            "{}/api/v1/groups/{ops}/users/{ada}",
            sim.base_url()
        ))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_okta_error(res, 403, "E0000006").await;

    // A scope the app was not granted is refused at the token endpoint.
    let res = token_request(
        &sim,
        &assertion(&key, claims(&sim, "j2")),
        "okta.groups.manage",
    )
    .await;
    assert_eq!(res.status(), 400);
    assert_eq!(body(res).await["error"], "invalid_scope");

    let res = client()
        .get(format!("{}/api/v1/users", sim.base_url()))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_okta_error(res, 401, "E0000011").await;
}

#[tokio::test]
async fn defective_client_assertions_are_refused() {
    let (sim, key) = service_app_sim().await;
    let other = fixture_key("unknown-key.pem");
    let base = claims(&sim, "x");
    let with = |k: &str, v: Value| {
        let mut c = base.clone();
        c[k] = v;
        c
    };
    let cases = [
        (
            "signed by another key",
            assertion(&other, with("jti", json!("a1"))),
            "signature",
        ),
        (
            "wrong audience",
            assertion(
                &key,
                with("aud", json!("http://127.0.0.1:1/oauth2/v1/token")),
            ),
            "audience",
        ),
        (
            "expired",
            assertion(&key, with("exp", json!(now() - 10))),
            "expired",
        ),
        (
            "too far in the future",
            assertion(&key, with("exp", json!(now() + 7200))),
            "too far",
        ),
        (
            "sub differs from iss",
            assertion(&key, with("sub", json!("0oaother"))),
            "sub",
        ),
        (
            "unknown app",
            assertion(&key, with("iss", json!("0oanobody"))),
            "not a known service app",
        ),
        ("not a JWT", "garbage".to_owned(), "not a valid JWT"),
    ];
    for (what, jwt, why) in cases {
        let res = token_request(&sim, &jwt, "okta.users.read").await;
        assert_eq!(res.status(), 401, "{what}");
        let b = body(res).await;
        assert_eq!(b["error"], "invalid_client", "{what}");
        assert!(
            b["error_description"].as_str().unwrap().contains(why),
            "{what}: {b}"
        );
    }
    let good = assertion(&key, claims(&sim, "once"));
    assert_eq!(
        token_request(&sim, &good, "okta.users.read").await.status(),
        200
    );
    let res = token_request(&sim, &good, "okta.users.read").await;
    assert_eq!(res.status(), 401, "a replayed assertion is refused");
    assert!(body(res).await["error_description"]
        .as_str()
        .unwrap()
        .contains("already been used"));
}

// ---- Rate limits and faults --------------------------------------------------------------

async fn control(sim: &RunningSim, path: &str, body: Value) -> reqwest::Response {
    client()
        .put(format!("{}/__sim/{path}", sim.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn request_log(sim: &RunningSim) -> Vec<Value> {
    let res = client()
        .get(format!("{}/__sim/requests", sim.base_url()))
        .send()
        .await
        .unwrap();
    body(res).await["requests"].as_array().unwrap().clone()
}

#[tokio::test]
async fn rate_limits_count_per_bucket_and_refuse_with_429() {
    let sim = sim().await;
    assert_eq!(
        control(&sim, "rate-limits", json!({ "limits": { "users": 3 } }))
            .await
            .status(),
        200
    );
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let res = get(&sim, SUPER, "/api/v1/users").await;
        assert_eq!(res.status(), 200);
        remaining.push(
            res.headers()["x-rate-limit-remaining"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let res = get(&sim, SUPER, "/api/v1/users").await;
    let reset: u64 = res.headers()["x-rate-limit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(reset as i64 > now() - 1 && reset as i64 <= now() + 61);
    assert_okta_error(res, 429, "E0000047").await;
    assert_eq!(
        get(&sim, SUPER, "/api/v1/groups").await.status(),
        200,
        "other buckets are separate"
    );

    let log = request_log(&sim).await;
    let statuses: Vec<_> = log
        .iter()
        .map(|r| {
            (
                r["bucket"].as_str().unwrap().to_owned(),
                r["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|(b, s)| b == "users" && *s == 429)
            .count(),
        1
    );
    assert_eq!(statuses.last().unwrap(), &("groups".to_owned(), 200));

    // Bad control input is refused and changes nothing.
    let res = control(&sim, "rate-limits", json!({ "limitz": {} })).await;
    assert_eq!(res.status(), 400);
    let res = control(&sim, "faults", json!({ "errorRate": 2.0 })).await;
    assert_eq!(res.status(), 400);
    assert!(body(res).await["error"]
        .as_str()
        .unwrap()
        .contains("errorRate"));
}

#[tokio::test]
async fn injected_faults_storms_errors_drops_and_latency() {
    let sim = sim().await;
    control(&sim, "faults", json!({ "rateLimited": true })).await;
    let res = get(&sim, SUPER, "/api/v1/groups").await;
    assert_eq!(res.headers()["x-rate-limit-remaining"], "0");
    assert_okta_error(res, 429, "E0000047").await;

    control(&sim, "faults", json!({ "errorRate": 1.0 })).await;
    assert_okta_error(get(&sim, SUPER, "/api/v1/groups").await, 500, "E0000009").await;

    control(&sim, "faults", json!({ "dropRate": 1.0 })).await;
    let err = client()
        .get(format!("{}/api/v1/groups", sim.base_url()))
        .header("Authorization", format!("SSWS {SUPER}"))
        .send()
        .await;
    assert!(err.is_err(), "the connection is dropped without an answer");

    control(&sim, "faults", json!({ "latencyMs": 150 })).await;
    let t = std::time::Instant::now();
    assert_eq!(get(&sim, SUPER, "/api/v1/groups").await.status(), 200);
    assert!(
        t.elapsed() >= Duration::from_millis(150),
        "latency is added"
    );

    control(&sim, "faults", json!({})).await;
    assert_eq!(get(&sim, SUPER, "/api/v1/groups").await.status(), 200);
    let log = request_log(&sim).await;
    let statuses: Vec<u64> = log.iter().map(|r| r["status"].as_u64().unwrap()).collect();
    assert_eq!(
        statuses,
        [429, 500, 0, 200, 200],
        "the request log shows every call, drops as 0"
    );
}

#[tokio::test]
async fn concurrency_limit_refuses_the_excess() {
    let sim = sim().await;
    control(&sim, "rate-limits", json!({ "concurrency": 2 })).await;
    control(&sim, "faults", json!({ "latencyMs": 300 })).await;
    let url = format!("{}/api/v1/groups", sim.base_url());
    let calls = (0..5).map(|_| {
        client()
            .get(url.clone())
            .header("Authorization", format!("SSWS {SUPER}"))
            .send()
    });
    let results = futures_join_all(calls).await;
    let ok = results.iter().filter(|s| **s == StatusCode::OK).count();
    let limited = results
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((ok, limited), (2, 3), "{results:?}");
}

async fn futures_join_all(
    calls: impl Iterator<
        Item = impl std::future::Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static,
    >,
) -> Vec<StatusCode> {
    let handles: Vec<_> = calls
        .map(|f| tokio::spawn(async move { f.await.unwrap().status() }))
        .collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

// ---- OIDC side ---------------------------------------------------------------------------

fn pkce() -> (String, String) {
    let verifier = "a-verifier-that-is-long-enough-for-pkce-0123456789".to_owned();
    let challenge = B64.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

async fn sign_in(sim: &RunningSim, login: &str, challenge: &str) -> reqwest::Response {
    client()
        .post(format!("{}/oauth2/default/v1/authorize", sim.base_url()))
        .form(&[
            ("client_id", "web"),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
            ("response_type", "code"),
            ("scope", "openid email profile groups"),
            ("state", "st"),
            ("nonce", "n0"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("login", login),
        ])
        .send()
        .await
        .unwrap()
}

fn query_param(location: &str, name: &str) -> Option<String> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn redeem(
    sim: &RunningSim,
    code: &str,
    verifier: &str,
    secret: &str,
    redirect: &str,
) -> reqwest::Response {
    client()
        .post(format!("{}/oauth2/default/v1/token", sim.base_url()))
        .basic_auth("web", Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", verifier),
            ("redirect_uri", redirect),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn oidc_sign_in_issues_verifiable_tokens_and_is_strict() {
    let sim = sim().await;
    let disco = body(
        client()
            .get(format!(
                "{}/oauth2/default/.well-known/openid-configuration",
                sim.base_url()
            ))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        disco["issuer"],
        format!("{}/oauth2/default", sim.base_url())
    );

    let page = client()
        .get(format!("{}/oauth2/default/v1/authorize?client_id=web&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&response_type=code&scope=openid&state=s&code_challenge=abc&code_challenge_method=S256", sim.base_url()))
        .send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("ada@example.com") && page.contains("Bob Builder"),
        "login page lists people"
    );
    assert!(
        !page.contains("gone@example.com"),
        "deprovisioned people are not offered"
    );
    let bad = client().get(format!("{}/oauth2/default/v1/authorize?client_id=web&redirect_uri=http%3A%2F%2Fevil.example%2Fcb&response_type=code&scope=openid&state=s&code_challenge=abc&code_challenge_method=S256", sim.base_url())).send().await.unwrap();
    assert_eq!(
        bad.status(),
        400,
        "an unregistered redirect URI gets an error page, not a redirect"
    );
    let no_pkce = client().get(format!("{}/oauth2/default/v1/authorize?client_id=web&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&response_type=code&scope=openid&state=s", sim.base_url())).send().await.unwrap();
    assert_eq!(
        query_param(no_pkce.headers()["location"].to_str().unwrap(), "error").as_deref(),
        Some("invalid_request")
    );

    let denied = sign_in(&sim, "stranger@example.com", "x").await;
    let loc = denied.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(query_param(&loc, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&loc, "state").as_deref(), Some("st"));

    let (verifier, challenge) = pkce();
    let code_for = |res: reqwest::Response| {
        query_param(res.headers()["location"].to_str().unwrap(), "code").unwrap()
    };
    let cb = "http://127.0.0.1:9/cb";

    let code = code_for(sign_in(&sim, "ada@example.com", &challenge).await);
    let res = redeem(&sim, &code, &verifier, "wrong-secret", cb).await;
    assert_eq!(
        (res.status().as_u16(), body(res).await["error"].clone()),
        (401, json!("invalid_client"))
    );

    let code = code_for(sign_in(&sim, "ada@example.com", &challenge).await);
    let res = redeem(
        &sim,
        &code,
        "another-verifier-entirely-000000000000000000000",
        "web-secret",
        cb,
    )
    .await;
    assert_eq!(body(res).await["error"], "invalid_grant");

    let code = code_for(sign_in(&sim, "ada@example.com", &challenge).await);
    let res = redeem(
        &sim,
        &code,
        &verifier,
        "web-secret",
        "http://127.0.0.1:9/other",
    )
    .await;
    assert_eq!(body(res).await["error"], "invalid_grant");

    let code = code_for(sign_in(&sim, "ADA@example.com", &challenge).await);
    let res = redeem(&sim, &code, &verifier, "web-secret", cb).await;
    assert_eq!(res.status(), 200);
    let tokens = body(res).await;
    let again = redeem(&sim, &code, &verifier, "web-secret", cb).await;
    assert_eq!(
        body(again).await["error"],
        "invalid_grant",
        "a code works once"
    );

    let id_token = tokens["id_token"].as_str().unwrap();
    let keys = body(
        client()
            .get(format!("{}/oauth2/default/v1/keys", sim.base_url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let jwk = okta_sim::jwt::PublicJwk::from_jwk(&keys["keys"][0]).unwrap();
    let claims =
        okta_sim::jwt::verify(id_token, &[jwk]).expect("ID token verifies against the JWKS");
    let ada = id_of(&sim, "user", "ada@example.com").await;
    assert_eq!(claims["sub"], ada.as_str());
    assert_eq!(claims["nonce"], "n0");
    assert_eq!(claims["aud"], "web");
    assert_eq!(claims["iss"], disco["issuer"]);
    assert_eq!(claims["email"], "ada@example.com");
    assert_eq!(claims["groups"], json!(["Everyone", "eng"]));

    let info = client()
        .get(format!("{}/oauth2/default/v1/userinfo", sim.base_url()))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let info = body(info).await;
    assert_eq!(info["sub"], ada.as_str());
    assert_eq!(info["preferred_username"], "ada@example.com");

    let logout = client().get(format!("{}/oauth2/default/v1/logout?id_token_hint={id_token}&post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fbye&state=z", sim.base_url())).send().await.unwrap();
    assert_eq!(
        logout.headers()["location"],
        "http://127.0.0.1:9/bye?state=z"
    );
    let logout = client().get(format!("{}/oauth2/default/v1/logout?id_token_hint={id_token}&post_logout_redirect_uri=http%3A%2F%2Fevil.example%2F", sim.base_url())).send().await.unwrap();
    assert_eq!(logout.status(), 400);
}

#[tokio::test]
async fn a_large_generated_org_serves_pages() {
    let mut org = Org::new(7, 1_700_000_000_000);
    seed::generate(
        &mut org,
        "users=20000,groups=500,memberships=100000".parse().unwrap(),
        1_700_000_000_000,
    )
    .unwrap();
    let admin: SeedFile = serde_json::from_value(json!({
        "users": [{ "login": "root@example.com", "roles": [{ "type": "SUPER_ADMIN" }] }],
        "tokens": [{ "token": SUPER, "user": "root@example.com" }]
    }))
    .unwrap();
    admin.apply(&mut org, 1_700_000_000_000).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = start(
        Sim::new(org, Limits::default(), Faults::default(), None),
        listener,
    )
    .unwrap();

    let (sizes, groups) = walk(&sim, SUPER, "/api/v1/groups?limit=200&expand=stats").await;
    assert_eq!(sizes.len(), 3);
    let total: u64 = groups
        .iter()
        .skip(1)
        .map(|g| g["_embedded"]["stats"]["usersCount"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 100_000, "memberships add up");
    let gid = groups[1]["id"].as_str().unwrap();
    let (sizes, members) = walk(&sim, SUPER, &format!("/api/v1/groups/{gid}/users?limit=50")).await;
    assert_eq!(members.len(), 200);
    assert_eq!(sizes, [50, 50, 50, 50]);
    let mut ids: Vec<_> = members.iter().map(|m| m["id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 200, "no duplicates across pages");
}

/// What discord/access's sync (through Okta's Python SDK) reads after the users: each user's
/// type, the type's `_links.schema`, and the schema's base properties.
#[tokio::test]
async fn user_types_lead_to_the_user_schema_as_in_okta() {
    let sim = sim().await;
    let ada = body(get(&sim, SUPER, "/api/v1/users/ada@example.com").await).await;
    let type_id = ada["type"]["id"].as_str().unwrap().to_owned();
    let (_, users) = walk(&sim, SUPER, "/api/v1/users?search=id%20pr").await;
    assert!(users.len() > 3);
    assert!(users.iter().all(|u| u["type"]["id"] == type_id.as_str()));

    let res = get(&sim, SUPER, "/api/v1/meta/types/user").await;
    assert_eq!(res.status(), 200);
    let types = body(res).await;
    assert_eq!(types.as_array().unwrap().len(), 1, "{types}");
    let t = &types[0];
    assert_eq!(t["id"], type_id.as_str());
    assert_eq!(t["name"], "user");
    assert_eq!(t["displayName"], "User");
    assert_eq!(t["default"], true);
    for key in [
        "description",
        "createdBy",
        "lastUpdatedBy",
        "created",
        "lastUpdated",
    ] {
        assert!(t[key].is_string(), "{key}: {t}");
    }
    assert_eq!(
        t["_links"]["self"]["href"],
        format!("{}/api/v1/meta/types/user/{type_id}", sim.base_url())
    );
    for path in [
        format!("/api/v1/meta/types/user/{type_id}"),
        "/api/v1/meta/types/user/default".to_owned(),
    ] {
        let res = get(&sim, READ_ONLY, &path).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(&body(res).await, t, "{path}");
    }

    // The schema, by the link the type gives.
    let href = t["_links"]["schema"]["href"].as_str().unwrap();
    let schema_id = href
        .strip_prefix(&format!("{}/api/v1/meta/schemas/user/", sim.base_url()))
        .expect("an absolute link to the schema");
    let res = client()
        .get(href)
        .header("Authorization", format!("SSWS {READ_ONLY}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let schema = body(res).await;
    assert_eq!(
        schema["id"],
        format!("{}/meta/schemas/user/{schema_id}", sim.base_url())
    );
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-04/schema#");
    assert_eq!(schema["name"], "user");
    assert_eq!(schema["type"], "object");
    assert_eq!(
        schema["properties"]["profile"]["allOf"],
        json!([{ "$ref": "#/definitions/base" }, { "$ref": "#/definitions/custom" }])
    );
    let base = &schema["definitions"]["base"];
    assert_eq!(base["id"], "#base");
    assert_eq!(
        base["required"],
        json!(["login", "firstName", "lastName", "email"])
    );
    let props = base["properties"].as_object().unwrap();
    for (name, title) in [
        ("login", "Username"),
        ("firstName", "First name"),
        ("lastName", "Last name"),
        ("email", "Primary email"),
        ("title", "Title"),
        ("department", "Department"),
        ("secondEmail", "Secondary email"),
        ("mobilePhone", "Mobile phone"),
    ] {
        assert_eq!(props[name]["title"], title, "{name}");
        assert_eq!(props[name]["type"], "string", "{name}");
    }
    assert_eq!(props["login"]["unique"], "UNIQUE_VALIDATED");
    assert_eq!(props["login"]["required"], true);
    assert_eq!(props["email"]["format"], "email");
    assert_eq!(schema["definitions"]["custom"]["properties"], json!({}));
    // Every property a user carries is described by the schema.
    for key in ada["profile"].as_object().unwrap().keys() {
        assert!(
            props.contains_key(key),
            "profile.{key} is not in the schema"
        );
    }

    let res = get(&sim, SUPER, "/api/v1/meta/schemas/user/default").await;
    assert_eq!(res.status(), 200);
    let default = body(res).await;
    assert_eq!(
        default["id"],
        format!("{}/meta/schemas/user/default", sim.base_url())
    );
    assert_eq!(default["definitions"], schema["definitions"]);

    for path in [
        "/api/v1/meta/types/user/otyNOSUCHTYPE0000000",
        "/api/v1/meta/schemas/user/oscNOSUCHSCHEMA00000",
    ] {
        assert_okta_error(get(&sim, SUPER, path).await, 404, "E0000007").await;
    }
    assert_okta_error(
        get(&sim, "bad-token", "/api/v1/meta/types/user").await,
        401,
        "E0000011",
    )
    .await;
}

async fn owners_of(sim: &RunningSim, gid: &str, query: &str) -> reqwest::Response {
    get(
        sim,
        READ_ONLY,
        &format!("/api/v1/groups/{gid}/owners{query}"),
    )
    .await
}

#[tokio::test]
async fn group_owners_are_users_or_groups_paged_and_searchable() {
    let mut seed = seed_json(0);
    seed["groups"][0]["owners"] = json!([
        { "type": "USER", "id": "bob@example.com", "lastUpdated": "2023-03-29T18:30:58.000Z" },
        { "type": "GROUP", "id": "ops" },
        { "type": "USER", "id": "cy@example.com" }
    ]);
    let sim = sim_with(seed, Limits::default()).await;
    let eng = id_of(&sim, "group", "eng").await;
    let ops = id_of(&sim, "group", "ops").await;
    let bob = id_of(&sim, "user", "bob@example.com").await;
    let cy = id_of(&sim, "user", "cy@example.com").await;

    let res = owners_of(&sim, &eng, "").await;
    assert_eq!(res.status(), 200);
    let owners = body(res).await;
    assert_eq!(
        owners[0],
        json!({
            "id": bob, "type": "USER", "resolved": true, "originId": null,
            "originType": "OKTA_DIRECTORY", "displayName": "Bob Builder",
            "lastUpdated": "2023-03-29T18:30:58.000Z"
        })
    );
    assert_eq!(owners[1]["id"], ops.as_str());
    assert_eq!(owners[1]["type"], "GROUP");
    assert_eq!(owners[1]["displayName"], "ops");
    assert_eq!(owners[2]["id"], cy.as_str());
    assert_eq!(owners.as_array().unwrap().len(), 3);

    let (sizes, paged) = walk(
        &sim,
        READ_ONLY,
        &format!("/api/v1/groups/{eng}/owners?limit=2"),
    )
    .await;
    assert_eq!(sizes, [2, 1]);
    assert_eq!(&Value::Array(paged), &owners);

    let res = owners_of(&sim, &eng, "?search=type%20eq%20%22USER%22").await;
    let users: Vec<Value> = res.json().await.unwrap();
    assert_eq!(
        users.iter().map(|o| o["id"].clone()).collect::<Vec<_>>(),
        [json!(bob), json!(cy)]
    );

    // A group without owners has an empty list; an unknown group is Okta's 404.
    assert_eq!(body(owners_of(&sim, &ops, "").await).await, json!([]));
    assert_okta_error(
        owners_of(&sim, "00gNOSUCHGROUP000000", "").await,
        404,
        "E0000007",
    )
    .await;
    assert_okta_error(
        owners_of(&sim, &eng, "?after=00uNOPE").await,
        400,
        "E0000001",
    )
    .await;
    assert_okta_error(
        owners_of(&sim, &eng, "?search=name%20eq%20%22x%22").await,
        400,
        "E0000031",
    )
    .await;
}

/// Okta's scopes for these reads: `okta.userTypes.read`, `okta.schemas.read` and, for group
/// owners, `okta.groups.read` (the security section of each operation in Okta's spec).
#[tokio::test]
async fn user_types_schemas_and_owners_need_their_scopes() {
    let (sim, key) = service_app_sim_with(&[
        "okta.users.read",
        "okta.groups.read",
        "okta.userTypes.read",
        "okta.schemas.read",
    ])
    .await;
    let eng = id_of(&sim, "group", "eng").await;
    let paths = [
        "/api/v1/meta/types/user".to_owned(),
        "/api/v1/meta/types/user/default".to_owned(),
        "/api/v1/meta/schemas/user/default".to_owned(),
        format!("/api/v1/groups/{eng}/owners"),
    ];
    let mut jti = 0;
    let mut check = async |scope: &str, allowed: [bool; 4]| {
        jti += 1;
        let res = token_request(
            &sim,
            &assertion(&key, claims(&sim, &format!("s{jti}"))),
            scope,
        )
        .await;
        assert_eq!(res.status(), 200);
        let access = body(res).await["access_token"].as_str().unwrap().to_owned();
        for (path, allowed) in paths.iter().zip(allowed) {
            let res = client()
                .get(format!("{}{path}", sim.base_url()))
                .bearer_auth(&access)
                .send()
                .await
                .unwrap();
            if allowed {
                assert_eq!(res.status(), 200, "{scope}: {path}");
            } else {
                assert!(res.headers()["www-authenticate"]
                    .to_str()
                    .unwrap()
                    .contains("insufficient_scope"));
                assert_okta_error(res, 403, "E0000006").await;
            }
        }
    };
    check(
        "okta.users.read okta.groups.read",
        [false, false, false, true],
    )
    .await;
    check("okta.userTypes.read", [true, true, false, false]).await;
    check("okta.schemas.read", [false, false, true, false]).await;
}

/// Okta documents that listing users leaves DEPROVISIONED users out unless there is a search
/// or filter, and documents no such rule for a group's members: deactivation keeps the
/// memberships (activating a DEPROVISIONED user "performs group reconciliation"), so they are
/// listed with their status, as the simulator does.
#[tokio::test]
async fn deprovisioned_members_are_still_listed_as_group_members() {
    let mut seed = seed_json(0);
    seed["groups"][1]["members"] = json!(["gone@example.com", "cy@example.com"]);
    let sim = sim_with(seed, Limits::default()).await;
    let ops = id_of(&sim, "group", "ops").await;
    let gone = body(get(&sim, SUPER, "/api/v1/users/gone@example.com").await).await;
    let gone = gone["id"].as_str().unwrap().to_owned();
    let cy = id_of(&sim, "user", "cy@example.com").await;

    let mut members = member_ids(&sim, &ops).await;
    members.sort();
    let mut want = vec![gone.clone(), cy.clone()];
    want.sort();
    assert_eq!(members, want);
    let (_, listed) = walk(&sim, SUPER, "/api/v1/users").await;
    assert!(!listed.iter().any(|u| u["id"] == gone.as_str()));

    // A member deprovisioned later stays a member too, now showing the new status.
    let res = client()
        .put(format!("{}/__sim/users/{cy}/status", sim.base_url()))
        .json(&json!({ "status": "DEPROVISIONED" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = get(&sim, SUPER, &format!("/api/v1/groups/{ops}/users")).await;
    let statuses: Vec<Value> = body(res)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["status"].clone())
        .collect();
    assert_eq!(statuses, [json!("DEPROVISIONED"), json!("DEPROVISIONED")]);
}
