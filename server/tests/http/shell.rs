//! HTTP-level tests of the app shell against a real server, on every database engine.

use crate::common::{engines, spawn_app, METRICS_TOKEN};
use serde_json::Value;

#[tokio::test]
async fn health_and_readiness() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let res = app.get("/healthz").await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<Value>().await.unwrap()["status"], "ok");

        let res = app.get("/readyz").await;
        assert_eq!(res.status(), 200, "{engine:?}");
        assert_eq!(res.json::<Value>().await.unwrap()["database"], "ok");

        let res = app
            .client
            .get(app.url("/metrics"))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"));
        let text = res.text().await.unwrap();
        assert!(text.contains("# TYPE gatepass_grants gauge"), "{text}");
        assert!(
            text.contains("gatepass_expiry_lag_seconds{quantile=\"0.99\"} 0"),
            "{text}"
        );

        // Once the database is gone, the server is alive but not ready.
        app.db.close().await;
        assert_eq!(app.get("/readyz").await.status(), 503, "{engine:?}");
        assert_eq!(app.get("/healthz").await.status(), 200);
    }
}

#[tokio::test]
async fn start_page_is_server_rendered_with_nav_and_status() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let res = app.get("/").await;
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let html = res.text().await.unwrap();
        for link in [
            r#"href="/access""#,
            r#"href="/request""#,
            r#"href="/approvals""#,
            r#"href="/admin""#,
        ] {
            assert!(html.contains(link), "missing nav link {link}");
        }
        assert!(html.contains("<title>Gatepass</title>"), "title");
        assert!(html.contains("Up: the server and its database answer."));
        assert!(
            !html.contains(engine.label()),
            "engine {engine:?} not shown to anonymous"
        );
        assert!(
            !html.contains("memberships synced"),
            "no directory size for anonymous"
        );
        // Complete HTML: data in place, not a loading state waiting for a script to swap it.
        assert!(
            !html.contains("Loading status"),
            "status panel still loading"
        );
        assert!(
            !html.contains("<template"),
            "out-of-order fragments need JavaScript"
        );
        assert!(html.contains("/pkg/gatepass.js"), "hydration script");
        assert!(html.contains("/pkg/gatepass.css"), "stylesheet");
    }
}

#[tokio::test]
async fn unknown_paths_are_404_pages() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let res = app.get("/definitely/not/here").await;
        assert_eq!(res.status(), 404);
        let html = res.text().await.unwrap();
        assert!(html.contains("This page was not found."));
        assert!(html.contains("<title>Not found · Gatepass</title>"));
    }
}

#[tokio::test]
async fn pages_that_need_sign_in_answer_401() {
    let app = spawn_app(engines()[0]).await;
    for path in ["/access", "/request", "/approvals", "/admin"] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 401, "{path}");
        assert!(
            res.text().await.unwrap().contains("Sign in to continue."),
            "{path}"
        );
    }
}

#[tokio::test]
async fn static_files_are_served_from_the_site_root() {
    let app = spawn_app(engines()[0]).await;
    let res = app.get("/pkg/gatepass.css").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    assert_eq!(res.text().await.unwrap(), "body { margin: 0 }\n");
    assert_eq!(app.get("/pkg/missing.js").await.status(), 404);
}

#[tokio::test]
async fn system_status_server_function_has_a_stable_url() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let res = app
            .client
            .post(app.url("/api/system/status"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let status: app::model::SystemStatus = res.json().await.unwrap();
        // T12: anonymous callers learn that Gatepass is up, not its engine or directory.
        assert_eq!(status.details, None);
        assert!(!status.checked_at.is_empty());
        let _ = engine;
    }
}

#[tokio::test]
async fn session_server_function_reports_nobody_signed_in() {
    let app = spawn_app(engines()[0]).await;
    let res = app
        .client
        .post(app.url("/api/session/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_renders_on_one_server_all_complete() {
    let app = spawn_app(engines()[0]).await;
    for _ in 0..10 {
        let calls = [
            "/access",
            "/request",
            "/approvals",
            "/admin",
            "/pkg/missing.js",
            "/",
            "/nowhere",
        ]
        .iter()
        .cycle()
        .take(42)
        .map(|path| {
            let url = app.url(path);
            let client = app.client.clone();
            tokio::spawn(async move { client.get(url).send().await.map(|r| r.status().as_u16()) })
        })
        .collect::<Vec<_>>();
        let all = tokio::time::timeout(std::time::Duration::from_secs(20), async {
            let mut statuses = Vec::new();
            for c in calls {
                statuses.push(c.await.unwrap().unwrap());
            }
            statuses
        })
        .await
        .expect("every render completes");
        assert!(all.iter().all(|s| [200, 401, 404].contains(s)), "{all:?}");
    }
}
