//! The sync worker's handler: one SQS batch of poll jobs in, the ids of the messages that
//! must come back out (partial batch failures).
//!
//! Each record's body is a [`PollJob`] (JSON); the domain's [`SyncEngine`] runs it. The
//! handler only translates:
//!
//! - the records of one message group (a profile's connection slot, or a mailbox) are
//!   handled one after the other, in order: a group is never synced twice at once, which
//!   is how a profile's maximum concurrent connections holds across every worker. Different
//!   groups of a batch run at the same time, so an invocation waits on Exchange once for
//!   many mailboxes rather than once per mailbox (the idle poll's Lambda cost,
//!   `docs/performance.md`);
//! - after the first record of a group that fails, the group's later records are not
//!   started and are reported failed too, as AWS requires for FIFO event sources (order
//!   within a group is kept);
//! - the function stops [`STOP_MARGIN`] before its own deadline: a job the engine could not
//!   finish keeps what it did (sync states are persisted per page) and is reported failed,
//!   like the records not started, so SQS delivers them again; when a [`Requeue`] is given
//!   their visibility is reset at once, so they come back in seconds rather than after the
//!   queue's visibility timeout;
//! - a body that is not a poll job fails only its record (and ends in the dead-letter queue
//!   after the queue's receive limit); a store failure fails its record and is retried.
//!
//! Failures the engine handles itself (throttling postpones the mailbox, a permanent error
//! disables the workload, a profile-level error opens the circuit) are successes here: the
//! message is done, the schedule takes it from there.

#![warn(missing_docs)]

pub mod poll;

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry;
use exsync_aws::config::Adapters;
use exsync_domain::DomainError;
use exsync_domain::ports::Clock;
use exsync_domain::sync::engine::{JobOutcome, JobReport, SyncEngine, SyncPorts};
use exsync_domain::sync::job::PollJob;
use tracing::Instrument as _;

/// How long before the function's deadline the worker stops starting work: enough for the
/// call in flight to end, the page's writes and the response.
pub const STOP_MARGIN: Duration = Duration::from_secs(10);

/// The function's timeout in template.yaml (`SyncWorkerFunction`'s `Timeout`; a test keeps
/// the two equal): what a local poller gives each batch, as Lambda would.
pub const FUNCTION_TIMEOUT: Duration = Duration::from_secs(120);

/// The engine's ports over the AWS adapters: the one table serves every store port.
pub fn sync_ports(adapters: Adapters, clock: Arc<dyn Clock>) -> SyncPorts {
    let store = Arc::new(adapters.store);
    SyncPorts {
        config: store.clone(),
        sync: store.clone(),
        mail: store.clone(),
        activities: store.clone(),
        ops: store,
        sealer: Arc::new(adapters.sealer),
        clock,
    }
}

/// Why one record was not done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The record has no body.
    #[error("the message has no body")]
    NoBody,
    /// The body is not a poll job.
    #[error("the message body is not a poll job")]
    BadBody(#[source] serde_json::Error),
    /// The store failed while running the job.
    #[error("the poll job failed")]
    Job(#[source] DomainError),
    /// The deadline came before the job was finished (or started).
    #[error("the function's time ran out before the job was finished")]
    OutOfTime,
    /// An earlier record of this FIFO batch failed, so this one was not started.
    #[error("not started: an earlier record of the batch failed")]
    AfterFailure,
}

impl RecordError {
    /// True when the record should come back at once (it was cut short by time, not by a
    /// fault that calls for a pause).
    pub fn requeue_now(&self) -> bool {
        matches!(self, RecordError::OutOfTime | RecordError::AfterFailure)
    }
}

/// Resets the visibility of records handed back for lack of time, so SQS delivers them
/// again at once.
#[derive(Debug, Clone)]
pub struct Requeue {
    sqs: Client,
    queue_url: String,
}

impl Requeue {
    /// Requeues on the queue at `queue_url`.
    pub fn new(sqs: Client, queue_url: impl Into<String>) -> Self {
        Self {
            sqs,
            queue_url: queue_url.into(),
        }
    }

    async fn now(&self, receipts: &[String]) {
        for chunk in receipts.chunks(10) {
            let entries: Vec<ChangeMessageVisibilityBatchRequestEntry> = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, r)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(format!("r{i}"))
                        .receipt_handle(r)
                        .visibility_timeout(0)
                        .build()
                        .ok()
                })
                .collect();
            let sent = self
                .sqs
                .change_message_visibility_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await;
            if let Err(e) = sent {
                // Not fatal: the messages come back after the visibility timeout anyway.
                tracing::warn!(error = %error_chain(&aws_sdk_sqs::Error::from(e)), "requeueing unfinished poll jobs failed");
            }
        }
    }
}

/// Parses a record's body.
pub fn parse_job(body: Option<&str>) -> Result<PollJob, RecordError> {
    let body = body.ok_or(RecordError::NoBody)?;
    serde_json::from_str(body).map_err(RecordError::BadBody)
}

/// Runs one job until `stop_at`; `Ok` when its message is done.
pub async fn handle_job(
    engine: &SyncEngine,
    job: &PollJob,
    stop_at: Instant,
) -> Result<JobReport, RecordError> {
    let report = engine
        .handle(job, stop_at)
        .await
        .map_err(RecordError::Job)?;
    match report.outcome {
        JobOutcome::Unfinished => Err(RecordError::OutOfTime),
        JobOutcome::Done | JobOutcome::Skipped(_) => Ok(report),
    }
}

/// The attribute SQS (and the event source) puts a FIFO message's group in.
pub use exsync_aws::event_source::MESSAGE_GROUP_ID;

/// Runs a batch until `deadline` (less [`STOP_MARGIN`]) — each message group's records in
/// order, the groups at the same time — and reports the records that must come back.
/// Records without a group attribute count as one group.
pub async fn handle_batch(
    engine: &SyncEngine,
    event: SqsEvent,
    deadline: Instant,
    requeue: Option<&Requeue>,
) -> SqsBatchResponse {
    let stop_at = deadline.checked_sub(STOP_MARGIN).unwrap_or(deadline);
    let mut groups: Vec<(String, Vec<SqsMessage>)> = Vec::new();
    for record in event.records {
        let group = record
            .attributes
            .get(MESSAGE_GROUP_ID)
            .cloned()
            .unwrap_or_default();
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, records)) => records.push(record),
            None => groups.push((group, vec![record])),
        }
    }
    let outcomes = futures_util::future::join_all(
        groups
            .into_iter()
            .map(|(_, records)| handle_group(engine, records, stop_at)),
    )
    .await;
    let mut failures: Vec<String> = Vec::new();
    let mut requeue_now: Vec<String> = Vec::new();
    for (message_id, receipt, error) in outcomes.into_iter().flatten() {
        let Some(e) = error else { continue };
        if e.requeue_now()
            && let Some(r) = receipt
        {
            requeue_now.push(r);
        }
        failures.push(message_id);
    }
    if let Some(requeue) = requeue
        && !requeue_now.is_empty()
    {
        requeue.now(&requeue_now).await;
    }
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures
        .into_iter()
        .map(|id| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id;
            f
        })
        .collect();
    response
}

/// One group's records, in order; after the first failure the rest are not started.
/// Returns each record's message id, receipt handle and error.
async fn handle_group(
    engine: &SyncEngine,
    records: Vec<SqsMessage>,
    stop_at: Instant,
) -> Vec<(String, Option<String>, Option<RecordError>)> {
    let mut out = Vec::with_capacity(records.len());
    let mut failed_already = false;
    for record in records {
        let message_id = record.message_id.clone().unwrap_or_default();
        let result = if failed_already {
            Err(RecordError::AfterFailure)
        } else if Instant::now() >= stop_at {
            Err(RecordError::OutOfTime)
        } else {
            handle_record(engine, &record, &message_id, stop_at).await
        };
        failed_already |= result.is_err();
        out.push((message_id, record.receipt_handle, result.err()));
    }
    out
}

async fn handle_record(
    engine: &SyncEngine,
    record: &SqsMessage,
    message_id: &str,
    stop_at: Instant,
) -> Result<(), RecordError> {
    let span = tracing::info_span!("poll_message", message_id = %message_id);
    async {
        let result = match parse_job(record.body.as_deref()) {
            Ok(job) => handle_job(engine, &job, stop_at).await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(error) = &result {
            // The body is not logged: it is ours, but a stray message could hold anything.
            tracing::warn!(error = %error_chain(error), "poll message not done");
        }
        result
    }
    .instrument(span)
    .await
}

/// An error and its causes on one line, for the log.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
