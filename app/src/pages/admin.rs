//! `/admin`: the administrator's start page, with what needs attention now.

use leptos::prelude::*;

use crate::api::groups::get_admin_alerts;
use crate::components::page::{Audience, Page};
use crate::error::AppError;
use crate::model::AdminAlerts;

/// `/admin`
#[component]
pub fn AdminPage() -> impl IntoView {
    let alerts = admin_alerts();
    view! {
        <Page title="Admin" audience=Audience::Admins>
            <AdminAlertsBanner alerts />
            <p class="lead">"The Okta integration, policies, requests and grants, and the audit log."</p>
            <ul class="cards">
                <li><a href="/admin/okta"><strong>"Okta integration"</strong>
                    <span>"Domain, credential, connection test and capabilities."</span></a></li>
                <li><a href="/admin/sync"><strong>"Directory sync"</strong>
                    <span>"Schedule, recent runs, sync now."</span></a></li>
                <li><a href="/admin/groups"><strong>"Groups"</strong>
                    <span>"Who is in each group and why; the policy that applies."</span></a></li>
                <li><a href="/admin/access"><strong>"Requests and grants"</strong>
                    <span>"Everything pending and live; revoke any grant."</span></a></li>
                <li><a href="/admin/reviews"><strong>"Access reviews"</strong>
                    <span>"Certify who is in the governed groups; remove what is not certified."</span></a></li>
                <li><a href="/admin/drift"><strong>"Drift"</strong>
                    <span>"Where Okta and the grants disagree: re-apply, revoke or ignore."</span></a></li>
                <li><a href="/admin/notifications"><strong>"Notifications"</strong>
                    <span>"Webhooks to other systems, and the delivery log."</span></a></li>
                <li><a href="/admin/audit"><strong>"Audit log"</strong>
                    <span>"Every change, filtered, exported."</span></a></li>
                <li><a href="/admin/policies"><strong>"Policies"</strong>
                    <span>"What can be requested, by whom, who approves, for how long."</span></a></li>
            </ul>
        </Page>
    }
}

/// What needs an admin now, for [`AdminAlertsBanner`]; made by the page, outside its gate
/// (see `Gate`).
pub fn admin_alerts() -> Resource<Result<AdminAlerts, AppError>> {
    Resource::new(|| (), |_| get_admin_alerts())
}

/// A banner for what needs an admin now: emergency access, removals Okta keeps failing,
/// failed grants, drift.
/// Renders nothing when all is well (or when the alerts cannot be read).
#[component]
pub fn AdminAlertsBanner(alerts: Resource<Result<AdminAlerts, AppError>>) -> impl IntoView {
    view! {
        <Suspense fallback=|| ()>
            {move || alerts.get().and_then(Result::ok).map(|a| view! {
                {(a.emergencies_live > 0 || a.emergencies_unreviewed > 0).then(|| view! {
                    <p class="banner danger" role="alert" data-testid="alert-emergencies">
                        <strong>{format!("Emergency access: {} active now, {} waiting for review.", a.emergencies_live, a.emergencies_unreviewed)}</strong>
                        " Granted without approval (break-glass); an approver confirms or flags each. "
                        <a href="/admin/access">"Requests and grants"</a>
                    </p>
                })}
                {(a.removals_failing > 0).then(|| view! {
                    <p class="banner danger" role="alert" data-testid="alert-removals">
                        <strong>{format!("{} removal(s) from Okta keep failing.", a.removals_failing)}</strong>
                        " People still hold access that has ended; Gatepass keeps retrying. Check the Okta integration and the server log. "
                        <a href="/admin/access">"Requests and grants"</a>
                    </p>
                })}
                {(a.grants_failed > 0).then(|| view! {
                    <p class="banner warning" role="status" data-testid="alert-failed">
                        {format!("{} grant(s) failed in Okta. ", a.grants_failed)}
                        <a href="/admin/access">"Retry from Requests and grants"</a>
                    </p>
                })}
                {(a.notifications_failed > 0).then(|| view! {
                    <p class="banner warning" role="status" data-testid="alert-notifications">
                        {format!("{} notification(s) could not be delivered. ", a.notifications_failed)}
                        <a href="/admin/notifications?state=failed">"Delivery log"</a>
                    </p>
                })}
                {(a.drift_open > 0).then(|| view! {
                    <p class="banner warning" role="status" data-testid="alert-drift">
                        {format!("{} difference(s) between Okta and the grants. ", a.drift_open)}
                        <a href="/admin/drift">"Review drift"</a>
                    </p>
                })}
            })}
        </Suspense>
    }
}
