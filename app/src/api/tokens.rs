//! Settings › API tokens: a person's personal access tokens (made, listed, revoked), and the
//! admins' view of everyone's.

use leptos::server;

use crate::error::AppError;
use crate::model::{ApiToken, CreatedToken, MyTokens};

/// The caller's tokens and what they may choose for a new one.
#[server(endpoint = "tokens/mine", prefix = "/api")]
pub async fn get_my_tokens() -> Result<MyTokens, AppError> {
    use crate::ssr::auth::Requester;
    super::serve(|who: Requester, state| async move { state.tokens().mine(&who).await }).await
}

/// Makes a token for the caller; the answer holds it, this once. One checkbox per scope
/// (present: chosen).
#[server(endpoint = "tokens/create", prefix = "/api")]
pub async fn create_token(
    name: String,
    days: String,
    #[server(default)] scope_read: Option<String>,
    #[server(default)] scope_request: Option<String>,
    #[server(default)] scope_approve: Option<String>,
    #[server(default)] scope_admin: Option<String>,
) -> Result<CreatedToken, AppError> {
    use crate::ssr::auth::Requester;
    super::serve(|who: Requester, state| async move {
        let scopes: Vec<String> = [
            ("read", scope_read),
            ("request", scope_request),
            ("approve", scope_approve),
            ("admin", scope_admin),
        ]
        .into_iter()
        .filter(|(_, on)| on.is_some())
        .map(|(s, _)| s.to_owned())
        .collect();
        state.tokens().create(&who, &name, &scopes, &days).await
    })
    .await
}

/// Makes a token for a service identity (administrators); the answer holds it, this once.
#[server(endpoint = "tokens/create-service", prefix = "/api")]
pub async fn create_service_token(service: String, days: String) -> Result<CreatedToken, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|admin: Admin, state| async move {
        state.tokens().create_service(&admin, &service, &days).await
    })
    .await
}

/// Revokes one of the caller's tokens.
#[server(endpoint = "tokens/revoke", prefix = "/api")]
pub async fn revoke_my_token(id: i64) -> Result<ApiToken, AppError> {
    use crate::ssr::auth::Requester;
    super::serve(|who: Requester, state| async move { state.tokens().revoke_mine(&who, id).await })
        .await
}

/// Everyone's tokens, newest first, below id `before` (0: the newest).
#[server(endpoint = "tokens/all", prefix = "/api")]
pub async fn list_all_tokens(before: i64) -> Result<Vec<ApiToken>, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|admin: Admin, state| async move { state.tokens().all(&admin, before).await })
        .await
}

/// Revokes anyone's token.
#[server(endpoint = "tokens/revoke-any", prefix = "/api")]
pub async fn revoke_any_token(id: i64) -> Result<ApiToken, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|admin: Admin, state| async move { state.tokens().revoke_any(&admin, id).await })
        .await
}
