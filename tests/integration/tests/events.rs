//! Every file in `events/` runs through the handler its function runs in Lambda, against the
//! local stack (moto through `scripts/with-moto.sh`, and the Exchange simulator), so an
//! event that `sam local invoke -e` or `cargo lambda invoke --data-file` would be given
//! cannot rot: a renamed field, route or id fails here.
//!
//! - admin API events are turned into a request by `lambda_http` exactly as the Lambda
//!   runtime does (`lambda_http::request::from_str`) and sent to the router with the IAM
//!   identity source, so the caller is the event's `authorizer.iam.userArn`;
//! - SQS events are deserialized as `aws_lambda_events` SQS events and given to the sync
//!   worker's and the jobs worker's `handle_batch`;
//! - scheduler events go to the scheduler's `handle_tick`.
//!
//! The ids in the events (profile, mailboxes, job, the administrator's ARN) are the ones
//! this file seeds. Each test has its own table, queues and key, and seeds what its event
//! needs, through the domain's own validation and the store ports (so the entities are
//! exactly what the admin API would have written, under the events' fixed ids).

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::SqsEvent;
use exsync_api::{ApiConfig, IdentitySource};
use exsync_aws::config::{AwsConfig, load_sdk_config};
use exsync_aws::init::{InitOptions, ensure_resources};
use exsync_domain::exchange::{ExchangeEnvironment, SrvLookup, profile_secret_context};
use exsync_domain::ids::{JobId, MailboxId, Principal, ProfileId};
use exsync_domain::job::{Job, JobKind, JobState};
use exsync_domain::mailbox::{Approval, MailboxInput, MailboxRules};
use exsync_domain::ports::{ConfigStore, OpsStore, SecretSealer, SystemClock};
use exsync_domain::profile::ProfileInput;
use exsync_domain::service::{Admin, AdminOptions};
use exsync_domain::sync::engine::{EngineOptions, SyncEngine};
use exsync_domain::sync::scheduler::SchedulerOptions;
use exsync_ews::autodiscover::StaticSrvResolver;
use exsync_ews::transport::ConnectOverrides;
use exsync_integration_tests::{ALICE, BOB, DOMAIN, MAIL_HOST, Sim};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tower::ServiceExt as _;

/// The caller of every admin API event (its `requestContext.authorizer.iam.userArn`).
const ADMIN_ARN: &str = "arn:aws:iam::123456789012:user/exsync-admin";
/// The profile the events name.
const PROFILE: &str = "contoso-exchange";
/// The mailboxes the events name, and their addresses.
const MAILBOXES: [(&str, &str); 2] = [("mailbox-alice", ALICE), ("mailbox-bob", BOB)];
/// The admin job the jobs-worker event names.
const JOB: &str = "job-test-and-enable-contoso";

/// The simulator the tests of this file share (they write only their own items).
fn sim() -> &'static Sim {
    static SIM: OnceLock<Sim> = OnceLock::new();
    SIM.get_or_init(|| {
        let mut config = exsync_integration_tests::config();
        config.throttling.max_concurrency = None;
        Sim::start_with(config)
    })
}

/// An event file's text.
fn event_text(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../events")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An event file as JSON.
fn event(name: &str) -> Value {
    serde_json::from_str(&event_text(name)).unwrap()
}

/// The JSON body of an admin API event.
fn event_body(name: &str) -> Value {
    serde_json::from_str(event(name)["body"].as_str().unwrap()).unwrap()
}

fn admin_principal() -> Principal {
    Principal::parse(ADMIN_ARN).unwrap()
}

fn profile_id() -> ProfileId {
    ProfileId::parse(PROFILE).unwrap()
}

fn mailbox_id(id: &str) -> MailboxId {
    MailboxId::parse(id).unwrap()
}

/// The organisation's host names go to the simulator, whose CA is trusted (the events'
/// profile carries no CA bundle: a deployment reaches a publicly trusted endpoint).
fn exchange_environment() -> ExchangeEnvironment {
    let sim = sim();
    let mut o = ConnectOverrides::new();
    for host in [
        DOMAIN.to_owned(),
        format!("autodiscover.{DOMAIN}"),
        MAIL_HOST.to_owned(),
    ] {
        o.insert(&host, 443, sim.https_addr());
    }
    o.insert(&format!("autodiscover.{DOMAIN}"), 80, sim.http_probe_addr());
    ExchangeEnvironment {
        extra_ca_pem: Some(sim.ca_pem().to_vec()),
        connect_overrides: o,
        srv: SrvLookup::Static(StaticSrvResolver::new()),
        budget: Duration::from_secs(60),
    }
}

/// One test's deployment: its own resources from `template.yaml`, the admin services with
/// the events' administrator as bootstrap administrator, and the admin API's router as the
/// admin-api function builds it (IAM identity).
struct Stack {
    aws: AwsConfig,
    admin: Admin,
    router: axum::Router,
}

impl Stack {
    async fn start(label: &str) -> Stack {
        assert!(
            std::env::var_os("AWS_ENDPOINT_URL").is_some(),
            "AWS_ENDPOINT_URL is not set: run the tests under scripts/with-moto.sh"
        );
        let sdk = load_sdk_config().await.expect("SDK configuration");
        let stack = format!(
            "ev-{label}-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let template = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
        let provisioned = ensure_resources(&sdk, &template, &InitOptions::new(&stack))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "resources for {stack}: {}",
                    exsync_integration_tests::error_chain(&e)
                )
            });
        let aws = AwsConfig {
            sdk,
            names: provisioned.names().expect("resource names"),
        };
        let admin = Admin::new(
            aws.adapters().ports(Arc::new(SystemClock)),
            exchange_environment(),
            AdminOptions {
                bootstrap_admin: Some(admin_principal()),
                ..AdminOptions::default()
            },
        );
        exsync_api::bootstrap(&admin, &admin_principal())
            .await
            .expect("bootstrap administrator");
        let router = exsync_api::router(ApiConfig::new(admin.clone(), IdentitySource::Iam));
        Stack { aws, admin, router }
    }

    /// Runs an admin API event through the router as Lambda would; its status and body.
    async fn invoke_api(&self, name: &str) -> (u16, Value) {
        let request = lambda_http::request::from_str(&event_text(name))
            .unwrap_or_else(|e| panic!("{name} is not an API Gateway event: {e}"));
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, body)
    }

    /// Runs an admin API event that must succeed with `status`; its body.
    async fn expect_api(&self, name: &str, status: u16) -> Value {
        let (got, body) = self.invoke_api(name).await;
        assert_eq!(got, status, "{name}: {body}");
        body
    }

    /// The events' profile, from the create-profile event's body, under its fixed id.
    async fn seed_profile(&self) {
        let input: ProfileInput =
            serde_json::from_value(event_body("admin-api/create-profile.json")).unwrap();
        let validated = input
            .validate(None, Some(&admin_principal()), OffsetDateTime::now_utc())
            .unwrap_or_else(|e| panic!("the create-profile event's body is invalid: {e:?}"));
        let mut profile = validated.profile;
        profile.id = profile_id();
        let adapters = self.aws.adapters();
        if let Some(password) = validated.new_password {
            profile.password = Some(
                adapters
                    .sealer
                    .seal(password.expose(), &profile_secret_context(&profile.id))
                    .await
                    .unwrap(),
            );
        }
        ConfigStore::create_profile(&adapters.store, &profile)
            .await
            .unwrap();
    }

    /// The events' mailboxes, as the admin API creates them before the org settings name
    /// a default (no profile yet), under their fixed ids.
    async fn seed_mailboxes(&self) {
        let store = self.aws.adapters().store;
        let settings = store.get_settings().await.unwrap();
        for (id, email) in MAILBOXES {
            let input: MailboxInput = serde_json::from_value(json!({
                "name": email.split('@').next().unwrap(),
                "email": email,
                "owner": ADMIN_ARN,
                "profile_id": "",
            }))
            .unwrap();
            let validated = input
                .validate(MailboxRules {
                    existing: None,
                    profile: None,
                    settings: &settings,
                    caller: Some(&admin_principal()),
                    now: OffsetDateTime::now_utc(),
                })
                .unwrap_or_else(|e| panic!("mailbox {email}: {e:?}"));
            let mut mailbox = validated.mailbox;
            mailbox.id = mailbox_id(id);
            store.create_mailbox(&mailbox).await.unwrap();
        }
    }

    /// The walkthrough up to the step an event needs, each step through its own event.
    async fn seed_until(&self, step: Step) {
        self.seed_profile().await;
        if step >= Step::OrgSettings {
            self.expect_api("admin-api/update-org-settings.json", 200)
                .await;
            self.seed_mailboxes().await;
        }
        if step >= Step::Defaults {
            self.expect_api("admin-api/apply-default-settings.json", 200)
                .await;
        }
        if step >= Step::Approved {
            self.expect_api("admin-api/approve-email.json", 200).await;
        }
        if step >= Step::Enabled {
            self.expect_api("admin-api/test-and-enable-mailboxes.json", 200)
                .await;
        }
    }

    async fn mailbox(&self, id: &str) -> exsync_domain::mailbox::Mailbox {
        self.aws
            .adapters()
            .store
            .get_mailbox(&mailbox_id(id))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("mailbox {id} is not stored"))
    }
}

/// How far [`Stack::seed_until`] goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Profile,
    OrgSettings,
    Defaults,
    Approved,
    Enabled,
}

/// An SQS event file as the functions' event type.
fn sqs_event(name: &str) -> SqsEvent {
    serde_json::from_str(&event_text(name))
        .unwrap_or_else(|e| panic!("{name} is not an SQS event: {e}"))
}

// --- admin API ------------------------------------------------------------------------

#[tokio::test]
async fn the_create_profile_event_creates_an_autodiscover_ntlm_profile() {
    let stack = Stack::start("create-profile").await;
    let body = stack.expect_api("admin-api/create-profile.json", 201).await;
    assert_eq!(body["name"], "Contoso Exchange");
    assert_eq!(body["use_autodiscover"], true);
    assert_eq!(body["auth_type"], "ntlm");
    let id = ProfileId::parse(body["id"].as_str().unwrap()).unwrap();
    let stored = stack.aws.adapters().store.get_profile(&id).await.unwrap();
    assert!(stored.is_some(), "the created profile is stored");
}

#[tokio::test]
async fn the_test_connection_event_passes_every_step_through_autodiscover() {
    let stack = Stack::start("test-connection").await;
    stack.seed_until(Step::Profile).await;
    let result = stack
        .expect_api("admin-api/test-connection.json", 200)
        .await;
    assert_eq!(result["outcome"], "success", "{result}");
    assert_eq!(result["steps"][0]["step"], "autodiscover", "{result}");
    assert_eq!(result["ews_url"], sim().ews_url());
}

#[tokio::test]
async fn the_org_settings_event_makes_the_profile_the_server_side_sync_default() {
    let stack = Stack::start("org-settings").await;
    stack.seed_until(Step::Profile).await;
    let settings = stack
        .expect_api("admin-api/update-org-settings.json", 200)
        .await;
    assert_eq!(settings["default_profile"], PROFILE, "{settings}");
    for workload in ["incoming", "outgoing", "appointments_contacts_tasks"] {
        assert_eq!(
            settings[workload], "server_side_synchronization",
            "{settings}"
        );
    }
}

#[tokio::test]
async fn the_apply_defaults_event_puts_both_mailboxes_on_the_default_profile() {
    let stack = Stack::start("apply-defaults").await;
    stack.seed_until(Step::OrgSettings).await;
    let outcome = stack
        .expect_api("admin-api/apply-default-settings.json", 200)
        .await;
    let items = outcome["mailboxes"].as_array().unwrap();
    assert_eq!(items.len(), MAILBOXES.len(), "{outcome}");
    for item in items {
        assert_eq!(item["status"], "ok", "{item}");
    }
    for (id, _) in MAILBOXES {
        assert_eq!(stack.mailbox(id).await.profile_id, Some(profile_id()));
    }
}

#[tokio::test]
async fn the_approve_event_approves_email_for_both_mailboxes() {
    let stack = Stack::start("approve").await;
    stack.seed_until(Step::Defaults).await;
    let items = stack.expect_api("admin-api/approve-email.json", 200).await;
    for item in items.as_array().unwrap() {
        assert_eq!(item["status"], "ok", "{item}");
    }
    for (id, _) in MAILBOXES {
        assert_eq!(stack.mailbox(id).await.approval, Approval::Approved);
    }
}

#[tokio::test]
async fn the_test_and_enable_event_enables_every_workload_of_both_mailboxes() {
    let stack = Stack::start("test-enable").await;
    stack.seed_until(Step::Approved).await;
    let outcome = stack
        .expect_api("admin-api/test-and-enable-mailboxes.json", 200)
        .await;
    let results = outcome["results"].as_array().unwrap();
    assert_eq!(results.len(), MAILBOXES.len(), "{outcome}");
    for r in results {
        assert_eq!(r["result"]["status"], "success", "{r}");
    }
    for (id, _) in MAILBOXES {
        let m = stack.mailbox(id).await;
        assert!(
            m.incoming_state.enabled && m.outgoing_state.enabled && m.act_state.enabled,
            "{id}: {m:?}"
        );
    }
}

#[tokio::test]
async fn the_profile_test_and_enable_event_queues_a_job_for_its_mailboxes() {
    let stack = Stack::start("test-enable-profile").await;
    stack.seed_until(Step::Approved).await;
    let job = stack
        .expect_api("admin-api/test-and-enable-profile.json", 202)
        .await;
    assert_eq!(job["state"], "queued", "{job}");
    assert_eq!(job["total"], MAILBOXES.len(), "{job}");
}

#[tokio::test]
async fn the_send_email_event_queues_an_email_from_the_enabled_mailbox() {
    let stack = Stack::start("send-email").await;
    stack.seed_until(Step::Enabled).await;
    let email = stack.expect_api("admin-api/send-email.json", 201).await;
    assert_eq!(email["sender_mailbox"], MAILBOXES[0].0, "{email}");
    assert_eq!(email["status"], "pending_send", "{email}");
    assert_eq!(email["to"], json!([{"address": BOB}]), "{email}");
    assert_eq!(email["subject"], "Quarterly review", "{email}");
}

// --- SQS ------------------------------------------------------------------------------

#[tokio::test]
async fn the_poll_jobs_event_syncs_both_mailboxes_without_failures() {
    let stack = Stack::start("poll-jobs").await;
    stack.seed_until(Step::Enabled).await;
    let event = sqs_event("sync-worker/poll-jobs.json");
    // The groups are the ones the scheduler would have used for these mailboxes.
    let profile = stack
        .aws
        .adapters()
        .store
        .get_profile(&profile_id())
        .await
        .unwrap()
        .unwrap();
    for record in &event.records {
        let job = exsync_fn_sync_worker::parse_job(record.body.as_deref()).unwrap();
        let group = exsync_domain::schedule::poll_group_for(&job.mailbox_id, &profile);
        assert_eq!(
            record
                .attributes
                .get(exsync_fn_sync_worker::MESSAGE_GROUP_ID),
            Some(&group),
            "{}",
            job.mailbox_id
        );
    }
    for (id, email) in MAILBOXES {
        assert!(
            decisions(&stack, id).await.is_empty(),
            "{id} before its poll"
        );
        sim().deliver_messages(email, 1);
    }
    let engine = SyncEngine::new(
        exsync_fn_sync_worker::sync_ports(stack.aws.adapters(), Arc::new(SystemClock)),
        exchange_environment(),
        EngineOptions::default(),
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    let response = Box::pin(exsync_fn_sync_worker::handle_batch(
        &engine, event, deadline, None,
    ))
    .await;
    assert!(
        response.batch_item_failures.is_empty(),
        "{:?}",
        response.batch_item_failures
    );
    // Every message that arrived since Test & Enable was evaluated, with its decision
    // logged (tracked or why not).
    for (id, _) in MAILBOXES {
        assert!(
            !decisions(&stack, id).await.is_empty(),
            "{id} has no decision after its poll"
        );
    }
}

async fn decisions(stack: &Stack, id: &str) -> Vec<exsync_domain::sync::decisions::DecisionEntry> {
    stack
        .aws
        .adapters()
        .store
        .decisions_of_mailbox(&mailbox_id(id), 50, None)
        .await
        .unwrap()
        .items
}

#[tokio::test]
async fn the_admin_job_event_runs_the_profile_test_and_enable_job_to_completion() {
    let stack = Stack::start("admin-job").await;
    stack.seed_until(Step::Approved).await;
    let now = OffsetDateTime::now_utc();
    let job = Job {
        id: JobId::parse(JOB).unwrap(),
        kind: JobKind::TestAndEnableProfile {
            profile_id: profile_id(),
        },
        state: JobState::Queued,
        total: MAILBOXES.len() as u64,
        done: 0,
        succeeded: 0,
        failed: 0,
        requested_by: admin_principal(),
        created_at: now,
        updated_at: now,
    };
    stack.aws.adapters().store.create_job(&job).await.unwrap();
    let response =
        exsync_fn_jobs_worker::handle_batch(&stack.admin, sqs_event("jobs-worker/admin-job.json"))
            .await;
    assert!(
        response.batch_item_failures.is_empty(),
        "{:?}",
        response.batch_item_failures
    );
    let done = stack
        .aws
        .adapters()
        .store
        .get_job(&job.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.state, JobState::Completed, "{done:?}");
    assert_eq!(done.succeeded, MAILBOXES.len() as u64, "{done:?}");
}

// --- scheduler ------------------------------------------------------------------------

/// Runs a scheduler event through the handler; the tick must be complete and for the
/// minute the event names.
async fn tick_is_for_its_minute(name: &str, field: &str) {
    let stack = Stack::start("tick").await;
    stack.seed_until(Step::Enabled).await;
    let scheduler = stack.aws.adapters().scheduler(SchedulerOptions::default());
    let event = event(name);
    let at = OffsetDateTime::parse(event[field].as_str().unwrap(), &Rfc3339).unwrap();
    let report = exsync_fn_scheduler::handle_tick(&scheduler, &event, OffsetDateTime::now_utc())
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(report.slot, exsync_domain::schedule::epoch_minute(at));
    assert_eq!(report.query_failures, 0, "{report:?}");
}

#[tokio::test]
async fn the_scheduler_tick_event_ticks_its_scheduled_minute() {
    tick_is_for_its_minute("scheduler/tick.json", "scheduled_time").await;
}

#[tokio::test]
async fn the_scheduled_event_rule_shape_ticks_its_time() {
    tick_is_for_its_minute("scheduler/scheduled-event.json", "time").await;
}

/// Every file in `events/` is run by one of the tests above.
#[test]
fn every_event_file_is_run_by_a_test() {
    let source = include_str!("events.rs");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events");
    let mut unrun = Vec::new();
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            let name = format!(
                "{}/{}",
                dir.file_name().unwrap().to_string_lossy(),
                file.file_name().unwrap().to_string_lossy()
            );
            if !source.contains(&format!("\"{name}\"")) {
                unrun.push(name);
            }
        }
    }
    assert!(unrun.is_empty(), "event files no test runs: {unrun:?}");
}
