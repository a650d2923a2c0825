//! The Okta client in use, kept while the integration settings stay the same, so the rate
//! governor and a cached access token carry over from one call to the next; built with the
//! share of Okta's rate limits the configuration gives Gatepass (`okta.rate_limit_share`).

use std::sync::Arc;

use tokio::sync::Mutex;

use super::client::DEFAULT_RATE_SHARE;
use super::{OktaClient, OktaError, OktaSettings};
use crate::model::{IntegrationSettings, Timestamp};
use crate::ssr::secrets::CachedSecrets;

/// A client and the settings it was built from.
type Built = (IntegrationSettings, Arc<OktaClient>);

/// One cached client and the settings it was built from; cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct OktaClients {
    cached: Arc<Mutex<Option<Built>>>,
    /// The share of each Okta rate-limit bucket the clients may use (0.01–1).
    rate_share: f64,
}

impl Default for OktaClients {
    fn default() -> Self {
        OktaClients::with_rate_share(DEFAULT_RATE_SHARE)
    }
}

/// Settings equal but for who saved them and when.
fn same(a: &IntegrationSettings, b: &IntegrationSettings) -> bool {
    let strip = |s: &IntegrationSettings| IntegrationSettings {
        updated_at: Timestamp::EPOCH,
        updated_by: String::new(),
        ..s.clone()
    };
    strip(a) == strip(b)
}

impl OktaClients {
    /// Clients that use `rate_share` of each of Okta's rate-limit buckets (checked by
    /// [`super::client::check_rate_share`] when configured).
    pub fn with_rate_share(rate_share: f64) -> Self {
        OktaClients {
            cached: Arc::default(),
            rate_share,
        }
    }

    /// The share of each rate-limit bucket the clients use.
    pub fn rate_share(&self) -> f64 {
        self.rate_share
    }

    /// The client built last, if any.
    pub async fn current(&self) -> Option<Arc<OktaClient>> {
        self.cached.lock().await.as_ref().map(|(_, c)| c.clone())
    }

    /// The client for `settings`: the cached one while they are the same, else a new one from
    /// the client settings `build` gives (which then replaces it).
    pub async fn for_settings<E: From<OktaError>>(
        &self,
        settings: &IntegrationSettings,
        secrets: &CachedSecrets,
        build: impl FnOnce() -> Result<OktaSettings, E>,
    ) -> Result<Arc<OktaClient>, E> {
        let mut cache = self.cached.lock().await;
        if let Some((cached, client)) = cache.as_ref() {
            if same(cached, settings) {
                return Ok(client.clone());
            }
        }
        let client_settings = OktaSettings {
            rate_share: self.rate_share,
            ..build()?
        };
        let client = Arc::new(OktaClient::new(client_settings, secrets.clone())?);
        *cache = Some((settings.clone(), client.clone()));
        Ok(client)
    }
}
