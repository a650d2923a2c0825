//! Moves access reviews along, once a minute: starts recurring reviews and scheduled campaigns,
//! reminds reviewers before due dates, extends or closes campaigns past their due date, and
//! carries out the revocations of closing ones (see `ReviewService::tick`).

use std::time::Duration;

use crate::ssr::core::Core;

/// How often reviews are looked at.
const EVERY: Duration = Duration::from_secs(60);

/// The loop; runs until `state.stopping` is cancelled.
pub async fn run(state: Core) {
    while !state.stopping.is_cancelled() {
        match state.reviews().tick().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(steps = n, "access reviews moved along"),
            Err(e) => tracing::warn!(error = %e, "moving access reviews along failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = state.stopping.cancelled() => {}
        }
    }
}
