//! [`OktaClient`]: the reqwest implementation of [`OktaApi`]. Every call goes through the
//! rate-limit governor; 429s wait for the window's reset; 5xx answers, timeouts and dropped
//! connections are retried with capped exponential backoff and full jitter; a 401 makes the
//! credential be read again from the secret store once (so a rotated secret needs no restart).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, LINK};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use super::credential::{client_assertion, AccessToken, OktaCredential, APP_SCOPES};
use super::governor::{rate_bucket, Governor, RateInfo};
use super::model::OktaErrorBody;
use super::{
    encode_segment, Cursor, OktaApi, OktaApp, OktaAppUser, OktaError, OktaGroup, OktaGroupRule,
    OktaLogEvent, OktaRole, OktaUser, Page,
};
use crate::model::{GroupId, UserId};
use crate::ssr::secrets::CachedSecrets;

/// The share of each Okta rate-limit bucket Gatepass uses unless configured otherwise: Okta's
/// limits are org-wide, and other integrations need the rest.
pub const DEFAULT_RATE_SHARE: f64 = 0.5;

/// Checks a configured share of Okta's rate limits: more than nothing, at most all of it.
pub fn check_rate_share(share: f64) -> Result<f64, String> {
    if (0.01..=1.0).contains(&share) {
        Ok(share)
    } else {
        Err(format!(
            "{share} is out of range; expected the share of each Okta rate limit Gatepass may \
             use, from 0.01 to 1 (e.g. 0.5: half, leaving the rest to other integrations)"
        ))
    }
}

/// How Gatepass reaches one Okta org.
#[derive(Debug, Clone)]
pub struct OktaSettings {
    /// The org URL, e.g. `https://acme.okta.com` (http only on loopback, for the simulator).
    pub org_url: Url,
    pub credential: OktaCredential,
    /// Share of each rate-limit bucket Gatepass may use (0–1].
    pub rate_share: f64,
    /// Calls in flight at once.
    pub concurrency: usize,
    /// Tries per call for 5xx answers and transport failures.
    pub max_attempts: u32,
    /// Times a call may wait out a 429 before giving up.
    pub max_rate_limit_waits: u32,
    pub timeout: Duration,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
}

impl OktaSettings {
    /// Defaults for `org_url` and `credential`.
    pub fn new(org_url: Url, credential: OktaCredential) -> Self {
        OktaSettings {
            org_url,
            credential,
            rate_share: DEFAULT_RATE_SHARE,
            concurrency: 16,
            max_attempts: 6,
            max_rate_limit_waits: 10,
            timeout: Duration::from_secs(30),
            backoff_base: Duration::from_millis(200),
            backoff_cap: Duration::from_secs(10),
        }
    }
}

/// Parses what an admin types as the Okta domain: `acme.okta.com`, `https://acme.okta.com`, or
/// (for the simulator) `http://127.0.0.1:PORT`. Paths and plain http elsewhere are refused.
pub fn parse_org_url(input: &str) -> Result<Url, String> {
    let input = input.trim().trim_end_matches('/');
    if input.is_empty() {
        return Err("enter the Okta domain, e.g. acme.okta.com".into());
    }
    let with_scheme = if input.contains("://") {
        input.to_owned()
    } else {
        format!("https://{input}")
    };
    let url = Url::parse(&with_scheme).map_err(|_| format!("{input:?} is not a domain or URL"))?;
    let host = url.host_str().unwrap_or_default();
    if host.is_empty() {
        return Err(format!("{input:?} names no host"));
    }
    let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]");
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err("Okta must be reached over https".into()),
        other => return Err(format!("unsupported scheme {other:?}; use https")),
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err("give the org's domain only, without a path".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("give the org's domain only, without a user name".into());
    }
    Ok(url)
}

/// A successful answer.
struct Answer {
    headers: HeaderMap,
    body: axum::body::Bytes,
}

/// The Okta client.
#[derive(Debug)]
pub struct OktaClient {
    http: reqwest::Client,
    settings: OktaSettings,
    secrets: CachedSecrets,
    governor: Governor,
    access: tokio::sync::Mutex<Option<AccessToken>>,
    /// A service app's token for the apps API (asked for separately, so that a service app
    /// not granted the `okta.apps.*` scopes still gets its token for the rest).
    access_apps: tokio::sync::Mutex<Option<AccessToken>>,
    calls: AtomicU64,
    /// Answers per (bucket, HTTP status); status 0 is no answer.
    answers: std::sync::Mutex<std::collections::BTreeMap<(&'static str, u16), u64>>,
}

impl OktaClient {
    pub fn new(settings: OktaSettings, secrets: CachedSecrets) -> Result<Self, OktaError> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("gatepass/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| OktaError::Protocol(format!("HTTP client: {e}")))?;
        Ok(OktaClient {
            governor: Governor::new(settings.rate_share, settings.concurrency),
            http,
            settings,
            secrets,
            access: tokio::sync::Mutex::new(None),
            access_apps: tokio::sync::Mutex::new(None),
            calls: AtomicU64::new(0),
            answers: Default::default(),
        })
    }

    /// Calls so far per (bucket, HTTP status); status 0 is no answer (for `/metrics`).
    pub fn answers(&self) -> Vec<((&'static str, u16), u64)> {
        let answers = self.answers.lock().expect("answers lock");
        answers.iter().map(|(k, v)| (*k, *v)).collect()
    }

    fn count(&self, bucket: &'static str, status: u16) {
        *self
            .answers
            .lock()
            .expect("answers lock")
            .entry((bucket, status))
            .or_default() += 1;
    }

    fn url(&self, cursor: &Cursor) -> Result<Url, OktaError> {
        match cursor {
            Cursor::Start(path) => self
                .settings
                .org_url
                .join(path)
                .map_err(|e| OktaError::Protocol(format!("bad path {path:?}: {e}"))),
            Cursor::Next(url) => Ok(url.clone()),
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        use rand::Rng;
        let exp = self
            .settings
            .backoff_base
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        let cap = exp.min(self.settings.backoff_cap);
        // Full jitter: anywhere in [0, cap].
        cap.mul_f64(rand::thread_rng().gen_range(0.0..=1.0))
    }

    /// The `Authorization` header value (`apps`: for the apps API).
    async fn authorization(&self, apps: bool) -> Result<SecretString, OktaError> {
        match &self.settings.credential {
            OktaCredential::ApiToken { token } => {
                let t = self.secrets.get(token).await?;
                Ok(SecretString::from(format!("SSWS {}", t.expose_secret())))
            }
            OktaCredential::ServiceApp { .. } => {
                let token = self.access_token(apps).await?;
                Ok(SecretString::from(format!(
                    "Bearer {}",
                    token.expose_secret()
                )))
            }
        }
    }

    /// Drops cached credentials so the next call reads them again.
    async fn forget_credential(&self) {
        self.secrets
            .forget(self.settings.credential.secret_ref())
            .await;
        *self.access.lock().await = None;
        *self.access_apps.lock().await = None;
    }

    /// The service app's access token, from the cache or a new client-credentials grant;
    /// `apps`: the one with the apps API's scopes.
    async fn access_token(&self, apps: bool) -> Result<SecretString, OktaError> {
        let OktaCredential::ServiceApp {
            client_id,
            key_id,
            private_key,
            scopes,
        } = &self.settings.credential
        else {
            return Err(OktaError::Protocol("not a service app".into()));
        };
        let app_scopes: Vec<String> = APP_SCOPES.iter().map(|s| s.to_string()).collect();
        let (scopes, mut cached) = if apps {
            (&app_scopes, self.access_apps.lock().await)
        } else {
            (scopes, self.access.lock().await)
        };
        if let Some(t) = cached.as_ref().filter(|t| t.fresh()) {
            return Ok(t.token.clone());
        }
        let key = self.secrets.get(private_key).await?;
        let token_url = self
            .settings
            .org_url
            .join("/oauth2/v1/token")
            .expect("static path");
        let assertion = client_assertion(client_id, key_id.as_deref(), &key, token_url.as_str())?;
        let form = [
            ("grant_type", "client_credentials"),
            ("scope", &scopes.join(" ")),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &assertion),
        ];
        let _permit = self.governor.acquire("token").await;
        self.calls.fetch_add(1, Ordering::Relaxed);
        let res = self
            .http
            .post(token_url)
            .header(ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| OktaError::Unreachable(transport_reason(&e)))?;
        let status = res.status();
        let body: serde_json::Value = res
            .json()
            .await
            .map_err(|e| OktaError::Protocol(format!("token answer: {e}")))?;
        if !status.is_success() {
            return Err(OktaError::Api {
                status: status.as_u16(),
                code: body["error"].as_str().unwrap_or("unknown").to_owned(),
                summary: body["error_description"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                error_id: String::new(),
                request_id: String::new(),
            });
        }
        let token = body["access_token"]
            .as_str()
            .ok_or_else(|| OktaError::Protocol("token answer has no access_token".into()))?;
        let expires_in = body["expires_in"].as_u64().unwrap_or(3600);
        let token = SecretString::from(token.to_owned());
        *cached = Some(AccessToken {
            token: token.clone(),
            expires_at: tokio::time::Instant::now() + Duration::from_secs(expires_in),
        });
        Ok(token)
    }

    /// Sends one request with the governor, retries and the once-only credential refresh.
    #[tracing::instrument(skip(self), fields(path = %url.path()))]
    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, OktaError> {
        let bucket = rate_bucket(url.path());
        let apps = url.path().starts_with("/api/v1/apps");
        let mut attempts = 0;
        let mut rate_waits = 0;
        let mut refreshed = false;
        loop {
            attempts += 1;
            let result = {
                // The credential first: fetching an access token takes a permit of its own.
                let auth = self.authorization(apps).await?;
                let mut permit = self.governor.acquire(bucket).await;
                self.calls.fetch_add(1, Ordering::Relaxed);
                permit.sending();
                let mut request = self
                    .http
                    .request(method.clone(), url.clone())
                    .header(AUTHORIZATION, auth.expose_secret())
                    .header(ACCEPT, "application/json");
                if let Some(body) = body {
                    request = request.json(body);
                }
                let sent = request.send().await;
                match sent {
                    Ok(res) => {
                        let status = res.status();
                        let headers = res.headers().clone();
                        permit.answered(RateInfo::from_headers(&headers));
                        match res.bytes().await {
                            Ok(body) => Ok((status, headers, body)),
                            Err(e) => Err(transport_reason(&e)),
                        }
                    }
                    Err(e) => Err(transport_reason(&e)),
                }
            };
            self.count(
                bucket,
                result.as_ref().map(|(s, _, _)| s.as_u16()).unwrap_or(0),
            );
            let (status, headers, body) = match result {
                Ok(r) => r,
                Err(reason) => {
                    if attempts >= self.settings.max_attempts {
                        return Err(OktaError::Unreachable(reason));
                    }
                    tracing::warn!(attempt = attempts, %reason, "okta: no answer, retrying");
                    tokio::time::sleep(self.backoff(attempts)).await;
                    continue;
                }
            };
            let info = RateInfo::from_headers(&headers);
            if status.is_success() {
                return Ok(Answer { headers, body });
            }
            let request_id = headers
                .get("x-okta-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            match status {
                StatusCode::TOO_MANY_REQUESTS => {
                    rate_waits += 1;
                    attempts -= 1;
                    tracing::warn!(bucket, reset_in = info.map(|i| i.reset_in()), %request_id, "okta: 429, waiting for the reset");
                    if rate_waits > self.settings.max_rate_limit_waits {
                        return Err(OktaError::RateLimited);
                    }
                    self.governor.exhausted(bucket, info);
                    continue;
                }
                StatusCode::UNAUTHORIZED if !refreshed => {
                    refreshed = true;
                    attempts -= 1;
                    tracing::info!(%request_id, "okta: 401, reading the credential again");
                    self.forget_credential().await;
                    continue;
                }
                s if s.is_server_error() && attempts < self.settings.max_attempts => {
                    tracing::warn!(status = s.as_u16(), attempt = attempts, %request_id, "okta: server error, retrying");
                    tokio::time::sleep(self.backoff(attempts)).await;
                    continue;
                }
                _ => {}
            }
            let err: OktaErrorBody = serde_json::from_slice(&body).unwrap_or_default();
            let error = OktaError::Api {
                status: status.as_u16(),
                code: err.error_code,
                summary: err.error_summary,
                error_id: err.error_id,
                request_id,
            };
            if let OktaError::Api {
                error_id,
                request_id,
                ..
            } = &error
            {
                tracing::warn!(status = status.as_u16(), %error_id, %request_id, error = %error, "okta: call failed");
            }
            return Err(error);
        }
    }

    async fn get_json<T: DeserializeOwned>(&self, url: Url) -> Result<(T, HeaderMap), OktaError> {
        let answer = self.send(Method::GET, url, None).await?;
        let value = serde_json::from_slice(&answer.body)
            .map_err(|e| OktaError::Protocol(format!("cannot read the answer: {e}")))?;
        Ok((value, answer.headers))
    }

    async fn page<T: DeserializeOwned>(&self, cursor: &Cursor) -> Result<Page<T>, OktaError> {
        let (items, headers) = self.get_json::<Vec<T>>(self.url(cursor)?).await?;
        let next = next_link(&headers, &self.settings.org_url)?.map(Cursor::Next);
        Ok(Page { items, next })
    }

    async fn membership(&self, method: Method, group: &str, user: &str) -> Result<(), OktaError> {
        let url = self.url(&Cursor::Start(format!(
            "/api/v1/groups/{}/users/{}",
            encode_segment(group),
            encode_segment(user)
        )))?;
        self.send(method, url, None).await.map(|_| ())
    }
}

fn transport_reason(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "the answer was cut off"
    } else {
        "the connection was dropped"
    };
    match e.url() {
        Some(u) => format!("{kind} ({}{})", u.host_str().unwrap_or_default(), u.path()),
        None => kind.to_owned(),
    }
}

/// The `rel="next"` URL among all `Link` header lines; refused unless it is on the org.
pub fn next_link(headers: &HeaderMap, org: &Url) -> Result<Option<Url>, OktaError> {
    for value in headers.get_all(LINK) {
        let Ok(value) = value.to_str() else { continue };
        for part in value.split(',') {
            let mut pieces = part.split(';');
            let target = pieces.next().unwrap_or_default().trim();
            let is_next = pieces.any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            });
            if !is_next {
                continue;
            }
            let raw = target.trim_start_matches('<').trim_end_matches('>');
            let url = Url::parse(raw)
                .map_err(|_| OktaError::Protocol(format!("next link {raw:?} is not a URL")))?;
            if url.origin() != org.origin() {
                return Err(OktaError::Protocol(format!(
                    "next link points outside the Okta org ({})",
                    url.origin().ascii_serialization()
                )));
            }
            return Ok(Some(url));
        }
    }
    Ok(None)
}

#[async_trait]
impl OktaApi for OktaClient {
    async fn me(&self) -> Result<Option<OktaUser>, OktaError> {
        if matches!(self.settings.credential, OktaCredential::ServiceApp { .. }) {
            return Ok(None);
        }
        let url = self.url(&Cursor::Start("/api/v1/users/me".into()))?;
        Ok(Some(self.get_json(url).await?.0))
    }

    async fn user(&self, user_id: &UserId) -> Result<Option<OktaUser>, OktaError> {
        let url = self.url(&Cursor::Start(format!(
            "/api/v1/users/{}",
            encode_segment(user_id.as_str())
        )))?;
        match self.get_json(url).await {
            Ok((user, _)) => Ok(Some(user)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn user_roles(&self, user_id: &str) -> Result<Vec<OktaRole>, OktaError> {
        let url = self.url(&Cursor::Start(format!(
            "/api/v1/users/{}/roles",
            encode_segment(user_id)
        )))?;
        Ok(self.get_json(url).await?.0)
    }

    async fn role_group_targets(
        &self,
        user_id: &str,
        role_id: &str,
    ) -> Result<Vec<OktaGroup>, OktaError> {
        let mut cursor = Some(Cursor::Start(format!(
            "/api/v1/users/{}/roles/{}/targets/groups",
            encode_segment(user_id),
            encode_segment(role_id)
        )));
        let mut all = Vec::new();
        while let Some(c) = cursor.take() {
            let page: Page<OktaGroup> = self.page(&c).await?;
            all.extend(page.items);
            cursor = page.next;
        }
        Ok(all)
    }

    async fn users_page(&self, cursor: &Cursor) -> Result<Page<OktaUser>, OktaError> {
        self.page(cursor).await
    }

    async fn groups_page(&self, cursor: &Cursor) -> Result<Page<OktaGroup>, OktaError> {
        self.page(cursor).await
    }

    async fn group_members_page(&self, cursor: &Cursor) -> Result<Page<OktaUser>, OktaError> {
        self.page(cursor).await
    }

    async fn group_rules_page(&self, cursor: &Cursor) -> Result<Page<OktaGroupRule>, OktaError> {
        self.page(cursor).await
    }

    async fn logs_page(&self, cursor: &Cursor) -> Result<Page<OktaLogEvent>, OktaError> {
        self.page(cursor).await
    }

    async fn add_member(&self, group_id: &GroupId, user_id: &UserId) -> Result<(), OktaError> {
        self.membership(Method::PUT, group_id.as_str(), user_id.as_str())
            .await
    }

    async fn remove_member(&self, group_id: &GroupId, user_id: &UserId) -> Result<(), OktaError> {
        self.membership(Method::DELETE, group_id.as_str(), user_id.as_str())
            .await
    }

    async fn apps_page(&self, cursor: &Cursor) -> Result<Page<OktaApp>, OktaError> {
        self.page(cursor).await
    }

    async fn app_users_page(&self, cursor: &Cursor) -> Result<Page<OktaAppUser>, OktaError> {
        self.page(cursor).await
    }

    async fn assign_app(&self, app_id: &GroupId, user_id: &UserId) -> Result<(), OktaError> {
        let url = self.url(&Cursor::Start(format!(
            "/api/v1/apps/{}/users",
            encode_segment(app_id.as_str())
        )))?;
        let body = serde_json::json!({ "id": user_id, "scope": "USER" });
        self.send(Method::POST, url, Some(&body)).await.map(|_| ())
    }

    async fn app_assignment(
        &self,
        app_id: &GroupId,
        user_id: &UserId,
    ) -> Result<Option<String>, OktaError> {
        let url = self.url(&Cursor::Start(format!(
            "/api/v1/apps/{}/users/{}",
            encode_segment(app_id.as_str()),
            encode_segment(user_id.as_str())
        )))?;
        match self.get_json::<OktaAppUser>(url).await {
            Ok((user, _)) => Ok(Some(user.scope)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn unassign_app(&self, app_id: &GroupId, user_id: &UserId) -> Result<(), OktaError> {
        let url = self.url(&Cursor::Start(format!(
            "/api/v1/apps/{}/users/{}",
            encode_segment(app_id.as_str()),
            encode_segment(user_id.as_str())
        )))?;
        self.send(Method::DELETE, url, None).await.map(|_| ())
    }

    fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    fn concurrency(&self) -> usize {
        self.governor.concurrency()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_urls_are_https_domains() {
        assert_eq!(
            parse_org_url("acme.okta.com").unwrap().as_str(),
            "https://acme.okta.com/"
        );
        assert_eq!(
            parse_org_url(" https://acme.okta.com/ ").unwrap().as_str(),
            "https://acme.okta.com/"
        );
        assert!(parse_org_url("http://127.0.0.1:7000").is_ok());
        for (bad, why) in [
            ("", "enter the Okta domain"),
            ("http://acme.okta.com", "https"),
            ("https://acme.okta.com/oauth2/default", "without a path"),
            ("ftp://acme.okta.com", "unsupported scheme"),
        ] {
            let err = parse_org_url(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn finds_next_among_several_link_lines_and_refuses_other_hosts() {
        let org = Url::parse("https://acme.okta.com").unwrap();
        let mut h = HeaderMap::new();
        h.append(
            LINK,
            "<https://acme.okta.com/api/v1/users?limit=2>; rel=\"self\""
                .parse()
                .unwrap(),
        );
        h.append(
            LINK,
            "<https://acme.okta.com/api/v1/users?after=00u2&limit=2>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&h, &org).unwrap().unwrap().as_str(),
            "https://acme.okta.com/api/v1/users?after=00u2&limit=2"
        );
        let mut joined = HeaderMap::new();
        joined.insert(LINK, "<https://acme.okta.com/a>; rel=\"self\", <https://acme.okta.com/b?after=x>; rel=\"next\"".parse().unwrap());
        assert_eq!(next_link(&joined, &org).unwrap().unwrap().path(), "/b");
        let mut only_self = HeaderMap::new();
        only_self.insert(
            LINK,
            "<https://acme.okta.com/a>; rel=\"self\"".parse().unwrap(),
        );
        assert_eq!(next_link(&only_self, &org).unwrap(), None);
        let mut evil = HeaderMap::new();
        evil.insert(
            LINK,
            "<https://evil.example/steal>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        assert!(
            matches!(next_link(&evil, &org), Err(OktaError::Protocol(m)) if m.contains("outside"))
        );
    }
}
