//! What a failed sync does, by the EWS error's class (`docs/errors.md`):
//!
//! | class | the mailbox | the profile | alerts |
//! |---|---|---|---|
//! | item-level | nothing: that item fails alone (decision log) | | |
//! | transient (throttling included), request | postponed (`BackOffMilliseconds`, else [`DEFAULT_POSTPONEMENT`]); the workload's consecutive failures counted; at [`MAX_CONSECUTIVE_TRANSIENT_FAILURES`] the workload is disabled | | Error to the mailbox owner when disabled |
//! | mailbox-permanent | the workload disabled at once | | Error to the mailbox owner and the profile owner |
//! | profile-level | nothing: paused by the circuit, never disabled | circuit opened, probed every [`CIRCUIT_PROBE_INTERVAL`] | Error to the profile owner when the circuit opens, none while open |
//! | sync-state-invalid | the sync state dropped, the folder synced again (dedup keeps it duplicate-free) | | |
//!
//! The job itself never sleeps: a postponement is written on the mailbox and the scheduler
//! skips it until then. A successful poll of a profile whose circuit is open (the
//! scheduler's probe) closes the circuit, and every mailbox resumes by itself.

use std::time::Duration as StdDuration;

use exsync_ews::ErrorClass;
use time::{Duration, OffsetDateTime};

use crate::alert::{Alert, AlertLevel, AlertSubject};
use crate::diagnosis::Finding;
use crate::ids::{AlertId, Principal};
use crate::mailbox::{Mailbox, Workload, WorkloadStatus};
use crate::org::OrgSettings;
use crate::profile::{Circuit, Profile};

/// Consecutive transient failures of a workload after which it is disabled.
pub const MAX_CONSECUTIVE_TRANSIENT_FAILURES: u32 = 10;
/// How long a mailbox is postponed after a transient failure without a server hint.
pub const DEFAULT_POSTPONEMENT: Duration = Duration::minutes(5);
/// How long after a failed probe (or the opening) a profile's circuit is probed again.
pub const CIRCUIT_PROBE_INTERVAL: Duration = Duration::minutes(5);

/// One failure of a workload, as the mailbox, the alert and the log show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The EWS response code or the failing step (`ErrorServerBusy`, `TlsFailed`…).
    pub code: String,
    /// What went wrong, in one line (no secrets, no bodies).
    pub problem: String,
    /// What an administrator should check.
    pub advice: String,
    /// The class that decides what happens.
    pub class: ErrorClass,
}

impl Failure {
    /// A failure from the shared diagnosis of an EWS error.
    pub fn from_finding(finding: &Finding, class: ErrorClass) -> Self {
        Failure {
            code: finding.alert_code(),
            problem: finding.problem.clone(),
            advice: finding.advice.clone(),
            class,
        }
    }
}

/// What to do about a failure of a whole workload run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureAction {
    /// Retry later: postpone the mailbox until then and count the failure.
    Postpone {
        /// Not polled before this.
        until: OffsetDateTime,
    },
    /// Disable the workload and alert both owners.
    Disable,
    /// Open the profile's circuit; disable nothing.
    OpenCircuit,
    /// Drop the sync state and sync the folder again.
    Resync,
}

/// The action for a failure of `class` at `now`. Item-level errors that fail a whole call
/// (a folder gone, say) are retried like transient ones: the item itself cannot be skipped.
pub fn action_for(class: &ErrorClass, now: OffsetDateTime) -> FailureAction {
    match class {
        ErrorClass::Transient { back_off } => FailureAction::Postpone {
            until: now + postponement(*back_off),
        },
        ErrorClass::Request | ErrorClass::ItemLevel => FailureAction::Postpone {
            until: now + DEFAULT_POSTPONEMENT,
        },
        ErrorClass::MailboxPermanent => FailureAction::Disable,
        ErrorClass::ProfileLevel => FailureAction::OpenCircuit,
        ErrorClass::SyncStateInvalid => FailureAction::Resync,
    }
}

/// The class the sync engine acts on for an EWS error: the error's own class, except that
/// HTTP 502, 503 or 504 without a SOAP body counts as profile-level. Such an answer says the
/// server (or the proxy in front of it) is unavailable, not that one mailbox is: an outage
/// must open the profile's circuit — every mailbox paused, none disabled, one alert, resumed
/// by the probe — instead of disabling mailboxes one by one after ten transient failures
/// each. Throttling that Exchange itself reports (ErrorServerBusy and the other SOAP codes)
/// stays transient and postpones only the mailbox. See docs/errors.md.
pub fn sync_class(error: &exsync_ews::EwsError) -> ErrorClass {
    use exsync_ews::transport::TransportError;
    match error {
        exsync_ews::EwsError::Transport(TransportError::HttpStatus {
            status: 502..=504, ..
        }) => ErrorClass::ProfileLevel,
        other => other.class(),
    }
}

/// How long to wait after a transient failure: the server's hint, else the default.
pub fn postponement(back_off: Option<StdDuration>) -> Duration {
    back_off
        .and_then(|b| Duration::try_from(b).ok())
        .filter(|d| d.is_positive())
        .unwrap_or(DEFAULT_POSTPONEMENT)
}

fn record_error(mailbox: &mut Mailbox, workload: Workload, failure: &Failure) {
    let state = mailbox.workload_mut(workload);
    state.last_error_code = Some(failure.code.clone());
    state.last_error_text = Some(failure.problem.clone());
}

/// A transient failure: the mailbox is postponed until `until` and the failure counted; at
/// the limit the workload is disabled, and the Error alert to the mailbox owner is
/// returned (when the org writes Error alerts).
pub fn apply_transient(
    mailbox: &mut Mailbox,
    workload: Workload,
    failure: &Failure,
    until: OffsetDateTime,
    settings: &OrgSettings,
    now: OffsetDateTime,
) -> Option<Alert> {
    record_error(mailbox, workload, failure);
    mailbox.scheduler.postponed_until = Some(until);
    let state = mailbox.workload_mut(workload);
    state.consecutive_transient_failures = state.consecutive_transient_failures.saturating_add(1);
    if state.consecutive_transient_failures < MAX_CONSECUTIVE_TRANSIENT_FAILURES {
        return None;
    }
    let failures = state.consecutive_transient_failures;
    state.enabled = false;
    state.status = WorkloadStatus::Failure;
    state.status_at = Some(now);
    let text = format!(
        "The {} workload of the mailbox {} was disabled after {failures} consecutive failures. Last: {}. Check: {}. Run Test & Enable to enable it again.",
        workload.as_str(),
        mailbox.email,
        failure.problem,
        failure.advice,
    );
    alert(
        settings,
        AlertLevel::Error,
        &failure.code,
        text,
        AlertSubject::Mailbox(mailbox.id.clone()),
        vec![mailbox.owner.clone()],
        now,
    )
}

/// A mailbox-permanent failure: the workload is disabled at once; the Error alert goes to
/// the mailbox owner and the profile owner.
pub fn apply_permanent(
    mailbox: &mut Mailbox,
    workload: Workload,
    failure: &Failure,
    profile: &Profile,
    settings: &OrgSettings,
    now: OffsetDateTime,
) -> Option<Alert> {
    record_error(mailbox, workload, failure);
    let state = mailbox.workload_mut(workload);
    state.enabled = false;
    state.status = WorkloadStatus::Failure;
    state.status_at = Some(now);
    state.consecutive_transient_failures = 0;
    let text = format!(
        "The {} workload of the mailbox {} was disabled: {}. Check: {}. Run Test & Enable to enable it again.",
        workload.as_str(),
        mailbox.email,
        failure.problem,
        failure.advice,
    );
    let mut owners = vec![mailbox.owner.clone()];
    if profile.owner.principal != mailbox.owner {
        owners.push(profile.owner.principal.clone());
    }
    alert(
        settings,
        AlertLevel::Error,
        &failure.code,
        text,
        AlertSubject::Mailbox(mailbox.id.clone()),
        owners,
        now,
    )
}

/// Opens the profile's circuit if it is closed (true: it was just opened, so the one alert
/// is due); if it is open already, only moves its next probe (false).
pub fn open_circuit(profile: &mut Profile, failure: &Failure, now: OffsetDateTime) -> bool {
    let next_probe_at = now + CIRCUIT_PROBE_INTERVAL;
    match &mut profile.circuit {
        Circuit::Closed => {
            profile.circuit = Circuit::Open {
                since: now,
                next_probe_at,
                reason: failure.code.clone(),
            };
            true
        }
        Circuit::Open {
            next_probe_at: probe,
            ..
        } => {
            *probe = next_probe_at;
            false
        }
    }
}

/// The Error alert raised when a profile's circuit opens: to the profile owner, and to the
/// mailbox owner whose poll found it when the org notifies mailbox owners of profile alerts.
pub fn circuit_alert(
    profile: &Profile,
    mailbox: &Mailbox,
    failure: &Failure,
    settings: &OrgSettings,
    now: OffsetDateTime,
) -> Option<Alert> {
    let mut owners = vec![profile.owner.principal.clone()];
    if settings.notify_mailbox_owners_of_profile_alerts && mailbox.owner != profile.owner.principal
    {
        owners.push(mailbox.owner.clone());
    }
    let text = format!(
        "Exchange cannot be reached for the email server profile {}: {}. Check: {}. Its mailboxes are paused, none is disabled; exsync checks again every {} minutes and resumes them by itself.",
        profile.name,
        failure.problem,
        failure.advice,
        CIRCUIT_PROBE_INTERVAL.whole_minutes(),
    );
    alert(
        settings,
        AlertLevel::Error,
        &failure.code,
        text,
        AlertSubject::Profile(profile.id.clone()),
        owners,
        now,
    )
}

/// Closes an open circuit; true when it was open.
pub fn close_circuit(profile: &mut Profile) -> bool {
    let was_open = matches!(profile.circuit, Circuit::Open { .. });
    profile.circuit = Circuit::Closed;
    was_open
}

fn alert(
    settings: &OrgSettings,
    level: AlertLevel,
    code: &str,
    text: String,
    subject: AlertSubject,
    owners: Vec<Principal>,
    now: OffsetDateTime,
) -> Option<Alert> {
    settings.writes_alerts(level).then(|| Alert {
        id: AlertId::new(),
        level,
        code: code.to_owned(),
        text,
        subject,
        owners,
        at: now,
        expires_at: now + Duration::days(i64::from(settings.alert_retention_days)),
        dismissed: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-01 12:00 UTC);

    #[test]
    fn throttling_postpones_for_the_servers_back_off() {
        let class = ErrorClass::Transient {
            back_off: Some(StdDuration::from_secs(30)),
        };
        assert_eq!(
            action_for(&class, NOW),
            FailureAction::Postpone {
                until: NOW + Duration::seconds(30)
            }
        );
    }

    #[test]
    fn a_transient_failure_without_a_hint_postpones_five_minutes() {
        let class = ErrorClass::Transient { back_off: None };
        assert_eq!(
            action_for(&class, NOW),
            FailureAction::Postpone {
                until: NOW + Duration::minutes(5)
            }
        );
    }

    #[test]
    fn each_class_has_its_action() {
        assert_eq!(
            action_for(&ErrorClass::MailboxPermanent, NOW),
            FailureAction::Disable
        );
        assert_eq!(
            action_for(&ErrorClass::ProfileLevel, NOW),
            FailureAction::OpenCircuit
        );
        assert_eq!(
            action_for(&ErrorClass::SyncStateInvalid, NOW),
            FailureAction::Resync
        );
    }
}
