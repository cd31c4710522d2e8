//! `exsync serve`: the admin API on a local listener, against the AWS endpoint the SDK's
//! standard `AWS_ENDPOINT_URL` names (the local moto server in development), with an
//! in-process poller of the admin-jobs queue that runs each batch through the jobs-worker
//! Lambda's own handler, so Test & Enable jobs complete locally. With `--scheduler-every`
//! it also runs the scheduler function's tick in-process, and with `--sync-worker` a poller
//! of the poll-jobs queue that runs each batch through the sync-worker Lambda's handler:
//! both together are the whole product on one machine (`make demo`).
//!
//! The caller's identity is the `X-Exsync-Principal` header, trusted only from loopback
//! peers; `EXSYNC_BOOTSTRAP_ADMIN` names the first administrator.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use exsync_api::{ApiConfig, IdentitySource};
use exsync_aws::config::{AwsConfig, load_sdk_config};
use exsync_aws::init::{InitOptions, ensure_embedded_resources, ensure_resources};
use exsync_domain::exchange::ExchangeEnvironment;
use exsync_domain::ports::SystemClock;
use exsync_domain::service::{Admin, AdminOptions};
use exsync_domain::sync::engine::{EngineOptions, SyncEngine};
use exsync_domain::sync::scheduler::SchedulerOptions;
use exsync_ews::transport::ConnectOverrides;
use exsync_fn_jobs_worker::poll::LocalPoller;
use exsync_fn_sync_worker::poll::LocalPoller as SyncPoller;
use exsync_fn_sync_worker::sync_ports;

/// `exsync serve` options.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Where to listen. Callers are identified by the X-Exsync-Principal header, which is
    /// trusted only from loopback peers.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// First create the table, queues and key of the template that are missing on the
    /// endpoint (their names are then taken from what was created).
    #[arg(long)]
    pub init: bool,
    /// The template `--init` reads (default: the repository's template.yaml, compiled into
    /// this binary; either way the one definition of exsync's resources).
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// The stack name `--init` gives the template's resources (their names derive from
    /// it); `EXSYNC_TABLE` still overrides the table's name.
    #[arg(long, value_name = "NAME", default_value = InitOptions::LOCAL_STACK)]
    pub stack: String,
    /// Extra CA certificate(s) to trust for every profile's Exchange, PEM (an on-premises
    /// CA, or the simulator's).
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Connect to ADDR for HOST:PORT instead of asking DNS, like curl's --resolve; ADDR may
    /// carry its own port (HOST:PORT:IP:PORT). Repeatable.
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,
    /// Also run the scheduler's tick every SECONDS in this process (the scheduler
    /// function's own handler), enqueueing the mailboxes due each minute on the poll queue.
    /// Off unless given; a period under 60 seconds only repeats a minute's tick, which the
    /// queue deduplicates.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub scheduler_every: Option<u64>,
    /// Also run the sync worker in this process: receive batches from the poll-jobs queue
    /// and hand each to the sync-worker function's own handler, with the function's
    /// timeout, against the same Exchange environment (--ca-file, --resolve).
    #[arg(long)]
    pub sync_worker: bool,
}

/// Runs the server until Ctrl-C.
pub async fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let aws = if args.init {
        let sdk = load_sdk_config().await?;
        let mut options = InitOptions::local_from_env();
        options.stack_name = args.stack.clone();
        let provisioned = match &args.template {
            Some(path) => ensure_resources(&sdk, path, &options)
                .await
                .with_context(|| format!("--init from {}", path.display()))?,
            None => ensure_embedded_resources(&sdk, &options)
                .await
                .context("--init from the built-in template.yaml")?,
        };
        let names = provisioned.names()?;
        if !provisioned.created.is_empty() {
            println!("exsync serve: created {}", provisioned.created.join(", "));
        }
        AwsConfig { sdk, names }
    } else {
        AwsConfig::from_env().await?
    };
    let mut exchange = ExchangeEnvironment::default();
    if let Some(path) = &args.ca_file {
        let pem = std::fs::read(path)
            .with_context(|| format!("cannot read --ca-file {}", path.display()))?;
        exchange.extra_ca_pem = Some(pem);
    }
    let mut overrides = ConnectOverrides::new();
    for spec in &args.resolve {
        overrides
            .insert_spec(spec)
            .with_context(|| format!("--resolve {spec}"))?;
    }
    exchange.connect_overrides = overrides;

    let ports = aws.adapters().ports(Arc::new(SystemClock));
    let syncing = args.sync_worker.then(|| {
        let engine = SyncEngine::new(
            sync_ports(aws.adapters(), Arc::new(SystemClock)),
            exchange.clone(),
            EngineOptions::default(),
        );
        let poller = SyncPoller::new(
            aws_sdk_sqs::Client::new(&aws.sdk),
            aws.names.poll_queue_url.clone(),
            exsync_fn_sync_worker::FUNCTION_TIMEOUT,
        );
        println!("exsync serve: sync worker polling the poll-jobs queue");
        tokio::spawn(async move { poller.run(&engine).await })
    });
    let bootstrap_admin = exsync_api::bootstrap_admin_from_env();
    let admin = Admin::new(
        ports,
        exchange,
        AdminOptions {
            bootstrap_admin: bootstrap_admin.clone(),
            ..AdminOptions::default()
        },
    );
    if let Some(principal) = &bootstrap_admin {
        exsync_api::bootstrap(&admin, principal)
            .await
            .context("assigning the bootstrap administrator")?;
    }

    let poller = LocalPoller::new(
        admin.clone(),
        aws_sdk_sqs::Client::new(&aws.sdk),
        aws.names.jobs_queue_url.clone(),
    );
    let polling = tokio::spawn(async move { poller.run().await });
    let scheduling = args.scheduler_every.map(|seconds| {
        let scheduler = aws.adapters().scheduler(SchedulerOptions::default());
        println!("exsync serve: scheduler tick every {seconds} s");
        tokio::spawn(exsync_fn_scheduler::run_every(
            scheduler,
            std::time::Duration::from_secs(seconds),
        ))
    });

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "listening beyond loopback: callers from other hosts are refused (401)");
    }
    println!(
        "exsync serve: listening on http://{addr} (table {})",
        aws.names.table
    );
    let router = exsync_api::router(ApiConfig::new(admin, IdentitySource::LocalHeader));
    let served = exsync_api::local::serve(listener, router, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    polling.abort();
    for task in [scheduling, syncing].into_iter().flatten() {
        task.abort();
    }
    served.context("the listener failed")
}
