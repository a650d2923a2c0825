//! `GrantDuration`: how long a grant lasts, as people write it (`90m`, `4h`, `1d`, `1w`, or bare
//! seconds) and read it back. `FromStr` is the one parser and `Display` the one formatter of
//! durations in Gatepass.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A positive duration, in whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GrantDuration(i64);

impl GrantDuration {
    /// `secs` seconds (callers hold a stored, already validated value).
    pub fn from_secs(secs: i64) -> Self {
        GrantDuration(secs)
    }

    pub fn secs(self) -> i64 {
        self.0
    }
}

/// One hour: the usual length of a grant (what a new policy form starts from).
impl Default for GrantDuration {
    fn default() -> Self {
        GrantDuration(3600)
    }
}

impl FromStr for GrantDuration {
    type Err = String;

    /// Parses `90m`, `4h`, `1d`, `1w` (or bare seconds); the error says what to write instead.
    fn from_str(text: &str) -> Result<Self, String> {
        let t = text.trim().to_ascii_lowercase();
        let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
            Some((i, _)) => (&t[..i], t[i..].trim()),
            None => (t.as_str(), "s"),
        };
        let n: i64 = digits
            .parse()
            .map_err(|_| format!("{text:?} is not a duration; use e.g. 30m, 4h, 1d or 1w"))?;
        let mult = match unit {
            "s" | "sec" | "secs" => 1,
            "m" | "min" | "mins" => 60,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
            "d" | "day" | "days" => 86_400,
            "w" | "week" | "weeks" => 604_800,
            _ => return Err(format!("{text:?}: unknown unit {unit:?}; use m, h, d or w")),
        };
        n.checked_mul(mult)
            .filter(|s| *s > 0)
            .map(GrantDuration)
            .ok_or_else(|| format!("{text:?} is not a positive duration"))
    }
}

impl fmt::Display for GrantDuration {
    /// The largest whole unit: `1w`, `2d`, `4h`, `90m`, `45s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            s if s % 604_800 == 0 => write!(f, "{}w", s / 604_800),
            s if s % 86_400 == 0 => write!(f, "{}d", s / 86_400),
            s if s % 3600 == 0 => write!(f, "{}h", s / 3600),
            s if s % 60 == 0 => write!(f, "{}m", s / 60),
            s => write!(f, "{s}s"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print() {
        for (text, secs) in [
            ("90m", 5400),
            ("4h", 14_400),
            ("1d", 86_400),
            ("1w", 604_800),
            ("3600", 3600),
            (" 2 H ", 7200),
        ] {
            assert_eq!(
                text.parse::<GrantDuration>().map(|d| d.secs()),
                Ok(secs),
                "{text}"
            );
        }
        for bad in ["", "h", "-1h", "0m", "3 fortnights", "1.5h"] {
            assert!(bad.parse::<GrantDuration>().is_err(), "{bad}");
        }
        assert_eq!(GrantDuration::from_secs(5400).to_string(), "90m");
        assert_eq!(GrantDuration::from_secs(172_800).to_string(), "2d");
    }
}
