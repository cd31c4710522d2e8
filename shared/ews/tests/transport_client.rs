//! `EwsClient::call` against a local HTTPS server: envelope and headers, status mapping,
//! server version, and what the logs may (and may not) contain.

mod transport_support;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use exsync_ews::client::{EwsClient, EwsClientConfig};
use exsync_ews::transport::{AuthScheme, Credentials, Secret, TransportError};
use exsync_ews::xml::{Element, XmlWriter};
use exsync_ews::{ErrorClass, EwsError, Operation};
use transport_support::{Reply, Type3, ntlm_handler, pki, start};

const HOST: &str = "mail.contoso.test";
const EWS: &str = "https://mail.contoso.test/EWS/Exchange.asmx";
const PASSWORD: &str = "Pa55word-do-not-log";
const BODY_MARKER: &str = "body-content-do-not-log";

/// A stand-in operation: the client is generic over `Operation`, so the test needs none of
/// the real ones.
struct Ping;

impl Operation for Ping {
    const NAME: &'static str = "Ping";
    type Response = ();

    fn write_body(&self, w: &mut XmlWriter) {
        w.start("m:Ping", &[])
            .text_element("m:Marker", BODY_MARKER)
            .end("m:Ping");
    }

    fn parse_response(_body: &Element) -> Result<(), EwsError> {
        Ok(())
    }
}

fn ping_response(version: &str) -> Reply {
    Reply::ok(format!(
        r#"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><h:ServerVersionInfo MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" MinorBuildNumber="6" Version="{version}" xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types" xmlns="http://schemas.microsoft.com/exchange/services/2006/types"/></s:Header><s:Body><m:PingResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:Marker>{BODY_MARKER}</m:Marker></m:PingResponse></s:Body></s:Envelope>"#
    ))
    .header("content-type", "text/xml; charset=utf-8")
}

const SERVER_BUSY_FAULT: &str = r#"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorServerBusy</faultcode><faultstring xml:lang="en-US">The server cannot service this request right now. Try again later.</faultstring><detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorServerBusy</e:ResponseCode><e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">The server cannot service this request right now. Try again later.</e:Message><t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:Value Name="BackOffMilliseconds">297749</t:Value></t:MessageXml></detail></s:Fault></s:Body></s:Envelope>"#;

fn client(scheme: AuthScheme, ca_pem: &str, addr: SocketAddr) -> EwsClient {
    let mut config = EwsClientConfig::new(
        EWS,
        Credentials {
            scheme,
            user: "CONTOSO\\svc-exsync".into(),
            password: Secret::new(PASSWORD),
        },
    );
    config.ca_pem = Some(ca_pem.as_bytes().to_vec());
    config.connect_overrides.insert(HOST, 443, addr);
    EwsClient::new(config).unwrap()
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

#[tokio::test]
async fn an_impersonated_call_carries_the_impersonation_header_and_x_anchor_mailbox() {
    let pki = pki(&[HOST]);
    let server = start(pki.server.clone(), |_, _| ping_response("V2017_07_11")).await;
    let client = client(AuthScheme::Basic, &pki.ca_pem, server.addr);

    client
        .call(Some("mara@contoso.com"), &Ping, soon())
        .await
        .unwrap();

    let seen = &server.seen()[0];
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path, "/EWS/Exchange.asmx");
    assert_eq!(seen.header("content-type"), Some("text/xml; charset=utf-8"));
    assert_eq!(seen.header("x-anchormailbox"), Some("mara@contoso.com"));
    let body = exsync_ews::xml::parse(&seen.body, Default::default()).unwrap();
    let sid = body
        .path(&[
            (exsync_ews::xml::NS_SOAP, "Header"),
            (exsync_ews::xml::NS_TYPES, "ExchangeImpersonation"),
            (exsync_ews::xml::NS_TYPES, "ConnectingSID"),
        ])
        .unwrap();
    assert_eq!(
        sid.child_text(exsync_ews::xml::NS_TYPES, "PrimarySmtpAddress"),
        Some("mara@contoso.com")
    );
}

#[tokio::test]
async fn a_call_without_a_mailbox_neither_impersonates_nor_anchors() {
    let pki = pki(&[HOST]);
    let server = start(pki.server.clone(), |_, _| ping_response("V2017_07_11")).await;
    let client = client(AuthScheme::Basic, &pki.ca_pem, server.addr);

    client.call(None, &Ping, soon()).await.unwrap();

    let seen = &server.seen()[0];
    assert_eq!(seen.header("x-anchormailbox"), None);
    let body = String::from_utf8(seen.body.clone()).unwrap();
    assert!(!body.contains("ExchangeImpersonation"), "{body}");
}

#[tokio::test]
async fn the_server_version_of_the_last_response_is_kept() {
    let pki = pki(&[HOST]);
    let versions = Arc::new(Mutex::new(vec!["V2017_07_11", "Exchange2013_SP1"]));
    let server = start(pki.server.clone(), {
        let versions = versions.clone();
        move |_, _| ping_response(versions.lock().unwrap().pop().unwrap())
    })
    .await;
    let client = client(AuthScheme::Basic, &pki.ca_pem, server.addr);
    assert_eq!(client.server_version(), None);

    let first = client.call(None, &Ping, soon()).await.unwrap();
    assert_eq!(
        first.server_version.as_ref().unwrap().version.as_deref(),
        Some("Exchange2013_SP1")
    );
    client.call(None, &Ping, soon()).await.unwrap();

    let kept = client.server_version().unwrap();
    assert_eq!(kept.version.as_deref(), Some("V2017_07_11"));
    assert_eq!(kept.major_version, Some(15));
}

#[tokio::test]
async fn a_soap_fault_on_http_500_classifies_itself_with_its_back_off() {
    let pki = pki(&[HOST]);
    let server = start(pki.server.clone(), |_, _| {
        Reply::new(500, SERVER_BUSY_FAULT)
    })
    .await;
    let client = client(AuthScheme::Basic, &pki.ca_pem, server.addr);

    let err = client
        .call(Some("mara@contoso.com"), &Ping, soon())
        .await
        .unwrap_err();

    assert!(matches!(err, EwsError::Fault(_)), "{err:?}");
    assert_eq!(err.response_code().unwrap().as_str(), "ErrorServerBusy");
    assert_eq!(
        err.class(),
        ErrorClass::Transient {
            back_off: Some(Duration::from_millis(297_749))
        }
    );
    // No automatic retry of throttling.
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn http_503_is_transient_with_retry_after_as_back_off() {
    let pki = pki(&[HOST]);
    let server = start(pki.server.clone(), |_, _| {
        Reply::new(503, "Service Unavailable").header("retry-after", "20")
    })
    .await;
    let client = client(AuthScheme::Basic, &pki.ca_pem, server.addr);

    let err = client.call(None, &Ping, soon()).await.unwrap_err();

    assert!(
        matches!(
            err,
            EwsError::Transport(TransportError::HttpStatus { status: 503, .. })
        ),
        "{err:?}"
    );
    assert_eq!(
        err.class(),
        ErrorClass::Transient {
            back_off: Some(Duration::from_secs(20))
        }
    );
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn an_html_error_page_on_500_is_reported_as_http_500() {
    let pki = pki(&[HOST]);
    let server = start(pki.server.clone(), |_, _| {
        Reply::new(
            500,
            "<html><body><h1>Server Error in '/EWS' Application.</h1></body></html>",
        )
    })
    .await;
    let client = client(AuthScheme::Basic, &pki.ca_pem, server.addr);

    let err = client.call(None, &Ping, soon()).await.unwrap_err();

    assert!(
        matches!(
            err,
            EwsError::Transport(TransportError::HttpStatus { status: 500, .. })
        ),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::Transient { back_off: None });
}

#[tokio::test]
async fn a_wrong_ews_path_is_profile_level() {
    let pki = pki(&[HOST]);
    let server = start(pki.server.clone(), |_, _| Reply::new(404, "Not Found")).await;
    let client = client(AuthScheme::Basic, &pki.ca_pem, server.addr);

    let err = client.call(None, &Ping, soon()).await.unwrap_err();

    assert!(
        matches!(
            err,
            EwsError::Transport(TransportError::HttpStatus { status: 404, .. })
        ),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::ProfileLevel);
}

#[test]
fn an_http_ews_url_is_refused_when_the_client_is_built() {
    let err = EwsClient::new(EwsClientConfig::new(
        "http://mail.contoso.test/EWS/Exchange.asmx",
        Credentials {
            scheme: AuthScheme::Ntlm,
            user: "CONTOSO\\svc".into(),
            password: Secret::new("x"),
        },
    ))
    .unwrap_err();
    assert!(
        matches!(err, EwsError::Transport(TransportError::InsecureUrl { .. })),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::ProfileLevel);
}

#[tokio::test]
async fn a_mailbox_that_cannot_be_a_header_is_a_request_error_and_sends_nothing() {
    let pki = pki(&[HOST]);
    let server = start(pki.server.clone(), |_, _| ping_response("V2017_07_11")).await;
    let client = client(AuthScheme::Basic, &pki.ca_pem, server.addr);

    let err = client
        .call(Some("mara@contoso.com\r\nX-Injected: 1"), &Ping, soon())
        .await
        .unwrap_err();

    assert_eq!(err.class(), ErrorClass::Request);
    assert_eq!(server.connections(), 0);
}

thread_local! {
    /// Where the log lines of this thread go while a test captures them.
    static CAPTURE: std::cell::RefCell<Option<Arc<Mutex<Vec<u8>>>>> =
        const { std::cell::RefCell::new(None) };
}

/// Writes a log line into the capturing test's buffer, if this thread has one.
struct ThreadCapture;

impl Write for ThreadCapture {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|c| {
            if let Some(buffer) = &*c.borrow() {
                buffer.lock().unwrap().extend_from_slice(data);
            }
        });
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures everything logged at DEBUG and below on this thread while `work` runs (a
/// `#[tokio::test]` runtime runs the work and the connection tasks on the test's thread).
///
/// One global subscriber, installed once, rather than a scoped one per test: with scoped
/// dispatchers on parallel test threads, tracing's per-callsite interest cache could be
/// computed while this test's dispatcher was not registered, and the events looked for were
/// dropped now and then (1 run in 20).
async fn captured_logs<F: Future<Output = ()>>(work: F) -> String {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(|| ThreadCapture)
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global subscriber in this test binary");
    });
    let buffer = Arc::new(Mutex::new(Vec::new()));
    CAPTURE.with(|c| *c.borrow_mut() = Some(buffer.clone()));
    work.await;
    CAPTURE.with(|c| *c.borrow_mut() = None);
    let bytes = buffer.lock().unwrap().clone();
    String::from_utf8(bytes).unwrap()
}

#[tokio::test]
async fn calls_log_operation_mailbox_and_status_but_never_credentials_or_bodies() {
    let pki = pki(&[HOST]);
    let server = start(pki.server.clone(), |_, _| ping_response("V2017_07_11")).await;
    let client = client(AuthScheme::Basic, &pki.ca_pem, server.addr);

    let logs = captured_logs(async {
        client
            .call(Some("mara@contoso.com"), &Ping, soon())
            .await
            .unwrap();
    })
    .await;

    assert!(logs.contains("operation=\"Ping\""), "{logs}");
    assert!(logs.contains("mailbox=\"mara@contoso.com\""), "{logs}");
    assert!(logs.contains("http_status=200"), "{logs}");
    assert!(logs.contains("duration_ms="), "{logs}");
    let authorization = server.seen()[0].header("authorization").unwrap().to_owned();
    for secret in [PASSWORD, authorization.as_str(), BODY_MARKER] {
        assert!(!logs.contains(secret), "{secret:?} logged:\n{logs}");
    }
}

#[tokio::test]
async fn failed_calls_log_the_response_code() {
    let pki = pki(&[HOST]);
    let server = start(pki.server.clone(), |_, _| {
        Reply::new(500, SERVER_BUSY_FAULT)
    })
    .await;
    let client = client(AuthScheme::Basic, &pki.ca_pem, server.addr);

    let logs = captured_logs(async {
        let _ = client.call(None, &Ping, soon()).await;
    })
    .await;

    assert!(logs.contains("response_code=\"ErrorServerBusy\""), "{logs}");
    assert!(logs.contains("http_status=500"), "{logs}");
}

#[tokio::test]
async fn ntlm_calls_never_log_ntlm_messages() {
    let pki = pki(&[HOST]);
    let server = start(
        pki.server.clone(),
        ntlm_handler(Type3::Accept, |_, _| ping_response("V2017_07_11")),
    )
    .await;
    let client = client(AuthScheme::Ntlm, &pki.ca_pem, server.addr);

    let logs = captured_logs(async {
        client
            .call(Some("mara@contoso.com"), &Ping, soon())
            .await
            .unwrap();
    })
    .await;

    let tokens: Vec<String> = server
        .seen()
        .iter()
        .filter_map(|s| s.header("authorization"))
        .map(|a| a.trim_start_matches("NTLM ").to_owned())
        .collect();
    assert_eq!(tokens.len(), 2);
    for secret in tokens
        .iter()
        .map(String::as_str)
        .chain([PASSWORD, BODY_MARKER])
    {
        assert!(!logs.contains(secret), "{secret:?} logged:\n{logs}");
    }
    assert!(
        !logs.contains("TlRMTVNTUA"),
        "an NTLM message was logged:\n{logs}"
    );
}
