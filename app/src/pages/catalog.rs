//! `/request`: the bundles and groups this person may request, searchable and paged;
//! `/request/:group`: the request form; `/request/bundle/:id`: a bundle's.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::access::{
    get_bundle_entry, get_catalog, get_catalog_entry, ActivateEmergency, RequestAccess,
    RequestBundle,
};
use crate::components::error_view::{ErrorView, FormError, Loading};
use crate::components::page::{Audience, Page};
use crate::components::search::SearchForm;
use crate::format::{describe_duration, utc_datetime};
use crate::model::{BundleEntry, CatalogEntry};
use crate::url::encode_query_value;

/// `/request`
#[component]
pub fn CatalogPage() -> impl IntoView {
    // Outside the gate, as on every page (see `Gate`).
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let after = move || query.read().get("after").unwrap_or_default();
    let page = Resource::new(move || (q(), after()), |(q, after)| get_catalog(q, after));
    view! {
        <Page title="Request access" audience=Audience::Requesters> <Catalog page /> </Page>
    }
}

#[component]
fn Catalog(
    page: Resource<Result<crate::model::CatalogPage, crate::error::AppError>>,
) -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    view! {
        <p class="lead">"The Okta groups you may request, who approves them and for how long."</p>
        <SearchForm action="/request" placeholder="Search groups by name" value=Signal::derive(q) />
        <Suspense fallback=|| view! { <Loading what="groups" /> }>
            {move || page.get().map(|r| match r {
                Ok(p) if p.entries.is_empty() && p.bundles.is_empty() => view! {
                    <p class="muted" data-testid="catalog-empty">
                        {if q().is_empty() { "There is nothing you may request yet.".to_owned() } else { format!("No group you may request matches {:?}.", q()) }}
                    </p>
                }.into_any(),
                Ok(p) => {
                    let next = p.next.clone().map(|n| format!("/request?q={}&after={}", encode_query_value(&q()), encode_query_value(&n)));
                    let bundles = (!p.bundles.is_empty()).then(|| view! {
                        <h2>"Bundles"</h2>
                        <ul class="catalog" data-testid="bundles">
                            {p.bundles.into_iter().map(|b| view! { <BundleItem b /> }).collect_view()}
                        </ul>
                        <h2>"Groups"</h2>
                    });
                    view! {
                        {bundles}
                        <ul class="catalog" data-testid="catalog">
                            {p.entries.into_iter().map(|e| view! { <CatalogItem e /> }).collect_view()}
                        </ul>
                        {next.map(|href| view! { <p><a class="button secondary" href=href>"Next page"</a></p> })}
                    }.into_any()
                }
                Err(error) => view! { <ErrorView error /> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn BundleItem(b: BundleEntry) -> impl IntoView {
    let href = format!("/request/bundle/{}", b.bundle.id);
    let status = match (b.held_until, b.pending_request) {
        (Some(until), _) => Some(format!("You hold it until {}", utc_datetime(until))),
        (None, Some(id)) => Some(format!("Request #{id} is waiting for approval")),
        _ => None,
    };
    let action = if b.held_until.is_some() {
        "Extend"
    } else {
        "Request"
    };
    view! {
        <li data-bundle=b.bundle.name.clone()>
            <div>
                <strong>{b.bundle.name.clone()}</strong> " " <span class="badge">"bundle"</span>
                {(!b.bundle.description.is_empty()).then(|| view! { <span class="muted">" — " {b.bundle.description.clone()}</span> })}
                <div class="meta">{format!("{} groups: {}", b.bundle.group_names.len(), b.bundle.group_names.join(", "))}</div>
                <div class="meta">
                    {format!("Up to {} · approved by {}", describe_duration(b.max_duration_secs), b.approvers.join(", "))}
                    {(b.quorum > 1).then(|| format!(" · {} approvals needed", b.quorum))}
                </div>
                {status.map(|s| view! { <div class="status">{s}</div> })}
            </div>
            {b.pending_request.is_none().then(|| view! { <a class="button small" href=href>{action}</a> })}
        </li>
    }
}

/// `/request/bundle/:id`
#[component]
pub fn BundleFormPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|i| i.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let entry = Resource::new(id, get_bundle_entry);
    let submit = ServerAction::<RequestBundle>::new();
    view! {
        <Page title="Request a bundle" audience=Audience::Requesters>
            <Suspense fallback=|| view! { <Loading what="the bundle" /> }>
                {move || entry.get().map(|r| match r {
                    Ok(b) => view! { <BundleForm b submit /> }.into_any(),
                    Err(error) => view! { <ErrorView error /> }.into_any(),
                })}
            </Suspense>
        </Page>
    }
}

#[component]
fn BundleForm(b: BundleEntry, submit: ServerAction<RequestBundle>) -> impl IntoView {
    let outcome = move || submit.value().get().map(sent);
    view! {
        <section class="panel">
            <h2>{b.bundle.name.clone()} " " <span class="badge">"bundle"</span></h2>
            {(!b.bundle.description.is_empty()).then(|| view! { <p class="muted">{b.bundle.description.clone()}</p> })}
            <p>"One request, one decision, for every group:"</p>
            <ul class="plain" data-testid="bundle-groups">
                {b.bundle.group_names.iter().map(|g| view! { <li>{g.clone()}</li> }).collect_view()}
            </ul>
            <p>{format!("Approved by {}; at most {}.", b.approvers.join(", "), describe_duration(b.max_duration_secs))}</p>
            {b.held_until.map(|u| view! { <p class="notice-line">{format!("You hold it until {}: this request extends every group.", utc_datetime(u))}</p> })}
            <ActionForm action=submit attr:class="form">
                <input type="hidden" name="bundle_id" value=b.bundle.id />
                <Terms default_secs=b.default_duration_secs max_secs=b.max_duration_secs require_reason=b.require_reason ticket_pattern=b.ticket_pattern.clone() />
                <div class="form-actions">
                    <button type="submit" class="button" disabled=move || submit.pending().get()>
                        {move || if submit.pending().get() { "Sending…" } else { "Send request" }}
                    </button>
                </div>
                {outcome}
            </ActionForm>
        </section>
    }
}

#[component]
fn CatalogItem(e: CatalogEntry) -> impl IntoView {
    let href = format!("/request/{}", encode_query_value(e.group_id.as_str()));
    let status = match (e.held_until, e.pending_request, e.member_in_okta) {
        (Some(until), _, _) => Some(format!("You hold it until {}", utc_datetime(until))),
        (None, Some(id), _) => Some(format!("Request #{id} is waiting for approval")),
        (None, None, true) if e.resource == crate::model::Resource::App => {
            Some("Okta assigns you this app already".to_owned())
        }
        (None, None, true) => Some("You are a member in Okta already".to_owned()),
        _ => None,
    };
    let app = e.resource == crate::model::Resource::App;
    let can_ask = e.pending_request.is_none() && !e.member_in_okta;
    let action = if e.held_until.is_some() {
        "Extend"
    } else {
        "Request"
    };
    view! {
        <li data-group=e.name.clone()>
            <div>
                <strong>{e.name.clone()}</strong>
                {app.then(|| view! { " " <span class="badge" data-testid="app-badge">"app"</span> })}
                {(!e.description.is_empty()).then(|| view! { <span class="muted">" — " {e.description.clone()}</span> })}
                <div class="meta">
                    {format!("Up to {} · approved by {}", describe_duration(e.max_duration_secs), e.approvers.join(", "))}
                    {(e.quorum > 1).then(|| format!(" · {} approvals needed", e.quorum))}
                </div>
                {status.map(|s| view! { <div class="status">{s}</div> })}
            </div>
            {can_ask.then(|| view! { <a class="button small" href=href>{action}</a> })}
        </li>
    }
}

/// `/request/:group`
#[component]
pub fn RequestFormPage() -> impl IntoView {
    let params = use_params_map();
    let group = move || params.read().get("group").unwrap_or_default();
    let entry = Resource::new(group, get_catalog_entry);
    view! {
        <Page title="Request access" audience=Audience::Requesters> <RequestForm entry /> </Page>
    }
}

#[component]
fn RequestForm(
    entry: Resource<Result<crate::model::CatalogEntry, crate::error::AppError>>,
) -> impl IntoView {
    let submit = ServerAction::<RequestAccess>::new();
    view! {
        <Suspense fallback=|| view! { <Loading what="the group" /> }>
            {move || entry.get().map(|r| match r {
                Ok(e) => view! { <FormFor e submit /> }.into_any(),
                Err(error) => view! { <ErrorView error /> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn FormFor(e: CatalogEntry, submit: ServerAction<RequestAccess>) -> impl IntoView {
    let emergency = e.break_glass_secs.map(|max| (e.clone(), max));
    let outcome = move || submit.value().get().map(sent);
    view! {
        <section class="panel">
            <h2>{e.name.clone()}
                {(e.resource == crate::model::Resource::App).then(|| view! { " " <span class="badge">"app"</span> })}
            </h2>
            {(!e.description.is_empty()).then(|| view! { <p class="muted">{e.description.clone()}</p> })}
            <p>{format!("Approved by {}; at most {}.", e.approvers.join(", "), describe_duration(e.max_duration_secs))}</p>
            {e.held_until.map(|u| view! { <p class="notice-line">{format!("You hold it until {}: this request extends it.", utc_datetime(u))}</p> })}
            <ActionForm action=submit attr:class="form">
                <input type="hidden" name="group_id" value=e.group_id.to_string() />
                <Terms default_secs=e.default_duration_secs max_secs=e.max_duration_secs require_reason=e.require_reason ticket_pattern=e.ticket_pattern.clone() />
                <div class="form-actions">
                    <button type="submit" class="button" disabled=move || submit.pending().get()>
                        {move || if submit.pending().get() { "Sending…" } else { "Send request" }}
                    </button>
                </div>
                {outcome}
            </ActionForm>
        </section>
        {emergency.map(|(e, max)| view! { <EmergencyForm e max /> })}
    }
}

/// What a sent request says: approved at once or waiting, or why it was refused.
fn sent(r: Result<crate::model::AccessRequest, crate::error::AppError>) -> AnyView {
    match r {
        Ok(req) => view! {
            <p class="form-ok" role="status" data-testid="request-sent">
                {format!("Request #{} sent: {}.", req.id, if req.state == crate::model::RequestState::Approved { "approved at once" } else { "waiting for approval" })}
                " " <a href="/access">"See My access"</a>
            </p>
        }
        .into_any(),
        Err(error) => view! { <FormError error testid="request-error" /> }.into_any(),
    }
}

/// The terms of a request, as the policy bounds them: how long (with the usual durations
/// that fit), why, the ticket, and a later start.
#[component]
fn Terms(
    default_secs: i64,
    max_secs: i64,
    require_reason: bool,
    ticket_pattern: Option<String>,
) -> impl IntoView {
    let presets: Vec<i64> = [3600, 4 * 3600, 86_400, 604_800]
        .into_iter()
        .filter(|p| *p <= max_secs)
        .collect();
    view! {
        <label for="duration">"For how long"</label>
        <input id="duration" name="duration" list="duration-presets" value=describe_duration(default_secs)
            placeholder="e.g. 4h, 1d" />
        <datalist id="duration-presets">
            {presets.into_iter().map(|p| view! { <option value=describe_duration(p) /> }).collect_view()}
        </datalist>
        <p class="hint">{format!("Minutes (m), hours (h), days (d) or weeks (w); at most {}.", describe_duration(max_secs))}</p>
        <label for="reason">{if require_reason { "Reason (required)" } else { "Reason" }}</label>
        <textarea id="reason" name="reason" rows="3" maxlength="1000"></textarea>
        <label for="ticket">{match &ticket_pattern {
            Some(p) => format!("Ticket (required, matching {p})"),
            None => "Ticket (optional: a change or incident number)".to_owned(),
        }}</label>
        <input id="ticket" name="ticket" maxlength="100" required=ticket_pattern.is_some() />
        <label for="start">"Start later (optional, UTC)"</label>
        <input id="start" name="start" type="datetime-local" />
    }
}

/// Break-glass: emergency access at once, without approval, where the policy allows it.
#[component]
fn EmergencyForm(e: CatalogEntry, max: i64) -> impl IntoView {
    let activate = ServerAction::<ActivateEmergency>::new();
    let outcome = move || {
        activate.value().get().map(|r| match r {
            Ok(req) => view! {
                <p class="form-ok" role="status" data-testid="emergency-active">
                    {format!("Emergency access active (request #{}). Approvers and admins have been alerted; an approver reviews it afterwards.", req.id)}
                    " " <a href="/access">"See My access"</a>
                </p>
            }.into_any(),
            Err(error) => view! { <FormError error testid="emergency-error" /> }.into_any(),
        })
    };
    view! {
        <section class="panel emergency" aria-labelledby="emergency-heading">
            <h2 id="emergency-heading">"Emergency access (break-glass)"</h2>
            <p>{format!(
                "For an incident that cannot wait: access starts at once, without approval, for at most {}. Every approver and admin is alerted now, the grant is marked as an emergency, and an approver reviews it afterwards. Use it only when you must.",
                describe_duration(max)
            )}</p>
            <ActionForm action=activate attr:class="form">
                <input type="hidden" name="group_id" value=e.group_id.to_string() />
                <label for="emergency-duration">"For how long"</label>
                <input id="emergency-duration" name="duration" value=describe_duration(max) />
                <label for="emergency-reason">"What is the emergency? (required)"</label>
                <textarea id="emergency-reason" name="reason" rows="3" maxlength="1000" required></textarea>
                <label for="emergency-ticket">{match &e.ticket_pattern {
                    Some(p) => format!("Ticket (required, matching {p})"),
                    None => "Ticket (optional: the incident number)".to_owned(),
                }}</label>
                <input id="emergency-ticket" name="ticket" maxlength="100" required=e.ticket_pattern.is_some() />
                <div class="form-actions">
                    <button type="submit" class="button danger" data-testid="break-glass" disabled=move || activate.pending().get()>
                        {move || if activate.pending().get() { "Activating…" } else { "Activate emergency access" }}
                    </button>
                </div>
                {outcome}
            </ActionForm>
        </section>
    }
}
