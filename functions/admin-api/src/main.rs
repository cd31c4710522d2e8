//! The admin-api Lambda: the admin API's router behind API Gateway, through `lambda_http`.
//! Configuration is read and the adapters, the domain services and the router are built
//! once per cold start; the caller comes from the request context (IAM or JWT, as
//! `EXSYNC_IDENTITY` says), never from a header.

use std::sync::Arc;
use std::time::Duration;

use exsync_api::{ApiConfig, IdentitySource};
use exsync_aws::config::AwsConfig;
use exsync_domain::exchange::ExchangeEnvironment;
use exsync_domain::ports::SystemClock;
use exsync_domain::service::{Admin, AdminOptions};
use lambda_http::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let identity = IdentitySource::from_env()?;
    let aws = AwsConfig::from_env().await?;
    let ports = aws.adapters().ports(Arc::new(SystemClock));
    let bootstrap_admin = exsync_api::bootstrap_admin_from_env();
    let options = AdminOptions {
        bootstrap_admin: bootstrap_admin.clone(),
        ..AdminOptions::default()
    };
    // Test Connection and inline Test & Enable run inside the request, and API Gateway
    // answers 504 after 29 s (the function's timeout in template.yaml): keep every Exchange
    // interaction well inside that, so the admin gets the diagnosis, not a gateway timeout.
    let exchange = ExchangeEnvironment {
        budget: Duration::from_secs(25),
        ..ExchangeEnvironment::default()
    };
    let admin = Admin::new(ports, exchange, options);
    if let Some(principal) = &bootstrap_admin {
        // Not fatal: the bootstrap administrator holds every privilege through the options
        // anyway; the next cold start tries again.
        if let Err(error) = exsync_api::bootstrap(&admin, principal).await {
            tracing::warn!(%error, "bootstrap administrator not assigned");
        }
    }
    let router = exsync_api::router(ApiConfig::new(admin, identity));
    lambda_http::run(router).await
}
