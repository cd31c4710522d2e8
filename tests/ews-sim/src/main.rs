//! `ews-sim`: the Exchange simulator as a process, for the exchangelib interop suite and the
//! demo.
//!
//! It starts from a JSON configuration (see `tests/ews-sim/example-config.json`), prints
//! where it can be reached as `key=value` lines on stdout (stable keys, for scripts), then
//! `ready=1`, and serves until SIGINT or SIGTERM. Logs go to stderr (`RUST_LOG` filters
//! them); they never contain passwords, NTLM tokens or message bodies.

use anyhow::{Context, Result};
use clap::Parser;
use exsync_ews_sim::{SimConfig, SimOptions, Simulator};
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;

/// An Exchange Server simulator: HTTPS, NTLM and Basic, EWS held to Microsoft's schema, POX
/// Autodiscover, throttling and fault injection.
#[derive(Debug, Parser)]
#[command(name = "ews-sim", version)]
struct Args {
    /// JSON configuration: domains, accounts, mailboxes, impersonation grants, seed messages.
    #[arg(long)]
    config: PathBuf,
    /// HTTPS listen address (port 0: a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Plain-HTTP listen address of the Autodiscover redirect probe (port 0: a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    http_listen: SocketAddr,
    /// Where to write the generated CA certificate (PEM); a temporary file when absent.
    #[arg(long)]
    ca_out: Option<PathBuf>,
    /// Host name used in the URLs the simulator hands out.
    #[arg(long, default_value = "localhost")]
    public_host: String,
    /// An extra name for the server certificate (repeatable).
    #[arg(long = "san")]
    extra_names: Vec<String>,
    /// Directory holding Microsoft's EWS schema (default: $EXSYNC_EWS_SCHEMA_DIR, else
    /// ../shared/ews-schema beside the repository).
    #[arg(long)]
    schema_dir: Option<PathBuf>,
    /// Seed for probabilistic faults.
    #[arg(long)]
    fault_seed: Option<u64>,
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let args = Args::parse();
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("cannot read {}", args.config.display()))?;
    let config = SimConfig::from_json(&text)
        .with_context(|| format!("invalid configuration in {}", args.config.display()))?;
    let defaults = SimOptions::default();
    let options = SimOptions {
        listen: args.listen,
        http_listen: args.http_listen,
        public_host: args.public_host,
        extra_names: args.extra_names,
        ca_out: args.ca_out,
        schema_dir: args.schema_dir.unwrap_or(defaults.schema_dir.clone()),
        fault_seed: args.fault_seed,
        ..defaults
    };
    let sim = Simulator::start(config, options).context("cannot start the simulator")?;

    // The signals are watched before `ready=1` is printed: a script that stops the simulator
    // right after reading it would otherwise meet the default action (death without the CA
    // clean-up and a failed exit status).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the signal runtime")?;
    let signals = {
        let _context = runtime.enter();
        Signals::watch()?
    };

    let https = sim.https_addr();
    let mut out = std::io::stdout().lock();
    writeln!(out, "ews_url={}", sim.ews_url())?;
    writeln!(out, "autodiscover_url={}", sim.autodiscover_url())?;
    writeln!(out, "http_probe={}", sim.http_probe_addr())?;
    writeln!(out, "http_probe_url={}", sim.http_probe_url())?;
    writeln!(out, "https_addr={https}")?;
    writeln!(out, "control_url=https://{https}/sim/")?;
    writeln!(out, "ca_path={}", sim.ca_pem_path().display())?;
    writeln!(out, "ready=1")?;
    out.flush()?;
    drop(out);

    runtime.block_on(signals.wait());
    tracing::info!("stopping");
    sim.shutdown();
    Ok(())
}

/// SIGINT and SIGTERM, watched from creation on.
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    /// Starts watching; needs a Tokio runtime context.
    fn watch() -> Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt()).context("cannot watch SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("cannot watch SIGTERM")?,
        })
    }

    /// Returns on the first SIGINT or SIGTERM.
    async fn wait(mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}
