//! `/admin/okta`: the Okta integration settings and the connection test.

use leptos::prelude::*;

use crate::api::okta::{
    get_allowed_okta_orgs, get_okta_settings, SaveOktaSettings, TestOktaConnection,
};
use crate::components::error_view::{ErrorView, Loading};
use crate::components::page::{Audience, Page};
use crate::error::AppError;
use crate::format::utc_datetime;
use crate::model::{AuthMethod, ConnectionReport, IntegrationSettings, StepOutcome};

/// `/admin/okta`
#[component]
pub fn SettingsOktaPage() -> impl IntoView {
    // Outside the gate, as on every page (see `Gate`).
    let save = ServerAction::<SaveOktaSettings>::new();
    let settings = Resource::new(move || save.version().get(), |_| get_okta_settings());
    let allowed = Resource::new(|| (), |_| get_allowed_okta_orgs());
    view! {
        <Page title="Okta integration" audience=Audience::Admins>
            <OktaSettings save settings allowed />
        </Page>
    }
}

#[component]
fn OktaSettings(
    save: ServerAction<SaveOktaSettings>,
    settings: Resource<Result<Option<IntegrationSettings>, AppError>>,
    allowed: Resource<Result<Vec<String>, AppError>>,
) -> impl IntoView {
    let test = ServerAction::<TestOktaConnection>::new();
    view! {
        <p class="lead">
            "How Gatepass reaches your Okta org. The credential stays in the secret store: "
            "this page holds only where it is."
        </p>
        <Suspense fallback=|| view! { <Loading what="the settings" /> }>
            {move || {
                let allowed = allowed.get()?;
                settings
                    .get()
                    .map(|result| match result.and_then(|c| allowed.map(|a| (c, a))) {
                        Ok((current, allowed)) => {
                            view! { <SettingsForm current allowed save /> }.into_any()
                        }
                        Err(error) => view! { <ErrorView error /> }.into_any(),
                    })
            }}
        </Suspense>
        <section class="panel" aria-labelledby="test-heading">
            <div class="panel-head">
                <h2 id="test-heading">"Test connection"</h2>
                <ActionForm action=test>
                    <button type="submit" class="button" disabled=move || test.pending().get()>
                        {move || if test.pending().get() { "Testing…" } else { "Test connection" }}
                    </button>
                </ActionForm>
            </div>
            <p class="muted">
                "Checks, step by step, that Okta answers, that the credential is in the store and "
                "accepted, whom it acts as, and what it lets Gatepass do."
            </p>
            {move || test.pending().get().then(|| view! { <Loading what="the checks" /> })}
            {move || {
                test.value()
                    .get()
                    .map(|result| match result {
                        Ok(report) => view! { <ReportView report /> }.into_any(),
                        Err(error) => view! { <ErrorView error /> }.into_any(),
                    })
            }}
        </section>
    }
}

#[component]
fn SettingsForm(
    current: Option<IntegrationSettings>,
    /// The orgs the server's configuration allows (the page cannot choose another).
    allowed: Vec<String>,
    save: ServerAction<SaveOktaSettings>,
) -> impl IntoView {
    let c = current.clone();
    let value = move |f: fn(&IntegrationSettings) -> String| c.as_ref().map(f).unwrap_or_default();
    let method = current
        .as_ref()
        .map(|s| s.auth_method)
        .unwrap_or(AuthMethod::ApiToken);
    let error = move || match save.value().get() {
        Some(Err(AppError::Invalid { field, message })) => Some(
            view! {
                <p class="form-error" role="alert" data-testid="settings-error">
                    <strong>{field}</strong> ": " {message}
                </p>
            }
            .into_any(),
        ),
        Some(Err(e)) => Some(view! { <ErrorView error=e /> }.into_any()),
        Some(Ok(_)) => Some(
            view! {
                <p class="form-ok" role="status" data-testid="settings-saved">"Saved."</p>
            }
            .into_any(),
        ),
        None => None,
    };
    let saved_line = current.as_ref().map(|s| {
        format!(
            "Last saved {} by {}.",
            utc_datetime(s.updated_at),
            s.updated_by
        )
    });
    let local = current.as_ref().is_some_and(|s| s.secret_is_local);
    view! {
        <section class="panel" aria-labelledby="settings-heading">
            <h2 id="settings-heading">"Connection"</h2>
            {current.is_none().then(|| view! {
                <p class="notice-line">"Not configured yet: Gatepass cannot sync or grant access."</p>
            })}
            <ActionForm action=save attr:class="form">
                <label for="org_url">"Okta domain"</label>
                <input id="org_url" name="org_url" required placeholder="acme.okta.com"
                    list="allowed-orgs" aria-describedby="org-hint"
                    value=value(|s| s.org_url.clone()) />
                <p class="hint" id="org-hint" data-testid="allowed-orgs">
                    {if allowed.is_empty() {
                        "This server's configuration allows no Okta org yet: its operator sets okta.org_url."
                            .to_owned()
                    } else {
                        format!(
                            "This server may connect to: {} (set in its configuration: okta.org_url, okta.allowed_org_urls).",
                            allowed.join(", ")
                        )
                    }}
                </p>
                <datalist id="allowed-orgs">
                    {allowed.into_iter().map(|o| view! { <option value=o /> }).collect_view()}
                </datalist>
                <label for="auth_method">"Authentication"</label>
                <select id="auth_method" name="auth_method">
                    <option value="oauth_service_app" selected=method == AuthMethod::OAuthServiceApp>
                        "OAuth 2.0 service app (recommended: least privilege)"
                    </option>
                    <option value="api_token" selected=method == AuthMethod::ApiToken>
                        "API token (SSWS)"
                    </option>
                </select>
                <label for="secret_ref">"Secret reference"</label>
                <input id="secret_ref" name="secret_ref" required autocomplete="off"
                    placeholder="aws-secretsmanager:gatepass/okta#token"
                    value=value(|s| s.secret_ref.clone()) />
                <p class="hint">
                    "Where the API token or the service app's private key is kept: "
                    <code>"aws-secretsmanager:NAME-OR-ARN[#json-key]"</code> ", or for development "
                    <code>"env:VARIABLE"</code> " / " <code>"file:/path"</code>
                    ". Never the secret itself."
                    {local.then(|| view! {
                        " " <span class="badge warn" data-testid="local-secret">"Local secret: development and demos only"</span>
                    })}
                </p>
                <label for="client_id">"Client id (service app)"</label>
                <input id="client_id" name="client_id" placeholder="0oa…"
                    value=value(|s| s.client_id.clone().unwrap_or_default()) />
                <label for="key_id">"Key id (service app, optional)"</label>
                <input id="key_id" name="key_id" value=value(|s| s.key_id.clone().unwrap_or_default()) />
                <fieldset>
                    <legend>"Directory sync"</legend>
                    <label for="sync_incremental_minutes">"Incremental sync every (minutes)"</label>
                    <input id="sync_incremental_minutes" name="sync_incremental_minutes" inputmode="numeric"
                        value=current.as_ref().map(|s| s.sync_incremental_minutes.to_string()).unwrap_or_else(|| "10".into()) />
                    <label for="sync_full_hours">"Full sync every (hours)"</label>
                    <input id="sync_full_hours" name="sync_full_hours" inputmode="numeric"
                        value=current.as_ref().map(|s| s.sync_full_hours.to_string()).unwrap_or_else(|| "24".into()) />
                    <label for="group_name_prefix">"Only groups whose name starts with (optional)"</label>
                    <input id="group_name_prefix" name="group_name_prefix"
                        value=value(|s| s.group_name_prefix.clone().unwrap_or_default()) />
                    <label for="group_types">"Only these group types (optional, comma-separated)"</label>
                    <input id="group_types" name="group_types" placeholder="OKTA_GROUP, APP_GROUP"
                        value=value(|s| s.group_types.join(", ")) />
                </fieldset>
                <div class="form-actions">
                    <button type="submit" class="button" disabled=move || save.pending().get()>
                        {move || if save.pending().get() { "Saving…" } else { "Save" }}
                    </button>
                    {saved_line.map(|l| view! { <span class="muted">{l}</span> })}
                </div>
                {error}
            </ActionForm>
        </section>
    }
}

#[component]
fn ReportView(report: ConnectionReport) -> impl IntoView {
    let verdict = if report.passed() {
        "All checks passed."
    } else {
        "Some checks failed."
    };
    let steps = report
        .steps
        .iter()
        .map(|s| {
            let (mark, class) = match s.outcome {
                StepOutcome::Passed => ("✓", "step passed"),
                StepOutcome::Failed => ("✗", "step failed"),
                StepOutcome::Skipped => ("–", "step skipped"),
            };
            view! {
                <li class=class>
                    <span class="mark" aria-hidden="true">{mark}</span>
                    <strong>{s.name.clone()}</strong>
                    <span class="sr-only">{format!(" ({:?})", s.outcome)}</span>
                    <span class="detail">{s.detail.clone()}</span>
                </li>
            }
        })
        .collect_view();
    let rows = report
        .capabilities
        .iter()
        .map(|c| {
            let allowed = match c.allowed {
                Some(true) => "Yes",
                Some(false) => "No",
                None => "Depends",
            };
            view! {
                <tr>
                    <th scope="row">{c.name.clone()}</th>
                    <td data-allowed=allowed>{allowed}</td>
                    <td>{c.scope.clone()}</td>
                    <td>{c.consequence.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div data-testid="connection-report">
            <p role="status"><strong>{verdict}</strong></p>
            <ol class="steps">{steps}</ol>
            {report.acts_as.clone().map(|who| view! {
                <p>"Acts as " <strong data-testid="acts-as">{who}</strong>
                    {(!report.roles.is_empty()).then(|| format!(" · Okta admin roles: {}", report.roles.join(", ")))}
                </p>
            })}
            {(!report.capabilities.is_empty()).then(|| view! {
                <table class="table" data-testid="capabilities">
                    <caption>"What Gatepass can do with this credential"</caption>
                    <thead>
                        <tr><th scope="col">"Capability"</th><th scope="col">"Allowed"</th><th scope="col">"Scope"</th><th scope="col">"What it means"</th></tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            })}
        </div>
    }
}
