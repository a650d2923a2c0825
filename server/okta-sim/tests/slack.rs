//! The Slack stand-in over HTTP: the Web API's answers and errors as Slack gives them, faults
//! and rate limits, interactions signed and posted to a receiver on loopback that checks the
//! signature itself, modals kept open by the app's errors, and the `/__slack` page.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use okta_sim::edge::{Faults, Limits};
use okta_sim::seed::SeedFile;
use okta_sim::slack::{SlackFault, DEFAULT_BOT_TOKEN, DEFAULT_SIGNING_SECRET};
use okta_sim::store::Org;
use okta_sim::{start, RunningSim, Sim};
use serde_json::{json, Value};
use sha2::Sha256;

const TOKEN: &str = DEFAULT_BOT_TOKEN;

async fn sim() -> RunningSim {
    let seed: SeedFile = serde_json::from_value(json!({
        "users": [
            { "login": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace" },
            { "login": "bob@example.com", "firstName": "Bob", "lastName": "Babbage" },
            // Same email as Ada's: one Slack user.
            { "login": "ada.admin@example.com", "email": "ADA@example.com", "firstName": "Ada", "lastName": "Admin" },
            { "login": "gone@example.com", "firstName": "Gone", "lastName": "Away", "status": "DEPROVISIONED" }
        ]
    }))
    .unwrap();
    let mut org = Org::new(7, 1_700_000_000_000);
    seed.apply(&mut org, 1_700_000_000_000).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start(
        Sim::new(org, Limits::default(), Faults::default(), None),
        listener,
    )
    .unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A Web API call with a JSON body: (status, headers, body).
async fn api(
    sim: &RunningSim,
    method: &str,
    token: Option<&str>,
    args: Value,
) -> (StatusCode, HeaderMap, Value) {
    let mut req = client()
        .post(format!("{}/slack/api/{method}", sim.base_url()))
        .json(&args);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    (status, headers, resp.json().await.unwrap())
}

async fn ok(sim: &RunningSim, method: &str, args: Value) -> Value {
    let (status, _, body) = api(sim, method, Some(TOKEN), args).await;
    assert_eq!(status, StatusCode::OK, "{method}: {body}");
    assert_eq!(body["ok"], true, "{method}: {body}");
    body
}

async fn slack_error(sim: &RunningSim, method: &str, args: Value) -> String {
    let (status, _, body) = api(sim, method, Some(TOKEN), args).await;
    assert_eq!(status, StatusCode::OK, "{method}: {body}");
    assert_eq!(body["ok"], false, "{method}: {body}");
    body["error"].as_str().unwrap().to_owned()
}

fn decision_blocks(request: &str) -> Value {
    json!([
        { "type": "header", "text": { "type": "plain_text", "text": "Access request" } },
        { "type": "section", "text": { "type": "mrkdwn", "text": "*Ada Lovelace* asks for _aws-prod_ <http://127.0.0.1:3000/requests/1|open>" },
          "fields": [{ "type": "mrkdwn", "text": "*For*\n4h" }] },
        { "type": "actions", "block_id": "decide", "elements": [
            { "type": "button", "action_id": "approve", "style": "primary", "value": request,
              "text": { "type": "plain_text", "text": "Approve" } },
            { "type": "button", "action_id": "deny", "style": "danger", "value": request,
              "text": { "type": "plain_text", "text": "Deny" } },
            { "type": "button", "action_id": "open", "url": "http://127.0.0.1:3000/requests/1",
              "text": { "type": "plain_text", "text": "Open in Gatepass" } }
        ] }
    ])
}

/// Opens the DM with `email` and posts the decision message there: (user, channel, ts).
async fn post_decision(sim: &RunningSim, email: &str) -> (String, String, String) {
    let user = ok(sim, "users.lookupByEmail", json!({ "email": email })).await["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let channel = ok(sim, "conversations.open", json!({ "users": user })).await["channel"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let posted = ok(
        sim,
        "chat.postMessage",
        json!({ "channel": channel, "text": "Ada asks for aws-prod", "blocks": decision_blocks("req-1") }),
    )
    .await;
    (user, channel, posted["ts"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn authentication_and_unknown_methods_answer_as_slack() {
    let sim = sim().await;
    let (status, _, body) = api(&sim, "auth.test", None, json!({})).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({ "ok": false, "error": "not_authed" })
        )
    );
    let (status, _, body) = api(&sim, "auth.test", Some("xoxb-wrong"), json!({})).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({ "ok": false, "error": "invalid_auth" })
        )
    );
    let (status, _, body) = api(&sim, "chat.deleteEverything", Some(TOKEN), json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "unknown_method");

    let me = ok(&sim, "auth.test", json!({})).await;
    for field in ["url", "team", "user", "team_id", "user_id", "bot_id"] {
        assert!(
            me[field].as_str().is_some_and(|s| !s.is_empty()),
            "{field}: {me}"
        );
    }
    // A token as a form field, and GET with a query, as Slack also accepts.
    let form: Value = client()
        .post(format!("{}/slack/api/auth.test", sim.base_url()))
        .form(&[("token", TOKEN)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(form["ok"], true, "{form}");
    let get: Value = client()
        .get(format!(
            "{}/slack/api/users.lookupByEmail?email=bob%40example.com",
            sim.base_url()
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(get["user"]["profile"]["email"], "bob@example.com", "{get}");
    // A changed token is the only one accepted.
    sim.sim
        .slack
        .update_config(|c| c.bot_token = "xoxb-rotated".into());
    assert_eq!(
        slack_error(&sim, "auth.test", json!({})).await,
        "invalid_auth"
    );
    assert_eq!(sim.sim.slack.calls("auth.test"), 5);
}

#[tokio::test]
async fn users_are_the_orgs_by_email() {
    let sim = sim().await;
    let ada = ok(
        &sim,
        "users.lookupByEmail",
        json!({ "email": "Ada@Example.COM" }),
    )
    .await;
    let user = &ada["user"];
    assert_eq!(user["id"], okta_sim::slack::user_id_for("ada@example.com"));
    assert_eq!(user["team_id"], okta_sim::slack::TEAM_ID);
    assert_eq!(user["deleted"], false);
    assert_eq!(user["is_bot"], false);
    assert_eq!(user["real_name"], "Ada Lovelace");
    assert_eq!(user["profile"]["email"], "ada@example.com");
    assert_eq!(user["profile"]["display_name"], "Ada Lovelace");
    assert_eq!(
        sim.sim
            .slack
            .user_id_for_email("ADA@example.com")
            .as_deref(),
        user["id"].as_str()
    );
    // Two Okta users with one email are one Slack user.
    let ids: Vec<String> = sim.sim.slack.users().into_iter().map(|u| u.id).collect();
    assert_eq!(ids.len(), 2, "{ids:?}");

    assert_eq!(
        slack_error(
            &sim,
            "users.lookupByEmail",
            json!({ "email": "gone@example.com" })
        )
        .await,
        "users_not_found"
    );
    assert_eq!(
        slack_error(
            &sim,
            "users.lookupByEmail",
            json!({ "email": "nobody@example.com" })
        )
        .await,
        "users_not_found"
    );
    let (_, _, missing) = api(&sim, "users.lookupByEmail", Some(TOKEN), json!({})).await;
    assert_eq!(missing["error"], "invalid_arguments");
    assert!(missing["response_metadata"]["messages"][0]
        .as_str()
        .unwrap()
        .contains("email"));

    // Slack-only users, through the control API.
    let added: Value = client()
        .post(format!("{}/__slack/users", sim.base_url()))
        .json(&json!({ "email": "Carol@Partner.example", "name": "Carol Shaw" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        added["id"],
        okta_sim::slack::user_id_for("carol@partner.example")
    );
    let carol = ok(
        &sim,
        "users.lookupByEmail",
        json!({ "email": "carol@partner.example" }),
    )
    .await;
    assert_eq!(carol["user"]["real_name"], "Carol Shaw");
}

#[tokio::test]
async fn messages_are_posted_updated_and_checked() {
    let sim = sim().await;
    let ada = sim.sim.slack.user_id_for_email("ada@example.com").unwrap();
    let first = ok(&sim, "conversations.open", json!({ "users": ada })).await;
    let dm = first["channel"]["id"].as_str().unwrap().to_owned();
    assert!(dm.starts_with('D'));
    let again = ok(&sim, "conversations.open", json!({ "users": ada })).await;
    assert_eq!(again["channel"]["id"], dm.as_str(), "one DM per user");
    assert_eq!(
        slack_error(&sim, "conversations.open", json!({ "users": "U0NOBODY00" })).await,
        "user_not_found"
    );

    let posted = ok(
        &sim,
        "chat.postMessage",
        json!({ "channel": dm, "text": "Ada asks", "blocks": decision_blocks("r1") }),
    )
    .await;
    assert_eq!(posted["channel"], dm.as_str());
    let ts = posted["ts"].as_str().unwrap().to_owned();
    let (secs, micros) = ts.split_once('.').unwrap();
    assert!(secs.parse::<u64>().is_ok() && micros.len() == 6, "{ts}");
    assert_eq!(posted["message"]["type"], "message");
    assert_eq!(posted["message"]["text"], "Ada asks");
    assert_eq!(posted["message"]["ts"], ts.as_str());
    assert_eq!(posted["message"]["bot_id"], okta_sim::slack::BOT_ID);
    assert_eq!(
        posted["message"]["blocks"][2]["elements"][0]["action_id"],
        "approve"
    );
    // Blocks without ids get some, as Slack gives them.
    assert!(posted["message"]["blocks"][0]["block_id"].is_string());

    // Timestamps are unique and increase.
    let mut last = ts.clone();
    for i in 0..30 {
        let p = ok(
            &sim,
            "chat.postMessage",
            json!({ "channel": dm, "text": format!("n{i}") }),
        )
        .await;
        let now = p["ts"].as_str().unwrap().to_owned();
        let as_num = |s: &str| {
            let (a, b) = s.split_once('.').unwrap();
            (a.parse::<u64>().unwrap(), b.parse::<u64>().unwrap())
        };
        assert!(as_num(&now) > as_num(&last), "{now} after {last}");
        last = now;
    }

    // A form body with blocks as a JSON string; a public channel; a user id as the channel.
    let form: Value = client()
        .post(format!("{}/slack/api/chat.postMessage", sim.base_url()))
        .bearer_auth(TOKEN)
        .form(&[
            ("channel", "C0ACCESS"),
            ("text", "in public"),
            (
                "blocks",
                r#"[{"type":"section","text":{"type":"mrkdwn","text":"hi"}}]"#,
            ),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(form["ok"], true, "{form}");
    assert_eq!(form["channel"], "C0ACCESS");
    let to_user = ok(
        &sim,
        "chat.postMessage",
        json!({ "channel": ada, "text": "by id" }),
    )
    .await;
    assert_eq!(to_user["channel"], dm.as_str());

    for (args, error) in [
        (
            json!({ "channel": "D0UNKNOWN1", "text": "x" }),
            "channel_not_found",
        ),
        (
            json!({ "channel": "G0PRIVATE", "text": "x" }),
            "channel_not_found",
        ),
        (json!({ "text": "x" }), "channel_not_found"),
        (json!({ "channel": dm }), "no_text"),
        (
            json!({ "channel": dm, "text": "x", "blocks": { "type": "divider" } }),
            "invalid_blocks",
        ),
        (
            json!({ "channel": dm, "text": "x", "blocks": [{ "text": "no type" }] }),
            "invalid_blocks",
        ),
        (
            json!({ "channel": dm, "text": "x", "blocks": vec![json!({ "type": "divider" }); 51] }),
            "invalid_blocks",
        ),
        (
            json!({ "channel": dm, "text": "x", "blocks": "[not json" }),
            "invalid_blocks_format",
        ),
    ] {
        assert_eq!(
            slack_error(&sim, "chat.postMessage", args.clone()).await,
            error,
            "{args}"
        );
    }

    // chat.update keeps the count and earlier versions.
    let updated = ok(
        &sim,
        "chat.update",
        json!({ "channel": dm, "ts": ts, "text": "Approved by Bob", "blocks": [
            { "type": "section", "text": { "type": "mrkdwn", "text": "*Approved* by Bob" } }] }),
    )
    .await;
    assert_eq!(updated["channel"], dm.as_str());
    assert_eq!(updated["ts"], ts.as_str());
    assert_eq!(updated["text"], "Approved by Bob");
    let stored = sim
        .sim
        .slack
        .messages()
        .into_iter()
        .find(|m| m.ts == ts)
        .unwrap();
    assert_eq!(stored.updates, 1);
    assert_eq!(stored.recipient.as_deref(), Some(ada.as_str()));
    assert_eq!(stored.previous.len(), 1);
    assert_eq!(stored.previous[0].text, "Ada asks");
    assert_eq!(stored.blocks[0]["text"]["text"], "*Approved* by Bob");
    assert_eq!(
        slack_error(
            &sim,
            "chat.update",
            json!({ "channel": dm, "ts": "1.000001", "text": "x" })
        )
        .await,
        "message_not_found"
    );

    // Ephemeral messages are shown to one person.
    let bob = sim.sim.slack.user_id_for_email("bob@example.com").unwrap();
    let eph = ok(
        &sim,
        "chat.postEphemeral",
        json!({ "channel": dm, "user": ada, "text": "only for Ada" }),
    )
    .await;
    let eph_ts = eph["message_ts"].as_str().unwrap();
    assert!(sim
        .sim
        .slack
        .messages_for(&ada)
        .iter()
        .any(|m| m.ts == eph_ts && m.ephemeral_for.as_deref() == Some(ada.as_str())));
    assert!(!sim
        .sim
        .slack
        .messages_for(&bob)
        .iter()
        .any(|m| m.ts == eph_ts));
    assert_eq!(
        slack_error(
            &sim,
            "chat.postEphemeral",
            json!({ "channel": dm, "user": bob, "text": "x" })
        )
        .await,
        "user_not_in_channel"
    );
    assert_eq!(
        slack_error(
            &sim,
            "chat.postEphemeral",
            json!({ "channel": dm, "user": "U0NOBODY00", "text": "x" })
        )
        .await,
        "user_not_found"
    );
}

#[tokio::test]
async fn faults_answer_429_with_retry_after_then_clear() {
    let sim = sim().await;
    sim.sim.slack.fail_next(
        Some("chat.postMessage".into()),
        2,
        SlackFault::RateLimited {
            retry_after_secs: 7,
        },
    );
    // Other methods are not affected.
    ok(&sim, "auth.test", json!({})).await;
    for _ in 0..2 {
        let (status, headers, body) = api(
            &sim,
            "chat.postMessage",
            Some(TOKEN),
            json!({ "channel": "C1", "text": "x" }),
        )
        .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(headers["retry-after"], "7");
        assert_eq!(body, json!({ "ok": false, "error": "ratelimited" }));
    }
    ok(
        &sim,
        "chat.postMessage",
        json!({ "channel": "C1", "text": "x" }),
    )
    .await;
    assert_eq!(sim.sim.slack.calls("chat.postMessage"), 3);

    // Through the control API: an error for any method, once.
    let resp = client()
        .post(format!("{}/__slack/faults", sim.base_url()))
        .json(&json!({ "method": null, "count": 1, "error": "fatal_error" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        slack_error(&sim, "auth.test", json!({})).await,
        "fatal_error"
    );
    ok(&sim, "auth.test", json!({})).await;
    let resp = client()
        .post(format!("{}/__slack/faults", sim.base_url()))
        .json(&json!({ "method": "auth.test", "count": 1, "retryAfter": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        api(&sim, "auth.test", Some(TOKEN), json!({})).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    let bad = client()
        .post(format!("{}/__slack/faults", sim.base_url()))
        .json(&json!({ "count": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    // Latency, for benchmarks.
    sim.sim.slack.update_config(|c| c.latency_ms = 150);
    let started = std::time::Instant::now();
    ok(&sim, "auth.test", json!({})).await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(150));
}

/// What the app under test (here: a receiver on loopback) got and answers.
#[derive(Default)]
struct Receiver {
    got: Mutex<Vec<(HeaderMap, String, bool)>>,
    answers: Mutex<VecDeque<(u16, String)>>,
}

/// Checks Slack's signature on its own, as an app must: 401 when it does not match.
async fn receive(
    State(r): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let body = String::from_utf8(body.to_vec()).unwrap();
    let ts = headers["x-slack-request-timestamp"]
        .to_str()
        .unwrap()
        .to_owned();
    let sent = headers["x-slack-signature"].to_str().unwrap().to_owned();
    let mut mac = Hmac::<Sha256>::new_from_slice(DEFAULT_SIGNING_SECRET.as_bytes()).unwrap();
    mac.update(format!("v0:{ts}:{body}").as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let age = (time::OffsetDateTime::now_utc().unix_timestamp() - ts.parse::<i64>().unwrap()).abs();
    let valid = sent == format!("v0={expected}") && age < 300;
    r.got.lock().unwrap().push((headers, body, valid));
    if !valid {
        return (StatusCode::UNAUTHORIZED, "bad signature".into());
    }
    let (status, answer) = r
        .answers
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or((200, String::new()));
    (StatusCode::from_u16(status).unwrap(), answer)
}

async fn receiver(sim: &RunningSim) -> Arc<Receiver> {
    let r = Arc::new(Receiver::default());
    let app = Router::new()
        .route("/slack/interactions", post(receive))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/slack/interactions",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    sim.sim.slack.update_config(|c| c.interactions_url = url);
    r
}

fn payload(body: &str) -> Value {
    let (_, json) = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "payload")
        .unwrap();
    serde_json::from_str(&json).unwrap()
}

#[tokio::test]
async fn a_click_posts_a_signed_block_actions_payload() {
    let sim = sim().await;
    let app = receiver(&sim).await;
    let (ada, dm, ts) = post_decision(&sim, "ada@example.com").await;

    let clicked = sim
        .sim
        .slack
        .click(&ada, &dm, &ts, "approve")
        .await
        .unwrap();
    assert_eq!(clicked.status, Some(200), "{clicked:?}");
    assert_eq!(clicked.kind, "block_actions");
    let got = app.got.lock().unwrap().pop().unwrap();
    let (headers, body, valid) = got;
    assert!(valid, "the signature checks out independently");
    assert_eq!(headers["content-type"], "application/x-www-form-urlencoded");
    assert_eq!(body, clicked.body);
    assert_eq!(
        headers["x-slack-signature"].to_str().unwrap(),
        clicked.headers.signature
    );
    assert_eq!(
        sim.sim
            .slack
            .sign(clicked.headers.timestamp.parse().unwrap(), &body),
        clicked.headers.signature
    );

    let p = payload(&body);
    assert_eq!(p["type"], "block_actions");
    assert_eq!(p["user"]["id"], ada.as_str());
    assert_eq!(p["user"]["username"], "ada");
    assert_eq!(p["user"]["team_id"], okta_sim::slack::TEAM_ID);
    assert_eq!(p["api_app_id"], okta_sim::slack::APP_ID);
    assert!(p["token"].is_string());
    assert_eq!(
        p["container"],
        json!({ "type": "message", "message_ts": ts, "channel_id": dm, "is_ephemeral": false })
    );
    assert_eq!(p["trigger_id"], clicked.trigger_id.as_str());
    assert_eq!(p["team"]["domain"], okta_sim::slack::TEAM_DOMAIN);
    assert_eq!(p["enterprise"], Value::Null);
    assert_eq!(p["is_enterprise_install"], false);
    assert_eq!(p["channel"]["id"], dm.as_str());
    assert_eq!(p["message"]["ts"], ts.as_str());
    assert_eq!(p["message"]["bot_id"], okta_sim::slack::BOT_ID);
    assert_eq!(p["message"]["blocks"][2]["block_id"], "decide");
    assert_eq!(p["state"], json!({ "values": {} }));
    let action = &p["actions"][0];
    assert_eq!(action["action_id"], "approve");
    assert_eq!(action["block_id"], "decide");
    assert_eq!(action["value"], "req-1");
    assert_eq!(action["style"], "primary");
    assert_eq!(action["type"], "button");
    assert_eq!(action["text"]["text"], "Approve");
    assert!(action["action_ts"].as_str().unwrap().contains('.'));

    // The response_url takes the app's follow-up: here it replaces the message.
    let response_url = p["response_url"].as_str().unwrap();
    assert!(response_url.starts_with(&format!("{}/__slack/response/", sim.base_url())));
    let answer: Value = client()
        .post(response_url)
        .json(&json!({ "replace_original": true, "text": "Approved" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer, json!({ "ok": true }));
    let replaced = sim
        .sim
        .slack
        .messages()
        .into_iter()
        .find(|m| m.ts == ts)
        .unwrap();
    assert_eq!((replaced.text.as_str(), replaced.updates), ("Approved", 1));
    assert_eq!(sim.sim.slack.responses()[0].outcome, "replaced");

    // Nobody else sees Ada's DM; no such button; a wrong signature is refused by the app.
    let bob = sim.sim.slack.user_id_for_email("bob@example.com").unwrap();
    assert!(sim
        .sim
        .slack
        .click(&bob, &dm, &ts, "approve")
        .await
        .is_err());
    assert!(sim.sim.slack.click(&ada, &dm, &ts, "nope").await.is_err());
    sim.sim
        .slack
        .update_config(|c| c.signing_secret = "another".into());
    let forged = sim
        .sim
        .slack
        .click(&ada, &dm, &ts, "approve")
        .await
        .unwrap();
    assert_eq!(forged.status, Some(401));
    assert!(!app.got.lock().unwrap().last().unwrap().2);

    // Nothing leaves the machine.
    sim.sim.slack.update_config(|c| {
        c.interactions_url = "https://gatepass.example.com/slack/interactions".into()
    });
    let refused = sim
        .sim
        .slack
        .click(&ada, &dm, &ts, "approve")
        .await
        .unwrap();
    assert_eq!(refused.status, None);
    assert!(refused.error.unwrap().contains("loopback"));
    assert_eq!(sim.sim.slack.interactions().len(), 3);
}

fn deny_view() -> Value {
    json!({
        "type": "modal", "callback_id": "deny", "private_metadata": "req-1",
        "title": { "type": "plain_text", "text": "Deny access" },
        "submit": { "type": "plain_text", "text": "Deny" },
        "blocks": [{ "type": "input", "block_id": "reason", "label": { "type": "plain_text", "text": "Why?" },
                     "element": { "type": "plain_text_input", "action_id": "text", "multiline": true } }]
    })
}

#[tokio::test]
async fn views_open_from_fresh_triggers_and_stay_open_on_errors() {
    let sim = sim().await;
    let app = receiver(&sim).await;
    let (ada, dm, ts) = post_decision(&sim, "ada@example.com").await;

    assert_eq!(
        slack_error(
            &sim,
            "views.open",
            json!({ "trigger_id": "123.456.abc", "view": deny_view() })
        )
        .await,
        "invalid_trigger_id"
    );
    let trigger = sim
        .sim
        .slack
        .click(&ada, &dm, &ts, "deny")
        .await
        .unwrap()
        .trigger_id;
    let mut bad = deny_view();
    bad["type"] = json!("home");
    assert_eq!(
        slack_error(
            &sim,
            "views.open",
            json!({ "trigger_id": trigger, "view": bad })
        )
        .await,
        "invalid_arguments"
    );
    let opened = ok(
        &sim,
        "views.open",
        json!({ "trigger_id": trigger, "view": deny_view() }),
    )
    .await;
    let view = &opened["view"];
    let view_id = view["id"].as_str().unwrap().to_owned();
    assert!(view_id.starts_with('V'));
    assert_eq!(view["type"], "modal");
    assert_eq!(view["callback_id"], "deny");
    assert_eq!(view["private_metadata"], "req-1");
    assert_eq!(view["title"]["text"], "Deny access");
    assert_eq!(view["submit"]["text"], "Deny");
    assert_eq!(view["blocks"][0]["block_id"], "reason");
    assert_eq!(
        slack_error(
            &sim,
            "views.open",
            json!({ "trigger_id": trigger, "view": deny_view() })
        )
        .await,
        "exchanged_trigger_id"
    );
    let open = sim.sim.slack.open_views(&ada);
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].id, view_id);

    // The app answers the first submission with an error: the view stays open with it.
    app.answers.lock().unwrap().push_back((
        200,
        json!({ "response_action": "errors", "errors": { "reason": "Say why, please." } })
            .to_string(),
    ));
    let values = |text: &str| {
        BTreeMap::from([(
            "reason".to_owned(),
            BTreeMap::from([("text".to_owned(), text.to_owned())]),
        )])
    };
    let first = sim
        .sim
        .slack
        .submit_view(&ada, &view_id, values("no"))
        .await
        .unwrap();
    assert_eq!(first.kind, "view_submission");
    assert_eq!(first.view_id.as_deref(), Some(view_id.as_str()));
    let (_, body, valid) = app.got.lock().unwrap().last().cloned().unwrap();
    assert!(valid);
    let p = payload(&body);
    assert_eq!(p["type"], "view_submission");
    assert_eq!(p["user"]["id"], ada.as_str());
    assert_eq!(p["view"]["id"], view_id.as_str());
    assert_eq!(p["view"]["callback_id"], "deny");
    assert_eq!(p["view"]["private_metadata"], "req-1");
    assert_eq!(
        p["view"]["state"]["values"],
        json!({ "reason": { "text": { "type": "plain_text_input", "value": "no" } } })
    );
    assert_eq!(p["response_urls"], json!([]));
    let open = sim.sim.slack.open_views(&ada);
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].errors["reason"], "Say why, please.");

    // An empty required field is not sent, as in Slack's client.
    let before = sim.sim.slack.interactions().len();
    assert!(sim
        .sim
        .slack
        .submit_view(&ada, &view_id, values("  "))
        .await
        .is_err());
    assert_eq!(sim.sim.slack.interactions().len(), before);

    // An empty 200 closes it.
    let second = sim
        .sim
        .slack
        .submit_view(&ada, &view_id, values("Not needed"))
        .await
        .unwrap();
    assert_eq!(second.status, Some(200));
    assert!(sim.sim.slack.open_views(&ada).is_empty());

    // Triggers expire (Slack: 3 s).
    sim.sim.slack.update_config(|c| c.trigger_ttl_secs = 0);
    let stale = sim
        .sim
        .slack
        .click(&ada, &dm, &ts, "deny")
        .await
        .unwrap()
        .trigger_id;
    assert_eq!(
        slack_error(
            &sim,
            "views.open",
            json!({ "trigger_id": stale, "view": deny_view() })
        )
        .await,
        "expired_trigger_id"
    );
    // The user can close a modal.
    sim.sim.slack.update_config(|c| c.trigger_ttl_secs = 3);
    let fresh = sim
        .sim
        .slack
        .click(&ada, &dm, &ts, "deny")
        .await
        .unwrap()
        .trigger_id;
    let v = ok(
        &sim,
        "views.open",
        json!({ "trigger_id": fresh, "view": deny_view().to_string() }),
    )
    .await;
    assert!(sim
        .sim
        .slack
        .close_view(&ada, v["view"]["id"].as_str().unwrap()));
    assert!(sim.sim.slack.open_views(&ada).is_empty());
}

#[tokio::test]
async fn the_page_shows_messages_and_acts_as_the_person() {
    let sim = sim().await;
    let app = receiver(&sim).await;
    let (ada, dm, ts) = post_decision(&sim, "ada@example.com").await;
    let page = |who: &str| {
        let url = format!("{}/__slack?as={who}", sim.base_url());
        async move {
            client()
                .get(url)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let html = page(&ada).await;
    assert!(html.contains("<h3>Access request</h3>"), "{html}");
    assert!(html.contains("<b>Ada Lovelace</b> asks for <i>aws-prod</i>"));
    assert!(html.contains("<a href=\"http://127.0.0.1:3000/requests/1\">open</a>"));
    assert!(html.contains("action=\"/__slack/click\""));
    assert!(html.contains(&format!("name=\"ts\" value=\"{ts}\"")));
    assert!(html.contains("name=\"action_id\" value=\"approve\""));
    assert!(html.contains("class=\"btn danger\">Deny</button>"));
    // A link button is a link, not a form.
    assert!(html.contains(
        "<a class=\"btn\" href=\"http://127.0.0.1:3000/requests/1\">Open in Gatepass</a>"
    ));
    let bob = sim.sim.slack.user_id_for_email("bob@example.com").unwrap();
    assert!(!page(&bob).await.contains("Access request"));

    // The button's form: a 303 back to the page, which shows Gatepass's answer.
    app.answers
        .lock()
        .unwrap()
        .push_back((200, "{\"text\":\"ok, approved\"}".into()));
    let resp = client()
        .post(format!("{}/__slack/click", sim.base_url()))
        .form(&[
            ("as", ada.as_str()),
            ("channel", &dm),
            ("ts", &ts),
            ("action_id", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        resp.headers()["location"],
        format!("/__slack?as={ada}").as_str()
    );
    assert!(app.got.lock().unwrap().last().unwrap().2);
    let html = page(&ada).await;
    assert!(html.contains("Gatepass answered <b>200</b>"), "{html}");
    assert!(html.contains("ok, approved"));

    // JSON clicks answer the Interaction.
    let i: Value = client()
        .post(format!("{}/__slack/click", sim.base_url()))
        .json(&json!({ "as": ada, "channel": dm, "ts": ts, "actionId": "deny" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(i["kind"], "block_actions");
    assert_eq!(i["status"], 200);
    let trigger = i["triggerId"].as_str().unwrap();

    // A modal renders as a form; its errors show by the field.
    app.answers.lock().unwrap().push_back((
        200,
        json!({ "response_action": "errors", "errors": { "reason": "Too short" } }).to_string(),
    ));
    let v = ok(
        &sim,
        "views.open",
        json!({ "trigger_id": trigger, "view": deny_view() }),
    )
    .await;
    let view_id = v["view"]["id"].as_str().unwrap();
    let html = page(&ada).await;
    assert!(html.contains("action=\"/__slack/submit\""));
    assert!(html.contains("<textarea id=\"input0\" name=\"input0\""));
    let resp = client()
        .post(format!("{}/__slack/submit", sim.base_url()))
        .form(&[("as", ada.as_str()), ("view_id", view_id), ("input0", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let html = page(&ada).await;
    assert!(
        html.contains("<div class=\"error\">Too short</div>"),
        "{html}"
    );
    let resp = client()
        .post(format!("{}/__slack/close", sim.base_url()))
        .form(&[("as", ada.as_str()), ("view_id", view_id)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(sim.sim.slack.open_views(&ada).is_empty());

    // The JSON views.
    let messages: Value = client()
        .get(format!("{}/__slack/messages", sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(messages["messages"][0]["ts"], ts.as_str());
    assert_eq!(messages["messages"][0]["recipient"], ada.as_str());
    let interactions: Value = client()
        .get(format!("{}/__slack/interactions", sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(interactions["interactions"].as_array().unwrap().len(), 3);
    let users: Value = client()
        .get(format!("{}/__slack/users", sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(users["users"].as_array().unwrap().len(), 2);
}
