//! Reminds people that their access ends soon (`NotificationsService::remind_expiring`) and
//! approvers of requests that wait long (`remind_pending`), every 30 seconds: a reminder goes
//! out at most 30 s after its time. It also keeps the list of who gets admin alerts current,
//! and takes the escalation steps of policies and routes requests to delegates
//! (`AccessService::route_pending`) as often.

use std::time::Duration;

use crate::ssr::core::Core;

/// How often grants are looked at.
const EVERY: Duration = Duration::from_secs(30);

/// The loop; runs until `core.stopping` is cancelled.
pub async fn run(core: Core) {
    while !core.stopping.is_cancelled() {
        if let Err(e) = core.notifications().refresh_admins().await {
            tracing::warn!(error = %e, "updating who gets admin alerts failed");
        }
        match core.notifications().remind_expiring().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(reminded = n, "holders reminded that their access ends soon"),
            Err(e) => tracing::warn!(error = %e, "reminding holders failed"),
        }
        match core.access().route_pending().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(requests = n, "waiting requests escalated"),
            Err(e) => tracing::warn!(error = %e, "escalating waiting requests failed"),
        }
        match core.notifications().remind_pending().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(requests = n, "approvers reminded of waiting requests"),
            Err(e) => tracing::warn!(error = %e, "reminding approvers failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = core.stopping.cancelled() => {}
        }
    }
}
