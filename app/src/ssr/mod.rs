//! Everything that only runs on the server: state, authentication, services, SQL.
//! Compiled only with the `ssr` feature; nothing here may reach the browser bundle.

pub mod auth;
pub mod clock;
pub mod db;
pub mod jobs;
pub mod okta;
pub mod secrets;
pub mod services;
pub mod state;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
