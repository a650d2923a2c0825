//! The Okta integration pages' server functions over HTTP, signed in through the simulator:
//! saving settings (validated, audited, the secret never accepted or shown), the connection
//! test with its capability table, "Sync now", and admins only.

use std::time::Duration;

use crate::common::okta::{settings_form, sign_in, spawn_with_sim};
use crate::common::{browser, engines, post, TestApp};
use app::model::{ConnectionReport, IntegrationSettings, StepOutcome, SyncOverview};
use app::ssr::db::audit::{list_audit_events, verify_audit_chain};
use gatepass::config::OktaBootstrap;
use okta_sim::RunningSim;
use serde_json::{json, Value};

const TOKEN: &str = "settings-test-token";
const READ_ONLY_TOKEN: &str = "settings-read-only";

async fn setup(engine: app::model::DatabaseEngine) -> (TestApp, RunningSim) {
    let seed = json!({
        "users": [
            { "login": "admin@example.com", "firstName": "Ada", "lastName": "Admin", "roles": [{ "type": "SUPER_ADMIN" }] },
            { "login": "viewer@example.com", "firstName": "Vic", "lastName": "Viewer", "roles": [{ "type": "READ_ONLY_ADMIN" }] },
            { "login": "scoped@example.com", "firstName": "Sue", "lastName": "Scoped", "roles": [{ "type": "GROUP_MEMBERSHIP_ADMIN", "groups": ["aws-prod"] }] },
            { "login": "bob@example.com", "firstName": "Bob", "lastName": "Member" }
        ],
        "groups": [
            { "name": "aws-prod", "members": ["bob@example.com"] },
            { "name": "eng", "members": ["admin@example.com", "bob@example.com"] }
        ],
        "tokens": [
            { "token": TOKEN, "user": "admin@example.com" },
            { "token": READ_ONLY_TOKEN, "user": "viewer@example.com" },
            { "token": "settings-scoped", "user": "scoped@example.com" }
        ]
    });
    spawn_with_sim(engine, seed, "admin@example.com", &[], |config, org| {
        // The deployment allows the simulator's org and the local references these tests use;
        // it saves no settings itself (no org_url/secret_ref).
        config.okta = Some(OktaBootstrap {
            allowed_org_urls: vec![org.to_owned()],
            allowed_secret_refs: [
                "SETTINGS_TOKEN",
                "SETTINGS_SETTINGS_READ_ONLY",
                "SETTINGS_SETTINGS_SCOPED",
                "NOTHING_HERE",
                "SETTINGS_WRONG",
            ]
            .iter()
            .map(|v| format!("env:GATEPASS_TEST_{v}"))
            .collect(),
            ..OktaBootstrap::default()
        });
    })
    .await
}

#[tokio::test]
async fn admins_save_validated_settings_and_test_the_connection() {
    for engine in engines() {
        let (app, sim) = setup(engine).await;
        let admin = browser();
        sign_in(&app, &admin, "admin@example.com").await;
        std::env::set_var("GATEPASS_TEST_SETTINGS_TOKEN", TOKEN);
        let org = sim.base_url();

        // Nothing saved yet.
        let (status, body) = post(&app, &admin, "/api/okta/settings", &[]).await;
        assert_eq!((status, body), (200, Value::Null));

        // A pasted token instead of a reference is refused, naming the field; nothing saved.
        let (status, body) = post(
            &app,
            &admin,
            "/api/okta/settings/save",
            &settings_form(&org, TOKEN),
        )
        .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["Invalid"]["field"], "Secret reference");
        assert!(
            !body.to_string().contains(TOKEN),
            "the rejected value is not echoed: {body}"
        );
        let (_, body) = post(&app, &admin, "/api/okta/settings", &[]).await;
        assert_eq!(body, Value::Null, "nothing saved");
        let (status, body) = post(
            &app,
            &admin,
            "/api/okta/settings/save",
            &settings_form("http://okta.example.com", "env:X"),
        )
        .await;
        assert_eq!(
            (status, body["Invalid"]["field"].as_str()),
            (422, Some("Okta domain"))
        );

        // Saved, audited.
        let (status, body) = post(
            &app,
            &admin,
            "/api/okta/settings/save",
            &settings_form(&org, "env:GATEPASS_TEST_SETTINGS_TOKEN"),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let saved: IntegrationSettings = serde_json::from_value(body).unwrap();
        assert!(saved.secret_is_local);
        assert_eq!(saved.updated_by, "admin@example.com");
        let events = list_audit_events(&app.db, None, 10).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].action, "okta.integration.saved");
        assert_eq!(events[0].actor, "admin@example.com");
        assert!(events[0]
            .details
            .contains("env:GATEPASS_TEST_SETTINGS_TOKEN"));
        assert!(
            !events[0].details.contains(TOKEN),
            "the credential is never in the audit log"
        );
        assert_eq!(verify_audit_chain(&app.db).await.unwrap(), None);

        // The connection test: every step passes; a super admin can manage every group.
        let (status, body) = post(&app, &admin, "/api/okta/test", &[]).await;
        assert_eq!(status, 200, "{body}");
        assert!(
            !body.to_string().contains(TOKEN),
            "the credential is never in a response"
        );
        let report: ConnectionReport = serde_json::from_value(body).unwrap();
        assert!(report.passed(), "{report:#?}");
        assert_eq!(report.steps.len(), 5);
        assert_eq!(report.acts_as.as_deref(), Some("admin@example.com"));
        assert_eq!(report.roles, ["SUPER_ADMIN"]);
        let manage = report
            .capabilities
            .iter()
            .find(|c| c.name == "Manage group membership")
            .unwrap();
        assert_eq!(
            (manage.allowed, manage.scope.as_str()),
            (Some(true), "All OKTA_GROUP groups")
        );
        // Apps: readable, and a super admin may assign people to them.
        let row = |name: &str| {
            report
                .capabilities
                .iter()
                .find(|c| c.name == name)
                .map(|c| (c.allowed, c.scope.clone()))
                .unwrap()
        };
        assert_eq!(row("Read apps and assignments").0, Some(true));
        assert_eq!(
            row("Manage app assignments"),
            (Some(true), "All apps".to_owned())
        );

        // Sync now: runs in the background; the overview shows the run and the directory.
        let (status, body) = post(&app, &admin, "/api/okta/sync/now", &[("full", "true")]).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.as_str().unwrap().contains("full sync"), "{body}");
        let mut overview: Option<SyncOverview> = None;
        for _ in 0..100 {
            let (_, body) = post(&app, &admin, "/api/okta/sync", &[]).await;
            let o: SyncOverview = serde_json::from_value(body).unwrap();
            if o.runs
                .first()
                .is_some_and(|r| r.status.as_str() != "running")
            {
                overview = Some(o);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let overview = overview.expect("the sync finished");
        assert_eq!(
            overview.runs[0].status.as_str(),
            "ok",
            "{:?}",
            overview.runs[0]
        );
        assert_eq!(
            (
                overview.directory.users,
                overview.directory.groups,
                overview.directory.memberships
            ),
            (4, 3, 3)
        );
        let actions: Vec<String> = list_audit_events(&app.db, None, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(actions[0], "okta.sync.requested");
    }
}

#[tokio::test]
async fn the_capability_table_shows_what_a_lesser_credential_cannot_do() {
    let (app, sim) = setup(engines()[0]).await;
    let admin = browser();
    sign_in(&app, &admin, "admin@example.com").await;
    let org = sim.base_url();
    for (token, scope, allowed) in [
        (READ_ONLY_TOKEN, "None", Some(false)),
        ("settings-scoped", "Only: aws-prod", Some(true)),
    ] {
        let var = format!(
            "GATEPASS_TEST_SETTINGS_{}",
            token.replace('-', "_").to_uppercase()
        );
        std::env::set_var(&var, token);
        let reference = format!("env:{var}");
        let (status, _) = post(
            &app,
            &admin,
            "/api/okta/settings/save",
            &settings_form(&org, &reference),
        )
        .await;
        assert_eq!(status, 200);
        let (_, body) = post(&app, &admin, "/api/okta/test", &[]).await;
        let report: ConnectionReport = serde_json::from_value(body).unwrap();
        let manage = report
            .capabilities
            .iter()
            .find(|c| c.name == "Manage group membership")
            .unwrap();
        assert_eq!(
            (manage.allowed, manage.scope.as_str()),
            (allowed, scope),
            "{token}"
        );
        // Neither credential may assign apps (that needs a super, org or app admin).
        let apps = report
            .capabilities
            .iter()
            .find(|c| c.name == "Manage app assignments")
            .unwrap();
        assert_eq!(apps.allowed, Some(false), "{token}");
    }

    // A reference to nothing: the second step fails and says which secret; later steps skip.
    let (status, _) = post(
        &app,
        &admin,
        "/api/okta/settings/save",
        &settings_form(&org, "env:GATEPASS_TEST_NOTHING_HERE"),
    )
    .await;
    assert_eq!(status, 200);
    let (_, body) = post(&app, &admin, "/api/okta/test", &[]).await;
    let report: ConnectionReport = serde_json::from_value(body).unwrap();
    let outcomes: Vec<StepOutcome> = report.steps.iter().map(|s| s.outcome).collect();
    assert_eq!(
        outcomes,
        [
            StepOutcome::Passed,
            StepOutcome::Failed,
            StepOutcome::Skipped,
            StepOutcome::Skipped,
            StepOutcome::Skipped
        ]
    );
    assert!(report.steps[1]
        .detail
        .contains("GATEPASS_TEST_NOTHING_HERE"));

    // Okta refuses a wrong token: step three fails with Okta's code.
    std::env::set_var("GATEPASS_TEST_SETTINGS_WRONG", "not-a-token-okta-knows");
    post(
        &app,
        &admin,
        "/api/okta/settings/save",
        &settings_form(&org, "env:GATEPASS_TEST_SETTINGS_WRONG"),
    )
    .await;
    let (_, body) = post(&app, &admin, "/api/okta/test", &[]).await;
    assert!(!body.to_string().contains("not-a-token-okta-knows"));
    let report: ConnectionReport = serde_json::from_value(body).unwrap();
    assert_eq!(report.steps[2].outcome, StepOutcome::Failed);
    assert!(
        report.steps[2].detail.contains("E0000011"),
        "{}",
        report.steps[2].detail
    );
}

#[tokio::test]
async fn only_admins_reach_the_integration() {
    let (app, _sim) = setup(engines()[0]).await;
    let anonymous = browser();
    let (status, _) = post(&app, &anonymous, "/api/okta/settings", &[]).await;
    assert_eq!(status, 401);
    let bob = browser();
    sign_in(&app, &bob, "bob@example.com").await;
    for path in [
        "/api/okta/settings",
        "/api/okta/test",
        "/api/okta/sync",
        "/api/okta/sync/now",
    ] {
        let (status, _) = post(&app, &bob, path, &[]).await;
        assert_eq!(status, 403, "{path}");
    }
    let (status, _) = post(
        &app,
        &bob,
        "/api/okta/settings/save",
        &settings_form("acme.okta.com", "env:X"),
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        list_audit_events(&app.db, None, 10)
            .await
            .unwrap()
            .is_empty(),
        "nothing changed"
    );
    let res = bob.get(app.url("/admin/okta")).send().await.unwrap();
    assert_eq!(res.status(), 403, "the page answers 403 too");
}
