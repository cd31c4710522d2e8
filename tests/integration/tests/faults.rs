//! Every fault the simulator can inject ends in an error (never a panic) whose class is the
//! one `docs/errors.md` promises for it.

use exsync_ews::transport::{AuthScheme, TransportError, UnauthorizedReason};
use exsync_ews::{ErrorClass, EwsError, ResponseCode};
use exsync_ews_sim::{FaultKind, FaultRule};
use exsync_integration_tests::{ALICE, Sim, call_err, deadline, get_inbox};

const TRANSIENT: ErrorClass = ErrorClass::Transient { back_off: None };

/// The error of one GetFolder (impersonating Alice, over NTLM) that meets `fault`.
async fn error_for(sim: &Sim, fault: FaultKind) -> EwsError {
    sim.add_fault(FaultRule::next(Some("GetFolder"), 1, fault));
    let client = sim.client(AuthScheme::Ntlm);
    call_err(&client, Some(ALICE), &get_inbox()).await
}

fn http_status(err: &EwsError) -> Option<u16> {
    match err {
        EwsError::Transport(TransportError::HttpStatus { status, .. }) => Some(*status),
        _ => None,
    }
}

#[tokio::test]
async fn service_unavailable_is_transient() {
    let sim = Sim::start();

    let err = error_for(&sim, FaultKind::ServiceUnavailable).await;

    assert_eq!(http_status(&err), Some(503), "{err:?}");
    assert_eq!(err.class(), TRANSIENT);
}

#[tokio::test]
async fn a_proxys_html_error_page_is_transient() {
    let sim = Sim::start();

    let err = error_for(&sim, FaultKind::HtmlErrorPage { status: 502 }).await;

    assert_eq!(http_status(&err), Some(502), "{err:?}");
    assert_eq!(err.class(), TRANSIENT);
}

#[tokio::test]
async fn an_html_page_with_status_200_is_not_soap_and_transient() {
    let sim = Sim::start();

    let err = error_for(&sim, FaultKind::HtmlErrorPage { status: 200 }).await;

    assert!(
        matches!(err, EwsError::Xml(_) | EwsError::NotSoapEnvelope { .. }),
        "{err:?}"
    );
    assert_eq!(err.class(), TRANSIENT);
}

#[tokio::test]
async fn a_truncated_response_is_transient() {
    let sim = Sim::start();

    let err = error_for(&sim, FaultKind::TruncatedXml).await;

    assert!(matches!(err, EwsError::Xml(_)), "{err:?}");
    assert_eq!(err.class(), TRANSIENT);
}

#[tokio::test]
async fn a_malformed_response_is_transient() {
    let sim = Sim::start();

    let err = error_for(&sim, FaultKind::MalformedXml).await;

    assert!(matches!(err, EwsError::Xml(_)), "{err:?}");
    assert_eq!(err.class(), TRANSIENT);
}

#[tokio::test]
async fn a_connection_reset_mid_response_is_transient() {
    let sim = Sim::start();

    let err = error_for(&sim, FaultKind::ResetMidResponse).await;

    assert!(
        matches!(
            err,
            EwsError::Transport(TransportError::ConnectionLost { .. })
        ),
        "{err:?}"
    );
    assert_eq!(err.class(), TRANSIENT);
}

#[tokio::test]
async fn a_401_after_authentication_is_profile_level() {
    let sim = Sim::start();

    let err = error_for(&sim, FaultKind::Unauthorized).await;

    assert!(
        matches!(
            err,
            EwsError::Transport(TransportError::Unauthorized { .. })
        ),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::ProfileLevel);
}

#[tokio::test]
async fn a_401_that_persists_on_an_authenticated_connection_is_profile_level() {
    let sim = Sim::start();
    let client = sim.client(AuthScheme::Ntlm);
    client
        .call(Some(ALICE), &get_inbox(), deadline())
        .await
        .unwrap();
    sim.add_fault(FaultRule::always(
        Some("GetFolder"),
        FaultKind::Unauthorized,
    ));

    let err = call_err(&client, Some(ALICE), &get_inbox()).await;

    assert!(
        matches!(
            err,
            EwsError::Transport(TransportError::Unauthorized {
                reason: UnauthorizedReason::CredentialsRejected,
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::ProfileLevel);
}

#[tokio::test]
async fn a_single_401_on_an_authenticated_connection_is_answered_with_a_new_handshake() {
    let sim = Sim::start();
    let client = sim.client(AuthScheme::Ntlm);
    client
        .call(Some(ALICE), &get_inbox(), deadline())
        .await
        .unwrap();
    sim.add_fault(FaultRule::next(
        Some("GetFolder"),
        1,
        FaultKind::Unauthorized,
    ));

    let retried = client.call(Some(ALICE), &get_inbox(), deadline()).await;

    assert!(retried.is_ok(), "{:?}", retried.err());
    assert_eq!(sim.request_count("GetFolder"), 3, "first, refused, retried");
}

#[tokio::test]
async fn a_soap_fault_for_an_internal_server_error_is_transient() {
    let sim = Sim::start();

    let err = error_for(
        &sim,
        FaultKind::SoapFault {
            code: "ErrorInternalServerError".into(),
            message: None,
        },
    )
    .await;

    assert!(matches!(err, EwsError::Fault(_)), "{err:?}");
    assert_eq!(
        err.response_code(),
        Some(&ResponseCode::ErrorInternalServerError)
    );
    assert_eq!(err.class(), TRANSIENT);
}

#[tokio::test]
async fn a_soap_fault_for_a_mailbox_move_is_transient() {
    let sim = Sim::start();

    let err = error_for(
        &sim,
        FaultKind::SoapFault {
            code: "ErrorMailboxMoveInProgress".into(),
            message: Some("The mailbox is being moved.".into()),
        },
    )
    .await;

    assert_eq!(
        err.response_code(),
        Some(&ResponseCode::ErrorMailboxMoveInProgress)
    );
    assert_eq!(err.class(), TRANSIENT);
}

#[tokio::test]
async fn a_soap_fault_for_access_denied_is_mailbox_permanent() {
    let sim = Sim::start();

    let err = error_for(
        &sim,
        FaultKind::SoapFault {
            code: "ErrorAccessDenied".into(),
            message: None,
        },
    )
    .await;

    assert_eq!(err.response_code(), Some(&ResponseCode::ErrorAccessDenied));
    assert_eq!(err.class(), ErrorClass::MailboxPermanent);
}
