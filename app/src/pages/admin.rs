//! `/admin`: Admin.

use leptos::prelude::*;

use crate::components::page::SignedInPage;

/// `/admin`
#[component]
pub fn AdminPage() -> impl IntoView {
    view! { <SignedInPage title="Admin" lead="The Okta integration, policies, requests and grants, and the audit log." /> }
}
