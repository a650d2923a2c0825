//! `/admin`: Admin. The Okta integration, policies, requests and grants, and the audit log.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::require_sign_in::RequireSignIn;

/// `/admin`
#[component]
pub fn AdminPage() -> impl IntoView {
    view! {
        <Title text="Admin" />
        <h1>"Admin"</h1>
        <RequireSignIn children=|_me| {
            view! { <p class="lead">"The Okta integration, policies, requests and grants, and the audit log."</p> }
        } />
    }
}
