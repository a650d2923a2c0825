//! `/request`: Request access.

use leptos::prelude::*;

use crate::components::page::SignedInPage;

/// `/request`
#[component]
pub fn CatalogPage() -> impl IntoView {
    view! { <SignedInPage title="Request access" lead="The Okta groups you may request, who approves them and for how long." /> }
}
