//! Gate for pages that need a signed-in person.

use leptos::prelude::*;

use crate::api::session::get_me;
use crate::components::error_view::{ErrorView, Loading};
use crate::error::AppError;
use crate::model::Me;

/// Renders `children` with the signed-in person, or a 401 error view when nobody is signed in.
#[component]
pub fn RequireSignIn<F, V>(children: F) -> impl IntoView
where
    F: Fn(Me) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let me = Resource::new(|| (), |_| get_me());
    view! {
        <Suspense fallback=|| view! { <Loading what="your session" /> }>
            {move || {
                me.get()
                    .map(|result| match result {
                        Ok(Some(me)) if !me.in_directory => {
                            view! { <NotInDirectory me /> }.into_any()
                        }
                        Ok(Some(me)) => children(me).into_any(),
                        Ok(None) => view! { <ErrorView error=AppError::Unauthenticated /> }.into_any(),
                        Err(error) => view! { <ErrorView error /> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

/// Shown to someone signed in whom the synced Okta directory does not know (yet).
#[component]
fn NotInDirectory(me: Me) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(options) = use_context::<leptos_axum::ResponseOptions>() {
        options.set_status(http::StatusCode::FORBIDDEN);
    }
    view! {
        <section class="panel notice" role="status" data-testid="not-in-directory">
            <h2>"You are not in Gatepass's directory yet"</h2>
            <p>
                "You signed in as " <strong>{me.email.clone()}</strong>
                " (Okta id " <code>{me.okta_id.clone()}</code> "), but Gatepass has not seen "
                "you in Okta's directory. This happens when your account is new: the next "
                "directory sync picks it up. If it persists, ask a Gatepass administrator."
            </p>
        </section>
    }
}

/// Renders `children` for a signed-in administrator; others get a 403 error view. An admin
/// need not be in the directory yet: configuring Okta comes before the first sync.
#[component]
pub fn RequireAdmin<F, V>(children: F) -> impl IntoView
where
    F: Fn(Me) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let me = Resource::new(|| (), |_| get_me());
    view! {
        <Suspense fallback=|| view! { <Loading what="your session" /> }>
            {move || {
                me.get()
                    .map(|result| match result {
                        Ok(Some(me)) if me.is_admin => children(me).into_any(),
                        Ok(Some(_)) => view! { <ErrorView error=AppError::Forbidden /> }.into_any(),
                        Ok(None) => view! { <ErrorView error=AppError::Unauthenticated /> }.into_any(),
                        Err(error) => view! { <ErrorView error /> }.into_any(),
                    })
            }}
        </Suspense>
    }
}
