//! `/reviews` and `/reviews/:id`: a reviewer's access reviews — the open campaigns with items
//! for them, and in each their items grouped by group, with the context to decide (title,
//! department, how and since when the person has the access, the last request's reason, last
//! sign-in), Keep or Revoke with a comment, one by one, for the selected ones, or for a whole
//! group; filters and progress. Every form works without JavaScript.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::reviews::{get_my_reviews, get_review_items, DecideReview};
use crate::components::error_view::{ErrorView, Loading};
use crate::components::page::{Audience, Page};
use crate::error::AppError;
use crate::format::utc_datetime;
use crate::model::{MyReviewPage, ReviewDecision, ReviewItem};
use crate::url::encode_query_value;

/// `/reviews`
#[component]
pub fn ReviewsPage() -> impl IntoView {
    let list = Resource::new(|| (), |_| get_my_reviews());
    view! {
        <Page title="Reviews" audience=Audience::Requesters>
            <p class="lead">"Access reviews ask you to confirm who should keep access to the groups you are responsible for. "
                "Keep what is still needed; revoke what is not."</p>
            <Suspense fallback=|| view! { <Loading what="your reviews" /> }>
                {move || list.get().map(|r| match r {
                    Ok(list) if list.is_empty() => view! {
                        <p class="muted" data-testid="reviews-empty">"No access review is waiting for you. When an administrator starts one that includes groups you review, it appears here (and you are told by email or Slack)."</p>
                    }.into_any(),
                    Ok(list) => view! {
                        <table class="table" data-testid="my-reviews">
                            <thead><tr><th scope="col">"Review"</th><th scope="col">"Due"</th><th scope="col">"Progress"</th></tr></thead>
                            <tbody>{list.into_iter().map(|c| {
                                let done = c.items - c.undecided;
                                view! {
                                    <tr data-review=c.name.clone()>
                                        <td><a href=format!("/reviews/{}", c.id)>{c.name.clone()}</a></td>
                                        <td>{utc_datetime(c.due_at)}</td>
                                        <td><progress max=c.items value=done></progress>{format!(" {done} of {} decided", c.items)}</td>
                                    </tr>
                                }
                            }).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                    Err(error) => view! { <ErrorView error /> }.into_any(),
                })}
            </Suspense>
        </Page>
    }
}

/// The page's filters, as in its address.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Filters {
    group: String,
    state: String,
    q: String,
    access: String,
    page: i64,
}

impl Filters {
    fn href(&self, campaign: i64, page: i64) -> String {
        format!(
            "/reviews/{campaign}?group={}&state={}&q={}&access={}&page={page}",
            encode_query_value(&self.group),
            encode_query_value(&self.state),
            encode_query_value(&self.q),
            encode_query_value(&self.access),
        )
    }
}

/// `/reviews/:id`
#[component]
pub fn ReviewPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|i| i.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let filters = move || {
        let q = query.read();
        Filters {
            group: q.get("group").unwrap_or_default(),
            state: q.get("state").unwrap_or_else(|| "undecided".into()),
            q: q.get("q").unwrap_or_default(),
            access: q.get("access").unwrap_or_default(),
            page: q.get("page").and_then(|p| p.parse().ok()).unwrap_or(0),
        }
    };
    let decide = ServerAction::<DecideReview>::new();
    let data = Resource::new(
        move || (id(), filters(), decide.version().get()),
        |(id, f, _)| get_review_items(id, f.group, f.state, f.q, f.access, f.page),
    );
    view! {
        <Page title="Review" audience=Audience::Requesters>
            <p><a href="/reviews">"← All my reviews"</a></p>
            <Outcome decide />
            <Suspense fallback=|| view! { <Loading what="the items to review" /> }>
                {move || data.get().map(|r| match r {
                    Ok(page) => view! { <Items page filters=filters() decide /> }.into_any(),
                    Err(error) => view! { <ErrorView error /> }.into_any(),
                })}
            </Suspense>
        </Page>
    }
}

/// What the last decision did (with JavaScript; without, the page reloads with the result).
#[component]
fn Outcome(decide: ServerAction<DecideReview>) -> impl IntoView {
    move || {
        decide.value().get().map(|r| match r {
            Ok(n) => view! {
                <p class="form-ok" role="status" data-testid="review-decided">
                    {if n == 1 { "1 item decided.".to_owned() } else { format!("{n} items decided.") }}
                </p>
            }
            .into_any(),
            Err(AppError::Invalid { field, message }) => view! {
                <p class="form-error" role="alert" data-testid="review-error"><strong>{field}</strong> ": " {message}</p>
            }
            .into_any(),
            Err(error) => view! { <ErrorView error /> }.into_any(),
        })
    }
}

#[component]
fn Items(
    page: MyReviewPage,
    filters: Filters,
    decide: ServerAction<DecideReview>,
) -> impl IntoView {
    let c = page.campaign.clone();
    let done = c.items - c.undecided;
    let bulk = format!("bulk-{}", c.id);
    let selected = |f: &Filters, field: &str, value: &str| match field {
        "state" => f.state == value,
        "access" => f.access == value,
        _ => f.group == value,
    };
    let option = {
        let filters = filters.clone();
        move |field: &'static str, value: String, label: String| {
            let on = selected(&filters, field, &value);
            view! { <option value=value selected=on>{label}</option> }
        }
    };
    // Items come sorted by group: a heading (with "keep all") where the group changes.
    let mut last_group = String::new();
    let mut rows = Vec::new();
    for item in page.items.iter().cloned() {
        if item.group_id != last_group {
            last_group = item.group_id.clone();
            let left = page
                .groups
                .iter()
                .find(|(g, _, _)| *g == item.group_id)
                .map_or(0, |g| g.2);
            rows.push(view! { <GroupRow campaign=c.id group_id=item.group_id.clone() group_name=item.group_name.clone() left decide /> }.into_any());
        }
        rows.push(view! { <ItemRow item bulk=bulk.clone() decide /> }.into_any());
    }
    let older = page.next_after.map(|p| filters.href(c.id, p));
    let newer = (filters.page > 0).then(|| filters.href(c.id, filters.page - 1));
    view! {
        <h2 data-testid="review-name">{c.name.clone()}</h2>
        <p>
            <progress max=c.items value=done></progress>
            <span data-testid="review-progress">{format!(" {done} of {} decided", c.items)}</span>
            {format!(" · due {}", utc_datetime(c.due_at))}
        </p>
        <p class="muted">{if page.revoke_on_decision {
            "A revocation is carried out as soon as you decide it, and cannot be changed afterwards."
        } else {
            "Nothing changes in Okta until the review closes: you can change your decisions until then."
        }}</p>
        <form method="get" class="filters" action=format!("/reviews/{}", c.id) aria-label="Filter items">
            <label for="f-group">"Group"</label>
            <select id="f-group" name="group">
                {option("group", String::new(), "All groups".into())}
                {page.groups.iter().map(|(g, name, left)| option("group", g.clone(), format!("{name} ({left} left)"))).collect_view()}
            </select>
            <label for="f-state">"Show"</label>
            <select id="f-state" name="state">
                {option("state", "undecided".into(), "Undecided".into())}
                {option("state", "decided".into(), "Decided".into())}
                {option("state", "all".into(), "All".into())}
            </select>
            <label for="f-access">"Access"</label>
            <select id="f-access" name="access">
                {option("access", String::new(), "Any".into())}
                {option("access", "grant".into(), "Through Gatepass".into())}
                {option("access", "standing".into(), "Outside Gatepass".into())}
            </select>
            <label for="f-q">"Person"</label>
            <input id="f-q" name="q" type="search" value=filters.q.clone() placeholder="Name or login" />
            <button type="submit" class="button secondary small">"Filter"</button>
        </form>
        {if page.items.is_empty() {
            view! { <p class="muted" data-testid="review-items-empty">{if filters.state == "undecided" && filters.q.is_empty() && filters.group.is_empty() && filters.access.is_empty() {
                "Everything here is decided. You can still change a decision until the review closes: show the decided items."
            } else {
                "No item matches these filters."
            }}</p> }.into_any()
        } else {
            view! {
                <p class="muted" data-testid="review-matching">{format!("{} item{} match.", page.matching, if page.matching == 1 { "" } else { "s" })}</p>
                <ActionForm action=decide attr:id=bulk.clone() attr:class="form bulk">
                    <input type="hidden" name="campaign" value=c.id />
                    <label for="bulk-comment">"Comment for the selected items"</label>
                    <input id="bulk-comment" name="comment" />
                    <div class="form-actions">
                        <button type="submit" name="decision" value="keep" class="button small">"Keep selected"</button>
                        <button type="submit" name="decision" value="revoke" class="button small secondary">"Revoke selected"</button>
                    </div>
                </ActionForm>
                <table class="table review" data-testid="review-items">
                    <thead><tr>
                        <th scope="col"><span class="sr-only">"Select"</span></th>
                        <th scope="col">"Person"</th><th scope="col">"Access"</th><th scope="col">"Context"</th>
                        <th scope="col">"Decision"</th><th scope="col">"Decide"</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            }.into_any()
        }}
        <p>
            {newer.map(|href| view! { <a class="button secondary" href=href>"Previous page"</a> " " })}
            {older.map(|href| view! { <a class="button secondary" href=href>"Next page"</a> })}
        </p>
    }
}

#[component]
fn GroupRow(
    campaign: i64,
    group_id: String,
    group_name: String,
    left: i64,
    decide: ServerAction<DecideReview>,
) -> impl IntoView {
    let keep_all = format!("Keep all {left} in {group_name}");
    view! {
        <tr class="group-row" data-group=group_name.clone()>
            <th scope="rowgroup" colspan="5">{group_name.clone()}{format!(" · {left} undecided")}</th>
            <td>{(left > 0).then(|| view! {
                <ActionForm action=decide attr:class="inline-form">
                    <input type="hidden" name="campaign" value=campaign />
                    <input type="hidden" name="group" value=group_id.clone() />
                    <input type="hidden" name="decision" value="keep" />
                    <input type="hidden" name="comment" value="" />
                    <button type="submit" class="button small secondary">{keep_all.clone()}</button>
                </ActionForm>
            })}</td>
        </tr>
    }
}

#[component]
fn ItemRow(item: ReviewItem, bulk: String, decide: ServerAction<DecideReview>) -> impl IntoView {
    let id = item.id;
    let access = match item.grant_id {
        Some(g) => format!("Gatepass grant #{g}"),
        None => "Outside Gatepass".to_owned(),
    };
    let since = item
        .since
        .map(|t| format!("since {}", utc_datetime(t)))
        .unwrap_or_else(|| "since: unknown".into());
    let role = [item.title.clone(), item.department.clone()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
    let decision = match (&item.decision, &item.decided_by) {
        (Some(d), by) => format!(
            "{}{}{}",
            if *d == ReviewDecision::Keep {
                "Keep"
            } else {
                "Revoke"
            },
            by.as_ref().map(|b| format!(" by {b}")).unwrap_or_default(),
            item.comment
                .as_ref()
                .filter(|c| !c.is_empty())
                .map(|c| format!(": {c}"))
                .unwrap_or_default()
        ),
        (None, _) => "Undecided".to_owned(),
    };
    let state = item.decision.map_or("undecided", |d| d.as_str());
    let comment_label = format!("Comment on {}", item.user_name);
    let select_label = format!("Select {} in {}", item.user_name, item.group_name);
    let needs = item.keep_needs_comment;
    let campaign = item.campaign_id;
    view! {
        <tr data-person=item.user_name.clone() data-group=item.group_name.clone() data-decision=state>
            <td>{(!item.final_).then(|| view! {
                <input type="checkbox" name="items[]" value=id form=bulk.clone() aria-label=select_label.clone() />
            })}</td>
            <td><strong>{item.user_name.clone()}</strong><br /><span class="muted">{item.login.clone()}</span>
                {(!role.is_empty()).then(|| view! { <br /><span class="muted">{role.clone()}</span> })}</td>
            <td>{access}<br /><span class="muted">{since}</span></td>
            <td>
                {item.granted_by.clone().map(|b| view! { <span>{format!("approved by {b}")}</span><br /> })}
                {item.last_reason.clone().filter(|r| !r.is_empty()).map(|r| view! { <span class="muted">{format!("asked for: {r}")}</span><br /> })}
                <span class="muted">{item.last_login.map(|t| format!("last sign-in {}", utc_datetime(t))).unwrap_or_else(|| "no sign-in recorded".into())}</span>
            </td>
            <td data-testid="decision">{decision}{item.final_.then_some(" (carried out)")}</td>
            <td>{(!item.final_).then(|| view! {
                <ActionForm action=decide attr:class="inline-form">
                    <input type="hidden" name="campaign" value=campaign />
                    <input type="hidden" name="items[]" value=id />
                    <label class="sr-only" for=format!("comment-{id}")>{comment_label.clone()}</label>
                    <input id=format!("comment-{id}") name="comment" placeholder=if needs { "Comment (required to keep)" } else { "Comment" } />
                    <button type="submit" name="decision" value="keep" class="button small">"Keep"</button>
                    <button type="submit" name="decision" value="revoke" class="button small secondary">"Revoke"</button>
                </ActionForm>
            })}</td>
        </tr>
    }
}
