//! Background work that runs inside `gatepass serve`.

pub mod sync_scheduler;
