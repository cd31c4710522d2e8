//! What the sync worker's tests share: a world of real components — the Exchange simulator
//! (its own per test), the test's own table, queues and key on the local AWS endpoint
//! (`scripts/with-moto.sh`), created from `template.yaml` — and the sync engine built over
//! them exactly as the function builds it, with two test seams: a clock the test moves, and
//! a DynamoDB client whose requests are counted (an SDK interceptor, so every request the
//! store sends is seen, retries included).
//!
//! These are test helpers: they panic (with a message) when something cannot be set up.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use exsync_aws::config::{Adapters, AwsConfig, load_sdk_config};
use exsync_aws::init::{InitOptions, ensure_resources};
use exsync_aws::{DynamoStore, KmsSealer, SqsJobQueue};
use exsync_domain::activity::EmailActivity;
use exsync_domain::alert::Alert;
use exsync_domain::exchange::{ExchangeEnvironment, SrvLookup, profile_secret_context};
use exsync_domain::ids::{EmailAddress, MailboxId, Principal, ProfileId, RecordId};
use exsync_domain::mailbox::{
    Approval, IncomingTrackingOption, Mailbox, MailboxKind, SchedulerState, Workload,
    WorkloadState, WorkloadStatus,
};
use exsync_domain::org::{ActDeliveryMethod, DeliveryMethod, OrgSettings};
use exsync_domain::ports::{
    ActivityStore, Clock, ConfigStore, OpsStore, Page, SecretSealer, SyncStore,
};
use exsync_domain::profile::{
    AuthType, Circuit, CredentialsLocation, ExchangeVersion, Owner, Profile,
};
use exsync_domain::record::{EmailEnabledRecord, RecordKind};
use exsync_domain::sync::decisions::DecisionEntry;
use exsync_domain::sync::engine::{EngineOptions, JobReport, SyncEngine, SyncPorts};
use exsync_domain::sync::job::{PollJob, PollReason};
use exsync_ews::autodiscover::StaticSrvResolver;
use exsync_ews::transport::ConnectOverrides;
use exsync_ews_sim::ews::IncomingMessage;
use exsync_ews_sim::store::EmailAddress as SimAddress;
use exsync_integration_tests::{SERVICE_LOGON, SERVICE_PASSWORD, Sim};
use time::OffsetDateTime;
use time::macros::datetime;
use tokio::net::{TcpListener, TcpStream};

pub use exsync_integration_tests::{ALICE, BOB, CAROL, MAIL_HOST, SERVICE_USER};

/// The profile owner (receives profile-level alerts).
pub const PROFILE_OWNER: &str = "exchange-admin";
/// Every mailbox's owner unless a test says otherwise.
pub const MAILBOX_OWNER: &str = "sales-rep";
/// The profile's Process Email From.
pub const PROCESS_FROM: OffsetDateTime = datetime!(2024-01-01 00:00 UTC);

/// A clock the test moves.
#[derive(Debug)]
pub struct TestClock(Mutex<OffsetDateTime>);

impl TestClock {
    pub fn at(t: OffsetDateTime) -> Arc<Self> {
        Arc::new(TestClock(Mutex::new(t)))
    }

    pub fn advance(&self, d: time::Duration) {
        *self.0.lock().unwrap() += d;
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

/// Requests sent by an SDK client, by operation (`GetItem`, `Query`…), read from the
/// `X-Amz-Target` header every JSON-protocol request carries.
#[derive(Debug, Default)]
pub struct RequestCounter {
    by_operation: Mutex<BTreeMap<String, u64>>,
}

/// DynamoDB operations that read.
const READS: &[&str] = &[
    "GetItem",
    "BatchGetItem",
    "Query",
    "Scan",
    "TransactGetItems",
];
/// DynamoDB operations that write.
const WRITES: &[&str] = &[
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
];

impl RequestCounter {
    /// Every operation and its count so far.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.by_operation.lock().unwrap().clone()
    }

    fn count(&self, names: &[&str]) -> u64 {
        self.snapshot()
            .iter()
            .filter(|(k, _)| names.contains(&k.as_str()))
            .map(|(_, v)| v)
            .sum()
    }

    /// DynamoDB read requests so far.
    pub fn reads(&self) -> u64 {
        self.count(READS)
    }

    /// DynamoDB write requests so far.
    pub fn writes(&self) -> u64 {
        self.count(WRITES)
    }

    /// Every request so far.
    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }
}

#[derive(Debug, Clone)]
struct Counting(Arc<RequestCounter>);

impl Intercept for Counting {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or("unknown");
        let op = target.rsplit('.').next().unwrap_or(target).to_owned();
        *self.0.by_operation.lock().unwrap().entry(op).or_default() += 1;
        Ok(())
    }
}

/// An SQS client whose requests `counter` counts.
pub fn counting_sqs(w: &World, counter: Arc<RequestCounter>) -> aws_sdk_sqs::Client {
    let conf = aws_sdk_sqs::config::Builder::from(&w.aws.sdk)
        .interceptor(Counting(counter))
        .build();
    aws_sdk_sqs::Client::from_conf(conf)
}

/// A TCP forwarder in front of the simulator that can be switched off (nothing listens:
/// connections are refused, as when Exchange is down) and on again at the same address.
pub struct Switch {
    addr: SocketAddr,
    target: SocketAddr,
    up: Arc<AtomicBool>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Switch {
    pub async fn start(target: SocketAddr) -> Arc<Switch> {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let s = Arc::new(Switch {
            addr,
            target,
            up: Arc::new(AtomicBool::new(true)),
            task: Mutex::new(None),
        });
        s.serve(listener);
        s
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn serve(&self, listener: TcpListener) {
        let target = self.target;
        let up = self.up.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let up = up.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    let (mut ri, mut wi) = inbound.split();
                    let (mut ro, mut wo) = outbound.split();
                    let pump = async {
                        tokio::select! {
                            _ = tokio::io::copy(&mut ri, &mut wo) => {},
                            _ = tokio::io::copy(&mut ro, &mut wi) => {},
                        }
                    };
                    // A switched-off forwarder drops its open connections too.
                    let watch = async {
                        while up.load(Ordering::SeqCst) {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    };
                    tokio::select! {
                        _ = pump => {},
                        _ = watch => {},
                    }
                });
            }
        });
        *self.task.lock().unwrap() = Some(task);
    }

    /// Exchange goes away: the listener closes and open connections drop.
    pub async fn off(&self) {
        self.up.store(false, Ordering::SeqCst);
        if let Some(t) = self.task.lock().unwrap().take() {
            t.abort();
        }
        // Let the aborted accept loop release the port and the pumps notice.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    /// Exchange is back, at the same address.
    pub async fn on(&self) {
        self.up.store(true, Ordering::SeqCst);
        let mut listener = None;
        for _ in 0..50 {
            match TcpListener::bind(self.addr).await {
                Ok(l) => {
                    listener = Some(l);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        self.serve(listener.expect("the forwarder's port can be bound again"));
    }
}

/// One test's deployment.
pub struct World {
    pub sim: Sim,
    pub aws: AwsConfig,
    pub store: DynamoStore,
    pub dynamo_requests: Arc<RequestCounter>,
    pub clock: Arc<TestClock>,
    pub profile: Profile,
    pub exchange: ExchangeEnvironment,
    pub switch: Option<Arc<Switch>>,
}

/// How a world is set up.
#[derive(Debug, Clone)]
pub struct WorldOptions {
    /// The profile's maximum concurrent connections.
    pub max_connections: u32,
    /// Reach the simulator through a [`Switch`] (for outages).
    pub through_switch: bool,
    /// Move failed items to Undeliverable.
    pub move_failed_to_undeliverable: bool,
}

impl Default for WorldOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            through_switch: false,
            move_failed_to_undeliverable: false,
        }
    }
}

/// An error and its causes on one line.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    exsync_fn_sync_worker::error_chain(e)
}

impl World {
    pub async fn start(label: &str) -> World {
        Self::start_with(label, WorldOptions::default()).await
    }

    pub async fn start_with(label: &str, options: WorldOptions) -> World {
        assert!(
            std::env::var_os("AWS_ENDPOINT_URL").is_some(),
            "AWS_ENDPOINT_URL is not set: run the tests under scripts/with-moto.sh"
        );
        let mut config = exsync_integration_tests::config();
        // The tests measure and limit concurrency themselves.
        config.throttling.max_concurrency = None;
        let sim = Sim::start_with(config);
        let sdk = load_sdk_config().await.expect("SDK configuration");
        let stack = format!(
            "sw-{label}-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..10]
        );
        let template = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
        let provisioned = ensure_resources(&sdk, &template, &InitOptions::new(&stack))
            .await
            .unwrap_or_else(|e| panic!("resources for {stack}: {}", chain(&e)));
        let names = provisioned.names().expect("resource names");
        let aws = AwsConfig { sdk, names };
        let clock = TestClock::at(OffsetDateTime::now_utc());
        let start = clock.now();
        let dynamo_requests = Arc::new(RequestCounter::default());
        let conf = aws_sdk_dynamodb::config::Builder::from(&aws.sdk)
            .interceptor(Counting(dynamo_requests.clone()))
            .build();
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(conf), &aws.names.table)
            .with_clock(clock.clone());

        let switch = if options.through_switch {
            Some(Switch::start(sim.https_addr()).await)
        } else {
            None
        };
        let mut overrides = ConnectOverrides::new();
        let ews_url = match &switch {
            Some(s) => {
                overrides.insert(MAIL_HOST, 443, s.addr());
                format!("https://{MAIL_HOST}/EWS/Exchange.asmx")
            }
            None => sim.ews_url().to_owned(),
        };
        let exchange = ExchangeEnvironment {
            extra_ca_pem: None,
            connect_overrides: overrides,
            srv: SrvLookup::Static(StaticSrvResolver::new()),
            budget: Duration::from_secs(60),
        };
        let sealer = KmsSealer::from_sdk_config(&aws.sdk, &aws.names.kms_key_id);
        let id = ProfileId::new();
        let password = sealer
            .seal(SERVICE_PASSWORD, &profile_secret_context(&id))
            .await
            .expect("KMS seals the password");
        let profile = Profile {
            id,
            name: format!("Exchange {label}"),
            description: String::new(),
            owner: Owner {
                principal: Principal::parse(PROFILE_OWNER).unwrap(),
                email: EmailAddress::parse("exchange-admin@contoso.test").unwrap(),
            },
            exchange_version: ExchangeVersion::Exchange2016,
            use_autodiscover: false,
            incoming_ews_url: Some(ews_url),
            use_same_settings_for_outgoing: true,
            outgoing_ews_url: None,
            ca_bundle_pem: Some(String::from_utf8_lossy(sim.ca_pem()).into_owned()),
            auth_type: AuthType::Ntlm,
            credentials_location: CredentialsLocation::Profile,
            user_name: Some(SERVICE_LOGON.to_owned()),
            password: Some(password),
            process_email_from: PROCESS_FROM,
            min_polling_interval_minutes: 0,
            max_concurrent_connections: options.max_connections,
            connection_timeout_seconds: 30,
            move_failed_to_undeliverable: options.move_failed_to_undeliverable,
            alert_owner_on_majority_failure: false,
            is_default_for_new_mailboxes: false,
            active: true,
            last_test: None,
            circuit: Circuit::Closed,
            last_majority_alert_at: None,
            version: 1,
            created_at: start,
            modified_at: start,
        };
        ConfigStore::create_profile(&store, &profile)
            .await
            .expect("the profile is stored");
        World {
            sim,
            aws,
            store,
            dynamo_requests,
            clock,
            profile,
            exchange,
            switch,
        }
    }

    /// The adapters as the function builds them, with the counted DynamoDB client.
    pub fn adapters(&self) -> Adapters {
        Adapters {
            store: self.store.clone(),
            sealer: KmsSealer::from_sdk_config(&self.aws.sdk, &self.aws.names.kms_key_id),
            jobs: SqsJobQueue::from_sdk_config(&self.aws.sdk, &self.aws.names.jobs_queue_url),
            polls: exsync_aws::poll_queue::SqsPollQueue::from_sdk_config(
                &self.aws.sdk,
                &self.aws.names.poll_queue_url,
            ),
        }
    }

    /// A sync engine as one warm container has it (its own caches and connection pools).
    pub fn engine(&self) -> SyncEngine {
        SyncEngine::new(
            self.ports(),
            self.exchange.clone(),
            EngineOptions::default(),
        )
    }

    pub fn ports(&self) -> SyncPorts {
        exsync_fn_sync_worker::sync_ports(self.adapters(), self.clock.clone())
    }

    /// Stores org settings changed by `change` from the defaults.
    pub async fn settings(&self, change: impl FnOnce(&mut OrgSettings)) {
        let current = ConfigStore::get_settings(&self.store).await.unwrap();
        let mut next = current.clone();
        change(&mut next);
        next.version = current.version + 1;
        ConfigStore::put_settings(&self.store, &next, current.version)
            .await
            .unwrap();
    }

    /// A user mailbox on the profile, approved, active, incoming enabled as Test & Enable
    /// leaves it, tracking as given.
    pub async fn mailbox(&self, email: &str, tracking: IncomingTrackingOption) -> Mailbox {
        let m = Mailbox {
            id: MailboxId::new(),
            name: email.split('@').next().unwrap_or(email).to_owned(),
            email: EmailAddress::parse(email).unwrap(),
            kind: MailboxKind::User,
            owner: Principal::parse(MAILBOX_OWNER).unwrap(),
            owner_email: None,
            profile_id: Some(self.profile.id.clone()),
            incoming: DeliveryMethod::ServerSideSynchronization,
            outgoing: DeliveryMethod::None,
            appointments_contacts_tasks: ActDeliveryMethod::None,
            user_name: None,
            password: None,
            process_email_received_after: None,
            approval: Approval::Approved,
            active: true,
            incoming_state: WorkloadState {
                enabled: true,
                status: WorkloadStatus::Success,
                status_at: Some(self.clock.now()),
                ..WorkloadState::default()
            },
            outgoing_state: WorkloadState::default(),
            act_state: WorkloadState::default(),
            test_scheduled: false,
            tracking,
            scheduler: SchedulerState::default(),
            version: 1,
            created_at: self.clock.now(),
            modified_at: self.clock.now(),
        };
        ConfigStore::create_mailbox(&self.store, &m).await.unwrap();
        m
    }

    /// The stored mailbox.
    pub async fn reload(&self, m: &Mailbox) -> Mailbox {
        ConfigStore::get_mailbox(&self.store, &m.id)
            .await
            .unwrap()
            .expect("the mailbox exists")
    }

    /// The stored profile.
    pub async fn stored_profile(&self) -> Profile {
        ConfigStore::get_profile(&self.store, &self.profile.id)
            .await
            .unwrap()
            .expect("the profile exists")
    }

    /// An email-enabled record.
    pub async fn record(&self, kind: RecordKind, name: &str, address: &str) -> RecordId {
        let r = EmailEnabledRecord {
            id: RecordId::new(),
            kind,
            name: name.to_owned(),
            addresses: vec![EmailAddress::parse(address).unwrap()],
            principal: None,
        };
        ActivityStore::create_record(&self.store, &r).await.unwrap();
        r.id
    }

    /// Delivers a message into `to`'s Inbox; returns its Message-ID.
    pub fn deliver(&self, to: &str, msg: Delivery) -> String {
        let message_id = msg
            .message_id
            .clone()
            .unwrap_or_else(|| format!("<{}@fabrikam.test>", uuid::Uuid::new_v4().simple()));
        let incoming = IncomingMessage {
            from: SimAddress::named(msg.from_name.unwrap_or("Fabrikam Buyer"), msg.from),
            subject: msg.subject.to_owned(),
            body_text: Some(format!("About {}.", msg.subject)),
            message_id: Some(message_id.clone()),
            in_reply_to: msg.in_reply_to,
            received: msg.received,
            ..IncomingMessage::default()
        };
        self.sim
            .exchange()
            .deliver(to, incoming)
            .unwrap_or_else(|e| panic!("delivery to {to} failed: {e}"));
        message_id
    }

    /// Delivers `n` ordinary messages; returns their Message-IDs.
    pub fn deliver_many(&self, to: &str, n: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                self.deliver(
                    to,
                    Delivery {
                        subject: &format!("Order {i}"),
                        ..Delivery::default()
                    },
                )
            })
            .collect()
    }

    /// A scheduled poll job for the mailbox's incoming workload.
    pub fn job(&self, m: &Mailbox, reason: PollReason) -> PollJob {
        PollJob {
            mailbox_id: m.id.clone(),
            workloads: vec![Workload::Incoming],
            slot: exsync_domain::schedule::epoch_minute(self.clock.now()),
            reason,
        }
    }

    /// Runs a scheduled poll of `m` through `engine` (the engine API, no queue).
    pub async fn poll(&self, engine: &SyncEngine, m: &Mailbox) -> JobReport {
        engine
            .handle(&self.job(m, PollReason::Scheduled), far())
            .await
            .unwrap_or_else(|e| panic!("the poll failed: {}", chain(&e)))
    }

    /// Runs jobs through the real function handler, as one SQS event.
    pub async fn handle(&self, engine: &SyncEngine, jobs: &[PollJob]) -> SqsBatchResponse {
        let mut event = SqsEvent::default();
        for (i, job) in jobs.iter().enumerate() {
            let mut r = SqsMessage::default();
            r.message_id = Some(format!("msg-{i}"));
            r.body = Some(serde_json::to_string(job).unwrap());
            r.event_source = Some("aws:sqs".into());
            event.records.push(r);
        }
        exsync_fn_sync_worker::handle_batch(engine, event, far(), None).await
    }

    /// Every email activity linked to the mailbox.
    pub async fn emails_of(&self, m: &Mailbox) -> Vec<EmailActivity> {
        let mut all = Vec::new();
        let mut next = None;
        loop {
            let page: Page<EmailActivity> =
                ActivityStore::list_emails_by_mailbox(&self.store, &m.id, 100, next)
                    .await
                    .unwrap();
            all.extend(page.items);
            match page.next {
                Some(n) => next = Some(n),
                None => return all,
            }
        }
    }

    /// The activity for a Message-ID, if tracked.
    pub async fn email(&self, message_id: &str) -> Option<EmailActivity> {
        exsync_domain::ports::MailFlowStore::email_by_message_id(&self.store, message_id)
            .await
            .unwrap()
    }

    /// The mailbox's decision log, newest first.
    pub async fn decisions(&self, m: &Mailbox) -> Vec<DecisionEntry> {
        SyncStore::list_decisions(&self.store, &m.id, 1000, None)
            .await
            .unwrap()
            .items
    }

    /// The decision logged for a Message-ID (the newest).
    pub async fn decision_for(&self, m: &Mailbox, message_id: &str) -> DecisionEntry {
        self.decisions(m)
            .await
            .into_iter()
            .find(|d| d.internet_message_id.as_deref() == Some(message_id))
            .unwrap_or_else(|| panic!("no decision logged for {message_id}"))
    }

    /// Alerts on an owner's wall.
    pub async fn alerts_of(&self, owner: &str) -> Vec<Alert> {
        OpsStore::alerts_for_owner(&self.store, &Principal::parse(owner).unwrap(), 100)
            .await
            .unwrap()
    }

    /// EWS requests the simulator received, by operation name.
    pub fn ews_calls(&self) -> u64 {
        EWS_OPERATIONS
            .iter()
            .map(|op| self.sim.request_count(op))
            .sum()
    }
}

/// Every operation the worker may call.
pub const EWS_OPERATIONS: &[&str] = &[
    "SyncFolderItems",
    "GetItem",
    "FindFolder",
    "CreateFolder",
    "MoveItem",
    "GetFolder",
    "FindItem",
    "CreateItem",
    "UpdateItem",
    "DeleteItem",
];

/// A deadline no test reaches.
pub fn far() -> Instant {
    Instant::now() + Duration::from_secs(300)
}

/// A message to deliver.
#[derive(Debug, Clone)]
pub struct Delivery<'a> {
    pub from: &'a str,
    pub from_name: Option<&'a str>,
    pub subject: &'a str,
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub received: Option<OffsetDateTime>,
}

impl Default for Delivery<'_> {
    fn default() -> Self {
        Delivery {
            from: "buyer@fabrikam.test",
            from_name: None,
            subject: "Hello",
            message_id: None,
            in_reply_to: None,
            received: None,
        }
    }
}
