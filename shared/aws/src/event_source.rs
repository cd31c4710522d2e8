//! The local stand-in for Lambda's SQS event source mapping, shared by the sync worker's
//! and the jobs worker's pollers (`exsync serve`, `make demo`, the tests).
//!
//! It does what the mapping does around a handler: receive up to a batch of messages
//! (long-polling), hand them to the handler as the [`SqsEvent`] Lambda would build, and
//! delete every message the handler did not name in its `batchItemFailures`. A failed
//! message stays in the queue: it comes back after its visibility timeout (or at once when
//! the handler requeued it) and goes to the dead-letter queue after the queue's receive
//! limit, as deployed.

use std::future::Future;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};

/// The most messages one receive returns (an SQS limit, and the largest batch size of a
/// FIFO event source).
pub const MAX_BATCH: i32 = 10;

/// The record attribute Lambda sets to a FIFO message's group id.
pub const MESSAGE_GROUP_ID: &str = "MessageGroupId";

/// What one poll did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollOutcome {
    /// Messages received.
    pub received: usize,
    /// Messages the handler reported as failed (left in the queue).
    pub failed: usize,
}

/// Receiving or deleting failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PollError {
    /// ReceiveMessage failed.
    #[error("receiving from the {queue} queue failed")]
    Receive {
        /// The queue's name in the logs (`poll-jobs`, `admin-jobs`).
        queue: &'static str,
        /// What the SDK said.
        #[source]
        source: Box<aws_sdk_sqs::Error>,
    },
    /// DeleteMessageBatch failed.
    #[error("deleting handled messages from the {queue} queue failed")]
    Delete {
        /// The queue's name in the logs.
        queue: &'static str,
        /// What the SDK said.
        #[source]
        source: Box<aws_sdk_sqs::Error>,
    },
}

/// Receives from one queue and deletes what its handler finished.
#[derive(Debug, Clone)]
pub struct LocalEventSource {
    sqs: Client,
    queue_url: String,
    /// The queue's name in logs and errors.
    name: &'static str,
    batch_size: i32,
}

impl LocalEventSource {
    /// An event source for `queue_url` through `sqs`, called `name` in logs and errors,
    /// receiving [`MAX_BATCH`] messages at a time.
    pub fn new(sqs: Client, queue_url: impl Into<String>, name: &'static str) -> Self {
        Self {
            sqs,
            queue_url: queue_url.into(),
            name,
            batch_size: MAX_BATCH,
        }
    }

    /// The same source receiving at most `n` messages at a time (1 to 10).
    pub fn with_batch_size(mut self, n: i32) -> Self {
        self.batch_size = n.clamp(1, MAX_BATCH);
        self
    }

    /// The SQS client.
    pub fn sqs(&self) -> &Client {
        &self.sqs
    }

    /// The queue's URL.
    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    /// Receives one batch (waiting up to `wait`, at most 20 s, for one to arrive), hands it
    /// to `handle` and deletes the messages `handle` did not report as failed.
    pub async fn poll_once<F, Fut>(
        &self,
        wait: Duration,
        handle: F,
    ) -> Result<PollOutcome, PollError>
    where
        F: FnOnce(SqsEvent) -> Fut,
        Fut: Future<Output = SqsBatchResponse>,
    {
        let wait_secs = i32::try_from(wait.as_secs().min(20)).unwrap_or(20);
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(self.batch_size)
            // Lambda passes a FIFO message's group id to the handler; a standard queue has
            // none and SQS leaves the attribute out.
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .wait_time_seconds(wait_secs)
            .send()
            .await
            .map_err(|e| PollError::Receive {
                queue: self.name,
                source: Box::new(e.into()),
            })?;
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(PollOutcome::default());
        }
        let mut event = SqsEvent::default();
        let mut receipts = Vec::with_capacity(messages.len());
        for m in messages {
            let mut record = SqsMessage::default();
            record.message_id = m.message_id.clone();
            record.receipt_handle = m.receipt_handle.clone();
            record.body = m.body;
            record.event_source = Some("aws:sqs".to_owned());
            if let Some(group) = m
                .attributes
                .as_ref()
                .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
            {
                record
                    .attributes
                    .insert(MESSAGE_GROUP_ID.to_owned(), group.clone());
            }
            receipts.push((m.message_id, m.receipt_handle));
            event.records.push(record);
        }
        let received = event.records.len();
        let response = handle(event).await;
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        let entries: Vec<DeleteMessageBatchRequestEntry> = receipts
            .into_iter()
            .enumerate()
            .filter_map(|(i, (id, receipt))| {
                let id = id?;
                if failed.contains(&id.as_str()) {
                    return None;
                }
                DeleteMessageBatchRequestEntry::builder()
                    .id(format!("m{i}"))
                    .receipt_handle(receipt?)
                    .build()
                    .ok()
            })
            .collect();
        if !entries.is_empty() {
            self.sqs
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| PollError::Delete {
                    queue: self.name,
                    source: Box::new(e.into()),
                })?;
        }
        Ok(PollOutcome {
            received,
            failed: failed.len(),
        })
    }

    /// Polls until the task is dropped or aborted, long-polling so an idle queue costs one
    /// request every 20 seconds, as the event source does; after an error it waits a little
    /// before trying again rather than spinning on a dead endpoint.
    pub async fn run<F, Fut>(&self, handle: F)
    where
        F: Fn(SqsEvent) -> Fut,
        Fut: Future<Output = SqsBatchResponse>,
    {
        loop {
            match self.poll_once(Duration::from_secs(20), &handle).await {
                Ok(outcome) if outcome.received > 0 => {
                    tracing::info!(
                        queue = self.name,
                        received = outcome.received,
                        failed = outcome.failed,
                        "batch handled"
                    );
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(
                        queue = self.name,
                        error = %exsync_domain::error::error_chain(&error),
                        "poll failed"
                    );
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }
        }
    }
}
