//! The admin-api Lambda: the admin API's router behind API Gateway, through `lambda_http`.
//! Configuration is read and the adapters, the domain services and the router are built
//! once per cold start; the caller comes from the request context (IAM or JWT, as
//! `EXSYNC_IDENTITY` says), never from a header.

use std::sync::Arc;

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
    let admin = Admin::new(ports, ExchangeEnvironment::default(), options);
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
