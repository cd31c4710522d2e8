//! The NTLM legs over HTTP ([MS-NTHT]) against a flow stand-in: which request carries
//! which message on which connection, re-authentication, and failures. Password
//! verification (NTLMv2 proof) is tested against the simulator in tests/integration.

mod transport_support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use exsync_ews::ErrorClass;
use exsync_ews::transport::{
    AuthScheme, Credentials, HttpTransport, Secret, TransportConfig, TransportError,
    UnauthorizedReason,
};
use transport_support::{NtlmLeg, Reply, Type3, ntlm_handler, ntlm_leg, pki, start};

const HOST: &str = "mail.contoso.test";
const EWS: &str = "https://mail.contoso.test/EWS/Exchange.asmx";

fn transport(ca_pem: &str, addr: SocketAddr, max_connections: usize) -> HttpTransport {
    let mut config = TransportConfig::new(Credentials {
        scheme: AuthScheme::Ntlm,
        user: "CONTOSO\\svc-exsync".into(),
        password: Secret::new("Pa55word!"),
    });
    config.ca_pem = Some(ca_pem.as_bytes().to_vec());
    config.connect_overrides.insert(HOST, 443, addr);
    config.max_connections = max_connections;
    HttpTransport::new(config).unwrap()
}

fn post(body: &str) -> http::Request<Bytes> {
    http::Request::post(EWS)
        .header("content-type", "text/xml; charset=utf-8")
        .body(Bytes::from(body.to_owned()))
        .unwrap()
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

/// (connection, leg, body) for every request the server saw.
fn legs(server: &transport_support::Server) -> Vec<(usize, NtlmLeg, String)> {
    server
        .seen()
        .iter()
        .map(|s| {
            (
                s.connection,
                ntlm_leg(s),
                String::from_utf8(s.body.clone()).unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn one_handshake_per_connection_then_no_authorization() {
    let pki = pki(&[HOST]);
    let server = start(
        pki.server.clone(),
        ntlm_handler(Type3::Accept, |_, _| Reply::ok("<ok/>")),
    )
    .await;
    let t = transport(&pki.ca_pem, server.addr, 1);

    let first = t.send(post("<first/>"), soon()).await.unwrap();
    let second = t.send(post("<second/>"), soon()).await.unwrap();
    assert_eq!(first.status, 200);
    assert_eq!(&first.body[..], b"<ok/>");
    assert_eq!(second.status, 200);

    assert_eq!(
        legs(&server),
        vec![
            (0, NtlmLeg::Anonymous, "<first/>".into()),
            (0, NtlmLeg::Type1, "".into()),
            (0, NtlmLeg::Type3, "<first/>".into()),
            (0, NtlmLeg::Anonymous, "<second/>".into()),
        ]
    );
    // The Type 1 leg has an explicit empty body.
    assert_eq!(server.seen()[1].header("content-length"), Some("0"));
}

#[tokio::test]
async fn a_rejected_type3_is_a_profile_level_unauthorized() {
    let pki = pki(&[HOST]);
    let server = start(
        pki.server.clone(),
        ntlm_handler(Type3::Reject, |_, _| Reply::ok("")),
    )
    .await;
    let t = transport(&pki.ca_pem, server.addr, 1);

    let err = t.send(post("<x/>"), soon()).await.unwrap_err();
    assert!(
        matches!(
            err,
            TransportError::Unauthorized {
                scheme: AuthScheme::Ntlm,
                reason: UnauthorizedReason::CredentialsRejected,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::ProfileLevel);
    // No retry of a real rejection: exactly one handshake.
    assert_eq!(server.seen().len(), 3);
}

#[tokio::test]
async fn a_401_on_an_authenticated_connection_reauthenticates_on_a_fresh_one() {
    let pki = pki(&[HOST]);
    // The first connection forgets its authentication after one answered request, as when
    // the IIS application pool recycles.
    let forgetful = start(pki.server.clone(), {
        let inner = ntlm_handler(Type3::Accept, |_, _| Reply::ok("<ok/>"));
        move |seen, state| {
            if state.id == 0 && state.authenticated && ntlm_leg(seen) == NtlmLeg::Anonymous {
                state.authenticated = false;
            }
            inner(seen, state)
        }
    })
    .await;
    let t = transport(&pki.ca_pem, forgetful.addr, 1);

    t.send(post("<first/>"), soon()).await.unwrap();
    let again = t.send(post("<second/>"), soon()).await.unwrap();
    assert_eq!(again.status, 200);

    assert_eq!(
        legs(&forgetful),
        vec![
            (0, NtlmLeg::Anonymous, "<first/>".into()),
            (0, NtlmLeg::Type1, "".into()),
            (0, NtlmLeg::Type3, "<first/>".into()),
            (0, NtlmLeg::Anonymous, "<second/>".into()),
            (1, NtlmLeg::Anonymous, "<second/>".into()),
            (1, NtlmLeg::Type1, "".into()),
            (1, NtlmLeg::Type3, "<second/>".into()),
        ]
    );
}

#[tokio::test]
async fn a_server_that_offers_no_ntlm_is_reported_with_its_schemes() {
    let pki = pki(&[HOST]);
    let server = start(pki.server.clone(), |_, _| {
        Reply::new(401, "").header("www-authenticate", "Basic realm=\"mail\"")
    })
    .await;
    let t = transport(&pki.ca_pem, server.addr, 1);

    let err = t.send(post("<x/>"), soon()).await.unwrap_err();
    match err {
        TransportError::Unauthorized {
            reason: UnauthorizedReason::SchemeNotOffered { offered },
            ..
        } => assert_eq!(offered, vec!["Basic"]),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_server_without_a_challenge_is_reported_as_no_challenge() {
    let pki = pki(&[HOST]);
    let server = start(pki.server.clone(), |_, _| {
        Reply::new(401, "").header("www-authenticate", "NTLM")
    })
    .await;
    let t = transport(&pki.ca_pem, server.addr, 1);

    let err = t.send(post("<x/>"), soon()).await.unwrap_err();
    assert!(
        matches!(
            err,
            TransportError::Unauthorized {
                reason: UnauthorizedReason::NoChallenge,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn concurrent_handshakes_stay_on_their_own_connections() {
    let pki = pki(&[HOST]);
    let server = start(
        pki.server.clone(),
        ntlm_handler(Type3::Accept, |_, _| {
            Reply::ok("<ok/>").delayed(Duration::from_millis(20))
        }),
    )
    .await;
    let t = transport(&pki.ca_pem, server.addr, 4);

    let calls: Vec<_> = (0..12)
        .map(|i| {
            let t = t.clone();
            tokio::spawn(async move { t.send(post(&format!("<r{i}/>")), soon()).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap().status, 200);
    }

    let legs = legs(&server);
    assert!(
        server.connections() <= 4,
        "{} connections",
        server.connections()
    );
    assert!(server.peak_in_flight() <= 4);
    // Every connection: anonymous, Type 1, Type 3 (same body as the anonymous leg), then
    // only anonymous requests.
    for conn in 0..server.connections() {
        let on: Vec<_> = legs.iter().filter(|(c, _, _)| *c == conn).collect();
        assert_eq!(on[0].1, NtlmLeg::Anonymous);
        assert_eq!(on[1].1, NtlmLeg::Type1);
        assert_eq!(on[2].1, NtlmLeg::Type3);
        assert_eq!(on[0].2, on[2].2);
        assert!(on[3..].iter().all(|(_, leg, _)| *leg == NtlmLeg::Anonymous));
    }
    // Each of the 12 bodies was answered once: in a Type 3 leg or an authenticated one.
    let answered = legs
        .iter()
        .enumerate()
        .filter(|(i, (c, leg, _))| {
            *leg == NtlmLeg::Type3
                || (*leg == NtlmLeg::Anonymous
                    && legs[..*i]
                        .iter()
                        .any(|(c2, l2, _)| c2 == c && *l2 == NtlmLeg::Type3))
        })
        .count();
    assert_eq!(answered, 12);
}
