//! The health of this Gatepass server, and the size of its copy of the directory.

use std::time::Instant;

use crate::error::AppError;
use crate::model::{DirectoryCounts, SystemDetails, SystemStatus};
use crate::ssr::cache::Caches;
use crate::ssr::clock::{rfc3339, Clock};
use crate::ssr::db::{directory, Db};

/// Reports on the server: version, database, directory size.
pub struct SystemService<'a> {
    db: &'a Db,
    clock: &'a dyn Clock,
    caches: &'a Caches,
}

impl<'a> SystemService<'a> {
    pub fn new(db: &'a Db, clock: &'a dyn Clock, caches: &'a Caches) -> Self {
        SystemService { db, clock, caches }
    }

    /// The directory's size, counted again only after a sync or when the last count is
    /// older than [`COUNTS_TTL`](crate::ssr::cache::COUNTS_TTL): counting a million
    /// memberships on every page view would cost more than the page.
    pub async fn directory_counts(&self) -> Result<DirectoryCounts, AppError> {
        let latest_sync = self.caches.sync_mark(self.db).await?;
        Ok(self
            .caches
            .directory_counts
            .get_or_load(latest_sync, || directory::count_directory(self.db))
            .await?)
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
                directory: self.directory_counts().await?,
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
