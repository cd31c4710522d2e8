//! Background jobs (Test & Enable of many mailboxes or of a whole profile).

use crate::ids::{JobId, MailboxId, Principal, ProfileId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// What a job does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobKind {
    /// Test & Enable every mailbox of a profile.
    TestAndEnableProfile {
        /// The profile.
        profile_id: ProfileId,
    },
    /// Test & Enable these mailboxes.
    TestAndEnableMailboxes {
        /// The mailboxes.
        mailbox_ids: Vec<MailboxId>,
    },
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Enqueued, not started.
    Queued,
    /// Being worked on.
    Running,
    /// Every item done (some may have failed).
    Completed,
    /// Stopped by an error that is not an item's.
    Failed,
}

/// A job and its progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Id.
    pub id: JobId,
    /// What it does.
    pub kind: JobKind,
    /// Where it is.
    pub state: JobState,
    /// Items to do.
    pub total: u64,
    /// Items done.
    pub done: u64,
    /// Items that succeeded.
    pub succeeded: u64,
    /// Items that failed.
    pub failed: u64,
    /// Who started it.
    pub requested_by: Principal,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last update.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}
