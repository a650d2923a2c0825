//! `/approvals`: requests waiting for this person's decision, oldest first.

use leptos::prelude::*;

use crate::api::access::{get_approvals, DecideRequest};
use crate::components::error_view::{ErrorView, Loading};
use crate::components::page::{Audience, Page};
use crate::error::AppError;
use crate::format::describe_duration;
use crate::format::utc_datetime;
use crate::model::RequestView;

/// `/approvals`
#[component]
pub fn ApprovalsPage() -> impl IntoView {
    // Outside the gate, as on every page (see `Gate`).
    let decide = ServerAction::<DecideRequest>::new();
    let queue = Resource::new(move || decide.version().get(), |_| get_approvals());
    view! {
        <Page title="Approvals" audience=Audience::Requesters> <Queue decide queue /> </Page>
    }
}

#[component]
fn Queue(
    decide: ServerAction<DecideRequest>,
    queue: Resource<Result<Vec<RequestView>, AppError>>,
) -> impl IntoView {
    let outcome = move || {
        decide.value().get().map(|r| match r {
        Ok(req) => view! {
            <p class="form-ok" role="status" data-testid="decision-recorded">
                {format!("Request #{} is {}.", req.id, if req.state == crate::model::RequestState::Pending { "waiting for more approvals".to_owned() } else { req.state.as_str().to_owned() })}
            </p>
        }.into_any(),
        Err(AppError::Invalid { field, message }) => view! {
            <p class="form-error" role="alert"><strong>{field}</strong> ": " {message}</p>
        }.into_any(),
        Err(error) => view! { <ErrorView error /> }.into_any(),
    })
    };
    view! {
        <p class="lead">"Requests routed to you. Approving adds the Okta membership at once."</p>
        {outcome}
        <Suspense fallback=|| view! { <Loading what="requests" /> }>
            {move || queue.get().map(|r| match r {
                Ok(items) if items.is_empty() => view! { <p class="muted" data-testid="queue-empty">"Nothing is waiting for you."</p> }.into_any(),
                Ok(items) => view! {
                    <ul class="queue" data-testid="queue">
                        {items.into_iter().map(|r| view! { <Item r decide /> }).collect_view()}
                    </ul>
                }.into_any(),
                Err(error) => view! { <ErrorView error /> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn Item(r: RequestView, decide: ServerAction<DecideRequest>) -> impl IntoView {
    let id = r.request.id.0;
    view! {
        <li class="panel" data-request=id>
            <p>
                <strong>{r.requester_name.clone()}</strong> " asks for " <strong>{r.group_name.clone()}</strong>
                {format!(" for {}", describe_duration(r.request.duration_secs))}
                <span class="muted">{format!(" · asked {}", utc_datetime(r.request.created_at))}</span>
            </p>
            <blockquote>{if r.request.reason.is_empty() { "(no reason given)".to_owned() } else { r.request.reason.clone() }}</blockquote>
            {r.request.ticket.clone().map(|t| view! {
                <p class="meta" data-testid="ticket">"Ticket: "
                    {match r.request.ticket_url.clone() {
                        Some(href) => view! { <a href=href rel="noopener noreferrer" target="_blank">{t}</a> }.into_any(),
                        None => view! { <span>{t}</span> }.into_any(),
                    }}
                </p>
            })}
            {r.decisions.iter().map(|d| view! {
                <p class="meta">{format!("{} {}{}", d.approver, if d.approved { "approved" } else { "denied" },
                    if d.comment.is_empty() { String::new() } else { format!(": {}", d.comment) })}</p>
            }).collect_view()}
            <p class="meta">{format!("{} of {} approvals", r.request.approvals, r.request.quorum)}
                {r.request.starts_at.map(|s| format!(" · starts {}", utc_datetime(s)))}
            </p>
            <div class="decide">
                <ActionForm action=decide attr:class="form">
                    <input type="hidden" name="request_id" value=id />
                    <input type="hidden" name="decision" value="approve" />
                    <label for=format!("approve-comment-{id}")>"Comment"</label>
                    <input id=format!("approve-comment-{id}") name="comment" />
                    <label for=format!("approve-duration-{id}")>"Shorten to (optional)"</label>
                    <input id=format!("approve-duration-{id}") name="duration" placeholder=describe_duration(r.request.duration_secs) />
                    <button type="submit" class="button">"Approve"</button>
                </ActionForm>
                <ActionForm action=decide attr:class="form">
                    <input type="hidden" name="request_id" value=id />
                    <input type="hidden" name="decision" value="deny" />
                    <input type="hidden" name="duration" value="" />
                    <label for=format!("deny-comment-{id}")>"Why deny (required)"</label>
                    <input id=format!("deny-comment-{id}") name="comment" />
                    <button type="submit" class="button secondary">"Deny"</button>
                </ActionForm>
            </div>
        </li>
    }
}
