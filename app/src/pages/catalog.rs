//! `/request`: Request access. The Okta groups you may request, who approves them and for how long.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::require_sign_in::RequireSignIn;

/// `/request`
#[component]
pub fn CatalogPage() -> impl IntoView {
    view! {
        <Title text="Request access" />
        <h1>"Request access"</h1>
        <RequireSignIn children=|_me| {
            view! { <p class="lead">"The Okta groups you may request, who approves them and for how long."</p> }
        } />
    }
}
