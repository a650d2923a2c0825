//! Sign-in with OpenID Connect: authorization code flow with PKCE (S256), `state` and `nonce`,
//! ID token verified (JWKS signature, `iss`, `aud`, `exp`, `nonce`), userinfo merged.
//!
//! Provider metadata and keys are discovered lazily and cached for a few minutes, so Gatepass
//! starts even while the provider is unreachable, and picks up rotated keys.

use std::time::{Duration, Instant};

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreUserInfoClaims};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl,
    ProviderMetadataWithLogout, RedirectUrl, Scope, TokenResponse,
};
use openidconnect::{LogoutRequest, SubjectIdentifier};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

use app::model::Timestamp;
use app::ssr::services::identity::VerifiedIdentity;

/// How long discovered provider metadata (and its keys) is trusted before it is fetched again.
const METADATA_TTL: Duration = Duration::from_secs(300);
/// How long a started sign-in may take at the provider.
pub const LOGIN_TTL_SECS: i64 = 600;

/// Why a sign-in failed. Shown to the person as a short explanation; details go to the log.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the identity provider could not be reached or described itself wrongly: {0}")]
    Discovery(String),
    #[error("no sign-in was in progress in this browser (or it took too long)")]
    NoPendingLogin,
    #[error("the sign-in response did not carry the state this browser sent")]
    StateMismatch,
    #[error("the sign-in response came from an unexpected issuer")]
    IssuerMismatch,
    #[error("the identity provider refused the sign-in: {code} {detail}")]
    Refused { code: String, detail: String },
    #[error("the authorization code was not accepted: {0}")]
    CodeExchange(String),
    #[error("the identity provider sent no ID token")]
    MissingIdToken,
    #[error("the ID token is not valid: {0}")]
    InvalidIdToken(String),
}

/// Error codes of RFC 6749 §4.1.2.1 and OpenID Connect Core §3.1.2.6: the only words of a
/// provider's error that a failure page repeats (anyone can craft a callback link).
const REGISTERED_ERRORS: &[&str] = &[
    "invalid_request",
    "unauthorized_client",
    "access_denied",
    "unsupported_response_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
    "interaction_required",
    "login_required",
    "account_selection_required",
    "consent_required",
    "invalid_request_uri",
    "invalid_request_object",
    "request_not_supported",
    "request_uri_not_supported",
    "registration_not_supported",
];

impl OidcError {
    /// What the failure page says: fixed text only. The details (which may carry text from a
    /// link anyone can make) go to the log.
    pub fn public_message(&self) -> String {
        match self {
            OidcError::Refused { code, .. } if REGISTERED_ERRORS.contains(&code.as_str()) => {
                format!("Sign-in failed: the identity provider refused it ({code}).")
            }
            OidcError::Refused { .. } => {
                "Sign-in failed: the identity provider refused it.".to_owned()
            }
            OidcError::NoPendingLogin => {
                "Sign-in failed: no sign-in was in progress in this browser, or it took too long."
                    .to_owned()
            }
            OidcError::Discovery(_) => {
                "Sign-in could not start: the identity provider could not be reached.".to_owned()
            }
            OidcError::InvalidIdToken(reason) => {
                let reason = reason.to_ascii_lowercase();
                let why = [
                    ("nonce", "its nonce does not match this sign-in"),
                    ("audience", "it was issued for another audience"),
                    ("expired", "it has expired"),
                    ("issuer", "it names an unexpected issuer"),
                    (
                        "key",
                        "it is signed with a key the provider does not publish",
                    ),
                    ("sign", "it is not signed as required"),
                ]
                .iter()
                .find(|(word, _)| reason.contains(word))
                .map_or("it could not be verified", |(_, why)| why);
                format!("Sign-in failed: the ID token is not valid: {why}.")
            }
            _ => "Sign-in failed: the identity provider's answer could not be verified. \
                  The details are in Gatepass's log."
                .to_owned(),
        }
    }
}

/// Settings of the OIDC client.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    pub issuer_url: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub scopes: Vec<String>,
    /// `<public_url>/auth/callback`
    pub redirect_url: String,
    /// Where the provider sends people after signing out (`<public_url>/auth/signed-out`).
    pub post_logout_url: String,
}

/// A sign-in started in this browser, kept in its session until the callback.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub return_to: String,
    pub started_at: Timestamp,
}

/// Query parameters of the provider's redirect back to `/auth/callback`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// A completed sign-in.
#[derive(Debug, Clone)]
pub struct SignInResult {
    pub identity: VerifiedIdentity,
    /// The raw ID token, kept as `id_token_hint` for sign-out.
    pub id_token: String,
}

/// The client as built from discovered metadata: authorization URL set, token and userinfo
/// endpoints as the provider states them.
type OidcClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// The OIDC relying party.
#[derive(Debug)]
pub struct Oidc {
    settings: OidcSettings,
    http: openidconnect::reqwest::Client,
    metadata: RwLock<Option<(Instant, ProviderMetadataWithLogout)>>,
}

impl Oidc {
    pub fn new(settings: OidcSettings) -> Result<Oidc, OidcError> {
        let http = openidconnect::reqwest::ClientBuilder::new()
            // Never follow redirects from the provider's endpoints (SSRF).
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| OidcError::Discovery(e.to_string()))?;
        Ok(Oidc {
            settings,
            http,
            metadata: RwLock::new(None),
        })
    }

    async fn metadata(&self, refresh: bool) -> Result<ProviderMetadataWithLogout, OidcError> {
        if !refresh {
            if let Some((at, metadata)) = self.metadata.read().await.as_ref() {
                if at.elapsed() < METADATA_TTL {
                    return Ok(metadata.clone());
                }
            }
        }
        let issuer = IssuerUrl::new(self.settings.issuer_url.clone())
            .map_err(|e| OidcError::Discovery(e.to_string()))?;
        let metadata = ProviderMetadataWithLogout::discover_async(issuer, &self.http)
            .await
            .map_err(|e| OidcError::Discovery(error_chain(&e)))?;
        *self.metadata.write().await = Some((Instant::now(), metadata.clone()));
        Ok(metadata)
    }

    fn client(&self, metadata: ProviderMetadataWithLogout) -> Result<OidcClient, OidcError> {
        let redirect = RedirectUrl::new(self.settings.redirect_url.clone())
            .map_err(|e| OidcError::Discovery(e.to_string()))?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(
                self.settings.client_secret.expose_secret().to_string(),
            )),
        )
        .set_redirect_uri(redirect))
    }

    /// Starts a sign-in: the provider URL to send the browser to, and what to remember.
    pub async fn begin(
        &self,
        return_to: String,
        now: Timestamp,
    ) -> Result<(String, PendingLogin), OidcError> {
        let client = self.client(self.metadata(false).await?)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in self
            .settings
            .scopes
            .iter()
            .filter(|s| s.as_str() != "openid")
        {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Ok((
            url.to_string(),
            PendingLogin {
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
                return_to,
                started_at: now,
            },
        ))
    }

    /// Completes a sign-in from the provider's redirect.
    pub async fn finish(
        &self,
        pending: &PendingLogin,
        params: &CallbackParams,
    ) -> Result<SignInResult, OidcError> {
        if let Some(error) = &params.error {
            return Err(OidcError::Refused {
                code: error.clone(),
                detail: params.error_description.clone().unwrap_or_default(),
            });
        }
        let state = params.state.as_deref().ok_or(OidcError::StateMismatch)?;
        if !constant_time_eq(state.as_bytes(), pending.state.as_bytes()) {
            return Err(OidcError::StateMismatch);
        }
        if let Some(iss) = &params.iss {
            if iss.trim_end_matches('/') != self.settings.issuer_url.trim_end_matches('/') {
                return Err(OidcError::IssuerMismatch);
            }
        }
        let code = params
            .code
            .clone()
            .ok_or_else(|| OidcError::CodeExchange("no code in the response".into()))?;

        let client = self.client(self.metadata(false).await?)?;
        let token = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| OidcError::CodeExchange(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| OidcError::CodeExchange(error_chain(&e)))?;
        let nonce = Nonce::new(pending.nonce.clone());
        let mut identity = match verify_id_token(&client, &token, &nonce) {
            // A key we do not know may mean the provider rotated its keys: fetch them once more.
            Err(OidcError::InvalidIdToken(reason)) if reason.contains("key") => {
                let fresh = self.client(self.metadata(true).await?)?;
                verify_id_token(&fresh, &token, &nonce)?
            }
            other => other?,
        };

        // Userinfo fills what the ID token left out; a failure here does not fail sign-in.
        let subject = SubjectIdentifier::new(identity.sub.clone());
        if let Ok(request) = client.user_info(token.access_token().clone(), Some(subject)) {
            let info: Result<CoreUserInfoClaims, _> = request.request_async(&self.http).await;
            match info {
                Ok(info) => {
                    identity.email = identity
                        .email
                        .or_else(|| info.email().map(|e| e.to_string()));
                    identity.name = identity
                        .name
                        .or_else(|| info.name().and_then(|n| n.get(None)).map(|n| n.to_string()));
                    identity.preferred_username = identity
                        .preferred_username
                        .or_else(|| info.preferred_username().map(|u| u.to_string()));
                }
                Err(e) => tracing::warn!(error = %error_chain(&e), "userinfo request failed"),
            }
        }
        let id_token = token
            .id_token()
            .ok_or(OidcError::MissingIdToken)?
            .to_string();
        Ok(SignInResult { identity, id_token })
    }

    /// The provider's RP-initiated logout URL, when it has one.
    pub async fn logout_url(&self, id_token_hint: Option<&str>) -> Option<String> {
        let metadata = self.metadata(false).await.ok()?;
        let endpoint = metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()?;
        let mut request = LogoutRequest::from(endpoint)
            .set_client_id(ClientId::new(self.settings.client_id.clone()));
        if let Ok(url) = PostLogoutRedirectUrl::new(self.settings.post_logout_url.clone()) {
            request = request.set_post_logout_redirect_uri(url);
        }
        let hint: Option<openidconnect::core::CoreIdToken> =
            id_token_hint.and_then(|h| h.parse().ok());
        if let Some(hint) = hint {
            request = request.set_id_token_hint(&hint);
        }
        Some(request.http_get_url().to_string())
    }
}

/// Checks the ID token (signature, `iss`, `aud`, `exp`, `nonce`, `at_hash`) and reads its claims.
fn verify_id_token(
    client: &OidcClient,
    token: &openidconnect::core::CoreTokenResponse,
    nonce: &Nonce,
) -> Result<VerifiedIdentity, OidcError> {
    let invalid = |e: &dyn std::error::Error| OidcError::InvalidIdToken(error_chain(e));
    let id_token = token.id_token().ok_or(OidcError::MissingIdToken)?;
    let verifier = client.id_token_verifier();
    let claims = id_token.claims(&verifier, nonce).map_err(|e| invalid(&e))?;
    if let Some(expected) = claims.access_token_hash() {
        let alg = id_token.signing_alg().map_err(|e| invalid(&e))?;
        let key = id_token.signing_key(&verifier).map_err(|e| invalid(&e))?;
        let actual =
            AccessTokenHash::from_token(token.access_token(), alg, key).map_err(|e| invalid(&e))?;
        if actual != *expected {
            return Err(OidcError::InvalidIdToken(
                "at_hash does not match the access token".into(),
            ));
        }
    }
    Ok(VerifiedIdentity {
        sub: claims.subject().to_string(),
        email: claims.email().map(|e| e.to_string()),
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.to_string()),
        preferred_username: claims.preferred_username().map(|u| u.to_string()),
    })
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Accepts only local paths as places to return to after sign-in (no open redirect).
pub fn safe_return_to(raw: Option<&str>, public_origin: &str) -> String {
    raw.and_then(|raw| local_target(raw, public_origin))
        .unwrap_or_else(|| "/".into())
}

/// `raw` resolved against Gatepass's public origin, when it stays on that origin: its path and
/// query. Control characters and whitespace anywhere (browsers drop some, e.g. a tab in
/// `/\t/evil.example`, turning the path into `//evil.example`), backslashes, scheme-relative and
/// absolute URLs, and the sign-in routes themselves are refused.
fn local_target(raw: &str, public_origin: &str) -> Option<String> {
    if !raw.starts_with('/')
        || raw.starts_with("//")
        || raw.len() > 2048
        || raw
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return None;
    }
    let base = url::Url::parse(public_origin).ok()?;
    let resolved = base.join(raw).ok()?;
    if resolved.origin() != base.origin() || resolved.path().starts_with("/auth/") {
        return None;
    }
    let mut target = resolved.path().to_owned();
    if let Some(query) = resolved.query() {
        target.push('?');
        target.push_str(query);
    }
    // The path alone must not read as scheme-relative either (e.g. after `/.//x` normalises).
    (!target.starts_with("//")).then_some(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "https://gp.example.com";

    #[test]
    fn return_to_accepts_only_local_paths() {
        assert_eq!(
            safe_return_to(Some("/approvals?page=2"), ORIGIN),
            "/approvals?page=2"
        );
        assert_eq!(safe_return_to(None, ORIGIN), "/");
        for evil in [
            "/\t/evil.example/x",
            "/%09/evil.example/x",
            "/\u{0b}/evil.example",
            "/ /evil.example",
            "/\u{a0}/evil.example",
            "/.//evil.example",
            "/x/..//evil.example",
            "https://evil.example",
            "//evil.example/x",
            "/\\evil.example",
            "evil",
            "/ok\r\nSet-Cookie: x=y",
            "/auth/logout",
            "javascript:alert(1)",
        ] {
            let got = safe_return_to(Some(evil), ORIGIN);
            let resolved = url::Url::parse(ORIGIN).unwrap().join(&got).unwrap();
            assert_eq!(
                resolved.host_str(),
                Some("gp.example.com"),
                "{evil} -> {got}"
            );
            assert!(
                !got.starts_with("//") && !got.starts_with("/auth/"),
                "{evil} -> {got}"
            );
        }
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
