//! `/access`: My access. The Okta groups you hold through Gatepass, when each ends, and your pending requests.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::require_sign_in::RequireSignIn;

/// `/access`
#[component]
pub fn MyAccessPage() -> impl IntoView {
    view! {
        <Title text="My access" />
        <h1>"My access"</h1>
        <RequireSignIn children=|_me| {
            view! { <p class="lead">"The Okta groups you hold through Gatepass, when each ends, and your pending requests."</p> }
        } />
    }
}
