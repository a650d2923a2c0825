//! The Gatepass server process: command line, configuration, start-up and the HTTP router.
//! The product logic lives in the `app` crate; this crate wires it to the outside world.

pub mod api_v1;
pub mod audit_export;
pub mod cli;
pub mod client;
pub mod config;
pub mod hardening;
pub mod health;
pub mod oidc;
#[cfg(test)]
mod proptests;
pub mod review_report;
pub mod session;
pub mod signin;
pub mod slack;
pub mod startup;
pub mod sync_cmd;
pub mod telemetry;
