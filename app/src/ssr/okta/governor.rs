//! Keeps Gatepass within a share of each Okta rate-limit bucket and under a concurrency cap.
//!
//! Okta reports, on every response, the bucket's limit, what remains and when the window
//! resets. Before a call the governor waits for the reset when Gatepass has used its share
//! (default half) of the bucket in the current window; after a 429 it waits for the reset the
//! response names, measured against the response's own `Date` so clock skew does not matter.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{Semaphore, SemaphorePermit};

/// Okta's rate-limit bucket for a request path (workforce defaults differ per bucket).
pub fn rate_bucket(path: &str) -> &'static str {
    if path == "/api/v1/groups" || path.starts_with("/api/v1/groups/rules") {
        "groups"
    } else if path.starts_with("/api/v1/groups/") {
        "group"
    } else if path == "/api/v1/users" || path.starts_with("/api/v1/users/") {
        "users"
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
    /// Seconds until the window resets, by the server's clock.
    pub reset_in: u64,
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
        let now = headers
            .get(reqwest::header::DATE)
            .and_then(|d| d.to_str().ok())
            .and_then(parse_http_date)
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs()
            });
        Some(RateInfo {
            limit: num("x-rate-limit-limit").unwrap_or(0) as u32,
            remaining: num("x-rate-limit-remaining").unwrap_or(0) as u32,
            reset_in: reset.saturating_sub(now),
        })
    }
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
    remaining: u32,
    /// When the window resets, on the local monotonic clock.
    resets_at: tokio::time::Instant,
}

/// The governor shared by every call of one Okta client.
#[derive(Debug)]
pub struct Governor {
    share: f64,
    buckets: Mutex<HashMap<&'static str, Bucket>>,
    permits: Semaphore,
}

impl Governor {
    /// `share` of each bucket (0–1] may be used per window; at most `concurrency` calls at once.
    pub fn new(share: f64, concurrency: usize) -> Self {
        Governor {
            share: share.clamp(0.01, 1.0),
            buckets: Mutex::new(HashMap::new()),
            permits: Semaphore::new(concurrency.max(1)),
        }
    }

    /// How long to wait before calling `bucket` now.
    pub fn wait_before(&self, bucket: &'static str) -> Option<Duration> {
        self.wait_before_at(bucket, tokio::time::Instant::now())
    }

    /// How long to wait before calling `bucket` at `now`.
    pub fn wait_before_at(
        &self,
        bucket: &'static str,
        now: tokio::time::Instant,
    ) -> Option<Duration> {
        let buckets = self.buckets.lock().expect("governor lock");
        let b = buckets.get(bucket)?;
        if now >= b.resets_at {
            return None;
        }
        let used = b.limit.saturating_sub(b.remaining);
        let allowed = ((f64::from(b.limit) * self.share).floor() as u32).max(1);
        (used >= allowed || b.remaining == 0).then(|| b.resets_at - now)
    }

    /// Waits until `bucket` may be called, then takes a concurrency permit.
    pub async fn acquire(&self, bucket: &'static str) -> SemaphorePermit<'_> {
        while let Some(wait) = self.wait_before(bucket) {
            tracing::debug!(
                bucket,
                wait_ms = wait.as_millis() as u64,
                "okta: waiting for the rate-limit window"
            );
            tokio::time::sleep(wait).await;
        }
        self.permits
            .acquire()
            .await
            .expect("semaphore never closed")
    }

    /// Records what a response said about `bucket`.
    pub fn observe(&self, bucket: &'static str, info: RateInfo) {
        let resets_at = tokio::time::Instant::now() + Duration::from_secs(info.reset_in.max(1));
        self.buckets.lock().expect("governor lock").insert(
            bucket,
            Bucket {
                limit: info.limit,
                remaining: info.remaining,
                resets_at,
            },
        );
    }

    /// After a 429: nothing more goes to `bucket` until its reset.
    pub fn exhausted(&self, bucket: &'static str, info: RateInfo) {
        self.observe(
            bucket,
            RateInfo {
                remaining: 0,
                ..info
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_okta_headers_against_the_servers_date() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("x-rate-limit-limit", "600".parse().unwrap());
        h.insert("x-rate-limit-remaining", "12".parse().unwrap());
        h.insert("x-rate-limit-reset", "784111800".parse().unwrap());
        h.insert("date", "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap());
        assert_eq!(
            RateInfo::from_headers(&h),
            Some(RateInfo {
                limit: 600,
                remaining: 12,
                reset_in: 23
            })
        );
        assert_eq!(
            RateInfo::from_headers(&reqwest::header::HeaderMap::new()),
            None
        );
    }

    #[tokio::test]
    async fn waits_once_the_share_is_used_and_not_before() {
        let g = Governor::new(0.5, 4);
        assert_eq!(g.wait_before("users"), None, "nothing known yet");
        g.observe(
            "users",
            RateInfo {
                limit: 10,
                remaining: 6,
                reset_in: 30,
            },
        );
        assert_eq!(g.wait_before("users"), None, "4 of 10 used, share is 5");
        g.observe(
            "users",
            RateInfo {
                limit: 10,
                remaining: 5,
                reset_in: 30,
            },
        );
        let wait = g.wait_before("users").expect("share used");
        assert!(wait <= Duration::from_secs(30) && wait > Duration::from_secs(25));
        assert_eq!(g.wait_before("groups"), None, "buckets are separate");
        let later = tokio::time::Instant::now() + Duration::from_secs(31);
        assert_eq!(g.wait_before_at("users", later), None, "window reset");
        g.exhausted(
            "groups",
            RateInfo {
                limit: 500,
                remaining: 400,
                reset_in: 5,
            },
        );
        assert!(
            g.wait_before("groups").is_some(),
            "a 429 closes the bucket until reset"
        );
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
