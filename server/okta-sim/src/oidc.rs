//! The sign-in side of the simulated org, as Okta's `default` custom authorization server:
//! discovery, `authorize` with a login page listing the org's users, `token` (authorization
//! code, PKCE S256 required, `client_secret_basic` or `client_secret_post`), `keys`,
//! `userinfo` and `logout`. Strict like Okta: a wrong verifier, a reused code, a wrong
//! redirect URI or client secret are refused with the standard OAuth error bodies.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::http::{random_id, Base};
use super::jwt::{self, org_key, PublicJwk};
use super::oauth::{oauth_error, ACCESS_TOKEN_SECS};
use super::store::{OidcClient, Org};
use super::time::now_ms;
use super::Sim;

/// How long an authorization code may wait to be redeemed (Okta: 60 seconds).
const CODE_SECS: i64 = 60;
/// Most users shown as buttons on the login page.
const LOGIN_PAGE_USERS: usize = 60;

/// An issued, not yet redeemed authorization code.
#[derive(Debug, Clone)]
pub struct AuthCode {
    client_id: String,
    redirect_uri: String,
    user: u32,
    nonce: Option<String>,
    challenge: String,
    scopes: Vec<String>,
    expires_ms: i64,
}

/// Codes and access tokens of the sign-in side.
#[derive(Debug, Default)]
pub struct OidcState {
    codes: HashMap<String, AuthCode>,
    access: HashMap<String, (u32, Vec<String>, i64)>,
}

/// Routes under `/oauth2/default`.
pub fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route(
            "/oauth2/default/.well-known/openid-configuration",
            get(discovery),
        )
        .route(
            "/oauth2/default/v1/authorize",
            get(authorize).post(authorize_submit),
        )
        .route("/oauth2/default/v1/token", axum::routing::post(token))
        .route("/oauth2/default/v1/keys", get(keys))
        .route("/oauth2/default/v1/userinfo", get(userinfo).post(userinfo))
        .route("/oauth2/default/v1/logout", get(logout))
}

fn issuer(base: &Base) -> String {
    format!("{}/oauth2/default", base.0)
}

async fn discovery(base: Base) -> Json<Value> {
    let iss = issuer(&base);
    Json(json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/v1/authorize"),
        "token_endpoint": format!("{iss}/v1/token"),
        "userinfo_endpoint": format!("{iss}/v1/userinfo"),
        "jwks_uri": format!("{iss}/v1/keys"),
        "end_session_endpoint": format!("{iss}/v1/logout"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "profile", "email", "groups", "offline_access"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "claims_supported": ["iss", "ver", "sub", "aud", "iat", "exp", "jti", "auth_time", "amr", "idp", "nonce", "name", "given_name", "family_name", "preferred_username", "email", "email_verified", "groups"],
        "code_challenge_methods_supported": ["S256"],
        "request_parameter_supported": false,
    }))
}

/// The authorize request's parameters, validated.
struct AuthorizeRequest {
    client: OidcClient,
    redirect_uri: String,
    state: String,
    nonce: Option<String>,
    challenge: String,
    scopes: Vec<String>,
}

/// What is wrong with an authorize request: shown on a page when the redirect URI cannot
/// be trusted, sent back to the client otherwise.
enum AuthorizeError {
    Page(String),
    Redirect {
        redirect_uri: String,
        state: String,
        error: &'static str,
        description: String,
    },
}

impl IntoResponse for AuthorizeError {
    fn into_response(self) -> Response {
        match self {
            AuthorizeError::Page(msg) => (
                StatusCode::BAD_REQUEST,
                Html(page("Sign-in error", &format!("<p>{}</p>", esc(&msg)))),
            )
                .into_response(),
            AuthorizeError::Redirect {
                redirect_uri,
                state,
                error,
                description,
            } => redirect_with(
                &redirect_uri,
                &[
                    ("error", error),
                    ("error_description", &description),
                    ("state", &state),
                ],
            ),
        }
    }
}

fn redirect_with(uri: &str, params: &[(&str, &str)]) -> Response {
    let mut url = match url::Url::parse(uri) {
        Ok(u) => u,
        Err(_) => return (StatusCode::BAD_REQUEST, "bad redirect URI").into_response(),
    };
    let present: Vec<_> = params.iter().filter(|(_, v)| !v.is_empty()).collect();
    if !present.is_empty() {
        let mut q = url.query_pairs_mut();
        for (k, v) in present {
            q.append_pair(k, v);
        }
    }
    Redirect::to(url.as_str()).into_response()
}

fn validate(org: &Org, p: &HashMap<String, String>) -> Result<AuthorizeRequest, AuthorizeError> {
    let get = |k: &str| p.get(k).cloned().unwrap_or_default();
    let client = org
        .oidc_clients
        .get(&get("client_id"))
        .cloned()
        .ok_or_else(|| AuthorizeError::Page("The client_id is not a registered app.".into()))?;
    let redirect_uri = get("redirect_uri");
    if !client.redirect_uris.contains(&redirect_uri) {
        return Err(AuthorizeError::Page(
            "The 'redirect_uri' parameter must be a Login redirect URI in the client app settings."
                .into(),
        ));
    }
    let state = get("state");
    let fail = |error, description: &str| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        error,
        description: description.to_owned(),
    };
    if get("response_type") != "code" {
        return Err(fail(
            "unsupported_response_type",
            "The response type is not supported by the authorization server. Configured response types: [code].",
        ));
    }
    let scopes: Vec<String> = get("scope").split_whitespace().map(str::to_owned).collect();
    if !scopes.iter().any(|s| s == "openid") {
        return Err(fail("invalid_scope", "The scope 'openid' is required."));
    }
    if let Some(bad) = scopes
        .iter()
        .find(|s| !["openid", "profile", "email", "groups", "offline_access"].contains(&s.as_str()))
    {
        return Err(fail(
            "invalid_scope",
            &format!("One or more scopes are not configured for the authorization server resource: {bad}"),
        ));
    }
    if state.is_empty() {
        return Err(fail(
            "invalid_request",
            "The 'state' parameter is required.",
        ));
    }
    let challenge = get("code_challenge");
    if challenge.is_empty() {
        return Err(fail(
            "invalid_request",
            "PKCE code challenge is required when the token endpoint authentication method is 'NONE'.",
        ));
    }
    if get("code_challenge_method") != "S256" {
        return Err(fail(
            "invalid_request",
            "The code_challenge_method must be S256.",
        ));
    }
    let nonce = Some(get("nonce")).filter(|n| !n.is_empty());
    Ok(AuthorizeRequest {
        client,
        redirect_uri,
        state,
        nonce,
        challenge,
        scopes,
    })
}

async fn authorize(
    State(sim): State<Arc<Sim>>,
    Query(p): Query<HashMap<String, String>>,
) -> Response {
    let org = sim.org.read().expect("org lock");
    if let Err(e) = validate(&org, &p) {
        return e.into_response();
    }
    let hidden: String = [
        "client_id",
        "redirect_uri",
        "response_type",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    ]
    .iter()
    .filter_map(|k| p.get(*k).map(|v| (k, v)))
    .map(|(k, v)| format!(r#"<input type="hidden" name="{k}" value="{}">"#, esc(v)))
    .collect();
    let people: String = org
        .users
        .iter()
        .filter(|u| u.status == "ACTIVE")
        .take(LOGIN_PAGE_USERS)
        .map(|u| {
            let what = [u.title.as_deref(), u.department.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                r#"<li><button type="submit" name="login" value="{login}"><strong>{name}</strong> <span>{login}</span> <em>{what}</em></button></li>"#,
                login = esc(&u.login),
                name = esc(&u.display_name()),
                what = esc(&what),
            )
        })
        .collect();
    let body = format!(
        r#"<p>Okta simulator: choose who to sign in as, or type a login.</p>
<form method="post" action="/oauth2/default/v1/authorize">{hidden}
<p><label for="login">Username</label> <input id="login" name="login" autocomplete="off"> <button type="submit" id="sign-in">Sign in</button></p>
<ul class="people">{people}</ul>
</form>"#
    );
    Html(page("Sign in · Okta simulator", &body)).into_response()
}

async fn authorize_submit(
    State(sim): State<Arc<Sim>>,
    Form(p): Form<HashMap<String, String>>,
) -> Response {
    let mut org = sim.org.write().expect("org lock");
    let req = match validate(&org, &p) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let login = p.get("login").map(|s| s.trim()).unwrap_or_default();
    let user = org
        .find_user(login)
        .filter(|&u| org.users[u as usize].status == "ACTIVE");
    let Some(user) = user else {
        return AuthorizeError::Redirect {
            redirect_uri: req.redirect_uri,
            state: req.state,
            error: "access_denied",
            description: "User is not assigned to the client application.".into(),
        }
        .into_response();
    };
    org.users[user as usize].last_login = Some(now_ms());
    drop(org);
    let code = random_id("", 43);
    sim.oidc.lock().expect("oidc lock").codes.insert(
        code.clone(),
        AuthCode {
            client_id: req.client.client_id,
            redirect_uri: req.redirect_uri.clone(),
            user,
            nonce: req.nonce,
            challenge: req.challenge,
            scopes: req.scopes,
            expires_ms: now_ms() + CODE_SECS * 1000,
        },
    );
    redirect_with(&req.redirect_uri, &[("code", &code), ("state", &req.state)])
}

/// Why client authentication could not even be attempted.
enum ClientAuthError {
    Both,
    Missing,
}

impl IntoResponse for ClientAuthError {
    fn into_response(self) -> Response {
        match self {
            ClientAuthError::Both => oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Cannot supply multiple client credentials. Use one of the following: credentials in the Authorization header, credentials in the post body, or a client_assertion in the post body.",
            ),
            ClientAuthError::Missing => oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Client authentication failed. Either the client or the client credentials are invalid.",
            ),
        }
    }
}

/// Client authentication by HTTP Basic or form fields (not both).
fn client_credentials(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<(String, String), ClientAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .map(|b| {
            let raw = STANDARD.decode(b.trim()).unwrap_or_default();
            let raw = String::from_utf8_lossy(&raw).into_owned();
            let (id, secret) = raw.split_once(':').unwrap_or((&raw, ""));
            let dec = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            (dec(id), dec(secret))
        });
    let posted = form.get("client_secret").map(|s| {
        (
            form.get("client_id").cloned().unwrap_or_default(),
            s.clone(),
        )
    });
    match (basic, posted) {
        (Some(_), Some(_)) => Err(ClientAuthError::Both),
        (Some(c), None) | (None, Some(c)) => Ok(c),
        (None, None) => Err(ClientAuthError::Missing),
    }
}

async fn token(
    State(sim): State<Arc<Sim>>,
    base: Base,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (client_id, secret) = match client_credentials(&headers, &form) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let org = sim.org.read().expect("org lock");
    let client_ok = org
        .oidc_clients
        .get(&client_id)
        .is_some_and(|c| constant_time_eq(c.client_secret.as_bytes(), secret.as_bytes()));
    if !client_ok {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed. Either the client or the client credentials are invalid.",
        );
    }
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "authorization_code" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server. Configured grant types: [authorization_code].",
        );
    }
    let invalid_grant = |d: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", d);
    // Single use: the code is gone whatever happens next.
    let code = sim
        .oidc
        .lock()
        .expect("oidc lock")
        .codes
        .remove(field("code"));
    let Some(code) = code else {
        return invalid_grant("The authorization code is invalid or has expired.");
    };
    if code.expires_ms < now_ms() || code.client_id != client_id {
        return invalid_grant("The authorization code is invalid or has expired.");
    }
    if field("redirect_uri") != code.redirect_uri {
        return invalid_grant(
            "The 'redirect_uri' does not match the redirection URI used in the authorization request.",
        );
    }
    let verifier = field("code_verifier");
    if verifier.is_empty() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "PKCE verification failed: code_verifier is required.",
        );
    }
    if B64.encode(Sha256::digest(verifier.as_bytes())) != code.challenge {
        return invalid_grant("PKCE verification failed.");
    }

    let now = now_ms() / 1000;
    let user = &org.users[code.user as usize];
    let mut claims = json!({
        "sub": user.id,
        "ver": 1,
        "iss": issuer(&base),
        "aud": client_id,
        "iat": now,
        "exp": now + ACCESS_TOKEN_SECS,
        "jti": random_id("ID.", 46),
        "amr": ["pwd"],
        "idp": "00osimulatedidp0000",
        "auth_time": now,
    });
    if let Some(nonce) = &code.nonce {
        claims["nonce"] = json!(nonce);
    }
    for (k, v) in profile_claims(&org, code.user, &code.scopes) {
        claims[k] = v;
    }
    let id_token = org_key().sign(&claims);
    let access_token = random_id("", 64);
    sim.oidc.lock().expect("oidc lock").access.insert(
        access_token.clone(),
        (
            code.user,
            code.scopes.clone(),
            now_ms() + ACCESS_TOKEN_SECS * 1000,
        ),
    );
    let mut resp = Json(json!({
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_SECS,
        "access_token": access_token,
        "scope": code.scopes.join(" "),
        "id_token": id_token,
    }))
    .into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, "no-store".parse().expect("static"));
    resp
}

/// Claims about the user that the granted scopes release.
fn profile_claims(org: &Org, u: u32, scopes: &[String]) -> Vec<(&'static str, Value)> {
    let user = &org.users[u as usize];
    let has = |s: &str| scopes.iter().any(|x| x == s);
    let mut out = Vec::new();
    if has("profile") {
        out.push(("name", json!(user.display_name())));
        out.push(("given_name", json!(user.first_name)));
        out.push(("family_name", json!(user.last_name)));
        out.push(("preferred_username", json!(user.login)));
    }
    if has("email") {
        out.push(("email", json!(user.email)));
        out.push(("email_verified", json!(true)));
    }
    if has("groups") {
        let names: Vec<&str> = user
            .groups
            .iter()
            .map(|&g| org.groups[g as usize].name.as_str())
            .collect();
        out.push(("groups", json!(names)));
    }
    out
}

async fn keys() -> Json<Value> {
    Json(org_key().jwks())
}

async fn userinfo(State(sim): State<Arc<Sim>>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let grant = sim
        .oidc
        .lock()
        .expect("oidc lock")
        .access
        .get(token)
        .cloned();
    let Some((user, scopes, exp)) = grant.filter(|(_, _, exp)| *exp > now_ms()) else {
        let _ = grant;
        let mut resp = StatusCode::UNAUTHORIZED.into_response();
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            r#"Bearer authorization_uri="", realm="", error="invalid_token", error_description="The access token is invalid.""#
                .parse()
                .expect("static"),
        );
        return resp;
    };
    let _ = exp;
    let org = sim.org.read().expect("org lock");
    let mut claims = json!({ "sub": org.users[user as usize].id });
    for (k, v) in profile_claims(&org, user, &scopes) {
        claims[k] = v;
    }
    Json(claims).into_response()
}

async fn logout(State(sim): State<Arc<Sim>>, Query(p): Query<HashMap<String, String>>) -> Response {
    let Some(target) = p.get("post_logout_redirect_uri").filter(|s| !s.is_empty()) else {
        return Html(page(
            "Signed out",
            "<p>You are signed out of the Okta simulator.</p>",
        ))
        .into_response();
    };
    // The post-logout URI must belong to the app the ID token was issued to.
    let hint = p
        .get("id_token_hint")
        .map(String::as_str)
        .unwrap_or_default();
    let org_jwk = PublicJwk::from_jwk(&org_key().jwks()["keys"][0]).expect("own key");
    let aud = jwt::verify(hint, &[org_jwk])
        .ok()
        .and_then(|c| c["aud"].as_str().map(str::to_owned));
    let allowed = aud.is_some_and(|aud| {
        let org = sim.org.read().expect("org lock");
        org.oidc_clients
            .get(&aud)
            .is_some_and(|c| c.post_logout_redirect_uris.contains(target))
    });
    if !allowed {
        return (
            StatusCode::BAD_REQUEST,
            Html(page(
                "Sign-out error",
                "<p>The 'post_logout_redirect_uri' parameter must be a Logout redirect URI in the client app settings, and 'id_token_hint' must be an ID token issued to that app.</p>",
            )),
        )
            .into_response();
    }
    let state = p.get("state").map(String::as_str).unwrap_or_default();
    redirect_with(target, &[("state", state)])
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}}h1{{font-size:1.4rem}}ul.people{{list-style:none;padding:0}}ul.people button{{display:block;width:100%;text-align:left;margin:.25rem 0;padding:.5rem .75rem;border:1px solid #ccd;border-radius:6px;background:#fff;cursor:pointer}}ul.people button:hover{{background:#eef}}ul.people span{{color:#556}}ul.people em{{float:right;color:#778}}input{{padding:.4rem}}</style></head>
<body><h1>{title}</h1>{body}</body></html>"#,
        title = esc(title),
    )
}
