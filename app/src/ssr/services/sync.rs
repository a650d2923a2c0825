//! Directory sync: Okta's users, groups and memberships into Gatepass's database.
//!
//! A **full** sync streams every user (all statuses), group and membership page by page into
//! the database, stamping what it saw; afterwards whatever was not seen is marked removed
//! (users, groups) or deleted (memberships). Memory stays bounded whatever the org size: one
//! page at a time, groups to list read back from the database in id order. Empty groups
//! (`expand=stats`) and `Everyone` are not listed.
//!
//! An **incremental** sync asks only for what changed since the last good run started (minus a
//! minute for clock skew): users by `lastUpdated`, groups by `lastUpdated` or
//! `lastMembershipUpdated`, and relists the members of changed groups. A quiet org costs two
//! calls. Deletions in Okta are found by the next full sync.
//!
//! One sync runs at a time across every process sharing the database (a leased lock).

use std::collections::HashSet;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::error::AppError;
use crate::model::{
    AuditAction, GroupKind, IntegrationSettings, SyncCounts, SyncKind, SyncOverview, SyncRun,
    SyncStatus, Timestamp,
};
use crate::ssr::auth::Admin;
use crate::ssr::clock::Clock;
use crate::ssr::core::Core;
use crate::ssr::db::directory::{self, GroupRecord, SyncedGroup, UserRecord};
use crate::ssr::db::{sync as runs, Db, DbError};
use crate::ssr::okta::{Cursor, OktaApi, OktaError, OktaGroup, OktaUser};
use crate::ssr::services::audit;

/// Page sizes: Okta's maximums for users and members; groups at the recommended 200.
const USERS_PAGE: u32 = 200;
const GROUPS_PAGE: u32 = 200;
const MEMBERS_PAGE: u32 = 1000;
/// How far back an incremental run looks before the previous run's start.
const SKEW_MARGIN_MS: i64 = 60_000;
/// The lock lease, renewed after every page.
const LEASE: Duration = Duration::from_secs(300);

/// Which groups Gatepass keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupFilter {
    /// Keep only groups whose name starts with this.
    pub name_prefix: Option<String>,
    /// Keep only these Okta types (`OKTA_GROUP`, `APP_GROUP`, `BUILT_IN`); empty: all.
    pub types: Vec<String>,
}

impl GroupFilter {
    fn keeps(&self, g: &OktaGroup) -> bool {
        self.name_prefix
            .as_deref()
            .is_none_or(|p| g.profile.name.starts_with(p))
            && (self.types.is_empty() || self.types.contains(&g.kind))
    }
}

/// Why a sync did not run or stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("another directory sync is running")]
    Busy,
    #[error("the Okta integration is not configured")]
    NotConfigured,
    #[error("the sync was stopped: Gatepass is shutting down")]
    Interrupted,
    #[error(transparent)]
    Okta(#[from] OktaError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Where a running sync is, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncProgress {
    pub phase: &'static str,
    pub counts: SyncCounts,
}

/// Runs one sync and records it. `holder` names this process for the lock.
pub struct DirectorySync<'a> {
    pub db: &'a Db,
    pub okta: &'a dyn OktaApi,
    pub clock: &'a dyn Clock,
    pub filter: GroupFilter,
    pub holder: String,
    pub progress: &'a (dyn Fn(&SyncProgress) + Send + Sync),
}

/// An instant Okta wrote (RFC 3339), if it is one.
fn instant(okta_instant: Option<&str>) -> Option<Timestamp> {
    okta_instant
        .and_then(|s| {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
        })
        .map(Timestamp::from)
}

pub(crate) fn user_record(u: &OktaUser) -> UserRecord {
    UserRecord {
        okta_id: u.id.clone().into(),
        login: u.profile.login.clone(),
        email: u
            .profile
            .email
            .clone()
            .unwrap_or_else(|| u.profile.login.clone()),
        display_name: u.display_name(),
        status: u.status.clone(),
    }
}

impl DirectorySync<'_> {
    fn now(&self) -> Timestamp {
        self.clock.timestamp()
    }

    fn report(&self, phase: &'static str, counts: &SyncCounts) {
        let mut c = counts.clone();
        c.calls = self.okta.calls() as i64;
        (self.progress)(&SyncProgress { phase, counts: c });
    }

    async fn renew(&self) -> Result<(), SyncError> {
        let until = self.now().plus_millis(LEASE.as_millis() as i64);
        if runs::renew_sync_lock(self.db, &self.holder, until).await? {
            Ok(())
        } else {
            Err(SyncError::Busy)
        }
    }

    /// Runs a sync of `kind` (an incremental one without a previous good run is full) and
    /// records it in `sync_runs`, failed or not.
    pub async fn run(&self, kind: SyncKind) -> Result<SyncRun, SyncError> {
        self.run_until(kind, &CancellationToken::new()).await
    }

    /// [`DirectorySync::run`], stopped (and recorded as failed, its lock released) when `stop`
    /// is cancelled. What the pages read so far stays; a full sync marks nothing removed.
    #[tracing::instrument(skip(self, stop), fields(holder = %self.holder))]
    pub async fn run_until(
        &self,
        kind: SyncKind,
        stop: &CancellationToken,
    ) -> Result<SyncRun, SyncError> {
        let started = self.now();
        if !runs::try_acquire_sync_lock(
            self.db,
            &self.holder,
            started,
            started.plus_millis(LEASE.as_millis() as i64),
        )
        .await?
        {
            return Err(SyncError::Busy);
        }
        let since = match kind {
            SyncKind::Full => None,
            SyncKind::Incremental => runs::last_successful_sync_start(self.db)
                .await?
                .map(|t| t.plus_millis(-SKEW_MARGIN_MS)),
        };
        let kind = if since.is_some() {
            kind
        } else {
            SyncKind::Full
        };
        let calls_before = self.okta.calls();
        let id = runs::insert_sync_run(self.db, kind, started, since).await?;
        let mut counts = SyncCounts::default();
        let work = async {
            match since {
                None => self.full(started, &mut counts).await,
                Some(since) => self.incremental(started, since, &mut counts).await,
            }
        };
        let result = tokio::select! {
            result = work => result,
            _ = stop.cancelled() => Err(SyncError::Interrupted),
        };
        counts.calls = (self.okta.calls() - calls_before) as i64;
        let error = result.as_ref().err().map(|e| e.to_string());
        let finished = self.now();
        runs::finish_sync_run(self.db, id, finished, &counts, error.as_deref()).await?;
        runs::release_sync_lock(self.db, &self.holder).await?;
        match result {
            Ok(()) => {
                tracing::info!(kind = kind.as_str(), ?counts, "directory sync finished");
                Ok(SyncRun {
                    id,
                    kind,
                    status: SyncStatus::Ok,
                    started_at: started,
                    finished_at: Some(finished),
                    counts,
                    error: None,
                })
            }
            Err(e) => {
                tracing::warn!(kind = kind.as_str(), error = %e, "directory sync failed");
                Err(e)
            }
        }
    }

    /// Group ids kept filled by group rules.
    async fn rule_managed(&self) -> Result<HashSet<String>, SyncError> {
        let mut ids = HashSet::new();
        let mut cursor = Some(Cursor::group_rules(200));
        while let Some(c) = cursor.take() {
            let page = self.okta.group_rules_page(&c).await?;
            for rule in page.items {
                if rule.status.as_deref().unwrap_or("ACTIVE") != "ACTIVE" {
                    continue;
                }
                if let Some(a) = rule.actions.assign_user_to_groups {
                    ids.extend(a.group_ids);
                }
            }
            cursor = page.next;
        }
        Ok(ids)
    }

    async fn users(
        &self,
        search: Option<&str>,
        marker: Timestamp,
        counts: &mut SyncCounts,
    ) -> Result<(), SyncError> {
        let mut cursor = Some(Cursor::users(search, USERS_PAGE));
        while let Some(c) = cursor.take() {
            let page = self.okta.users_page(&c).await?;
            let batch: Vec<UserRecord> = page.items.iter().map(user_record).collect();
            directory::upsert_users_batch(self.db, &batch, marker).await?;
            counts.users_seen += batch.len() as i64;
            self.renew().await?;
            self.report("users", counts);
            cursor = page.next;
        }
        Ok(())
    }

    /// Upserts groups from `cursor` on; returns the ids kept.
    async fn groups(
        &self,
        first: Cursor,
        marker: Timestamp,
        counts: &mut SyncCounts,
        mut on_group: impl FnMut(&OktaGroup),
    ) -> Result<(), SyncError> {
        let rules = self.rule_managed().await?;
        let mut cursor = Some(first);
        while let Some(c) = cursor.take() {
            let page = self.okta.groups_page(&c).await?;
            let batch: Vec<SyncedGroup> = page
                .items
                .iter()
                .filter(|g| self.filter.keeps(g))
                .inspect(|g| on_group(g))
                .map(|g| SyncedGroup {
                    record: GroupRecord {
                        okta_id: g.id.clone().into(),
                        name: g.profile.name.clone(),
                        description: g.profile.description.clone().unwrap_or_default(),
                        okta_type: g.kind.clone(),
                        managed_by_rule: rules.contains(&g.id),
                    },
                    last_updated: instant(g.last_updated.as_deref()),
                    last_membership_updated: instant(g.last_membership_updated.as_deref()),
                    member_count: g.users_count().map(|n| n as i64),
                })
                .collect();
            directory::upsert_groups_batch(self.db, &batch, marker).await?;
            counts.groups_seen += batch.len() as i64;
            self.renew().await?;
            self.report("groups", counts);
            cursor = page.next;
        }
        Ok(())
    }

    /// Lists the members of one group, stamping memberships (and the member users) `marker`.
    async fn members(
        &self,
        group_id: &str,
        marker: Timestamp,
        counts: &mut SyncCounts,
    ) -> Result<(), SyncError> {
        let mut cursor = Some(Cursor::group_members(group_id, MEMBERS_PAGE));
        while let Some(c) = cursor.take() {
            let page = match self.okta.group_members_page(&c).await {
                Ok(p) => p,
                // The group went away since it was listed: the next full sync removes it.
                Err(e) if e.status() == Some(404) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            // Members are whole user objects: keep them, so a user created mid-sync still has
            // a row for the membership to point at.
            let users: Vec<UserRecord> = page.items.iter().map(user_record).collect();
            directory::upsert_users_batch(self.db, &users, marker).await?;
            let ids: Vec<String> = users.into_iter().map(|u| u.okta_id.0).collect();
            directory::upsert_memberships_batch(self.db, group_id, &ids, marker).await?;
            counts.memberships_seen += ids.len() as i64;
            cursor = page.next;
        }
        Ok(())
    }

    async fn full(&self, marker: Timestamp, counts: &mut SyncCounts) -> Result<(), SyncError> {
        self.users(None, marker, counts).await?;
        // Okta lists DEPROVISIONED users only when asked by search.
        self.users(Some("status eq \"DEPROVISIONED\""), marker, counts)
            .await?;
        self.groups(Cursor::groups(None, GROUPS_PAGE), marker, counts, |_| {})
            .await?;
        let mut after = String::new();
        loop {
            let ids = directory::groups_to_list(self.db, marker, &after, 100).await?;
            let Some(last) = ids.last().cloned() else {
                break;
            };
            for id in &ids {
                self.members(id, marker, counts).await?;
            }
            self.renew().await?;
            self.report("memberships", counts);
            after = last;
        }
        let now = self.now();
        counts.users_removed =
            directory::mark_unseen_users_removed(self.db, marker, now).await? as i64;
        counts.groups_removed =
            directory::mark_unseen_groups_removed(self.db, marker, now).await? as i64;
        counts.memberships_removed =
            directory::delete_unseen_memberships(self.db, marker, None).await? as i64;
        self.report("done", counts);
        Ok(())
    }

    async fn incremental(
        &self,
        marker: Timestamp,
        since: Timestamp,
        counts: &mut SyncCounts,
    ) -> Result<(), SyncError> {
        let t = since;
        self.users(Some(&format!("lastUpdated gt \"{t}\"")), marker, counts)
            .await?;
        let filter = format!("lastUpdated gt \"{t}\" or lastMembershipUpdated gt \"{t}\"");
        let mut changed: Vec<(String, Option<u64>, String)> = Vec::new();
        self.groups(
            Cursor::groups(Some(&filter), GROUPS_PAGE),
            marker,
            counts,
            |g| changed.push((g.id.clone(), g.users_count(), g.kind.clone())),
        )
        .await?;
        for (id, count, kind) in changed {
            if !GroupKind::BuiltIn.is(&kind) && count != Some(0) {
                self.members(&id, marker, counts).await?;
            }
            counts.memberships_removed +=
                directory::delete_unseen_memberships(self.db, marker, Some(&id)).await? as i64;
        }
        self.report("done", counts);
        Ok(())
    }
}

/// Directory syncs as the rest of Gatepass asks for them: the admin's overview and "sync now",
/// the scheduler's runs and `gatepass sync` — each with the saved settings, followed by the drift
/// check and the off-boarding of people Okta no longer lists as active.
pub struct SyncService<'a> {
    pub core: &'a Core,
}

impl SyncService<'_> {
    /// Sync settings, the last runs and the directory's size.
    pub async fn overview(&self, _admin: &Admin) -> Result<SyncOverview, AppError> {
        let db = &self.core.db;
        let runs = runs::list_sync_runs(db, 20).await?;
        Ok(SyncOverview {
            settings: self.core.integration().current().await?,
            running: runs.iter().any(|r| r.status == SyncStatus::Running),
            runs,
            directory: directory::count_directory(db).await?,
        })
    }

    /// Starts a sync in the background (audited); refused while one is running.
    pub async fn start(&self, admin: &Admin, kind: SyncKind) -> Result<String, AppError> {
        let core = self.core;
        let settings = core
            .integration()
            .current()
            .await?
            .ok_or_else(|| AppError::Conflict("Save the Okta settings first.".into()))?;
        let last = runs::list_sync_runs(&core.db, 1).await?;
        if last
            .first()
            .is_some_and(|r| r.status == SyncStatus::Running)
        {
            return Err(AppError::Conflict("A sync is already running.".into()));
        }
        audit::record(
            &core.db,
            core.clock.as_ref(),
            &admin.me().login,
            AuditAction::SyncRequested,
            &settings.org_url,
            serde_json::json!({ "kind": kind.as_str() }),
        )
        .await?;
        let core = core.clone();
        self.core.tasks.spawn(async move {
            if let Err(e) = core.sync().run(kind).await {
                tracing::warn!(error = %e, "requested directory sync failed");
            }
        });
        Ok(format!(
            "A {} sync of {} has started.",
            kind.as_str(),
            settings.org_url
        ))
    }

    /// Runs one sync of `kind` with the saved settings.
    pub async fn run(&self, kind: SyncKind) -> Result<SyncRun, SyncError> {
        self.run_with_progress(kind, &|_| {})
            .await
            .map(|(_, run)| run)
    }

    /// Runs one sync of `kind` with the saved settings, reporting progress; returns the
    /// settings it used and the run.
    pub async fn run_with_progress(
        &self,
        kind: SyncKind,
        progress: &(dyn Fn(&SyncProgress) + Send + Sync),
    ) -> Result<(IntegrationSettings, SyncRun), SyncError> {
        let core = self.core;
        let settings = core
            .integration()
            .current()
            .await
            .map_err(|_| SyncError::NotConfigured)?
            .ok_or(SyncError::NotConfigured)?;
        let okta = core
            .okta_client(&settings)
            .await
            .map_err(|_| SyncError::NotConfigured)?;
        let run = DirectorySync {
            db: &core.db,
            okta: okta.as_ref(),
            clock: core.clock.as_ref(),
            filter: GroupFilter {
                name_prefix: settings.group_name_prefix.clone(),
                types: settings.group_types.clone(),
            },
            holder: core.instance.clone(),
            progress,
        }
        .run_until(kind, &core.stopping)
        .await?;
        // What the sync read is compared with the grants; a failure here does not undo the sync.
        if let Err(e) = core.drift().detect(run.started_at).await {
            tracing::warn!(error = %e, "drift check after the directory sync failed");
        }
        // People the sync found suspended, deprovisioned or gone lose what they hold at once.
        match core.access().offboard_inactive().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(closed = n, "requests and grants of inactive people ended"),
            Err(e) => tracing::warn!(error = %e, "ending the access of inactive people failed"),
        }
        Ok((settings, run))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn okta_times_round_trip() {
        let at = Timestamp::from_millis(1_700_000_123_456);
        assert_eq!(at.to_string(), "2023-11-14T22:15:23.456Z");
        assert_eq!(instant(Some(&at.to_string())), Some(at));
        assert_eq!(instant(Some("garbage")), None);
    }

    #[test]
    fn group_filter_by_prefix_and_type() {
        let g = |name: &str, kind: &str| OktaGroup {
            id: "00g".into(),
            kind: kind.into(),
            last_updated: None,
            last_membership_updated: None,
            profile: crate::ssr::okta::model::OktaGroupProfile {
                name: name.into(),
                description: None,
            },
            embedded: None,
        };
        let f = GroupFilter {
            name_prefix: Some("aws-".into()),
            types: vec!["OKTA_GROUP".into()],
        };
        assert!(f.keeps(&g("aws-prod", "OKTA_GROUP")));
        assert!(!f.keeps(&g("aws-prod", "APP_GROUP")));
        assert!(!f.keeps(&g("gcp-prod", "OKTA_GROUP")));
        assert!(GroupFilter::default().keeps(&g("anything", "BUILT_IN")));
    }
}
