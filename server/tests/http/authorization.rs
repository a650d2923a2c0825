//! Every server function called as anonymous, a requester, an approver of another group, the
//! request's approver, and an admin: each answers as its capability demands.

use std::sync::Arc;

use crate::common::okta::{sign_in, start_sim};
use crate::common::{browser, engines, post, spawn_app_on, TestApp};
use app::model::{GroupId, UserId};
use app::ssr::clock::SystemClock;
use app::ssr::db::directory::{
    upsert_group, upsert_membership, upsert_user, GroupRecord, UserRecord,
};
use app::ssr::testing::ms;
use gatepass::config::OidcConfig;
use secrecy::SecretString;
use serde_json::{json, Value};

const PEOPLE: [&str; 4] = ["root", "ada", "bob", "cy"];

async fn setup() -> (TestApp, okta_sim::RunningSim) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let users: Vec<Value> = PEOPLE
        .iter()
        .map(|p| json!({ "login": format!("{p}@example.com"), "firstName": p, "lastName": "Test" }))
        .collect();
    let sim = start_sim(json!({
        "users": users,
        "oidcClients": [{ "clientId": "gatepass", "clientSecret": "s", "redirectUris": [format!("{origin}/auth/callback")] }]
    }))
    .await;
    let issuer = format!("{}/oauth2/default", sim.base_url());
    let app = spawn_app_on(engines()[0], listener, Arc::new(SystemClock), move |c| {
        c.oidc = Some(OidcConfig {
            issuer_url: issuer,
            client_id: "gatepass".into(),
            client_secret: SecretString::from("s"),
            ..OidcConfig::default()
        });
        c.auth.bootstrap_admins = vec!["root@example.com".into()];
    })
    .await;
    // The directory as a sync would leave it: bob approves aws-prod, cy approves aws-dev.
    let ids: Vec<(String, String)> = {
        let org = sim.sim.org.read().unwrap();
        PEOPLE
            .iter()
            .map(|p| {
                let u = &org.users[org.find_user(&format!("{p}@example.com")).unwrap() as usize];
                (p.to_string(), u.id.clone())
            })
            .collect()
    };
    for (p, id) in &ids {
        upsert_user(
            &app.db,
            &UserRecord {
                okta_id: id.clone().into(),
                login: format!("{p}@example.com"),
                email: format!("{p}@example.com"),
                display_name: format!("{p} Test"),
                status: "ACTIVE".into(),
                profile: Default::default(),
            },
            ms(1),
        )
        .await
        .unwrap();
    }
    for g in ["aws-prod", "aws-dev", "prod-approvers", "dev-approvers"] {
        upsert_group(
            &app.db,
            &GroupRecord {
                okta_id: g.into(),
                name: g.into(),
                description: String::new(),
                okta_type: "OKTA_GROUP".into(),
                managed_by_rule: false,
            },
            ms(1),
        )
        .await
        .unwrap();
    }
    let id = |p: &str| ids.iter().find(|(n, _)| n == p).unwrap().1.clone();
    upsert_membership(
        &app.db,
        &GroupId::from("prod-approvers"),
        &UserId::from(id("bob").as_str()),
        ms(1),
    )
    .await
    .unwrap();
    upsert_membership(
        &app.db,
        &GroupId::from("dev-approvers"),
        &UserId::from(id("cy").as_str()),
        ms(1),
    )
    .await
    .unwrap();
    (app, sim)
}

fn policy_form<'a>(group: &'a str, approvers: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("applies_to", group),
        ("eligible_groups", ""),
        ("approver_users", ""),
        ("approver_groups", approvers),
        ("quorum", "1"),
        ("default_duration", "1h"),
        ("max_duration", "1d"),
        ("requestable", "on"),
        ("require_reason", "on"),
    ]
}

#[tokio::test]
async fn every_server_function_answers_as_the_callers_capability_demands() {
    let (app, _sim) = setup().await;
    let anonymous = browser();
    let mut people = std::collections::HashMap::new();
    for p in PEOPLE {
        let c = browser();
        sign_in(&app, &c, &format!("{p}@example.com")).await;
        people.insert(p, c);
    }
    let who = |p: &str| &people[p];

    // Admin-only functions: 401 anonymous, 403 for everyone else; for an admin 200, or 404
    // for one about a thing that does not exist.
    for (path, form, admin) in [
        ("/api/access/policies", vec![], 200),
        ("/api/access/admin", vec![("q", "")], 200),
        ("/api/okta/settings", vec![], 200),
        ("/api/okta/allowed", vec![], 200),
        ("/api/okta/sync", vec![], 200),
        ("/api/groups", vec![("q", ""), ("after", "")], 200),
        ("/api/drift", vec![("state", ""), ("before", "0")], 200),
        ("/api/admin/alerts", vec![], 200),
        ("/api/groups/detail", vec![("group_id", "00gnothere")], 404),
        (
            "/api/drift/act",
            vec![("id", "999"), ("action", "ignore")],
            404,
        ),
        ("/api/access/policies/delete", vec![("id", "999")], 404),
        ("/api/notifications", vec![], 200),
        (
            "/api/notifications/deliveries",
            vec![("state", ""), ("before", "0")],
            200,
        ),
        ("/api/notifications/webhooks/secret", vec![], 200),
        (
            "/api/notifications/webhooks/add",
            vec![
                ("name", "siem"),
                ("url", "http://10.0.0.1/hook"),
                ("secret_ref", "env:PATH"),
                ("events", "*"),
            ],
            422,
        ),
        (
            "/api/notifications/webhooks/delete",
            vec![("id", "999")],
            404,
        ),
        ("/api/notifications/webhooks/test", vec![("id", "999")], 404),
        (
            "/api/notifications/deliveries/retry",
            vec![("id", "999")],
            409,
        ),
        ("/api/notifications/slack", vec![], 200),
        (
            "/api/notifications/slack/save",
            vec![
                ("bot_token_ref", "env:PATH"),
                ("signing_secret_ref", "env:PATH"),
                ("default_channel", ""),
            ],
            422,
        ),
        ("/api/notifications/slack/test", vec![], 409),
        (
            "/api/notifications/switches/save",
            vec![("to_decide", "on")],
            200,
        ),
        ("/api/tokens/all", vec![("before", "0")], 200),
        ("/api/tokens/revoke-any", vec![("id", "999")], 404),
        (
            "/api/tokens/create-service",
            vec![("service", "Not A Name"), ("days", "30")],
            422,
        ),
        ("/api/reviews/admin", vec![("before", "0")], 200),
        (
            "/api/access/policies/preview",
            vec![("person", "ada@example.com"), ("group", "aws-prod")],
            200,
        ),
        ("/api/access/bundles", vec![], 200),
        ("/api/access/bundles/delete", vec![("id", "999")], 404),
        (
            "/api/access/bundles/save",
            vec![("name", "b"), ("groups", "no-such-group")],
            422,
        ),
        ("/api/reviews/admin/campaign", vec![("id", "999")], 404),
        ("/api/reviews/close", vec![("id", "999")], 404),
        ("/api/reviews/schedule/stop", vec![("id", "999")], 404),
        (
            "/api/reviews/create",
            vec![("name", "q"), ("patterns", "no-star"), ("include", "both")],
            422,
        ),
    ] {
        assert_eq!(
            post(&app, &anonymous, path, &form).await.0,
            401,
            "anonymous {path}"
        );
        for p in ["ada", "bob", "cy"] {
            assert_eq!(post(&app, who(p), path, &form).await.0, 403, "{p} {path}");
        }
        assert_eq!(
            post(&app, who("root"), path, &form).await.0,
            admin,
            "admin {path}"
        );
    }
    for p in ["ada", "bob"] {
        assert_eq!(
            post(
                &app,
                who(p),
                "/api/access/policies/save",
                &policy_form("aws-prod", "prod-approvers")
            )
            .await
            .0,
            403
        );
    }
    assert_eq!(
        post(
            &app,
            &anonymous,
            "/api/access/policies/save",
            &policy_form("aws-prod", "prod-approvers")
        )
        .await
        .0,
        401
    );
    let (status, body) = post(
        &app,
        who("root"),
        "/api/access/policies/save",
        &policy_form("aws-prod", "prod-approvers"),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Everyone signed in: catalog, own access, own approvals queue.
    for (path, form) in [
        ("/api/access/catalog", vec![("q", ""), ("after", "")]),
        ("/api/access/mine", vec![]),
        ("/api/access/approvals", vec![]),
        ("/api/notifications/mine", vec![]),
        ("/api/notifications/mine/save", vec![("access", "on")]),
        ("/api/tokens/mine", vec![]),
        ("/api/reviews/mine", vec![]),
        ("/api/access/emergencies", vec![]),
        ("/api/access/delegations", vec![]),
        (
            "/api/tokens/create",
            vec![("name", "laptop"), ("days", "7"), ("scope_read", "on")],
        ),
    ] {
        assert_eq!(
            post(&app, &anonymous, path, &form).await.0,
            401,
            "anonymous {path}"
        );
        for p in PEOPLE {
            assert_eq!(post(&app, who(p), path, &form).await.0, 200, "{p} {path}");
        }
    }
    // What one is, and one's start page: nothing for someone not signed in (every page asks,
    // the start page is for anyone), one's own for everyone else.
    for path in ["/api/access/roles", "/api/access/dashboard"] {
        let (status, body) = post(&app, &anonymous, path, &[]).await;
        assert_eq!(
            (status, body),
            (200, serde_json::Value::Null),
            "anonymous {path}"
        );
        for p in PEOPLE {
            let (status, body) = post(&app, who(p), path, &[]).await;
            assert_eq!(status, 200, "{p} {path}");
            assert!(body.is_object(), "{p} {path}: {body}");
        }
    }
    let ask = [
        ("group_id", "aws-prod"),
        ("duration", "1h"),
        ("reason", "on call"),
        ("start", ""),
    ];
    assert_eq!(
        post(&app, &anonymous, "/api/access/request", &ask).await.0,
        401
    );
    let (status, body) = post(&app, who("ada"), "/api/access/request", &ask).await;
    assert_eq!(status, 200, "{body}");
    let request_id = body["id"].as_i64().unwrap().to_string();

    // Routing: only bob sees it; cy (another group's approver) and the admin do not.
    let queue = |p: &'static str| {
        let c = who(p).clone();
        let app = &app;
        async move {
            post(app, &c, "/api/access/approvals", &[])
                .await
                .1
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(
        (
            queue("bob").await,
            queue("cy").await,
            queue("root").await,
            queue("ada").await
        ),
        (1, 0, 0, 0)
    );

    // A request's story: its requester, its approvers and admins; anyone else is told it is not
    // found (as for an id that does not exist), so its existence is not disclosed.
    let story = [("id", request_id.as_str())];
    assert_eq!(
        post(&app, &anonymous, "/api/access/request/story", &story)
            .await
            .0,
        401
    );
    for (p, status) in [("ada", 200), ("bob", 200), ("root", 200), ("cy", 404)] {
        let (got, body) = post(&app, who(p), "/api/access/request/story", &story).await;
        assert_eq!(got, status, "{p} reads the story: {body}");
        if status == 200 {
            assert_eq!(
                body["request"]["request"]["id"].as_i64(),
                request_id.parse().ok()
            );
        }
    }
    assert_eq!(
        post(
            &app,
            who("root"),
            "/api/access/request/story",
            &[("id", "999999")]
        )
        .await
        .0,
        404
    );

    // Deciding: anonymous 401; the requester, another group's approver and the admin 403.
    let decide = [
        ("request_id", request_id.as_str()),
        ("decision", "approve"),
        ("comment", "ok"),
        ("duration", ""),
    ];
    assert_eq!(
        post(&app, &anonymous, "/api/access/decide", &decide)
            .await
            .0,
        401
    );
    for p in ["ada", "cy", "root"] {
        assert_eq!(
            post(&app, who(p), "/api/access/decide", &decide).await.0,
            403,
            "{p} decides"
        );
    }
    // Cancelling someone else's request: 403.
    let cancel = [("request_id", request_id.as_str())];
    assert_eq!(
        post(&app, &anonymous, "/api/access/cancel", &cancel)
            .await
            .0,
        401
    );
    assert_eq!(
        post(&app, who("bob"), "/api/access/cancel", &cancel)
            .await
            .0,
        403
    );
    let (status, body) = post(&app, who("bob"), "/api/access/decide", &decide).await;
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("Approved")),
        "{body}"
    );
    assert_eq!(
        post(&app, who("bob"), "/api/access/decide", &decide)
            .await
            .0,
        409,
        "decided once"
    );

    // Grants: only the holder gives back; only an admin revokes.
    let (_, mine) = post(&app, who("ada"), "/api/access/mine", &[]).await;
    let grant_id = mine["grants"][0]["grant"]["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let give = [("grant_id", grant_id.as_str())];
    assert_eq!(
        post(&app, &anonymous, "/api/access/give-back", &give)
            .await
            .0,
        401
    );
    assert_eq!(
        post(&app, who("bob"), "/api/access/give-back", &give)
            .await
            .0,
        403
    );
    let revoke = [("grant_id", grant_id.as_str()), ("reason", "audit")];
    for p in ["ada", "bob", "cy"] {
        assert_eq!(
            post(&app, who(p), "/api/access/revoke", &revoke).await.0,
            403,
            "{p} revokes"
        );
    }
    let (status, body) = post(&app, who("root"), "/api/access/revoke", &revoke).await;
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("Revoking")),
        "{body}"
    );
    assert_eq!(
        post(&app, who("ada"), "/api/access/give-back", &give)
            .await
            .0,
        409,
        "already ended"
    );

    // Cross-site calls are refused before anything runs.
    let res = who("root")
        .post(app.url("/api/access/policies/save"))
        .header("origin", "https://evil.example")
        .form(&policy_form("aws-dev", "dev-approvers"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let (_, policies) = post(&app, who("root"), "/api/access/policies", &[]).await;
    assert_eq!(
        policies.as_array().unwrap().len(),
        1,
        "nothing saved cross-site"
    );
}

#[tokio::test]
async fn break_glass_its_review_and_delegations_answer_only_to_whom_they_belong() {
    let (app, _sim) = setup().await;
    let anonymous = browser();
    let mut people = std::collections::HashMap::new();
    for p in PEOPLE {
        let c = browser();
        sign_in(&app, &c, &format!("{p}@example.com")).await;
        people.insert(p, c);
    }
    let who = |p: &str| &people[p];
    // aws-dev: cy approves (through dev-approvers); emergency access for up to an hour.
    let mut form = policy_form("aws-dev", "dev-approvers");
    form.extend([("break_glass_max", "1h"), ("break_glass_per_day", "1")]);
    let (status, body) = post(&app, who("root"), "/api/access/policies/save", &form).await;
    assert_eq!(status, 200, "{body}");

    let glass = [
        ("group_id", "aws-dev"),
        ("duration", "30m"),
        ("reason", "the database is down"),
    ];
    assert_eq!(
        post(&app, &anonymous, "/api/access/emergency", &glass)
            .await
            .0,
        401
    );
    // aws-prod has no break-glass: refused, nothing granted.
    let prod = [
        ("group_id", "aws-prod"),
        ("duration", "30m"),
        ("reason", "x"),
    ];
    assert_eq!(
        post(&app, who("ada"), "/api/access/emergency", &prod)
            .await
            .0,
        422
    );
    let (status, body) = post(&app, who("ada"), "/api/access/emergency", &glass).await;
    assert_eq!(
        (status, body["state"].as_str(), body["emergency"].as_str()),
        (200, Some("Approved"), Some("Pending")),
        "{body}"
    );
    let id = body["id"].as_i64().unwrap().to_string();
    // Once a day.
    assert_eq!(
        post(&app, who("ada"), "/api/access/emergency", &glass)
            .await
            .0,
        409
    );
    // The admins see it on the banner at once.
    let (_, alerts) = post(&app, who("root"), "/api/admin/alerts", &[]).await;
    assert_eq!(alerts["emergencies_unreviewed"], 1, "{alerts}");

    // Only the request's approvers review it, never its requester, and once.
    let (_, to_review) = post(&app, who("cy"), "/api/access/emergencies", &[]).await;
    assert_eq!(to_review.as_array().unwrap().len(), 1, "{to_review}");
    for p in ["ada", "bob", "root"] {
        let (_, listed) = post(&app, who(p), "/api/access/emergencies", &[]).await;
        assert_eq!(listed.as_array().unwrap().len(), 0, "{p} lists {listed}");
    }
    let review = [
        ("request_id", id.as_str()),
        ("outcome", "justified"),
        ("comment", "incident 42"),
    ];
    assert_eq!(
        post(&app, &anonymous, "/api/access/emergency/review", &review)
            .await
            .0,
        401
    );
    for p in ["ada", "bob", "root"] {
        assert_eq!(
            post(&app, who(p), "/api/access/emergency/review", &review)
                .await
                .0,
            403,
            "{p} reviews"
        );
    }
    let (status, body) = post(&app, who("cy"), "/api/access/emergency/review", &review).await;
    assert_eq!(
        (status, body["emergency"].as_str()),
        (200, Some("Justified")),
        "{body}"
    );
    assert_eq!(
        post(&app, who("cy"), "/api/access/emergency/review", &review)
            .await
            .0,
        409
    );

    // Bundles: an unknown one is not found for everyone signed in; asking needs a session.
    for (path, form) in [
        ("/api/access/catalog/bundle", vec![("id", "999")]),
        (
            "/api/access/request/bundle",
            vec![("bundle_id", "999"), ("duration", ""), ("reason", "x")],
        ),
    ] {
        assert_eq!(post(&app, &anonymous, path, &form).await.0, 401, "{path}");
        for p in PEOPLE {
            assert_eq!(post(&app, who(p), path, &form).await.0, 404, "{p} {path}");
        }
    }

    // Delegations: one's own only.
    let delegate = [
        ("delegate", "bob@example.com"),
        ("from", ""),
        ("until", "2099-01-01T00:00"),
    ];
    assert_eq!(
        post(&app, &anonymous, "/api/access/delegations/save", &delegate)
            .await
            .0,
        401
    );
    let (status, body) = post(&app, who("cy"), "/api/access/delegations/save", &delegate).await;
    assert_eq!(status, 422, "ninety days at most: {body}");
    use app::ssr::clock::Clock;
    let until = SystemClock.timestamp().plus_secs(86_400).utc_datetime();
    let until = until[..16].replace(' ', "T");
    let delegate = [
        ("delegate", "bob@example.com"),
        ("from", ""),
        ("until", until.as_str()),
    ];
    let (status, body) = post(&app, who("cy"), "/api/access/delegations/save", &delegate).await;
    assert_eq!(status, 200, "{body}");
    let remove = [("id", body["id"].as_i64().unwrap().to_string())];
    let remove: Vec<(&str, &str)> = remove.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for p in ["ada", "bob", "root"] {
        assert_eq!(
            post(&app, who(p), "/api/access/delegations/remove", &remove)
                .await
                .0,
            404,
            "{p} removes cy's delegation"
        );
    }
    let (_, mine) = post(&app, who("cy"), "/api/access/delegations", &[]).await;
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(
        post(&app, who("cy"), "/api/access/delegations/remove", &remove)
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn the_audit_log_filters_pages_and_exports_for_admins_only() {
    let (app, _sim) = setup().await;
    let root = browser();
    sign_in(&app, &root, "root@example.com").await;
    let ada = browser();
    sign_in(&app, &ada, "ada@example.com").await;
    for (group, approvers) in [("aws-prod", "prod-approvers"), ("aws-dev", "dev-approvers")] {
        assert_eq!(
            post(
                &app,
                &root,
                "/api/access/policies/save",
                &policy_form(group, approvers)
            )
            .await
            .0,
            200
        );
    }
    let ask = [
        ("group_id", "aws-dev"),
        ("duration", "1h"),
        ("reason", "debugging"),
        ("start", ""),
    ];
    assert_eq!(post(&app, &ada, "/api/access/request", &ask).await.0, 200);

    let audit = |actor: &'static str,
                 subject: &'static str,
                 action: &'static str,
                 before: Option<String>| {
        let root = root.clone();
        let app = &app;
        async move {
            let mut form = vec![
                ("actor", actor.to_owned()),
                ("subject", subject.to_owned()),
                ("action", action.to_owned()),
                ("from", String::new()),
                ("to", String::new()),
            ];
            if let Some(b) = before {
                form.push(("before", b));
            }
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post(app, &root, "/api/audit", &form).await
        }
    };
    let (status, page) = audit("", "", "policy.", None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["events"].as_array().unwrap().len(), 2);
    let (_, page) = audit("ada", "", "", None).await;
    let actions: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["request.created"]);
    let (_, page) = audit("", "aws-dev", "", None).await;
    assert_eq!(
        page["events"].as_array().unwrap().len(),
        2,
        "the aws-dev policy and the request"
    );
    // Every condition at once (each is in the query only when set): a range around today
    // finds the request, one that ended yesterday finds nothing.
    let today = time::OffsetDateTime::now_utc().date();
    let all = |from: time::Date, to: time::Date| {
        let root = root.clone();
        let app = &app;
        async move {
            let form = [
                ("actor", "ADA".to_owned()),
                ("subject", "aws-dev".to_owned()),
                ("action", "request.".to_owned()),
                ("from", from.to_string()),
                ("to", to.to_string()),
            ];
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, page) = post(app, &root, "/api/audit", &form).await;
            assert_eq!(status, 200, "{page}");
            page["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["action"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let yesterday = today.previous_day().unwrap();
    assert_eq!(all(yesterday, today).await, ["request.created"]);
    assert!(all(yesterday, yesterday).await.is_empty());
    let (status, _) = post(
        &app,
        &root,
        "/api/audit",
        &[
            ("actor", ""),
            ("subject", ""),
            ("action", ""),
            ("from", "yesterday"),
            ("to", ""),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        post(
            &app,
            &ada,
            "/api/audit",
            &[
                ("actor", ""),
                ("subject", ""),
                ("action", ""),
                ("from", ""),
                ("to", "")
            ]
        )
        .await
        .0,
        403
    );

    let csv = root
        .get(app.url("/admin/audit/export?format=csv&action=policy."))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("gatepass-audit.csv"));
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "seq,at,actor,action,subject,details");
    assert_eq!(lines.len(), 3);
    assert!(lines[1].contains("\"policy.saved\""));
    let jsonl = root
        .get(app.url("/admin/audit/export?format=jsonl"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let events: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["action"], "request.created", "newest first");
    assert_eq!(
        ada.get(app.url("/admin/audit/export?format=csv"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let anonymous = browser()
        .get(app.url("/admin/audit/export?format=csv"))
        .send()
        .await
        .unwrap();
    assert!(
        !anonymous.status().is_success(),
        "anonymous: {}",
        anonymous.status()
    );
}

/// The statements a signed-in page view costs (the fewest of three views, so a background
/// job's query that happens to overlap one does not count).
async fn page_statements(app: &TestApp, client: &reqwest::Client, path: &str) -> u64 {
    let mut fewest = u64::MAX;
    for _ in 0..3 {
        let before = app.db.statements();
        let res = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        res.text().await.unwrap();
        fewest = fewest.min(app.db.statements() - before);
    }
    fewest
}

/// No page reads the database once per row: each costs a few statements, and the same few
/// with one request and grant as with many.
#[tokio::test]
async fn pages_cost_a_bounded_number_of_queries_whatever_the_rows() {
    let (app, _sim) = setup().await;
    let mut people = std::collections::HashMap::new();
    for p in PEOPLE {
        let c = browser();
        sign_in(&app, &c, &format!("{p}@example.com")).await;
        people.insert(p, c);
    }
    for (group, approvers) in [("aws-prod", "prod-approvers"), ("aws-dev", "dev-approvers")] {
        let (status, body) = post(
            &app,
            &people["root"],
            "/api/access/policies/save",
            &policy_form(group, approvers),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    // Asks for `group` as `who`; approved by `approver` when given.
    let ask = |who: &'static str, group: &'static str, approver: Option<&'static str>| {
        let app = &app;
        let people = &people;
        async move {
            let form = [
                ("group_id", group),
                ("duration", "1h"),
                ("reason", "on call"),
                ("start", ""),
            ];
            let (status, body) = post(app, &people[who], "/api/access/request", &form).await;
            assert_eq!(status, 200, "{body}");
            if let Some(approver) = approver {
                let id = body["id"].as_i64().unwrap().to_string();
                let decide = [
                    ("request_id", id.as_str()),
                    ("decision", "approve"),
                    ("comment", "ok"),
                    ("duration", ""),
                ];
                let (status, body) =
                    post(app, &people[approver], "/api/access/decide", &decide).await;
                assert_eq!(status, 200, "{body}");
            }
        }
    };
    const PAGES: [(&str, &str); 8] = [
        ("root", "/"),
        ("root", "/access"),
        ("root", "/request"),
        ("bob", "/approvals"),
        ("root", "/admin/access"),
        ("root", "/admin/policies"),
        ("root", "/admin/groups"),
        ("root", "/admin/audit"),
    ];
    let costs = || async {
        let mut out = Vec::new();
        for (who, path) in PAGES {
            out.push(page_statements(&app, &people[who], path).await);
        }
        out
    };
    ask("root", "aws-prod", None).await;
    ask("ada", "aws-dev", Some("cy")).await;
    // What stays the same from page to page (the header's roles) is kept a while: the cost
    // measured is a page's in steady use.
    costs().await;
    let few = costs().await;
    ask("root", "aws-dev", Some("cy")).await;
    ask("ada", "aws-prod", None).await;
    ask("cy", "aws-prod", None).await;
    ask("bob", "aws-dev", Some("cy")).await;
    let many = costs().await;
    for ((who, path), (few, many)) in PAGES.iter().zip(few.iter().zip(&many)) {
        assert!(*many <= 10, "{path} as {who}: {many} statements");
        assert_eq!(few, many, "{path} as {who}: more rows, more statements");
    }
}

/// Access reviews: a reviewer sees and decides only the items routed to them (bob reviews
/// aws-prod, cy aws-dev); a requester with nothing to review, and an admin who is not a
/// reviewer, see nothing; the report is for admins only; a refused decision changes nothing.
#[tokio::test]
async fn reviewers_see_and_decide_only_their_own_items() {
    let (app, _sim) = setup().await;
    let mut people = std::collections::HashMap::new();
    for p in PEOPLE {
        let c = browser();
        sign_in(&app, &c, &format!("{p}@example.com")).await;
        people.insert(p, c);
    }
    let who = |p: &str| &people[p];
    for (group, approvers) in [("aws-prod", "prod-approvers"), ("aws-dev", "dev-approvers")] {
        let (status, body) = post(
            &app,
            who("root"),
            "/api/access/policies/save",
            &policy_form(group, approvers),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let id_of = |login: &str| {
        let app = &app;
        let login = login.to_owned();
        async move {
            app::ssr::db::directory::user_id_by_login(&app.db, &login)
                .await
                .unwrap()
                .unwrap()
        }
    };
    for (g, p) in [("aws-prod", "ada"), ("aws-prod", "cy"), ("aws-dev", "ada")] {
        upsert_membership(
            &app.db,
            &GroupId::from(g),
            &id_of(&format!("{p}@example.com")).await,
            ms(2),
        )
        .await
        .unwrap();
    }
    let (status, c) = post(
        &app,
        who("root"),
        "/api/reviews/create",
        &[
            ("name", "Q3"),
            ("patterns", "aws-*"),
            ("include", "both"),
            ("reviewers", "approvers"),
            ("due_days", "14"),
            ("default_action", "keep"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{c}");
    let campaign = c["id"].as_i64().unwrap().to_string();
    let items = |p: &'static str| {
        let c = who(p).clone();
        let (app, campaign) = (&app, campaign.clone());
        async move {
            post(
                app,
                &c,
                "/api/reviews/items",
                &[("campaign", campaign.as_str()), ("state", "all")],
            )
            .await
        }
    };
    let (status, bobs) = items("bob").await;
    assert_eq!(status, 200, "{bobs}");
    let bob_items: Vec<(String, i64)> = bobs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["group_name"].as_str().unwrap().to_owned(),
                i["id"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(bob_items.len(), 2, "ada and cy in aws-prod: {bobs}");
    assert!(bob_items.iter().all(|(g, _)| g == "aws-prod"));
    let (status, cys) = items("cy").await;
    assert_eq!(status, 200);
    let cy_items = cys["items"].as_array().unwrap();
    assert_eq!(cy_items.len(), 1, "ada in aws-dev only: {cys}");
    assert_eq!(cy_items[0]["group_name"], "aws-dev");
    for p in ["ada", "root"] {
        assert_eq!(items(p).await.0, 404, "{p} reviews nothing here");
        let (_, mine) = post(&app, who(p), "/api/reviews/mine", &[]).await;
        assert_eq!(mine.as_array().unwrap().len(), 0, "{p}");
    }
    assert_eq!(
        post(
            &app,
            &browser(),
            "/api/reviews/items",
            &[("campaign", campaign.as_str())]
        )
        .await
        .0,
        401
    );

    // Deciding bob's items: cy, ada and the admin are refused, and nothing changes.
    let bob_item = bob_items[0].1.to_string();
    let decide = [
        ("campaign", campaign.as_str()),
        ("decision", "revoke"),
        ("comment", ""),
        ("items[]", bob_item.as_str()),
    ];
    for p in ["cy", "ada", "root"] {
        assert_eq!(
            post(&app, who(p), "/api/reviews/decide", &decide).await.0,
            404,
            "{p} decides bob's item"
        );
    }
    assert_eq!(
        post(&app, &browser(), "/api/reviews/decide", &decide)
            .await
            .0,
        401
    );
    // "Keep all" in a group one does not review decides nothing.
    let keep_all = [
        ("campaign", campaign.as_str()),
        ("decision", "keep"),
        ("group", "aws-prod"),
    ];
    assert_eq!(
        post(&app, who("cy"), "/api/reviews/decide", &keep_all)
            .await
            .0,
        422
    );
    let (status, body) = post(
        &app,
        who("root"),
        "/api/reviews/admin/campaign",
        &[("id", campaign.as_str())],
    )
    .await;
    assert_eq!(
        (status, body["total"]["undecided"].as_i64()),
        (200, Some(3)),
        "{body}"
    );
    let (status, body) = post(&app, who("bob"), "/api/reviews/decide", &decide).await;
    assert_eq!((status, body.as_i64()), (200, Some(1)), "{body}");

    // The report: admins only.
    let report = |c: &reqwest::Client, file: &str| {
        c.get(app.url(&format!("/admin/reviews/{campaign}/{file}")))
            .send()
    };
    for p in ["ada", "bob", "cy"] {
        assert_eq!(
            report(who(p), "report.csv").await.unwrap().status(),
            403,
            "{p}"
        );
    }
    assert!(!report(&browser(), "report.csv")
        .await
        .unwrap()
        .status()
        .is_success());
    assert_eq!(
        report(who("root"), "report.exe").await.unwrap().status(),
        404
    );
    let csv = report(who("root"), "report.csv").await.unwrap();
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.unwrap();
    assert_eq!(csv.lines().count(), 4, "a header and three items: {csv}");
    assert!(
        csv.starts_with("item,user_id,login,name,group_id,group,access"),
        "{csv}"
    );
    assert!(csv.contains("\"revoke\""), "{csv}");
    let json: Value = report(who("root"), "report.json")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["items"].as_array().unwrap().len(), 3, "{json}");
    assert_eq!(
        report(who("root"), "report.csv").await.unwrap().status(),
        200
    );
    let missing = who("root")
        .get(app.url("/admin/reviews/999/report.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}
