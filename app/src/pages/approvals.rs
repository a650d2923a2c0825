//! `/approvals`: requests waiting for this person's decision, oldest first, and emergency
//! (break-glass) activations waiting for their review afterwards; and the person's
//! out-of-office delegations.

use leptos::prelude::*;

use crate::api::access::{
    get_approvals, get_delegations, get_emergencies, DecideRequest, RemoveDelegation,
    ReviewEmergency, SaveDelegation,
};
use crate::components::error_view::{ErrorView, FormError, Loading};
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
    let review = ServerAction::<ReviewEmergency>::new();
    let emergencies = Resource::new(move || review.version().get(), |_| get_emergencies());
    view! {
        <Page title="Approvals" audience=Audience::Requesters>
            <Emergencies review emergencies />
            <Queue decide queue />
            <Away />
        </Page>
    }
}

/// Emergency activations to review afterwards; nothing when there are none.
#[component]
fn Emergencies(
    review: ServerAction<ReviewEmergency>,
    emergencies: Resource<Result<Vec<RequestView>, AppError>>,
) -> impl IntoView {
    let outcome = move || {
        review.value().get().map(|r| match r {
            Ok(req) => view! {
                <p class="form-ok" role="status" data-testid="emergency-reviewed">
                    {format!("Emergency access #{} is {}.", req.id, req.emergency.map_or("reviewed", |f| f.as_str()))}
                </p>
            }.into_any(),
            Err(error) => view! { <FormError error /> }.into_any(),
        })
    };
    view! {
        {outcome}
        <Suspense fallback=|| ()>
            {move || emergencies.get().map(|r| match r {
                Ok(items) if items.is_empty() => ().into_any(),
                Ok(items) => view! {
                    <section aria-labelledby="emergencies-heading">
                        <h2 id="emergencies-heading">"Emergency access to review"</h2>
                        <p class="lead">"Activated without approval (break-glass). Confirm each was justified, or flag it with why."</p>
                        <ul class="queue" data-testid="emergencies">
                            {items.into_iter().map(|r| view! { <EmergencyItem r review /> }).collect_view()}
                        </ul>
                    </section>
                }.into_any(),
                Err(error) => view! { <ErrorView error /> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn EmergencyItem(r: RequestView, review: ServerAction<ReviewEmergency>) -> impl IntoView {
    let id = r.request.id.0;
    view! {
        <li class="panel emergency" data-emergency=id>
            <p>
                <span class="badge danger">"emergency"</span> " "
                <strong>{r.requester_name.clone()}</strong> " activated " <strong>{r.group_name.clone()}</strong>
                {format!(" for {}", describe_duration(r.request.duration_secs))}
                <span class="muted">{format!(" · {}", utc_datetime(r.request.created_at))}</span>
            </p>
            <blockquote>{r.request.reason.clone()}</blockquote>
            {r.request.ticket.clone().map(|t| view! { <p class="meta">"Ticket: " {t}</p> })}
            <div class="decide">
                <ActionForm action=review attr:class="form">
                    <input type="hidden" name="request_id" value=id />
                    <input type="hidden" name="outcome" value="justified" />
                    <label for=format!("justified-comment-{id}")>"Comment"</label>
                    <input id=format!("justified-comment-{id}") name="comment" />
                    <button type="submit" class="button">"Justified"</button>
                </ActionForm>
                <ActionForm action=review attr:class="form">
                    <input type="hidden" name="request_id" value=id />
                    <input type="hidden" name="outcome" value="flagged" />
                    <label for=format!("flag-comment-{id}")>"Why not justified (required)"</label>
                    <input id=format!("flag-comment-{id}") name="comment" />
                    <button type="submit" class="button secondary">"Flag"</button>
                </ActionForm>
            </div>
        </li>
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
        Err(error) => view! { <FormError error /> }.into_any(),
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
                {(r.request.resource == crate::model::Resource::App).then(|| view! { " " <span class="badge">"app"</span> })}
                {format!(" for {}", describe_duration(r.request.duration_secs))}
                <span class="muted">{format!(" · asked {} · ", utc_datetime(r.request.created_at))}
                    <a href=format!("/requests/{id}")>{format!("request #{id}")}</a></span>
            </p>
            {r.bundle.clone().map(|b| view! {
                <p class="meta" data-testid="bundle">{format!("Bundle {}: one decision for {}", b.name, b.groups.join(", "))}</p>
            })}
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
            {r.notes.iter().map(|n| view! { <p class="meta" data-testid="routing">{n.clone()}</p> }).collect_view()}
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

/// Out of office: who stands in for the person, and when.
#[component]
fn Away() -> impl IntoView {
    let save = ServerAction::<SaveDelegation>::new();
    let remove = ServerAction::<RemoveDelegation>::new();
    let list = Resource::new(
        move || (save.version().get(), remove.version().get()),
        |_| get_delegations(),
    );
    let outcome = move || {
        save.value().get().map(|r| match r {
            Ok(d) => view! {
                <p class="form-ok" role="status" data-testid="delegation-saved">
                    {format!("{} stands in for you from {} until {}.", d.delegate_name, utc_datetime(d.starts_at), utc_datetime(d.ends_at))}
                </p>
            }.into_any(),
            Err(error) => view! { <FormError error testid="delegation-error" /> }.into_any(),
        })
    };
    view! {
        <section class="panel" aria-labelledby="away-heading">
            <h2 id="away-heading">"Out of office"</h2>
            <p class="muted">"While you are away, requests you may decide go to your delegate too — never a request of their own. Requests already waiting reach them when the dates start."</p>
            <Suspense fallback=|| view! { <Loading what="delegations" /> }>
                {move || list.get().map(|r| match r {
                    Ok(items) if items.is_empty() => view! { <p class="muted">"No delegation."</p> }.into_any(),
                    Ok(items) => view! {
                        <ul class="plain" data-testid="delegations">
                            {items.into_iter().map(|d| view! {
                                <li>
                                    {format!("{} ({}) from {} until {}", d.delegate_name, d.delegate_login, utc_datetime(d.starts_at), utc_datetime(d.ends_at))}
                                    <ActionForm action=remove attr:class="inline">
                                        <input type="hidden" name="id" value=d.id />
                                        <button type="submit" class="button small secondary">"Remove"</button>
                                    </ActionForm>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(error) => view! { <ErrorView error /> }.into_any(),
                })}
            </Suspense>
            <ActionForm action=save attr:class="form">
                <label for="delegate">"Delegate (login)"</label>
                <input id="delegate" name="delegate" required placeholder="tom@example.com" />
                <label for="away-from">"From (UTC; empty: now)"</label>
                <input id="away-from" name="from" type="datetime-local" />
                <label for="away-until">"Until (UTC)"</label>
                <input id="away-until" name="until" type="datetime-local" required />
                <div class="form-actions">
                    <button type="submit" class="button secondary" disabled=move || save.pending().get()>"Save delegation"</button>
                </div>
                {outcome}
            </ActionForm>
        </section>
    }
}
