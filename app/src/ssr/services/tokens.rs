//! Personal access tokens for the `/api/v1` REST API: made on Settings › API tokens (name,
//! scopes, expiry of at most [`MAX_DAYS`] days), shown once, stored as a SHA-256 hash, listed
//! with their last use, revocable by their person and by admins. [`TokenService::authenticate`]
//! turns a presented token into a [`TokenCaller`] — or says exactly why not — checking on every
//! call that the token is live and that its person is still active in the directory.

use rand::distributions::{Alphanumeric, DistString};

use crate::error::AppError;
use crate::model::{ApiToken, AuditAction, CreatedToken, MyTokens, Scope};
use crate::ssr::auth::{Admin, Requester, Standing, TokenCaller};
use crate::ssr::core::Core;
use crate::ssr::db::{audit, tokens as store, DbError};
use crate::ssr::services::identity::{resolve_person_cached, VerifiedIdentity};

/// What every personal token starts with, so secret scanners can find leaked ones.
pub const PREFIX: &str = "gpat_";
/// What every service token starts with.
pub const SERVICE_PREFIX: &str = "gpst_";
pub use crate::model::SERVICE_OWNER;
/// Longest service name.
const MAX_SERVICE_NAME: usize = 40;
/// Random characters after the prefix (base62: about 238 bits).
const RANDOM_LEN: usize = 40;
/// The longest a token may live.
pub const MAX_DAYS: i64 = 90;
/// Live tokens one person may hold.
pub const MAX_LIVE: i64 = 50;
/// Longest token name.
const MAX_NAME: usize = 60;

/// Why a presented token was not accepted (each answered 401 with its own code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefused {
    #[error("send a personal access token: Authorization: Bearer gpat_…")]
    Missing,
    #[error("this is not a Gatepass token")]
    Malformed,
    #[error("no such token")]
    Unknown,
    #[error("this token was revoked")]
    Revoked,
    #[error("this token expired")]
    Expired,
    #[error("this token's person is not active in Okta")]
    PersonInactive,
}

/// Why a token could not be checked or was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Refused(TokenRefused),
    #[error(transparent)]
    Failed(AppError),
}

impl From<DbError> for AuthError {
    fn from(e: DbError) -> Self {
        AuthError::Failed(e.into())
    }
}

/// The hash a token is stored and found by.
pub fn token_hash(token: &str) -> String {
    crate::ssr::sha256_hex(token.as_bytes())
}

fn view(row: store::TokenRow) -> ApiToken {
    let owner_login = if row.owner_id.starts_with(SERVICE_OWNER) {
        row.owner_id.clone()
    } else {
        row.owner_login
    };
    ApiToken {
        id: row.id,
        name: row.name,
        display: row.display,
        scopes: row
            .scopes
            .split_whitespace()
            .filter_map(Scope::parse)
            .collect(),
        owner_id: row.owner_id,
        owner_login,
        created_at: row.created_at,
        expires_at: row.expires_at,
        last_used_at: row.last_used_at,
        last_used_ip: row.last_used_ip,
        revoked_at: row.revoked_at,
    }
}

/// The scopes `who` may give a token now.
fn allowed_scopes(is_admin: bool) -> Vec<Scope> {
    Scope::ALL
        .into_iter()
        .filter(|s| *s != Scope::Admin || is_admin)
        .collect()
}

/// A token's life in days, as typed: 1 to [`MAX_DAYS`].
fn token_days(days: &str) -> Result<i64, AppError> {
    let days: i64 = days.trim().parse().map_err(|_| {
        AppError::invalid(
            "Expires in",
            format!("enter a number of days from 1 to {MAX_DAYS}"),
        )
    })?;
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(AppError::invalid(
            "Expires in",
            format!("a token lives from 1 to {MAX_DAYS} days"),
        ));
    }
    Ok(days)
}

/// Token operations.
pub struct TokenService<'a> {
    pub core: &'a Core,
}

impl TokenService<'_> {
    /// Settings › API tokens: the caller's tokens, newest first.
    pub async fn mine(&self, who: &Requester) -> Result<MyTokens, AppError> {
        let rows =
            store::list_tokens(&self.core.db, Some(who.me().okta_id.as_str()), 0, 200).await?;
        Ok(MyTokens {
            tokens: rows.into_iter().map(view).collect(),
            allowed_scopes: allowed_scopes(who.me().is_admin),
            max_days: MAX_DAYS,
        })
    }

    /// Makes a token for the caller: `name` (1–60 characters), `scopes` (at least one, none
    /// beyond the caller's role), living `days` (1–[`MAX_DAYS`]). The token is in the answer
    /// and nowhere else.
    pub async fn create(
        &self,
        who: &Requester,
        name: &str,
        scopes: &[String],
        days: &str,
    ) -> Result<CreatedToken, AppError> {
        let me = who.me();
        let name = name.trim();
        if name.is_empty() {
            return Err(AppError::invalid(
                "Name",
                "give the token a name, e.g. laptop or deploy script",
            ));
        }
        if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
            return Err(AppError::invalid(
                "Name",
                format!("use at most {MAX_NAME} characters, no control characters"),
            ));
        }
        let mut chosen = Vec::new();
        for s in scopes {
            let scope = Scope::parse(s.trim()).ok_or_else(|| {
                AppError::invalid(
                    "Scopes",
                    format!("`{s}` is not a scope (read, request, approve, admin)"),
                )
            })?;
            if !chosen.contains(&scope) {
                chosen.push(scope);
            }
        }
        chosen.sort();
        if chosen.is_empty() {
            return Err(AppError::invalid("Scopes", "choose at least one scope"));
        }
        if chosen.contains(&Scope::Admin) && !me.is_admin {
            return Err(AppError::invalid(
                "Scopes",
                "only administrators may give a token the admin scope",
            ));
        }
        if me.okta_id.as_str().contains(':') {
            return Err(AppError::Forbidden);
        }
        let days = token_days(days)?;
        self.mint(me.okta_id.as_str(), name, &chosen, days, PREFIX, &me.login)
            .await
    }

    /// Makes a token for the service identity `service` (administrators): it acts as
    /// `service:<name>` with the `admin` scope only — for automation such as a CI job that
    /// applies policies — whoever made it, until it expires or is revoked.
    pub async fn create_service(
        &self,
        admin: &Admin,
        service: &str,
        days: &str,
    ) -> Result<CreatedToken, AppError> {
        let service = service.trim();
        let valid = (1..=MAX_SERVICE_NAME).contains(&service.len())
            && service
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !service.starts_with('-');
        if !valid {
            return Err(AppError::invalid(
                "Service",
                format!(
                    "name the service with 1 to {MAX_SERVICE_NAME} lowercase letters, digits \
                     and dashes, e.g. policies-ci"
                ),
            ));
        }
        let days = token_days(days)?;
        let owner = format!("{SERVICE_OWNER}{service}");
        self.mint(
            &owner,
            service,
            &[Scope::Admin],
            days,
            SERVICE_PREFIX,
            &admin.me().login,
        )
        .await
    }

    /// Makes and stores a token for `owner`, audited as made by `actor`; the token is in the
    /// answer and nowhere else.
    async fn mint(
        &self,
        owner: &str,
        name: &str,
        scopes: &[Scope],
        days: i64,
        prefix: &str,
        actor: &str,
    ) -> Result<CreatedToken, AppError> {
        let now = self.core.clock.timestamp();
        if store::count_live(&self.core.db, owner, now).await? >= MAX_LIVE {
            return Err(AppError::Conflict(if owner.starts_with(SERVICE_OWNER) {
                format!("{name} has {MAX_LIVE} live tokens; revoke one no longer used first.")
            } else {
                format!("You have {MAX_LIVE} live tokens; revoke one you no longer use first.")
            }));
        }
        let token = format!(
            "{prefix}{}",
            Alphanumeric.sample_string(&mut rand::thread_rng(), RANDOM_LEN)
        );
        let display = format!("{}…", &token[..prefix.len() + 4]);
        let scope_names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
        let expires_at = now.plus_secs(days * 86_400);
        let mut tx = self.core.db.begin_write().await?;
        let id = store::insert_token(
            &mut tx,
            owner,
            name,
            &token_hash(&token),
            &display,
            &scope_names.join(" "),
            now,
            expires_at,
        )
        .await?;
        audit::insert_audit_event(
            &mut tx,
            now,
            actor,
            AuditAction::TokenCreated,
            &format!("token:{id}"),
            &serde_json::json!({ "name": name, "owner": owner, "scopes": scope_names, "expires_at": expires_at }),
        )
        .await?;
        tx.commit().await?;
        let info = store::find_token(&self.core.db, id)
            .await?
            .map(view)
            .ok_or(AppError::Internal)?;
        Ok(CreatedToken { token, info })
    }

    /// Revokes one of the caller's own tokens.
    pub async fn revoke_mine(&self, who: &Requester, id: i64) -> Result<ApiToken, AppError> {
        let row = store::find_token(&self.core.db, id)
            .await?
            .filter(|t| t.owner_id == who.me().okta_id.as_str())
            .ok_or_else(|| AppError::NotFound("A token of yours with that id".into()))?;
        self.revoke(&who.me().login, row).await
    }

    /// Admin › API tokens: everyone's tokens, newest first, below id `before` (0: the newest).
    pub async fn all(&self, _admin: &Admin, before: i64) -> Result<Vec<ApiToken>, AppError> {
        Ok(
            store::list_tokens(&self.core.db, None, before, crate::model::TOKENS_PAGE)
                .await?
                .into_iter()
                .map(view)
                .collect(),
        )
    }

    /// Revokes anyone's token.
    pub async fn revoke_any(&self, admin: &Admin, id: i64) -> Result<ApiToken, AppError> {
        let row = store::find_token(&self.core.db, id)
            .await?
            .ok_or_else(|| AppError::NotFound("A token with that id".into()))?;
        self.revoke(&admin.me().login, row).await
    }

    async fn revoke(&self, by: &str, row: store::TokenRow) -> Result<ApiToken, AppError> {
        let now = self.core.clock.timestamp();
        let mut tx = self.core.db.begin_write().await?;
        if !store::revoke_token(&mut tx, row.id, now, by).await? {
            return Err(AppError::Conflict("That token is already revoked.".into()));
        }
        audit::insert_audit_event(
            &mut tx,
            now,
            by,
            AuditAction::TokenRevoked,
            &format!("token:{}", row.id),
            &serde_json::json!({ "name": row.name, "owner": row.owner_id }),
        )
        .await?;
        tx.commit().await?;
        store::find_token(&self.core.db, row.id)
            .await?
            .map(view)
            .ok_or(AppError::Internal)
    }

    /// Checks a presented token (the `Authorization` header's value): live, and its person
    /// active in the directory now. A use is recorded (at most once a minute per token).
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
        ip: Option<&str>,
    ) -> Result<TokenCaller, AuthError> {
        let refused = AuthError::Refused;
        let value = authorization.ok_or(refused(TokenRefused::Missing))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or(refused(TokenRefused::Missing))?;
        let service = token.starts_with(SERVICE_PREFIX);
        if !(token.starts_with(PREFIX) || service)
            || token.len() != PREFIX.len() + RANDOM_LEN
            || !token[PREFIX.len()..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric())
        {
            return Err(refused(TokenRefused::Malformed));
        }
        let row = store::find_by_hash(&self.core.db, &token_hash(token))
            .await?
            .ok_or(refused(TokenRefused::Unknown))?;
        let now = self.core.clock.timestamp();
        if row.revoked_at.is_some() {
            return Err(refused(TokenRefused::Revoked));
        }
        if row.expires_at <= now {
            return Err(refused(TokenRefused::Expired));
        }
        // A service token acts as its service, a personal token as its person: never the one
        // as the other.
        if service != row.owner_id.starts_with(SERVICE_OWNER) {
            return Err(refused(TokenRefused::Unknown));
        }
        let scopes: Vec<Scope> = row
            .scopes
            .split_whitespace()
            .filter_map(Scope::parse)
            .collect();
        if service {
            self.touch(&row, now, ip).await;
            let me = crate::model::Me {
                okta_id: crate::model::UserId(row.owner_id.clone()),
                login: row.owner_id.clone(),
                email: String::new(),
                display_name: row.name.clone(),
                in_directory: false,
                is_admin: true,
            };
            let scopes = scopes.into_iter().filter(|s| *s == Scope::Admin).collect();
            return Ok(TokenCaller::new(me, scopes, row.id, row.name));
        }
        let identity = VerifiedIdentity {
            sub: row.owner_id.clone(),
            email: None,
            name: None,
            preferred_username: None,
        };
        let me = match resolve_person_cached(
            &self.core.db,
            &self.core.auth,
            &self.core.caches,
            &identity,
        )
        .await
        .map_err(AuthError::Failed)?
        {
            Standing::Allowed(me) if me.in_directory => me,
            _ => return Err(refused(TokenRefused::PersonInactive)),
        };
        self.touch(&row, now, ip).await;
        Ok(TokenCaller::new(me, scopes, row.id, row.name))
    }

    /// Records a token's use (at most once a minute per token); a failure is only logged.
    async fn touch(&self, row: &store::TokenRow, now: crate::model::Timestamp, ip: Option<&str>) {
        if let Err(e) = store::touch_token(&self.core.db, row.id, now, ip).await {
            tracing::warn!(error = %e, token = row.id, "cannot record a token's use");
        }
    }
}

/// How long an `Idempotency-Key`'s answer is kept.
pub const KEEP_ANSWERS_MS: i64 = 24 * 3_600_000;

/// What was answered before to a call with the same `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeptAnswer {
    /// Nothing: make the call.
    Fresh,
    /// The same call was answered: this status and JSON body again.
    Replay { status: u16, body: String },
    /// The key was used for a different call (another path or body).
    Reused,
}

impl TokenService<'_> {
    /// The answer kept for `caller`'s `key`, compared with this call's `fingerprint`.
    pub async fn kept_answer(
        &self,
        caller: &TokenCaller,
        key: &str,
        fingerprint: &str,
    ) -> Result<KeptAnswer, AppError> {
        let since = self.core.clock.timestamp().plus_millis(-KEEP_ANSWERS_MS);
        Ok(
            match store::find_kept_answer(&self.core.db, caller.token_id, key, since).await? {
                None => KeptAnswer::Fresh,
                Some((kept, status, body)) if kept == fingerprint => KeptAnswer::Replay {
                    status: u16::try_from(status).map_err(|_| AppError::Internal)?,
                    body,
                },
                Some(_) => KeptAnswer::Reused,
            },
        )
    }

    /// Keeps the answer to `caller`'s call with `key` for [`KEEP_ANSWERS_MS`].
    pub async fn keep_answer(
        &self,
        caller: &TokenCaller,
        key: &str,
        fingerprint: &str,
        status: u16,
        body: &str,
    ) -> Result<(), AppError> {
        let now = self.core.clock.timestamp();
        store::keep_answer(
            &self.core.db,
            caller.token_id,
            key,
            fingerprint,
            i64::from(status),
            body,
            now,
            now.plus_millis(-KEEP_ANSWERS_MS),
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use time::macros::datetime;

    use super::*;
    use crate::ssr::auth::AuthSettings;
    use crate::ssr::clock::ManualClock;
    use crate::ssr::db::directory::{upsert_user, UserRecord};
    use crate::ssr::secrets::local::LocalSecrets;
    use crate::ssr::secrets::CachedSecrets;
    use crate::ssr::testing::{each_engine, ms, test_person};

    fn bearer(token: &str) -> String {
        format!("Bearer {token}")
    }

    #[tokio::test]
    async fn a_token_works_until_it_expires_and_no_day_longer() {
        each_engine(|db| async move {
            upsert_user(
                &db,
                &UserRecord {
                    okta_id: "ada".into(),
                    login: "ada@example.com".into(),
                    email: "ada@example.com".into(),
                    display_name: "Ada".into(),
                    status: "ACTIVE".into(),
                    profile: Default::default(),
                },
                ms(1),
            )
            .await
            .unwrap();
            let clock = ManualClock::at(datetime!(2026-06-01 09:00 UTC));
            let core = Core::new(
                db,
                Arc::new(clock.clone()),
                AuthSettings::default(),
                CachedSecrets::new(
                    None,
                    Arc::new(LocalSecrets),
                    std::time::Duration::from_secs(60),
                ),
            );
            let ada = Requester::for_tests(crate::model::Me {
                is_admin: false,
                ..test_person("ada")
            });
            let tokens = core.tokens();
            // Longer than the maximum, or no days: refused, nothing made.
            for days in ["91", "0", "soon"] {
                let e = tokens
                    .create(&ada, "ci", &["read".into()], days)
                    .await
                    .unwrap_err();
                assert!(
                    matches!(e, AppError::Invalid { ref field, .. } if field == "Expires in"),
                    "{days}: {e:?}"
                );
            }
            assert!(tokens.mine(&ada).await.unwrap().tokens.is_empty());
            let made = tokens
                .create(&ada, "ci", &["read".into()], "2")
                .await
                .unwrap();
            let header = bearer(&made.token);
            let caller = tokens.authenticate(Some(&header), None).await.unwrap();
            assert_eq!(caller.me().login, "ada@example.com");
            assert!(caller.admin().is_err(), "no admin scope, no admin");
            clock.advance(time::Duration::days(2) - time::Duration::seconds(1));
            assert!(tokens.authenticate(Some(&header), None).await.is_ok());
            clock.advance(time::Duration::seconds(1));
            assert!(matches!(
                tokens.authenticate(Some(&header), None).await,
                Err(AuthError::Refused(TokenRefused::Expired))
            ));
        })
        .await;
    }
}
