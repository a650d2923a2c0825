//! The search box of list pages: a GET form on `q`, so results have a URL and work without
//! JavaScript.

use leptos::prelude::*;

/// A search form posting `q` to `action` by GET.
#[component]
pub fn SearchForm(
    /// Where the form goes (the list page itself).
    action: &'static str,
    /// What the box searches, for people and screen readers.
    placeholder: &'static str,
    /// The button's text.
    #[prop(default = "Search")]
    button: &'static str,
    /// The current `q`.
    #[prop(into)]
    value: Signal<String>,
) -> impl IntoView {
    view! {
        <form method="get" action=action class="search" role="search">
            <label for="q" class="sr-only">{placeholder}</label>
            <input id="q" name="q" type="search" placeholder=placeholder value=value />
            <button type="submit" class="button secondary">{button}</button>
        </form>
    }
}
