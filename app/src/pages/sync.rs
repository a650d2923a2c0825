//! `/admin/sync`: the directory sync: schedule, group filter, recent runs, "Sync now".

use leptos::prelude::*;

use crate::api::okta::{get_sync_overview, SyncNow};
use crate::components::error_view::{ErrorView, Loading};
use crate::components::page::{Audience, Page};
use crate::format::{duration_ms, utc_datetime};
use crate::model::{SyncOverview, SyncRun};

/// `/admin/sync`
#[component]
pub fn SyncPage() -> impl IntoView {
    // Outside the gate, as on every page (see `Gate`).
    let sync = ServerAction::<SyncNow>::new();
    let overview = Resource::new(move || sync.version().get(), |_| get_sync_overview());
    view! {
        <Page title="Directory sync" audience=Audience::Admins> <SyncPanel sync overview /> </Page>
    }
}

#[component]
fn SyncPanel(
    sync: ServerAction<SyncNow>,
    overview: Resource<Result<crate::model::SyncOverview, crate::error::AppError>>,
) -> impl IntoView {
    view! {
        <p class="lead">
            "Gatepass keeps a copy of Okta's users, groups and memberships: a full sync reads "
            "everything and notices what Okta no longer has; incremental syncs in between read "
            "only what changed."
        </p>
        <section class="panel" aria-labelledby="now-heading">
            <div class="panel-head">
                <h2 id="now-heading">"Sync now"</h2>
                <div class="actions">
                    <ActionForm action=sync>
                        <button type="submit" class="button" disabled=move || sync.pending().get()>"Sync changes"</button>
                    </ActionForm>
                    <ActionForm action=sync>
                        <input type="hidden" name="full" value="true" />
                        <button type="submit" class="button secondary" disabled=move || sync.pending().get()>"Full sync"</button>
                    </ActionForm>
                    <button type="button" class="button secondary" on:click=move |_| overview.refetch()>"Refresh"</button>
                </div>
            </div>
            {move || sync.value().get().map(|r| match r {
                Ok(message) => view! { <p class="form-ok" role="status" data-testid="sync-started">{message}</p> }.into_any(),
                Err(error) => view! { <ErrorView error /> }.into_any(),
            })}
        </section>
        <Suspense fallback=|| view! { <Loading what="sync runs" /> }>
            {move || overview.get().map(|r| match r {
                Ok(o) => view! { <Overview o /> }.into_any(),
                Err(error) => view! { <ErrorView error /> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn Overview(o: SyncOverview) -> impl IntoView {
    let schedule = match &o.settings {
        Some(s) => format!(
            "Incremental every {} min, full every {} h. Groups: {}{}.",
            s.sync_incremental_minutes,
            s.sync_full_hours,
            if s.group_types.is_empty() {
                "all types".to_owned()
            } else {
                s.group_types.join(", ")
            },
            s.group_name_prefix
                .as_ref()
                .map(|p| format!(", names starting with {p:?}"))
                .unwrap_or_default()
        ),
        None => "Okta is not configured yet.".to_owned(),
    };
    let rows = o
        .runs
        .iter()
        .map(|r| view! { <RunRow r=r.clone() /> })
        .collect_view();
    view! {
        <section class="panel" aria-labelledby="runs-heading">
            <h2 id="runs-heading">"Runs"</h2>
            <dl class="facts">
                <dt>"Schedule"</dt>
                <dd>{schedule} " " <a href="/admin/okta">"Change"</a></dd>
                <dt>"Directory"</dt>
                <dd data-testid="directory-counts">
                    {format!("{} users, {} groups, {} memberships", o.directory.users, o.directory.groups, o.directory.memberships)}
                </dd>
            </dl>
            {if o.runs.is_empty() {
                view! { <p class="muted">"No sync has run yet."</p> }.into_any()
            } else {
                view! {
                    <table class="table" data-testid="sync-runs">
                        <thead><tr>
                            <th scope="col">"Started"</th><th scope="col">"Kind"</th><th scope="col">"Status"</th>
                            <th scope="col">"Took"</th><th scope="col">"Users"</th><th scope="col">"Groups"</th>
                            <th scope="col">"Memberships"</th><th scope="col">"Removed"</th><th scope="col">"Okta calls"</th>
                        </tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn RunRow(r: SyncRun) -> impl IntoView {
    let took = r
        .finished_at
        .map(|f| duration_ms(f - r.started_at))
        .unwrap_or_else(|| "running…".into());
    let c = &r.counts;
    let removed = format!(
        "{} users, {} groups, {} memberships",
        c.users_removed, c.groups_removed, c.memberships_removed
    );
    view! {
        <tr data-status=r.status.as_str()>
            <td>{utc_datetime(r.started_at)}</td>
            <td>{r.kind.as_str()}</td>
            <td>
                {r.status.as_str()}
                {r.error.clone().map(|e| view! { <div class="error-text">{e}</div> })}
            </td>
            <td>{took}</td>
            <td>{c.users_seen}</td>
            <td>{c.groups_seen}</td>
            <td>{c.memberships_seen}</td>
            <td>{removed}</td>
            <td>{c.calls}</td>
        </tr>
    }
}
