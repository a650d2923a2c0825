//! `AppState`: everything a request handler or server function needs, built once at start-up.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::{use_context, LeptosOptions};

use super::auth::AuthSettings;
use super::clock::Clock;
use super::db::Db;
use super::services::system::SystemService;
use crate::error::AppError;

/// Shared server state; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub options: LeptosOptions,
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub auth: AuthSettings,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.options.clone()
    }
}

impl AppState {
    /// The state provided to the current server function or page render.
    pub fn current() -> Result<AppState, AppError> {
        use_context::<AppState>().ok_or_else(|| {
            tracing::error!("AppState missing from the Leptos context");
            AppError::Internal
        })
    }

    pub fn system(&self) -> SystemService<'_> {
        SystemService::new(&self.db, self.clock.as_ref())
    }
}
