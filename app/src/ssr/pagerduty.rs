//! PagerDuty's REST API v2, for on-call approval: whether a person is on call now for a
//! schedule (`GET /oncalls?schedule_ids[]=…&include[]=users`, paged), called with the API key
//! only at the address the operator configured — never one an admin or a person can pick. The
//! key never appears in an error. A leaf: the access workflow asks it through
//! [`OnCallCheck`].

use std::sync::OnceLock;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::ssr::secrets::{CachedSecrets, SecretRef};

/// PagerDuty's REST API.
pub const DEFAULT_API_URL: &str = "https://api.pagerduty.com";
/// How long the whole check may take: a request waits for it.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// Pages read at most (100 on-calls each).
const MAX_PAGES: usize = 10;

/// Whether a person is on call: what the access workflow needs of PagerDuty.
#[async_trait::async_trait]
pub trait OnCallCheck: Send + Sync + std::fmt::Debug {
    /// Whether the person with `email` is on call now for `schedule`; an error says why it
    /// could not tell (the request then goes to its approvers).
    async fn is_on_call(&self, schedule: &str, email: &str) -> Result<bool, String>;
}

fn http() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(CHECK_TIMEOUT)
            .build()
            .expect("the PagerDuty HTTP client builds")
    })
}

/// PagerDuty at `base`, with the API key its reference names.
#[derive(Debug, Clone)]
pub struct PagerDuty {
    base: String,
    key: SecretRef,
    secrets: CachedSecrets,
}

/// The address of PagerDuty's API: `https://…`, or `http://` on this machine for a stand-in.
pub fn check_api_url(url: &str) -> Result<String, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    if parsed.scheme() != "https" && !(parsed.scheme() == "http" && loopback) {
        return Err("use https (http only for a stand-in on this machine)".into());
    }
    if parsed.query().is_some() || parsed.fragment().is_some() || !parsed.username().is_empty() {
        return Err("no query, fragment or user name".into());
    }
    Ok(url.trim_end_matches('/').to_owned())
}

#[derive(Deserialize)]
struct Page {
    oncalls: Vec<OnCall>,
    #[serde(default)]
    more: bool,
}

#[derive(Deserialize)]
struct OnCall {
    user: OnCallUser,
}

#[derive(Deserialize)]
struct OnCallUser {
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorObject,
}

#[derive(Deserialize)]
struct ErrorObject {
    #[serde(default)]
    message: String,
    #[serde(default)]
    code: Option<i64>,
}

impl PagerDuty {
    /// PagerDuty at `url` (checked: [`check_api_url`]) with the key `key` names.
    pub fn new(url: &str, key: SecretRef, secrets: CachedSecrets) -> Result<Self, String> {
        Ok(PagerDuty {
            base: check_api_url(url)?,
            key,
            secrets,
        })
    }

    async fn page(
        &self,
        key: &SecretString,
        schedule: &str,
        offset: usize,
    ) -> Result<Page, String> {
        let res = http()
            .get(format!("{}/oncalls", self.base))
            .header("Accept", "application/vnd.pagerduty+json;version=2")
            .header(
                "Authorization",
                format!("Token token={}", key.expose_secret()),
            )
            .query(&[
                ("schedule_ids[]", schedule),
                ("include[]", "users"),
                ("time_zone", "UTC"),
                ("limit", "100"),
                ("offset", &offset.to_string()),
            ])
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    "PagerDuty did not answer in time".to_owned()
                } else {
                    "PagerDuty could not be reached".to_owned()
                }
            })?;
        let status = res.status();
        if !status.is_success() {
            let why = res
                .json::<ErrorBody>()
                .await
                .ok()
                .map(|b| match b.error.code {
                    Some(code) => format!(": {} (code {code})", b.error.message),
                    None => format!(": {}", b.error.message),
                })
                .unwrap_or_default();
            return Err(format!("PagerDuty answered {}{why}", status.as_u16()));
        }
        res.json::<Page>()
            .await
            .map_err(|_| "PagerDuty's answer was not a list of on-calls".to_owned())
    }
}

#[async_trait::async_trait]
impl OnCallCheck for PagerDuty {
    async fn is_on_call(&self, schedule: &str, email: &str) -> Result<bool, String> {
        let key = self
            .secrets
            .get(&self.key)
            .await
            .map_err(|_| "the PagerDuty API key cannot be read".to_owned())?;
        let email = email.trim().to_lowercase();
        if email.is_empty() {
            return Ok(false);
        }
        let mut offset = 0;
        for _ in 0..MAX_PAGES {
            let page = self.page(&key, schedule, offset).await?;
            let n = page.oncalls.len();
            if page.oncalls.iter().any(|o| {
                o.user
                    .email
                    .as_deref()
                    .is_some_and(|e| e.trim().to_lowercase() == email)
            }) {
                return Ok(true);
            }
            if !page.more || n == 0 {
                return Ok(false);
            }
            offset += n;
        }
        Err(format!(
            "schedule {schedule} lists more than {} on-calls",
            MAX_PAGES * 100
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_a_loopback_stand_in() {
        assert_eq!(
            check_api_url("https://api.pagerduty.com/").unwrap(),
            "https://api.pagerduty.com"
        );
        assert!(check_api_url("http://127.0.0.1:3001/pagerduty").is_ok());
        for bad in [
            "http://api.pagerduty.com",
            "https://u:p@api.pagerduty.com",
            "https://api.pagerduty.com/?x=1",
            "ftp://api.pagerduty.com",
            "not a url",
        ] {
            assert!(check_api_url(bad).is_err(), "{bad}");
        }
    }
}
