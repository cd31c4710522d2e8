//! `exsync ews probe`: what Test Connection does, one step at a time, with a diagnosis an
//! Exchange administrator can act on.
//!
//! Steps: Autodiscover (when asked), then one impersonated
//! [GetFolder](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getfolder-operation)
//! of the mailbox's Inbox. That single call proves connection, TLS, authentication,
//! impersonation and the mailbox at once; when it fails, the error's variant says which of
//! them broke (see [`exsync_domain::diagnosis`], the mapping Test Connection shares), and every step before it is known to have passed.

use std::fmt::Write as _;

use clap::Args;
use exsync_ews::autodiscover::{
    Attempt, HickorySrvResolver, Outcome, SrvLookupError, SrvRecord, SrvResolver, discover,
};
use exsync_ews::client::EwsClient;
use exsync_ews::envelope::ServerVersionInfo;
use exsync_ews::operations::GetFolder;
use exsync_ews::transport::{AuthScheme, HttpTransport};
use exsync_ews::types::{BaseShape, DistinguishedFolderName, Folder, FolderShape};
use exsync_ews::{EwsError, ResponseCode};
use serde::Serialize;
use serde_json::json;

use crate::connection::{ServiceAccountArgs, host, host_port};
use exsync_domain::diagnosis::{Finding, Step, diagnose_call, diagnose_discovery};

/// Exit codes of `probe`, for `--help`. A test checks it against [`Step::exit_code`].
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0   every step passed
  2   the options cannot be used (password variable unset, unreadable --ca-file, bad --resolve)
  10  Autodiscover found no EWS URL
  11  connection: the host does not resolve or cannot be reached
  12  TLS: the certificate is not trusted or not valid for the host
  13  authentication: EWS refused the service account (401, 403, 404, not EWS…)
  14  impersonation: the service account may not act as the mailbox
  15  mailbox: no such mailbox, or its Inbox cannot be read";

/// `exsync ews probe`.
#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("endpoint").required(true).args(["ews_url", "autodiscover"])))]
pub struct ProbeArgs {
    /// The mailbox, the service account and how to reach the server.
    #[command(flatten)]
    pub account: ServiceAccountArgs,
    /// The EWS endpoint, https://HOST/EWS/Exchange.asmx.
    #[arg(long, value_name = "URL")]
    pub ews_url: Option<String>,
    /// Find the EWS endpoint with POX Autodiscover from the address's domain.
    #[arg(long)]
    pub autodiscover: bool,
    /// Print the diagnosis as JSON.
    #[arg(long)]
    pub json: bool,
}

/// How one step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// It worked.
    Passed,
    /// It failed; the diagnosis says why.
    Failed,
    /// Not needed (Autodiscover when `--ews-url` is given).
    Skipped,
    /// An earlier step failed.
    NotRun,
}

/// One line of the diagnosis.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// Which step.
    pub step: Step,
    /// How it ended.
    pub status: Status,
    /// What was found (passed) or what went wrong (failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// What to check, for a failed step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
    /// Whether trying again later may succeed unchanged, for a failed step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transient: Option<bool>,
    /// The server's requested wait, for a failed step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// The EWS response code, for a failed step that had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_code: Option<String>,
}

/// The Inbox as the mailbox step read it.
#[derive(Debug, Clone, Serialize)]
pub struct InboxSummary {
    /// The folder's display name.
    pub display_name: Option<String>,
    /// Items in it.
    pub total_count: Option<u32>,
    /// Unread items in it.
    pub unread_count: Option<u32>,
}

/// The whole diagnosis.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    /// True when every step passed.
    pub ok: bool,
    /// The mailbox tested.
    pub email: String,
    /// The service account.
    pub user: String,
    /// The scheme used.
    pub auth: AuthScheme,
    /// The EWS URL tested (given, or found by Autodiscover).
    pub ews_url: Option<String>,
    /// Every step, in order.
    pub steps: Vec<StepReport>,
    /// Every Autodiscover attempt, in order (empty without `--autodiscover`).
    pub autodiscover_attempts: Vec<Attempt>,
    /// The failing step.
    pub failed_step: Option<Step>,
    /// The process exit code.
    pub exit_code: u8,
    /// The server's version, from the GetFolder answer.
    pub server_version: Option<ServerVersionInfo>,
    /// The Inbox, when it was read.
    pub inbox: Option<InboxSummary>,
}

impl ProbeReport {
    fn new(args: &ProbeArgs) -> Self {
        ProbeReport {
            ok: false,
            email: args.account.email.clone(),
            user: args.account.user.clone(),
            auth: args.account.auth.into(),
            ews_url: args.ews_url.clone(),
            steps: Vec::new(),
            autodiscover_attempts: Vec::new(),
            failed_step: None,
            exit_code: 0,
            server_version: None,
            inbox: None,
        }
    }

    fn record(&mut self, step: Step, status: Status, detail: Option<String>) {
        self.steps.push(StepReport {
            step,
            status,
            detail,
            advice: None,
            transient: None,
            retry_after_ms: None,
            response_code: None,
        });
    }

    /// Records `finding`: the steps before it that have no line yet passed (the failure
    /// proves they did), except `unchecked`; the ones after it did not run.
    fn fail(&mut self, finding: Finding, unchecked: Option<Step>) {
        for step in Step::ALL {
            if self.steps.iter().any(|s| s.step == step) {
                continue;
            }
            if step == finding.step {
                self.steps.push(StepReport {
                    step,
                    status: Status::Failed,
                    detail: Some(finding.problem.clone()),
                    advice: Some(finding.advice.clone()),
                    transient: Some(finding.transient),
                    retry_after_ms: finding.retry_after_ms,
                    response_code: finding.response_code.clone(),
                });
            } else if unchecked == Some(step) {
                self.record(
                    step,
                    Status::NotRun,
                    Some(format!(
                        "not checked (Exchange stopped at the {} step first)",
                        finding.step.label()
                    )),
                );
            } else if position(step) < position(finding.step) {
                let detail = self.passed_detail(step);
                self.record(step, Status::Passed, detail);
            } else {
                self.record(step, Status::NotRun, None);
            }
        }
        self.failed_step = Some(finding.step);
        self.exit_code = finding.step.exit_code();
        self.ok = false;
    }

    /// What a passed step established, in one line.
    fn passed_detail(&self, step: Step) -> Option<String> {
        let url = self.ews_url.as_deref().unwrap_or("");
        match step {
            Step::Autodiscover => None,
            Step::Connection => host_port(url).map(|hp| format!("reached {hp}")),
            Step::Tls => host(url).map(|h| format!("the certificate of {h} is trusted")),
            Step::Authentication => {
                let mut text = format!("EWS accepted {} ({})", self.user, self.auth);
                if let Some(v) = &self.server_version {
                    let _ = write!(text, "; {}", version_text(v));
                }
                Some(text)
            }
            Step::Impersonation => Some(format!("{} may act as {}", self.user, self.email)),
            Step::Mailbox => self.inbox.as_ref().map(inbox_text),
        }
    }

    fn succeed(&mut self) {
        for step in Step::ALL {
            if !self.steps.iter().any(|s| s.step == step) {
                let detail = self.passed_detail(step);
                self.record(step, Status::Passed, detail);
            }
        }
        self.ok = true;
        self.exit_code = 0;
    }
}

fn position(step: Step) -> usize {
    Step::ALL.iter().position(|s| *s == step).unwrap_or(0)
}

fn version_text(v: &ServerVersionInfo) -> String {
    let mut text = String::from("Exchange");
    if let (Some(major), Some(minor)) = (v.major_version, v.minor_version) {
        let _ = write!(text, " {major}.{minor}");
    }
    if let (Some(build), Some(rev)) = (v.major_build_number, v.minor_build_number) {
        let _ = write!(text, " build {build}.{rev}");
    }
    if let Some(schema) = &v.version {
        let _ = write!(text, " ({schema})");
    }
    text
}

fn inbox_text(inbox: &InboxSummary) -> String {
    let name = inbox.display_name.as_deref().unwrap_or("Inbox");
    match (inbox.total_count, inbox.unread_count) {
        (Some(total), Some(unread)) => format!("{name}: {total} items, {unread} unread"),
        (Some(total), None) => format!("{name}: {total} items"),
        _ => format!("{name} is readable"),
    }
}

/// SRV lookups through the system resolver, or a lookup that reports why there is none.
enum SystemSrv {
    Hickory(Box<HickorySrvResolver>),
    Unavailable(String),
}

impl SystemSrv {
    fn new() -> Self {
        match HickorySrvResolver::from_system_conf() {
            Ok(r) => SystemSrv::Hickory(Box::new(r)),
            Err(e) => SystemSrv::Unavailable(e.to_string()),
        }
    }
}

impl SrvResolver for SystemSrv {
    async fn lookup_srv(&self, name: &str) -> Result<Vec<SrvRecord>, SrvLookupError> {
        match self {
            SystemSrv::Hickory(r) => r.lookup_srv(name).await,
            SystemSrv::Unavailable(why) => Err(SrvLookupError {
                name: name.to_owned(),
                source: why.clone().into(),
            }),
        }
    }
}

/// Runs the probe. `Err` only for options that cannot be used; every failure of the server
/// is part of the report.
pub async fn run(args: &ProbeArgs) -> anyhow::Result<ProbeReport> {
    let config = args.account.transport_config()?;
    let transport = HttpTransport::new(config)?;
    let ctx = args.account.context();
    let email = args.account.email.as_str();
    let mut report = ProbeReport::new(args);

    let ews_url = match &args.ews_url {
        Some(url) => {
            report.record(
                Step::Autodiscover,
                Status::Skipped,
                Some("--ews-url given".into()),
            );
            url.clone()
        }
        None => {
            let resolver = SystemSrv::new();
            let discovery = discover(&transport, &resolver, email, args.account.deadline()).await;
            report.autodiscover_attempts = discovery.attempts;
            match discovery.result {
                Ok(found) => {
                    report.record(
                        Step::Autodiscover,
                        Status::Passed,
                        Some(format!(
                            "{} ({} block of {})",
                            found.ews_url, found.protocol, found.autodiscover_url
                        )),
                    );
                    report.ews_url = Some(found.ews_url.clone());
                    found.ews_url
                }
                Err(error) => {
                    let finding = diagnose_discovery(&error, &report.autodiscover_attempts, &ctx);
                    report.fail(finding, None);
                    return Ok(report);
                }
            }
        }
    };

    let client = match EwsClient::with_transport(&ews_url, transport) {
        Ok(c) => c,
        Err(error) => {
            report.fail(diagnose_call(&error, &ctx), None);
            return Ok(report);
        }
    };
    let op = GetFolder {
        shape: FolderShape::new(BaseShape::Default),
        folder_ids: vec![DistinguishedFolderName::Inbox.into()],
    };
    let answer = client
        .call(Some(email), &op, args.account.deadline())
        .await
        .and_then(|response| match response.body.into_iter().next() {
            Some(folder) => folder,
            None => Err(EwsError::MessageCount {
                expected: 1,
                actual: 0,
            }),
        });
    report.server_version = client.server_version();
    match answer {
        Ok(folder) => {
            report.inbox = Some(summary(&folder));
            report.succeed();
        }
        Err(error) => report.fail(diagnose_call(&error, &ctx), unchecked_by(&error)),
    }
    Ok(report)
}

/// The step a failure leaves unchecked although it comes earlier: Exchange answers an
/// impersonation header naming an unknown address with an `ErrorNonExistentMailbox` fault
/// before it looks at the right to impersonate. (The same code in a response message is
/// about a mailbox named in the body, after impersonation succeeded.)
fn unchecked_by(error: &EwsError) -> Option<Step> {
    match error {
        EwsError::Fault(fault) if fault.code == ResponseCode::ErrorNonExistentMailbox => {
            Some(Step::Impersonation)
        }
        _ => None,
    }
}

fn summary(folder: &Folder) -> InboxSummary {
    InboxSummary {
        display_name: folder.display_name.clone(),
        total_count: folder.total_count,
        unread_count: folder.unread_count,
    }
}

/// The report as pretty JSON.
pub fn to_json(report: &ProbeReport) -> String {
    let text = serde_json::to_string_pretty(report)
        .unwrap_or_else(|e| json!({ "error": e.to_string() }).to_string());
    format!("{text}\n")
}

/// The report as the step-by-step text an administrator reads.
pub fn to_text(report: &ProbeReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Probing {} as {} ({})",
        report.email, report.user, report.auth
    );
    if let Some(url) = &report.ews_url {
        let _ = writeln!(out, "EWS URL: {url}");
    }
    out.push('\n');
    const WIDTH: usize = 15;
    const INDENT: &str = "                    ";
    for line in &report.steps {
        let mark = match line.status {
            Status::Passed => "✓",
            Status::Failed => "✗",
            Status::Skipped => "-",
            Status::NotRun => "·",
        };
        let detail = match (line.status, &line.detail) {
            (Status::NotRun, None) => "not run".to_owned(),
            (_, Some(d)) => d.clone(),
            (_, None) => String::new(),
        };
        let _ = writeln!(out, "  {mark} {:<WIDTH$} {detail}", line.step.label());
        if line.step == Step::Autodiscover {
            for (n, attempt) in report.autodiscover_attempts.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "{INDENT}{}. {} {} → {}",
                    n + 1,
                    step_name(attempt),
                    attempt.url,
                    outcome_text(&attempt.outcome)
                );
            }
        }
        if let Some(advice) = &line.advice {
            let _ = writeln!(out, "{INDENT}→ {advice}");
        }
        if line.transient == Some(true) {
            let wait = line
                .retry_after_ms
                .map(|ms| format!(" (the server asked to wait {} s)", ms.div_ceil(1000)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "{INDENT}this may pass by itself: try again later{wait}"
            );
        }
    }
    out.push('\n');
    match report.failed_step {
        None => {
            let _ = writeln!(
                out,
                "OK: exsync can connect, authenticate and read {}.",
                report.email
            );
        }
        Some(step) => {
            let _ = writeln!(
                out,
                "FAILED at the {} step (exit code {}).",
                step.label(),
                report.exit_code
            );
        }
    }
    out
}

fn step_name(attempt: &Attempt) -> String {
    serde_json::to_value(attempt.step)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{:?}", attempt.step))
}

/// One Autodiscover attempt's outcome, in words.
fn outcome_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Discovered { ews_url } => format!("EWS URL {ews_url}"),
        Outcome::Unauthorized => "HTTP 401: credentials refused".into(),
        Outcome::TlsFailed { failure, .. } => format!("TLS failed: {failure}"),
        Outcome::Unreachable { error } => format!("unreachable: {error}"),
        Outcome::HttpStatus { status } => format!("HTTP {status}"),
        Outcome::HttpRedirect { status, location } => {
            format!("HTTP {status} redirect to {location}")
        }
        Outcome::RedirectAddr { address } => format!("redirectAddr to {address}"),
        Outcome::RedirectUrl { url } => format!("redirectUrl to {url}"),
        Outcome::RedirectRefused { to, reason } => {
            let reason = serde_json::to_value(reason)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            format!("redirect to {to} refused ({reason})")
        }
        Outcome::AutodiscoverError { code, message } => match message {
            Some(m) => format!("Autodiscover error {code}: {m}"),
            None => format!("Autodiscover error {code}"),
        },
        Outcome::InvalidResponse { error } => format!("not an Autodiscover response: {error}"),
        Outcome::NoEwsUrl => "settings without an EWS URL".into(),
        Outcome::InsecureEwsUrl { url } => format!("only a non-HTTPS EWS URL ({url})"),
        Outcome::SrvLookupFailed { error } => format!("SRV lookup failed: {error}"),
        Outcome::NoSrvRecords => "no usable SRV records".into(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use exsync_ews::error::{ResponseError, SoapFault};

    #[test]
    fn an_unknown_impersonated_address_leaves_impersonation_unchecked() {
        let fault = EwsError::Fault(Box::new(SoapFault {
            fault_code: "a:ErrorNonExistentMailbox".into(),
            fault_string: String::new(),
            code: ResponseCode::ErrorNonExistentMailbox,
            message: None,
            back_off: None,
            inner_code: None,
        }));
        assert_eq!(unchecked_by(&fault), Some(Step::Impersonation));
    }

    #[test]
    fn an_unknown_mailbox_named_in_the_body_leaves_nothing_unchecked() {
        let message = EwsError::Response(Box::new(ResponseError {
            response_class: "Error".into(),
            code: ResponseCode::ErrorNonExistentMailbox,
            message: None,
            back_off: None,
            inner_code: None,
        }));
        assert_eq!(unchecked_by(&message), None);
    }

    #[test]
    fn help_lists_each_steps_exit_code() {
        for step in Step::ALL {
            let line = format!("  {}  {}", step.exit_code(), step.key());
            let found = EXIT_CODES_HELP.lines().any(|l| {
                l.to_ascii_lowercase()
                    .starts_with(&line.to_ascii_lowercase())
            });
            assert!(found, "no line {line:?} in the exit-code help");
        }
    }
}
