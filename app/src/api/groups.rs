//! Server functions of Admin › Groups and Admin › Drift (admins only).

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{AdminAlerts, DriftItem, DriftPage, GroupDetail, GroupList};

/// Synced groups whose name contains `q`, a page after the group named `after`.
#[server(endpoint = "groups", prefix = "/api")]
pub async fn get_groups(q: String, after: String) -> Result<GroupList, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|admin: Admin, state| async move {
        let (q, after) = (
            super::bounded("Search", &q)?,
            super::bounded("after", &after)?,
        );
        state.groups().list(&admin, q, after).await
    })
    .await
}

/// One group: members and why, live grants, drift, the policy that applies.
#[server(endpoint = "groups/detail", prefix = "/api")]
pub async fn get_group(group_id: String) -> Result<GroupDetail, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(
        |admin: Admin, state| async move { state.groups().detail(&admin, &group_id).await },
    )
    .await
}

/// Drift items in `state` (open, ignored, resolved), newest first, below id `before`.
#[server(endpoint = "drift", prefix = "/api")]
pub async fn get_drift(state: String, before: i64) -> Result<DriftPage, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|admin: Admin, app| async move { app.drift().list(&admin, &state, before).await })
        .await
}

/// Acts on a drift item: `reapply`, `revoke` or `ignore`.
#[server(endpoint = "drift/act", prefix = "/api")]
pub async fn act_on_drift(id: i64, action: String) -> Result<DriftItem, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|admin: Admin, state| async move { state.drift().act(&admin, id, &action).await })
        .await
}

/// What needs an admin's attention: open drift, failing removals, failed grants.
#[server(endpoint = "admin/alerts", prefix = "/api")]
pub async fn get_admin_alerts() -> Result<AdminAlerts, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|admin: Admin, state| async move { state.drift().alerts(&admin).await }).await
}
