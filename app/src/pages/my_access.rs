//! `/access`: My access.

use leptos::prelude::*;

use crate::components::page::SignedInPage;

/// `/access`
#[component]
pub fn MyAccessPage() -> impl IntoView {
    view! { <SignedInPage title="My access" lead="The Okta groups you hold through Gatepass, when each ends, and your pending requests." /> }
}
