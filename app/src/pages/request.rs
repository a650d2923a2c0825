//! `/requests/:id`: a request's whole story — who asked for what and why, the policy as it was
//! then, who may decide and who did, its grants, the Okta changes made for them with their
//! outcomes, and every audit event about it. For its requester, its approvers and admins;
//! anyone else gets "not found".

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::access::get_request_story;
use crate::components::error_view::{ErrorView, Loading};
use crate::components::page::{Audience, Gate};
use crate::components::when::When;
use crate::error::AppError;
use crate::format::describe_duration;
use crate::model::{RequestStory, Resource as Kind};
use crate::pages::audit::AuditRow;

/// `/requests/:id`
#[component]
pub fn RequestPage() -> impl IntoView {
    // Outside the gate, as on every page (see `Gate`).
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|i| i.parse::<i64>().ok());
    let story = Resource::new(id, |id| async move {
        match id {
            Some(id) => get_request_story(id).await,
            None => Err(AppError::NotFound("That request".into())),
        }
    });
    view! {
        <Title text="Request" />
        <Gate audience=Audience::Requesters>
            <Suspense fallback=|| view! { <Loading what="the request" /> }>
                {move || story.get().map(|r| match r {
                    Ok(s) => view! { <Story s /> }.into_any(),
                    Err(error) => view! { <h1>"Request"</h1> <ErrorView error /> }.into_any(),
                })}
            </Suspense>
        </Gate>
    }
}

#[component]
fn Story(s: RequestStory) -> impl IntoView {
    let r = s.request;
    let what = if r.request.resource == Kind::App {
        "the Okta app"
    } else {
        "the group"
    };
    let decisions = r.decisions.clone();
    view! {
        <section class="story" data-testid="story">
            <h1>{format!("Request #{}", r.request.id)}</h1>
            <dl>
                <dt>"Who"</dt><dd><strong>{r.requester_name.clone()}</strong></dd>
                <dt>"For"</dt><dd>{format!("{what} ")}<strong>{r.group_name.clone()}</strong></dd>
                <dt>"How long"</dt><dd>{describe_duration(r.request.duration_secs)}</dd>
                <dt>"Why"</dt><dd>{if r.request.reason.is_empty() { "(no reason given)".to_owned() } else { r.request.reason.clone() }}</dd>
                {r.request.ticket.clone().map(|t| view! { <dt>"Ticket"</dt><dd>{t}</dd> })}
                <dt>"Asked"</dt><dd><When at=r.request.created_at /></dd>
                <dt>"State"</dt><dd data-testid="story-state">{r.request.state.as_str()}
                    {r.request.decided_at.map(|at| view! { " " <When at /> })}
                    {r.request.decided_by.clone().map(|by| format!(" by {by}"))}</dd>
            </dl>
            {(!r.notes.is_empty()).then(|| view! { <ul class="muted">{r.notes.iter().map(|n| view! { <li>{n.clone()}</li> }).collect_view()}</ul> })}
        </section>
        <section class="panel" aria-labelledby="decisions-heading">
            <h2 id="decisions-heading">"Decisions"</h2>
            {if decisions.is_empty() {
                view! { <p class="muted">"Nobody has decided yet."</p> }.into_any()
            } else {
                view! { <ul data-testid="story-decisions">{decisions.into_iter().map(|d| view! {
                    <li><strong>{d.approver}</strong>{if d.approved { " approved" } else { " denied" }}
                        {(!d.comment.is_empty()).then(|| format!(": “{}”", d.comment))}</li>
                }).collect_view()}</ul> }.into_any()
            }}
        </section>
        <section class="panel" aria-labelledby="grants-heading">
            <h2 id="grants-heading">"Grant and Okta"</h2>
            {if s.grants.is_empty() {
                view! { <p class="muted">"No grant: the request was not approved (yet)."</p> }.into_any()
            } else {
                view! {
                    <table class="table" data-testid="story-grants">
                        <thead><tr><th scope="col">"Grant"</th><th scope="col">"State"</th><th scope="col">"From"</th><th scope="col">"Until"</th></tr></thead>
                        <tbody>{s.grants.into_iter().map(|g| view! {
                            <tr><td>{format!("#{} {}", g.grant.id, g.group_name)}</td><td>{g.grant.state.as_str()}
                                {g.grant.revoked_reason.clone().map(|r| format!(" ({r})"))}</td>
                                <td><When at=g.grant.starts_at /></td><td><When at=g.grant.ends_at /></td></tr>
                        }).collect_view()}</tbody>
                    </table>
                    <table class="table" data-testid="story-ops">
                        <caption>"Okta changes"</caption>
                        <thead><tr><th scope="col">"Change"</th><th scope="col">"Outcome"</th><th scope="col">"Tries"</th><th scope="col">"Queued"</th><th scope="col">"Done"</th></tr></thead>
                        <tbody>{s.okta_ops.into_iter().map(|o| {
                            let change = match (o.resource, o.kind.as_str()) {
                                (Kind::App, "add") => "assign the app",
                                (Kind::App, _) => "unassign the app",
                                (_, "add") => "add the membership",
                                _ => "remove the membership",
                            };
                            view! {
                                <tr data-op=o.kind.clone()><td>{format!("{change} (grant #{})", o.grant_id)}</td>
                                    <td>{o.state.clone()}{o.last_error.clone().map(|e| view! { <div class="muted">{e}</div> })}</td>
                                    <td>{o.attempts}</td><td><When at=o.created_at /></td>
                                    <td>{o.done_at.map(|at| view! { <When at /> })}</td></tr>
                            }
                        }).collect_view()}</tbody>
                    </table>
                }.into_any()
            }}
        </section>
        <section class="panel" aria-labelledby="history-heading">
            <h2 id="history-heading">"History"</h2>
            <table class="table audit" data-testid="story-events">
                <thead><tr><th scope="col">"When"</th><th scope="col">"What"</th><th scope="col">"Action"</th></tr></thead>
                <tbody>{s.events.into_iter().map(|line| view! { <AuditRow line /> }).collect_view()}</tbody>
            </table>
        </section>
        <section class="panel" aria-labelledby="policy-heading">
            <h2 id="policy-heading">"The policy when it was asked"</h2>
            <details><summary>"Show the policy"</summary><pre class="details">{s.policy}</pre></details>
        </section>
    }
}
