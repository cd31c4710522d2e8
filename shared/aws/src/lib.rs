//! exsync's AWS adapters: the domain's ports implemented with AWS services, and the
//! creation of `template.yaml`'s resources on a local endpoint.
//!
//! - [`dynamo::DynamoStore`]: every store port (`ConfigStore`, `ActivityStore`,
//!   `MailFlowStore`, `OpsStore`, `AccessStore`) on the one table of `docs/data-model.md`;
//!   the key layout is in [`keys`].
//! - [`kms::KmsSealer`]: `SecretSealer` with KMS Encrypt/Decrypt.
//! - [`sqs::SqsJobQueue`]: `JobQueue` on the admin-jobs queue.
//! - [`poll_queue::SqsPollQueue`]: `PollQueue` on the FIFO poll-jobs queue
//!   (SendMessageBatch, concurrent, retried); the store is also the scheduler's
//!   `DueIndex`.
//! - [`event_source::LocalEventSource`]: the SQS event source mapping's local stand-in
//!   (receive a batch, call the handler, delete what it finished).
//! - [`config`]: the typed configuration every function reads at cold start.
//! - [`init::ensure_resources`]: creates the template's table, queues and key where they
//!   are missing (`exsync serve --init`, tests), reading [`template`] — the template stays
//!   the only definition of the schema.
//!
//! No rule of the product lives here: the adapters store and fetch, and turn AWS failures
//! into `DomainError`s that keep their source.

#![warn(missing_docs)]

pub mod config;
mod cursor;
pub mod dynamo;
pub mod error;
pub mod event_source;
pub mod init;
pub mod keys;
pub mod kms;
pub mod poll_queue;
pub mod sqs;
pub mod template;

pub use config::{AwsConfig, ResourceNames};
pub use dynamo::DynamoStore;
pub use kms::KmsSealer;
pub use poll_queue::SqsPollQueue;
pub use sqs::SqsJobQueue;
