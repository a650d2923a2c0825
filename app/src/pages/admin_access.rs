//! `/admin/access`: everything pending and live, filterable; admins revoke any grant.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::access::{get_admin_access, RetryGrant, RevokeGrant};
use crate::components::countdown::Countdown;
use crate::components::error_view::{ErrorView, FormError, Loading};
use crate::components::page::{Audience, Page};
use crate::components::search::SearchForm;
use crate::error::AppError;
use crate::format::describe_duration;
use crate::format::utc_datetime;
use crate::model::AdminAccessOverview;
use crate::pages::admin::{admin_alerts, AdminAlertsBanner};
use crate::url::encode_query_value;

/// `/admin/access`
#[component]
pub fn AdminAccessPage() -> impl IntoView {
    // Outside the gate, as on every page (see `Gate`).
    let alerts = admin_alerts();
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let page = move |k: &str| {
        query
            .read()
            .get(k)
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let revoke = ServerAction::<RevokeGrant>::new();
    let retry = ServerAction::<RetryGrant>::new();
    let data = Resource::new(
        move || {
            (
                q(),
                page("requests_page"),
                page("grants_page"),
                revoke.version().get(),
                retry.version().get(),
            )
        },
        |(q, requests, grants, _, _)| get_admin_access(q, requests, grants),
    );
    view! {
        <Page title="Requests and grants" audience=Audience::Admins>
            <AdminAlertsBanner alerts />
            <Overview revoke retry data />
        </Page>
    }
}

#[component]
fn Overview(
    revoke: ServerAction<RevokeGrant>,
    retry: ServerAction<RetryGrant>,
    data: Resource<Result<crate::model::AdminAccessOverview, AppError>>,
) -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let outcome = move || {
        revoke.value().get().map(|r| match r {
        Ok(g) => view! { <p class="form-ok" role="status" data-testid="revoked">{format!("Grant #{} is {}.", g.id, g.state.as_str())}</p> }.into_any(),
        Err(error) => view! { <FormError error /> }.into_any(),
    })
    };
    view! {
        <SearchForm action="/admin/access" placeholder="Filter by group or person" button="Filter" value=Signal::derive(q) />
        {outcome}
        {move || retry.value().get().map(|r| match r {
            Ok(g) => view! { <p class="form-ok" role="status" data-testid="retried">{format!("Grant #{} is {} again; Okta is being asked.", g.id, g.state.as_str())}</p> }.into_any(),
            Err(error) => view! { <ErrorView error /> }.into_any(),
        })}
        <Suspense fallback=|| view! { <Loading what="requests and grants" /> }>
            {move || data.get().map(|r| match r {
                Ok(o) => view! { <Tables o revoke retry q=q() /> }.into_any(),
                Err(error) => view! { <ErrorView error /> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn Tables(
    o: AdminAccessOverview,
    revoke: ServerAction<RevokeGrant>,
    retry: ServerAction<RetryGrant>,
    q: String,
) -> impl IntoView {
    let q = encode_query_value(&q);
    let link = |requests: i64, grants: i64| {
        format!("/admin/access?q={q}&requests_page={requests}&grants_page={grants}")
    };
    let (rp, gp) = (o.requests_page, o.grants_page);
    let pager = |prev: Option<String>, next: Option<String>, what: &'static str| {
        (prev.is_some() || next.is_some()).then(|| {
            view! {
                <p class="pager">
                    {prev.map(|href| view! { <a class="button secondary" href=href>{format!("Earlier {what}")}</a> })}
                    " "
                    {next.map(|href| view! { <a class="button secondary" href=href>{format!("More {what}")}</a> })}
                </p>
            }
        })
    };
    let requests_pager = pager(
        (rp > 0).then(|| link(rp - 1, gp)),
        o.more_requests.then(|| link(rp + 1, gp)),
        "requests",
    );
    let grants_pager = pager(
        (gp > 0).then(|| link(rp, gp - 1)),
        o.more_grants.then(|| link(rp, gp + 1)),
        "grants",
    );
    view! {
        <section class="panel" aria-labelledby="admin-pending">
            <h2 id="admin-pending">"Pending requests"</h2>
            {if o.pending.is_empty() {
                view! { <p class="muted">"None."</p> }.into_any()
            } else {
                view! {
                    <table class="table" data-testid="admin-pending">
                        <thead><tr><th scope="col">"Asked"</th><th scope="col">"Person"</th><th scope="col">"Group"</th><th scope="col">"For"</th><th scope="col">"Approvals"</th></tr></thead>
                        <tbody>{o.pending.into_iter().map(|r| view! {
                            <tr>
                                <td>{utc_datetime(r.request.created_at)}</td>
                                <td>{r.requester_name}</td>
                                <td>{r.group_name}</td>
                                <td>{describe_duration(r.request.duration_secs)}</td>
                                <td>{format!("{} of {}", r.request.approvals, r.request.quorum)}</td>
                            </tr>
                        }).collect_view()}</tbody>
                    </table>
                }.into_any()
            }}
            {requests_pager}
        </section>
        <section class="panel" aria-labelledby="admin-grants">
            <h2 id="admin-grants">"Live grants"</h2>
            {if o.grants.is_empty() {
                view! { <p class="muted">"None."</p> }.into_any()
            } else {
                view! {
                    <table class="table" data-testid="admin-grants">
                        <thead><tr><th scope="col">"Person"</th><th scope="col">"Group"</th><th scope="col">"State"</th><th scope="col">"Ends"</th><th scope="col">"Revoke"</th></tr></thead>
                        <tbody>{o.grants.into_iter().map(|g| {
                            let live = matches!(g.grant.state, crate::model::GrantState::Active | crate::model::GrantState::Scheduled);
                            let failed = g.grant.state == crate::model::GrantState::Failed;
                            view! {
                                <tr data-group=g.group_name.clone()>
                                    <td>{g.holder_name.clone()}</td>
                                    <td><a href=format!("/admin/groups/{}", g.grant.group_id)>{g.group_name.clone()}</a>
                                        {g.emergency.then(|| view! { " " <span class="badge danger">"emergency"</span> })}</td>
                                    <td>
                                        {g.grant.state.as_str()}
                                        {failed.then(|| view! {
                                            <div class="error-text">{g.grant.revoked_reason.clone().unwrap_or_default()}</div>
                                            <ActionForm action=retry attr:class="inline-form">
                                                <input type="hidden" name="grant_id" value=g.grant.id.0 />
                                                <button type="submit" class="button small">"Retry"</button>
                                            </ActionForm>
                                        })}
                                    </td>
                                    <td><Countdown ends_at=g.grant.ends_at /></td>
                                    <td>{live.then(|| view! {
                                        <ActionForm action=revoke attr:class="inline-form">
                                            <input type="hidden" name="grant_id" value=g.grant.id.0 />
                                            <label class="sr-only" for=format!("reason-{}", g.grant.id)>"Reason"</label>
                                            <input id=format!("reason-{}", g.grant.id) name="reason" placeholder="Reason" />
                                            <button type="submit" class="button small secondary">"Revoke"</button>
                                        </ActionForm>
                                    })}</td>
                                </tr>
                            }
                        }).collect_view()}</tbody>
                    </table>
                }.into_any()
            }}
            {grants_pager}
        </section>
    }
}
