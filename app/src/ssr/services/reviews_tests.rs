//! Access reviews on both database engines, with a clock that moves only when told to: scope,
//! reviewer routing (approvers, named people, managers, the self-review fallback), decisions
//! and changes of mind, the default at the due date, revocations queued the grant engine's
//! way, recurring reviews, reminders, and who may see what.

use time::macros::datetime;
use time::Duration;

use super::access::{AccessService, PolicyInput, RequestInput};
use super::reviews::*;
use crate::error::AppError;
use crate::model::{
    CampaignForm, GrantDuration, GrantState, GroupId, PolicyTarget, ReviewDecision, ReviewState,
    UserId,
};
use crate::ssr::auth::{Admin, Requester};
use crate::ssr::clock::ManualClock;
use crate::ssr::db::audit::{list_audit_events, verify_audit_chain};
use crate::ssr::db::directory::{
    upsert_group, upsert_membership, upsert_user, GroupRecord, UserProfile, UserRecord,
};
use crate::ssr::db::reviews::ItemFilter;
use crate::ssr::db::{grants, outbox, Db};
use crate::ssr::testing::{each_engine, ms, test_person as me};

fn person(id: &str) -> Requester {
    Requester::for_tests(me(id))
}

fn admin() -> Admin {
    Admin::for_tests(me("root"))
}

/// People (with managers: ada and bob report to max; cy to herself; dan to someone unknown),
/// groups, and who is in them. `approvers` (cy, erin) approve the `aws-*` groups with bob.
async fn directory(db: &Db) {
    for (u, manager) in [
        ("ada", Some("max")),
        ("bob", Some("max")),
        ("cy", Some("cy")),
        ("dan", Some("nobody")),
        ("erin", None),
        ("max", None),
        ("root", None),
    ] {
        upsert_user(
            db,
            &UserRecord {
                okta_id: u.into(),
                login: format!("{u}@example.com"),
                email: format!("{u}@example.com"),
                display_name: u.into(),
                status: "ACTIVE".into(),
                profile: UserProfile {
                    title: Some(format!("{u}'s title")),
                    department: Some("engineering".into()),
                    manager_id: manager.map(str::to_owned),
                    manager_name: None,
                    last_login: Some(ms(500)),
                },
            },
            ms(1),
        )
        .await
        .unwrap();
    }
    for (id, kind, rule) in [
        ("aws-prod", "OKTA_GROUP", false),
        ("aws-dev", "OKTA_GROUP", false),
        ("aws-ruled", "OKTA_GROUP", true),
        ("db-admin", "OKTA_GROUP", false),
        ("approvers", "OKTA_GROUP", false),
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
        ("aws-prod", "ada"),
        ("aws-prod", "bob"),
        ("aws-prod", "cy"),
        ("aws-ruled", "ada"),
        ("db-admin", "dan"),
        ("db-admin", "ada"),
        ("approvers", "cy"),
        ("approvers", "erin"),
        ("ad-app", "ada"),
    ] {
        upsert_membership(db, &GroupId::from(g), &UserId::from(u), ms(1))
            .await
            .unwrap();
    }
}

fn policy(target: PolicyTarget) -> PolicyInput {
    PolicyInput {
        target: Some(target),
        requestable: true,
        eligible_groups: vec![],
        approver_users: vec!["bob".into()],
        approver_groups: vec!["approvers".into()],
        quorum: 1,
        default_duration: "4h".parse().unwrap(),
        max_duration: "1d".parse().unwrap(),
        require_reason: false,
        allow_self_approval: false,
        auto_approve: true,
        approve_in_gatepass_only: false,
        slack_channel: None,
        keep_needs_comment: false,
        ticket_pattern: None,
        ticket_url: None,
        rules: Default::default(),
    }
}

/// Policies (aws-* by bob and the approvers group; db-admin by dan alone, with a comment to
/// keep), and a live grant of aws-dev to erin, whose membership the directory shows.
async fn setup(db: &Db, clock: &ManualClock) {
    directory(db).await;
    let access = AccessService {
        db,
        clock,
        signal: None,
        on_call: None,
    };
    access
        .save_policy(&admin(), policy(PolicyTarget::Pattern("aws-*".into())))
        .await
        .unwrap();
    access
        .save_policy(
            &admin(),
            PolicyInput {
                approver_users: vec!["dan".into()],
                approver_groups: vec![],
                keep_needs_comment: true,
                ..policy(PolicyTarget::Group("db-admin".into()))
            },
        )
        .await
        .unwrap();
    access
        .request_access(
            &person("erin"),
            RequestInput {
                group_id: "aws-dev".into(),
                duration: Some(GrantDuration::from_secs(4 * 3600)),
                reason: "debug the deploy".into(),
                starts_at: None,
                ticket: String::new(),
            },
        )
        .await
        .unwrap();
    upsert_membership(db, &GroupId::from("aws-dev"), &UserId::from("erin"), ms(2))
        .await
        .unwrap();
}

async fn with_reviews<F, Fut>(test: F)
where
    F: Fn(Db, ManualClock) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    each_engine(|db| {
        let test = &test;
        async move {
            let clock = ManualClock::at(datetime!(2026-06-01 09:00 UTC));
            setup(&db, &clock).await;
            test(db, clock).await
        }
    })
    .await;
}

fn form(name: &str) -> CampaignForm {
    CampaignForm {
        name: name.into(),
        patterns: "aws-*".into(),
        include: "both".into(),
        reviewers: "approvers".into(),
        due_days: "14".into(),
        default_action: "keep".into(),
        extend_days: "7".into(),
        ..CampaignForm::default()
    }
}

fn service<'a>(db: &'a Db, clock: &'a ManualClock) -> ReviewService<'a> {
    ReviewService {
        db,
        clock,
        signal: None,
    }
}

/// What `who` sees in campaign `id`: (person, group, route) of every item, sorted.
async fn seen_by(s: &ReviewService<'_>, who: &str, id: i64) -> Vec<(String, String, String)> {
    match s
        .my_page(
            &person(who),
            id,
            &ItemFilter {
                person: "%%",
                state: "all",
                ..Default::default()
            },
            0,
        )
        .await
    {
        Ok(page) => {
            let mut v: Vec<_> = page
                .items
                .into_iter()
                .map(|i| (i.user_id, i.group_name, i.route))
                .collect();
            v.sort();
            v
        }
        Err(AppError::NotFound(_)) => Vec::new(),
        Err(e) => panic!("{e:?}"),
    }
}

fn t(items: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    items
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

/// The ids of `who`'s undecided items in `id`, by (person, group).
async fn item_id(s: &ReviewService<'_>, who: &str, id: i64, member: &str, group: &str) -> i64 {
    s.my_page(
        &person(who),
        id,
        &ItemFilter {
            person: "%%",
            state: "all",
            ..Default::default()
        },
        0,
    )
    .await
    .unwrap()
    .items
    .into_iter()
    .find(|i| i.user_id == member && i.group_name == group)
    .unwrap_or_else(|| panic!("{who} does not see {member} in {group}"))
    .id
}

#[tokio::test]
async fn scope_names_okta_groups_gatepass_can_change_and_bad_forms_change_nothing() {
    with_reviews(|db, clock| async move {
        let s = service(&db, &clock);
        let audit_before = list_audit_events(&db, None, 1000).await.unwrap().len();
        for (f, field) in [
            (
                CampaignForm {
                    patterns: String::new(),
                    ..form("x")
                },
                "Groups",
            ),
            (
                CampaignForm {
                    patterns: "aws-prod".into(),
                    ..form("x")
                },
                "Patterns",
            ),
            (
                CampaignForm {
                    name: " ".into(),
                    ..form("x")
                },
                "Name",
            ),
            (
                CampaignForm {
                    reviewers: "people".into(),
                    ..form("x")
                },
                "Reviewers",
            ),
            (
                CampaignForm {
                    fallback: "nobody@example.com".into(),
                    ..form("x")
                },
                "Fallback reviewers",
            ),
            (
                CampaignForm {
                    remind_days: "14".into(),
                    ..form("x")
                },
                "Remind",
            ),
            (
                CampaignForm {
                    due_days: "0".into(),
                    ..form("x")
                },
                "Days to review",
            ),
            (
                CampaignForm {
                    default_action: "forget".into(),
                    ..form("x")
                },
                "If undecided",
            ),
            (
                CampaignForm {
                    groups: "ad-app".into(),
                    ..form("x")
                },
                "Groups",
            ),
            (
                CampaignForm {
                    policies: "99".into(),
                    ..form("x")
                },
                "Policies",
            ),
            (
                CampaignForm {
                    repeat_months: "0".into(),
                    ..form("x")
                },
                "Repeat",
            ),
        ] {
            match s.create(&admin(), &f).await {
                Err(AppError::Invalid { field: got, .. }) => assert_eq!(got, field),
                other => panic!("{field}: expected a validation error, got {other:?}"),
            }
        }
        assert!(
            s.overview(&admin(), 0).await.unwrap().campaigns.is_empty(),
            "nothing made"
        );
        assert_eq!(
            list_audit_events(&db, None, 1000).await.unwrap().len(),
            audit_before,
            "nothing audited"
        );

        // A pattern: the aws-* Okta groups, not the one a group rule fills.
        let c = s.create(&admin(), &form("aws")).await.unwrap();
        assert_eq!(c.state, ReviewState::Open);
        let detail = s.detail(&admin(), c.id).await.unwrap();
        let groups: Vec<_> = detail.by_group.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(groups, ["aws-dev", "aws-prod"]);
        assert_eq!(
            c.items, 4,
            "ada, bob, cy in aws-prod; erin's grant of aws-dev"
        );
        // A group by name, a policy, everything requestable, every Okta group.
        let by_name = s
            .create(
                &admin(),
                &CampaignForm {
                    patterns: String::new(),
                    groups: "db-admin".into(),
                    ..form("db")
                },
            )
            .await
            .unwrap();
        assert_eq!(by_name.items, 2);
        let policies = crate::ssr::db::policies::list_policies(&db).await.unwrap();
        let db_policy = policies
            .iter()
            .find(|p| matches!(&p.target, PolicyTarget::Group(g) if g.0 == "db-admin"))
            .unwrap();
        let by_policy = s
            .create(
                &admin(),
                &CampaignForm {
                    patterns: String::new(),
                    policies: format!("#{}", db_policy.id),
                    ..form("p")
                },
            )
            .await
            .unwrap();
        assert_eq!(by_policy.items, 2);
        let requestable = s
            .create(
                &admin(),
                &CampaignForm {
                    patterns: String::new(),
                    all_requestable: true,
                    ..form("r")
                },
            )
            .await
            .unwrap();
        assert_eq!(requestable.items, 6);
        let every = s
            .create(
                &admin(),
                &CampaignForm {
                    patterns: String::new(),
                    all_okta_groups: true,
                    ..form("all")
                },
            )
            .await
            .unwrap();
        assert_eq!(
            every.items, 8,
            "the approvers group too; never the APP_GROUP or the ruled one"
        );
        // What to include: only grants, only memberships made outside Gatepass.
        let grants_only = s
            .create(
                &admin(),
                &CampaignForm {
                    include: "grants".into(),
                    ..form("g")
                },
            )
            .await
            .unwrap();
        assert_eq!(grants_only.items, 1);
        let standing = s
            .create(
                &admin(),
                &CampaignForm {
                    include: "standing".into(),
                    ..form("s")
                },
            )
            .await
            .unwrap();
        assert_eq!(standing.items, 3);
        assert_eq!(
            verify_audit_chain(&db).await.unwrap(),
            None,
            "the audit chain holds"
        );
    })
    .await;
}

#[tokio::test]
async fn reviewers_are_the_approvers_and_nobody_reviews_their_own_access() {
    with_reviews(|db, clock| async move {
        let s = service(&db, &clock);
        let c = s
            .create(
                &admin(),
                &CampaignForm {
                    groups: "db-admin".into(),
                    ..form("aws")
                },
            )
            .await
            .unwrap();
        // bob and the approvers group (cy, erin) review aws-*; none sees their own membership.
        assert_eq!(
            seen_by(&s, "bob", c.id).await,
            t(&[
                ("ada", "aws-prod", "approvers"),
                ("cy", "aws-prod", "approvers"),
                ("erin", "aws-dev", "approvers"),
            ])
        );
        assert_eq!(
            seen_by(&s, "cy", c.id).await,
            t(&[
                ("ada", "aws-prod", "approvers"),
                ("bob", "aws-prod", "approvers"),
                ("erin", "aws-dev", "approvers"),
            ])
        );
        assert_eq!(
            seen_by(&s, "erin", c.id).await,
            t(&[
                ("ada", "aws-prod", "approvers"),
                ("bob", "aws-prod", "approvers"),
                ("cy", "aws-prod", "approvers"),
            ])
        );
        // db-admin is approved by dan alone: his own membership goes to the fallback (root).
        assert_eq!(
            seen_by(&s, "dan", c.id).await,
            t(&[("ada", "db-admin", "approvers")])
        );
        assert_eq!(
            seen_by(&s, "root", c.id).await,
            t(&[("dan", "db-admin", "fallback")])
        );
        // Requesters with nothing to review see nothing, and cannot decide anything.
        assert!(seen_by(&s, "ada", c.id).await.is_empty());
        assert!(s.my_campaigns(&person("ada")).await.unwrap().is_empty());
        let dans = item_id(&s, "root", c.id, "dan", "db-admin").await;
        for who in ["ada", "dan", "bob"] {
            let e = s
                .decide(
                    &person(who),
                    c.id,
                    &[dans],
                    None,
                    ReviewDecision::Revoke,
                    "",
                )
                .await
                .unwrap_err();
            assert!(matches!(e, AppError::NotFound(_)), "{who}: {e:?}");
        }
        // A mixed batch (one of bob's, one not) changes nothing.
        let adas = item_id(&s, "bob", c.id, "ada", "aws-prod").await;
        assert!(s
            .decide(
                &person("bob"),
                c.id,
                &[adas, dans],
                None,
                ReviewDecision::Keep,
                ""
            )
            .await
            .is_err());
        assert_eq!(s.detail(&admin(), c.id).await.unwrap().total.undecided, 6);
        assert_eq!(s.detail(&admin(), c.id).await.unwrap().unrouted, 0);

        // Named reviewers: the same people for every group, still never their own item.
        let named = s
            .create(
                &admin(),
                &CampaignForm {
                    reviewers: "people".into(),
                    reviewer_people: "bob@example.com, max@example.com".into(),
                    ..form("named")
                },
            )
            .await
            .unwrap();
        assert_eq!(seen_by(&s, "max", named.id).await.len(), 4);
        assert_eq!(seen_by(&s, "bob", named.id).await.len(), 3, "not his own");
        // The member is the only fallback reviewer: nobody can review it, and the page says so.
        let alone = s
            .create(
                &admin(),
                &CampaignForm {
                    groups: "db-admin".into(),
                    patterns: String::new(),
                    reviewers: "people".into(),
                    reviewer_people: "dan@example.com".into(),
                    fallback: "dan@example.com".into(),
                    ..form("alone")
                },
            )
            .await
            .unwrap();
        assert_eq!(s.detail(&admin(), alone.id).await.unwrap().unrouted, 1);
    })
    .await;
}

#[tokio::test]
async fn managers_review_their_reports_with_a_fallback_for_the_rest() {
    with_reviews(|db, clock| async move {
        let s = service(&db, &clock);
        let c = s
            .create(
                &admin(),
                &CampaignForm {
                    groups: "db-admin".into(),
                    reviewers: "managers".into(),
                    fallback: "erin@example.com".into(),
                    ..form("m")
                },
            )
            .await
            .unwrap();
        // max manages ada and bob; cy is her own manager, dan's is unknown, erin has none.
        assert_eq!(
            seen_by(&s, "max", c.id).await,
            t(&[
                ("ada", "aws-prod", "manager"),
                ("ada", "db-admin", "manager"),
                ("bob", "aws-prod", "manager"),
            ])
        );
        assert_eq!(
            seen_by(&s, "erin", c.id).await,
            t(&[
                ("cy", "aws-prod", "fallback"),
                ("dan", "db-admin", "fallback"),
            ])
        );
        // erin's own grant has no manager: the fallback is erin herself, so nobody reviews it.
        assert_eq!(s.detail(&admin(), c.id).await.unwrap().unrouted, 1);
        let page = s
            .my_page(
                &person("max"),
                c.id,
                &ItemFilter {
                    person: "%%",
                    state: "all",
                    ..Default::default()
                },
                0,
            )
            .await
            .unwrap();
        let ada = page.items.iter().find(|i| i.user_id == "ada").unwrap();
        assert_eq!(ada.title.as_deref(), Some("ada's title"));
        assert_eq!(ada.last_login, Some(ms(500)));
        assert_eq!(ada.grant_id, None, "a membership made outside Gatepass");
    })
    .await;
}

#[tokio::test]
async fn decisions_change_until_the_close_then_the_default_and_revocations_reach_the_outbox() {
    with_reviews(|db, clock| async move {
        let s = service(&db, &clock);
        let c = s
            .create(
                &admin(),
                &CampaignForm {
                    groups: "db-admin".into(),
                    default_action: "revoke".into(),
                    ..form("q3")
                },
            )
            .await
            .unwrap();
        let (ada, bob, erin) = (
            item_id(&s, "cy", c.id, "ada", "aws-prod").await,
            item_id(&s, "cy", c.id, "bob", "aws-prod").await,
            item_id(&s, "cy", c.id, "erin", "aws-dev").await,
        );
        // Keeping on db-admin needs a comment (its policy says so).
        let dans_ada = item_id(&s, "dan", c.id, "ada", "db-admin").await;
        let e = s
            .decide(
                &person("dan"),
                c.id,
                &[dans_ada],
                None,
                ReviewDecision::Keep,
                " ",
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&e, AppError::Invalid { field, .. } if field == "Comment"),
            "{e:?}"
        );
        assert_eq!(
            s.decide(
                &person("dan"),
                c.id,
                &[dans_ada],
                None,
                ReviewDecision::Keep,
                "on call"
            )
            .await
            .unwrap(),
            1
        );
        // cy keeps ada, then changes her mind; revokes erin's grant; bob decides nothing.
        s.decide(&person("cy"), c.id, &[ada], None, ReviewDecision::Keep, "")
            .await
            .unwrap();
        s.decide(
            &person("cy"),
            c.id,
            &[ada, erin],
            None,
            ReviewDecision::Revoke,
            "left the team",
        )
        .await
        .unwrap();
        // Nothing changes in Okta before the close.
        assert!(outbox::list_pending_okta_ops(&db)
            .await
            .unwrap()
            .iter()
            .all(|op| op.0 == "add"));
        let _ = bob;
        clock.advance(Duration::hours(1));
        let closed = s.close(&admin(), c.id).await.unwrap();
        assert_eq!(closed.state, ReviewState::Closed);
        // Decisions are final now.
        let e = s
            .decide(&person("cy"), c.id, &[ada], None, ReviewDecision::Keep, "")
            .await
            .unwrap_err();
        assert!(matches!(e, AppError::Conflict(_)), "{e:?}");
        assert!(matches!(
            s.close(&admin(), c.id).await.unwrap_err(),
            AppError::Conflict(_)
        ));
        // ada's standing membership and bob's (undecided: the default is revoke) and cy's are
        // queued for removal without a grant; erin's grant is ending, its removal queued.
        let mut removals: Vec<(String, String, i64)> = outbox::list_pending_okta_ops(&db)
            .await
            .unwrap()
            .into_iter()
            .filter(|op| op.0 == "remove")
            .map(|op| (op.1, op.2, op.3))
            .collect();
        removals.sort();
        let erins_grant = grants::list_grants_of(&db, &UserId::from("erin"), 10)
            .await
            .unwrap()[0]
            .clone();
        assert_eq!(erins_grant.state, GrantState::Revoking);
        assert_eq!(
            removals,
            vec![
                ("ada".to_string(), "aws-prod".to_string(), 0),
                ("bob".into(), "aws-prod".into(), 0),
                ("cy".into(), "aws-prod".into(), 0),
                ("dan".into(), "db-admin".into(), 0),
                ("erin".into(), "aws-dev".into(), erins_grant.id.0),
            ]
        );
        let d = s.detail(&admin(), c.id).await.unwrap();
        assert_eq!(
            (
                d.total.kept,
                d.total.revoked,
                d.total.defaulted,
                d.total.undecided
            ),
            (1, 5, 3, 0)
        );
        assert_eq!(d.removals_pending, 5);
        // The report lists every item with its decision, reviewer and effect.
        let report = s.report(&admin(), c.id, 0, 100).await.unwrap();
        assert_eq!(report.len(), 6);
        let line = |user: &str, group: &str| {
            report
                .iter()
                .find(|l| l.user_id == user && l.group == group)
                .unwrap()
                .clone()
        };
        let a = line("ada", "aws-prod");
        assert_eq!(
            (
                a.decision.as_str(),
                a.decided_by.as_str(),
                a.comment.as_str(),
                a.outcome.as_str(),
                a.defaulted
            ),
            (
                "revoke",
                "cy@example.com",
                "left the team",
                "revoked",
                false
            )
        );
        assert!(a.effect.starts_with("queued"), "{a:?}");
        assert_eq!(a.okta, "pending");
        let b = line("bob", "aws-prod");
        assert_eq!(
            (b.decision.as_str(), b.outcome.as_str(), b.defaulted),
            ("", "revoked", true)
        );
        let e = line("erin", "aws-dev");
        assert_eq!(e.access, format!("grant #{}", erins_grant.id.0));
        assert!(e.effect.starts_with("ended"), "{e:?}");
        let k = line("ada", "db-admin");
        assert_eq!(
            (k.outcome.as_str(), k.comment.as_str(), k.effect.as_str()),
            ("kept", "on call", "")
        );
        let csv = report_csv_row(c.id, &a);
        assert!(
            csv.contains("\"left the team\"") && csv.ends_with("\r\n"),
            "{csv}"
        );
        let actions: Vec<String> = list_audit_events(&db, None, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        for action in [
            "review.created",
            "review.started",
            "review.decided",
            "review.closed",
            "review.revoked",
            "grant.ended",
        ] {
            assert!(
                actions.iter().any(|a| a == action),
                "{action} in {actions:?}"
            );
        }
        assert_eq!(
            verify_audit_chain(&db).await.unwrap(),
            None,
            "the audit chain holds"
        );
    })
    .await;
}

#[tokio::test]
async fn the_due_date_closes_with_the_default_or_extends_once_and_reminds_first() {
    with_reviews(|db, clock| async move {
        let s = service(&db, &clock);
        let keep = s
            .create(
                &admin(),
                &CampaignForm {
                    remind_days: "2".into(),
                    ..form("keep")
                },
            )
            .await
            .unwrap();
        let extend = s
            .create(
                &admin(),
                &CampaignForm {
                    default_action: "extend".into(),
                    ..form("extend")
                },
            )
            .await
            .unwrap();
        let reminders = |db: Db| async move {
            list_audit_events(&db, None, 200)
                .await
                .unwrap()
                .into_iter()
                .filter(|e| e.action == "review.reminder_sent")
                .count()
        };
        clock.advance(Duration::days(11));
        s.tick().await.unwrap();
        assert_eq!(reminders(db.clone()).await, 0);
        clock.advance(Duration::days(1));
        s.tick().await.unwrap();
        s.tick().await.unwrap();
        assert_eq!(reminders(db.clone()).await, 1, "once, two days before");
        clock.advance(Duration::days(2));
        s.tick().await.unwrap();
        let keep = s.detail(&admin(), keep.id).await.unwrap();
        assert_eq!(keep.campaign.state, ReviewState::Closed);
        assert_eq!(
            (keep.total.kept, keep.total.defaulted, keep.total.revoked),
            (4, 4, 0),
            "kept and flagged"
        );
        let report = s.report(&admin(), keep.campaign.id, 0, 10).await.unwrap();
        assert!(report.iter().all(|l| l.outcome == "flagged" && l.defaulted));
        // The other one moved its due date by a week, once.
        let ext = s.detail(&admin(), extend.id).await.unwrap().campaign;
        assert_eq!(ext.state, ReviewState::Open);
        assert!(ext.extended_at.is_some());
        assert_eq!(ext.due_at, clock_now(&clock).plus_secs(7 * 86_400));
        clock.advance(Duration::days(7));
        s.tick().await.unwrap();
        assert_eq!(
            s.detail(&admin(), extend.id).await.unwrap().campaign.state,
            ReviewState::Closed
        );
        assert!(
            outbox::list_pending_okta_ops(&db)
                .await
                .unwrap()
                .iter()
                .all(|op| op.0 == "add"),
            "nothing revoked"
        );
    })
    .await;
}

fn clock_now(clock: &ManualClock) -> crate::model::Timestamp {
    use crate::ssr::clock::Clock;
    clock.timestamp().plus_secs(0)
}

#[tokio::test]
async fn revoke_as_soon_as_decided_is_final_and_keep_all_in_a_group() {
    with_reviews(|db, clock| async move {
        let s = service(&db, &clock);
        let c = s
            .create(
                &admin(),
                &CampaignForm {
                    revoke_on_decision: true,
                    ..form("now")
                },
            )
            .await
            .unwrap();
        let erin = item_id(&s, "bob", c.id, "erin", "aws-dev").await;
        s.decide(
            &person("bob"),
            c.id,
            &[erin],
            None,
            ReviewDecision::Revoke,
            "no longer needed",
        )
        .await
        .unwrap();
        let g = grants::list_grants_of(&db, &UserId::from("erin"), 10)
            .await
            .unwrap()[0]
            .clone();
        assert_eq!(g.state, GrantState::Revoking, "ended at once");
        let e = s
            .decide(
                &person("bob"),
                c.id,
                &[erin],
                None,
                ReviewDecision::Keep,
                "",
            )
            .await
            .unwrap_err();
        assert!(
            matches!(e, AppError::NotFound(_)),
            "carried out: no change of mind"
        );
        // "Keep all" in a group: every undecided item of bob's there (ada, cy), not his own.
        assert_eq!(
            s.decide(
                &person("bob"),
                c.id,
                &[],
                Some("aws-prod"),
                ReviewDecision::Keep,
                ""
            )
            .await
            .unwrap(),
            2
        );
        let e = s
            .decide(
                &person("bob"),
                c.id,
                &[],
                Some("aws-prod"),
                ReviewDecision::Keep,
                "",
            )
            .await
            .unwrap_err();
        assert!(matches!(e, AppError::Invalid { .. }), "nothing left: {e:?}");
        assert_eq!(
            s.my_campaigns(&person("bob")).await.unwrap()[0].undecided,
            0
        );
    })
    .await;
}

#[tokio::test]
async fn a_recurring_review_starts_the_next_campaign_by_itself() {
    with_reviews(|db, clock| async move {
        let s = service(&db, &clock);
        let first = s
            .create(
                &admin(),
                &CampaignForm {
                    repeat_months: "3".into(),
                    ..form("quarterly")
                },
            )
            .await
            .unwrap();
        let overview = s.overview(&admin(), 0).await.unwrap();
        assert_eq!(overview.schedules.len(), 1);
        assert_eq!(
            overview.schedules[0].next_start_at,
            add_months(first.starts_at, 3)
        );
        clock.advance(Duration::days(30));
        s.tick().await.unwrap();
        assert_eq!(
            s.overview(&admin(), 0).await.unwrap().campaigns.len(),
            1,
            "not yet"
        );
        clock.advance(Duration::days(62));
        s.tick().await.unwrap();
        let overview = s.overview(&admin(), 0).await.unwrap();
        assert_eq!(overview.campaigns.len(), 2);
        let next = &overview.campaigns[0];
        assert_eq!(
            (next.state, next.items, next.schedule_id),
            (
                ReviewState::Open,
                4,
                overview.schedules.first().map(|s| s.id)
            )
        );
        assert_eq!(
            overview.schedules[0].next_start_at,
            add_months(first.starts_at, 6)
        );
        // Stopped, it makes no more.
        s.stop_schedule(&admin(), overview.schedules[0].id)
            .await
            .unwrap();
        clock.advance(Duration::days(100));
        s.tick().await.unwrap();
        assert_eq!(s.overview(&admin(), 0).await.unwrap().campaigns.len(), 2);
        assert!(matches!(
            s.stop_schedule(&admin(), overview.schedules[0].id).await,
            Err(AppError::NotFound(_))
        ));
        let _ = db;
    })
    .await;
}

#[test]
fn months_are_calendar_months() {
    let at = |s: &str| {
        crate::model::Timestamp::from(
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap(),
        )
    };
    assert_eq!(
        add_months(at("2026-01-31T09:00:00Z"), 1),
        at("2026-02-28T09:00:00Z")
    );
    assert_eq!(
        add_months(at("2026-11-15T09:00:00Z"), 3),
        at("2027-02-15T09:00:00Z")
    );
    assert_eq!(
        add_months(at("2028-02-29T00:00:00Z"), 12),
        at("2029-02-28T00:00:00Z")
    );
}

#[tokio::test]
async fn reviewers_are_told_when_a_campaign_opens_and_those_with_items_left_reminded() {
    use crate::ssr::db::notifications::{list_deliveries, set_channel_enabled};
    with_reviews(|db, clock| async move {
        set_channel_enabled(&db, "email", true).await.unwrap();
        let s = service(&db, &clock);
        let c = s
            .create(
                &admin(),
                &CampaignForm {
                    remind_days: "1".into(),
                    ..form("told")
                },
            )
            .await
            .unwrap();
        let told = |event: &'static str| {
            let db = db.clone();
            async move {
                let mut v: Vec<String> = list_deliveries(&db, None, 0, 100)
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|d| d.event == event && d.channel == "email")
                    .map(|d| d.target)
                    .collect();
                v.sort();
                v
            }
        };
        // The aws-* reviewers: bob and the approvers group (cy, erin); nobody else.
        assert_eq!(told("review.started").await, ["bob", "cy", "erin"]);
        // bob decides all his; what is left is his own membership, which cy and erin review:
        // they are reminded, he is not.
        for who in ["bob"] {
            let ids: Vec<i64> = s
                .my_page(
                    &person(who),
                    c.id,
                    &ItemFilter {
                        person: "%%",
                        state: "undecided",
                        ..Default::default()
                    },
                    0,
                )
                .await
                .unwrap()
                .items
                .iter()
                .map(|i| i.id)
                .collect();
            s.decide(&person(who), c.id, &ids, None, ReviewDecision::Keep, "")
                .await
                .unwrap();
        }
        assert_eq!(s.my_campaigns(&person("cy")).await.unwrap()[0].undecided, 1);
        clock.advance(Duration::days(13));
        s.tick().await.unwrap();
        assert_eq!(told("review.reminder_sent").await, ["cy", "erin"]);
    })
    .await;
}
