//! The admin-jobs queue.

use crate::common::stack;
use exsync_aws::sqs::JobMessage;
use exsync_domain::ids::JobId;
use exsync_domain::ports::JobQueue;

#[tokio::test]
async fn an_enqueued_job_arrives_as_its_id() {
    let s = stack().await;
    let id = JobId::new();
    s.jobs.enqueue_job(&id).await.unwrap();
    let client = aws_sdk_sqs::Client::new(&s.sdk);
    let out = client
        .receive_message()
        .queue_url(&s.names.jobs_queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let messages = out.messages.unwrap_or_default();
    assert_eq!(messages.len(), 1);
    let body: JobMessage = serde_json::from_str(messages[0].body().unwrap()).unwrap();
    assert_eq!(body.job_id, id);
    let raw: serde_json::Value = serde_json::from_str(messages[0].body().unwrap()).unwrap();
    assert_eq!(raw, serde_json::json!({"job_id": id.as_str()}));
}
