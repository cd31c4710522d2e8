//! What the CLI's end-to-end tests share: the example simulator configuration, a simulator
//! started from it, and running the real `exsync` binary.

#![allow(dead_code)] // each test file uses a different part

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use exsync_ews_sim::{SimConfig, SimHandle, SimOptions, Simulator};

/// The service account of the example configuration (holds ApplicationImpersonation).
pub const SERVICE_ACCOUNT: &str = "svc-exsync";
/// The mailbox the demo shows.
pub const MAILBOX: &str = "alice@contoso.test";
/// The variable the tests hand the password in.
pub const PASSWORD_VAR: &str = "EXSYNC_TEST_PASSWORD";

/// `tests/ews-sim/example-config.json`, the configuration `make demo` runs.
pub fn example_config() -> SimConfig {
    let path = repo_root().join("tests/ews-sim/example-config.json");
    let text = std::fs::read_to_string(&path).unwrap();
    SimConfig::from_json(&text).unwrap()
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A file under `shared/ews/tests/fixtures`.
pub fn fixture(name: &str) -> PathBuf {
    repo_root().join("shared/ews/tests/fixtures").join(name)
}

/// A simulator running the example configuration.
pub fn start_sim() -> SimHandle {
    Simulator::start(example_config(), SimOptions::default()).unwrap()
}

/// An account's password, as the configuration holds it.
pub fn password(user: &str) -> String {
    example_config()
        .accounts
        .iter()
        .find(|a| a.user == user)
        .map(|a| a.password.clone())
        .unwrap()
}

/// `CONTOSO\user`.
pub fn logon(user: &str) -> String {
    format!("{}\\{user}", example_config().netbios_domain)
}

/// The subjects seeded into a mailbox's Inbox.
pub fn seeded_subjects(smtp: &str) -> Vec<String> {
    example_config()
        .mailboxes
        .iter()
        .find(|m| m.smtp == smtp)
        .map(|m| m.seed_messages.iter().map(|s| s.subject.clone()).collect())
        .unwrap()
}

/// What a run of `exsync` left behind.
#[derive(Debug)]
pub struct Run {
    /// The exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Standard output as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// The lines written to standard error.
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// The `exsync` binary with a clean logging environment (default filter) and no password
/// variable inherited from the test process.
pub fn exsync() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_exsync"));
    cmd.env_remove("RUST_LOG").env_remove(PASSWORD_VAR);
    cmd
}

/// Runs `exsync` with `args`, the password in [`PASSWORD_VAR`].
pub fn run_with_password(args: &[&str], password: &str) -> Run {
    exsync()
        .args(args)
        .env(PASSWORD_VAR, password)
        .output()
        .unwrap()
        .into()
}

/// Runs `exsync` with `args` and no password variable.
pub fn run(args: &[&str]) -> Run {
    exsync().args(args).output().unwrap().into()
}

/// A loopback port nothing listens on: connections to it are refused at once.
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The options every probe and sync of `mailbox` as `user` over `auth` shares, trusting
/// the simulator's CA.
pub fn account_args(sim: &SimHandle, mailbox: &str, user: &str, auth: &str) -> Vec<String> {
    vec![
        "--email".into(),
        mailbox.into(),
        "--user".into(),
        logon(user),
        "--password-env".into(),
        PASSWORD_VAR.into(),
        "--auth".into(),
        auth.into(),
        "--ca-file".into(),
        sim.ca_pem_path().display().to_string(),
    ]
}
