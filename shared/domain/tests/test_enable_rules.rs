//! Test & Enable's rules without Exchange: the plan per workload, refusals, what a report
//! does to the mailbox, and which alerts it raises.

use exsync_domain::alert::AlertLevel;
use exsync_domain::ids::Principal;
use exsync_domain::mailbox::{
    Approval, Mailbox, MailboxInput, MailboxKind, MailboxRules, Workload, WorkloadStatus,
};
use exsync_domain::org::{AlertLevels, DeliveryMethod, OrgSettings};
use exsync_domain::profile::{ExchangeVersion, Profile, ProfileInput};
use exsync_domain::test_enable::{
    CheckOutcome, Execution, Failure, Plan, alerts_for, apply_report, build_report, plan, refusal,
};
use time::macros::datetime;

const NOW: time::OffsetDateTime = datetime!(2026-03-02 09:00 UTC);

fn profile() -> Profile {
    ProfileInput {
        name: Some("p".into()),
        owner: Some("exchange-admin".into()),
        owner_email: Some("admins@contoso.test".into()),
        exchange_version: Some(ExchangeVersion::Exchange2010Sp3),
        user_name: Some("CONTOSO\\svc".into()),
        password: Some("pw".into()),
        ..ProfileInput::default()
    }
    .validate(None, None, NOW)
    .unwrap()
    .profile
}

fn mailbox(kind: MailboxKind, approval: Approval) -> Mailbox {
    let p = profile();
    let mut m = MailboxInput {
        name: Some("Alice".into()),
        email: Some("alice@contoso.test".into()),
        kind: Some(kind),
        owner: Some("alice".into()),
        ..MailboxInput::default()
    }
    .validate(MailboxRules {
        existing: None,
        profile: Some(&p),
        settings: &OrgSettings::default(),
        caller: None,
        now: NOW,
    })
    .unwrap()
    .mailbox;
    m.approval = approval;
    m
}

fn failure(code: &str, transient: bool) -> Failure {
    Failure {
        code: code.into(),
        text: format!("{code} happened"),
        advice: "check it".into(),
        transient,
    }
}

/// A report where each tested workload got `result`.
fn execution(m: &Mailbox, result: Option<Failure>) -> Execution {
    Execution {
        results: plan(m, &OrgSettings::default())
            .into_iter()
            .filter(|(_, p)| *p == Plan::Test)
            .map(|(w, _)| (w, 1, result.clone()))
            .collect(),
        ews_url: Some("https://mail.contoso.test/EWS/Exchange.asmx".into()),
        discovered: true,
    }
}

#[test]
fn an_approved_mailbox_tests_every_server_side_workload() {
    let m = mailbox(MailboxKind::User, Approval::Approved);
    assert!(
        plan(&m, &OrgSettings::default())
            .iter()
            .all(|(_, p)| *p == Plan::Test)
    );
}

#[test]
fn an_unapproved_mailbox_awaits_approval_when_the_org_requires_it() {
    let m = mailbox(MailboxKind::User, Approval::Pending);
    assert!(
        plan(&m, &OrgSettings::default())
            .iter()
            .all(|(_, p)| *p == Plan::AwaitingApproval)
    );
}

#[test]
fn an_unapproved_queue_is_tested_when_queues_need_no_approval() {
    let m = mailbox(MailboxKind::Queue, Approval::Empty);
    let settings = OrgSettings {
        approval_required_for_queue_mailboxes: false,
        ..OrgSettings::default()
    };
    let plans = plan(&m, &settings);
    assert_eq!(plans[0], (Workload::Incoming, Plan::Test));
    assert_eq!(
        plans[2],
        (Workload::AppointmentsContactsTasks, Plan::NotServerSideSync)
    );
}

#[test]
fn a_workload_off_server_side_sync_is_not_tested() {
    let mut m = mailbox(MailboxKind::User, Approval::Approved);
    m.incoming = DeliveryMethod::None;
    assert_eq!(
        plan(&m, &OrgSettings::default())[0],
        (Workload::Incoming, Plan::NotServerSideSync)
    );
}

#[test]
fn an_inactive_mailbox_is_refused() {
    let mut m = mailbox(MailboxKind::User, Approval::Approved);
    m.active = false;
    assert!(
        refusal(&m, Some(&profile()))
            .unwrap()
            .contains("mailbox alice@contoso.test is inactive")
    );
}

#[test]
fn a_mailbox_without_a_profile_is_refused() {
    let m = mailbox(MailboxKind::User, Approval::Approved);
    assert!(
        refusal(&m, None)
            .unwrap()
            .contains("no email server profile")
    );
}

#[test]
fn an_inactive_profile_is_refused() {
    let m = mailbox(MailboxKind::User, Approval::Approved);
    let p = Profile {
        active: false,
        ..profile()
    };
    assert!(
        refusal(&m, Some(&p))
            .unwrap()
            .contains("profile p is inactive")
    );
}

#[test]
fn success_enables_the_workload_and_clears_its_error() {
    let mut m = mailbox(MailboxKind::User, Approval::Approved);
    m.incoming_state.last_error_code = Some("ErrorServerBusy".into());
    m.incoming_state.consecutive_transient_failures = 3;
    let plans = plan(&m, &OrgSettings::default());
    let report = build_report(&m, &plans, &execution(&m, None), NOW);
    apply_report(&mut m, &report, true);
    assert!(m.incoming_state.enabled);
    assert_eq!(m.incoming_state.status, WorkloadStatus::Success);
    assert_eq!(m.incoming_state.last_error_code, None);
    assert_eq!(m.incoming_state.consecutive_transient_failures, 0);
    assert_eq!(
        m.scheduler.cached_ews_url.as_deref(),
        Some("https://mail.contoso.test/EWS/Exchange.asmx")
    );
}

#[test]
fn a_permanent_failure_disables_the_workload_with_its_code() {
    let mut m = mailbox(MailboxKind::User, Approval::Approved);
    m.outgoing_state.enabled = true;
    let plans = plan(&m, &OrgSettings::default());
    let report = build_report(
        &m,
        &plans,
        &execution(&m, Some(failure("ErrorAccessDenied", false))),
        NOW,
    );
    apply_report(&mut m, &report, false);
    assert!(!m.outgoing_state.enabled);
    assert_eq!(m.outgoing_state.status, WorkloadStatus::Failure);
    assert_eq!(
        m.outgoing_state.last_error_code.as_deref(),
        Some("ErrorAccessDenied")
    );
    assert_eq!(m.outgoing_state.consecutive_transient_failures, 0);
    assert_eq!(report.status, WorkloadStatus::Failure);
}

#[test]
fn a_transient_failure_counts_towards_the_sync_engine_s_limit() {
    let mut m = mailbox(MailboxKind::User, Approval::Approved);
    m.incoming_state.consecutive_transient_failures = 2;
    let plans = plan(&m, &OrgSettings::default());
    let report = build_report(
        &m,
        &plans,
        &execution(&m, Some(failure("ErrorServerBusy", true))),
        NOW,
    );
    assert!(report.only_transient_failures());
    apply_report(&mut m, &report, false);
    assert_eq!(m.incoming_state.consecutive_transient_failures, 3);
}

#[test]
fn an_untested_workload_is_not_run_and_not_enabled() {
    let mut m = mailbox(MailboxKind::User, Approval::Approved);
    m.incoming = DeliveryMethod::EmailRouter;
    m.incoming_state.enabled = true;
    let plans = plan(&m, &OrgSettings::default());
    let report = build_report(&m, &plans, &execution(&m, None), NOW);
    assert_eq!(report.workloads[0].outcome, CheckOutcome::NotTested);
    apply_report(&mut m, &report, false);
    assert!(!m.incoming_state.enabled);
    assert_eq!(m.incoming_state.status, WorkloadStatus::NotRun);
}

#[test]
fn approval_failures_enable_nothing_and_say_so() {
    let m = mailbox(MailboxKind::Queue, Approval::Rejected);
    let plans = plan(&m, &OrgSettings::default());
    let report = build_report(&m, &plans, &Execution::default(), NOW);
    let alerts = alerts_for(&report, &m, &profile(), &OrgSettings::default(), NOW);
    assert_eq!(alerts[0].code, "EmailAddressNotApproved");
    assert!(
        alerts[0].text.contains("only for approved queue mailboxes"),
        "{}",
        alerts[0].text
    );
    assert!(alerts[0].text.contains("Nothing was enabled"));
}

#[test]
fn a_failure_alerts_the_mailbox_owner_and_the_profile_owner() {
    let m = mailbox(MailboxKind::User, Approval::Approved);
    let plans = plan(&m, &OrgSettings::default());
    let report = build_report(
        &m,
        &plans,
        &execution(&m, Some(failure("ErrorAccessDenied", false))),
        NOW,
    );
    let alerts = alerts_for(&report, &m, &profile(), &OrgSettings::default(), NOW);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].level, AlertLevel::Error);
    assert_eq!(
        alerts[0].owners,
        [
            Principal::parse("alice").unwrap(),
            Principal::parse("exchange-admin").unwrap()
        ]
    );
    assert!(
        alerts[0]
            .text
            .contains("ErrorAccessDenied happened (check: check it)"),
        "{}",
        alerts[0].text
    );
}

#[test]
fn an_owner_of_both_is_alerted_once() {
    let mut m = mailbox(MailboxKind::User, Approval::Approved);
    m.owner = Principal::parse("exchange-admin").unwrap();
    let plans = plan(&m, &OrgSettings::default());
    let report = build_report(&m, &plans, &execution(&m, Some(failure("X", false))), NOW);
    let alerts = alerts_for(&report, &m, &profile(), &OrgSettings::default(), NOW);
    assert_eq!(alerts[0].owners.len(), 1);
}

#[test]
fn alert_levels_turned_off_write_nothing() {
    let m = mailbox(MailboxKind::User, Approval::Approved);
    let plans = plan(&m, &OrgSettings::default());
    let report = build_report(&m, &plans, &execution(&m, None), NOW);
    let quiet = OrgSettings {
        alert_levels: AlertLevels {
            error: true,
            warning: false,
            information: false,
        },
        ..OrgSettings::default()
    };
    assert!(alerts_for(&report, &m, &profile(), &quiet, NOW).is_empty());
}

#[test]
fn alerts_expire_after_the_org_s_retention() {
    let m = mailbox(MailboxKind::User, Approval::Approved);
    let plans = plan(&m, &OrgSettings::default());
    let report = build_report(&m, &plans, &execution(&m, None), NOW);
    let settings = OrgSettings {
        alert_retention_days: 7,
        ..OrgSettings::default()
    };
    let alerts = alerts_for(&report, &m, &profile(), &settings, NOW);
    assert_eq!(alerts[0].expires_at, NOW + time::Duration::days(7));
}
