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
use exsync_ews_sim::{FaultKind, FaultRule, SimHandle, SimOptions, Simulator};

use crate::support::{ALICE, BOB, Delivery, MAILBOX_OWNER, World, chain};

/// A mailbox that sends through exsync (outgoing: Server-Side Synchronization, enabled).
pub async fn sender(w: &World, email: &str) -> Mailbox {
    sender_tracking(w, email, IncomingTrackingOption::None).await
}

/// A sending mailbox whose incoming tracking is `tracking`.
pub async fn sender_tracking(w: &World, email: &str, tracking: IncomingTrackingOption) -> Mailbox {
    let m = w.mailbox(email, tracking).await;
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
    in_folder_of(&w.sim, mailbox, folder, subject)
}

/// Messages in a mailbox's folder on the simulator `sim` whose subject contains `subject`.
fn in_folder_of(
    sim: &SimHandle,
    mailbox: &str,
    folder: DistinguishedFolder,
    subject: &str,
) -> Vec<ItemSummary> {
    sim.exchange()
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

/// The host name of the profile's own outgoing EWS URL.
const OUTGOING_HOST: &str = "smtp-out.contoso.test";

/// A second Exchange server for outgoing email: a simulator sharing nothing with the
/// world's (its own mailboxes, store and CA), whose certificate also covers
/// [`OUTGOING_HOST`]. Whatever it holds or counted was sent to it, never to the world's.
fn outgoing_server() -> SimHandle {
    let mut config = exsync_integration_tests::config();
    config.throttling.max_concurrency = None;
    let options = SimOptions {
        extra_names: vec![OUTGOING_HOST.into()],
        ..exsync_integration_tests::options()
    };
    Simulator::start(config, options)
        .unwrap_or_else(|e| panic!("the outgoing simulator did not start: {}", chain(&e)))
}

/// `https://<host>:<port of server>/EWS/Exchange.asmx`, with connections for it sent to
/// `server` by the world's connect overrides (for engines made after this).
fn url_to(w: &mut World, host: &str, server: std::net::SocketAddr) -> String {
    w.exchange
        .connect_overrides
        .insert(host, server.port(), server);
    format!("https://{host}:{}/EWS/Exchange.asmx", server.port())
}

/// Stores the world's profile with outgoing settings: `use_same` and `outgoing_url`,
/// trusting both simulators' CAs.
async fn set_outgoing(w: &mut World, out: &SimHandle, use_same: bool, outgoing_url: &str) {
    let mut p = w.stored_profile().await;
    p.use_same_settings_for_outgoing = use_same;
    p.outgoing_ews_url = Some(outgoing_url.to_owned());
    p.ca_bundle_pem = Some(format!(
        "{}\n{}",
        String::from_utf8_lossy(w.sim.ca_pem()).trim_end(),
        String::from_utf8_lossy(out.ca_pem())
    ));
    p.version += 1;
    ConfigStore::update_profile(&w.store, &p, p.version - 1)
        .await
        .unwrap();
    w.profile = p;
}

/// The check the world's simulator makes when dropped, for the outgoing one.
fn assert_schema_valid(sim: &SimHandle) {
    let invalid = sim.exchange().invalid_responses();
    assert!(invalid.is_empty(), "invalid EWS responses: {invalid:?}");
}

/// The poll Test & Enable starts when it enabled both email workloads: one job running
/// the incoming and the outgoing workload.
fn both_workloads(w: &World, m: &Mailbox) -> PollJob {
    PollJob {
        workloads: vec![Workload::Incoming, Workload::Outgoing],
        ..w.job(m, PollReason::TestAndEnable)
    }
}

#[tokio::test]
async fn a_profile_with_its_own_outgoing_ews_url_sends_through_it_while_incoming_tracking_reads_the_incoming_url()
 {
    let mut w = World::start("out-url").await;
    let out = outgoing_server();
    let url = url_to(&mut w, OUTGOING_HOST, out.https_addr());
    set_outgoing(&mut w, &out, false, &url).await;
    let m = sender_tracking(&w, ALICE, IncomingTrackingOption::AllEmail).await;
    let e = pending(&w, &m, BOB, "Quote via the outgoing server").await;
    let incoming = w.deliver(ALICE, Delivery::default());

    let response = w.handle(&w.engine(), &[both_workloads(&w, &m)]).await;
    assert!(response.batch_item_failures.is_empty());

    // Sent by the outgoing server: the recipient and the Sent Items copy are there, and
    // the incoming server never saw a send.
    let after = stored(&w, &e).await;
    assert_eq!(
        after.status,
        EmailStatus::Sent,
        "{:?}",
        after.failure_reason
    );
    let subject = "Quote via the outgoing server";
    assert_eq!(
        in_folder_of(&out, BOB, DistinguishedFolder::Inbox, subject).len(),
        1
    );
    let sent = in_folder_of(&out, ALICE, DistinguishedFolder::SentItems, subject);
    assert_eq!(sent.len(), 1);
    assert!(carries_activity_id(&sent[0], &e.id));
    assert_eq!(
        after.ews_item_ids.get(m.id.as_str()),
        Some(&sent[0].id.to_string())
    );
    assert_eq!(w.sim.request_count("CreateItem"), 0);
    assert!(in_folder(&w, BOB, DistinguishedFolder::Inbox, subject).is_empty());
    // Tracked from the incoming server, which the outgoing one was never asked about.
    assert!(w.email(&incoming).await.is_some());
    assert!(w.sim.request_count("SyncFolderItems") > 0);
    assert_eq!(out.request_count("SyncFolderItems"), 0);
    assert_schema_valid(&out);
}

#[tokio::test]
async fn a_send_interrupted_on_the_outgoing_ews_url_is_found_in_its_sent_items_and_not_sent_again()
{
    let mut w = World::start("out-url-retry").await;
    let out = outgoing_server();
    let url = url_to(&mut w, OUTGOING_HOST, out.https_addr());
    set_outgoing(&mut w, &out, false, &url).await;
    let m = sender(&w, ALICE).await;
    let e = pending(&w, &m, BOB, "Contract via the outgoing server").await;
    // The outgoing server runs the CreateItem, and the connection drops before the answer.
    out.add_fault(FaultRule::next(
        Some("CreateItem"),
        1,
        FaultKind::ResetMidResponse,
    ));
    let engine = w.engine();
    w.handle(&engine, &[send_job(&w, &m)]).await;
    assert_eq!(stored(&w, &e).await.status, EmailStatus::PendingSend);

    w.handle(&engine, &[send_job(&w, &m)]).await;

    assert_eq!(stored(&w, &e).await.status, EmailStatus::Sent);
    let log = w.decisions(&m).await;
    assert_eq!(
        log[0].text,
        format!("already in Sent Items: marked Sent as {}", e.id)
    );
    assert_eq!(out.request_count("CreateItem"), 1);
    assert_eq!(
        in_folder_of(
            &out,
            BOB,
            DistinguishedFolder::Inbox,
            "Contract via the outgoing server"
        )
        .len(),
        1
    );
    assert_eq!(w.sim.request_count("CreateItem"), 0);
    assert_eq!(w.sim.request_count("FindItem"), 0);
    assert_schema_valid(&out);
}

#[tokio::test]
async fn the_outgoing_ews_url_is_ignored_when_the_profile_uses_the_same_settings_for_outgoing() {
    let mut w = World::start("out-same").await;
    let out = outgoing_server();
    let url = url_to(&mut w, OUTGOING_HOST, out.https_addr());
    set_outgoing(&mut w, &out, true, &url).await;
    let m = sender(&w, ALICE).await;
    let e = pending(&w, &m, BOB, "Quote via the incoming server").await;

    w.handle(&w.engine(), &[send_job(&w, &m)]).await;

    assert_eq!(stored(&w, &e).await.status, EmailStatus::Sent);
    assert_eq!(
        in_folder(
            &w,
            BOB,
            DistinguishedFolder::Inbox,
            "Quote via the incoming server"
        )
        .len(),
        1
    );
    let asked: u64 = crate::support::EWS_OPERATIONS
        .iter()
        .map(|op| out.request_count(op))
        .sum();
    assert_eq!(asked, 0, "the outgoing URL was called");
}

#[tokio::test]
async fn an_outgoing_ews_url_fixed_since_the_profile_was_cached_is_picked_up_instead_of_failing_the_send()
 {
    let mut w = World::start("out-url-fixed").await;
    let out = outgoing_server();
    // Nothing listens behind the old outgoing host.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let old = url_to(&mut w, "smtp-old.contoso.test", closed);
    let fixed = url_to(&mut w, OUTGOING_HOST, out.https_addr());
    set_outgoing(&mut w, &out, false, &old).await;
    let m = sender(&w, ALICE).await;
    let engine = w.engine();
    // A poll caches the profile with the old outgoing URL in this warm engine.
    w.handle(&engine, &[w.job(&m, PollReason::Scheduled)]).await;

    set_outgoing(&mut w, &out, false, &fixed).await;
    let e = pending(&w, &m, BOB, "Quote after the fix").await;
    w.handle(&engine, &[send_job(&w, &m)]).await;

    let after = stored(&w, &e).await;
    assert_eq!(
        after.status,
        EmailStatus::Sent,
        "{:?}",
        after.failure_reason
    );
    assert_eq!(
        in_folder_of(&out, BOB, DistinguishedFolder::Inbox, "Quote after the fix").len(),
        1
    );
    assert_eq!(
        w.stored_profile().await.circuit,
        exsync_domain::profile::Circuit::Closed
    );
    assert_schema_valid(&out);
}
