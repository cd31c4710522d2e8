//! Throttling: the server's back-off hint reaches the caller (in both forms Exchange sends),
//! and the client's connection cap holds under load, for NTLM and for Basic.

use std::sync::Arc;
use std::time::Duration;

use exsync_ews::operations::MaxChangesReturned;
use exsync_ews::transport::AuthScheme;
use exsync_ews::types::DistinguishedFolderName;
use exsync_ews::{ErrorClass, EwsError, ResponseCode};
use exsync_ews_sim::{FaultKind, FaultRule};
use exsync_integration_tests::{
    ALICE, BOB, SERVICE_LOGON, Sim, call_err, client, deadline, get_inbox, sync_page,
};
use tokio::task::JoinSet;

#[tokio::test]
async fn a_server_busy_fault_carries_its_back_off_and_is_transient() {
    let sim = Sim::start();
    sim.add_fault(FaultRule::next(
        Some("GetFolder"),
        1,
        FaultKind::ServerBusy { back_off_ms: 1_234 },
    ));
    let client = sim.client(AuthScheme::Ntlm);

    let err = call_err(&client, Some(ALICE), &get_inbox()).await;

    let back_off = Some(Duration::from_millis(1_234));
    assert!(matches!(err, EwsError::Fault(_)), "{err:?}");
    assert_eq!(err.response_code(), Some(&ResponseCode::ErrorServerBusy));
    assert_eq!(err.back_off(), back_off);
    assert_eq!(err.class(), ErrorClass::Transient { back_off });
}

#[tokio::test]
async fn server_busy_inside_a_200_answer_carries_its_back_off_and_is_transient() {
    let sim = Sim::start();
    sim.add_fault(FaultRule::next(
        Some("SyncFolderItems"),
        1,
        FaultKind::InnerServerBusy {
            back_off_ms: Some(2_500),
        },
    ));
    let client = sim.client(AuthScheme::Ntlm);
    let op = sync_page(
        DistinguishedFolderName::Inbox,
        None,
        MaxChangesReturned::MAX,
    );

    let err = call_err(&client, Some(ALICE), &op).await;

    let back_off = Some(Duration::from_millis(2_500));
    assert!(matches!(err, EwsError::Response(_)), "{err:?}");
    assert_eq!(
        err.response_code(),
        Some(&ResponseCode::ErrorInternalServerError)
    );
    assert_eq!(err.inner_code(), Some(&ResponseCode::ErrorServerBusy));
    assert_eq!(err.back_off(), back_off);
    assert_eq!(err.class(), ErrorClass::Transient { back_off });
}

/// Twenty GetFolder calls at once through a client capped at three connections, each held
/// open a little on the server so that they overlap; returns the server's peak.
async fn peak_of_twenty_concurrent_calls(scheme: AuthScheme) -> usize {
    let sim = Sim::start();
    // The delay keeps each request in flight long enough for the others to queue behind
    // the cap; it is a server-side fault, not a sleep the test synchronises on.
    sim.add_fault(FaultRule::always(
        Some("GetFolder"),
        FaultKind::Delay { ms: 40 },
    ));
    let mut config = sim.client_config(scheme);
    config.max_connections = 3;
    let client = Arc::new(client(config));

    let mut calls = JoinSet::new();
    for n in 0..20 {
        let client = Arc::clone(&client);
        let mailbox = if n % 2 == 0 { ALICE } else { BOB };
        calls.spawn(async move { client.call(Some(mailbox), &get_inbox(), deadline()).await });
    }
    let mut succeeded = 0;
    while let Some(joined) = calls.join_next().await {
        let response = joined.expect("the call task ran to completion");
        assert!(response.is_ok(), "{:?}", response.err());
        succeeded += 1;
    }

    assert_eq!(succeeded, 20);
    assert_eq!(sim.request_count("GetFolder"), 20);
    sim.peak_concurrency(SERVICE_LOGON)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ntlm_client_never_has_more_requests_in_flight_than_its_connection_cap() {
    let peak = peak_of_twenty_concurrent_calls(AuthScheme::Ntlm).await;

    assert!(peak <= 3, "peak {peak} exceeds the cap of 3");
    assert!(peak >= 2, "peak {peak}: the calls did not overlap at all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_basic_client_never_has_more_requests_in_flight_than_its_connection_cap() {
    let peak = peak_of_twenty_concurrent_calls(AuthScheme::Basic).await;

    assert!(peak <= 3, "peak {peak} exceeds the cap of 3");
    assert!(peak >= 2, "peak {peak}: the calls did not overlap at all");
}
