//! Server functions of the Okta integration pages (admins only).

// The settings form posts one field per argument.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{ConnectionReport, IntegrationSettings, SyncOverview};

/// The saved integration settings, if any.
#[server(endpoint = "okta/settings", prefix = "/api")]
pub async fn get_okta_settings() -> Result<Option<IntegrationSettings>, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|_admin: Admin, state| async move { state.integration().current().await }).await
}

/// The Okta orgs this server's configuration lets the settings page choose.
#[server(endpoint = "okta/allowed", prefix = "/api")]
pub async fn get_allowed_okta_orgs() -> Result<Vec<String>, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|_admin: Admin, state| async move { Ok(state.okta_trust.orgs().collect()) }).await
}

/// Validates and saves the integration settings (audited).
#[server(endpoint = "okta/settings/save", prefix = "/api")]
pub async fn save_okta_settings(
    org_url: String,
    auth_method: String,
    secret_ref: String,
    client_id: String,
    key_id: String,
    sync_incremental_minutes: String,
    sync_full_hours: String,
    group_name_prefix: String,
    group_types: String,
) -> Result<IntegrationSettings, AppError> {
    use crate::ssr::auth::Admin;
    let input = crate::model::IntegrationInput {
        org_url,
        auth_method,
        secret_ref,
        client_id,
        key_id,
        sync_incremental_minutes,
        sync_full_hours,
        group_name_prefix,
        group_types,
    };
    super::serve(
        |admin: Admin, state| async move { state.integration().save(&admin, &input).await },
    )
    .await
}

/// Runs the connection test against the saved settings.
#[server(endpoint = "okta/test", prefix = "/api")]
pub async fn test_okta_connection() -> Result<ConnectionReport, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(
        |admin: Admin, state| async move { state.integration().test_connection(&admin).await },
    )
    .await
}

/// Sync settings, recent runs and directory size.
#[server(endpoint = "okta/sync", prefix = "/api")]
pub async fn get_sync_overview() -> Result<SyncOverview, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|admin: Admin, state| async move { state.sync().overview(&admin).await }).await
}

/// Starts a sync now, in the background; `full` reads everything.
#[server(endpoint = "okta/sync/now", prefix = "/api")]
pub async fn sync_now(full: Option<String>) -> Result<String, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|admin: Admin, state| async move {
        let kind = if full.is_some_and(|f| f == "true") {
            crate::model::SyncKind::Full
        } else {
            crate::model::SyncKind::Incremental
        };
        state.sync().start(&admin, kind).await
    })
    .await
}

/// One page of the audit log (admins). Times are `YYYY-MM-DD` (UTC), inclusive.
#[server(endpoint = "audit", prefix = "/api")]
pub async fn get_audit(
    actor: String,
    subject: String,
    action: String,
    from: String,
    to: String,
    before: Option<i64>,
) -> Result<crate::model::AuditPage, AppError> {
    use crate::ssr::{auth::Admin, services::audit};
    super::serve(|admin: Admin, state| async move {
        let filter = audit::parse_filter(&actor, &subject, &action, &from, &to)?;
        audit::readable_page(&state.db, &admin, &filter, before, 50).await
    })
    .await
}
