//! `/settings/notifications`: which email a person gets from Gatepass — requests to decide,
//! decisions on their requests, their access, reminders before it ends — each on or off.

use leptos::prelude::*;

use crate::api::notifications::{get_my_notifications, SaveMyNotifications};
use crate::components::error_view::{ErrorView, FormError, Loading};
use crate::components::page::{Audience, Page};
use crate::error::AppError;
use crate::model::MyNotifications;

/// `/settings/notifications`
#[component]
pub fn MyNotificationsPage() -> impl IntoView {
    // Outside the gate, as on every page (see `Gate`).
    let save = ServerAction::<SaveMyNotifications>::new();
    let mine = Resource::new(move || save.version().get(), |_| get_my_notifications());
    view! {
        <Page title="Notifications" audience=Audience::Requesters> <Settings save mine /> </Page>
    }
}

#[component]
fn Settings(
    save: ServerAction<SaveMyNotifications>,
    mine: Resource<Result<MyNotifications, AppError>>,
) -> impl IntoView {
    view! {
        <p class="lead">"Gatepass emails you when something needs you or concerns your access. Choose what you get."</p>
        <Suspense fallback=|| view! { <Loading what="your notification settings" /> }>
            {move || mine.get().map(|r| match r {
                Ok(m) => view! { <Form m save /> }.into_any(),
                Err(error) => view! { <ErrorView error /> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn Form(m: MyNotifications, save: ServerAction<SaveMyNotifications>) -> impl IntoView {
    let address = if m.address.is_empty() {
        "the directory has no email address for you".to_owned()
    } else {
        m.address.clone()
    };
    view! {
        {(!m.email_configured).then(|| view! {
            <p class="banner warning" role="status" data-testid="email-off">
                "This Gatepass server sends no email (its configuration names no mail server): these settings apply once it does."
            </p>
        })}
        <p>"Email goes to " <strong data-testid="email-address">{address}</strong> " (from Okta)."</p>
        <ActionForm action=save attr:class="form">
            <fieldset>
                <legend>"Email me about"</legend>
                {m.kinds.iter().cloned().map(|k| {
                    let (id, label_for) = (format!("kind-{}", k.kind), format!("kind-{}", k.kind));
                    view! {
                        <label for=label_for class="check">
                            <input type="checkbox" id=id name=k.kind.clone() value="on" checked=k.on />
                            " " <strong>{k.label}</strong> " — " <span class="muted">{k.description}</span>
                        </label>
                    }
                }).collect_view()}
            </fieldset>
            <fieldset>
                <legend>"Message me in Slack about"</legend>
                {(!m.slack_configured).then(|| view! {
                    <p class="muted" data-testid="slack-off">"Gatepass is not connected to Slack: these settings apply once an administrator connects it."</p>
                })}
                {m.kinds.into_iter().map(|k| {
                    let (id, label_for) = (format!("slack-{}", k.kind), format!("slack-{}", k.kind));
                    view! {
                        <label for=label_for class="check">
                            <input type="checkbox" id=id name=format!("slack_{}", k.kind) value="on" checked=k.slack />
                            " " <strong>{k.label}</strong>
                        </label>
                    }
                }).collect_view()}
            </fieldset>
            <div class="form-actions">
                <button type="submit" class="button" disabled=move || save.pending().get()>"Save"</button>
            </div>
            {move || save.value().get().map(|r| match r {
                Ok(_) => view! { <p class="form-ok" role="status" data-testid="notifications-saved">"Saved."</p> }.into_any(),
                Err(error) => view! { <FormError error /> }.into_any(),
            })}
        </ActionForm>
    }
}
