//! The local stand-in for the SQS event source mapping: tests (and a local run) receive
//! batches from the poll-jobs queue, hand each to [`crate::handle_batch`] exactly as Lambda
//! would, with a deadline like the function's, and delete the messages it did not report
//! as failed. A failed message stays in the queue (requeued at once when it ran out of
//! time), and goes to the dead-letter queue after the queue's receive limit, as deployed.

use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use exsync_domain::sync::engine::SyncEngine;

use crate::Requeue;

/// The most messages one receive returns (an SQS limit, and the event source's batch size).
pub const MAX_BATCH: i32 = 10;

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
    #[error("receiving from the poll-jobs queue failed")]
    Receive(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// DeleteMessageBatch failed.
    #[error("deleting handled messages failed")]
    Delete(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Polls the poll-jobs queue for one engine.
#[derive(Debug, Clone)]
pub struct LocalPoller {
    sqs: Client,
    queue_url: String,
    batch_size: i32,
    /// The function's timeout: each batch gets this long.
    timeout: Duration,
}

impl LocalPoller {
    /// A poller of `queue_url` through `sqs`, giving each batch `timeout` (the function's).
    pub fn new(sqs: Client, queue_url: impl Into<String>, timeout: Duration) -> Self {
        Self {
            sqs,
            queue_url: queue_url.into(),
            batch_size: MAX_BATCH,
            timeout,
        }
    }

    /// The same poller receiving at most `n` messages at a time (1 to 10).
    pub fn with_batch_size(mut self, n: i32) -> Self {
        self.batch_size = n.clamp(1, MAX_BATCH);
        self
    }

    /// Receives one batch (waiting up to `wait` for one to arrive), handles it with `engine`
    /// and deletes what succeeded.
    pub async fn poll_once(
        &self,
        engine: &SyncEngine,
        wait: Duration,
    ) -> Result<PollOutcome, PollError> {
        let wait_secs = i32::try_from(wait.as_secs().min(20)).unwrap_or(20);
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(self.batch_size)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .wait_time_seconds(wait_secs)
            .send()
            .await
            .map_err(|e| PollError::Receive(Box::new(aws_sdk_sqs::Error::from(e))))?;
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(PollOutcome::default());
        }
        let deadline = Instant::now() + self.timeout;
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
                    .insert(crate::MESSAGE_GROUP_ID.to_owned(), group.clone());
            }
            receipts.push((m.message_id, m.receipt_handle));
            event.records.push(record);
        }
        let received = event.records.len();
        let requeue = Requeue::new(self.sqs.clone(), self.queue_url.clone());
        let response = crate::handle_batch(engine, event, deadline, Some(&requeue)).await;
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
                .map_err(|e| PollError::Delete(Box::new(aws_sdk_sqs::Error::from(e))))?;
        }
        Ok(PollOutcome {
            received,
            failed: failed.len(),
        })
    }

    /// Polls until the task is dropped or aborted (`exsync serve --sync-worker`), long-polling
    /// so an idle queue costs one request every 20 seconds, as the event source does; after
    /// an error it waits a little before trying again rather than spinning on a dead endpoint.
    pub async fn run(&self, engine: &SyncEngine) {
        loop {
            match self.poll_once(engine, Duration::from_secs(20)).await {
                Ok(outcome) if outcome.received > 0 => {
                    tracing::info!(
                        received = outcome.received,
                        failed = outcome.failed,
                        "poll-jobs batch handled"
                    );
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(error = %crate::error_chain(&error), "poll-jobs poll failed");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }
        }
    }
}
