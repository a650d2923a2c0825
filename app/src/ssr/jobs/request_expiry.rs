//! Expires pending requests nobody decided in time, and those whose scheduled start passed
//! unapproved, once a minute.

use std::time::Duration;

use crate::ssr::core::Core;

/// How often stale requests are looked for.
const EVERY: Duration = Duration::from_secs(60);

/// The loop; runs until `state.stopping` is cancelled. `max_age` is how long a request may
/// wait.
pub async fn run(state: Core, max_age: Duration) {
    while !state.stopping.is_cancelled() {
        match state
            .access()
            .expire_stale_requests(max_age.as_millis() as i64)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "stale requests expired"),
            Err(e) => tracing::warn!(error = %e, "expiring stale requests failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = state.stopping.cancelled() => {}
        }
    }
}
