//! `AppState`: what a request handler, page render or server function sees — the Leptos options
//! and the [`Core`] the services run on (reachable through `Deref`, so `state.db` and
//! `state.access()` read as before).

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::{use_context, LeptosOptions};

use super::core::Core;
use crate::error::AppError;

/// Shared web server state; cheap to clone (it is cloned for every request and server
/// function call, so both halves are behind reference counts).
#[derive(Clone, Debug)]
pub struct AppState {
    pub options: Arc<LeptosOptions>,
    pub core: Arc<Core>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.options.as_ref().clone()
    }
}

impl Deref for AppState {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.core
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

    pub fn new(options: LeptosOptions, core: Core) -> Self {
        AppState {
            options: Arc::new(options),
            core: Arc::new(core),
        }
    }
}
