//! `exsync-demo`: the walkthrough `make demo` runs against an exsync that is already up
//! (`exsync serve --init --scheduler-every N --sync-worker`, the admin API on loopback) and
//! the Exchange simulator (`ews-sim --config tests/ews-sim/demo-config.json`).
//!
//! It runs the set-up and the eight steps in order, stops at the first step that did not do
//! what it should, prints a report either way, and exits with the failing step's number
//! (1 to 8; 9 for the set-up, 10 when the report itself cannot be read) or 0.

mod cast;
mod http;
mod walk;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;

use crate::cast::Cast;
use crate::http::Endpoint;
use crate::walk::{STEPS, Walk};

/// Exit code when the set-up (step 0) fails.
const EXIT_SETUP: u8 = 9;
/// Exit code when every step passed but the report could not be read.
const EXIT_REPORT: u8 = 10;

#[derive(Debug, Parser)]
#[command(about = "Walk exsync through the seed's eight steps against the Exchange simulator")]
struct Args {
    /// exsync's admin API (what `exsync serve` printed).
    #[arg(long, value_name = "URL")]
    api: String,
    /// The simulator's control API (its `control_url=` line).
    #[arg(long, value_name = "URL")]
    sim_control: String,
    /// The simulator's CA certificate (its `ca_path=` line).
    #[arg(long, value_name = "PEM")]
    sim_ca: PathBuf,
    /// The simulator's configuration: the organisation, its mailboxes and the service
    /// account.
    #[arg(long, value_name = "FILE")]
    sim_config: PathBuf,
    /// A shared (queue) mailbox of the configuration. Repeatable.
    #[arg(
        long = "queue",
        value_name = "SMTP",
        default_value = "support@contoso.test"
    )]
    queues: Vec<String>,
    /// The administrator the demo acts as (`EXSYNC_BOOTSTRAP_ADMIN` of `exsync serve`); also
    /// the profile's owner.
    #[arg(long, value_name = "PRINCIPAL", default_value = "admin@contoso.test")]
    admin: String,
    /// How long a step waits for the sync to show its effect. Step 7 may need three
    /// minutes and a scheduler tick: a scheduled poll runs appointments, contacts and tasks
    /// on every third one-minute slot (`ACT_SLOT_STRIDE`), and its two sides' changes can
    /// fall either side of one.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    wait: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match prepare(&args) {
        Ok(walk) => walk_through(walk).await,
        Err(e) => {
            eprintln!("demo: {e:#}");
            ExitCode::from(EXIT_SETUP)
        }
    }
}

fn prepare(args: &Args) -> anyhow::Result<Walk> {
    let cast = Cast::load(&args.sim_config, &args.queues)?;
    let ca = std::fs::read(&args.sim_ca)
        .with_context(|| format!("cannot read {}", args.sim_ca.display()))?;
    let api = Endpoint::admin_api(&args.api, &args.admin)?;
    let sim = Endpoint::simulator(&args.sim_control, &ca)?;
    Ok(Walk::new(
        api,
        sim,
        cast,
        &args.admin,
        Duration::from_secs(args.wait),
    ))
}

async fn walk_through(mut walk: Walk) -> ExitCode {
    let bold = std::env::var_os("NO_COLOR").is_none() && is_terminal();
    let (on, off) = if bold {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("", "")
    };
    let mut failed = None;
    for step in STEPS {
        let label = if step.number == 0 {
            "Set-up".to_owned()
        } else {
            format!("Step {} of 8", step.number)
        };
        println!("\n{on}== {label}: {} =={off}\n", step.title);
        let started = std::time::Instant::now();
        match Box::pin(walk.run(step.number)).await {
            Ok(()) => println!("\n  -> passed ({:.1} s)", started.elapsed().as_secs_f64()),
            Err(e) => {
                println!("\n  -> FAILED: {e:#}");
                failed = Some(step);
                break;
            }
        }
    }
    println!("\n{on}== Report =={off}\n");
    let report = walk.report().await;
    if let Err(e) = &report {
        println!("  the report could not be read: {e:#}");
    }
    println!();
    match failed {
        Some(step) if step.number == 0 => {
            println!("Demo FAILED in the set-up: {}", step.title);
            ExitCode::from(EXIT_SETUP)
        }
        Some(step) => {
            println!("Demo FAILED at step {} of 8: {}", step.number, step.title);
            ExitCode::from(step.number)
        }
        None if report.is_err() => ExitCode::from(EXIT_REPORT),
        None => {
            println!(
                "Demo passed: all 8 steps did what they should (admin API {})",
                walk.api_base()
            );
            ExitCode::SUCCESS
        }
    }
}

fn is_terminal() -> bool {
    use std::io::IsTerminal as _;
    std::io::stdout().is_terminal()
}
