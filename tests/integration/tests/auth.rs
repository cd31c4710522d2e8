//! Authentication and transport security of exsync's EWS client against the simulator:
//! Basic and NTLM (the simulator verifies the NTLMv2 proof), wrong passwords, connections
//! the server drops, the CA the client trusts, and URLs it refuses.

use exsync_ews::ErrorClass;
use exsync_ews::EwsError;
use exsync_ews::client::EwsClientConfig;
use exsync_ews::transport::{AuthScheme, TransportError, UnauthorizedReason};
use exsync_ews::types::Folder;
use exsync_integration_tests::{
    ALICE, SERVICE_MAILBOX, Sim, call_err, client, config, credentials, deadline, error_chain,
    get_inbox, wait_until,
};

/// The Inbox a GetFolder answered with.
fn inbox(response: Vec<Result<Folder, EwsError>>) -> Folder {
    let mut folders = response.into_iter();
    let folder = folders
        .next()
        .expect("one response message")
        .expect("the Inbox");
    assert!(folders.next().is_none(), "one folder asked, one answered");
    folder
}

#[tokio::test]
async fn basic_get_folder_impersonating_alice_answers_with_alices_inbox() {
    let sim = Sim::start();
    // Different Inbox contents tell the two mailboxes apart.
    sim.deliver_messages(ALICE, 3);
    sim.deliver_messages(SERVICE_MAILBOX, 1);
    let client = sim.client(AuthScheme::Basic);

    let alices = inbox(
        client
            .call(Some(ALICE), &get_inbox(), deadline())
            .await
            .unwrap()
            .body,
    );
    let own = inbox(
        client
            .call(None, &get_inbox(), deadline())
            .await
            .unwrap()
            .body,
    );

    assert_eq!(alices.total_count, Some(3));
    assert_eq!(own.total_count, Some(1));
    assert_ne!(alices.folder_id, own.folder_id);
    assert_eq!(sim.request_count("GetFolder"), 2);
}

#[tokio::test]
async fn ntlm_against_an_ntlm_only_endpoint_succeeds() {
    let mut cfg = config();
    cfg.auth.basic = false;
    let sim = Sim::start_with(cfg);
    sim.deliver_messages(ALICE, 2);
    let client = sim.client(AuthScheme::Ntlm);

    let folder = inbox(
        client
            .call(Some(ALICE), &get_inbox(), deadline())
            .await
            .unwrap()
            .body,
    );

    assert_eq!(folder.total_count, Some(2));
    assert!(
        client.server_version().is_some(),
        "the answer's ServerVersionInfo is remembered"
    );
}

#[tokio::test]
async fn basic_against_an_ntlm_only_endpoint_is_a_profile_level_error() {
    let mut cfg = config();
    cfg.auth.basic = false;
    let sim = Sim::start_with(cfg);
    let client = sim.client(AuthScheme::Basic);

    let err = call_err(&client, Some(ALICE), &get_inbox()).await;

    assert_eq!(err.class(), ErrorClass::ProfileLevel);
    assert!(
        matches!(
            &err,
            EwsError::Transport(TransportError::Unauthorized {
                reason: UnauthorizedReason::SchemeNotOffered { .. },
                ..
            })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn wrong_ntlm_password_is_a_profile_level_error() {
    let mut cfg = config();
    cfg.auth.basic = false;
    let sim = Sim::start_with(cfg);
    let mut config = sim.client_config(AuthScheme::Ntlm);
    config.credentials = credentials(AuthScheme::Ntlm, "not-the-password");
    let client = client(config);

    let err = call_err(&client, Some(ALICE), &get_inbox()).await;

    assert_eq!(err.class(), ErrorClass::ProfileLevel);
    assert!(
        matches!(
            &err,
            EwsError::Transport(TransportError::Unauthorized {
                scheme: AuthScheme::Ntlm,
                reason: UnauthorizedReason::CredentialsRejected,
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(
        sim.request_count("GetFolder"),
        0,
        "no EWS request ran unauthenticated"
    );
}

#[tokio::test]
async fn wrong_basic_password_is_a_profile_level_error() {
    let sim = Sim::start();
    let mut config = sim.client_config(AuthScheme::Basic);
    config.credentials = credentials(AuthScheme::Basic, "not-the-password");
    let client = client(config);

    let err = call_err(&client, Some(ALICE), &get_inbox()).await;

    assert_eq!(err.class(), ErrorClass::ProfileLevel);
    assert!(
        matches!(
            &err,
            EwsError::Transport(TransportError::Unauthorized {
                reason: UnauthorizedReason::CredentialsRejected,
                ..
            })
        ),
        "{err:?}"
    );
}

/// The server closes the client's authenticated connections between two calls while the
/// client's runtime is not running, as happens to a Lambda execution environment frozen
/// between invocations (and, with a narrower window, to any client whose next call starts
/// before it has read the server's FIN). The second call must go out on a new connection
/// with a new NTLM handshake instead of failing on the dead one.
#[test]
fn ntlm_reauthenticates_transparently_after_the_server_closed_its_connections_between_calls() {
    let mut cfg = config();
    cfg.auth.basic = false;
    let sim = Sim::start_with(cfg);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = sim.client(AuthScheme::Ntlm);
    runtime
        .block_on(client.call(Some(ALICE), &get_inbox(), deadline()))
        .unwrap();

    sim.close_connections();
    wait_until("the simulator has closed every connection", || {
        sim.open_connections() == 0
    });
    let second = runtime.block_on(client.call(Some(ALICE), &get_inbox(), deadline()));

    assert!(second.is_ok(), "{:?}", second.err());
    assert_eq!(sim.request_count("GetFolder"), 2);
}

/// A CA of our own that never signed anything the simulator presents.
fn unrelated_ca_pem() -> Vec<u8> {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Unrelated Root CA");
    let key = rcgen::KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().pem().into_bytes()
}

#[tokio::test]
async fn a_server_certificate_from_an_untrusted_ca_is_a_profile_level_tls_error() {
    let sim = Sim::start();
    let mut config = sim.client_config(AuthScheme::Ntlm);
    config.ca_pem = Some(unrelated_ca_pem());
    let client = client(config);

    let err = call_err(&client, Some(ALICE), &get_inbox()).await;

    assert_eq!(err.class(), ErrorClass::ProfileLevel);
    assert!(
        matches!(&err, EwsError::Transport(TransportError::Tls { .. })),
        "{err:?}"
    );
    let message = error_chain(&err);
    assert!(message.contains("TLS"), "{message}");
    assert_eq!(sim.request_count("GetFolder"), 0);
}

#[tokio::test]
async fn an_http_ews_url_is_refused_before_any_connection() {
    let sim = Sim::start();
    let plain_url = sim.ews_url().replacen("https://", "http://", 1);
    let mut config = EwsClientConfig::new(
        plain_url,
        exsync_integration_tests::service_credentials(AuthScheme::Basic),
    );
    config.ca_pem = Some(sim.ca_pem().to_vec());

    let err = exsync_ews::client::EwsClient::new(config).unwrap_err();

    assert_eq!(err.class(), ErrorClass::ProfileLevel);
    assert!(
        matches!(
            &err,
            EwsError::Transport(TransportError::InsecureUrl { .. })
        ),
        "{err:?}"
    );
    assert_eq!(sim.request_count("GetFolder"), 0);
    assert_eq!(sim.open_connections(), 0);
}
