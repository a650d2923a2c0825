//! Okta apps as requestable resources against the Okta simulator, on both engines with a
//! clock that moves only when told to: the sync copies ACTIVE apps and who is assigned to the
//! requestable ones; an approved request assigns the person (`POST /api/v1/apps/{id}/users`)
//! and its end unassigns them; an assignment Okta already has is refused; an assignment a
//! group gives meanwhile is kept when the grant ends (Okta refuses with `E0000046`, and the
//! grant still ends), and the grant's own assignment goes once the group no longer gives it.

use std::sync::Arc;

use crate::common::engines;
use crate::common::okta::start_sim;
use app::model::{GrantState, GroupId, IntegrationInput, Me, PolicySpec, SyncKind, UserId};
use app::ssr::auth::{Admin, AuthSettings, Requester};
use app::ssr::clock::ManualClock;
use app::ssr::core::Core;
use app::ssr::db::audit::{list_audit_events, verify_audit_chain};
use app::ssr::db::{apps, grants};
use app::ssr::jobs::grant_engine::{schedule_once, work_once};
use app::ssr::okta::client::parse_org_url;
use app::ssr::okta::OktaTrust;
use app::ssr::secrets::local::LocalSecrets;
use app::ssr::secrets::CachedSecrets;
use app::ssr::services::access::{resolve_policy_spec, DecisionInput, RequestInput};
use app::ssr::testing::{fresh_db, test_person as me, TestDb};
use okta_sim::RunningSim;
use serde_json::json;
use time::macros::datetime;
use time::Duration;

struct World {
    state: Core,
    clock: ManualClock,
    sim: RunningSim,
    _db: TestDb,
}

async fn world(engine: app::model::DatabaseEngine) -> World {
    let sim = start_sim(json!({
        "users": [
            { "login": "ada@example.com", "firstName": "Ada", "lastName": "L" },
            { "login": "bob@example.com", "firstName": "Bob", "lastName": "B" },
            { "login": "root@example.com", "firstName": "Root", "lastName": "R", "roles": [{ "type": "SUPER_ADMIN" }] }
        ],
        "groups": [
            { "name": "analysts", "members": ["ada@example.com"] },
            { "name": "eng", "members": ["ada@example.com", "bob@example.com"] }
        ],
        "apps": [
            { "name": "datadog", "label": "Datadog", "signOnMode": "BOOKMARK" },
            { "name": "snowflake", "label": "Snowflake", "signOnMode": "BOOKMARK", "groups": ["analysts"] },
            { "name": "legacy", "label": "Legacy Jira", "signOnMode": "BOOKMARK", "status": "INACTIVE" }
        ],
        "tokens": [{ "token": "apps-token", "user": "root@example.com" }]
    }))
    .await;
    let t = fresh_db(engine).await;
    let clock = ManualClock::at(datetime!(2026-06-01 09:00 UTC));
    let state = Core::new(
        t.db.clone(),
        Arc::new(clock.clone()),
        AuthSettings::default(),
        CachedSecrets::new(
            None,
            Arc::new(LocalSecrets),
            std::time::Duration::from_secs(300),
        ),
    )
    .with_okta_trust(OktaTrust::new(
        vec![parse_org_url(&sim.base_url()).unwrap()],
        vec!["env:GATEPASS_TEST_APPS_TOKEN".parse().unwrap()],
    ));
    std::env::set_var("GATEPASS_TEST_APPS_TOKEN", "apps-token");
    state
        .integration()
        .save_as(
            "test",
            &IntegrationInput {
                org_url: sim.base_url(),
                auth_method: "api_token".into(),
                secret_ref: "env:GATEPASS_TEST_APPS_TOKEN".into(),
                sync_incremental_minutes: "10".into(),
                sync_full_hours: "24".into(),
                ..IntegrationInput::default()
            },
        )
        .await
        .unwrap();
    let w = World {
        state,
        clock,
        sim,
        _db: t,
    };
    w.sync().await;
    for app in ["Datadog", "Snowflake"] {
        let spec: PolicySpec = serde_json::from_value(json!({
            "applies_to": format!("app:{app}"),
            "approvers": ["bob@example.com"],
            "default_duration": "1h",
            "max_duration": "4h",
        }))
        .unwrap();
        let input = resolve_policy_spec(&w.state.db, &spec).await.unwrap();
        w.state
            .access()
            .save_policy(&Admin::for_tests(me("root")), input)
            .await
            .unwrap();
    }
    // Now that apps are requestable, the next sync reads who is assigned to them.
    w.sync().await;
    w
}

impl World {
    async fn sync(&self) {
        let run = self.state.sync().run(SyncKind::Full).await.unwrap();
        assert_eq!(run.status.as_str(), "ok", "{run:?}");
    }

    fn id(&self, login: &str) -> String {
        let org = self.sim.sim.org.read().unwrap();
        org.users[org.find_user(login).unwrap() as usize].id.clone()
    }

    fn app(&self, label: &str) -> String {
        let org = self.sim.sim.org.read().unwrap();
        org.apps
            .iter()
            .find(|a| a.label == label)
            .unwrap()
            .id
            .clone()
    }

    /// How Okta (the simulator) holds `login` on the app: `None`, or (direct, through groups).
    fn held(&self, label: &str, login: &str) -> Option<(bool, usize)> {
        let app = self.app(label);
        let org = self.sim.sim.org.read().unwrap();
        let a = org.find_app(&app).unwrap();
        let u = org.find_user(login).unwrap();
        org.app_assignment(a, u)
            .map(|h| (h.direct.is_some(), h.groups.len()))
    }

    /// An Okta admin assigns `login` to the app directly (behind Gatepass's back).
    fn assign_directly(&self, label: &str, login: &str) {
        let app = self.app(label);
        let mut org = self.sim.sim.org.write().unwrap();
        let a = org.find_app(&app).unwrap();
        let u = org.find_user(login).unwrap();
        let actor = okta_sim::store::Actor {
            id: "admin".into(),
            kind: "User",
            alternate_id: "admin".into(),
            display_name: "Admin".into(),
        };
        org.assign_app(a, u, actor, 1_700_000_000_000);
    }

    /// An Okta admin assigns (or unassigns) the group `eng` to Datadog.
    fn assign_eng_to_datadog(&self, assigned: bool) {
        let app = self.app("Datadog");
        let mut org = self.sim.sim.org.write().unwrap();
        let a = org.find_app(&app).unwrap();
        let g = org.group_by_id_or_name("eng").unwrap();
        org.set_app_group(a, g, assigned, 1_700_000_000_000);
    }

    async fn work(&self) {
        let settings = self.state.integration().current().await.unwrap().unwrap();
        let okta = self.state.okta_client(&settings).await.unwrap();
        work_once(&self.state, okta.as_ref()).await.unwrap();
    }

    fn ada(&self) -> Requester {
        Requester::for_tests(Me {
            okta_id: UserId::from(self.id("ada@example.com")),
            ..me("ada")
        })
    }

    fn bob(&self) -> Requester {
        Requester::for_tests(Me {
            okta_id: UserId::from(self.id("bob@example.com")),
            ..me("bob")
        })
    }

    /// Ada asks for the app for an hour and Bob approves; Ada's grant.
    async fn granted(&self, label: &str) -> app::model::Grant {
        let access = self.state.access();
        let r = access
            .request_access(
                &self.ada(),
                RequestInput {
                    group_id: GroupId::from(self.app(label)),
                    duration: Some("1h".parse().unwrap()),
                    reason: "dashboards".into(),
                    starts_at: None,
                    ticket: String::new(),
                },
            )
            .await
            .unwrap();
        access
            .decide(
                &self.bob(),
                DecisionInput {
                    request_id: r.id,
                    decision: app::model::Decision::Approve,
                    comment: "ok".into(),
                    duration: None,
                },
            )
            .await
            .unwrap();
        grants::list_grants_of(
            &self.state.db,
            &UserId::from(self.id("ada@example.com")),
            10,
        )
        .await
        .unwrap()
        .remove(0)
    }

    async fn actions(&self) -> Vec<String> {
        list_audit_events(&self.state.db, None, 200)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect()
    }
}

#[tokio::test]
async fn the_sync_copies_active_apps_and_who_holds_the_requestable_ones() {
    for engine in engines() {
        let w = world(engine).await;
        let listed: Vec<String> = apps::list_apps(&w.state.db)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.label)
            .collect();
        assert_eq!(listed, ["Datadog", "Snowflake"], "only ACTIVE apps");
        let ada = UserId::from(w.id("ada@example.com"));
        assert_eq!(
            apps::assignment(&w.state.db, &GroupId::from(w.app("Snowflake")), &ada)
                .await
                .unwrap()
                .as_deref(),
            Some("GROUP"),
            "through analysts"
        );
        assert_eq!(
            apps::assignment(&w.state.db, &GroupId::from(w.app("Datadog")), &ada)
                .await
                .unwrap(),
            None
        );
    }
}

#[tokio::test]
async fn an_approved_request_assigns_the_app_and_its_end_unassigns_it() {
    for engine in engines() {
        let w = world(engine).await;
        assert_eq!(w.held("Datadog", "ada@example.com"), None);
        let grant = w.granted("Datadog").await;
        assert_eq!(grant.state, GrantState::Active);
        w.work().await;
        assert_eq!(
            w.held("Datadog", "ada@example.com"),
            Some((true, 0)),
            "assigned directly"
        );
        // An hour later the grant expires and the assignment goes.
        w.clock.advance(Duration::minutes(61));
        assert_eq!(schedule_once(&w.state).await.unwrap(), 1);
        w.work().await;
        assert_eq!(w.held("Datadog", "ada@example.com"), None);
        assert_eq!(
            grants::find_grant(&w.state.db, grant.id)
                .await
                .unwrap()
                .unwrap()
                .state,
            GrantState::Revoked
        );
        let actions = w.actions().await;
        for a in ["okta.app.assigned", "okta.app.unassigned"] {
            assert!(actions.contains(&a.to_owned()), "{a} in {actions:?}");
        }
        assert_eq!(verify_audit_chain(&w.state.db).await.unwrap(), None);
    }
}

#[tokio::test]
async fn an_assignment_a_group_gives_is_refused_up_front_and_never_removed_at_the_end() {
    for engine in engines() {
        let w = world(engine).await;
        // Ada holds Snowflake through `analysts`: asking for it is refused.
        let e = w
            .state
            .access()
            .request_access(
                &w.ada(),
                RequestInput {
                    group_id: GroupId::from(w.app("Snowflake")),
                    duration: None,
                    reason: "queries".into(),
                    starts_at: None,
                    ticket: String::new(),
                },
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains("already assigned"), "{e}");

        // Datadog is granted; meanwhile an Okta admin assigns `eng` (Ada's group) to it.
        let grant = w.granted("Datadog").await;
        w.work().await;
        w.assign_eng_to_datadog(true);
        w.clock.advance(Duration::minutes(61));
        schedule_once(&w.state).await.unwrap();
        w.work().await;
        // Okta refused to take what the group gives: the grant ended, the app stays.
        assert_eq!(
            w.held("Datadog", "ada@example.com"),
            Some((true, 1)),
            "Okta keeps the assignment while a group gives it"
        );
        assert_eq!(
            grants::find_grant(&w.state.db, grant.id)
                .await
                .unwrap()
                .unwrap()
                .state,
            GrantState::Revoked
        );
        let actions = w.actions().await;
        assert!(
            actions.contains(&"okta.app.assignment_kept".to_owned()),
            "{actions:?}"
        );
        // The grant's own assignment goes once the group no longer gives the app.
        w.assign_eng_to_datadog(false);
        w.work().await;
        assert_eq!(
            w.held("Datadog", "ada@example.com"),
            Some((true, 0)),
            "not tried again before its time"
        );
        w.clock.advance(Duration::minutes(16));
        w.work().await;
        assert_eq!(w.held("Datadog", "ada@example.com"), None);
        assert!(app::ssr::db::outbox::list_pending_okta_ops(&w.state.db)
            .await
            .unwrap()
            .is_empty());
        assert!(w
            .actions()
            .await
            .contains(&"okta.app.unassigned".to_owned()));
    }
}

#[tokio::test]
async fn a_direct_assignment_made_since_the_last_sync_is_not_taken_over() {
    for engine in engines() {
        let w = world(engine).await;
        // Assigned in Okta after Gatepass last read Datadog's people: the request passes.
        w.assign_directly("Datadog", "ada@example.com");
        let grant = w.granted("Datadog").await;
        w.work().await;
        // Okta is asked first: the grant fails, saying why, and never assigns or unassigns.
        let failed = grants::find_grant(&w.state.db, grant.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(failed.state, GrantState::Failed);
        assert!(
            failed
                .revoked_reason
                .as_deref()
                .is_some_and(|r| r.contains("already assigns")),
            "{failed:?}"
        );
        w.clock.advance(Duration::minutes(61));
        schedule_once(&w.state).await.unwrap();
        w.work().await;
        assert_eq!(
            w.held("Datadog", "ada@example.com"),
            Some((true, 0)),
            "the assignment Okta had stays"
        );
    }
}
