//! Webhook deliveries over real HTTP: queued in the transaction of their event, signed so that
//! the Standard Webhooks reference library (`standardwebhooks`, run as a receiver) accepts them
//! — and refuses a wrong secret and a stale timestamp —, retried with backoff (honouring
//! `Retry-After`) with the same `webhook-id`, failed after their tries and retried by an admin;
//! endpoints refuse what they must and never show a secret. Email to the people an event
//! concerns goes through a real SMTP server (`aiosmtpd`).

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};

use app::error::AppError;
use app::model::{AuditAction, DeliveryPage};
use app::ssr::auth::Admin;
use app::ssr::clock::Clock;
use app::ssr::core::Core;
use app::ssr::jobs::notifier::{deliver_once, NotifierReport, MAX_ATTEMPTS};
use app::ssr::services::notifications::{new_secret, WebhookInput};
use app::ssr::testing::test_person as me;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::{Duration, OffsetDateTime};

use crate::common::engines;
use crate::grant_engine::{world, World};

/// The venv's Python with `standardwebhooks` (`GATEPASS_TEST_PYTHON`); `None` skips the test
/// unless `GATEPASS_TEST_REQUIRE_PYTHON=1`.
pub(crate) fn python() -> Option<String> {
    match std::env::var("GATEPASS_TEST_PYTHON") {
        Ok(p) => Some(p),
        Err(_) if std::env::var("GATEPASS_TEST_REQUIRE_PYTHON").as_deref() == Ok("1") => {
            panic!("GATEPASS_TEST_REQUIRE_PYTHON=1 but GATEPASS_TEST_PYTHON is not set")
        }
        Err(_) => {
            eprintln!("skipped: GATEPASS_TEST_PYTHON is not set");
            None
        }
    }
}

/// A Python peer from `server/tests/peers/`: it prints `listening <port>`, then one JSON line
/// per thing it received (`webhook_receiver.py` verifies each delivery with the Standard
/// Webhooks reference library; `smtp_sink.py` is an SMTP server).
struct Peer {
    child: Child,
    port: u16,
    lines: mpsc::Receiver<serde_json::Value>,
}

impl Peer {
    fn start(python: &str, script: &str, args: &[&str]) -> Peer {
        let script = format!("{}/tests/peers/{script}", env!("CARGO_MANIFEST_DIR"));
        let mut child = Command::new(python)
            .arg(script)
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the webhook receiver");
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        let port = first
            .trim()
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("receiver said {first:?}"));
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                let _ = tx.send(serde_json::from_str(&line).unwrap());
            }
        });
        Peer { child, port, lines }
    }

    /// The next line (waits up to 30 s: the peer answers within milliseconds).
    fn next(&self) -> serde_json::Value {
        self.lines
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("a line from the peer")
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The world's core, letting webhooks use `refs` (`env:` references), with its clock at the
/// real time (receivers check a delivery's timestamp against theirs).
pub(crate) fn core_with(w: &World, refs: &[&str]) -> Core {
    w.clock.advance(OffsetDateTime::now_utc() - w.clock.now());
    w.state
        .clone()
        .with_webhook_secret_refs(refs.iter().map(|r| r.parse().unwrap()).collect())
}

/// A mail catcher (`smtp_sink.py`), and the world's core sending email to it (links under
/// `https://gatepass.example.com`) with email turned on.
async fn with_email(w: &World, python: &str) -> (Peer, Core) {
    let sink = Peer::start(python, "smtp_sink.py", &[]);
    let settings = app::ssr::mail::EmailSettings::parse(
        "127.0.0.1",
        sink.port,
        "none",
        "Gatepass <gatepass@example.com>",
        "",
        "",
        "https://gatepass.example.com",
    )
    .unwrap();
    let core = core_with(w, &[]).with_email(Some(settings));
    app::ssr::db::notifications::set_channel_enabled(&core.db, "email", true)
        .await
        .unwrap();
    (sink, core)
}

pub(crate) fn admin() -> Admin {
    Admin::for_tests(me("root"))
}

async fn add(core: &Core, name: &str, url: &str, secret_ref: &str, events: &[&str]) -> i64 {
    core.notifications()
        .add_webhook(
            &admin(),
            WebhookInput {
                name: name.into(),
                url: url.into(),
                secret_ref: secret_ref.into(),
                events: events.iter().map(|e| e.to_string()).collect(),
            },
        )
        .await
        .unwrap()
        .id
}

async fn log(core: &Core, state: &str) -> DeliveryPage {
    core.notifications()
        .deliveries(&admin(), state, 0)
        .await
        .unwrap()
}

/// Passes of the notifier until one claims nothing.
pub(crate) async fn drain(core: &Core) -> NotifierReport {
    let mut total = NotifierReport::default();
    loop {
        let r = deliver_once(core).await.unwrap();
        if r == NotifierReport::default() {
            return total;
        }
        total.delivered += r.delivered;
        total.retried += r.retried;
        total.failed += r.failed;
        total.lost += r.lost;
        total.skipped += r.skipped;
    }
}

#[tokio::test]
async fn webhooks_are_queued_with_their_event_and_accepted_by_the_reference_verifier() {
    let Some(python) = python() else { return };
    for engine in engines() {
        let w = world(engine, "engine-token").await;
        let (secret, other) = (new_secret(), new_secret());
        let tag = format!("{engine:?}").to_uppercase();
        let (good_var, wrong_var) = (
            format!("GATEPASS_TEST_WEBHOOK_GOOD_{tag}"),
            format!("GATEPASS_TEST_WEBHOOK_WRONG_{tag}"),
        );
        std::env::set_var(&good_var, &secret);
        std::env::set_var(&wrong_var, &other);
        let (good_ref, wrong_ref) = (format!("env:{good_var}"), format!("env:{wrong_var}"));
        let core = core_with(&w, &[&good_ref, &wrong_ref]);
        let receiver = Peer::start(&python, "webhook_receiver.py", &[&secret]);
        let url = format!("http://127.0.0.1:{}/hook", receiver.port);
        let good = add(&core, "siem", &url, &good_ref, &["request.created"]).await;
        add(
            &core,
            "wrong-secret",
            &url,
            &wrong_ref,
            &["request.created"],
        )
        .await;

        w.approved_grant("1h", None).await;
        // Queued by the commits that recorded the request (one per endpoint): nothing sent yet.
        let queued = log(&core, "pending").await.deliveries;
        assert_eq!(queued.len(), 2, "{queued:?}");
        assert!(queued.iter().all(|d| d.event == "request.created"));
        let seq = queued[0].event_seq;

        let report = drain(&core).await;
        assert_eq!((report.delivered, report.retried), (1, 1), "{report:?}");
        let mut verdicts = [receiver.next(), receiver.next()];
        verdicts.sort_by_key(|v| v["ok"].as_bool());
        let (refused, accepted) = (&verdicts[0], &verdicts[1]);
        assert_eq!(accepted["ok"], true, "{accepted}");
        assert_eq!(accepted["id"], format!("evt_{seq}"));
        assert_eq!(accepted["payload"]["type"], "request.created");
        assert_eq!(accepted["payload"]["version"], 1);
        assert_eq!(accepted["payload"]["data"]["event_seq"], seq);
        assert_eq!(
            accepted["payload"]["data"]["subject"]
                .as_str()
                .unwrap()
                .split(':')
                .next(),
            Some("request")
        );
        assert_eq!(refused["ok"], false, "the other secret: {refused}");
        let retried = log(&core, "pending").await.deliveries;
        assert_eq!(retried.len(), 1);
        assert!(
            retried[0]
                .last_error
                .as_deref()
                .unwrap()
                .contains("HTTP 401"),
            "{retried:?}"
        );
        assert!(
            !format!("{retried:?}").contains(&other),
            "no secret in the log"
        );

        // A delivery signed ten minutes ago is stale to the receiver (and refused).
        w.clock.advance(Duration::minutes(-10));
        let err = core
            .notifications()
            .test_webhook(&admin(), good)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, AppError::Conflict(m) if m.contains("HTTP 401")),
            "{err:?}"
        );
        let stale = receiver.next();
        assert_eq!(stale["ok"], false);
        assert!(
            stale["error"].as_str().unwrap().contains("too old"),
            "{stale}"
        );
        w.clock.advance(Duration::minutes(10));
        let ok = core
            .notifications()
            .test_webhook(&admin(), good)
            .await
            .unwrap();
        assert!(ok.contains("HTTP 204"), "{ok}");
        assert_eq!(receiver.next()["type"], "webhook.test");
    }
}

/// What a stand-in endpoint received: each request's headers and body.
type Seen = Arc<Mutex<Vec<(axum::http::HeaderMap, Vec<u8>)>>>;

/// A stand-in endpoint that answers with the given statuses in turn (then 204) and records
/// each request's headers and body.
async fn scripted_endpoint(answers: Vec<(u16, Option<&'static str>)>) -> (String, Seen) {
    use axum::response::IntoResponse;
    let seen: Seen = Arc::default();
    let answers = Arc::new(Mutex::new(std::collections::VecDeque::from(answers)));
    let recorded = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let (seen, answers) = (recorded.clone(), answers.clone());
                async move {
                    seen.lock().unwrap().push((headers, body.to_vec()));
                    let (status, retry_after) =
                        answers.lock().unwrap().pop_front().unwrap_or((204, None));
                    let status = axum::http::StatusCode::from_u16(status).unwrap();
                    match retry_after {
                        Some(after) => (status, [("retry-after", after)], "busy").into_response(),
                        None => (status, "scripted").into_response(),
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

/// `v1,<base64 HMAC-SHA256("{id}.{timestamp}.{body}")>` with the key in `secret`, worked out
/// here independently of Gatepass's code.
fn expected_signature(secret: &str, headers: &axum::http::HeaderMap, body: &[u8]) -> String {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    let header = |n: &str| headers[n].to_str().unwrap().to_owned();
    mac.update(format!("{}.{}.", header("webhook-id"), header("webhook-timestamp")).as_bytes());
    mac.update(body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

#[tokio::test]
async fn a_failing_endpoint_is_retried_with_backoff_then_failed_and_retried_by_an_admin() {
    let w = world(engines()[0], "engine-token").await;
    let secret = new_secret();
    std::env::set_var("GATEPASS_TEST_WEBHOOK_RETRIED", &secret);
    let core = core_with(&w, &["env:GATEPASS_TEST_WEBHOOK_RETRIED"]);
    let (url, seen) = scripted_endpoint(vec![(500, None), (429, Some("120"))]).await;
    add(
        &core,
        "flaky",
        &url,
        "env:GATEPASS_TEST_WEBHOOK_RETRIED",
        &["request.created"],
    )
    .await;
    w.approved_grant("1h", None).await;

    assert_eq!(drain(&core).await.retried, 1, "500: retried");
    let d = log(&core, "pending").await.deliveries[0].clone();
    assert!(
        d.last_error.as_deref().unwrap().contains("HTTP 500"),
        "{d:?}"
    );
    assert_eq!(d.attempts, 1);
    assert_eq!(drain(&core).await, NotifierReport::default(), "not due yet");
    w.clock.advance(Duration::seconds(2));
    assert_eq!(drain(&core).await.retried, 1, "429: retried");
    let d = log(&core, "pending").await.deliveries[0].clone();
    let wait = d.next_attempt_at - core.clock.timestamp();
    assert!(wait >= 120_000, "Retry-After: 120 is honoured ({wait} ms)");
    w.clock.advance(Duration::seconds(60));
    assert_eq!(
        drain(&core).await,
        NotifierReport::default(),
        "not before Retry-After"
    );
    w.clock.advance(Duration::seconds(61));
    assert_eq!(drain(&core).await.delivered, 1);

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    let ids: Vec<_> = seen.iter().map(|(h, _)| h["webhook-id"].clone()).collect();
    assert!(
        ids.iter().all(|i| *i == ids[0]),
        "one webhook-id on every try: {ids:?}"
    );
    for (headers, body) in &seen {
        assert_eq!(
            headers["webhook-signature"].to_str().unwrap(),
            expected_signature(&secret, headers, body)
        );
        assert_eq!(headers["content-type"], "application/json");
    }
    let body: serde_json::Value = serde_json::from_slice(&seen[2].1).unwrap();
    assert_eq!(body["type"], "request.created");

    // An endpoint nobody answers: failed after its tries, shown to admins, retried by one.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hook", l.local_addr().unwrap())
    };
    let gone = add(
        &core,
        "gone",
        &closed,
        "env:GATEPASS_TEST_WEBHOOK_RETRIED",
        &["request.created", "request.created.extension"],
    )
    .await;
    w.approved_grant("2h", None).await;
    for _ in 0..MAX_ATTEMPTS {
        w.clock.advance(Duration::hours(2));
        drain(&core).await;
    }
    let failed = log(&core, "failed").await.deliveries;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].attempts, MAX_ATTEMPTS);
    assert!(failed[0]
        .last_error
        .as_deref()
        .unwrap()
        .contains("could not connect"));
    assert_eq!(
        core.drift()
            .alerts(&admin())
            .await
            .unwrap()
            .notifications_failed,
        1
    );
    let metrics = app::ssr::services::metrics::render(&core).await.unwrap();
    assert!(
        metrics.contains("gatepass_notifications{channel=\"webhook\",state=\"failed\"} 1"),
        "{metrics}"
    );

    let err = core
        .notifications()
        .retry(&admin(), d.id)
        .await
        .unwrap_err();
    assert!(
        matches!(err, AppError::Conflict(_)),
        "a delivered one: {err:?}"
    );
    core.notifications()
        .retry(&admin(), failed[0].id)
        .await
        .unwrap();
    assert_eq!(
        core.drift()
            .alerts(&admin())
            .await
            .unwrap()
            .notifications_failed,
        0
    );
    let again = log(&core, "pending").await.deliveries[0].clone();
    assert_eq!((again.id, again.attempts), (failed[0].id, 0));
    let audit = app::ssr::db::audit::list_audit_events(&core.db, None, 1)
        .await
        .unwrap();
    assert_eq!(audit[0].action, AuditAction::DeliveryRetried.as_str());

    // Deleting the endpoint fails what it had not received; that cannot be retried.
    core.notifications()
        .delete_webhook(&admin(), gone)
        .await
        .unwrap();
    let failed = log(&core, "failed").await.deliveries;
    assert_eq!(
        failed[0].last_error.as_deref(),
        Some("the endpoint was deleted")
    );
    assert!(core
        .notifications()
        .retry(&admin(), failed[0].id)
        .await
        .is_err());
}

#[tokio::test]
async fn webhook_endpoints_refuse_bad_urls_secrets_and_events_and_never_show_a_secret() {
    let w = world(engines()[0], "engine-token").await;
    let secret = new_secret();
    std::env::set_var("GATEPASS_TEST_WEBHOOK_SHOWN", &secret);
    std::env::set_var(
        "GATEPASS_TEST_WEBHOOK_NOT_A_SECRET",
        "00okta-looking-api-token",
    );
    let core = core_with(
        &w,
        &[
            "env:GATEPASS_TEST_WEBHOOK_SHOWN",
            "env:GATEPASS_TEST_WEBHOOK_NOT_A_SECRET",
        ],
    );
    let input = |url: &str, secret_ref: &str, events: &str| WebhookInput {
        name: "siem".into(),
        url: url.into(),
        secret_ref: secret_ref.into(),
        events: vec![events.into()],
    };
    let ok_ref = "env:GATEPASS_TEST_WEBHOOK_SHOWN";
    for (bad, field, says) in [
        (
            input("http://10.0.0.1/hook", ok_ref, "*"),
            "URL",
            "https://",
        ),
        (
            input("https://u:p@hooks.example.com/", ok_ref, "*"),
            "URL",
            "user name",
        ),
        (input("file:///etc/passwd", ok_ref, "*"), "URL", "https://"),
        (
            input("https://hooks.example.com/", "env:PATH", "*"),
            "Secret reference",
            "configuration",
        ),
        (
            input(
                "https://hooks.example.com/",
                "env:GATEPASS_TEST_WEBHOOK_NOT_A_SECRET",
                "*",
            ),
            "Secret reference",
            "whsec_",
        ),
        (
            input("https://hooks.example.com/", ok_ref, "request.exploded"),
            "Events",
            "request.exploded",
        ),
        (
            input("https://hooks.example.com/", ok_ref, ""),
            "Events",
            "at least one",
        ),
    ] {
        let err = core
            .notifications()
            .add_webhook(&admin(), bad)
            .await
            .unwrap_err();
        match &err {
            AppError::Invalid { field: f, message } => {
                assert_eq!(f, field, "{message}");
                assert!(message.contains(says), "{message}");
                assert!(!message.contains("00okta-looking-api-token"));
                assert!(!message.contains(std::env::var("PATH").unwrap().as_str()));
            }
            other => panic!("{other:?}"),
        }
    }
    let overview = core.notifications().overview(&admin()).await.unwrap();
    assert!(overview.endpoints.is_empty(), "nothing saved");
    let audit = app::ssr::db::audit::list_audit_events(&core.db, None, 50)
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .all(|e| !e.action.starts_with("notifications.")),
        "nothing audited"
    );

    let id = add(
        &core,
        "siem",
        "https://hooks.example.com/gatepass",
        ok_ref,
        &["*"],
    )
    .await;
    let err = core
        .notifications()
        .add_webhook(&admin(), input("https://other.example.com/", ok_ref, "*"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AppError::Invalid { field, .. } if field == "Name"),
        "{err:?}"
    );
    let shown =
        serde_json::to_string(&core.notifications().overview(&admin()).await.unwrap()).unwrap();
    assert!(
        shown.contains(ok_ref) && !shown.contains(&secret),
        "{shown}"
    );
    let audit = app::ssr::db::audit::list_audit_events(&core.db, None, 1)
        .await
        .unwrap();
    assert_eq!(audit[0].action, AuditAction::WebhookAdded.as_str());
    assert_eq!(audit[0].subject, format!("webhook:{id}"));
    assert!(!audit[0].details.contains(&secret));
}

#[tokio::test]
async fn people_get_email_about_their_requests_and_grants_through_a_real_smtp_server() {
    use app::ssr::db::notifications::set_channel_enabled;
    let Some(python) = python() else { return };
    for engine in engines() {
        let w = world(engine, "engine-token").await;
        let (sink, core) = with_email(&w, &python).await;

        w.approved_grant("1h", None).await;
        let queued = log(&core, "pending").await.deliveries;
        assert_eq!(queued.len(), 3, "{queued:?}");
        assert!(queued.iter().all(|d| d.channel == "email"));
        assert_eq!(drain(&core).await.delivered, 3);
        let mut mails: Vec<serde_json::Value> = (0..3).map(|_| sink.next()).collect();
        mails.sort_by_key(|m| m["subject"].as_str().unwrap().to_owned());
        let [ask, approved, started] = &mails[..] else {
            unreachable!()
        };

        // The approver hears of the request, with a link to decide.
        assert_eq!(
            ask["rcpt_tos"],
            serde_json::json!(["approver@example.com"]),
            "{ask}"
        );
        assert!(
            ask["subject"]
                .as_str()
                .unwrap()
                .starts_with("Ada asks for aws-prod"),
            "{ask}"
        );
        assert_eq!(ask["from"], "Gatepass <gatepass@example.com>");
        assert_eq!(ask["content_type"], "multipart/alternative");
        assert!(ask["text"]
            .as_str()
            .unwrap()
            .contains("https://gatepass.example.com/approvals"));
        assert!(ask["html"]
            .as_str()
            .unwrap()
            .contains("<a href=\"https://gatepass.example.com/approvals\">Approve or deny</a>"));
        let created = queued
            .iter()
            .find(|d| d.event == "request.created")
            .unwrap();
        assert_eq!(
            ask["message_id"],
            format!("<evt-{}-approver@gatepass>", created.event_seq)
        );

        // The requester hears of the decision and of the membership.
        for m in [approved, started] {
            assert_eq!(m["rcpt_tos"], serde_json::json!(["ada@example.com"]), "{m}");
            assert!(m["text"]
                .as_str()
                .unwrap()
                .contains("https://gatepass.example.com/access"));
        }
        assert!(
            approved["subject"]
                .as_str()
                .unwrap()
                .starts_with("Approved: aws-prod"),
            "{approved}"
        );
        assert!(
            started["subject"]
                .as_str()
                .unwrap()
                .starts_with("You are in aws-prod until"),
            "{started}"
        );
        assert_eq!(log(&core, "delivered").await.deliveries.len(), 3);

        // Email turned off in the configuration: events queue no email.
        set_channel_enabled(&core.db, "email", false).await.unwrap();
        let g = w.grant_of_ada().await;
        core.access()
            .give_back(
                &app::ssr::auth::Requester::for_tests(app::model::Me {
                    okta_id: app::model::UserId::from(w.ada.clone()),
                    ..me("ada")
                }),
                g,
            )
            .await
            .unwrap();
        assert!(log(&core, "pending").await.deliveries.is_empty());
    }
}

#[tokio::test]
async fn a_test_email_says_what_the_smtp_server_did() {
    use app::ssr::mail::EmailSettings;
    let w = world(engines()[0], "engine-token").await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let settings = EmailSettings::parse(
        "127.0.0.1",
        closed,
        "none",
        "gatepass@example.com",
        "",
        "",
        "https://gatepass.example.com",
    )
    .unwrap();
    let core = core_with(&w, &[]).with_email(Some(settings));
    // Root is not in this world's directory: there is no address to send to.
    let err = core.notifications().test_email(&admin()).await.unwrap_err();
    assert!(
        matches!(&err, AppError::Conflict(m) if m.contains("no email address")),
        "{err:?}"
    );
    let ada = Admin::for_tests(app::model::Me {
        okta_id: app::model::UserId::from(w.ada.clone()),
        ..me("ada")
    });
    let err = core.notifications().test_email(&ada).await.unwrap_err();
    assert!(
        matches!(&err, AppError::Conflict(m) if m.contains("Not sent")),
        "{err:?}"
    );
    let off = core_with(&w, &[]).with_email(None);
    let err = off.notifications().test_email(&ada).await.unwrap_err();
    assert!(
        matches!(&err, AppError::Conflict(m) if m.contains("not configured")),
        "{err:?}"
    );
}

#[tokio::test]
async fn holders_are_reminded_once_per_lead_before_their_grant_ends_with_an_extend_link() {
    let Some(python) = python() else { return };
    for engine in engines() {
        let w = world(engine, "engine-token").await;
        let (sink, core) = with_email(&w, &python).await;
        let core = core.with_reminder_leads(vec!["15m".parse().unwrap(), "1d".parse().unwrap()]);
        let remind = || async { core.notifications().remind_expiring().await.unwrap() };

        // A one-hour grant: the day-ahead reminder does not fit it, the 15-minute one does.
        let g = w.approved_grant("1h", None).await;
        assert_eq!(drain(&core).await.delivered, 3, "the approval's messages");
        for _ in 0..3 {
            sink.next();
        }
        assert_eq!(remind().await, 0, "an hour left");
        w.clock.advance(Duration::minutes(44));
        assert_eq!(remind().await, 0, "16 minutes left");
        w.clock.advance(Duration::minutes(2));
        assert_eq!(remind().await, 1, "14 minutes left");
        assert_eq!(remind().await, 0, "once");
        assert_eq!(drain(&core).await.delivered, 1);
        let mail = sink.next();
        assert_eq!(
            mail["rcpt_tos"],
            serde_json::json!(["ada@example.com"]),
            "{mail}"
        );
        assert!(
            mail["subject"]
                .as_str()
                .unwrap()
                .starts_with("Your access to aws-prod ends in"),
            "{mail}"
        );
        let extend = format!("Extend: https://gatepass.example.com/request/{}", w.group);
        assert!(mail["text"].as_str().unwrap().contains(&extend), "{mail}");

        // An extension moves the end: the reminder comes again before the new end.
        let extended = w.approved_grant("1h", None).await;
        assert_eq!(extended.id, g.id);
        assert!(extended.ends_at > g.ends_at);
        assert_eq!(remind().await, 0);
        w.clock.advance(Duration::minutes(60));
        assert_eq!(remind().await, 1, "before the new end");
        let filter = app::model::AuditFilter {
            action: "grant.expiring_soon".into(),
            ..Default::default()
        };
        let events = app::ssr::db::audit::search_audit_events(&core.db, &filter, None, 10)
            .await
            .unwrap();
        assert_eq!(events.len(), 2);
        assert!(events
            .iter()
            .all(|e| e.subject == format!("grant:{}", g.id.0)
                && e.details.contains("\"lead_secs\":900")));
    }
}

#[tokio::test]
async fn the_demo_inbox_takes_gatepass_email_and_webhooks() {
    use app::ssr::db::notifications::set_channel_enabled;
    use app::ssr::mail::EmailSettings;
    let w = world(engines()[0], "engine-token").await;
    let smtp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let smtp_port = smtp.local_addr().unwrap().port();
    tokio::spawn(okta_sim::inbox::serve_smtp(
        w.sim.sim.clone(),
        smtp,
        std::time::Duration::ZERO,
    ));
    let settings = EmailSettings::parse(
        "127.0.0.1",
        smtp_port,
        "none",
        "Gatepass demo <gatepass@northwind.example>",
        "",
        "",
        "http://127.0.0.1:3000",
    )
    .unwrap();
    std::env::set_var("GATEPASS_TEST_WEBHOOK_INBOX", new_secret());
    let core = core_with(&w, &["env:GATEPASS_TEST_WEBHOOK_INBOX"]).with_email(Some(settings));
    set_channel_enabled(&core.db, "email", true).await.unwrap();
    let inbox = format!("{}/__inbox/webhooks", w.sim.base_url());
    add(
        &core,
        "inbox",
        &inbox,
        "env:GATEPASS_TEST_WEBHOOK_INBOX",
        &["*"],
    )
    .await;

    w.approved_grant("1h", None).await;
    let report = drain(&core).await;
    assert_eq!(report.failed + report.retried, 0, "{report:?}");
    let mails = w.sim.sim.inbox.mails();
    assert_eq!(mails.len(), 3, "{mails:?}");
    let ask = mails
        .iter()
        .find(|m| m.rcpt_to == ["approver@example.com"])
        .unwrap();
    assert!(ask.subject.starts_with("Ada asks for aws-prod"), "{ask:?}");
    assert!(ask.message_id.starts_with("<evt-"), "{ask:?}");
    assert!(ask.raw.contains("multipart/alternative"));
    let hooks = w.sim.sim.inbox.hooks();
    let events: Vec<&str> = hooks.iter().map(|h| h.event.as_str()).collect();
    assert!(
        events.contains(&"request.created") && events.contains(&"grant.started"),
        "{events:?}"
    );
    assert!(hooks
        .iter()
        .all(|h| h.signature.starts_with("v1,") && h.id.starts_with("evt_")));

    let page = reqwest::get(format!("{}/__inbox", w.sim.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Ada asks for aws-prod"), "{page}");
    assert!(page.contains("request.created"));
}

#[tokio::test]
async fn people_choose_which_email_they_get() {
    let Some(python) = python() else { return };
    for engine in engines() {
        let w = world(engine, "engine-token").await;
        let (sink, core) = with_email(&w, &python).await;
        let ada = app::ssr::auth::Requester::for_tests(app::model::Me {
            okta_id: app::model::UserId::from(w.ada.clone()),
            ..me("ada")
        });
        let service = core.notifications();
        let mine = service.mine(&ada).await.unwrap();
        assert!(mine.email_configured);
        assert_eq!(mine.address, "ada@example.com");
        assert!(mine.kinds.iter().all(|k| k.on), "everything on by default");

        let err = service
            .save_mine(&ada, &[], &["spam".to_owned()])
            .await
            .unwrap_err();
        assert!(matches!(&err, AppError::Invalid { message, .. } if message.contains("spam")));
        // Ada turns off decisions on her requests (and keeps the rest).
        let keep: Vec<String> = ["to_decide", "access", "reminders"]
            .iter()
            .map(|k| k.to_string())
            .collect();
        let slack: Vec<String> = vec!["to_decide".into()];
        let saved = service.save_mine(&ada, &keep, &slack).await.unwrap();
        let off: Vec<&str> = saved
            .kinds
            .iter()
            .filter(|k| !k.on)
            .map(|k| k.kind.as_str())
            .collect();
        assert_eq!(off, ["decisions"]);
        let slack_on: Vec<&str> = saved
            .kinds
            .iter()
            .filter(|k| k.slack)
            .map(|k| k.kind.as_str())
            .collect();
        assert_eq!(slack_on, ["to_decide"], "Slack is chosen apart from email");
        let audit = app::ssr::db::audit::list_audit_events(&core.db, None, 1)
            .await
            .unwrap();
        assert_eq!(audit[0].action, AuditAction::PreferencesSaved.as_str());

        w.approved_grant("1h", None).await;
        let queued = log(&core, "pending").await.deliveries;
        let events: Vec<&str> = queued.iter().map(|d| d.event.as_str()).collect();
        assert_eq!(queued.len(), 2, "{events:?}");
        assert!(!events.contains(&"request.approved"), "{events:?}");
        assert!(events.contains(&"request.created") && events.contains(&"grant.started"));
        drain(&core).await;
        sink.next();
        sink.next();
    }
}

#[tokio::test]
async fn approvers_are_reminded_and_then_admins_told_of_a_request_that_waits() {
    let Some(python) = python() else { return };
    for engine in engines() {
        let w = world(engine, "engine-token").await;
        let (sink, core) = with_email(&w, &python).await;
        let mut core = core
            .with_pending_reminder(Some("4h".parse().unwrap()))
            .with_pending_escalation(Some("1d".parse().unwrap()));
        core.auth.bootstrap_admins = vec!["viewer-admin@example.com".into()];
        app::ssr::db::directory::upsert_user(
            &core.db,
            &app::ssr::db::directory::UserRecord {
                okta_id: app::model::UserId::from("admin1"),
                login: "viewer-admin@example.com".into(),
                email: "admin@example.com".into(),
                display_name: "Admin".into(),
                status: "ACTIVE".into(),
                profile: Default::default(),
            },
            app::ssr::testing::ms(1),
        )
        .await
        .unwrap();
        core.notifications().refresh_admins().await.unwrap();
        let remind = || async { core.notifications().remind_pending().await.unwrap() };
        core.access()
            .request_access(
                &app::ssr::auth::Requester::for_tests(app::model::Me {
                    okta_id: app::model::UserId::from(w.ada.clone()),
                    ..me("ada")
                }),
                app::ssr::services::access::RequestInput {
                    group_id: app::model::GroupId::from(w.group.clone()),
                    duration: Some("1h".parse().unwrap()),
                    reason: "deploy".into(),
                    starts_at: None,
                    ticket: String::new(),
                },
            )
            .await
            .unwrap();
        assert_eq!(drain(&core).await.delivered, 1, "the request itself");
        sink.next();
        w.clock.advance(Duration::minutes(239));
        assert_eq!(remind().await, 0, "not yet");
        w.clock.advance(Duration::minutes(2));
        assert_eq!(remind().await, 1);
        assert_eq!(remind().await, 0, "once");
        assert_eq!(drain(&core).await.delivered, 1);
        let mail = sink.next();
        assert_eq!(
            mail["rcpt_tos"],
            serde_json::json!(["approver@example.com"]),
            "{mail}"
        );
        assert!(
            mail["subject"]
                .as_str()
                .unwrap()
                .starts_with("Still waiting: Ada asks for aws-prod"),
            "{mail}"
        );
        assert!(mail["text"].as_str().unwrap().contains("Reason: deploy"));

        // A day without a decision: the admins are told, once.
        w.clock.advance(Duration::hours(19));
        assert_eq!(remind().await, 0, "23 hours");
        w.clock.advance(Duration::hours(1));
        assert_eq!(remind().await, 1, "a day");
        assert_eq!(remind().await, 0, "once");
        assert_eq!(drain(&core).await.delivered, 1);
        let escalated = sink.next();
        assert_eq!(
            escalated["rcpt_tos"],
            serde_json::json!(["admin@example.com"]),
            "{escalated}"
        );
        assert!(
            escalated["subject"]
                .as_str()
                .unwrap()
                .starts_with("Nobody has decided: Ada asks for aws-prod"),
            "{escalated}"
        );
        let off = core_with(&w, &[])
            .with_pending_reminder(None)
            .with_pending_escalation(None);
        w.clock.advance(Duration::hours(5));
        assert_eq!(off.notifications().remind_pending().await.unwrap(), 0);
    }
}

#[tokio::test]
async fn admins_are_alerted_by_email_when_okta_refuses_an_add_or_keeps_failing_a_removal() {
    use app::ssr::jobs::grant_engine::{schedule_once, work_once};
    let Some(python) = python() else { return };
    for token in ["engine-read-only", "engine-token"] {
        let w = world(engines()[0], token).await;
        let (sink, core) = with_email(&w, &python).await;
        let mut core = core;
        // The approver is also an admin here (a bootstrap admin, by login).
        core.auth.bootstrap_admins = vec!["approver@example.com".into()];
        assert!(core.notifications().refresh_admins().await.unwrap());
        assert!(
            !core.notifications().refresh_admins().await.unwrap(),
            "unchanged"
        );
        let okta = {
            let settings = core.integration().current().await.unwrap().unwrap();
            core.okta_client(&settings).await.unwrap()
        };
        w.approved_grant("1h", None).await;
        drain(&core).await;
        let mut subjects = Vec::new();
        while let Ok(m) = sink
            .lines
            .recv_timeout(std::time::Duration::from_millis(500))
        {
            subjects.push(m);
        }
        if token == "engine-read-only" {
            // 403 is final for an add: the grant fails; its holder and the admins hear of it.
            assert_eq!(work_once(&core, okta.as_ref()).await.unwrap().dead, 1);
            drain(&core).await;
            let mails: Vec<serde_json::Value> = (0..2).map(|_| sink.next()).collect();
            let to_admin = mails
                .iter()
                .find(|m| m["rcpt_tos"] == serde_json::json!(["approver@example.com"]))
                .expect("the admin's email");
            assert!(
                to_admin["subject"]
                    .as_str()
                    .unwrap()
                    .starts_with("Okta refused to add Ada to aws-prod"),
                "{to_admin}"
            );
            assert!(to_admin["text"].as_str().unwrap().contains("/admin/access"));
            let to_ada = mails
                .iter()
                .find(|m| m["rcpt_tos"] == serde_json::json!(["ada@example.com"]))
                .expect("the holder's email");
            assert!(to_ada["subject"]
                .as_str()
                .unwrap()
                .starts_with("Gatepass could not add you"));
        } else {
            assert_eq!(work_once(&core, okta.as_ref()).await.unwrap().done, 1);
            w.clock.advance(Duration::hours(1));
            assert_eq!(schedule_once(&core).await.unwrap(), 1);
            drain(&core).await;
            while sink
                .lines
                .recv_timeout(std::time::Duration::from_millis(500))
                .is_ok()
            {}
            w.sim.sim.faults.write().unwrap().error_rate = 1.0;
            for _ in 0..app::ssr::services::drift::REMOVAL_ALARM_ATTEMPTS {
                work_once(&core, okta.as_ref()).await.unwrap();
                w.clock.advance(Duration::hours(1));
            }
            w.sim.sim.faults.write().unwrap().error_rate = 0.0;
            assert_eq!(
                drain(&core).await.delivered,
                1,
                "one alert, to the one admin"
            );
            let alert = sink.next();
            assert_eq!(
                alert["rcpt_tos"],
                serde_json::json!(["approver@example.com"])
            );
            assert!(
                alert["subject"]
                    .as_str()
                    .unwrap()
                    .starts_with("Removing Ada from aws-prod keeps failing in Okta"),
                "{alert}"
            );
        }
    }
}

#[tokio::test]
async fn with_a_quorum_each_approval_tells_the_other_approvers() {
    use app::model::{GroupId, PolicyTarget, UserId};
    use app::ssr::auth::Requester;
    use app::ssr::services::access::{DecisionInput, PolicyInput};
    let Some(python) = python() else { return };
    for engine in engines() {
        let w = world(engine, "engine-token").await;
        let (sink, core) = with_email(&w, &python).await;
        app::ssr::db::directory::upsert_user(
            &core.db,
            &app::ssr::db::directory::UserRecord {
                okta_id: UserId::from("approver2"),
                login: "approver2@example.com".into(),
                email: "approver2@example.com".into(),
                display_name: "Second".into(),
                status: "ACTIVE".into(),
                profile: Default::default(),
            },
            app::ssr::testing::ms(1),
        )
        .await
        .unwrap();
        let access = core.access();
        access
            .save_policy(
                &admin(),
                PolicyInput {
                    target: Some(PolicyTarget::Group(GroupId::from(w.group.clone()))),
                    requestable: true,
                    approver_users: vec!["approver".into(), "approver2".into()],
                    quorum: 2,
                    default_duration: "1h".parse().unwrap(),
                    max_duration: "1d".parse().unwrap(),
                    ..PolicyInput::default()
                },
            )
            .await
            .unwrap();
        let r = ada_asks(&core, &w).await;
        assert_eq!(drain(&core).await.delivered, 2, "both approvers asked");
        sink.next();
        sink.next();

        access
            .decide(
                &Requester::for_tests(me("approver")),
                DecisionInput {
                    request_id: r.id,
                    decision: app::model::Decision::Approve,
                    comment: String::new(),
                    duration: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(drain(&core).await.delivered, 1, "only the other approver");
        let told = sink.next();
        assert_eq!(
            told["rcpt_tos"],
            serde_json::json!(["approver2@example.com"])
        );
        assert_eq!(
            told["subject"],
            "approver@example.com approved Ada's request for aws-prod (1 of 2)"
        );

        // The second approval completes the quorum: no "2 of 2" to anyone, the requester hears.
        access
            .decide(
                &Requester::for_tests(me("approver2")),
                DecisionInput {
                    request_id: r.id,
                    decision: app::model::Decision::Approve,
                    comment: String::new(),
                    duration: None,
                },
            )
            .await
            .unwrap();
        let queued = log(&core, "pending").await.deliveries;
        let events: Vec<&str> = queued.iter().map(|d| d.event.as_str()).collect();
        assert!(!events.contains(&"request.approval_recorded"), "{events:?}");
        assert!(events.contains(&"request.approved"), "{events:?}");
        drain(&core).await;
    }
}

#[tokio::test]
async fn approvers_are_not_asked_about_a_request_their_policy_auto_approved() {
    use app::model::{GroupId, PolicyTarget};
    use app::ssr::services::access::PolicyInput;
    let Some(python) = python() else { return };
    for engine in engines() {
        let w = world(engine, "engine-token").await;
        let (_sink, core) = with_email(&w, &python).await;
        let access = core.access();
        access
            .save_policy(
                &admin(),
                PolicyInput {
                    target: Some(PolicyTarget::Group(GroupId::from(w.group.clone()))),
                    requestable: true,
                    auto_approve: true,
                    // Named, but the policy decides: nobody has anything to decide.
                    approver_users: vec!["approver".into()],
                    quorum: 1,
                    default_duration: "1h".parse().unwrap(),
                    max_duration: "1d".parse().unwrap(),
                    ..PolicyInput::default()
                },
            )
            .await
            .unwrap();
        ada_asks(&core, &w).await;
        let queued = log(&core, "pending").await.deliveries;
        let events: Vec<&str> = queued.iter().map(|d| d.event.as_str()).collect();
        assert!(!events.contains(&"request.created"), "{events:?}");
        assert!(
            events.contains(&"request.approved"),
            "the requester hears of the approval: {events:?}"
        );
        drain(&core).await;
    }
}

/// Ada asks for the world's group for an hour.
async fn ada_asks(core: &Core, w: &crate::grant_engine::World) -> app::model::AccessRequest {
    use app::model::{GroupId, UserId};
    use app::ssr::auth::Requester;
    use app::ssr::services::access::RequestInput;
    let ada = Requester::for_tests(app::model::Me {
        okta_id: UserId::from(w.ada.clone()),
        ..me("ada")
    });
    core.access()
        .request_access(
            &ada,
            RequestInput {
                group_id: GroupId::from(w.group.clone()),
                duration: Some("1h".parse().unwrap()),
                reason: String::new(),
                starts_at: None,
                ticket: String::new(),
            },
        )
        .await
        .unwrap()
}
