//! `api_tokens`: personal access tokens, stored as a hash (never the token), with their scopes,
//! expiry, last use and revocation.

use super::{Db, DbError, Tx};
use crate::model::Timestamp;

/// A token row (its hash is only ever compared in SQL, never read back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: i64,
    pub owner_id: String,
    /// The owner's login when the directory knows them ('' otherwise).
    pub owner_login: String,
    pub name: String,
    pub display: String,
    /// Space-separated scope names.
    pub scopes: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub last_used_ip: Option<String>,
    pub revoked_at: Option<Timestamp>,
}

type Tuple = (
    i64,
    String,
    String,
    String,
    String,
    String,
    Timestamp,
    Timestamp,
    Option<Timestamp>,
    Option<String>,
    Option<Timestamp>,
);

const COLUMNS: &str = "t.id, t.owner_id, COALESCE(u.login, ''), t.name, t.display, t.scopes, \
     t.created_at, t.expires_at, t.last_used_at, t.last_used_ip, t.revoked_at \
     FROM api_tokens t LEFT JOIN users u ON u.okta_id = t.owner_id";

fn row(t: Tuple) -> TokenRow {
    TokenRow {
        id: t.0,
        owner_id: t.1,
        owner_login: t.2,
        name: t.3,
        display: t.4,
        scopes: t.5,
        created_at: t.6,
        expires_at: t.7,
        last_used_at: t.8,
        last_used_ip: t.9,
        revoked_at: t.10,
    }
}

/// A new token for `owner_id`; its id.
#[allow(clippy::too_many_arguments)]
pub async fn insert_token(
    tx: &mut Tx,
    owner_id: &str,
    name: &str,
    token_hash: &str,
    display: &str,
    scopes: &str,
    created_at: Timestamp,
    expires_at: Timestamp,
) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO api_tokens (owner_id, name, token_hash, display, scopes, created_at, \
           expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(owner_id)
    .bind(name)
    .bind(token_hash)
    .bind(display)
    .bind(scopes)
    .bind(created_at)
    .bind(expires_at)
    .fetch_one(&mut **tx)
    .await?)
}

/// The token whose hash is `token_hash`, revoked or expired ones included (the caller says why
/// it is refused).
pub async fn find_by_hash(db: &Db, token_hash: &str) -> Result<Option<TokenRow>, DbError> {
    let found: Option<Tuple> = sqlx::query_as(&format!("SELECT {COLUMNS} WHERE t.token_hash = $1"))
        .bind(token_hash)
        .fetch_optional(db.pool())
        .await?;
    Ok(found.map(row))
}

/// One token by id.
pub async fn find_token(db: &Db, id: i64) -> Result<Option<TokenRow>, DbError> {
    let found: Option<Tuple> = sqlx::query_as(&format!("SELECT {COLUMNS} WHERE t.id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    Ok(found.map(row))
}

/// Tokens newest first: `owner_id`'s, or everyone's; at most `limit`, below id `before` (0:
/// from the newest).
pub async fn list_tokens(
    db: &Db,
    owner_id: Option<&str>,
    before: i64,
    limit: i64,
) -> Result<Vec<TokenRow>, DbError> {
    let rows: Vec<Tuple> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} WHERE ($1 IS NULL OR t.owner_id = $1) AND ($2 = 0 OR t.id < $2) \
         ORDER BY t.id DESC LIMIT $3"
    ))
    .bind(owner_id)
    .bind(before)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(row).collect())
}

/// Records a use of token `id` from `ip`, at most once a minute per token (a write per call
/// would make every API call a write).
pub async fn touch_token(db: &Db, id: i64, at: Timestamp, ip: Option<&str>) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE api_tokens SET last_used_at = $2, last_used_ip = $3 \
         WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $4 \
           OR COALESCE(last_used_ip, '') <> COALESCE($3, ''))",
    )
    .bind(id)
    .bind(at)
    .bind(ip)
    .bind(at.plus_millis(-60_000))
    .execute(db.write_pool())
    .await?;
    Ok(())
}

/// Revokes token `id` (if it is not already); false if there was nothing to revoke.
pub async fn revoke_token(tx: &mut Tx, id: i64, at: Timestamp, by: &str) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE api_tokens SET revoked_at = $2, revoked_by = $3 \
         WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(at)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How many live (unrevoked, unexpired) tokens `owner_id` has.
pub async fn count_live(db: &Db, owner_id: &str, now: Timestamp) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM api_tokens WHERE owner_id = $1 AND revoked_at IS NULL \
           AND expires_at > $2",
    )
    .bind(owner_id)
    .bind(now)
    .fetch_one(db.pool())
    .await?)
}

/// An answer kept for an `Idempotency-Key`: (fingerprint, status, JSON body).
pub type KeptAnswer = (String, i64, String);

/// The answer kept for `token_id`'s `key`, if it is younger than `since`.
pub async fn find_kept_answer(
    db: &Db,
    token_id: i64,
    key: &str,
    since: Timestamp,
) -> Result<Option<KeptAnswer>, DbError> {
    Ok(sqlx::query_as(
        "SELECT fingerprint, CAST(status AS BIGINT), response FROM api_idempotency \
         WHERE token_id = $1 AND idem_key = $2 AND created_at >= $3",
    )
    .bind(token_id)
    .bind(key)
    .bind(since)
    .fetch_optional(db.pool())
    .await?)
}

/// Keeps the answer to `token_id`'s call with `key` (the first one wins), and forgets answers
/// older than `forget_before`.
#[allow(clippy::too_many_arguments)]
pub async fn keep_answer(
    db: &Db,
    token_id: i64,
    key: &str,
    fingerprint: &str,
    status: i64,
    response: &str,
    at: Timestamp,
    forget_before: Timestamp,
) -> Result<(), DbError> {
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM api_idempotency WHERE created_at < $1")
        .bind(forget_before)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO api_idempotency (token_id, idem_key, fingerprint, status, response, \
           created_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (token_id, idem_key) DO NOTHING",
    )
    .bind(token_id)
    .bind(key)
    .bind(fingerprint)
    .bind(status)
    .bind(response)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
