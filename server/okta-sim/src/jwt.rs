//! Just enough JOSE for the simulator: RS256 JSON Web Tokens signed with the org's key (ID
//! tokens) and verified against a registered public key (service-app client assertions).

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
use serde_json::{json, Value};
use sha2::Sha256;

/// The org's signing key and its key id.
pub struct OrgKey {
    pub kid: String,
    key: SigningKey<Sha256>,
    public: RsaPublicKey,
}

/// One key per process: generating RSA keys is slow, and every simulated org may share it.
pub fn org_key() -> &'static OrgKey {
    static KEY: OnceLock<OrgKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let private =
            RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("RSA key generation");
        let public = private.to_public_key();
        OrgKey {
            kid: "sim-".to_string() + &B64.encode(&public.n().to_bytes_be()[..9]),
            key: SigningKey::<Sha256>::new(private),
            public,
        }
    })
}

impl OrgKey {
    /// Signs `claims` as a compact RS256 JWT.
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({ "alg": "RS256", "kid": self.kid, "typ": "JWT" });
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let sig = self.key.sign(input.as_bytes());
        format!("{input}.{}", B64.encode(sig.to_bytes()))
    }

    /// The public half as a JWKS document.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [{
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": self.kid,
            "n": B64.encode(self.public.n().to_bytes_be()),
            "e": B64.encode(self.public.e().to_bytes_be()),
        }]})
    }
}

/// A registered RSA public key (from a JWK or a PEM document).
#[derive(Debug, Clone)]
pub struct PublicJwk {
    pub kid: Option<String>,
    key: RsaPublicKey,
}

impl PublicJwk {
    /// From a JWK object `{kty: "RSA", n, e, kid?}`.
    pub fn from_jwk(v: &Value) -> Result<Self, String> {
        if v.get("kty").and_then(Value::as_str) != Some("RSA") {
            return Err("only RSA keys (kty RSA) are supported".into());
        }
        let part = |name: &str| -> Result<BigUint, String> {
            let s = v
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("JWK has no {name:?}"))?;
            let bytes = B64
                .decode(s)
                .map_err(|_| format!("JWK {name:?} is not base64url"))?;
            Ok(BigUint::from_bytes_be(&bytes))
        };
        let key = RsaPublicKey::new(part("n")?, part("e")?).map_err(|e| e.to_string())?;
        Ok(PublicJwk {
            kid: v.get("kid").and_then(Value::as_str).map(str::to_owned),
            key,
        })
    }

    /// The key as a JWK object.
    pub fn to_jwk(&self) -> Value {
        let mut v = json!({
            "kty": "RSA",
            "n": B64.encode(self.key.n().to_bytes_be()),
            "e": B64.encode(self.key.e().to_bytes_be()),
        });
        if let Some(kid) = &self.kid {
            v["kid"] = json!(kid);
        }
        v
    }

    /// From a PEM `PUBLIC KEY` (SPKI) document.
    pub fn from_pem(pem: &str, kid: Option<String>) -> Result<Self, String> {
        let key = RsaPublicKey::from_public_key_pem(pem)
            .map_err(|e| format!("not an RSA public key PEM: {e}"))?;
        Ok(PublicJwk { kid, key })
    }
}

/// Why a JWT was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    #[error("the JWT is malformed")]
    Malformed,
    #[error("the JWT must be signed with RS256")]
    Algorithm,
    #[error("no registered key matches the JWT's kid")]
    UnknownKey,
    #[error("the JWT signature is invalid")]
    Signature,
}

/// Verifies an RS256 JWT against `keys` and returns its claims (no claim checks here).
pub fn verify(token: &str, keys: &[PublicJwk]) -> Result<Value, JwtError> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let decode = |p: &str| -> Result<Value, JwtError> {
        let bytes = B64.decode(p).map_err(|_| JwtError::Malformed)?;
        serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)
    };
    let header = decode(h)?;
    let claims = decode(c)?;
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(JwtError::Algorithm);
    }
    let kid = header.get("kid").and_then(Value::as_str);
    let candidates: Vec<&PublicJwk> = keys
        .iter()
        .filter(|k| kid.is_none() || k.kid.is_none() || k.kid.as_deref() == kid)
        .collect();
    if candidates.is_empty() {
        return Err(JwtError::UnknownKey);
    }
    let sig = B64.decode(s).map_err(|_| JwtError::Malformed)?;
    let sig = Signature::try_from(sig.as_slice()).map_err(|_| JwtError::Signature)?;
    let input = format!("{h}.{c}");
    if candidates.iter().any(|k| {
        VerifyingKey::<Sha256>::new(k.key.clone())
            .verify(input.as_bytes(), &sig)
            .is_ok()
    }) {
        Ok(claims)
    } else {
        Err(JwtError::Signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_and_refuses_tampering() {
        let key = org_key();
        let jwk = PublicJwk::from_jwk(&key.jwks()["keys"][0]).unwrap();
        let token = key.sign(&json!({ "sub": "00u1" }));
        assert_eq!(
            verify(&token, std::slice::from_ref(&jwk)).unwrap()["sub"],
            "00u1"
        );

        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = B64.encode(json!({ "sub": "00u2" }).to_string());
        parts[1] = &forged;
        assert_eq!(
            verify(&parts.join("."), std::slice::from_ref(&jwk)),
            Err(JwtError::Signature)
        );
        let none = format!(
            "{}.{}.",
            B64.encode(json!({ "alg": "none" }).to_string()),
            B64.encode("{}")
        );
        assert_eq!(
            verify(&none, std::slice::from_ref(&jwk)),
            Err(JwtError::Algorithm)
        );
        assert_eq!(verify("a.b", &[jwk]), Err(JwtError::Malformed));
    }
}
