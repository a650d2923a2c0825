//! `/approvals`: Approvals.

use leptos::prelude::*;

use crate::components::page::SignedInPage;

/// `/approvals`
#[component]
pub fn ApprovalsPage() -> impl IntoView {
    view! { <SignedInPage title="Approvals" lead="Requests waiting for your decision, oldest first." /> }
}
