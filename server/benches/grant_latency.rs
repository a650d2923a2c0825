//! Grant latency on the real binaries: `gatepass okta-sim` (20 ms added to every Okta call) and
//! `gatepass serve` as child processes on loopback. A requester asks for N groups under an
//! auto-approving policy with one-minute grants; the figures are the server's own, read from
//! `/metrics`: approval → Okta `PUT` done, grant end → Okta `DELETE` done, request created →
//! its webhook delivered to a receiver that takes 20 ms to answer, event → its Slack message
//! posted (the Slack stand-in adds 20 ms to every Web API call; each new request's card goes to
//! a channel, the requester's notices to a direct message) and event → its email accepted by a
//! mail server that takes 20 ms (p50, p99).
//!
//!     cargo build --release -p server && cargo bench -p server --bench grant_latency [-- N]
//!
//! `GRANT_BENCH_CHANNELS` (default `webhook,email,slack`) chooses which notification channels
//! are on, e.g. `slack` alone.

// The durability tests' harness; the benchmark uses part of it.
#[allow(dead_code)]
#[path = "../tests/durability/binary.rs"]
mod binary;

use std::path::Path;
use std::time::{Duration, Instant};

use binary::{
    browser, free_port, metric, metrics, post_ok, request_access, requestable_groups,
    save_auto_policy, sign_in, wait_for_sync, webhook_receiver, Gatepass, OktaSim,
};

const ADMIN: &str = "user0000000@example.com";

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(500);
    let bin = std::env::var("GATEPASS_BIN").unwrap_or_else(|_| {
        let dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
        format!("{dir}/release/gatepass")
    });
    let bin = Path::new(&bin);
    assert!(
        bin.exists(),
        "build it first: cargo build --release -p server ({})",
        bin.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let gp = format!("http://127.0.0.1:{port}");
    let sim = OktaSim::start(
        bin,
        &dir.path().join("okta-sim.log"),
        &gp,
        &[
            "--seed",
            "none",
            "--scale",
            &format!("users=20,groups={},memberships=0", n + n / 9 + 10),
            "--latency-ms",
            "20",
            "--slack-latency-ms",
            "20",
            "--smtp-latency-ms",
            "20",
        ],
    )
    .await;
    let http = browser();
    // This measures Gatepass, not Okta's quotas: lift the simulator's limits.
    sim.lift_rate_limits(&http).await;
    let channels =
        std::env::var("GRANT_BENCH_CHANNELS").unwrap_or_else(|_| "webhook,email,slack".into());
    let on = |c: &str| channels.split(',').any(|x| x.trim() == c);
    let mut gatepass = Gatepass::new(bin, dir.path(), &sim.url, ADMIN, port);
    gatepass.smtp_port = on("email").then_some(sim.smtp_port);
    gatepass.slack = on("slack");
    let _gatepass = gatepass.serve().await;

    sign_in(&http, &gp, ADMIN).await;
    wait_for_sync(&http, &gp).await;
    save_auto_policy(&http, &gp, "group-*", "1m", "1h").await;
    if on("webhook") {
        let (hook_url, _received) = webhook_receiver(Duration::from_millis(20)).await;
        post_ok(
            &http,
            &gp,
            "/api/notifications/webhooks/add",
            &[
                ("name", "bench".into()),
                ("url", hook_url),
                ("secret_ref", "env:GATEPASS_TEST_WEBHOOK_SECRET".into()),
                ("events", "request.created".into()),
            ],
        )
        .await;
    }
    if on("slack") {
        post_ok(
            &http,
            &gp,
            "/api/notifications/slack/save",
            &[
                ("bot_token_ref", "env:GATEPASS_TEST_SLACK_TOKEN".into()),
                (
                    "signing_secret_ref",
                    "env:GATEPASS_TEST_SLACK_SIGNING".into(),
                ),
                ("default_channel", "C0GATEPASS1".into()),
                ("enabled", "on".into()),
            ],
        )
        .await;
    }
    // The groups this person may request (OKTA_GROUPs), then one request each.
    let groups = requestable_groups(&http, &gp, n).await;
    assert_eq!(groups.len(), n, "enough requestable groups");
    let t = Instant::now();
    // When each request was acknowledged (Unix ms), by request id: the start of "request
    // created → its card posted to the channel".
    let mut acknowledged = std::collections::HashMap::new();
    for g in &groups {
        let (status, body) = request_access(&http, &gp, g, "1m").await.unwrap();
        assert_eq!(status, 200, "{body}");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        acknowledged.insert(body["id"].as_i64().expect("the request's id"), now);
    }
    let asked = t.elapsed();

    let wait_for = |name: &'static str, want: usize| {
        let (http, gp) = (&http, &gp);
        async move {
            let t = Instant::now();
            loop {
                let m = metrics(http, gp).await.unwrap();
                if metric(&m, name) as usize >= want {
                    return m;
                }
                assert!(
                    t.elapsed() < Duration::from_secs(300),
                    "{name} never reached {want}"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    };
    let delivered = wait_for(
        "gatepass_notifications{channel=\"webhook\",state=\"delivered\"}",
        if on("webhook") { n } else { 0 },
    )
    .await;
    let added = wait_for("gatepass_okta_ops{kind=\"add\",state=\"done\"}", n).await;
    // A card per request in the channel, and the requester's notices (approved, started).
    let posted = wait_for(
        "gatepass_notifications{channel=\"slack\",state=\"delivered\"}",
        if on("slack") { 3 * n } else { 0 },
    )
    .await;
    let mailed = wait_for(
        "gatepass_notifications{channel=\"email\",state=\"delivered\"}",
        if on("email") { 2 * n } else { 0 },
    )
    .await;
    let removed = wait_for("gatepass_okta_ops{kind=\"remove\",state=\"done\"}", n).await;
    let q = |m: &str, name: &str| metric(m, name) * 1000.0;
    println!(
        "{n} one-minute grants, auto-approved, {:.1} s to ask for them all; Okta calls +20 ms; \
         notifications: {channels}",
        asked.as_secs_f64()
    );
    println!(
        "approval → Okta PUT done:  p50 {:>6.0} ms  p99 {:>6.0} ms",
        q(
            &added,
            "gatepass_okta_op_latency_seconds{kind=\"add\",quantile=\"0.5\"}"
        ),
        q(
            &added,
            "gatepass_okta_op_latency_seconds{kind=\"add\",quantile=\"0.99\"}"
        )
    );
    println!(
        "request created → webhook delivered (+20 ms): p50 {:>6.0} ms  p99 {:>6.0} ms",
        q(
            &delivered,
            "gatepass_notification_latency_seconds{channel=\"webhook\",quantile=\"0.5\"}"
        ),
        q(
            &delivered,
            "gatepass_notification_latency_seconds{channel=\"webhook\",quantile=\"0.99\"}"
        )
    );
    println!(
        "event → Slack message posted (+20 ms per call): p50 {:>6.0} ms  p99 {:>6.0} ms",
        q(
            &posted,
            "gatepass_notification_latency_seconds{channel=\"slack\",quantile=\"0.5\"}"
        ),
        q(
            &posted,
            "gatepass_notification_latency_seconds{channel=\"slack\",quantile=\"0.99\"}"
        )
    );
    if on("slack") {
        // The stand-in's own record of when each card reached the channel.
        let posted: serde_json::Value = http
            .get(format!("{}/__slack/messages", sim.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut card_ms: Vec<i64> = posted["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["channel"] == "C0GATEPASS1")
            .filter_map(|m| {
                let id = m["blocks"]
                    .as_array()?
                    .iter()
                    .find_map(|b| b["block_id"].as_str()?.strip_prefix("request-"))?
                    .parse::<i64>()
                    .ok()?;
                Some(m["atMs"].as_i64()? - acknowledged.get(&id)?)
            })
            .collect();
        card_ms.sort_unstable();
        assert_eq!(card_ms.len(), n, "a card per request");
        let at = |q: f64| card_ms[((card_ms.len() - 1) as f64 * q).round() as usize].max(0);
        println!(
            "request acknowledged → its card in the channel (+20 ms): p50 {:>6} ms  p99 {:>6} ms",
            at(0.5),
            at(0.99)
        );
    }
    println!(
        "event → email accepted (+20 ms SMTP): p50 {:>6.0} ms  p99 {:>6.0} ms",
        q(
            &mailed,
            "gatepass_notification_latency_seconds{channel=\"email\",quantile=\"0.5\"}"
        ),
        q(
            &mailed,
            "gatepass_notification_latency_seconds{channel=\"email\",quantile=\"0.99\"}"
        )
    );
    println!(
        "grant end → Okta DELETE done: p50 {:>6.0} ms  p99 {:>6.0} ms",
        q(&removed, "gatepass_expiry_lag_seconds{quantile=\"0.5\"}"),
        q(&removed, "gatepass_expiry_lag_seconds{quantile=\"0.99\"}")
    );
}
