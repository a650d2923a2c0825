//! Expires pending requests nobody decided in time, and those whose scheduled start passed
//! unapproved, once a minute.

use std::time::Duration;

use crate::ssr::state::AppState;

/// How often stale requests are looked for.
const EVERY: Duration = Duration::from_secs(60);

/// The loop; runs until the process ends. `max_age` is how long a request may wait.
pub async fn run(state: AppState, max_age: Duration) {
    loop {
        match state
            .access()
            .expire_stale_requests(max_age.as_millis() as i64)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "stale requests expired"),
            Err(e) => tracing::warn!(error = %e, "expiring stale requests failed"),
        }
        tokio::time::sleep(EVERY).await;
    }
}
