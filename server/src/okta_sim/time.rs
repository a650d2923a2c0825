//! Instants as Okta writes them: UTC, millisecond precision, `2024-01-02T03:04:05.000Z`.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Milliseconds since the epoch as Okta writes them (one formatter, shared with the client).
pub use app::ssr::clock::{okta_instant as format_instant, write_okta_instant as write_instant};

/// Parses an RFC 3339 instant (as in filters and `since`/`until`) to milliseconds.
pub fn parse_instant(s: &str) -> Option<i64> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_okta_format() {
        let s = "2024-01-02T03:04:05.678Z";
        let ms = parse_instant(s).unwrap();
        assert_eq!(format_instant(ms), s);
        assert_eq!(
            parse_instant("2024-01-02T03:04:05+01:00")
                .map(format_instant)
                .as_deref(),
            Some("2024-01-02T02:04:05.000Z")
        );
        assert_eq!(parse_instant("yesterday"), None);
    }
}
