//! Secrets from the process environment or a file: for development and the demo, and for
//! orchestrators that mount secrets as files. Shown to admins as a local store.

use secrecy::SecretString;

use super::{SecretError, SecretRef, SecretSource, SecretStore};

/// Reads `env:` and `file:` references.
#[derive(Debug, Default, Clone)]
pub struct LocalSecrets;

#[async_trait::async_trait]
impl SecretStore for LocalSecrets {
    async fn fetch_raw(&self, reference: &SecretRef) -> Result<SecretString, SecretError> {
        match &reference.source {
            SecretSource::Env(var) => std::env::var(var)
                .map(SecretString::from)
                .map_err(|_| SecretError::NotFound(reference.to_string())),
            SecretSource::File(path) => match tokio::fs::read_to_string(path).await {
                Ok(text) => Ok(SecretString::from(
                    text.trim_end_matches(['\n', '\r']).to_string(),
                )),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err(SecretError::NotFound(reference.to_string()))
                }
                Err(e) => Err(SecretError::Unavailable {
                    reference: reference.to_string(),
                    reason: e.kind().to_string(),
                }),
            },
            SecretSource::AwsSecretsManager(_) => {
                Err(SecretError::BackendNotConfigured(reference.to_string()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use secrecy::ExposeSecret;

    use super::*;
    use crate::ssr::secrets::CachedSecrets;

    fn store(ttl: Duration) -> CachedSecrets {
        CachedSecrets::new(None, Arc::new(LocalSecrets), ttl)
    }

    #[tokio::test]
    async fn reads_files_and_json_keys_and_caches_until_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("okta.json");
        std::fs::write(&path, "{\"token\":\"first\"}\n").unwrap();
        let secrets = store(Duration::from_secs(3600));
        let r: SecretRef = format!("file:{}#token", path.display()).parse().unwrap();
        assert_eq!(secrets.get(&r).await.unwrap().expose_secret(), "first");

        std::fs::write(&path, "{\"token\":\"rotated\"}").unwrap();
        assert_eq!(
            secrets.get(&r).await.unwrap().expose_secret(),
            "first",
            "cached"
        );
        secrets.forget(&r).await;
        assert_eq!(secrets.get(&r).await.unwrap().expose_secret(), "rotated");
    }

    #[tokio::test]
    async fn expired_cache_entries_are_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "one\n").unwrap();
        let secrets = store(Duration::ZERO);
        let r: SecretRef = format!("file:{}", path.display()).parse().unwrap();
        assert_eq!(secrets.get(&r).await.unwrap().expose_secret(), "one");
        std::fs::write(&path, "two").unwrap();
        assert_eq!(secrets.get(&r).await.unwrap().expose_secret(), "two");
    }

    #[tokio::test]
    async fn missing_secrets_and_unconfigured_backends_are_named() {
        let secrets = store(Duration::from_secs(60));
        let r: SecretRef = "env:GATEPASS_SURELY_UNSET_VARIABLE".parse().unwrap();
        assert_eq!(
            secrets.get(&r).await.unwrap_err().to_string(),
            "secret env:GATEPASS_SURELY_UNSET_VARIABLE was not found"
        );
        let r: SecretRef = "file:/nonexistent/gatepass/token".parse().unwrap();
        assert!(matches!(
            secrets.get(&r).await,
            Err(SecretError::NotFound(_))
        ));
        let r: SecretRef = "aws-secretsmanager:okta".parse().unwrap();
        assert_eq!(
            secrets.get(&r).await.unwrap_err().to_string(),
            "secret aws-secretsmanager:okta uses a backend that is not configured"
        );
    }

    #[test]
    fn debug_output_never_shows_a_value() {
        let value = SecretString::from("hunter2-okta-token");
        assert!(!format!("{value:?}").contains("hunter2"));
    }
}
