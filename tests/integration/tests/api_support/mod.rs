//! What the admin API tests share: the real router, served in-process on a loopback port
//! with the local identity header, over the real adapters on the local AWS endpoint
//! (`scripts/with-moto.sh` exports `AWS_ENDPOINT_URL`), reaching the Exchange simulator.
//!
//! Each test gets its own table, queues and key (a stack name of its own, created from
//! `template.yaml` by `exsync_aws::init`), so tests run in parallel without seeing each
//! other's data. The simulator is shared by the tests of one file: they only read its
//! directory, save and delete their own drafts, and its concurrency limit is off so that
//! parallel tests cannot throttle each other; every response it sent is still checked
//! against the EWS schema when each test ends.
//!
//! These are test helpers: they panic (with a message) when something cannot be set up.

#![allow(dead_code, unused_imports)]

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use exsync_api::{ApiConfig, IdentitySource, LOCAL_PRINCIPAL_HEADER};
use exsync_aws::config::{AwsConfig, load_sdk_config};
use exsync_aws::init::{InitOptions, ensure_resources};
use exsync_domain::exchange::{ExchangeEnvironment, SrvLookup};
use exsync_domain::ports::SystemClock;
use exsync_domain::service::{Admin, AdminOptions};
use exsync_ews::autodiscover::StaticSrvResolver;
use exsync_ews::transport::ConnectOverrides;
use exsync_fn_jobs_worker::poll::LocalPoller;
use exsync_integration_tests::{DOMAIN, MAIL_HOST, SERVICE_LOGON, SERVICE_PASSWORD, Sim};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub use exsync_integration_tests::{ALICE, BOB, CAROL, NOBODY};

/// The bootstrap administrator of every test deployment.
pub const ADMIN: &str = "admin";
/// The administrator's address (profile owner, alerts).
pub const ADMIN_EMAIL: &str = "admin@contoso.test";
/// A domain whose Autodiscover hosts all refuse connections.
pub const BROKEN_DOMAIN: &str = "broken.test";

/// The simulator the tests of one binary share.
pub fn sim() -> &'static Sim {
    static SIM: OnceLock<Sim> = OnceLock::new();
    SIM.get_or_init(|| {
        let mut config = exsync_integration_tests::config();
        config.throttling.max_concurrency = None;
        Sim::start_with(config)
    })
}

/// A port nothing listens on: connections to it are refused at once.
fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// How exsync reaches Exchange in the tests: the organisation's real-looking host names go
/// to the simulator, the broken domain's to a closed port; no SRV records; the simulator's
/// CA is NOT trusted here (profiles carry it in `ca_bundle_pem`, so a profile with another
/// CA fails at TLS).
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
    let closed = closed_port();
    for host in [
        BROKEN_DOMAIN.to_owned(),
        format!("autodiscover.{BROKEN_DOMAIN}"),
    ] {
        o.insert(&host, 443, closed);
        o.insert(&host, 80, closed);
    }
    ExchangeEnvironment {
        extra_ca_pem: None,
        connect_overrides: o,
        srv: SrvLookup::Static(StaticSrvResolver::new()),
        budget: Duration::from_secs(60),
    }
}

/// One test's deployment: its own AWS resources, the domain services, the router on a
/// loopback port, and the jobs poller `exsync serve` runs.
pub struct Api {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The SDK configuration and resource names.
    pub aws: AwsConfig,
    /// The domain services the router uses.
    pub admin: Admin,
    /// The local stand-in for the admin-jobs event source.
    pub poller: LocalPoller,
    http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Api {
    fn drop(&mut self) {
        self.server.abort();
        if std::thread::panicking() {
            return;
        }
        let invalid = sim().exchange().invalid_responses();
        assert!(
            invalid.is_empty(),
            "the simulator sent responses outside the EWS schema:\n{}",
            invalid.join("\n")
        );
    }
}

/// An answer: status and JSON body (`Value::Null` when empty).
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The body.
    pub body: Value,
}

impl Answer {
    /// The body, after checking the status.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }

    /// The fields a 400 names.
    #[track_caller]
    pub fn bad_fields(self) -> Vec<String> {
        let body = self.expect(400);
        body["fields"]
            .as_array()
            .unwrap_or_else(|| panic!("a 400 without fields: {body}"))
            .iter()
            .map(|f| f["field"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The privilege a 403 names.
    #[track_caller]
    pub fn missing_privilege(self) -> String {
        let body = self.expect(403);
        body["privilege"]
            .as_str()
            .unwrap_or_else(|| panic!("a 403 without a privilege: {body}"))
            .to_owned()
    }
}

impl Api {
    /// A fresh deployment named after `label`.
    pub async fn start(label: &str) -> Api {
        Self::start_with(label, AdminOptions::default()).await
    }

    /// A fresh deployment with these service options (the bootstrap administrator is
    /// always [`ADMIN`]).
    pub async fn start_with(label: &str, options: AdminOptions) -> Api {
        assert!(
            std::env::var_os("AWS_ENDPOINT_URL").is_some(),
            "AWS_ENDPOINT_URL is not set: run the tests under scripts/with-moto.sh"
        );
        let sdk = load_sdk_config().await.expect("SDK configuration");
        let stack = format!(
            "t-{label}-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let template = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
        let provisioned = ensure_resources(&sdk, &template, &InitOptions::new(&stack))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "resources for {stack}: {}",
                    exsync_integration_tests::error_chain(&e)
                )
            });
        let names = provisioned.names().expect("resource names");
        let aws = AwsConfig { sdk, names };
        let ports = aws.adapters().ports(Arc::new(SystemClock));
        let admin_principal = exsync_domain::ids::Principal::parse(ADMIN).unwrap();
        let admin = Admin::new(
            ports,
            exchange_environment(),
            AdminOptions {
                bootstrap_admin: Some(admin_principal.clone()),
                ..options
            },
        );
        exsync_api::bootstrap(&admin, &admin_principal)
            .await
            .expect("bootstrap administrator");
        let poller = LocalPoller::new(
            admin.clone(),
            aws_sdk_sqs::Client::new(&aws.sdk),
            aws.names.jobs_queue_url.clone(),
        );
        let router = exsync_api::router(ApiConfig::new(admin.clone(), IdentitySource::LocalHeader));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let _ = exsync_api::local::serve(listener, router, std::future::pending()).await;
        });
        Api {
            base,
            aws,
            admin,
            poller,
            http: reqwest::Client::new(),
            server,
        }
    }

    /// A request as `principal` (no identity header when `None`).
    pub async fn call(
        &self,
        principal: Option<&str>,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(p) = principal {
            request = request.header(LOCAL_PRINCIPAL_HEADER, p);
        }
        if let Some(b) = body {
            request = request
                .header("content-type", "application/json")
                .body(serde_json::to_vec(b).unwrap());
        }
        self.send(request).await
    }

    /// A request with a raw body (malformed JSON, other content types).
    pub async fn call_raw(
        &self,
        principal: &str,
        method: Method,
        path: &str,
        content_type: &str,
        body: &str,
    ) -> Answer {
        let request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header(LOCAL_PRINCIPAL_HEADER, principal)
            .header("content-type", content_type)
            .body(body.to_owned());
        self.send(request).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("the API answers");
        let status = response.status();
        let bytes = response.bytes().await.expect("the body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!(
                    "{status}: the body is not JSON ({e}): {}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        Answer { status, body }
    }

    /// GET as the administrator.
    pub async fn get(&self, path: &str) -> Answer {
        self.call(Some(ADMIN), Method::GET, path, None).await
    }

    /// POST as the administrator.
    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Some(ADMIN), Method::POST, path, Some(&body))
            .await
    }

    /// PATCH as the administrator.
    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.call(Some(ADMIN), Method::PATCH, path, Some(&body))
            .await
    }

    /// PUT as the administrator.
    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.call(Some(ADMIN), Method::PUT, path, Some(&body)).await
    }

    /// DELETE as the administrator.
    pub async fn delete(&self, path: &str) -> Answer {
        self.call(Some(ADMIN), Method::DELETE, path, None).await
    }

    /// Gives `principal` these roles (as the administrator).
    pub async fn assign(&self, principal: &str, roles: &[&str]) {
        self.put(
            &format!("/principals/{}/roles", encode(principal)),
            json!({ "roles": roles }),
        )
        .await
        .expect(200);
    }

    /// A profile reaching the simulator's EWS URL directly (Autodiscover off) as the
    /// service account, trusting the simulator's CA; `changes` override fields.
    pub fn profile_body(&self, name: &str, changes: Value) -> Value {
        let sim = sim();
        let mut body = json!({
            "name": name,
            "owner_email": ADMIN_EMAIL,
            "exchange_version": "2016",
            "use_autodiscover": false,
            "incoming_ews_url": sim.ews_url(),
            "ca_bundle_pem": String::from_utf8_lossy(sim.ca_pem()),
            "auth_type": "ntlm",
            "credentials_location": "profile",
            "user_name": SERVICE_LOGON,
            "password": SERVICE_PASSWORD,
            "process_email_from": "2024-01-01T00:00:00Z",
        });
        merge(&mut body, changes);
        body
    }

    /// Creates a profile (see [`Api::profile_body`]) and returns it.
    pub async fn create_profile(&self, name: &str, changes: Value) -> Value {
        self.post("/profiles", self.profile_body(name, changes))
            .await
            .expect(201)
    }

    /// Creates a user mailbox for `email` on `profile` (or none), owned by `owner`.
    pub async fn create_mailbox(&self, email: &str, profile: Option<&str>, owner: &str) -> Value {
        self.post(
            "/mailboxes",
            json!({
                "name": email.split('@').next().unwrap(),
                "email": email,
                "owner": owner,
                "profile_id": profile.unwrap_or(""),
            }),
        )
        .await
        .expect(201)
    }

    /// Approves email for these mailboxes.
    pub async fn approve(&self, ids: &[&str]) {
        let items = self
            .post("/mailboxes/approve", json!({ "mailbox_ids": ids }))
            .await
            .expect(200);
        for item in items.as_array().unwrap() {
            assert_eq!(item["status"], "ok", "{item}");
        }
    }

    /// Runs queued jobs through the jobs-worker handler (as `exsync serve`'s poller does)
    /// until job `id` is completed, and returns it.
    pub async fn run_job(&self, id: &str) -> Value {
        for _ in 0..60 {
            let job = self.get(&format!("/jobs/{id}")).await.expect(200);
            if job["state"] == "completed" || job["state"] == "failed" {
                return job;
            }
            self.poller
                .poll_once(Duration::from_secs(1))
                .await
                .expect("the admin-jobs queue answers");
        }
        panic!("job {id} did not finish after 60 polls");
    }

    /// Every item of the test's table, as JSON text (for the plaintext-password scan).
    pub async fn table_dump(&self) -> Vec<String> {
        let client = aws_sdk_dynamodb::Client::new(&self.aws.sdk);
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = client
                .scan()
                .table_name(&self.aws.names.table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan");
            for item in out.items() {
                items.push(format!("{item:?}"));
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return items,
            }
        }
    }
}

/// `changes` written over `base` (top-level keys; `null` removes one).
pub fn merge(base: &mut Value, changes: Value) {
    if let (Some(b), Value::Object(c)) = (base.as_object_mut(), changes) {
        for (k, v) in c {
            if v.is_null() {
                b.remove(&k);
            } else {
                b.insert(k, v);
            }
        }
    }
}

/// A path segment, percent-encoded (principals may hold `/` and `:`).
pub fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A string field of a JSON object.
#[track_caller]
pub fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string in {v}"))
}

/// The steps of a Test Connection result as (step, ok).
pub fn steps(result: &Value) -> Vec<(String, bool)> {
    result["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (text(s, "step").to_owned(), s["ok"].as_bool().unwrap()))
        .collect()
}

/// A CA of our own that never signed anything the simulator presents.
pub fn unrelated_ca_pem() -> String {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Unrelated Root CA");
    let key = rcgen::KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().pem()
}
