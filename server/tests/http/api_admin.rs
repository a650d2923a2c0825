//! Running Gatepass through the API with an administrator's token: pending requests and live
//! grants (revoke), groups with their members, drift, directory sync, and following the audit
//! log as it grows; a person's own requests and grants, and one request only for those entitled
//! to see it. A token without the `admin` scope gets none of the administrators' operations.

use serde_json::{json, Value};

use crate::api_v1::{code, eng_approved_by_admin, get, make_token, post_json};
use crate::common::engines;

#[tokio::test]
async fn an_administrators_token_runs_gatepass_and_a_persons_does_not() {
    for engine in engines() {
        let (app, _sim, admin, bob) = eng_approved_by_admin(engine, 1000).await;
        let (_, made) = make_token(&app, &admin, "ops", &["read", "approve", "admin"]).await;
        let ops = made["token"].as_str().unwrap().to_owned();
        let (_, made) = make_token(&app, &bob, "bob", &["read", "request"]).await;
        let bobs = made["token"].as_str().unwrap().to_owned();

        // Bob asks for eng; his requests and that one request are his to read.
        let (_, _, groups) = get(&app, &bobs, "/api/v1/groups?q=eng").await;
        let eng = groups["items"][0]["group_id"].as_str().unwrap().to_owned();
        let ask = json!({ "group_id": eng, "duration": "2h", "reason": "on call" }).to_string();
        let (status, _, asked) = post_json(&app, &bobs, "/api/v1/requests", &ask).await;
        assert_eq!(status, 201, "{asked}");
        let id = asked["id"].as_i64().unwrap();
        let (_, _, mine) = get(&app, &bobs, "/api/v1/requests").await;
        assert_eq!(mine["items"][0]["request"]["id"], id);
        let (status, _, one) = get(&app, &bobs, &format!("/api/v1/requests/{id}")).await;
        assert_eq!((status, one["group_name"].as_str()), (200, Some("eng")));
        let (status, _, none) = get(&app, &bobs, "/api/v1/requests/99999").await;
        assert_eq!((status, code(&none)), (404, "not_found"));

        // Everything administrators do is refused to Bob's token.
        for path in [
            "/api/v1/admin/grants",
            "/api/v1/admin/requests",
            "/api/v1/admin/groups",
            "/api/v1/admin/drift",
            "/api/v1/admin/sync",
            "/api/v1/audit/follow?wait=0",
        ] {
            let (status, _, refused) = get(&app, &bobs, path).await;
            assert_eq!(
                (status, code(&refused)),
                (403, "insufficient_scope"),
                "{path}"
            );
        }

        // The administrator sees it pending, approves, sees the grant and revokes it.
        let (_, _, pending) = get(&app, &ops, "/api/v1/admin/requests?q=eng").await;
        assert_eq!(pending["items"][0]["request"]["id"], id, "{pending}");
        let (status, _, follow) = get(&app, &ops, "/api/v1/audit/follow?wait=0").await;
        assert_eq!(
            (status, follow["items"].as_array().unwrap().len()),
            (200, 0)
        );
        let head = follow["next"].as_i64().unwrap();
        let waiting = {
            let app_url = app.url(&format!("/api/v1/audit/follow?after={head}&wait=20"));
            let ops = ops.clone();
            tokio::spawn(async move {
                let started = std::time::Instant::now();
                let body: Value = reqwest::Client::new()
                    .get(app_url)
                    .bearer_auth(ops)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                (body, started.elapsed())
            })
        };
        let (status, _, decided) = post_json(
            &app,
            &ops,
            &format!("/api/v1/approvals/{id}"),
            r#"{"decision": "approve"}"#,
        )
        .await;
        assert_eq!(status, 200, "{decided}");
        let (followed, took) = waiting.await.unwrap();
        let actions: Vec<&str> = followed["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert!(actions.contains(&"request.approved"), "{followed}");
        assert!(
            took < std::time::Duration::from_secs(20),
            "answered when it happened"
        );
        assert!(followed["next"].as_i64().unwrap() > head);

        let (_, _, grants) = get(&app, &ops, "/api/v1/admin/grants?q=bob").await;
        let grant = grants["items"][0]["grant"]["id"].as_i64().unwrap();
        let (_, _, bobs_grants) = get(&app, &bobs, "/api/v1/grants").await;
        assert_eq!(bobs_grants["items"][0]["grant"]["id"], grant);
        let (status, _, refused) = post_json(
            &app,
            &ops,
            &format!("/api/v1/admin/grants/{grant}/revoke"),
            r#"{"reason": ""}"#,
        )
        .await;
        assert_eq!(
            (status, code(&refused)),
            (422, "invalid"),
            "a reason is required"
        );
        let (status, _, revoked) = post_json(
            &app,
            &ops,
            &format!("/api/v1/admin/grants/{grant}/revoke"),
            r#"{"reason": "incident over"}"#,
        )
        .await;
        assert_eq!(status, 200, "{revoked}");
        assert_ne!(revoked["state"], "Active");

        // Groups with their members, drift, sync.
        let (_, _, groups) = get(&app, &ops, "/api/v1/admin/groups?q=eng").await;
        assert_eq!(groups["items"][0]["name"], "eng");
        let (status, _, detail) = get(&app, &ops, &format!("/api/v1/admin/groups/{eng}")).await;
        assert_eq!(status, 200, "{detail}");
        assert!(detail["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["login"] == "admin@example.com"));
        let (status, _, drift) = get(&app, &ops, "/api/v1/admin/drift").await;
        assert_eq!((status, drift["open"].as_i64()), (200, Some(0)), "{drift}");
        let (status, _, sync) = get(&app, &ops, "/api/v1/admin/sync").await;
        assert_eq!(status, 200, "{sync}");
        assert!(sync["directory"]["users"].as_i64().unwrap() >= 2, "{sync}");
        let (status, _, refused) = post_json(
            &app,
            &ops,
            "/api/v1/admin/sync",
            r#"{"kind": "everything"}"#,
        )
        .await;
        assert_eq!((status, code(&refused)), (422, "invalid"));
        let (status, _, started) =
            post_json(&app, &ops, "/api/v1/admin/sync", r#"{"kind": "full"}"#).await;
        assert!(status == 202 || status == 409, "{status} {started}");
    }
}
