//! `/admin/reviews` and `/admin/reviews/:id`: access review campaigns — making one (scope,
//! what to include, reviewers, dates, the default for undecided items, reminders, a repeat),
//! their progress, closing one, the report (CSV, JSON) and the recurring reviews.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::reviews::{
    get_review_admin, get_reviews_admin, CloseReview, CreateReview, StopReviewSchedule,
};
use crate::components::error_view::{ErrorView, Loading};
use crate::components::page::{Audience, Gate, Page};
use crate::error::AppError;
use crate::format::{describe_duration, utc_datetime};
use crate::model::{
    Campaign, CampaignDetail, DefaultAction, ReviewInclude, ReviewState, ReviewTally, ReviewerRule,
    ReviewsOverview,
};

/// `/admin/reviews`
#[component]
pub fn AdminReviewsPage() -> impl IntoView {
    let query = use_query_map();
    let before = move || {
        query
            .read()
            .get("before")
            .and_then(|b| b.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let create = ServerAction::<CreateReview>::new();
    let stop = ServerAction::<StopReviewSchedule>::new();
    let data = Resource::new(
        move || (before(), create.version().get(), stop.version().get()),
        |(before, _, _)| get_reviews_admin(before),
    );
    view! {
        <Page title="Access reviews" audience=Audience::Admins>
            <p class="lead">"A review asks reviewers to certify who is in the groups it covers. "
                "When it opens, every membership in scope is listed for a reviewer: the group's approvers, named people, or each member's manager. "
                "Nobody reviews their own access: such items go to the fallback reviewers. "
                "At the close, revoked memberships are removed from Okta and what nobody decided gets the default you choose."</p>
            <Suspense fallback=|| view! { <Loading what="reviews" /> }>
                {move || data.get().map(|r| match r {
                    Ok(o) => view! { <Overview o stop /> }.into_any(),
                    Err(error) => view! { <ErrorView error /> }.into_any(),
                })}
            </Suspense>
            <CampaignFormPanel create />
        </Page>
    }
}

#[component]
fn Overview(o: ReviewsOverview, stop: ServerAction<StopReviewSchedule>) -> impl IntoView {
    let older = o
        .next_before
        .map(|b| view! { <p><a class="button secondary" href=format!("/admin/reviews?before={b}")>"Older reviews"</a></p> });
    view! {
        {if o.campaigns.is_empty() {
            view! { <p class="muted" data-testid="campaigns-empty">"No access review yet. Start one below."</p> }.into_any()
        } else {
            view! {
                <table class="table" data-testid="campaigns">
                    <thead><tr><th scope="col">"Review"</th><th scope="col">"State"</th><th scope="col">"Covers"</th>
                        <th scope="col">"Due"</th><th scope="col">"Progress"</th></tr></thead>
                    <tbody>{o.campaigns.into_iter().map(|c| view! {
                        <tr data-review=c.name.clone() data-state=c.state.as_str()>
                            <td><a href=format!("/admin/reviews/{}", c.id)>{c.name.clone()}</a></td>
                            <td>{c.state.label()}</td>
                            <td>{c.scope_label.clone()}</td>
                            <td>{utc_datetime(c.due_at)}</td>
                            <td>{format!("{} of {} decided", c.decided, c.items)}</td>
                        </tr>
                    }).collect_view()}</tbody>
                </table>
            }.into_any()
        }}
        {older}
        <h2>"Recurring reviews"</h2>
        {move || stop.value().get().map(|r| match r {
            Ok(()) => view! { <p class="form-ok" role="status">"Stopped."</p> }.into_any(),
            Err(error) => view! { <ErrorView error /> }.into_any(),
        })}
        {if o.schedules.is_empty() {
            view! { <p class="muted" data-testid="schedules-empty">"None: give a repeat in the form below to make a review recur."</p> }.into_any()
        } else {
            view! {
                <table class="table" data-testid="schedules">
                    <thead><tr><th scope="col">"Review"</th><th scope="col">"Every"</th><th scope="col">"Next start"</th><th scope="col">"Stop"</th></tr></thead>
                    <tbody>{o.schedules.into_iter().map(|s| view! {
                        <tr data-schedule=s.name.clone()>
                            <td>{s.name.clone()}</td>
                            <td>{format!("{} month{}, {} days to review", s.every_months, if s.every_months == 1 { "" } else { "s" }, s.review_days)}</td>
                            <td>{if s.enabled { utc_datetime(s.next_start_at) } else { "stopped".to_owned() }}</td>
                            <td>{s.enabled.then(|| view! {
                                <ActionForm action=stop attr:class="inline-form">
                                    <input type="hidden" name="id" value=s.id />
                                    <button type="submit" class="button small secondary">"Stop"</button>
                                </ActionForm>
                            })}</td>
                        </tr>
                    }).collect_view()}</tbody>
                </table>
            }.into_any()
        }}
    }
}

#[component]
fn CampaignFormPanel(create: ServerAction<CreateReview>) -> impl IntoView {
    let outcome = move || {
        create.value().get().map(|r| match r {
            Ok(c) => view! {
                <p class="form-ok" role="status" data-testid="review-created">
                    {format!("{} is {}: {} items to review.", c.name, c.state.label().to_lowercase(), c.items)}
                    " " <a href=format!("/admin/reviews/{}", c.id)>"Open it"</a>
                </p>
            }
            .into_any(),
            Err(AppError::Invalid { field, message }) => view! {
                <p class="form-error" role="alert" data-testid="review-form-error"><strong>{field}</strong> ": " {message}</p>
            }
            .into_any(),
            Err(error) => view! { <ErrorView error /> }.into_any(),
        })
    };
    let radio = |name: &'static str, value: &'static str, label: &'static str, checked: bool| {
        view! { <label><input type="radio" name=name value=value checked=checked /> " " {label}</label> }
    };
    view! {
        <section class="panel" aria-labelledby="review-form-heading">
            <h2 id="review-form-heading">"Start a review"</h2>
            <ActionForm action=create attr:class="form">
                <label for="r-name">"Name"</label>
                <input id="r-name" name="name" required maxlength="120" placeholder="Q4 production access" />
                <fieldset>
                    <legend>"Groups to review (any of these)"</legend>
                    <label for="r-groups">"Groups (names or Okta ids, comma-separated)"</label>
                    <input id="r-groups" name="groups" placeholder="prod-db-admin" />
                    <label for="r-patterns">"Name patterns (with *, comma-separated)"</label>
                    <input id="r-patterns" name="patterns" placeholder="aws-*" />
                    <label for="r-policies">"Groups governed by policies (policy numbers)"</label>
                    <input id="r-policies" name="policies" placeholder="3, 7" />
                    <label><input type="checkbox" name="all_requestable" value="on" /> " All requestable groups"</label>
                    <label><input type="checkbox" name="all_okta_groups" value="on" /> " Every Okta group (not those kept by group rules)"</label>
                </fieldset>
                <fieldset>
                    <legend>"Include"</legend>
                    {ReviewInclude::ALL.iter().map(|i| radio("include", i.as_str(), match i {
                        ReviewInclude::Both => "Memberships made outside Gatepass and live Gatepass grants",
                        ReviewInclude::Standing => "Only memberships made outside Gatepass",
                        ReviewInclude::Grants => "Only live Gatepass grants",
                    }, *i == ReviewInclude::Both)).collect_view()}
                </fieldset>
                <fieldset>
                    <legend>"Reviewers"</legend>
                    {ReviewerRule::ALL.iter().map(|r| radio("reviewers", r.as_str(), r.label(), *r == ReviewerRule::Approvers)).collect_view()}
                    <label for="r-people">"Named reviewers (logins, comma-separated; for the rule above)"</label>
                    <input id="r-people" name="reviewer_people" />
                    <label for="r-fallback">"Fallback reviewers (logins; empty: you) — for a group without approvers, a member without a manager, and anyone who would review their own access"</label>
                    <input id="r-fallback" name="fallback" />
                </fieldset>
                <fieldset>
                    <legend>"When"</legend>
                    <label for="r-starts">"Starts (UTC, e.g. 2026-12-01T09:00; empty: now)"</label>
                    <input id="r-starts" name="starts" placeholder="2026-12-01T09:00" />
                    <label for="r-days">"Days to review"</label>
                    <input id="r-days" name="due_days" value="14" inputmode="numeric" />
                    <label for="r-remind">"Remind reviewers this many days before the due date (empty: no reminder)"</label>
                    <input id="r-remind" name="remind_days" value="3" inputmode="numeric" />
                    <label for="r-repeat">"Repeat every … months (empty: once; 3 for quarterly)"</label>
                    <input id="r-repeat" name="repeat_months" inputmode="numeric" />
                </fieldset>
                <fieldset>
                    <legend>"What nobody decided by the due date"</legend>
                    {DefaultAction::ALL.iter().map(|d| radio("default_action", d.as_str(), d.label(), *d == DefaultAction::Keep)).collect_view()}
                    <label for="r-extend">"Extend by (days)"</label>
                    <input id="r-extend" name="extend_days" value="7" inputmode="numeric" />
                    <label><input type="checkbox" name="revoke_on_decision" value="on" /> " Revoke as soon as a reviewer decides (instead of at the close)"</label>
                </fieldset>
                <div class="form-actions">
                    <button type="submit" class="button" disabled=move || create.pending().get()>"Start review"</button>
                </div>
                {outcome}
            </ActionForm>
        </section>
    }
}

/// `/admin/reviews/:id`
#[component]
pub fn AdminReviewPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|i| i.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let close = ServerAction::<CloseReview>::new();
    let data = Resource::new(
        move || (id(), close.version().get()),
        |(id, _)| get_review_admin(id),
    );
    view! {
        <Title text="Access review" />
        <Gate audience=Audience::Admins>
            <p><a href="/admin/reviews">"← All reviews"</a></p>
            {move || close.value().get().map(|r| match r {
                Ok(c) => view! { <p class="form-ok" role="status" data-testid="review-closed">{format!("{} is {}.", c.name, c.state.label().to_lowercase())}</p> }.into_any(),
                Err(error) => view! { <ErrorView error /> }.into_any(),
            })}
            <Suspense fallback=|| view! { <Loading what="the review" /> }>
                {move || data.get().map(|r| match r {
                    Ok(d) => view! { <Detail d close /> }.into_any(),
                    Err(error) => view! { <ErrorView error /> }.into_any(),
                })}
            </Suspense>
        </Gate>
    }
}

fn settings(c: &Campaign) -> Vec<(&'static str, String)> {
    let mut rows = vec![
        ("Covers", c.scope_label.clone()),
        (
            "Includes",
            match c.include {
                ReviewInclude::Both => "memberships outside Gatepass and live grants".into(),
                ReviewInclude::Standing => "memberships outside Gatepass".into(),
                ReviewInclude::Grants => "live Gatepass grants".into(),
            },
        ),
        ("Reviewers", c.reviewers.label().to_owned()),
    ];
    if !c.reviewer_people.is_empty() {
        rows.push(("Named reviewers", c.reviewer_people.join(", ")));
    }
    rows.push(("Fallback reviewers", c.fallback.join(", ")));
    rows.push(("Starts", utc_datetime(c.starts_at)));
    rows.push((
        "Due",
        format!(
            "{}{}",
            utc_datetime(c.due_at),
            c.extended_at
                .map(|_| " (extended once)")
                .unwrap_or_default()
        ),
    ));
    rows.push((
        "If undecided",
        format!(
            "{}{}",
            c.default_action.label(),
            if c.default_action == DefaultAction::Extend {
                format!(" (by {})", describe_duration(c.extend_secs))
            } else {
                String::new()
            }
        ),
    ));
    rows.push((
        "Revocations",
        if c.revoke_on_decision {
            "as soon as decided".into()
        } else {
            "at the close".into()
        },
    ));
    rows.push((
        "Reminder",
        c.remind_before_secs.map_or("none".into(), |s| {
            format!("{} before the due date", describe_duration(s))
        }),
    ));
    if let Some(at) = c.closed_at {
        rows.push((
            "Closed",
            format!(
                "{} by {}",
                utc_datetime(at),
                c.closed_by.clone().unwrap_or_default()
            ),
        ));
    }
    rows.push((
        "Made by",
        format!("{}, {}", c.created_by, utc_datetime(c.created_at)),
    ));
    rows
}

#[component]
fn Tallies(caption: &'static str, rows: Vec<ReviewTally>, testid: &'static str) -> impl IntoView {
    view! {
        <table class="table" data-testid=testid>
            <caption>{caption}</caption>
            <thead><tr><th scope="col">"Name"</th><th scope="col">"Items"</th><th scope="col">"Undecided"</th>
                <th scope="col">"Kept"</th><th scope="col">"Revoked"</th><th scope="col">"Defaulted"</th></tr></thead>
            <tbody>{rows.into_iter().map(|t| view! {
                <tr data-name=t.name.clone()>
                    <td>{t.name.clone()}</td><td>{t.items}</td><td>{t.undecided}</td>
                    <td>{t.kept}</td><td>{t.revoked}</td><td>{t.defaulted}</td>
                </tr>
            }).collect_view()}</tbody>
        </table>
    }
}

#[component]
fn Detail(d: CampaignDetail, close: ServerAction<CloseReview>) -> impl IntoView {
    let c = d.campaign.clone();
    let t = d.total.clone();
    let open = c.state == ReviewState::Open;
    view! {
        <h1>{c.name.clone()}</h1>
        <p data-testid="review-state">{format!("{} · {} of {} decided", c.state.label(), c.decided, c.items)}</p>
        <dl class="facts">{settings(&c).into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}</dl>
        <p data-testid="review-summary">{format!(
            "{} kept, {} revoked, {} defaulted, {} undecided.",
            t.kept, t.revoked, t.defaulted, t.undecided
        )}</p>
        {(d.unrouted > 0).then(|| view! {
            <p class="banner warning" role="status">{format!("{} item(s) have no reviewer: the member is the only fallback reviewer. They get the default at the close.", d.unrouted)}</p>
        })}
        {(d.removals_pending + d.removals_failed > 0).then(|| view! {
            <p class="muted" data-testid="review-removals">{format!("Okta removals: {} pending, {} failed (see Requests and grants).", d.removals_pending, d.removals_failed)}</p>
        })}
        {open.then(|| view! {
            <ActionForm action=close attr:class="form">
                <input type="hidden" name="id" value=c.id />
                <p>"Closing ends the review now: what nobody decided gets the default, and revocations are carried out."</p>
                <button type="submit" class="button">"Close review now"</button>
            </ActionForm>
        })}
        <p>
            <a class="button secondary" href=format!("/admin/reviews/{}/report.csv", c.id) rel="external" download="">"Report (CSV)"</a> " "
            <a class="button secondary" href=format!("/admin/reviews/{}/report.json", c.id) rel="external" download="">"Report (JSON)"</a>
        </p>
        <Tallies caption="Per group" rows=d.by_group testid="by-group" />
        <Tallies caption="Per reviewer" rows=d.by_reviewer testid="by-reviewer" />
    }
}
