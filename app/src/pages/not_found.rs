//! The page for any path Gatepass does not serve; answered with status 404.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::error_view::ErrorView;
use crate::error::AppError;

/// Router fallback.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    view! {
        <Title text="Not found" />
        <ErrorView error=AppError::NotFound("This page".into()) />
    }
}
