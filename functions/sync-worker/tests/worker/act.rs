//! Appointments, contacts and tasks, both ways (issue 4 §3 and §5 "ACT create, update,
//! conflict and delete in both directions"): exsync records of the mailbox owner against
//! the simulator's Calendar, Contacts and Tasks, with the simulator's control methods
//! playing the user in Outlook.

use exsync_domain::activity::{Appointment, ContactActivity, TaskActivity, TaskStatus};
use exsync_domain::ids::{ActivityId, EmailAddress, Principal};
use exsync_domain::mailbox::{
    IncomingTrackingOption, Mailbox, Workload, WorkloadState, WorkloadStatus,
};
use exsync_domain::org::{ActDeliveryMethod, SyncDirection};
use exsync_domain::ports::{ActivityStore, Clock, ConfigStore, SyncStore};
use exsync_domain::sync::act::TRACKED_CATEGORY;
use exsync_domain::sync::decisions::Decision;
use exsync_domain::sync::engine::{JobReport, SyncEngine};
use exsync_domain::sync::job::{PollJob, PollReason};
use exsync_domain::sync::outgoing::{EXSYNC_PROPERTY_SET, RECORD_ID_PROPERTY};
use exsync_ews_sim::ews::{ItemSummary, ItemUpdate, NewContact, NewTask};
use exsync_ews_sim::store::{
    DistinguishedFolder, ExtendedProperty, ItemId, PropertyKey, PropertyValue,
};
use exsync_ews_sim::{FaultKind, FaultRule};
use time::OffsetDateTime;

use crate::support::{ALICE, BOB, CAROL, MAILBOX_OWNER, World, far};

fn owner() -> Principal {
    Principal::parse(MAILBOX_OWNER).unwrap()
}

/// Alice's mailbox with appointments, contacts and tasks enabled (server-side sync).
async fn act_mailbox(w: &World) -> Mailbox {
    let m = w.mailbox(ALICE, IncomingTrackingOption::None).await;
    let mut next = m.clone();
    next.appointments_contacts_tasks = ActDeliveryMethod::ServerSideSynchronization;
    next.act_state = WorkloadState {
        enabled: true,
        status: WorkloadStatus::Success,
        ..WorkloadState::default()
    };
    next.version = m.version + 1;
    ConfigStore::update_mailbox(&w.store, &next, m.version)
        .await
        .unwrap();
    next
}

/// One ACT run (a job that is not a scheduled one, so the slot rule does not apply), a
/// minute after the previous one.
async fn sync(w: &World, engine: &SyncEngine, m: &Mailbox) -> JobReport {
    w.clock.advance(time::Duration::minutes(1));
    let job = PollJob {
        mailbox_id: m.id.clone(),
        workloads: vec![Workload::AppointmentsContactsTasks],
        slot: exsync_domain::schedule::epoch_minute(w.clock.now()),
        reason: PollReason::TestAndEnable,
    };
    engine.handle(&job, far()).await.unwrap()
}

fn task(w: &World, subject: &str) -> TaskActivity {
    TaskActivity {
        id: ActivityId::new(),
        owner: owner(),
        subject: subject.to_owned(),
        body: "Ask about the renewal.".into(),
        due: None,
        status: TaskStatus::NotStarted,
        percent_complete: 0,
        regarding: None,
        version: 1,
        modified_at: w.clock.now(),
    }
}

fn exchange_tasks(w: &World) -> Vec<ItemSummary> {
    w.sim
        .exchange()
        .items(ALICE, DistinguishedFolder::Tasks)
        .unwrap()
}

fn exchange_task(w: &World, subject: &str) -> Option<ItemSummary> {
    exchange_tasks(w)
        .into_iter()
        .find(|i| i.subject.as_deref() == Some(subject))
}

/// A task the user creates in Outlook and tags "Tracked to exsync".
fn tracked_exchange_task(w: &World, subject: &str, body: &str) -> ItemId {
    let ex = w.sim.exchange();
    let id = ex
        .create_task(
            ALICE,
            NewTask {
                subject: subject.to_owned(),
                body_text: Some(body.to_owned()),
                ..NewTask::default()
            },
        )
        .unwrap();
    ex.update_item(
        ALICE,
        &id,
        ItemUpdate {
            categories: Some(vec![TRACKED_CATEGORY.to_owned()]),
            ..ItemUpdate::default()
        },
    )
    .unwrap();
    id
}

async fn owner_tasks(w: &World) -> Vec<TaskActivity> {
    ActivityStore::list_tasks(&w.store, &owner()).await.unwrap()
}

async fn decisions(w: &World, m: &Mailbox) -> Vec<Decision> {
    w.decisions(m)
        .await
        .into_iter()
        .map(|d| d.outcome)
        .collect()
}

#[tokio::test]
async fn an_appointment_created_in_exsync_appears_in_the_owners_calendar() {
    let w = World::start("act-create-appointment").await;
    let m = act_mailbox(&w).await;
    let engine = w.engine();
    let start = time::macros::datetime!(2026-12-01 10:00 UTC);
    let a = Appointment {
        id: ActivityId::new(),
        owner: owner(),
        subject: "Quarterly review".into(),
        start,
        end: start + time::Duration::hours(1),
        all_day: false,
        location: "Room 4".into(),
        body: String::new(),
        required_attendees: Vec::new(),
        optional_attendees: Vec::new(),
        regarding: None,
        version: 1,
        modified_at: w.clock.now(),
    };
    ActivityStore::put_appointment(&w.store, &a, None)
        .await
        .unwrap();

    sync(&w, &engine, &m).await;

    let calendar = w
        .sim
        .exchange()
        .items(ALICE, DistinguishedFolder::Calendar)
        .unwrap();
    let item = calendar
        .iter()
        .find(|i| i.subject.as_deref() == Some("Quarterly review"))
        .expect("the appointment is in the calendar");
    assert_eq!(item.start, Some(start));
    assert!(decisions(&w, &m).await.iter().any(|d| matches!(
        d,
        Decision::ActSynced { record_id, created: true, .. } if *record_id == a.id
    )));
}

#[tokio::test]
async fn a_task_created_in_exsync_is_created_in_exchange_once() {
    let w = World::start("act-create-once").await;
    let m = act_mailbox(&w).await;
    let engine = w.engine();
    ActivityStore::put_task(&w.store, &task(&w, "Call Fabrikam"), None)
        .await
        .unwrap();

    sync(&w, &engine, &m).await;
    sync(&w, &engine, &m).await;

    let copies = exchange_tasks(&w)
        .into_iter()
        .filter(|i| i.subject.as_deref() == Some("Call Fabrikam"))
        .count();
    assert_eq!(copies, 1);
}

#[tokio::test]
async fn a_task_tracked_in_exchange_appears_in_exsync_and_an_untracked_one_does_not() {
    let w = World::start("act-track-exchange").await;
    let m = act_mailbox(&w).await;
    let engine = w.engine();
    tracked_exchange_task(&w, "Send the quote", "Before Friday.");
    w.sim
        .exchange()
        .create_task(
            ALICE,
            NewTask {
                subject: "Buy milk".into(),
                ..NewTask::default()
            },
        )
        .unwrap();

    sync(&w, &engine, &m).await;

    let tasks = owner_tasks(&w).await;
    let subjects: Vec<&str> = tasks.iter().map(|t| t.subject.as_str()).collect();
    assert_eq!(subjects, vec!["Send the quote"]);
    assert_eq!(tasks[0].body, "Before Friday.");
}

#[tokio::test]
async fn a_change_in_exsync_follows_to_exchange() {
    let w = World::start("act-update-to-exchange").await;
    let m = act_mailbox(&w).await;
    let engine = w.engine();
    let mut t = task(&w, "Call Fabrikam");
    ActivityStore::put_task(&w.store, &t, None).await.unwrap();
    sync(&w, &engine, &m).await;

    t.subject = "Call Fabrikam back".into();
    t.version += 1;
    t.modified_at = w.clock.now();
    ActivityStore::put_task(&w.store, &t, Some(t.version - 1))
        .await
        .unwrap();
    sync(&w, &engine, &m).await;

    assert!(exchange_task(&w, "Call Fabrikam back").is_some());
    assert!(exchange_task(&w, "Call Fabrikam").is_none());
}

#[tokio::test]
async fn a_change_in_exchange_follows_to_exsync() {
    let w = World::start("act-update-to-exsync").await;
    let m = act_mailbox(&w).await;
    let engine = w.engine();
    let id = tracked_exchange_task(&w, "Send the quote", "Before Friday.");
    sync(&w, &engine, &m).await;

    w.sim
        .exchange()
        .update_item(
            ALICE,
            &id,
            ItemUpdate {
                subject: Some("Send the revised quote".into()),
                ..ItemUpdate::default()
            },
        )
        .unwrap();
    sync(&w, &engine, &m).await;

    let tasks = owner_tasks(&w).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].subject, "Send the revised quote");
}

#[tokio::test]
async fn a_field_directed_to_exchange_only_is_not_pulled() {
    let w = World::start("act-direction").await;
    w.settings(|s| {
        s.task_fields
            .insert("body".into(), SyncDirection::ToExchange);
    })
    .await;
    let m = act_mailbox(&w).await;
    let engine = w.engine();
    tracked_exchange_task(&w, "Send the quote", "Before Friday.");

    sync(&w, &engine, &m).await;

    let tasks = owner_tasks(&w).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].subject, "Send the quote");
    assert_eq!(
        tasks[0].body, "",
        "the body is exsync's to set, not Exchange's"
    );
}

#[tokio::test]
async fn a_field_with_no_direction_is_not_pulled() {
    let w = World::start("act-direction-none").await;
    w.settings(|s| {
        s.task_fields.insert("subject".into(), SyncDirection::None);
    })
    .await;
    let m = act_mailbox(&w).await;
    let engine = w.engine();
    tracked_exchange_task(&w, "Send the quote", "Before Friday.");

    sync(&w, &engine, &m).await;

    let tasks = owner_tasks(&w).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].subject, "");
    assert_eq!(tasks[0].body, "Before Friday.");
}

/// A linked task changed on both sides: exsync at `exsync_changed_at`, Exchange now (the
/// simulator's clock is the wall clock).
async fn conflict(label: &str, exsync_changed_at: OffsetDateTime) -> (World, Mailbox) {
    let w = World::start(label).await;
    let m = act_mailbox(&w).await;
    let engine = w.engine();
    let id = tracked_exchange_task(&w, "Send the quote", "Before Friday.");
    sync(&w, &engine, &m).await;

    let mut t = owner_tasks(&w).await.remove(0);
    t.subject = "Send the quote (exsync)".into();
    t.version += 1;
    t.modified_at = exsync_changed_at;
    ActivityStore::put_task(&w.store, &t, Some(t.version - 1))
        .await
        .unwrap();
    w.sim
        .exchange()
        .update_item(
            ALICE,
            &id,
            ItemUpdate {
                subject: Some("Send the quote (Outlook)".into()),
                ..ItemUpdate::default()
            },
        )
        .unwrap();
    sync(&w, &engine, &m).await;
    (w, m)
}

#[tokio::test]
async fn a_conflict_goes_to_the_newer_exchange_change_and_is_logged() {
    let past = time::macros::datetime!(2020-01-01 00:00 UTC);
    let (w, m) = conflict("act-conflict-exchange", past).await;

    assert_eq!(owner_tasks(&w).await[0].subject, "Send the quote (Outlook)");
    assert!(exchange_task(&w, "Send the quote (Outlook)").is_some());
    let logged = w.decisions(&m).await;
    let entry = logged
        .iter()
        .find(|d| matches!(d.outcome, Decision::ActConflict { .. }))
        .expect("the conflict is logged");
    assert!(entry.text.contains("field subject"), "{}", entry.text);
    assert!(entry.text.contains("Exchange won"), "{}", entry.text);
}

#[tokio::test]
async fn a_conflict_goes_to_the_newer_exsync_change_and_is_logged() {
    let future = OffsetDateTime::now_utc() + time::Duration::days(1);
    let (w, m) = conflict("act-conflict-exsync", future).await;

    assert_eq!(owner_tasks(&w).await[0].subject, "Send the quote (exsync)");
    assert!(exchange_task(&w, "Send the quote (exsync)").is_some());
    assert!(decisions(&w, &m).await.iter().any(|d| matches!(
        d,
        Decision::ActConflict {
            winner: exsync_domain::sync::act::ActSide::Exsync,
            ..
        }
    )));
}

#[tokio::test]
async fn deleting_in_exchange_unlinks_and_keeps_the_exsync_record() {
    let w = World::start("act-delete-exchange").await;
    let m = act_mailbox(&w).await;
    let engine = w.engine();
    let id = tracked_exchange_task(&w, "Send the quote", "Before Friday.");
    sync(&w, &engine, &m).await;

    w.sim.exchange().delete_item(ALICE, &id).unwrap();
    sync(&w, &engine, &m).await;

    assert_eq!(owner_tasks(&w).await.len(), 1, "the record stays");
    assert!(decisions(&w, &m).await.iter().any(|d| matches!(
        d,
        Decision::ActUnlinked {
            propagated: false,
            ..
        }
    )));
    assert!(
        exchange_task(&w, "Send the quote").is_none(),
        "the user's delete is not undone"
    );
}

#[tokio::test]
async fn deleting_in_exsync_unlinks_and_keeps_the_exchange_item() {
    let w = World::start("act-delete-exsync").await;
    let m = act_mailbox(&w).await;
    let engine = w.engine();
    let t = task(&w, "Call Fabrikam");
    ActivityStore::put_task(&w.store, &t, None).await.unwrap();
    sync(&w, &engine, &m).await;

    ActivityStore::delete_task(&w.store, &t.id).await.unwrap();
    sync(&w, &engine, &m).await;

    assert!(
        exchange_task(&w, "Call Fabrikam").is_some(),
        "the item stays"
    );
    assert!(decisions(&w, &m).await.iter().any(|d| matches!(
        d,
        Decision::ActUnlinked {
            propagated: false,
            ..
        }
    )));
}

#[tokio::test]
async fn a_scheduled_poll_runs_act_only_on_every_third_slot() {
    let w = World::start("act-stride").await;
    let m = act_mailbox(&w).await;
    let engine = w.engine();
    // The first run places the mailbox on its interval.
    sync(&w, &engine, &m).await;
    let interval = i64::from(
        w.reload(&m)
            .await
            .scheduler
            .interval_minutes
            .expect("the mailbox is scheduled"),
    );
    let before = w.sim.request_count("SyncFolderItems");
    let mut ran = 0;
    for slot in [3 * interval, 4 * interval, 5 * interval] {
        let job = PollJob {
            mailbox_id: m.id.clone(),
            workloads: vec![Workload::AppointmentsContactsTasks],
            slot,
            reason: PollReason::Scheduled,
        };
        let report = engine.handle(&job, far()).await.unwrap();
        ran += report
            .workloads
            .iter()
            .filter(|r| r.workload == Workload::AppointmentsContactsTasks)
            .count();
    }
    assert_eq!(ran, 1, "one slot in three");
    // The one ACT run: one SyncFolderItems per folder; the others called nothing.
    assert_eq!(w.sim.request_count("SyncFolderItems") - before, 3);
}

#[tokio::test]
async fn a_contact_created_and_changed_in_exsync_is_written_to_exchange_without_failures() {
    let w = World::start("act-contact").await;
    let m = act_mailbox(&w).await;
    let engine = w.engine();
    let mut c = ContactActivity {
        id: ActivityId::new(),
        owner: owner(),
        first_name: "Dana".into(),
        last_name: "Buyer".into(),
        email: EmailAddress::parse("dana@fabrikam.test"),
        company: "Fabrikam".into(),
        job_title: "Buyer".into(),
        business_phone: "+1 555 0100".into(),
        mobile_phone: String::new(),
        version: 1,
        modified_at: w.clock.now(),
    };
    ActivityStore::put_contact(&w.store, &c, None)
        .await
        .unwrap();
    sync(&w, &engine, &m).await;

    c.job_title = "Head of purchasing".into();
    c.email = EmailAddress::parse("dana.buyer@fabrikam.test");
    c.business_phone = String::new();
    c.version += 1;
    c.modified_at = w.clock.now();
    ActivityStore::put_contact(&w.store, &c, Some(c.version - 1))
        .await
        .unwrap();
    sync(&w, &engine, &m).await;

    let contacts = w
        .sim
        .exchange()
        .items(ALICE, DistinguishedFolder::Contacts)
        .unwrap();
    assert_eq!(contacts.len(), 1);
    let logged = decisions(&w, &m).await;
    assert!(
        !logged.iter().any(Decision::is_failure),
        "{:?}",
        logged.iter().map(Decision::text).collect::<Vec<_>>()
    );
    assert!(logged.iter().any(|d| matches!(
        d,
        Decision::ActSynced { created: false, fields, .. }
            if fields.contains(&"job_title".to_owned()) && fields.contains(&"email".to_owned())
    )));
}

#[tokio::test]
async fn when_the_org_propagates_deletes_deleting_in_exsync_deletes_in_exchange() {
    let w = World::start("act-delete-propagates").await;
    w.settings(|s| s.act_delete_propagates = true).await;
    let m = act_mailbox(&w).await;
    let engine = w.engine();
    let t = task(&w, "Call Fabrikam");
    ActivityStore::put_task(&w.store, &t, None).await.unwrap();
    sync(&w, &engine, &m).await;
    assert!(exchange_task(&w, "Call Fabrikam").is_some());

    ActivityStore::delete_task(&w.store, &t.id).await.unwrap();
    sync(&w, &engine, &m).await;

    assert!(exchange_task(&w, "Call Fabrikam").is_none());
    assert!(decisions(&w, &m).await.iter().any(|d| matches!(
        d,
        Decision::ActUnlinked {
            propagated: true,
            ..
        }
    )));
}

#[tokio::test]
async fn a_contact_tracked_in_exchange_appears_in_exsync() {
    let w = World::start("act-track-contact").await;
    let m = act_mailbox(&w).await;
    let engine = w.engine();
    let ex = w.sim.exchange();
    let id = ex
        .create_contact(
            ALICE,
            NewContact {
                display_name: "Dana Buyer".into(),
                given_name: Some("Dana".into()),
                surname: Some("Buyer".into()),
                company_name: Some("Fabrikam".into()),
                email: Some("dana@fabrikam.test".into()),
                business_phone: Some("+1 555 0100".into()),
                ..NewContact::default()
            },
        )
        .unwrap();
    ex.update_item(
        ALICE,
        &id,
        ItemUpdate {
            categories: Some(vec![TRACKED_CATEGORY.to_owned()]),
            ..ItemUpdate::default()
        },
    )
    .unwrap();

    sync(&w, &engine, &m).await;

    let contacts = ActivityStore::list_contacts(&w.store, &owner())
        .await
        .unwrap();
    assert_eq!(contacts.len(), 1);
    let c = &contacts[0];
    assert_eq!(
        (
            c.first_name.as_str(),
            c.last_name.as_str(),
            c.company.as_str()
        ),
        ("Dana", "Buyer", "Fabrikam")
    );
    assert_eq!(
        c.email.as_ref().map(|e| e.as_str()),
        Some("dana@fabrikam.test")
    );
    assert_eq!(c.business_phone, "+1 555 0100");
}

// --- Attendees ------------------------------------------------------------------------

fn address(a: &str) -> EmailAddress {
    EmailAddress::parse(a).unwrap()
}

fn addresses(list: &[exsync_ews_sim::store::EmailAddress]) -> Vec<String> {
    let mut all: Vec<String> = list.iter().map(|a| a.address.to_lowercase()).collect();
    all.sort();
    all
}

fn exchange_appointment(w: &World, subject: &str) -> ItemSummary {
    w.sim
        .exchange()
        .items(ALICE, DistinguishedFolder::Calendar)
        .unwrap()
        .into_iter()
        .find(|i| i.subject.as_deref() == Some(subject))
        .unwrap_or_else(|| panic!("{subject} is not in the calendar"))
}

async fn owner_appointments(w: &World) -> Vec<Appointment> {
    ActivityStore::list_appointments(&w.store, &owner())
        .await
        .unwrap()
}

fn strs(list: &[EmailAddress]) -> Vec<&str> {
    list.iter().map(EmailAddress::as_str).collect()
}

/// Nothing reached the attendee: no meeting in their calendar, no request in their inbox.
fn not_invited(w: &World, who: &str) {
    for folder in [DistinguishedFolder::Calendar, DistinguishedFolder::Inbox] {
        assert!(
            w.sim.exchange().items(who, folder).unwrap().is_empty(),
            "{who} heard from exsync ({folder:?})"
        );
    }
}

/// An appointment the user creates in Outlook with attendees, tagged "Tracked to exsync".
fn tracked_exchange_meeting(w: &World, subject: &str) -> ItemId {
    use exsync_ews_sim::store::EmailAddress as SimAddress;
    let start = time::macros::datetime!(2026-12-02 15:00 UTC);
    w.sim
        .exchange()
        .create_calendar_item(
            ALICE,
            exsync_ews_sim::ews::NewCalendarItem {
                subject: subject.to_owned(),
                start: Some(start),
                end: Some(start + time::Duration::minutes(30)),
                attendees: vec![SimAddress::named("Bob Berg", "Bob@Contoso.test")],
                optional_attendees: vec![SimAddress::new(CAROL)],
                categories: vec![TRACKED_CATEGORY.to_owned()],
                ..Default::default()
            },
        )
        .unwrap()
}

#[tokio::test]
async fn an_appointment_with_attendees_reaches_exchange_with_them_and_nobody_is_invited() {
    let w = World::start("act-attendees-to-exchange").await;
    let m = act_mailbox(&w).await;
    let engine = w.engine();
    let start = time::macros::datetime!(2026-12-01 10:00 UTC);
    let a = Appointment {
        id: ActivityId::new(),
        owner: owner(),
        subject: "Contract review".into(),
        start,
        end: start + time::Duration::hours(1),
        all_day: false,
        location: String::new(),
        body: String::new(),
        required_attendees: vec![address(BOB)],
        optional_attendees: vec![address(CAROL), address("erin@fabrikam.test")],
        regarding: None,
        version: 1,
        modified_at: w.clock.now(),
    };
    ActivityStore::put_appointment(&w.store, &a, None)
        .await
        .unwrap();

    sync(&w, &engine, &m).await;

    let item = exchange_appointment(&w, "Contract review");
    assert_eq!(addresses(&item.to), [BOB]);
    assert_eq!(addresses(&item.cc), [CAROL, "erin@fabrikam.test"]);
    not_invited(&w, BOB);
    not_invited(&w, CAROL);

    // The create's echo changes nothing on either side.
    sync(&w, &engine, &m).await;
    assert_eq!(owner_appointments(&w).await[0].version, 1);
    assert_eq!(
        exchange_appointment(&w, "Contract review").change_key,
        item.change_key
    );
}

#[tokio::test]
async fn an_outlook_appointment_tracked_with_attendees_appears_in_exsync_with_them() {
    let w = World::start("act-attendees-to-exsync").await;
    let m = act_mailbox(&w).await;
    let engine = w.engine();
    tracked_exchange_meeting(&w, "Site visit");

    sync(&w, &engine, &m).await;

    let all = owner_appointments(&w).await;
    assert_eq!(all.len(), 1);
    assert_eq!(strs(&all[0].required_attendees), [BOB]);
    assert_eq!(strs(&all[0].optional_attendees), [CAROL]);
    // Taken as Exchange has it: nothing goes back.
    let before = exchange_appointment(&w, "Site visit").change_key;
    sync(&w, &engine, &m).await;
    assert_eq!(exchange_appointment(&w, "Site visit").change_key, before);
}

#[tokio::test]
async fn an_attendee_added_on_either_side_reaches_the_other() {
    use exsync_ews_sim::store::EmailAddress as SimAddress;
    let w = World::start("act-attendees-both-ways").await;
    let m = act_mailbox(&w).await;
    let engine = w.engine();
    let id = tracked_exchange_meeting(&w, "Site visit");
    sync(&w, &engine, &m).await;

    // Outlook: Dan joins the required attendees.
    w.sim
        .exchange()
        .update_item(
            ALICE,
            &id,
            ItemUpdate {
                required_attendees: Some(vec![
                    SimAddress::named("Bob Berg", BOB),
                    SimAddress::named("Dan Dunn", "dan@fabrikam.test"),
                ]),
                ..ItemUpdate::default()
            },
        )
        .unwrap();
    sync(&w, &engine, &m).await;
    let mut a = owner_appointments(&w).await.remove(0);
    assert_eq!(strs(&a.required_attendees), [BOB, "dan@fabrikam.test"]);
    assert_eq!(strs(&a.optional_attendees), [CAROL]);

    // exsync: Erin joins the optional attendees.
    a.optional_attendees.push(address("erin@fabrikam.test"));
    a.version += 1;
    a.modified_at = w.clock.now();
    ActivityStore::put_appointment(&w.store, &a, Some(a.version - 1))
        .await
        .unwrap();
    sync(&w, &engine, &m).await;

    let item = exchange_appointment(&w, "Site visit");
    assert_eq!(addresses(&item.to), [BOB, "dan@fabrikam.test"]);
    assert_eq!(addresses(&item.cc), [CAROL, "erin@fabrikam.test"]);
    assert!(decisions(&w, &m).await.iter().any(|d| matches!(
        d,
        Decision::ActSynced { to: exsync_domain::sync::act::ActSide::Exchange, fields, .. }
            if fields == &["optional_attendees".to_owned()]
    )));
    not_invited(&w, BOB);
    not_invited(&w, CAROL);
}

#[tokio::test]
async fn attendees_changed_on_both_sides_go_to_the_newer_change_and_are_logged() {
    use exsync_ews_sim::store::EmailAddress as SimAddress;
    let w = World::start("act-attendees-conflict").await;
    let m = act_mailbox(&w).await;
    let engine = w.engine();
    let id = tracked_exchange_meeting(&w, "Site visit");
    sync(&w, &engine, &m).await;

    let mut a = owner_appointments(&w).await.remove(0);
    a.required_attendees = vec![address("frank@fabrikam.test")];
    a.version += 1;
    a.modified_at = time::macros::datetime!(2020-01-01 00:00 UTC);
    ActivityStore::put_appointment(&w.store, &a, Some(a.version - 1))
        .await
        .unwrap();
    w.sim
        .exchange()
        .update_item(
            ALICE,
            &id,
            ItemUpdate {
                required_attendees: Some(vec![SimAddress::new("grace@fabrikam.test")]),
                ..ItemUpdate::default()
            },
        )
        .unwrap();
    sync(&w, &engine, &m).await;

    assert_eq!(
        strs(&owner_appointments(&w).await[0].required_attendees),
        ["grace@fabrikam.test"]
    );
    assert_eq!(
        addresses(&exchange_appointment(&w, "Site visit").to),
        ["grace@fabrikam.test"]
    );
    let logged = w.decisions(&m).await;
    let entry = logged
        .iter()
        .find(|d| matches!(d.outcome, Decision::ActConflict { .. }))
        .expect("the conflict is logged");
    assert!(
        entry.text.contains("field required_attendees"),
        "{}",
        entry.text
    );
    assert!(entry.text.contains("Exchange won"), "{}", entry.text);
}

/// Whether a simulator item carries exsync's record id property with this value.
fn carries_record_id(item: &ItemSummary, id: &ActivityId) -> bool {
    let key = PropertyKey::named(EXSYNC_PROPERTY_SET.to_string(), RECORD_ID_PROPERTY);
    item.extended_properties
        .iter()
        .any(|p| p.key.same_property(&key) && p.value == PropertyValue::Single(id.to_string()))
}

#[tokio::test]
async fn a_task_created_in_exsync_carries_its_record_id_in_exchange() {
    let w = World::start("act-record-id").await;
    let m = act_mailbox(&w).await;
    let engine = w.engine();
    let t = task(&w, "Call Fabrikam");
    ActivityStore::put_task(&w.store, &t, None).await.unwrap();

    sync(&w, &engine, &m).await;

    let item = exchange_task(&w, "Call Fabrikam").expect("created in Exchange");
    assert!(carries_record_id(&item, &t.id), "{item:?}");
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_linked_on_the_next_poll_not_made_again() {
    let w = World::start("act-create-lost").await;
    let m = act_mailbox(&w).await;
    let engine = w.engine();
    let t = task(&w, "Call Fabrikam");
    ActivityStore::put_task(&w.store, &t, None).await.unwrap();
    // Exchange creates the item, the answer never arrives: no link is written.
    w.sim.add_fault(FaultRule::next(
        Some("CreateItem"),
        1,
        FaultKind::DropAfterRequest,
    ));
    sync(&w, &engine, &m).await;
    assert_eq!(exchange_tasks(&w).len(), 1, "the create was done");
    assert!(
        SyncStore::act_links(&w.store, &m.id)
            .await
            .unwrap()
            .is_empty(),
        "and its link lost"
    );
    w.sim.clear_faults();

    sync(&w, &engine, &m).await;
    sync(&w, &engine, &m).await;

    let items = exchange_tasks(&w);
    assert_eq!(items.len(), 1, "one item in Exchange: {items:?}");
    assert_eq!(w.sim.request_count("CreateItem"), 1, "never created again");
    let links = SyncStore::act_links(&w.store, &m.id).await.unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].record_id, t.id);
    assert_eq!(links[0].item_id, items[0].id.as_str());
    assert!(!links[0].unlinked);
    // The tracked category on exsync's own item made no second record either.
    let tasks = owner_tasks(&w).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].id, t.id);

    // Linked for real: a change in exsync goes to that item.
    let mut t = tasks.into_iter().next().unwrap();
    t.subject = "Call Fabrikam back".into();
    t.version += 1;
    t.modified_at = w.clock.now();
    ActivityStore::put_task(&w.store, &t, Some(t.version - 1))
        .await
        .unwrap();
    sync(&w, &engine, &m).await;
    let items = exchange_tasks(&w);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].subject.as_deref(), Some("Call Fabrikam back"));
}

#[tokio::test]
async fn an_item_naming_a_record_that_does_not_exist_is_an_ordinary_outlook_item() {
    let w = World::start("act-record-id-unknown").await;
    let m = act_mailbox(&w).await;
    let engine = w.engine();
    let ex = w.sim.exchange();
    let key = PropertyKey::named(EXSYNC_PROPERTY_SET.to_string(), RECORD_ID_PROPERTY);
    for (subject, value) in [
        ("Gone record", ActivityId::new().to_string()),
        ("Bad value", "#".into()),
    ] {
        let id = ex
            .create_task(
                ALICE,
                NewTask {
                    subject: subject.into(),
                    ..NewTask::default()
                },
            )
            .unwrap();
        ex.update_item(
            ALICE,
            &id,
            ItemUpdate {
                extended_properties: vec![ExtendedProperty::string(key.clone(), value)],
                ..ItemUpdate::default()
            },
        )
        .unwrap();
    }

    sync(&w, &engine, &m).await;

    assert!(owner_tasks(&w).await.is_empty(), "untracked: no record");
    assert!(
        SyncStore::act_links(&w.store, &m.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(exchange_tasks(&w).len(), 2);
}

#[tokio::test]
async fn an_idle_act_poll_makes_only_its_three_sync_folder_items_calls() {
    let w = World::start("act-idle").await;
    let m = act_mailbox(&w).await;
    let engine = w.engine();
    ActivityStore::put_task(&w.store, &task(&w, "Call Fabrikam"), None)
        .await
        .unwrap();
    tracked_exchange_task(&w, "Send the quote", "Before Friday.");
    sync(&w, &engine, &m).await;
    // Reads the create's echo.
    sync(&w, &engine, &m).await;

    let before = w.ews_calls();
    let syncs = w.sim.request_count("SyncFolderItems");
    sync(&w, &engine, &m).await;
    // As before items carried the record id: one SyncFolderItems per folder, no FindItem.
    assert_eq!(w.sim.request_count("SyncFolderItems") - syncs, 3);
    assert_eq!(w.ews_calls() - before, 3);
}
