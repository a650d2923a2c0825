//! Time as a dependency: services read "now" from a [`Clock`] so tests can move time without
//! sleeping.

use std::sync::{Arc, Mutex};

use time::{format_description::well_known::Rfc3339, Duration, OffsetDateTime};

use crate::model::Timestamp;

/// A source of the current UTC instant.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> OffsetDateTime;

    /// The current instant, as Gatepass stores and compares instants.
    fn timestamp(&self) -> Timestamp {
        Timestamp::from(self.now())
    }
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to; for tests.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<OffsetDateTime>>);

impl ManualClock {
    pub fn at(start: OffsetDateTime) -> Self {
        ManualClock(Arc::new(Mutex::new(start)))
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// RFC 3339 text of an instant, in UTC.
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let clock = ManualClock::at(datetime!(2026-01-01 00:00 UTC));
        assert_eq!(clock.now(), datetime!(2026-01-01 00:00 UTC));
        clock.advance(Duration::minutes(90));
        assert_eq!(clock.now(), datetime!(2026-01-01 01:30 UTC));
    }

    #[test]
    fn formats_and_stores_instants_in_utc() {
        let at = datetime!(2026-03-04 05:06:07.089 +02:00);
        assert_eq!(rfc3339(at), "2026-03-04T03:06:07.089Z");
        assert_eq!(ManualClock::at(at).timestamp().millis(), 1_772_593_567_089);
    }
}
