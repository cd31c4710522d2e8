//! Outgoing send: Pending Send email goes out through EWS once, and only once.

use exsync_domain::activity::{CorrelationMethod, Direction, EmailActivity, EmailStatus, Party};
use exsync_domain::ids::{ActivityId, EmailAddress, Principal};
use exsync_domain::mailbox::{
    IncomingTrackingOption, Mailbox, Workload, WorkloadState, WorkloadStatus,
};
use exsync_domain::org::DeliveryMethod;
use exsync_domain::ports::{ActivityStore, Clock, ConfigStore};
use exsync_domain::sync::job::{PollJob, PollReason};
use exsync_domain::sync::outgoing::ACTIVITY_ID_PROPERTY;
use exsync_ews_sim::ews::ItemSummary;
use exsync_ews_sim::store::DistinguishedFolder;
use exsync_ews_sim::{FaultKind, FaultRule};

use crate::support::{ALICE, BOB, MAILBOX_OWNER, World};

/// A mailbox that sends through exsync (outgoing: Server-Side Synchronization, enabled).
pub async fn sender(w: &World, email: &str) -> Mailbox {
    let m = w.mailbox(email, IncomingTrackingOption::None).await;
    let mut next = m.clone();
    next.outgoing = DeliveryMethod::ServerSideSynchronization;
    next.outgoing_state = WorkloadState {
        enabled: true,
        status: WorkloadStatus::Success,
        status_at: Some(w.clock.now()),
        ..WorkloadState::default()
    };
    // On its polling slots, as the admin API leaves a mailbox it changed.
    let settings = ConfigStore::get_settings(&w.store).await.unwrap();
    exsync_domain::schedule::refresh_schedule(
        &mut next,
        Some(&w.profile),
        &settings,
        w.clock.now(),
    );
    next.version = m.version + 1;
    ConfigStore::update_mailbox(&w.store, &next, m.version)
        .await
        .unwrap();
    next
}

/// An email from `from` to `to`, queued for sending.
async fn pending(w: &World, from: &Mailbox, to: &str, subject: &str) -> EmailActivity {
    let now = w.clock.now();
    let e = EmailActivity {
        id: ActivityId::new(),
        subject: subject.to_owned(),
        body_text: format!("Please find the details of {subject}."),
        body_html: None,
        body_truncated: false,
        from: Some(Party {
            address: from.email.clone(),
            name: None,
            record: None,
        }),
        to: vec![Party {
            address: EmailAddress::parse(to).unwrap(),
            name: Some("Recipient".into()),
            record: None,
        }],
        cc: Vec::new(),
        bcc: Vec::new(),
        direction: Direction::Outgoing,
        status: EmailStatus::PendingSend,
        internet_message_id: None,
        in_reply_to: None,
        conversation_index: None,
        tracking_token: None,
        correlation: CorrelationMethod::None,
        regarding: None,
        parent: None,
        receiving_mailboxes: Vec::new(),
        sender_mailbox: Some(from.id.clone()),
        ews_item_ids: Default::default(),
        attachments: Vec::new(),
        delivery_attempts: 0,
        failure_reason: None,
        sent_on: None,
        received_on: None,
        owner: Principal::parse(MAILBOX_OWNER).unwrap(),
        version: 1,
        created_at: now,
        modified_at: now,
    };
    ActivityStore::create_email(&w.store, &e).await.unwrap();
    e
}

/// The job the admin API enqueues when an email goes Pending Send.
fn send_job(w: &World, m: &Mailbox) -> PollJob {
    PollJob {
        mailbox_id: m.id.clone(),
        workloads: vec![Workload::Outgoing],
        slot: w.clock.now().unix_timestamp(),
        reason: PollReason::SendRequested,
    }
}

async fn stored(w: &World, e: &EmailActivity) -> EmailActivity {
    ActivityStore::get_email(&w.store, &e.id)
        .await
        .unwrap()
        .expect("the email exists")
}

/// Messages in a mailbox's folder whose subject contains `subject`.
fn in_folder(
    w: &World,
    mailbox: &str,
    folder: DistinguishedFolder,
    subject: &str,
) -> Vec<ItemSummary> {
    w.sim
        .exchange()
        .items(mailbox, folder)
        .unwrap()
        .into_iter()
        .filter(|i| i.subject.as_deref().is_some_and(|s| s.contains(subject)))
        .collect()
}

fn carries_activity_id(item: &ItemSummary, id: &ActivityId) -> bool {
    item.extended_properties.iter().any(|p| {
        format!("{:?}", p.key).contains(ACTIVITY_ID_PROPERTY)
            && format!("{:?}", p.value).contains(id.as_str())
    })
}

#[tokio::test]
async fn a_pending_email_lands_in_the_recipients_inbox_and_the_senders_sent_items_with_its_activity_id()
 {
    let w = World::start("send").await;
    let m = sender(&w, ALICE).await;
    let e = pending(&w, &m, BOB, "Quote for 40 chairs").await;

    let response = w.handle(&w.engine(), &[send_job(&w, &m)]).await;
    assert!(response.batch_item_failures.is_empty());

    let inbox = in_folder(&w, BOB, DistinguishedFolder::Inbox, "Quote for 40 chairs");
    assert_eq!(inbox.len(), 1);
    let sent = in_folder(
        &w,
        ALICE,
        DistinguishedFolder::SentItems,
        "Quote for 40 chairs",
    );
    assert_eq!(sent.len(), 1);
    assert!(carries_activity_id(&sent[0], &e.id));

    let after = stored(&w, &e).await;
    assert_eq!(after.status, EmailStatus::Sent);
    assert!(after.sent_on.is_some());
    assert_eq!(after.delivery_attempts, 1);
    assert_eq!(
        after.ews_item_ids.get(m.id.as_str()),
        Some(&sent[0].id.to_string())
    );
    let log = w.decisions(&m).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].text, format!("sent as {}", e.id));
}

#[tokio::test]
async fn the_subject_carries_a_tracking_token_when_the_org_uses_them() {
    let w = World::start("token").await;
    let m = sender(&w, ALICE).await;
    let e = pending(&w, &m, BOB, "Delivery dates").await;

    w.handle(&w.engine(), &[send_job(&w, &m)]).await;

    let after = stored(&w, &e).await;
    let token = after.tracking_token.clone().expect("a token was given");
    assert!(token.starts_with("CRM:"), "{token}");
    let inbox = in_folder(&w, BOB, DistinguishedFolder::Inbox, "Delivery dates");
    assert_eq!(inbox.len(), 1);
    assert_eq!(
        inbox[0].subject.as_deref(),
        Some(format!("Delivery dates {token}").as_str())
    );
}

#[tokio::test]
async fn the_subject_is_left_alone_when_the_org_uses_no_tokens() {
    let w = World::start("notoken").await;
    w.settings(|s| s.use_tracking_token = false).await;
    let m = sender(&w, ALICE).await;
    let e = pending(&w, &m, BOB, "Delivery dates").await;

    w.handle(&w.engine(), &[send_job(&w, &m)]).await;

    assert_eq!(stored(&w, &e).await.tracking_token, None);
    let inbox = in_folder(&w, BOB, DistinguishedFolder::Inbox, "Delivery dates");
    assert_eq!(inbox[0].subject.as_deref(), Some("Delivery dates"));
}

#[tokio::test]
async fn a_send_interrupted_after_exchange_sent_it_is_not_sent_again_on_retry() {
    let w = World::start("interrupted").await;
    let m = sender(&w, ALICE).await;
    let e = pending(&w, &m, BOB, "Contract draft").await;
    // Exchange runs the CreateItem, and the connection drops before the answer arrives.
    w.sim.add_fault(FaultRule::next(
        Some("CreateItem"),
        1,
        FaultKind::ResetMidResponse,
    ));
    let engine = w.engine();
    w.handle(&engine, &[send_job(&w, &m)]).await;
    let between = stored(&w, &e).await;
    assert_eq!(between.status, EmailStatus::PendingSend);
    assert_eq!(between.delivery_attempts, 1);

    w.handle(&engine, &[send_job(&w, &m)]).await;

    assert_eq!(
        in_folder(&w, BOB, DistinguishedFolder::Inbox, "Contract draft").len(),
        1
    );
    let after = stored(&w, &e).await;
    assert_eq!(
        after.status,
        EmailStatus::Sent,
        "{:?}",
        after.failure_reason
    );
    let log = w.decisions(&m).await;
    assert_eq!(
        log[0].text,
        format!("already in Sent Items: marked Sent as {}", e.id)
    );
}

#[tokio::test]
async fn an_email_left_in_sending_by_a_dead_worker_is_taken_over_after_the_lease_without_a_second_send()
 {
    let w = World::start("lease").await;
    let m = sender(&w, ALICE).await;
    let e = pending(&w, &m, BOB, "Invoice 17").await;
    // The first worker claimed and sent it, then died before writing Sent.
    w.sim.add_fault(FaultRule::next(
        Some("CreateItem"),
        1,
        FaultKind::ResetMidResponse,
    ));
    let engine = w.engine();
    w.handle(&engine, &[send_job(&w, &m)]).await;
    let mut sending = stored(&w, &e).await;
    let expected = sending.version;
    sending.status = EmailStatus::Sending;
    sending.delivery_attempts = 0;
    sending.version += 1;
    ActivityStore::update_email(&w.store, &sending, expected)
        .await
        .unwrap();

    w.handle(&engine, &[send_job(&w, &m)]).await;
    assert_eq!(stored(&w, &e).await.status, EmailStatus::Sending);

    w.clock.advance(time::Duration::minutes(16));
    w.handle(&engine, &[send_job(&w, &m)]).await;

    assert_eq!(stored(&w, &e).await.status, EmailStatus::Sent);
    assert_eq!(
        in_folder(&w, BOB, DistinguishedFolder::Inbox, "Invoice 17").len(),
        1
    );
}

#[tokio::test]
async fn a_send_job_delivered_twice_sends_once() {
    let w = World::start("twice").await;
    let m = sender(&w, ALICE).await;
    let e = pending(&w, &m, BOB, "Meeting notes").await;
    let job = send_job(&w, &m);
    let (a, b) = (w.engine(), w.engine());

    let (ra, rb) = tokio::join!(
        w.handle(&a, std::slice::from_ref(&job)),
        w.handle(&b, std::slice::from_ref(&job))
    );
    assert!(ra.batch_item_failures.is_empty() && rb.batch_item_failures.is_empty());

    assert_eq!(
        in_folder(&w, BOB, DistinguishedFolder::Inbox, "Meeting notes").len(),
        1
    );
    assert_eq!(stored(&w, &e).await.status, EmailStatus::Sent);
}

#[tokio::test]
async fn a_send_exchange_refuses_for_good_is_failed_with_an_alert_to_the_senders_owner() {
    let w = World::start("refused").await;
    let m = sender(&w, ALICE).await;
    let e = pending(&w, &m, BOB, "Price list").await;
    w.sim.add_fault(FaultRule::next(
        Some("CreateItem"),
        1,
        FaultKind::SoapFault {
            code: "ErrorSendAsDenied".into(),
            message: None,
        },
    ));

    w.handle(&w.engine(), &[send_job(&w, &m)]).await;

    let after = stored(&w, &e).await;
    assert_eq!(after.status, EmailStatus::Failed);
    assert_eq!(after.delivery_attempts, 1);
    assert!(
        after
            .failure_reason
            .as_deref()
            .is_some_and(|r| r.contains("ErrorSendAsDenied")),
        "{:?}",
        after.failure_reason
    );
    assert!(in_folder(&w, BOB, DistinguishedFolder::Inbox, "Price list").is_empty());
    let alerts = w.alerts_of(MAILBOX_OWNER).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].code, "ErrorSendAsDenied");
    let log = w.decisions(&m).await;
    assert_eq!(log[0].text, "failed: ErrorSendAsDenied");
}

#[tokio::test]
async fn a_transient_send_failure_returns_the_email_to_pending_send_and_postpones_the_mailbox() {
    let w = World::start("busy").await;
    let m = sender(&w, ALICE).await;
    let e = pending(&w, &m, BOB, "Order 4411").await;
    w.sim.add_fault(FaultRule::next(
        Some("CreateItem"),
        1,
        FaultKind::ServerBusy {
            back_off_ms: 60_000,
        },
    ));

    w.handle(&w.engine(), &[send_job(&w, &m)]).await;

    let after = stored(&w, &e).await;
    assert_eq!(after.status, EmailStatus::PendingSend);
    assert_eq!(after.delivery_attempts, 1);
    assert!(w.reload(&m).await.scheduler.postponed_until.is_some());
    assert!(in_folder(&w, BOB, DistinguishedFolder::Inbox, "Order 4411").is_empty());
}

#[tokio::test]
async fn scheduled_polls_look_for_pending_email_only_on_every_third_slot() {
    let w = World::start("stride").await;
    let m = sender(&w, ALICE).await;
    let e = pending(&w, &m, BOB, "Follow-up").await;
    let interval = i64::from(
        w.reload(&m)
            .await
            .scheduler
            .interval_minutes
            .unwrap_or(1)
            .max(1),
    );
    let scheduled = |slot_index: i64| PollJob {
        mailbox_id: m.id.clone(),
        workloads: vec![Workload::Outgoing],
        slot: slot_index * interval,
        reason: PollReason::Scheduled,
    };
    let engine = w.engine();

    w.handle(&engine, &[scheduled(1_000_001)]).await;
    assert_eq!(stored(&w, &e).await.status, EmailStatus::PendingSend);

    w.handle(&engine, &[scheduled(1_000_002)]).await;
    assert_eq!(stored(&w, &e).await.status, EmailStatus::Sent);
}
