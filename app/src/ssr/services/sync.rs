//! Directory sync: Okta's users, groups and memberships into Gatepass's database, and its
//! ACTIVE apps with who is assigned to the requestable ones.
//!
//! A **full** sync lists every user (all statuses), group and membership, stamping what it saw;
//! afterwards whatever was not seen is marked removed (users, groups) or deleted (memberships).
//! Empty groups (`expand=stats`) and `Everyone` are not listed.
//!
//! An **incremental** sync asks only for what changed since the last good run started (minus a
//! minute for clock skew): users by `lastUpdated`, groups by `lastUpdated` or
//! `lastMembershipUpdated`, and relists the members of changed groups. A quiet org costs four
//! calls (the fourth lists Okta's apps), one changed group a fifth. Deletions in Okta are found
//! by the next full sync.
//!
//! How a run is laid out: the users listings, the group listing and the member listings run at
//! once, the members of as many groups at a time as the Okta client lets calls be in flight
//! (its governor keeps them within the configured share of Okta's rate limits). What they read
//! goes through a bounded queue to one writer, which writes it in transactions of up to
//! [`FLUSH_ROWS`] rows (or what came in within [`FLUSH_AFTER`], or before a pause), gathering
//! the next batch while one is written: few commits (each rewrites the pages of the members
//! index it touches, which is most of them), each sized by the pace of the last to hold the
//! write lock for about [`FLUSH_TIME`], so other writers are not kept waiting long. A person
//! listed by several groups is written once per sync. Memory stays bounded whatever the org size: the queue, two
//! batches, and the ids of up to [`USERS_REMEMBERED`] people already written.
//!
//! One sync runs at a time across every process sharing the database (a leased lock, renewed
//! every [`RENEW_EVERY`] of the sync's clock while the run lasts).

use std::collections::HashSet;
use std::time::Duration;

use futures::TryStreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::error::AppError;
use crate::model::{
    AppId, AuditAction, GroupId, GroupKind, IntegrationSettings, SyncCounts, SyncKind,
    SyncOverview, SyncRun, SyncStatus, Timestamp, UserId,
};
use crate::ssr::auth::Admin;
use crate::ssr::clock::Clock;
use crate::ssr::core::Core;
use crate::ssr::db::apps::{self, AppRecord};
use crate::ssr::db::directory::{
    self, GroupRecord, SyncedBatch, SyncedGroup, UserProfile, UserRecord,
};
use crate::ssr::db::{sync as runs, Db, DbError};
use crate::ssr::okta::{Cursor, OktaApi, OktaError, OktaGroup, OktaUser};
use crate::ssr::services::audit;

/// Page sizes: Okta's maximums for users and members; groups at the recommended 200.
const USERS_PAGE: u32 = 200;
const GROUPS_PAGE: u32 = 200;
const MEMBERS_PAGE: u32 = 1000;
/// Okta's maximums for apps and app users.
const APPS_PAGE: u32 = 200;
const APP_USERS_PAGE: u32 = 500;
/// How far back an incremental run looks before the previous run's start.
const SKEW_MARGIN_MS: i64 = 60_000;
/// The lock lease…
const LEASE: Duration = Duration::from_secs(300);
/// …renewed while a run lasts whenever this much has passed by the sync's clock…
pub const RENEW_EVERY: Duration = Duration::from_secs(30);
/// …which is looked at this often.
const RENEW_CHECK: Duration = Duration::from_secs(1);
/// Rows read before they are written in one transaction (at most; fewer when writing them
/// would hold the database's write lock for longer than [`FLUSH_TIME`])…
pub const FLUSH_ROWS: usize = 100_000;
/// How long a batch's transaction should take: the next batch is sized by the last one's pace,
/// from [`FLUSH_ROWS_MIN`] to [`FLUSH_ROWS`] rows. Other writers wait this long at most.
pub const FLUSH_TIME: Duration = Duration::from_secs(1);
pub const FLUSH_ROWS_MIN: usize = 20_000;
/// …or after this long, whichever comes first…
pub const FLUSH_AFTER: Duration = Duration::from_secs(2);
/// …or once nothing more has come for this long (the listings wait for a rate-limit window).
pub const FLUSH_IDLE: Duration = Duration::from_millis(200);
/// People remembered as written in this run, so those listed again (by their other groups) cost
/// nothing; beyond this many the database tells (a row stamped by this run is not written again).
pub const USERS_REMEMBERED: usize = 200_000;
/// Okta's search for the users its plain listing leaves out.
const DEPROVISIONED: &str = "status eq \"DEPROVISIONED\"";

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
        profile: UserProfile {
            title: u.profile.title.clone(),
            department: u.profile.department.clone(),
            manager_id: u
                .profile
                .manager_id
                .clone()
                .filter(|m| !m.trim().is_empty()),
            manager_name: u.profile.manager.clone(),
            last_login: instant(u.last_login.as_deref()),
        },
    }
}

/// What the listings hand the writer.
enum Read {
    /// A page of the users listing.
    Users(Vec<UserRecord>),
    /// A page of groups (kept by the filter).
    Groups(Vec<SyncedGroup>),
    /// A page of one group's members.
    Members {
        group: GroupId,
        users: Vec<UserRecord>,
    },
    /// The users listings are complete.
    UsersDone,
}

/// Where the listings send what they read; closed when the writer has stopped.
type Reads = mpsc::Sender<Read>;

/// Hands `read` to the writer. A writer that stopped did so with an error the run reports.
async fn hand(reads: &Reads, read: Read) -> Result<(), SyncError> {
    reads.send(read).await.map_err(|_| SyncError::Interrupted)
}

/// Whether a group's members are listed: not `Everyone`, not known to be empty.
fn has_members_to_list(g: &OktaGroup) -> bool {
    !GroupKind::BuiltIn.is(&g.kind) && g.users_count() != Some(0)
}

/// The writer's state: what is read and not yet written, and who is written already.
struct Pending {
    batch: SyncedBatch,
    /// People written (or about to be) in this run.
    written: HashSet<UserId>,
    /// When the oldest row of `batch` was read.
    since: Option<tokio::time::Instant>,
    /// When the last read came.
    last: tokio::time::Instant,
    users_done: bool,
}

impl Pending {
    /// When the batch is due: [`FLUSH_AFTER`] after its first row or [`FLUSH_IDLE`] after the
    /// last, whichever is sooner (`None` while it is empty).
    fn due(&self) -> Option<tokio::time::Instant> {
        self.since
            .map(|since| (since + FLUSH_AFTER).min(self.last + FLUSH_IDLE))
    }

    fn user(&mut self, user: UserRecord) {
        if self.written.insert(user.okta_id.clone()) {
            self.batch.users.push(user);
        }
    }

    fn take(&mut self, read: Read, counts: &mut SyncCounts) {
        self.last = tokio::time::Instant::now();
        self.since.get_or_insert(self.last);
        match read {
            Read::Users(users) => {
                counts.users_seen += users.len() as i64;
                users.into_iter().for_each(|u| self.user(u));
            }
            Read::Groups(groups) => {
                counts.groups_seen += groups.len() as i64;
                self.batch.groups.extend(groups);
            }
            Read::Members { group, users } => {
                counts.memberships_seen += users.len() as i64;
                for user in users {
                    self.batch
                        .memberships
                        .push((group.clone(), user.okta_id.clone()));
                    self.user(user);
                }
            }
            Read::UsersDone => self.users_done = true,
        }
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

    /// Renews the lock (taken at `taken`) whenever [`RENEW_EVERY`] has passed by the sync's
    /// clock; returns only when that fails.
    async fn keep_lock(&self, taken: Timestamp) -> SyncError {
        let mut renewed = taken;
        loop {
            tokio::time::sleep(RENEW_CHECK).await;
            let now = self.now();
            if now - renewed >= RENEW_EVERY.as_millis() as i64 {
                if let Err(e) = self.renew().await {
                    return e;
                }
                renewed = now;
            }
        }
    }

    /// Runs a sync of `kind` (an incremental one without a previous good run is full) and
    /// records it in `sync_runs`, failed or not.
    pub async fn run(&self, kind: SyncKind) -> Result<SyncRun, SyncError> {
        self.run_until(kind, &CancellationToken::new()).await
    }

    /// [`DirectorySync::run`], stopped (and recorded as failed, its lock released) when `stop`
    /// is cancelled. What was written so far stays; a full sync marks nothing removed.
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
            e = self.keep_lock(started) => Err(e),
            _ = stop.cancelled() => Err(SyncError::Interrupted),
        };
        if let Err(e) = directory::finish_synced_writes(self.db).await {
            tracing::warn!(error = %e, "restoring the database settings after the sync failed");
        }
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

    /// Lists users (all but DEPROVISIONED, or those a `search` finds) to the writer.
    async fn list_users(&self, search: Option<&str>, reads: &Reads) -> Result<(), SyncError> {
        let mut cursor = Some(Cursor::users(search, USERS_PAGE));
        while let Some(c) = cursor.take() {
            let page = self.okta.users_page(&c).await?;
            hand(
                reads,
                Read::Users(page.items.iter().map(user_record).collect()),
            )
            .await?;
            cursor = page.next;
        }
        Ok(())
    }

    /// Both users listings of a full sync (or an incremental one's search), then `UsersDone`.
    async fn users(&self, searches: &[Option<&str>], reads: Reads) -> Result<(), SyncError> {
        futures::future::try_join_all(searches.iter().map(|s| self.list_users(*s, &reads))).await?;
        hand(&reads, Read::UsersDone).await
    }

    /// Lists groups from `first` on to the writer, and those with members to list to
    /// `to_list`; returns the ids of the groups kept.
    async fn list_groups(
        &self,
        first: Cursor,
        reads: Reads,
        to_list: mpsc::Sender<GroupId>,
    ) -> Result<Vec<GroupId>, SyncError> {
        let rules = self.rule_managed().await?;
        let mut kept = Vec::new();
        let mut cursor = Some(first);
        while let Some(c) = cursor.take() {
            let page = self.okta.groups_page(&c).await?;
            let groups: Vec<&OktaGroup> =
                page.items.iter().filter(|g| self.filter.keeps(g)).collect();
            let batch = groups
                .iter()
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
            // The groups reach the writer before any of their members.
            hand(&reads, Read::Groups(batch)).await?;
            for g in groups {
                let id = GroupId::from(g.id.as_str());
                kept.push(id.clone());
                if has_members_to_list(g) {
                    to_list.send(id).await.map_err(|_| SyncError::Interrupted)?;
                }
            }
            cursor = page.next;
        }
        Ok(kept)
    }

    /// Lists the members of one group to the writer.
    async fn list_members(&self, group: GroupId, reads: &Reads) -> Result<(), SyncError> {
        let mut cursor = Some(Cursor::group_members(group.as_str(), MEMBERS_PAGE));
        while let Some(c) = cursor.take() {
            let page = match self.okta.group_members_page(&c).await {
                Ok(p) => p,
                // The group went away since it was listed: the next full sync removes it.
                Err(e) if e.status() == Some(404) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            // Members are whole user objects: kept, so a user created mid-sync still has a row
            // for the membership to point at (written once: the writer skips people it wrote).
            let users = page.items.iter().map(user_record).collect();
            hand(
                reads,
                Read::Members {
                    group: group.clone(),
                    users,
                },
            )
            .await?;
            cursor = page.next;
        }
        Ok(())
    }

    /// Lists the members of the groups arriving on `to_list`, as many at once as the Okta
    /// client lets calls be in flight.
    async fn members(
        &self,
        to_list: mpsc::Receiver<GroupId>,
        reads: Reads,
    ) -> Result<(), SyncError> {
        let groups = futures::stream::unfold(to_list, |mut rx| async move {
            rx.recv().await.map(|g| (Ok::<_, SyncError>(g), rx))
        });
        let reads = &reads;
        groups
            .try_for_each_concurrent(self.okta.concurrency().max(1), |group| {
                self.list_members(group, reads)
            })
            .await
    }

    /// Writes what the listings read, in transactions of up to [`FLUSH_ROWS`] rows (fewer if the
    /// last took longer than [`FLUSH_TIME`]), of what came in within [`FLUSH_AFTER`], or before a
    /// pause of [`FLUSH_IDLE`], until every listing is done. While one transaction is being
    /// written the next batch is gathered (so reading and writing overlap), up to its size.
    async fn write(
        &self,
        mut reads: mpsc::Receiver<Read>,
        marker: Timestamp,
        counts: &mut SyncCounts,
    ) -> Result<(), SyncError> {
        let mut pending = Pending {
            batch: SyncedBatch::default(),
            written: HashSet::new(),
            since: None,
            last: tokio::time::Instant::now(),
            users_done: false,
        };
        let mut writing: Option<futures::future::BoxFuture<'_, Result<Duration, DbError>>> = None;
        let mut reading = true;
        // Rows of the next transaction, and of the one being written.
        let mut size = FLUSH_ROWS;
        let mut last_rows = 0;
        loop {
            let full = pending.batch.rows() >= size;
            let due = pending.due();
            tokio::select! {
                written = async { writing.as_mut().expect("guarded").await }, if writing.is_some() => {
                    writing = None;
                    let took = written?;
                    // Sized so the next takes about FLUSH_TIME at the pace of this one.
                    if size <= last_rows {
                        let pace = last_rows as f64 / took.as_secs_f64().max(1e-3);
                        size = ((pace * FLUSH_TIME.as_secs_f64()) as usize)
                            .clamp(FLUSH_ROWS_MIN, FLUSH_ROWS);
                    }
                    if pending.written.len() > USERS_REMEMBERED {
                        pending.written.clear();
                    }
                    let phase = if pending.users_done { "memberships" } else { "users" };
                    self.report(phase, counts);
                }
                read = reads.recv(), if reading && !full => match read {
                    Some(read) => pending.take(read, counts),
                    None => reading = false,
                },
                _ = tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)),
                    if writing.is_none() && due.is_some() => {}
            }
            let flush = pending.batch.rows() >= size
                || !reading
                || pending
                    .due()
                    .is_some_and(|due| due <= tokio::time::Instant::now());
            if writing.is_none() && flush && pending.since.is_some() {
                let mut batch = std::mem::take(&mut pending.batch);
                pending.since = None;
                // By member, then group: the members index (by person) is the one written all
                // over; in this order each of its pages is visited once per transaction.
                batch
                    .memberships
                    .sort_unstable_by(|(g1, u1), (g2, u2)| (u1, g1).cmp(&(u2, g2)));
                batch.memberships.dedup();
                last_rows = batch.rows();
                let db = self.db;
                writing = Some(Box::pin(async move {
                    let started = std::time::Instant::now();
                    directory::write_synced(db, &batch, marker).await?;
                    let took = started.elapsed();
                    tracing::debug!(
                        rows = batch.rows(),
                        ms = took.as_millis() as u64,
                        "directory sync: batch written"
                    );
                    Ok(took)
                }));
            }
            if !reading && writing.is_none() && pending.since.is_none() {
                return Ok(());
            }
        }
    }

    /// Lists users (`searches`) and groups (from `groups`), and the members of groups with any,
    /// all at once, writing what they read; returns the ids of the groups kept.
    async fn read_and_write(
        &self,
        searches: &[Option<&str>],
        groups: Cursor,
        marker: Timestamp,
        counts: &mut SyncCounts,
    ) -> Result<Vec<GroupId>, SyncError> {
        let width = self.okta.concurrency().max(1);
        let (reads, to_write) = mpsc::channel(2 * width);
        let (to_list, listed) = mpsc::channel(2 * width);
        let (_, kept, _, _) = tokio::try_join!(
            self.users(searches, reads.clone()),
            self.list_groups(groups, reads.clone(), to_list),
            self.members(listed, reads),
            self.write(to_write, marker, counts),
        )?;
        Ok(kept)
    }

    async fn full(&self, marker: Timestamp, counts: &mut SyncCounts) -> Result<(), SyncError> {
        // Okta lists DEPROVISIONED users only when asked by search.
        self.read_and_write(
            &[None, Some(DEPROVISIONED)],
            Cursor::groups(None, GROUPS_PAGE),
            marker,
            counts,
        )
        .await?;
        let now = self.now();
        counts.users_removed =
            directory::mark_unseen_users_removed(self.db, marker, now).await? as i64;
        counts.groups_removed =
            directory::mark_unseen_groups_removed(self.db, marker, now).await? as i64;
        counts.memberships_removed =
            directory::delete_unseen_memberships(self.db, marker, None).await? as i64;
        self.apps(marker).await?;
        self.report("done", counts);
        Ok(())
    }

    /// Okta's ACTIVE apps, and who is assigned to each app a policy makes requestable
    /// (directly or through a group). A credential that may not read apps leaves them out
    /// (the integration check says so) rather than failing the sync.
    async fn apps(&self, marker: Timestamp) -> Result<(), SyncError> {
        let mut listed = Vec::new();
        let mut cursor = Some(Cursor::apps(APPS_PAGE));
        while let Some(c) = cursor.take() {
            let page = match self.okta.apps_page(&c).await {
                Ok(page) => page,
                Err(e) if matches!(e.status(), Some(400 | 401 | 403)) => {
                    tracing::info!(error = %e, "sync: Okta apps are not readable with this credential; apps left out");
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
            };
            listed.extend(page.items.into_iter().filter(|a| a.status == "ACTIVE"));
            cursor = page.next;
        }
        for a in &listed {
            let record = AppRecord {
                okta_id: AppId(a.id.clone()),
                name: a.name.clone(),
                label: a.label.clone(),
                sign_on_mode: a.sign_on_mode.clone(),
                status: a.status.clone(),
            };
            apps::upsert_app(self.db, &record, instant(a.last_updated.as_deref()), marker).await?;
        }
        apps::mark_unseen_apps_removed(self.db, marker).await?;
        let requestable: HashSet<AppId> = crate::ssr::db::policies::list_policies(self.db)
            .await?
            .into_iter()
            .filter_map(|p| match p.target {
                crate::model::PolicyTarget::App(a) => Some(a),
                _ => None,
            })
            .collect();
        for a in listed
            .iter()
            .filter(|a| requestable.contains(&AppId(a.id.clone())))
        {
            let mut users = Vec::new();
            let mut cursor = Some(Cursor::app_users(&a.id, APP_USERS_PAGE));
            while let Some(c) = cursor.take() {
                let page = self.okta.app_users_page(&c).await?;
                users.extend(page.items.into_iter().map(|u| (UserId(u.id), u.scope)));
                cursor = page.next;
            }
            apps::replace_app_users(self.db, &AppId(a.id.clone()), &users, marker).await?;
        }
        Ok(())
    }

    async fn incremental(
        &self,
        marker: Timestamp,
        since: Timestamp,
        counts: &mut SyncCounts,
    ) -> Result<(), SyncError> {
        let t = since;
        let users = format!("lastUpdated gt \"{t}\"");
        let groups = format!("lastUpdated gt \"{t}\" or lastMembershipUpdated gt \"{t}\"");
        let changed = self
            .read_and_write(
                &[Some(users.as_str())],
                Cursor::groups(Some(&groups), GROUPS_PAGE),
                marker,
                counts,
            )
            .await?;
        // Members of a changed group not listed now (or the group now empty) are gone.
        for id in changed {
            counts.memberships_removed +=
                directory::delete_unseen_memberships(self.db, marker, Some(id.as_str())).await?
                    as i64;
        }
        // Okta cannot list only what changed in app assignments: the requestable apps are
        // read again.
        self.apps(marker).await?;
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
        .await;
        core.caches.sync_ended();
        let run = run?;
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
    fn a_users_profile_keeps_what_reviews_need_and_matches_managers_by_id_only() {
        let user: OktaUser = serde_json::from_value(serde_json::json!({
            "id": "00u1", "status": "ACTIVE", "lastLogin": "2026-05-04T10:00:00.000Z",
            "profile": { "login": "ada@example.com", "firstName": "Ada", "lastName": "L",
                "title": "SRE", "department": "ops", "managerId": "00u9", "manager": "Grace H" }
        }))
        .unwrap();
        let r = user_record(&user);
        assert_eq!(r.profile.title.as_deref(), Some("SRE"));
        assert_eq!(r.profile.department.as_deref(), Some("ops"));
        assert_eq!(r.profile.manager_id.as_deref(), Some("00u9"));
        assert_eq!(r.profile.manager_name.as_deref(), Some("Grace H"));
        assert_eq!(
            r.profile.last_login.map(|t| t.to_string()).as_deref(),
            Some("2026-05-04T10:00:00.000Z")
        );
        // A blank managerId is no manager (a name alone never is one).
        let blank: OktaUser = serde_json::from_value(serde_json::json!({
            "id": "00u2", "status": "ACTIVE",
            "profile": { "login": "bo@example.com", "managerId": " ", "manager": "Grace H" }
        }))
        .unwrap();
        assert_eq!(user_record(&blank).profile.manager_id, None);
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
