//! AWS Secrets Manager through the official SDK. The secret is named by name or ARN; region and
//! endpoint come from configuration or the standard AWS environment (`AWS_REGION`, credentials
//! chain). TLS uses rustls with the `ring` provider.

use aws_config::BehaviorVersion;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, SdkError};
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use aws_sdk_secretsmanager::Client;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use secrecy::SecretString;

use super::{SecretError, SecretRef, SecretSource, SecretStore};

/// Where to reach Secrets Manager.
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    /// e.g. `eu-west-1`; default from the AWS environment.
    pub region: Option<String>,
    /// A different endpoint (VPC endpoint, or a local emulator in tests).
    pub endpoint_url: Option<String>,
}

/// Reads `aws-secretsmanager:` references.
#[derive(Debug, Clone)]
pub struct AwsSecrets {
    client: Client,
}

impl AwsSecrets {
    /// Builds a client from `settings` and the standard AWS environment (credentials chain).
    pub async fn new(settings: &AwsSettings) -> AwsSecrets {
        AwsSecrets {
            client: Client::new(&loader(settings).load().await),
        }
    }

    /// A client with fixed credentials, for tests against a local emulator: nothing is looked up
    /// in the environment or at an instance metadata endpoint.
    #[cfg(any(test, feature = "test-support"))]
    pub async fn with_static_credentials(settings: &AwsSettings) -> AwsSecrets {
        let credentials = aws_sdk_secretsmanager::config::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "gatepass-tests",
        );
        AwsSecrets {
            client: Client::new(
                &loader(settings)
                    .credentials_provider(credentials)
                    .load()
                    .await,
            ),
        }
    }

    /// The SDK client, for test set-up (creating secrets).
    #[cfg(any(test, feature = "test-support"))]
    pub fn client(&self) -> &Client {
        &self.client
    }
}

fn loader(settings: &AwsSettings) -> aws_config::ConfigLoader {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
    if let Some(region) = &settings.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(endpoint) = &settings.endpoint_url {
        loader = loader.endpoint_url(endpoint.clone());
    }
    loader
}

#[async_trait::async_trait]
impl SecretStore for AwsSecrets {
    #[tracing::instrument(skip(self), fields(secret = %reference))]
    async fn fetch_raw(&self, reference: &SecretRef) -> Result<SecretString, SecretError> {
        let SecretSource::AwsSecretsManager(id) = &reference.source else {
            return Err(SecretError::BackendNotConfigured(reference.to_string()));
        };
        match self.client.get_secret_value().secret_id(id).send().await {
            Ok(out) => out
                .secret_string()
                .map(|s| SecretString::from(s.to_string()))
                .ok_or_else(|| SecretError::Empty(reference.to_string())),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), GetSecretValueError::ResourceNotFoundException(_)) =>
            {
                Err(SecretError::NotFound(reference.to_string()))
            }
            Err(e) => {
                let reason = DisplayErrorContext(&e).to_string();
                tracing::warn!(%reason, "Secrets Manager call failed");
                Err(SecretError::Unavailable {
                    reference: reference.to_string(),
                    reason,
                })
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
    use crate::ssr::secrets::{local::LocalSecrets, CachedSecrets};
    use crate::ssr::testing::Moto;

    #[tokio::test]
    async fn reads_rotates_and_reports_missing_secrets_in_secrets_manager() {
        let Some(moto) = Moto::start() else { return };
        let settings = AwsSettings {
            region: Some("eu-west-1".into()),
            endpoint_url: Some(moto.url.clone()),
        };
        let aws = AwsSecrets::with_static_credentials(&settings).await;
        let sm = aws.client().clone();
        sm.create_secret()
            .name("gatepass/okta")
            .secret_string("token-v1")
            .send()
            .await
            .unwrap();
        let arn = sm
            .create_secret()
            .name("gatepass/okta-app")
            .secret_string(r#"{"client_id":"0oa1","private_key":"-----BEGIN PRIVATE KEY-----"}"#)
            .send()
            .await
            .unwrap()
            .arn()
            .unwrap()
            .to_string();

        let secrets = CachedSecrets::new(
            Some(Arc::new(aws)),
            Arc::new(LocalSecrets),
            Duration::from_secs(300),
        );
        let by_name: SecretRef = "aws-secretsmanager:gatepass/okta".parse().unwrap();
        assert_eq!(
            secrets.get(&by_name).await.unwrap().expose_secret(),
            "token-v1"
        );
        let by_arn: SecretRef = format!("aws-secretsmanager:{arn}#private_key")
            .parse()
            .unwrap();
        assert_eq!(
            secrets.get(&by_arn).await.unwrap().expose_secret(),
            "-----BEGIN PRIVATE KEY-----"
        );

        // Rotation in AWS: the cached value stays until forgotten (as after an Okta 401).
        sm.put_secret_value()
            .secret_id("gatepass/okta")
            .secret_string("token-v2")
            .send()
            .await
            .unwrap();
        assert_eq!(
            secrets.get(&by_name).await.unwrap().expose_secret(),
            "token-v1"
        );
        secrets.forget(&by_name).await;
        assert_eq!(
            secrets.get(&by_name).await.unwrap().expose_secret(),
            "token-v2"
        );

        let missing: SecretRef = "aws-secretsmanager:gatepass/nope".parse().unwrap();
        assert_eq!(
            secrets.get(&missing).await.unwrap_err(),
            SecretError::NotFound("aws-secretsmanager:gatepass/nope".into())
        );
        let wrong_key: SecretRef = "aws-secretsmanager:gatepass/okta-app#token"
            .parse()
            .unwrap();
        let err = secrets.get(&wrong_key).await.unwrap_err();
        assert!(matches!(err, SecretError::MissingKey { .. }), "{err:?}");
        assert!(!err.to_string().contains("PRIVATE KEY"), "{err}");
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_is_unavailable_not_a_panic() {
        let settings = AwsSettings {
            region: Some("eu-west-1".into()),
            endpoint_url: Some("http://127.0.0.1:1".into()),
        };
        let aws = AwsSecrets::with_static_credentials(&settings).await;
        let r: SecretRef = "aws-secretsmanager:gatepass/okta".parse().unwrap();
        let err = aws.fetch_raw(&r).await.unwrap_err();
        assert!(matches!(err, SecretError::Unavailable { .. }), "{err:?}");
    }
}
