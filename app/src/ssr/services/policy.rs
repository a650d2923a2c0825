//! The pure rules of access policies, shared by the workflow, the catalog, the group pages and
//! drift detection: which policy applies to a group (its own, else the most specific matching
//! pattern), how patterns match, and the limits and syntax of grant durations.

use crate::model::{GroupId, Policy, PolicyTarget};

/// Shortest grant anyone may ask for.
pub const MIN_DURATION_SECS: i64 = 60;
/// Longest any policy may allow (90 days).
pub const MAX_POLICY_DURATION_SECS: i64 = 90 * 86_400;
/// Parses `90m`, `4h`, `1d`, `1w` (or bare seconds) into seconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
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
        .ok_or_else(|| format!("{text:?} is not a positive duration"))
}

/// Whether a group name matches a policy pattern (`*`: any run of characters).
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || !name[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// The policy that applies to a group: its own, else the most specific matching pattern
/// (the one with the most literal characters).
pub fn resolve_policy<'p>(
    policies: &'p [Policy],
    group_id: &GroupId,
    group_name: &str,
) -> Option<&'p Policy> {
    policies
        .iter()
        .find(|p| matches!(&p.target, PolicyTarget::Group(g) if g == group_id))
        .or_else(|| {
            policies
                .iter()
                .filter_map(|p| match &p.target {
                    PolicyTarget::Pattern(pat) if pattern_matches(pat, group_name) => {
                        Some((pat.replace('*', "").len(), p))
                    }
                    _ => None,
                })
                .max_by_key(|(literal, _)| *literal)
                .map(|(_, p)| p)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::describe_duration;

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
            assert_eq!(parse_duration(text), Ok(secs), "{text}");
        }
        for bad in ["", "h", "-1h", "0m", "3 fortnights", "1.5h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(describe_duration(5400), "90m");
        assert_eq!(describe_duration(172_800), "2d");
    }

    #[test]
    fn patterns_match_names() {
        assert!(pattern_matches("aws-*", "aws-prod"));
        assert!(pattern_matches("*-admin", "prod-db-admin"));
        assert!(pattern_matches("aws-*-admin", "aws-prod-admin"));
        assert!(!pattern_matches("aws-*-admin", "aws-prod-readonly"));
        assert!(pattern_matches("exact", "exact"));
        assert!(!pattern_matches("exact", "exactly"));
        assert!(pattern_matches("*", "anything"));
    }
}
