//! The harness: a fresh stack per test, and entity fixtures.

use aws_config::SdkConfig;
use exsync_aws::init::{InitOptions, ensure_resources};
use exsync_aws::{DynamoStore, KmsSealer, ResourceNames, SqsJobQueue};
use exsync_domain::activity::EmailActivity;
use exsync_domain::alert::Alert;
use exsync_domain::job::Job;
use exsync_domain::mailbox::Mailbox;
use exsync_domain::profile::Profile;
use serde_json::{Value, json};
use std::path::PathBuf;
use time::OffsetDateTime;

/// The repository's template.yaml.
pub fn template_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml")
}

/// The repository's docs/data-model.md.
pub fn data_model_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/data-model.md")
}

/// The local endpoint; a test without one fails here, saying how to run it.
pub fn endpoint() -> String {
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(e) if !e.trim().is_empty() => e,
        _ => panic!(
            "AWS_ENDPOINT_URL is not set: these tests need the local AWS endpoint. \
             Run them through scripts/with-moto.sh (make test does), e.g. \
             `scripts/with-moto.sh cargo test -p exsync-aws`"
        ),
    }
}

/// SDK configuration for the local endpoint, loaded the way the functions load it.
pub async fn sdk() -> SdkConfig {
    let endpoint = endpoint();
    let sdk = exsync_aws::config::load_sdk_config().await.unwrap();
    assert_eq!(
        sdk.endpoint_url(),
        Some(endpoint.as_str()),
        "the SDK must take its endpoint from AWS_ENDPOINT_URL"
    );
    sdk
}

/// A unique stack name, so parallel tests never share a table or queue.
pub fn unique_stack() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("exsync-test-{}", &id[..12])
}

/// Everything one test uses.
pub struct Stack {
    pub sdk: SdkConfig,
    pub names: ResourceNames,
    pub store: DynamoStore,
    pub sealer: KmsSealer,
    pub jobs: SqsJobQueue,
}

/// A fresh stack from template.yaml.
pub async fn stack() -> Stack {
    let sdk = sdk().await;
    let provisioned = ensure_resources(&sdk, &template_path(), &InitOptions::new(unique_stack()))
        .await
        .unwrap();
    let names = provisioned.names().unwrap();
    Stack {
        store: DynamoStore::from_sdk_config(&sdk, &names.table),
        sealer: KmsSealer::from_sdk_config(&sdk, &names.kms_key_id),
        jobs: SqsJobQueue::from_sdk_config(&sdk, &names.jobs_queue_url),
        sdk,
        names,
    }
}

/// Now, truncated to the second (RFC 3339 round trips exactly).
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn merge(mut base: Value, overrides: Value) -> Value {
    if let (Some(b), Value::Object(o)) = (base.as_object_mut(), overrides) {
        for (k, v) in o {
            b.insert(k, v);
        }
    }
    base
}

/// A profile named `name` (fields through serde, so the fixture keeps up with the entity).
pub fn profile(name: &str, overrides: Value) -> Profile {
    let t = rfc3339(now());
    let base = json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "name": name,
        "description": "",
        "owner": {"principal": "admin", "email": "admin@contoso.com"},
        "exchange_version": "2016",
        "use_autodiscover": true,
        "use_same_settings_for_outgoing": true,
        "auth_type": "ntlm",
        "credentials_location": "profile",
        "user_name": "CONTOSO\\svc-exsync",
        "process_email_from": t,
        "min_polling_interval_minutes": 0,
        "max_concurrent_connections": 10,
        "connection_timeout_seconds": 100,
        "move_failed_to_undeliverable": false,
        "alert_owner_on_majority_failure": false,
        "is_default_for_new_mailboxes": false,
        "active": true,
        "version": 1,
        "created_at": t,
        "modified_at": t,
    });
    serde_json::from_value(merge(base, overrides)).unwrap()
}

/// A mailbox named `name`.
pub fn mailbox(name: &str, overrides: Value) -> Mailbox {
    let t = rfc3339(now());
    let local: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    let state = json!({"enabled": false, "status": "not_run"});
    let base = json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "name": name,
        "email": format!("{local}@contoso.com"),
        "kind": "user",
        "owner": local,
        "incoming": "server_side_synchronization",
        "outgoing": "server_side_synchronization",
        "appointments_contacts_tasks": "server_side_synchronization",
        "approval": "empty",
        "active": true,
        "incoming_state": state,
        "outgoing_state": state,
        "act_state": state,
        "test_scheduled": false,
        "tracking": "replies_to_tracked_email",
        "version": 1,
        "created_at": t,
        "modified_at": t,
    });
    serde_json::from_value(merge(base, overrides)).unwrap()
}

/// An email activity.
pub fn email(subject: &str, overrides: Value) -> EmailActivity {
    let t = rfc3339(now());
    let base = json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "subject": subject,
        "body_text": "hello",
        "direction": "incoming",
        "status": "received",
        "correlation": "none",
        "owner": "alice",
        "version": 1,
        "created_at": t,
        "modified_at": t,
    });
    serde_json::from_value(merge(base, overrides)).unwrap()
}

/// An alert at `at`, expiring in a day.
pub fn alert(code: &str, subject: Value, owners: &[&str], at: OffsetDateTime) -> Alert {
    serde_json::from_value(json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "level": "error",
        "code": code,
        "text": format!("{code} happened"),
        "subject": subject,
        "owners": owners,
        "at": rfc3339(at),
        "expires_at": rfc3339(at + time::Duration::days(1)),
    }))
    .unwrap()
}

/// A queued job.
pub fn job(kind: Value, total: u64) -> Job {
    let t = rfc3339(now());
    serde_json::from_value(json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "kind": kind,
        "state": "queued",
        "total": total,
        "done": 0,
        "succeeded": 0,
        "failed": 0,
        "requested_by": "admin",
        "created_at": t,
        "updated_at": t,
    }))
    .unwrap()
}

/// Every raw item of the stack's table (Scan, all pages), as text.
pub async fn scan_table_as_text(stack: &Stack) -> Vec<String> {
    let client = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(&stack.names.table)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .unwrap();
        for item in page.items.unwrap_or_default() {
            out.push(format!("{item:?}"));
        }
        match page.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => return out,
        }
    }
}

/// The field a validation error names.
pub fn invalid_field(e: exsync_domain::DomainError) -> String {
    match e {
        exsync_domain::DomainError::Validation(v) => v.0[0].field.clone(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}
