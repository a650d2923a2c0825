//! Instants as Okta writes them: UTC, millisecond precision, `2024-01-02T03:04:05.000Z`.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Writes milliseconds since the epoch as Okta writes instants: `2024-01-02T03:04:05.000Z`
/// (out-of-range values clamp to the epoch). The simulator's own formatter, independent of the
/// client's, so a formatting bug on one side is not mirrored on the other.
pub fn write_instant(f: &mut impl std::fmt::Write, ms: i64) -> std::fmt::Result {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    write!(
        f,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// [`write_instant`] into a new string.
pub fn format_instant(ms: i64) -> String {
    let mut s = String::with_capacity(24);
    write_instant(&mut s, ms).expect("writing to a String");
    s
}

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

    #[test]
    fn formats_utc_with_milliseconds() {
        assert_eq!(format_instant(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_instant(1_700_000_000_007),
            "2023-11-14T22:13:20.007Z"
        );
        assert_eq!(format_instant(-1), "1969-12-31T23:59:59.999Z");
    }
}
