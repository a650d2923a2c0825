//! Gatepass's PagerDuty client against the simulator's PagerDuty stand-in, over HTTP: who is on
//! call (paging through a long schedule), a wrong key, an outage and rate limiting — each an
//! answer the access workflow can act on, none carrying the key.

use std::sync::Arc;
use std::time::Duration;

use app::ssr::pagerduty::{OnCallCheck, PagerDuty};
use app::ssr::secrets::local::LocalSecrets;
use app::ssr::secrets::{CachedSecrets, SecretRef};
use okta_sim::pagerduty::{Schedule, Shift};
use serde_json::json;

use crate::common::okta::start_sim;

const KEY: &str = "pd-test-key-0123456789";

fn client(base: &str, key_file: &std::path::Path) -> PagerDuty {
    let secrets = CachedSecrets::new(None, Arc::new(LocalSecrets), Duration::from_secs(60));
    let key: SecretRef = format!("file:{}", key_file.display()).parse().unwrap();
    PagerDuty::new(&format!("{base}/pagerduty"), key, secrets).unwrap()
}

#[tokio::test]
async fn the_on_call_check_reads_pagerdutys_answers() {
    let sim = start_sim(json!({
        "users": [
            { "login": "lena@example.com", "firstName": "Lena", "lastName": "Fischer" },
            { "login": "jonas@example.com", "firstName": "Jonas", "lastName": "Berg" },
        ]
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("pd-key");
    std::fs::write(&key_file, KEY).unwrap();
    sim.sim.pagerduty.set_api_key(KEY);
    let now = okta_sim::time::now_ms();
    // 230 past shifts of Jonas first, so that Lena's current one is on the third page; and a
    // schedule where she was on call only yesterday.
    let mut shifts: Vec<Shift> = (0..230)
        .map(|i| Shift {
            email: "jonas@example.com".into(),
            start: now - 3_600_000,
            end: Some(now + 3_600_000 + i),
        })
        .collect();
    shifts.push(Shift {
        email: "Lena@Example.com".into(),
        start: now - 60_000,
        end: None,
    });
    sim.sim.pagerduty.put_schedule(Schedule {
        id: "PLONG01".into(),
        name: "Long".into(),
        shifts,
    });
    sim.sim.pagerduty.put_schedule(Schedule {
        id: "PPAST01".into(),
        name: "Yesterday".into(),
        shifts: vec![Shift {
            email: "lena@example.com".into(),
            start: now - 2 * 86_400_000,
            end: Some(now - 86_400_000),
        }],
    });
    let pd = client(&sim.base_url(), &key_file);
    assert_eq!(pd.is_on_call("PLONG01", "lena@example.com").await, Ok(true));
    assert_eq!(
        pd.is_on_call("PLONG01", "LENA@example.com ").await,
        Ok(true)
    );
    assert_eq!(
        pd.is_on_call("PPAST01", "lena@example.com").await,
        Ok(false)
    );
    assert_eq!(
        pd.is_on_call("PNONE01", "lena@example.com").await,
        Ok(false)
    );
    assert_eq!(pd.is_on_call("PLONG01", "ada@example.com").await, Ok(false));
    assert_eq!(pd.is_on_call("PLONG01", "").await, Ok(false));
    // Paged: three calls for Lena's shift at offset 230.
    let calls = sim.sim.pagerduty.calls();
    assert!(
        calls.iter().filter(|c| c.contains("PLONG01")).count() >= 3
            && calls.iter().any(|c| c.contains("offset=200")),
        "{calls:?}"
    );

    // A wrong key: PagerDuty's 401, said without the key.
    sim.sim.pagerduty.set_api_key("another-key");
    let e = pd
        .is_on_call("PLONG01", "lena@example.com")
        .await
        .unwrap_err();
    assert!(e.contains("401") && e.contains("code 2006"), "{e}");
    assert!(!e.contains(KEY), "{e}");
    sim.sim.pagerduty.set_api_key(KEY);
    // An outage and rate limiting: an error, so the request goes to its approvers.
    for status in [503, 429] {
        sim.sim.pagerduty.set_fault(Some(status));
        let e = pd
            .is_on_call("PLONG01", "lena@example.com")
            .await
            .unwrap_err();
        assert!(e.contains(&status.to_string()), "{e}");
    }
    sim.sim.pagerduty.set_fault(None);
    // Nothing listening: unreachable.
    let gone = client("http://127.0.0.1:9", &key_file);
    let e = gone
        .is_on_call("PLONG01", "lena@example.com")
        .await
        .unwrap_err();
    assert!(e.contains("could not be reached"), "{e}");
    // An unreadable key: said, without a path.
    let missing = client(&sim.base_url(), &dir.path().join("nope"));
    let e = missing
        .is_on_call("PLONG01", "lena@example.com")
        .await
        .unwrap_err();
    assert_eq!(e, "the PagerDuty API key cannot be read");
}
