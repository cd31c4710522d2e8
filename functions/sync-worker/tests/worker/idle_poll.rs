//! What a poll costs, counted: EWS calls by the simulator, DynamoDB and SQS requests by an
//! interceptor on the SDK clients. The idle poll is exsync's cost target (one EWS call, at
//! most one read, no write): this test fails if it is missed. The per-email figures are
//! printed for `docs/performance.md` ("Idle poll").

use std::sync::Arc;
use std::time::Duration;

use exsync_domain::mailbox::IncomingTrackingOption;
use exsync_domain::ports::PollQueue;
use exsync_domain::schedule::poll_group;
use exsync_domain::sync::job::PollReason;
use exsync_fn_sync_worker::poll::LocalPoller;

use crate::support::{ALICE, RequestCounter, World, counting_sqs};

/// Requests of one poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cost {
    ews: u64,
    reads: u64,
    writes: u64,
}

async fn measure(w: &World, poll: impl std::future::Future<Output = ()>) -> Cost {
    let (ews, reads, writes) = (
        w.ews_calls(),
        w.dynamo_requests.reads(),
        w.dynamo_requests.writes(),
    );
    poll.await;
    Cost {
        ews: w.ews_calls() - ews,
        reads: w.dynamo_requests.reads() - reads,
        writes: w.dynamo_requests.writes() - writes,
    }
}

#[tokio::test]
async fn an_idle_poll_makes_one_exchange_call_at_most_one_read_and_no_write() {
    let w = World::start("idle").await;
    let m = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    w.deliver_many(ALICE, 3);
    let engine = w.engine();
    w.handle(&engine, &[w.job(&m, PollReason::Scheduled)]).await;
    assert_eq!(
        w.emails_of(&m).await.len(),
        3,
        "the first sync tracked the mail"
    );

    for round in 1..=3 {
        let cost = measure(&w, async {
            let r = w.handle(&engine, &[w.job(&m, PollReason::Scheduled)]).await;
            assert!(r.batch_item_failures.is_empty());
        })
        .await;
        eprintln!("idle poll {round}: {cost:?}");
        assert_eq!(cost.ews, 1, "one SyncFolderItems (round {round})");
        assert!(
            cost.reads <= 1,
            "at most one read (round {round}): {cost:?}"
        );
        assert_eq!(cost.writes, 0, "no write (round {round}): {cost:?}");
    }
    assert_eq!(
        w.sim.request_count("GetItem"),
        1,
        "only the first sync read items"
    );
}

#[tokio::test]
async fn requests_per_newly_tracked_email_are_counted() {
    let w = World::start("per-email").await;
    let m = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    let engine = w.engine();
    w.handle(&engine, &[w.job(&m, PollReason::Scheduled)]).await;

    w.deliver_many(ALICE, 1);
    let one = measure(&w, async {
        w.handle(&engine, &[w.job(&m, PollReason::Scheduled)]).await;
    })
    .await;
    w.deliver_many(ALICE, 10);
    let ten = measure(&w, async {
        w.handle(&engine, &[w.job(&m, PollReason::Scheduled)]).await;
    })
    .await;
    eprintln!("1 new email: {one:?}; 10 new emails: {ten:?}");
    assert_eq!(w.emails_of(&m).await.len(), 11);
    // One SyncFolderItems and one GetItem per ten emails.
    assert_eq!(one.ews, 2);
    assert_eq!(ten.ews, 2);
    // Writes: one dedup transaction per email; per poll the page's decisions and pointers
    // (BatchWriteItem, 25 items a call), the sync state and the mailbox's counters.
    assert_eq!(one.writes, 1 + 1 + 1 + 1, "{one:?}");
    assert!(ten.writes <= 10 + 2 + 1 + 1, "{ten:?}");
    // Reads: the mailbox; each distinct party address once per poll; correlation pointers.
    assert!(one.reads <= 1 + 2 + 1, "{one:?}");
    assert!(ten.reads <= 1 + 2 + 10, "{ten:?}");
}

#[tokio::test]
async fn a_poll_through_the_queue_costs_three_sqs_requests_per_batch() {
    let w = World::start("sqs-cost").await;
    let m = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    let engine = w.engine();
    w.handle(&engine, &[w.job(&m, PollReason::Scheduled)]).await;

    let sqs_requests = Arc::new(RequestCounter::default());
    let sqs = counting_sqs(&w, sqs_requests.clone());
    let queue =
        exsync_aws::poll_queue::SqsPollQueue::new(sqs.clone(), w.aws.names.poll_queue_url.clone());
    queue
        .enqueue_polls(&[(w.job(&m, PollReason::Scheduled), poll_group(&m, &w.profile))])
        .await
        .unwrap();
    let poller = LocalPoller::new(
        sqs,
        w.aws.names.poll_queue_url.clone(),
        exsync_fn_sync_worker::FUNCTION_TIMEOUT,
    );
    let outcome = poller
        .poll_once(&engine, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!((outcome.received, outcome.failed), (1, 0));
    let counts = sqs_requests.snapshot();
    eprintln!("SQS requests for one idle poll job: {counts:?}");
    assert_eq!(sqs_requests.total(), 3, "send, receive, delete: {counts:?}");
}
