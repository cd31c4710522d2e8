//! Test & Enable (issue 3 §6): per workload, with the mailbox's effective profile and
//! credentials, prove exsync can do the work, then enable the workload or say why not.
//!
//! | workload | check (impersonating the mailbox when the profile's account is used) |
//! |---|---|
//! | incoming | [GetFolder] of the Inbox |
//! | outgoing | [CreateItem] (SaveOnly) of a draft in Drafts, then [DeleteItem] (HardDelete) of it |
//! | appointments, contacts, tasks | [GetFolder] of the Calendar, Contacts and Tasks folders |
//!
//! [GetFolder]: https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getfolder-operation
//! [CreateItem]: https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/createitem-operation
//! [DeleteItem]: https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/deleteitem-operation
//!
//! Before any check: an inactive mailbox, a mailbox without a profile and an inactive
//! profile are refused ([`refusal`]). A workload whose delivery method is not server-side
//! synchronization is not tested and stays disabled (Not Run). When the org requires
//! approval for the mailbox's kind and it is not approved, nothing is tested or enabled:
//! every server-side workload fails with `EmailAddressNotApproved`, as in Dynamics 365.
//!
//! A transient failure (throttling, a busy or unreachable server) can be retried
//! ([`RetryPolicy`]): the jobs worker retries a few times with back-off before it records
//! the failure; the API's inline runs do not wait. The draft is only created again when
//! Exchange explicitly refused the earlier attempt (a SOAP fault, an error message, HTTP
//! 429/503), never after a lost connection, so a retry cannot leave two drafts behind.
//!
//! The pieces are pure where they can be ([`plan`], [`refusal`], [`apply_report`],
//! [`alerts_for`]), so the rules are tested without Exchange.

use std::time::{Duration, Instant};

use exsync_ews::client::EwsClient;
use exsync_ews::operations::{CreateItem, DeleteItem, DeleteType, GetFolder, MessageDisposition};
use exsync_ews::transport::TransportError;
use exsync_ews::types::{BaseShape, Body, DistinguishedFolderName, FolderShape, Message};
use exsync_ews::{ErrorClass, EwsError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::alert::{Alert, AlertLevel, AlertSubject};
use crate::diagnosis::{Audience, Context, diagnose_call, diagnose_discovery, diagnose_transport};
use crate::exchange::{ExchangeEnvironment, MailboxAccess, MissingCredentials};
use crate::ids::{AlertId, EmailAddress, MailboxId, Principal};
use crate::mailbox::{Mailbox, MailboxKind, Workload, WorkloadStatus};
use crate::org::OrgSettings;
use crate::profile::Profile;

/// What Test & Enable does with one workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    /// Check it against Exchange and enable it on success.
    Test,
    /// Its delivery method is not server-side synchronization: not tested, not enabled.
    NotServerSideSync,
    /// The org requires approval and the mailbox is not approved: not tested, not enabled.
    AwaitingApproval,
}

/// The plan for every workload of `mailbox`, in [`Workload::ALL`] order.
pub fn plan(mailbox: &Mailbox, settings: &OrgSettings) -> Vec<(Workload, Plan)> {
    let awaiting = mailbox.awaits_approval(settings);
    Workload::ALL
        .into_iter()
        .map(|w| {
            let p = if !mailbox.uses_server_side_sync(w) {
                Plan::NotServerSideSync
            } else if awaiting {
                Plan::AwaitingApproval
            } else {
                Plan::Test
            };
            (w, p)
        })
        .collect()
}

/// Why Test & Enable cannot run for `mailbox` at all, if it cannot.
pub fn refusal(mailbox: &Mailbox, profile: Option<&Profile>) -> Option<String> {
    if !mailbox.active {
        return Some(format!(
            "the mailbox {} is inactive: activate it before Test & Enable",
            mailbox.email
        ));
    }
    let Some(profile) = profile else {
        return Some(format!(
            "the mailbox {} has no email server profile: set its profile_id first",
            mailbox.email
        ));
    };
    if !profile.active {
        return Some(format!(
            "the email server profile {} is inactive: activate it before Test & Enable",
            profile.name
        ));
    }
    None
}

/// How transient failures are retried before they count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (1: no retry).
    pub attempts: u32,
    /// Wait before the first retry; doubled for each further one.
    pub delay: Duration,
    /// Longest wait, whatever the server asks for.
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// One attempt: what the API runs inline, so a request never sleeps.
    pub const NONE: RetryPolicy = RetryPolicy {
        attempts: 1,
        delay: Duration::ZERO,
        max_delay: Duration::ZERO,
    };

    /// What the jobs worker uses: three attempts, 2 s then 4 s apart, or longer when
    /// Exchange asks for it (up to 30 s).
    pub const JOBS: RetryPolicy = RetryPolicy {
        attempts: 3,
        delay: Duration::from_secs(2),
        max_delay: Duration::from_secs(30),
    };

    fn wait(&self, retry: u32, back_off: Option<Duration>) -> Duration {
        let exponential = self
            .delay
            .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)));
        exponential
            .max(back_off.unwrap_or_default())
            .min(self.max_delay)
    }
}

/// How one workload's check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckOutcome {
    /// Checked and enabled.
    Success,
    /// Checked (or blocked by approval) and not enabled.
    Failure,
    /// Not tested (delivery method is not server-side synchronization).
    NotTested,
}

/// One workload's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadCheck {
    /// The workload.
    pub workload: Workload,
    /// What came of it.
    pub outcome: CheckOutcome,
    /// Whether it is now enabled.
    pub enabled: bool,
    /// When it was decided.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The error code (EWS response code or a condition such as `EmailAddressNotApproved`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// What went wrong, or why it was not tested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_text: Option<String>,
    /// What to check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
    /// The failure may pass by itself (throttling, a busy server).
    #[serde(default)]
    pub transient: bool,
    /// Attempts made (0 when not checked).
    pub attempts: u32,
}

/// The result of Test & Enable for one mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestAndEnableReport {
    /// The mailbox.
    pub mailbox_id: MailboxId,
    /// Its address.
    pub email: EmailAddress,
    /// The mailbox's overall status afterwards.
    pub status: WorkloadStatus,
    /// The EWS URL used (configured or discovered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ews_url: Option<String>,
    /// Each workload, in order.
    pub workloads: Vec<WorkloadCheck>,
}

impl TestAndEnableReport {
    /// True when a workload failed.
    pub fn failed(&self) -> bool {
        self.workloads
            .iter()
            .any(|w| w.outcome == CheckOutcome::Failure)
    }

    /// True when every failure may pass by itself: worth another attempt later.
    pub fn only_transient_failures(&self) -> bool {
        self.failed()
            && self
                .workloads
                .iter()
                .filter(|w| w.outcome == CheckOutcome::Failure)
                .all(|w| w.transient)
    }
}

/// Why a check failed, ready for the report and the alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// A stable code.
    pub code: String,
    /// What went wrong (no secrets).
    pub text: String,
    /// What to check.
    pub advice: String,
    /// May pass by itself.
    pub transient: bool,
}

impl Failure {
    fn from_finding(f: &crate::diagnosis::Finding) -> Self {
        Failure {
            code: f.alert_code(),
            text: f.problem.clone(),
            advice: f.advice.clone(),
            transient: f.transient,
        }
    }

    fn approval(mailbox: &Mailbox) -> Self {
        let kind = match mailbox.kind {
            MailboxKind::User => "user",
            MailboxKind::Queue => "queue",
        };
        Failure {
            code: "EmailAddressNotApproved".into(),
            text: format!(
                "email cannot be processed for {}: the organisation processes email only for approved {kind} mailboxes and this address is not approved",
                mailbox.email
            ),
            advice:
                "an email approver must Approve Email for the mailbox, then run Test & Enable again"
                    .into(),
            transient: false,
        }
    }
}

/// What the Exchange side of a run produced: per tested workload, the attempts and the
/// failure (if any), and the EWS URL used.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Execution {
    /// Tested workloads: attempts made and the failure, if the last attempt failed.
    pub results: Vec<(Workload, u32, Option<Failure>)>,
    /// The EWS URL the checks ran against.
    pub ews_url: Option<String>,
    /// True when the URL was found with Autodiscover (so it is cached on the mailbox).
    pub discovered: bool,
}

/// Runs the checks of the workloads planned for testing.
pub async fn execute(
    env: &ExchangeEnvironment,
    profile: &Profile,
    mailbox: &Mailbox,
    access: Result<MailboxAccess, MissingCredentials>,
    plans: &[(Workload, Plan)],
    retry: RetryPolicy,
) -> Execution {
    let to_test: Vec<Workload> = plans
        .iter()
        .filter(|(_, p)| *p == Plan::Test)
        .map(|(w, _)| *w)
        .collect();
    if to_test.is_empty() {
        return Execution::default();
    }
    let everywhere = |failure: Failure| Execution {
        results: to_test
            .iter()
            .map(|w| (*w, 0, Some(failure.clone())))
            .collect(),
        ews_url: None,
        discovered: false,
    };
    let access = match access {
        Ok(a) => a,
        Err(missing) => {
            return everywhere(Failure {
                code: "CredentialsMissing".into(),
                text: missing.problem,
                advice: missing.advice,
                transient: false,
            });
        }
    };
    let deadline = env.deadline();
    let ctx = Context {
        user: &access.credentials.user,
        scheme: access.credentials.scheme,
        mailbox: mailbox.email.as_str(),
        audience: Audience::Profile,
    };
    let transport = match env.transport(profile, access.credentials.clone()) {
        Ok(t) => t,
        Err(e) => return everywhere(Failure::from_finding(&diagnose_transport(&e, &ctx))),
    };
    let (incoming_url, discovered) = if profile.use_autodiscover {
        let report = env
            .discover(&transport, mailbox.email.as_str(), deadline)
            .await;
        match report.result {
            Ok(found) => (found.ews_url, true),
            Err(e) => {
                return everywhere(Failure::from_finding(&diagnose_discovery(
                    &e,
                    &report.attempts,
                    &ctx,
                )));
            }
        }
    } else {
        match profile.configured_ews_url(false) {
            Some(url) => (url.to_owned(), false),
            None => {
                return everywhere(Failure {
                    code: "EwsUrlMissing".into(),
                    text: format!("the profile {} has no EWS URL", profile.name),
                    advice: "set incoming_ews_url, or turn on use_autodiscover".into(),
                    transient: false,
                });
            }
        }
    };
    let outgoing_url = profile
        .configured_ews_url(true)
        .map(str::to_owned)
        .unwrap_or_else(|| incoming_url.clone());
    let mut results = Vec::with_capacity(to_test.len());
    for workload in to_test {
        let url = match workload {
            Workload::Outgoing => &outgoing_url,
            _ => &incoming_url,
        };
        let (attempts, outcome) = match env.client(&transport, url) {
            Ok(client) => {
                check_with_retry(
                    &client,
                    access.impersonate.as_deref(),
                    workload,
                    retry,
                    deadline,
                )
                .await
            }
            Err(e) => (1, Err(e)),
        };
        let failure = outcome
            .err()
            .map(|e| Failure::from_finding(&diagnose_call(&e, &ctx)));
        tracing::info!(
            mailbox_id = %mailbox.id,
            workload = workload.as_str(),
            attempts,
            failure = failure.as_ref().map(|f| f.code.as_str()).unwrap_or(""),
            "Test & Enable check finished"
        );
        results.push((workload, attempts, failure));
    }
    Execution {
        results,
        ews_url: Some(incoming_url),
        discovered,
    }
}

/// Checks one workload, retrying transient failures as `retry` allows.
async fn check_with_retry(
    client: &EwsClient,
    impersonate: Option<&str>,
    workload: Workload,
    retry: RetryPolicy,
    deadline: Instant,
) -> (u32, Result<(), EwsError>) {
    let mut attempt = 1;
    loop {
        let result = check(client, impersonate, workload, deadline).await;
        let Err(error) = &result else {
            return (attempt, result);
        };
        let ErrorClass::Transient { back_off } = error.class() else {
            return (attempt, result);
        };
        let repeatable = workload != Workload::Outgoing || refused_before_processing(error);
        if attempt >= retry.attempts.max(1) || !repeatable {
            return (attempt, result);
        }
        let wait = retry.wait(attempt, back_off);
        if Instant::now() + wait >= deadline {
            return (attempt, result);
        }
        tracing::debug!(
            workload = workload.as_str(),
            attempt,
            wait_ms = wait.as_millis() as u64,
            "retrying a transient Test & Enable failure"
        );
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

/// True when Exchange explicitly refused the request (so nothing was created): a SOAP
/// fault, an error response message, or HTTP 429/503.
fn refused_before_processing(error: &EwsError) -> bool {
    match error {
        EwsError::Fault(_) | EwsError::Response(_) => true,
        EwsError::Transport(TransportError::HttpStatus { status, .. }) => {
            matches!(status, 429 | 503)
        }
        _ => false,
    }
}

/// The Exchange side of one workload's check.
async fn check(
    client: &EwsClient,
    impersonate: Option<&str>,
    workload: Workload,
    deadline: Instant,
) -> Result<(), EwsError> {
    match workload {
        Workload::Incoming => {
            read_folders(
                client,
                impersonate,
                &[DistinguishedFolderName::Inbox],
                deadline,
            )
            .await
        }
        Workload::AppointmentsContactsTasks => {
            read_folders(
                client,
                impersonate,
                &[
                    DistinguishedFolderName::Calendar,
                    DistinguishedFolderName::Contacts,
                    DistinguishedFolderName::Tasks,
                ],
                deadline,
            )
            .await
        }
        Workload::Outgoing => draft_round_trip(client, impersonate, deadline).await,
    }
}

async fn read_folders(
    client: &EwsClient,
    impersonate: Option<&str>,
    folders: &[DistinguishedFolderName],
    deadline: Instant,
) -> Result<(), EwsError> {
    let op = GetFolder {
        shape: FolderShape::new(BaseShape::IdOnly),
        folder_ids: folders.iter().map(|f| (*f).into()).collect(),
    };
    for folder in client.call(impersonate, &op, deadline).await?.body {
        folder?;
    }
    Ok(())
}

/// Saves a draft in Drafts and hard-deletes it: proves exsync may write to the mailbox as
/// sending needs, without sending anything.
async fn draft_round_trip(
    client: &EwsClient,
    impersonate: Option<&str>,
    deadline: Instant,
) -> Result<(), EwsError> {
    let draft = Message {
        subject: Some("exsync Test & Enable (safe to delete)".into()),
        body: Some(Body::text(
            "exsync saved this draft to check it may write to this mailbox, and deletes it at once.",
        )),
        ..Message::default()
    };
    let create = CreateItem::messages(
        MessageDisposition::SaveOnly,
        Some(DistinguishedFolderName::Drafts.into()),
        [draft],
    );
    let mut created = client.call(impersonate, &create, deadline).await?.body;
    let id = match created.pop() {
        Some(Ok(Some(id))) => id,
        Some(Err(e)) => return Err(e),
        _ => {
            return Err(EwsError::UnexpectedShape {
                what: "CreateItem (SaveOnly) returned no item id".into(),
                location: "CreateItemResponse".into(),
            });
        }
    };
    let delete = DeleteItem {
        delete_type: DeleteType::HardDelete,
        send_meeting_cancellations: None,
        affected_task_occurrences: None,
        item_ids: vec![id],
    };
    for result in client.call(impersonate, &delete, deadline).await?.body {
        result?;
    }
    Ok(())
}

/// The report of a run: the plan, what Exchange said, and the time.
pub fn build_report(
    mailbox: &Mailbox,
    plans: &[(Workload, Plan)],
    execution: &Execution,
    at: OffsetDateTime,
) -> TestAndEnableReport {
    let workloads = plans
        .iter()
        .map(|(workload, p)| {
            let base = WorkloadCheck {
                workload: *workload,
                outcome: CheckOutcome::NotTested,
                enabled: false,
                at,
                error_code: None,
                error_text: None,
                advice: None,
                transient: false,
                attempts: 0,
            };
            match p {
                Plan::NotServerSideSync => WorkloadCheck {
                    error_text: Some(format!(
                        "not tested: the {} delivery method is not server-side synchronization",
                        workload.as_str()
                    )),
                    ..base
                },
                Plan::AwaitingApproval => {
                    let f = Failure::approval(mailbox);
                    WorkloadCheck {
                        outcome: CheckOutcome::Failure,
                        error_code: Some(f.code),
                        error_text: Some(f.text),
                        advice: Some(f.advice),
                        ..base
                    }
                }
                Plan::Test => match execution.results.iter().find(|(w, _, _)| w == workload) {
                    Some((_, attempts, None)) => WorkloadCheck {
                        outcome: CheckOutcome::Success,
                        enabled: true,
                        attempts: *attempts,
                        ..base
                    },
                    Some((_, attempts, Some(f))) => WorkloadCheck {
                        outcome: CheckOutcome::Failure,
                        error_code: Some(f.code.clone()),
                        error_text: Some(f.text.clone()),
                        advice: Some(f.advice.clone()),
                        transient: f.transient,
                        attempts: *attempts,
                        ..base
                    },
                    None => WorkloadCheck {
                        outcome: CheckOutcome::Failure,
                        error_code: Some("NotChecked".into()),
                        error_text: Some("the check did not run".into()),
                        ..base
                    },
                },
            }
        })
        .collect();
    let mut report = TestAndEnableReport {
        mailbox_id: mailbox.id.clone(),
        email: mailbox.email.clone(),
        status: WorkloadStatus::NotRun,
        ews_url: execution.ews_url.clone(),
        workloads,
    };
    let mut after = mailbox.clone();
    apply_report(&mut after, &report, execution.discovered);
    report.status = after.overall_status();
    report
}

/// Writes a report onto the mailbox: per workload enabled flag, status, time and error;
/// the transient-failure counter the sync engine reads; the discovered EWS URL.
pub fn apply_report(mailbox: &mut Mailbox, report: &TestAndEnableReport, discovered: bool) {
    for check in &report.workloads {
        let state = mailbox.workload_mut(check.workload);
        state.enabled = check.enabled;
        state.status_at = Some(check.at);
        match check.outcome {
            CheckOutcome::Success => {
                state.status = WorkloadStatus::Success;
                state.last_error_code = None;
                state.last_error_text = None;
                state.consecutive_transient_failures = 0;
            }
            CheckOutcome::Failure => {
                state.status = WorkloadStatus::Failure;
                state.last_error_code = check.error_code.clone();
                state.last_error_text = check.error_text.clone();
                state.consecutive_transient_failures = if check.transient {
                    state.consecutive_transient_failures.saturating_add(1)
                } else {
                    0
                };
            }
            CheckOutcome::NotTested => {
                state.status = WorkloadStatus::NotRun;
                state.last_error_code = None;
                state.last_error_text = None;
            }
        }
    }
    mailbox.test_scheduled = false;
    if discovered && let Some(url) = &report.ews_url {
        mailbox.scheduler.cached_ews_url = Some(url.clone());
        mailbox.scheduler.ews_url_discovered_at = report.workloads.first().map(|w| w.at);
    }
}

/// The alerts a report raises, already filtered by the org's alert levels: on success an
/// Information alert to the mailbox owner; on any failure one Error alert, with every
/// failed workload's diagnosis, to the mailbox owner and the profile owner.
pub fn alerts_for(
    report: &TestAndEnableReport,
    mailbox: &Mailbox,
    profile: &Profile,
    settings: &OrgSettings,
    now: OffsetDateTime,
) -> Vec<Alert> {
    let enabled: Vec<&str> = report
        .workloads
        .iter()
        .filter(|w| w.enabled)
        .map(|w| w.workload.as_str())
        .collect();
    let failures: Vec<&WorkloadCheck> = report
        .workloads
        .iter()
        .filter(|w| w.outcome == CheckOutcome::Failure)
        .collect();
    let (level, code, text, owners) = if let Some(first) = failures.first() {
        let mut text = format!("Test & Enable failed for the mailbox {}.", mailbox.email);
        for f in &failures {
            text.push_str(&format!(
                " {}: {}{}.",
                f.workload.as_str(),
                f.error_text.as_deref().unwrap_or("failed"),
                f.advice
                    .as_deref()
                    .map(|a| format!(" (check: {a})"))
                    .unwrap_or_default()
            ));
        }
        text.push_str(&if enabled.is_empty() {
            " Nothing was enabled.".to_owned()
        } else {
            format!(" Enabled: {}.", enabled.join(", "))
        });
        let mut owners: Vec<Principal> = vec![mailbox.owner.clone()];
        if profile.owner.principal != mailbox.owner {
            owners.push(profile.owner.principal.clone());
        }
        (
            AlertLevel::Error,
            first
                .error_code
                .clone()
                .unwrap_or_else(|| "TestAndEnableFailed".into()),
            text,
            owners,
        )
    } else if enabled.is_empty() {
        (
            AlertLevel::Information,
            "TestAndEnableNothingToEnable".to_owned(),
            format!(
                "Test & Enable ran for the mailbox {}: no workload uses server-side synchronization, so nothing was enabled.",
                mailbox.email
            ),
            vec![mailbox.owner.clone()],
        )
    } else {
        (
            AlertLevel::Information,
            "TestAndEnableSucceeded".to_owned(),
            format!(
                "Test & Enable succeeded for the mailbox {}. Enabled: {}.",
                mailbox.email,
                enabled.join(", ")
            ),
            vec![mailbox.owner.clone()],
        )
    };
    if !settings.writes_alerts(level) {
        return Vec::new();
    }
    vec![Alert {
        id: AlertId::new(),
        level,
        code,
        text,
        subject: AlertSubject::Mailbox(mailbox.id.clone()),
        owners,
        at: now,
        expires_at: now + time::Duration::days(i64::from(settings.alert_retention_days)),
        dismissed: false,
    }]
}
