//! The jobs-worker Lambda: admin-job messages from the admin-jobs SQS queue (Test & Enable
//! of many mailboxes, or of every mailbox of a profile), reported back as partial batch
//! failures. Everything is built once per cold start; each event goes to
//! [`exsync_fn_jobs_worker::handle_batch`].

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use exsync_aws::config::AwsConfig;
use exsync_domain::exchange::ExchangeEnvironment;
use exsync_domain::ports::SystemClock;
use exsync_domain::service::{Admin, AdminOptions};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let aws = AwsConfig::from_env().await?;
    let ports = aws.adapters().ports(Arc::new(SystemClock));
    let admin = Admin::new(
        ports,
        ExchangeEnvironment::default(),
        AdminOptions::default(),
    );
    let admin = &admin;
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| async move {
        // Boxed: a job's future (every Exchange check of every mailbox) is deep, and the
        // runtime's own futures wrap it again.
        let handled = Box::pin(exsync_fn_jobs_worker::handle_batch(admin, event.payload));
        Ok::<SqsBatchResponse, Error>(handled.await)
    }))
    .await
}
