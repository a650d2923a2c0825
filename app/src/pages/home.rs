//! The start page: for a signed-in person, their things — what waits for their decision, what
//! they hold and until when, what they asked for — and for anyone, what Gatepass is and the
//! live health of this server.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::access::get_dashboard;
use crate::api::system::get_system_status;
use crate::components::countdown::Countdown;
use crate::components::error_view::{ErrorView, Loading};
use crate::components::when::When;
use crate::model::{Dashboard, SystemStatus};

/// `/`
#[component]
pub fn HomePage() -> impl IntoView {
    let status = Resource::new(|| (), |_| get_system_status());
    let mine = Resource::new(|| (), |_| get_dashboard());
    let refreshing = RwSignal::new(false);
    let refresh = move |ev: leptos::ev::SubmitEvent| {
        // Without JavaScript the form reloads the page; with it, only the panel refreshes.
        ev.prevent_default();
        refreshing.set(true);
        status.refetch();
    };
    Effect::new(move |_| {
        if status.get().is_some() {
            refreshing.set(false);
        }
    });

    view! {
        <Title text="" />
        <Suspense fallback=|| view! { <Loading what="your things" /> }>
            {move || mine.get().and_then(Result::ok).flatten().map(|d| view! { <Mine d /> })}
        </Suspense>
        <section class="hero">
            <h1>"Just-in-time access to Okta groups"</h1>
            <p class="lead">
                "Ask for membership of an Okta group for a bounded time, with a reason. "
                "Approvers decide; Gatepass adds the membership at once and removes it the "
                "moment it ends."
            </p>
        </section>
        <section class="panel" aria-labelledby="status-heading">
            <div class="panel-head">
                <h2 id="status-heading">"System status"</h2>
                <form method="get" action="/" on:submit=refresh>
                    <button type="submit" class="button secondary" disabled=move || refreshing.get()>
                        {move || if refreshing.get() { "Refreshing…" } else { "Refresh" }}
                    </button>
                </form>
            </div>
            <Suspense fallback=|| view! { <Loading what="status" /> }>
                {move || {
                    status.get().map(|result| match result {
                        Ok(s) => view! { <StatusTable status=s /> }.into_any(),
                        Err(error) => view! { <ErrorView error /> }.into_any(),
                    })
                }}
            </Suspense>
        </section>
    }
}

#[component]
fn StatusTable(status: SystemStatus) -> impl IntoView {
    let details = status.details.map(|d| {
        view! {
            <dt>"Version"</dt>
            <dd>{d.version}</dd>
            <dt>"Database"</dt>
            <dd data-testid="db-engine">
                {d.engine.label()} " · answered in "
                {format!("{:.1} ms", d.database_latency_us as f64 / 1000.0)}
            </dd>
            <dt>"Directory"</dt>
            <dd>
                {format!(
                    "{} users, {} groups, {} memberships synced from Okta",
                    d.directory.users,
                    d.directory.groups,
                    d.directory.memberships,
                )}
            </dd>
        }
    });
    view! {
        <dl class="facts" data-testid="system-status">
            <dt>"Gatepass"</dt>
            <dd data-testid="up">"Up: the server and its database answer."</dd>
            {details}
            <dt>"Last checked"</dt>
            <dd>
                <time data-testid="checked-at" datetime=status.checked_at.clone()>
                    {status.checked_at.clone()}
                </time>
            </dd>
        </dl>
    }
}

/// A signed-in person's things.
#[component]
fn Mine(d: Dashboard) -> impl IntoView {
    let decide = match (d.to_decide, d.oldest_waiting) {
        (0, _) => view! {
            <p class="muted" data-testid="to-decide">"Nothing waits for your decision."</p>
        }
        .into_any(),
        (n, oldest) => view! {
            <p data-testid="to-decide">
                <a href="/approvals"><strong>{format!("{n} request{} ", if n == 1 { "" } else { "s" })}</strong></a>
                "wait for your decision"
                {oldest.map(|at| view! { " — the oldest since " <When at /> })}
            </p>
        }
        .into_any(),
    };
    view! {
        <section class="panel" aria-labelledby="mine-heading" data-testid="dashboard">
            <h2 id="mine-heading">"Your things"</h2>
            <p class="muted">{format!("You are {} in Gatepass.", d.roles.describe())}</p>
            {decide}
            <h3>"What you hold"</h3>
            {if d.grants.is_empty() {
                view! { <p class="muted" data-testid="no-grants">"You hold nothing through Gatepass. " <a href="/request">"Request access"</a> " when you need it."</p> }.into_any()
            } else {
                view! { <ul class="plain" data-testid="my-grants">{d.grants.into_iter().map(|g| view! {
                    <li><strong>{g.group_name.clone()}</strong> " · " <Countdown ends_at=g.grant.ends_at />
                        " · " <a href=format!("/requests/{}", g.grant.request_id)>"its story"</a></li>
                }).collect_view()}</ul> }.into_any()
            }}
            <h3>"What you asked for"</h3>
            {if d.pending.is_empty() {
                view! { <p class="muted" data-testid="no-pending">"No request of yours is waiting."</p> }.into_any()
            } else {
                view! { <ul class="plain" data-testid="my-pending">{d.pending.into_iter().map(|r| view! {
                    <li><a href=format!("/requests/{}", r.request.id)><strong>{r.group_name.clone()}</strong></a>
                        {format!(" · {} of {} approvals · asked ", r.request.approvals, r.request.quorum)}
                        <When at=r.request.created_at /></li>
                }).collect_view()}</ul> }.into_any()
            }}
        </section>
    }
}
