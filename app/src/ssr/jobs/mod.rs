//! Background work that runs inside `gatepass serve`.

pub mod request_expiry;
pub mod sync_scheduler;
