//! `/admin/groups`: every synced group, searchable and paged; `/admin/groups/:id`: who is in
//! a group and why (a live grant, or outside Gatepass), its live grants, drift and policy.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::groups::{get_group, get_groups, ActOnDrift};
use crate::components::countdown::Countdown;
use crate::components::error_view::{ErrorView, Loading};
use crate::components::page::{Audience, Gate, Page};
use crate::components::search::SearchForm;
use crate::error::AppError;
use crate::format::{describe_duration, utc_datetime};
use crate::model::{GroupDetail, GroupList, GroupSummary};
use crate::pages::drift::{DriftOutcome, DriftTable};
use crate::url::encode_query_value;

/// `/admin/groups`
#[component]
pub fn GroupsPage() -> impl IntoView {
    // Outside the gate, as on every page (see `Gate`).
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let after = move || query.read().get("after").unwrap_or_default();
    let page = Resource::new(move || (q(), after()), |(q, after)| get_groups(q, after));
    view! {
        <Page title="Groups" audience=Audience::Admins> <Groups page /> </Page>
    }
}

#[component]
fn Groups(page: Resource<Result<GroupList, AppError>>) -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    view! {
        <p class="lead">"The Okta groups Gatepass knows of (as of the last directory sync, plus what Gatepass changed since), the policy that applies to each, and live grants."</p>
        <SearchForm action="/admin/groups" placeholder="Search groups by name" value=Signal::derive(q) />
        <Suspense fallback=|| view! { <Loading what="groups" /> }>
            {move || page.get().map(|r| match r {
                Ok(p) if p.groups.is_empty() => view! {
                    <p class="muted">{if q().is_empty() { "No groups yet: run a directory sync.".to_owned() } else { format!("No group matches {:?}.", q()) }}</p>
                }.into_any(),
                Ok(p) => {
                    let next = p.next.clone().map(|n| format!("/admin/groups?q={}&after={}", encode_query_value(&q()), encode_query_value(&n)));
                    view! {
                        <table class="table" data-testid="groups">
                            <thead><tr><th scope="col">"Group"</th><th scope="col">"Type"</th><th scope="col">"Members"</th><th scope="col">"Live grants"</th><th scope="col">"Policy"</th></tr></thead>
                            <tbody>{p.groups.into_iter().map(|g| view! { <GroupRow g /> }).collect_view()}</tbody>
                        </table>
                        {next.map(|href| view! { <p><a class="button secondary" href=href>"Next page"</a></p> })}
                    }.into_any()
                }
                Err(error) => view! { <ErrorView error /> }.into_any(),
            })}
        </Suspense>
    }
}

fn policy_text(g: &GroupSummary) -> String {
    match (&g.policy, g.requestable) {
        (Some(p), true) => format!("requestable ({p})"),
        (Some(p), false) => format!("not requestable ({p})"),
        (None, _) => "no policy".to_owned(),
    }
}

fn kind_text(g: &GroupSummary) -> String {
    if g.managed_by_rule {
        format!("{}, filled by a rule", g.okta_type)
    } else {
        g.okta_type.clone()
    }
}

#[component]
fn GroupRow(g: GroupSummary) -> impl IntoView {
    view! {
        <tr>
            <td><a href=format!("/admin/groups/{}", g.group_id)>{g.name.clone()}</a></td>
            <td>{kind_text(&g)}</td>
            <td>{g.members}</td>
            <td>{g.live_grants}</td>
            <td>{policy_text(&g)}</td>
        </tr>
    }
}

/// `/admin/groups/:id`
#[component]
pub fn GroupPage() -> impl IntoView {
    // Outside the gate, as on every page (see `Gate`).
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let act = ServerAction::<ActOnDrift>::new();
    let data = Resource::new(move || (id(), act.version().get()), |(id, _)| get_group(id));
    view! {
        <Title text="Group" />
        <Gate audience=Audience::Admins> <Group act data /> </Gate>
    }
}

#[component]
fn Group(
    act: ServerAction<ActOnDrift>,
    data: Resource<Result<GroupDetail, AppError>>,
) -> impl IntoView {
    view! {
        <p><a href="/admin/groups">"← All groups"</a></p>
        <DriftOutcome act />
        <Suspense fallback=|| view! { <Loading what="the group" /> }>
            {move || data.get().map(|r| match r {
                Ok(d) => view! { <Detail d act /> }.into_any(),
                Err(error) => view! { <h1>"Group"</h1> <ErrorView error /> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn Detail(d: GroupDetail, act: ServerAction<ActOnDrift>) -> impl IntoView {
    let g = d.summary;
    let policy = d.policy.map(|p| {
        format!(
            "{}: {} by default, at most {}{}",
            policy_text(&g),
            describe_duration(p.default_duration_secs),
            describe_duration(p.max_duration_secs),
            if p.auto_approve {
                ", approved automatically"
            } else {
                ""
            }
        )
    });
    view! {
        <Title text=g.name.clone() />
        <h1 data-testid="group-name">{g.name.clone()}</h1>
        <p class="lead">{d.description.clone()}</p>
        <dl class="facts">
            <dt>"Okta id"</dt><dd><code>{g.group_id.to_string()}</code></dd>
            <dt>"Type"</dt><dd>{kind_text(&g)}</dd>
            <dt>"Policy"</dt><dd>{policy.unwrap_or_else(|| "No policy applies: it cannot be requested.".into())} " · " <a href="/admin/policies">"Policies"</a></dd>
            <dt>"Last directory sync"</dt><dd>{d.last_sync_at.map(utc_datetime).unwrap_or_else(|| "never".into())}</dd>
        </dl>
        <section class="panel" aria-labelledby="group-members">
            <h2 id="group-members">{format!("Members ({})", g.members)}</h2>
            {if d.members.is_empty() {
                view! { <p class="muted" data-testid="members-empty">"No members."</p> }.into_any()
            } else {
                view! {
                    <table class="table" data-testid="members">
                        <thead><tr><th scope="col">"Person"</th><th scope="col">"Login"</th><th scope="col">"Why"</th><th scope="col">"Until"</th></tr></thead>
                        <tbody>{d.members.into_iter().map(|m| { let login = m.login.clone(); view! {
                            <tr data-login=login>
                                <td>{m.name}</td>
                                <td>{m.login}</td>
                                <td>{match m.grant_id {
                                    Some(id) => format!("Gatepass grant #{id}"),
                                    None => "Outside Gatepass".to_owned(),
                                }}{(m.source == "grant").then_some(" · added by Gatepass since the last sync")}</td>
                                <td>{m.grant_ends_at.map(|t| view! { <Countdown ends_at=t /> })}</td>
                            </tr>
                        }}).collect_view()}</tbody>
                    </table>
                    {d.members_truncated.then(|| view! { <p class="muted">"Only the first members are listed."</p> })}
                }.into_any()
            }}
        </section>
        <section class="panel" aria-labelledby="group-grants">
            <h2 id="group-grants">{format!("Live grants ({})", d.grants.len())}</h2>
            {if d.grants.is_empty() {
                view! { <p class="muted">"None."</p> }.into_any()
            } else {
                view! {
                    <table class="table" data-testid="group-grants">
                        <thead><tr><th scope="col">"Grant"</th><th scope="col">"Person"</th><th scope="col">"State"</th><th scope="col">"Ends"</th></tr></thead>
                        <tbody>{d.grants.into_iter().map(|v| view! {
                            <tr>
                                <td>{format!("#{}", v.grant.id)}</td>
                                <td>{v.holder_name}</td>
                                <td>{v.grant.state.as_str()}</td>
                                <td><Countdown ends_at=v.grant.ends_at /></td>
                            </tr>
                        }).collect_view()}</tbody>
                    </table>
                }.into_any()
            }}
        </section>
        <section class="panel" aria-labelledby="group-drift">
            <h2 id="group-drift">"Drift"</h2>
            <DriftTable items=d.drift act />
        </section>
    }
}
