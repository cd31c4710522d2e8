//! The HTTPS transport against a local TLS server: trust, Basic, limits, time, overrides.

mod transport_support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use exsync_ews::ErrorClass;
use exsync_ews::transport::{
    AuthScheme, ConnectOverrides, Credentials, HttpTransport, Secret, TlsFailure, TransportConfig,
    TransportError, UnauthorizedReason,
};
use transport_support::{Reply, ReplyBody, pki, pki_with_alpn, start, start_one_shot};

const HOST: &str = "mail.contoso.test";

fn basic() -> Credentials {
    Credentials {
        scheme: AuthScheme::Basic,
        user: "CONTOSO\\svc-exsync".into(),
        password: Secret::new("Pa55:word!"),
    }
}

/// A transport trusting `ca_pem` that sends `HOST:443` to `addr`.
fn transport(
    ca_pem: &str,
    addr: SocketAddr,
    tweak: impl FnOnce(&mut TransportConfig),
) -> HttpTransport {
    let mut config = TransportConfig::new(basic());
    config.ca_pem = Some(ca_pem.as_bytes().to_vec());
    config.connect_overrides.insert(HOST, 443, addr);
    tweak(&mut config);
    HttpTransport::new(config).unwrap()
}

fn post(url: &str, body: &str) -> http::Request<Bytes> {
    http::Request::post(url)
        .header("content-type", "text/xml; charset=utf-8")
        .body(Bytes::from(body.to_owned()))
        .unwrap()
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

const EWS: &str = "https://mail.contoso.test/EWS/Exchange.asmx";

#[tokio::test]
async fn basic_authorization_is_sent_on_every_request() {
    let pki = pki(&[HOST]);
    let server = start(pki.server.clone(), |_, _| Reply::ok("<ok/>")).await;
    let t = transport(&pki.ca_pem, server.addr, |_| {});

    for _ in 0..2 {
        let r = t.send(post(EWS, "<x/>"), soon()).await.unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(&r.body[..], b"<ok/>");
    }

    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    // base64("CONTOSO\svc-exsync:Pa55:word!")
    let expected = "Basic Q09OVE9TT1xzdmMtZXhzeW5jOlBhNTU6d29yZCE=";
    for s in &seen {
        assert_eq!(s.header("authorization"), Some(expected));
        assert_eq!(s.header("host"), Some(HOST));
        assert_eq!(s.body, b"<x/>");
    }
    // Keep-alive: both requests on one connection.
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn rejected_basic_credentials_are_a_profile_level_error() {
    let pki = pki(&[HOST]);
    let server = start(pki.server.clone(), |_, _| {
        Reply::new(401, "").header("www-authenticate", "Basic realm=\"mail\"")
    })
    .await;
    let t = transport(&pki.ca_pem, server.addr, |_| {});

    let err = t.send(post(EWS, "<x/>"), soon()).await.unwrap_err();
    assert!(
        matches!(
            err,
            TransportError::Unauthorized {
                reason: UnauthorizedReason::CredentialsRejected,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::ProfileLevel);
}

#[tokio::test]
async fn basic_disabled_on_the_server_says_which_schemes_it_offers() {
    let pki = pki(&[HOST]);
    let server = start(pki.server.clone(), |_, _| {
        Reply::new(401, "")
            .header("www-authenticate", "Negotiate")
            .header("www-authenticate", "NTLM")
    })
    .await;
    let t = transport(&pki.ca_pem, server.addr, |_| {});

    let err = t.send(post(EWS, "<x/>"), soon()).await.unwrap_err();
    match err {
        TransportError::Unauthorized {
            reason: UnauthorizedReason::SchemeNotOffered { offered },
            ..
        } => assert_eq!(offered, vec!["Negotiate", "NTLM"]),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_certificate_from_an_untrusted_ca_is_refused_as_profile_level() {
    let server_pki = pki(&[HOST]);
    let other_ca = pki(&[HOST]);
    let server = start(server_pki.server.clone(), |_, _| Reply::ok("")).await;
    let t = transport(&other_ca.ca_pem, server.addr, |_| {});

    let err = t.send(post(EWS, "<x/>"), soon()).await.unwrap_err();
    assert!(
        matches!(
            err,
            TransportError::Tls {
                failure: TlsFailure::UnknownIssuer,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::ProfileLevel);
    assert!(server.seen().is_empty());
}

#[tokio::test]
async fn a_certificate_for_another_host_is_refused_as_profile_level() {
    let pki = pki(&["other.contoso.test"]);
    let server = start(pki.server.clone(), |_, _| Reply::ok("")).await;
    let t = transport(&pki.ca_pem, server.addr, |_| {});

    let err = t.send(post(EWS, "<x/>"), soon()).await.unwrap_err();
    assert!(
        matches!(
            err,
            TransportError::Tls {
                failure: TlsFailure::BadCertificate,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::ProfileLevel);
}

#[tokio::test]
async fn http_url_is_refused_before_any_connection() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let pki = pki(&[HOST]);
    let t = transport(&pki.ca_pem, listener.local_addr().unwrap(), |c| {
        c.connect_overrides
            .insert(HOST, 80, listener.local_addr().unwrap());
    });

    let err = t
        .send(
            post("http://mail.contoso.test/EWS/Exchange.asmx", "<x/>"),
            soon(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::InsecureUrl { .. }), "{err:?}");
    assert_eq!(err.class(), ErrorClass::ProfileLevel);
    let accepted = listener.accept();
    assert!(
        matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "a connection was made: {accepted:?}"
    );
}

#[tokio::test]
async fn connection_refused_is_profile_level() {
    // Bind and drop: nothing listens on this port any more.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let pki = pki(&[HOST]);
    let t = transport(&pki.ca_pem, addr, |_| {});

    let err = t.send(post(EWS, "<x/>"), soon()).await.unwrap_err();
    assert!(matches!(err, TransportError::Connect { .. }), "{err:?}");
    assert_eq!(err.class(), ErrorClass::ProfileLevel);
}

#[tokio::test]
async fn a_slow_server_times_out_as_transient() {
    let pki = pki(&[HOST]);
    let server = start(pki.server.clone(), |_, _| {
        Reply::ok("late").delayed(Duration::from_secs(30))
    })
    .await;
    let t = transport(&pki.ca_pem, server.addr, |c| {
        c.request_timeout = Duration::from_millis(300);
    });

    let err = t.send(post(EWS, "<x/>"), soon()).await.unwrap_err();
    assert!(matches!(err, TransportError::Timeout { .. }), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Transient { back_off: None });
}

#[tokio::test]
async fn a_deadline_shorter_than_the_timeout_is_reported_as_deadline_exceeded() {
    let pki = pki(&[HOST]);
    let server = start(pki.server.clone(), |_, _| {
        Reply::ok("late").delayed(Duration::from_secs(30))
    })
    .await;
    let t = transport(&pki.ca_pem, server.addr, |_| {});

    let deadline = Instant::now() + Duration::from_millis(300);
    let err = t.send(post(EWS, "<x/>"), deadline).await.unwrap_err();
    assert!(matches!(err, TransportError::DeadlineExceeded), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Transient { back_off: None });
}

#[tokio::test]
async fn a_deadline_already_past_sends_nothing() {
    let pki = pki(&[HOST]);
    let server = start(pki.server.clone(), |_, _| Reply::ok("")).await;
    let t = transport(&pki.ca_pem, server.addr, |_| {});

    let err = t.send(post(EWS, "<x/>"), Instant::now()).await.unwrap_err();
    assert!(matches!(err, TransportError::DeadlineExceeded), "{err:?}");
    assert_eq!(server.connections(), 0);
}

#[tokio::test]
async fn a_body_declared_larger_than_the_limit_is_refused() {
    let pki = pki(&[HOST]);
    let server = start(pki.server.clone(), |_, _| Reply::ok(vec![b'x'; 64 * 1024])).await;
    let t = transport(&pki.ca_pem, server.addr, |c| {
        c.max_response_bytes = 16 * 1024
    });

    let err = t.send(post(EWS, "<x/>"), soon()).await.unwrap_err();
    assert!(
        matches!(err, TransportError::ResponseTooLarge { limit: 16384 }),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::Request);
}

#[tokio::test]
async fn a_streamed_body_is_cut_off_at_the_limit() {
    let pki = pki(&[HOST]);
    // 1 GiB in 64 KiB chunks without Content-Length: reading must stop long before.
    let server = start(pki.server.clone(), |_, _| Reply {
        status: 200,
        headers: Vec::new(),
        body: ReplyBody::Chunked {
            chunk: 64 * 1024,
            count: 16 * 1024,
        },
        delay: None,
    })
    .await;
    let t = transport(&pki.ca_pem, server.addr, |c| {
        c.max_response_bytes = 1024 * 1024
    });

    let err = t.send(post(EWS, "<x/>"), soon()).await.unwrap_err();
    assert!(
        matches!(err, TransportError::ResponseTooLarge { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_body_exactly_at_the_limit_is_accepted() {
    let pki = pki(&[HOST]);
    let server = start(pki.server.clone(), |_, _| Reply {
        status: 200,
        headers: Vec::new(),
        body: ReplyBody::Chunked {
            chunk: 1024,
            count: 16,
        },
        delay: None,
    })
    .await;
    let t = transport(&pki.ca_pem, server.addr, |c| {
        c.max_response_bytes = 16 * 1024
    });

    let r = t.send(post(EWS, "<x/>"), soon()).await.unwrap();
    assert_eq!(r.body.len(), 16 * 1024);
}

#[tokio::test]
async fn connect_overrides_send_a_host_and_port_to_another_port() {
    let pki = pki(&[HOST]);
    let server = start(pki.server.clone(), |_, _| Reply::ok("")).await;
    // The URL says port 4443; the server listens on a random port.
    let t = transport(&pki.ca_pem, server.addr, |c| {
        c.connect_overrides = ConnectOverrides::new();
        c.connect_overrides.insert(HOST, 4443, server.addr);
    });
    assert_ne!(server.addr.port(), 4443);

    let r = t
        .send(
            post("https://Mail.Contoso.Test:4443/EWS/Exchange.asmx", "<x/>"),
            soon(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let seen = server.seen();
    assert_eq!(seen[0].header("host"), Some("Mail.Contoso.Test:4443"));
    assert_eq!(seen[0].path, "/EWS/Exchange.asmx");
}

#[tokio::test]
async fn alpn_negotiates_http1_even_when_the_server_offers_h2() {
    let pki = pki_with_alpn(&[HOST], &[b"h2", b"http/1.1"]);
    let server = start(pki.server.clone(), |_, _| Reply::ok("")).await;
    let t = transport(&pki.ca_pem, server.addr, |_| {});

    t.send(post(EWS, "<x/>"), soon()).await.unwrap();
    assert_eq!(server.seen()[0].alpn.as_deref(), Some(&b"http/1.1"[..]));
}

#[tokio::test]
async fn no_more_requests_are_in_flight_than_max_connections() {
    let pki = pki(&[HOST]);
    let server = start(pki.server.clone(), |_, _| {
        Reply::ok("").delayed(Duration::from_millis(50))
    })
    .await;
    let t = transport(&pki.ca_pem, server.addr, |c| c.max_connections = 2);

    let calls = (0..8).map(|_| {
        let t = t.clone();
        tokio::spawn(async move { t.send(post(EWS, "<x/>"), soon()).await })
    });
    for call in calls.collect::<Vec<_>>() {
        assert_eq!(call.await.unwrap().unwrap().status, 200);
    }
    assert_eq!(server.seen().len(), 8);
    assert!(
        server.peak_in_flight() <= 2,
        "peak {}",
        server.peak_in_flight()
    );
    assert!(
        server.connections() <= 2,
        "{} connections",
        server.connections()
    );
}

#[tokio::test]
async fn error_statuses_come_back_as_responses_with_retry_after() {
    let pki = pki(&[HOST]);
    let server = start(pki.server.clone(), |_, _| {
        Reply::new(503, "busy").header("retry-after", "17")
    })
    .await;
    let t = transport(&pki.ca_pem, server.addr, |_| {});

    let r = t.send(post(EWS, "<x/>"), soon()).await.unwrap();
    assert_eq!(r.status, 503);
    assert_eq!(r.retry_after(), Some(Duration::from_secs(17)));
}

#[test]
fn transport_debug_output_never_contains_the_password() {
    let pki = pki(&[HOST]);
    let t = transport(&pki.ca_pem, "127.0.0.1:1".parse().unwrap(), |_| {});
    let shown = format!("{t:?} {:?}", TransportConfig::new(basic()));
    assert!(!shown.contains("Pa55"), "{shown}");
}

#[tokio::test]
async fn a_request_after_the_server_dropped_an_idle_connection_goes_out_on_a_new_one() {
    let pki = pki(&[HOST]);
    let (addr, connections) = start_one_shot(pki.server.clone()).await;
    let t = transport(&pki.ca_pem, addr, |c| c.max_connections = 1);

    for _ in 0..3 {
        let r = t.send(post(EWS, "<x/>"), soon()).await.unwrap();
        assert_eq!(&r.body[..], b"ok");
    }
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 3);
}
