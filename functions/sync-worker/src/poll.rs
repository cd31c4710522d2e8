//! The poll-jobs queue's local event source: tests (and `exsync serve --sync-worker`) receive
//! batches with [`exsync_aws::event_source::LocalEventSource`] and hand each to
//! [`crate::handle_batch`] exactly as Lambda would, with a deadline like the function's; a
//! message that ran out of time is requeued at once, as in Lambda.

use std::time::{Duration, Instant};

use aws_sdk_sqs::Client;
use exsync_aws::event_source::LocalEventSource;
pub use exsync_aws::event_source::{MAX_BATCH, PollError, PollOutcome};
use exsync_domain::sync::engine::SyncEngine;

use crate::Requeue;

/// Polls the poll-jobs queue for one engine.
#[derive(Debug, Clone)]
pub struct LocalPoller {
    source: LocalEventSource,
    /// The function's timeout: each batch gets this long.
    timeout: Duration,
}

impl LocalPoller {
    /// A poller of `queue_url` through `sqs`, giving each batch `timeout` (the function's).
    pub fn new(sqs: Client, queue_url: impl Into<String>, timeout: Duration) -> Self {
        Self {
            source: LocalEventSource::new(sqs, queue_url, "poll-jobs"),
            timeout,
        }
    }

    /// The same poller receiving at most `n` messages at a time (1 to 10).
    pub fn with_batch_size(mut self, n: i32) -> Self {
        self.source = self.source.with_batch_size(n);
        self
    }

    /// Receives one batch (waiting up to `wait` for one to arrive), handles it with `engine`
    /// and deletes what succeeded.
    pub async fn poll_once(
        &self,
        engine: &SyncEngine,
        wait: Duration,
    ) -> Result<PollOutcome, PollError> {
        self.source
            .poll_once(wait, |event| self.handle(engine, event))
            .await
    }

    /// Polls until the task is dropped or aborted (`exsync serve --sync-worker`).
    pub async fn run(&self, engine: &SyncEngine) {
        self.source.run(|event| self.handle(engine, event)).await;
    }

    async fn handle(
        &self,
        engine: &SyncEngine,
        event: aws_lambda_events::event::sqs::SqsEvent,
    ) -> aws_lambda_events::event::sqs::SqsBatchResponse {
        // The clock starts when the batch is in hand, as the function's does.
        let deadline = Instant::now() + self.timeout;
        let requeue = Requeue::new(
            self.source.sqs().clone(),
            self.source.queue_url().to_owned(),
        );
        crate::handle_batch(engine, event, deadline, Some(&requeue)).await
    }
}
