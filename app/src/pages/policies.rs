//! `/admin/policies`: which groups are requestable, by whom, who approves, for how long.

use leptos::prelude::*;

use crate::api::access::{
    get_bundles, get_policies, DeleteBundle, DeletePolicy, PreviewPolicy, SaveBundle, SavePolicy,
};
use crate::components::error_view::{ErrorView, FormError, Loading};
use crate::components::page::{Audience, Page};
use crate::error::AppError;
use crate::format::describe_duration;
use crate::model::{PolicyTarget, PolicyView};

/// `/admin/policies`
#[component]
pub fn PoliciesPage() -> impl IntoView {
    // Outside the gate, as on every page (see `Gate`).
    let save = ServerAction::<SavePolicy>::new();
    let delete = ServerAction::<DeletePolicy>::new();
    let list = Resource::new(
        move || (save.version().get(), delete.version().get()),
        |_| get_policies(),
    );
    let preview = ServerAction::<PreviewPolicy>::new();
    view! {
        <Page title="Policies" audience=Audience::Admins>
            <Policies save delete list />
            <Bundles />
            <Preview preview />
        </Page>
    }
}

/// Bundles: named sets of groups, requested and decided at once under their own policy.
#[component]
fn Bundles() -> impl IntoView {
    let save = ServerAction::<SaveBundle>::new();
    let delete = ServerAction::<DeleteBundle>::new();
    let list = Resource::new(
        move || (save.version().get(), delete.version().get()),
        |_| get_bundles(),
    );
    let outcome = move || {
        save.value().get().map(|r| match r {
            Ok(b) => view! {
                <p class="form-ok" role="status" data-testid="bundle-saved">
                    {format!("Saved the bundle {}. Give it a policy above: Applies to bundle:{}.", b.name, b.name)}
                </p>
            }.into_any(),
            Err(error) => view! { <FormError error testid="bundle-error" /> }.into_any(),
        })
    };
    view! {
        <section class="panel" aria-labelledby="bundles-heading">
            <h2 id="bundles-heading">"Bundles"</h2>
            <p class="muted">
                "A bundle is a set of groups people ask for once: one decision grants every group, "
                "and giving it back removes them all. Its own policy (above, Applies to "
                <code>"bundle:<name>"</code> ") says who may ask, who approves and for how long."
            </p>
            <Suspense fallback=|| view! { <Loading what="bundles" /> }>
                {move || list.get().map(|r| match r {
                    Ok(items) if items.is_empty() => view! { <p class="muted">"No bundle yet."</p> }.into_any(),
                    Ok(items) => view! {
                        <ul class="plain" data-testid="bundle-list">
                            {items.into_iter().map(|b| {
                                let label = format!("Delete the bundle {}", b.name);
                                view! {
                                    <li data-bundle=b.name.clone()>
                                        <strong>{b.name.clone()}</strong>
                                        {format!(" — {} ({})", b.group_names.join(", "), if b.description.is_empty() { "no description".to_owned() } else { b.description.clone() })}
                                        <ActionForm action=delete attr:class="inline">
                                            <input type="hidden" name="id" value=b.id />
                                            <button type="submit" class="button small secondary" aria-label=label>"Delete"</button>
                                        </ActionForm>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(error) => view! { <ErrorView error /> }.into_any(),
                })}
            </Suspense>
            <ActionForm action=save attr:class="form">
                <label for="bundle-name">"Name"</label>
                <input id="bundle-name" name="name" required placeholder="incident-responder" />
                <label for="bundle-description">"Description"</label>
                <input id="bundle-description" name="description" />
                <label for="bundle-groups">"Groups (names, comma-separated)"</label>
                <input id="bundle-groups" name="groups" required placeholder="aws-prod-readonly, prod-db-readonly, k8s-prod-deployers" />
                <div class="form-actions">
                    <button type="submit" class="button secondary" disabled=move || save.pending().get()>"Save bundle"</button>
                </div>
                {outcome}
            </ActionForm>
        </section>
    }
}

/// Which policy applies to a person asking for a group, whether they may, who would approve,
/// and why: the evaluation a request meets.
#[component]
fn Preview(preview: ServerAction<PreviewPolicy>) -> impl IntoView {
    let result = move || {
        preview.value().get().map(|r| match r {
            Ok(p) => view! {
                <div data-testid="preview">
                    <p class=if p.may_request { "form-ok" } else { "form-error" } role="status">
                        {format!("{} {} request {}{}.", p.person, if p.may_request { "may" } else { "may not" }, p.group,
                            p.policy.as_ref().map(|l| format!(" under {l}")).unwrap_or_default())}
                    </p>
                    <table class="table">
                        <thead><tr><th scope="col">"Rule"</th><th scope="col">"Outcome"</th><th scope="col">"Why"</th></tr></thead>
                        <tbody>
                            {p.checks.into_iter().map(|c| view! {
                                <tr data-rule=c.rule.clone()>
                                    <td>{c.rule.clone()}</td>
                                    <td>{if c.passed { "passes" } else { "refuses" }}</td>
                                    <td>{c.detail}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    {p.policy_id.is_some().then(|| view! {
                        <p>{if p.auto_approve {
                            "Approved automatically.".to_owned()
                        } else if p.approvers.is_empty() {
                            "Nobody could approve it now: check the approvers.".to_owned()
                        } else {
                            format!("{} approval(s) needed from:", p.quorum)
                        }}</p>
                    })}
                    <ul class="plain" data-testid="preview-approvers">
                        {p.approvers.into_iter().map(|a| view! {
                            <li>{format!("{} ({}) — {}", a.name, a.login, a.via)}</li>
                        }).collect_view()}
                    </ul>
                    {(!p.rules.is_empty()).then(|| view! { <p class="meta">{p.rules.join("; ")}</p> })}
                </div>
            }.into_any(),
            Err(error) => view! { <FormError error testid="preview-error" /> }.into_any(),
        })
    };
    view! {
        <section class="panel" aria-labelledby="preview-heading">
            <h2 id="preview-heading">"Preview"</h2>
            <p class="muted">"What the policies say about one person asking for one group now: the same checks a request meets."</p>
            <ActionForm action=preview attr:class="form">
                <label for="preview-person">"Person (login)"</label>
                <input id="preview-person" name="person" required placeholder="ada@example.com" />
                <label for="preview-group">"Group (name or Okta id) or app:<Okta app label>"</label>
                <input id="preview-group" name="group" required placeholder="aws-prod-admin" />
                <div class="form-actions">
                    <button type="submit" class="button secondary" disabled=move || preview.pending().get()>
                        {move || if preview.pending().get() { "Checking…" } else { "Preview" }}
                    </button>
                </div>
            </ActionForm>
            {result}
        </section>
    }
}

#[component]
fn Policies(
    save: ServerAction<SavePolicy>,
    delete: ServerAction<DeletePolicy>,
    list: Resource<Result<Vec<crate::model::PolicyView>, AppError>>,
) -> impl IntoView {
    let outcome = move || {
        save.value().get().map(|r| match r {
            Ok(_) => {
                view! { <p class="form-ok" role="status" data-testid="policy-saved">"Saved."</p> }
                    .into_any()
            }
            Err(error) => view! { <FormError error testid="policy-error" /> }.into_any(),
        })
    };
    view! {
        <p class="lead">
            "A policy applies to one group or to a name pattern such as " <code>"aws-*"</code>
            "; a group's own policy wins over patterns, and the longest pattern over shorter ones. "
            "Only Okta groups not filled by a group rule can be requestable. Requests keep the "
            "policy they were made under."
        </p>
        {move || delete.value().get().map(|r| match r {
            Ok(p) => view! { <p class="form-ok" role="status" data-testid="policy-deleted">{format!("Deleted the policy for {}.", match p.target { PolicyTarget::Group(_) => "the group".to_owned(), PolicyTarget::Pattern(pat) => pat, PolicyTarget::Bundle(_) => "the bundle".to_owned(), PolicyTarget::App(_) => "the app".to_owned() })}</p> }.into_any(),
            Err(error) => view! { <ErrorView error /> }.into_any(),
        })}
        <Suspense fallback=|| view! { <Loading what="policies" /> }>
            {move || list.get().map(|r| match r {
                Ok(items) if items.is_empty() => view! { <p class="muted">"No policy yet: nothing can be requested."</p> }.into_any(),
                Ok(items) => view! { <Table items delete /> }.into_any(),
                Err(error) => view! { <ErrorView error /> }.into_any(),
            })}
        </Suspense>
        <section class="panel" aria-labelledby="policy-form-heading">
            <h2 id="policy-form-heading">"Add or replace a policy"</h2>
            <ActionForm action=save attr:class="form">
                <label for="applies_to">"Applies to (group name, pattern with *, bundle:<name> or app:<Okta app label>)"</label>
                <input id="applies_to" name="applies_to" required placeholder="aws-prod-admin, aws-* or app:Datadog" />
                <label><input type="checkbox" name="requestable" value="on" checked /> " Requestable"</label>
                <label for="eligible_groups">"Who may request (group names, comma-separated; empty: everyone)"</label>
                <input id="eligible_groups" name="eligible_groups" />
                <label for="approver_users">"Approvers: people (logins, comma-separated)"</label>
                <input id="approver_users" name="approver_users" />
                <label for="approver_groups">"Approvers: members of groups (names, comma-separated)"</label>
                <input id="approver_groups" name="approver_groups" />
                <label for="quorum">"Approvals needed"</label>
                <input id="quorum" name="quorum" value="1" inputmode="numeric" />
                <label for="default_duration">"Default duration"</label>
                <input id="default_duration" name="default_duration" value="4h" />
                <label for="max_duration">"Maximum duration"</label>
                <input id="max_duration" name="max_duration" value="1d" />
                <label><input type="checkbox" name="require_reason" value="on" checked /> " Reason required"</label>
                <label><input type="checkbox" name="allow_self_approval" value="on" /> " Approvers may approve their own requests"</label>
                <label><input type="checkbox" name="auto_approve" value="on" /> " Approve automatically (low-risk groups)"</label>
                <label><input type="checkbox" name="approve_in_gatepass_only" value="on" /> " Approve in Gatepass only (no Approve/Deny buttons in Slack)"</label>
                <label><input type="checkbox" name="keep_needs_comment" value="on" /> " Access reviews: keeping a member needs a comment"</label>
                <label for="ticket_pattern">r"Ticket required, matching (a regular expression for the whole reference, e.g. (OPS|SEC)-\d+; empty: optional)"</label>
                <input id="ticket_pattern" name="ticket_pattern" placeholder=r"(OPS|SEC)-\d+" />
                <label for="ticket_url">"Ticket link (https://…{ticket}…; empty: no link)"</label>
                <input id="ticket_url" name="ticket_url" placeholder="https://tickets.example.com/browse/{ticket}" />
                <label for="slack_channel">"Slack channel for new requests (its id, C…; empty: the default channel)"</label>
                <input id="slack_channel" name="slack_channel" placeholder="C0123456789" />
                <fieldset class="fieldset">
                    <legend>"Limits"</legend>
                    <label for="max_live_grants">"Live grants per person (and pending requests; empty: no limit)"</label>
                    <input id="max_live_grants" name="max_live_grants" inputmode="numeric" placeholder="2" />
                    <label for="request_window">"Request window: when access may start (days, hours, time zone; empty: any time)"</label>
                    <input id="request_window" name="request_window" placeholder="Mon-Fri 09:00-18:00 Europe/Berlin" />
                </fieldset>
                <fieldset class="fieldset">
                    <legend>"Break-glass (emergency access without approval)"</legend>
                    <label for="break_glass_max">"Emergency maximum (at most 1 day; empty: no break-glass)"</label>
                    <input id="break_glass_max" name="break_glass_max" placeholder="1h" />
                    <label for="break_glass_per_day">"Emergency activations a person may make in 24 hours"</label>
                    <input id="break_glass_per_day" name="break_glass_per_day" inputmode="numeric" placeholder="1" />
                </fieldset>
                <fieldset class="fieldset">
                    <legend>"Escalation"</legend>
                    <label for="escalate_after">"Escalate a request undecided after (empty: never)"</label>
                    <input id="escalate_after" name="escalate_after" placeholder="30m" />
                    <label for="escalation_approvers">"Escalation approvers: people (logins, comma-separated)"</label>
                    <input id="escalation_approvers" name="escalation_approvers" />
                    <label for="escalation_approver_groups">"Escalation approvers: members of groups (names, comma-separated)"</label>
                    <input id="escalation_approver_groups" name="escalation_approver_groups" />
                    <label for="escalate_to_admins_after">"Then to the admins after a further (empty: not to admins)"</label>
                    <input id="escalate_to_admins_after" name="escalate_to_admins_after" placeholder="2h" />
                </fieldset>
                <fieldset class="fieldset">
                    <legend>"On call"</legend>
                    <label for="on_call_schedule">"Approve at once whoever is on call for this PagerDuty schedule (its id, P…; empty: no)"</label>
                    <input id="on_call_schedule" name="on_call_schedule" placeholder="PDEMO01" />
                </fieldset>
                <div class="form-actions">
                    <button type="submit" class="button" disabled=move || save.pending().get()>"Save policy"</button>
                </div>
                {outcome}
            </ActionForm>
        </section>
    }
}

#[component]
fn Table(items: Vec<PolicyView>, delete: ServerAction<DeletePolicy>) -> impl IntoView {
    view! {
        <table class="table" data-testid="policies">
            <thead><tr>
                <th scope="col">"Applies to"</th><th scope="col">"Requestable"</th><th scope="col">"Who may request"</th>
                <th scope="col">"Approvers"</th><th scope="col">"Duration"</th><th scope="col">"Rules"</th><th scope="col">"Delete"</th>
            </tr></thead>
            <tbody>
                {items.into_iter().map(|v| {
                    let p = &v.policy;
                    let (policy_id, delete_label) = (p.id, format!("Delete the policy for {}", v.applies_to));
                    let kind = match p.target { PolicyTarget::Group(_) => "group", PolicyTarget::Pattern(_) => "pattern", PolicyTarget::Bundle(_) => "bundle", PolicyTarget::App(_) => "app" };
                    let rules = [
                        (p.quorum > 1).then(|| format!("{} approvals", p.quorum)),
                        p.require_reason.then(|| "reason required".to_owned()),
                        p.allow_self_approval.then(|| "self-approval".to_owned()),
                        p.auto_approve.then(|| "auto-approve".to_owned()),
                        p.approve_in_gatepass_only.then(|| "approve in Gatepass only".to_owned()),
                        p.keep_needs_comment.then(|| "keeping in a review needs a comment".to_owned()),
                        p.ticket_pattern.as_ref().map(|t| format!("ticket matching {t}")),
                        p.slack_channel.as_ref().map(|c| format!("Slack: {c}")),
                        p.rules.max_live_grants.map(|n| format!("at most {n} live per person")),
                        p.rules.request_window.as_ref().map(|w| format!("starts {w}")),
                        p.rules.break_glass.as_ref().map(|b| format!("break-glass up to {} ({}× a day)", describe_duration(b.max_secs), b.per_day)),
                        p.rules.on_call_schedule.as_ref().map(|s| format!("on call for {s}: approved at once")),
                        p.rules.escalation.as_ref().map(|e| format!("escalates after {}{}", describe_duration(e.after_secs), e.admins_after_secs.map(|a| format!(", to admins after {}", describe_duration(a))).unwrap_or_default())),
                    ].into_iter().flatten().collect::<Vec<_>>().join(", ");
                    view! {
                        <tr>
                            <td>{v.applies_to.clone()} <span class="muted">{format!(" ({kind})")}</span></td>
                            <td>{if p.requestable { "yes" } else { "no" }}</td>
                            <td>{if v.eligible.is_empty() { "everyone".to_owned() } else { v.eligible.join(", ") }}</td>
                            <td>{v.approvers.join(", ")}</td>
                            <td>{format!("{} (up to {})", describe_duration(p.default_duration_secs), describe_duration(p.max_duration_secs))}</td>
                            <td>{rules}</td>
                            <td>
                                <ActionForm action=delete attr:class="inline-form">
                                    <input type="hidden" name="id" value=policy_id />
                                    <button type="submit" class="button small secondary" aria-label=delete_label>"Delete"</button>
                                </ActionForm>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
