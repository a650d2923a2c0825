//! Okta apps as requestable resources, on both database engines with the manual clock: a
//! policy names an app by label, patterns never reach apps, a request and its grant carry the
//! app through to the Okta outbox, an assignment Okta already has (directly or through a
//! group) is refused, and the preview shows the app's rules.

use super::access::*;
use super::access_tests::{admin, approve, ask, person, policy, with_service};
use super::assess::Target;
use crate::error::AppError;
use crate::model::{AppId, GrantState, OpKind, PolicySpec, PolicyTarget, Resource, UserId};
use crate::ssr::clock::{Clock, ManualClock};
use crate::ssr::db::apps::{self, AppRecord};
use crate::ssr::db::audit::list_audit_events;
use crate::ssr::db::{grants, outbox, Db};
use crate::ssr::testing::ms;

/// The field and message of a validation error.
fn invalid(e: AppError) -> String {
    match e {
        AppError::Invalid { field, message } => format!("{field}: {message}"),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn service<'a>(db: &'a Db, clock: &'a ManualClock) -> AccessService<'a> {
    AccessService {
        db,
        clock,
        signal: None,
        on_call: None,
    }
}

fn app(id: &str, label: &str) -> AppRecord {
    AppRecord {
        okta_id: AppId(id.into()),
        name: label.to_lowercase(),
        label: label.into(),
        sign_on_mode: "SAML_2_0".into(),
        status: "ACTIVE".into(),
    }
}

/// Datadog (nobody assigned), Snowflake (ada directly, bob through a group), and two apps
/// labelled "Jira".
async fn apps_in(db: &Db) {
    for a in [
        app("0oadatadog", "Datadog"),
        app("0oasnowflake", "Snowflake"),
        app("0oajira1", "Jira"),
        app("0oajira2", "Jira"),
    ] {
        apps::upsert_app(db, &a, None, ms(5)).await.unwrap();
    }
    apps::replace_app_users(
        db,
        &AppId("0oasnowflake".into()),
        &[
            (UserId::from("ada"), "USER".into()),
            (UserId::from("bob"), "GROUP".into()),
        ],
        ms(5),
    )
    .await
    .unwrap();
}

async fn app_policy(s: &AccessService<'_>, id: &str) {
    s.save_policy(&admin(), policy(PolicyTarget::App(AppId(id.into()))))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_policy_names_an_app_by_label_and_refuses_what_it_cannot_tell_apart() {
    with_service(|db, _| async move {
        apps_in(&db).await;
        let spec = |applies: &str| -> PolicySpec {
            serde_json::from_value(serde_json::json!({
                "applies_to": applies,
                "approvers": ["bob@example.com"],
                "default_duration": "1h",
                "max_duration": "4h",
            }))
            .unwrap()
        };
        let input = resolve_policy_spec(&db, &spec("app:Datadog"))
            .await
            .unwrap();
        assert_eq!(
            input.target,
            Some(PolicyTarget::App(AppId("0oadatadog".into())))
        );
        // By id too, and the label need not be unique then.
        let input = resolve_policy_spec(&db, &spec("app: 0oajira2"))
            .await
            .unwrap();
        assert_eq!(
            input.target,
            Some(PolicyTarget::App(AppId("0oajira2".into())))
        );
        let e = resolve_policy_spec(&db, &spec("app:Jira"))
            .await
            .unwrap_err();
        assert!(invalid(e).starts_with("Applies to: 2 apps are labelled"));
        let e = resolve_policy_spec(&db, &spec("app:Salesforce"))
            .await
            .unwrap_err();
        assert!(invalid(e).contains("no Okta app labelled"));
        // An app Okta no longer lists as active cannot be targeted.
        apps::mark_unseen_apps_removed(&db, ms(6)).await.unwrap();
        let e = resolve_policy_spec(&db, &spec("app:Datadog"))
            .await
            .unwrap_err();
        assert!(invalid(e).contains("no Okta app labelled"));
    })
    .await;
}

#[tokio::test]
async fn patterns_never_reach_apps_and_an_app_without_a_policy_cannot_be_asked_for() {
    with_service(|db, clock| async move {
        apps_in(&db).await;
        let s = service(&db, &clock);
        // `*` makes every group requestable, and no app.
        s.save_policy(&admin(), policy(PolicyTarget::Pattern("*".into())))
            .await
            .unwrap();
        let e = s
            .request_access(&person("ada"), ask("0oadatadog", "1h"))
            .await
            .unwrap_err();
        assert!(
            invalid(e).contains("Datadog cannot be requested: no policy applies"),
            "an app is requested only under its own policy"
        );
        // An id nobody knows is not found, group or app.
        let e = s
            .request_access(&person("ada"), ask("0oanothing", "1h"))
            .await
            .unwrap_err();
        assert!(matches!(e, AppError::NotFound(_)), "{e:?}");
        assert!(outbox::list_pending_okta_ops(&db).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn an_app_grant_carries_the_app_to_the_okta_outbox_and_its_end_queues_the_unassignment() {
    with_service(|db, clock| async move {
        apps_in(&db).await;
        let s = service(&db, &clock);
        app_policy(&s, "0oadatadog").await;
        let r = s
            .request_access(&person("ada"), ask("0oadatadog", "1h"))
            .await
            .unwrap();
        assert_eq!(r.resource, Resource::App);
        // Eligibility and approvers are the policy's, as for a group: dan is not in `eng`.
        assert!(s
            .request_access(&person("dan"), ask("0oadatadog", "1h"))
            .await
            .is_err());
        s.decide(&person("cy"), approve(r.id)).await.unwrap();
        let grant = grants::list_grants_of(&db, &UserId::from("ada"), 10)
            .await
            .unwrap()
            .remove(0);
        assert_eq!(
            (grant.resource, grant.group_id.as_str(), grant.state),
            (Resource::App, "0oadatadog", GrantState::Active)
        );
        let now = clock.timestamp();
        let ops = outbox::claim_okta_ops(&db, "t", now, now.plus_millis(15_000), 10)
            .await
            .unwrap();
        assert_eq!(ops.len(), 1);
        assert_eq!(
            (ops[0].kind, ops[0].resource, ops[0].group_id.as_str()),
            (OpKind::Add, Resource::App, "0oadatadog")
        );
        // Okta assigned it: the directory copy notes the grant's direct assignment.
        assert!(outbox::finish_okta_op(&db, &ops[0], now).await.unwrap());
        assert_eq!(
            apps::assignment(&db, &"0oadatadog".into(), &UserId::from("ada"))
                .await
                .unwrap()
                .as_deref(),
            Some("USER")
        );
        // Asking again extends the grant rather than being refused as assigned in Okta.
        let again = s
            .request_access(&person("ada"), ask("0oadatadog", "1h"))
            .await
            .unwrap();
        assert_eq!(again.extends_grant_id, Some(grant.id));
        s.cancel(&person("ada"), again.id).await.unwrap();
        // Given back: the unassignment is queued for the app.
        s.give_back(&person("ada"), grant.id).await.unwrap();
        let ops = outbox::claim_okta_ops(&db, "t", now, now.plus_millis(15_000), 10)
            .await
            .unwrap();
        assert_eq!(
            (ops[0].kind, ops[0].resource),
            (OpKind::Remove, Resource::App)
        );
        // Okta refused because a group gives it: the grant ends, the assignment is kept, and
        // the removal of the grant's own assignment waits to be tried again.
        let later = now.plus_millis(900_000);
        assert!(
            outbox::keep_for_group(&db, &ops[0], "a group gives it", now, later)
                .await
                .unwrap()
        );
        assert_eq!(
            grants::find_grant(&db, grant.id)
                .await
                .unwrap()
                .unwrap()
                .state,
            GrantState::Revoked
        );
        assert!(
            outbox::claim_okta_ops(&db, "t", now, now.plus_millis(15_000), 10)
                .await
                .unwrap()
                .is_empty()
        );
        let retried = outbox::claim_okta_ops(&db, "t", later, later.plus_millis(15_000), 10)
            .await
            .unwrap();
        assert_eq!(
            (retried.len(), retried[0].attempts, retried[0].kind),
            (1, 1, OpKind::Remove),
            "tried again later, its tries started over"
        );
        // Once Okta removes it, the copy forgets it.
        assert!(outbox::finish_okta_op(&db, &retried[0], later)
            .await
            .unwrap());
        assert_eq!(
            apps::assignment(&db, &"0oadatadog".into(), &UserId::from("ada"))
                .await
                .unwrap(),
            None
        );
        let actions: Vec<String> = list_audit_events(&db, None, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        for a in [
            "okta.app.assigned",
            "okta.app.assignment_kept",
            "okta.app.unassigned",
        ] {
            assert!(actions.contains(&a.to_owned()), "{a} in {actions:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn an_assignment_okta_already_has_is_refused_whether_direct_or_through_a_group() {
    with_service(|db, clock| async move {
        apps_in(&db).await;
        let s = service(&db, &clock);
        app_policy(&s, "0oasnowflake").await;
        for who in ["ada", "bob"] {
            let e = s
                .request_access(&person(who), ask("0oasnowflake", "1h"))
                .await
                .unwrap_err();
            let AppError::Conflict(message) = e else {
                panic!("{e:?}")
            };
            assert!(
                message.contains("already assigned to the app Snowflake"),
                "{message}"
            );
        }
        assert!(outbox::list_pending_okta_ops(&db).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn the_preview_shows_an_apps_rules_from_the_same_evaluation() {
    with_service(|db, clock| async move {
        apps_in(&db).await;
        let s = service(&db, &clock);
        app_policy(&s, "0oadatadog").await;
        let p = s
            .preview(&admin(), "ada@example.com", "app:Datadog")
            .await
            .unwrap();
        assert!(p.may_request, "{p:?}");
        assert_eq!(p.group, "Datadog");
        let rules: Vec<&str> = p.checks.iter().map(|c| c.rule.as_str()).collect();
        assert!(rules.contains(&"Okta app"), "{rules:?}");
        let p = s
            .preview(&admin(), "dan@example.com", "app:Datadog")
            .await
            .unwrap();
        assert!(!p.may_request);
        // The request path agrees.
        let app = apps::find_app(&db, "0oadatadog").await.unwrap().unwrap();
        let a =
            super::assess::assess_target(&db, &"dan".into(), Target::App(app), clock.timestamp())
                .await
                .unwrap();
        assert!(a.into_allowed().is_err());
    })
    .await;
}
