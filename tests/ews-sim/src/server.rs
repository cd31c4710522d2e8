//! The HTTP side of the simulator: HTTPS with keep-alive and per-connection NTLM state, the
//! EWS and Autodiscover routes, throttling and fault injection in front of the EWS endpoint,
//! the plain-HTTP Autodiscover redirect probe, and the `/sim/` control API.
//!
//! The order on the EWS route is the one a real Exchange front end imposes: authentication
//! (IIS), then the throttling budget (EWSMaxConcurrency), then whatever can go wrong, then the
//! operation itself.

use crate::auth::{self, AuthOutcome, AuthSwitches, ConnectionAuth};
use crate::autodiscover::{self, AutodiscoverBehavior, SettingsContext};
use crate::config::ServerVersion;
use crate::directory::Directory;
use crate::ews::{self, EwsCall, EwsReply, Exchange};
use crate::faults::{self, FaultKind, Faults};
use crate::ntlm::NtlmServer;
use crate::throttle::{Admission, Throttle, ThrottleAnswer};
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HOST, LOCATION, WWW_AUTHENTICATE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tracing::{Instrument, debug, info, info_span, warn};

/// The body type of every response.
pub(crate) type SimBody = BoxBody<Bytes, std::io::Error>;

/// How long a TLS handshake may take before the connection is dropped.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// IIS's default connection timeout: an idle kept-alive connection is closed after it.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a reset-mid-response fault lets the partial body reach the client before the
/// connection is dropped.
const RESET_FLUSH_PAUSE: Duration = Duration::from_millis(50);

/// Where the simulator can be reached.
#[derive(Debug, Clone)]
pub(crate) struct Endpoints {
    pub ews_url: String,
    pub autodiscover_url: String,
    pub public_host: String,
    pub https_addr: SocketAddr,
    pub http_addr: SocketAddr,
    pub ca_path: PathBuf,
}

/// Everything the connections share.
pub(crate) struct Shared {
    pub directory: RwLock<Directory>,
    pub arrivals: crate::arrivals::Arrivals,
    pub exchange: Exchange,
    pub switches: AuthSwitches,
    pub ntlm: NtlmServer,
    pub throttle: Throttle,
    pub faults: Faults,
    pub autodiscover: RwLock<HashMap<String, AutodiscoverBehavior>>,
    pub http_redirect: RwLock<String>,
    pub counts: Mutex<HashMap<String, u64>>,
    pub endpoints: Endpoints,
    pub version: ServerVersion,
    pub max_request_bytes: usize,
    pub close_all: watch::Sender<u64>,
    pub open_connections: AtomicUsize,
}

impl Shared {
    fn read_directory(&self) -> std::sync::RwLockReadGuard<'_, Directory> {
        // The directory is plain data: a panic elsewhere cannot leave it half-updated in a
        // way that matters more than stopping the simulator would.
        self.directory
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn count(&self, operation: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        *counts.entry(operation.to_owned()).or_default() += 1;
    }

    /// Asks every open connection to close (idle ones at once, busy ones after their
    /// current response).
    pub fn close_connections(&self) {
        self.close_all.send_modify(|generation| *generation += 1);
    }
}

/// Per-connection state: the NTLM handshake and the accounts seen on it.
#[derive(Debug, Default)]
struct ConnState {
    auth: ConnectionAuth,
    accounts: HashSet<String>,
}

struct Conn {
    id: u64,
    peer: SocketAddr,
    state: Mutex<ConnState>,
}

impl Conn {
    fn state(&self) -> std::sync::MutexGuard<'_, ConnState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

/// Accepts HTTPS connections until `shutdown` changes.
pub(crate) async fn serve_https(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
) {
    accept_until_shutdown(listener, shutdown, |tcp, peer| {
        https_connection(tcp, peer, acceptor.clone(), shared.clone())
    })
    .await;
}

/// Accepts connections until `shutdown` changes, each served on its own task by `serve`.
/// A failed accept (out of file descriptors…) is logged and retried after a short pause
/// rather than ending the server.
async fn accept_until_shutdown<F>(
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
    mut serve: impl FnMut(tokio::net::TcpStream, SocketAddr) -> F,
) where
    F: Future<Output = ()> + Send + 'static,
{
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    tokio::spawn(serve(tcp, peer));
                }
                Err(e) => {
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            _ = shutdown.changed() => break,
        }
    }
}

/// Keeps the open-connection figures right however the connection task ends.
struct ConnectionGuard {
    shared: Arc<Shared>,
    conn: Arc<Conn>,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.shared.open_connections.fetch_sub(1, Ordering::SeqCst);
        for account in self.conn.state().accounts.drain() {
            self.shared.throttle.connection_closed(&account);
        }
        debug!(conn = self.conn.id, "connection closed");
    }
}

async fn https_connection(
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
) {
    // Without TCP_NODELAY the small 401 legs of an NTLM handshake wait for delayed ACKs.
    if let Err(e) = tcp.set_nodelay(true) {
        debug!(error = %e, "cannot set TCP_NODELAY");
    }
    let tls = match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            debug!(%peer, error = %e, "TLS handshake failed");
            return;
        }
        Err(_) => {
            debug!(%peer, "TLS handshake timed out");
            return;
        }
    };
    let conn = Arc::new(Conn {
        id: NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed),
        peer,
        state: Mutex::new(ConnState::default()),
    });
    shared.open_connections.fetch_add(1, Ordering::SeqCst);
    let _guard = ConnectionGuard {
        shared: shared.clone(),
        conn: conn.clone(),
    };
    let span = info_span!("conn", id = conn.id, %peer);
    async move {
        debug!("connection open");
        let service = {
            let shared = shared.clone();
            let conn = conn.clone();
            service_fn(move |req| {
                let shared = shared.clone();
                let conn = conn.clone();
                async move {
                    let response = route(&shared, &conn, req).await;
                    // A service error makes hyper drop the connection without writing
                    // anything: the one way to leave a read request unanswered.
                    if response.extensions().get::<DropConnection>().is_some() {
                        Err(DroppedOnPurpose)
                    } else {
                        Ok(response)
                    }
                }
            })
        };
        let mut close_rx = shared.close_all.subscribe();
        let connection = http1::Builder::new()
            .keep_alive(true)
            .timer(TokioTimer::new())
            .header_read_timeout(IDLE_TIMEOUT)
            .serve_connection(TokioIo::new(tls), service);
        tokio::pin!(connection);
        let mut closing = false;
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        debug!(error = %e, "connection ended with an error");
                    }
                    break;
                }
                changed = close_rx.changed(), if !closing => {
                    closing = true;
                    if changed.is_ok() {
                        debug!("closing on request");
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    }
    .instrument(span)
    .await;
}

async fn route(shared: &Shared, conn: &Conn, req: Request<Incoming>) -> Response<SimBody> {
    let method = req.method().clone();
    let path = req.uri().path().to_ascii_lowercase();
    let span = info_span!(
        "request",
        method = %method,
        path = %path,
        account = tracing::field::Empty,
        operation = tracing::field::Empty,
    );
    async move {
        let response = route_inner(shared, conn, req, &method, &path).await;
        if response.extensions().get::<DropConnection>().is_some() {
            info!("dropping the connection without an answer");
        } else {
            info!(status = response.status().as_u16(), "answered");
        }
        response
    }
    .instrument(span)
    .await
}

async fn route_inner(
    shared: &Shared,
    conn: &Conn,
    req: Request<Incoming>,
    method: &Method,
    path: &str,
) -> Response<SimBody> {
    let host = host_name(&req);
    let authorization = header_string(&req, AUTHORIZATION);
    let anchor = header_string(&req, "x-anchormailbox");
    // As sent: the control API's query values (mailbox addresses) are not lower-cased.
    let query = req.uri().query().unwrap_or_default().to_owned();
    // The body is always read, 401s included: a client that sent it expects it consumed
    // before the answer, or the connection cannot carry the next leg.
    let body = match Limited::new(req.into_body(), shared.max_request_bytes)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            let too_large = e
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            debug!(error = %e, "request body not read");
            return if too_large {
                page(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large")
            } else {
                page(StatusCode::BAD_REQUEST, "Bad Request")
            };
        }
    };

    if path.starts_with("/sim/") {
        crate::control::handle(shared, conn.peer, method, path, &query, &body)
    } else if method == Method::POST && path == "/ews/exchange.asmx" {
        ews_route(shared, conn, authorization.as_deref(), anchor, body).await
    } else if method == Method::POST && path == "/autodiscover/autodiscover.xml" {
        autodiscover_route(shared, conn, &host, authorization.as_deref(), &body)
    } else {
        page(StatusCode::NOT_FOUND, "404 - File or directory not found.")
    }
}

fn header_string(req: &Request<Incoming>, name: impl http::header::AsHeaderName) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The host name the client addressed, lower-cased, without the port.
fn host_name(req: &Request<Incoming>) -> String {
    let raw = req
        .headers()
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().host().map(str::to_owned))
        .unwrap_or_default();
    strip_port(&raw).to_ascii_lowercase()
}

fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        // [::1]:443
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    }
}

/// Why a request gets a 401.
enum Denied {
    /// An NTLM CHALLENGE to send back.
    Challenge(String),
    /// Refused: offer the enabled schemes.
    Refused,
}

impl Denied {
    fn into_response(self, shared: &Shared) -> Response<SimBody> {
        match self {
            Denied::Challenge(token) => unauthorized(vec![format!("NTLM {token}")]),
            Denied::Refused => {
                unauthorized(shared.switches.challenges(&shared.endpoints.public_host))
            }
        }
    }
}

/// Authenticates a request as an account (its lower-cased logon name).
fn authenticate(
    shared: &Shared,
    conn: &Conn,
    authorization: Option<&str>,
) -> Result<String, Denied> {
    let outcome = {
        let directory = shared.read_directory();
        let mut state = conn.state();
        auth::authenticate(
            &shared.switches,
            &shared.ntlm,
            &directory,
            &mut state.auth,
            authorization,
        )
    };
    match outcome {
        AuthOutcome::Account(account) => {
            tracing::Span::current().record("account", account.as_str());
            if conn.state().accounts.insert(account.clone()) {
                shared.throttle.connection_opened(&account);
            }
            Ok(account)
        }
        AuthOutcome::Challenge(token) => {
            debug!("NTLM challenge sent");
            Err(Denied::Challenge(token))
        }
        AuthOutcome::Refused(reason) => {
            debug!(%reason, "not authenticated");
            Err(Denied::Refused)
        }
    }
}

async fn ews_route(
    shared: &Shared,
    conn: &Conn,
    authorization: Option<&str>,
    anchor: Option<String>,
    body: Bytes,
) -> Response<SimBody> {
    let account = match authenticate(shared, conn, authorization) {
        Ok(account) => account,
        Err(denied) => return denied.into_response(shared),
    };
    let operation = ews::operation_name(&body);
    let op_label = operation.as_deref().unwrap_or("(unknown)");
    tracing::Span::current().record("operation", op_label);
    shared.count(op_label);

    let permit = shared.throttle.enter(&account);
    if let Admission::Refused { answer, limit } = permit.admission {
        info!(limit, "throttled");
        return throttled(shared, answer);
    }

    let fault = shared.faults.next(operation.as_deref());
    if let Some(kind) = &fault {
        info!(fault = ?kind, "injecting fault");
    }
    let response = match fault {
        None => ews_reply(run_exchange(shared, &account, anchor.as_deref(), &body)),
        Some(FaultKind::Delay { ms }) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            ews_reply(run_exchange(shared, &account, anchor.as_deref(), &body))
        }
        Some(FaultKind::SoapFault { code, message }) => {
            let message = message.unwrap_or_else(|| {
                "An internal server error occurred. The operation failed.".into()
            });
            soap_fault_response(shared, &code, &message, None)
        }
        Some(FaultKind::ServiceUnavailable) => service_unavailable(),
        Some(FaultKind::ServerBusy { back_off_ms }) => soap_fault_response(
            shared,
            "ErrorServerBusy",
            faults::server_busy_message(),
            Some(back_off_ms),
        ),
        Some(FaultKind::InnerServerBusy { back_off_ms }) => {
            let inner = operation.as_deref().and_then(|op| {
                faults::inner_server_busy_body(
                    op,
                    back_off_ms,
                    shared.version.server_version_info(),
                )
            });
            match inner {
                Some(body) => {
                    shared.exchange.check_response(&body);
                    xml(StatusCode::OK, body)
                }
                None => soap_fault_response(
                    shared,
                    "ErrorServerBusy",
                    faults::server_busy_message(),
                    back_off_ms,
                ),
            }
        }
        Some(FaultKind::ResetMidResponse) => {
            let reply = run_exchange(shared, &account, anchor.as_deref(), &body);
            reset_mid_response(reply)
        }
        Some(FaultKind::DropAfterRequest) => {
            let reply = run_exchange(shared, &account, anchor.as_deref(), &body);
            debug!(codes = ?reply.response_codes, "ran the operation; its answer is lost");
            drop_connection()
        }
        Some(FaultKind::TruncatedXml) => {
            let reply = run_exchange(shared, &account, anchor.as_deref(), &body);
            xml(StatusCode::OK, faults::truncated(&reply.body))
        }
        Some(FaultKind::MalformedXml) => {
            xml(StatusCode::OK, faults::malformed_body(operation.as_deref()))
        }
        Some(FaultKind::HtmlErrorPage { status }) => proxy_error_page(status),
        Some(FaultKind::Unauthorized) => {
            conn.state().auth = ConnectionAuth::None;
            unauthorized(shared.switches.challenges(&shared.endpoints.public_host))
        }
    };
    drop(permit);
    response
}

/// Runs the operation on the EWS endpoint with the directory as it is now.
fn run_exchange(shared: &Shared, account: &str, anchor: Option<&str>, body: &[u8]) -> EwsReply {
    // The endpoint is synchronous (parse, validate, run, write); let the other connections'
    // tasks move to another worker meanwhile.
    tokio::task::block_in_place(|| {
        let directory = shared.read_directory();
        match directory.account(account) {
            Some(logon) => {
                let call = EwsCall {
                    logon,
                    directory: &directory,
                    anchor_mailbox: anchor,
                };
                shared.exchange.handle(&call, body)
            }
            None => EwsReply {
                status: 500,
                body: ews::soap_fault(
                    "ErrorAccessDenied",
                    "The account does not exist any more.",
                    None,
                ),
                operation: ews::operation_name(body),
                response_codes: vec!["ErrorAccessDenied".into()],
            },
        }
    })
}

fn ews_reply(reply: EwsReply) -> Response<SimBody> {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    debug!(
        operation = reply.operation.as_deref().unwrap_or("(unknown)"),
        codes = ?reply.response_codes,
        "EWS reply"
    );
    xml(status, reply.body)
}

fn throttled(shared: &Shared, answer: ThrottleAnswer) -> Response<SimBody> {
    match answer {
        ThrottleAnswer::ExceededConnectionCount => soap_fault_response(
            shared,
            "ErrorExceededConnectionCount",
            faults::exceeded_connection_count_message(),
            None,
        ),
        ThrottleAnswer::ServerBusy { back_off_ms } => soap_fault_response(
            shared,
            "ErrorServerBusy",
            faults::server_busy_message(),
            Some(back_off_ms),
        ),
    }
}

fn soap_fault_response(
    shared: &Shared,
    code: &str,
    message: &str,
    back_off_ms: Option<u64>,
) -> Response<SimBody> {
    let body = ews::soap_fault(code, message, back_off_ms);
    shared.exchange.check_response(&body);
    xml(StatusCode::INTERNAL_SERVER_ERROR, body)
}

fn autodiscover_route(
    shared: &Shared,
    conn: &Conn,
    host: &str,
    authorization: Option<&str>,
    body: &[u8],
) -> Response<SimBody> {
    let behavior = shared
        .autodiscover
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(host)
        .cloned()
        .unwrap_or_default();
    match behavior {
        AutodiscoverBehavior::NotFound => {
            return page(StatusCode::NOT_FOUND, "404 - File or directory not found.");
        }
        AutodiscoverBehavior::Unauthorized => {
            conn.state().auth = ConnectionAuth::None;
            return unauthorized(shared.switches.challenges(&shared.endpoints.public_host));
        }
        _ => {}
    }
    if let Err(denied) = authenticate(shared, conn, authorization) {
        return denied.into_response(shared);
    }
    let answer = match &behavior {
        AutodiscoverBehavior::Error600 => autodiscover::error_response(600, "Invalid Request"),
        AutodiscoverBehavior::RedirectAddr(_) | AutodiscoverBehavior::RedirectUrl(_) => {
            autodiscover::redirect_response(&behavior)
                .unwrap_or_else(|| autodiscover::error_response(600, "Invalid Request"))
        }
        _ => match autodiscover::requested_address(body) {
            None => autodiscover::error_response(600, "Invalid Request"),
            Some(address) => {
                let directory = shared.read_directory();
                match directory.mailbox(&address) {
                    Some(mailbox) => autodiscover::settings_response(&SettingsContext {
                        smtp: &mailbox.smtp,
                        display_name: &mailbox.display_name,
                        ews_url: &shared.endpoints.ews_url,
                        public_host: &shared.endpoints.public_host,
                        version: shared.version,
                        auth_package: if shared.switches.ntlm() {
                            "Ntlm"
                        } else {
                            "Basic"
                        },
                        organisation: &directory.netbios_domain,
                    }),
                    None => {
                        autodiscover::error_response(500, "The e-mail address cannot be found.")
                    }
                }
            }
        },
    };
    xml(StatusCode::OK, answer)
}

/// Accepts plain-HTTP connections for the Autodiscover redirect probe until `shutdown`.
pub(crate) async fn serve_http(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
) {
    accept_until_shutdown(listener, shutdown, |tcp, peer| {
        probe_connection(tcp, peer, shared.clone())
    })
    .await;
}

/// Serves one plain-HTTP connection: only the redirect probe is answered.
async fn probe_connection(tcp: tokio::net::TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    if let Err(e) = tcp.set_nodelay(true) {
        debug!(error = %e, "cannot set TCP_NODELAY");
    }
    let service = service_fn(move |req: Request<Incoming>| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(redirect_probe(&shared, req).await) }
    });
    let result = http1::Builder::new()
        .keep_alive(true)
        .timer(TokioTimer::new())
        .header_read_timeout(IDLE_TIMEOUT)
        .serve_connection(TokioIo::new(tcp), service)
        .await;
    if let Err(e) = result {
        debug!(%peer, error = %e, "probe connection ended with an error");
    }
}

/// The Autodiscover "HTTP redirect method": an unauthenticated GET answered with a 302 to
/// the https Autodiscover URL.
async fn redirect_probe(shared: &Shared, req: Request<Incoming>) -> Response<SimBody> {
    let is_probe = req.method() == Method::GET
        && req
            .uri()
            .path()
            .eq_ignore_ascii_case("/autodiscover/autodiscover.xml");
    // Drain whatever was sent so the connection stays usable.
    let _ = Limited::new(req.into_body(), 1 << 20).collect().await;
    let response = if is_probe {
        let target = shared
            .http_redirect
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut response = html(StatusCode::FOUND, "Object moved".into());
        if let Ok(value) = HeaderValue::from_str(&target) {
            response.headers_mut().insert(LOCATION, value);
        }
        response
    } else {
        page(StatusCode::NOT_FOUND, "404 - File or directory not found.")
    };
    info!(
        probe = is_probe,
        status = response.status().as_u16(),
        "http request"
    );
    response
}

// --- response builders ---------------------------------------------------------------------

fn full(body: impl Into<Bytes>) -> SimBody {
    Full::new(body.into())
        .map_err(|never: Infallible| match never {})
        .boxed()
}

/// A response with an explicit Content-Length (clients of 401s depend on it to keep the
/// connection) and IIS's identifying headers.
pub(crate) fn response(status: StatusCode, content_type: &str, body: Bytes) -> Response<SimBody> {
    let len = body.len();
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        headers.insert(CONTENT_TYPE, v);
    }
    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    headers.insert("server", HeaderValue::from_static("Microsoft-IIS/10.0"));
    headers.insert("x-powered-by", HeaderValue::from_static("ASP.NET"));
    response
}

fn xml(status: StatusCode, body: String) -> Response<SimBody> {
    response(status, "text/xml; charset=utf-8", Bytes::from(body))
}

fn html(status: StatusCode, body: String) -> Response<SimBody> {
    response(status, "text/html", Bytes::from(body))
}

/// An IIS-style error page.
fn page(status: StatusCode, title: &str) -> Response<SimBody> {
    html(
        status,
        format!(
            "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\r\n\
             <html xmlns=\"http://www.w3.org/1999/xhtml\"><head><title>{title}</title></head>\r\n\
             <body><div id=\"header\"><h1>Server Error</h1></div><div id=\"content\"><h2>{title}</h2></div></body></html>\r\n"
        ),
    )
}

fn unauthorized(challenges: Vec<String>) -> Response<SimBody> {
    let mut response = page(
        StatusCode::UNAUTHORIZED,
        "401 - Unauthorized: Access is denied due to invalid credentials.",
    );
    for challenge in challenges {
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            response.headers_mut().append(WWW_AUTHENTICATE, v);
        }
    }
    response
}

/// HTTP.sys's answer when the application pool queue is full.
fn service_unavailable() -> Response<SimBody> {
    html(
        StatusCode::SERVICE_UNAVAILABLE,
        "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\"\"http://www.w3.org/TR/html4/strict.dtd\">\r\n\
         <HTML><HEAD><TITLE>Service Unavailable</TITLE>\r\n\
         <META HTTP-EQUIV=\"Content-Type\" Content=\"text/html; charset=us-ascii\"></HEAD>\r\n\
         <BODY><h2>Service Unavailable</h2>\r\n<hr><p>HTTP Error 503. The service is unavailable.</p>\r\n\
         </BODY></HTML>\r\n"
            .into(),
    )
}

/// A reverse proxy's error page (nginx's wording).
fn proxy_error_page(status: u16) -> Response<SimBody> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    html(
        status,
        format!(
            "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n\
             <hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        ),
    )
}

/// Marks a response that must not be sent: the connection is dropped instead.
#[derive(Debug, Clone, Copy)]
struct DropConnection;

/// The service error that makes hyper drop a connection for [`DropConnection`].
#[derive(Debug)]
struct DroppedOnPurpose;

impl std::fmt::Display for DroppedOnPurpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("simulated connection drop before the answer")
    }
}

impl std::error::Error for DroppedOnPurpose {}

/// A placeholder response that is never sent: its [`DropConnection`] mark makes the
/// connection's service fail, and hyper closes the connection without a byte of answer.
fn drop_connection() -> Response<SimBody> {
    let mut response = Response::new(full(Bytes::new()));
    response.extensions_mut().insert(DropConnection);
    response
}

/// The real answer's status and headers (Content-Length of the whole body), the first half
/// of the body, then an error that makes hyper drop the connection.
fn reset_mid_response(reply: EwsReply) -> Response<SimBody> {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    let full_len = reply.body.len();
    let first = Bytes::from(faults::truncated(&reply.body));
    let mut response = Response::new(
        ResetBody {
            first: Some(first),
            pause: Box::pin(tokio::time::sleep(RESET_FLUSH_PAUSE)),
        }
        .boxed(),
    );
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    headers.insert(CONTENT_LENGTH, HeaderValue::from(full_len));
    headers.insert("server", HeaderValue::from_static("Microsoft-IIS/10.0"));
    response
}

struct ResetBody {
    first: Option<Bytes>,
    pause: Pin<Box<tokio::time::Sleep>>,
}

impl Body for ResetBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        // Pending here lets hyper flush the partial body before the error closes the socket.
        match self.pause.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "simulated connection reset mid-response",
            )))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_is_stripped_from_host_names() {
        assert_eq!(
            strip_port("autodiscover.contoso.test:8443"),
            "autodiscover.contoso.test"
        );
        assert_eq!(strip_port("contoso.test"), "contoso.test");
        assert_eq!(strip_port("[::1]:443"), "::1");
    }

    #[test]
    fn every_response_has_a_content_length() {
        let r = unauthorized(vec!["NTLM".into()]);
        let len: usize = r.headers()[CONTENT_LENGTH]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(len > 0);
        assert_eq!(r.headers()[WWW_AUTHENTICATE], "NTLM");
    }

    #[test]
    fn proxy_error_page_uses_the_requested_status() {
        assert_eq!(proxy_error_page(504).status(), StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(proxy_error_page(42).status(), StatusCode::BAD_GATEWAY);
    }
}
