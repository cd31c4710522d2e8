//! Alerts: the wall the mailbox owner and the profile owner read.

use crate::ids::{AlertId, MailboxId, Principal, ProfileId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Alert level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertLevel {
    /// Something failed and needs an admin.
    Error,
    /// Something may need attention.
    Warning,
    /// For the record.
    Information,
}

/// What an alert is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum AlertSubject {
    /// A mailbox.
    Mailbox(MailboxId),
    /// A profile.
    Profile(ProfileId),
}

/// An alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Id.
    pub id: AlertId,
    /// Level.
    pub level: AlertLevel,
    /// A stable code (`ErrorImpersonateUserDenied`, `TestAndEnableSucceeded`…).
    pub code: String,
    /// Text for a human (no secrets).
    pub text: String,
    /// What it is about.
    pub subject: AlertSubject,
    /// The owners it is for.
    pub owners: Vec<Principal>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// When it expires (TTL).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Dismissed by someone.
    #[serde(default)]
    pub dismissed: bool,
}
