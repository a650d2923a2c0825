//! Server functions of Admin › Notifications (webhook endpoints, the delivery log, email, Slack;
//! admins only) and of Settings › Notifications (which email and Slack messages one gets;
//! everyone).

// The settings form posts one field per checkbox.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{
    DeliveryPage, MyNotifications, NotificationsOverview, SlackSettings, WebhookEndpoint,
};

/// The webhook endpoints and the events they may receive.
#[server(endpoint = "notifications", prefix = "/api")]
pub async fn get_notifications() -> Result<NotificationsOverview, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|admin: Admin, state| async move { state.notifications().overview(&admin).await })
        .await
}

/// Adds a webhook endpoint; `events` is a comma-separated list of event names, or `*`.
#[server(endpoint = "notifications/webhooks/add", prefix = "/api")]
pub async fn add_webhook(
    name: String,
    url: String,
    secret_ref: String,
    events: String,
) -> Result<WebhookEndpoint, AppError> {
    use crate::ssr::auth::Admin;
    use crate::ssr::services::notifications::WebhookInput;
    super::serve(|admin: Admin, state| async move {
        let input = WebhookInput {
            name: super::bounded("Name", &name)?.to_owned(),
            url: url.clone(),
            secret_ref: super::bounded("Secret reference", &secret_ref)?.to_owned(),
            events: events.split([',', ' ', '\n']).map(str::to_owned).collect(),
        };
        state.notifications().add_webhook(&admin, input).await
    })
    .await
}

/// Deletes a webhook endpoint.
#[server(endpoint = "notifications/webhooks/delete", prefix = "/api")]
pub async fn delete_webhook(id: i64) -> Result<(), AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|admin: Admin, state| async move {
        state.notifications().delete_webhook(&admin, id).await
    })
    .await
}

/// Sends a test event to a webhook endpoint now; says what happened.
#[server(endpoint = "notifications/webhooks/test", prefix = "/api")]
pub async fn test_webhook(id: i64) -> Result<String, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|admin: Admin, state| async move {
        state.notifications().test_webhook(&admin, id).await
    })
    .await
}

/// A new webhook secret to keep in a secret store (Gatepass does not keep it).
#[server(endpoint = "notifications/webhooks/secret", prefix = "/api")]
pub async fn new_webhook_secret() -> Result<String, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|_admin: Admin, _state| async move {
        Ok(crate::ssr::services::notifications::new_secret())
    })
    .await
}

/// A page of the delivery log (`state` empty: all), below delivery `before` (0: newest).
#[server(endpoint = "notifications/deliveries", prefix = "/api")]
pub async fn get_deliveries(state: String, before: i64) -> Result<DeliveryPage, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|admin: Admin, app| async move {
        app.notifications().deliveries(&admin, &state, before).await
    })
    .await
}

/// Queues a failed delivery again.
#[server(endpoint = "notifications/deliveries/retry", prefix = "/api")]
pub async fn retry_delivery(id: i64) -> Result<(), AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|admin: Admin, state| async move { state.notifications().retry(&admin, id).await })
        .await
}

/// Sends a test email to the calling admin; says what the SMTP server answered.
#[server(endpoint = "notifications/email/test", prefix = "/api")]
pub async fn test_email() -> Result<String, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(
        |admin: Admin, state| async move { state.notifications().test_email(&admin).await },
    )
    .await
}

/// Sets which kinds of notice go out by email and in Slack at all: one checkbox per kind and
/// channel (present: on).
#[server(endpoint = "notifications/switches/save", prefix = "/api")]
pub async fn save_switches(
    #[server(default)] to_decide: Option<String>,
    #[server(default)] decisions: Option<String>,
    #[server(default)] access: Option<String>,
    #[server(default)] reminders: Option<String>,
    #[server(default)] slack_to_decide: Option<String>,
    #[server(default)] slack_decisions: Option<String>,
    #[server(default)] slack_access: Option<String>,
    #[server(default)] slack_reminders: Option<String>,
) -> Result<NotificationsOverview, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|admin: Admin, state| async move {
        let email = checked([to_decide, decisions, access, reminders]);
        let slack = checked([
            slack_to_decide,
            slack_decisions,
            slack_access,
            slack_reminders,
        ]);
        state
            .notifications()
            .save_switches(&admin, &email, &slack)
            .await
    })
    .await
}

/// The kinds whose checkbox came with the form (in the order to_decide, decisions, access,
/// reminders).
#[cfg(feature = "ssr")]
fn checked(boxes: [Option<String>; 4]) -> Vec<String> {
    ["to_decide", "decisions", "access", "reminders"]
        .iter()
        .zip(boxes)
        .filter(|(_, v)| v.is_some())
        .map(|(k, _)| (*k).to_owned())
        .collect()
}

/// The Slack app's settings (secret references, never values).
#[server(endpoint = "notifications/slack", prefix = "/api")]
pub async fn get_slack_settings() -> Result<SlackSettings, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|admin: Admin, state| async move { state.slack().settings(&admin).await }).await
}

/// Connects (or turns off) the Slack app; says which workspace and bot the token belongs to.
#[server(endpoint = "notifications/slack/save", prefix = "/api")]
pub async fn save_slack(
    bot_token_ref: String,
    signing_secret_ref: String,
    default_channel: String,
    #[server(default)] enabled: Option<String>,
) -> Result<String, AppError> {
    use crate::ssr::auth::Admin;
    use crate::ssr::services::slack::SlackInput;
    super::serve(|admin: Admin, state| async move {
        let input = SlackInput {
            bot_token_ref: super::bounded("Bot token", &bot_token_ref)?.to_owned(),
            signing_secret_ref: super::bounded("Signing secret", &signing_secret_ref)?.to_owned(),
            default_channel: super::bounded("Default channel", &default_channel)?.to_owned(),
            enabled: enabled.is_some(),
        };
        state.slack().save(&admin, input).await
    })
    .await
}

/// Sends the calling admin a test message in Slack; says exactly what failed, if it did.
#[server(endpoint = "notifications/slack/test", prefix = "/api")]
pub async fn test_slack() -> Result<String, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|admin: Admin, state| async move { state.slack().send_test(&admin).await }).await
}

/// What email the caller gets.
#[server(endpoint = "notifications/mine", prefix = "/api")]
pub async fn get_my_notifications() -> Result<MyNotifications, AppError> {
    use crate::ssr::auth::Requester;
    super::serve(|who: Requester, state| async move { state.notifications().mine(&who).await })
        .await
}

/// Sets what the caller gets: one checkbox per kind and channel (present: on).
#[server(endpoint = "notifications/mine/save", prefix = "/api")]
pub async fn save_my_notifications(
    to_decide: Option<String>,
    decisions: Option<String>,
    access: Option<String>,
    reminders: Option<String>,
    #[server(default)] slack_to_decide: Option<String>,
    #[server(default)] slack_decisions: Option<String>,
    #[server(default)] slack_access: Option<String>,
    #[server(default)] slack_reminders: Option<String>,
) -> Result<MyNotifications, AppError> {
    use crate::ssr::auth::Requester;
    super::serve(|who: Requester, state| async move {
        let email = checked([to_decide, decisions, access, reminders]);
        let slack = checked([
            slack_to_decide,
            slack_decisions,
            slack_access,
            slack_reminders,
        ]);
        state.notifications().save_mine(&who, &email, &slack).await
    })
    .await
}
