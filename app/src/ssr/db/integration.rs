//! `integration`: the Okta integration settings, one row.

use super::{Db, DbError, Tx};
use crate::model::{AuthMethod, IntegrationSettings, Timestamp};

type Row = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    i64,
    Option<String>,
    String,
    Timestamp,
    String,
);

/// The saved settings, if any.
pub async fn find_integration(db: &Db) -> Result<Option<IntegrationSettings>, DbError> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT okta_org_url, auth_method, secret_ref, client_id, key_id, \
           sync_incremental_minutes, sync_full_hours, group_name_prefix, group_types, \
           updated_at, updated_by \
         FROM integration WHERE id = 1",
    )
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(IntegrationSettings::from))
}

impl From<Row> for IntegrationSettings {
    fn from(
        (org_url, method, secret_ref, client_id, key_id, inc, full, prefix, types, at, by): Row,
    ) -> Self {
        IntegrationSettings {
            org_url,
            auth_method: AuthMethod::parse(&method).unwrap_or(AuthMethod::ApiToken),
            secret_is_local: secret_ref.starts_with("env:") || secret_ref.starts_with("file:"),
            secret_ref,
            client_id,
            key_id,
            sync_incremental_minutes: inc,
            sync_full_hours: full,
            group_name_prefix: prefix,
            group_types: types
                .split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            updated_at: at,
            updated_by: by,
        }
    }
}

/// Saves the settings (insert or replace the one row), inside `tx`.
pub async fn save_integration(tx: &mut Tx, s: &IntegrationSettings) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO integration (id, okta_org_url, auth_method, secret_ref, client_id, key_id, \
           sync_incremental_minutes, sync_full_hours, group_name_prefix, group_types, \
           updated_at, updated_by) \
         VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (id) DO UPDATE SET okta_org_url = excluded.okta_org_url, \
           auth_method = excluded.auth_method, secret_ref = excluded.secret_ref, \
           client_id = excluded.client_id, key_id = excluded.key_id, \
           sync_incremental_minutes = excluded.sync_incremental_minutes, \
           sync_full_hours = excluded.sync_full_hours, \
           group_name_prefix = excluded.group_name_prefix, group_types = excluded.group_types, \
           updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(&s.org_url)
    .bind(s.auth_method.as_str())
    .bind(&s.secret_ref)
    .bind(&s.client_id)
    .bind(&s.key_id)
    .bind(s.sync_incremental_minutes)
    .bind(s.sync_full_hours)
    .bind(&s.group_name_prefix)
    .bind(s.group_types.join(","))
    .bind(s.updated_at)
    .bind(&s.updated_by)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
