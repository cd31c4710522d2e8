//! An Exchange Server simulator for exsync's tests and demo.
//!
//! It stands in for on-premises Exchange 2010 SP3 / 2013 SP1 / 2016: HTTPS with a CA it
//! generates, NTLM (NTLMv2 proof really verified) and Basic, a directory with
//! ApplicationImpersonation grants, mailboxes with folders and items, the EWS operations
//! exsync uses, held to Microsoft's schema in both directions, POX Autodiscover, throttling
//! like EWSMaxConcurrency, scriptable fault injection, and mail that keeps arriving (the
//! configuration's arrival streams, for the demo).
//!
//! Start one with [`Simulator::start`] and steer it through the returned [`SimHandle`].

mod arrivals;
pub mod auth;
pub mod autodiscover;
pub mod config;
mod control;
pub mod directory;
pub mod ews;
pub mod faults;
pub mod ntlm;
pub mod schema;
mod server;
pub mod sim;
pub mod store;
pub mod throttle;
pub mod tls;

pub use arrivals::{ArrivalStreamStatus, ArrivalsStatus};
pub use autodiscover::AutodiscoverBehavior;
pub use config::{ConfigError, SimConfig, ThrottleAnswer};
pub use faults::{FaultKind, FaultMode, FaultRule};
pub use sim::{SimError, SimHandle, SimOptions, Simulator};
