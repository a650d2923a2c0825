//! Formatting for display, the same in the browser and on the server.

use crate::model::Timestamp;

/// `2026-11-23 14:05:09 UTC`.
pub fn utc_datetime(at: Timestamp) -> String {
    at.utc_datetime()
}

/// `1h`, `90m`, `2d`, `1w`: a grant's duration for people.
pub fn describe_duration(secs: i64) -> String {
    crate::model::GrantDuration::from_secs(secs).to_string()
}

/// `850 ms`, `12.3 s`, `4 min 05 s`.
pub fn duration_ms(ms: i64) -> String {
    match ms {
        ms if ms < 1000 => format!("{ms} ms"),
        ms if ms < 60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        ms => format!("{} min {:02} s", ms / 60_000, ms % 60_000 / 1000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_instants_and_durations() {
        assert_eq!(
            utc_datetime(Timestamp::from_millis(1_700_000_123_456)),
            "2023-11-14 22:15:23 UTC"
        );
        assert_eq!(duration_ms(850), "850 ms");
        assert_eq!(duration_ms(12_345), "12.3 s");
        assert_eq!(duration_ms(245_000), "4 min 05 s");
    }
}
