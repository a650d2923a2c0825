//! The browser bundle: hydrates the server-rendered Gatepass app.

use leptos::web_sys::js_sys::Reflect;
use wasm_bindgen::prelude::{wasm_bindgen, JsValue};

/// Called by the hydration script Leptos puts in every page.
#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    wasm_bindgen_futures::spawn_local(async {
        // Loads the shown page's code (a lazy route), then hydrates.
        app::hydrate().await;
        // Lets browser tests (and curious people) know the page is interactive.
        let _ = Reflect::set(
            &leptos::prelude::window(),
            &JsValue::from_str("__gatepassHydrated"),
            &JsValue::TRUE,
        );
    });
}
