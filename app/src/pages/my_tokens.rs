//! `/settings/tokens`: a person's personal access tokens for the `/api/v1` REST API and the
//! command line — make one (name, scopes, expiry; the token is shown once), see when and from
//! where each was last used, revoke it. Administrators also see and revoke everyone's, and make
//! service tokens: tokens for automation that act as a named service identity.

use leptos::prelude::*;

use crate::api::tokens::{
    get_my_tokens, list_all_tokens, CreateServiceToken, CreateToken, RevokeAnyToken, RevokeMyToken,
};
use crate::components::error_view::{ErrorView, Loading};
use crate::components::page::{Audience, Page};
use crate::error::AppError;
use crate::format::utc_datetime;
use crate::model::{ApiToken, CreatedToken, MyTokens};

/// `/settings/tokens`
#[component]
pub fn MyTokensPage() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeMyToken>::new();
    let revoke_any = ServerAction::<RevokeAnyToken>::new();
    let create_service = ServerAction::<CreateServiceToken>::new();
    let mine = Resource::new(
        move || {
            (
                create.version().get(),
                revoke.version().get(),
                revoke_any.version().get(),
            )
        },
        |_| get_my_tokens(),
    );
    view! {
        <Page title="API tokens" audience=Audience::Requesters>
            <p class="lead">
                "A personal access token lets a script or the " <code>"gatepass"</code>
                " command line use Gatepass's REST API (" <code>"/api/v1"</code>
                ") as you: send it as " <code>"Authorization: Bearer gpat_…"</code>
                ". It can never do more than you can, and stops working when it expires, when you revoke it, or when Okta deactivates you."
            </p>
            <Suspense fallback=|| view! { <Loading what="your tokens" /> }>
                {move || mine.get().map(|r| match r {
                    Ok(m) => view! { <Tokens m create revoke /> }.into_any(),
                    Err(error) => view! { <ErrorView error /> }.into_any(),
                })}
            </Suspense>
            <Everyone revoke_any create_service />
        </Page>
    }
}

#[component]
fn Tokens(
    m: MyTokens,
    create: ServerAction<CreateToken>,
    revoke: ServerAction<RevokeMyToken>,
) -> impl IntoView {
    let max_days = m.max_days;
    view! {
        <section class="panel" aria-labelledby="new-token">
            <h2 id="new-token">"New token"</h2>
            <ActionForm action=create attr:class="form">
                <label for="token-name">"Name"</label>
                <input id="token-name" name="name" required maxlength="60" placeholder="laptop, deploy script…" />
                <label for="token-days">"Expires in (days)"</label>
                <input id="token-days" name="days" type="number" min="1" max=max_days value="30" required />
                <fieldset>
                    <legend>"Scopes"</legend>
                    {m.allowed_scopes.iter().map(|s| {
                        let (id, label_for) = (format!("scope-{}", s.as_str()), format!("scope-{}", s.as_str()));
                        view! {
                            <label for=label_for class="check">
                                <input type="checkbox" id=id name=format!("scope_{}", s.as_str()) value="on"
                                    checked=matches!(s, crate::model::Scope::Read) />
                                " " <strong>{s.as_str()}</strong> " — " <span class="muted">{s.describe()}</span>
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
                <div class="form-actions">
                    <button type="submit" class="button" disabled=move || create.pending().get()>"Make token"</button>
                </div>
                {move || create.value().get().map(|r| made(r, "Your new token", ""))}
            </ActionForm>
        </section>
        <section aria-labelledby="your-tokens">
            <h2 id="your-tokens">"Your tokens"</h2>
            {move || revoke.value().get().and_then(|r| r.err()).map(|error| view! { <ErrorView error /> })}
            {if m.tokens.is_empty() {
                view! { <p class="empty" data-testid="no-tokens">"You have no tokens. Make one above to use the API or the command line."</p> }.into_any()
            } else {
                view! { <TokenTable tokens=m.tokens revoke=Revoke::Mine(revoke) /> }.into_any()
            }}
        </section>
    }
}

/// Administrators: everyone's tokens, newest first, a page at a time (others are refused the
/// list and see nothing here).
#[component]
fn Everyone(
    revoke_any: ServerAction<RevokeAnyToken>,
    create_service: ServerAction<CreateServiceToken>,
) -> impl IntoView {
    // Below which id the page starts (0: the newest).
    let before = RwSignal::new(0_i64);
    let all = Resource::new(
        move || {
            (
                revoke_any.version().get(),
                create_service.version().get(),
                before.get(),
            )
        },
        |(_, _, before)| list_all_tokens(before),
    );
    view! {
        <Suspense fallback=|| view! { <Loading what="everyone's tokens" /> }>
            {move || all.get().map(|r| match r {
                Err(AppError::Forbidden) => ().into_any(),
                Err(error) => view! { <ErrorView error /> }.into_any(),
                Ok(tokens) => {
                    let first = before.get_untracked() == 0;
                    let older = (tokens.len() as i64 >= crate::model::TOKENS_PAGE)
                        .then(|| tokens.last().map(|t| t.id))
                        .flatten();
                    view! {
                        <ServiceToken create_service />
                        <section aria-labelledby="all-tokens" data-testid="all-tokens">
                            <h2 id="all-tokens">"Everyone's tokens (administrators)"</h2>
                            {move || revoke_any.value().get().and_then(|r| r.err()).map(|error| view! { <ErrorView error /> })}
                            {if tokens.is_empty() && first {
                                view! { <p class="empty">"Nobody has made a token yet."</p> }.into_any()
                            } else {
                                view! { <TokenTable tokens revoke=Revoke::Anyone(revoke_any) /> }.into_any()
                            }}
                            <div class="form-actions">
                                {(!first).then(|| view! {
                                    <button type="button" class="button secondary" on:click=move |_| before.set(0)>"Newest"</button>
                                })}
                                {older.map(|id| view! {
                                    <button type="button" class="button secondary" on:click=move |_| before.set(id)>"Older tokens"</button>
                                })}
                            </div>
                        </section>
                    }.into_any()
                }
            })}
        </Suspense>
    }
}

/// Administrators: a token for automation, acting as a service identity with the `admin`
/// scope (policies as code, the audit log), shown once.
#[component]
fn ServiceToken(create_service: ServerAction<CreateServiceToken>) -> impl IntoView {
    view! {
        <section class="panel" aria-labelledby="new-service-token">
            <h2 id="new-service-token">"New service token (administrators)"</h2>
            <p class="muted">
                "For automation, such as a CI job that applies policies: it acts as "
                <code>"service:<name>"</code> " with the " <strong>"admin"</strong>
                " scope, whoever made it, until it expires or is revoked. It starts with "
                <code>"gpst_"</code> "."
            </p>
            <ActionForm action=create_service attr:class="form">
                <label for="service-name">"Service"</label>
                <input id="service-name" name="service" required maxlength="40" pattern="[a-z0-9][a-z0-9-]*" placeholder="policies-ci" />
                <label for="service-days">"Expires in (days)"</label>
                <input id="service-days" name="days" type="number" min="1" max="90" value="30" required />
                <div class="form-actions">
                    <button type="submit" class="button" disabled=move || create_service.pending().get()>"Make service token"</button>
                </div>
                {move || create_service.value().get().map(|r| made(r, "The token of", "service-"))}
            </ActionForm>
        </section>
    }
}

/// The answer to making a token: the token, shown this once (`what` and whose: its name, or
/// the service it acts as), or why not. `testids` prefixes the test ids.
fn made(result: Result<CreatedToken, AppError>, what: &'static str, testids: &str) -> AnyView {
    match result {
        Ok(made) => {
            let whose = if made
                .info
                .owner_login
                .starts_with(crate::model::SERVICE_OWNER)
            {
                made.info.owner_login.clone()
            } else {
                made.info.name.clone()
            };
            view! {
                <div class="banner ok" role="status" data-testid=format!("{testids}token-made")>
                    <p>{what} " " <strong>{whose}</strong> ". Copy it now: Gatepass keeps only a hash and cannot show it again."</p>
                    <p><code class="secret" data-testid=format!("{testids}token-value")>{made.token}</code></p>
                </div>
            }
            .into_any()
        }
        Err(AppError::Invalid { field, message }) => view! {
            <p class="form-error" role="alert"><strong>{field}</strong> ": " {message}</p>
        }
        .into_any(),
        Err(error) => view! { <ErrorView error /> }.into_any(),
    }
}

/// Which list a table is, by who may revoke its tokens.
#[derive(Clone, Copy)]
enum Revoke {
    Mine(ServerAction<RevokeMyToken>),
    Anyone(ServerAction<RevokeAnyToken>),
}

/// A form with one button (works without JavaScript).
fn revoke_button(revoke: Revoke, id: i64) -> AnyView {
    let button = view! {
        <input type="hidden" name="id" value=id />
        <button type="submit" class="button danger small">"Revoke"</button>
    };
    match revoke {
        Revoke::Mine(action) => view! { <ActionForm action>{button}</ActionForm> }.into_any(),
        Revoke::Anyone(action) => view! { <ActionForm action>{button}</ActionForm> }.into_any(),
    }
}

#[component]
fn TokenTable(tokens: Vec<ApiToken>, revoke: Revoke) -> impl IntoView {
    let show_owner = matches!(revoke, Revoke::Anyone(_));
    view! {
        <table class="table">
            <thead><tr>
                {show_owner.then(|| view! { <th scope="col">"Person or service"</th> })}
                <th scope="col">"Name"</th><th scope="col">"Token"</th><th scope="col">"Scopes"</th>
                <th scope="col">"Expires"</th><th scope="col">"Last used"</th><th scope="col">"State"</th>
            </tr></thead>
            <tbody>
                {tokens.into_iter().map(|t| {
                    let id = t.id;
                    let live = t.revoked_at.is_none();
                    let scopes = t.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
                    let used = match (t.last_used_at, t.last_used_ip.clone()) {
                        (Some(at), Some(ip)) => format!("{} from {ip}", utc_datetime(at)),
                        (Some(at), None) => utc_datetime(at),
                        _ => "never".to_owned(),
                    };
                    view! {
                        <tr data-testid="token-row">
                            {show_owner.then(|| view! { <td>{t.owner_login.clone()}</td> })}
                            <td>{t.name.clone()}</td>
                            <td><code>{t.display.clone()}</code></td>
                            <td>{scopes}</td>
                            <td>{utc_datetime(t.expires_at)}</td>
                            <td>{used}</td>
                            <td>{if live {
                                revoke_button(revoke, id)
                            } else {
                                view! { <span class="muted">"revoked " {t.revoked_at.map(utc_datetime)}</span> }.into_any()
                            }}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
