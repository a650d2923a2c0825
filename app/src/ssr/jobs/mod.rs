//! Background work that runs inside `gatepass serve`: the grant engine (worker and scheduler),
//! the directory sync scheduler, the expiry of stale requests, the notifier, the reminders
//! before grants end and the access reviews. [`Jobs`] starts them and stops them in order.

pub mod grant_engine;
pub mod notifier;
pub mod reminders;
pub mod request_expiry;
pub mod reviews;
pub mod sync_scheduler;

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::ssr::core::Core;

/// The wait before try number `attempts + 1`: exponential from 1 s, at most `cap_ms`, with
/// jitter (between half and all of it), so retries of many failures spread out.
pub fn backoff_ms(attempts: i64, cap_ms: i64) -> i64 {
    use rand::Rng;
    let exp = 1_000i64.saturating_mul(1i64 << attempts.clamp(0, 20).saturating_sub(1).max(0));
    let cap = exp.min(cap_ms);
    rand::thread_rng().gen_range(cap / 2..=cap)
}

/// What the jobs need beyond the core.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// How long a request may wait for a decision.
    pub pending_max_age: Duration,
    /// How long a stopping worker waits for its Okta calls in flight.
    pub shutdown_grace: Duration,
}

impl JobSettings {
    /// Requests wait at most `pending_max_age`; shutdown waits [`grant_engine::SHUTDOWN_GRACE`].
    pub fn new(pending_max_age: Duration) -> Self {
        JobSettings {
            pending_max_age,
            shutdown_grace: grant_engine::SHUTDOWN_GRACE,
        }
    }
}

/// The running jobs.
pub struct Jobs {
    core: Core,
    /// The jobs that make work: the grant scheduler, the sync scheduler, request expiry.
    makers: Vec<(&'static str, JoinHandle<()>)>,
    /// The grant engine's worker, which carries the work out; stopped after the makers.
    worker: JoinHandle<()>,
    stop_worker: CancellationToken,
}

impl Jobs {
    /// Starts every job on `core`.
    pub fn start(core: &Core, settings: JobSettings) -> Jobs {
        let stop_worker = CancellationToken::new();
        let makers = vec![
            (
                "grant scheduler",
                tokio::spawn(grant_engine::run_scheduler(core.clone())),
            ),
            (
                "sync scheduler",
                tokio::spawn(sync_scheduler::run(core.clone())),
            ),
            (
                "request expiry",
                tokio::spawn(request_expiry::run(core.clone(), settings.pending_max_age)),
            ),
            ("notifier", tokio::spawn(notifier::run(core.clone()))),
            ("reminders", tokio::spawn(reminders::run(core.clone()))),
            ("access reviews", tokio::spawn(reviews::run(core.clone()))),
        ];
        let worker = tokio::spawn(grant_engine::run_worker(
            core.clone(),
            stop_worker.clone(),
            settings.shutdown_grace,
        ));
        Jobs {
            core: core.clone(),
            makers,
            worker,
            stop_worker,
        }
    }

    /// Stops the jobs in order: first those that make work (`core.stopping` is cancelled, which
    /// also stops a sync started from the admin pages after its current page; it is waited
    /// for), then the worker,
    /// which finishes its Okta calls in flight (up to `shutdown_grace`) and
    /// releases the leases of any it abandons. Returns when every job has ended.
    pub async fn stop(self) {
        self.core.stopping.cancel();
        for (name, handle) in self.makers {
            if let Err(e) = handle.await {
                tracing::error!(job = name, error = %e, "job ended abnormally");
            }
        }
        // A sync started from the admin pages records its end before the database closes.
        self.core.tasks.close();
        self.core.tasks.wait().await;
        self.stop_worker.cancel();
        if let Err(e) = self.worker.await {
            tracing::error!(job = "grant worker", error = %e, "job ended abnormally");
        }
        tracing::info!("background jobs stopped");
    }
}
