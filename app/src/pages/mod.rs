//! One module per page.

pub mod admin;
pub mod admin_access;
pub mod admin_reviews;
pub mod approvals;
pub mod audit;
pub mod catalog;
pub mod drift;
pub mod groups;
pub mod home;
pub mod my_access;
pub mod my_notifications;
pub mod my_tokens;
pub mod not_found;
pub mod notifications;
pub mod policies;
pub mod request;
pub mod reviews;
pub mod settings_okta;
pub mod sync;
