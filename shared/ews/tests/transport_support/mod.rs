//! A small local HTTPS server for the transport tests: a CA and certificate generated at run
//! time (rcgen), rustls, hyper's HTTP/1.1 server, and a record of what it saw (requests,
//! connections, the peak number of requests in flight).
//!
//! The NTLM side is a *flow* stand-in: it speaks the HTTP legs of [MS-NTHT] with a fixed
//! Type 2 challenge and accepts any Type 3. It does not verify passwords; the simulator's
//! NTLMv2 acceptor does (tests/integration).

#![allow(dead_code)] // each test file uses a different part of this module

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper::body::{Body, Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A test CA and a server certificate it issued.
pub struct Pki {
    /// The CA certificate, PEM: what a client must trust.
    pub ca_pem: String,
    /// A rustls server configuration presenting the server certificate.
    pub server: Arc<rustls::ServerConfig>,
}

/// Generates a CA and a server certificate for `names` (DNS names or IP literals).
pub fn pki(names: &[&str]) -> Pki {
    pki_with_alpn(names, &[b"http/1.1"])
}

/// Like [`pki`], with the ALPN protocols the server offers.
pub fn pki_with_alpn(names: &[&str], alpn: &[&[u8]]) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    // A distinct name per CA: two CAs with one name make a wrong-CA test fail on the
    // signature instead of on the unknown issuer.
    static CA_SERIAL: AtomicUsize = AtomicUsize::new(0);
    let serial = CA_SERIAL.fetch_add(1, Ordering::SeqCst);
    ca.distinguished_name
        .push(DnType::CommonName, format!("exsync test CA {serial}"));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);

    let key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut leaf = CertificateParams::new(names).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "exsync test server");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_cert = leaf.signed_by(&key, &issuer).unwrap();

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf_cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    server.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Pki {
        ca_pem: ca_cert.pem(),
        server: Arc::new(server),
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Which connection (0, 1, …, in accept order).
    pub connection: usize,
    /// The method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// The ALPN protocol negotiated on this connection.
    pub alpn: Option<Vec<u8>>,
}

impl Seen {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the handler answers.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: ReplyBody,
    /// Wait this long before answering.
    pub delay: Option<Duration>,
}

/// How the body is sent.
#[derive(Debug, Clone)]
pub enum ReplyBody {
    /// With a Content-Length.
    Full(Vec<u8>),
    /// Chunked, no Content-Length: `count` chunks of `chunk` bytes.
    Chunked {
        /// Bytes per chunk.
        chunk: usize,
        /// Number of chunks.
        count: usize,
    },
}

impl Reply {
    /// A status with a body.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: ReplyBody::Full(body.into()),
            delay: None,
        }
    }

    /// 200 with a body.
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        Self::new(200, body)
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Delays the answer.
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }
}

/// Per-connection state the handler may keep (NTLM is connection-bound).
#[derive(Debug, Default)]
pub struct ConnState {
    /// Which connection.
    pub id: usize,
    /// Requests answered on this connection so far.
    pub requests: usize,
    /// Set by the NTLM stand-in once a Type 3 was accepted.
    pub authenticated: bool,
    /// Whatever else a handler wants to count.
    pub counter: usize,
}

type Handler = dyn Fn(&Seen, &mut ConnState) -> Reply + Send + Sync;

/// A running test server.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    connections: Arc<AtomicUsize>,
    in_flight: Arc<AtomicUsize>,
    peak_in_flight: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Connections accepted (TLS handshake completed or not).
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// The most requests that were being handled at once.
    pub fn peak_in_flight(&self) -> usize {
        self.peak_in_flight.load(Ordering::SeqCst)
    }
}

/// Starts an HTTPS server on 127.0.0.1 answering with `handler`.
pub async fn start(
    tls: Arc<rustls::ServerConfig>,
    handler: impl Fn(&Seen, &mut ConnState) -> Reply + Send + Sync + 'static,
) -> Server {
    start_with(Some(tls), handler).await
}

/// Starts a plain-HTTP server on 127.0.0.1 (for the Autodiscover redirect probe).
pub async fn start_plain(
    handler: impl Fn(&Seen, &mut ConnState) -> Reply + Send + Sync + 'static,
) -> Server {
    start_with(None, handler).await
}

/// The counters one server shares with its connection tasks.
#[derive(Clone)]
struct Shared {
    handler: Arc<Handler>,
    seen: Arc<Mutex<Vec<Seen>>>,
    in_flight: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

async fn start_with(
    tls: Option<Arc<rustls::ServerConfig>>,
    handler: impl Fn(&Seen, &mut ConnState) -> Reply + Send + Sync + 'static,
) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shared = Shared {
        handler: Arc::new(handler),
        seen: Arc::new(Mutex::new(Vec::new())),
        in_flight: Arc::new(AtomicUsize::new(0)),
        peak: Arc::new(AtomicUsize::new(0)),
    };
    let connections = Arc::new(AtomicUsize::new(0));
    let acceptor = tls.map(TlsAcceptor::from);
    let task = {
        let (shared, connections) = (shared.clone(), connections.clone());
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                tcp.set_nodelay(true).unwrap();
                let id = connections.fetch_add(1, Ordering::SeqCst);
                let (acceptor, shared) = (acceptor.clone(), shared.clone());
                tokio::spawn(async move {
                    match acceptor {
                        Some(acceptor) => {
                            let Ok(stream) = acceptor.accept(tcp).await else {
                                return;
                            };
                            let alpn = stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
                            serve(TokioIo::new(stream), id, alpn, shared).await;
                        }
                        None => serve(TokioIo::new(tcp), id, None, shared).await,
                    }
                });
            }
        })
    };
    Server {
        addr,
        seen: shared.seen,
        connections,
        in_flight: shared.in_flight,
        peak_in_flight: shared.peak,
        task,
    }
}

async fn serve<I>(io: I, id: usize, alpn: Option<Vec<u8>>, shared: Shared)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let state = Arc::new(tokio::sync::Mutex::new(ConnState {
        id,
        ..ConnState::default()
    }));
    let service = service_fn(move |req: Request<Incoming>| {
        let (shared, state, alpn) = (shared.clone(), state.clone(), alpn.clone());
        async move {
            let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            shared.peak.fetch_max(now, Ordering::SeqCst);
            let (parts, body) = req.into_parts();
            let body = body.collect().await.unwrap().to_bytes().to_vec();
            let request = Seen {
                connection: id,
                method: parts.method.to_string(),
                path: parts
                    .uri
                    .path_and_query()
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
                headers: parts
                    .headers
                    .iter()
                    .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
                    .collect(),
                body,
                alpn,
            };
            shared.seen.lock().unwrap().push(request.clone());
            let reply = {
                let mut state = state.lock().await;
                let reply = (shared.handler)(&request, &mut state);
                state.requests += 1;
                reply
            };
            if let Some(delay) = reply.delay {
                tokio::time::sleep(delay).await;
            }
            shared.in_flight.fetch_sub(1, Ordering::SeqCst);
            let mut response = Response::builder().status(reply.status);
            for (n, v) in &reply.headers {
                response = response.header(n, v);
            }
            let body = match reply.body {
                ReplyBody::Full(b) => TestBody::Full(Some(Bytes::from(b))),
                ReplyBody::Chunked { chunk, count } => TestBody::Chunked { chunk, left: count },
            };
            Ok::<_, Infallible>(response.body(body).unwrap())
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service)
        .await;
}

/// A response body that is either sized or streamed without a length (chunked).
pub enum TestBody {
    /// Sent with Content-Length.
    Full(Option<Bytes>),
    /// Sent chunked.
    Chunked {
        /// Bytes per chunk.
        chunk: usize,
        /// Chunks still to send.
        left: usize,
    },
}

impl Body for TestBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        match this {
            TestBody::Full(data) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            TestBody::Chunked { chunk, left } => {
                if *left == 0 {
                    return Poll::Ready(None);
                }
                *left -= 1;
                Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b'x'; *chunk])))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            TestBody::Full(data) => data.is_none(),
            TestBody::Chunked { left, .. } => *left == 0,
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            TestBody::Full(Some(d)) => hyper::body::SizeHint::with_exact(d.len() as u64),
            TestBody::Full(None) => hyper::body::SizeHint::with_exact(0),
            TestBody::Chunked { .. } => hyper::body::SizeHint::default(),
        }
    }
}

/// What the NTLM stand-in saw of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NtlmLeg {
    /// No Authorization header.
    Anonymous,
    /// `Authorization: NTLM <Type 1>`.
    Type1,
    /// `Authorization: NTLM <Type 3>`.
    Type3,
    /// Anything else in Authorization.
    Other,
}

/// Classifies a request's `Authorization` header.
pub fn ntlm_leg(seen: &Seen) -> NtlmLeg {
    let Some(value) = seen.header("authorization") else {
        return NtlmLeg::Anonymous;
    };
    let Some(token) = value.strip_prefix("NTLM ") else {
        return NtlmLeg::Other;
    };
    match BASE64.decode(token.trim()) {
        Ok(m) if m.starts_with(b"NTLMSSP\0") && m.get(8) == Some(&1) => NtlmLeg::Type1,
        Ok(m) if m.starts_with(b"NTLMSSP\0") && m.get(8) == Some(&3) => NtlmLeg::Type3,
        _ => NtlmLeg::Other,
    }
}

/// How the NTLM stand-in treats Type 3 messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type3 {
    /// Accept every Type 3 (flow tests only: no password check).
    Accept,
    /// Answer 401 to every Type 3, as for a wrong password.
    Reject,
}

/// The NTLM legs of [MS-NTHT] on one connection: anonymous → 401 `NTLM`; Type 1 → 401 with
/// a Type 2; Type 3 → `ok()` (or 401); later requests on an authenticated connection →
/// `ok()` without any header.
pub fn ntlm_handler(
    type3: Type3,
    ok: impl Fn(&Seen, &mut ConnState) -> Reply + Send + Sync + 'static,
) -> impl Fn(&Seen, &mut ConnState) -> Reply + Send + Sync + 'static {
    move |seen, state| match (ntlm_leg(seen), state.authenticated) {
        (NtlmLeg::Anonymous, true) => ok(seen, state),
        (NtlmLeg::Type1, _) => Reply::new(401, "").header(
            "www-authenticate",
            &format!("NTLM {}", BASE64.encode(type2_message())),
        ),
        (NtlmLeg::Type3, _) if type3 == Type3::Accept => {
            state.authenticated = true;
            ok(seen, state)
        }
        _ => Reply::new(401, "")
            .header("www-authenticate", "Negotiate")
            .header("www-authenticate", "NTLM"),
    }
}

/// A well-formed NTLMv2 CHALLENGE_MESSAGE ([MS-NLMP] 2.2.1.2) with a fixed challenge and
/// target info (domain, computer, timestamp).
pub fn type2_message() -> Vec<u8> {
    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }
    fn av(id: u16, value: &[u8]) -> Vec<u8> {
        let mut v = id.to_le_bytes().to_vec();
        v.extend((value.len() as u16).to_le_bytes());
        v.extend(value);
        v
    }
    let target_name = utf16("CONTOSO");
    let mut target_info = Vec::new();
    target_info.extend(av(2, &utf16("CONTOSO")));
    target_info.extend(av(1, &utf16("EXCH01")));
    // FILETIME for 2024-01-01T00:00:00Z.
    target_info.extend(av(7, &133_485_408_000_000_000u64.to_le_bytes()));
    target_info.extend(av(0, &[]));
    // UNICODE | REQUEST_TARGET | SIGN | NTLM | ALWAYS_SIGN | TARGET_TYPE_DOMAIN |
    // EXTENDED_SESSIONSECURITY | TARGET_INFO | VERSION | 128 | KEY_EXCH | 56
    let flags: u32 = 0x0000_0001
        | 0x0000_0004
        | 0x0000_0010
        | 0x0000_0200
        | 0x0000_8000
        | 0x0001_0000
        | 0x0008_0000
        | 0x0080_0000
        | 0x0200_0000
        | 0x2000_0000
        | 0x4000_0000
        | 0x8000_0000;
    let header_len = 56u32;
    let mut m = b"NTLMSSP\0".to_vec();
    m.extend(2u32.to_le_bytes());
    m.extend((target_name.len() as u16).to_le_bytes());
    m.extend((target_name.len() as u16).to_le_bytes());
    m.extend(header_len.to_le_bytes());
    m.extend(flags.to_le_bytes());
    m.extend([1, 2, 3, 4, 5, 6, 7, 8]); // server challenge
    m.extend([0u8; 8]); // reserved
    m.extend((target_info.len() as u16).to_le_bytes());
    m.extend((target_info.len() as u16).to_le_bytes());
    m.extend((header_len + target_name.len() as u32).to_le_bytes());
    m.extend([10, 0, 0x63, 0x45, 0, 0, 0, 15]); // version 10.0.17763, NTLM revision 15
    m.extend(target_name);
    m.extend(target_info);
    m
}

/// An HTTPS server that answers one request per connection with `200 ok` and then closes
/// the connection without saying so (no `Connection: close`), as IIS does when an idle
/// keep-alive connection times out. Returns the address and a counter of connections.
pub async fn start_one_shot(tls: Arc<rustls::ServerConfig>) -> (SocketAddr, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let acceptor = TlsAcceptor::from(tls);
    let count = connections.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            count.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut stream) = acceptor.accept(tcp).await else {
                    return;
                };
                // Read the head and the Content-Length body of one request.
                let mut data = Vec::new();
                let mut buf = [0u8; 4096];
                let body_end = loop {
                    let Ok(n) = stream.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    data.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&data).to_string();
                    if let Some(head_end) = text.find("\r\n\r\n") {
                        let length = text[..head_end]
                            .lines()
                            .find_map(|l| {
                                let (name, value) = l.split_once(':')?;
                                name.eq_ignore_ascii_case("content-length")
                                    .then(|| value.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        break head_end + 4 + length;
                    }
                };
                while data.len() < body_end {
                    let Ok(n) = stream.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    data.extend_from_slice(&buf[..n]);
                }
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    .await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (addr, connections)
}
