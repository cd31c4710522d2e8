//! Exchange Web Services (EWS) for exsync.
//!
//! This crate speaks EWS to on-premises Exchange 2010 SP3, 2013 SP1 and 2016 and knows
//! nothing about AWS. Layers, bottom up:
//!
//! - [`xml`]: a small namespace-aware element tree read with quick-xml (bounded, no DTDs),
//!   and the writer helpers requests are built with.
//! - [`types`]: the EWS vocabulary (ids, folders, items, extended properties, times).
//! - [`operations`]: one module per EWS operation, each a typed request paired with a
//!   typed response through the [`Operation`] trait.
//! - [`envelope`]: the SOAP envelope (RequestServerVersion, ExchangeImpersonation) around a
//!   request, and the parsing of a response envelope (ServerVersionInfo, SOAP faults).
//! - [`decode`]: any EWS response as JSON, for the CLI's `exsync ews decode`.
//! - [`error`]: response codes (an open set), the error type, and the classification
//!   every caller uses to decide what to do (retry, disable a mailbox, open a circuit…).
//! - [`transport`]: HTTPS only, on a pool of HTTP/1.1 connections exsync owns (hyper):
//!   NTLM authenticates each connection once, Basic sends a header per request.
//! - [`client`]: [`client::EwsClient`], the one choke point every operation goes through.
//! - [`autodiscover`]: POX Autodiscover for on-premises Exchange from outside the domain.

pub mod autodiscover;
pub mod client;
pub mod decode;
pub mod envelope;
pub mod error;
pub mod operation;
pub mod operations;
pub mod transport;
pub mod types;
pub mod xml;

pub use error::{ErrorClass, EwsError, ResponseCode};
pub use operation::Operation;
