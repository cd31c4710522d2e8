//! The rules of a mailbox's fields and state: one test per rule.

use exsync_domain::ids::{Principal, ProfileId};
use exsync_domain::mailbox::{
    Approval, IncomingTrackingOption, Mailbox, MailboxInput, MailboxKind, MailboxRules,
    MailboxView, Workload, WorkloadStatus,
};
use exsync_domain::org::{ActDeliveryMethod, DeliveryMethod, OrgSettings};
use exsync_domain::profile::{
    CredentialsLocation, ExchangeVersion, Profile, ProfileInput, SealedSecret,
};
use exsync_domain::validation::ValidationErrors;
use time::macros::datetime;

const NOW: time::OffsetDateTime = datetime!(2026-03-02 09:00 UTC);

fn profile(location: CredentialsLocation) -> Profile {
    let (user, password) = match location {
        CredentialsLocation::Profile => (Some("CONTOSO\\svc".into()), Some("pw".into())),
        CredentialsLocation::Mailbox => (None, None),
    };
    ProfileInput {
        name: Some("p".into()),
        owner_email: Some("admins@contoso.test".into()),
        exchange_version: Some(ExchangeVersion::Exchange2013Sp1),
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

fn input() -> MailboxInput {
    MailboxInput {
        name: Some("Alice".into()),
        email: Some("alice@contoso.test".into()),
        ..MailboxInput::default()
    }
}

fn caller() -> Principal {
    Principal::parse("alice").unwrap()
}

fn validate(
    i: MailboxInput,
    existing: Option<&Mailbox>,
    profile: Option<&Profile>,
    settings: &OrgSettings,
) -> Result<Mailbox, ValidationErrors> {
    i.validate(MailboxRules {
        existing,
        profile,
        settings,
        caller: Some(&caller()),
        now: NOW,
    })
    .map(|v| v.mailbox)
}

fn create(i: MailboxInput) -> Result<Mailbox, ValidationErrors> {
    validate(
        i,
        None,
        Some(&profile(CredentialsLocation::Profile)),
        &OrgSettings::default(),
    )
}

fn bad_fields(i: MailboxInput) -> Vec<String> {
    create(i)
        .unwrap_err()
        .0
        .into_iter()
        .map(|e| e.field)
        .collect()
}

fn enabled_everywhere(mut m: Mailbox) -> Mailbox {
    for w in Workload::ALL {
        let s = m.workload_mut(w);
        s.enabled = true;
        s.status = WorkloadStatus::Success;
    }
    m.approval = Approval::Approved;
    m
}

fn update(old: &Mailbox, i: MailboxInput, profile: Option<&Profile>) -> Mailbox {
    validate(i, Some(old), profile, &OrgSettings::default()).unwrap()
}

#[test]
fn a_new_mailbox_takes_the_org_s_delivery_methods() {
    let settings = OrgSettings {
        incoming: DeliveryMethod::EmailRouter,
        outgoing: DeliveryMethod::None,
        ..OrgSettings::default()
    };
    let m = validate(input(), None, None, &settings).unwrap();
    assert_eq!(m.incoming, DeliveryMethod::EmailRouter);
    assert_eq!(m.outgoing, DeliveryMethod::None);
    assert_eq!(
        m.appointments_contacts_tasks,
        ActDeliveryMethod::ServerSideSynchronization
    );
}

#[test]
fn a_new_mailbox_is_user_active_unapproved_and_not_run() {
    let m = create(input()).unwrap();
    assert_eq!(m.kind, MailboxKind::User);
    assert!(m.active);
    assert_eq!(m.approval, Approval::Empty);
    assert_eq!(m.overall_status(), WorkloadStatus::NotRun);
    assert_eq!(m.owner, caller());
    assert_eq!(m.version, 1);
}

#[test]
fn name_and_email_are_required() {
    assert_eq!(bad_fields(MailboxInput::default()), ["name", "email"]);
}

#[test]
fn the_email_must_be_an_address() {
    assert_eq!(
        bad_fields(MailboxInput {
            email: Some("alice".into()),
            ..input()
        }),
        ["email"]
    );
}

#[test]
fn a_queue_cannot_sync_appointments_contacts_and_tasks() {
    let i = MailboxInput {
        kind: Some(MailboxKind::Queue),
        appointments_contacts_tasks: Some(ActDeliveryMethod::ServerSideSynchronization),
        ..input()
    };
    assert_eq!(bad_fields(i), ["appointments_contacts_tasks"]);
}

#[test]
fn a_queue_defaults_to_no_appointments_contacts_and_tasks() {
    let m = create(MailboxInput {
        kind: Some(MailboxKind::Queue),
        ..input()
    })
    .unwrap();
    assert_eq!(m.appointments_contacts_tasks, ActDeliveryMethod::None);
}

#[test]
fn users_track_replies_and_queues_track_all_email_by_default() {
    assert_eq!(
        create(input()).unwrap().tracking,
        IncomingTrackingOption::RepliesToTrackedEmail
    );
    let queue = create(MailboxInput {
        kind: Some(MailboxKind::Queue),
        ..input()
    })
    .unwrap();
    assert_eq!(queue.tracking, IncomingTrackingOption::AllEmail);
}

#[test]
fn process_email_received_after_cannot_precede_the_profile_s_date() {
    let i = MailboxInput {
        process_email_received_after: Some("2025-12-31T23:59:59Z".into()),
        ..input()
    };
    let errs = create(i).unwrap_err();
    assert_eq!(errs.0[0].field, "process_email_received_after");
    assert!(
        errs.0[0].message.contains("2026-01-01T00:00:00Z"),
        "{}",
        errs.0[0].message
    );
    assert!(
        create(MailboxInput {
            process_email_received_after: Some("2026-01-01T00:00:00Z".into()),
            ..input()
        })
        .is_ok()
    );
}

#[test]
fn a_profile_keeping_credentials_on_mailboxes_needs_them_on_the_mailbox() {
    let p = profile(CredentialsLocation::Mailbox);
    let errs = validate(input(), None, Some(&p), &OrgSettings::default()).unwrap_err();
    let fields: Vec<&str> = errs.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["user_name", "password"]);
    let ok = validate(
        MailboxInput {
            user_name: Some("CONTOSO\\alice".into()),
            password: Some("pw".into()),
            ..input()
        },
        None,
        Some(&p),
        &OrgSettings::default(),
    );
    assert!(ok.is_ok());
}

#[test]
fn a_profile_keeping_credentials_on_the_profile_refuses_mailbox_credentials() {
    let i = MailboxInput {
        user_name: Some("CONTOSO\\alice".into()),
        password: Some("pw".into()),
        ..input()
    };
    assert_eq!(bad_fields(i), ["user_name", "password"]);
}

#[test]
fn a_new_mailbox_gets_the_org_default_profile() {
    let id = ProfileId::new();
    let settings = OrgSettings {
        default_profile: Some(id.clone()),
        ..OrgSettings::default()
    };
    assert_eq!(
        input().requested_profile(None, &settings).unwrap(),
        Some(id)
    );
}

#[test]
fn an_empty_profile_id_removes_the_profile() {
    let settings = OrgSettings {
        default_profile: Some(ProfileId::new()),
        ..OrgSettings::default()
    };
    let i = MailboxInput {
        profile_id: Some(String::new()),
        ..input()
    };
    assert_eq!(i.requested_profile(None, &settings).unwrap(), None);
}

#[test]
fn an_update_keeps_the_mailbox_s_profile() {
    let p = profile(CredentialsLocation::Profile);
    let old = validate(input(), None, Some(&p), &OrgSettings::default()).unwrap();
    assert_eq!(
        MailboxInput::default()
            .requested_profile(Some(&old), &OrgSettings::default())
            .unwrap(),
        Some(p.id)
    );
}

#[test]
fn a_malformed_profile_id_names_the_field() {
    let i = MailboxInput {
        profile_id: Some("a#b".into()),
        ..input()
    };
    let errs = i
        .requested_profile(None, &OrgSettings::default())
        .unwrap_err();
    assert_eq!(errs.0[0].field, "profile_id");
}

#[test]
fn setting_a_delivery_method_is_recognised() {
    let old = create(input()).unwrap();
    assert!(
        MailboxInput {
            incoming: Some(DeliveryMethod::None),
            ..MailboxInput::default()
        }
        .sets_delivery_methods(Some(&old))
    );
    assert!(
        !MailboxInput {
            incoming: Some(old.incoming),
            ..MailboxInput::default()
        }
        .sets_delivery_methods(Some(&old))
    );
    assert!(!input().sets_delivery_methods(None));
}

#[test]
fn a_new_address_must_be_approved_and_tested_again() {
    let p = profile(CredentialsLocation::Profile);
    let old =
        enabled_everywhere(validate(input(), None, Some(&p), &OrgSettings::default()).unwrap());
    let m = update(
        &old,
        MailboxInput {
            email: Some("alice2@contoso.test".into()),
            ..MailboxInput::default()
        },
        Some(&p),
    );
    assert_eq!(m.approval, Approval::Empty);
    assert!(Workload::ALL.iter().all(|w| !m.workload(*w).enabled));
    assert_eq!(m.overall_status(), WorkloadStatus::NotRun);
}

#[test]
fn a_new_profile_must_be_tested_again_but_keeps_approval() {
    let p = profile(CredentialsLocation::Profile);
    let old =
        enabled_everywhere(validate(input(), None, Some(&p), &OrgSettings::default()).unwrap());
    let other = profile(CredentialsLocation::Profile);
    let m = update(&old, MailboxInput::default(), Some(&other));
    assert_eq!(m.approval, Approval::Approved);
    assert!(Workload::ALL.iter().all(|w| !m.workload(*w).enabled));
}

#[test]
fn leaving_server_side_sync_disables_that_workload_only() {
    let p = profile(CredentialsLocation::Profile);
    let old =
        enabled_everywhere(validate(input(), None, Some(&p), &OrgSettings::default()).unwrap());
    let m = update(
        &old,
        MailboxInput {
            outgoing: Some(DeliveryMethod::EmailRouter),
            ..MailboxInput::default()
        },
        Some(&p),
    );
    assert!(!m.outgoing_state.enabled);
    assert_eq!(m.outgoing_state.status, WorkloadStatus::NotRun);
    assert!(m.incoming_state.enabled && m.act_state.enabled);
}

#[test]
fn an_update_bumps_the_version_and_keeps_the_id() {
    let old = create(input()).unwrap();
    let m = update(
        &old,
        MailboxInput {
            name: Some("Alice A.".into()),
            ..MailboxInput::default()
        },
        None,
    );
    assert_eq!(
        (m.id.clone(), m.version, m.name.as_str()),
        (old.id.clone(), old.version + 1, "Alice A.")
    );
}

#[test]
fn approval_is_awaited_only_where_the_org_requires_it() {
    let user = create(input()).unwrap();
    let queue = create(MailboxInput {
        kind: Some(MailboxKind::Queue),
        ..input()
    })
    .unwrap();
    let users_only = OrgSettings {
        approval_required_for_queue_mailboxes: false,
        ..OrgSettings::default()
    };
    assert!(user.awaits_approval(&users_only));
    assert!(!queue.awaits_approval(&users_only));
    let approved = Mailbox {
        approval: Approval::Approved,
        ..user
    };
    assert!(!approved.awaits_approval(&OrgSettings::default()));
}

#[test]
fn one_failed_workload_makes_the_mailbox_fail() {
    let mut m = enabled_everywhere(create(input()).unwrap());
    m.act_state.status = WorkloadStatus::Failure;
    assert_eq!(m.overall_status(), WorkloadStatus::Failure);
}

#[test]
fn the_view_shows_whether_a_password_is_set_but_never_the_password() {
    let mut m = create(input()).unwrap();
    m.password = Some(SealedSecret {
        key_id: "k".into(),
        ciphertext_b64: "c2VhbGVk".into(),
    });
    let view = MailboxView::from(&m);
    assert!(view.password_set);
    let json = serde_json::to_string(&view).unwrap();
    assert!(!json.contains("c2VhbGVk"), "{json}");
}
