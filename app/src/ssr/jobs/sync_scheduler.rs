//! Runs directory syncs on the integration's schedule: a full sync every `sync_full_hours`,
//! incremental syncs every `sync_incremental_minutes` in between. Several Gatepass processes
//! may run it; the sync lock lets only one sync at a time through. After a sync it applies
//! the operator's starter policies while Gatepass has none.

use std::time::Duration;

use crate::model::{IntegrationSettings, SyncKind, SyncRun, SyncStatus, Timestamp};
use crate::ssr::core::Core;
use crate::ssr::db::sync as runs;
use crate::ssr::services::sync::SyncError;

/// How long to wait after a failed run before trying again.
const RETRY_AFTER: Duration = Duration::from_secs(60);
/// How often to look again when Okta is not configured.
const IDLE_CHECK: Duration = Duration::from_secs(30);

/// What is due at `now`, given the recent runs (newest first): a sync now, or a wait.
pub fn next_due(
    settings: &IntegrationSettings,
    recent: &[SyncRun],
    now: Timestamp,
) -> Result<SyncKind, Duration> {
    let ok = |kind: Option<SyncKind>| {
        recent
            .iter()
            .filter(|r| r.status == SyncStatus::Ok && kind.is_none_or(|k| r.kind == k))
            .map(|r| r.started_at)
            .max()
    };
    if let Some(failed) = recent.first().filter(|r| r.status == SyncStatus::Failed) {
        let retry_at = failed
            .finished_at
            .unwrap_or(failed.started_at)
            .plus_millis(RETRY_AFTER.as_millis() as i64);
        if retry_at > now {
            return Err(Duration::from_millis((retry_at - now) as u64));
        }
    }
    let Some(last_full) = ok(Some(SyncKind::Full)) else {
        return Ok(SyncKind::Full);
    };
    let full_due = last_full.plus_secs(settings.sync_full_hours * 3600);
    if full_due <= now {
        return Ok(SyncKind::Full);
    }
    let last_any = ok(None).unwrap_or(last_full);
    let inc_due = last_any.plus_secs(settings.sync_incremental_minutes * 60);
    if inc_due <= now {
        return Ok(SyncKind::Incremental);
    }
    Err(Duration::from_millis((inc_due.min(full_due) - now) as u64))
}

/// After a sync: the operator's starter policies, while Gatepass has none (their groups and
/// people are in the directory now).
async fn apply_starter(state: &Core) {
    let Some(set) = state.starter.clone() else {
        return;
    };
    match state.policy_code().apply_starter(&set).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(saved = n, "starter bundles and policies applied"),
        Err(e) => tracing::warn!(error = %e, "starter policies not applied"),
    }
}

/// The scheduler loop; runs until `state.stopping` is cancelled (a sync in progress then
/// stops after the page it is on and is recorded as failed).
pub async fn run(state: Core) {
    while !state.stopping.is_cancelled() {
        let wait = match state.integration().current().await {
            Ok(Some(settings)) => {
                let recent = runs::list_sync_runs(&state.db, 20)
                    .await
                    .unwrap_or_default();
                match next_due(&settings, &recent, state.clock.timestamp()) {
                    Ok(kind) => {
                        match state.sync().run(kind).await {
                            Ok(_) => apply_starter(&state).await,
                            Err(SyncError::Busy) => {}
                            Err(e) => tracing::warn!(error = %e, "scheduled directory sync failed"),
                        }
                        Duration::from_secs(1)
                    }
                    Err(wait) => wait.min(IDLE_CHECK * 10),
                }
            }
            Ok(None) => IDLE_CHECK,
            Err(_) => RETRY_AFTER,
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = state.stopping.cancelled() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SyncCounts;
    use crate::ssr::testing::ms;

    fn settings() -> IntegrationSettings {
        crate::ssr::testing::test_integration("https://acme.okta.com", "env:X")
    }

    fn run(kind: SyncKind, status: SyncStatus, started_at: i64) -> SyncRun {
        SyncRun {
            id: started_at,
            kind,
            status,
            started_at: Timestamp::from_millis(started_at),
            finished_at: Some(Timestamp::from_millis(started_at + 1000)),
            counts: SyncCounts::default(),
            error: None,
        }
    }

    #[test]
    fn schedules_full_then_incremental_and_backs_off_after_failure() {
        let s = settings();
        let min = 60_000;
        assert_eq!(next_due(&s, &[], ms(0)), Ok(SyncKind::Full), "never synced");
        let full = run(SyncKind::Full, SyncStatus::Ok, 0);
        assert_eq!(
            next_due(&s, std::slice::from_ref(&full), ms(5 * min)),
            Err(Duration::from_millis(5 * min as u64))
        );
        assert_eq!(
            next_due(&s, std::slice::from_ref(&full), ms(10 * min)),
            Ok(SyncKind::Incremental)
        );
        let inc = run(SyncKind::Incremental, SyncStatus::Ok, 10 * min);
        assert_eq!(
            next_due(&s, &[inc.clone(), full.clone()], ms(15 * min)),
            Err(Duration::from_millis(5 * min as u64))
        );
        assert_eq!(
            next_due(&s, &[inc.clone(), full.clone()], ms(24 * 60 * min)),
            Ok(SyncKind::Full)
        );
        let failed = run(SyncKind::Incremental, SyncStatus::Failed, 20 * min);
        let wait = next_due(&s, &[failed, inc, full], ms(20 * min + 1000)).unwrap_err();
        assert_eq!(
            wait,
            RETRY_AFTER - Duration::from_millis(0),
            "waits a minute after a failure"
        );
    }
}
