//! Writing audit events for changes that have no transaction of their own.

use crate::error::AppError;
use crate::ssr::clock::{to_millis, Clock};
use crate::ssr::db::{audit, Db, DbError};

/// Records one event in its own transaction.
pub async fn record(
    db: &Db,
    clock: &dyn Clock,
    actor: &str,
    action: &str,
    subject: &str,
    details: serde_json::Value,
) -> Result<(), AppError> {
    let mut tx = db.pool().begin().await.map_err(DbError::from)?;
    audit::insert_audit_event(
        &mut tx,
        db.engine(),
        to_millis(clock.now()),
        actor,
        action,
        subject,
        &details,
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(())
}
