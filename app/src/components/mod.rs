//! Reusable UI pieces.

pub mod countdown;
pub mod error_view;
pub mod layout;
pub mod page;
pub mod search;
pub mod when;
