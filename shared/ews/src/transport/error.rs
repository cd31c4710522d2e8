//! Transport errors.

use crate::error::ErrorClass;

/// A failure below the SOAP layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The URL is not `https://`; exsync talks EWS only over TLS.
    #[error("refusing non-HTTPS URL {url}")]
    InsecureUrl {
        /// The refused URL.
        url: String,
    },
}

impl TransportError {
    /// What a caller should do about this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            TransportError::InsecureUrl { .. } => ErrorClass::ProfileLevel,
        }
    }
}
