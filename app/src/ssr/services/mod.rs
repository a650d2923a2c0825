//! Domain operations. Services take parsed, typed input and capability values, use `db/` for
//! storage and return `AppError` for the browser.

pub mod identity;
pub mod sync;
pub mod system;
