//! The frame of a page that needs a signed-in person: title, heading, sign-in gate.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::require_sign_in::RequireSignIn;

/// A page titled `title` whose body, shown only to a signed-in person, starts with `lead`.
#[component]
pub fn SignedInPage(title: &'static str, lead: &'static str) -> impl IntoView {
    view! {
        <Title text=title />
        <h1>{title}</h1>
        <RequireSignIn children=move |_me| view! { <p class="lead">{lead}</p> } />
    }
}
