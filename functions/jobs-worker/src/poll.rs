//! The admin-jobs queue's local event source: `exsync serve` (and the tests) receive batches
//! with [`exsync_aws::event_source::LocalEventSource`] and hand each to
//! [`crate::handle_batch`] exactly as Lambda would.

use std::time::Duration;

use aws_sdk_sqs::Client;
use exsync_aws::event_source::LocalEventSource;
pub use exsync_aws::event_source::{PollError, PollOutcome};
use exsync_domain::service::Admin;

/// Polls one queue for one [`Admin`].
#[derive(Debug, Clone)]
pub struct LocalPoller {
    admin: Admin,
    source: LocalEventSource,
}

impl LocalPoller {
    /// A poller of `queue_url` through `sqs`, running jobs with `admin`.
    pub fn new(admin: Admin, sqs: Client, queue_url: impl Into<String>) -> Self {
        Self {
            admin,
            source: LocalEventSource::new(sqs, queue_url, "admin-jobs"),
        }
    }

    /// Receives one batch (waiting up to `wait` for one to arrive), handles it and deletes
    /// what succeeded.
    pub async fn poll_once(&self, wait: Duration) -> Result<PollOutcome, PollError> {
        self.source
            .poll_once(wait, |event| crate::handle_batch(&self.admin, event))
            .await
    }

    /// Polls until the task is dropped or aborted.
    pub async fn run(&self) {
        self.source
            .run(|event| crate::handle_batch(&self.admin, event))
            .await;
    }
}
