//! The grant engine against the Okta simulator, with a clock that moves only when told to:
//! approval adds the membership, expiry removes it, extensions move the removal, give-back
//! removes at once, a 5xx storm converges, a refused add is visible, scheduled grants start,
//! and a crashed worker's lease is taken over.

use std::sync::Arc;

use crate::common::engines;
use crate::common::okta::start_sim;
use app::model::{GrantId, GrantState, GroupId, IntegrationInput, Me, PolicyTarget, UserId};
use app::ssr::auth::{Admin, AuthSettings, Requester};
use app::ssr::clock::{Clock, ManualClock};
use app::ssr::core::Core;
use app::ssr::db::audit::verify_audit_chain;
use app::ssr::db::directory::{upsert_group, upsert_user, GroupRecord, UserRecord};
use app::ssr::db::{grants, outbox};
use app::ssr::jobs::grant_engine::{schedule_once, work_once};
use app::ssr::jobs::{JobSettings, Jobs};
use app::ssr::okta::client::parse_org_url;
use app::ssr::okta::OktaTrust;
use app::ssr::secrets::local::LocalSecrets;
use app::ssr::secrets::CachedSecrets;
use app::ssr::services::access::{DecisionInput, PolicyInput, RequestInput};
use app::ssr::testing::ms;
use app::ssr::testing::{fresh_db, test_person as me, TestDb};
use okta_sim::RunningSim;
use serde_json::json;
use time::macros::datetime;
use time::Duration;

pub(crate) struct World {
    pub(crate) state: Core,
    pub(crate) clock: ManualClock,
    pub(crate) sim: RunningSim,
    pub(crate) ada: String,
    pub(crate) group: String,
    _db: TestDb,
}

pub(crate) async fn world(engine: app::model::DatabaseEngine, token: &str) -> World {
    let sim = start_sim(json!({
        "users": [
            { "login": "ada@example.com", "firstName": "Ada", "lastName": "L" },
            { "login": "root@example.com", "firstName": "Root", "lastName": "R", "roles": [{ "type": "SUPER_ADMIN" }] },
            { "login": "viewer@example.com", "firstName": "Vi", "lastName": "V", "roles": [{ "type": "READ_ONLY_ADMIN" }] }
        ],
        "groups": [{ "name": "aws-prod", "members": [] }],
        "tokens": [
            { "token": "engine-token", "user": "root@example.com" },
            { "token": "engine-read-only", "user": "viewer@example.com" }
        ]
    }))
    .await;
    let (ada, group) = {
        let org = sim.sim.org.read().unwrap();
        let ada = org.users[org.find_user("ada@example.com").unwrap() as usize]
            .id
            .clone();
        let g = org
            .groups
            .iter()
            .find(|g| g.name == "aws-prod")
            .unwrap()
            .id
            .clone();
        (ada, g)
    };
    let t = fresh_db(engine).await;
    upsert_user(
        &t.db,
        &UserRecord {
            okta_id: UserId::from(ada.clone()),
            login: "ada@example.com".into(),
            email: "ada@example.com".into(),
            display_name: "Ada".into(),
            status: "ACTIVE".into(),
            profile: Default::default(),
        },
        ms(1),
    )
    .await
    .unwrap();
    upsert_user(
        &t.db,
        &UserRecord {
            okta_id: "approver".into(),
            login: "approver@example.com".into(),
            email: "approver@example.com".into(),
            display_name: "Approver".into(),
            status: "ACTIVE".into(),
            profile: Default::default(),
        },
        ms(1),
    )
    .await
    .unwrap();
    upsert_group(
        &t.db,
        &GroupRecord {
            okta_id: GroupId::from(group.clone()),
            name: "aws-prod".into(),
            description: String::new(),
            okta_type: "OKTA_GROUP".into(),
            managed_by_rule: false,
        },
        ms(1),
    )
    .await
    .unwrap();
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
    );
    let var = format!(
        "GATEPASS_TEST_ENGINE_{}",
        token.replace('-', "_").to_uppercase()
    );
    let state = state.with_okta_trust(OktaTrust::new(
        vec![parse_org_url(&sim.base_url()).unwrap()],
        vec![format!("env:{var}").parse().unwrap()],
    ));
    std::env::set_var(&var, token);
    state
        .integration()
        .save_as(
            "test",
            &IntegrationInput {
                org_url: sim.base_url(),
                auth_method: "api_token".into(),
                secret_ref: format!("env:{var}"),
                sync_incremental_minutes: "10".into(),
                sync_full_hours: "24".into(),
                ..IntegrationInput::default()
            },
        )
        .await
        .unwrap();
    state
        .access()
        .save_policy(
            &Admin::for_tests(me("root")),
            PolicyInput {
                target: Some(PolicyTarget::Group(GroupId::from(group.clone()))),
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
    World {
        state,
        clock,
        sim,
        ada,
        group,
        _db: t,
    }
}

impl World {
    /// The simulator's id of the person with `login`.
    pub(crate) fn sim_id(&self, login: &str) -> String {
        let org = self.sim.sim.org.read().unwrap();
        org.users[org.find_user(login).unwrap() as usize].id.clone()
    }

    /// Whether Okta (the simulator) lists the user with id `user` in the group.
    pub(crate) fn in_group(&self, user: &str) -> bool {
        let org = self.sim.sim.org.read().unwrap();
        let g = org.find_group(&self.group).unwrap();
        org.groups[g as usize]
            .members
            .contains(&org.user_by_id(user).unwrap())
    }

    pub(crate) fn member(&self) -> bool {
        let org = self.sim.sim.org.read().unwrap();
        let g = org.find_group(&self.group).unwrap();
        let u = org.user_by_id(&self.ada).unwrap();
        org.groups[g as usize].members.contains(&u)
    }

    async fn okta(&self) -> Arc<app::ssr::okta::OktaClient> {
        let settings = self.state.integration().current().await.unwrap().unwrap();
        self.state.okta_client(&settings).await.unwrap()
    }

    pub(crate) async fn work(&self) -> app::ssr::jobs::grant_engine::PassReport {
        let okta = self.okta().await;
        work_once(&self.state, okta.as_ref()).await.unwrap()
    }

    pub(crate) async fn approved_grant(
        &self,
        duration: &str,
        starts_at: Option<app::model::Timestamp>,
    ) -> app::model::Grant {
        let access = self.state.access();
        let r = access
            .request_access(
                &Requester::for_tests(Me {
                    okta_id: UserId::from(self.ada.clone()),
                    ..me("ada")
                }),
                RequestInput {
                    group_id: GroupId::from(self.group.clone()),
                    duration: Some(duration.parse().unwrap()),
                    reason: String::new(),
                    starts_at,
                    ticket: String::new(),
                },
            )
            .await
            .unwrap();
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
        grants::list_grants_of(&self.state.db, &UserId::from(self.ada.clone()), 10)
            .await
            .unwrap()[0]
            .clone()
    }

    /// Ada's newest grant's id.
    pub(crate) async fn grant_of_ada(&self) -> GrantId {
        grants::list_grants_of(&self.state.db, &UserId::from(self.ada.clone()), 10)
            .await
            .unwrap()[0]
            .id
    }

    async fn grant(&self, id: i64) -> app::model::Grant {
        grants::list_grants_of(&self.state.db, &UserId::from(self.ada.clone()), 10)
            .await
            .unwrap()
            .into_iter()
            .find(|g| g.id == GrantId::from(id))
            .unwrap()
    }
}

#[tokio::test]
async fn approval_adds_and_expiry_removes_the_membership() {
    for engine in engines() {
        let w = world(engine, "engine-token").await;
        let g = w.approved_grant("1h", None).await;
        assert!(!w.member(), "nothing in Okta before the worker runs");
        assert_eq!(w.work().await.done, 1);
        assert!(w.member(), "approval → membership in Okta");

        w.clock.advance(Duration::minutes(59));
        assert_eq!(schedule_once(&w.state).await.unwrap(), 0, "not yet");
        w.clock.advance(Duration::minutes(1));
        assert_eq!(schedule_once(&w.state).await.unwrap(), 1);
        assert_eq!(w.grant(g.id.0).await.state, GrantState::Revoking);
        assert_eq!(w.work().await.done, 1);
        assert!(!w.member(), "expiry → membership gone");
        assert_eq!(w.grant(g.id.0).await.state, GrantState::Revoked);
        assert_eq!(verify_audit_chain(&w.state.db).await.unwrap(), None);
        let actions: Vec<String> = app::ssr::db::audit::list_audit_events(&w.state.db, None, 4)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(
            actions,
            [
                "okta.membership.removed",
                "grant.expired",
                "okta.membership.added",
                "grant.started"
            ],
            "what the engine did in Okta is audited"
        );

        let metrics = app::ssr::services::metrics::render(&w.state).await.unwrap();
        for line in [
            "gatepass_grants{state=\"revoked\"} 1",
            "gatepass_okta_ops{kind=\"add\",state=\"done\"} 1",
            "gatepass_okta_ops{kind=\"remove\",state=\"done\"} 1",
            "gatepass_okta_calls_total{bucket=\"group\",status=\"204\"} 2",
            "gatepass_expiry_lag_seconds{quantile=\"0.5\"} 0",
        ] {
            assert!(
                metrics.lines().any(|l| l == line),
                "{line} missing in\n{metrics}"
            );
        }
    }
}

#[tokio::test]
async fn a_removal_okta_keeps_failing_is_shown_to_admins_and_still_retried() {
    let w = world(engines()[0], "engine-token").await;
    let admin = Admin::for_tests(me("root"));
    let failing = || async {
        w.state
            .drift()
            .alerts(&admin)
            .await
            .unwrap()
            .removals_failing
    };
    let g = w.approved_grant("1h", None).await;
    assert_eq!(w.work().await.done, 1);
    w.clock.advance(Duration::hours(1));
    assert_eq!(schedule_once(&w.state).await.unwrap(), 1);

    w.sim.sim.faults.write().unwrap().error_rate = 1.0;
    for tries in 1..app::ssr::services::drift::REMOVAL_ALARM_ATTEMPTS {
        assert_eq!(w.work().await.done, 0);
        assert_eq!(failing().await, 0, "not failing yet after {tries} tries");
        // Past any back-off: the next pass tries again.
        w.clock.advance(Duration::hours(1));
    }
    assert_eq!(w.work().await.done, 0);
    assert_eq!(failing().await, 1, "called failing after repeated errors");
    assert_eq!(w.grant(g.id.0).await.state, GrantState::Revoking);

    w.sim.sim.faults.write().unwrap().error_rate = 0.0;
    w.clock.advance(Duration::hours(1));
    assert_eq!(w.work().await.done, 1);
    assert!(!w.member());
    assert_eq!(failing().await, 0);
}

#[tokio::test]
async fn an_extension_moves_the_removal_and_give_back_removes_at_once() {
    let w = world(engines()[0], "engine-token").await;
    let g = w.approved_grant("1h", None).await;
    w.work().await;
    w.clock.advance(Duration::minutes(30));
    let ext = w.approved_grant("2h", None).await;
    assert_eq!(ext.id, g.id, "extended, not a second grant");
    w.clock.advance(Duration::minutes(31));
    assert_eq!(
        schedule_once(&w.state).await.unwrap(),
        0,
        "the old end passed; the new one has not"
    );
    assert!(w.member());
    w.state
        .access()
        .give_back(
            &Requester::for_tests(Me {
                okta_id: UserId::from(w.ada.clone()),
                ..me("ada")
            }),
            g.id,
        )
        .await
        .unwrap();
    assert_eq!(w.work().await.done, 1);
    assert!(!w.member(), "given back → gone at once");
}

#[tokio::test]
async fn a_5xx_storm_converges_after_it_ends() {
    let w = world(engines()[0], "engine-token").await;
    let g = w.approved_grant("1h", None).await;
    reqwest::Client::new()
        .put(format!("{}/__sim/faults", w.sim.base_url()))
        .json(&json!({ "errorRate": 1.0 }))
        .send()
        .await
        .unwrap();
    let okta = w.okta().await;
    let report = work_once(&w.state, okta.as_ref()).await.unwrap();
    assert_eq!((report.done, report.retried), (0, 1));
    let ops = outbox::list_okta_ops(&w.state.db).await.unwrap();
    assert_eq!((ops[0].1.as_str(), ops[0].2), ("pending", 1));
    assert!(
        ops[0].3.as_deref().unwrap().contains("500"),
        "{:?}",
        ops[0].3
    );
    reqwest::Client::new()
        .put(format!("{}/__sim/faults", w.sim.base_url()))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(w.work().await.done, 0, "waits for its backoff");
    w.clock.advance(Duration::minutes(10));
    assert_eq!(w.work().await.done, 1);
    assert!(w.member());
    assert_eq!(w.grant(g.id.0).await.state, GrantState::Active);
}

#[tokio::test]
async fn a_refused_add_is_marked_failed_and_shown() {
    let w = world(engines()[0], "engine-read-only").await;
    let g = w.approved_grant("1h", None).await;
    let report = w.work().await;
    assert_eq!(report.dead, 1, "403 is final for an add");
    let failed = w.grant(g.id.0).await;
    assert_eq!(failed.state, GrantState::Failed);
    assert!(
        failed
            .revoked_reason
            .as_deref()
            .unwrap()
            .contains("E0000006"),
        "{failed:?}"
    );
    assert!(!w.member());
    let admin = Admin::for_tests(me("root"));
    let alerts = w.state.drift().alerts(&admin).await.unwrap();
    assert_eq!(
        (alerts.grants_failed, alerts.drift_open),
        (1, 0),
        "{alerts:?}"
    );

    // The admin fixes the credential and retries: the membership arrives.
    std::env::set_var("GATEPASS_TEST_ENGINE_ENGINE_READ_ONLY", "engine-token");
    w.state
        .secrets
        .forget(&"env:GATEPASS_TEST_ENGINE_ENGINE_READ_ONLY".parse().unwrap())
        .await;
    let retried = w.state.access().retry_failed(&admin, g.id).await.unwrap();
    assert_eq!(retried.state, GrantState::Active);
    assert_eq!(w.work().await.done, 1);
    assert!(w.member());
    let alerts = w.state.drift().alerts(&admin).await.unwrap();
    assert_eq!(alerts.grants_failed, 0, "{alerts:?}");
    assert!(matches!(
        w.state.access().retry_failed(&admin, g.id).await,
        Err(app::error::AppError::Conflict(_))
    ));
}

#[tokio::test]
async fn a_scheduled_grant_starts_on_time() {
    let w = world(engines()[0], "engine-token").await;
    let start = w.clock.timestamp().plus_secs(2 * 3600);
    let g = w.approved_grant("1h", Some(start)).await;
    assert_eq!(g.state, GrantState::Scheduled);
    assert_eq!(w.work().await.done, 0);
    w.clock.advance(Duration::hours(2));
    assert_eq!(schedule_once(&w.state).await.unwrap(), 1);
    assert_eq!(w.work().await.done, 1);
    assert!(w.member());
}

#[tokio::test]
async fn a_crashed_workers_lease_is_taken_over() {
    let w = world(engines()[0], "engine-token").await;
    w.approved_grant("1h", None).await;
    let now = w.clock.timestamp();
    let claimed = outbox::claim_okta_ops(
        &w.state.db,
        "crashed-worker",
        now,
        now.plus_millis(60_000),
        10,
    )
    .await
    .unwrap();
    assert_eq!(claimed.len(), 1, "claimed, then the worker died");
    assert_eq!(w.work().await.done, 0, "the lease is still running");
    w.clock.advance(Duration::minutes(2));
    assert_eq!(w.work().await.done, 1, "taken over after the lease ran out");
    assert!(w.member());

    // The first worker was only slow, not dead: its late outcome must not overwrite the
    // claim that replaced it, nor be audited.
    let stale = claimed.into_iter().next().unwrap();
    let events = app::ssr::db::audit::list_audit_events(&w.state.db, None, 100)
        .await
        .unwrap()
        .len();
    let now = w.clock.timestamp();
    assert!(!outbox::finish_okta_op(&w.state.db, &stale, now)
        .await
        .unwrap());
    assert!(!outbox::retry_okta_op(&w.state.db, &stale, "late", now)
        .await
        .unwrap());
    assert!(!outbox::kill_okta_op(&w.state.db, &stale, "late", now)
        .await
        .unwrap());
    assert_eq!(
        app::ssr::db::audit::list_audit_events(&w.state.db, None, 100)
            .await
            .unwrap()
            .len(),
        events,
        "nothing recorded under a lost claim"
    );
    let ops = outbox::list_okta_ops(&w.state.db).await.unwrap();
    assert_eq!((ops[0].0.as_str(), ops[0].1.as_str()), ("add", "done"));
}

/// An add whose grant ended before Okta was called is closed without a call, audited as
/// skipped — not as a membership added — and leaves no membership in the directory.
#[tokio::test]
async fn an_add_for_a_grant_that_ended_first_is_skipped_not_sent() {
    let w = world(engines()[0], "engine-token").await;
    let g = w.approved_grant("1h", None).await;
    w.state
        .access()
        .revoke(&Admin::for_tests(me("root")), g.id, "changed my mind")
        .await
        .unwrap();
    assert_eq!(w.work().await.done, 1, "the add, skipped");
    assert_eq!(
        w.work().await.done,
        1,
        "then the remove, which waited for it"
    );
    assert!(!w.member());
    let puts = w
        .sim
        .sim
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.method == "PUT")
        .count();
    assert_eq!(puts, 0, "no PUT was sent");
    let actions: Vec<String> = app::ssr::db::audit::list_audit_events(&w.state.db, None, 20)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        actions.iter().any(|a| a == "okta.membership.add_skipped"),
        "{actions:?}"
    );
    assert!(
        !actions.iter().any(|a| a == "okta.membership.added"),
        "{actions:?}"
    );
    let members = app::ssr::db::directory::all_memberships(&w.state.db)
        .await
        .unwrap();
    assert!(members.is_empty(), "{members:?}");
}

/// Drift after a sync: a grant's membership removed in Okta is found (`missing`) and
/// re-applied; memberships made outside Gatepass (`unmanaged`) are found, ignored (and stay
/// ignored until they clear) or revoked; a vanished membership's grant can be revoked. Every
/// step is audited, the chain verifies, and bad actions change nothing.
#[tokio::test]
async fn drift_is_found_after_a_sync_and_resolved_by_admins() {
    use app::model::{DriftKind, DriftState, SyncKind};
    use app::ssr::okta::OktaApi;

    for engine in engines() {
        let w = world(engine, "engine-token").await;
        let admin = Admin::for_tests(me("root"));
        let okta = w.okta().await;
        let (root, viewer) = (w.sim_id("root@example.com"), w.sim_id("viewer@example.com"));
        let sync = || async {
            w.clock.advance(Duration::seconds(5));
            let run = w.state.sync().run(SyncKind::Full).await.unwrap();
            w.clock.advance(Duration::seconds(5));
            run
        };
        let open = || async { w.state.drift().list(&admin, "open", 0).await.unwrap().items };

        let g = w.approved_grant("1h", None).await;
        assert_eq!(w.work().await.done, 1);
        // The directory mirrors the add at once: the group page lists Ada through her grant.
        let detail = w.state.groups().detail(&admin, &w.group).await.unwrap();
        let ada = detail
            .members
            .iter()
            .find(|m| m.user_id.as_str() == w.ada)
            .unwrap();
        assert_eq!(ada.grant_id, Some(g.id));
        assert!(detail.summary.requestable);
        w.clock.advance(Duration::seconds(5));
        sync().await;
        assert!(open().await.is_empty(), "Okta and the grants agree");

        // Someone removes Ada in Okta: the grant's membership is missing.
        okta.remove_member(
            &GroupId::from(w.group.clone()),
            &UserId::from(w.ada.clone()),
        )
        .await
        .unwrap();
        sync().await;
        let items = open().await;
        assert_eq!(items.len(), 1);
        assert_eq!(
            (items[0].kind, items[0].grant_id),
            (DriftKind::Missing, Some(g.id))
        );
        let missing = items[0].id;
        let alerts = w.state.drift().alerts(&admin).await.unwrap();
        assert_eq!(
            (alerts.drift_open, alerts.grants_failed),
            (1, 0),
            "{alerts:?}"
        );
        let again = sync().await;
        assert_eq!(again.status.as_str(), "ok");
        assert_eq!(open().await.len(), 1, "found once, not once per sync");

        let err = w
            .state
            .drift()
            .act(&admin, missing, "explode")
            .await
            .unwrap_err();
        assert!(
            matches!(err, app::error::AppError::Invalid { .. }),
            "{err:?}"
        );
        let done = w
            .state
            .drift()
            .act(&admin, missing, "reapply")
            .await
            .unwrap();
        assert_eq!(done.resolution.as_deref(), Some("reapplied"));
        assert_eq!(w.work().await.done, 1);
        assert!(w.member(), "re-applied in Okta");
        let err = w
            .state
            .drift()
            .act(&admin, missing, "ignore")
            .await
            .unwrap_err();
        assert!(matches!(err, app::error::AppError::Conflict(_)), "{err:?}");

        // Viewer and Root are added in Okta, outside Gatepass.
        okta.add_member(
            &GroupId::from(w.group.clone()),
            &UserId::from(viewer.clone()),
        )
        .await
        .unwrap();
        okta.add_member(&GroupId::from(w.group.clone()), &UserId::from(root.clone()))
            .await
            .unwrap();
        sync().await;
        let items = open().await;
        assert_eq!(items.len(), 2, "{items:?}");
        assert!(items
            .iter()
            .all(|i| i.kind == DriftKind::Unmanaged && i.grant_id.is_none()));
        let item_of = |user: &str| {
            items
                .iter()
                .find(|i| i.user_id == UserId::from(user))
                .unwrap()
                .id
        };
        let (of_viewer, of_root) = (item_of(&viewer), item_of(&root));
        let err = w
            .state
            .drift()
            .act(&admin, of_viewer, "reapply")
            .await
            .unwrap_err();
        assert!(
            matches!(err, app::error::AppError::Invalid { .. }),
            "{err:?}"
        );
        let ignored = w
            .state
            .drift()
            .act(&admin, of_viewer, "ignore")
            .await
            .unwrap();
        assert_eq!(ignored.state, DriftState::Ignored);
        w.state
            .drift()
            .act(&admin, of_root, "revoke")
            .await
            .unwrap();
        assert_eq!(w.work().await.done, 1, "the removal of Root's membership");
        let in_okta = |user: &str| w.in_group(user);
        assert!(!in_okta(&root) && in_okta(&viewer) && w.member());
        sync().await;
        assert!(
            open().await.is_empty(),
            "ignored stays ignored; revoked is gone"
        );
        let page = w.state.drift().list(&admin, "ignored", 0).await.unwrap();
        assert_eq!((page.open, page.ignored), (0, 1));

        // Viewer leaves in Okta: the ignored item clears by itself.
        okta.remove_member(
            &GroupId::from(w.group.clone()),
            &UserId::from(viewer.clone()),
        )
        .await
        .unwrap();
        sync().await;
        let page = w.state.drift().list(&admin, "resolved", 0).await.unwrap();
        assert_eq!((page.open, page.ignored), (0, 0));
        let cleared = page.items.iter().find(|i| i.id == of_viewer).unwrap();
        assert_eq!(cleared.resolution.as_deref(), Some("cleared"));

        // Ada is removed in Okta again; this time the admin revokes the grant.
        okta.remove_member(
            &GroupId::from(w.group.clone()),
            &UserId::from(w.ada.clone()),
        )
        .await
        .unwrap();
        sync().await;
        let items = open().await;
        assert_eq!(items.len(), 1);
        w.state
            .drift()
            .act(&admin, items[0].id, "revoke")
            .await
            .unwrap();
        assert_eq!(w.grant(g.id.0).await.state, GrantState::Revoking);
        w.work().await;
        assert_eq!(w.grant(g.id.0).await.state, GrantState::Revoked);
        sync().await;
        assert!(open().await.is_empty());
        let err = w
            .state
            .drift()
            .list(&admin, "sideways", 0)
            .await
            .unwrap_err();
        assert!(
            matches!(err, app::error::AppError::Invalid { .. }),
            "{err:?}"
        );

        assert_eq!(verify_audit_chain(&w.state.db).await.unwrap(), None);
        let actions: Vec<String> = app::ssr::db::audit::list_audit_events(&w.state.db, None, 200)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .filter(|a| a.starts_with("drift."))
            .collect();
        for a in [
            "drift.detected",
            "drift.reapplied",
            "drift.ignored",
            "drift.revoked",
            "drift.cleared",
        ] {
            assert!(actions.iter().any(|x| x == a), "{a} audited: {actions:?}");
        }
        assert_eq!(actions.iter().filter(|a| *a == "drift.detected").count(), 4);
        // One digest per sync that found something (three syncs here found the four items):
        // what the admins are alerted by.
        let digests = actions.iter().filter(|a| *a == "drift.found").count();
        assert_eq!(digests, 3, "{actions:?}");
        assert_eq!(
            app::ssr::db::notifications::audiences("drift.found", "drift"),
            [app::ssr::db::notifications::Audience::Admins]
        );
    }
}

/// Waits (up to 20 s) until the first queued Okta operation is in `state`.
async fn wait_for_op(w: &World, state: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let ops = outbox::list_okta_ops(&w.state.db).await.unwrap();
        if ops.first().is_some_and(|op| op.1 == state) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "operation never {state}: {ops:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn stopping_the_jobs_lets_a_call_in_flight_finish() {
    for engine in engines() {
        let w = world(engine, "engine-token").await;
        w.sim.sim.faults.write().unwrap().latency_ms = 500;
        let jobs = Jobs::start(
            &w.state,
            JobSettings::new(std::time::Duration::from_secs(3600)),
        );
        w.approved_grant("1h", None).await;
        wait_for_op(&w, "in_flight").await;
        jobs.stop().await;
        assert!(
            w.member(),
            "the call in flight was finished before the worker stopped"
        );
        let ops = outbox::list_okta_ops(&w.state.db).await.unwrap();
        assert_eq!(ops[0].1, "done", "{ops:?}");
        assert!(w.state.stopping.is_cancelled());
    }
}

#[tokio::test]
async fn stopping_the_jobs_releases_a_call_that_outlasts_the_grace_period() {
    for engine in engines() {
        let w = world(engine, "engine-token").await;
        w.sim.sim.faults.write().unwrap().latency_ms = 5_000;
        let jobs = Jobs::start(
            &w.state,
            JobSettings {
                pending_max_age: std::time::Duration::from_secs(3600),
                shutdown_grace: std::time::Duration::from_millis(200),
            },
        );
        w.approved_grant("1h", None).await;
        wait_for_op(&w, "in_flight").await;
        let stopping = std::time::Instant::now();
        jobs.stop().await;
        assert!(
            stopping.elapsed() < std::time::Duration::from_secs(4),
            "stop waited for the slow call ({:?})",
            stopping.elapsed()
        );
        // The clock has not moved: without the release, the lease would keep another worker
        // away for 15 s of it.
        w.sim.sim.faults.write().unwrap().latency_ms = 0;
        let report = w.work().await;
        assert_eq!(report.done, 1, "the released operation is taken up at once");
        assert!(w.member());
    }
}

#[tokio::test]
async fn stopping_the_jobs_ends_a_sync_an_admin_started_and_records_it() {
    use app::model::{SyncKind, SyncStatus};
    for engine in engines() {
        let w = world(engine, "engine-token").await;
        w.sim.sim.faults.write().unwrap().latency_ms = 2_000;
        // Started before the jobs: the scheduler's own first sync would otherwise race it
        // (and an admin is told a sync is already running).
        w.state
            .sync()
            .start(&Admin::for_tests(me("root")), SyncKind::Full)
            .await
            .unwrap();
        let jobs = Jobs::start(
            &w.state,
            JobSettings::new(std::time::Duration::from_secs(3600)),
        );
        jobs.stop().await;
        // Stop returned only after the sync recorded how it ended: no run is left "running".
        let runs = app::ssr::db::sync::list_sync_runs(&w.state.db, 5)
            .await
            .unwrap();
        assert!(!runs.is_empty(), "the sync started");
        assert!(
            runs.iter().all(|r| r.status != SyncStatus::Running),
            "{runs:?}"
        );
        assert!(
            runs[0]
                .error
                .as_deref()
                .unwrap_or("")
                .contains("shutting down"),
            "{:?}",
            runs[0]
        );
    }
}

/// An access review over the group, reviewed by Viewer with Root as the fallback: Viewer
/// revokes Ada's grant and Root's membership made outside Gatepass, Root keeps Viewer's (which
/// Viewer may not review). At the close the grant ends and both memberships leave Okta through
/// the grant engine; Viewer's stays; the report shows each Okta outcome.
#[tokio::test]
async fn an_access_review_removes_what_its_reviewers_revoke_from_okta() {
    use app::model::{CampaignForm, ReviewDecision, SyncKind};
    use app::ssr::db::reviews::ItemFilter;
    use app::ssr::okta::OktaApi;

    for engine in engines() {
        let w = world(engine, "engine-token").await;
        let admin = Admin::for_tests(me("root"));
        let okta = w.okta().await;
        let (root, viewer) = (w.sim_id("root@example.com"), w.sim_id("viewer@example.com"));
        let as_person = |id: &str, name: &str| {
            Requester::for_tests(Me {
                okta_id: UserId::from(id),
                ..me(name)
            })
        };
        let grant = w.approved_grant("1d", None).await;
        assert_eq!(w.work().await.done, 1);
        for who in [&root, &viewer] {
            okta.add_member(&GroupId::from(w.group.clone()), &UserId::from(who.clone()))
                .await
                .unwrap();
        }
        w.clock.advance(Duration::seconds(5));
        w.state.sync().run(SyncKind::Full).await.unwrap();
        w.clock.advance(Duration::seconds(5));

        let reviews = w.state.reviews();
        let c = reviews
            .create(
                &admin,
                &CampaignForm {
                    name: "Q2 aws".into(),
                    groups: "aws-prod".into(),
                    include: "both".into(),
                    reviewers: "people".into(),
                    reviewer_people: "viewer@example.com".into(),
                    fallback: "root@example.com".into(),
                    due_days: "14".into(),
                    default_action: "keep".into(),
                    ..CampaignForm::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(c.items, 3);
        let all = ItemFilter {
            person: "%%",
            state: "all",
            ..Default::default()
        };
        let page = reviews
            .my_page(&as_person(&viewer, "viewer"), c.id, &all, 0)
            .await
            .unwrap();
        let mine: Vec<(String, Option<i64>)> = page
            .items
            .iter()
            .map(|i| (i.user_id.clone(), i.grant_id))
            .collect();
        assert_eq!(mine.len(), 2, "{mine:?}");
        assert!(mine.contains(&(w.ada.clone(), Some(grant.id.0))));
        assert!(mine.contains(&(root.clone(), None)));
        let ids: Vec<i64> = page.items.iter().map(|i| i.id).collect();
        reviews
            .decide(
                &as_person(&viewer, "viewer"),
                c.id,
                &ids,
                None,
                ReviewDecision::Revoke,
                "not needed",
            )
            .await
            .unwrap();
        let fallback = reviews
            .my_page(&as_person(&root, "root"), c.id, &all, 0)
            .await
            .unwrap();
        assert_eq!(fallback.items.len(), 1);
        assert_eq!(fallback.items[0].user_id, viewer);
        assert_eq!(fallback.items[0].route, "fallback");
        reviews
            .decide(
                &as_person(&root, "root"),
                c.id,
                &[fallback.items[0].id],
                None,
                ReviewDecision::Keep,
                "",
            )
            .await
            .unwrap();
        assert_eq!(
            w.work().await.done,
            0,
            "nothing leaves Okta before the close"
        );

        reviews.close(&admin, c.id).await.unwrap();
        assert_eq!(w.work().await.done, 2);
        let in_okta = |user: &str| w.in_group(user);
        assert!(!w.member() && !in_okta(&root) && in_okta(&viewer));
        assert_eq!(
            grants::find_grant(&w.state.db, grant.id)
                .await
                .unwrap()
                .unwrap()
                .state,
            GrantState::Revoked
        );
        let report = reviews.report(&admin, c.id, 0, 10).await.unwrap();
        assert_eq!(report.len(), 3);
        for l in &report {
            let expected = if l.user_id == viewer {
                ("kept", "")
            } else {
                ("revoked", "done")
            };
            assert_eq!((l.outcome.as_str(), l.okta.as_str()), expected, "{l:?}");
        }
        assert_eq!(verify_audit_chain(&w.state.db).await.unwrap(), None);
    }
}

/// A bundle of aws-prod and a group Okta no longer has: one approval, two grants; the group
/// Okta refuses fails alone and visibly, the other's membership arrives; giving the bundle
/// back removes what was added.
#[tokio::test]
async fn a_bundle_grant_fails_only_for_the_group_okta_refuses() {
    let w = world(engines()[0], "engine-token").await;
    upsert_group(
        &w.state.db,
        &GroupRecord {
            okta_id: GroupId::from("00gdeletedinokta"),
            name: "gone-from-okta".into(),
            description: String::new(),
            okta_type: "OKTA_GROUP".into(),
            managed_by_rule: false,
        },
        ms(1),
    )
    .await
    .unwrap();
    let admin = Admin::for_tests(me("root"));
    let access = w.state.access();
    let bundle = access
        .save_bundle(
            &admin,
            "prod-pair",
            "",
            &format!("{}, 00gdeletedinokta", w.group),
        )
        .await
        .unwrap();
    access
        .save_policy(
            &admin,
            PolicyInput {
                target: Some(PolicyTarget::Bundle(bundle.id)),
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
    let ada = Requester::for_tests(Me {
        okta_id: UserId::from(w.ada.clone()),
        ..me("ada")
    });
    let lead = access
        .request_bundle(
            &ada,
            app::ssr::services::bundles::BundleRequestInput {
                bundle_id: bundle.id,
                reason: "release".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    access
        .decide(
            &Requester::for_tests(me("approver")),
            DecisionInput {
                request_id: lead.id,
                decision: app::model::Decision::Approve,
                comment: String::new(),
                duration: None,
            },
        )
        .await
        .unwrap();
    let report = w.work().await;
    assert_eq!((report.done, report.dead), (1, 1), "{report:?}");
    let held = grants::list_grants_of(&w.state.db, &UserId::from(w.ada.clone()), 10)
        .await
        .unwrap();
    let state_of = |group: &str| {
        held.iter()
            .find(|g| g.group_id.as_str() == group)
            .map(|g| g.state)
            .unwrap()
    };
    assert_eq!(state_of(&w.group), GrantState::Active);
    assert_eq!(state_of("00gdeletedinokta"), GrantState::Failed);
    assert!(w.member());
    assert_eq!(
        w.state.drift().alerts(&admin).await.unwrap().grants_failed,
        1
    );

    // Giving the bundle back removes the membership that was added.
    let active = held.iter().find(|g| g.state == GrantState::Active).unwrap();
    access.give_back(&ada, active.id).await.unwrap();
    assert_eq!(w.work().await.done, 1);
    assert!(!w.member());
}
