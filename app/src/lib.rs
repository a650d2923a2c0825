//! Gatepass's user interface and server functions.
//!
//! The same crate compiles twice: with `ssr` for the server (rendering, server functions and
//! everything under [`ssr`]) and with `hydrate` for the browser bundle, which must never contain
//! server-only code.

pub mod api;
pub mod components;
pub mod error;
pub mod format;
pub mod model;
pub mod pages;
pub mod routes;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod url;

pub use routes::App;

use leptos::prelude::*;
use leptos_meta::MetaTags;

/// The HTML document every server-rendered page is streamed into.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The Content-Security-Policy allows inline scripts only with this response's nonce; the
    // server puts it into the request (see `server/src/hardening.rs`) and Leptos adds it to the
    // hydration script and every script it streams.
    #[cfg(feature = "ssr")]
    if let Some(nonce) = leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<ssr::CspNonce>().cloned())
    {
        leptos::prelude::provide_context(leptos::nonce::Nonce::from_value(nonce.0));
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Browser entry point, called by the `frontend` crate; done when the page is interactive.
/// Pages are lazy routes (see [`routes`]): hydration first loads the code of the page shown.
#[cfg(feature = "hydrate")]
pub async fn hydrate() {
    let body = leptos::prelude::document()
        .body()
        .expect("a page has a body");
    leptos::mount::hydrate_from_async(body, App).await.forget();
}
