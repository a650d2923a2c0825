//! Everything that only runs on the server: state, authentication, services, SQL.
//! Compiled only with the `ssr` feature; nothing here may reach the browser bundle.

pub mod auth;
pub mod cache;
pub mod clock;
pub mod core;
pub mod db;
pub mod delivery;
pub mod jobs;
pub mod mail;
pub mod okta;
pub mod pagerduty;
#[cfg(test)]
mod proptests;
pub mod secrets;
pub mod services;
pub mod signal;
pub mod slack;
pub mod state;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;

/// SHA-256 of `data` in lower-case hex: how Gatepass stores what must not be stored as is
/// (session ids, API tokens) and fingerprints what it compares.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The Content-Security-Policy nonce of one response (a request extension set by the server's
/// security-headers layer, read by `shell()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CspNonce(pub String);
