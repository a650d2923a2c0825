//! Domain operations. Services take parsed, typed input and capability values, use `db/` for
//! storage and return `AppError` for the browser. Each is built from the [`Core`] here
//! (`core.access()`, …), so neither services nor jobs depend on the web server's state.

pub mod access;
#[cfg(test)]
mod access_tests;
#[cfg(test)]
mod apps_tests;
pub mod assess;
pub mod audit;
pub mod audit_text;
pub mod bundles;
pub mod catalog;
pub mod drift;
pub mod email;
pub mod emergency;
pub mod groups;
pub mod identity;
pub mod integration;
pub mod metrics;
pub mod notifications;
pub mod policy;
pub mod policy_code;
pub mod reviews;
#[cfg(test)]
mod reviews_tests;
pub mod routing;
#[cfg(test)]
mod rules_tests;
pub mod slack;
pub mod sync;
pub mod system;
pub mod tickets;
pub mod tokens;
pub mod windows;

use std::sync::Arc;

use crate::error::AppError;
use crate::model::IntegrationSettings;
use crate::ssr::core::Core;
use crate::ssr::okta::OktaClient;

impl Core {
    pub fn system(&self) -> system::SystemService<'_> {
        system::SystemService::new(&self.db, self.clock.as_ref(), &self.caches)
    }

    pub fn access(&self) -> access::AccessService<'_> {
        access::AccessService {
            db: &self.db,
            clock: self.clock.as_ref(),
            signal: Some(&self.engine),
            on_call: self.on_call.as_deref(),
        }
    }

    pub fn policy_code(&self) -> policy_code::PolicyCodeService<'_> {
        policy_code::PolicyCodeService {
            access: self.access(),
        }
    }

    pub fn catalog(&self) -> catalog::CatalogService<'_> {
        catalog::CatalogService {
            db: &self.db,
            caches: &self.caches,
        }
    }

    pub fn drift(&self) -> drift::DriftService<'_> {
        drift::DriftService {
            db: &self.db,
            clock: self.clock.as_ref(),
            signal: Some(&self.engine),
        }
    }

    pub fn reviews(&self) -> reviews::ReviewService<'_> {
        reviews::ReviewService {
            db: &self.db,
            clock: self.clock.as_ref(),
            signal: Some(&self.engine),
        }
    }

    pub fn groups(&self) -> groups::GroupsService<'_> {
        groups::GroupsService { db: &self.db }
    }

    pub fn integration(&self) -> integration::IntegrationService<'_> {
        integration::IntegrationService {
            db: &self.db,
            clock: self.clock.as_ref(),
            secrets: &self.secrets,
            trust: &self.okta_trust,
        }
    }

    pub fn notifications(&self) -> notifications::NotificationsService<'_> {
        notifications::NotificationsService { core: self }
    }

    pub fn slack(&self) -> slack::SlackService<'_> {
        slack::SlackService { core: self }
    }

    pub fn tokens(&self) -> tokens::TokenService<'_> {
        tokens::TokenService { core: self }
    }

    pub fn sync(&self) -> sync::SyncService<'_> {
        sync::SyncService { core: self }
    }

    /// The Okta client for `settings`, reused while the settings stay the same (so the rate
    /// governor and the cached access token carry over between calls). Refused unless the
    /// configuration trusts the settings' org and secret reference.
    pub async fn okta_client(
        &self,
        settings: &IntegrationSettings,
    ) -> Result<Arc<OktaClient>, AppError> {
        self.okta
            .for_settings(settings, &self.secrets, || {
                integration::okta_settings(settings, &self.okta_trust)
            })
            .await
    }
}
