//! Request windows: when a policy lets requested access start, written
//! `Mon-Fri 09:00-18:00 Europe/Berlin` — days of the week, a time range and an IANA time zone.
//! Times are wall-clock times in that zone, so a window keeps its local hours across daylight
//! saving changes. A range whose end is not after its start runs past midnight
//! (`daily 22:00-06:00 UTC`): the days name the day it starts on.

use jiff::civil::Weekday;
use jiff::tz::TimeZone;

use crate::model::Timestamp;

const DAYS: [(&str, Weekday); 7] = [
    ("Mon", Weekday::Monday),
    ("Tue", Weekday::Tuesday),
    ("Wed", Weekday::Wednesday),
    ("Thu", Weekday::Thursday),
    ("Fri", Weekday::Friday),
    ("Sat", Weekday::Saturday),
    ("Sun", Weekday::Sunday),
];

/// A parsed request window.
#[derive(Debug, Clone)]
pub struct RequestWindow {
    /// Monday = 0 … Sunday = 6.
    days: [bool; 7],
    /// Minutes after midnight.
    start: u16,
    end: u16,
    zone_name: String,
    zone: TimeZone,
}

fn day_index(name: &str) -> Option<usize> {
    DAYS.iter().position(|(d, _)| d.eq_ignore_ascii_case(name))
}

fn minutes(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    // 24:00 is the end of the day.
    (h < 24 && m < 60 || h == 24 && m == 0).then_some(h * 60 + m)
}

fn clock(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

impl RequestWindow {
    /// Parses `<days> <HH:MM>-<HH:MM> <zone>`; days are `Mon-Fri`, `Mon,Wed,Fri`, `Sat-Sun`
    /// or `daily`. The error says what is wrong, for the policy form.
    pub fn parse(text: &str) -> Result<Self, String> {
        const SHAPE: &str = "write it like Mon-Fri 09:00-18:00 Europe/Berlin";
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [days_text, range, zone_name] = parts.as_slice() else {
            return Err(format!("{SHAPE} (days, hours, time zone)"));
        };
        let mut days = [false; 7];
        if days_text.eq_ignore_ascii_case("daily") {
            days = [true; 7];
        } else {
            for item in days_text.split(',') {
                let (from, to) = item.split_once('-').unwrap_or((item, item));
                let (Some(from), Some(to)) = (day_index(from), day_index(to)) else {
                    return Err(format!(
                        "{item:?} is not a day or range of days (Mon … Sun, e.g. Mon-Fri); {SHAPE}"
                    ));
                };
                let mut d = from;
                loop {
                    days[d] = true;
                    if d == to {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
        }
        let (start, end) = range
            .split_once('-')
            .and_then(|(a, b)| Some((minutes(a)?, minutes(b)?)))
            .ok_or_else(|| format!("{range:?} is not a time range like 09:00-18:00; {SHAPE}"))?;
        if start == end {
            return Err("the window's start and end are the same time".into());
        }
        let zone = jiff::tz::db().get(zone_name).map_err(|_| {
            format!("{zone_name:?} is not a time zone (use an IANA name such as Europe/Berlin, America/New_York or UTC)")
        })?;
        Ok(RequestWindow {
            days,
            start,
            end,
            zone_name: (*zone_name).to_owned(),
            zone,
        })
    }

    /// The window as it is stored and shown: `Mon-Fri 09:00-18:00 Europe/Berlin`.
    pub fn canonical(&self) -> String {
        let days = if self.days == [true; 7] {
            "daily".to_owned()
        } else {
            // Runs of consecutive days, Monday first.
            let mut runs: Vec<String> = Vec::new();
            let mut d = 0;
            while d < 7 {
                if !self.days[d] {
                    d += 1;
                    continue;
                }
                let from = d;
                while d + 1 < 7 && self.days[d + 1] {
                    d += 1;
                }
                runs.push(if from == d {
                    DAYS[d].0.to_owned()
                } else {
                    format!("{}-{}", DAYS[from].0, DAYS[d].0)
                });
                d += 1;
            }
            runs.join(",")
        };
        format!(
            "{days} {}-{} {}",
            clock(self.start),
            clock(self.end),
            self.zone_name
        )
    }

    /// Whether access may start at `at`; if not, the local day and time it is there, for the
    /// refusal (`Sat 10:15`).
    pub fn admits(&self, at: Timestamp) -> Result<(), String> {
        let instant = jiff::Timestamp::from_millisecond(at.millis())
            .map_err(|_| "a time out of range".to_owned())?;
        let local = instant.to_zoned(self.zone.clone());
        let day = local.weekday().to_monday_zero_offset() as usize;
        let now = local.hour() as u16 * 60 + local.minute() as u16;
        let inside = if self.start < self.end {
            self.days[day] && (self.start..self.end).contains(&now)
        } else {
            // Past midnight: the evening of a listed day, or the morning after one.
            (self.days[day] && now >= self.start) || (self.days[(day + 6) % 7] && now < self.end)
        };
        if inside {
            Ok(())
        } else {
            Err(format!("{} {}", DAYS[day].0, clock(now)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Milliseconds of a UTC time `2027-MM-DDTHH:MM`.
    fn utc(text: &str) -> Timestamp {
        let t: jiff::Timestamp = format!("{text}:00Z").parse().unwrap();
        Timestamp::from_millis(t.as_millisecond())
    }

    #[test]
    fn parses_and_writes_back_the_same_window() {
        for (text, canonical) in [
            (
                "Mon-Fri 09:00-18:00 Europe/Berlin",
                "Mon-Fri 09:00-18:00 Europe/Berlin",
            ),
            ("mon,wed,fri 08:30-12:00 UTC", "Mon,Wed,Fri 08:30-12:00 UTC"),
            (
                "daily 22:00-06:00 America/New_York",
                "daily 22:00-06:00 America/New_York",
            ),
            ("Sat-Mon 00:00-24:00 UTC", "Mon,Sat-Sun 00:00-24:00 UTC"),
        ] {
            assert_eq!(RequestWindow::parse(text).unwrap().canonical(), canonical);
        }
    }

    #[test]
    fn refuses_what_is_not_a_window_and_says_why() {
        for (text, says) in [
            ("Mon-Fri 09:00-18:00", "days, hours, time zone"),
            ("Someday 09:00-18:00 UTC", "not a day"),
            ("Mon-Fri 9-18 UTC", "not a time range"),
            ("Mon-Fri 09:00-25:00 UTC", "not a time range"),
            ("Mon-Fri 09:00-09:00 UTC", "the same time"),
            ("Mon-Fri 09:00-18:00 Mars/Olympus", "not a time zone"),
        ] {
            let error = RequestWindow::parse(text).unwrap_err();
            assert!(error.contains(says), "{text}: {error}");
        }
    }

    #[test]
    fn keeps_local_hours_across_a_daylight_saving_change() {
        // Berlin moved from UTC+1 to UTC+2 on Sunday 28 March 2027.
        let w = RequestWindow::parse("Mon-Fri 09:00-17:00 Europe/Berlin").unwrap();
        // 07:30 UTC: 08:30 in Berlin the Friday before (closed), 09:30 the Monday after (open).
        assert_eq!(w.admits(utc("2027-03-26T07:30")), Err("Fri 08:30".into()));
        assert_eq!(w.admits(utc("2027-03-29T07:30")), Ok(()));
        // 15:30 UTC: 16:30 before (open), 17:30 after (closed).
        assert_eq!(w.admits(utc("2027-03-26T15:30")), Ok(()));
        assert_eq!(w.admits(utc("2027-03-29T15:30")), Err("Mon 17:30".into()));
        // The weekend is closed whatever the hour.
        assert_eq!(w.admits(utc("2027-03-27T10:00")), Err("Sat 11:00".into()));
    }

    #[test]
    fn a_window_past_midnight_belongs_to_the_day_it_starts() {
        let w = RequestWindow::parse("Fri 22:00-06:00 UTC").unwrap();
        assert_eq!(w.admits(utc("2027-03-26T23:00")), Ok(())); // Friday night
        assert_eq!(w.admits(utc("2027-03-27T05:59")), Ok(())); // Saturday morning
        assert!(w.admits(utc("2027-03-27T06:00")).is_err());
        assert!(w.admits(utc("2027-03-26T05:00")).is_err()); // Friday morning: Thursday's
    }
}
