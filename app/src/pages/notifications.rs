//! `/admin/notifications`: webhook endpoints (add, send a test event, delete), a new webhook
//! secret to keep in a secret store, email, the Slack app (connect, default channel, test), and
//! the delivery log with *Retry* for failed deliveries.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::notifications::{
    get_deliveries, get_notifications, get_slack_settings, AddWebhook, DeleteWebhook,
    NewWebhookSecret, RetryDelivery, SaveSlack, SaveSwitches, TestEmail, TestSlack, TestWebhook,
};
use crate::components::error_view::{ErrorView, Loading};
use crate::components::page::{Audience, Page};
use crate::error::AppError;
use crate::format::utc_datetime;
use crate::model::{Delivery, DeliveryPage, NotificationsOverview, SlackSettings, WebhookEndpoint};
use crate::url::encode_query_value;

/// The server actions of the page.
#[derive(Clone, Copy)]
struct Actions {
    add: ServerAction<AddWebhook>,
    delete: ServerAction<DeleteWebhook>,
    test: ServerAction<TestWebhook>,
    secret: ServerAction<NewWebhookSecret>,
    retry: ServerAction<RetryDelivery>,
    email: ServerAction<TestEmail>,
    switches: ServerAction<SaveSwitches>,
}

/// `/admin/notifications`
#[component]
pub fn NotificationsPage() -> impl IntoView {
    // Outside the gate, as on every page (see `Gate`).
    let query = use_query_map();
    let state = move || query.read().get("state").unwrap_or_default();
    let before = move || {
        query
            .read()
            .get("before")
            .and_then(|b| b.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let actions = Actions {
        add: ServerAction::new(),
        delete: ServerAction::new(),
        test: ServerAction::new(),
        secret: ServerAction::new(),
        retry: ServerAction::new(),
        email: ServerAction::new(),
        switches: ServerAction::new(),
    };
    let overview = Resource::new(
        move || {
            (
                actions.add.version().get(),
                actions.delete.version().get(),
                actions.retry.version().get(),
                actions.switches.version().get(),
            )
        },
        |_| get_notifications(),
    );
    let deliveries = Resource::new(
        move || {
            (
                state(),
                before(),
                actions.retry.version().get(),
                actions.delete.version().get(),
            )
        },
        |(state, before, _, _)| get_deliveries(state, before),
    );
    view! {
        <Page title="Notifications" audience=Audience::Admins>
            <Notifications actions overview deliveries />
        </Page>
    }
}

#[component]
fn Notifications(
    actions: Actions,
    overview: Resource<Result<NotificationsOverview, AppError>>,
    deliveries: Resource<Result<DeliveryPage, AppError>>,
) -> impl IntoView {
    view! {
        <p class="lead">
            "Gatepass posts the events you choose to your webhook endpoints as they happen, signed by the "
            <a href="https://www.standardwebhooks.com/">"Standard Webhooks"</a>
            " scheme, and retries until they are delivered. The delivery log shows every try."
        </p>
        <section aria-labelledby="endpoints-heading">
            <h2 id="endpoints-heading">"Webhook endpoints"</h2>
            <Outcome action=actions.test ok=|m: String| m testid="webhook-tested" />
            <Outcome action=actions.delete ok=|_| "Deleted the endpoint.".to_owned() testid="webhook-deleted" />
            <Suspense fallback=|| view! { <Loading what="webhook endpoints" /> }>
                {move || overview.get().map(|r| match r {
                    Ok(o) if o.endpoints.is_empty() => view! {
                        <p class="muted" data-testid="webhooks-empty">"No endpoint yet: no other system hears of Gatepass's events."</p>
                    }.into_any(),
                    Ok(o) => view! { <Endpoints endpoints=o.endpoints actions /> }.into_any(),
                    Err(error) => view! { <ErrorView error /> }.into_any(),
                })}
            </Suspense>
        </section>
        <AddForm actions overview />
        <section aria-labelledby="email-heading">
            <h2 id="email-heading">"Email"</h2>
            <Suspense fallback=|| view! { <Loading what="email settings" /> }>
                {move || overview.get().map(|r| match r {
                    Ok(o) => match o.email {
                        Some(how) => view! {
                            <p data-testid="email-settings">
                                "People get email about their requests and grants, and approvers about requests to decide, through "
                                <code>{how}</code> ". "
                            </p>
                            <ActionForm action=actions.email attr:class="inline-form">
                                <button type="submit" class="button small" disabled=move || actions.email.pending().get()>"Send me a test email"</button>
                            </ActionForm>
                            <Outcome action=actions.email ok=|m: String| m testid="email-tested" />
                        }.into_any(),
                        None => view! {
                            <p class="muted" data-testid="email-off">
                                "Email is off: the server's configuration names no SMTP server ("
                                <code>"[notifications.email]"</code> "; see the README)."
                            </p>
                        }.into_any(),
                    },
                    Err(error) => view! { <ErrorView error /> }.into_any(),
                })}
            </Suspense>
        </section>
        <Slack />
        <section aria-labelledby="switches-heading">
            <h2 id="switches-heading">"What goes where"</h2>
            <p>"Which kinds of notice Gatepass sends people by email and in Slack at all; each person can turn off more on their own Settings › Notifications. Alerts to admins always go."</p>
            <Suspense fallback=|| view! { <Loading what="notice settings" /> }>
                {move || overview.get().map(|r| match r {
                    Ok(o) => view! { <Switches kinds=o.switches save=actions.switches /> }.into_any(),
                    Err(error) => view! { <ErrorView error /> }.into_any(),
                })}
            </Suspense>
        </section>
        <section aria-labelledby="deliveries-heading">
            <h2 id="deliveries-heading">"Delivery log"</h2>
            <Outcome action=actions.retry ok=|_| "Queued again: it is delivered within seconds.".to_owned() testid="delivery-retried" />
            <Deliveries deliveries actions />
        </section>
    }
}

/// Which kinds go out by email and in Slack: a table of checkboxes.
#[component]
fn Switches(
    kinds: Vec<crate::model::EmailKind>,
    save: ServerAction<SaveSwitches>,
) -> impl IntoView {
    view! {
        <ActionForm action=save attr:class="form">
            <table class="table" data-testid="switches">
                <thead><tr><th scope="col">"Notice"</th><th scope="col">"Email"</th><th scope="col">"Slack"</th></tr></thead>
                <tbody>{kinds.into_iter().map(|k| {
                    let (email_label, slack_label) = (format!("{} by email", k.label), format!("{} in Slack", k.label));
                    view! {
                        <tr>
                            <td><strong>{k.label.clone()}</strong> <span class="muted">{format!(" — {}", k.description)}</span></td>
                            <td><input type="checkbox" name=k.kind.clone() value="on" checked=k.on aria-label=email_label /></td>
                            <td><input type="checkbox" name=format!("slack_{}", k.kind) value="on" checked=k.slack aria-label=slack_label /></td>
                        </tr>
                    }
                }).collect_view()}</tbody>
            </table>
            <div class="form-actions">
                <button type="submit" class="button" disabled=move || save.pending().get()>"Save"</button>
            </div>
            <Outcome action=save ok=|_| "Saved: applies to events from now on.".to_owned() testid="switches-saved" />
        </ActionForm>
    }
}

/// Slack: connect the app (secret references), a default channel, a test message.
#[component]
fn Slack() -> impl IntoView {
    let save = ServerAction::<SaveSlack>::new();
    let test = ServerAction::<TestSlack>::new();
    let settings = Resource::new(move || save.version().get(), |_| get_slack_settings());
    view! {
        <section aria-labelledby="slack-heading">
            <h2 id="slack-heading">"Slack"</h2>
            <p>
                "With Slack connected, approvers get each request as a direct message with "
                <strong>"Approve"</strong> " and " <strong>"Deny"</strong>
                " buttons, people get their notices there too, and new requests can be posted to a channel. "
                "Gatepass finds people in Slack by their Okta email. See the README for creating the Slack app."
            </p>
            <Suspense fallback=|| view! { <Loading what="Slack settings" /> }>
                {move || settings.get().map(|r| match r {
                    Ok(s) => view! { <SlackForm s save test /> }.into_any(),
                    Err(error) => view! { <ErrorView error /> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn SlackForm(
    s: SlackSettings,
    save: ServerAction<SaveSlack>,
    test: ServerAction<TestSlack>,
) -> impl IntoView {
    let status = match (&s.configured, s.enabled, s.updated_at) {
        (false, _, _) => "Not connected.".to_owned(),
        (true, on, at) => format!(
            "{} — saved {} by {}.",
            if on { "Connected" } else { "Turned off" },
            at.map(utc_datetime).unwrap_or_default(),
            s.updated_by
        ),
    };
    view! {
        <p data-testid="slack-status">{status}</p>
        <p>"Interactivity Request URL for the Slack app: " <code data-testid="slack-interactivity-url">{s.interactivity_url.clone()}</code></p>
        <ActionForm action=save attr:class="form">
            <label for="bot_token_ref">"Bot token (a secret reference to the xoxb-… token)"</label>
            <input id="bot_token_ref" name="bot_token_ref" required value=s.bot_token_ref.clone()
                placeholder="aws-secretsmanager:gatepass/slack-bot-token" autocomplete="off" />
            <label for="signing_secret_ref">"Signing secret (a secret reference)"</label>
            <input id="signing_secret_ref" name="signing_secret_ref" required value=s.signing_secret_ref.clone()
                placeholder="aws-secretsmanager:gatepass/slack-signing-secret" autocomplete="off" />
            <label for="default_channel">"Default channel for new requests (its id, C…; empty: none)"</label>
            <input id="default_channel" name="default_channel" value=s.default_channel.clone() placeholder="C0123456789" />
            <label class="check"><input type="checkbox" name="enabled" value="on" checked=s.enabled || !s.configured /> " Post to Slack"</label>
            <div class="form-actions">
                <button type="submit" class="button" disabled=move || save.pending().get()>"Save and check"</button>
            </div>
            <Outcome action=save ok=|m: String| m testid="slack-saved" />
        </ActionForm>
        {s.configured.then(|| view! {
            <ActionForm action=test attr:class="inline-form">
                <button type="submit" class="button small" disabled=move || test.pending().get()>"Send me a test message in Slack"</button>
            </ActionForm>
            <Outcome action=test ok=|m: String| m testid="slack-tested" />
        })}
    }
}

/// What an action did: `ok`'s message, or the error (a field's next to its name).
#[component]
fn Outcome<A, T>(
    action: ServerAction<A>,
    ok: fn(T) -> String,
    testid: &'static str,
) -> impl IntoView
where
    A: leptos::server_fn::ServerFn<Output = T, Error = AppError> + Clone + Send + Sync + 'static,
    T: Clone + Send + Sync + 'static,
{
    move || {
        action.value().get().map(|r| match r {
            Ok(v) => view! { <p class="form-ok" role="status" data-testid=testid>{ok(v)}</p> }.into_any(),
            Err(AppError::Invalid { field, message }) => view! {
                <p class="form-error" role="alert"><strong>{field}</strong> ": " {message}</p>
            }
            .into_any(),
            Err(AppError::Conflict(message)) => view! {
                <p class="form-error" role="alert" data-testid=format!("{testid}-refused")>{message}</p>
            }
            .into_any(),
            Err(error) => view! { <ErrorView error /> }.into_any(),
        })
    }
}

#[component]
fn Endpoints(endpoints: Vec<WebhookEndpoint>, actions: Actions) -> impl IntoView {
    view! {
        <table class="table" data-testid="webhooks">
            <thead><tr>
                <th scope="col">"Name"</th><th scope="col">"URL"</th><th scope="col">"Events"</th>
                <th scope="col">"Secret"</th><th scope="col">"Added"</th><th scope="col">"Act"</th>
            </tr></thead>
            <tbody>{endpoints.into_iter().map(|e| {
                let events = if e.events.iter().any(|x| x == "*") { "every event".to_owned() } else { e.events.join(", ") };
                let (test_label, delete_label) = (format!("Send a test event to {}", e.name), format!("Delete {}", e.name));
                view! {
                    <tr data-name=e.name.clone()>
                        <td>{e.name.clone()}</td>
                        <td><code>{e.url.clone()}</code></td>
                        <td>{events}</td>
                        <td><code>{e.secret_ref.clone()}</code></td>
                        <td>{format!("{} by {}", utc_datetime(e.created_at), e.created_by)}</td>
                        <td>
                            <ActionForm action=actions.test attr:class="inline-form">
                                <input type="hidden" name="id" value=e.id />
                                <button type="submit" class="button small" aria-label=test_label
                                    disabled=move || actions.test.pending().get()>"Send test event"</button>
                            </ActionForm>
                            <ActionForm action=actions.delete attr:class="inline-form">
                                <input type="hidden" name="id" value=e.id />
                                <button type="submit" class="button small secondary" aria-label=delete_label>"Delete"</button>
                            </ActionForm>
                        </td>
                    </tr>
                }
            }).collect_view()}</tbody>
        </table>
    }
}

#[component]
fn AddForm(
    actions: Actions,
    overview: Resource<Result<NotificationsOverview, AppError>>,
) -> impl IntoView {
    let events = move || {
        overview
            .get()
            .and_then(Result::ok)
            .map(|o| o.events.join(", "))
            .unwrap_or_default()
    };
    view! {
        <section class="panel" aria-labelledby="webhook-form-heading">
            <h2 id="webhook-form-heading">"Add an endpoint"</h2>
            <ActionForm action=actions.add attr:class="form">
                <label for="webhook-name">"Name"</label>
                <input id="webhook-name" name="name" required maxlength="100" placeholder="SIEM" />
                <label for="webhook-url">"URL (https://; http:// only to this machine)"</label>
                <input id="webhook-url" name="url" required type="url" placeholder="https://hooks.example.com/gatepass" />
                <label for="webhook-secret">"Secret reference (a whsec_… secret)"</label>
                <input id="webhook-secret" name="secret_ref" required placeholder="aws-secretsmanager:gatepass/webhook-siem" />
                <label for="webhook-events">"Events (comma-separated names, or * for every event)"</label>
                <input id="webhook-events" name="events" value="*" />
                <details>
                    <summary>"Event names"</summary>
                    <p class="muted">{events}</p>
                </details>
                <div class="form-actions">
                    <button type="submit" class="button" disabled=move || actions.add.pending().get()>"Add endpoint"</button>
                </div>
                <Outcome action=actions.add ok=|e: WebhookEndpoint| format!("Added {}.", e.name) testid="webhook-added" />
            </ActionForm>
            <p class="muted">
                "The secret is read from your secret store when Gatepass signs, and never kept or shown by Gatepass. "
                "Need one? Gatepass can make a random secret for you to store:"
            </p>
            <ActionForm action=actions.secret attr:class="inline-form">
                <button type="submit" class="button small secondary">"Make a new secret"</button>
            </ActionForm>
            {move || actions.secret.value().get().map(|r| match r {
                Ok(secret) => view! {
                    <p class="form-ok" role="status">
                        "Store this in your secret store now; it is not shown again: "
                        <code data-testid="new-webhook-secret">{secret}</code>
                    </p>
                }.into_any(),
                Err(error) => view! { <ErrorView error /> }.into_any(),
            })}
        </section>
    }
}

#[component]
fn Deliveries(
    deliveries: Resource<Result<DeliveryPage, AppError>>,
    actions: Actions,
) -> impl IntoView {
    let query = use_query_map();
    let state = move || query.read().get("state").unwrap_or_default();
    let tab = move |s: &'static str, label: &'static str| {
        let href = if s.is_empty() {
            "/admin/notifications".to_owned()
        } else {
            format!("/admin/notifications?state={s}")
        };
        view! { <a href=href class="tab" aria-current=move || (state() == s).then_some("page")>{label}</a> }
    };
    view! {
        <nav class="tabs" aria-label="Deliveries by state">
            {tab("", "All")} {tab("failed", "Failed")} {tab("pending", "Pending")} {tab("delivered", "Delivered")} {tab("skipped", "Skipped")}
        </nav>
        <Suspense fallback=|| view! { <Loading what="deliveries" /> }>
            {move || deliveries.get().map(|r| match r {
                Ok(p) if p.deliveries.is_empty() => view! {
                    <p class="muted" data-testid="deliveries-empty">"No delivery here."</p>
                }.into_any(),
                Ok(p) => {
                    let older = p.next_before.map(|b| {
                        let s = state();
                        if s.is_empty() { format!("/admin/notifications?before={b}") } else { format!("/admin/notifications?state={}&before={b}", encode_query_value(&s)) }
                    });
                    view! {
                        <DeliveryTable items=p.deliveries actions />
                        {older.map(|href| view! { <p><a class="button secondary" href=href>"Older deliveries"</a></p> })}
                    }.into_any()
                }
                Err(error) => view! { <ErrorView error /> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn DeliveryTable(items: Vec<Delivery>, actions: Actions) -> impl IntoView {
    view! {
        <table class="table" data-testid="deliveries">
            <thead><tr>
                <th scope="col">"#"</th><th scope="col">"Event"</th><th scope="col">"To"</th>
                <th scope="col">"State"</th><th scope="col">"Tries"</th><th scope="col">"Last error"</th>
                <th scope="col">"When"</th><th scope="col">"Act"</th>
            </tr></thead>
            <tbody>{items.into_iter().map(|d| {
                let when = match (d.state.as_str(), d.delivered_at) {
                    ("delivered", Some(at)) => format!("delivered {}", utc_datetime(at)),
                    ("pending", _) => format!("queued {}; next try {}", utc_datetime(d.created_at), utc_datetime(d.next_attempt_at)),
                    _ => format!("queued {}", utc_datetime(d.created_at)),
                };
                let failed = d.state == "failed";
                view! {
                    <tr data-state=d.state.clone() data-event=d.event.clone()>
                        <td>{d.id}</td>
                        <td><a href=format!("/admin/audit?subject=&action={}", encode_query_value(&d.event))>{d.event.clone()}</a>
                            <span class="muted">{format!(" (event {})", d.event_seq)}</span></td>
                        <td>{format!("{}: {}", d.channel, d.recipient)}</td>
                        <td>{d.state.replace('_', " ")}</td>
                        <td>{d.attempts}</td>
                        <td>{d.last_error.clone().unwrap_or_default()}</td>
                        <td>{when}</td>
                        <td>{failed.then(|| view! {
                            <ActionForm action=actions.retry attr:class="inline-form">
                                <input type="hidden" name="id" value=d.id />
                                <button type="submit" class="button small">"Retry"</button>
                            </ActionForm>
                        })}</td>
                    </tr>
                }
            }).collect_view()}</tbody>
        </table>
    }
}
