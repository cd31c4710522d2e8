//! Scheduling through the admin services, against the local AWS endpoint and the Exchange
//! simulator: a mailbox becomes due as soon as an admin enables it, leaves the schedule
//! when disabled, and the actions that leave work waiting (Test & Enable, sending an
//! email, re-enabling) put it on the poll queue at once.

mod api_support;

use api_support::*;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use exsync_aws::keys;
use exsync_domain::ids::MailboxId;
use exsync_domain::mailbox::Workload;
use exsync_domain::schedule::{epoch_minute, phase_at};
use exsync_domain::sync::job::{PollJob, PollReason};
use exsync_domain::sync::scheduler::{Scheduler, SchedulerOptions};
use serde_json::{Value, json};
use time::OffsetDateTime;

fn scheduler(api: &Api) -> Scheduler {
    api.aws.adapters().scheduler(SchedulerOptions::default())
}

/// Every poll job on the queue (each deleted once read), with its group id.
async fn drain_polls(api: &Api) -> Vec<(PollJob, String)> {
    let client = aws_sdk_sqs::Client::new(&api.aws.sdk);
    let mut out = Vec::new();
    let mut empty = 0;
    while empty < 2 {
        let got = client
            .receive_message()
            .queue_url(&api.aws.names.poll_queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .send()
            .await
            .unwrap();
        let messages = got.messages.unwrap_or_default();
        if messages.is_empty() {
            empty += 1;
            continue;
        }
        for m in messages {
            client
                .delete_message()
                .queue_url(&api.aws.names.poll_queue_url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
            let group =
                m.attributes().unwrap()[&MessageSystemAttributeName::MessageGroupId].clone();
            out.push((serde_json::from_str(m.body().unwrap()).unwrap(), group));
        }
    }
    out
}

/// The minutes of the next `minutes` at which the scheduler finds `id` due.
async fn minutes_due(api: &Api, id: &MailboxId, minutes: i64) -> Vec<i64> {
    minutes_due_from(api, id, epoch_minute(OffsetDateTime::now_utc()), minutes).await
}

/// The minutes of `start..start + minutes` at which the scheduler finds `id` due.
async fn minutes_due_from(api: &Api, id: &MailboxId, start: i64, minutes: i64) -> Vec<i64> {
    let sched = scheduler(api);
    let mut found = Vec::new();
    for minute in start..start + minutes {
        if sched
            .due_at(minute)
            .await
            .entries
            .iter()
            .any(|e| &e.mailbox_id == id)
        {
            found.push(minute);
        }
    }
    found
}

/// A profile and an approved mailbox for Alice on it (not tested yet).
async fn approved_mailbox(api: &Api) -> (Value, MailboxId) {
    let profile = api.create_profile("Contoso", json!({})).await;
    let m = api
        .create_mailbox(ALICE, Some(text(&profile, "id")), ADMIN)
        .await;
    let id = text(&m, "id").to_owned();
    api.approve(&[&id]).await;
    (profile, MailboxId::parse(&id).unwrap())
}

async fn test_and_enable(api: &Api, id: &MailboxId) -> Value {
    let outcome = api
        .post(
            "/mailboxes/test-and-enable",
            json!({"mailbox_ids": [id.as_str()]}),
        )
        .await
        .expect(200);
    assert_eq!(outcome["results"][0]["status"], "ok", "{outcome}");
    api.get(&format!("/mailboxes/{id}")).await.expect(200)
}

#[tokio::test]
async fn a_created_and_approved_mailbox_is_not_due_before_test_and_enable() {
    let api = Api::start("sched-untested").await;
    let (_, id) = approved_mailbox(&api).await;
    let m = api.get(&format!("/mailboxes/{id}")).await.expect(200);
    assert!(m["scheduler"].get("interval_minutes").is_none(), "{m}");
    assert!(minutes_due(&api, &id, 5).await.is_empty());
}

#[tokio::test]
async fn creating_approving_and_test_and_enable_make_a_mailbox_due_on_its_slots() {
    let api = Api::start("sched-due").await;
    let (_, id) = approved_mailbox(&api).await;
    let m = test_and_enable(&api, &id).await;
    assert_eq!(m["scheduler"]["interval_minutes"], 5, "{m}");
    let phase = keys::due_slot(&id, 5).phase;
    let start = epoch_minute(OffsetDateTime::now_utc());
    let expected: Vec<i64> = (start..start + 5)
        .filter(|t| phase_at(*t, 5) == phase)
        .collect();
    assert_eq!(minutes_due_from(&api, &id, start, 5).await, expected);

    // And the tick of that minute enqueues it.
    drain_polls(&api).await;
    let at = OffsetDateTime::from_unix_timestamp(expected[0] * 60).unwrap();
    let report = scheduler(&api).run_tick(at).await.unwrap();
    assert_eq!(report.enqueued, 1);
    let polls = drain_polls(&api).await;
    assert_eq!(polls.len(), 1);
    assert_eq!(polls[0].0.mailbox_id, id);
    assert_eq!(polls[0].0.reason, PollReason::Scheduled);
}

#[tokio::test]
async fn test_and_enable_enqueues_the_mailbox_at_once() {
    let api = Api::start("sched-tae").await;
    let (profile, id) = approved_mailbox(&api).await;
    test_and_enable(&api, &id).await;
    let polls = drain_polls(&api).await;
    assert_eq!(polls.len(), 1, "{polls:?}");
    let (job, group) = &polls[0];
    assert_eq!(job.mailbox_id, id);
    assert_eq!(job.reason, PollReason::TestAndEnable);
    assert!(job.workloads.contains(&Workload::Incoming), "{job:?}");
    assert!(
        group.starts_with(&format!("p:{}:", text(&profile, "id"))),
        "{group}"
    );
}

#[tokio::test]
async fn sending_an_email_enqueues_its_sender_mailbox_at_once() {
    let api = Api::start("sched-send").await;
    let (_, id) = approved_mailbox(&api).await;
    test_and_enable(&api, &id).await;
    drain_polls(&api).await;
    api.post(
        "/emails",
        json!({
            "sender_mailbox_id": id.as_str(),
            "to": ["orders@fabrikam.test"],
            "subject": "Your order",
            "body_text": "It has shipped.",
        }),
    )
    .await
    .expect(201);
    let polls = drain_polls(&api).await;
    assert_eq!(polls.len(), 1, "{polls:?}");
    assert_eq!(polls[0].0.mailbox_id, id);
    assert_eq!(polls[0].0.reason, PollReason::SendRequested);
    assert_eq!(polls[0].0.workloads, vec![Workload::Outgoing]);
}

#[tokio::test]
async fn an_email_from_a_mailbox_not_enabled_for_sending_enqueues_nothing() {
    let api = Api::start("sched-send-off").await;
    let (_, id) = approved_mailbox(&api).await;
    api.post(
        "/emails",
        json!({"sender_mailbox_id": id.as_str(), "to": ["a@fabrikam.test"], "subject": "Hi"}),
    )
    .await
    .expect(201);
    assert!(drain_polls(&api).await.is_empty());
}

#[tokio::test]
async fn deactivating_a_mailbox_takes_it_off_the_schedule_and_reactivating_enqueues_it() {
    let api = Api::start("sched-reenable").await;
    let (_, id) = approved_mailbox(&api).await;
    let m = test_and_enable(&api, &id).await;
    drain_polls(&api).await;

    let off = api
        .patch(
            &format!("/mailboxes/{id}"),
            json!({"version": m["version"], "active": false}),
        )
        .await
        .expect(200);
    assert!(off["scheduler"].get("interval_minutes").is_none(), "{off}");
    assert!(minutes_due(&api, &id, 5).await.is_empty());
    assert!(drain_polls(&api).await.is_empty());

    let on = api
        .patch(
            &format!("/mailboxes/{id}"),
            json!({"version": off["version"], "active": true}),
        )
        .await
        .expect(200);
    assert_eq!(on["scheduler"]["interval_minutes"], 5, "{on}");
    let polls = drain_polls(&api).await;
    assert_eq!(polls.len(), 1, "{polls:?}");
    assert_eq!(polls[0].0.reason, PollReason::Reenabled);
    assert_eq!(minutes_due(&api, &id, 5).await.len(), 1);
}

#[tokio::test]
async fn rejecting_email_for_a_mailbox_takes_it_off_the_schedule() {
    let api = Api::start("sched-reject").await;
    let (_, id) = approved_mailbox(&api).await;
    test_and_enable(&api, &id).await;
    api.post("/mailboxes/reject", json!({"mailbox_ids": [id.as_str()]}))
        .await
        .expect(200);
    let m = api.get(&format!("/mailboxes/{id}")).await.expect(200);
    assert!(m["scheduler"].get("interval_minutes").is_none(), "{m}");
    assert!(minutes_due(&api, &id, 5).await.is_empty());
}
