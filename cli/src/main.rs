//! `exsync`: the admin command line.
//!
//! - `exsync ews decode FILE`: any EWS or POX Autodiscover response as JSON.
//! - `exsync ews probe …`: what Test Connection does, step by step, with a diagnosis.
//! - `exsync ews sync …`: the changes in one folder of a mailbox.
//! - `exsync serve [--listen ADDR] [--init]`: the admin API on a local listener.
//!
//! Results go to stdout; logs (`RUST_LOG`, default `warn`) and errors go to stderr. The
//! service account's password is read only from the environment variable `--password-env`
//! names, and is never printed or logged.

mod connection;
mod decode;
mod probe;
mod serve;
mod sync;

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit code of a document or run the command could not handle.
const EXIT_FAILURE: u8 = 1;
/// Exit code of options that cannot be used (clap uses it for usage errors too).
const EXIT_USAGE: u8 = 2;

/// exsync's admin command line.
#[derive(Debug, Parser)]
#[command(name = "exsync", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Exchange Web Services tools.
    #[command(subcommand)]
    Ews(EwsCommand),
    /// Serve the admin API locally (callers named by the X-Exsync-Principal header, from
    /// loopback only), against the AWS endpoint in AWS_ENDPOINT_URL.
    Serve(serve::ServeArgs),
}

#[derive(Debug, Subcommand)]
enum EwsCommand {
    /// Print an EWS response or a POX Autodiscover response as JSON (exit 1 when it cannot
    /// be read).
    Decode {
        /// The document; `-` reads standard input.
        file: PathBuf,
    },
    /// Test a mailbox the way Test Connection does: Autodiscover, connection, TLS,
    /// authentication, impersonation, mailbox.
    #[command(after_help = probe::EXIT_CODES_HELP)]
    Probe(probe::ProbeArgs),
    /// List what changed in a folder (SyncFolderItems, then GetItem for new and changed
    /// items) and print the sync state to continue from.
    #[command(after_help = SYNC_EXIT_CODES_HELP)]
    Sync(sync::SyncArgs),
}

const SYNC_EXIT_CODES_HELP: &str = "\
Exit codes: 0 done; 2 options cannot be used; 10-15 the failing step, as for `exsync ews probe`.";

fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Ews(EwsCommand::Decode { file }) => run_decode(&file),
        Command::Ews(EwsCommand::Probe(args)) => run_async(async move {
            match probe::run(&args).await {
                Ok(report) => {
                    let text = if args.json {
                        probe::to_json(&report)
                    } else {
                        probe::to_text(&report)
                    };
                    print_stdout(&text);
                    report.exit_code
                }
                Err(e) => usage_error(&e),
            }
        }),
        Command::Ews(EwsCommand::Sync(args)) => run_async(async move {
            match sync::run(&args).await {
                Ok(report) => {
                    let text = if args.json {
                        sync::to_json(&report)
                    } else {
                        sync::to_text(&report)
                    };
                    print_stdout(&text);
                    0
                }
                Err(sync::SyncFailure::Usage(e)) => usage_error(&e),
                Err(sync::SyncFailure::Exchange(finding)) => {
                    eprintln!(
                        "exsync: sync of {} failed at the {} step: {}",
                        args.account.email,
                        finding.step.key(),
                        finding.problem
                    );
                    eprintln!("exsync: check: {}", finding.advice);
                    finding.step.exit_code()
                }
            }
        }),
        Command::Serve(args) => run_async(async move {
            match serve::run(&args).await {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("exsync serve: {}", one_line(&format!("{e:#}")));
                    EXIT_FAILURE
                }
            }
        }),
    };
    ExitCode::from(code)
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// Runs a network command on a runtime of its own (decode needs none).
fn run_async(work: impl Future<Output = u8>) -> u8 {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(work),
        Err(e) => {
            eprintln!("exsync: cannot start the async runtime: {e}");
            EXIT_FAILURE
        }
    }
}

fn usage_error(error: &anyhow::Error) -> u8 {
    eprintln!("exsync: {}", one_line(&format!("{error:#}")));
    EXIT_USAGE
}

/// `exsync ews decode`: JSON on stdout and exit 0, or one line on stderr and exit 1.
fn run_decode(path: &std::path::Path) -> u8 {
    let name = if path == std::path::Path::new("-") {
        "<stdin>".to_owned()
    } else {
        path.display().to_string()
    };
    let decoded = decode::read_document(path).and_then(|bytes| decode::decode(&bytes));
    match decoded {
        Ok(value) => {
            let text = serde_json::to_string_pretty(&value).unwrap_or_default();
            print_stdout(&format!("{text}\n"));
            0
        }
        Err(e) => {
            eprintln!("exsync: {}: {}", one_line(&name), one_line(&e.to_string()));
            EXIT_FAILURE
        }
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not worth a panic.
fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Control characters (newlines in a parser's message, escape sequences in a file name)
/// would break the one-line promise of error messages; they become spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn error_text_is_kept_on_one_line() {
        assert_eq!(one_line("a\nb\r\u{1b}[31mc"), "a b  [31mc");
    }
}
