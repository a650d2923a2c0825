//! `/admin/audit`: the audit log, filtered by person, subject, action and dates; paged;
//! exported as CSV or JSON Lines. Each event reads as a sentence with names and links; its
//! details, field changes and place in the hash chain open below it.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::okta::get_audit;
use crate::components::error_view::{ErrorView, Loading};
use crate::components::page::{Audience, Page};
use crate::components::when::When;
use crate::model::{AuditLine, Phrase};
use crate::url::encode_query_value;

/// `/admin/audit`
#[component]
pub fn AuditPage() -> impl IntoView {
    // Outside the gate, as on every page (see `Gate`).
    let query = use_query_map();
    let get = move |k: &str| query.read().get(k).unwrap_or_default();
    let filters = move || FIELDS.map(get);
    let before = move || get("before").parse::<i64>().ok();
    let page = Resource::new(
        move || (filters(), before()),
        |([actor, subject, action, from, to], before)| {
            get_audit(actor, subject, action, from, to, before)
        },
    );
    view! {
        <Page title="Audit log" audience=Audience::Admins> <Log page /> </Page>
    }
}

const FIELDS: [&str; 5] = ["actor", "subject", "action", "from", "to"];

#[component]
fn Log(page: Resource<Result<crate::model::AuditPage, crate::error::AppError>>) -> impl IntoView {
    let query = use_query_map();
    let get = move |k: &str| query.read().get(k).unwrap_or_default();
    let qs = move || {
        FIELDS
            .iter()
            .map(|k| format!("{k}={}", encode_query_value(&get(k))))
            .collect::<Vec<_>>()
            .join("&")
    };
    view! {
        <p class="lead">"Every change Gatepass made or was asked to make, newest first. Each event is chained to the one before by a hash: " <code>"gatepass audit verify"</code> " checks the chain."</p>
        <form method="get" action="/admin/audit" class="filters" role="search">
            <label>"Person" <input name="actor" value=move || get("actor") placeholder="login" /></label>
            <label>"Group, person or object" <input name="subject" value=move || get("subject") placeholder="grant:12, 00g…" /></label>
            <label>"Action" <input name="action" value=move || get("action") placeholder="request." /></label>
            <label>"From" <input name="from" type="date" value=move || get("from") /></label>
            <label>"To" <input name="to" type="date" value=move || get("to") /></label>
            <button type="submit" class="button secondary">"Filter"</button>
        </form>
        <p>
            <a rel="external" data-testid="export-csv" href=move || format!("/admin/audit/export?format=csv&{}", qs())>"Export CSV"</a>
            " · "
            <a rel="external" data-testid="export-jsonl" href=move || format!("/admin/audit/export?format=jsonl&{}", qs())>"Export JSON Lines"</a>
        </p>
        <Suspense fallback=|| view! { <Loading what="the audit log" /> }>
            {move || page.get().map(|r| match r {
                Ok(p) if p.events.is_empty() => view! { <p class="muted">"No event matches."</p> }.into_any(),
                Ok(p) => {
                    let older = p.next_before.map(|b| format!("/admin/audit?{}&before={b}", qs()));
                    view! {
                        <table class="table audit" data-testid="audit">
                            <thead><tr><th scope="col">"When"</th><th scope="col">"What"</th><th scope="col">"Action"</th></tr></thead>
                            <tbody>{p.lines.into_iter().map(|line| view! { <AuditRow line /> }).collect_view()}</tbody>
                        </table>
                        {older.map(|href| view! { <p><a class="button secondary" href=href>"Older events"</a></p> })}
                    }.into_any()
                }
                Err(error) => view! { <ErrorView error /> }.into_any(),
            })}
        </Suspense>
    }
}

/// A sentence of names, links and words.
#[component]
pub fn Sentence(phrases: Vec<Phrase>) -> impl IntoView {
    phrases
        .into_iter()
        .map(|p| match p {
            Phrase::Text(t) => view! { <span>{t}</span> }.into_any(),
            Phrase::Name(n) => view! { <strong>{n}</strong> }.into_any(),
            Phrase::Link { text, href } => view! { <a href=href>{text}</a> }.into_any(),
        })
        .collect_view()
}

/// One event: when, what (with its details to open), and the action's name.
#[component]
pub fn AuditRow(line: AuditLine) -> impl IntoView {
    let changes = (!line.changes.is_empty()).then(|| {
        view! {
            <table class="table compact" data-testid="changes">
                <thead><tr><th scope="col">"Field"</th><th scope="col">"Before"</th><th scope="col">"After"</th></tr></thead>
                <tbody>{line.changes.into_iter().map(|(field, before, after)| view! {
                    <tr><td><code>{field}</code></td><td>{before}</td><td>{after}</td></tr>
                }).collect_view()}</tbody>
            </table>
        }
    });
    view! {
        <tr data-seq=line.seq>
            <td class="nowrap"><When at=line.at /></td>
            <td>
                <Sentence phrases=line.sentence />
                <details>
                    <summary>"Details"</summary>
                    {changes}
                    <pre class="details">{line.details}</pre>
                    <p class="muted chain">{format!("Event #{} · hash {} · after {}", line.seq, line.hash, line.prev_hash)}</p>
                </details>
            </td>
            <td><code>{line.action}</code></td>
        </tr>
    }
}
