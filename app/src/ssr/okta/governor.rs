//! Keeps Gatepass within a share of each Okta rate-limit bucket and under a concurrency cap.
//!
//! Okta's limits are org-wide: every integration calling the org draws on the same buckets.
//! Okta reports, on every response, the bucket's limit, what remains of it (for everyone) and
//! when the window resets. Gatepass stops calling a bucket once `share` of its limit is used in
//! the current window (by anyone), counting its own calls still in flight as used, so several
//! calls at once cannot overshoot; the first call to a bucket goes alone, to learn the limit (a
//! bucket whose answers carry no rate-limit headers is then not held back).
//! After a 429 nothing more goes to the bucket until the reset the response names.
//!
//! Resets are epoch seconds on Okta's clock. The governor keeps a lower bound of Okta's clock
//! against the local monotonic one from each answer's `Date` (Okta's time when it answered,
//! rounded down to the second, is no later than its time when the answer arrived), so it resumes
//! right after a window resets instead of up to a second late, and never early.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{Notify, Semaphore, SemaphorePermit};
use tokio::time::Instant;

/// How fast the clock estimate is let go of, in seconds per second: far above the drift of
/// real clocks, far below what would matter within a window.
const CLOCK_DRIFT: f64 = 1e-4;
/// How long a bucket whose reset is unknown (a 429 without headers) stays closed.
const UNKNOWN_RESET: Duration = Duration::from_secs(60);

/// Okta's rate-limit bucket for a request path (workforce defaults differ per bucket).
pub fn rate_bucket(path: &str) -> &'static str {
    if path == "/api/v1/groups" || path.starts_with("/api/v1/groups/rules") {
        "groups"
    } else if path.starts_with("/api/v1/groups/") {
        "group"
    } else if path == "/api/v1/users" || path.starts_with("/api/v1/users/") {
        "users"
    } else if path == "/api/v1/apps" {
        "apps"
    } else if path.starts_with("/api/v1/apps/") {
        "app"
    } else if path.starts_with("/api/v1/logs") {
        "logs"
    } else if path == "/oauth2/v1/token" {
        "token"
    } else {
        "default"
    }
}

/// What a response said about its bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateInfo {
    pub limit: u32,
    pub remaining: u32,
    /// When the window resets: epoch seconds, Okta's clock (`X-Rate-Limit-Reset`).
    pub reset: u64,
    /// Okta's time when it answered (`Date`, epoch seconds), if it said.
    pub date: Option<u64>,
}

impl RateInfo {
    /// Reads `X-Rate-Limit-*` and `Date`.
    pub fn from_headers(headers: &reqwest::header::HeaderMap) -> Option<RateInfo> {
        let num = |name: &str| -> Option<u64> {
            headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
                .min()
        };
        let reset = num("x-rate-limit-reset")?;
        let date = headers
            .get(reqwest::header::DATE)
            .and_then(|d| d.to_str().ok())
            .and_then(parse_http_date);
        Some(RateInfo {
            limit: num("x-rate-limit-limit").unwrap_or(0) as u32,
            remaining: num("x-rate-limit-remaining").unwrap_or(0) as u32,
            reset,
            date,
        })
    }

    /// Whole seconds until the window resets, by Okta's clock (by this machine's without `Date`).
    pub fn reset_in(&self) -> u64 {
        self.reset
            .saturating_sub(self.date.unwrap_or_else(|| system_now().floor() as u64))
    }
}

fn system_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// Parses an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`) to epoch seconds.
pub fn parse_http_date(s: &str) -> Option<u64> {
    let format = time::format_description::parse_borrowed::<1>(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT",
    )
    .ok()?;
    let t = time::PrimitiveDateTime::parse(s.trim(), &format).ok()?;
    u64::try_from(t.assume_utc().unix_timestamp()).ok()
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    limit: u32,
    /// The least Okta said remains in the window ending at `reset` (answers arrive out of order).
    remaining: u32,
    /// The window's end: epoch seconds on Okta's clock, and on the local monotonic clock.
    reset: u64,
    resets_at: Instant,
    /// Gatepass's calls to the bucket sent and not yet answered.
    in_flight: u32,
}

/// Okta's clock as seen from here: a lower bound of (Okta's epoch seconds − local seconds since
/// `origin`), and when it was last raised.
#[derive(Debug, Default, Clone, Copy)]
struct OktaClock {
    offset: Option<f64>,
    raised_at: f64,
}

impl OktaClock {
    /// Takes in an answer sent at `sent` and received at `received` (local seconds) whose `Date`
    /// is `date` (Okta's epoch seconds, rounded down; `None`: this machine's clock instead).
    fn observe(&mut self, date: Option<u64>, sent: f64, received: f64) {
        let (lower, upper) = match date {
            // Okta's time at `received` is at least `date`; at `sent` it was below `date + 1`.
            Some(d) => (d as f64 - received, d as f64 + 1.0 - sent),
            None => {
                let offset = system_now() - received;
                (offset, offset)
            }
        };
        let current = self
            .offset
            .map(|o| o - CLOCK_DRIFT * (received - self.raised_at).max(0.0))
            // An estimate the answer contradicts (a clock was set back) is dropped.
            .filter(|o| *o <= upper);
        match current {
            Some(o) if o >= lower => self.offset = Some(o),
            _ => {
                self.offset = Some(lower);
                self.raised_at = received;
            }
        }
    }

    /// The local second at which Okta's clock reaches `epoch` (no earlier than the truth).
    fn local(&self, epoch: u64) -> Option<f64> {
        self.offset.map(|o| epoch as f64 - o)
    }
}

#[derive(Debug, Default)]
struct State {
    buckets: HashMap<&'static str, Bucket>,
    clock: OktaClock,
    /// Buckets whose limit is not known yet, with a call out to learn it.
    probing: HashMap<&'static str, u32>,
    /// Buckets whose answers carry no rate-limit headers: nothing to keep within.
    unmetered: HashSet<&'static str>,
}

/// Whether a call to a bucket may go now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Go,
    /// The share of the window is used: wait for the reset.
    WaitForReset(Instant),
    /// Calls in flight may use up the share: wait for one of them to be answered (or the reset).
    WaitForAnswer(Option<Instant>),
}

/// The governor shared by every call of one Okta client.
#[derive(Debug)]
pub struct Governor {
    share: f64,
    origin: Instant,
    state: Mutex<State>,
    /// Told whenever a call is answered or given up.
    changed: Notify,
    permits: Semaphore,
    concurrency: usize,
}

/// A call's right to go: its place in the bucket's count and in the concurrency cap. Report
/// the answer with [`Permit::answered`]; dropped without, the call counts as never made.
#[derive(Debug)]
pub struct Permit<'a> {
    governor: &'a Governor,
    bucket: &'static str,
    sent: Instant,
    _slot: SemaphorePermit<'a>,
    open: bool,
}

impl Permit<'_> {
    /// Marks the moment the request goes out (for reading Okta's clock from the answer).
    pub fn sending(&mut self) {
        self.sent = Instant::now();
    }

    /// Records what the answer said about the bucket (if anything), received now. The place in
    /// the concurrency cap is kept until the permit is dropped (after the body is read).
    pub fn answered(&mut self, info: Option<RateInfo>) {
        if std::mem::replace(&mut self.open, false) {
            self.governor
                .answered(self.bucket, Some(info), self.sent, Instant::now());
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if self.open {
            self.governor
                .answered(self.bucket, None, self.sent, Instant::now());
        }
    }
}

impl Governor {
    /// `share` of each bucket (0–1] may be used per window; at most `concurrency` calls at once.
    pub fn new(share: f64, concurrency: usize) -> Self {
        Governor {
            share: share.clamp(0.01, 1.0),
            origin: Instant::now(),
            state: Mutex::new(State::default()),
            changed: Notify::new(),
            permits: Semaphore::new(concurrency.max(1)),
            concurrency: concurrency.max(1),
        }
    }

    /// Calls that may be in flight at once.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    fn secs(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.origin).as_secs_f64()
    }

    fn instant(&self, secs: f64) -> Instant {
        self.origin + Duration::from_secs_f64(secs.max(0.0))
    }

    /// Calls `bucket` may take in a window.
    fn allowed(&self, limit: u32) -> u32 {
        ((f64::from(limit) * self.share).floor() as u32).max(1)
    }

    /// Whether a call to `bucket` may go at `now`, without taking a place.
    pub fn decide(&self, bucket: &'static str, now: Instant) -> Decision {
        let state = self.state.lock().expect("governor lock");
        self.decide_in(&state, bucket, now)
    }

    fn decide_in(&self, state: &State, bucket: &'static str, now: Instant) -> Decision {
        let Some(b) = state.buckets.get(bucket) else {
            // Nothing known yet: one call at a time until an answer tells the limit (or that
            // there is none to tell).
            return if state.unmetered.contains(bucket)
                || state.probing.get(bucket).copied().unwrap_or(0) == 0
            {
                Decision::Go
            } else {
                Decision::WaitForAnswer(None)
            };
        };
        let allowed = self.allowed(b.limit);
        if now < b.resets_at {
            let used = b.limit.saturating_sub(b.remaining);
            if used >= allowed || b.remaining == 0 {
                return Decision::WaitForReset(b.resets_at);
            }
            if used + b.in_flight >= allowed {
                return Decision::WaitForAnswer(Some(b.resets_at));
            }
            Decision::Go
        } else if b.in_flight >= allowed {
            // A new window: what is in flight may count in it.
            Decision::WaitForAnswer(None)
        } else {
            Decision::Go
        }
    }

    /// Waits until `bucket` may be called and takes a place in its count, then a concurrency
    /// permit.
    pub async fn acquire(&self, bucket: &'static str) -> Permit<'_> {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let decision = {
                let mut state = self.state.lock().expect("governor lock");
                let decision = self.decide_in(&state, bucket, Instant::now());
                if decision == Decision::Go {
                    match state.buckets.get_mut(bucket) {
                        Some(b) => b.in_flight += 1,
                        None => *state.probing.entry(bucket).or_default() += 1,
                    }
                }
                decision
            };
            match decision {
                Decision::Go => break,
                Decision::WaitForReset(at) => {
                    tracing::debug!(
                        bucket,
                        wait_ms = at.saturating_duration_since(Instant::now()).as_millis() as u64,
                        "okta: waiting for the rate-limit window"
                    );
                    tokio::time::sleep_until(at).await;
                }
                Decision::WaitForAnswer(until) => {
                    let until = until.unwrap_or_else(|| Instant::now() + UNKNOWN_RESET);
                    tokio::select! {
                        _ = changed => {}
                        _ = tokio::time::sleep_until(until) => {}
                    }
                }
            }
        }
        let slot = self
            .permits
            .acquire()
            .await
            .expect("semaphore never closed");
        Permit {
            governor: self,
            bucket,
            sent: Instant::now(),
            _slot: slot,
            open: true,
        }
    }

    /// A call to `bucket` sent at `sent` ended at `received`: answered, with what the answer
    /// said about the bucket if anything, or given up (`None`).
    fn answered(
        &self,
        bucket: &'static str,
        answer: Option<Option<RateInfo>>,
        sent: Instant,
        received: Instant,
    ) {
        {
            let mut state = self.state.lock().expect("governor lock");
            match state.buckets.get_mut(bucket) {
                Some(b) => b.in_flight = b.in_flight.saturating_sub(1),
                None => {
                    if let Some(n) = state.probing.get_mut(bucket) {
                        *n = n.saturating_sub(1);
                    }
                }
            }
            match answer {
                Some(Some(info)) => {
                    let (sent, received) = (self.secs(sent), self.secs(received));
                    state.clock.observe(info.date, sent, received);
                    state.unmetered.remove(bucket);
                    self.record(&mut state, bucket, info, received);
                }
                Some(None) if !state.buckets.contains_key(bucket) => {
                    state.unmetered.insert(bucket);
                }
                _ => {}
            }
        }
        self.changed.notify_waiters();
    }

    fn record(&self, state: &mut State, bucket: &'static str, info: RateInfo, received: f64) {
        let resets_at = match state.clock.local(info.reset) {
            Some(at) => self.instant(at.max(received)),
            None => self.instant(received) + Duration::from_secs(info.reset_in().max(1)),
        };
        let in_flight = state.probing.remove(bucket).unwrap_or(0);
        let entry = state.buckets.entry(bucket).or_insert(Bucket {
            limit: info.limit,
            remaining: info.remaining,
            reset: info.reset,
            resets_at,
            in_flight,
        });
        if info.reset > entry.reset {
            // A new window.
            entry.limit = info.limit;
            entry.remaining = info.remaining;
            entry.reset = info.reset;
            entry.resets_at = resets_at;
        } else if info.reset == entry.reset {
            entry.limit = info.limit;
            entry.remaining = entry.remaining.min(info.remaining);
            entry.resets_at = resets_at;
        }
        // An answer about an older window changes nothing.
    }

    /// After a 429: nothing more goes to `bucket` until the reset it names (or for a minute
    /// when it names none).
    pub fn exhausted(&self, bucket: &'static str, info: Option<RateInfo>) {
        {
            let mut state = self.state.lock().expect("governor lock");
            let now = Instant::now();
            match info {
                Some(info) => {
                    let received = self.secs(now);
                    self.record(
                        &mut state,
                        bucket,
                        RateInfo {
                            remaining: 0,
                            ..info
                        },
                        received,
                    );
                }
                None => {
                    let in_flight = state.probing.remove(bucket).unwrap_or(0);
                    let b = state.buckets.entry(bucket).or_insert(Bucket {
                        limit: 0,
                        remaining: 0,
                        reset: 0,
                        resets_at: now,
                        in_flight,
                    });
                    b.remaining = 0;
                    b.resets_at = b.resets_at.max(now + UNKNOWN_RESET);
                }
            }
        }
        self.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_okta_headers_with_the_servers_date() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("x-rate-limit-limit", "600".parse().unwrap());
        h.insert("x-rate-limit-remaining", "12".parse().unwrap());
        h.insert("x-rate-limit-reset", "784111800".parse().unwrap());
        h.insert("date", "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap());
        let info = RateInfo::from_headers(&h).unwrap();
        assert_eq!(
            info,
            RateInfo {
                limit: 600,
                remaining: 12,
                reset: 784_111_800,
                date: Some(784_111_777),
            }
        );
        assert_eq!(info.reset_in(), 23);
        assert_eq!(
            RateInfo::from_headers(&reqwest::header::HeaderMap::new()),
            None
        );
    }

    /// An answer received `at` seconds after the governor's origin, Okta's clock reading
    /// `okta_at` then (epoch seconds with a fraction, as Okta would know it).
    fn answer(
        g: &Governor,
        bucket: &'static str,
        at: f64,
        okta_at: f64,
        limit: u32,
        remaining: u32,
        window: u64,
    ) {
        let date = okta_at.floor() as u64;
        let reset = (date / window + 1) * window;
        g.answered(
            bucket,
            Some(Some(RateInfo {
                limit,
                remaining,
                reset,
                date: Some(date),
            })),
            g.instant(at - 0.001),
            g.instant(at),
        );
    }

    #[test]
    fn waits_once_the_share_is_used_and_not_before() {
        let g = Governor::new(0.5, 4);
        let t0 = g.origin;
        assert_eq!(g.decide("users", t0), Decision::Go, "nothing known yet");
        // Okta's clock is 1,000,000.25 s when ours is 0: windows of 30 s.
        answer(&g, "users", 1.0, 1_000_001.25, 10, 6, 30);
        assert_eq!(
            g.decide("users", g.instant(1.0)),
            Decision::Go,
            "4 of 10 used, share is 5"
        );
        answer(&g, "users", 1.5, 1_000_001.75, 10, 5, 30);
        let Decision::WaitForReset(at) = g.decide("users", g.instant(1.5)) else {
            panic!("share used")
        };
        // The window ends at Okta's 1,000,020, ours 19.75; known to within the half second
        // between the answers' receipt and the second they were stamped in.
        let at = g.secs(at);
        assert!((19.75..=20.26).contains(&at), "resumes at {at}");
        assert_eq!(
            g.decide("groups", g.instant(1.5)),
            Decision::Go,
            "buckets are separate"
        );
        assert_eq!(
            g.decide("users", g.instant(20.3)),
            Decision::Go,
            "window reset"
        );
        // An answer about the older window, arriving late, does not undo the newer one.
        answer(&g, "users", 21.0, 1_000_021.25, 10, 9, 30);
        let late = RateInfo {
            limit: 10,
            remaining: 6,
            reset: 1_000_020,
            date: Some(1_000_019),
        };
        g.answered("users", Some(Some(late)), g.instant(19.0), g.instant(21.1));
        assert_eq!(g.decide("users", g.instant(21.2)), Decision::Go);
    }

    #[test]
    fn reads_the_reset_to_the_millisecond_after_a_second_turns() {
        let g = Governor::new(0.5, 4);
        // Okta's clock is ours + 1,000,000.6: answers just before and just after its second turns.
        answer(&g, "group", 0.3, 1_000_000.9, 1000, 600, 2);
        answer(&g, "group", 0.41, 1_000_001.01, 1000, 499, 2);
        let Decision::WaitForReset(at) = g.decide("group", g.instant(0.42)) else {
            panic!("share used")
        };
        // Okta's 1,000,002 is our 1.4.
        let at = g.secs(at);
        assert!((1.4..1.42).contains(&at), "resumes at {at}");
    }

    #[test]
    fn calls_in_flight_count_against_the_share() {
        let g = Governor::new(0.5, 16);
        answer(&g, "group", 0.1, 1_000_000.1, 10, 8, 60);
        // 2 used, share 5: three more may go at once, not sixteen.
        let mut state = g.state.lock().unwrap();
        for _ in 0..3 {
            assert_eq!(g.decide_in(&state, "group", g.instant(0.2)), Decision::Go);
            state.buckets.get_mut("group").unwrap().in_flight += 1;
        }
        assert!(matches!(
            g.decide_in(&state, "group", g.instant(0.2)),
            Decision::WaitForAnswer(Some(_))
        ));
        drop(state);
        // Answered: two of them counted by Okta, and one given up.
        answer(&g, "group", 0.3, 1_000_000.3, 10, 7, 60);
        answer(&g, "group", 0.3, 1_000_000.3, 10, 6, 60);
        g.answered("group", None, g.instant(0.2), g.instant(0.3));
        assert_eq!(g.decide("group", g.instant(0.4)), Decision::Go, "4 used");
    }

    #[tokio::test]
    async fn the_first_call_to_a_bucket_goes_alone() {
        let g = Governor::new(0.5, 8);
        let first = g.acquire("users").await;
        assert_eq!(
            g.decide("users", Instant::now()),
            Decision::WaitForAnswer(None)
        );
        assert_eq!(g.decide("groups", Instant::now()), Decision::Go);
        drop(first);
        assert_eq!(
            g.decide("users", Instant::now()),
            Decision::Go,
            "given up: another may probe"
        );
    }

    #[tokio::test]
    async fn answers_without_rate_headers_leave_the_bucket_unmetered() {
        let g = Governor::new(0.5, 8);
        let mut probe = g.acquire("default").await;
        assert_eq!(
            g.decide("default", Instant::now()),
            Decision::WaitForAnswer(None)
        );
        probe.answered(None);
        drop(probe);
        let (_a, _b) = (g.acquire("default").await, g.acquire("default").await);
        assert_eq!(
            g.decide("default", Instant::now()),
            Decision::Go,
            "calls go at once"
        );
    }

    #[test]
    fn a_429_closes_the_bucket_until_its_reset() {
        let g = Governor::new(0.5, 4);
        answer(&g, "groups", 0.1, 1_000_000.1, 500, 400, 60);
        assert_eq!(g.decide("groups", g.instant(0.2)), Decision::Go);
        g.exhausted(
            "groups",
            Some(RateInfo {
                limit: 500,
                remaining: 400,
                reset: 1_000_020,
                date: Some(1_000_000),
            }),
        );
        assert!(matches!(
            g.decide("groups", g.instant(0.2)),
            Decision::WaitForReset(_)
        ));
    }

    #[test]
    fn a_clock_set_back_is_noticed() {
        let mut c = OktaClock::default();
        c.observe(Some(1_000_000), 0.0, 0.1);
        assert!((c.offset.unwrap() - 999_999.9).abs() < 1e-6);
        // Okta's clock went back an hour: the old estimate contradicts the answer.
        c.observe(Some(996_400), 10.0, 10.1);
        assert!((c.offset.unwrap() - 996_389.9).abs() < 1e-6);
    }

    #[test]
    fn buckets_follow_okta() {
        assert_eq!(rate_bucket("/api/v1/users"), "users");
        assert_eq!(rate_bucket("/api/v1/groups"), "groups");
        assert_eq!(rate_bucket("/api/v1/groups/00g1/users"), "group");
        assert_eq!(rate_bucket("/api/v1/logs"), "logs");
        assert_eq!(rate_bucket("/api/v1/users/me"), "users");
    }
}
