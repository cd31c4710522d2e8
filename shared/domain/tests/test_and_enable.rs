//! Test & Enable against the Exchange simulator: per-workload checks, enabling,
//! statuses, alerts, approval, delivery methods, refusals, bulk runs and jobs.

mod support;

use exsync_domain::DomainError;
use exsync_domain::alert::{AlertLevel, AlertSubject};
use exsync_domain::ids::Principal;
use exsync_domain::job::JobState;
use exsync_domain::mailbox::{MailboxInput, Workload, WorkloadStatus};
use exsync_domain::org::DeliveryMethod;
use exsync_domain::ports::Clock as _;
use exsync_domain::privilege::Privilege;
use exsync_domain::profile::ProfileInput;
use exsync_domain::service::ItemStatus;
use exsync_domain::test_enable::{CheckOutcome, RetryPolicy};
use exsync_ews_sim::FaultKind;
use exsync_ews_sim::FaultRule;
use exsync_ews_sim::store::DistinguishedFolder;
use support::*;

#[tokio::test]
async fn an_approved_mailbox_passes_every_workload_and_is_enabled() {
    let w = World::start();
    let p = w.profile().await;
    let m = w.mailbox(&p.id, ALICE, "alice").await;
    w.approve(&[&m.id]).await;
    let report = w
        .admin
        .test_and_enable_one(&m.id, RetryPolicy::NONE)
        .await
        .unwrap();
    assert_eq!(report.status, WorkloadStatus::Success);
    for check in &report.workloads {
        assert_eq!(check.outcome, CheckOutcome::Success, "{check:?}");
        assert!(check.enabled);
    }
    let stored = w.admin.get_mailbox(&admin(), &m.id).await.unwrap();
    let w_now = w.clock.now();
    for w in Workload::ALL {
        let state = match w {
            Workload::Incoming => &stored.incoming_state,
            Workload::Outgoing => &stored.outgoing_state,
            Workload::AppointmentsContactsTasks => &stored.act_state,
        };
        assert!(
            state.enabled && state.status == WorkloadStatus::Success,
            "{w:?}"
        );
        assert_eq!(state.status_at, Some(w_now));
    }
    assert_eq!(stored.status, WorkloadStatus::Success);
}

#[tokio::test]
async fn the_outgoing_check_leaves_no_draft_behind() {
    let w = World::start();
    let p = w.profile().await;
    let m = w.mailbox(&p.id, ALICE, "alice").await;
    w.approve(&[&m.id]).await;
    w.admin
        .test_and_enable_one(&m.id, RetryPolicy::NONE)
        .await
        .unwrap();
    assert_eq!(w.sim.request_count("CreateItem"), 1);
    assert_eq!(w.sim.request_count("DeleteItem"), 1);
    assert_eq!(
        w.sim
            .exchange()
            .item_count(ALICE, DistinguishedFolder::Drafts)
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn success_alerts_the_mailbox_owner_only() {
    let w = World::start();
    let p = w.profile().await;
    let m = w.mailbox(&p.id, ALICE, "alice").await;
    w.approve(&[&m.id]).await;
    w.admin
        .test_and_enable_one(&m.id, RetryPolicy::NONE)
        .await
        .unwrap();
    let alerts = w.store.lock().alerts.clone();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].level, AlertLevel::Information);
    assert_eq!(alerts[0].code, "TestAndEnableSucceeded");
    assert_eq!(alerts[0].owners, vec![Principal::parse("alice").unwrap()]);
    assert_eq!(alerts[0].subject, AlertSubject::Mailbox(m.id.clone()));
    assert_eq!(
        alerts[0].expires_at - alerts[0].at,
        time::Duration::days(30)
    );
}

#[tokio::test]
async fn denied_impersonation_fails_every_workload_and_alerts_both_owners() {
    let w = World::start();
    let p = w.profile().await;
    let m = w.mailbox(&p.id, CAROL, "carol").await;
    w.approve(&[&m.id]).await;
    let report = w
        .admin
        .test_and_enable_one(&m.id, RetryPolicy::NONE)
        .await
        .unwrap();
    assert_eq!(report.status, WorkloadStatus::Failure);
    for check in &report.workloads {
        assert_eq!(check.outcome, CheckOutcome::Failure);
        assert!(!check.enabled);
        assert_eq!(
            check.error_code.as_deref(),
            Some("ErrorImpersonateUserDenied")
        );
    }
    let stored = w.admin.get_mailbox(&admin(), &m.id).await.unwrap();
    assert!(!stored.incoming_state.enabled);
    assert_eq!(
        stored.incoming_state.last_error_code.as_deref(),
        Some("ErrorImpersonateUserDenied")
    );
    let alerts = w.store.lock().alerts.clone();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].level, AlertLevel::Error);
    assert_eq!(
        alerts[0].owners,
        vec![
            Principal::parse("carol").unwrap(),
            Principal::parse("exchange-admin").unwrap()
        ]
    );
    assert!(
        alerts[0].text.contains("ApplicationImpersonation"),
        "{}",
        alerts[0].text
    );
    assert!(
        alerts[0].text.contains("Nothing was enabled"),
        "{}",
        alerts[0].text
    );
}

#[tokio::test]
async fn an_unapproved_mailbox_is_not_tested_and_the_alert_says_why() {
    let w = World::start();
    let p = w.profile().await;
    let m = w.mailbox(&p.id, ALICE, "alice").await;
    let report = w
        .admin
        .test_and_enable_one(&m.id, RetryPolicy::NONE)
        .await
        .unwrap();
    assert_eq!(
        w.sim.request_count("GetFolder"),
        0,
        "nothing was sent to Exchange"
    );
    for check in &report.workloads {
        assert!(!check.enabled);
        assert_eq!(check.error_code.as_deref(), Some("EmailAddressNotApproved"));
    }
    let alerts = w.store.lock().alerts.clone();
    assert_eq!(alerts[0].code, "EmailAddressNotApproved");
    assert!(
        alerts[0].text.contains("not approved"),
        "{}",
        alerts[0].text
    );
}

#[tokio::test]
async fn without_the_approval_requirement_an_unapproved_mailbox_is_enabled() {
    let w = World::start();
    w.no_approval_needed().await;
    let p = w.profile().await;
    let m = w.mailbox(&p.id, ALICE, "alice").await;
    let report = w
        .admin
        .test_and_enable_one(&m.id, RetryPolicy::NONE)
        .await
        .unwrap();
    assert_eq!(report.status, WorkloadStatus::Success);
}

#[tokio::test]
async fn a_workload_not_on_server_side_sync_is_not_tested() {
    let w = World::start();
    w.no_approval_needed().await;
    let p = w.profile().await;
    let m = w
        .admin
        .create_mailbox(
            &admin(),
            MailboxInput {
                name: Some("Alice".into()),
                email: Some(ALICE.into()),
                owner: Some("alice".into()),
                profile_id: Some(p.id.to_string()),
                outgoing: Some(DeliveryMethod::EmailRouter),
                ..MailboxInput::default()
            },
        )
        .await
        .unwrap();
    let report = w
        .admin
        .test_and_enable_one(&m.id, RetryPolicy::NONE)
        .await
        .unwrap();
    let outgoing = report
        .workloads
        .iter()
        .find(|c| c.workload == Workload::Outgoing)
        .unwrap();
    assert_eq!(outgoing.outcome, CheckOutcome::NotTested);
    assert!(!outgoing.enabled);
    assert!(
        outgoing
            .error_text
            .as_deref()
            .unwrap()
            .contains("not server-side synchronization")
    );
    assert_eq!(w.sim.request_count("CreateItem"), 0);
    assert_eq!(
        report.status,
        WorkloadStatus::Success,
        "the tested workloads passed"
    );
}

#[tokio::test]
async fn an_inactive_profile_is_refused_with_a_clear_message() {
    let w = World::start();
    let p = w
        .admin
        .create_profile(
            &admin(),
            ProfileInput {
                active: Some(false),
                ..w.profile_input()
            },
        )
        .await
        .unwrap();
    let m = w.mailbox(&p.id, ALICE, "alice").await;
    let err = w
        .admin
        .test_and_enable_one(&m.id, RetryPolicy::NONE)
        .await
        .unwrap_err();
    let DomainError::Conflict(message) = err else {
        panic!("{err:?}")
    };
    assert!(message.contains("is inactive"), "{message}");
}

#[tokio::test]
async fn a_mailbox_with_its_own_credentials_is_tested_without_impersonation() {
    let w = World::start();
    w.no_approval_needed().await;
    let p = w
        .admin
        .create_profile(
            &admin(),
            ProfileInput {
                credentials_location: Some(exsync_domain::profile::CredentialsLocation::Mailbox),
                user_name: None,
                password: None,
                ..w.profile_input()
            },
        )
        .await
        .unwrap();
    let m = w
        .admin
        .create_mailbox(
            &admin(),
            MailboxInput {
                name: Some("Alice".into()),
                email: Some(ALICE.into()),
                owner: Some("alice".into()),
                profile_id: Some(p.id.to_string()),
                user_name: Some(ALICE_LOGON.into()),
                password: Some(ALICE_PASSWORD.into()),
                ..MailboxInput::default()
            },
        )
        .await
        .unwrap();
    let report = w
        .admin
        .test_and_enable_one(&m.id, RetryPolicy::NONE)
        .await
        .unwrap();
    assert_eq!(report.status, WorkloadStatus::Success, "{report:?}");
}

#[tokio::test]
async fn a_transient_failure_is_retried_by_the_job_policy() {
    let w = World::start();
    w.no_approval_needed().await;
    let p = w.profile().await;
    let m = w.mailbox(&p.id, ALICE, "alice").await;
    w.sim.add_fault(FaultRule::next(
        Some("GetFolder"),
        1,
        FaultKind::ServerBusy { back_off_ms: 0 },
    ));
    let policy = RetryPolicy {
        attempts: 3,
        delay: std::time::Duration::ZERO,
        max_delay: std::time::Duration::ZERO,
    };
    let report = w.admin.test_and_enable_one(&m.id, policy).await.unwrap();
    let incoming = report
        .workloads
        .iter()
        .find(|c| c.workload == Workload::Incoming)
        .unwrap();
    assert_eq!(incoming.outcome, CheckOutcome::Success);
    assert_eq!(incoming.attempts, 2);
}

#[tokio::test]
async fn without_retries_a_transient_failure_counts_and_is_marked_transient() {
    let w = World::start();
    w.no_approval_needed().await;
    let p = w.profile().await;
    let m = w.mailbox(&p.id, ALICE, "alice").await;
    w.sim.add_fault(FaultRule::next(
        Some("GetFolder"),
        1,
        FaultKind::ServerBusy { back_off_ms: 0 },
    ));
    let report = w
        .admin
        .test_and_enable_one(&m.id, RetryPolicy::NONE)
        .await
        .unwrap();
    let incoming = report
        .workloads
        .iter()
        .find(|c| c.workload == Workload::Incoming)
        .unwrap();
    assert_eq!(incoming.outcome, CheckOutcome::Failure);
    assert!(incoming.transient);
    assert!(report.only_transient_failures());
    let stored = w.admin.get_mailbox(&admin(), &m.id).await.unwrap();
    assert_eq!(stored.incoming_state.consecutive_transient_failures, 1);
}

#[tokio::test]
async fn up_to_five_mailboxes_are_tested_inline_and_the_rest_queued_as_a_job() {
    let w = World::start();
    w.no_approval_needed().await;
    let p = w.profile().await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let email = if i % 2 == 0 { ALICE } else { BOB };
        ids.push(
            w.mailbox(&p.id, email, &format!("owner{i}"))
                .await
                .id
                .to_string(),
        );
    }
    let outcome = w
        .admin
        .test_and_enable_mailboxes(&admin(), &ids)
        .await
        .unwrap();
    let statuses: Vec<ItemStatus> = outcome.results.iter().map(|r| r.status).collect();
    assert_eq!(statuses[..5], [ItemStatus::Ok; 5]);
    assert_eq!(statuses[5..], [ItemStatus::Queued; 2]);
    let job = outcome.job.unwrap();
    assert_eq!((job.total, job.state), (2, JobState::Queued));
    assert_eq!(*w.queue.jobs.lock().unwrap(), vec![job.id.clone()]);
    let queued = w
        .admin
        .get_mailbox(
            &admin(),
            &exsync_domain::ids::MailboxId::parse(&ids[6]).unwrap(),
        )
        .await
        .unwrap();
    assert!(queued.test_scheduled);

    let done = w.admin.run_job(&job.id).await.unwrap();
    assert_eq!(
        (done.state, done.done, done.succeeded, done.failed),
        (JobState::Completed, 2, 2, 0)
    );
    let tested = w
        .admin
        .get_mailbox(
            &admin(),
            &exsync_domain::ids::MailboxId::parse(&ids[6]).unwrap(),
        )
        .await
        .unwrap();
    assert!(!tested.test_scheduled);
    assert_eq!(tested.status, WorkloadStatus::Success);
}

#[tokio::test]
async fn the_profile_job_tests_every_active_mailbox_and_reports_progress() {
    let w = World::start();
    w.no_approval_needed().await;
    let p = w.profile().await;
    w.mailbox(&p.id, ALICE, "alice").await;
    w.mailbox(&p.id, BOB, "bob").await;
    w.mailbox(&p.id, CAROL, "carol").await;
    let inactive = w.mailbox(&p.id, BOB, "bob2").await;
    w.admin
        .update_mailbox(
            &admin(),
            &inactive.id,
            MailboxInput {
                version: Some(inactive.version),
                active: Some(false),
                ..MailboxInput::default()
            },
        )
        .await
        .unwrap();
    let job = w
        .admin
        .test_and_enable_profile(&admin(), &p.id)
        .await
        .unwrap();
    assert_eq!(job.total, 3);
    let done = w.admin.run_job(&job.id).await.unwrap();
    assert_eq!(
        (done.state, done.done, done.succeeded, done.failed),
        (JobState::Completed, 3, 2, 1)
    );
    let seen = w.admin.get_job(&admin(), &job.id).await.unwrap();
    assert_eq!(seen, done);
}

#[tokio::test]
async fn running_a_finished_job_again_changes_nothing() {
    let w = World::start();
    w.no_approval_needed().await;
    let p = w.profile().await;
    w.mailbox(&p.id, ALICE, "alice").await;
    let job = w
        .admin
        .test_and_enable_profile(&admin(), &p.id)
        .await
        .unwrap();
    let first = w.admin.run_job(&job.id).await.unwrap();
    let calls = w.sim.request_count("GetFolder");
    let again = w.admin.run_job(&job.id).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(w.sim.request_count("GetFolder"), calls);
}

#[tokio::test]
async fn a_job_found_running_resumes_after_the_mailboxes_it_counted() {
    let w = World::start();
    w.no_approval_needed().await;
    let p = w.profile().await;
    let a = w.mailbox(&p.id, ALICE, "alice").await;
    let b = w.mailbox(&p.id, BOB, "bob").await;
    // A job of both, whose worker died after the first.
    let job = exsync_domain::job::Job {
        id: exsync_domain::ids::JobId::new(),
        kind: exsync_domain::job::JobKind::TestAndEnableMailboxes {
            mailbox_ids: vec![a.id.clone(), b.id.clone()],
        },
        state: JobState::Running,
        total: 2,
        done: 1,
        succeeded: 1,
        failed: 0,
        requested_by: Principal::parse("admin").unwrap(),
        created_at: w.clock.now(),
        updated_at: w.clock.now(),
    };
    w.store.lock().jobs.insert(job.id.to_string(), job.clone());
    let before = w.sim.request_count("CreateItem");
    let done = w.admin.run_job(&job.id).await.unwrap();
    assert_eq!((done.done, done.succeeded), (2, 2));
    assert_eq!(
        w.sim.request_count("CreateItem") - before,
        1,
        "only the second mailbox ran"
    );
}

#[tokio::test]
async fn test_and_enable_needs_its_privilege() {
    let w = World::start();
    let p = w.profile().await;
    let m = w.mailbox(&p.id, ALICE, "alice").await;
    let err = w
        .admin
        .test_and_enable_mailboxes(
            &caller(
                "mgr",
                &[Privilege::ReadMailboxes, Privilege::WriteMailboxes],
            ),
            &[m.id.to_string()],
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        DomainError::Forbidden(Privilege::TestAndEnable)
    ));
}
