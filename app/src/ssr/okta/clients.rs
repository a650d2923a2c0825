//! The Okta client in use, kept while the integration settings stay the same, so the rate
//! governor and a cached access token carry over from one call to the next.

use std::sync::Arc;

use tokio::sync::Mutex;

use super::OktaClient;
use crate::model::{IntegrationSettings, Timestamp};

/// A client and the settings it was built from.
type Built = (IntegrationSettings, Arc<OktaClient>);

/// One cached client and the settings it was built from; cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct OktaClients {
    cached: Arc<Mutex<Option<Built>>>,
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
    /// The client built last, if any.
    pub async fn current(&self) -> Option<Arc<OktaClient>> {
        self.cached.lock().await.as_ref().map(|(_, c)| c.clone())
    }

    /// The client for `settings`: the cached one while they are the same, else a new one from
    /// `build` (which then replaces it).
    pub async fn for_settings<E>(
        &self,
        settings: &IntegrationSettings,
        build: impl FnOnce() -> Result<OktaClient, E>,
    ) -> Result<Arc<OktaClient>, E> {
        let mut cache = self.cached.lock().await;
        if let Some((cached, client)) = cache.as_ref() {
            if same(cached, settings) {
                return Ok(client.clone());
            }
        }
        let client = Arc::new(build()?);
        *cache = Some((settings.clone(), client.clone()));
        Ok(client)
    }
}
