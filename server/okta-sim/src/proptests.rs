//! Property tests for the simulator's parsers of what clients send: Okta filter/search
//! expressions, `limit`/`after` paging parameters and `--scale` specs.

use proptest::prelude::*;

use crate::filter::{parse, Kind};
use crate::http::paging;
use crate::seed::Scale;

proptest! {
    #[test]
    fn filter_expressions_never_panic(text in "\\PC{0,80}|(status|lastUpdated|profile\\.login) (eq|gt|lt|sw|co) \"[^\"]{0,10}\"( (and|or) .{0,20})?") {
        let schema = |attr: &str| match attr {
            "status" | "profile.login" => Some(Kind::Text),
            "lastUpdated" => Some(Kind::Instant),
            _ => None,
        };
        let _ = parse(&text, &schema);
    }

    #[test]
    fn limits_are_refused_or_within_the_maximum(raw in "\\PC{0,12}|-?[0-9]{1,22}") {
        let query = vec![("limit".to_owned(), raw.clone())];
        if let Ok(p) = paging(&query, 20, 200) {
            prop_assert!((1..=200).contains(&p.limit), "{raw:?} -> {}", p.limit);
        }
    }

    #[test]
    fn scale_specs_never_panic(spec in "\\PC{0,40}|((users|groups|memberships)=[0-9]{1,25}[kmKM]?,?){0,4}") {
        if let Ok(s) = spec.parse::<Scale>() {
            prop_assert!(s.memberships <= s.users.saturating_mul(s.groups), "{spec:?}");
        }
    }
}
