//! Where credentials come from: a [`SecretRef`] names a secret, a [`SecretStore`] reads it.
//!
//! Backends: AWS Secrets Manager ([`aws`]) for production, and the local environment or a file
//! ([`local`]) for development and the demo. Values are [`SecretString`] from the moment they are
//! read; errors name the reference, never the value. [`CachedSecrets`] keeps values for a TTL and
//! can forget one on demand (after the Okta API answers 401, say), so a rotated secret is picked
//! up without a restart.

pub mod aws;
pub mod local;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::RwLock;

/// The name of a secret, parsed from `aws-secretsmanager:<name-or-arn>`, `env:<VAR>` or
/// `file:<path>`, each optionally followed by `#<json-key>` when the secret is a JSON object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretRef {
    pub source: SecretSource,
    /// Key inside a JSON secret; `None` means the whole value is the secret.
    pub json_key: Option<String>,
}

/// Which backend holds the secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SecretSource {
    /// AWS Secrets Manager, by secret name or ARN.
    AwsSecretsManager(String),
    /// An environment variable of the Gatepass process.
    Env(String),
    /// A file (e.g. mounted by an orchestrator).
    File(String),
}

impl SecretSource {
    /// Whether this backend is meant for development only (shown as such to admins).
    pub fn is_local(&self) -> bool {
        !matches!(self, SecretSource::AwsSecretsManager(_))
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            SecretSource::AwsSecretsManager(id) => write!(f, "aws-secretsmanager:{id}")?,
            SecretSource::Env(var) => write!(f, "env:{var}")?,
            SecretSource::File(path) => write!(f, "file:{path}")?,
        }
        if let Some(key) = &self.json_key {
            write!(f, "#{key}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for SecretRef {
    type Err = String;

    /// Parses a reference; the error says what is expected and never repeats what was typed:
    /// it may be a secret pasted by mistake.
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (scheme, rest) = text.split_once(':').ok_or_else(|| {
            "this is not a secret reference; expected aws-secretsmanager:NAME, env:VAR or file:PATH"
                .to_string()
        })?;
        let (name, json_key) = match rest.rsplit_once('#') {
            Some((name, key)) if !key.is_empty() => (name, Some(key.to_string())),
            Some((_, _)) => return Err("the reference ends with `#` but names no JSON key".into()),
            None => (rest, None),
        };
        if name.is_empty() {
            return Err("the reference names no secret after its backend".into());
        }
        let source = match scheme {
            "aws-secretsmanager" => SecretSource::AwsSecretsManager(name.to_string()),
            "env" => {
                if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(
                        "env: needs an environment variable name (letters, digits and _)".into(),
                    );
                }
                SecretSource::Env(name.to_string())
            }
            "file" => SecretSource::File(name.to_string()),
            other => {
                let shown = if other.len() <= 24
                    && other
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit())
                {
                    format!(" `{other}`")
                } else {
                    String::new()
                };
                return Err(format!(
                    "unknown secret backend{shown}; expected aws-secretsmanager, env or file"
                ));
            }
        };
        Ok(SecretRef { source, json_key })
    }
}

/// Why a secret could not be read. Never carries the secret's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("secret {0} was not found")]
    NotFound(String),
    #[error("secret {reference} could not be read: {reason}")]
    Unavailable { reference: String, reason: String },
    #[error("secret {0} is empty")]
    Empty(String),
    #[error("secret {reference} is not a JSON object with the key `{key}`")]
    MissingKey { reference: String, key: String },
    #[error("secret {0} uses a backend that is not configured")]
    BackendNotConfigured(String),
}

/// Reads secrets.
#[async_trait::async_trait]
pub trait SecretStore: Send + Sync + fmt::Debug {
    /// The raw value of the secret `reference` names (before any `#json-key` is applied).
    async fn fetch_raw(&self, reference: &SecretRef) -> Result<SecretString, SecretError>;
}

/// Applies `#json-key` to a raw value and refuses empty secrets.
pub fn select_value(reference: &SecretRef, raw: SecretString) -> Result<SecretString, SecretError> {
    let value = match &reference.json_key {
        None => raw,
        Some(key) => {
            let missing = || SecretError::MissingKey {
                reference: reference.to_string(),
                key: key.clone(),
            };
            let json: serde_json::Value =
                serde_json::from_str(raw.expose_secret()).map_err(|_| missing())?;
            match json.get(key) {
                Some(serde_json::Value::String(s)) => SecretString::from(s.clone()),
                _ => return Err(missing()),
            }
        }
    };
    if value.expose_secret().trim().is_empty() {
        return Err(SecretError::Empty(reference.to_string()));
    }
    Ok(value)
}

/// Routes each reference to its backend, keeps values for `ttl`, and forgets on request.
#[derive(Debug, Clone)]
pub struct CachedSecrets {
    aws: Option<Arc<dyn SecretStore>>,
    local: Arc<dyn SecretStore>,
    ttl: Duration,
    cache: Arc<RwLock<HashMap<SecretRef, (Instant, SecretString)>>>,
}

impl CachedSecrets {
    pub fn new(
        aws: Option<Arc<dyn SecretStore>>,
        local: Arc<dyn SecretStore>,
        ttl: Duration,
    ) -> Self {
        CachedSecrets {
            aws,
            local,
            ttl,
            cache: Arc::default(),
        }
    }

    /// The secret `reference` names, from the cache while fresh.
    #[tracing::instrument(skip(self), fields(secret = %reference))]
    pub async fn get(&self, reference: &SecretRef) -> Result<SecretString, SecretError> {
        if let Some((at, value)) = self.cache.read().await.get(reference) {
            if at.elapsed() < self.ttl {
                return Ok(value.clone());
            }
        }
        let store = match &reference.source {
            SecretSource::AwsSecretsManager(_) => self
                .aws
                .as_ref()
                .ok_or_else(|| SecretError::BackendNotConfigured(reference.to_string()))?,
            SecretSource::Env(_) | SecretSource::File(_) => &self.local,
        };
        let value = select_value(reference, store.fetch_raw(reference).await?)?;
        self.cache
            .write()
            .await
            .insert(reference.clone(), (Instant::now(), value.clone()));
        Ok(value)
    }

    /// Drops the cached value, so the next [`get`](Self::get) reads the backend again.
    pub async fn forget(&self, reference: &SecretRef) {
        self.cache.write().await.remove(reference);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_references() {
        for text in [
            "aws-secretsmanager:gatepass/okta",
            "aws-secretsmanager:arn:aws:secretsmanager:eu-west-1:123456789012:secret:okta-AbCdEf#token",
            "env:GATEPASS_OKTA_TOKEN",
            "file:/run/secrets/okta.json#private_key",
        ] {
            let parsed: SecretRef = text.parse().unwrap();
            assert_eq!(parsed.to_string(), text);
        }
        let arn: SecretRef = "aws-secretsmanager:arn:aws:secretsmanager:eu-west-1:1:secret:x#k"
            .parse()
            .unwrap();
        assert_eq!(
            arn.source,
            SecretSource::AwsSecretsManager("arn:aws:secretsmanager:eu-west-1:1:secret:x".into())
        );
        assert_eq!(arn.json_key.as_deref(), Some("k"));
    }

    #[test]
    fn rejects_bad_references_with_what_is_expected() {
        for (text, expected) in [
            (
                "okta-token",
                "this is not a secret reference; expected aws-secretsmanager:NAME, env:VAR or file:PATH",
            ),
            ("vault:x", "unknown secret backend `vault`"),
            ("SSWS 00aSECRETtoken:xyz", "unknown secret backend; expected"),
            ("env:", "names no secret"),
            ("env:NOT-A-VAR", "needs an environment variable name"),
            ("SSWS:00abcSECRET#", "names no JSON key"),
            ("env:00abcSECRET-x", "needs an environment variable name"),
            ("file:/x#", "names no JSON key"),
        ] {
            let err = text.parse::<SecretRef>().unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
            assert!(!err.contains("SECRET") && !err.contains(text), "echoed: {err}");
        }
    }

    #[test]
    fn selects_json_keys_and_refuses_empty_values() {
        let r: SecretRef = "env:X#token".parse().unwrap();
        let v = select_value(&r, SecretString::from(r#"{"token":"abc"}"#)).unwrap();
        assert_eq!(v.expose_secret(), "abc");
        let err = select_value(&r, SecretString::from(r#"{"other":"abc"}"#)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "secret env:X#token is not a JSON object with the key `token`"
        );
        let err = select_value(&r, SecretString::from("not json, do not print me")).unwrap_err();
        assert!(!err.to_string().contains("print me"));
        let plain: SecretRef = "env:X".parse().unwrap();
        assert_eq!(
            select_value(&plain, SecretString::from("  ")).unwrap_err(),
            SecretError::Empty("env:X".into())
        );
    }
}
