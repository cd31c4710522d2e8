//! The scheduler against the local endpoint: the due index written from each mailbox's
//! schedule, the tick reading it and enqueueing poll jobs on the FIFO queue, and what the
//! tick costs in DynamoDB requests.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use exsync_aws::keys;
use exsync_aws::{DynamoStore, SqsPollQueue};
use exsync_domain::ids::MailboxId;
use exsync_domain::mailbox::{Mailbox, Workload};
use exsync_domain::org::OrgSettings;
use exsync_domain::ports::ConfigStore;
use exsync_domain::profile::Profile;
use exsync_domain::schedule::{epoch_minute, phase_at, poll_group_for, refresh_schedule};
use exsync_domain::sync::job::{PollJob, PollReason};
use exsync_domain::sync::scheduler::{Scheduler, SchedulerOptions, SchedulerPorts, SkipReason};
use serde_json::json;
use time::Duration;

use crate::common::{Stack, mailbox, now, profile, stack};

fn scheduler(s: &Stack, store: DynamoStore) -> Scheduler {
    let store = Arc::new(store);
    Scheduler::new(
        SchedulerPorts {
            due: store.clone(),
            config: store,
            polls: Arc::new(SqsPollQueue::from_sdk_config(
                &s.sdk,
                &s.names.poll_queue_url,
            )),
        },
        SchedulerOptions::default(),
    )
}

/// A stored profile (credentials on the profile, 10 connections), with `overrides`.
async fn stored_profile(s: &Stack, overrides: serde_json::Value) -> Profile {
    let p = profile("Contoso", overrides);
    s.store.create_profile(&p).await.unwrap();
    p
}

/// A stored mailbox on `p`, approved, incoming enabled, its schedule refreshed by the
/// domain's rule; then placed on `interval` (1: due every minute), as the worker would
/// after adapting it.
async fn schedulable(s: &Stack, p: &Profile, name: &str, interval: u32) -> Mailbox {
    let mut m = mailbox(
        name,
        json!({
            "profile_id": p.id.as_str(),
            "approval": "approved",
            "incoming_state": {"enabled": true, "status": "success"},
        }),
    );
    assert!(refresh_schedule(
        &mut m,
        Some(p),
        &OrgSettings::default(),
        now()
    ));
    m.scheduler.interval_minutes = Some(interval);
    s.store.create_mailbox(&m).await.unwrap();
    m
}

/// Every message on the queue, each deleted once read (a FIFO group's next message is
/// only handed out once the one before is gone).
async fn drain(s: &Stack) -> Vec<Message> {
    let client = aws_sdk_sqs::Client::new(&s.sdk);
    let mut out = Vec::new();
    let mut empty = 0;
    while empty < 2 {
        let got = client
            .receive_message()
            .queue_url(&s.names.poll_queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        let messages = got.messages.unwrap_or_default();
        if messages.is_empty() {
            empty += 1;
            continue;
        }
        for m in &messages {
            client
                .delete_message()
                .queue_url(&s.names.poll_queue_url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        out.extend(messages);
    }
    out
}

fn job(m: &Message) -> PollJob {
    serde_json::from_str(m.body().unwrap()).unwrap()
}

fn attribute(m: &Message, name: MessageSystemAttributeName) -> String {
    m.attributes().unwrap().get(&name).unwrap().clone()
}

/// The minutes of `window` at which `id` is found due.
async fn minutes_due(sched: &Scheduler, id: &MailboxId, window: std::ops::Range<i64>) -> Vec<i64> {
    let mut found = Vec::new();
    for minute in window {
        let due = sched.due_at(minute).await;
        assert_eq!(due.failures, 0);
        let hits = due.entries.iter().filter(|e| &e.mailbox_id == id).count();
        assert!(hits <= 1, "a mailbox is listed once per minute");
        if hits == 1 {
            found.push(minute);
        }
    }
    found
}

// --- the due index ----------------------------------------------------------------------

#[tokio::test]
async fn a_schedulable_mailbox_is_due_exactly_at_the_minutes_of_its_interval_and_phase() {
    let s = stack().await;
    let p = stored_profile(&s, json!({})).await;
    let m = schedulable(&s, &p, "Alice", 5).await;
    let phase = i64::from(keys::due_slot(&m.id, 5).phase);
    let start = epoch_minute(now());
    let found = minutes_due(&scheduler(&s, s.store.clone()), &m.id, start..start + 12).await;
    let expected: Vec<i64> = (start..start + 12)
        .filter(|t| i64::from(phase_at(*t, 5)) == phase)
        .collect();
    assert_eq!(found, expected);
    assert!(
        found.len() >= 2,
        "12 minutes hold at least two 5-minute slots"
    );
}

#[tokio::test]
async fn an_unschedulable_mailbox_is_never_due() {
    let s = stack().await;
    let p = stored_profile(&s, json!({})).await;
    let mut m = mailbox("Bob", json!({"profile_id": p.id.as_str()}));
    // Not approved, nothing enabled: the rule leaves it off the schedule.
    refresh_schedule(&mut m, Some(&p), &OrgSettings::default(), now());
    assert_eq!(m.scheduler.interval_minutes, None);
    s.store.create_mailbox(&m).await.unwrap();
    let start = epoch_minute(now());
    let found = minutes_due(&scheduler(&s, s.store.clone()), &m.id, start..start + 6).await;
    assert!(found.is_empty(), "due at {found:?}");
}

#[tokio::test]
async fn a_mailbox_written_off_the_schedule_leaves_its_slot() {
    let s = stack().await;
    let p = stored_profile(&s, json!({})).await;
    let m = schedulable(&s, &p, "Carol", 1).await;
    let sched = scheduler(&s, s.store.clone());
    let minute = epoch_minute(now());
    assert_eq!(
        minutes_due(&sched, &m.id, minute..minute + 1).await,
        vec![minute]
    );
    let mut off = m.clone();
    off.active = false;
    refresh_schedule(&mut off, Some(&p), &OrgSettings::default(), now());
    off.version += 1;
    s.store.update_mailbox(&off, m.version).await.unwrap();
    assert!(
        minutes_due(&sched, &m.id, minute..minute + 1)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn the_due_entry_carries_workloads_group_and_postponement() {
    let s = stack().await;
    let p = stored_profile(&s, json!({})).await;
    let mut m = schedulable(&s, &p, "Dave", 1).await;
    let until = now() + Duration::minutes(7);
    m.scheduler.postponed_until = Some(until);
    m.version += 1;
    s.store.update_mailbox(&m, m.version - 1).await.unwrap();
    let due = scheduler(&s, s.store.clone())
        .due_at(epoch_minute(now()))
        .await;
    let entry = due.entries.iter().find(|e| e.mailbox_id == m.id).unwrap();
    assert_eq!(entry.profile_id.as_ref(), Some(&p.id));
    assert_eq!(entry.workloads, vec![Workload::Incoming]);
    assert_eq!(entry.postponed_until, Some(until));
    assert_eq!(entry.poll_group, m.scheduler.poll_group);
}

// --- the tick ---------------------------------------------------------------------------

#[tokio::test]
async fn a_tick_enqueues_each_due_mailbox_with_its_dedup_and_group_ids() {
    let s = stack().await;
    let p = stored_profile(&s, json!({"max_concurrent_connections": 3})).await;
    let mut expected = BTreeMap::new();
    for name in ["Ann", "Ben", "Cid", "Dot"] {
        let m = schedulable(&s, &p, name, 1).await;
        expected.insert(m.id.clone(), poll_group_for(&m.id, &p));
    }
    let at = now();
    let report = scheduler(&s, s.store.clone()).run_tick(at).await.unwrap();
    assert_eq!((report.due, report.enqueued), (4, 4));
    assert!(report.complete());

    let messages = drain(&s).await;
    assert_eq!(messages.len(), 4);
    let minute = epoch_minute(at);
    for m in &messages {
        let j = job(m);
        assert_eq!(j.slot, minute);
        assert_eq!(j.reason, PollReason::Scheduled);
        assert_eq!(j.workloads, vec![Workload::Incoming]);
        assert_eq!(
            attribute(m, MessageSystemAttributeName::MessageDeduplicationId),
            format!("{}:{minute}", j.mailbox_id)
        );
        assert_eq!(
            attribute(m, MessageSystemAttributeName::MessageGroupId),
            expected[&j.mailbox_id]
        );
    }
    let received: HashSet<MailboxId> = messages.iter().map(|m| job(m).mailbox_id).collect();
    assert_eq!(received, expected.keys().cloned().collect());
}

#[tokio::test]
async fn a_tick_skips_postponed_mailboxes_and_those_of_an_open_circuit() {
    let s = stack().await;
    let open = stored_profile(
        &s,
        json!({"circuit": {
            "state": "open",
            "since": "2026-01-01T00:00:00Z",
            "next_probe_at": "2999-01-01T00:00:00Z",
            "reason": "401 after authentication",
        }}),
    )
    .await;
    let closed = stored_profile(&s, json!({})).await;
    schedulable(&s, &open, "Paused1", 1).await;
    schedulable(&s, &open, "Paused2", 1).await;
    let mut postponed = schedulable(&s, &closed, "Later", 1).await;
    postponed.scheduler.postponed_until = Some(now() + Duration::minutes(5));
    postponed.version += 1;
    s.store
        .update_mailbox(&postponed, postponed.version - 1)
        .await
        .unwrap();
    let ready = schedulable(&s, &closed, "Ready", 1).await;

    let report = scheduler(&s, s.store.clone())
        .run_tick(now())
        .await
        .unwrap();
    assert_eq!(report.due, 4);
    assert_eq!(report.enqueued, 1);
    assert_eq!(report.skipped(SkipReason::CircuitOpen), 2);
    assert_eq!(report.skipped(SkipReason::Postponed), 1);
    assert_eq!(report.probes, 0);
    let ids: Vec<MailboxId> = drain(&s).await.iter().map(|m| job(m).mailbox_id).collect();
    assert_eq!(ids, vec![ready.id]);
}

#[tokio::test]
async fn a_postponement_that_has_passed_no_longer_skips() {
    let s = stack().await;
    let p = stored_profile(&s, json!({})).await;
    let mut m = schedulable(&s, &p, "Back", 1).await;
    m.scheduler.postponed_until = Some(now() - Duration::minutes(1));
    m.version += 1;
    s.store.update_mailbox(&m, m.version - 1).await.unwrap();
    let report = scheduler(&s, s.store.clone())
        .run_tick(now())
        .await
        .unwrap();
    assert_eq!((report.enqueued, report.skipped_total()), (1, 0));
}

#[tokio::test]
async fn an_open_circuit_whose_probe_is_due_sends_one_probe() {
    let s = stack().await;
    let p = stored_profile(
        &s,
        json!({"circuit": {
            "state": "open",
            "since": "2026-01-01T00:00:00Z",
            "next_probe_at": "2026-01-01T00:05:00Z",
            "reason": "EWS unreachable",
        }}),
    )
    .await;
    let mut ids = Vec::new();
    for name in ["One", "Two", "Three"] {
        ids.push(schedulable(&s, &p, name, 1).await.id);
    }
    let report = scheduler(&s, s.store.clone())
        .run_tick(now())
        .await
        .unwrap();
    assert_eq!(report.probes, 1);
    assert_eq!(report.enqueued, 1);
    assert_eq!(report.skipped(SkipReason::CircuitOpen), 2);
    let messages = drain(&s).await;
    assert_eq!(messages.len(), 1);
    let probe = job(&messages[0]);
    assert_eq!(probe.reason, PollReason::CircuitProbe);
    assert_eq!(Some(&probe.mailbox_id), ids.iter().min());
}

#[tokio::test]
async fn a_mailbox_of_an_inactive_profile_is_skipped() {
    let s = stack().await;
    let p = stored_profile(&s, json!({})).await;
    schedulable(&s, &p, "Idle", 1).await;
    let mut inactive = p.clone();
    inactive.active = false;
    inactive.version += 1;
    s.store.update_profile(&inactive, p.version).await.unwrap();
    let report = scheduler(&s, s.store.clone())
        .run_tick(now())
        .await
        .unwrap();
    assert_eq!(report.enqueued, 0);
    assert_eq!(report.skipped(SkipReason::ProfileInactive), 1);
}

#[tokio::test]
async fn the_same_tick_run_twice_enqueues_each_mailbox_once() {
    let s = stack().await;
    let p = stored_profile(&s, json!({})).await;
    for name in ["Eve", "Fay", "Gus"] {
        schedulable(&s, &p, name, 1).await;
    }
    let sched = scheduler(&s, s.store.clone());
    let at = now();
    // A retried tick: same minute, same slots.
    let first = sched.run_tick(at).await.unwrap();
    let second = sched.run_tick(at).await.unwrap();
    // Both runs hand the queue every job; the queue keeps one per deduplication id.
    assert_eq!((first.enqueued, second.enqueued), (3, 3));
    let messages = drain(&s).await;
    let ids: Vec<MailboxId> = messages.iter().map(|m| job(m).mailbox_id).collect();
    let distinct: HashSet<&MailboxId> = ids.iter().collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert_eq!(distinct.len(), 3);
}

// --- what a tick costs ------------------------------------------------------------------

/// Records the DynamoDB operation of every request sent (its `X-Amz-Target`).
#[derive(Debug, Clone, Default)]
struct OperationLog(Arc<Mutex<Vec<String>>>);

impl Intercept for OperationLog {
    fn name(&self) -> &'static str {
        "OperationLog"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or("?");
        let op = target.rsplit('.').next().unwrap_or(target).to_owned();
        self.0.lock().unwrap().push(op);
        Ok(())
    }
}

#[tokio::test]
async fn a_tick_reads_the_index_with_queries_and_never_scans_or_writes() {
    let s = stack().await;
    let p = stored_profile(&s, json!({})).await;
    let q = stored_profile(&s, json!({})).await;
    for (i, profile) in [&p, &q, &p, &q, &p].into_iter().enumerate() {
        schedulable(&s, profile, &format!("M{i}"), 1).await;
    }
    let log = OperationLog::default();
    let conf = aws_sdk_dynamodb::config::Builder::from(&s.sdk)
        .interceptor(log.clone())
        .build();
    let counted = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(conf), &s.names.table);
    let report = scheduler(&s, counted).run_tick(now()).await.unwrap();
    assert_eq!(report.enqueued, 5);

    let ops = log.0.lock().unwrap().clone();
    let mut by_op: BTreeMap<&str, usize> = BTreeMap::new();
    for op in &ops {
        *by_op.entry(op.as_str()).or_default() += 1;
    }
    // One query per interval of the ladder and shard (each slot fits one page here), and
    // one read per distinct profile; nothing else.
    assert_eq!(
        by_op,
        BTreeMap::from([("GetItem", 2), ("Query", 11 * 16)]),
        "{ops:?}"
    );
    assert_eq!(report.queries, 11 * 16);
}
