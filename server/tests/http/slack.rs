//! Slack against the Slack stand-in over real HTTP: approvers get a request card with
//! Approve/Deny as a direct message; a click in the stand-in (signed as Slack signs) decides
//! through the same rules as the web page and the card is updated for everyone; Deny asks why in
//! a modal; clicks by someone who may not decide, by the requester, on a decided request, by a
//! Slack user who matches nobody, or on a policy that keeps decisions in Gatepass are refused in
//! Slack and change nothing; what Slack's official SDK signs is accepted, and the same altered,
//! stale, replayed or signed with another secret is refused; Slack's `429` is honoured.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use app::model::{AuditAction, GroupId, Me, PolicyTarget, RequestId, RequestState, UserId};
use app::ssr::auth::{Admin, Requester};
use app::ssr::clock::Clock;
use app::ssr::core::Core;
use app::ssr::db::directory::{upsert_user, UserRecord};
use app::ssr::db::requests;
use app::ssr::services::access::{PolicyInput, RequestInput};
use app::ssr::services::slack::SlackInput;
use app::ssr::slack::SlackApi;
use app::ssr::testing::{ms, test_person as me};
use okta_sim::slack::{SlackFault, SlackMessage};
use serde_json::{json, Value};

use crate::common::engines;
use crate::grant_engine::{world, World};
use crate::notifications::{admin, core_with, drain, python};

const TOKEN_REF: &str = "env:GATEPASS_TEST_SLACK_TOKEN";
const SIGNING_REF: &str = "env:GATEPASS_TEST_SLACK_SIGNING";

/// The world with Slack connected to the stand-in: its interactions come to Gatepass's
/// endpoint (served on its own on a free port), the approver and a bystander are Slack users.
struct SlackWorld {
    w: World,
    core: Core,
    approver: String,
    ada: String,
    bob: String,
    endpoint: String,
}

async fn slack_world(engine: app::model::DatabaseEngine, channel: &str) -> SlackWorld {
    let _ = tracing_subscriber::fmt().with_env_filter("warn").try_init();
    let w = world(engine, "engine-token").await;
    let slack = &w.sim.sim.slack;
    let config = slack.config();
    std::env::set_var("GATEPASS_TEST_SLACK_TOKEN", &config.bot_token);
    std::env::set_var("GATEPASS_TEST_SLACK_SIGNING", &config.signing_secret);
    let api = SlackApi::new(&format!("{}/slack/api/", w.sim.base_url())).unwrap();
    let core =
        core_with(&w, &[TOKEN_REF, SIGNING_REF]).with_slack(api, "https://gatepass.example.com");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!(
        "http://{}/slack/interactions",
        listener.local_addr().unwrap()
    );
    let router: axum::Router = gatepass::slack::router(core.clone(), 1 << 20);
    tokio::spawn(async move { axum::serve(listener, router).await });
    slack.update_config(|c| c.interactions_url = endpoint.clone());
    // Bob is in the directory but approves nothing.
    upsert_user(
        &core.db,
        &UserRecord {
            okta_id: UserId::from("bob"),
            login: "bob@example.com".into(),
            email: "bob@example.com".into(),
            display_name: "Bob".into(),
            status: "ACTIVE".into(),
            profile: Default::default(),
        },
        ms(1),
    )
    .await
    .unwrap();
    let approver = slack.add_user("approver@example.com", "Approver");
    let bob = slack.add_user("bob@example.com", "Bob");
    let ada = slack
        .user_id_for_email("ada@example.com")
        .expect("Ada is in Slack");
    let saved = core
        .slack()
        .save(
            &admin(),
            SlackInput {
                bot_token_ref: TOKEN_REF.into(),
                signing_secret_ref: SIGNING_REF.into(),
                default_channel: channel.into(),
                enabled: true,
            },
        )
        .await
        .unwrap();
    assert!(saved.starts_with("Connected to"), "{saved}");
    SlackWorld {
        w,
        core,
        approver,
        ada,
        bob,
        endpoint,
    }
}

impl SlackWorld {
    fn ada_me(&self) -> Me {
        Me {
            okta_id: UserId::from(self.w.ada.clone()),
            ..me("ada")
        }
    }

    /// Ada asks for the group; returns the request.
    async fn ask(&self) -> RequestId {
        self.core
            .access()
            .request_access(
                &Requester::for_tests(self.ada_me()),
                RequestInput {
                    group_id: GroupId::from(self.w.group.clone()),
                    duration: Some("1h".parse().unwrap()),
                    reason: "deploy the fix <today> & check".into(),
                    starts_at: None,
                    ticket: String::new(),
                },
            )
            .await
            .unwrap()
            .id
    }

    /// Ada asks for another group the policy covers (a second, independent request).
    async fn ask_again(&self) -> RequestId {
        let other = GroupId::from("00gother");
        app::ssr::db::directory::upsert_group(
            &self.core.db,
            &app::ssr::db::directory::GroupRecord {
                okta_id: other.clone(),
                name: "aws-other".into(),
                description: String::new(),
                okta_type: "OKTA_GROUP".into(),
                managed_by_rule: false,
            },
            ms(1),
        )
        .await
        .unwrap();
        self.core
            .access()
            .save_policy(
                &Admin::for_tests(me("root")),
                PolicyInput {
                    target: Some(PolicyTarget::Group(other.clone())),
                    requestable: true,
                    approver_users: vec!["approver".into()],
                    quorum: 1,
                    default_duration: "1h".parse().unwrap(),
                    max_duration: "1d".parse().unwrap(),
                    ..PolicyInput::default()
                },
            )
            .await
            .unwrap();
        self.core
            .access()
            .request_access(
                &Requester::for_tests(self.ada_me()),
                RequestInput {
                    group_id: other,
                    duration: Some("1h".parse().unwrap()),
                    reason: "other".into(),
                    starts_at: None,
                    ticket: String::new(),
                },
            )
            .await
            .unwrap()
            .id
    }

    async fn state_of(&self, id: RequestId) -> RequestState {
        requests::find_request(&self.core.db, id)
            .await
            .unwrap()
            .unwrap()
            .state
    }

    /// The newest message `user` sees with buttons (a request card).
    fn card(&self, user: &str, channel: Option<&str>) -> SlackMessage {
        self.w
            .sim
            .sim
            .slack
            .messages()
            .into_iter()
            .rev()
            .find(|m| {
                m.ephemeral_for.is_none()
                    && match channel {
                        Some(c) => m.channel == c,
                        None => m.recipient.as_deref() == Some(user),
                    }
                    && m.blocks.to_string().contains("gatepass_open")
            })
            .unwrap_or_else(|| panic!("no card for {user}"))
    }

    /// The card as Slack shows it now.
    fn current(&self, card: &SlackMessage) -> SlackMessage {
        self.w
            .sim
            .sim
            .slack
            .messages()
            .into_iter()
            .find(|m| m.ts == card.ts && m.channel == card.channel)
            .unwrap()
    }

    /// The texts of the direct messages `user` got, oldest first.
    fn texts_to(&self, user: &str) -> Vec<String> {
        self.w
            .sim
            .sim
            .slack
            .messages_for(user)
            .into_iter()
            .filter(|m| m.ephemeral_for.is_none())
            .map(|m| m.text)
            .collect()
    }

    /// What Gatepass told `user` for their eyes only, newest last.
    fn told(&self, user: &str) -> Vec<String> {
        self.w
            .sim
            .sim
            .slack
            .messages()
            .into_iter()
            .filter(|m| m.ephemeral_for.as_deref() == Some(user))
            .map(|m| m.text)
            .collect()
    }

    /// Waits for the ephemeral message `user` is told (it is sent after Slack's answer).
    async fn wait_told(&self, user: &str, count: usize) -> String {
        for _ in 0..500 {
            let told = self.told(user);
            if told.len() >= count {
                return told[count - 1].clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("{user} was told nothing in 10 s")
    }

    async fn click(&self, user: &str, card: &SlackMessage, action: &str) -> u16 {
        let i = self
            .w
            .sim
            .sim
            .slack
            .click(user, &card.channel, &card.ts, action)
            .await
            .unwrap();
        i.status
            .unwrap_or_else(|| panic!("no answer: {:?}", i.error))
    }
}

fn action_ids(message: &SlackMessage) -> Vec<String> {
    message
        .blocks
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().unwrap().clone())
        .map(|e| e["action_id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The latest events: (action, actor).
async fn decided_by(core: &Core) -> Vec<(String, String)> {
    app::ssr::db::audit::list_audit_events(&core.db, None, 5)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.actor))
        .collect()
}

#[tokio::test]
async fn approvers_approve_from_slack_and_everyone_sees_the_card_change() {
    for engine in engines() {
        let s = slack_world(engine, "").await;
        let id = s.ask().await;
        let report = drain(&s.core).await;
        assert_eq!(report.failed, 0, "{report:?}");
        let card = s.card(&s.approver, None);
        assert_eq!(
            action_ids(&card),
            ["gatepass_approve", "gatepass_deny", "gatepass_open"]
        );
        let shown = card.blocks.to_string();
        assert!(
            shown.contains("*Ada* asks for membership of *aws-prod*"),
            "{shown}"
        );
        assert!(
            shown.contains("deploy the fix &lt;today&gt; &amp; check"),
            "the reason is shown as written: {shown}"
        );
        assert!(shown.contains("https://gatepass.example.com/approvals"));
        assert!(
            s.w.sim.sim.slack.messages_for(&s.ada).is_empty(),
            "the requester is not asked to decide"
        );

        assert_eq!(s.click(&s.approver, &card, "gatepass_approve").await, 200);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(
            s.state_of(id).await,
            RequestState::Approved,
            "{:?}",
            s.told(&s.approver)
        );
        assert!(
            decided_by(&s.core).await.contains(&(
                AuditAction::RequestApproved.as_str().to_owned(),
                "approver@example.com".to_owned()
            )),
            "decided as the approver, the same as in the web page"
        );
        drain(&s.core).await;
        let updated = s.current(&card);
        assert!(updated.updates >= 1, "chat.update after the decision");
        assert_eq!(
            action_ids(&updated),
            ["gatepass_open"],
            "no buttons any more"
        );
        assert!(updated
            .blocks
            .to_string()
            .contains("*Approved* by Approver"));

        // The grant engine adds the membership; Ada hears of both in Slack.
        assert_eq!(s.w.work().await.done, 1);
        assert!(s.w.member(), "approved in Slack → member in Okta");
        drain(&s.core).await;
        let to_ada = s.texts_to(&s.ada);
        assert!(
            to_ada.iter().any(|t| t.starts_with("Approved: aws-prod"))
                && to_ada.iter().any(|t| t.starts_with("You are in aws-prod")),
            "{to_ada:?}"
        );
        // The approver was looked up once; Ada once, or twice when her first two messages went
        // out at the same moment. After that, what Slack answered is reused.
        let lookups = s.w.sim.sim.slack.calls("users.lookupByEmail");
        assert!((2..=3).contains(&lookups), "{lookups}");
        let opened = s.w.sim.sim.slack.calls("conversations.open");
        s.core
            .access()
            .give_back(&Requester::for_tests(s.ada_me()), s.w.grant_of_ada().await)
            .await
            .unwrap();
        drain(&s.core).await;
        assert!(s
            .texts_to(&s.ada)
            .iter()
            .any(|t| t.starts_with("Your access to aws-prod has ended")));
        assert_eq!(
            s.w.sim.sim.slack.calls("users.lookupByEmail"),
            lookups,
            "cached"
        );
        assert_eq!(
            s.w.sim.sim.slack.calls("conversations.open"),
            opened,
            "the direct message channel is remembered"
        );
    }
}

#[tokio::test]
async fn deny_asks_why_in_a_modal_and_the_comment_reaches_the_card() {
    for engine in engines() {
        let s = slack_world(engine, "").await;
        let id = s.ask().await;
        drain(&s.core).await;
        let card = s.card(&s.approver, None);
        assert_eq!(s.click(&s.approver, &card, "gatepass_deny").await, 200);
        let views = s.w.sim.sim.slack.open_views(&s.approver);
        assert_eq!(views.len(), 1, "Deny opens a modal");
        assert_eq!(views[0].private_metadata, id.0.to_string());
        assert_eq!(
            s.state_of(id).await,
            RequestState::Pending,
            "nothing decided yet"
        );

        let values = |comment: &str| {
            BTreeMap::from([(
                "comment".to_owned(),
                BTreeMap::from([("comment".to_owned(), comment.to_owned())]),
            )])
        };
        // Slack itself refuses to send the form without a comment (the field is required).
        assert!(s
            .w
            .sim
            .sim
            .slack
            .submit_view(&s.approver, &views[0].id, values(""))
            .await
            .is_err());
        // Another request, withdrawn while its form is open: the form says so and stays.
        let other = s.ask_again().await;
        drain(&s.core).await;
        let other_card = s.card(&s.approver, None);
        assert_eq!(
            s.click(&s.approver, &other_card, "gatepass_deny").await,
            200
        );
        let other_view =
            s.w.sim
                .sim
                .slack
                .open_views(&s.approver)
                .into_iter()
                .find(|v| v.private_metadata == other.0.to_string())
                .unwrap();
        s.core
            .access()
            .cancel(&Requester::for_tests(s.ada_me()), other)
            .await
            .unwrap();
        let refused =
            s.w.sim
                .sim
                .slack
                .submit_view(&s.approver, &other_view.id, values("no"))
                .await
                .unwrap();
        let answer: Value = serde_json::from_str(&refused.response_body).unwrap();
        assert_eq!(answer["response_action"], "errors");
        assert_eq!(
            answer["errors"]["comment"],
            "This request was already cancelled by ada@example.com."
        );
        assert_eq!(s.state_of(id).await, RequestState::Pending);
        s.w.sim.sim.slack.close_view(&s.approver, &other_view.id);

        let done =
            s.w.sim
                .sim
                .slack
                .submit_view(&s.approver, &views[0].id, values("not without a ticket"))
                .await
                .unwrap();
        assert_eq!(done.status, Some(200));
        assert_eq!(s.state_of(id).await, RequestState::Denied);
        assert!(
            s.w.sim.sim.slack.open_views(&s.approver).is_empty(),
            "closed"
        );
        drain(&s.core).await;
        let shown = s.current(&card).blocks.to_string();
        assert!(
            shown.contains("*Denied* by Approver") && shown.contains("not without a ticket"),
            "{shown}"
        );
    }
}

#[tokio::test]
async fn slack_clicks_follow_the_web_pages_rules_and_refusals_change_nothing() {
    for engine in engines() {
        // Cards also go to a channel, where anyone can click.
        let s = slack_world(engine, "C0GATEPASS1").await;
        let id = s.ask().await;
        drain(&s.core).await;
        let posted = s.card("", Some("C0GATEPASS1"));
        let audit_before = app::ssr::db::audit::list_audit_events(&s.core.db, None, 1000)
            .await
            .unwrap()
            .len();

        // Bob may not decide.
        assert_eq!(s.click(&s.bob, &posted, "gatepass_approve").await, 200);
        let told = s.wait_told(&s.bob, 1).await;
        assert!(
            told.contains("could not match your Slack account"),
            "{told}"
        );
        // Someone whose Slack email matches nobody in Okta.
        let mallory =
            s.w.sim
                .sim
                .slack
                .add_user("mallory@elsewhere.example", "Mallory");
        assert_eq!(s.click(&mallory, &posted, "gatepass_approve").await, 200);
        assert!(s.wait_told(&mallory, 1).await.contains("could not match"));
        // Ada, the requester.
        assert_eq!(s.click(&s.ada, &posted, "gatepass_approve").await, 200);
        let told = s.wait_told(&s.ada, 1).await;
        assert_eq!(told, "Only this request's approvers can decide it.");
        // Deny by someone who may not: no modal.
        assert_eq!(s.click(&s.bob, &posted, "gatepass_deny").await, 200);
        s.wait_told(&s.bob, 2).await;
        assert!(s.w.sim.sim.slack.open_views(&s.bob).is_empty());

        assert_eq!(
            s.state_of(id).await,
            RequestState::Pending,
            "nothing changed"
        );
        assert_eq!(
            app::ssr::db::audit::list_audit_events(&s.core.db, None, 1000)
                .await
                .unwrap()
                .len(),
            audit_before,
            "no event recorded"
        );

        // The approver decides; a second click (from the channel) is refused as decided.
        assert_eq!(s.click(&s.approver, &posted, "gatepass_approve").await, 200);
        assert_eq!(s.state_of(id).await, RequestState::Approved);
        assert_eq!(s.click(&s.approver, &posted, "gatepass_approve").await, 200);
        assert_eq!(
            s.wait_told(&s.approver, 1).await,
            "This request was already approved by approver@example.com."
        );
        drain(&s.core).await;
        assert_eq!(action_ids(&s.current(&posted)), ["gatepass_open"]);
    }
}

/// A policy under which Ada approves too (but not her own requests), or one that keeps
/// decisions in Gatepass.
async fn replace_policy(s: &SlackWorld, gatepass_only: bool) {
    s.core
        .access()
        .save_policy(
            &Admin::for_tests(me("root")),
            PolicyInput {
                target: Some(PolicyTarget::Group(GroupId::from(s.w.group.clone()))),
                requestable: true,
                approver_users: vec!["approver".into(), UserId::from(s.w.ada.clone())],
                quorum: 1,
                default_duration: "1h".parse().unwrap(),
                max_duration: "1d".parse().unwrap(),
                approve_in_gatepass_only: gatepass_only,
                ..PolicyInput::default()
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn no_self_approval_from_slack_and_no_slack_decisions_where_the_policy_says_so() {
    for engine in engines() {
        let s = slack_world(engine, "C0GATEPASS1").await;
        replace_policy(&s, false).await;
        let id = s.ask().await;
        drain(&s.core).await;
        let posted = s.card("", Some("C0GATEPASS1"));
        assert_eq!(s.click(&s.ada, &posted, "gatepass_approve").await, 200);
        assert_eq!(
            s.wait_told(&s.ada, 1).await,
            "You cannot decide your own request."
        );
        assert_eq!(s.state_of(id).await, RequestState::Pending);
        s.core
            .access()
            .cancel(&Requester::for_tests(s.ada_me()), id)
            .await
            .unwrap();

        // Approve in Gatepass only: no buttons, and a forged click is refused.
        replace_policy(&s, true).await;
        let id = s.ask().await;
        drain(&s.core).await;
        let card = s.card(&s.approver, None);
        assert_eq!(action_ids(&card), ["gatepass_open"]);
        assert!(card.blocks.to_string().contains("decisions in Gatepass"));
        let body = block_action(&s.approver, &card.channel, "gatepass_approve", id.0);
        let now = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
        let signature = s.w.sim.sim.slack.sign(now.parse().unwrap(), &body);
        let res = post(&s.endpoint, &now, &signature, &body).await;
        assert_eq!(res.0, 200);
        assert!(s
            .wait_told(&s.approver, 1)
            .await
            .contains("asks for decisions in Gatepass"));
        assert_eq!(s.state_of(id).await, RequestState::Pending);
    }
}

/// A `block_actions` body as Slack sends it (form-encoded `payload=`).
fn block_action(user: &str, channel: &str, action: &str, request: i64) -> String {
    let payload = json!({
        "type": "block_actions",
        "user": { "id": user },
        "channel": { "id": channel },
        "trigger_id": "1.2.3",
        "actions": [{ "action_id": action, "value": request.to_string(), "type": "button" }],
    });
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish()
}

async fn post(endpoint: &str, timestamp: &str, signature: &str, body: &str) -> (u16, String) {
    let res = reqwest::Client::new()
        .post(endpoint)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", timestamp)
        .header("x-slack-signature", signature)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// What Slack's SDK signs (`slack_sign.py`).
fn sdk_sign(python: &str, secret: &str, timestamp: &str, body: &str) -> String {
    let script = format!("{}/tests/peers/slack_sign.py", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(python)
        .args([&script, secret, timestamp])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[tokio::test]
async fn the_endpoint_takes_what_slacks_sdk_signs_and_nothing_altered_stale_or_replayed() {
    let Some(python) = python() else { return };
    for engine in engines() {
        let s = slack_world(engine, "").await;
        let id = s.ask().await;
        drain(&s.core).await;
        let secret = s.w.sim.sim.slack.config().signing_secret;
        // The server's (manual) clock, not the wall clock: they drift apart while the world is built.
        let now = s.w.clock.now().unix_timestamp();
        let body = block_action(&s.approver, "D1", "gatepass_approve", id.0);
        let ts = now.to_string();

        // Altered after signing, signed with another secret, stale, unsigned: refused unread.
        let signed = sdk_sign(&python, &secret, &ts, &body);
        let altered = body.replace("gatepass_approve", "gatepass_deny");
        assert_eq!(post(&s.endpoint, &ts, &signed, &altered).await.0, 401);
        let other = sdk_sign(&python, "another-secret", &ts, &body);
        assert_eq!(post(&s.endpoint, &ts, &other, &body).await.0, 401);
        let old = (now - 301).to_string();
        let stale = sdk_sign(&python, &secret, &old, &body);
        assert_eq!(
            post(&s.endpoint, &old, &stale, &body).await,
            (401, "stale Slack request".to_owned())
        );
        assert_eq!(post(&s.endpoint, &ts, "", &body).await.0, 401);
        assert_eq!(s.state_of(id).await, RequestState::Pending);

        // As signed: taken, once.
        assert_eq!(post(&s.endpoint, &ts, &signed, &body).await.0, 200);
        assert_eq!(s.state_of(id).await, RequestState::Approved);
        assert_eq!(
            post(&s.endpoint, &ts, &signed, &body).await,
            (401, "replayed Slack request".to_owned())
        );
        assert!(
            s.told(&s.approver).is_empty(),
            "a replay is refused before it is read"
        );
    }
}

#[tokio::test]
async fn slacks_rate_limits_are_honoured_and_the_token_is_never_shown() {
    for engine in engines() {
        let s = slack_world(engine, "").await;
        s.w.sim.sim.slack.fail_next(
            Some("chat.postMessage".into()),
            1,
            SlackFault::RateLimited {
                retry_after_secs: 30,
            },
        );
        s.ask().await;
        let first = drain(&s.core).await;
        assert_eq!(first.retried, 1, "{first:?}");
        let log = s
            .core
            .notifications()
            .deliveries(&admin(), "pending", 0)
            .await
            .unwrap();
        let waiting = &log.deliveries[0];
        assert_eq!(waiting.channel, "slack");
        let error = waiting.last_error.clone().unwrap();
        assert!(
            error.contains("rate-limited chat.postMessage") && error.contains("30 s"),
            "{error}"
        );
        assert!(!error.contains(&s.w.sim.sim.slack.config().bot_token));
        assert!(
            waiting.next_attempt_at.millis_since(waiting.created_at) >= 30_000,
            "Retry-After honoured"
        );
        s.w.clock.advance(time::Duration::seconds(31));
        assert_eq!(drain(&s.core).await.delivered, 1);
        assert_eq!(s.card(&s.approver, None).updates, 0);

        // The settings show references only.
        let shown = s.core.slack().settings(&admin()).await.unwrap();
        assert_eq!(shown.bot_token_ref, TOKEN_REF);
        assert!(!format!("{shown:?}").contains(&s.w.sim.sim.slack.config().bot_token));
        // A reference the configuration does not name is refused.
        let err = s
            .core
            .slack()
            .save(
                &admin(),
                SlackInput {
                    bot_token_ref: "env:HOME".into(),
                    signing_secret_ref: SIGNING_REF.into(),
                    default_channel: String::new(),
                    enabled: true,
                },
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("allowed_secret_refs"), "{err}");
        let err = s
            .core
            .slack()
            .save(
                &admin(),
                SlackInput {
                    bot_token_ref: TOKEN_REF.into(),
                    signing_secret_ref: SIGNING_REF.into(),
                    default_channel: "#general".into(),
                    enabled: true,
                },
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("Default channel"), "{err}");
    }
}

#[tokio::test]
async fn admins_choose_which_notices_go_to_slack() {
    for engine in engines() {
        let s = slack_world(engine, "").await;
        let all: Vec<String> = ["to_decide", "decisions", "access", "reminders"]
            .iter()
            .map(|k| k.to_string())
            .collect();
        let without_decisions: Vec<String> =
            all.iter().filter(|k| *k != "decisions").cloned().collect();
        let err = s
            .core
            .notifications()
            .save_switches(&admin(), &all, &["spam".to_owned()])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("spam"), "{err}");
        let saved = s
            .core
            .notifications()
            .save_switches(&admin(), &all, &without_decisions)
            .await
            .unwrap();
        let off: Vec<&str> = saved
            .switches
            .iter()
            .filter(|k| !k.slack)
            .map(|k| k.kind.as_str())
            .collect();
        assert_eq!(off, ["decisions"]);
        assert!(saved.switches.iter().all(|k| k.on), "email untouched");
        assert!(
            decided_by(&s.core).await.contains(&(
                "notifications.switches_saved".to_owned(),
                "root@example.com".to_owned()
            )),
            "audited"
        );

        let id = s.ask().await;
        drain(&s.core).await;
        let card = s.card(&s.approver, None);
        assert_eq!(s.click(&s.approver, &card, "gatepass_approve").await, 200);
        assert_eq!(s.state_of(id).await, RequestState::Approved);
        assert_eq!(s.w.work().await.done, 1);
        drain(&s.core).await;
        let to_ada = s.texts_to(&s.ada);
        assert!(
            !to_ada.iter().any(|t| t.starts_with("Approved:")),
            "decisions are off in Slack: {to_ada:?}"
        );
        assert!(
            to_ada.iter().any(|t| t.starts_with("You are in aws-prod")),
            "access notices still go: {to_ada:?}"
        );
    }
}

#[tokio::test]
async fn people_slack_does_not_know_are_skipped_not_failed() {
    for engine in engines() {
        let s = slack_world(engine, "").await;
        // The approver's Okta email is one Slack has nobody with.
        upsert_user(
            &s.core.db,
            &UserRecord {
                okta_id: UserId::from("approver"),
                login: "approver@example.com".into(),
                email: "approver@elsewhere.example".into(),
                display_name: "Approver".into(),
                status: "ACTIVE".into(),
                profile: Default::default(),
            },
            ms(2),
        )
        .await
        .unwrap();
        s.ask().await;
        let report = drain(&s.core).await;
        assert_eq!((report.skipped, report.failed), (1, 0), "{report:?}");
        let skipped = s
            .core
            .notifications()
            .deliveries(&admin(), "skipped", 0)
            .await
            .unwrap()
            .deliveries;
        assert_eq!(skipped.len(), 1);
        assert_eq!(
            skipped[0].last_error.as_deref(),
            Some("skipped: Slack has nobody with Approver's email address")
        );
        let overview = s.core.notifications().overview(&admin()).await.unwrap();
        assert_eq!(overview.failed, 0, "nothing for the admins to fix");
    }
}
