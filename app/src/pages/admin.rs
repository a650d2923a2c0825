//! `/admin`: the administrator's start page.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::require_sign_in::RequireAdmin;

/// `/admin`
#[component]
pub fn AdminPage() -> impl IntoView {
    view! {
        <Title text="Admin" />
        <h1>"Admin"</h1>
        <RequireAdmin children=|_me| view! {
            <p class="lead">"The Okta integration, policies, requests and grants, and the audit log."</p>
            <ul class="cards">
                <li><a href="/admin/okta"><strong>"Okta integration"</strong>
                    <span>"Domain, credential, connection test and capabilities."</span></a></li>
                <li><a href="/admin/sync"><strong>"Directory sync"</strong>
                    <span>"Schedule, recent runs, sync now."</span></a></li>
                <li><a href="/admin/access"><strong>"Requests and grants"</strong>
                    <span>"Everything pending and live; revoke any grant."</span></a></li>
                <li><a href="/admin/audit"><strong>"Audit log"</strong>
                    <span>"Every change, filtered, exported."</span></a></li>
                <li><a href="/admin/policies"><strong>"Policies"</strong>
                    <span>"What can be requested, by whom, who approves, for how long."</span></a></li>
            </ul>
        } />
    }
}
