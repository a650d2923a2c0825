//! The health of this Gatepass server.

use std::time::Instant;

use crate::error::AppError;
use crate::model::{SystemDetails, SystemStatus};
use crate::ssr::clock::{rfc3339, Clock};
use crate::ssr::db::{directory, Db};

/// Reports on the server: version, database, directory size.
pub struct SystemService<'a> {
    db: &'a Db,
    clock: &'a dyn Clock,
}

impl<'a> SystemService<'a> {
    pub fn new(db: &'a Db, clock: &'a dyn Clock) -> Self {
        SystemService { db, clock }
    }

    /// Pings the database; for a signed-in caller (`detailed`) also the version, the engine,
    /// its latency and the directory's size.
    #[tracing::instrument(skip(self))]
    pub async fn status(&self, detailed: bool) -> Result<SystemStatus, AppError> {
        let started = Instant::now();
        self.db.ping().await?;
        let database_latency_us = started.elapsed().as_micros() as u64;
        let details = if detailed {
            Some(SystemDetails {
                version: env!("CARGO_PKG_VERSION").to_string(),
                engine: self.db.engine(),
                database_latency_us,
                directory: directory::count_directory(self.db).await?,
            })
        } else {
            None
        };
        Ok(SystemStatus {
            checked_at: rfc3339(self.clock.now()),
            details,
        })
    }
}
