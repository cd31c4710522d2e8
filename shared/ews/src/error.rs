//! EWS errors and their classification.
//!
//! Every failure exsync can meet while talking to Exchange becomes an [`EwsError`], and every
//! [`EwsError`] answers [`EwsError::class`]: the one decision callers need (retry later,
//! disable the mailbox, open the profile's circuit, skip the item, resync from scratch).
//! The table behind it lives in `docs/errors.md`; a test walks that table.

use std::time::Duration;

/// An EWS `ResponseCode`: an open set.
///
/// The 2010 SP2 schema lists the codes as a closed enumeration, but newer servers send codes
/// it lacks (for example `ErrorTooManyObjectsOpened`), so unknown values are kept verbatim in
/// [`ResponseCode::Other`] rather than failing the document.
// (Known codes are added by the protocol work; `Other` must stay.)
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResponseCode {
    /// `NoError`.
    NoError,
    /// Any code this crate has no variant for, as the server spelled it.
    Other(String),
}

/// What a caller should do about an error. See `docs/errors.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Try again later; Exchange may say how long to wait.
    Transient {
        /// The server's `BackOffMilliseconds`, when it gave one.
        back_off: Option<Duration>,
    },
    /// This mailbox cannot be synced until an admin acts (non-existent mailbox, impersonation
    /// denied, access denied…): disable the workload and alert.
    MailboxPermanent,
    /// The whole profile is broken (credentials rejected, TLS failure, endpoint unreachable,
    /// Autodiscover failed): open the profile's circuit, disable nothing.
    ProfileLevel,
    /// Only this item is affected (not found, stale change key…): log it and go on.
    ItemLevel,
    /// The stored sync state is no longer valid: drop it and resync from scratch.
    SyncStateInvalid,
    /// A request exsync built that Exchange refused (schema or argument error): a bug or a
    /// configuration exsync cannot fix by retrying.
    Request,
}

/// Everything that can go wrong talking EWS.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EwsError {
    /// The HTTP/TLS layer failed (see [`crate::transport::TransportError`]).
    #[error("EWS transport failed")]
    Transport(#[from] crate::transport::TransportError),
    /// A response document could not be read.
    #[error("malformed EWS response")]
    Xml(#[from] crate::xml::XmlError),
}

impl EwsError {
    /// What a caller should do about this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            EwsError::Transport(t) => t.class(),
            // A malformed answer fails that one call; retrying later is the safe default.
            EwsError::Xml(_) => ErrorClass::Transient { back_off: None },
        }
    }
}
