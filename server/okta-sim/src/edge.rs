//! What every simulated Okta response goes through: `Date` and `X-Okta-Request-Id`, per-bucket
//! per-window rate limits with `X-Rate-Limit-*` headers, the concurrency limit, injected faults
//! (latency, 5xx, 429 storms, dropped connections) and the request log tests read back.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::http::{random_id, OktaError};
use super::Sim;

/// Okta's rate-limit buckets for the endpoints the simulator serves, from Okta's documented
/// Management API limits (workforce orgs, per minute): `/api/v1/users` (list, create) 600 and
/// everything about one user (`/api/v1/users/{idOrLogin}…`) in the same `users` bucket;
/// `/api/v1/groups` (list, create) and group rules 500; `/api/v1/groups/{id}…` (one group, its
/// members and owners) 1,000; `/api/v1/apps` (list, create) 100 and `/api/v1/apps/{id}…` (one
/// app, its users and groups) 500; `/api/v1/logs` 120; the org authorization server's
/// `/oauth2/v1/token` 600; every other endpoint 1,200 (`default`).
///
/// Patterns are matched segment by segment: `*` is one segment, `**` one or more. The first
/// match wins. Written independently of Gatepass's client (`app::ssr::okta::governor`), so a
/// mistake on either side shows up as a disagreement in the tests instead of being mirrored.
pub const RATE_BUCKETS: &[(&str, &str)] = &[
    ("/api/v1/users", "users"),
    ("/api/v1/users/**", "users"),
    ("/api/v1/groups", "groups"),
    ("/api/v1/groups/rules", "groups"),
    ("/api/v1/groups/rules/**", "groups"),
    ("/api/v1/groups/*", "group"),
    ("/api/v1/groups/*/**", "group"),
    ("/api/v1/apps", "apps"),
    ("/api/v1/apps/*", "app"),
    ("/api/v1/apps/*/**", "app"),
    ("/api/v1/logs", "logs"),
    ("/oauth2/v1/token", "token"),
];

/// The rate-limit bucket of a request path ([`RATE_BUCKETS`]; `default` when none matches).
pub fn rate_bucket(path: &str) -> &'static str {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    RATE_BUCKETS
        .iter()
        .find(|(pattern, _)| {
            let pattern: Vec<&str> = pattern.split('/').skip(1).collect();
            matches_segments(&pattern, &segments)
        })
        .map_or("default", |&(_, bucket)| bucket)
}

fn matches_segments(pattern: &[&str], path: &[&str]) -> bool {
    match (pattern.split_first(), path.split_first()) {
        (None, None) => true,
        (Some((&"**", _)), Some(_)) => true,
        (Some((&"*", rest)), Some((seg, more))) => !seg.is_empty() && matches_segments(rest, more),
        (Some((p, rest)), Some((seg, more))) => p == seg && matches_segments(rest, more),
        _ => false,
    }
}

/// Rate-limit settings: Okta's workforce defaults unless changed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Limits {
    /// Length of a counting window in seconds (Okta: 60).
    pub window_secs: u64,
    /// Requests per window per bucket; `default` covers buckets not listed.
    pub limits: HashMap<String, u32>,
    /// Requests in flight at once for the whole org (Okta: 75).
    pub concurrency: usize,
}

impl Default for Limits {
    fn default() -> Self {
        let limits = [
            ("users", 600),
            ("groups", 500),
            ("group", 1000),
            ("apps", 100),
            ("app", 500),
            ("logs", 120),
            ("token", 600),
            ("default", 1200),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Limits {
            window_secs: 60,
            limits,
            concurrency: 75,
        }
    }
}

impl Limits {
    fn limit(&self, bucket: &str) -> u32 {
        self.limits
            .get(bucket)
            .or_else(|| self.limits.get("default"))
            .copied()
            .unwrap_or(1200)
    }
}

/// Partial update of [`Limits`] from the control API.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LimitsPatch {
    pub window_secs: Option<u64>,
    pub limits: Option<HashMap<String, u32>>,
    pub concurrency: Option<usize>,
}

/// Counters for the current window.
#[derive(Debug)]
pub struct RateLimiter {
    pub limits: Limits,
    window: u64,
    counts: HashMap<&'static str, u32>,
}

/// The answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Epoch second at which the window resets.
    pub reset: u64,
}

impl RateLimiter {
    pub fn new(limits: Limits) -> Self {
        RateLimiter {
            limits,
            window: 0,
            counts: HashMap::new(),
        }
    }

    /// Changes the settings; counters start again.
    pub fn apply(&mut self, patch: LimitsPatch) {
        if let Some(w) = patch.window_secs {
            self.limits.window_secs = w.max(1);
        }
        if let Some(l) = patch.limits {
            self.limits.limits.extend(l);
        }
        if let Some(c) = patch.concurrency {
            self.limits.concurrency = c;
        }
        self.counts.clear();
    }

    fn roll(&mut self, now_secs: u64) -> u64 {
        let w = self.limits.window_secs.max(1);
        let window = now_secs / w;
        if window != self.window {
            self.window = window;
            self.counts.clear();
        }
        (window + 1) * w
    }

    /// Counts one request against `bucket`; refused once the window's limit is spent.
    /// A forced storm refuses everything until the window resets.
    pub fn check(&mut self, bucket: &'static str, now_secs: u64, storm: bool) -> Decision {
        let reset = self.roll(now_secs);
        let limit = self.limits.limit(bucket);
        let used = self.counts.entry(bucket).or_insert(0);
        if storm || *used >= limit {
            return Decision {
                allowed: false,
                limit,
                remaining: 0,
                reset,
            };
        }
        *used += 1;
        Decision {
            allowed: true,
            limit,
            remaining: limit - *used,
            reset,
        }
    }
}

/// Injected faults.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Faults {
    /// Added to every API response.
    pub latency_ms: u64,
    /// Share of API calls (0–1) answered with 500 E0000009.
    pub error_rate: f64,
    /// Share of API calls (0–1) whose connection is closed without an answer.
    pub drop_rate: f64,
    /// Every API call gets 429 with `Remaining: 0` until this is turned off.
    pub rate_limited: bool,
}

impl Faults {
    /// Checks the shares are in 0–1.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [("errorRate", self.error_rate), ("dropRate", self.drop_rate)] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{name} must be between 0 and 1, got {v}"));
            }
        }
        Ok(())
    }
}

/// One line of the request log.
#[derive(Debug, Clone, Serialize)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
    pub bucket: &'static str,
    /// When the request arrived (ms since the epoch).
    #[serde(rename = "atMs")]
    pub at_ms: i64,
}

/// The most requests the log keeps (older ones are dropped).
pub const REQUEST_LOG_CAP: usize = 200_000;

/// Decrements the in-flight counter when a request ends, however it ends.
struct InFlight(Arc<Sim>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The middleware.
pub async fn okta_edge(State(sim): State<Arc<Sim>>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or_default().to_owned();
    let bucket = rate_bucket(&path);
    let faults = sim.faults.read().expect("faults lock").clone();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();

    let in_flight = sim.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    let _guard = InFlight(sim.clone());
    let (decision, concurrency) = {
        let mut limiter = sim.limiter.lock().expect("limiter lock");
        let over = in_flight > limiter.limits.concurrency;
        (
            limiter.check(bucket, now.as_secs(), faults.rate_limited || over),
            over,
        )
    };

    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    let mut resp = if !decision.allowed {
        let e = OktaError::rate_limited();
        if concurrency {
            e.cause("Too many concurrent requests").into_response()
        } else {
            e.into_response()
        }
    } else {
        let (drop, fail) = {
            use rand::Rng;
            let mut rng = rand::thread_rng();
            (
                rng.gen_bool(faults.drop_rate.clamp(0.0, 1.0)),
                rng.gen_bool(faults.error_rate.clamp(0.0, 1.0)),
            )
        };
        if drop {
            sim.log_request(LoggedRequest {
                method: method.to_string(),
                path,
                query,
                status: 0,
                bucket,
                at_ms: now.as_millis() as i64,
            });
            // Ends the connection's task without an answer; `resume_unwind` skips the panic
            // hook, so nothing is printed.
            std::panic::resume_unwind(Box::new("okta-sim: dropped connection"));
        }
        if fail {
            OktaError::internal().into_response()
        } else {
            next.run(req).await
        }
    };

    let refused_for_concurrency = resp.status() == StatusCode::TOO_MANY_REQUESTS && concurrency;
    let h = resp.headers_mut();
    h.insert("x-okta-request-id", header_value(random_id("", 27)));
    h.insert(
        "x-rate-limit-limit",
        header_value(decision.limit.to_string()),
    );
    h.insert(
        "x-rate-limit-remaining",
        header_value(decision.remaining.to_string()),
    );
    h.insert(
        "x-rate-limit-reset",
        header_value(decision.reset.to_string()),
    );
    h.insert(
        axum::http::header::DATE,
        header_value(httpdate(now.as_secs())),
    );
    if refused_for_concurrency {
        // Okta reports a concurrency refusal with a zero limit.
        h.insert("x-rate-limit-limit", HeaderValue::from_static("0"));
    }
    sim.log_request(LoggedRequest {
        method: method.to_string(),
        path,
        query,
        status: resp.status().as_u16(),
        bucket,
        at_ms: now.as_millis() as i64,
    });
    resp
}

fn header_value(s: String) -> HeaderValue {
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static("-"))
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn httpdate(epoch_secs: u64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(epoch_secs as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[t.weekday().number_days_from_monday() as usize],
        t.day(),
        MONTHS[u8::from(t.month()) as usize - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_count_per_bucket_and_reset() {
        let mut limits = Limits {
            window_secs: 10,
            ..Limits::default()
        };
        limits.limits.insert("users".into(), 2);
        let mut rl = RateLimiter::new(limits);
        let a = rl.check("users", 100, false);
        assert_eq!((a.allowed, a.remaining, a.reset), (true, 1, 110));
        assert!(rl.check("users", 101, false).allowed);
        let c = rl.check("users", 109, false);
        assert_eq!((c.allowed, c.remaining), (false, 0));
        assert!(
            rl.check("groups", 109, false).allowed,
            "other buckets unaffected"
        );
        let d = rl.check("users", 110, false);
        assert_eq!((d.allowed, d.remaining, d.reset), (true, 1, 120));
        let storm = rl.check("groups", 111, true);
        assert!(!storm.allowed);
        assert_eq!(storm.limit, 500);
    }

    #[test]
    fn paths_fall_in_okta_buckets() {
        for (path, bucket) in [
            ("/api/v1/users", "users"),
            ("/api/v1/users/", "users"),
            ("/api/v1/users/me", "users"),
            ("/api/v1/users/00u1/groups", "users"),
            ("/api/v1/users/00u1/roles/ra1/targets/groups", "users"),
            ("/api/v1/groups", "groups"),
            ("/api/v1/groups/rules", "groups"),
            ("/api/v1/groups/rules/0pr1", "groups"),
            ("/api/v1/groups/00g1", "group"),
            ("/api/v1/groups/00g1/users", "group"),
            ("/api/v1/groups/00g1/users/00u1", "group"),
            ("/api/v1/groups/00g1/owners", "group"),
            ("/api/v1/apps", "apps"),
            ("/api/v1/apps/0oa1", "app"),
            ("/api/v1/apps/0oa1/users", "app"),
            ("/api/v1/apps/0oa1/users/00u1", "app"),
            ("/api/v1/apps/0oa1/groups", "app"),
            ("/api/v1/appsx", "default"),
            ("/api/v1/logs", "logs"),
            ("/oauth2/v1/token", "token"),
            ("/oauth2/default/v1/token", "default"),
            ("/api/v1/meta/types/user", "default"),
            ("/api/v1/meta/schemas/user/default", "default"),
            ("/api/v1/usersx", "default"),
            ("/", "default"),
        ] {
            assert_eq!(rate_bucket(path), bucket, "{path}");
        }
    }

    #[test]
    fn http_dates_are_rfc_7231() {
        assert_eq!(httpdate(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
    }

    #[test]
    fn fault_shares_are_checked() {
        let f = Faults {
            error_rate: 1.5,
            ..Faults::default()
        };
        assert!(f.validate().unwrap_err().contains("errorRate"));
        assert!(Faults::default().validate().is_ok());
    }
}
