//! A batch from the FIFO queue: each message group's records in order, groups at once.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use exsync_domain::mailbox::IncomingTrackingOption;
use exsync_domain::sync::job::{PollJob, PollReason};
use exsync_ews_sim::{FaultKind, FaultRule};
use exsync_fn_sync_worker::MESSAGE_GROUP_ID;

use crate::support::{ALICE, BOB, SERVICE_USER, World, far};

/// An event of `jobs`, each record in the message group given.
fn event(jobs: &[(PollJob, &str)]) -> SqsEvent {
    let mut event = SqsEvent::default();
    for (i, (job, group)) in jobs.iter().enumerate() {
        let mut r = SqsMessage::default();
        r.message_id = Some(format!("msg-{i}"));
        r.body = Some(serde_json::to_string(job).unwrap());
        r.attributes
            .insert(MESSAGE_GROUP_ID.to_owned(), (*group).to_owned());
        event.records.push(r);
    }
    event
}

/// Two mailboxes' jobs in the given groups, every SyncFolderItems slow; the most calls the
/// simulator saw in flight at once.
async fn peak_with_groups(label: &str, groups: [&str; 2]) -> usize {
    let w = World::start(label).await;
    let alice = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    let bob = w.mailbox(BOB, IncomingTrackingOption::AllEmail).await;
    w.sim.add_fault(FaultRule::always(
        Some("SyncFolderItems"),
        FaultKind::Delay { ms: 300 },
    ));
    w.sim.reset_peaks();
    let jobs = [
        (w.job(&alice, PollReason::Scheduled), groups[0]),
        (w.job(&bob, PollReason::Scheduled), groups[1]),
    ];
    let response =
        exsync_fn_sync_worker::handle_batch(&w.engine(), event(&jobs), far(), None).await;
    assert!(response.batch_item_failures.is_empty());
    w.sim.peak_concurrency(SERVICE_USER)
}

#[tokio::test]
async fn records_of_different_message_groups_run_at_the_same_time() {
    assert_eq!(peak_with_groups("groups-apart", ["g-1", "g-2"]).await, 2);
}

#[tokio::test]
async fn records_of_one_message_group_run_one_after_the_other() {
    assert_eq!(peak_with_groups("group-same", ["g-1", "g-1"]).await, 1);
}
