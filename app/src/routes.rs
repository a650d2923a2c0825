//! The route table: every page Gatepass serves, in one place.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    lazy_route, path, Lazy, LazyRoute, SsrMode,
};

use crate::components::layout::Layout;
use crate::pages::{
    admin::AdminPage,
    admin_access::AdminAccessPage,
    admin_reviews::{AdminReviewPage, AdminReviewsPage},
    approvals::ApprovalsPage,
    audit::AuditPage,
    catalog::{BundleFormPage, CatalogPage, RequestFormPage},
    drift::DriftPage,
    groups::{GroupPage, GroupsPage},
    home::HomePage,
    my_access::MyAccessPage,
    my_notifications::MyNotificationsPage,
    my_tokens::MyTokensPage,
    not_found::NotFoundPage,
    notifications::NotificationsPage,
    policies::PoliciesPage,
    request::RequestPage,
    reviews::{ReviewPage, ReviewsPage},
    settings_okta::SettingsOktaPage,
    sync::SyncPage,
};

/// The application root: metadata, router and routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Stylesheet id="gatepass-css" href="/pkg/gatepass.css" />
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml" />
        <Title formatter=|page: String| {
            if page.is_empty() { "Gatepass".to_string() } else { format!("{page} · Gatepass") }
        } />
        // Every page waits for its data and arrives as complete HTML, so it works with
        // JavaScript disabled; hydration then makes it interactive.
        <Router>
            <Layout>
                <Routes fallback=NotFoundPage>
                    <Route path=path!("/") view={Lazy::<HomeRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/access") view={Lazy::<MyAccessRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/request") view={Lazy::<CatalogRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/request/bundle/:id") view={Lazy::<BundleFormRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/request/:group") view={Lazy::<RequestFormRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/requests/:id") view={Lazy::<RequestRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/approvals") view={Lazy::<ApprovalsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/reviews") view={Lazy::<ReviewsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/reviews/:id") view={Lazy::<ReviewRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/settings/notifications") view={Lazy::<MyNotificationsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/settings/tokens") view={Lazy::<MyTokensRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin") view={Lazy::<AdminRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/okta") view={Lazy::<SettingsOktaRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/sync") view={Lazy::<SyncRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/policies") view={Lazy::<PoliciesRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/access") view={Lazy::<AdminAccessRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/audit") view={Lazy::<AuditRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/groups") view={Lazy::<GroupsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/groups/:id") view={Lazy::<GroupRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/drift") view={Lazy::<DriftRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/reviews") view={Lazy::<AdminReviewsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/reviews/:id") view={Lazy::<AdminReviewRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/notifications") view={Lazy::<NotificationsRoute>::new()} ssr=SsrMode::Async />
                </Routes>
            </Layout>
        </Router>
    }
}

/// A page whose code the browser loads only when the page is shown: the route's view lives in
/// a separate WebAssembly chunk (`scripts/build-site.sh` splits the bundle at these points).
macro_rules! lazy_page {
    ($($route:ident => $page:ident),* $(,)?) => {$(
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page /> }.into_any()
            }
        }
    )*};
}

lazy_page! {
    HomeRoute => HomePage,
    MyAccessRoute => MyAccessPage,
    CatalogRoute => CatalogPage,
    RequestFormRoute => RequestFormPage,
    BundleFormRoute => BundleFormPage,
    ApprovalsRoute => ApprovalsPage,
    RequestRoute => RequestPage,
    MyNotificationsRoute => MyNotificationsPage,
    MyTokensRoute => MyTokensPage,
    AdminRoute => AdminPage,
    SettingsOktaRoute => SettingsOktaPage,
    SyncRoute => SyncPage,
    PoliciesRoute => PoliciesPage,
    AdminAccessRoute => AdminAccessPage,
    AuditRoute => AuditPage,
    GroupsRoute => GroupsPage,
    GroupRoute => GroupPage,
    DriftRoute => DriftPage,
    NotificationsRoute => NotificationsPage,
    ReviewsRoute => ReviewsPage,
    ReviewRoute => ReviewPage,
    AdminReviewsRoute => AdminReviewsPage,
    AdminReviewRoute => AdminReviewPage,
}
