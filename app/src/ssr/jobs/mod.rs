//! Background work that runs inside `gatepass serve`.

pub mod grant_engine;
pub mod request_expiry;
pub mod sync_scheduler;
