//! The deadline: the worker stops before the function's timeout, keeps what it did, and
//! hands the job back so SQS delivers it again.

use std::time::{Duration, Instant};

use exsync_domain::mailbox::IncomingTrackingOption;
use exsync_domain::ports::{PollQueue, SyncStore};
use exsync_domain::schedule::poll_group;
use exsync_domain::sync::job::PollReason;
use exsync_ews_sim::{FaultKind, FaultRule};
use exsync_fn_sync_worker::STOP_MARGIN;
use exsync_fn_sync_worker::poll::LocalPoller;

use crate::support::{ALICE, World};

/// A second GetItem batch slower than the time left: the first batch is tracked, the
/// second is cut short by the deadline.
fn slow_second_batch(w: &World) {
    w.sim.add_fault(FaultRule::sequence(
        Some("GetItem"),
        vec![None, Some(FaultKind::Delay { ms: 4_000 })],
    ));
}

#[tokio::test]
async fn a_job_cut_short_by_the_deadline_keeps_what_it_did_and_is_handed_back() {
    let w = World::start("deadline").await;
    let m = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    let other = w
        .mailbox(crate::support::BOB, IncomingTrackingOption::AllEmail)
        .await;
    w.deliver_many(ALICE, 25);
    slow_second_batch(&w);
    let engine = w.engine();
    let jobs = [
        w.job(&m, PollReason::Scheduled),
        w.job(&other, PollReason::Scheduled),
    ];
    let mut event = aws_lambda_events::event::sqs::SqsEvent::default();
    for (i, job) in jobs.iter().enumerate() {
        let mut r = aws_lambda_events::event::sqs::SqsMessage::default();
        r.message_id = Some(format!("msg-{i}"));
        r.body = Some(serde_json::to_string(job).unwrap());
        event.records.push(r);
    }
    // The function has 1.5 s left beyond the margin.
    let deadline = Instant::now() + STOP_MARGIN + Duration::from_millis(1_500);
    let response = exsync_fn_sync_worker::handle_batch(&engine, event, deadline, None).await;

    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(
        failed,
        ["msg-0", "msg-1"],
        "the cut job and the one after it"
    );
    assert_eq!(w.emails_of(&m).await.len(), 10, "the first batch is kept");
    let loaded = SyncStore::load_for_sync(&w.store, &m.id)
        .await
        .unwrap()
        .unwrap();
    assert!(loaded.sync_states.is_empty());
    let stored = w.reload(&m).await;
    assert!(stored.incoming_state.enabled);
    assert_eq!(stored.incoming_state.consecutive_transient_failures, 0);

    w.handle(&engine, &[w.job(&m, PollReason::Scheduled)]).await;
    assert_eq!(w.emails_of(&m).await.len(), 25);
}

#[tokio::test]
async fn a_job_handed_back_for_lack_of_time_is_delivered_again_at_once() {
    let w = World::start("requeue").await;
    let m = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    w.deliver_many(ALICE, 25);
    slow_second_batch(&w);
    w.adapters()
        .polls
        .enqueue_polls(&[(w.job(&m, PollReason::Scheduled), poll_group(&m, &w.profile))])
        .await
        .unwrap();
    let engine = w.engine();
    let sqs = aws_sdk_sqs::Client::new(&w.aws.sdk);
    let url = w.aws.names.poll_queue_url.clone();
    let short = LocalPoller::new(
        sqs.clone(),
        url.clone(),
        STOP_MARGIN + Duration::from_millis(1_500),
    );
    let first = short
        .poll_once(&engine, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!((first.received, first.failed), (1, 1));

    // Well inside the queue's visibility timeout, the job is back.
    let again = LocalPoller::new(sqs, url, exsync_fn_sync_worker::FUNCTION_TIMEOUT);
    let second = again
        .poll_once(&engine, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!((second.received, second.failed), (1, 0));
    assert_eq!(w.emails_of(&m).await.len(), 25);
}
