//! `/admin/drift`: where Okta and Gatepass disagree — grants whose membership vanished and
//! memberships of requestable groups made outside Gatepass — with re-apply, revoke and ignore.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::groups::{get_drift, ActOnDrift};
use crate::components::error_view::{ErrorView, Loading};
use crate::components::page::{Audience, Page};
use crate::error::AppError;
use crate::format::utc_datetime;
use crate::model::{DriftItem, DriftKind, DriftState};
use crate::url::encode_query_value;

/// `/admin/drift`
#[component]
pub fn DriftPage() -> impl IntoView {
    // Outside the gate, as on every page (see `Gate`).
    let query = use_query_map();
    let state = move || query.read().get("state").unwrap_or_else(|| "open".into());
    let before = move || {
        query
            .read()
            .get("before")
            .and_then(|b| b.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let act = ServerAction::<ActOnDrift>::new();
    let page = Resource::new(
        move || (state(), before(), act.version().get()),
        |(state, before, _)| get_drift(state, before),
    );
    view! {
        <Page title="Drift" audience=Audience::Admins> <Drift act page /> </Page>
    }
}

#[component]
fn Drift(
    act: ServerAction<ActOnDrift>,
    page: Resource<Result<crate::model::DriftPage, crate::error::AppError>>,
) -> impl IntoView {
    let query = use_query_map();
    let state = move || query.read().get("state").unwrap_or_else(|| "open".into());
    let tab = move |s: &'static str, label: &'static str| {
        view! {
            <a href=format!("/admin/drift?state={s}") class="tab" aria-current=move || (state() == s).then_some("page")>{label}</a>
        }
    };
    view! {
        <p class="lead">"After every directory sync Gatepass compares Okta's memberships with its grants. "
            "A grant whose membership is gone from Okta, or a member of a requestable group who did not come through Gatepass, is listed here until you act or it clears up."</p>
        <nav class="tabs" aria-label="Drift by state">
            {tab("open", "Open")} {tab("ignored", "Ignored")} {tab("resolved", "Resolved")}
        </nav>
        <DriftOutcome act />
        <Suspense fallback=|| view! { <Loading what="drift" /> }>
            {move || page.get().map(|r| match r {
                Ok(p) => {
                    let older = p.next.map(|b| format!("/admin/drift?state={}&before={b}", encode_query_value(&state())));
                    view! {
                        <p class="muted" data-testid="drift-counts">{format!("{} open, {} ignored.", p.open, p.ignored)}</p>
                        {p.capped.then(|| view! {
                            <p class="banner warning" role="status">"This is as many as Gatepass lists at once: there may be more. Deal with these (or ignore them) and the next sync lists the rest."</p>
                        })}
                        <DriftTable items=p.items act />
                        {older.map(|href| view! { <p><a class="button secondary" href=href>"Older items"</a></p> })}
                    }.into_any()
                }
                Err(error) => view! { <ErrorView error /> }.into_any(),
            })}
        </Suspense>
    }
}

/// What the last drift action did.
#[component]
pub fn DriftOutcome(act: ServerAction<ActOnDrift>) -> impl IntoView {
    move || {
        act.value().get().map(|r| match r {
            Ok(d) => view! {
                <p class="form-ok" role="status" data-testid="drift-done">
                    {format!("{} in {}: {}.", d.user_name, d.group_name, d.resolution.clone().unwrap_or_else(|| d.state.as_str().to_owned()))}
                </p>
            }
            .into_any(),
            Err(AppError::Invalid { field, message }) => view! {
                <p class="form-error" role="alert"><strong>{field}</strong> ": " {message}</p>
            }
            .into_any(),
            Err(error) => view! { <ErrorView error /> }.into_any(),
        })
    }
}

/// Drift items with their actions.
#[component]
pub fn DriftTable(items: Vec<DriftItem>, act: ServerAction<ActOnDrift>) -> impl IntoView {
    if items.is_empty() {
        return view! { <p class="muted" data-testid="drift-empty">"Nothing here: Okta and Gatepass agree."</p> }.into_any();
    }
    view! {
        <table class="table" data-testid="drift">
            <thead><tr><th scope="col">"Found"</th><th scope="col">"Person"</th><th scope="col">"Group"</th><th scope="col">"What"</th><th scope="col">"State"</th><th scope="col">"Act"</th></tr></thead>
            <tbody>{items.into_iter().map(|d| {
                let button = move |action: &'static str, label: &'static str, class: &'static str| view! {
                    <ActionForm action=act attr:class="inline-form">
                        <input type="hidden" name="id" value=d.id />
                        <input type="hidden" name="action" value=action />
                        <button type="submit" class=class>{label}</button>
                    </ActionForm>
                };
                let live = d.state != DriftState::Resolved;
                let decided = d.decided_by.clone().map(|by| format!("{} by {by}{}", d.resolution.clone().unwrap_or_else(|| d.state.as_str().to_owned()), d.decided_at.map(|t| format!(", {}", utc_datetime(t))).unwrap_or_default()));
                view! {
                    <tr data-kind=d.kind.as_str() data-person=d.user_name.clone() data-group=d.group_name.clone()>
                        <td>{utc_datetime(d.detected_at)}</td>
                        <td>{d.user_name.clone()}</td>
                        <td><a href=format!("/admin/groups/{}", d.group_id)>{d.group_name.clone()}</a></td>
                        <td>{d.kind.describe()}{d.grant_id.map(|g| format!(" (grant #{g})"))}</td>
                        <td>{decided.unwrap_or_else(|| d.state.as_str().to_owned())}</td>
                        <td>{live.then(|| view! {
                            {(d.kind == DriftKind::Missing).then(|| button("reapply", "Re-apply", "button small"))}
                            {button("revoke", "Revoke", "button small secondary")}
                            {(d.state == DriftState::Open).then(|| button("ignore", "Ignore", "button small secondary"))}
                        })}</td>
                    </tr>
                }
            }).collect_view()}</tbody>
        </table>
    }
    .into_any()
}
