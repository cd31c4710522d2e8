//! HTTPS transport for EWS and Autodiscover: TLS (rustls, optional custom CA), Basic and
//! NTLM over a pool of HTTP/1.1 connections exsync owns.
//!
//! NTLM authenticates a TCP connection, not a request ([MS-NTHT]), so the three legs of a
//! handshake must travel on one socket; reqwest's pool cannot promise that. The transport
//! therefore owns its connections (hyper's `client::conn::http1` over tokio-rustls), one
//! handshake per connection, and later requests on that connection carry no
//! `Authorization` at all. Basic runs on the same connections with the header on every
//! request: one code path gives both schemes the same connection cap, connect overrides,
//! timeouts and size limit. (reqwest's `resolve` cannot send a URL with an explicit port to
//! a different port — its docs say the URL's port always wins — and its connector layer does
//! not expose the destination, so it could not honour [`ConnectOverrides`].)
//!
//! Limits: at most `max_connections` requests in flight per transport (a request waits for
//! a free slot); a per-request timeout; a caller-given deadline that also bounds the wait
//! for a slot; a response-size cap enforced while reading.
//!
//! Retries happen in two cases only: a pooled connection turned out to be closed before the
//! request was written, and a 401 on an already-authenticated NTLM connection (the server
//! dropped the authentication). Each request is retried at most once, on a fresh connection.

mod connect;
mod credentials;
mod error;
mod ntlm;
mod tls;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt as _, Full};
use tokio::sync::Semaphore;
use tokio::time::Instant;

pub use connect::ConnectOverrides;
pub use credentials::{AuthScheme, Credentials, Secret};
pub use error::{BoxError, TlsFailure, TransportError, UnauthorizedReason};
pub use tls::client_config;

use connect::{Liveness, Sender};
use ntlm::{HttpNtlmScheme, NtlmHandshake};

/// Default per-request timeout: EWS's own request limit is in this range, and a batch that
/// takes longer is better split.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(100);
/// Default cap on concurrent connections (and so on requests in flight): Exchange 2010's
/// default `EWSMaxConcurrency` is 10.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10;
/// Default cap on a response body: the 64 MiB Exchange 2013+ accepts for a request.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Idle pooled connections older than this are dropped instead of reused. IIS closes idle
/// keep-alive connections after 120 s by default (`connectionTimeout`); reusing one just
/// before that would race the server's close.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// The Autodiscover redirect probe only needs the status and `Location`.
const PROBE_MAX_BODY: usize = 64 * 1024;

/// How to reach and authenticate to the server.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// The service account.
    pub credentials: Credentials,
    /// Extra trusted CA certificates (PEM, possibly several), for on-premises PKI.
    pub ca_pem: Option<Vec<u8>>,
    /// Longest time one request may take once it has a connection slot.
    pub request_timeout: Duration,
    /// Most connections open at once, and so most requests in flight (the profile's
    /// "maximum concurrent connections").
    pub max_connections: usize,
    /// Largest response body accepted, in bytes.
    pub max_response_bytes: usize,
    /// Where to connect for particular (host, port) pairs instead of asking DNS.
    pub connect_overrides: ConnectOverrides,
}

impl TransportConfig {
    /// A configuration with the defaults for everything but the credentials.
    pub fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            ca_pem: None,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            connect_overrides: ConnectOverrides::new(),
        }
    }
}

/// A complete HTTP response: status, headers and the whole (bounded) body.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status code.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body, read to the end.
    pub body: Bytes,
}

impl HttpResponse {
    /// `Retry-After` as a duration (delta-seconds or an HTTP date), when present.
    pub fn retry_after(&self) -> Option<Duration> {
        retry_after(&self.headers)
    }

    /// The `Location` header, when present and readable.
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }
}

/// The HTTPS transport: a bounded pool of HTTP/1.1 connections authenticated with one
/// service account. Cheap to clone; clones share the pool and its connection cap.
#[derive(Clone)]
pub struct HttpTransport {
    inner: Arc<Inner>,
}

struct Inner {
    credentials: Credentials,
    tls: Arc<rustls::ClientConfig>,
    overrides: ConnectOverrides,
    request_timeout: Duration,
    max_connections: usize,
    max_response_bytes: usize,
    permits: Semaphore,
    idle: Mutex<HashMap<Origin, Vec<IdleConn>>>,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTransport")
            .field("scheme", &self.inner.credentials.scheme)
            .field("user", &self.inner.credentials.user)
            .field("max_connections", &self.inner.max_connections)
            .field("request_timeout", &self.inner.request_timeout)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Origin {
    host: String,
    port: u16,
}

struct IdleConn {
    sender: Sender,
    liveness: Option<Liveness>,
    authenticated: bool,
    since: Instant,
}

/// A connection checked out of the pool (or just opened) for one request.
struct Conn {
    sender: Sender,
    /// Asks the socket itself whether the server closed it (pooled HTTPS connections).
    liveness: Option<Liveness>,
    /// Came from the pool: a failure before the request was written may be retried.
    reused: bool,
    /// The NTLM handshake completed on this connection.
    authenticated: bool,
    /// The server did not ask to close the connection after the last response.
    keep_alive: bool,
}

/// Where a request goes, derived once from its URI.
struct Target {
    origin: Origin,
    /// Host as written in the URL (IPv6 literals with brackets), for messages.
    display_host: String,
    host_header: HeaderValue,
    path: Uri,
}

/// A request ready to be (re)built for each leg of an exchange.
struct Prepared {
    method: Method,
    path: Uri,
    headers: HeaderMap,
    body: Bytes,
    /// The caller marked the request [`Replayable`].
    replayable: bool,
}

/// A response read to the end.
struct Exchange {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

/// How one attempt on one connection failed.
enum Failure {
    /// Worth one more attempt on a fresh connection.
    Retry(TransportError),
    /// Final.
    Fatal(TransportError),
}

/// A round trip failed; `sent` says whether the request may have reached the server,
/// `answered` whether the server had begun its response.
struct RoundTripError {
    sent: bool,
    answered: bool,
    error: TransportError,
}

/// Marks a request as safe to send again (a read: GetFolder, SyncFolderItems, GetItem…).
///
/// Put it in the request's extensions. When a pooled connection turns out to have been
/// closed by the server after the request was written but before any answer came (an idle
/// connection the server dropped while a Lambda was frozen), such a request is sent once
/// more on a fresh connection. Requests that change a mailbox (CreateItem, SendItem…) are
/// never replayed: the caller decides, with its own duplicate check.
#[derive(Debug, Clone, Copy, Default)]
pub struct Replayable;

impl HttpTransport {
    /// Validates the configuration and builds the TLS configuration; opens no connection.
    pub fn new(config: TransportConfig) -> Result<Self, TransportError> {
        config.credentials.validate()?;
        if config.max_connections == 0 {
            return Err(TransportError::InvalidConfig {
                reason: "max_connections must be at least 1".into(),
            });
        }
        if config.request_timeout.is_zero() {
            return Err(TransportError::InvalidConfig {
                reason: "request_timeout must be positive".into(),
            });
        }
        let tls = client_config(config.ca_pem.as_deref())?;
        Ok(Self {
            inner: Arc::new(Inner {
                credentials: config.credentials,
                tls,
                overrides: config.connect_overrides,
                request_timeout: config.request_timeout,
                max_connections: config.max_connections,
                max_response_bytes: config.max_response_bytes,
                permits: Semaphore::new(config.max_connections),
                idle: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The authentication scheme this transport uses.
    pub fn scheme(&self) -> AuthScheme {
        self.inner.credentials.scheme
    }

    /// The largest response body this transport accepts.
    pub fn max_response_bytes(&self) -> usize {
        self.inner.max_response_bytes
    }

    /// Sends an authenticated request to an `https://` URL and reads the whole response.
    ///
    /// The request's URI must be absolute. `Host`, `Authorization` and `Content-Length` are
    /// set here; other headers are sent as given. Every status comes back as a response
    /// except 401, which becomes [`TransportError::Unauthorized`] once authentication has
    /// really failed.
    pub async fn send(
        &self,
        request: Request<Bytes>,
        deadline: std::time::Instant,
    ) -> Result<HttpResponse, TransportError> {
        let (parts, body) = request.into_parts();
        let target = Target::from_uri(&parts.uri, "https", 443)?;
        let replayable = parts.extensions.get::<Replayable>().is_some();
        let mut prepared = Prepared::new(parts.method, &target, parts.headers, body);
        prepared.replayable = replayable;
        self.limited(deadline, self.exchange(&target, &prepared))
            .await
    }

    /// The unauthenticated plain-HTTP GET of the Autodiscover redirect method: no
    /// credentials, no pooling, only the status and headers matter.
    pub(crate) async fn get_plain_http(
        &self,
        uri: &Uri,
        deadline: std::time::Instant,
    ) -> Result<HttpResponse, TransportError> {
        let target = Target::from_uri(uri, "http", 80)?;
        let prepared = Prepared::new(Method::GET, &target, HeaderMap::new(), Bytes::new());
        self.limited(deadline, async {
            let sender = connect::connect_plain_http(
                &target.origin.host,
                target.origin.port,
                &self.inner.overrides,
            )
            .await?;
            let mut conn = Conn::fresh(sender, None);
            let limit = self.inner.max_response_bytes.min(PROBE_MAX_BODY);
            let ex = round_trip(&mut conn, prepared.build(None, false), &target, limit)
                .await
                .map_err(|e| e.error)?;
            Ok(ex.into_response())
        })
        .await
    }

    /// Runs `work` under a connection slot, the per-request timeout and the deadline.
    async fn limited<T>(
        &self,
        deadline: std::time::Instant,
        work: impl Future<Output = Result<T, TransportError>>,
    ) -> Result<T, TransportError> {
        let deadline = Instant::from_std(deadline);
        if Instant::now() >= deadline {
            return Err(TransportError::DeadlineExceeded);
        }
        let _permit = match tokio::time::timeout_at(deadline, self.inner.permits.acquire()).await {
            Err(_) => return Err(TransportError::DeadlineExceeded),
            Ok(Err(_closed)) => {
                // The semaphore is never closed; answer something sensible anyway.
                return Err(TransportError::InvalidConfig {
                    reason: "connection pool closed".into(),
                });
            }
            Ok(Ok(permit)) => permit,
        };
        let timeout_end = Instant::now() + self.inner.request_timeout;
        let end = deadline.min(timeout_end);
        match tokio::time::timeout_at(end, work).await {
            Ok(result) => result,
            Err(_) if deadline <= timeout_end => Err(TransportError::DeadlineExceeded),
            Err(_) => Err(TransportError::Timeout {
                timeout: self.inner.request_timeout,
            }),
        }
    }

    async fn exchange(
        &self,
        target: &Target,
        prepared: &Prepared,
    ) -> Result<HttpResponse, TransportError> {
        let mut retried = false;
        loop {
            let pooled = if retried {
                None
            } else {
                self.checkout(&target.origin)
            };
            let mut conn = match pooled {
                Some(conn) => conn,
                None => {
                    self.make_room();
                    let (sender, liveness) = connect::connect_https(
                        &target.origin.host,
                        target.origin.port,
                        &self.inner.overrides,
                        &self.inner.tls,
                    )
                    .await?;
                    tracing::debug!(host = %target.display_host, "connection opened");
                    Conn::fresh(sender, Some(liveness))
                }
            };
            let result = match self.inner.credentials.scheme {
                AuthScheme::Basic => self.send_basic(&mut conn, target, prepared).await,
                AuthScheme::Ntlm => self.send_ntlm(&mut conn, target, prepared).await,
            };
            match result {
                Ok(ex) => {
                    self.checkin(&target.origin, conn);
                    return Ok(ex.into_response());
                }
                Err(Failure::Retry(error)) if !retried => {
                    tracing::debug!(
                        host = %target.display_host,
                        %error,
                        "retrying once on a fresh connection"
                    );
                    retried = true;
                }
                Err(Failure::Retry(error) | Failure::Fatal(error)) => return Err(error),
            }
        }
    }

    async fn send_basic(
        &self,
        conn: &mut Conn,
        target: &Target,
        prepared: &Prepared,
    ) -> Result<Exchange, Failure> {
        let creds = &self.inner.credentials;
        let token = BASE64.encode(format!("{}:{}", creds.user, creds.password.expose()));
        let mut auth = HeaderValue::from_str(&format!("Basic {token}")).map_err(|_| {
            Failure::Fatal(TransportError::InvalidConfig {
                reason: "credentials cannot be sent in an HTTP header".into(),
            })
        })?;
        auth.set_sensitive(true);
        let ex = self
            .round_trip_once(
                conn,
                prepared.build(Some(auth), true),
                prepared.replayable,
                target,
            )
            .await?;
        if ex.status == StatusCode::UNAUTHORIZED {
            let offered = ntlm::offered_schemes(&ex.headers);
            let reason =
                if offered.is_empty() || offered.iter().any(|s| s.eq_ignore_ascii_case("Basic")) {
                    UnauthorizedReason::CredentialsRejected
                } else {
                    UnauthorizedReason::SchemeNotOffered { offered }
                };
            return Err(Failure::Fatal(self.unauthorized(target, reason)));
        }
        Ok(ex)
    }

    async fn send_ntlm(
        &self,
        conn: &mut Conn,
        target: &Target,
        prepared: &Prepared,
    ) -> Result<Exchange, Failure> {
        if conn.authenticated {
            let ex = self
                .round_trip_once(
                    conn,
                    prepared.build(None, true),
                    prepared.replayable,
                    target,
                )
                .await?;
            if ex.status == StatusCode::UNAUTHORIZED {
                // The server forgot this connection's authentication (recycled app pool,
                // load balancer switched backends…): one fresh handshake, then give up.
                conn.keep_alive = false;
                return Err(Failure::Retry(
                    self.unauthorized(target, UnauthorizedReason::SessionRejected),
                ));
            }
            return Ok(ex);
        }

        // Leg 1: the request as is; the server names the schemes it accepts.
        let first = self
            .round_trip_once(
                conn,
                prepared.build(None, true),
                prepared.replayable,
                target,
            )
            .await?;
        if first.status != StatusCode::UNAUTHORIZED {
            // No authentication needed here (or an error before it); nothing to remember.
            return Ok(first);
        }
        let Some(scheme) = ntlm::pick_scheme(&first.headers) else {
            let offered = ntlm::offered_schemes(&first.headers);
            return Err(Failure::Fatal(self.unauthorized(
                target,
                UnauthorizedReason::SchemeNotOffered { offered },
            )));
        };
        self.require_open(conn, target)?;

        // Leg 2: Type 1 with an empty body; the answer carries the Type 2 challenge.
        let creds = &self.inner.credentials;
        let ntlm_error = |source: BoxError| {
            Failure::Fatal(TransportError::Ntlm {
                host: target.display_host.clone(),
                source,
            })
        };
        let mut handshake = NtlmHandshake::new(&creds.user, &creds.password).map_err(ntlm_error)?;
        let type1 = handshake.negotiate().map_err(ntlm_error)?;
        let second = self
            .handshake_leg(
                conn,
                prepared.build(Some(ntlm_header(scheme, &type1)), false),
                target,
            )
            .await?;
        let challenge = (second.status == StatusCode::UNAUTHORIZED)
            .then(|| ntlm::challenge(&second.headers, scheme))
            .flatten()
            .ok_or_else(|| {
                Failure::Fatal(self.unauthorized(target, UnauthorizedReason::NoChallenge))
            })?;
        self.require_open(conn, target)?;

        // Leg 3: Type 3 with the real body.
        let type3 = handshake.authenticate(&challenge).map_err(ntlm_error)?;
        let third = self
            .handshake_leg(
                conn,
                prepared.build(Some(ntlm_header(scheme, &type3)), true),
                target,
            )
            .await?;
        if third.status == StatusCode::UNAUTHORIZED {
            return Err(Failure::Fatal(
                self.unauthorized(target, UnauthorizedReason::CredentialsRejected),
            ));
        }
        conn.authenticated = true;
        tracing::debug!(host = %target.display_host, "NTLM handshake completed");
        Ok(third)
    }

    /// One round trip. On a pooled connection, a failure before the request was written is
    /// worth a retry; so is a [`Replayable`] request that got no answer at all (the server
    /// had closed the idle connection). Anything else is final.
    /// Sends NTLM leg 2 or 3 on the connection leg 1 used. A failure is final: the
    /// connection was new a moment ago, so there is no point in retrying.
    async fn handshake_leg(
        &self,
        conn: &mut Conn,
        request: Request<Full<Bytes>>,
        target: &Target,
    ) -> Result<Exchange, Failure> {
        self.round_trip_once(conn, request, false, target)
            .await
            .map_err(|f| match f {
                Failure::Retry(e) => Failure::Fatal(e),
                fatal => fatal,
            })
    }

    async fn round_trip_once(
        &self,
        conn: &mut Conn,
        request: Request<Full<Bytes>>,
        replayable: bool,
        target: &Target,
    ) -> Result<Exchange, Failure> {
        let reused = conn.reused;
        let result = round_trip(conn, request, target, self.inner.max_response_bytes).await;
        // Only the first request on a connection can find it stale.
        conn.reused = false;
        result.map_err(|e| {
            if reused && (!e.sent || (replayable && !e.answered)) {
                Failure::Retry(e.error)
            } else {
                Failure::Fatal(e.error)
            }
        })
    }

    /// NTLM needs the next leg on the same connection; a server that closes it after a 401
    /// has keep-alive disabled, and NTLM cannot work there.
    fn require_open(&self, conn: &Conn, target: &Target) -> Result<(), Failure> {
        if conn.keep_alive && !conn.sender.is_closed() {
            Ok(())
        } else {
            Err(Failure::Fatal(TransportError::ConnectionLost {
                host: target.display_host.clone(),
                source: "server closed the connection during the NTLM handshake \
                         (keep-alive disabled?)"
                    .into(),
            }))
        }
    }

    fn unauthorized(&self, target: &Target, reason: UnauthorizedReason) -> TransportError {
        TransportError::Unauthorized {
            host: target.display_host.clone(),
            scheme: self.inner.credentials.scheme,
            reason,
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, HashMap<Origin, Vec<IdleConn>>> {
        // The lock is never held across an await or a panic-prone call; if it were
        // poisoned anyway, the map is still consistent (plain pushes and pops).
        self.inner
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The most recently used live connection to `origin`, if any.
    ///
    /// Live means the connection's task has not seen it close and the socket itself has no
    /// close from the server waiting ([`Liveness`]): the task may not have run since the
    /// server closed it, and a write sent on such a connection could not be retried.
    /// Every dead or expired idle connection is dropped on the way ([`prune`]).
    fn checkout(&self, origin: &Origin) -> Option<Conn> {
        let mut idle = self.idle();
        prune(&mut idle);
        let list = idle.get_mut(origin)?;
        let c = list.pop()?;
        if list.is_empty() {
            idle.remove(origin);
        }
        Some(Conn {
            sender: c.sender,
            liveness: c.liveness,
            reused: true,
            authenticated: c.authenticated,
            keep_alive: true,
        })
    }

    /// Returns a connection to the pool after a complete exchange, unless it cannot carry
    /// another request. Dead or expired idle connections are dropped first ([`prune`]).
    fn checkin(&self, origin: &Origin, conn: Conn) {
        let mut idle = self.idle();
        prune(&mut idle);
        if !conn.keep_alive || conn.sender.is_closed() {
            return;
        }
        idle.entry(origin.clone()).or_default().push(IdleConn {
            sender: conn.sender,
            liveness: conn.liveness,
            authenticated: conn.authenticated,
            since: Instant::now(),
        });
    }

    /// Before opening a connection: closes idle ones (oldest first, any origin) so that
    /// open connections never exceed `max_connections`. Every busy connection holds a
    /// permit, so busy + idle stays within the cap.
    fn make_room(&self) {
        let busy = self.inner.max_connections - self.inner.permits.available_permits();
        let mut idle = self.idle();
        let mut open = idle.values().map(Vec::len).sum::<usize>() + busy;
        while open > self.inner.max_connections {
            let oldest = idle
                .iter()
                .flat_map(|(origin, list)| {
                    list.iter()
                        .enumerate()
                        .map(move |(i, c)| (c.since, origin.clone(), i))
                })
                .min_by_key(|(since, _, _)| *since);
            let Some((_, origin, index)) = oldest else {
                break;
            };
            if let Some(list) = idle.get_mut(&origin)
                && index < list.len()
            {
                list.remove(index);
            }
            open -= 1;
        }
        idle.retain(|_, list| !list.is_empty());
    }
}

/// Drops every idle connection, of any origin, that the server has closed (as far as its
/// task or its socket knows) or that has been idle for [`POOL_IDLE_TIMEOUT`].
///
/// Skipping them is not enough: each pooled entry holds a duplicate of its socket's
/// descriptor ([`Liveness`]), so a connection the server closed would sit in CLOSE_WAIT,
/// our FIN unsent, until `make_room` happened to evict it (in a warm Lambda, possibly
/// never). Costs one non-blocking peek per idle connection, at most `max_connections`.
fn prune(idle: &mut HashMap<Origin, Vec<IdleConn>>) {
    for list in idle.values_mut() {
        list.retain(IdleConn::usable);
    }
    idle.retain(|_, list| !list.is_empty());
}

impl IdleConn {
    /// Open as far as its task and its socket know, and not idle too long to reuse.
    fn usable(&self) -> bool {
        self.since.elapsed() < POOL_IDLE_TIMEOUT
            && !self.sender.is_closed()
            && !self
                .liveness
                .as_ref()
                .is_some_and(Liveness::closed_by_server)
    }
}

impl Conn {
    /// A connection just opened; `liveness` is its socket probe, when it will be pooled.
    fn fresh(sender: Sender, liveness: Option<Liveness>) -> Self {
        Self {
            sender,
            liveness,
            reused: false,
            authenticated: false,
            keep_alive: true,
        }
    }
}

impl Target {
    fn from_uri(uri: &Uri, scheme: &str, default_port: u16) -> Result<Self, TransportError> {
        let url = uri.to_string();
        let invalid = |reason| TransportError::InvalidUrl {
            url: url.clone(),
            reason,
        };
        match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case(scheme) => {}
            Some(s) if scheme == "https" && s.eq_ignore_ascii_case("http") => {
                return Err(TransportError::InsecureUrl { url });
            }
            Some(_) => return Err(invalid("unsupported scheme")),
            None => return Err(invalid("not an absolute URL")),
        }
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            return Err(invalid("credentials in URLs are not supported"));
        }
        let display_host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| invalid("no host"))?
            .to_owned();
        let host = display_host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(default_port);
        let host_header = if port == default_port {
            display_host.clone()
        } else {
            format!("{display_host}:{port}")
        };
        let host_header = HeaderValue::from_str(&host_header)
            .map_err(|_| invalid("host is not a valid header"))?;
        let path = uri
            .path_and_query()
            .map(|p| p.as_str())
            .filter(|p| !p.is_empty())
            .unwrap_or("/");
        let path = Uri::try_from(path).map_err(|_| invalid("invalid path"))?;
        Ok(Self {
            origin: Origin { host, port },
            display_host,
            host_header,
            path,
        })
    }
}

impl Prepared {
    fn new(method: Method, target: &Target, mut headers: HeaderMap, body: Bytes) -> Self {
        // These are the transport's to set.
        headers.remove(header::AUTHORIZATION);
        headers.remove(header::CONTENT_LENGTH);
        headers.remove(header::TRANSFER_ENCODING);
        headers.remove(header::CONNECTION);
        headers.insert(header::HOST, target.host_header.clone());
        Self {
            method,
            path: target.path.clone(),
            headers,
            body,
            replayable: false,
        }
    }

    /// The request for one leg: with or without the body (NTLM's Type 1 leg sends none).
    fn build(&self, authorization: Option<HeaderValue>, with_body: bool) -> Request<Full<Bytes>> {
        let body = if with_body {
            self.body.clone()
        } else {
            Bytes::new()
        };
        let mut request = Request::new(Full::new(body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.path.clone();
        *request.headers_mut() = self.headers.clone();
        let has_body = !body.is_empty() || !matches!(self.method, Method::GET | Method::HEAD);
        if has_body {
            request
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        if let Some(auth) = authorization {
            request.headers_mut().insert(header::AUTHORIZATION, auth);
        }
        request
    }
}

impl Exchange {
    fn into_response(self) -> HttpResponse {
        HttpResponse {
            status: self.status,
            headers: self.headers,
            body: self.body,
        }
    }
}

fn ntlm_header(scheme: HttpNtlmScheme, message: &[u8]) -> HeaderValue {
    // Base64 is always a valid header value.
    let mut value = HeaderValue::from_str(&scheme.authorization(message))
        .unwrap_or_else(|_| HeaderValue::from_static(""));
    value.set_sensitive(true);
    value
}

/// Sends one request on `conn` and reads the whole response, bounded by `limit`.
async fn round_trip(
    conn: &mut Conn,
    request: Request<Full<Bytes>>,
    target: &Target,
    limit: usize,
) -> Result<Exchange, RoundTripError> {
    let host = &target.display_host;
    if let Err(e) = conn.sender.ready().await {
        conn.keep_alive = false;
        return Err(RoundTripError {
            sent: false,
            answered: false,
            error: hyper_error(host, e),
        });
    }
    let response = match conn.sender.try_send_request(request).await {
        Ok(response) => response,
        Err(mut e) => {
            conn.keep_alive = false;
            let sent = e.take_message().is_none();
            return Err(RoundTripError {
                sent,
                answered: false,
                error: hyper_error(host, e.into_error()),
            });
        }
    };
    let (parts, body) = response.into_parts();
    if wants_close(&parts.headers) {
        conn.keep_alive = false;
    }
    let body = read_body(body, &parts.headers, limit, host)
        .await
        .map_err(|error| {
            // The rest of the body is still on the wire: the connection is unusable.
            conn.keep_alive = false;
            RoundTripError {
                sent: true,
                answered: true,
                error,
            }
        })?;
    Ok(Exchange {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

/// Reads a body frame by frame and stops as soon as it would exceed `limit`.
async fn read_body(
    mut body: hyper::body::Incoming,
    headers: &HeaderMap,
    limit: usize,
    host: &str,
) -> Result<Bytes, TransportError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(TransportError::ResponseTooLarge { limit });
    }
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| hyper_error(host, e))?;
        if let Ok(data) = frame.into_data() {
            if data.len() > limit.saturating_sub(buf.len()) {
                return Err(TransportError::ResponseTooLarge { limit });
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}

fn hyper_error(host: &str, error: hyper::Error) -> TransportError {
    if error.is_parse() || error.is_parse_status() || error.is_parse_too_large() {
        TransportError::Protocol {
            host: host.to_owned(),
            source: Box::new(error),
        }
    } else {
        TransportError::ConnectionLost {
            host: host.to_owned(),
            source: Box::new(error),
        }
    }
}

fn wants_close(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("close"))
}

/// `Retry-After`: delta-seconds, or an HTTP date (RFC 9110 §10.2.3).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let wait = when - time::OffsetDateTime::now_utc();
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retry(value: &str) -> Option<Duration> {
        let mut h = HeaderMap::new();
        h.insert(header::RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        retry_after(&h)
    }

    #[test]
    fn retry_after_in_seconds() {
        assert_eq!(retry("120"), Some(Duration::from_secs(120)));
    }

    #[test]
    fn retry_after_as_a_past_http_date_means_now() {
        assert_eq!(retry("Sun, 06 Nov 1994 08:49:37 GMT"), Some(Duration::ZERO));
        assert_eq!(retry("soon"), None);
    }

    #[test]
    fn http_url_is_refused_as_insecure() {
        let uri: Uri = "http://mail.contoso.com/EWS/Exchange.asmx".parse().unwrap();
        assert!(matches!(
            Target::from_uri(&uri, "https", 443),
            Err(TransportError::InsecureUrl { .. })
        ));
    }

    #[test]
    fn target_keeps_a_non_default_port_in_the_host_header() {
        let uri: Uri = "https://Mail.Contoso.com:8443/EWS/Exchange.asmx?x=1"
            .parse()
            .unwrap();
        let t = Target::from_uri(&uri, "https", 443).unwrap();
        assert_eq!(t.origin.host, "mail.contoso.com");
        assert_eq!(t.origin.port, 8443);
        assert_eq!(t.host_header, "Mail.Contoso.com:8443");
        assert_eq!(t.path, "/EWS/Exchange.asmx?x=1");
        let t = Target::from_uri(&"https://[::1]/x".parse().unwrap(), "https", 443).unwrap();
        assert_eq!(t.origin.host, "::1");
        assert_eq!(t.host_header, "[::1]");
    }

    /// A pooled connection to a local listener, and the listener's end of it.
    async fn pooled_conn(
        listener: &std::net::TcpListener,
        since: Instant,
    ) -> (IdleConn, std::net::TcpStream) {
        let tcp = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().unwrap();
        let liveness = Liveness::of(&tcp);
        let (sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
                .await
                .unwrap();
        tokio::spawn(connection);
        let conn = IdleConn {
            sender,
            liveness: Some(liveness),
            authenticated: false,
            since,
        };
        (conn, server)
    }

    #[tokio::test]
    async fn checkout_drops_every_dead_or_expired_idle_connection_and_so_sends_our_fin() {
        use std::io::Read as _;
        let transport = HttpTransport::new(TransportConfig::new(Credentials {
            scheme: AuthScheme::Basic,
            user: "CONTOSO\\svc".into(),
            password: Secret::new("pw"),
        }))
        .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let origin = Origin {
            host: "127.0.0.1".into(),
            port: listener.local_addr().unwrap().port(),
        };
        let expired = Instant::now()
            .checked_sub(POOL_IDLE_TIMEOUT + Duration::from_secs(1))
            .expect("the monotonic clock has run longer than the idle timeout");

        // Oldest first, as checkin pushes them: three the server closed, one idle too long,
        // and the newest, live one on top, which checkout used to return without looking
        // further down.
        let mut servers = Vec::new();
        let mut entries = Vec::new();
        for _ in 0..3 {
            let (conn, server) = pooled_conn(&listener, Instant::now()).await;
            server.shutdown(std::net::Shutdown::Write).unwrap();
            entries.push(conn);
            servers.push(server);
        }
        let (stale, stale_server) = pooled_conn(&listener, expired).await;
        entries.push(stale);
        servers.push(stale_server);
        let (live, _live_server) = pooled_conn(&listener, Instant::now()).await;
        entries.push(live);
        let give_up = std::time::Instant::now() + Duration::from_secs(10);
        for conn in &entries[..3] {
            while !(conn.sender.is_closed() || conn.liveness.as_ref().unwrap().closed_by_server()) {
                assert!(std::time::Instant::now() < give_up, "the FIN never showed");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        transport.idle().insert(origin.clone(), entries);

        let conn = transport.checkout(&origin).expect("the live connection");
        assert!(conn.reused);
        assert!(
            transport.idle().values().all(Vec::is_empty),
            "the pool still holds dead or expired connections"
        );

        // Nothing holds the dropped sockets any more, the probe's duplicate included: each
        // server end reads our FIN (a read timeout instead would mean a socket left open).
        // The connections' tasks (holding the original descriptors) must run meanwhile, so
        // the blocking reads happen off this runtime's thread.
        for mut server in servers {
            let read = tokio::task::spawn_blocking(move || {
                server.set_read_timeout(Some(Duration::from_secs(10)))?;
                server.read(&mut [0u8; 1])
            });
            assert_eq!(read.await.unwrap().unwrap(), 0, "our FIN");
        }
    }

    #[test]
    fn urls_with_user_info_are_refused() {
        let uri: Uri = "https://user:pw@mail.contoso.com/EWS".parse().unwrap();
        assert!(matches!(
            Target::from_uri(&uri, "https", 443),
            Err(TransportError::InvalidUrl { .. })
        ));
    }
}
