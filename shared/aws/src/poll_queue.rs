//! [`PollQueue`] on SQS: the FIFO poll-jobs queue the sync worker consumes.
//!
//! Jobs go out with SendMessageBatch, ten per call, many calls in flight at once (100,000
//! due mailboxes are 10,000 calls; at 32 in flight and ~20 ms each that is about six
//! seconds). Each message carries the job's deduplication id (`<mailbox>:<slot>`) and its
//! message group, so the queue itself drops a slot enqueued twice and delivers one job of
//! a group at a time. Entries the queue refuses for its own reasons (`sender_fault =
//! false`), and whole calls that fail, are retried with exponential back-off; entries it
//! refuses as malformed are reported at once.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use exsync_domain::DomainError;
use exsync_domain::ports::{EnqueueFailure, EnqueueReport, PollQueue};
use exsync_domain::sync::job::PollJob;
use futures_util::stream::{self, StreamExt};
use sha2::{Digest, Sha256};

use crate::error::AwsError;

/// SendMessageBatch's limit on entries per call.
pub const BATCH_MAX: usize = 10;
/// SendMessageBatch calls in flight at once, unless configured otherwise.
pub const DEFAULT_CONCURRENCY: usize = 32;
/// Attempts per batch (the first included) before its remaining entries are reported
/// failed.
pub const ATTEMPTS: u32 = 5;
/// The longest SQS accepts for a deduplication or group id.
const MAX_ID_CHARS: usize = 128;

/// Sends poll jobs to one FIFO queue.
#[derive(Debug, Clone)]
pub struct SqsPollQueue {
    client: Client,
    queue_url: String,
    concurrency: usize,
}

impl SqsPollQueue {
    /// A queue at `queue_url` through `client`.
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
            concurrency: DEFAULT_CONCURRENCY,
        }
    }

    /// A queue with a client built from the SDK configuration.
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig, queue_url: impl Into<String>) -> Self {
        Self::new(Client::new(sdk), queue_url)
    }

    /// The same queue with `n` SendMessageBatch calls in flight at once (at least one).
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// The queue URL.
    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    /// One batch of at most ten jobs, retried until every entry is accepted, refused as
    /// malformed, or out of attempts.
    async fn send_batch(&self, batch: &[&(PollJob, String)]) -> (usize, Vec<EnqueueFailure>) {
        let mut failed = Vec::new();
        // (position in `batch`, entry) of what is still to send.
        let mut pending: Vec<(usize, SendMessageBatchRequestEntry)> = Vec::new();
        for (i, (job, group)) in batch.iter().enumerate() {
            match entry(i, job, group) {
                Ok(e) => pending.push((i, e)),
                Err(e) => failed.push(failure(job, "Encoding", &e.to_string())),
            }
        }
        let mut enqueued = 0;
        let mut attempt = 0u32;
        while !pending.is_empty() {
            attempt += 1;
            if attempt > 1 {
                tokio::time::sleep(backoff(attempt)).await;
            }
            let last = attempt >= ATTEMPTS;
            let sent = self
                .client
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(pending.iter().map(|(_, e)| e.clone()).collect()))
                .send()
                .await;
            let out = match sent {
                Ok(out) => out,
                Err(e) => {
                    let e = aws_sdk_sqs::Error::from(e);
                    let code = aws_sdk_sqs::error::ProvideErrorMetadata::code(&e)
                        .unwrap_or("Unreachable")
                        .to_owned();
                    tracing::debug!(attempt, error = %e, "SendMessageBatch failed");
                    if last {
                        for (i, _) in &pending {
                            if let Some((job, _)) = batch.get(*i) {
                                failed.push(failure(job, &code, &e.to_string()));
                            }
                        }
                        pending.clear();
                    }
                    continue;
                }
            };
            enqueued += out.successful.len();
            let mut retry = Vec::new();
            for f in out.failed {
                let Some(pos) = pending.iter().position(|(_, e)| e.id() == f.id) else {
                    continue;
                };
                let (i, e) = pending.swap_remove(pos);
                if f.sender_fault || last {
                    if let Some((job, _)) = batch.get(i) {
                        failed.push(failure(job, &f.code, f.message.as_deref().unwrap_or("")));
                    }
                } else {
                    retry.push((i, e));
                }
            }
            // The rest of `pending` was accepted (`successful`); only the retryable
            // refusals go round again.
            pending = retry;
        }
        (enqueued, failed)
    }
}

/// A batch entry: id = position in the batch, JSON body, deduplication id and group.
fn entry(
    i: usize,
    job: &PollJob,
    group: &str,
) -> Result<SendMessageBatchRequestEntry, DomainError> {
    let body = serde_json::to_string(job).map_err(AwsError::Message)?;
    SendMessageBatchRequestEntry::builder()
        .id(i.to_string())
        .message_body(body)
        .message_deduplication_id(sqs_id(&job.dedup_id()))
        .message_group_id(sqs_id(group))
        .build()
        .map_err(|e| DomainError::Queue(Box::new(e)))
}

fn failure(job: &PollJob, code: &str, message: &str) -> EnqueueFailure {
    EnqueueFailure {
        mailbox_id: job.mailbox_id.clone(),
        code: code.to_owned(),
        message: message.to_owned(),
    }
}

/// `id` as SQS accepts it for a deduplication or group id (at most 128 characters,
/// ASCII letters, digits and punctuation): unchanged when it already is, else `h:` and
/// its SHA-256 in hex, so an id with other characters (ids are opaque) still maps to one
/// stable value.
pub fn sqs_id(id: &str) -> String {
    let valid = !id.is_empty()
        && id.len() <= MAX_ID_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b.is_ascii_punctuation());
    if valid {
        return id.to_owned();
    }
    let digest = Sha256::digest(id.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("h:{hex}")
}

fn backoff(attempt: u32) -> Duration {
    // 100 ms, 200 ms, 400 ms, 800 ms: inside a one-minute tick even at the last attempt.
    let ms = 50u64.saturating_mul(1u64 << attempt.min(10));
    Duration::from_millis(ms.min(1000))
}

#[async_trait]
impl PollQueue for SqsPollQueue {
    #[tracing::instrument(skip(self, jobs), fields(queue_url = %self.queue_url, jobs = jobs.len()))]
    async fn enqueue_polls(
        &self,
        jobs: &[(PollJob, String)],
    ) -> Result<EnqueueReport, DomainError> {
        // Batches by index, each future made only when a slot frees up: 10,000 unstarted
        // request futures held at once would cost tens of megabytes. (Mapping over
        // `chunks` instead makes the closure generic over the slice's lifetime, and the
        // returned future no longer provably `Send`.)
        // Sorted by message group (stable, so each group keeps its order): a batch then
        // holds one or few groups, as SQS advises for high-throughput FIFO queues, whose
        // partitions are chosen by group.
        let mut ordered: Vec<&(PollJob, String)> = jobs.iter().collect();
        ordered.sort_by(|a, b| a.1.cmp(&b.1));
        let batches = ordered.len().div_ceil(BATCH_MAX);
        let results: Vec<(usize, Vec<EnqueueFailure>)> = stream::iter(0..batches)
            .map(|i| {
                let end = ordered.len().min((i + 1) * BATCH_MAX);
                self.send_batch(ordered.get(i * BATCH_MAX..end).unwrap_or_default())
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        let mut report = EnqueueReport::default();
        for (enqueued, failed) in results {
            report.enqueued += enqueued;
            report.failed.extend(failed);
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_id_is_sent_as_it_is() {
        let id = "3f2a7c1e-0000-4000-8000-000000000001:29512345";
        assert_eq!(sqs_id(id), id);
        assert_eq!(sqs_id("p:profile-1:7"), "p:profile-1:7");
    }

    #[test]
    fn an_id_sqs_would_refuse_is_hashed_stably() {
        let spaced = "mailbox with spaces:1";
        let hashed = sqs_id(spaced);
        assert!(hashed.starts_with("h:"));
        assert_eq!(hashed.len(), 2 + 64);
        assert_eq!(hashed, sqs_id(spaced));
        let long = "x".repeat(129);
        assert!(sqs_id(&long).starts_with("h:"));
        assert_ne!(sqs_id(&long), sqs_id(&"x".repeat(130)));
    }

    #[test]
    fn back_off_grows_and_stays_under_a_second() {
        assert!(backoff(2) < backoff(3));
        assert!(backoff(30) <= Duration::from_secs(1));
    }
}
