//! When something happened (or will): the absolute time in UTC, labelled, when rendered on the
//! server and without JavaScript; once hydrated, relative ("3 h ago", "in 20 min") with the
//! time in the browser's own time zone on hover.

use leptos::prelude::*;

use crate::format::utc_datetime;
use crate::model::Timestamp;

/// `just now`, `5 min ago`, `3 h ago`, `2 days ago`, `in 20 min`: `ms` from now (negative: past).
pub fn relative(ms: i64) -> String {
    let past = ms < 0;
    let s = ms.unsigned_abs() / 1000;
    if s < 45 {
        return "just now".into();
    }
    let amount = match s {
        s if s < 3_600 => format!("{} min", (s + 30) / 60),
        s if s < 86_400 => format!("{} h", (s + 1_800) / 3_600),
        s => {
            let days = (s + 43_200) / 86_400;
            format!("{days} day{}", if days == 1 { "" } else { "s" })
        }
    };
    if past {
        format!("{amount} ago")
    } else {
        format!("in {amount}")
    }
}

/// `at` on one line: UTC on the server, relative once hydrated.
#[component]
pub fn When(at: Timestamp) -> impl IntoView {
    let shown = RwSignal::new(None::<(String, String)>);
    Effect::new(move |_| {
        let now = leptos::web_sys::js_sys::Date::now() as i64;
        let local = leptos::web_sys::js_sys::Date::new(&(at.millis() as f64).into())
            .to_locale_string("default", &leptos::wasm_bindgen::JsValue::UNDEFINED);
        shown.set(Some((relative(at.millis() - now), String::from(local))));
    });
    let absolute = utc_datetime(at);
    let utc = absolute.clone();
    view! {
        <time class="when" datetime=at.to_string()
            title=move || shown.get().map_or_else(|| utc.clone(), |(_, local)| local)>
            {move || shown.get().map_or_else(|| absolute.clone(), |(rel, _)| rel)}
        </time>
    }
}

#[cfg(test)]
mod tests {
    use super::relative;

    #[test]
    fn relative_times_read_well() {
        assert_eq!(relative(-10_000), "just now");
        assert_eq!(relative(-5 * 60_000), "5 min ago");
        assert_eq!(relative(20 * 60_000), "in 20 min");
        assert_eq!(relative(-3 * 3_600_000), "3 h ago");
        assert_eq!(relative(-86_400_000), "1 day ago");
        assert_eq!(relative(-3 * 86_400_000), "3 days ago");
    }
}
