//! `exsync serve --scheduler-every`: the real binary ticks the scheduler in-process against
//! the local AWS endpoint (`scripts/with-moto.sh`), so a due mailbox reaches the poll queue.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use exsync_aws::DynamoStore;
use exsync_aws::config::load_sdk_config;
use exsync_domain::mailbox::Mailbox;
use exsync_domain::org::OrgSettings;
use exsync_domain::ports::ConfigStore;
use exsync_domain::profile::Profile;
use exsync_domain::schedule::refresh_schedule;
use exsync_domain::sync::job::{PollJob, PollReason};
use serde_json::json;

/// The server, killed when the test ends however it ends.
struct Served {
    child: Child,
    table: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(stack: &str, extra: &[&str]) -> Served {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "AWS_ENDPOINT_URL is not set: run the tests under scripts/with-moto.sh"
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_exsync"))
        .args([
            "serve",
            "--init",
            "--listen",
            "127.0.0.1:0",
            "--stack",
            stack,
        ])
        .args(extra)
        .current_dir(std::env::temp_dir())
        .env_remove("EXSYNC_TABLE")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("exsync runs");
    let stdout = child.stdout.take().expect("stdout");
    let mut served = Served {
        child,
        table: String::new(),
    };
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("a line of output");
        if line.starts_with("exsync serve: listening on") {
            served.table = line
                .rsplit_once("(table ")
                .map(|(_, t)| t.trim_end_matches(')').to_owned())
                .expect("the table name");
            return served;
        }
    }
    panic!("exsync serve ended without printing its address");
}

/// A profile and an approved mailbox with incoming enabled, due every minute.
fn due_every_minute() -> (Profile, Mailbox) {
    let t = "2026-01-01T00:00:00Z";
    let profile: Profile = serde_json::from_value(json!({
        "id": uuid_like("p"), "name": "Contoso", "description": "",
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
    let on = json!({"enabled": true, "status": "success"});
    let off = json!({"enabled": false, "status": "not_run"});
    let mut mailbox: Mailbox = serde_json::from_value(json!({
        "id": uuid_like("m"), "name": "Alice", "email": "alice@contoso.com", "kind": "user",
        "owner": "alice", "profile_id": profile.id.as_str(),
        "incoming": "server_side_synchronization", "outgoing": "none",
        "appointments_contacts_tasks": "none", "approval": "approved", "active": true,
        "incoming_state": on, "outgoing_state": off, "act_state": off,
        "test_scheduled": false, "tracking": "all_email", "version": 1,
        "created_at": t, "modified_at": t,
    }))
    .unwrap();
    let now = mailbox.created_at;
    refresh_schedule(&mut mailbox, Some(&profile), &OrgSettings::default(), now);
    mailbox.scheduler.interval_minutes = Some(1);
    (profile, mailbox)
}

fn uuid_like(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

#[tokio::test]
async fn serve_with_a_scheduler_period_enqueues_due_mailboxes() {
    let stack = format!("cli-sched-{}", std::process::id());
    let served = serve(&stack, &["--scheduler-every", "1"]);
    let sdk = load_sdk_config().await.unwrap();
    let store = DynamoStore::from_sdk_config(&sdk, &served.table);
    let (profile, mailbox) = due_every_minute();
    store.create_profile(&profile).await.unwrap();
    store.create_mailbox(&mailbox).await.unwrap();

    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = sqs
        .get_queue_url()
        .queue_name(format!("{stack}-poll-jobs.fifo"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    // Ticks come every second; the first one after the write enqueues the mailbox.
    let mut received = Vec::new();
    for _ in 0..30 {
        let got = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        received.extend(got.messages.unwrap_or_default());
        if !received.is_empty() {
            break;
        }
    }
    let job: PollJob = serde_json::from_str(
        received
            .first()
            .expect("a poll job within 30 receives")
            .body()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(job.mailbox_id, mailbox.id);
    assert_eq!(job.reason, PollReason::Scheduled);
}

#[test]
fn a_scheduler_period_of_zero_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_exsync"))
        .args(["serve", "--scheduler-every", "0"])
        .output()
        .expect("exsync runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--scheduler-every"), "{stderr}");
}
