//! The domain's error.

pub use exsync_ews::error::error_chain;

use crate::privilege::Privilege;
use crate::validation::ValidationErrors;

/// What can go wrong in a domain operation. The API maps each variant to one HTTP status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DomainError {
    /// Input failed validation (400); every bad field is named.
    #[error("invalid input: {0}")]
    Validation(ValidationErrors),
    /// The caller lacks a privilege (403).
    #[error("missing privilege {0}")]
    Forbidden(Privilege),
    /// The entity does not exist (404).
    #[error("{kind} {id} not found")]
    NotFound {
        /// Entity kind ("profile", "mailbox"…).
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
    /// Someone else changed the entity since the caller read it (409).
    #[error("{kind} {id} was changed by someone else (expected version {expected})")]
    VersionConflict {
        /// Entity kind.
        kind: &'static str,
        /// The id.
        id: String,
        /// The version the caller sent.
        expected: u64,
    },
    /// The operation conflicts with the entity's state (409), e.g. deleting a profile that
    /// mailboxes still use.
    #[error("{0}")]
    Conflict(String),
    /// Storage failed (500/503: not the caller's fault).
    #[error("storage failed")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Sealing or unsealing a secret failed.
    #[error("key management failed")]
    Crypto(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Enqueueing a job failed.
    #[error("queue failed")]
    Queue(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<ValidationErrors> for DomainError {
    fn from(e: ValidationErrors) -> Self {
        DomainError::Validation(e)
    }
}
