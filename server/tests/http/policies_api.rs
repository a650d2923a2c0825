//! Policies through the API and as code: one policy at a time with `ETag`/`If-Match` (a write
//! without `If-Match`, or with a version someone else has moved on from, is refused and changes
//! nothing), and a whole policies file with `gatepass policies export` / `apply`: the plan
//! shows exactly the diff, applying makes the policies exactly the file, every invalid entry is
//! listed, and a change made in the pages between plan and apply is detected and refused.

use serde_json::{json, Value};

use crate::api_v1::{call, code, eng_approved_by_admin, get, make_token, post_json, run_cli};
use crate::common::{engines, post, TestApp};

/// `method path` with `token`, a JSON `body` and `If-Match: tag` (when given).
async fn write(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
    tag: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = reqwest::Client::new()
        .request(method, app.url(path))
        .bearer_auth(token);
    if let Some(t) = tag {
        req = req.header("if-match", t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.json().await.unwrap_or_default())
}

fn etag(headers: &reqwest::header::HeaderMap) -> String {
    headers["etag"].to_str().unwrap().to_owned()
}

/// The eng policy changed in the pages, as an administrator does it.
async fn edit_in_the_pages(app: &TestApp, admin: &reqwest::Client, max: &str) {
    let (status, body) = post(
        app,
        admin,
        "/api/access/policies/save",
        &[
            ("applies_to", "eng"),
            ("eligible_groups", ""),
            ("approver_users", "admin@example.com"),
            ("approver_groups", ""),
            ("quorum", "1"),
            ("default_duration", "1h"),
            ("max_duration", max),
            ("requestable", "on"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

fn ops_spec(max: &str) -> Value {
    json!({
        "applies_to": "ops", "approvers": ["bob@example.com"],
        "default_duration": "1h", "max_duration": max, "require_reason": true,
    })
}

#[tokio::test]
async fn a_policy_is_replaced_or_deleted_only_at_the_version_its_writer_read() {
    for engine in engines() {
        let (app, _sim, admin, bob) = eng_approved_by_admin(engine, 1000).await;
        let (_, made) = make_token(&app, &admin, "ci", &["admin"]).await;
        let ci = made["token"].as_str().unwrap().to_owned();
        let (_, made) = make_token(&app, &bob, "bob", &["read", "request"]).await;
        let bobs = made["token"].as_str().unwrap().to_owned();

        let (status, headers, list) = get(&app, &ci, "/api/v1/policies").await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(etag(&headers), list["version"].as_str().unwrap());
        let id = list["items"][0]["policy"]["id"].as_i64().unwrap();
        let path = format!("/api/v1/policies/{id}");
        let (status, headers, read) = get(&app, &ci, &path).await;
        assert_eq!(status, 200, "{read}");
        let tag = etag(&headers);
        assert_eq!(read["version"], tag.as_str());
        assert_eq!(read["policy"]["applies_to"], "eng");
        assert_eq!(read["policy"]["approvers"], json!(["admin@example.com"]));
        assert_eq!(read["policy"]["max_duration"], "1d");

        // Not an administrator's token: refused.
        let (status, _, refused) = get(&app, &bobs, &path).await;
        assert_eq!((status, code(&refused)), (403, "insufficient_scope"));

        // Without If-Match: refused, nothing written.
        let mut wanted = read["policy"].clone();
        wanted["max_duration"] = json!("3d");
        let put = reqwest::Method::PUT;
        let (status, _, refused) =
            write(&app, &ci, put.clone(), &path, Some(wanted.clone()), None).await;
        assert_eq!((status, code(&refused)), (428, "precondition_required"));

        // Someone changes it in the pages: the version read is stale, the write refused.
        edit_in_the_pages(&app, &admin, "2d").await;
        let (status, _, refused) = write(
            &app,
            &ci,
            put.clone(),
            &path,
            Some(wanted.clone()),
            Some(&tag),
        )
        .await;
        assert_eq!(
            (status, code(&refused)),
            (412, "precondition_failed"),
            "{refused}"
        );
        let (_, headers, now) = get(&app, &ci, &path).await;
        assert_eq!(
            now["policy"]["max_duration"], "2d",
            "the pages' change stands"
        );
        assert_eq!(now["id"], id, "a save in the pages keeps the policy's id");

        // With the current version: written, audited through the token, a new version.
        let fresh = etag(&headers);
        let (status, headers, saved) = write(
            &app,
            &ci,
            put.clone(),
            &path,
            Some(wanted.clone()),
            Some(&fresh),
        )
        .await;
        assert_eq!(status, 200, "{saved}");
        assert_eq!(saved["policy"]["max_duration"], "3d");
        assert_ne!(etag(&headers), fresh);
        let (_, _, events) = get(&app, &ci, "/api/v1/audit?action=policy.saved&limit=1").await;
        let details = events["items"][0]["details"].as_str().unwrap();
        assert!(details.contains("\"via\":\"token ci\""), "{details}");

        // Invalid: the field is named, nothing written.
        let mut bad = wanted.clone();
        bad["max_duration"] = json!("forever");
        let (status, _, refused) = write(
            &app,
            &ci,
            put.clone(),
            &path,
            Some(bad),
            Some(&etag(&headers)),
        )
        .await;
        assert_eq!((status, code(&refused)), (422, "invalid"));
        assert_eq!(refused["error"]["field"], "Maximum duration");

        // Create: a second policy for eng is a conflict; ops is new.
        let (status, _, refused) = write(
            &app,
            &ci,
            reqwest::Method::POST,
            "/api/v1/policies",
            Some(wanted.clone()),
            None,
        )
        .await;
        assert_eq!((status, code(&refused)), (409, "conflict"));
        let (status, headers, created) = write(
            &app,
            &ci,
            reqwest::Method::POST,
            "/api/v1/policies",
            Some(ops_spec("4h")),
            None,
        )
        .await;
        assert_eq!(status, 201, "{created}");
        let ops_path = headers["location"].to_str().unwrap().to_owned();
        let ops_tag = etag(&headers);

        // Delete: only at the version read.
        let delete = reqwest::Method::DELETE;
        let (status, _, refused) =
            write(&app, &ci, delete.clone(), &ops_path, None, Some("\"old\"")).await;
        assert_eq!((status, code(&refused)), (412, "precondition_failed"));
        let (status, _, _) =
            write(&app, &ci, delete.clone(), &ops_path, None, Some(&ops_tag)).await;
        assert_eq!(status, 204);
        let (status, _, gone) = get(&app, &ci, &ops_path).await;
        assert_eq!((status, code(&gone)), (404, "not_found"));

        // What the router refuses is in the API's shape too: a body over the limit, a method
        // the path does not take.
        let huge = json!({ "applies_to": "x".repeat(200_000) });
        let (status, _, refused) = write(
            &app,
            &ci,
            reqwest::Method::POST,
            "/api/v1/policies",
            Some(huge),
            None,
        )
        .await;
        assert_eq!((status, code(&refused)), (413, "too_large"));
        let (status, headers, refused) =
            write(&app, &ci, reqwest::Method::PATCH, &path, None, None).await;
        assert_eq!((status, code(&refused)), (405, "method_not_allowed"));
        assert!(headers.contains_key("allow"));
    }
}

#[tokio::test]
async fn a_policies_file_round_trips_through_the_command_line_and_a_concurrent_edit_is_refused() {
    let engine = engines()[0];
    let (app, _sim, admin, _bob) = eng_approved_by_admin(engine, 1000).await;
    let (_, made) = make_token(&app, &admin, "policies-ci", &["admin"]).await;
    let token = made["token"].as_str().unwrap().to_owned();
    let url = app.url("");
    let env = [
        ("GATEPASS_URL", url.trim_end_matches('/')),
        ("GATEPASS_TOKEN", token.as_str()),
    ];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policies.toml");
    let file_arg = file.to_str().unwrap();

    // Export: the eng policy, by names.
    let (status, exported, err) = run_cli(&["policies", "export"], &env).await;
    assert_eq!(status, 0, "{err}");
    assert_eq!(
        exported,
        "[[policy]]\napplies_to = \"eng\"\nrequestable = true\neligible_groups = []\n\
         approvers = [\"admin@example.com\"]\napprover_groups = []\nquorum = 1\n\
         default_duration = \"1h\"\nmax_duration = \"1d\"\nrequire_reason = false\n\
         allow_self_approval = false\nauto_approve = false\napprove_in_gatepass_only = false\n"
    );

    // Edit: eng may last two days; ops is added.
    let ops = "\n[[policy]]\napplies_to = \"ops\"\nrequestable = true\neligible_groups = []\n\
         approvers = [\"bob@example.com\"]\napprover_groups = []\nquorum = 1\n\
         default_duration = \"1h\"\nmax_duration = \"4h\"\nrequire_reason = true\n\
         allow_self_approval = false\nauto_approve = false\napprove_in_gatepass_only = false\n";
    let edited = exported.replace("max_duration = \"1d\"", "max_duration = \"2d\"") + ops;
    std::fs::write(&file, &edited).unwrap();

    // The dry run shows exactly the diff, and changes nothing.
    let (status, plan, err) = run_cli(&["policies", "apply", file_arg, "--dry-run"], &env).await;
    assert_eq!(status, 0, "{err}");
    assert_eq!(
        plan,
        "Plan: 1 to add, 1 to change, 0 to delete, 0 unchanged.\n\
         ~ change eng\n    max_duration: 1d → 2d\n\
         + add ops\n    requestable: true\n    eligible_groups: (none)\n\
         \x20   approvers: bob@example.com\n    approver_groups: (none)\n    quorum: 1\n\
         \x20   default_duration: 1h\n    max_duration: 4h\n    require_reason: true\n\
         \x20   allow_self_approval: false\n    auto_approve: false\n\
         \x20   approve_in_gatepass_only: false\n    slack_channel: (none)\n\
         \x20   keep_needs_comment: false\n    ticket_pattern: (none)\n    ticket_url: (none)\n\
         \x20   max_live_grants: (none)\n    request_window: (none)\n    break_glass_max: (none)\n\
         \x20   break_glass_per_day: (none)\n    escalate_after: (none)\n\
         \x20   escalation_approvers: (none)\n    escalation_approver_groups: (none)\n\
         \x20   escalate_to_admins_after: (none)\n    on_call_schedule: (none)\n"
    );
    let (_, unchanged, _) = run_cli(&["policies", "export"], &env).await;
    assert_eq!(unchanged, exported, "a dry run writes nothing");

    // Apply: the policies are now exactly the file, audited as the token.
    let (status, out, err) = run_cli(&["policies", "apply", file_arg], &env).await;
    assert_eq!(status, 0, "{err}");
    assert!(out.ends_with("Applied 2 changes.\n"), "{out}");
    let (_, now, _) = run_cli(&["policies", "export"], &env).await;
    assert_eq!(now, edited);
    let (_, _, events) = get(&app, &token, "/api/v1/audit?action=policy.applied").await;
    let details = events["items"][0]["details"].as_str().unwrap();
    assert!(
        details.contains("\"added\":1") && details.contains("\"changed\":1"),
        "{details}"
    );
    assert!(
        details.contains("\"via\":\"token policies-ci\""),
        "{details}"
    );
    let (_, again, _) = run_cli(&["policies", "apply", file_arg], &env).await;
    assert!(again.contains("Nothing to change."), "{again}");

    // Every invalid entry is listed, and nothing changes.
    let broken = edited.clone()
        + "\n[[policy]]\napplies_to = \"nope\"\ndefault_duration = \"1h\"\nmax_duration = \"1d\"\nauto_approve = true\n\
           \n[[policy]]\napplies_to = \"ad-imported\"\ndefault_duration = \"1h\"\nmax_duration = \"1d\"\nauto_approve = true\n\
           \n[[policy]]\napplies_to = \"team-*\"\ndefault_duration = \"1h\"\nmax_duration = \"forever\"\nauto_approve = true\n";
    std::fs::write(&file, &broken).unwrap();
    let (status, _, err) = run_cli(&["policies", "apply", file_arg], &env).await;
    assert_eq!(status, 1, "{err}");
    assert!(
        err.contains("nope: Applies to: no group named \"nope\""),
        "{err}"
    );
    assert!(
        err.contains("ad-imported: Applies to:") && err.contains("APP_GROUP"),
        "{err}"
    );
    assert!(err.contains("team-*: Maximum duration:"), "{err}");
    let (_, after, _) = run_cli(&["policies", "export"], &env).await;
    assert_eq!(after, edited, "an invalid file changes nothing");

    // A file that leaves ops out deletes it — but not if the pages changed eng between the
    // plan and the apply.
    let set = |text: &str| -> Value {
        let parsed: toml::Value = toml::from_str(text).unwrap();
        serde_json::to_value(parsed).unwrap()
    };
    let without_ops = set(&exported);
    let (status, _, plan) = post_json(
        &app,
        &token,
        "/api/v1/policies/plan",
        &without_ops.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{plan}");
    let kinds: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["change", "delete"], "{plan}");
    edit_in_the_pages(&app, &admin, "5d").await;
    let (status, _, refused) = write(
        &app,
        &token,
        reqwest::Method::POST,
        "/api/v1/policies/apply",
        Some(without_ops.clone()),
        Some(plan["version"].as_str().unwrap()),
    )
    .await;
    assert_eq!(
        (status, code(&refused)),
        (412, "precondition_failed"),
        "{refused}"
    );
    let (_, current, _) = run_cli(&["policies", "export"], &env).await;
    assert!(
        current.contains("max_duration = \"5d\"") && current.contains("applies_to = \"ops\""),
        "the pages' edit stands and ops is still there: {current}"
    );
    // Without If-Match, no apply at all.
    let (status, _, refused) = call(
        &app,
        Some(&token),
        reqwest::Method::POST,
        "/api/v1/policies/apply",
        Some(&without_ops.to_string()),
    )
    .await;
    assert_eq!((status, code(&refused)), (428, "precondition_required"));
}

#[tokio::test]
async fn a_service_token_applies_policies_as_its_service_and_does_nothing_a_person_does() {
    for engine in engines() {
        let (app, _sim, admin, bob) = eng_approved_by_admin(engine, 1000).await;
        // Only administrators make service tokens, with a valid name.
        let form = [("service", "policies-ci"), ("days", "30")];
        let (status, _) = post(&app, &bob, "/api/tokens/create-service", &form).await;
        assert_eq!(status, 403);
        let (status, refused) = post(
            &app,
            &admin,
            "/api/tokens/create-service",
            &[("service", "Policies CI"), ("days", "30")],
        )
        .await;
        assert_eq!(status, 422, "{refused}");
        let (status, made) = post(&app, &admin, "/api/tokens/create-service", &form).await;
        assert_eq!(status, 200, "{made}");
        let token = made["token"].as_str().unwrap().to_owned();
        assert!(token.starts_with("gpst_"), "{token}");
        assert_eq!(made["info"]["owner_login"], "service:policies-ci");
        assert_eq!(made["info"]["scopes"], json!(["admin"]));

        // It is the service, with the admin scope and nothing a person has.
        let (status, _, me) = get(&app, &token, "/api/v1/whoami").await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["login"], "service:policies-ci");
        for path in ["/api/v1/access", "/api/v1/groups", "/api/v1/approvals"] {
            let (status, _, refused) = get(&app, &token, path).await;
            assert_eq!(
                (status, code(&refused)),
                (403, "insufficient_scope"),
                "{path}"
            );
        }
        let (status, _, refused) = post_json(
            &app,
            &token,
            "/api/v1/requests",
            &json!({ "group_id": "00gwhatever" }).to_string(),
        )
        .await;
        assert_eq!((status, code(&refused)), (403, "insufficient_scope"));

        // It applies a policies file, audited as the service through its token.
        let (status, headers, export) = get(&app, &token, "/api/v1/policies/export").await;
        assert_eq!(status, 200, "{export}");
        let mut set = json!({ "policy": export["policy"].clone() });
        set["policy"][0]["max_duration"] = json!("12h");
        let (status, _, done) = write(
            &app,
            &token,
            reqwest::Method::POST,
            "/api/v1/policies/apply",
            Some(set),
            Some(&etag(&headers)),
        )
        .await;
        assert_eq!(status, 200, "{done}");
        let (_, _, events) = get(&app, &token, "/api/v1/audit?action=policy.").await;
        let applied = events["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "policy.applied")
            .expect("policy.applied");
        assert_eq!(applied["actor"], "service:policies-ci");
        assert!(applied["details"]
            .as_str()
            .unwrap()
            .contains("\"via\":\"token policies-ci\""));

        // A personal token cannot pass for a service's, nor the reverse.
        let id = made["info"]["id"].as_i64().unwrap().to_string();
        let forged = token.replacen("gpst_", "gpat_", 1);
        let (status, _, refused) = get(&app, &forged, "/api/v1/whoami").await;
        assert_eq!((status, code(&refused)), (401, "token_unknown"));

        // An administrator revokes it: the next call is refused.
        let (status, _) = post(&app, &admin, "/api/tokens/revoke-any", &[("id", &id)]).await;
        assert_eq!(status, 200);
        let (status, _, refused) = get(&app, &token, "/api/v1/whoami").await;
        assert_eq!((status, code(&refused)), (401, "token_revoked"));
    }
}
