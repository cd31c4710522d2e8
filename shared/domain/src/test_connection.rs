//! Test Connection: what Dynamics 365 checks for an Exchange profile, step by step.
//!
//! 1. Autodiscover (when the profile uses it), for the test mailbox, with the profile's
//!    credentials: every attempt is made afresh, nothing cached.
//! 2. An impersonated [GetFolder](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getfolder-operation)
//!    of the test mailbox's Inbox ([ExchangeImpersonation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/exchangeimpersonation))
//!    on the EWS URL: it needs the
//!    connection, TLS, authentication, impersonation and the mailbox, in that order, so
//!    the first failing step is read from the error ([`crate::diagnosis`]) and the steps
//!    before it passed.
//! 3. When the profile sends outgoing email through another URL, the same check there.
//!
//! The result keeps each step, the EWS URL and a redacted excerpt: the request document
//! (which holds no credential: those travel in HTTP headers, shown here as `[redacted]`) and
//! a one-line summary of the answer. No password, token or message body is ever in it.

use std::time::Instant;

use exsync_ews::client::EwsClient;
use exsync_ews::envelope::write_request;
use exsync_ews::operations::GetFolder;
use exsync_ews::transport::{AuthScheme, Credentials, HttpTransport};
use exsync_ews::types::{BaseShape, DistinguishedFolderName, FolderShape};
use exsync_ews::{EwsError, Operation as _};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::diagnosis::{
    Audience, Context, Finding, Step, diagnose_call, diagnose_discovery, diagnose_transport,
};
use crate::exchange::ExchangeEnvironment;
use crate::ids::EmailAddress;
use crate::profile::{DiagnosisStep, Profile, TestConnectionResult, TestOutcome};

/// What the caller of Test Connection may choose.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TestConnectionInput {
    /// The mailbox to impersonate (default: the profile owner's email address).
    pub test_mailbox: Option<String>,
    /// For a profile that keeps credentials on mailboxes: the test mailbox's account.
    pub user_name: Option<String>,
    /// For a profile that keeps credentials on mailboxes: the test mailbox's password. Used
    /// for this test only, never stored or logged.
    pub password: Option<String>,
}

/// The inbox, read with ids only: enough to prove access, nothing about the mail.
fn inbox_probe() -> GetFolder {
    GetFolder {
        shape: FolderShape::new(BaseShape::IdOnly),
        folder_ids: vec![DistinguishedFolderName::Inbox.into()],
    }
}

/// The steps an EWS call passes through, in order, for this access.
fn call_steps(impersonating: bool) -> Vec<Step> {
    let mut steps = vec![Step::Connection, Step::Tls, Step::Authentication];
    if impersonating {
        steps.push(Step::Impersonation);
    }
    steps.push(Step::Mailbox);
    steps
}

fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| format!("{h}:{}", u.port_or_known_default().unwrap_or(443)))
        })
        .unwrap_or_else(|| url.to_owned())
}

/// What a passed step says.
fn passed_detail(step: Step, url: &str, credentials: &Credentials, mailbox: &str) -> String {
    match step {
        Step::Autodiscover => format!("found {url}"),
        Step::Connection => format!("connected to {}", host_of(url)),
        Step::Tls => format!("the certificate of {} is trusted", host_of(url)),
        Step::Authentication => format!(
            "{} authentication as {} accepted",
            credentials.scheme, credentials.user
        ),
        Step::Impersonation => format!("{} may impersonate {mailbox}", credentials.user),
        Step::Mailbox => format!("read the Inbox of {mailbox}"),
    }
}

fn failed(prefix: &str, f: &Finding) -> DiagnosisStep {
    DiagnosisStep {
        step: format!("{prefix}{}", f.step.key()),
        ok: false,
        detail: f.problem.clone(),
        advice: Some(f.advice.clone()),
    }
}

fn passed(prefix: &str, step: Step, detail: String) -> DiagnosisStep {
    DiagnosisStep {
        step: format!("{prefix}{}", step.key()),
        ok: true,
        detail,
        advice: None,
    }
}

/// The redacted excerpt of one probe: the request (no credentials in it) and a summary of
/// the answer.
fn excerpt(url: &str, scheme: AuthScheme, mailbox: Option<&str>, answer: &str) -> String {
    let op = inbox_probe();
    format!(
        "POST {url}\nAuthorization: {scheme} [redacted]\n\n{}\n\n--- {} answer ---\n{answer}",
        write_request(&op, mailbox),
        GetFolder::NAME
    )
}

/// One test's fixed facts: how to reach Exchange and as whom.
struct Probe<'a> {
    env: &'a ExchangeEnvironment,
    transport: &'a HttpTransport,
    credentials: &'a Credentials,
    mailbox: &'a str,
    impersonating: bool,
    deadline: Instant,
}

impl Probe<'_> {
    /// Runs one impersonated GetFolder(inbox) against `url`; appends its steps (named with
    /// `prefix`) and returns whether it passed, with the excerpt.
    async fn run(&self, url: &str, prefix: &str, steps: &mut Vec<DiagnosisStep>) -> (bool, String) {
        let Probe {
            env,
            transport,
            credentials,
            mailbox,
            impersonating,
            deadline,
        } = *self;
        let ctx = Context {
            user: &credentials.user,
            scheme: credentials.scheme,
            mailbox,
            audience: Audience::Profile,
        };
        let impersonate = impersonating.then_some(mailbox);
        let result = match env.client(transport, url) {
            Ok(client) => call(&client, impersonate, deadline).await,
            Err(e) => Err(e),
        };
        let order = call_steps(impersonating);
        match result {
            Ok(version) => {
                for step in order {
                    steps.push(passed(
                        prefix,
                        step,
                        passed_detail(step, url, credentials, mailbox),
                    ));
                }
                let answer = format!("NoError{version}");
                (true, excerpt(url, credentials.scheme, impersonate, &answer))
            }
            Err(error) => {
                let finding = diagnose_call(&error, &ctx);
                for step in order.iter().take_while(|s| **s != finding.step) {
                    steps.push(passed(
                        prefix,
                        *step,
                        passed_detail(*step, url, credentials, mailbox),
                    ));
                }
                steps.push(failed(prefix, &finding));
                let answer = match error.response_code() {
                    Some(code) => format!("{code}: {}", finding.problem),
                    None => error_summary(&error),
                };
                (
                    false,
                    excerpt(url, credentials.scheme, impersonate, &answer),
                )
            }
        }
    }
}

/// The error's own words, without its source chain (which may quote a server page).
fn error_summary(error: &EwsError) -> String {
    match error {
        EwsError::Transport(t) => t.to_string(),
        other => other.to_string(),
    }
}

async fn call(
    client: &EwsClient,
    impersonate: Option<&str>,
    deadline: Instant,
) -> Result<String, EwsError> {
    let response = client.call(impersonate, &inbox_probe(), deadline).await?;
    for folder in response.body {
        folder?;
    }
    Ok(response
        .server_version
        .map(|v| {
            format!(
                " (server {}.{}.{}.{})",
                v.major_version.unwrap_or_default(),
                v.minor_version.unwrap_or_default(),
                v.major_build_number.unwrap_or_default(),
                v.minor_build_number.unwrap_or_default()
            )
        })
        .unwrap_or_default())
}

/// Runs Test Connection for `profile` as `credentials`, impersonating `test_mailbox` when
/// `impersonating`. Never fails: every problem is a failed step in the result.
pub async fn run(
    env: &ExchangeEnvironment,
    profile: &Profile,
    credentials: Credentials,
    impersonating: bool,
    test_mailbox: &EmailAddress,
    started_at: OffsetDateTime,
) -> TestConnectionResult {
    let started = Instant::now();
    let deadline = env.deadline();
    let mailbox = test_mailbox.as_str();
    let ctx = Context {
        user: &credentials.user,
        scheme: credentials.scheme,
        mailbox,
        audience: Audience::Profile,
    };
    let mut steps = Vec::new();
    let mut excerpts = Vec::new();
    let mut ews_url = None;
    let outcome = 'test: {
        let transport = match env.transport(profile, credentials.clone()) {
            Ok(t) => t,
            Err(e) => {
                steps.push(failed("", &diagnose_transport(&e, &ctx)));
                break 'test TestOutcome::Failure;
            }
        };
        let url = if profile.use_autodiscover {
            let report = env.discover(&transport, mailbox, deadline).await;
            match report.result {
                Ok(found) => {
                    steps.push(passed(
                        "",
                        Step::Autodiscover,
                        format!(
                            "found {} at {} after {} attempt(s)",
                            found.ews_url,
                            found.autodiscover_url,
                            report.attempts.len()
                        ),
                    ));
                    found.ews_url
                }
                Err(error) => {
                    steps.push(failed(
                        "",
                        &diagnose_discovery(&error, &report.attempts, &ctx),
                    ));
                    break 'test TestOutcome::Failure;
                }
            }
        } else if let Some(url) = profile.incoming_ews_url.clone() {
            url
        } else {
            steps.push(DiagnosisStep {
                step: Step::Connection.key().to_owned(),
                ok: false,
                detail: "the profile has no EWS URL".into(),
                advice: Some("set incoming_ews_url, or turn on use_autodiscover".into()),
            });
            break 'test TestOutcome::Failure;
        };
        ews_url = Some(url.clone());
        let probe = Probe {
            env,
            transport: &transport,
            credentials: &credentials,
            mailbox,
            impersonating,
            deadline,
        };
        let (ok, text) = probe.run(&url, "", &mut steps).await;
        excerpts.push(text);
        if !ok {
            break 'test TestOutcome::Failure;
        }
        if let Some(outgoing) = profile.configured_ews_url(true).filter(|o| *o != url) {
            let (ok, text) = probe.run(outgoing, "outgoing_", &mut steps).await;
            excerpts.push(text);
            if !ok {
                break 'test TestOutcome::Failure;
            }
        }
        TestOutcome::Success
    };
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    tracing::info!(
        profile_id = %profile.id,
        test_mailbox = %mailbox,
        outcome = ?outcome,
        failed_step = steps.iter().find(|s| !s.ok).map(|s| s.step.as_str()).unwrap_or(""),
        duration_ms,
        "Test Connection finished"
    );
    TestConnectionResult {
        started_at,
        duration_ms,
        outcome,
        test_mailbox: test_mailbox.clone(),
        ews_url,
        steps,
        excerpt: (!excerpts.is_empty()).then(|| excerpts.join("\n\n")),
    }
}
