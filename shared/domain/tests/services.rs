//! The admin services on in-memory ports: privileges and the owner rule, versions,
//! sealed passwords, defaults, bulk actions, activities, alerts and roles.

mod support;

use exsync_domain::DomainError;
use exsync_domain::activity::EmailStatus;
use exsync_domain::alert::{Alert, AlertLevel, AlertSubject};
use exsync_domain::ids::{AlertId, MailboxId, Principal};
use exsync_domain::mailbox::{Approval, MailboxInput, MailboxKind, WorkloadStatus};
use exsync_domain::org::{ActDeliveryMethod, DeliveryMethod, OrgSettingsInput};
use exsync_domain::ports::{Clock as _, MailboxFilter};
use exsync_domain::privilege::{Privilege, roles};
use exsync_domain::profile::{CredentialsLocation, ProfileInput};
use exsync_domain::record::RecordKind;
use exsync_domain::service::{
    AlertQuery, AppointmentInput, BulkEdit, EmailInput, EmailQuery, ItemStatus, PageRequest,
    RecordInput,
};
use support::*;

fn fields(err: DomainError) -> Vec<String> {
    match err {
        DomainError::Validation(e) => e.0.into_iter().map(|f| f.field).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn principal(name: &str) -> Principal {
    Principal::parse(name).unwrap()
}

#[tokio::test]
async fn no_password_is_ever_stored_in_plaintext() {
    let w = World::start();
    let p = w.profile().await;
    let own = w
        .admin
        .create_profile(
            &admin(),
            ProfileInput {
                name: Some("Own credentials".into()),
                credentials_location: Some(CredentialsLocation::Mailbox),
                user_name: None,
                password: None,
                ..w.profile_input()
            },
        )
        .await
        .unwrap();
    w.admin
        .create_mailbox(
            &admin(),
            MailboxInput {
                name: Some("Alice".into()),
                email: Some(ALICE.into()),
                profile_id: Some(own.id.to_string()),
                user_name: Some(ALICE_LOGON.into()),
                password: Some(ALICE_PASSWORD.into()),
                ..MailboxInput::default()
            },
        )
        .await
        .unwrap();
    assert!(p.password_set);
    let dump = w.store.dump();
    assert!(
        !dump.contains(SERVICE_PASSWORD),
        "the profile password leaked"
    );
    assert!(
        !dump.contains(ALICE_PASSWORD),
        "the mailbox password leaked"
    );
    assert!(dump.contains("test-key"), "the sealed secrets are there");
}

#[tokio::test]
async fn a_stale_version_is_a_conflict() {
    let w = World::start();
    let p = w.profile().await;
    w.admin
        .update_profile(
            &admin(),
            &p.id,
            ProfileInput {
                version: Some(p.version),
                description: Some("v2".into()),
                ..ProfileInput::default()
            },
        )
        .await
        .unwrap();
    let err = w
        .admin
        .update_profile(
            &admin(),
            &p.id,
            ProfileInput {
                version: Some(p.version),
                description: Some("v2'".into()),
                ..ProfileInput::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            DomainError::VersionConflict {
                kind: "profile",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_update_without_a_version_names_the_field() {
    let w = World::start();
    let p = w.profile().await;
    let err = w
        .admin
        .update_profile(&admin(), &p.id, ProfileInput::default())
        .await
        .unwrap_err();
    assert_eq!(fields(err), ["version"]);
}

#[tokio::test]
async fn a_profile_in_use_cannot_be_deleted_and_the_count_is_named() {
    let w = World::start();
    let p = w.profile().await;
    w.mailbox(&p.id, ALICE, "alice").await;
    w.mailbox(&p.id, BOB, "bob").await;
    let err = w
        .admin
        .delete_profile(&admin(), &p.id, None)
        .await
        .unwrap_err();
    let DomainError::Conflict(message) = err else {
        panic!("{err:?}")
    };
    assert!(message.contains("used by 2 mailbox(es)"), "{message}");
}

#[tokio::test]
async fn deleting_the_default_profile_leaves_the_org_without_one() {
    let w = World::start();
    let p = w.profile().await;
    w.admin.set_default_profile(&admin(), &p.id).await.unwrap();
    w.admin.delete_profile(&admin(), &p.id, None).await.unwrap();
    assert_eq!(
        w.admin
            .get_settings(&admin())
            .await
            .unwrap()
            .default_profile,
        None
    );
    assert!(matches!(
        w.admin.get_profile(&admin(), &p.id).await,
        Err(DomainError::NotFound { .. })
    ));
}

#[tokio::test]
async fn setting_a_default_profile_moves_the_flag() {
    let w = World::start();
    let first = w.profile().await;
    let second = w
        .admin
        .create_profile(
            &admin(),
            ProfileInput {
                name: Some("Second".into()),
                ..w.profile_input()
            },
        )
        .await
        .unwrap();
    w.admin
        .set_default_profile(&admin(), &first.id)
        .await
        .unwrap();
    let second = w
        .admin
        .set_default_profile(&admin(), &second.id)
        .await
        .unwrap();
    assert!(second.is_default_for_new_mailboxes);
    assert!(
        !w.admin
            .get_profile(&admin(), &first.id)
            .await
            .unwrap()
            .is_default_for_new_mailboxes
    );
    assert_eq!(
        w.admin
            .get_settings(&admin())
            .await
            .unwrap()
            .default_profile,
        Some(second.id)
    );
}

#[tokio::test]
async fn setting_a_default_profile_needs_write_on_org_settings_too() {
    let w = World::start();
    let p = w.profile().await;
    let err = w
        .admin
        .set_default_profile(&caller("ops", &[Privilege::WriteProfiles]), &p.id)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        DomainError::Forbidden(Privilege::WriteOrgSettings)
    ));
}

#[tokio::test]
async fn a_new_mailbox_lands_on_the_org_default_profile() {
    let w = World::start();
    let p = w.profile().await;
    w.admin.set_default_profile(&admin(), &p.id).await.unwrap();
    let m = w
        .admin
        .create_mailbox(
            &admin(),
            MailboxInput {
                name: Some("Bob".into()),
                email: Some(BOB.into()),
                ..MailboxInput::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(m.profile_id, Some(p.id));
}

#[tokio::test]
async fn the_org_default_profile_must_exist() {
    let w = World::start();
    let err = w
        .admin
        .update_settings(
            &admin(),
            OrgSettingsInput {
                version: Some(0),
                default_profile: Some("no-such-profile".into()),
                ..OrgSettingsInput::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(fields(err), ["default_profile"]);
}

#[tokio::test]
async fn setting_delivery_methods_needs_read_and_write_on_mailboxes() {
    let w = World::start();
    let writer = caller("writer", &[Privilege::WriteMailboxes]);
    let input = MailboxInput {
        name: Some("Bob".into()),
        email: Some(BOB.into()),
        incoming: Some(DeliveryMethod::None),
        ..MailboxInput::default()
    };
    let err = w
        .admin
        .create_mailbox(&writer, input.clone())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        DomainError::Forbidden(Privilege::ReadMailboxes)
    ));
    let both = caller(
        "mgr",
        &[Privilege::WriteMailboxes, Privilege::ReadMailboxes],
    );
    assert!(w.admin.create_mailbox(&both, input).await.is_ok());
}

#[tokio::test]
async fn a_mailbox_owner_reads_their_mailbox_without_the_privilege() {
    let w = World::start();
    let p = w.profile().await;
    let m = w.mailbox(&p.id, ALICE, "alice").await;
    assert_eq!(
        w.admin
            .get_mailbox(&nobody("alice"), &m.id)
            .await
            .unwrap()
            .id,
        m.id
    );
    let err = w
        .admin
        .get_mailbox(&nobody("mallory"), &m.id)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        DomainError::Forbidden(Privilege::ReadMailboxes)
    ));
}

#[tokio::test]
async fn a_caller_without_the_privilege_cannot_tell_a_missing_mailbox_from_another_s() {
    let w = World::start();
    let err = w
        .admin
        .get_mailbox(&nobody("mallory"), &MailboxId::new())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        DomainError::Forbidden(Privilege::ReadMailboxes)
    ));
    let err = w
        .admin
        .get_mailbox(&admin(), &MailboxId::new())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        DomainError::NotFound {
            kind: "mailbox",
            ..
        }
    ));
}

#[tokio::test]
async fn mailboxes_are_listed_by_filter_and_paged() {
    let w = World::start();
    let p = w.profile().await;
    for owner in ["a", "b", "c"] {
        w.mailbox(&p.id, ALICE, owner).await;
    }
    let filter = MailboxFilter {
        profile: Some(p.id.clone()),
        ..MailboxFilter::default()
    };
    let first = w
        .admin
        .list_mailboxes(
            &admin(),
            &filter,
            &PageRequest {
                limit: Some(2),
                next: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(first.items.len(), 2);
    let rest = w
        .admin
        .list_mailboxes(
            &admin(),
            &filter,
            &PageRequest {
                limit: Some(2),
                next: first.next,
            },
        )
        .await
        .unwrap();
    assert_eq!((rest.items.len(), rest.next), (1, None));
    let err = w
        .admin
        .list_mailboxes(
            &admin(),
            &filter,
            &PageRequest {
                limit: Some(0),
                next: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(fields(err), ["limit"]);
}

#[tokio::test]
async fn default_settings_put_mailboxes_on_the_default_profile_and_test_them() {
    let w = World::start();
    w.no_approval_needed().await;
    let p = w.profile().await;
    w.admin.set_default_profile(&admin(), &p.id).await.unwrap();
    let m = w
        .admin
        .create_mailbox(
            &admin(),
            MailboxInput {
                name: Some("Alice".into()),
                email: Some(ALICE.into()),
                profile_id: Some(String::new()),
                incoming: Some(DeliveryMethod::None),
                ..MailboxInput::default()
            },
        )
        .await
        .unwrap();
    let outcome = w
        .admin
        .apply_default_settings(&admin(), &[m.id.to_string()], true)
        .await
        .unwrap();
    let view = outcome.mailboxes[0].result.clone().unwrap();
    assert_eq!(view.profile_id, Some(p.id));
    assert_eq!(view.incoming, DeliveryMethod::ServerSideSynchronization);
    let tested = outcome.test_and_enable.unwrap();
    assert_eq!(
        tested.results[0].result.as_ref().unwrap().status,
        WorkloadStatus::Success
    );
}

#[tokio::test]
async fn default_settings_can_skip_test_and_enable() {
    let w = World::start();
    let p = w.profile().await;
    w.admin.set_default_profile(&admin(), &p.id).await.unwrap();
    let m = w.mailbox(&p.id, ALICE, "alice").await;
    let outcome = w
        .admin
        .apply_default_settings(&admin(), &[m.id.to_string()], false)
        .await
        .unwrap();
    assert!(outcome.test_and_enable.is_none());
    assert_eq!(w.sim.request_count("GetFolder"), 0);
}

#[tokio::test]
async fn default_settings_need_a_default_profile() {
    let w = World::start();
    let p = w.profile().await;
    let m = w.mailbox(&p.id, ALICE, "alice").await;
    let err = w
        .admin
        .apply_default_settings(&admin(), &[m.id.to_string()], false)
        .await
        .unwrap_err();
    assert!(matches!(err, DomainError::Conflict(_)), "{err:?}");
}

#[tokio::test]
async fn editing_many_validates_each_mailbox_on_its_own() {
    let w = World::start();
    let p = w.profile().await;
    let user = w.mailbox(&p.id, ALICE, "alice").await;
    let queue = w
        .admin
        .create_mailbox(
            &admin(),
            MailboxInput {
                name: Some("Support".into()),
                email: Some("support@contoso.test".into()),
                kind: Some(MailboxKind::Queue),
                profile_id: Some(p.id.to_string()),
                ..MailboxInput::default()
            },
        )
        .await
        .unwrap();
    let items = w
        .admin
        .edit_mailboxes(
            &admin(),
            &[
                user.id.to_string(),
                queue.id.to_string(),
                MailboxId::new().to_string(),
            ],
            &BulkEdit {
                appointments_contacts_tasks: Some(ActDeliveryMethod::ServerSideSynchronization),
                incoming: Some(DeliveryMethod::None),
                ..BulkEdit::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(items[0].status, ItemStatus::Ok);
    assert_eq!(
        items[0].result.as_ref().unwrap().incoming,
        DeliveryMethod::None
    );
    assert_eq!(items[1].status, ItemStatus::Error);
    assert_eq!(items[1].error.as_ref().unwrap().kind, "validation");
    assert_eq!(items[2].error.as_ref().unwrap().kind, "not_found");
}

#[tokio::test]
async fn approval_needs_approve_email() {
    let w = World::start();
    let p = w.profile().await;
    let m = w.mailbox(&p.id, ALICE, "alice").await;
    let err = w
        .admin
        .approve_mailboxes(
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
        DomainError::Forbidden(Privilege::ApproveEmail)
    ));
    let approver = caller("approver", &[Privilege::ApproveEmail]);
    let items = w
        .admin
        .approve_mailboxes(&approver, &[m.id.to_string()])
        .await
        .unwrap();
    assert_eq!(
        items[0].result.as_ref().unwrap().approval,
        Approval::Approved
    );
}

#[tokio::test]
async fn rejecting_a_mailbox_disables_what_was_enabled() {
    let w = World::start();
    let p = w.profile().await;
    let m = w.mailbox(&p.id, ALICE, "alice").await;
    w.approve(&[&m.id]).await;
    w.admin
        .test_and_enable_one(&m.id, exsync_domain::test_enable::RetryPolicy::NONE)
        .await
        .unwrap();
    let items = w
        .admin
        .reject_mailboxes(&admin(), &[m.id.to_string()])
        .await
        .unwrap();
    let view = items[0].result.clone().unwrap();
    assert_eq!(view.approval, Approval::Rejected);
    assert!(
        !view.incoming_state.enabled && !view.outgoing_state.enabled && !view.act_state.enabled
    );
}

#[tokio::test]
async fn a_bulk_request_needs_at_least_one_valid_id() {
    let w = World::start();
    assert_eq!(
        fields(w.admin.approve_mailboxes(&admin(), &[]).await.unwrap_err()),
        ["mailbox_ids"]
    );
    assert_eq!(
        fields(
            w.admin
                .approve_mailboxes(&admin(), &["a#b".into()])
                .await
                .unwrap_err()
        ),
        ["mailbox_ids.0"]
    );
}

fn email_to(sender: &MailboxId, to: &str) -> EmailInput {
    EmailInput {
        sender_mailbox_id: Some(sender.to_string()),
        to: vec![to.into()],
        subject: Some("Quote".into()),
        body_text: Some("Here it is.".into()),
        ..EmailInput::default()
    }
}

#[tokio::test]
async fn an_owner_sends_email_from_their_mailbox_as_pending_send() {
    let w = World::start();
    let p = w.profile().await;
    let m = w.mailbox(&p.id, ALICE, "alice").await;
    let record = w
        .admin
        .create_record(
            &admin(),
            RecordInput {
                kind: Some(RecordKind::Contact),
                name: Some("Dana".into()),
                addresses: vec!["dana@fabrikam.test".into()],
                principal: None,
            },
        )
        .await
        .unwrap();
    let email = w
        .admin
        .send_email(&nobody("alice"), email_to(&m.id, "Dana@Fabrikam.test"))
        .await
        .unwrap();
    assert_eq!(email.status, EmailStatus::PendingSend);
    assert_eq!(email.sender_mailbox, Some(m.id.clone()));
    assert_eq!(email.to[0].record, Some(record.id));
    assert_eq!(email.from.unwrap().address.as_str(), ALICE);
    assert_eq!(
        w.admin
            .get_email(&nobody("alice"), &email.id)
            .await
            .unwrap()
            .id,
        email.id
    );
}

#[tokio::test]
async fn sending_from_someone_else_s_mailbox_needs_write_activities() {
    let w = World::start();
    let p = w.profile().await;
    let m = w.mailbox(&p.id, ALICE, "alice").await;
    let err = w
        .admin
        .send_email(&nobody("bob"), email_to(&m.id, BOB))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        DomainError::Forbidden(Privilege::WriteActivities)
    ));
    let assistant = caller("assistant", &[Privilege::WriteActivities]);
    assert!(
        w.admin
            .send_email(&assistant, email_to(&m.id, BOB))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn email_needs_a_recipient_and_a_sender_that_exists() {
    let w = World::start();
    let err = w
        .admin
        .send_email(
            &admin(),
            EmailInput {
                sender_mailbox_id: Some(MailboxId::new().to_string()),
                ..EmailInput::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(fields(err), ["to"]);
    let err = w
        .admin
        .send_email(&admin(), email_to(&MailboxId::new(), BOB))
        .await
        .unwrap_err();
    assert_eq!(fields(err), ["sender_mailbox_id"]);
}

#[tokio::test]
async fn a_mailbox_that_does_not_send_through_exsync_cannot_send() {
    let w = World::start();
    let m = w
        .admin
        .create_mailbox(
            &admin(),
            MailboxInput {
                name: Some("A".into()),
                email: Some(ALICE.into()),
                owner: Some("alice".into()),
                outgoing: Some(DeliveryMethod::EmailRouter),
                ..MailboxInput::default()
            },
        )
        .await
        .unwrap();
    let err = w
        .admin
        .send_email(&nobody("alice"), email_to(&m.id, BOB))
        .await
        .unwrap_err();
    assert!(matches!(err, DomainError::Conflict(_)), "{err:?}");
}

#[tokio::test]
async fn a_mailbox_owner_lists_its_email_and_others_cannot() {
    let w = World::start();
    let p = w.profile().await;
    let m = w.mailbox(&p.id, ALICE, "alice").await;
    w.admin
        .send_email(&nobody("alice"), email_to(&m.id, BOB))
        .await
        .unwrap();
    let page = w
        .admin
        .list_emails(
            &nobody("alice"),
            &EmailQuery::Mailbox(m.id.clone()),
            &PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    let err = w
        .admin
        .list_emails(
            &nobody("bob"),
            &EmailQuery::Mailbox(m.id.clone()),
            &PageRequest::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        DomainError::Forbidden(Privilege::ReadActivities)
    ));
}

fn appointment() -> AppointmentInput {
    AppointmentInput {
        subject: Some("Review".into()),
        start: Some("2026-03-03T10:00:00Z".into()),
        end: Some("2026-03-03T11:00:00Z".into()),
        required_attendees: Some(vec![BOB.into()]),
        ..AppointmentInput::default()
    }
}

#[tokio::test]
async fn a_user_manages_their_own_appointments_without_privileges() {
    let w = World::start();
    let alice = nobody("alice");
    let a = w
        .admin
        .create_appointment(&alice, appointment())
        .await
        .unwrap();
    assert_eq!(a.owner, principal("alice"));
    let moved = w
        .admin
        .update_appointment(
            &alice,
            &a.id,
            AppointmentInput {
                version: Some(a.version),
                location: Some("Room 4".into()),
                ..AppointmentInput::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (moved.location.as_str(), moved.subject.as_str()),
        ("Room 4", "Review")
    );
    assert_eq!(
        w.admin.list_appointments(&alice, None).await.unwrap().len(),
        1
    );
    w.admin.delete_appointment(&alice, &a.id).await.unwrap();
    assert!(
        w.admin
            .list_appointments(&alice, None)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn someone_else_s_appointments_need_the_activity_privileges() {
    let w = World::start();
    let a = w
        .admin
        .create_appointment(&nobody("alice"), appointment())
        .await
        .unwrap();
    assert!(matches!(
        w.admin.get_appointment(&nobody("bob"), &a.id).await,
        Err(DomainError::Forbidden(Privilege::ReadActivities))
    ));
    assert!(matches!(
        w.admin.delete_appointment(&nobody("bob"), &a.id).await,
        Err(DomainError::Forbidden(Privilege::WriteActivities))
    ));
    let err = w
        .admin
        .create_appointment(
            &nobody("bob"),
            AppointmentInput {
                owner: Some("alice".into()),
                ..appointment()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        DomainError::Forbidden(Privilege::WriteActivities)
    ));
}

#[tokio::test]
async fn an_appointment_cannot_end_before_it_starts() {
    let w = World::start();
    let err = w
        .admin
        .create_appointment(
            &nobody("alice"),
            AppointmentInput {
                end: Some("2026-03-03T09:00:00Z".into()),
                ..appointment()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(fields(err), ["end"]);
}

#[tokio::test]
async fn a_stale_appointment_update_is_a_conflict() {
    let w = World::start();
    let a = w
        .admin
        .create_appointment(&nobody("alice"), appointment())
        .await
        .unwrap();
    let stale = AppointmentInput {
        version: Some(a.version),
        subject: Some("x".into()),
        ..AppointmentInput::default()
    };
    w.admin
        .update_appointment(&nobody("alice"), &a.id, stale.clone())
        .await
        .unwrap();
    let err = w
        .admin
        .update_appointment(&nobody("alice"), &a.id, stale)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DomainError::VersionConflict { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn records_need_the_activity_privileges() {
    let w = World::start();
    let input = RecordInput {
        kind: Some(RecordKind::Account),
        name: Some("Fabrikam".into()),
        addresses: vec!["info@fabrikam.test".into()],
        principal: None,
    };
    assert!(matches!(
        w.admin.create_record(&nobody("bob"), input.clone()).await,
        Err(DomainError::Forbidden(Privilege::WriteActivities))
    ));
    let sales = caller(
        "sales",
        &[Privilege::ReadActivities, Privilege::WriteActivities],
    );
    w.admin.create_record(&sales, input).await.unwrap();
    let page = w
        .admin
        .list_records(&sales, RecordKind::Account, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.items[0].name, "Fabrikam");
}

#[tokio::test]
async fn a_record_needs_a_kind_a_name_and_an_address() {
    let w = World::start();
    let err = w
        .admin
        .create_record(&admin(), RecordInput::default())
        .await
        .unwrap_err();
    assert_eq!(fields(err), ["kind", "name", "addresses"]);
}

fn alert(w: &World, mailbox: &MailboxId, owners: &[&str], age_days: i64) -> Alert {
    let at = w.clock.now() - time::Duration::days(age_days);
    Alert {
        id: AlertId::new(),
        level: AlertLevel::Error,
        code: "X".into(),
        text: "x".into(),
        subject: AlertSubject::Mailbox(mailbox.clone()),
        owners: owners.iter().map(|o| principal(o)).collect(),
        at,
        expires_at: at + time::Duration::days(30),
        dismissed: false,
    }
}

#[tokio::test]
async fn a_mailbox_owner_reads_its_alerts_and_others_need_read_alerts() {
    let w = World::start();
    let p = w.profile().await;
    let m = w.mailbox(&p.id, ALICE, "alice").await;
    w.store.lock().alerts.push(alert(&w, &m.id, &["alice"], 0));
    let query = AlertQuery::Mailbox(m.id.clone());
    assert_eq!(
        w.admin
            .list_alerts(&nobody("alice"), &query, None)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(matches!(
        w.admin.list_alerts(&nobody("bob"), &query, None).await,
        Err(DomainError::Forbidden(Privilege::ReadAlerts))
    ));
    let reader = caller("ops", &[Privilege::ReadAlerts]);
    assert_eq!(
        w.admin
            .list_alerts(&reader, &AlertQuery::Owner(principal("alice")), None)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn expired_alerts_are_not_listed() {
    let w = World::start();
    let p = w.profile().await;
    let m = w.mailbox(&p.id, ALICE, "alice").await;
    w.store.lock().alerts.push(alert(&w, &m.id, &["alice"], 31));
    assert!(
        w.admin
            .list_alerts(&admin(), &AlertQuery::Mailbox(m.id.clone()), None)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_owner_dismisses_an_alert_on_their_wall_but_not_someone_else_s() {
    let w = World::start();
    let p = w.profile().await;
    let m = w.mailbox(&p.id, ALICE, "alice").await;
    let mine = alert(&w, &m.id, &["alice"], 0);
    let theirs = alert(&w, &m.id, &["exchange-admin"], 0);
    w.store.lock().alerts.extend([mine.clone(), theirs.clone()]);
    w.admin
        .dismiss_alert(&nobody("alice"), &mine.id)
        .await
        .unwrap();
    assert!(
        w.store
            .lock()
            .alerts
            .iter()
            .find(|a| a.id == mine.id)
            .unwrap()
            .dismissed
    );
    assert!(matches!(
        w.admin.dismiss_alert(&nobody("alice"), &theirs.id).await,
        Err(DomainError::Forbidden(Privilege::ReadAlerts))
    ));
}

#[tokio::test]
async fn the_requester_of_a_job_may_follow_it() {
    let w = World::start();
    w.no_approval_needed().await;
    let p = w.profile().await;
    w.mailbox(&p.id, ALICE, "alice").await;
    let runner = caller("runner", &[Privilege::TestAndEnable]);
    let job = w
        .admin
        .test_and_enable_profile(&runner, &p.id)
        .await
        .unwrap();
    assert_eq!(
        w.admin
            .get_job(&nobody("runner"), &job.id)
            .await
            .unwrap()
            .id,
        job.id
    );
    assert!(matches!(
        w.admin.get_job(&nobody("someone"), &job.id).await,
        Err(DomainError::Forbidden(_))
    ));
}

#[tokio::test]
async fn the_bootstrap_administrator_holds_every_privilege() {
    let w = World::start();
    let g = w.admin.grants_for(Some(&principal("admin"))).await.unwrap();
    assert_eq!(g.privileges.len(), Privilege::ALL.len());
}

#[tokio::test]
async fn an_unknown_caller_holds_nothing_until_given_a_role() {
    let w = World::start();
    let dana = principal("dana");
    assert!(
        w.admin
            .grants_for(Some(&dana))
            .await
            .unwrap()
            .privileges
            .is_empty()
    );
    w.admin
        .set_roles(&admin(), &dana, &[roles::EMAIL_APPROVER.into()])
        .await
        .unwrap();
    let g = w.admin.grants_for(Some(&dana)).await.unwrap();
    assert!(g.has(Privilege::ApproveEmail) && !g.has(Privilege::WriteMailboxes));
}

#[tokio::test]
async fn only_known_roles_can_be_assigned_and_only_by_a_role_manager() {
    let w = World::start();
    let dana = principal("dana");
    let err = w
        .admin
        .set_roles(&admin(), &dana, &["wizard".into()])
        .await
        .unwrap_err();
    assert_eq!(fields(err), ["roles.0"]);
    let err = w
        .admin
        .set_roles(&caller("x", &[Privilege::WriteProfiles]), &dana, &[])
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        DomainError::Forbidden(Privilege::ManageRoles)
    ));
}

#[tokio::test]
async fn seeded_roles_are_stored() {
    let w = World::start();
    w.admin.seed_builtin_roles().await.unwrap();
    assert_eq!(w.store.lock().roles.len(), w.admin.builtin_roles().len());
}

#[tokio::test]
async fn a_contact_needs_a_first_or_last_name() {
    let w = World::start();
    let err = w
        .admin
        .create_contact(
            &nobody("alice"),
            exsync_domain::service::ContactInput {
                email: Some("dana@fabrikam.test".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(fields(err), ["last_name"]);
    let c = w
        .admin
        .create_contact(
            &nobody("alice"),
            exsync_domain::service::ContactInput {
                first_name: Some("Dana".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        w.admin.list_contacts(&nobody("alice"), None).await.unwrap(),
        vec![c]
    );
}

#[tokio::test]
async fn a_task_is_0_to_100_percent_complete() {
    let w = World::start();
    let task = |percent| exsync_domain::service::TaskInput {
        subject: Some("Call back".into()),
        percent_complete: Some(percent),
        ..Default::default()
    };
    let err = w
        .admin
        .create_task(&nobody("alice"), task(101))
        .await
        .unwrap_err();
    assert_eq!(fields(err), ["percent_complete"]);
    let t = w
        .admin
        .create_task(&nobody("alice"), task(100))
        .await
        .unwrap();
    assert_eq!(t.percent_complete, 100);
    let err = w
        .admin
        .list_tasks(&nobody("bob"), Some(&principal("alice")))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        DomainError::Forbidden(Privilege::ReadActivities)
    ));
}
