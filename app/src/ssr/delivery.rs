//! How a notification delivery failed, whatever its channel (webhook, email): what the delivery
//! log shows, and whether and when to try again; and when holders are reminded that a grant
//! ends. A leaf: channels, the notifier and the core use it.

use std::time::Duration;

/// Why a delivery did not go through, for the delivery log (never the secret or the payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryError {
    pub message: String,
    /// Whether trying again may help (a refusal of the request itself will not).
    pub retry: bool,
    /// How long the endpoint asked to wait (`Retry-After`).
    pub retry_after: Option<Duration>,
}

impl DeliveryError {
    /// A failure trying again will not mend.
    pub fn permanent(message: impl Into<String>) -> Self {
        DeliveryError {
            message: message.into(),
            retry: false,
            retry_after: None,
        }
    }
}

/// Reminders before a grant ends, by default: a day and 15 minutes before (each only when the
/// grant lasts longer than the lead).
pub fn default_reminder_leads() -> Vec<crate::model::GrantDuration> {
    vec![
        crate::model::GrantDuration::from_secs(15 * 60),
        crate::model::GrantDuration::from_secs(24 * 3600),
    ]
}
