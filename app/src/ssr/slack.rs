//! Slack's side of the wire: calling the Web API with the bot token (only at the API address the
//! operator configured — never one an admin or a person can pick), what its answers and errors
//! mean for a delivery (`ok:false` codes, `429` with `Retry-After`), and verifying that an
//! interaction came from Slack (`X-Slack-Signature`, v0: HMAC-SHA256 over `v0:timestamp:body`
//! with the signing secret, the timestamp within five minutes, compared in constant time).
//! A leaf: the Slack service and the notifier use it.

use std::sync::OnceLock;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::ssr::delivery::DeliveryError;

/// Slack's Web API, where Gatepass calls it unless the operator configures another address
/// (the Slack stand-in of the demo and the tests).
pub const DEFAULT_API_URL: &str = "https://slack.com/api/";
/// How long one Web API call may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How old an interaction's timestamp may be (either way), as Slack advises.
pub const MAX_SKEW_SECS: i64 = 300;

/// The HTTP client for Slack: no redirects (the token goes where it was sent, or nowhere).
fn http() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(CALL_TIMEOUT)
            .build()
            .expect("the Slack HTTP client builds")
    })
}

/// Slack's Web API at `base` (ending in `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackApi {
    base: String,
}

impl Default for SlackApi {
    fn default() -> Self {
        SlackApi {
            base: DEFAULT_API_URL.to_owned(),
        }
    }
}

/// Slack error codes that may go away by themselves.
fn transient(code: &str) -> bool {
    matches!(
        code,
        "ratelimited"
            | "internal_error"
            | "fatal_error"
            | "service_unavailable"
            | "request_timeout"
            | "team_added_to_org"
    )
}

impl SlackApi {
    /// The API at `url` (`https://…`, or `http://` on this machine for a stand-in).
    pub fn new(url: &str) -> Result<SlackApi, String> {
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
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err("no query or fragment".into());
        }
        let mut base = parsed.to_string();
        if !base.ends_with('/') {
            base.push('/');
        }
        Ok(SlackApi { base })
    }

    /// Where the API is (for messages; it holds no secret).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Calls `method` with a JSON body; the answer when Slack says `ok`.
    pub async fn call(
        &self,
        token: &str,
        method: &str,
        args: &Value,
    ) -> Result<Value, DeliveryError> {
        let request = http()
            .post(format!("{}{method}", self.base))
            .bearer_auth(token)
            .json(args);
        self.answer(method, request).await
    }

    /// Calls `method` with a form body (methods Slack does not take JSON for, like
    /// `users.lookupByEmail`).
    pub async fn call_form(
        &self,
        token: &str,
        method: &str,
        args: &[(&str, &str)],
    ) -> Result<Value, DeliveryError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(args)
            .finish();
        let request = http()
            .post(format!("{}{method}", self.base))
            .bearer_auth(token)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        self.answer(method, request).await
    }

    async fn answer(
        &self,
        method: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Value, DeliveryError> {
        let response = request.send().await.map_err(|e| DeliveryError {
            message: if e.is_timeout() {
                format!(
                    "Slack did not answer {method} within {} s",
                    CALL_TIMEOUT.as_secs()
                )
            } else {
                format!("Slack could not be reached for {method} (connection failed)")
            },
            retry: true,
            retry_after: None,
        })?;
        let status = response.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            let wait = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(1);
            return Err(DeliveryError {
                message: format!("Slack rate-limited {method}; it asked to wait {wait} s"),
                retry: true,
                retry_after: Some(Duration::from_secs(wait)),
            });
        }
        let body: Value = match response.json().await {
            Ok(body) => body,
            Err(_) => {
                return Err(DeliveryError {
                    message: format!("Slack answered {method} with HTTP {status} and no JSON"),
                    retry: status.is_server_error(),
                    retry_after: None,
                })
            }
        };
        if body["ok"].as_bool() == Some(true) {
            return Ok(body);
        }
        let code = body["error"].as_str().unwrap_or("unknown_error");
        Err(DeliveryError {
            message: format!("Slack refused {method}: {code}"),
            retry: transient(code),
            retry_after: None,
        })
    }
}

/// Why an interaction was not taken as Slack's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the request carries no Slack signature or timestamp")]
    Missing,
    #[error("the request's timestamp is more than five minutes away from now")]
    Stale,
    #[error("the request's signature does not match the signing secret")]
    Mismatch,
}

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

/// The `X-Slack-Signature` Slack would send for `body` at `timestamp` (`v0=<hex>`).
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    let mut out = String::from("v0=");
    for b in tag {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Checks that `body` was signed by Slack with `secret` at `timestamp` (unix seconds, within
/// [`MAX_SKEW_SECS`] of `now_secs`); the comparison takes the same time wherever it differs.
pub fn verify(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now_secs: i64,
) -> Result<(), SignatureError> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(SignatureError::Missing);
    };
    let at: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::Missing)?;
    if (now_secs - at).abs() > MAX_SKEW_SECS {
        return Err(SignatureError::Stale);
    }
    let hex = signature
        .strip_prefix("v0=")
        .ok_or(SignatureError::Mismatch)?;
    let given = decode_hex(hex).ok_or(SignatureError::Mismatch)?;
    mac(secret, timestamp.trim(), body)
        .verify_slice(&given)
        .map_err(|_| SignatureError::Mismatch)
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Slack's documented example (api.slack.com/authentication/verifying-requests-from-slack).
    const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
    const BODY: &[u8] = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const TS: &str = "1531420618";
    const EXPECTED: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    #[test]
    fn signs_like_slacks_documented_example() {
        assert_eq!(sign(SECRET, TS, BODY), EXPECTED);
        assert_eq!(
            verify(SECRET, Some(TS), Some(EXPECTED), BODY, 1_531_420_618),
            Ok(())
        );
    }

    #[test]
    fn refuses_what_slack_did_not_sign_now() {
        let now = 1_531_420_618;
        assert_eq!(
            verify(b"another secret", Some(TS), Some(EXPECTED), BODY, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, Some(TS), Some(EXPECTED), b"token=altered", now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, Some(TS), Some(EXPECTED), BODY, now + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(SECRET, Some(TS), Some(EXPECTED), BODY, now - 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(SECRET, None, Some(EXPECTED), BODY, now),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(SECRET, Some(TS), None, BODY, now),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(SECRET, Some(TS), Some("v1=00"), BODY, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, Some(TS), Some("v0=zz"), BODY, now),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn the_api_is_https_or_on_this_machine() {
        assert!(SlackApi::new("https://slack.com/api").is_ok());
        assert_eq!(
            SlackApi::new("http://127.0.0.1:7000/slack/api")
                .unwrap()
                .base(),
            "http://127.0.0.1:7000/slack/api/"
        );
        assert!(SlackApi::new("http://slack.example.com/api/").is_err());
        assert!(SlackApi::new("https://slack.com/api/?x=1").is_err());
        assert!(SlackApi::new("ftp://slack.com/").is_err());
    }
}
