//! The scheduling rules (`exsync_domain::schedule`): one test per rule.

use exsync_domain::ids::{MailboxId, Principal};
use exsync_domain::mailbox::{
    Approval, Mailbox, MailboxInput, MailboxKind, MailboxRules, Workload, WorkloadStatus,
};
use exsync_domain::org::{ActDeliveryMethod, DeliveryMethod, OrgSettings};
use exsync_domain::profile::{CredentialsLocation, ExchangeVersion, Profile, ProfileInput};
use exsync_domain::schedule::{
    INTERVAL_LADDER, adaptive_interval, connection_slot, due_workloads, ladder_interval,
    poll_group, refresh_schedule,
};
use std::collections::HashSet;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-03-02 09:00 UTC);

fn profile(location: CredentialsLocation) -> Profile {
    let (user, password) = match location {
        CredentialsLocation::Profile => (Some("CONTOSO\\svc".into()), Some("pw".into())),
        CredentialsLocation::Mailbox => (None, None),
    };
    ProfileInput {
        name: Some("p".into()),
        owner_email: Some("admins@contoso.test".into()),
        exchange_version: Some(ExchangeVersion::Exchange2016),
        credentials_location: Some(location),
        user_name: user,
        password,
        process_email_from: Some("2026-01-01T00:00:00Z".into()),
        ..ProfileInput::default()
    }
    .validate(None, Principal::parse("admin").as_ref(), NOW)
    .unwrap()
    .profile
}

fn with_min_interval(minutes: u32) -> Profile {
    let mut p = profile(CredentialsLocation::Profile);
    p.min_polling_interval_minutes = minutes;
    p
}

/// An active, approved user mailbox on `p` with every workload enabled, created at NOW.
fn enabled_mailbox(p: &Profile, kind: MailboxKind) -> Mailbox {
    let mut m = MailboxInput {
        name: Some("Alice".into()),
        email: Some("alice@contoso.test".into()),
        kind: Some(kind),
        profile_id: Some(p.id.to_string()),
        user_name: (p.credentials_location == CredentialsLocation::Mailbox)
            .then(|| "CONTOSO\\alice".into()),
        password: (p.credentials_location == CredentialsLocation::Mailbox).then(|| "pw".into()),
        ..MailboxInput::default()
    }
    .validate(MailboxRules {
        existing: None,
        profile: Some(p),
        settings: &OrgSettings::default(),
        caller: Principal::parse("alice").as_ref(),
        now: NOW,
    })
    .unwrap()
    .mailbox;
    m.approval = Approval::Approved;
    for w in Workload::ALL {
        m.workload_mut(w).enabled = m.uses_server_side_sync(w);
    }
    m
}

fn interval_after_idle(idle: Duration) -> u32 {
    let p = with_min_interval(0);
    adaptive_interval(
        &p,
        &OrgSettings::default(),
        Some(NOW - idle),
        NOW - Duration::days(30),
        NOW,
    )
}

// --- the ladder and the adaptive interval ---------------------------------------------

#[test]
fn an_interval_snaps_up_to_the_next_ladder_value() {
    assert_eq!(ladder_interval(0), 1);
    assert_eq!(ladder_interval(3), 5);
    assert_eq!(ladder_interval(11), 15);
    assert_eq!(ladder_interval(16), 30);
    assert_eq!(ladder_interval(481), 1440);
}

#[test]
fn a_ladder_value_is_kept_as_it_is() {
    for rung in INTERVAL_LADDER {
        assert_eq!(ladder_interval(rung), rung);
    }
}

#[test]
fn an_interval_above_a_day_is_a_day() {
    assert_eq!(ladder_interval(5000), 1440);
}

#[test]
fn mail_in_the_last_hour_means_five_minutes() {
    assert_eq!(interval_after_idle(Duration::ZERO), 5);
    assert_eq!(
        interval_after_idle(Duration::hours(1) - Duration::SECOND),
        5
    );
}

#[test]
fn an_hour_idle_means_ten_minutes() {
    assert_eq!(interval_after_idle(Duration::hours(1)), 10);
    assert_eq!(
        interval_after_idle(Duration::hours(6) - Duration::SECOND),
        10
    );
}

#[test]
fn six_hours_idle_means_fifteen_minutes() {
    assert_eq!(interval_after_idle(Duration::hours(6)), 15);
    assert_eq!(
        interval_after_idle(Duration::hours(24) - Duration::SECOND),
        15
    );
}

#[test]
fn a_day_idle_means_the_cap_of_thirty_minutes() {
    assert_eq!(interval_after_idle(Duration::hours(24)), 30);
    assert_eq!(interval_after_idle(Duration::days(365)), 30);
}

#[test]
fn a_mailbox_without_mail_yet_counts_idle_time_from_its_creation() {
    let p = with_min_interval(0);
    assert_eq!(
        adaptive_interval(
            &p,
            &OrgSettings::default(),
            None,
            NOW - Duration::minutes(10),
            NOW
        ),
        5
    );
    assert_eq!(
        adaptive_interval(
            &p,
            &OrgSettings::default(),
            None,
            NOW - Duration::hours(2),
            NOW
        ),
        10
    );
}

#[test]
fn a_last_activity_in_the_future_counts_as_just_now() {
    assert_eq!(interval_after_idle(-Duration::hours(3)), 5);
}

#[test]
fn the_profile_minimum_wins_over_a_busy_mailbox() {
    let p = with_min_interval(60);
    assert_eq!(
        adaptive_interval(&p, &OrgSettings::default(), Some(NOW), NOW, NOW),
        60
    );
}

#[test]
fn the_profile_minimum_snaps_to_the_ladder() {
    let p = with_min_interval(45);
    assert_eq!(
        adaptive_interval(&p, &OrgSettings::default(), Some(NOW), NOW, NOW),
        60
    );
}

#[test]
fn the_idle_curve_wins_over_a_smaller_profile_minimum() {
    let p = with_min_interval(2);
    assert_eq!(
        adaptive_interval(
            &p,
            &OrgSettings::default(),
            Some(NOW - Duration::days(2)),
            NOW,
            NOW
        ),
        30
    );
}

fn org_polling_active_mailboxes_every(minutes: u32) -> OrgSettings {
    OrgSettings {
        active_polling_interval_minutes: minutes,
        ..OrgSettings::default()
    }
}

#[test]
fn the_orgs_active_polling_interval_sets_the_pace_of_a_mailbox_with_recent_mail() {
    let p = with_min_interval(0);
    let org = org_polling_active_mailboxes_every(1);
    assert_eq!(adaptive_interval(&p, &org, Some(NOW), NOW, NOW), 1);
    assert_eq!(
        adaptive_interval(&p, &org, None, NOW - Duration::minutes(10), NOW),
        1,
        "a newly enabled mailbox starts at the active interval"
    );
}

#[test]
fn a_faster_active_interval_leaves_quieter_mailboxes_on_the_idle_curve() {
    let p = with_min_interval(0);
    let org = org_polling_active_mailboxes_every(1);
    assert_eq!(
        adaptive_interval(&p, &org, Some(NOW - Duration::hours(2)), NOW, NOW),
        10
    );
    assert_eq!(
        adaptive_interval(&p, &org, Some(NOW - Duration::days(2)), NOW, NOW),
        30
    );
}

#[test]
fn no_mailbox_is_polled_faster_than_a_slower_active_interval() {
    let p = with_min_interval(0);
    let org = org_polling_active_mailboxes_every(15);
    assert_eq!(adaptive_interval(&p, &org, Some(NOW), NOW, NOW), 15);
    assert_eq!(
        adaptive_interval(&p, &org, Some(NOW - Duration::hours(2)), NOW, NOW),
        15
    );
}

#[test]
fn the_profile_minimum_wins_over_a_faster_active_interval() {
    let p = with_min_interval(10);
    let org = org_polling_active_mailboxes_every(1);
    assert_eq!(adaptive_interval(&p, &org, Some(NOW), NOW, NOW), 10);
}

// --- due workloads ------------------------------------------------------------------

#[test]
fn an_enabled_approved_mailbox_is_due_for_every_enabled_workload() {
    let p = profile(CredentialsLocation::Profile);
    let m = enabled_mailbox(&p, MailboxKind::User);
    assert_eq!(
        due_workloads(&m, Some(&p), &OrgSettings::default()),
        Workload::ALL.to_vec()
    );
}

#[test]
fn an_inactive_mailbox_is_not_due() {
    let p = profile(CredentialsLocation::Profile);
    let mut m = enabled_mailbox(&p, MailboxKind::User);
    m.active = false;
    assert!(due_workloads(&m, Some(&p), &OrgSettings::default()).is_empty());
}

#[test]
fn a_mailbox_on_an_inactive_profile_is_not_due() {
    let mut p = profile(CredentialsLocation::Profile);
    let m = enabled_mailbox(&p, MailboxKind::User);
    p.active = false;
    assert!(due_workloads(&m, Some(&p), &OrgSettings::default()).is_empty());
}

#[test]
fn a_mailbox_without_its_profile_is_not_due() {
    let p = profile(CredentialsLocation::Profile);
    let m = enabled_mailbox(&p, MailboxKind::User);
    assert!(due_workloads(&m, None, &OrgSettings::default()).is_empty());
    let other = profile(CredentialsLocation::Profile);
    assert!(due_workloads(&m, Some(&other), &OrgSettings::default()).is_empty());
}

#[test]
fn a_workload_not_enabled_is_not_due() {
    let p = profile(CredentialsLocation::Profile);
    let mut m = enabled_mailbox(&p, MailboxKind::User);
    m.outgoing_state.enabled = false;
    assert_eq!(
        due_workloads(&m, Some(&p), &OrgSettings::default()),
        vec![Workload::Incoming, Workload::AppointmentsContactsTasks]
    );
}

#[test]
fn a_workload_delivered_by_the_email_router_is_not_due_even_if_flagged_enabled() {
    let p = profile(CredentialsLocation::Profile);
    let mut m = enabled_mailbox(&p, MailboxKind::User);
    m.incoming = DeliveryMethod::EmailRouter;
    m.appointments_contacts_tasks = ActDeliveryMethod::None;
    assert_eq!(
        due_workloads(&m, Some(&p), &OrgSettings::default()),
        vec![Workload::Outgoing]
    );
}

#[test]
fn a_mailbox_awaiting_required_approval_is_not_due() {
    let p = profile(CredentialsLocation::Profile);
    let mut m = enabled_mailbox(&p, MailboxKind::User);
    for approval in [Approval::Empty, Approval::Pending, Approval::Rejected] {
        m.approval = approval;
        assert!(
            due_workloads(&m, Some(&p), &OrgSettings::default()).is_empty(),
            "{approval:?}"
        );
    }
}

#[test]
fn an_unapproved_mailbox_is_due_where_the_org_does_not_require_approval() {
    let p = profile(CredentialsLocation::Profile);
    let mut m = enabled_mailbox(&p, MailboxKind::User);
    m.approval = Approval::Empty;
    let org = OrgSettings {
        approval_required_for_user_mailboxes: false,
        ..OrgSettings::default()
    };
    assert!(!due_workloads(&m, Some(&p), &org).is_empty());
}

#[test]
fn the_user_approval_setting_does_not_apply_to_queues() {
    let p = profile(CredentialsLocation::Profile);
    let mut queue = enabled_mailbox(&p, MailboxKind::Queue);
    queue.approval = Approval::Empty;
    let users_only = OrgSettings {
        approval_required_for_user_mailboxes: true,
        approval_required_for_queue_mailboxes: false,
        ..OrgSettings::default()
    };
    assert!(!due_workloads(&queue, Some(&p), &users_only).is_empty());
    let queues_only = OrgSettings {
        approval_required_for_user_mailboxes: false,
        approval_required_for_queue_mailboxes: true,
        ..OrgSettings::default()
    };
    assert!(due_workloads(&queue, Some(&p), &queues_only).is_empty());
}

#[test]
fn the_queue_approval_setting_does_not_apply_to_users() {
    let p = profile(CredentialsLocation::Profile);
    let mut user = enabled_mailbox(&p, MailboxKind::User);
    user.approval = Approval::Empty;
    let queues_only = OrgSettings {
        approval_required_for_user_mailboxes: false,
        approval_required_for_queue_mailboxes: true,
        ..OrgSettings::default()
    };
    assert!(!due_workloads(&user, Some(&p), &queues_only).is_empty());
}

// --- poll groups ----------------------------------------------------------------------

#[test]
fn with_credentials_on_the_profile_the_group_is_a_connection_slot_of_the_profile() {
    let p = profile(CredentialsLocation::Profile);
    let m = enabled_mailbox(&p, MailboxKind::User);
    let group = poll_group(&m, &p);
    let slot = connection_slot(&m.id, p.max_concurrent_connections);
    assert_eq!(group, format!("p:{}:{slot}", p.id));
}

#[test]
fn with_credentials_on_the_mailbox_the_group_is_the_mailbox() {
    let p = profile(CredentialsLocation::Mailbox);
    let m = enabled_mailbox(&p, MailboxKind::User);
    assert_eq!(poll_group(&m, &p), format!("m:{}", m.id));
}

#[test]
fn a_mailbox_keeps_its_connection_slot() {
    let id = MailboxId::parse("3f2a7c1e-5b7d-4c1a-9e8f-0a1b2c3d4e5f").unwrap();
    let first = connection_slot(&id, 10);
    for _ in 0..100 {
        assert_eq!(connection_slot(&id, 10), first);
    }
}

#[test]
fn connection_slots_stay_below_the_limit_and_use_all_of_it() {
    for max in [1, 3, 10, 300] {
        let slots: HashSet<u32> = (0..5000)
            .map(|_| connection_slot(&MailboxId::new(), max))
            .collect();
        assert!(slots.iter().all(|&s| s < max), "max {max}");
        assert_eq!(slots.len(), max as usize, "max {max}");
    }
}

#[test]
fn a_limit_of_zero_counts_as_one_connection() {
    assert_eq!(connection_slot(&MailboxId::new(), 0), 0);
}

// --- refresh_schedule -----------------------------------------------------------------

#[test]
fn refreshing_an_enabled_mailbox_places_it_on_the_schedule() {
    let p = profile(CredentialsLocation::Profile);
    let mut m = enabled_mailbox(&p, MailboxKind::User);
    assert!(refresh_schedule(
        &mut m,
        Some(&p),
        &OrgSettings::default(),
        NOW
    ));
    assert_eq!(m.scheduler.interval_minutes, Some(5));
    assert_eq!(m.scheduler.due_workloads, Workload::ALL.to_vec());
    assert_eq!(m.scheduler.poll_group, Some(poll_group(&m, &p)));
}

#[test]
fn a_mailbox_just_enabled_is_polled_at_the_active_interval_despite_an_old_backlog() {
    let p = profile(CredentialsLocation::Profile);
    let mut m = enabled_mailbox(&p, MailboxKind::User);
    m.created_at = NOW - Duration::days(400);
    // The newest mail of its backlog is a year old; Test & Enable succeeded ten minutes ago.
    m.scheduler.last_activity_at = Some(NOW - Duration::days(365));
    m.incoming_state.status = WorkloadStatus::Success;
    m.incoming_state.status_at = Some(NOW - Duration::minutes(10));
    refresh_schedule(&mut m, Some(&p), &OrgSettings::default(), NOW);
    assert_eq!(m.scheduler.interval_minutes, Some(5));
}

#[test]
fn a_mailbox_enabled_long_ago_with_no_recent_mail_is_polled_at_the_idle_cap() {
    let p = profile(CredentialsLocation::Profile);
    let mut m = enabled_mailbox(&p, MailboxKind::User);
    m.created_at = NOW - Duration::days(400);
    m.scheduler.last_activity_at = Some(NOW - Duration::days(365));
    m.incoming_state.status = WorkloadStatus::Success;
    m.incoming_state.status_at = Some(NOW - Duration::days(30));
    refresh_schedule(&mut m, Some(&p), &OrgSettings::default(), NOW);
    assert_eq!(m.scheduler.interval_minutes, Some(30));
}

#[test]
fn refreshing_an_unchanged_schedule_reports_no_change() {
    let p = profile(CredentialsLocation::Profile);
    let mut m = enabled_mailbox(&p, MailboxKind::User);
    refresh_schedule(&mut m, Some(&p), &OrgSettings::default(), NOW);
    let before = m.clone();
    assert!(!refresh_schedule(
        &mut m,
        Some(&p),
        &OrgSettings::default(),
        NOW + Duration::minutes(10)
    ));
    assert_eq!(m, before);
}

#[test]
fn refreshing_a_mailbox_that_went_quiet_reports_the_longer_interval() {
    let p = profile(CredentialsLocation::Profile);
    let mut m = enabled_mailbox(&p, MailboxKind::User);
    refresh_schedule(&mut m, Some(&p), &OrgSettings::default(), NOW);
    assert!(refresh_schedule(
        &mut m,
        Some(&p),
        &OrgSettings::default(),
        NOW + Duration::hours(2)
    ));
    assert_eq!(m.scheduler.interval_minutes, Some(10));
}

#[test]
fn refreshing_a_disabled_mailbox_takes_it_off_the_schedule() {
    let p = profile(CredentialsLocation::Profile);
    let mut m = enabled_mailbox(&p, MailboxKind::User);
    refresh_schedule(&mut m, Some(&p), &OrgSettings::default(), NOW);
    m.active = false;
    assert!(refresh_schedule(
        &mut m,
        Some(&p),
        &OrgSettings::default(),
        NOW
    ));
    assert_eq!(m.scheduler.interval_minutes, None);
    assert_eq!(m.scheduler.poll_group, None);
    assert!(m.scheduler.due_workloads.is_empty());
}

#[test]
fn refreshing_a_never_scheduled_unschedulable_mailbox_reports_no_change() {
    let p = profile(CredentialsLocation::Profile);
    let mut m = enabled_mailbox(&p, MailboxKind::User);
    m.approval = Approval::Pending;
    assert!(!refresh_schedule(
        &mut m,
        Some(&p),
        &OrgSettings::default(),
        NOW
    ));
}
