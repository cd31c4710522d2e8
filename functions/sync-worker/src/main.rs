//! The sync-worker Lambda: poll jobs from the FIFO poll-jobs queue (SQS event source with
//! partial batch failures), each run by the domain's sync engine. Everything is built once
//! per cold start — the engine keeps profiles, settings and connection pools warm between
//! invocations; each event goes to [`exsync_fn_sync_worker::handle_batch`] with the
//! invocation's own deadline.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use exsync_aws::config::AwsConfig;
use exsync_domain::exchange::ExchangeEnvironment;
use exsync_domain::ports::SystemClock;
use exsync_domain::sync::engine::{EngineOptions, SyncEngine};
use exsync_fn_sync_worker::{Requeue, handle_batch, sync_ports};
use lambda_runtime::{Error, LambdaEvent, service_fn};

/// The invocation's deadline (milliseconds since the epoch) as an instant.
fn deadline_of(deadline_ms: u64) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let aws = AwsConfig::from_env().await?;
    let requeue = Requeue::new(
        aws_sdk_sqs::Client::new(&aws.sdk),
        aws.names.poll_queue_url.clone(),
    );
    let engine = SyncEngine::new(
        sync_ports(aws.adapters(), Arc::new(SystemClock)),
        ExchangeEnvironment::default(),
        EngineOptions::default(),
    );
    let (engine, requeue) = (&engine, &requeue);
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| async move {
        let deadline = deadline_of(event.context.deadline);
        // Boxed: a job's future (every EWS call of every page) is deep.
        let handled = Box::pin(handle_batch(engine, event.payload, deadline, Some(requeue)));
        Ok::<SqsBatchResponse, Error>(handled.await)
    }))
    .await
}
