//! The pure rules of access policies, shared by the workflow, the catalog, the group pages and
//! drift detection: which policy applies to a group (its own, else the most specific matching
//! pattern), how patterns match, and the limits and syntax of grant durations.

use crate::model::{AppId, GroupId, Policy, PolicyTarget};

/// Shortest grant anyone may ask for.
pub const MIN_DURATION_SECS: i64 = 60;
/// Longest any policy may allow (90 days).
pub const MAX_POLICY_DURATION_SECS: i64 = 90 * 86_400;

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

/// The policy that applies to an Okta app: only one made for it (patterns match group names,
/// never apps).
pub fn resolve_app_policy<'p>(policies: &'p [Policy], app_id: &AppId) -> Option<&'p Policy> {
    policies
        .iter()
        .find(|p| matches!(&p.target, PolicyTarget::App(a) if a == app_id))
}

#[cfg(test)]
mod tests {
    use super::*;

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
