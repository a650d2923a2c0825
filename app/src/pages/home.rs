//! The start page: what Gatepass is, and the live health of this server.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::system::get_system_status;
use crate::components::error_view::{ErrorView, Loading};
use crate::model::SystemStatus;

/// `/`
#[component]
pub fn HomePage() -> impl IntoView {
    let status = Resource::new(|| (), |_| get_system_status());
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
