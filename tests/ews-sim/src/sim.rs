//! Starting the simulator and steering it from a test: [`Simulator::start`] returns a
//! [`SimHandle`] with the URLs, the CA, and the switches tests flip (auth schemes, faults,
//! throttling, Autodiscover per host, the directory).
//!
//! The simulator runs on its own multi-threaded Tokio runtime, so it keeps answering while
//! the test's own runtime (often single-threaded) is blocked, for example in a `curl` child
//! process, and a synchronous test can use it too.

use crate::arrivals::{Arrivals, ArrivalsStatus};
use crate::auth::AuthSwitches;
use crate::autodiscover::AutodiscoverBehavior;
use crate::config::{ConfigError, SimConfig};
use crate::directory::Directory;
use crate::ews::{Exchange, ExchangeError, ExchangeOptions};
use crate::faults::{FaultRule, Faults};
use crate::ntlm::NtlmServer;
use crate::server::{self, Endpoints, Shared};
use crate::throttle::{AccountLoad, Throttle, ThrottleAnswer};
use crate::tls::{self, TlsError};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use tokio::sync::watch;

/// The NetBIOS name the simulated server gives itself in NTLM challenges.
const SERVER_COMPUTER_NAME: &str = "EXCH01";

/// How the simulator is started (as opposed to what it simulates, in [`SimConfig`]).
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// HTTPS listen address; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Plain-HTTP listen address of the Autodiscover redirect probe; port 0 picks a free port.
    pub http_listen: SocketAddr,
    /// Host name in the URLs handed out (EWS URL, Autodiscover URL, Autodiscover settings).
    pub public_host: String,
    /// Extra names for the server certificate besides loopback, the domains and their
    /// `autodiscover.` / `mail.` hosts.
    pub extra_names: Vec<String>,
    /// Where to write the CA certificate (PEM); a fresh temporary directory when `None`
    /// (removed again when the handle is dropped).
    pub ca_out: Option<PathBuf>,
    /// Directory with `soap-envelope.xsd` and Microsoft's EWS schema.
    pub schema_dir: PathBuf,
    /// Check every response against the schema and record the ones that fail.
    pub validate_responses: bool,
    /// Seed for probabilistic faults (reproducible runs); random when `None`.
    pub fault_seed: Option<u64>,
    /// Worker threads of the simulator's runtime.
    pub worker_threads: usize,
    /// Largest request body accepted (Exchange 2013+: 64 MiB); larger ones get 413.
    pub max_request_bytes: usize,
}

impl Default for SimOptions {
    fn default() -> Self {
        let loopback = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
        Self {
            listen: loopback,
            http_listen: loopback,
            public_host: "localhost".into(),
            extra_names: Vec::new(),
            ca_out: None,
            schema_dir: default_schema_dir(),
            validate_responses: true,
            fault_seed: None,
            worker_threads: 2,
            max_request_bytes: 64 * 1024 * 1024,
        }
    }
}

/// The EWS schema directory: `$EXSYNC_EWS_SCHEMA_DIR`, else `../shared/ews-schema` beside
/// the repository (where the Makefile expects it).
pub fn default_schema_dir() -> PathBuf {
    ExchangeOptions::default_schema_dir()
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A listen address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Certificate generation or TLS setup failed.
    #[error("TLS setup failed")]
    Tls(#[from] TlsError),
    /// The CA certificate could not be written.
    #[error("cannot write the CA certificate to {path}")]
    WriteCa {
        /// Where it was to go.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The configuration cannot run (an arrival stream to an unknown mailbox, …).
    #[error("invalid configuration")]
    Config(#[from] ConfigError),
    /// The EWS endpoint could not start (schema not found, …).
    #[error("the EWS endpoint could not start")]
    Exchange(#[from] ExchangeError),
    /// The simulator's runtime could not start.
    #[error("cannot start the simulator's runtime")]
    Runtime(#[source] std::io::Error),
}

/// Starts simulators.
#[derive(Debug)]
pub struct Simulator;

impl Simulator {
    /// Generates the certificates, writes the CA, binds both listeners and starts serving.
    /// Returns once the ports are bound, so the URLs of the handle work immediately.
    pub fn start(config: SimConfig, options: SimOptions) -> Result<SimHandle, SimError> {
        config.validate()?;
        let names = tls::server_names(&config.domains, &options.public_host, &options.extra_names);
        let material = tls::generate(names)?;
        let tls_config = material.server_config()?;

        let (ca_path, temp_dir) = match &options.ca_out {
            Some(path) => (path.clone(), None),
            None => {
                let dir = std::env::temp_dir()
                    .join(format!("exsync-ews-sim-{}", uuid::Uuid::new_v4().simple()));
                (dir.join("ca.pem"), Some(dir))
            }
        };
        if let Some(parent) = ca_path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| SimError::WriteCa {
                path: ca_path.clone(),
                source,
            })?;
        }
        std::fs::write(&ca_path, &material.ca_pem).map_err(|source| SimError::WriteCa {
            path: ca_path.clone(),
            source,
        })?;

        let https = bind(options.listen)?;
        let http = bind(options.http_listen)?;
        let https_addr = local_addr(&https, options.listen)?;
        let http_addr = local_addr(&http, options.http_listen)?;

        let host = url_host(&options.public_host);
        let ews_url = format!("https://{host}:{}/EWS/Exchange.asmx", https_addr.port());
        let autodiscover_url = format!(
            "https://{host}:{}/autodiscover/autodiscover.xml",
            https_addr.port()
        );

        let exchange = Exchange::new(
            &config,
            ExchangeOptions {
                validate_requests: config.server.validate_requests,
                validate_responses: options.validate_responses,
                server_version: config.server.version,
                schema_dir: options.schema_dir.clone(),
            },
        )?;
        let dns_domain = config
            .domains
            .first()
            .cloned()
            .unwrap_or_else(|| "localdomain".into());
        let (close_all, _) = watch::channel(0u64);
        let shared = Arc::new(Shared {
            directory: RwLock::new(Directory::from_config(&config)),
            arrivals: Arrivals::from_config(&config),
            exchange,
            switches: AuthSwitches::new(config.auth.ntlm, config.auth.basic),
            ntlm: NtlmServer::new(&config.netbios_domain, &dns_domain, SERVER_COMPUTER_NAME),
            throttle: Throttle::new(config.throttling.max_concurrency, config.throttling.answer),
            faults: Faults::new(options.fault_seed),
            autodiscover: RwLock::new(HashMap::new()),
            http_redirect: RwLock::new(autodiscover_url.clone()),
            counts: Mutex::new(HashMap::new()),
            endpoints: Endpoints {
                ews_url,
                autodiscover_url,
                public_host: options.public_host.to_ascii_lowercase(),
                https_addr,
                http_addr,
                ca_path: ca_path.clone(),
            },
            version: config.server.version,
            max_request_bytes: options.max_request_bytes,
            close_all,
            open_connections: AtomicUsize::new(0),
        });

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(options.worker_threads.max(1))
            .thread_name("ews-sim")
            .enable_all()
            .build()
            .map_err(SimError::Runtime)?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        {
            let _enter = runtime.enter();
            let https =
                tokio::net::TcpListener::from_std(https).map_err(|source| SimError::Bind {
                    addr: https_addr,
                    source,
                })?;
            let http =
                tokio::net::TcpListener::from_std(http).map_err(|source| SimError::Bind {
                    addr: http_addr,
                    source,
                })?;
            let acceptor = tokio_rustls::TlsAcceptor::from(tls_config);
            runtime.spawn(server::serve_https(
                https,
                acceptor,
                shared.clone(),
                shutdown_rx.clone(),
            ));
            runtime.spawn(server::serve_http(
                http,
                shared.clone(),
                shutdown_rx.clone(),
            ));
            for index in 0..shared.arrivals.len() {
                runtime.spawn(crate::arrivals::run(
                    shared.clone(),
                    index,
                    shutdown_rx.clone(),
                ));
            }
        }
        tracing::info!(
            ews_url = %shared.endpoints.ews_url,
            autodiscover_url = %shared.endpoints.autodiscover_url,
            http_probe = %http_addr,
            ca = %ca_path.display(),
            "simulator started"
        );
        Ok(SimHandle {
            shared,
            runtime: Some(runtime),
            shutdown,
            ca_pem: material.ca_pem,
            temp_dir,
        })
    }
}

fn bind(addr: SocketAddr) -> Result<std::net::TcpListener, SimError> {
    let listener =
        std::net::TcpListener::bind(addr).map_err(|source| SimError::Bind { addr, source })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| SimError::Bind { addr, source })?;
    Ok(listener)
}

fn local_addr(listener: &std::net::TcpListener, addr: SocketAddr) -> Result<SocketAddr, SimError> {
    listener
        .local_addr()
        .map_err(|source| SimError::Bind { addr, source })
}

/// A host for a URL: IPv6 literals in brackets.
fn url_host(host: &str) -> String {
    if host.parse::<std::net::Ipv6Addr>().is_ok() {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// A running simulator. Dropping it stops the simulator (without waiting).
pub struct SimHandle {
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
    shutdown: watch::Sender<bool>,
    ca_pem: String,
    temp_dir: Option<PathBuf>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("ews_url", &self.shared.endpoints.ews_url)
            .finish_non_exhaustive()
    }
}

impl SimHandle {
    /// `https://<public host>:<port>/EWS/Exchange.asmx`.
    pub fn ews_url(&self) -> &str {
        &self.shared.endpoints.ews_url
    }

    /// `https://<public host>:<port>/autodiscover/autodiscover.xml`.
    pub fn autodiscover_url(&self) -> &str {
        &self.shared.endpoints.autodiscover_url
    }

    /// The plain-HTTP listener of the Autodiscover redirect probe.
    pub fn http_probe_addr(&self) -> SocketAddr {
        self.shared.endpoints.http_addr
    }

    /// `http://127.0.0.1:<port>/autodiscover/autodiscover.xml`: the probe's URL by address.
    pub fn http_probe_url(&self) -> String {
        format!(
            "http://{}/autodiscover/autodiscover.xml",
            self.shared.endpoints.http_addr
        )
    }

    /// The HTTPS socket address (to connect to whatever host name a URL names).
    pub fn https_addr(&self) -> SocketAddr {
        self.shared.endpoints.https_addr
    }

    /// Where the CA certificate (PEM) was written.
    pub fn ca_pem_path(&self) -> &Path {
        &self.shared.endpoints.ca_path
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> &[u8] {
        self.ca_pem.as_bytes()
    }

    /// The directory, for reading.
    pub fn directory(&self) -> RwLockReadGuard<'_, Directory> {
        self.shared
            .directory
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The directory, for changing (revoke or grant impersonation, set a password, add a
    /// mailbox). Requests wait while the guard is held: drop it before awaiting anything.
    pub fn directory_mut(&self) -> RwLockWriteGuard<'_, Directory> {
        self.shared
            .directory
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a mailbox to the directory and creates it (with its distinguished folders) in
    /// the store.
    pub fn add_mailbox(&self, smtp: &str, display_name: &str) {
        self.directory_mut().add_mailbox(smtp, display_name);
        self.shared.exchange.ensure_mailbox(smtp, display_name);
    }

    /// The EWS endpoint and its mailbox store (deliver messages, simulate user changes,
    /// invalidate sync states, read what a mailbox holds).
    pub fn exchange(&self) -> &Exchange {
        &self.shared.exchange
    }

    /// Switches NTLM and Basic on or off for the next requests. Connections already
    /// authenticated with NTLM stay so only while NTLM is on.
    pub fn set_auth(&self, ntlm: bool, basic: bool) {
        self.shared.switches.set(ntlm, basic);
    }

    /// Replaces the fault script.
    pub fn set_faults(&self, rules: Vec<FaultRule>) {
        self.shared.faults.set(rules);
    }

    /// Appends one rule to the fault script.
    pub fn add_fault(&self, rule: FaultRule) {
        self.shared.faults.add(rule);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Changes the concurrency budget per account (`None`: unlimited) and how requests
    /// above it are refused.
    pub fn set_throttling(&self, max_concurrency: Option<usize>, answer: ThrottleAnswer) {
        self.shared.throttle.configure(max_concurrency, answer);
    }

    /// The most EWS requests `account` had in flight at once since the last reset. Any
    /// logon form works (`CONTOSO\svc`, `svc@contoso.test`, `svc`).
    pub fn peak_concurrency(&self, account: &str) -> usize {
        self.load(account).peak_in_flight
    }

    /// The most connections carrying `account`'s requests open at once since the last reset.
    pub fn peak_connections(&self, account: &str) -> usize {
        self.load(account).peak_connections
    }

    /// The full load record of `account`.
    pub fn load(&self, account: &str) -> AccountLoad {
        let key = self
            .directory()
            .account(account)
            .map(crate::auth::account_key)
            .unwrap_or_else(|| account.to_ascii_lowercase());
        self.shared.throttle.load(&key)
    }

    /// Restarts the peak figures from the current load.
    pub fn reset_peaks(&self) {
        self.shared.throttle.reset_peaks();
    }

    /// How many authenticated EWS requests named `operation` arrived (refused and faulted
    /// ones included).
    pub fn request_count(&self, operation: &str) -> u64 {
        self.shared
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    /// HTTPS connections open now.
    pub fn open_connections(&self) -> usize {
        self.shared.open_connections.load(Ordering::SeqCst)
    }

    /// Closes every kept-alive connection (busy ones after their current response): the
    /// client must reconnect and authenticate again.
    pub fn close_connections(&self) {
        self.shared.close_connections();
    }

    /// Sets how Autodiscover answers requests whose Host header names `host`.
    pub fn set_autodiscover_behavior(&self, host: &str, behavior: AutodiscoverBehavior) {
        self.shared
            .autodiscover
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(host.to_ascii_lowercase(), behavior);
    }

    /// Every host back to serving settings.
    pub fn clear_autodiscover_behaviors(&self) {
        self.shared
            .autodiscover
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Where the plain-HTTP probe redirects to (the https Autodiscover URL by default); a
    /// test can point it at an unsafe target to check that a client refuses it.
    pub fn set_http_redirect(&self, location: &str) {
        *self
            .shared
            .http_redirect
            .write()
            .unwrap_or_else(PoisonError::into_inner) = location.to_owned();
    }

    /// Where the configuration's arrival streams stand: paused or not, messages delivered.
    pub fn arrivals(&self) -> ArrivalsStatus {
        self.shared.arrivals.status()
    }

    /// Stops the arrival streams' deliveries (a delivery already under way completes).
    pub fn pause_arrivals(&self) {
        self.shared.arrivals.pause();
    }

    /// Lets the arrival streams deliver again, each at its next period.
    pub fn resume_arrivals(&self) {
        self.shared.arrivals.resume();
    }

    /// Stops the simulator.
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.shared.close_connections();
        if let Some(runtime) = self.runtime.take() {
            // Never blocks, so a handle may be dropped inside a test's async context.
            runtime.shutdown_background();
        }
        if let Some(dir) = &self.temp_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
