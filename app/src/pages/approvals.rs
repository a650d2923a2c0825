//! `/approvals`: Approvals. Requests waiting for your decision, oldest first.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::require_sign_in::RequireSignIn;

/// `/approvals`
#[component]
pub fn ApprovalsPage() -> impl IntoView {
    view! {
        <Title text="Approvals" />
        <h1>"Approvals"</h1>
        <RequireSignIn children=|_me| {
            view! { <p class="lead">"Requests waiting for your decision, oldest first."</p> }
        } />
    }
}
