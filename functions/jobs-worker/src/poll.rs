//! The local stand-in for the SQS event source mapping: `exsync serve` (and the tests)
//! receive batches from the admin-jobs queue, hand each to [`crate::handle_batch`] exactly
//! as Lambda would, and delete the messages it did not report as failed. A failed message
//! stays in the queue and comes back after its visibility timeout, then goes to the
//! dead-letter queue after the queue's receive limit, as deployed.

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use exsync_domain::service::Admin;

/// The most messages one receive returns (an SQS limit, and the Lambda batch size).
const MAX_BATCH: i32 = 10;

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
    #[error("receiving from the admin-jobs queue failed")]
    Receive(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// DeleteMessageBatch failed.
    #[error("deleting handled messages failed")]
    Delete(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Polls one queue for one [`Admin`].
#[derive(Debug, Clone)]
pub struct LocalPoller {
    admin: Admin,
    sqs: Client,
    queue_url: String,
}

impl LocalPoller {
    /// A poller of `queue_url` through `sqs`, running jobs with `admin`.
    pub fn new(admin: Admin, sqs: Client, queue_url: impl Into<String>) -> Self {
        Self {
            admin,
            sqs,
            queue_url: queue_url.into(),
        }
    }

    /// Receives one batch (waiting up to `wait` for one to arrive), handles it and deletes
    /// what succeeded.
    pub async fn poll_once(&self, wait: Duration) -> Result<PollOutcome, PollError> {
        let wait_secs = i32::try_from(wait.as_secs().min(20)).unwrap_or(20);
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(MAX_BATCH)
            .wait_time_seconds(wait_secs)
            .send()
            .await
            .map_err(|e| PollError::Receive(Box::new(aws_sdk_sqs::Error::from(e))))?;
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
            receipts.push((m.message_id, m.receipt_handle));
            event.records.push(record);
        }
        let received = event.records.len();
        let response = crate::handle_batch(&self.admin, event).await;
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

    /// Polls until the task is dropped or aborted, long-polling so an idle queue costs one
    /// request every 20 seconds; after an error it waits a little before trying again.
    pub async fn run(&self) {
        loop {
            match self.poll_once(Duration::from_secs(20)).await {
                Ok(outcome) if outcome.received > 0 => {
                    tracing::info!(
                        received = outcome.received,
                        failed = outcome.failed,
                        "admin-jobs batch handled"
                    );
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(error = %crate::error_chain(&error), "admin-jobs poll failed");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }
        }
    }
}
