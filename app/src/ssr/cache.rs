//! In-process caches for what many page views read and few events change. Each value is kept
//! for a bounded time *and* under a key that names the data it came from (e.g. the latest
//! directory sync), so a change that moves the key is seen at once and anything else within
//! the time bound. Concurrent misses load once: the others wait for that load.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicU64, Ordering};

use crate::model::{DirectoryCounts, GroupId, Policy, Timestamp};
use crate::ssr::auth::Standing;
use crate::ssr::db::{Db, DbError};

/// One value, loaded again when its key changes or it is older than the time bound. While an
/// outdated value (same key, too old) is being loaded again, other callers get the outdated
/// one rather than wait; a new key makes everyone wait for its value.
#[derive(Debug)]
pub struct Memo<K, V> {
    ttl: Duration,
    value: Mutex<Option<(K, V, Instant)>>,
    loading: tokio::sync::Mutex<()>,
}

impl<K: PartialEq + Clone, V: Clone> Memo<K, V> {
    pub fn new(ttl: Duration) -> Self {
        Memo {
            ttl,
            value: Mutex::new(None),
            loading: tokio::sync::Mutex::new(()),
        }
    }

    /// The kept value for `key`, and whether it is still fresh.
    fn kept(&self, key: &K) -> Option<(V, bool)> {
        let value = self.value.lock().unwrap_or_else(|e| e.into_inner());
        value
            .as_ref()
            .filter(|(k, _, _)| k == key)
            .map(|(_, v, at)| (v.clone(), at.elapsed() < self.ttl))
    }

    /// The value for `key`: the kept one if it is for the same key and young enough, else
    /// `load()`'s (kept when it succeeds; an error is returned and nothing is kept).
    pub async fn get_or_load<E, F, Fut>(&self, key: K, load: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<V, E>>,
    {
        let stale = match self.kept(&key) {
            Some((v, true)) => return Ok(v),
            Some((v, false)) => Some(v),
            None => None,
        };
        let _loading = match (stale, self.loading.try_lock()) {
            (_, Ok(guard)) => guard,
            // Someone is loading it again: the outdated value will do meanwhile.
            (Some(v), Err(_)) => return Ok(v),
            (None, Err(_)) => self.loading.lock().await,
        };
        // Loaded by whoever held the lock before?
        if let Some((v, true)) = self.kept(&key) {
            return Ok(v);
        }
        let value = load().await?;
        *self.value.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((key, value.clone(), Instant::now()));
        Ok(value)
    }
}

/// Values per key (e.g. per person), each kept for a bounded time and dropped when the
/// generation `G` they were made in has passed. At most `capacity` entries: when full, the
/// whole map is cleared (a cache, not a store).
#[derive(Debug)]
pub struct KeyedMemo<K, G, V> {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<K, (V, Instant, G)>>,
}

impl<K: Eq + Hash + Clone, G: PartialEq, V: Clone> KeyedMemo<K, G, V> {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        KeyedMemo {
            ttl,
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The kept value for `key` if it was made in `generation` and is young enough.
    pub fn get(&self, key: &K, generation: &G) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(_, at, g)| g == generation && at.elapsed() < self.ttl)
            .map(|(v, _, _)| v.clone())
    }

    /// Keeps `value` for `key`, made in `generation`.
    pub fn put(&self, key: K, value: V, generation: G) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.clear();
        }
        entries.insert(key, (value, Instant::now(), generation));
    }

    /// Forgets `key` (its next look-up loads it again).
    pub fn forget(&self, key: &K) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove(key);
    }
}

/// The latest directory sync run, as (id, when it finished): it changes when a sync starts or
/// ends, so what was derived from the directory before it is not used after it.
pub type SyncMark = Option<(i64, Option<Timestamp>)>;

/// What a person's standing was derived from: the latest sync run, and how many Okta
/// memberships this process had changed (a grant starting or ending can make someone an
/// admin or end it).
pub type StandingGeneration = (SyncMark, u64);

/// One group (or Okta app) a policy makes requestable, as the catalog lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestableGroup {
    /// The group's Okta id, or the app's.
    pub id: GroupId,
    pub resource: crate::model::Resource,
    pub name: String,
    /// `name` in lower case, for searching.
    pub folded: String,
    pub description: String,
    /// Index of its policy in [`Requestable::policies`].
    pub policy: usize,
}

/// Every requestable group, in name order, with the policies that govern them and who
/// approves under each: what the catalog lists, worked out once per directory sync and
/// policy change instead of on every page view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requestable {
    pub policies: Vec<Policy>,
    /// Who approves under each policy (display names), by the policy's index.
    pub approvers: Vec<Vec<String>>,
    pub groups: Vec<RequestableGroup>,
}

/// What the requestable groups were worked out from: the latest sync run and the policies.
pub type RequestableKey = (SyncMark, Vec<Policy>);

/// The caches a [`Core`](super::core::Core) holds; shared by its clones.
#[derive(Debug, Clone)]
pub struct Caches {
    /// The start page's directory counts, keyed by the latest sync run.
    pub directory_counts: Arc<Memo<SyncMark, DirectoryCounts>>,
    /// People's standing (status, admin), by Okta user id.
    pub standing: Arc<KeyedMemo<String, StandingGeneration, Standing>>,
    /// The requestable groups, keyed by the latest sync run and the policies.
    pub requestable: Arc<Memo<RequestableKey, Arc<Requestable>>>,
    /// What people are (admin, approver of how many groups) for the header, by Okta user id.
    pub roles: Arc<KeyedMemo<String, StandingGeneration, crate::model::Roles>>,
    /// The latest sync run, keyed by how many syncs this process has run.
    sync_mark: Arc<Memo<u64, SyncMark>>,
    syncs_run: Arc<AtomicU64>,
    memberships_changed: Arc<AtomicU64>,
}

impl Caches {
    /// Records that this process changed an Okta membership (the grant engine).
    pub fn membership_changed(&self) {
        self.memberships_changed.fetch_add(1, Ordering::Release);
    }

    /// How many Okta memberships this process has changed.
    pub fn memberships_changed(&self) -> u64 {
        self.memberships_changed.load(Ordering::Acquire)
    }

    /// Records that a directory sync of this process has ended (or failed): the next
    /// [`sync_mark`](Self::sync_mark) reads the database again.
    pub fn sync_ended(&self) {
        self.syncs_run.fetch_add(1, Ordering::Release);
    }

    /// The latest directory sync run: read again at once after a sync of this process, and
    /// at least every [`SYNC_MARK_TTL`] for syncs of other processes (the `gatepass sync`
    /// command, another replica). One statement a second instead of one per page view.
    pub async fn sync_mark(&self, db: &Db) -> Result<SyncMark, DbError> {
        let syncs_run = self.syncs_run.load(Ordering::Acquire);
        self.sync_mark
            .get_or_load(syncs_run, || crate::ssr::db::sync::latest_run(db))
            .await
    }
}

/// How long a person's standing is reused when neither a sync nor a membership change of this
/// process says otherwise: the bound on how long another Gatepass replica's membership change
/// takes to show here.
pub const STANDING_TTL: Duration = Duration::from_secs(5);
/// How long the requestable groups are reused when neither a sync nor a policy change says
/// otherwise (a membership Gatepass adds does not change them).
pub const REQUESTABLE_TTL: Duration = Duration::from_secs(300);
/// How long the latest sync run is reused when this process has not run a sync since: the
/// bound on how long a sync of another process takes to show here.
pub const SYNC_MARK_TTL: Duration = Duration::from_secs(1);
/// How long what a person is (for the header and the start page) is reused: a policy change
/// shows there within this time (a sync or a membership change of this process at once).
pub const ROLES_TTL: Duration = Duration::from_secs(60);
/// People whose standing is kept at once.
pub const STANDING_CAPACITY: usize = 10_000;

/// How long the directory counts are reused when no sync has run (memberships Gatepass adds or
/// removes between syncs show within this time).
pub const COUNTS_TTL: Duration = Duration::from_secs(30);

impl Default for Caches {
    fn default() -> Self {
        Caches {
            directory_counts: Arc::new(Memo::new(COUNTS_TTL)),
            standing: Arc::new(KeyedMemo::new(STANDING_TTL, STANDING_CAPACITY)),
            requestable: Arc::new(Memo::new(REQUESTABLE_TTL)),
            roles: Arc::new(KeyedMemo::new(ROLES_TTL, STANDING_CAPACITY)),
            sync_mark: Arc::new(Memo::new(SYNC_MARK_TTL)),
            syncs_run: Arc::new(AtomicU64::new(0)),
            memberships_changed: Arc::new(AtomicU64::new(0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_memo_loads_once_per_key_and_again_after_its_time() {
        let loads = AtomicUsize::new(0);
        let load = || async {
            loads.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(loads.load(Ordering::SeqCst))
        };
        let memo = Memo::new(Duration::from_secs(60));
        assert_eq!(memo.get_or_load(1, load).await, Ok(1));
        assert_eq!(memo.get_or_load(1, load).await, Ok(1), "kept");
        assert_eq!(memo.get_or_load(2, load).await, Ok(2), "a new key loads");
        let expired = Memo::new(Duration::ZERO);
        assert_eq!(expired.get_or_load(2, load).await, Ok(3));
        assert_eq!(
            expired.get_or_load(2, load).await,
            Ok(4),
            "too old: loaded again"
        );
        let failing = Memo::<i32, i32>::new(Duration::from_secs(60));
        assert_eq!(
            failing.get_or_load(1, || async { Err("down") }).await,
            Err("down")
        );
        assert_eq!(
            failing.get_or_load(1, || async { Ok::<_, &str>(7) }).await,
            Ok(7),
            "an error is not kept"
        );
    }

    #[tokio::test]
    async fn an_outdated_value_is_served_while_it_is_loaded_again() {
        let memo = Arc::new(Memo::new(Duration::ZERO));
        assert_eq!(
            memo.get_or_load(1, || async { Ok::<_, ()>(1) }).await,
            Ok(1)
        );
        let (started, release) = (
            Arc::new(tokio::sync::Notify::new()),
            Arc::new(tokio::sync::Notify::new()),
        );
        let slow = {
            let (memo, started, release) = (memo.clone(), started.clone(), release.clone());
            tokio::spawn(async move {
                memo.get_or_load(1, || async move {
                    started.notify_one();
                    release.notified().await;
                    Ok::<_, ()>(2)
                })
                .await
            })
        };
        started.notified().await;
        assert_eq!(
            memo.get_or_load(1, || async { Ok::<_, ()>(99) }).await,
            Ok(1),
            "the outdated value, without waiting"
        );
        release.notify_one();
        assert_eq!(slow.await.unwrap(), Ok(2));
    }

    #[tokio::test]
    async fn concurrent_misses_load_once() {
        let loads = Arc::new(AtomicUsize::new(0));
        let memo = Arc::new(Memo::new(Duration::from_secs(60)));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (memo, loads) = (memo.clone(), loads.clone());
            tasks.push(tokio::spawn(async move {
                memo.get_or_load((), || async {
                    loads.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok::<_, ()>(42)
                })
                .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), Ok(42));
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn keyed_entries_end_with_their_generation_time_or_capacity() {
        let memo = KeyedMemo::new(Duration::from_secs(60), 2);
        memo.put("ada", 1, 7);
        assert_eq!(memo.get(&"ada", &7), Some(1));
        assert_eq!(memo.get(&"ada", &8), None, "a newer generation");
        memo.put("bob", 2, 7);
        memo.put("cy", 3, 7);
        assert_eq!(memo.get(&"ada", &7), None, "cleared when full");
        assert_eq!(memo.get(&"cy", &7), Some(3));
        memo.forget(&"cy");
        assert_eq!(memo.get(&"cy", &7), None);
        let short = KeyedMemo::new(Duration::ZERO, 10);
        short.put("ada", 1, 0);
        assert_eq!(short.get(&"ada", &0), None, "too old");
    }
}
