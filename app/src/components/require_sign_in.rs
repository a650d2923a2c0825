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
                        Ok(Some(me)) => children(me).into_any(),
                        Ok(None) => view! { <ErrorView error=AppError::Unauthenticated /> }.into_any(),
                        Err(error) => view! { <ErrorView error /> }.into_any(),
                    })
            }}
        </Suspense>
    }
}
