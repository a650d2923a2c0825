//! Shows an [`AppError`] to people, and sets the HTTP status of a server-rendered page to match.

use leptos::prelude::*;

use crate::error::AppError;

/// A full error panel: heading, message, and a way back.
#[component]
pub fn ErrorView(error: AppError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(options) = use_context::<leptos_axum::ResponseOptions>() {
        options.set_status(error.status_code());
    }
    let status = error.status_code().as_u16();
    let sign_in = (error == AppError::Unauthenticated).then(|| {
        let location = leptos_router::hooks::use_location();
        let href = format!(
            "/auth/login?return_to={}",
            crate::url::encode_query_value(&format!(
                "{}{}",
                location.pathname.get_untracked(),
                location.search.get_untracked()
            ))
        );
        view! {
            <p>
                <a class="button" href=href rel="external">"Sign in with Okta"</a>
            </p>
        }
    });
    view! {
        <section class="panel error-panel" role="alert" data-status=status>
            <h2>{error.title()}</h2>
            <p>{error.to_string()}</p>
            {sign_in}
            <p class="muted">
                <a href="/">"Back to the start page"</a>
            </p>
        </section>
    }
}

/// Renders the first error of an [`ErrorBoundary`] with [`ErrorView`].
pub fn render_errors(errors: ArcRwSignal<Errors>) -> impl IntoView {
    let first = errors
        .get()
        .into_iter()
        .next()
        .map(|(_, e)| {
            e.downcast_ref::<AppError>()
                .cloned()
                .unwrap_or(AppError::Internal)
        })
        .unwrap_or(AppError::Internal);
    view! { <ErrorView error=first /> }
}

/// A small inline "loading" line for `Suspense` fallbacks.
#[component]
pub fn Loading(#[prop(into)] what: String) -> impl IntoView {
    view! {
        <p class="loading" aria-busy="true">
            <span class="spinner" aria-hidden="true"></span>
            {format!("Loading {what}…")}
        </p>
    }
}

/// A refused form, next to it: the field and what is wrong with it (a validation error), or
/// the error as [`ErrorView`] shows it.
#[component]
pub fn FormError(error: AppError, #[prop(optional)] testid: Option<&'static str>) -> impl IntoView {
    match error {
        AppError::Invalid { field, message } => view! {
            <p class="form-error" role="alert" data-testid=testid><strong>{field}</strong> ": " {message}</p>
        }
        .into_any(),
        error => view! { <ErrorView error /> }.into_any(),
    }
}
