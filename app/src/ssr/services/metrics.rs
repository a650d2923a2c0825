//! `/metrics` in Prometheus's text format: grants by state, Okta operations by kind and state,
//! operation latency and expiry lag (from the last 1,000), Okta calls by bucket and status,
//! notification deliveries by channel and state, and their latency.

use std::fmt::Write;

use crate::error::AppError;
use crate::ssr::core::Core;
use crate::ssr::db::{grants, notifications, outbox};

fn quantile(sorted: &[i64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i] as f64 / 1000.0
}

/// The metrics page.
pub async fn render(state: &Core) -> Result<String, AppError> {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(
        w,
        "# HELP gatepass_grants Grants by state.\n# TYPE gatepass_grants gauge"
    );
    for (s, n) in grants::grant_counts(&state.db).await? {
        let _ = writeln!(w, "gatepass_grants{{state=\"{s}\"}} {n}");
    }
    let _ = writeln!(w, "# HELP gatepass_okta_ops Okta membership operations by kind and state.\n# TYPE gatepass_okta_ops gauge");
    for (k, s, n) in outbox::op_counts(&state.db).await? {
        let _ = writeln!(w, "gatepass_okta_ops{{kind=\"{k}\",state=\"{s}\"}} {n}");
    }
    let _ = writeln!(w, "# HELP gatepass_okta_removals_failing Removals from Okta still retried after {} failed tries.\n# TYPE gatepass_okta_removals_failing gauge", crate::ssr::services::drift::REMOVAL_ALARM_ATTEMPTS);
    let _ = writeln!(
        w,
        "gatepass_okta_removals_failing {}",
        outbox::failing_removals(
            &state.db,
            crate::ssr::services::drift::REMOVAL_ALARM_ATTEMPTS
        )
        .await?
    );
    let (open, ignored) = crate::ssr::db::drift::count_live(&state.db).await?;
    let _ = writeln!(w, "# HELP gatepass_drift Differences between Okta and the grants, by state.\n# TYPE gatepass_drift gauge");
    let _ = writeln!(
        w,
        "gatepass_drift{{state=\"open\"}} {open}\ngatepass_drift{{state=\"ignored\"}} {ignored}"
    );
    let _ = writeln!(w, "# HELP gatepass_okta_op_latency_seconds Queueing to done, last 1000 operations.\n# TYPE gatepass_okta_op_latency_seconds gauge");
    for kind in ["add", "remove"] {
        let mut l = outbox::op_latencies(&state.db, kind, 1000).await?;
        l.sort_unstable();
        for q in [0.5, 0.99] {
            let _ = writeln!(
                w,
                "gatepass_okta_op_latency_seconds{{kind=\"{kind}\",quantile=\"{q}\"}} {}",
                quantile(&l, q)
            );
        }
    }
    let _ = writeln!(w, "# HELP gatepass_expiry_lag_seconds A grant's end to its membership's removal, last 1000 expiries.\n# TYPE gatepass_expiry_lag_seconds gauge");
    let mut lags = outbox::expiry_lags(&state.db, 1000).await?;
    lags.sort_unstable();
    for q in [0.5, 0.99] {
        let _ = writeln!(
            w,
            "gatepass_expiry_lag_seconds{{quantile=\"{q}\"}} {}",
            quantile(&lags, q)
        );
    }
    let _ = writeln!(w, "# HELP gatepass_notifications Notification deliveries by channel and state.\n# TYPE gatepass_notifications gauge");
    for (c, s, n) in notifications::counts(&state.db).await? {
        let _ = writeln!(
            w,
            "gatepass_notifications{{channel=\"{c}\",state=\"{s}\"}} {n}"
        );
    }
    let _ = writeln!(w, "# HELP gatepass_notification_latency_seconds Event to delivery, last 1000 deliveries.\n# TYPE gatepass_notification_latency_seconds gauge");
    let mut by_channel: std::collections::BTreeMap<String, Vec<i64>> = Default::default();
    for (channel, ms) in notifications::delivery_latencies(&state.db, 1000).await? {
        by_channel.entry(channel).or_default().push(ms);
    }
    for (channel, mut l) in by_channel {
        l.sort_unstable();
        for q in [0.5, 0.99] {
            let _ = writeln!(
                w,
                "gatepass_notification_latency_seconds{{channel=\"{channel}\",quantile=\"{q}\"}} {}",
                quantile(&l, q)
            );
        }
    }
    let _ = writeln!(w, "# HELP gatepass_okta_calls_total Okta calls by rate-limit bucket and HTTP status (0: no answer).\n# TYPE gatepass_okta_calls_total counter");
    if let Some(client) = state.okta.current().await {
        for ((bucket, status), n) in client.answers() {
            let _ = writeln!(
                w,
                "gatepass_okta_calls_total{{bucket=\"{bucket}\",status=\"{status}\"}} {n}"
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_of_milliseconds_in_seconds() {
        assert_eq!(quantile(&[], 0.5), 0.0);
        assert_eq!(quantile(&[100, 200, 300, 4000], 0.5), 0.3);
        assert_eq!(quantile(&[100, 200, 300, 4000], 0.99), 4.0);
    }
}
