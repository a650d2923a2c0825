//! Domain operations. Services take parsed, typed input and capability values, use `db/` for
//! storage and return `AppError` for the browser.

pub mod access;
#[cfg(test)]
mod access_tests;
pub mod audit;
pub mod catalog;
pub mod drift;
pub mod groups;
pub mod identity;
pub mod integration;
pub mod metrics;
pub mod sync;
pub mod system;
