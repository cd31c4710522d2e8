//! No email tracked twice, none lost, and no Exchange overwhelmed: a worker interrupted
//! mid-page, a job delivered twice, a mailbox enqueued twice, and a profile's connection
//! cap held across many workers by the FIFO queue's message groups.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use exsync_domain::mailbox::{IncomingTrackingOption, Mailbox, Workload};
use exsync_domain::ports::{PollQueue, SyncStore};
use exsync_domain::schedule::poll_group;
use exsync_domain::sync::engine::SyncEngine;
use exsync_domain::sync::job::{PollJob, PollReason};
use exsync_ews_sim::config::GrantScope;
use exsync_ews_sim::{FaultKind, FaultRule};
use exsync_fn_sync_worker::poll::LocalPoller;

use crate::support::{ALICE, SERVICE_USER, World, WorldOptions, far};

/// Every tracked email of the mailbox has a distinct Message-ID, and there are `n`.
async fn tracked_exactly_once(w: &World, m: &Mailbox, n: usize) {
    let emails = w.emails_of(m).await;
    let ids: BTreeSet<String> = emails
        .iter()
        .filter_map(|e| e.internet_message_id.clone())
        .collect();
    assert_eq!(emails.len(), n, "activities");
    assert_eq!(ids.len(), n, "distinct Message-IDs");
    for e in &emails {
        assert_eq!(e.receiving_mailboxes, vec![m.id.clone()]);
    }
}

#[tokio::test]
async fn a_worker_interrupted_in_the_middle_of_a_page_and_run_again_tracks_every_email_once() {
    let w = World::start("midpage").await;
    let m = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    w.deliver_many(ALICE, 25);
    // The second GetItem batch of the page dies half-way through its answer (twice, in
    // case the transport replays it).
    w.sim.add_fault(FaultRule::sequence(
        Some("GetItem"),
        vec![
            None,
            Some(FaultKind::ResetMidResponse),
            Some(FaultKind::ResetMidResponse),
        ],
    ));
    let engine = w.engine();
    let response = w.handle(&engine, &[w.job(&m, PollReason::Scheduled)]).await;
    assert!(response.batch_item_failures.is_empty());
    let part = w.emails_of(&m).await.len();
    assert!((1..25).contains(&part), "stopped mid-page after {part}");
    let loaded = SyncStore::load_for_sync(&w.store, &m.id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        loaded.sync_states.is_empty(),
        "the page's state is not stored before the page is done"
    );

    w.sim.clear_faults();
    w.clock.advance(time::Duration::minutes(6));
    w.handle(&engine, &[w.job(&m, PollReason::Scheduled)]).await;
    tracked_exactly_once(&w, &m, 25).await;
}

#[tokio::test]
async fn a_poll_job_delivered_twice_at_once_tracks_every_email_once() {
    let w = World::start("twice").await;
    let m = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    w.deliver_many(ALICE, 12);
    let job = w.job(&m, PollReason::Scheduled);
    let (one, two) = (w.engine(), w.engine());
    let (a, b) = tokio::join!(
        w.handle(&one, std::slice::from_ref(&job)),
        w.handle(&two, std::slice::from_ref(&job))
    );
    assert!(a.batch_item_failures.is_empty() && b.batch_item_failures.is_empty());
    tracked_exactly_once(&w, &m, 12).await;
}

#[tokio::test]
async fn a_poll_job_delivered_twice_in_one_batch_tracks_every_email_once() {
    let w = World::start("twice-batch").await;
    let m = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    w.deliver_many(ALICE, 5);
    let job = w.job(&m, PollReason::Scheduled);
    w.handle(&w.engine(), &[job.clone(), job]).await;
    tracked_exactly_once(&w, &m, 5).await;
}

fn event_of(messages: Vec<aws_sdk_sqs::types::Message>) -> SqsEvent {
    let mut event = SqsEvent::default();
    for m in messages {
        let mut r = SqsMessage::default();
        r.message_id = m.message_id;
        r.receipt_handle = m.receipt_handle;
        r.body = m.body;
        event.records.push(r);
    }
    event
}

#[tokio::test]
async fn the_same_mailbox_enqueued_twice_is_synced_by_one_worker_at_a_time() {
    let w = World::start("fifo").await;
    let m = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    w.deliver_many(ALICE, 2);
    let group = poll_group(&m, &w.profile);
    let queue = w.adapters().polls;
    let jobs: Vec<(PollJob, String)> = [1_i64, 2]
        .into_iter()
        .map(|slot| {
            (
                PollJob {
                    mailbox_id: m.id.clone(),
                    workloads: vec![Workload::Incoming],
                    slot,
                    reason: PollReason::Scheduled,
                },
                group.clone(),
            )
        })
        .collect();
    let report = queue.enqueue_polls(&jobs).await.unwrap();
    assert_eq!(report.enqueued, 2);

    let sqs = aws_sdk_sqs::Client::new(&w.aws.sdk);
    let url = &w.aws.names.poll_queue_url;
    let receive = |max: i32| {
        sqs.receive_message()
            .queue_url(url)
            .max_number_of_messages(max)
            .send()
    };
    let first = receive(1).await.unwrap().messages.unwrap_or_default();
    assert_eq!(first.len(), 1, "the first worker gets the first job");
    let meanwhile = receive(10).await.unwrap().messages.unwrap_or_default();
    assert!(
        meanwhile.is_empty(),
        "a second worker gets nothing of the group while the first job is in flight"
    );
    let receipt = first[0].receipt_handle.clone().unwrap();
    let response =
        exsync_fn_sync_worker::handle_batch(&w.engine(), event_of(first), far(), None).await;
    assert!(response.batch_item_failures.is_empty());
    sqs.delete_message()
        .queue_url(url)
        .receipt_handle(receipt)
        .send()
        .await
        .unwrap();
    let second = receive(10).await.unwrap().messages.unwrap_or_default();
    assert_eq!(
        second.len(),
        1,
        "the second job comes once the first is done"
    );
}

#[tokio::test]
async fn ten_workers_never_hold_more_than_the_profiles_three_connections_to_exchange() {
    let w = World::start_with(
        "cap",
        WorldOptions {
            max_connections: 3,
            ..WorldOptions::default()
        },
    )
    .await;
    w.sim.directory_mut().grant(SERVICE_USER, GrantScope::All);
    let mut mailboxes = Vec::new();
    for i in 0..12 {
        let smtp = format!("rep{i}@contoso.test");
        w.sim.add_mailbox(&smtp, &format!("Rep {i}"));
        w.deliver_many(&smtp, 2);
        mailboxes.push(w.mailbox(&smtp, IncomingTrackingOption::AllEmail).await);
    }
    // Every call takes a while, so that calls of different workers overlap.
    w.sim
        .add_fault(FaultRule::always(None, FaultKind::Delay { ms: 100 }));
    let jobs: Vec<(PollJob, String)> = mailboxes
        .iter()
        .map(|m| (w.job(m, PollReason::Scheduled), poll_group(m, &w.profile)))
        .collect();
    let groups: BTreeSet<&String> = jobs.iter().map(|(_, g)| g).collect();
    assert!(groups.len() <= 3, "at most three groups: {groups:?}");
    w.adapters().polls.enqueue_polls(&jobs).await.unwrap();
    w.sim.reset_peaks();

    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let engine = Arc::new(w.engine());
        let poller = LocalPoller::new(
            aws_sdk_sqs::Client::new(&w.aws.sdk),
            w.aws.names.poll_queue_url.clone(),
            exsync_fn_sync_worker::FUNCTION_TIMEOUT,
        )
        .with_batch_size(1);
        workers.spawn(async move { drain(&poller, &engine).await });
    }
    while let Some(done) = workers.join_next().await {
        done.unwrap();
    }

    for m in &mailboxes {
        assert_eq!(w.emails_of(m).await.len(), 2, "{} synced", m.email);
    }
    let peak = w.sim.peak_concurrency(SERVICE_USER);
    assert!(peak <= 3, "peak {peak} calls in flight");
    assert!(peak >= 2, "the workers did overlap (peak {peak})");
}

/// Polls until the queue has stayed empty for a few rounds.
async fn drain(poller: &LocalPoller, engine: &SyncEngine) {
    let mut empty = 0;
    for _ in 0..200 {
        let outcome = poller
            .poll_once(engine, Duration::from_millis(500))
            .await
            .expect("the queue answers");
        if outcome.received == 0 {
            empty += 1;
            if empty >= 4 {
                return;
            }
        } else {
            empty = 0;
        }
    }
}
