//! What the server tests share: a configuration, an HTTPS client that owns exactly one
//! connection (NTLM is connection-bound, so the tests must control connections), an NTLM
//! client from `sspi` (an implementation independent of the simulator's acceptor), and `curl`.
#![allow(dead_code)] // every test crate uses a different part of it

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use exsync_ews_sim::{SimConfig, SimHandle, SimOptions, Simulator};
use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HOST, WWW_AUTHENTICATE};
use http::{HeaderMap, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use sspi::{
    AuthIdentity, AuthIdentityBuffers, BufferType, ClientRequestFlags, CredentialUse,
    DataRepresentation, Ntlm, SecurityBuffer, SecurityStatus, Sspi, SspiImpl, Username,
};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

pub const DOMAIN: &str = "contoso.test";
pub const SERVICE_USER: &str = "svc-exsync";
pub const SERVICE_LOGON: &str = "CONTOSO\\svc-exsync";
pub const SERVICE_PASSWORD: &str = "Server-Test-Pa55!";
pub const ALICE: &str = "alice@contoso.test";
pub const ALICE_PASSWORD: &str = "Alice-Pa55!";
pub const EWS_PATH: &str = "/EWS/Exchange.asmx";
pub const AUTODISCOVER_PATH: &str = "/autodiscover/autodiscover.xml";

/// Two accounts (the service account and Alice), three mailboxes, an impersonation grant.
pub fn config() -> SimConfig {
    SimConfig::from_json(&format!(
        r#"{{
        "domains": ["{DOMAIN}"],
        "netbios_domain": "CONTOSO",
        "accounts": [
            {{"user": "{SERVICE_USER}", "password": "{SERVICE_PASSWORD}", "smtp": "{SERVICE_USER}@{DOMAIN}"}},
            {{"user": "alice", "password": "{ALICE_PASSWORD}", "smtp": "{ALICE}"}}
        ],
        "mailboxes": [
            {{"smtp": "{SERVICE_USER}@{DOMAIN}", "display_name": "exsync service"}},
            {{"smtp": "{ALICE}", "display_name": "Alice Anders"}},
            {{"smtp": "bob@{DOMAIN}", "display_name": "Bob Berg"}}
        ],
        "impersonation": [{{"account": "{SERVICE_USER}", "scope": "all"}}],
        "throttling": {{"max_concurrency": 10}}
    }}"#
    ))
    .unwrap()
}

/// A simulator with [`config`] on free loopback ports.
pub fn start() -> SimHandle {
    start_with(config())
}

/// A simulator with `config` on free loopback ports.
pub fn start_with(config: SimConfig) -> SimHandle {
    Simulator::start(
        config,
        SimOptions {
            fault_seed: Some(1),
            ..SimOptions::default()
        },
    )
    .unwrap()
}

/// A GetFolder of Alice's Inbox, impersonating her: valid against the 2010 SP2 schema.
pub fn get_folder_request() -> String {
    r#"<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
               xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"
               xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">
  <soap:Header>
    <t:RequestServerVersion Version="Exchange2010_SP2"/>
    <t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>alice@contoso.test</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>
  </soap:Header>
  <soap:Body>
    <m:GetFolder>
      <m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>
      <m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds>
    </m:GetFolder>
  </soap:Body>
</soap:Envelope>"#
        .to_owned()
}

/// A POX Autodiscover request for `address`.
pub fn autodiscover_request(address: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>{address}</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>"#
    )
}

/// `Authorization: Basic …` for `user:password`.
pub fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", BASE64.encode(format!("{user}:{password}")))
}

/// One answer, body read in full.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    /// Every `WWW-Authenticate` value.
    pub fn www_authenticate(&self) -> Vec<String> {
        self.headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }

    /// The NTLM challenge (Type 2) of a 401, if it carries one.
    pub fn ntlm_challenge(&self) -> Option<Vec<u8>> {
        self.www_authenticate().iter().find_map(|v| {
            let (scheme, token) = v.split_once(' ')?;
            (scheme.eq_ignore_ascii_case("NTLM"))
                .then(|| BASE64.decode(token.trim()).ok())
                .flatten()
        })
    }

    /// The Content-Length header as a number.
    pub fn content_length(&self) -> Option<usize> {
        self.headers
            .get(CONTENT_LENGTH)?
            .to_str()
            .ok()?
            .parse()
            .ok()
    }
}

/// A TLS client trusting only the simulator's CA, offering HTTP/1.1 only.
pub fn tls_connector(sim: &SimHandle) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(sim.ca_pem()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// Exactly one HTTPS connection to the simulator.
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
    driver: Option<tokio::task::JoinHandle<()>>,
    host: String,
}

impl Drop for Connection {
    /// Dropping the connection closes it, as a client that goes away does.
    fn drop(&mut self) {
        if let Some(driver) = self.driver.take() {
            driver.abort();
        }
    }
}

impl Connection {
    /// Connects to the simulator as `localhost`.
    pub async fn open(sim: &SimHandle) -> Self {
        Self::open_as(sim, "localhost").await
    }

    /// Connects to the simulator's socket, verifying its certificate for `host` and sending
    /// `host` in the Host header (as a client that resolved `host` to the simulator would).
    pub async fn open_as(sim: &SimHandle, host: &str) -> Self {
        let tcp = tokio::net::TcpStream::connect(sim.https_addr())
            .await
            .unwrap();
        tcp.set_nodelay(true).unwrap();
        let name = ServerName::try_from(host.to_owned()).unwrap();
        let tls = tls_connector(sim).connect(name, tcp).await.unwrap();
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .unwrap();
        let driver = tokio::spawn(async move {
            let _ = conn.await;
        });
        Self {
            sender,
            driver: Some(driver),
            host: format!("{host}:{}", sim.https_addr().port()),
        }
    }

    /// POSTs `body` to `path` with an optional Authorization header.
    pub async fn post(
        &mut self,
        path: &str,
        authorization: Option<&str>,
        body: &str,
    ) -> Result<Reply, hyper::Error> {
        self.send(Method::POST, path, authorization, body).await
    }

    /// Sends one request and reads the whole answer.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        authorization: Option<&str>,
        body: &str,
    ) -> Result<Reply, hyper::Error> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, &self.host)
            .header(CONTENT_TYPE, "text/xml; charset=utf-8");
        if let Some(auth) = authorization {
            request = request.header(AUTHORIZATION, auth);
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_owned())))
            .unwrap();
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await?.to_bytes();
        Ok(Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }

    /// POSTs `body` and returns the status and headers, then the outcome of reading the body
    /// (an error when the server drops the connection mid-body).
    pub async fn post_streaming(
        &mut self,
        path: &str,
        authorization: Option<&str>,
        body: &str,
    ) -> (u16, HeaderMap, Result<Bytes, hyper::Error>) {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(HOST, &self.host)
            .header(CONTENT_TYPE, "text/xml; charset=utf-8");
        if let Some(auth) = authorization {
            request = request.header(AUTHORIZATION, auth);
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_owned())))
            .unwrap();
        self.sender.ready().await.unwrap();
        let response = self.sender.send_request(request).await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.map(|c| c.to_bytes());
        (status, headers, body)
    }

    /// Runs a whole NTLM handshake on this connection (Type 1 with an empty body, then
    /// Type 3 with `body`) and returns the answer to the Type 3 leg.
    pub async fn ntlm(&mut self, path: &str, user: &str, password: &str, body: &str) -> Reply {
        let mut client = NtlmClient::new(user, password);
        let negotiate = format!("NTLM {}", BASE64.encode(client.negotiate()));
        let challenge = self.post(path, Some(&negotiate), "").await.unwrap();
        assert_eq!(challenge.status, 401, "Type 1 leg: {challenge:?}");
        let type2 = challenge
            .ntlm_challenge()
            .expect("a 401 carrying an NTLM challenge");
        let authenticate = format!("NTLM {}", BASE64.encode(client.authenticate(&type2)));
        self.post(path, Some(&authenticate), body).await.unwrap()
    }

    /// Waits until the server has closed this connection.
    pub async fn closed_by_server(mut self) {
        if let Some(driver) = self.driver.take() {
            driver.await.unwrap();
        }
    }
}

/// The client side of one NTLMv2 handshake, by `sspi`.
pub struct NtlmClient {
    ntlm: Ntlm,
    credentials: Option<AuthIdentityBuffers>,
}

impl NtlmClient {
    /// Credentials for `user` (`DOMAIN\user` or `user@domain`).
    pub fn new(user: &str, password: &str) -> Self {
        let identity = AuthIdentity {
            username: Username::parse(user).unwrap(),
            password: password.to_owned().into(),
        };
        let mut ntlm = Ntlm::new();
        let acquired = ntlm
            .acquire_credentials_handle()
            .with_credential_use(CredentialUse::Outbound)
            .with_auth_data(&identity)
            .execute(&mut ntlm)
            .unwrap();
        Self {
            ntlm,
            credentials: acquired.credentials_handle,
        }
    }

    /// The NEGOTIATE message.
    pub fn negotiate(&mut self) -> Vec<u8> {
        self.step(None)
    }

    /// The AUTHENTICATE message answering `challenge`.
    pub fn authenticate(&mut self, challenge: &[u8]) -> Vec<u8> {
        self.step(Some(challenge))
    }

    fn step(&mut self, input: Option<&[u8]>) -> Vec<u8> {
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let mut input = input.map(|c| vec![SecurityBuffer::new(c.to_vec(), BufferType::Token)]);
        let builder = self
            .ntlm
            .initialize_security_context()
            .with_credentials_handle(&mut self.credentials)
            .with_context_requirements(ClientRequestFlags::INTEGRITY)
            .with_target_data_representation(DataRepresentation::Native)
            .with_output(&mut output);
        let mut builder = match input.as_mut() {
            Some(input) => builder.with_input(input),
            None => builder,
        };
        let result = self
            .ntlm
            .initialize_security_context_impl(&mut builder)
            .unwrap()
            .resolve_to_result()
            .unwrap();
        if matches!(
            result.status,
            SecurityStatus::CompleteAndContinue | SecurityStatus::CompleteNeeded
        ) {
            self.ntlm.complete_auth_token(&mut output).unwrap();
        }
        output.into_iter().next().unwrap().buffer
    }
}

/// Polls `condition` until it holds; panics after a generous bound so a broken simulator
/// fails the test instead of hanging it. Not a timing assertion: the condition is the test.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..2000 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("never happened: {what}");
}

/// One plain-HTTP request to `addr` (the Autodiscover redirect probe), answer read in full.
pub async fn plain_http(addr: std::net::SocketAddr, method: Method, path: &str) -> Reply {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(HOST, format!("autodiscover.{DOMAIN}"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// What curl reports: the final HTTP status and the body.
#[derive(Debug)]
pub struct CurlResult {
    pub status: u16,
    pub body: String,
    pub stderr: String,
}

/// Runs curl against the simulator trusting its CA; `args` come before the URL.
pub fn curl(sim: &SimHandle, args: &[&str], url: &str, body: &str) -> CurlResult {
    let mut child = Command::new("curl")
        .args(["-sS", "--http1.1", "--cacert"])
        .arg(sim.ca_pem_path())
        .args(["-H", "Content-Type: text/xml; charset=utf-8"])
        .args(["--data-binary", "@-", "-w", "\n%{http_code}"])
        .args(args)
        .arg(url)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("curl is installed");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(body.as_bytes()).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, status) = stdout.rsplit_once('\n').unwrap_or(("", &stdout));
    CurlResult {
        status: status.trim().parse().unwrap_or(0),
        body: body.to_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
