//! An Exchange Server simulator for exsync's tests and demo.
//!
//! It stands in for on-premises Exchange 2010 SP3 / 2013 SP1 / 2016: HTTPS with a CA it
//! generates, NTLM (NTLMv2 proof really verified) and Basic, a directory with
//! ApplicationImpersonation grants, mailboxes with folders and items, the EWS operations
//! exsync uses, held to Microsoft's schema in both directions, POX Autodiscover, throttling
//! like EWSMaxConcurrency, and scriptable fault injection.

pub mod config;
pub mod directory;
pub mod ews;
pub mod ntlm;
