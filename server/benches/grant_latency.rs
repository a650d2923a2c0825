//! Grant latency on the real binaries: `gatepass okta-sim` (20 ms added to every Okta call) and
//! `gatepass serve` as child processes on loopback. A requester asks for N groups under an
//! auto-approving policy with one-minute grants; the figures are the server's own, read from
//! `/metrics`: approval → Okta `PUT` done, and grant end → Okta `DELETE` done (p50, p99).
//!
//!     cargo build --release -p server && cargo bench -p server --bench grant_latency [-- N]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

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
    assert!(
        std::path::Path::new(&bin).exists(),
        "build it first: cargo build --release -p server ({bin})"
    );
    let (okta_port, gp_port) = (free_port(), free_port());
    let okta = format!("http://127.0.0.1:{okta_port}");
    let gp = format!("http://127.0.0.1:{gp_port}");
    let data = tempfile::tempdir().unwrap();

    let _sim = Kill(
        Command::new(&bin)
            .args([
                "okta-sim",
                "--listen",
                &format!("127.0.0.1:{okta_port}"),
                "--seed",
                "none",
            ])
            .args([
                "--scale",
                &format!("users=20,groups={},memberships=0", n + n / 9 + 10),
            ])
            .args([
                "--api-token",
                "bench-token",
                "--oidc-client-secret",
                "bench-secret",
            ])
            .args(["--gatepass-url", &gp, "--latency-ms", "20"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for _ in 0..100 {
        if http
            .get(format!(
                "{okta}/oauth2/default/.well-known/openid-configuration"
            ))
            .send()
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // This measures Gatepass, not Okta's quotas: lift the simulator's limits.
    http.put(format!("{okta}/__sim/rate-limits"))
        .json(&serde_json::json!({ "limits": { "group": 1000000, "groups": 1000000, "users": 1000000, "default": 1000000 }, "concurrency": 1000 }))
        .send()
        .await
        .unwrap();

    let _gatepass = Kill(
        Command::new(&bin)
            .args(["serve", "--listen", &format!("127.0.0.1:{gp_port}")])
            .env("GATEPASS_DATA_DIR", data.path())
            .env("GATEPASS_PUBLIC_URL", &gp)
            .env(
                "GATEPASS_OIDC__ISSUER_URL",
                format!("{okta}/oauth2/default"),
            )
            .env("GATEPASS_OIDC__CLIENT_ID", "gatepass")
            .env("GATEPASS_OIDC__CLIENT_SECRET", "bench-secret")
            .env(
                "GATEPASS_AUTH__BOOTSTRAP_ADMINS",
                "[\"user0000000@example.com\"]",
            )
            .env("GATEPASS_OKTA__ORG_URL", &okta)
            .env("GATEPASS_OKTA__SECRET_REF", "env:BENCH_OKTA_TOKEN")
            .env("BENCH_OKTA_TOKEN", "bench-token")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    for _ in 0..300 {
        if http
            .get(format!("{gp}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Sign in as the admin through the simulator's login page.
    let res = http
        .get(format!("{gp}/auth/login?return_to=/"))
        .send()
        .await
        .unwrap();
    let authorize = res.headers()["location"].to_str().unwrap().to_owned();
    let mut form: Vec<(String, String)> = url::Url::parse(&authorize)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    form.push(("login".into(), "user0000000@example.com".into()));
    let res = http
        .post(authorize.split('?').next().unwrap())
        .form(&form)
        .send()
        .await
        .unwrap();
    let callback = res.headers()["location"].to_str().unwrap().to_owned();
    http.get(callback).send().await.unwrap();

    let post = |path: &str, form: Vec<(&str, String)>| {
        let req = http
            .post(format!("{gp}{path}"))
            .header("origin", &gp)
            .form(&form);
        async move {
            let res = req.send().await.unwrap();
            let status = res.status();
            (
                status,
                res.json::<serde_json::Value>().await.unwrap_or_default(),
            )
        }
    };
    // Wait for the first directory sync, then an auto-approving policy for every group.
    let t = Instant::now();
    loop {
        let (_, o) = post("/api/okta/sync", vec![]).await;
        if o["runs"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["status"] == "ok"))
        {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(120), "no directory sync");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, body) = post(
        "/api/access/policies/save",
        vec![
            ("applies_to", "group-*".into()),
            ("eligible_groups", String::new()),
            ("approver_users", String::new()),
            ("approver_groups", String::new()),
            ("quorum", "1".into()),
            ("default_duration", "1m".into()),
            ("max_duration", "1h".into()),
            ("requestable", "on".into()),
            ("auto_approve", "on".into()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // The groups this person may request (OKTA_GROUPs), then one request each.
    let mut groups = Vec::new();
    let mut after = String::new();
    while groups.len() < n {
        let (_, page) = post(
            "/api/access/catalog",
            vec![("q", String::new()), ("after", after.clone())],
        )
        .await;
        for e in page["entries"].as_array().unwrap() {
            groups.push(e["group_id"].as_str().unwrap().to_owned());
        }
        match page["next"].as_str() {
            Some(next) => after = next.to_owned(),
            None => break,
        }
    }
    groups.truncate(n);
    assert_eq!(groups.len(), n, "enough requestable groups");
    let t = Instant::now();
    for g in &groups {
        let (status, body) = post(
            "/api/access/request",
            vec![
                ("group_id", g.clone()),
                ("duration", "1m".into()),
                ("reason", String::new()),
                ("start", String::new()),
            ],
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let asked = t.elapsed();

    let metrics = || async {
        http.get(format!("{gp}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let wait_for = |name: &'static str, want: usize| async move {
        let t = Instant::now();
        loop {
            let m = metrics().await;
            if metric(&m, name) as usize >= want {
                return m;
            }
            assert!(
                t.elapsed() < Duration::from_secs(300),
                "{name} never reached {want}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    };
    let added = wait_for("gatepass_okta_ops{kind=\"add\",state=\"done\"}", n).await;
    let removed = wait_for("gatepass_okta_ops{kind=\"remove\",state=\"done\"}", n).await;
    let q = |m: &str, name: &str| metric(m, name) * 1000.0;
    println!(
        "{n} one-minute grants, auto-approved, {:.1} s to ask for them all; Okta calls +20 ms",
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
        "grant end → Okta DELETE done: p50 {:>6.0} ms  p99 {:>6.0} ms",
        q(&removed, "gatepass_expiry_lag_seconds{quantile=\"0.5\"}"),
        q(&removed, "gatepass_expiry_lag_seconds{quantile=\"0.99\"}")
    );
}
