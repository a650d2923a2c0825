//! How Gatepass proves itself to Okta: an SSWS API token, or an OAuth 2.0 service app
//! (client credentials with a `private_key_jwt` assertion; Okta's recommended, least-privilege
//! option). Both keep their secret in the secret store; the service app's access token is
//! cached until shortly before it expires.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{RandomizedSigner, SignatureEncoding};
use rsa::RsaPrivateKey;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sha2::Sha256;

use crate::ssr::secrets::SecretRef;

/// Scopes Gatepass asks a service app for.
pub const SERVICE_APP_SCOPES: [&str; 3] =
    ["okta.users.read", "okta.groups.read", "okta.groups.manage"];

/// Scopes of the service app's second token, for the apps API (Okta apps as requestable
/// resources). A service app not granted them keeps working for groups.
pub const APP_SCOPES: [&str; 2] = ["okta.apps.read", "okta.apps.manage"];

/// The credential Gatepass calls Okta with (references only; values live in the secret store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OktaCredential {
    /// `Authorization: SSWS <token>`.
    ApiToken { token: SecretRef },
    /// Client credentials with `private_key_jwt`.
    ServiceApp {
        client_id: String,
        /// The `kid` of the registered public key, when the app has several.
        key_id: Option<String>,
        /// PEM private key (PKCS#8 or PKCS#1).
        private_key: SecretRef,
        scopes: Vec<String>,
    },
}

impl OktaCredential {
    /// The secret reference behind the credential.
    pub fn secret_ref(&self) -> &SecretRef {
        match self {
            OktaCredential::ApiToken { token } => token,
            OktaCredential::ServiceApp { private_key, .. } => private_key,
        }
    }
}

/// A cached service-app access token.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: SecretString,
    pub expires_at: tokio::time::Instant,
}

impl AccessToken {
    /// Usable for at least another minute.
    pub fn fresh(&self) -> bool {
        self.expires_at > tokio::time::Instant::now() + Duration::from_secs(60)
    }
}

/// Why a client assertion could not be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the service app's private key is not an RSA private key in PEM form (PKCS#8 or PKCS#1)")]
pub struct BadPrivateKey;

/// Signs the client assertion Okta's token endpoint `audience` expects from `client_id`.
pub fn client_assertion(
    client_id: &str,
    key_id: Option<&str>,
    private_key_pem: &SecretString,
    audience: &str,
) -> Result<String, BadPrivateKey> {
    let pem = private_key_pem.expose_secret();
    let key = RsaPrivateKey::from_pkcs8_pem(pem)
        .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
        .map_err(|_| BadPrivateKey)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let mut header = json!({ "alg": "RS256", "typ": "JWT" });
    if let Some(kid) = key_id {
        header["kid"] = json!(kid);
    }
    let jti: String = {
        use rand::Rng;
        let bytes: [u8; 18] = rand::thread_rng().gen();
        B64.encode(bytes)
    };
    let claims = json!({
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + 300,
        "jti": jti,
    });
    let input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    // Blinded: the private-key operation of rsa 0.9 is not constant-time (RUSTSEC-2023-0071).
    let signature =
        SigningKey::<Sha256>::new(key).sign_with_rng(&mut rand::thread_rng(), input.as_bytes());
    Ok(format!("{input}.{}", B64.encode(signature.to_bytes())))
}
