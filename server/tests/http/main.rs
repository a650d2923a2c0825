//! Gatepass over real HTTP, in one test binary: the app shell, sign-in (against a certified
//! provider, the Okta simulator and a rogue provider), every server function's authorization,
//! the attack suite, the Okta settings pages, the Okta client, directory sync and the grant
//! engine against the simulator, webhook deliveries (checked by the Standard Webhooks reference
//! library), the simulator itself, and the `gatepass` command line.
//! Test servers take turns (see `common`). Durability tests on the real binary are separate
//! (`tests/durability/`).

mod api_admin;
mod api_matrix;
mod api_schema;
mod api_v1;
mod apps;
mod attacks;
mod authorization;
mod cli;
mod common;
mod grant_engine;
mod notifications;
mod okta_client;
mod okta_settings;
mod okta_sim;
mod pagerduty;
mod policies_api;
mod shell;
mod signin_oidc_provider;
mod signin_okta_sim;
mod signin_rogue_provider;
mod slack;
mod sync;
