//! Reusable UI pieces.

pub mod error_view;
pub mod layout;
pub mod require_sign_in;
