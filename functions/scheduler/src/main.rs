//! The scheduler Lambda: an EventBridge Scheduler tick (every minute by default) in, the
//! tick's counts out. The adapters and the scheduler are built once per cold start; each
//! event goes to [`exsync_fn_scheduler::handle_tick`], and its counts are printed as one
//! embedded-metric-format line.

use exsync_aws::config::AwsConfig;
use exsync_domain::sync::scheduler::SchedulerOptions;
use exsync_fn_scheduler::{handle_tick, metrics_line, tick_time};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let aws = AwsConfig::from_env().await?;
    let scheduler = aws.adapters().scheduler(SchedulerOptions::default());
    let scheduler = &scheduler;
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<serde_json::Value>| async move {
            let now = time::OffsetDateTime::now_utc();
            let at = tick_time(&event.payload, now);
            let outcome = handle_tick(scheduler, &event.payload, now).await;
            let report = match &outcome {
                Ok(r) => Some(r),
                Err(e) => e.report(),
            };
            if let Some(r) = report {
                println!("{}", metrics_line(r, at));
            }
            Ok::<_, Error>(outcome?)
        },
    ))
    .await
}
