//! The EWS endpoint: parses a SOAP request, validates it against the schema, checks
//! impersonation, runs the operation on the mailbox store, and writes a response that
//! validates against the schema.
//!
//! CONTRACT (used by the HTTP layer in `server.rs`; keep these signatures):
//! - [`Exchange::new`], [`Exchange::handle`], [`operation_name`], [`soap_fault`],
//!   [`Exchange::check_response`].

use crate::config::{ServerVersion, SimConfig};
use crate::directory::{Account, Directory};
use std::path::PathBuf;

/// How the EWS endpoint behaves.
#[derive(Debug, Clone)]
pub struct ExchangeOptions {
    /// Reject requests that do not validate against the schema (`ErrorSchemaValidation`).
    pub validate_requests: bool,
    /// Validate every response before sending it and record the ones that fail
    /// (tests assert there are none).
    pub validate_responses: bool,
    /// The emulated server version (ServerVersionInfo).
    pub server_version: ServerVersion,
    /// Directory holding `soap-envelope.xsd` and the EWS schema files.
    pub schema_dir: PathBuf,
}

/// One authenticated EWS request.
#[derive(Debug)]
pub struct EwsCall<'a> {
    /// The account that authenticated on this connection.
    pub logon: &'a Account,
    /// The directory as it is now (grants can change at run time).
    pub directory: &'a Directory,
    /// The `X-AnchorMailbox` header, if sent.
    pub anchor_mailbox: Option<&'a str>,
}

/// The answer to one EWS request.
#[derive(Debug, Clone)]
pub struct EwsReply {
    /// HTTP status (200, or 500 for SOAP faults).
    pub status: u16,
    /// The SOAP response document.
    pub body: String,
    /// The operation's name, when the request named one.
    pub operation: Option<String>,
    /// Every ResponseCode in the answer (per message, or the fault's).
    pub response_codes: Vec<String>,
}

/// The EWS endpoint and the mailbox store behind it.
#[derive(Debug)]
pub struct Exchange {
    _opts: ExchangeOptions,
}

/// Why the EWS endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// The schema could not be loaded.
    #[error("cannot load the EWS schema from {path}: {message}")]
    Schema {
        /// Where it was looked for.
        path: String,
        /// What libxml2 said.
        message: String,
    },
}

impl Exchange {
    /// Builds the endpoint with the mailboxes and seed messages of `cfg`.
    pub fn new(_cfg: &SimConfig, opts: ExchangeOptions) -> Result<Self, ExchangeError> {
        Ok(Self { _opts: opts })
    }

    /// Answers one SOAP request.
    pub fn handle(&self, _call: &EwsCall<'_>, _body: &[u8]) -> EwsReply {
        EwsReply {
            status: 500,
            body: soap_fault("ErrorInternalServerError", "not implemented yet", None),
            operation: None,
            response_codes: vec!["ErrorInternalServerError".into()],
        }
    }

    /// Validates a response produced elsewhere (an injected fault) and records it if invalid.
    pub fn check_response(&self, _body: &str) {}
}

/// The local name of the SOAP body's first element (`GetItem`), without validating anything;
/// the HTTP layer uses it to apply per-operation faults and throttling.
pub fn operation_name(_body: &[u8]) -> Option<String> {
    None
}

/// A SOAP fault as Exchange sends it (HTTP 500), with `e:ResponseCode`, `e:Message` and,
/// for `ErrorServerBusy`, `t:MessageXml/t:Value Name="BackOffMilliseconds"`.
pub fn soap_fault(code: &str, message: &str, back_off_ms: Option<u64>) -> String {
    let _ = (code, message, back_off_ms);
    String::new()
}
