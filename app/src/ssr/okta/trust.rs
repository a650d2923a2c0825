//! Where the Okta credential may be sent, and which secret references may name it: fixed by the
//! deployment's configuration, never by the settings page.
//!
//! An admin chooses the org and the secret reference on *Admin › Okta integration*; without this
//! check an admin could point Gatepass at a host of their own and receive `Authorization: SSWS
//! <token>` — or any environment variable or one-line file, through `env:`/`file:` references.
//! [`OktaTrust`] holds the orgs the configuration allows (`okta.org_url` and
//! `okta.allowed_org_urls`) and the `env:`/`file:` references it names (`okta.secret_ref` and
//! `okta.allowed_secret_refs`). Every Okta client is built through it, so the grant engine, the
//! sync and the connection test never call an org outside the list, whatever the database says.

use url::Url;

use crate::ssr::secrets::{SecretRef, SecretSource};

/// The orgs a credential may be sent to and the local secret references that may be used.
/// The default allows nothing (fail closed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OktaTrust {
    orgs: Vec<Url>,
    local_refs: Vec<SecretRef>,
}

/// Scheme, host and port: what decides where a request goes.
fn origin(url: &Url) -> (String, Option<String>, Option<u16>) {
    (
        url.scheme().to_owned(),
        url.host_str().map(|h| h.to_ascii_lowercase()),
        url.port_or_known_default(),
    )
}

impl OktaTrust {
    /// Trust in `orgs` (already parsed org URLs) and in the `env:`/`file:` references `refs`
    /// (references to other backends in `refs` are ignored: they are always allowed).
    pub fn new(orgs: Vec<Url>, refs: Vec<SecretRef>) -> Self {
        OktaTrust {
            orgs,
            local_refs: refs.into_iter().filter(|r| r.source.is_local()).collect(),
        }
    }

    /// The allowed orgs, for the settings page and error messages.
    pub fn orgs(&self) -> impl Iterator<Item = String> + '_ {
        self.orgs
            .iter()
            .map(|u| u.as_str().trim_end_matches('/').to_owned())
    }

    /// Whether a credential may be sent to `url`'s origin.
    pub fn allows_org(&self, url: &Url) -> bool {
        let wanted = origin(url);
        self.orgs.iter().any(|o| origin(o) == wanted)
    }

    /// `Ok` when `url` is an allowed org; otherwise a message for the admin naming the allowed
    /// ones (never the typed value: it is the admin's own, but the rule is simpler this way).
    pub fn check_org(&self, url: &Url) -> Result<(), String> {
        if self.allows_org(url) {
            return Ok(());
        }
        let allowed: Vec<String> = self.orgs().collect();
        Err(if allowed.is_empty() {
            "this server's configuration allows no Okta org yet: its operator sets okta.org_url"
                .to_owned()
        } else {
            format!(
                "this server's configuration only allows {} (okta.org_url, okta.allowed_org_urls)",
                allowed.join(", ")
            )
        })
    }

    /// `Ok` for an AWS Secrets Manager reference (the server's IAM policy decides which secrets
    /// it may read) or an `env:`/`file:` reference the configuration names; otherwise why not.
    pub fn check_secret_ref(&self, reference: &SecretRef) -> Result<(), String> {
        match &reference.source {
            SecretSource::AwsSecretsManager(_) => Ok(()),
            SecretSource::Env(_) | SecretSource::File(_) => {
                if self.local_refs.contains(reference) {
                    Ok(())
                } else {
                    Err(
                        "env: and file: references can only be chosen in the server's \
                         configuration (okta.secret_ref, okta.allowed_secret_refs); use an \
                         aws-secretsmanager: reference"
                            .to_owned(),
                    )
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::okta::client::parse_org_url;

    fn trust() -> OktaTrust {
        OktaTrust::new(
            vec![
                parse_org_url("acme.okta.com").unwrap(),
                parse_org_url("http://127.0.0.1:4010").unwrap(),
            ],
            vec![
                "env:OKTA_TOKEN".parse().unwrap(),
                "aws-secretsmanager:x".parse().unwrap(),
            ],
        )
    }

    #[test]
    fn allows_only_configured_origins() {
        let t = trust();
        for ok in [
            "https://acme.okta.com",
            "https://ACME.okta.com:443",
            "http://127.0.0.1:4010",
        ] {
            assert!(t.allows_org(&Url::parse(ok).unwrap()), "{ok}");
        }
        for evil in [
            "https://acme.okta.com.evil.example",
            "https://evil.okta.com",
            "http://acme.okta.com",
            "https://acme.okta.com:8443",
            "http://127.0.0.1:4011",
            "http://localhost:4010",
        ] {
            assert!(!t.allows_org(&Url::parse(evil).unwrap()), "{evil}");
            let message = t.check_org(&Url::parse(evil).unwrap()).unwrap_err();
            assert!(message.contains("https://acme.okta.com"), "{message}");
        }
        let none = OktaTrust::default();
        assert!(none
            .check_org(&Url::parse("https://acme.okta.com").unwrap())
            .unwrap_err()
            .contains("allows no Okta org"));
    }

    #[test]
    fn local_references_only_when_configured() {
        let t = trust();
        assert!(t
            .check_secret_ref(&"env:OKTA_TOKEN".parse().unwrap())
            .is_ok());
        assert!(t
            .check_secret_ref(&"aws-secretsmanager:anything#k".parse().unwrap())
            .is_ok());
        for evil in [
            "env:GATEPASS_OIDC__CLIENT_SECRET",
            "env:OKTA_TOKEN#key",
            "file:/etc/shadow",
            "file:/proc/self/environ",
        ] {
            let message = t.check_secret_ref(&evil.parse().unwrap()).unwrap_err();
            assert!(message.contains("configuration"), "{evil}: {message}");
            assert!(!message.contains(evil), "the reference is not echoed");
        }
    }
}
