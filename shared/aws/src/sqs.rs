//! [`JobQueue`] on SQS: the admin-jobs queue the jobs worker consumes.

use crate::error::AwsError;
use async_trait::async_trait;
use aws_sdk_sqs::Client;
use exsync_domain::DomainError;
use exsync_domain::ids::JobId;
use exsync_domain::ports::JobQueue;
use serde::{Deserialize, Serialize};

/// The body of an admin-job message. The job itself lives in the table; the message only
/// names it, so a redelivered message re-reads the job's current progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobMessage {
    /// The job to run.
    pub job_id: JobId,
}

/// Sends jobs to one standard SQS queue.
#[derive(Debug, Clone)]
pub struct SqsJobQueue {
    client: Client,
    queue_url: String,
}

impl SqsJobQueue {
    /// A queue at `queue_url` through `client`.
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

    /// A queue with a client built from the SDK configuration.
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig, queue_url: impl Into<String>) -> Self {
        Self::new(Client::new(sdk), queue_url)
    }

    /// The queue URL.
    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }
}

#[async_trait]
impl JobQueue for SqsJobQueue {
    #[tracing::instrument(skip(self), fields(queue_url = %self.queue_url, job_id = %job))]
    async fn enqueue_job(&self, job: &JobId) -> Result<(), DomainError> {
        let body = serde_json::to_string(&JobMessage {
            job_id: job.clone(),
        })
        .map_err(AwsError::Message)?;
        let out = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| DomainError::Queue(Box::new(aws_sdk_sqs::Error::from(e))))?;
        tracing::debug!(
            message_id = out.message_id.as_deref().unwrap_or(""),
            "job enqueued"
        );
        Ok(())
    }
}
