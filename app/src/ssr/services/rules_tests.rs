//! The policy rules beyond approvers, on both database engines with the manual clock: the cap
//! on live grants, request windows across a daylight saving change, break-glass with its rate
//! limit and review afterwards, escalation timing, out-of-office delegation, and the policy
//! preview agreeing with the request path.

use time::macros::datetime;
use time::Duration;

use super::access::*;
use super::access_tests::{admin, approve, ask, invalid_field, person, policy, with_service};
use crate::error::AppError;
use crate::model::{
    BreakGlass, Escalation, Followup, GrantState, GroupId, PolicyRules, PolicyTarget, RequestState,
    UserId,
};
use crate::ssr::clock::{Clock, ManualClock};
use crate::ssr::db::audit::list_audit_events;
use crate::ssr::db::{directory, grants, notifications, outbox, Db};

fn service<'a>(db: &'a Db, clock: &'a ManualClock) -> AccessService<'a> {
    AccessService {
        db,
        clock,
        signal: None,
        on_call: None,
    }
}

async fn save(s: &AccessService<'_>, rules: PolicyRules) {
    s.save_policy(
        &admin(),
        PolicyInput {
            rules,
            ..policy(PolicyTarget::Pattern("aws-*".into()))
        },
    )
    .await
    .unwrap();
}

async fn actions(db: &Db) -> Vec<String> {
    list_audit_events(db, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

#[tokio::test]
async fn a_cap_on_live_grants_counts_pending_requests_and_spares_extensions() {
    with_service(|db, clock| async move {
        let s = service(&db, &clock);
        save(
            &s,
            PolicyRules {
                max_live_grants: Some(1),
                ..Default::default()
            },
        )
        .await;
        let first = s
            .request_access(&person("ada"), ask("aws-prod", "1h"))
            .await
            .unwrap();
        // Pending counts: a second group under the same policy is refused, naming the rule.
        let e = s
            .request_access(&person("ada"), ask("aws-dev", "1h"))
            .await
            .unwrap_err();
        let AppError::Conflict(message) = e else {
            panic!("{e:?}")
        };
        assert!(message.contains("at most 1 live grants"), "{message}");
        assert!(message.contains("aws-prod"), "{message}");
        // Someone else is not counted against ada.
        s.request_access(&person("bob"), ask("aws-dev", "1h"))
            .await
            .unwrap();
        // Approved and held: still one; asking again for the same group extends it.
        s.decide(&person("cy"), approve(first.id)).await.unwrap();
        let extension = s
            .request_access(&person("ada"), ask("aws-prod", "1h"))
            .await
            .unwrap();
        assert!(extension.extends_grant_id.is_some());
        assert!(s
            .request_access(&person("ada"), ask("aws-dev", "1h"))
            .await
            .is_err());
        // Given back: the cap frees up.
        s.cancel(&person("ada"), extension.id).await.unwrap();
        let grant = grants::list_grants_of(&db, &UserId::from("ada"), 10)
            .await
            .unwrap()[0]
            .id;
        s.give_back(&person("ada"), grant).await.unwrap();
        s.request_access(&person("ada"), ask("aws-dev", "1h"))
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_request_window_keeps_its_local_hours_across_a_daylight_saving_change() {
    with_service(|db, _| async move {
        // Friday 26 March 2027, 07:30 UTC: 08:30 in Berlin (UTC+1), before the window opens.
        let clock = ManualClock::at(datetime!(2027-03-26 07:30 UTC));
        let s = service(&db, &clock);
        save(
            &s,
            PolicyRules {
                request_window: Some("Mon-Fri 09:00-17:00 Europe/Berlin".into()),
                ..Default::default()
            },
        )
        .await;
        let e = s
            .request_access(&person("ada"), ask("aws-prod", "1h"))
            .await
            .unwrap_err();
        let message = e.to_string();
        assert_eq!(invalid_field(e), "Start");
        assert!(
            message.contains("Mon-Fri 09:00-17:00 Europe/Berlin") && message.contains("Fri 08:30"),
            "{message}"
        );
        // A start scheduled inside the window is fine now.
        let mut scheduled = ask("aws-prod", "1h");
        scheduled.starts_at = Some(clock.timestamp().plus_secs(3600));
        let r = s.request_access(&person("ada"), scheduled).await.unwrap();
        s.cancel(&person("ada"), r.id).await.unwrap();
        // Berlin moved to UTC+2 on Sunday 28 March: the same 07:30 UTC on Monday is 09:30 there.
        clock.advance(Duration::days(3));
        s.request_access(&person("ada"), ask("aws-prod", "1h"))
            .await
            .unwrap();
        // And 15:30 UTC is 17:30 there: closed, though it was open at 15:30 UTC on Friday.
        clock.advance(Duration::hours(8));
        let e = s
            .request_access(&person("bob"), ask("aws-dev", "1h"))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("Mon 17:30"), "{e}");
    })
    .await;
}

#[tokio::test]
async fn break_glass_grants_at_once_is_rate_limited_and_reviewed_afterwards() {
    with_service(|db, clock| async move {
        let s = service(&db, &clock);
        // Without break-glass in the policy, there is none.
        save(&s, PolicyRules::default()).await;
        let e = s
            .activate_emergency(&person("ada"), ask("aws-prod", "30m"))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("no emergency access"), "{e}");
        save(
            &s,
            PolicyRules {
                break_glass: Some(BreakGlass {
                    max_secs: 3600,
                    per_day: 1,
                }),
                // Emergencies keep no hours: a closed window does not stop them.
                request_window: Some("Sat 00:00-00:01 UTC".into()),
                ..Default::default()
            },
        )
        .await;
        let e = s
            .activate_emergency(&person("ada"), ask("aws-prod", "2h"))
            .await
            .unwrap_err();
        assert_eq!(invalid_field(e), "Duration");
        let mut no_reason = ask("aws-prod", "30m");
        no_reason.reason = " ".into();
        let e = s
            .activate_emergency(&person("ada"), no_reason)
            .await
            .unwrap_err();
        assert_eq!(invalid_field(e), "Reason");
        // dan is not in eng, whom the policy lets request: no emergency access either.
        assert!(matches!(
            s.activate_emergency(&person("dan"), ask("aws-prod", "30m"))
                .await
                .unwrap_err(),
            AppError::Forbidden
        ));
        assert!(outbox::list_pending_okta_ops(&db).await.unwrap().is_empty());

        let r = s
            .activate_emergency(&person("ada"), ask("aws-prod", ""))
            .await
            .unwrap();
        assert_eq!(
            (r.state, r.emergency, r.decided_by.as_deref()),
            (
                RequestState::Approved,
                Some(Followup::Pending),
                Some("break-glass")
            )
        );
        let held = grants::list_grants_of(&db, &UserId::from("ada"), 10)
            .await
            .unwrap();
        assert_eq!(
            (held[0].state, held[0].ends_at),
            (GrantState::Active, clock.timestamp().plus_secs(3600)),
            "active now, for the emergency maximum"
        );
        assert_eq!(
            outbox::list_pending_okta_ops(&db).await.unwrap()[0].0,
            "add",
            "the membership is queued for Okta at once"
        );
        assert!(actions(&db).await.contains(&"request.emergency".to_owned()));

        // One a day: a second one, even for another group, waits 24 hours.
        clock.advance(Duration::hours(23));
        let e = s
            .activate_emergency(&person("ada"), ask("aws-dev", "30m"))
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("1 time(s) in the last 24 hours"),
            "{e}"
        );
        clock.advance(Duration::hours(1) + Duration::seconds(1));
        s.activate_emergency(&person("ada"), ask("aws-dev", "30m"))
            .await
            .unwrap();

        // The review afterwards: never by the requester (bob approves the policy's requests,
        // but not his own emergency), only by an approver, once.
        let own = s
            .activate_emergency(&person("bob"), ask("aws-prod", "30m"))
            .await
            .unwrap();
        let e = s
            .review_emergency(&person("bob"), own.id, true, "")
            .await
            .unwrap_err();
        assert!(e.to_string().contains("your own"), "{e}");
        assert!(matches!(
            s.review_emergency(&person("ada"), r.id, true, "").await,
            Err(AppError::Forbidden)
        ));
        assert!(matches!(
            s.review_emergency(&person("dan"), r.id, true, "").await,
            Err(AppError::Forbidden)
        ));
        assert_eq!(
            invalid_field(
                s.review_emergency(&person("bob"), r.id, false, "")
                    .await
                    .unwrap_err()
            ),
            "Comment",
            "flagging says why"
        );
        let reviewed = s
            .review_emergency(&person("cy"), r.id, false, "no incident that night")
            .await
            .unwrap();
        assert_eq!(reviewed.emergency, Some(Followup::Flagged));
        let e = s
            .review_emergency(&person("bob"), r.id, true, "")
            .await
            .unwrap_err();
        assert!(e.to_string().contains("already reviewed"), "{e}");
        assert!(actions(&db)
            .await
            .contains(&"request.emergency_reviewed".to_owned()));
    })
    .await;
}

#[tokio::test]
async fn an_undecided_request_escalates_to_the_second_tier_then_to_admins() {
    with_service(|db, clock| async move {
        let s = service(&db, &clock);
        save(
            &s,
            PolicyRules {
                escalation: Some(Escalation {
                    after_secs: 1800,
                    users: vec![UserId::from("dan")],
                    groups: vec![],
                    admins_after_secs: Some(3600),
                }),
                ..Default::default()
            },
        )
        .await;
        notifications::set_admin_recipients(&db, &["root".to_owned()])
            .await
            .unwrap();
        let r = s
            .request_access(&person("ada"), ask("aws-prod", "1h"))
            .await
            .unwrap();
        clock.advance(Duration::minutes(29));
        assert_eq!(s.route_pending().await.unwrap(), 0, "not yet");
        assert!(matches!(
            s.check_decidable(&person("dan"), r.id).await,
            Err(AppError::Forbidden)
        ));
        clock.advance(Duration::minutes(1));
        assert_eq!(s.route_pending().await.unwrap(), 1);
        s.check_decidable(&person("dan"), r.id).await.unwrap();
        assert!(matches!(
            s.check_decidable(&person("root"), r.id).await,
            Err(AppError::Forbidden)
        ));
        assert_eq!(s.route_pending().await.unwrap(), 0, "each step once");
        clock.advance(Duration::minutes(60));
        assert_eq!(s.route_pending().await.unwrap(), 1);
        s.check_decidable(&person("root"), r.id).await.unwrap();
        let notes = notes(&db, r.id).await;
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].starts_with("escalated to the second tier at"));
        let done = s.decide(&person("root"), approve(r.id)).await.unwrap();
        assert_eq!(done.state, RequestState::Approved);
        let all = actions(&db).await;
        for action in ["request.escalated.second_tier", "request.escalated.admins"] {
            assert!(all.contains(&action.to_owned()), "{action}: {all:?}");
        }
        // A request decided before its time never escalates.
        let r = s
            .request_access(&person("bob"), ask("aws-dev", "1h"))
            .await
            .unwrap();
        s.decide(&person("cy"), approve(r.id)).await.unwrap();
        clock.advance(Duration::hours(3));
        assert_eq!(s.route_pending().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn a_delegate_stands_in_only_in_its_dates_and_never_for_their_own_request() {
    with_service(|db, clock| async move {
        let s = service(&db, &clock);
        save(&s, PolicyRules::default()).await;
        let now = clock.timestamp();
        // Bad delegations are refused and write nothing.
        for (login, from, to, field) in [
            ("bob@example.com", 0, 3600, "Delegate"),
            ("nobody@example.com", 0, 3600, "Delegate"),
            ("dan@example.com", 3600, 60, "Until"),
            ("dan@example.com", 0, 91 * 86_400, "Until"),
        ] {
            let e = s
                .set_delegation(
                    &person("bob"),
                    login,
                    Some(now.plus_secs(from)),
                    now.plus_secs(to),
                )
                .await
                .unwrap_err();
            assert_eq!(invalid_field(e), field, "{login} {from} {to}");
        }
        assert!(s.my_delegations(&person("bob")).await.unwrap().is_empty());

        // bob is away in an hour, for an hour; dan stands in.
        let d = s
            .set_delegation(
                &person("bob"),
                "dan@example.com",
                Some(now.plus_secs(3600)),
                now.plus_secs(7200),
            )
            .await
            .unwrap();
        let before = s
            .request_access(&person("ada"), ask("aws-prod", "1h"))
            .await
            .unwrap();
        assert!(matches!(
            s.check_decidable(&person("dan"), before.id).await,
            Err(AppError::Forbidden)
        ));
        clock.advance(Duration::hours(1));
        // Pending requests reach the delegate when the delegation starts.
        s.route_pending().await.unwrap();
        s.check_decidable(&person("dan"), before.id).await.unwrap();
        // A request made while bob is away goes to dan at once…
        directory::upsert_membership(&db, &GroupId::from("eng"), &UserId::from("dan"), ms(2))
            .await
            .unwrap();
        let erin_asks = s
            .request_access(&person("erin"), ask("aws-dev", "1h"))
            .await;
        // (erin is not in eng: refused, not routed.)
        assert!(matches!(erin_asks, Err(AppError::Forbidden)));
        // …but never dan's own request.
        let own = s
            .request_access(&person("dan"), ask("aws-dev", "1h"))
            .await
            .unwrap();
        assert!(matches!(
            s.check_decidable(&person("dan"), own.id).await,
            Err(AppError::Forbidden)
        ));
        let notes = notes(&db, before.id).await;
        assert_eq!(notes, ["delegated to dan for bob"]);
        // After the dates, new requests are bob's alone.
        clock.advance(Duration::hours(1));
        let after = s
            .request_access(&person("ada"), ask("aws-dev", "1h"))
            .await
            .unwrap();
        s.route_pending().await.unwrap();
        assert!(matches!(
            s.check_decidable(&person("dan"), after.id).await,
            Err(AppError::Forbidden)
        ));
        assert!(actions(&db).await.contains(&"request.delegated".to_owned()));
        // Removing is the owner's alone.
        assert!(matches!(
            s.remove_delegation(&person("ada"), d.id).await,
            Err(AppError::NotFound(_))
        ));
        s.remove_delegation(&person("bob"), d.id).await.unwrap();
    })
    .await;
}

/// What the request's page says of how it was routed.
async fn notes(db: &Db, id: crate::model::RequestId) -> Vec<String> {
    let r = crate::ssr::db::requests::find_request(db, id)
        .await
        .unwrap()
        .unwrap();
    let routing = crate::ssr::db::requests::routing_among(db, &[id])
        .await
        .unwrap();
    super::routing::notes_of(&[r], &routing)
        .remove(&id)
        .unwrap_or_default()
}

fn ms(n: i64) -> crate::model::Timestamp {
    crate::ssr::testing::ms(n)
}

#[tokio::test]
async fn the_preview_says_what_the_request_path_does() {
    with_service(|db, clock| async move {
        let s = service(&db, &clock);
        save(
            &s,
            PolicyRules {
                max_live_grants: Some(1),
                ..Default::default()
            },
        )
        .await;
        s.request_access(&person("bob"), ask("aws-prod", "1h"))
            .await
            .unwrap();
        for who in ["ada", "bob", "dan", "erin"] {
            for group in ["aws-prod", "aws-dev", "eng", "ruled", "ad-app"] {
                let user = directory::find_user(&db, who).await.unwrap().unwrap();
                let g = directory::find_group(&db, group).await.unwrap().unwrap();
                let preview = super::assess::preview(
                    &db,
                    &user,
                    super::assess::Target::Group(g),
                    clock.timestamp(),
                )
                .await
                .unwrap();
                // What the request path does, undone afterwards so the next pair sees the same.
                let outcome = s.request_access(&person(who), ask(group, "1h")).await;
                let same = match &outcome {
                    Ok(r) => {
                        s.cancel(&person(who), r.id).await.unwrap();
                        preview.may_request
                    }
                    // A pending request or membership is a state conflict after the rules.
                    Err(AppError::Conflict(m)) if m.contains("already") => preview.may_request,
                    Err(_) => !preview.may_request,
                };
                assert!(same, "{who} {group}: {preview:?} vs {outcome:?}");
            }
        }
        let ada = directory::find_user(&db, "ada").await.unwrap().unwrap();
        let g = directory::find_group(&db, "aws-prod")
            .await
            .unwrap()
            .unwrap();
        let p = super::assess::preview(
            &db,
            &ada,
            super::assess::Target::Group(g),
            clock.timestamp(),
        )
        .await
        .unwrap();
        assert!(p.may_request);
        let approvers: Vec<(&str, &str)> = p
            .approvers
            .iter()
            .map(|a| (a.user_id.as_str(), a.via.as_str()))
            .collect();
        assert_eq!(
            approvers,
            [
                ("bob", "named"),
                ("cy", "member of approvers"),
                ("erin", "member of approvers")
            ]
        );
        let dan = directory::find_user(&db, "dan").await.unwrap().unwrap();
        let g = directory::find_group(&db, "aws-prod")
            .await
            .unwrap()
            .unwrap();
        let p = super::assess::preview(
            &db,
            &dan,
            super::assess::Target::Group(g),
            clock.timestamp(),
        )
        .await
        .unwrap();
        assert!(!p.may_request);
        assert!(p
            .checks
            .iter()
            .any(|c| c.rule == "Who may request" && !c.passed));
        // bob's own preview leaves him out of his approvers (no self-approval).
        let bob = directory::find_user(&db, "bob").await.unwrap().unwrap();
        let g = directory::find_group(&db, "aws-dev")
            .await
            .unwrap()
            .unwrap();
        let p = super::assess::preview(
            &db,
            &bob,
            super::assess::Target::Group(g),
            clock.timestamp(),
        )
        .await
        .unwrap();
        assert!(p.approvers.iter().all(|a| a.user_id.as_str() != "bob"));
        assert!(
            !p.may_request,
            "bob holds a pending request under the cap of 1"
        );
    })
    .await;
}

/// PagerDuty as the workflow sees it (the HTTP side is tested against the stand-in in
/// `server/tests/http/pagerduty.rs`): who is on call, or an outage.
#[derive(Debug)]
struct FakeOnCall(Result<Vec<&'static str>, &'static str>);

#[async_trait::async_trait]
impl crate::ssr::pagerduty::OnCallCheck for FakeOnCall {
    async fn is_on_call(&self, schedule: &str, email: &str) -> Result<bool, String> {
        assert_eq!(schedule, "PSCHED1");
        match &self.0 {
            Ok(people) => Ok(people.contains(&email)),
            Err(e) => Err((*e).to_owned()),
        }
    }
}

#[tokio::test]
async fn whoever_is_on_call_is_approved_at_once_and_an_outage_falls_back_to_approvers() {
    with_service(|db, clock| async move {
        let on_call = FakeOnCall(Ok(vec!["ada@example.com"]));
        let s = AccessService {
            db: &db,
            clock: &clock,
            signal: None,
            on_call: Some(&on_call),
        };
        // Not a PagerDuty id: refused, naming the field.
        let e = s
            .save_policy(
                &admin(),
                PolicyInput {
                    rules: PolicyRules {
                        on_call_schedule: Some("Platform primary".into()),
                        ..Default::default()
                    },
                    ..policy(PolicyTarget::Pattern("aws-*".into()))
                },
            )
            .await
            .unwrap_err();
        assert_eq!(invalid_field(e), "On-call schedule");
        save(
            &s,
            PolicyRules {
                on_call_schedule: Some("PSCHED1".into()),
                ..Default::default()
            },
        )
        .await;
        // ada is on call: approved at once, by the on-call rule, the membership queued.
        let r = s
            .request_access(&person("ada"), ask("aws-prod", "1h"))
            .await
            .unwrap();
        assert_eq!(
            (r.state, r.decided_by.as_deref()),
            (RequestState::Approved, Some("on-call"))
        );
        assert_eq!(outbox::list_pending_okta_ops(&db).await.unwrap().len(), 1);
        // bob is not: his request waits for its approvers.
        let r = s
            .request_access(&person("bob"), ask("aws-prod", "1h"))
            .await
            .unwrap();
        assert_eq!(r.state, RequestState::Pending);
        // A scheduled start is not approved by being on call now.
        let mut later = ask("aws-dev", "1h");
        later.starts_at = Some(clock.timestamp().plus_secs(7200));
        let r = s.request_access(&person("ada"), later).await.unwrap();
        assert_eq!(r.state, RequestState::Pending);
        s.cancel(&person("ada"), r.id).await.unwrap();

        // PagerDuty down: the request goes to its approvers, and the event says why.
        let down = FakeOnCall(Err("PagerDuty answered 503"));
        let s = AccessService {
            on_call: Some(&down),
            ..s
        };
        let r = s
            .request_access(&person("ada"), ask("aws-dev", "1h"))
            .await
            .unwrap();
        assert_eq!(r.state, RequestState::Pending);
        s.decide(&person("cy"), approve(r.id)).await.unwrap();
        let created = list_audit_events(&db, None, 100)
            .await
            .unwrap()
            .into_iter()
            .find(|e| e.action == "request.created" && e.subject == format!("request:{}", r.id))
            .unwrap();
        assert!(
            created.details.contains("PagerDuty answered 503"),
            "{}",
            created.details
        );
        // Without PagerDuty configured at all: the same.
        let s = AccessService { on_call: None, ..s };
        let r = s
            .request_access(&person("bob"), ask("aws-dev", "1h"))
            .await
            .unwrap();
        assert_eq!(r.state, RequestState::Pending);
    })
    .await;
}

#[tokio::test]
async fn a_bundle_is_asked_for_once_decided_once_and_given_back_whole() {
    with_service(|db, clock| async move {
        let s = service(&db, &clock);
        // Bad bundles are refused, naming the field, and write nothing.
        for (name, groups, field) in [
            ("", "aws-prod", "Name"),
            ("x*", "aws-prod", "Name"),
            ("oncall", "", "Groups"),
            ("oncall", "aws-prod, nope", "Groups"),
            ("oncall", "aws-prod, ad-app", "Groups"),
            ("oncall", "ruled", "Groups"),
        ] {
            let e = s.save_bundle(&admin(), name, "", groups).await.unwrap_err();
            assert_eq!(invalid_field(e), field, "{name} {groups}");
        }
        assert!(actions(&db).await.is_empty());
        let bundle = s
            .save_bundle(
                &admin(),
                "oncall",
                "what the on-call engineer needs",
                "aws-prod, aws-dev, approvers",
            )
            .await
            .unwrap();
        assert_eq!(bundle.group_names, ["approvers", "aws-dev", "aws-prod"]);
        // Its policy, by name: bob approves; anyone may ask.
        let spec = crate::model::PolicySpec {
            applies_to: "bundle:oncall".into(),
            requestable: true,
            eligible_groups: vec![],
            approvers: vec!["bob@example.com".into()],
            approver_groups: vec![],
            quorum: 1,
            default_duration: "1h".into(),
            max_duration: "4h".into(),
            require_reason: true,
            allow_self_approval: false,
            auto_approve: false,
            approve_in_gatepass_only: false,
            slack_channel: None,
            keep_needs_comment: false,
            ticket_pattern: None,
            ticket_url: None,
            max_live_grants: None,
            request_window: None,
            break_glass_max: None,
            break_glass_per_day: None,
            escalate_after: None,
            escalation_approvers: vec![],
            escalation_approver_groups: vec![],
            escalate_to_admins_after: None,
            on_call_schedule: None,
        };
        let input = resolve_policy_spec(&db, &spec).await.unwrap();
        s.save_policy(&admin(), input).await.unwrap();
        let ask_bundle = |duration: &str| super::bundles::BundleRequestInput {
            bundle_id: bundle.id,
            duration: optional_duration("Duration", duration).unwrap(),
            reason: "on call this week".into(),
            starts_at: None,
            ticket: String::new(),
        };

        // One request: a lead with the approvers, two following it; only the lead is decided.
        let lead = s
            .request_bundle(&person("dan"), ask_bundle("2h"))
            .await
            .unwrap();
        assert_eq!(lead.state, RequestState::Pending);
        let queue =
            crate::ssr::db::requests::list_pending_for_approver(&db, &UserId::from("bob"), 10)
                .await
                .unwrap();
        assert_eq!(queue.len(), 1, "one item for the whole bundle");
        let followers = {
            let mut tx = db.begin_write().await.unwrap();
            crate::ssr::db::bundles::followers(&mut tx, lead.id)
                .await
                .unwrap()
        };
        assert_eq!(followers.len(), 2);
        assert!(matches!(
            s.check_decidable(&person("bob"), followers[0]).await,
            Err(AppError::Forbidden)
        ));
        // A follower cannot be cancelled alone.
        let e = s.cancel(&person("dan"), followers[0]).await.unwrap_err();
        assert!(e.to_string().contains("cancel the bundle's request"), "{e}");

        // One approval grants every group (shortened for all).
        let mut decision = approve(lead.id);
        decision.duration = Some("1h".parse().unwrap());
        s.decide(&person("bob"), decision).await.unwrap();
        let held = grants::list_grants_of(&db, &UserId::from("dan"), 10)
            .await
            .unwrap();
        assert_eq!(held.len(), 3);
        assert!(held.iter().all(
            |g| g.state == GrantState::Active && g.ends_at == clock.timestamp().plus_secs(3600)
        ));
        assert_eq!(outbox::list_pending_okta_ops(&db).await.unwrap().len(), 3);

        // Asking again extends every group; then one give-back ends the whole bundle.
        let again = s
            .request_bundle(&person("dan"), ask_bundle("1h"))
            .await
            .unwrap();
        s.decide(&person("bob"), approve(again.id)).await.unwrap();
        let held = grants::list_grants_of(&db, &UserId::from("dan"), 10)
            .await
            .unwrap();
        assert_eq!(held.len(), 3, "extended, not granted again");
        assert!(held
            .iter()
            .all(|g| g.ends_at == clock.timestamp().plus_secs(7200)));
        s.give_back(&person("dan"), held[1].id).await.unwrap();
        let held = grants::list_grants_of(&db, &UserId::from("dan"), 10)
            .await
            .unwrap();
        assert!(
            held.iter().all(|g| g.state == GrantState::Revoking),
            "{held:?}"
        );
        let removes = outbox::list_pending_okta_ops(&db)
            .await
            .unwrap()
            .into_iter()
            .filter(|op| op.0 == "remove")
            .count();
        assert_eq!(removes, 3);

        // A denial denies every group; cancelling the lead cancels them all.
        let denied = s
            .request_bundle(&person("dan"), ask_bundle("1h"))
            .await
            .unwrap();
        s.decide(
            &person("bob"),
            DecisionInput {
                request_id: denied.id,
                decision: crate::model::Decision::Deny,
                comment: "not this week".into(),
                duration: None,
            },
        )
        .await
        .unwrap();
        let cancelled = s
            .request_bundle(&person("dan"), ask_bundle("1h"))
            .await
            .unwrap();
        s.cancel(&person("dan"), cancelled.id).await.unwrap();
        let mut states: Vec<(i64, &str)> = Vec::new();
        for r in crate::ssr::db::requests::list_requests_of(&db, &UserId::from("dan"), 50)
            .await
            .unwrap()
        {
            if r.id.0 >= denied.id.0 {
                states.push((r.id.0, r.state.as_str()));
            }
        }
        assert_eq!(
            states.iter().filter(|(_, s)| *s == "denied").count(),
            3,
            "{states:?}"
        );
        assert_eq!(states.iter().filter(|(_, s)| *s == "cancelled").count(), 3);
        // Holding a group of the bundle some other way: refused, naming it.
        let single = s.request_access(&person("dan"), ask("aws-dev", "1h")).await;
        assert!(
            single.is_err(),
            "no policy for aws-dev alone here: {single:?}"
        );
        assert!(actions(&db)
            .await
            .contains(&"policy.bundle_saved".to_owned()));
    })
    .await;
}

/// Who is emailed of what: (event, recipient) of every queued email, sorted.
async fn emailed(db: &Db) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = notifications::list_deliveries(db, None, 0, 500)
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.channel == "email")
        .map(|d| (d.event, d.target))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn approvers_hear_of_an_emergency_and_a_delegate_of_what_they_stand_in_for() {
    with_service(|db, clock| async move {
        notifications::set_channel_enabled(&db, "email", true)
            .await
            .unwrap();
        let s = service(&db, &clock);
        save(
            &s,
            PolicyRules {
                break_glass: Some(BreakGlass {
                    max_secs: 3600,
                    per_day: 1,
                }),
                ..Default::default()
            },
        )
        .await;
        s.activate_emergency(&person("ada"), ask("aws-prod", "30m"))
            .await
            .unwrap();
        let to = |event: &str, who: &[&str]| {
            who.iter()
                .map(|w| (event.to_owned(), (*w).to_owned()))
                .collect::<Vec<_>>()
        };
        let sent = emailed(&db).await;
        // bob is named, cy and erin approve through their group; ada activated it herself.
        for pair in to("request.emergency", &["bob", "cy", "erin"]) {
            assert!(sent.contains(&pair), "{pair:?} in {sent:?}");
        }
        assert!(!sent.contains(&("request.emergency".into(), "ada".into())));

        // bob is away; dan stands in and is told, the others are not told again.
        s.set_delegation(
            &person("bob"),
            "dan@example.com",
            None,
            clock.timestamp().plus_secs(3600),
        )
        .await
        .unwrap();
        s.request_access(&person("ada"), ask("aws-dev", "1h"))
            .await
            .unwrap();
        let delegated: Vec<_> = emailed(&db)
            .await
            .into_iter()
            .filter(|(e, _)| e == "request.delegated")
            .collect();
        assert_eq!(delegated, to("request.delegated", &["dan"]));
        let created: Vec<_> = emailed(&db)
            .await
            .into_iter()
            .filter(|(e, _)| e == "request.created")
            .map(|(_, who)| who)
            .collect();
        assert_eq!(
            created,
            ["bob", "cy", "erin"],
            "one notice each: dan's is the delegation"
        );
    })
    .await;
}
