//! Time left until an instant: the absolute time when rendered on the server, a live
//! countdown once hydrated.

use std::time::Duration;

use leptos::prelude::*;

use crate::format::utc_datetime;
use crate::model::Timestamp;

/// `2h 05m 09s`, `3d 4h`, `ended`.
pub fn remaining(ms: i64) -> String {
    if ms <= 0 {
        return "ended".into();
    }
    let s = ms / 1000;
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m:02}m {sec:02}s")
    } else {
        format!("{m}m {sec:02}s")
    }
}

/// Counts down to `ends_at`.
#[component]
pub fn Countdown(ends_at: Timestamp) -> impl IntoView {
    let now = RwSignal::new(None::<Timestamp>);
    Effect::new(move |_| {
        let tick = move || {
            now.set(Some(Timestamp::from_millis(
                leptos::web_sys::js_sys::Date::now() as i64,
            )))
        };
        tick();
        set_interval(tick, Duration::from_secs(1));
    });
    let absolute = utc_datetime(ends_at);
    let title = absolute.clone();
    view! {
        <time datetime=ends_at.to_string() title=title data-testid="countdown">
            {move || match now.get() {
                Some(n) => format!("{} left", remaining(ends_at - n)),
                None => format!("until {absolute}"),
            }}
        </time>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_time_reads_well() {
        assert_eq!(remaining(0), "ended");
        assert_eq!(remaining(65_000), "1m 05s");
        assert_eq!(remaining(7_509_000), "2h 05m 09s");
        assert_eq!(remaining(3 * 86_400_000 + 4 * 3_600_000), "3d 4h");
    }
}
