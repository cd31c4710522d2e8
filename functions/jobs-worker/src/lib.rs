//! The jobs worker's handler: one SQS batch of admin-job messages in, the ids of the
//! messages that failed out (partial batch failures), so SQS redelivers only those.
//!
//! Each message body names a job (`{"job_id": "..."}`, [`exsync_aws::sqs::JobMessage`]);
//! the job itself, and its progress, live in the table. The domain's
//! [`Admin::run_job`] runs it and is idempotent (a redelivered message resumes the job), so
//! a failed message is simply retried; a body that is not a job message fails only its own
//! record, and ends in the dead-letter queue after the queue's receive limit.
//!
//! The admin-jobs Lambda calls [`handle_batch`] for each event; `exsync serve` calls the
//! same function for each batch its local poller receives.

#![warn(missing_docs)]

pub mod poll;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use exsync_aws::sqs::JobMessage;
use exsync_domain::DomainError;
use exsync_domain::error::error_chain;
use exsync_domain::job::Job;
use exsync_domain::service::Admin;
use tracing::Instrument as _;

/// Why one message was not done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobMessageError {
    /// The record has no body.
    #[error("the message has no body")]
    NoBody,
    /// The body is not `{"job_id": "..."}`.
    #[error("the message body is not a job message")]
    BadBody(#[source] serde_json::Error),
    /// Running the job failed (a storage failure, or the job does not exist).
    #[error("the job failed")]
    Job(#[source] DomainError),
}

/// Runs the job one message body names.
pub async fn handle_message(admin: &Admin, body: Option<&str>) -> Result<Job, JobMessageError> {
    let body = body.ok_or(JobMessageError::NoBody)?;
    let message: JobMessage = serde_json::from_str(body).map_err(JobMessageError::BadBody)?;
    admin
        .run_job(&message.job_id)
        .await
        .map_err(JobMessageError::Job)
}

/// Runs every record's job, one after the other (a job is already many Exchange calls; a
/// batch rarely holds more than one), and reports the records that failed.
pub async fn handle_batch(admin: &Admin, event: SqsEvent) -> SqsBatchResponse {
    let mut failures = Vec::new();
    for record in event.records {
        if let Err(id) = handle_record(admin, record).await {
            failures.push(id);
        }
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

/// Handles one record; `Err` carries the message id to report as failed.
async fn handle_record(admin: &Admin, record: SqsMessage) -> Result<(), String> {
    let message_id = record.message_id.clone().unwrap_or_default();
    let span = tracing::info_span!("job_message", message_id = %message_id);
    async {
        match handle_message(admin, record.body.as_deref()).await {
            Ok(job) => {
                tracing::info!(
                    job_id = %job.id,
                    state = ?job.state,
                    total = job.total,
                    done = job.done,
                    succeeded = job.succeeded,
                    failed = job.failed,
                    "job message handled"
                );
                Ok(())
            }
            Err(error) => {
                // The body is not logged: it is ours, but a stray message could hold anything.
                tracing::warn!(error = %error_chain(&error), "job message failed");
                Err(message_id.clone())
            }
        }
    }
    .instrument(span)
    .await
}
