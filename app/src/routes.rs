//! The route table: every page Gatepass serves, in one place.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

use crate::components::layout::Layout;
use crate::pages::{
    admin::AdminPage,
    admin_access::AdminAccessPage,
    approvals::ApprovalsPage,
    audit::AuditPage,
    catalog::{CatalogPage, RequestFormPage},
    drift::DriftPage,
    groups::{GroupPage, GroupsPage},
    home::HomePage,
    my_access::MyAccessPage,
    not_found::NotFoundPage,
    policies::PoliciesPage,
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
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async />
                    <Route path=path!("/access") view=MyAccessPage ssr=SsrMode::Async />
                    <Route path=path!("/request") view=CatalogPage ssr=SsrMode::Async />
                    <Route path=path!("/request/:group") view=RequestFormPage ssr=SsrMode::Async />
                    <Route path=path!("/approvals") view=ApprovalsPage ssr=SsrMode::Async />
                    <Route path=path!("/admin") view=AdminPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/okta") view=SettingsOktaPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/sync") view=SyncPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/policies") view=PoliciesPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/access") view=AdminAccessPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/audit") view=AuditPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/groups") view=GroupsPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/groups/:id") view=GroupPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/drift") view=DriftPage ssr=SsrMode::Async />
                </Routes>
            </Layout>
        </Router>
    }
}
