//! Generated orgs for benchmarks and load tests (`--scale users=N,groups=M,memberships=K`):
//! deterministic, of any size, with exactly the number of memberships asked for.

use std::collections::BTreeSet;

use crate::store::{Group, GroupKind, Org, User};

/// Size of a generated org.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scale {
    pub users: usize,
    pub groups: usize,
    pub memberships: usize,
}

impl std::str::FromStr for Scale {
    type Err = String;

    /// `users=N,groups=M,memberships=K` (any order; `k`/`m` suffixes allowed: `100k`, `1m`).
    fn from_str(s: &str) -> Result<Self, String> {
        let mut scale = Scale {
            users: 0,
            groups: 0,
            memberships: 0,
        };
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?}: expected key=number"))?;
            let v = v.trim().to_ascii_lowercase();
            let (digits, mult) = match v.strip_suffix('k') {
                Some(d) => (d, 1_000),
                None => match v.strip_suffix('m') {
                    Some(d) => (d, 1_000_000),
                    None => (v.as_str(), 1),
                },
            };
            let n: usize = digits
                .parse()
                .map_err(|_| format!("{part:?}: {v:?} is not a number"))?;
            let n = n
                .checked_mul(mult)
                .ok_or_else(|| format!("{part:?}: {v:?} is too large"))?;
            match k.trim() {
                "users" => scale.users = n,
                "groups" => scale.groups = n,
                "memberships" => scale.memberships = n,
                other => {
                    return Err(format!(
                        "unknown scale key {other:?} (users, groups, memberships)"
                    ))
                }
            }
        }
        if scale.memberships > 0 && (scale.users == 0 || scale.groups == 0) {
            return Err("memberships need users and groups".into());
        }
        if scale.memberships > scale.users.saturating_mul(scale.groups) {
            return Err("more memberships than users × groups".into());
        }
        Ok(scale)
    }
}

const FIRST: [&str; 16] = [
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Ken",
    "Margaret",
    "Dennis",
    "Radia",
    "Leslie",
    "Hedy",
    "Linus",
    "Katherine",
    "Tim",
];
const LAST: [&str; 16] = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Hamilton",
    "Ritchie",
    "Perlman",
    "Lamport",
    "Lamarr",
    "Torvalds",
    "Johnson",
    "Berners-Lee",
];

/// Adds a deterministic generated org: `users` users (a few suspended and deprovisioned),
/// `groups` groups (every tenth an APP_GROUP) and exactly `memberships` memberships spread
/// evenly over the groups.
pub fn generate(org: &mut Org, scale: Scale, now: i64) -> Result<(), String> {
    let day = 86_400_000;
    let first_user = org.users.len() as u32;
    for i in 0..scale.users {
        let status = match i % 97 {
            13 => "SUSPENDED",
            41 => "DEPROVISIONED",
            _ => "ACTIVE",
        };
        let created = now - 400 * day + (i as i64 % 365) * day;
        org.insert_user(User {
            id: String::new(),
            status: status.into(),
            created,
            activated: Some(created),
            status_changed: Some(created),
            last_login: None,
            last_updated: created,
            login: format!("user{i:07}@example.com"),
            email: format!("user{i:07}@example.com"),
            first_name: FIRST[i % FIRST.len()].into(),
            last_name: LAST[(i / FIRST.len()) % LAST.len()].into(),
            title: None,
            department: Some(format!("dept-{}", i % 40)),
            manager: None,
            groups: BTreeSet::new(),
            roles: Vec::new(),
        })?;
    }
    let first_group = org.groups.len() as u32;
    for j in 0..scale.groups {
        let created = now - 300 * day + (j as i64 % 300) * day;
        org.insert_group(Group {
            id: String::new(),
            name: format!("group-{j:05}"),
            description: format!("Generated group {j}"),
            kind: if j % 10 == 9 {
                GroupKind::App
            } else {
                GroupKind::Okta
            },
            created,
            last_updated: created,
            last_membership_updated: created,
            members: BTreeSet::new(),
            owners: Vec::new(),
        })?;
    }
    if scale.memberships == 0 {
        return Ok(());
    }
    let n = scale.users as u64;
    // A stride coprime with n walks distinct users within each group.
    let mut step = (n / 2 + 1).max(1);
    while gcd(step, n) != 1 {
        step += 1;
    }
    for j in 0..scale.groups {
        let count =
            scale.memberships / scale.groups + usize::from(j < scale.memberships % scale.groups);
        let start = (j as u64).wrapping_mul(7919) % n;
        for t in 0..count as u64 {
            let u = (start + t * step) % n;
            org.seed_membership(first_group + j as u32, first_user + u as u32);
        }
    }
    Ok(())
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_parses_and_checks() {
        let s: Scale = "users=100k,groups=10k,memberships=1m".parse().unwrap();
        assert_eq!(
            s,
            Scale {
                users: 100_000,
                groups: 10_000,
                memberships: 1_000_000
            }
        );
        assert!("users=2,groups=1,memberships=3"
            .parse::<Scale>()
            .unwrap_err()
            .contains("more memberships"));
        assert!("people=3"
            .parse::<Scale>()
            .unwrap_err()
            .contains("unknown scale key"));
        assert!("users=x"
            .parse::<Scale>()
            .unwrap_err()
            .contains("not a number"));
    }

    #[test]
    fn generated_orgs_have_exactly_the_memberships_asked_for() {
        let mut org = Org::new(1, 0);
        generate(
            &mut org,
            "users=1000,groups=30,memberships=7001".parse().unwrap(),
            1_700_000_000_000,
        )
        .unwrap();
        assert_eq!(org.users.len(), 1000);
        assert_eq!(org.groups.len(), 31);
        assert_eq!(org.membership_count(), 7001);
        let mut again = Org::new(1, 0);
        generate(
            &mut again,
            "users=1000,groups=30,memberships=7001".parse().unwrap(),
            1_700_000_000_000,
        )
        .unwrap();
        assert_eq!(org.users[500].id, again.users[500].id, "deterministic");
    }
}
