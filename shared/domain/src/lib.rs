//! exsync's domain: the entities an admin manages and the rules that govern them.
//!
//! Every rule of the product lives here and nowhere else: field validation (errors name the
//! field), who may do what ([`privilege`]), what Test Connection and Test & Enable check, and
//! (with the sync engine) how mailboxes are synced. Storage, queues and key management are
//! reached through the small traits in [`ports`]; `exsync-aws` implements them with DynamoDB,
//! SQS and KMS. Exchange is reached through `exsync-ews`.
//!
//! - Entities and their inputs, validation and views: [`profile`], [`org`], [`mailbox`],
//!   [`activity`], [`record`], [`alert`], [`job`]; [`validation`] names bad fields.
//! - [`privilege`]: `authorize`, the owner rule and the built-in roles.
//! - [`exchange`]: credentials, transports and clients built from a profile.
//! - [`diagnosis`]: the one mapping from an EWS failure to a failing step and advice.
//! - [`test_connection`] and [`test_enable`]: what those two admin actions check.
//! - [`service`]: [`service::Admin`], what the admin API and the jobs worker call.
//! - [`schedule`]: when a mailbox is polled (the adaptive interval, the due workloads,
//!   the poll group); [`sync`]: poll jobs and the scheduler's tick.

#![warn(missing_docs)]

pub mod activity;
pub mod alert;
pub mod diagnosis;
pub mod error;
pub mod exchange;
pub mod ids;
pub mod job;
pub mod mailbox;
pub mod org;
pub mod ports;
pub mod privilege;
pub mod profile;
pub mod record;
pub mod schedule;
pub mod service;
pub mod sync;
pub mod test_connection;
pub mod test_enable;
pub mod validation;

pub use error::DomainError;
