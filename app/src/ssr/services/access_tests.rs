//! The access workflow's rules, on both database engines, with a clock that moves only when
//! told to.

use std::sync::Arc;

use time::macros::datetime;
use time::Duration;

use super::access::*;
use super::policy::resolve_policy;
use crate::error::AppError;
use crate::model::{
    Decision, GrantDuration, GrantId, GrantState, GroupId, PolicyTarget, RequestId, RequestState,
    UserId,
};
use crate::ssr::auth::{Admin, Requester};
use crate::ssr::clock::{Clock, ManualClock};
use crate::ssr::db::audit::{list_audit_events, verify_audit_chain};
use crate::ssr::db::directory::{
    upsert_group, upsert_membership, upsert_user, GroupRecord, UserRecord,
};
use crate::ssr::db::Db;
use crate::ssr::db::{grants, outbox, policies, requests};
use crate::ssr::testing::{each_engine, ms, test_person as me};

pub(super) fn person(id: &str) -> Requester {
    Requester::for_tests(me(id))
}

pub(super) fn admin() -> Admin {
    Admin::for_tests(me("root"))
}

/// ada, bob, dan; cy and erin approve through the `approvers` group; ada and bob are in `eng`.
async fn directory(db: &Db) {
    for u in ["ada", "bob", "cy", "dan", "erin", "root"] {
        upsert_user(
            db,
            &UserRecord {
                okta_id: u.into(),
                login: format!("{u}@example.com"),
                email: format!("{u}@example.com"),
                display_name: u.into(),
                status: "ACTIVE".into(),
                profile: Default::default(),
            },
            ms(1),
        )
        .await
        .unwrap();
    }
    for (id, kind, rule) in [
        ("aws-prod", "OKTA_GROUP", false),
        ("aws-dev", "OKTA_GROUP", false),
        ("eng", "OKTA_GROUP", false),
        ("approvers", "OKTA_GROUP", false),
        ("ruled", "OKTA_GROUP", true),
        ("ad-app", "APP_GROUP", false),
    ] {
        upsert_group(
            db,
            &GroupRecord {
                okta_id: id.into(),
                name: id.into(),
                description: String::new(),
                okta_type: kind.into(),
                managed_by_rule: rule,
            },
            ms(1),
        )
        .await
        .unwrap();
    }
    for (g, u) in [
        ("eng", "ada"),
        ("eng", "bob"),
        ("approvers", "cy"),
        ("approvers", "erin"),
    ] {
        upsert_membership(db, &GroupId::from(g), &UserId::from(u), ms(1))
            .await
            .unwrap();
    }
}

pub(super) fn policy(target: PolicyTarget) -> PolicyInput {
    PolicyInput {
        target: Some(target),
        requestable: true,
        eligible_groups: vec!["eng".into()],
        approver_users: vec!["bob".into()],
        approver_groups: vec!["approvers".into()],
        quorum: 1,
        default_duration: d("4h"),
        max_duration: d("1d"),
        require_reason: true,
        allow_self_approval: false,
        auto_approve: false,
        approve_in_gatepass_only: false,
        slack_channel: None,
        keep_needs_comment: false,
        ticket_pattern: None,
        ticket_url: None,
        rules: Default::default(),
    }
}

/// A duration as a form would give it.
fn d(text: &str) -> GrantDuration {
    text.parse().unwrap()
}

pub(super) fn ask(group: &str, duration: &str) -> RequestInput {
    RequestInput {
        group_id: group.into(),
        duration: optional_duration("Duration", duration).unwrap(),
        reason: "deploy the fix".into(),
        starts_at: None,
        ticket: String::new(),
    }
}

pub(super) fn approve(id: RequestId) -> DecisionInput {
    DecisionInput {
        request_id: id,
        decision: Decision::Approve,
        comment: "ok".into(),
        duration: None,
    }
}

pub(super) async fn with_service<F, Fut>(test: F)
where
    F: Fn(Db, ManualClock) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    each_engine(|db| {
        let test = &test;
        async move {
            directory(&db).await;
            let clock = ManualClock::at(datetime!(2026-06-01 09:00 UTC));
            test(db, clock).await
        }
    })
    .await;
}

pub(super) fn invalid_field(e: AppError) -> String {
    match e {
        AppError::Invalid { field, .. } => field,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn policies_refuse_groups_okta_will_not_let_gatepass_change() {
    with_service(|db, clock| async move {
        let s = AccessService {
            db: &db,
            clock: &clock,
            signal: None,
            on_call: None,
        };
        let e = s
            .save_policy(&admin(), policy(PolicyTarget::Group("ad-app".into())))
            .await
            .unwrap_err();
        assert_eq!(invalid_field(e), "Requestable");
        let e = s
            .save_policy(&admin(), policy(PolicyTarget::Group("ruled".into())))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("group rule"), "{e}");
        let mut p = policy(PolicyTarget::Group("aws-prod".into()));
        p.approver_users.clear();
        p.approver_groups.clear();
        assert_eq!(
            invalid_field(s.save_policy(&admin(), p).await.unwrap_err()),
            "Approvers"
        );
        let mut p = policy(PolicyTarget::Group("aws-prod".into()));
        p.max_duration = d("100d");
        assert_eq!(
            invalid_field(s.save_policy(&admin(), p).await.unwrap_err()),
            "Maximum duration"
        );
        let mut p = policy(PolicyTarget::Group("aws-prod".into()));
        p.default_duration = d("2d");
        assert_eq!(
            invalid_field(s.save_policy(&admin(), p).await.unwrap_err()),
            "Default duration"
        );
        assert!(
            policies::list_policies(&db).await.unwrap().is_empty(),
            "nothing saved"
        );
        assert!(
            list_audit_events(&db, None, 10).await.unwrap().is_empty(),
            "nothing audited"
        );

        let saved = s
            .save_policy(&admin(), policy(PolicyTarget::Group("aws-prod".into())))
            .await
            .unwrap();
        assert_eq!(saved.max_duration_secs, 86_400);
        let events = list_audit_events(&db, None, 10).await.unwrap();
        assert_eq!(
            (events[0].action.as_str(), events[0].subject.as_str()),
            ("policy.saved", "group:aws-prod")
        );
        // The most specific policy wins: the group's own over a pattern.
        s.save_policy(
            &admin(),
            PolicyInput {
                max_duration: d("2h"),
                default_duration: d("1h"),
                ..policy(PolicyTarget::Pattern("aws-*".into()))
            },
        )
        .await
        .unwrap();
        let all = policies::list_policies(&db).await.unwrap();
        assert_eq!(
            resolve_policy(&all, &"aws-prod".into(), "aws-prod")
                .unwrap()
                .max_duration_secs,
            86_400
        );
        assert_eq!(
            resolve_policy(&all, &"aws-dev".into(), "aws-dev")
                .unwrap()
                .max_duration_secs,
            7200
        );
        assert!(resolve_policy(&all, &"eng".into(), "eng").is_none());
    })
    .await;
}

#[tokio::test]
async fn eligibility_duration_and_reason_are_checked_and_bad_input_writes_nothing() {
    with_service(|db, clock| async move {
        let s = AccessService {
            db: &db,
            clock: &clock,
            signal: None,
            on_call: None,
        };
        s.save_policy(&admin(), policy(PolicyTarget::Group("aws-prod".into())))
            .await
            .unwrap();
        assert_eq!(
            s.request_access(&person("dan"), ask("aws-prod", "1h"))
                .await
                .unwrap_err(),
            AppError::Forbidden,
            "dan is not in eng"
        );
        assert_eq!(
            invalid_field(
                s.request_access(&person("ada"), ask("eng", "1h"))
                    .await
                    .unwrap_err()
            ),
            "Group"
        );
        assert_eq!(
            invalid_field(
                s.request_access(&person("ada"), ask("aws-prod", "2d"))
                    .await
                    .unwrap_err()
            ),
            "Duration"
        );
        assert_eq!(
            invalid_field(optional_duration("Duration", "soon").unwrap_err()),
            "Duration"
        );
        let mut no_reason = ask("aws-prod", "1h");
        no_reason.reason = "   ".into();
        assert_eq!(
            invalid_field(
                s.request_access(&person("ada"), no_reason)
                    .await
                    .unwrap_err()
            ),
            "Reason"
        );
        let mut past = ask("aws-prod", "1h");
        past.starts_at = Some(clock.timestamp().plus_millis(-1));
        assert_eq!(
            invalid_field(s.request_access(&person("ada"), past).await.unwrap_err()),
            "Start"
        );
        assert!(
            requests::list_requests_of(&db, &UserId::from("ada"), 10)
                .await
                .unwrap()
                .is_empty(),
            "nothing written"
        );

        // Someone Okta already lists as a member is not granted it again.
        upsert_membership(&db, &GroupId::from("aws-prod"), &UserId::from("bob"), ms(1))
            .await
            .unwrap();
        let e = s
            .request_access(&person("bob"), ask("aws-prod", "1h"))
            .await
            .unwrap_err();
        assert!(
            matches!(e, AppError::Conflict(ref m) if m.contains("already a member")),
            "{e:?}"
        );

        let r = s
            .request_access(&person("ada"), ask("aws-prod", ""))
            .await
            .unwrap();
        assert_eq!(
            (r.state, r.duration_secs),
            (RequestState::Pending, 4 * 3600),
            "the policy's default"
        );
        let e = s
            .request_access(&person("ada"), ask("aws-prod", "1h"))
            .await
            .unwrap_err();
        assert!(
            matches!(e, AppError::Conflict(ref m) if m.contains("already asked")),
            "{e:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn requests_route_to_their_approvers_and_quorum_decides() {
    with_service(|db, clock| async move {
        let s = AccessService {
            db: &db,
            clock: &clock,
            signal: None,
            on_call: None,
        };
        s.save_policy(
            &admin(),
            PolicyInput {
                quorum: 2,
                ..policy(PolicyTarget::Group("aws-prod".into()))
            },
        )
        .await
        .unwrap();
        let r = s
            .request_access(&person("ada"), ask("aws-prod", "4h"))
            .await
            .unwrap();
        for approver in ["bob", "cy", "erin"] {
            assert_eq!(
                crate::ssr::services::catalog::CatalogService {
                    db: &db,
                    caches: &crate::ssr::cache::Caches::default(),
                }
                .approval_queue(&person(approver))
                .await
                .unwrap()
                .len(),
                1,
                "{approver}"
            );
        }
        assert!(crate::ssr::services::catalog::CatalogService {
            db: &db,
            caches: &crate::ssr::cache::Caches::default(),
        }
        .approval_queue(&person("dan"))
        .await
        .unwrap()
        .is_empty());
        assert_eq!(
            s.decide(&person("dan"), approve(r.id)).await.unwrap_err(),
            AppError::Forbidden
        );

        clock.advance(Duration::minutes(5));
        let after_one = s.decide(&person("bob"), approve(r.id)).await.unwrap();
        assert_eq!(
            (after_one.state, after_one.approvals),
            (RequestState::Pending, 1)
        );
        let e = s.decide(&person("bob"), approve(r.id)).await.unwrap_err();
        assert!(
            matches!(e, AppError::Conflict(ref m) if m.contains("already decided")),
            "{e:?}"
        );
        let shorter = DecisionInput {
            duration: Some(d("1h")),
            ..approve(r.id)
        };
        let done = s.decide(&person("cy"), shorter).await.unwrap();
        assert_eq!(
            (done.state, done.approvals, done.decided_by.as_deref()),
            (RequestState::Approved, 2, Some("cy@example.com"))
        );

        let grants = grants::list_grants_of(&db, &UserId::from("ada"), 10)
            .await
            .unwrap();
        assert_eq!(grants.len(), 1);
        let now = clock.timestamp();
        assert_eq!(
            (grants[0].state, grants[0].starts_at, grants[0].ends_at),
            (GrantState::Active, now, now.plus_secs(3600)),
            "the shortest approved duration"
        );
        assert_eq!(
            outbox::list_pending_okta_ops(&db).await.unwrap(),
            [(
                "add".to_string(),
                "ada".to_string(),
                "aws-prod".to_string(),
                grants[0].id.0
            )]
        );
        let e = s.decide(&person("erin"), approve(r.id)).await.unwrap_err();
        assert!(
            matches!(e, AppError::Conflict(ref m) if m.contains("already approved")),
            "{e:?}"
        );

        let actions: Vec<String> = list_audit_events(&db, None, 20)
            .await
            .unwrap()
            .into_iter()
            .rev()
            .map(|e| e.action)
            .collect();
        assert_eq!(
            actions,
            [
                "policy.saved",
                "request.created",
                "request.approval_recorded",
                "request.approval_recorded",
                "request.approved",
                "grant.started"
            ]
        );
        assert_eq!(verify_audit_chain(&db).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn self_approval_only_when_allowed_and_lengthening_is_refused() {
    with_service(|db, clock| async move {
        let s = AccessService {
            db: &db,
            clock: &clock,
            signal: None,
            on_call: None,
        };
        s.save_policy(&admin(), policy(PolicyTarget::Group("aws-prod".into())))
            .await
            .unwrap();
        let own = s
            .request_access(&person("bob"), ask("aws-prod", "1h"))
            .await
            .unwrap();
        let e = s.decide(&person("bob"), approve(own.id)).await.unwrap_err();
        assert!(
            matches!(e, AppError::Conflict(ref m) if m.contains("your own")),
            "{e:?}"
        );
        let longer = DecisionInput {
            duration: Some(d("2h")),
            ..approve(own.id)
        };
        assert_eq!(
            invalid_field(s.decide(&person("cy"), longer).await.unwrap_err()),
            "Duration"
        );

        s.save_policy(
            &admin(),
            PolicyInput {
                allow_self_approval: true,
                ..policy(PolicyTarget::Group("aws-dev".into()))
            },
        )
        .await
        .unwrap();
        let own = s
            .request_access(&person("bob"), ask("aws-dev", "1h"))
            .await
            .unwrap();
        assert_eq!(
            s.decide(&person("bob"), approve(own.id))
                .await
                .unwrap()
                .state,
            RequestState::Approved
        );
    })
    .await;
}

#[tokio::test]
async fn denial_needs_a_comment_and_is_final() {
    with_service(|db, clock| async move {
        let s = AccessService {
            db: &db,
            clock: &clock,
            signal: None,
            on_call: None,
        };
        s.save_policy(&admin(), policy(PolicyTarget::Group("aws-prod".into())))
            .await
            .unwrap();
        let r = s
            .request_access(&person("ada"), ask("aws-prod", "1h"))
            .await
            .unwrap();
        let silent = DecisionInput {
            decision: Decision::Deny,
            comment: " ".into(),
            ..approve(r.id)
        };
        assert_eq!(
            invalid_field(s.decide(&person("bob"), silent).await.unwrap_err()),
            "Comment"
        );
        let deny = DecisionInput {
            decision: Decision::Deny,
            comment: "use staging".into(),
            ..approve(r.id)
        };
        assert_eq!(
            s.decide(&person("bob"), deny).await.unwrap().state,
            RequestState::Denied
        );
        assert!(matches!(
            s.decide(&person("cy"), approve(r.id)).await,
            Err(AppError::Conflict(_))
        ));
        assert!(grants::list_grants_of(&db, &UserId::from("ada"), 10)
            .await
            .unwrap()
            .is_empty());
    })
    .await;
}

#[tokio::test]
async fn asking_again_for_a_held_group_extends_the_grant() {
    with_service(|db, clock| async move {
        let s = AccessService {
            db: &db,
            clock: &clock,
            signal: None,
            on_call: None,
        };
        s.save_policy(&admin(), policy(PolicyTarget::Group("aws-prod".into())))
            .await
            .unwrap();
        let r = s
            .request_access(&person("ada"), ask("aws-prod", "2h"))
            .await
            .unwrap();
        s.decide(&person("bob"), approve(r.id)).await.unwrap();
        let first = grants::list_grants_of(&db, &UserId::from("ada"), 10)
            .await
            .unwrap()[0]
            .clone();

        clock.advance(Duration::hours(1));
        let again = s
            .request_access(&person("ada"), ask("aws-prod", "4h"))
            .await
            .unwrap();
        assert_eq!(again.extends_grant_id, Some(first.id));
        s.decide(&person("cy"), approve(again.id)).await.unwrap();
        let grants = grants::list_grants_of(&db, &UserId::from("ada"), 10)
            .await
            .unwrap();
        assert_eq!(grants.len(), 1, "extended, not duplicated");
        assert_eq!(grants[0].ends_at, first.ends_at.plus_secs(4 * 3600));
        assert_eq!(
            outbox::list_pending_okta_ops(&db).await.unwrap().len(),
            1,
            "no second add"
        );
        let actions: Vec<String> = list_audit_events(&db, None, 3)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(actions[0], "grant.extended");
    })
    .await;
}

#[tokio::test]
async fn stale_and_missed_requests_expire() {
    with_service(|db, clock| async move {
        let s = AccessService {
            db: &db,
            clock: &clock,
            signal: None,
            on_call: None,
        };
        s.save_policy(&admin(), policy(PolicyTarget::Group("aws-prod".into())))
            .await
            .unwrap();
        s.save_policy(&admin(), policy(PolicyTarget::Group("aws-dev".into())))
            .await
            .unwrap();
        let old = s
            .request_access(&person("ada"), ask("aws-prod", "1h"))
            .await
            .unwrap();
        let mut later = ask("aws-dev", "1h");
        later.starts_at = Some(clock.timestamp().plus_secs(2 * 3600));
        let scheduled = s.request_access(&person("bob"), later).await.unwrap();
        clock.advance(Duration::hours(1));
        assert_eq!(s.expire_stale_requests(72 * 3_600_000).await.unwrap(), 0);
        clock.advance(Duration::hours(2));
        assert_eq!(
            s.expire_stale_requests(72 * 3_600_000).await.unwrap(),
            1,
            "its start passed unapproved"
        );
        assert_eq!(
            requests::find_request(&db, scheduled.id)
                .await
                .unwrap()
                .unwrap()
                .state,
            RequestState::Expired
        );
        clock.advance(Duration::hours(70));
        assert_eq!(s.expire_stale_requests(72 * 3_600_000).await.unwrap(), 1);
        assert_eq!(
            requests::find_request(&db, old.id)
                .await
                .unwrap()
                .unwrap()
                .state,
            RequestState::Expired
        );
        assert!(matches!(
            s.decide(&person("bob"), approve(old.id)).await,
            Err(AppError::Conflict(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn cancel_give_back_and_revoke() {
    with_service(|db, clock| async move {
        let s = AccessService {
            db: &db,
            clock: &clock,
            signal: None,
            on_call: None,
        };
        s.save_policy(&admin(), policy(PolicyTarget::Group("aws-prod".into())))
            .await
            .unwrap();
        s.save_policy(&admin(), policy(PolicyTarget::Group("aws-dev".into())))
            .await
            .unwrap();
        let r = s
            .request_access(&person("ada"), ask("aws-prod", "1h"))
            .await
            .unwrap();
        assert_eq!(
            s.cancel(&person("bob"), r.id).await.unwrap_err(),
            AppError::Forbidden
        );
        s.cancel(&person("ada"), r.id).await.unwrap();
        assert!(matches!(
            s.cancel(&person("ada"), r.id).await,
            Err(AppError::Conflict(_))
        ));

        let r = s
            .request_access(&person("ada"), ask("aws-prod", "1h"))
            .await
            .unwrap();
        s.decide(&person("bob"), approve(r.id)).await.unwrap();
        let g = grants::list_grants_of(&db, &UserId::from("ada"), 10)
            .await
            .unwrap()[0]
            .clone();
        assert_eq!(
            s.give_back(&person("bob"), g.id).await.unwrap_err(),
            AppError::Forbidden
        );
        let ended = s.give_back(&person("ada"), g.id).await.unwrap();
        assert_eq!(ended.state, GrantState::Revoking);
        let ops = outbox::list_pending_okta_ops(&db).await.unwrap();
        assert_eq!(
            ops.iter().map(|o| o.0.as_str()).collect::<Vec<_>>(),
            ["add", "remove"]
        );

        let r = s
            .request_access(&person("bob"), ask("aws-dev", "1h"))
            .await
            .unwrap();
        s.decide(&person("cy"), approve(r.id)).await.unwrap();
        let g = grants::list_grants_of(&db, &UserId::from("bob"), 10)
            .await
            .unwrap()[0]
            .clone();
        assert_eq!(
            invalid_field(s.revoke(&admin(), g.id, " ").await.unwrap_err()),
            "Reason"
        );
        let revoked = s.revoke(&admin(), g.id, "left the team").await.unwrap();
        assert_eq!(
            revoked.revoked_reason.as_deref(),
            Some("revoked by an admin: left the team")
        );
        assert!(matches!(
            s.revoke(&admin(), g.id, "again").await,
            Err(AppError::Conflict(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn concurrent_approvals_record_exactly_one_decision() {
    each_engine(|db| async move {
        directory(&db).await;
        for i in 0..8 {
            let u = format!("approver{i}");
            upsert_user(
                &db,
                &UserRecord {
                    okta_id: UserId::from(u.clone()),
                    login: format!("{u}@example.com"),
                    email: format!("{u}@example.com"),
                    display_name: u.clone(),
                    status: "ACTIVE".into(),
                    profile: Default::default(),
                },
                ms(1),
            )
            .await
            .unwrap();
            upsert_membership(
                &db,
                &GroupId::from("approvers"),
                &UserId::from(u.as_str()),
                ms(1),
            )
            .await
            .unwrap();
        }
        let clock = Arc::new(ManualClock::at(datetime!(2026-06-01 09:00 UTC)));
        let s = AccessService {
            db: &db,
            clock: clock.as_ref(),
            signal: None,
            on_call: None,
        };
        s.save_policy(&admin(), policy(PolicyTarget::Group("aws-prod".into())))
            .await
            .unwrap();
        let r = s
            .request_access(&person("ada"), ask("aws-prod", "1h"))
            .await
            .unwrap();
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let db = db.clone();
                let clock = clock.clone();
                tokio::spawn(async move {
                    let s = AccessService {
                        db: &db,
                        clock: clock.as_ref(),
                        signal: None,
                        on_call: None,
                    };
                    s.decide(&person(&format!("approver{i}")), approve(r.id))
                        .await
                })
            })
            .collect();
        let mut ok = 0;
        let mut told = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(AppError::Conflict(m)) if m.contains("already approved") => told += 1,
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert_eq!((ok, told), (1, 7), "one decision; the others are told");
        assert_eq!(
            grants::list_grants_of(&db, &UserId::from("ada"), 10)
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(outbox::list_pending_okta_ops(&db).await.unwrap().len(), 1);
        assert_eq!(verify_audit_chain(&db).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn deleting_a_policy_hands_its_groups_to_the_next_one_and_keeps_pending_requests() {
    with_service(|db, clock| async move {
        let s = AccessService {
            db: &db,
            clock: &clock,
            signal: None,
            on_call: None,
        };
        let own = s
            .save_policy(&admin(), policy(PolicyTarget::Group("aws-prod".into())))
            .await
            .unwrap();
        let mut wide = policy(PolicyTarget::Pattern("aws-*".into()));
        wide.max_duration = d("2h");
        wide.default_duration = d("1h");
        s.save_policy(&admin(), wide).await.unwrap();
        let pending = s
            .request_access(&person("ada"), ask("aws-prod", "8h"))
            .await
            .unwrap();

        let deleted = s.delete_policy(&admin(), own.id).await.unwrap();
        assert_eq!(deleted.target, PolicyTarget::Group("aws-prod".into()));
        assert!(matches!(
            s.delete_policy(&admin(), own.id).await.unwrap_err(),
            AppError::NotFound(_)
        ));
        // The pattern applies now: 8 hours is past its maximum.
        assert_eq!(
            invalid_field(
                s.request_access(&person("bob"), ask("aws-prod", "8h"))
                    .await
                    .unwrap_err()
            ),
            "Duration"
        );
        // The request made under the deleted policy is still decided under it.
        s.decide(&person("bob"), approve(pending.id)).await.unwrap();
        let grant = &grants::list_grants_of(&db, &UserId::from("ada"), 5)
            .await
            .unwrap()[0];
        assert_eq!(grant.ends_at - grant.starts_at, 8 * 3_600_000);
        let events = list_audit_events(&db, None, 50).await.unwrap();
        let e = events
            .iter()
            .find(|e| e.action == "policy.deleted")
            .expect("audited");
        assert_eq!(e.subject, "group:aws-prod");
        assert_eq!(verify_audit_chain(&db).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn drift_lists_at_most_a_thousand_open_items_and_the_rest_later() {
    use crate::model::DriftState;
    use crate::ssr::db::directory::{upsert_memberships_batch, upsert_users_batch};
    use crate::ssr::services::drift::{DriftService, MAX_OPEN};

    with_service(|db, clock| async move {
        let s = AccessService {
            db: &db,
            clock: &clock,
            signal: None,
            on_call: None,
        };
        s.save_policy(&admin(), policy(PolicyTarget::Group("aws-dev".into())))
            .await
            .unwrap();
        // Standing members of a requestable group, found outside Gatepass: 5 more than listed.
        let users: Vec<UserRecord> = (0..MAX_OPEN + 5)
            .map(|i| UserRecord {
                okta_id: format!("u{i:05}").into(),
                login: format!("u{i}@example.com"),
                email: format!("u{i}@example.com"),
                display_name: format!("U {i}"),
                status: "ACTIVE".into(),
                profile: Default::default(),
            })
            .collect();
        for chunk in users.chunks(200) {
            upsert_users_batch(&db, chunk, ms(1)).await.unwrap();
            let ids: Vec<String> = chunk.iter().map(|u| u.okta_id.0.clone()).collect();
            upsert_memberships_batch(&db, "aws-dev", &ids, ms(1))
                .await
                .unwrap();
        }
        let drift = DriftService {
            db: &db,
            clock: &clock,
            signal: None,
        };
        let r = drift.detect(ms(0)).await.unwrap();
        assert_eq!((r.detected, r.not_listed), (MAX_OPEN, 5));
        let r = drift.detect(ms(0)).await.unwrap();
        assert_eq!((r.detected, r.not_listed), (0, 5), "full: nothing new");
        let page = drift.list(&admin(), "open", 0).await.unwrap();
        assert!(page.capped && page.open == MAX_OPEN as i64);
        let first = page.items[0].id;
        let ignored = drift.act(&admin(), first, "ignore").await.unwrap();
        assert_eq!(ignored.state, DriftState::Ignored);
        let r = drift.detect(ms(0)).await.unwrap();
        assert_eq!(
            (r.detected, r.not_listed),
            (1, 4),
            "one place freed, one listed"
        );
    })
    .await;
}

#[tokio::test]
async fn the_admin_overview_pages_and_searches_in_the_database() {
    use crate::ssr::db::directory::upsert_users_batch;
    use crate::ssr::services::catalog::{CatalogService, ADMIN_PAGE};

    with_service(|db, clock| async move {
        let s = AccessService {
            db: &db,
            clock: &clock,
            signal: None,
            on_call: None,
        };
        let mut p = policy(PolicyTarget::Group("aws-dev".into()));
        p.eligible_groups.clear();
        s.save_policy(&admin(), p).await.unwrap();
        let n = ADMIN_PAGE as usize + 5;
        let users: Vec<UserRecord> = (0..n)
            .map(|i| UserRecord {
                okta_id: format!("p{i:03}").into(),
                login: format!("person{i:03}@example.com"),
                email: format!("person{i:03}@example.com"),
                display_name: format!("Person {i:03}"),
                status: "ACTIVE".into(),
                profile: Default::default(),
            })
            .collect();
        upsert_users_batch(&db, &users, ms(1)).await.unwrap();
        for u in &users {
            s.request_access(&person(u.okta_id.as_str()), ask("aws-dev", "1h"))
                .await
                .unwrap();
            clock.advance(Duration::seconds(1));
        }
        let catalog = CatalogService {
            db: &db,
            caches: &crate::ssr::cache::Caches::default(),
        };
        let first = catalog.admin_overview(&admin(), "", 0, 0).await.unwrap();
        assert_eq!(first.pending.len(), ADMIN_PAGE as usize);
        assert!(first.more_requests && !first.more_grants);
        assert_eq!(
            first.pending[0].requester_name, "Person 000",
            "oldest first"
        );
        let second = catalog.admin_overview(&admin(), "", 1, 0).await.unwrap();
        assert_eq!(second.pending.len(), 5);
        assert!(!second.more_requests);
        let one = catalog
            .admin_overview(&admin(), "PERSON051@", 0, 0)
            .await
            .unwrap();
        assert_eq!(one.pending.len(), 1, "by login, case-insensitive");
        let by_group = catalog.admin_overview(&admin(), "dev", 0, 0).await.unwrap();
        assert_eq!(by_group.pending.len(), ADMIN_PAGE as usize);
        let none = catalog
            .admin_overview(&admin(), "person_51", 0, 0)
            .await
            .unwrap();
        assert!(none.pending.is_empty(), "LIKE wildcards are not wildcards");
        assert_eq!(
            invalid_field(
                catalog
                    .admin_overview(&admin(), "", -1, 0)
                    .await
                    .unwrap_err()
            ),
            "page"
        );
    })
    .await;
}

/// A service on `db` with a shared clock, for tasks that run at the same time.
fn service_on<'a>(db: &'a Db, clock: &'a ManualClock) -> AccessService<'a> {
    AccessService {
        db,
        clock,
        signal: None,
        on_call: None,
    }
}

/// A service on `db` with the usual policy for `aws-prod` saved.
async fn with_prod_policy<'a>(db: &'a Db, clock: &'a ManualClock) -> AccessService<'a> {
    let s = service_on(db, clock);
    s.save_policy(&admin(), policy(PolicyTarget::Group("aws-prod".into())))
        .await
        .unwrap();
    s
}

/// Runs `n` copies of `call` at once on a multi-threaded runtime and returns their results.
async fn at_once<T, F, Fut>(db: &Db, clock: &ManualClock, n: usize, call: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(Db, ManualClock) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let start = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (start, run) = (start.clone(), call(db.clone(), clock.clone()));
            tokio::spawn(async move {
                start.wait().await;
                run.await
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// T06: simultaneous requests for one membership leave one pending request, or (auto-approved)
/// one live grant; simultaneous give-backs end a grant once, with one Okta removal.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn t06_simultaneous_requests_and_give_backs_keep_the_invariants() {
    with_service(|db, clock| async move {
        let s = with_prod_policy(&db, &clock).await;
        s.save_policy(
            &admin(),
            PolicyInput {
                auto_approve: true,
                ..policy(PolicyTarget::Group("aws-dev".into()))
            },
        )
        .await
        .unwrap();

        let pending = at_once(&db, &clock, 10, |db, clock| async move {
            service_on(&db, &clock)
                .request_access(&person("ada"), ask("aws-prod", "1h"))
                .await
        })
        .await;
        assert_eq!(
            pending.iter().filter(|r| r.is_ok()).count(),
            1,
            "{pending:?}"
        );
        assert!(pending
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| matches!(e, AppError::Conflict(m) if m.contains("already asked"))));
        let requests = requests::list_requests_of(&db, &UserId::from("ada"), 50)
            .await
            .unwrap();
        assert_eq!(
            requests
                .iter()
                .filter(|r| r.state == RequestState::Pending)
                .count(),
            1
        );

        let auto = at_once(&db, &clock, 10, |db, clock| async move {
            service_on(&db, &clock)
                .request_access(&person("ada"), ask("aws-dev", "1h"))
                .await
        })
        .await;
        assert!(auto.iter().all(|r| r.is_ok()), "{auto:?}");
        let live: Vec<_> = grants::list_grants_of(&db, &UserId::from("ada"), 50)
            .await
            .unwrap()
            .into_iter()
            .filter(|g| g.group_id == GroupId::from("aws-dev") && g.state == GrantState::Active)
            .collect();
        assert_eq!(live.len(), 1, "one live grant, extended by the others");
        let adds = outbox::list_pending_okta_ops(&db).await.unwrap();
        assert_eq!(adds.len(), 1, "{adds:?}");

        let grant = live[0].id;
        let back = at_once(&db, &clock, 6, move |db, clock| async move {
            service_on(&db, &clock)
                .give_back(&person("ada"), grant)
                .await
        })
        .await;
        assert_eq!(back.iter().filter(|r| r.is_ok()).count(), 1, "{back:?}");
        let ended = list_audit_events(&db, None, 200)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "grant.ended")
            .count();
        assert_eq!(ended, 1);
        let removals = outbox::list_pending_okta_ops(&db)
            .await
            .unwrap()
            .into_iter()
            .filter(|op| op.0 == "remove")
            .count();
        assert_eq!(removals, 1);
        assert_eq!(verify_audit_chain(&db).await.unwrap(), None);
    })
    .await;
}

/// T06: the database refuses a second pending request or live grant for one membership, even
/// from code that skipped the service's checks.
#[tokio::test]
async fn t06_the_database_enforces_one_pending_request_and_one_live_grant() {
    with_service(|db, clock| async move {
        let s = with_prod_policy(&db, &clock).await;
        let r = s
            .request_access(&person("ada"), ask("aws-prod", "1h"))
            .await
            .unwrap();
        let mut tx = db.begin_write().await.unwrap();
        let policy_json = requests::request_policy_json(&mut tx, r.id).await.unwrap();
        let twin = requests::insert_request(
            &mut tx,
            &requests::NewRequest {
                requester_id: &UserId::from("ada"),
                group_id: &GroupId::from("aws-prod"),
                resource: crate::model::Resource::Group,
                reason: "again",
                duration_secs: 3600,
                starts_at: None,
                policy_json: &policy_json,
                quorum: 1,
                extends_grant_id: None,
                created_at: ms(1),
                ticket: None,
                ticket_url: None,
                policy_id: 1,
                emergency: false,
                escalate_at: None,
                admins_at: None,
            },
            &[],
            &[],
        )
        .await;
        assert!(twin.is_err(), "a second pending request is refused");
        drop(tx);

        s.decide(&person("bob"), approve(r.id)).await.unwrap();
        let g = grants::list_grants_of(&db, &UserId::from("ada"), 5)
            .await
            .unwrap()[0]
            .clone();
        let mut tx = db.begin_write().await.unwrap();
        let twin = grants::insert_grant(
            &mut tx,
            &crate::model::Grant {
                resource: crate::model::Resource::Group,
                id: GrantId::from(0),
                ..g
            },
            ms(1),
        )
        .await;
        assert!(twin.is_err(), "a second live grant is refused");
    })
    .await;
}

/// T06: the scheduler moves a grant only as it read it: an extension committed in between
/// keeps its new end.
#[tokio::test]
async fn t06_the_scheduler_does_not_expire_a_grant_extended_meanwhile() {
    with_service(|db, clock| async move {
        let s = with_prod_policy(&db, &clock).await;
        let r = s
            .request_access(&person("ada"), ask("aws-prod", "1h"))
            .await
            .unwrap();
        s.decide(&person("bob"), approve(r.id)).await.unwrap();
        let read = grants::list_grants_of(&db, &UserId::from("ada"), 5)
            .await
            .unwrap()[0]
            .clone();
        // An extension commits after the scheduler read the grant as due…
        let mut tx = db.begin_write().await.unwrap();
        assert!(
            grants::set_grant_end(&mut tx, read.id, read.ends_at.plus_secs(3600), ms(2))
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
        // …so the scheduler's move, conditioned on what it read, does nothing.
        let mut tx = db.begin_write().await.unwrap();
        let moved = grants::transition_grant_as_read(
            &mut tx,
            read.id,
            GrantState::Active,
            GrantState::Revoking,
            Some("expired"),
            ms(3),
            read.starts_at,
            read.ends_at,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert!(!moved);
        let now = grants::list_grants_of(&db, &UserId::from("ada"), 5)
            .await
            .unwrap()[0]
            .clone();
        assert_eq!(now.state, GrantState::Active);
        assert_eq!(now.ends_at, read.ends_at.plus_secs(3600));
    })
    .await;
}

/// T07: someone who may not decide a request learns nothing about it: the same refusal for a
/// pending, a decided and a missing request.
#[tokio::test]
async fn t07_a_non_approver_learns_nothing_from_decide() {
    with_service(|db, clock| async move {
        let s = with_prod_policy(&db, &clock).await;
        let pending = s
            .request_access(&person("ada"), ask("aws-prod", "1h"))
            .await
            .unwrap();
        let decided = s
            .request_access(&person("bob"), ask("aws-prod", "1h"))
            .await
            .unwrap();
        s.decide(&person("cy"), approve(decided.id)).await.unwrap();
        for id in [pending.id, decided.id, RequestId::from(999_999)] {
            let e = s.decide(&person("dan"), approve(id)).await.unwrap_err();
            assert_eq!(e, AppError::Forbidden, "request {id}");
        }
    })
    .await;
}

/// T08: extending a scheduled grant never moves its end before its start.
#[tokio::test]
async fn t08_extending_a_scheduled_grant_keeps_its_end_after_its_start() {
    with_service(|db, clock| async move {
        let s = with_prod_policy(&db, &clock).await;
        let start = clock.timestamp().plus_secs(20 * 86_400);
        let r = s
            .request_access(
                &person("ada"),
                RequestInput {
                    starts_at: Some(start),
                    ..ask("aws-prod", "1d")
                },
            )
            .await
            .unwrap();
        s.decide(&person("bob"), approve(r.id)).await.unwrap();
        let again = s
            .request_access(&person("ada"), ask("aws-prod", "1d"))
            .await
            .unwrap();
        s.decide(&person("cy"), approve(again.id)).await.unwrap();
        let g = grants::list_grants_of(&db, &UserId::from("ada"), 5)
            .await
            .unwrap()[0]
            .clone();
        assert_eq!(g.state, GrantState::Scheduled);
        assert_eq!(g.starts_at, start);
        assert!(g.ends_at > g.starts_at, "{g:?}");
        assert!(
            g.ends_at <= g.starts_at.plus_secs(86_400),
            "at most the policy's 1d"
        );
    })
    .await;
}

/// T04: once a sync sees a person suspended or deprovisioned, their pending requests are
/// cancelled and their live grants ended, each audited.
#[tokio::test]
async fn t04_inactive_people_lose_their_requests_and_grants() {
    with_service(|db, clock| async move {
        let s = with_prod_policy(&db, &clock).await;
        let asked = s
            .request_access(&person("ada"), ask("aws-prod", "1h"))
            .await
            .unwrap();
        let held = s
            .request_access(&person("bob"), ask("aws-prod", "1h"))
            .await
            .unwrap();
        s.decide(&person("cy"), approve(held.id)).await.unwrap();
        assert_eq!(
            s.offboard_inactive().await.unwrap(),
            0,
            "everyone is active"
        );
        for (who, status) in [("ada", "SUSPENDED"), ("bob", "DEPROVISIONED")] {
            upsert_user(
                &db,
                &UserRecord {
                    okta_id: who.into(),
                    login: format!("{who}@example.com"),
                    email: format!("{who}@example.com"),
                    display_name: who.into(),
                    status: status.into(),
                    profile: Default::default(),
                },
                ms(2),
            )
            .await
            .unwrap();
        }
        assert_eq!(s.offboard_inactive().await.unwrap(), 2);
        let ada = requests::list_requests_of(&db, &UserId::from("ada"), 5)
            .await
            .unwrap();
        assert_eq!(ada[0].id, asked.id);
        assert_eq!(ada[0].state, RequestState::Cancelled);
        let bob = grants::list_grants_of(&db, &UserId::from("bob"), 5)
            .await
            .unwrap();
        assert_eq!(bob[0].state, GrantState::Revoking);
        assert!(bob[0]
            .revoked_reason
            .as_deref()
            .unwrap()
            .contains("DEPROVISIONED"));
        let actions: Vec<String> = list_audit_events(&db, None, 2)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert!(actions.contains(&"request.cancelled".to_string()));
        assert!(actions.contains(&"grant.ended".to_string()));
        assert_eq!(s.offboard_inactive().await.unwrap(), 0, "nothing left");
    })
    .await;
}

#[tokio::test]
async fn a_ticket_is_required_matching_the_policys_pattern_and_kept_with_its_link() {
    with_service(|db, clock| async move {
        let s = AccessService {
            db: &db,
            clock: &clock,
            signal: None,
            on_call: None,
        };
        // The form refuses what is not a regular expression or not an https link.
        let form = |pattern: &str, url: &str| PolicyForm {
            applies_to: "aws-prod".into(),
            approver_users: "bob@example.com".into(),
            quorum: "1".into(),
            default_duration: "1h".into(),
            max_duration: "4h".into(),
            requestable: true,
            ticket_pattern: pattern.into(),
            ticket_url: url.into(),
            ..PolicyForm::default()
        };
        let e = resolve_policy_form(&db, &form("(OPS", ""))
            .await
            .unwrap_err();
        assert_eq!(invalid_field(e), "Ticket pattern");
        let e = resolve_policy_form(&db, &form("OPS-\\d+", "javascript:alert(1)//{ticket}"))
            .await
            .unwrap_err();
        assert_eq!(invalid_field(e), "Ticket link");
        let input = resolve_policy_form(
            &db,
            &form(
                "(OPS|SEC)-\\d+",
                "https://tickets.example.com/browse/{ticket}",
            ),
        )
        .await
        .unwrap();
        s.save_policy(&admin(), input).await.unwrap();

        // Without a ticket, or with one the pattern refuses: nothing is asked.
        for bad in ["", "sec-42", "SEC-42 and more"] {
            let e = s
                .request_access(
                    &person("ada"),
                    RequestInput {
                        ticket: bad.into(),
                        ..ask("aws-prod", "1h")
                    },
                )
                .await
                .unwrap_err();
            assert_eq!(invalid_field(e), "Ticket", "{bad:?}");
        }
        let catalog = super::catalog::CatalogService {
            db: &db,
            caches: &crate::ssr::cache::Caches::default(),
        };
        assert!(catalog
            .approval_queue(&person("bob"))
            .await
            .unwrap()
            .is_empty());
        let r = s
            .request_access(
                &person("ada"),
                RequestInput {
                    ticket: " SEC-42 ".into(),
                    ..ask("aws-prod", "1h")
                },
            )
            .await
            .unwrap();
        assert_eq!(r.ticket.as_deref(), Some("SEC-42"));
        assert_eq!(
            r.ticket_url.as_deref(),
            Some("https://tickets.example.com/browse/SEC-42")
        );
        // The approver sees it; the audit event carries it.
        let queue = catalog.approval_queue(&person("bob")).await.unwrap();
        assert_eq!(queue[0].request.ticket.as_deref(), Some("SEC-42"));
        let created = list_audit_events(&db, None, 10)
            .await
            .unwrap()
            .into_iter()
            .find(|e| e.action == "request.created")
            .unwrap();
        assert!(
            created.details.contains("\"ticket\":\"SEC-42\""),
            "{}",
            created.details
        );
    })
    .await;
}

#[tokio::test]
async fn free_text_with_control_characters_is_refused_before_the_database() {
    with_service(|db, clock| async move {
        let s = with_prod_policy(&db, &clock).await;
        // A NUL (which PostgreSQL cannot store) or another control character: refused, named.
        for bad in ["de\0bug", "bell\u{7}"] {
            let e = s
                .request_access(
                    &person("ada"),
                    RequestInput {
                        reason: bad.into(),
                        ..ask("aws-prod", "1h")
                    },
                )
                .await
                .unwrap_err();
            assert_eq!(invalid_field(e), "Reason", "{bad:?}");
        }
        // Line breaks and tabs are text.
        let r = s
            .request_access(
                &person("ada"),
                RequestInput {
                    reason: "line one\n\tline two".into(),
                    ..ask("aws-prod", "1h")
                },
            )
            .await
            .unwrap();
        let e = s
            .decide(
                &person("bob"),
                DecisionInput {
                    comment: "ok\0".into(),
                    ..approve(r.id)
                },
            )
            .await
            .unwrap_err();
        assert_eq!(invalid_field(e), "Comment");
        assert_eq!(
            requests::find_request(&db, r.id)
                .await
                .unwrap()
                .unwrap()
                .state,
            RequestState::Pending,
            "nothing decided"
        );
    })
    .await;
}

#[tokio::test]
async fn the_start_page_says_who_one_is_and_what_waits_for_them() {
    with_service(|db, clock| async move {
        let s = AccessService {
            db: &db,
            clock: &clock,
            signal: None,
            on_call: None,
        };
        // aws-prod and aws-dev: bob named, cy and erin through `approvers`.
        s.save_policy(&admin(), policy(PolicyTarget::Pattern("aws-*".into())))
            .await
            .unwrap();
        let caches = crate::ssr::cache::Caches::default();
        let catalog = super::catalog::CatalogService {
            db: &db,
            caches: &caches,
        };
        let plain = |id: &str| {
            Requester::for_tests(crate::model::Me {
                is_admin: false,
                ..me(id)
            })
        };
        let roles = |id: &'static str| {
            let catalog = &catalog;
            let who = plain(id);
            async move { catalog.roles(&who).await.unwrap() }
        };
        assert_eq!(roles("bob").await.approver_of, 2);
        assert_eq!(roles("cy").await.describe(), "the approver of 2 groups");
        assert_eq!(roles("ada").await.describe(), "a requester");
        assert_eq!(
            catalog.roles(&admin_person()).await.unwrap().label(),
            "admin"
        );

        let empty = catalog.dashboard(&plain("ada")).await.unwrap();
        assert_eq!(
            (empty.to_decide, empty.grants.len(), empty.pending.len()),
            (0, 0, 0)
        );
        let asked = clock.timestamp();
        let r = s
            .request_access(&person("ada"), ask("aws-prod", "1h"))
            .await
            .unwrap();
        clock.advance(Duration::minutes(5));
        let bob = catalog.dashboard(&plain("bob")).await.unwrap();
        assert_eq!((bob.to_decide, bob.oldest_waiting), (1, Some(asked)));
        let ada = catalog.dashboard(&plain("ada")).await.unwrap();
        assert_eq!(ada.pending.len(), 1);
        assert_eq!(ada.pending[0].request.id, r.id);
        s.decide(&person("bob"), approve(r.id)).await.unwrap();
        let ada = catalog.dashboard(&plain("ada")).await.unwrap();
        assert_eq!((ada.pending.len(), ada.grants.len()), (0, 1));
        assert_eq!(ada.grants[0].group_name, "aws-prod");
        assert_eq!(catalog.dashboard(&plain("bob")).await.unwrap().to_decide, 0);
    })
    .await;
}

fn admin_person() -> Requester {
    Requester::for_tests(me("root"))
}
