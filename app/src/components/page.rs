//! The frame of a page that needs a signed-in person: its title and heading, and the gate that
//! shows the body only to the people it is for (a 401 view to nobody signed in, 403 to others).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::session::get_me;
use crate::components::error_view::{ErrorView, Loading};
use crate::error::AppError;
use crate::model::Me;

/// Who a page is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Anyone signed in whom the synced directory knows.
    Requesters,
    /// Administrators (who need not be in the directory yet: configuring Okta comes before the
    /// first sync).
    Admins,
}

/// Why someone signed in may not see a page.
enum Refusal {
    NotInDirectory(Me),
    Forbidden,
}

/// Whether `me` is in `audience`.
fn admit(audience: Audience, me: Me) -> Result<(), Refusal> {
    match audience {
        Audience::Admins if me.is_admin => Ok(()),
        Audience::Admins => Err(Refusal::Forbidden),
        Audience::Requesters if me.in_directory => Ok(()),
        Audience::Requesters => Err(Refusal::NotInDirectory(me)),
    }
}

/// A page titled `title`, with it as its heading, whose `children` only `audience` sees.
#[component]
pub fn Page(title: &'static str, audience: Audience, children: ChildrenFn) -> impl IntoView {
    view! {
        <Title text=title />
        <h1>{title}</h1>
        <Gate audience children />
    }
}

/// Renders `children` for people in `audience`; others get the 401 or 403 view.
///
/// While it renders on the server the gate may build `children` more than once, so a page
/// makes its resources (and the actions they follow) in its route component, outside the
/// gate, and passes them in: a resource made inside would fetch once per build.
#[component]
pub fn Gate(audience: Audience, children: ChildrenFn) -> impl IntoView {
    let me = Resource::new(|| (), |_| get_me());
    view! {
        <Suspense fallback=|| view! { <Loading what="your session" /> }>
            {move || {
                me.get()
                    .map(|result| match result.map(|me| me.map(|me| admit(audience, me))) {
                        Ok(Some(Ok(()))) => children().into_any(),
                        Ok(Some(Err(Refusal::NotInDirectory(me)))) => {
                            view! { <NotInDirectory me /> }.into_any()
                        }
                        Ok(Some(Err(Refusal::Forbidden))) => {
                            view! { <ErrorView error=AppError::Forbidden /> }.into_any()
                        }
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
                " (Okta id " <code>{me.okta_id.to_string()}</code> "), but Gatepass has not seen "
                "you in Okta's directory. This happens when your account is new: the next "
                "directory sync picks it up. If it persists, ask a Gatepass administrator."
            </p>
        </section>
    }
}
