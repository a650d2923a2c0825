//! `/access`: My access — grants with a live countdown, pending requests, history.

use leptos::prelude::*;

use crate::api::access::{get_my_access, CancelRequest, GiveBack};
use crate::components::countdown::Countdown;
use crate::components::error_view::{ErrorView, Loading};
use crate::components::page::{Audience, Page};
use crate::format::utc_datetime;
use crate::model::{GrantState, GrantView, MyAccess, RequestState, RequestView};

/// `/access`
#[component]
pub fn MyAccessPage() -> impl IntoView {
    // Outside the gate, as on every page (see `Gate`).
    let give_back = ServerAction::<GiveBack>::new();
    let cancel = ServerAction::<CancelRequest>::new();
    let data = Resource::new(
        move || (give_back.version().get(), cancel.version().get()),
        |_| get_my_access(),
    );
    view! {
        <Page title="My access" audience=Audience::Requesters>
            <Mine give_back cancel data />
        </Page>
    }
}

#[component]
fn Mine(
    give_back: ServerAction<GiveBack>,
    cancel: ServerAction<CancelRequest>,
    data: Resource<Result<MyAccess, crate::error::AppError>>,
) -> impl IntoView {
    let failure = move || {
        let e = give_back
            .value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| cancel.value().get().and_then(|r| r.err()));
        e.map(|error| view! { <ErrorView error /> })
    };
    view! {
        <p class="lead">"The Okta groups you hold through Gatepass, when each ends, and your requests."</p>
        {failure}
        <Suspense fallback=|| view! { <Loading what="your access" /> }>
            {move || data.get().map(|r| match r {
                Ok(m) => view! { <Sections m give_back cancel /> }.into_any(),
                Err(error) => view! { <ErrorView error /> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn Sections(
    m: MyAccess,
    give_back: ServerAction<GiveBack>,
    cancel: ServerAction<CancelRequest>,
) -> impl IntoView {
    let (live, past): (Vec<GrantView>, Vec<GrantView>) = m
        .grants
        .into_iter()
        .partition(|g| matches!(g.grant.state, GrantState::Active | GrantState::Scheduled));
    // A bundle's grants show as one row: its groups, one countdown, one give-back.
    let mut bundles: Vec<(String, Vec<GrantView>)> = Vec::new();
    let mut singles: Vec<GrantView> = Vec::new();
    for g in live {
        match g.bundle.clone() {
            Some(b) => match bundles
                .iter_mut()
                .find(|(lead, _)| *lead == b.lead.to_string())
            {
                Some((_, list)) => list.push(g),
                None => bundles.push((b.lead.to_string(), vec![g])),
            },
            None => singles.push(g),
        }
    }
    let live_count = bundles.len() + singles.len();
    let (pending, decided): (Vec<RequestView>, Vec<RequestView>) = m
        .requests
        .into_iter()
        .partition(|r| r.request.state == RequestState::Pending);
    view! {
        <section class="panel" aria-labelledby="grants-heading">
            <h2 id="grants-heading">"Access you hold"</h2>
            {if live_count == 0 {
                view! { <p class="muted">"None right now. " <a href="/request">"Request access"</a></p> }.into_any()
            } else {
                view! {
                    <table class="table" data-testid="grants">
                        <thead><tr><th scope="col">"Group"</th><th scope="col">"State"</th><th scope="col">"Ends"</th><th scope="col"></th></tr></thead>
                        <tbody>
                            {bundles.into_iter().map(|(_, list)| {
                                let name = list[0].bundle.as_ref().map(|b| b.name.clone()).unwrap_or_default();
                                let groups = list.iter().map(|g| g.group_name.clone()).collect::<Vec<_>>().join(", ");
                                let ends = list.iter().map(|g| g.grant.ends_at).min().unwrap_or_default();
                                let any = list[0].grant.id.0;
                                let state = list[0].grant.state;
                                view! {
                                    <tr data-bundle=name.clone()>
                                        <td><strong>{name.clone()}</strong> " " <span class="badge">"bundle"</span>
                                            <div class="meta" data-testid="bundle-groups">{groups}</div></td>
                                        <td>{state.as_str()}</td>
                                        <td><Countdown ends_at=ends /></td>
                                        <td>
                                            <ActionForm action=give_back>
                                                <input type="hidden" name="grant_id" value=any />
                                                <button type="submit" class="button small secondary">"Give back the bundle"</button>
                                            </ActionForm>
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                            {singles.into_iter().map(|g| view! {
                                <tr data-group=g.group_name.clone()>
                                    <td>{g.group_name.clone()}
                                        {(g.grant.resource == crate::model::Resource::App).then(|| view! { " " <span class="badge" data-testid="app-badge">"app"</span> })}
                                        {g.emergency.then(|| view! { " " <span class="badge danger" data-testid="emergency-badge">"emergency"</span> })}</td>
                                    <td>{g.grant.state.as_str()}
                                        {(g.grant.state == GrantState::Scheduled).then(|| format!(" (from {})", utc_datetime(g.grant.starts_at)))}
                                    </td>
                                    <td><Countdown ends_at=g.grant.ends_at /></td>
                                    <td>
                                        <ActionForm action=give_back>
                                            <input type="hidden" name="grant_id" value=g.grant.id.0 />
                                            <button type="submit" class="button small secondary">"Give back now"</button>
                                        </ActionForm>
                                    </td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
        <section class="panel" aria-labelledby="pending-heading">
            <h2 id="pending-heading">"Waiting for approval"</h2>
            {if pending.is_empty() {
                view! { <p class="muted">"Nothing pending."</p> }.into_any()
            } else {
                view! {
                    <ul class="plain" data-testid="pending">
                        {pending.into_iter().map(|r| view! {
                            <li>
                                <strong>{r.group_name.clone()}</strong>
                                {format!(" for {} · asked {} · {} of {} approvals", crate::format::describe_duration(r.request.duration_secs), utc_datetime(r.request.created_at), r.request.approvals, r.request.quorum)}
                                {(!r.notes.is_empty()).then(|| format!(" · {}", r.notes.join(" · ")))}
                                " · " <a href=format!("/requests/{}", r.request.id)>"its story"</a>
                                <ActionForm action=cancel attr:class="inline">
                                    <input type="hidden" name="request_id" value=r.request.id.0 />
                                    <button type="submit" class="button small secondary">"Cancel"</button>
                                </ActionForm>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
        <section class="panel" aria-labelledby="history-heading">
            <h2 id="history-heading">"History"</h2>
            {if decided.is_empty() && past.is_empty() {
                view! { <p class="muted">"Nothing yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="plain" data-testid="history">
                        {decided.into_iter().map(|r| view! {
                            <li data-state=r.request.state.as_str()>
                                {format!("{} — ", r.group_name)}
                                <a href=format!("/requests/{}", r.request.id)>{format!("request #{}", r.request.id)}</a>
                                {format!(" {}{}", r.request.state.as_str(),
                                    r.request.decided_by.as_ref().map(|b| format!(" by {b}")).unwrap_or_default())}
                                {r.decisions.iter().filter(|d| !d.comment.is_empty()).map(|d| view! {
                                    <blockquote>{format!("{}: {}", d.approver, d.comment)}</blockquote>
                                }).collect_view()}
                            </li>
                        }).collect_view()}
                        {past.into_iter().map(|g| view! {
                            <li data-state=g.grant.state.as_str()>
                                {format!("{} — grant {} {}", g.group_name, g.grant.state.as_str(), g.grant.revoked_reason.clone().map(|r| format!("({r})")).unwrap_or_default())}
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}
