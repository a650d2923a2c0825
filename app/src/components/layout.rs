//! The page frame: header with navigation and the signed-in person, main content, footer.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::session::get_me;

/// Wraps every page.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="topbar">
            <a class="brand" href="/">
                <svg class="brand-mark" viewBox="0 0 32 32" width="24" height="24" aria-hidden="true">
                    <rect width="32" height="32" rx="7" fill="currentColor" />
                    <path
                        d="M8 25V12h16v13M6 12h20M11 8h10"
                        stroke="white"
                        stroke-width="3"
                        fill="none"
                        stroke-linecap="round"
                    />
                </svg>
                "Gatepass"
            </a>
            <nav id="primary-nav" class="primary-nav" aria-label="Main">
                <A href="/access">"My access"</A>
                <A href="/request">"Request access"</A>
                <A href="/approvals">"Approvals"</A>
                <A href="/reviews">"Reviews"</A>
                <A href="/settings/notifications">"Notifications"</A>
                <A href="/settings/tokens">"API tokens"</A>
                <A href="/admin">"Admin"</A>
            </nav>
            <WhoAmI />
        </header>
        <main id="main" class="content">{children()}</main>
        <footer class="footer muted">
            "Gatepass " {env!("CARGO_PKG_VERSION")} " · just-in-time access to Okta groups"
        </footer>
    }
}

/// The signed-in person, their roles and a sign-out button; or a sign-in link.
#[component]
fn WhoAmI() -> impl IntoView {
    let me = Resource::new(|| (), |_| get_me());
    // Someone signed in but not (yet) in the directory has no roles beyond admin: the header
    // then says what the session says.
    let roles = Resource::new(|| (), |_| crate::api::access::get_roles());
    view! {
        <div class="whoami">
            <Suspense fallback=|| view! { <span class="muted">"…"</span> }>
                {move || {
                    me.get()
                        .map(|result| match result {
                            Ok(Some(me)) => {
                                let known = roles.get().and_then(Result::ok).flatten().unwrap_or(crate::model::Roles {
                                    admin: me.is_admin,
                                    approver_of: 0,
                                });
                                let main = match (known.admin, known.approver_of) {
                                    (true, _) => "admin",
                                    (false, 0) => "requester",
                                    (false, _) => "approver",
                                };
                                let approves = (known.approver_of > 0).then(|| view! {
                                    <a class="muted small" href="/approvals" data-testid="approver-of">
                                        {format!("approver of {} group{}", known.approver_of, if known.approver_of == 1 { "" } else { "s" })}
                                    </a>
                                });
                                view! {
                                    <span class="user" title=me.login.clone()>
                                        {me.display_name}
                                    </span>
                                    <span class="badge" data-testid="roles" title=known.label()>{main}</span>
                                    {approves}
                                    <form method="post" action="/auth/logout">
                                        <button type="submit" class="button secondary small">
                                            "Sign out"
                                        </button>
                                    </form>
                                }
                                    .into_any()
                            }
                            Ok(None) => {
                                view! {
                                    <a class="button small" href="/auth/login" rel="external">
                                        "Sign in"
                                    </a>
                                }
                                    .into_any()
                            }
                            Err(_) => {
                                view! { <span class="muted">"Session unknown"</span> }.into_any()
                            }
                        })
                }}
            </Suspense>
        </div>
    }
}
