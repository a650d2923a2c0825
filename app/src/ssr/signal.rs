//! `EngineSignal`: how a commit that queued Okta work or moved a grant wakes the grant engine's
//! worker and scheduler (and the notifier, for the events it recorded) at once instead of at
//! their next poll. A leaf: services raise it, jobs wait on it, and neither needs the other to
//! do so.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

/// Wakes the worker and the scheduler after a commit that queued work or moved a grant.
#[derive(Debug, Default, Clone)]
pub struct EngineSignal {
    worker: Arc<Notify>,
    scheduler: Arc<Notify>,
    notifier: Arc<Notify>,
}

impl EngineSignal {
    /// Wakes the worker, the scheduler and the notifier (a wake-up that finds nobody waiting
    /// is kept for the next wait).
    pub fn wake(&self) {
        self.worker.notify_one();
        self.scheduler.notify_one();
        self.notifier.notify_one();
    }

    /// Waits until the notifier is woken, or `at_most`.
    pub async fn notifier_woken(&self, at_most: Duration) {
        let _ = tokio::time::timeout(at_most, self.notifier.notified()).await;
    }

    /// Completes when the worker is woken.
    pub async fn worker_woken(&self) {
        self.worker.notified().await
    }

    /// Waits until the scheduler is woken, or `at_most`.
    pub async fn scheduler_woken(&self, at_most: Duration) {
        let _ = tokio::time::timeout(at_most, self.scheduler.notified()).await;
    }
}
