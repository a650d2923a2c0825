//! The health of this Gatepass server.

use std::time::Instant;

use crate::error::AppError;
use crate::model::SystemStatus;
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

    /// Pings the database and counts the synced directory.
    #[tracing::instrument(skip(self))]
    pub async fn status(&self) -> Result<SystemStatus, AppError> {
        let started = Instant::now();
        self.db.ping().await?;
        let database_latency_us = started.elapsed().as_micros() as u64;
        let directory = directory::count_directory(self.db).await?;
        Ok(SystemStatus {
            version: env!("CARGO_PKG_VERSION").to_string(),
            engine: self.db.engine(),
            database_latency_us,
            directory,
            checked_at: rfc3339(self.clock.now()),
        })
    }
}
