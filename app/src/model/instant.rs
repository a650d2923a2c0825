//! `Timestamp`: an instant in UTC, as milliseconds since the Unix epoch — how instants are
//! stored in the database, sent to the browser and compared. A type of its own so that an
//! instant is never mistaken for a count, a duration or an id; `Display` writes it the way
//! Okta writes instants (`2024-01-02T03:04:05.000Z`) and [`Timestamp::utc_datetime`] the way
//! people read it.
//!
//! ```compile_fail
//! use app::model::{GrantDuration, Timestamp};
//! fn expires(at: Timestamp) {}
//! expires(GrantDuration::from_secs(3600));
//! ```

use std::fmt;
use std::ops::{Add, Sub};

use serde::{Deserialize, Serialize};

use super::GrantDuration;

/// An instant, to the millisecond, in UTC.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", derive(sqlx::Type), sqlx(transparent))]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The Unix epoch, 1970-01-01T00:00:00Z.
    pub const EPOCH: Timestamp = Timestamp(0);

    /// The instant `ms` milliseconds after the epoch.
    pub const fn from_millis(ms: i64) -> Self {
        Timestamp(ms)
    }

    /// Milliseconds since the epoch.
    pub const fn millis(self) -> i64 {
        self.0
    }

    /// `ms` milliseconds later (earlier when negative); saturates instead of overflowing.
    pub const fn plus_millis(self, ms: i64) -> Self {
        Timestamp(self.0.saturating_add(ms))
    }

    /// `secs` seconds later (earlier when negative).
    pub const fn plus_secs(self, secs: i64) -> Self {
        self.plus_millis(secs.saturating_mul(1000))
    }

    /// Milliseconds from `earlier` to `self` (negative when `earlier` is later).
    pub const fn millis_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// `2026-11-23 14:05:09 UTC`: how Gatepass shows an instant to people.
    pub fn utc_datetime(self) -> String {
        let c = Civil::of(self);
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        )
    }
}

/// The end of something that lasts `duration` from `self`.
impl Add<GrantDuration> for Timestamp {
    type Output = Timestamp;

    fn add(self, duration: GrantDuration) -> Timestamp {
        self.plus_secs(duration.secs())
    }
}

/// Milliseconds between two instants.
impl Sub for Timestamp {
    type Output = i64;

    fn sub(self, earlier: Timestamp) -> i64 {
        self.millis_since(earlier)
    }
}

/// Okta's instant format, always with milliseconds: `2024-01-02T03:04:05.000Z` (valid RFC 3339).
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = Civil::of(*self);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            c.year, c.month, c.day, c.hour, c.minute, c.second, c.milli
        )
    }
}

#[cfg(feature = "ssr")]
impl From<time::OffsetDateTime> for Timestamp {
    fn from(at: time::OffsetDateTime) -> Self {
        Timestamp((at.unix_timestamp_nanos() / 1_000_000) as i64)
    }
}

#[cfg(feature = "ssr")]
impl From<Timestamp> for time::OffsetDateTime {
    fn from(at: Timestamp) -> Self {
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.0) * 1_000_000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    }
}

/// A UTC calendar date and time of day (proleptic Gregorian), without a date library in the
/// browser bundle.
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    milli: i64,
}

impl Civil {
    fn of(at: Timestamp) -> Civil {
        let ms = at.0;
        let secs = ms.div_euclid(1000);
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        Civil {
            year: yoe + era * 400 + i64::from(month <= 2),
            month,
            day,
            hour: rem / 3600,
            minute: rem % 3600 / 60,
            second: rem % 60,
            milli: ms.rem_euclid(1000),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_instants_for_people_and_for_okta() {
        let at = Timestamp::from_millis(1_700_000_123_456);
        assert_eq!(at.utc_datetime(), "2023-11-14 22:15:23 UTC");
        assert_eq!(at.to_string(), "2023-11-14T22:15:23.456Z");
        assert_eq!(Timestamp::EPOCH.utc_datetime(), "1970-01-01 00:00:00 UTC");
        let leap = Timestamp::from_millis(951_782_400_000);
        assert_eq!(leap.to_string(), "2000-02-29T00:00:00.000Z");
        assert_eq!(
            Timestamp::from_millis(-1).to_string(),
            "1969-12-31T23:59:59.999Z"
        );
    }

    #[test]
    fn arithmetic_is_in_the_right_units() {
        let at = Timestamp::from_millis(10_000);
        assert_eq!(
            at + GrantDuration::from_secs(60),
            Timestamp::from_millis(70_000)
        );
        assert_eq!(at.plus_millis(-500).millis(), 9_500);
        assert_eq!(Timestamp::from_millis(70_000) - at, 60_000);
        assert_eq!(
            Timestamp::from_millis(i64::MAX).plus_secs(1).millis(),
            i64::MAX
        );
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn converts_to_and_from_offset_date_time() {
        let at = time::macros::datetime!(2026-03-04 05:06:07.089 +02:00);
        let ts = Timestamp::from(at);
        assert_eq!(ts.millis(), 1_772_593_567_089);
        assert_eq!(time::OffsetDateTime::from(ts), at);
        assert_eq!(ts.to_string(), "2026-03-04T03:06:07.089Z");
    }
}
