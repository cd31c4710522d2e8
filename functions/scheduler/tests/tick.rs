//! The scheduler function's handler against the local AWS endpoint (run through
//! `scripts/with-moto.sh`): a tick event in, poll jobs on the FIFO queue out.

use std::sync::Arc;

use exsync_aws::config::load_sdk_config;
use exsync_aws::init::{InitOptions, ensure_resources};
use exsync_aws::keys;
use exsync_aws::{DynamoStore, ResourceNames, SqsPollQueue};
use exsync_domain::mailbox::Mailbox;
use exsync_domain::org::OrgSettings;
use exsync_domain::ports::ConfigStore;
use exsync_domain::profile::Profile;
use exsync_domain::schedule::{epoch_minute, phase_at, refresh_schedule};
use exsync_domain::sync::job::PollJob;
use exsync_domain::sync::scheduler::{Scheduler, SchedulerOptions, SchedulerPorts};
use exsync_fn_scheduler::{TickError, handle_tick};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

struct Deployment {
    sdk: aws_config::SdkConfig,
    names: ResourceNames,
    store: DynamoStore,
}

async fn deployment() -> Deployment {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok_and(|e| !e.is_empty()),
        "run through scripts/with-moto.sh: these tests need the local AWS endpoint"
    );
    let sdk = load_sdk_config().await.unwrap();
    let template = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    let stack = format!(
        "exsync-sched-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let names = ensure_resources(&sdk, &template, &InitOptions::new(stack))
        .await
        .unwrap()
        .names()
        .unwrap();
    Deployment {
        store: DynamoStore::from_sdk_config(&sdk, &names.table),
        sdk,
        names,
    }
}

fn scheduler(d: &Deployment, poll_queue_url: &str) -> Scheduler {
    let store = Arc::new(d.store.clone());
    Scheduler::new(
        SchedulerPorts {
            due: store.clone(),
            config: store,
            polls: Arc::new(SqsPollQueue::from_sdk_config(&d.sdk, poll_queue_url)),
        },
        SchedulerOptions::default(),
    )
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap()
}

/// A profile and an approved mailbox with incoming enabled, on the 5-minute schedule a
/// fresh mailbox gets.
async fn due_mailbox(d: &Deployment) -> Mailbox {
    let t = rfc3339(OffsetDateTime::now_utc().replace_nanosecond(0).unwrap());
    let profile: Profile = serde_json::from_value(json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "name": "Contoso", "description": "",
        "owner": {"principal": "admin", "email": "admin@contoso.com"},
        "exchange_version": "2016", "use_autodiscover": true,
        "use_same_settings_for_outgoing": true, "auth_type": "ntlm",
        "credentials_location": "profile", "user_name": "CONTOSO\\svc",
        "process_email_from": t, "min_polling_interval_minutes": 0,
        "max_concurrent_connections": 10, "connection_timeout_seconds": 100,
        "move_failed_to_undeliverable": false, "alert_owner_on_majority_failure": false,
        "is_default_for_new_mailboxes": false, "active": true, "version": 1,
        "created_at": t, "modified_at": t,
    }))
    .unwrap();
    d.store.create_profile(&profile).await.unwrap();
    let state = json!({"enabled": true, "status": "success"});
    let mut mailbox: Mailbox = serde_json::from_value(json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "name": "Alice", "email": "alice@contoso.com", "kind": "user", "owner": "alice",
        "profile_id": profile.id.as_str(),
        "incoming": "server_side_synchronization", "outgoing": "server_side_synchronization",
        "appointments_contacts_tasks": "none", "approval": "approved", "active": true,
        "incoming_state": state, "outgoing_state": state,
        "act_state": {"enabled": false, "status": "not_run"},
        "test_scheduled": false, "tracking": "replies_to_tracked_email", "version": 1,
        "created_at": t, "modified_at": t,
    }))
    .unwrap();
    refresh_schedule(
        &mut mailbox,
        Some(&profile),
        &OrgSettings::default(),
        OffsetDateTime::now_utc(),
    );
    assert_eq!(mailbox.scheduler.interval_minutes, Some(5));
    d.store.create_mailbox(&mailbox).await.unwrap();
    mailbox
}

/// The first minute at or after now's where `mailbox` is (`due`) or is not due.
fn minute_where(mailbox: &Mailbox, due: bool) -> i64 {
    let phase = keys::due_slot(&mailbox.id, 5).phase;
    let start = epoch_minute(OffsetDateTime::now_utc());
    (start..start + 5)
        .find(|t| (phase_at(*t, 5) == phase) == due)
        .unwrap()
}

fn at_minute(minute: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(minute * 60).unwrap()
}

async fn receive(d: &Deployment) -> Vec<PollJob> {
    let client = aws_sdk_sqs::Client::new(&d.sdk);
    let got = client
        .receive_message()
        .queue_url(&d.names.poll_queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    got.messages
        .unwrap_or_default()
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn a_schedule_event_enqueues_the_mailboxes_due_at_its_scheduled_minute() {
    let d = deployment().await;
    let mailbox = due_mailbox(&d).await;
    let minute = minute_where(&mailbox, true);
    let event = json!({"scheduled_time": rfc3339(at_minute(minute))});
    // Invoked a little late: the event's time, not the clock, picks the slots.
    let late = at_minute(minute) + time::Duration::seconds(75);
    let report = handle_tick(&scheduler(&d, &d.names.poll_queue_url), &event, late)
        .await
        .unwrap();
    assert_eq!((report.due, report.enqueued), (1, 1));
    let jobs = receive(&d).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].mailbox_id, mailbox.id);
    assert_eq!(jobs[0].slot, minute);
}

#[tokio::test]
async fn a_minute_off_the_mailboxs_phase_enqueues_nothing() {
    let d = deployment().await;
    let mailbox = due_mailbox(&d).await;
    let minute = minute_where(&mailbox, false);
    let event = json!({"scheduled_time": rfc3339(at_minute(minute))});
    let report = handle_tick(
        &scheduler(&d, &d.names.poll_queue_url),
        &event,
        at_minute(minute),
    )
    .await
    .unwrap();
    assert_eq!((report.due, report.enqueued), (0, 0));
    assert!(receive(&d).await.is_empty());
}

#[tokio::test]
async fn a_tick_whose_jobs_cannot_be_enqueued_fails_so_that_it_is_retried() {
    let d = deployment().await;
    let mailbox = due_mailbox(&d).await;
    let minute = minute_where(&mailbox, true);
    let event = json!({"scheduled_time": rfc3339(at_minute(minute))});
    let missing_queue = format!(
        "{}-missing.fifo",
        d.names.poll_queue_url.trim_end_matches(".fifo")
    );
    let e = handle_tick(&scheduler(&d, &missing_queue), &event, at_minute(minute))
        .await
        .unwrap_err();
    let TickError::Incomplete { report } = e else {
        panic!("expected an incomplete tick, got {e:?}");
    };
    assert_eq!((report.due, report.enqueued, report.failed), (1, 0, 1));
}
