//! Property tests for the parsers that read what people send to the server: `return_to` after
//! sign-in and configuration values from the environment. (The simulator's filter expressions
//! are tested in the `okta-sim` crate.)

use proptest::prelude::*;

use crate::config::Config;
use crate::oidc::safe_return_to;

const ORIGIN: &str = "https://gp.example.com";

proptest! {
    #[test]
    fn return_to_always_stays_on_the_origin(raw in "\\PC{0,80}|/[\\t\\n\\r \\\\/%0-9a-z.]{0,30}") {
        let target = safe_return_to(Some(&raw), ORIGIN);
        prop_assert!(target.starts_with('/') && !target.starts_with("//"), "{raw:?} -> {target}");
        prop_assert!(!target.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\'));
        let resolved = url::Url::parse(ORIGIN).unwrap().join(&target).unwrap();
        prop_assert_eq!(resolved.host_str(), Some("gp.example.com"));
        prop_assert!(!resolved.path().starts_with("/auth/"));
    }

    #[test]
    fn local_paths_are_kept(path in "(/[a-z0-9-]{1,12}){1,4}", query in proptest::option::of("[a-z]{1,6}=[0-9]{1,4}")) {
        let raw = match &query {
            Some(q) => format!("{path}?{q}"),
            None => path.clone(),
        };
        prop_assume!(!path.starts_with("/auth"));
        prop_assert_eq!(safe_return_to(Some(&raw), ORIGIN), raw);
    }

    #[test]
    fn config_values_from_the_environment_never_panic(value in "\\PC{0,40}") {
        for key in ["GATEPASS_LISTEN", "GATEPASS_DB__MAX_CONNECTIONS", "GATEPASS_OKTA__ORG_URL", "GATEPASS_SESSION__SIGN_IN_STARTS_PER_MINUTE"] {
            match Config::load(None, vec![(key.to_owned(), value.clone())]) {
                Ok(_) => {}
                Err(e) => {
                    // The error names the key, or its section (a section is checked as a
                    // whole: an org without a secret reference, say).
                    let text = e.to_string();
                    let dotted = key.trim_start_matches("GATEPASS_").to_lowercase().replace("__", ".");
                    let section = dotted.split('.').next().unwrap_or_default().to_owned();
                    prop_assert!(text.contains(key) || text.contains(&section), "{key}: {text}");
                }
            }
        }
    }
}
