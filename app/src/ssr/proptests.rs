//! Property tests for the parsers that read what people or Okta send: durations, secret
//! references, org URLs and the trust check, `Link` headers, search patterns. Each property
//! holds for every input proptest generates, including hostile ones.

use proptest::prelude::*;
use reqwest::header::{HeaderMap, HeaderValue, LINK};
use url::Url;

use crate::model::GrantDuration;
use crate::ssr::okta::client::{next_link, parse_org_url};
use crate::ssr::okta::OktaTrust;
use crate::ssr::secrets::{SecretRef, SecretSource};

fn secret_ref() -> impl Strategy<Value = SecretRef> {
    let source = prop_oneof![
        "[a-zA-Z0-9/_+=.@:-]{1,40}".prop_map(SecretSource::AwsSecretsManager),
        "[A-Z_][A-Z0-9_]{0,30}".prop_map(SecretSource::Env),
        "/[a-z0-9/._-]{1,40}".prop_map(SecretSource::File),
    ];
    (source, proptest::option::of("[a-z_]{1,12}"))
        .prop_map(|(source, json_key)| SecretRef { source, json_key })
}

proptest! {
    #[test]
    fn durations_never_panic_and_are_positive(text in "\\PC{0,40}") {
        if let Ok(d) = text.parse::<GrantDuration>() {
            prop_assert!(d.secs() > 0);
        }
    }

    #[test]
    fn described_durations_read_back(minutes in 1i64..=129_600) {
        let secs = minutes * 60;
        let d = GrantDuration::from_secs(secs);
        prop_assert_eq!(d.to_string().parse::<GrantDuration>(), Ok(d));
    }

    #[test]
    fn huge_numbers_are_refused_not_wrapped(n in (i64::MAX / 604_800)..i64::MAX, unit in "[smhdw]") {
        let parsed = format!("{n}{unit}").parse::<GrantDuration>().map(GrantDuration::secs);
        if let Ok(secs) = parsed {
            prop_assert!(secs > 0 && secs / n >= 1);
        }
    }

    #[test]
    fn secret_references_round_trip(r in secret_ref()) {
        prop_assert_eq!(r.to_string().parse::<SecretRef>(), Ok(r));
    }

    #[test]
    fn secret_reference_errors_never_repeat_the_input(text in "[A-Za-z0-9]{12,40}(:[A-Za-z0-9#-]{0,20})?") {
        if let Err(message) = text.parse::<SecretRef>() {
            prop_assert!(!message.contains(&text), "{message}");
        }
    }

    #[test]
    fn org_urls_are_https_or_loopback_and_have_no_path(text in "\\PC{0,60}") {
        if let Ok(url) = parse_org_url(&text) {
            let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
            prop_assert!(url.scheme() == "https" || loopback, "{url}");
            prop_assert_eq!(url.path(), "/");
            prop_assert!(url.query().is_none() && url.fragment().is_none());
        }
    }

    #[test]
    fn the_trust_allows_exactly_the_configured_origin(
        host in "[a-z]{1,10}(\\.[a-z]{1,10}){1,2}",
        other in "[a-z]{1,10}(\\.[a-z]{1,10}){1,2}",
        port in proptest::option::of(1u16..),
    ) {
        let org = parse_org_url(&host).unwrap();
        let trust = OktaTrust::new(vec![org.clone()], vec![]);
        prop_assert!(trust.allows_org(&org));
        let mut candidate = Url::parse(&format!("https://{other}")).unwrap();
        let _ = candidate.set_port(port);
        let same = other == host && candidate.port_or_known_default() == Some(443);
        prop_assert_eq!(trust.allows_org(&candidate), same);
    }

    #[test]
    fn next_links_never_leave_the_org(value in "\\PC{0,120}", host in "[a-z]{1,8}\\.example") {
        let org = Url::parse("https://acme.okta.com").unwrap();
        let mut headers = HeaderMap::new();
        for v in [value.clone(), format!("<https://{host}/api/v1/users?after=x>; rel=\"next\"")] {
            if let Ok(v) = HeaderValue::from_str(&v) {
                headers.append(LINK, v);
            }
        }
        if let Ok(Some(next)) = next_link(&headers, &org) {
            prop_assert_eq!(next.origin(), org.origin());
        }
    }

    #[test]
    fn search_patterns_escape_every_wildcard(needle in "\\PC{0,40}") {
        let pattern = crate::ssr::db::contains_pattern(&needle);
        let inner = &pattern[1..pattern.len() - 1];
        // Every % or _ inside is escaped: preceded by an odd run of backslashes.
        let chars: Vec<char> = inner.chars().collect();
        for (i, c) in chars.iter().enumerate() {
            if *c == '%' || *c == '_' {
                let run = chars[..i].iter().rev().take_while(|c| **c == '\\').count();
                prop_assert!(run % 2 == 1, "{pattern}");
            }
        }
    }
}
