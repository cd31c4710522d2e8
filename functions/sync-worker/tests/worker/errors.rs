//! What failures do, by class: transient failures postpone and, ten in a row, disable;
//! mailbox-permanent ones disable at once; profile-level ones open the profile's circuit
//! and nothing is disabled. Jobs go through the function's handler: a failure the engine
//! handles is a success for the queue.

use exsync_domain::exchange::profile_secret_context;
use exsync_domain::mailbox::{IncomingTrackingOption, WorkloadStatus};
use exsync_domain::ports::{Clock, ConfigStore, SecretSealer};
use exsync_domain::profile::Circuit;
use exsync_domain::sync::job::PollReason;
use exsync_ews_sim::{FaultKind, FaultRule};
use time::Duration;

use crate::support::{
    ALICE, BOB, CAROL, Delivery, MAILBOX_OWNER, PROFILE_OWNER, SERVICE_USER, World, WorldOptions,
};

#[tokio::test]
async fn throttling_postpones_the_mailbox_for_the_servers_back_off_without_sleeping() {
    let w = World::start("backoff").await;
    let m = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    w.sim.add_fault(FaultRule::next(
        Some("SyncFolderItems"),
        1,
        FaultKind::ServerBusy {
            back_off_ms: 30_000,
        },
    ));
    let engine = w.engine();
    let response = w.handle(&engine, &[w.job(&m, PollReason::Scheduled)]).await;
    assert!(response.batch_item_failures.is_empty());
    let stored = w.reload(&m).await;
    assert_eq!(
        stored.scheduler.postponed_until,
        Some(w.clock.now() + Duration::seconds(30))
    );
    assert_eq!(stored.incoming_state.consecutive_transient_failures, 1);
    assert_eq!(
        stored.incoming_state.last_error_code.as_deref(),
        Some("ErrorServerBusy")
    );
}

#[tokio::test]
async fn a_postponed_mailbox_is_not_polled_by_the_schedule_until_its_time() {
    let w = World::start("postponed").await;
    let m = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    w.sim.add_fault(FaultRule::next(
        Some("SyncFolderItems"),
        1,
        FaultKind::ServerBusy {
            back_off_ms: 60_000,
        },
    ));
    let engine = w.engine();
    w.handle(&engine, &[w.job(&m, PollReason::Scheduled)]).await;
    let calls = w.ews_calls();
    w.clock.advance(Duration::seconds(30));
    w.handle(&engine, &[w.job(&m, PollReason::Scheduled)]).await;
    assert_eq!(w.ews_calls(), calls, "a postponed mailbox is left alone");
    w.clock.advance(Duration::seconds(31));
    w.handle(&engine, &[w.job(&m, PollReason::Scheduled)]).await;
    assert!(w.ews_calls() > calls);
    let stored = w.reload(&m).await;
    assert_eq!(stored.scheduler.postponed_until, None);
    assert_eq!(stored.incoming_state.consecutive_transient_failures, 0);
}

#[tokio::test]
async fn ten_transient_failures_in_a_row_disable_the_workload_with_an_alert_to_its_owner() {
    let w = World::start("ten").await;
    let m = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    w.sim.add_fault(FaultRule::always(
        Some("SyncFolderItems"),
        FaultKind::SoapFault {
            code: "ErrorMailboxStoreUnavailable".into(),
            message: None,
        },
    ));
    let engine = w.engine();
    for attempt in 1..=10u32 {
        let response = w.handle(&engine, &[w.job(&m, PollReason::Scheduled)]).await;
        assert!(response.batch_item_failures.is_empty());
        let stored = w.reload(&m).await;
        if attempt < 10 {
            assert!(
                stored.incoming_state.enabled,
                "still enabled after {attempt} failures"
            );
            assert!(w.alerts_of(MAILBOX_OWNER).await.is_empty());
        }
        w.clock.advance(Duration::minutes(6));
    }
    let stored = w.reload(&m).await;
    assert!(!stored.incoming_state.enabled);
    assert_eq!(stored.incoming_state.status, WorkloadStatus::Failure);
    let alerts = w.alerts_of(MAILBOX_OWNER).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].code, "ErrorMailboxStoreUnavailable");
    assert!(w.alerts_of(PROFILE_OWNER).await.is_empty());
}

#[tokio::test]
async fn impersonation_denied_disables_the_workload_at_once_alerting_both_owners() {
    let w = World::start("denied").await;
    let m = w.mailbox(CAROL, IncomingTrackingOption::AllEmail).await;
    let response = w
        .handle(&w.engine(), &[w.job(&m, PollReason::Scheduled)])
        .await;
    assert!(response.batch_item_failures.is_empty());
    let stored = w.reload(&m).await;
    assert!(!stored.incoming_state.enabled);
    assert_eq!(stored.incoming_state.status, WorkloadStatus::Failure);
    assert_eq!(
        stored.incoming_state.last_error_code.as_deref(),
        Some("ErrorImpersonateUserDenied")
    );
    let to_owner = w.alerts_of(MAILBOX_OWNER).await;
    let to_admin = w.alerts_of(PROFILE_OWNER).await;
    assert_eq!(to_owner.len(), 1);
    assert_eq!(to_admin.len(), 1);
    assert_eq!(to_owner[0].code, "ErrorImpersonateUserDenied");
    assert_eq!(to_owner[0].id, to_admin[0].id);
}

#[tokio::test]
async fn an_exchange_outage_opens_the_circuit_disables_nothing_and_everything_resumes_after_it() {
    let w = World::start_with(
        "outage",
        WorldOptions {
            through_switch: true,
            ..WorldOptions::default()
        },
    )
    .await;
    let switch = w.switch.clone().unwrap();
    let alice = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    let bob = w.mailbox(BOB, IncomingTrackingOption::AllEmail).await;
    let engine = w.engine();
    w.handle(
        &engine,
        &[
            w.job(&alice, PollReason::Scheduled),
            w.job(&bob, PollReason::Scheduled),
        ],
    )
    .await;

    switch.off().await;
    for m in [&alice, &bob, &alice] {
        let response = w.handle(&engine, &[w.job(m, PollReason::Scheduled)]).await;
        assert!(response.batch_item_failures.is_empty());
    }
    let opened = w.stored_profile().await.circuit;
    let Circuit::Open { next_probe_at, .. } = opened else {
        panic!("the circuit is open: {opened:?}");
    };
    // A probe during the outage finds it still down: the circuit stays open, probed later.
    w.clock.advance(Duration::minutes(5));
    w.handle(&engine, &[w.job(&alice, PollReason::CircuitProbe)])
        .await;
    match w.stored_profile().await.circuit {
        Circuit::Open {
            next_probe_at: later,
            ..
        } => assert!(later > next_probe_at),
        closed => panic!("still open during the outage: {closed:?}"),
    }

    switch.on().await;
    let waiting = w.deliver(BOB, Delivery::default());
    w.clock.advance(Duration::minutes(5));
    w.handle(&engine, &[w.job(&alice, PollReason::CircuitProbe)])
        .await;
    assert_eq!(w.stored_profile().await.circuit, Circuit::Closed);
    w.handle(&engine, &[w.job(&bob, PollReason::Scheduled)])
        .await;
    assert!(w.email(&waiting).await.is_some(), "bob syncs again");

    for m in [&alice, &bob] {
        let stored = w.reload(m).await;
        assert!(stored.incoming_state.enabled);
        assert_eq!(stored.incoming_state.consecutive_transient_failures, 0);
    }
    let alerts = w.alerts_of(PROFILE_OWNER).await;
    assert_eq!(
        alerts.len(),
        1,
        "one alert for the whole outage: {alerts:?}"
    );
    assert!(w.alerts_of(MAILBOX_OWNER).await.is_empty());
}

#[tokio::test]
async fn while_the_circuit_is_open_scheduled_polls_make_no_exchange_call() {
    let w = World::start_with(
        "circuit-quiet",
        WorldOptions {
            through_switch: true,
            ..WorldOptions::default()
        },
    )
    .await;
    let switch = w.switch.clone().unwrap();
    let alice = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    let bob = w.mailbox(BOB, IncomingTrackingOption::AllEmail).await;
    let engine = w.engine();
    switch.off().await;
    w.handle(&engine, &[w.job(&alice, PollReason::Scheduled)])
        .await;
    assert!(matches!(
        w.stored_profile().await.circuit,
        Circuit::Open { .. }
    ));
    switch.on().await;
    let calls = w.ews_calls();
    w.handle(&engine, &[w.job(&bob, PollReason::Scheduled)])
        .await;
    assert_eq!(w.ews_calls(), calls);
}

#[tokio::test]
async fn a_password_changed_since_it_was_cached_is_picked_up_instead_of_opening_the_circuit() {
    let w = World::start("repassword").await;
    let m = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    let engine = w.engine();
    w.poll(&engine, &m).await;

    let new_password = "Rotated-Svc-Pa55!";
    w.sim
        .directory_mut()
        .set_password(SERVICE_USER, new_password);
    w.sim.close_connections();
    let mut p = w.stored_profile().await;
    let sealer = exsync_aws::KmsSealer::from_sdk_config(&w.aws.sdk, &w.aws.names.kms_key_id);
    p.password = Some(
        sealer
            .seal(new_password, &profile_secret_context(&p.id))
            .await
            .unwrap(),
    );
    p.version += 1;
    ConfigStore::update_profile(&w.store, &p, p.version - 1)
        .await
        .unwrap();

    let mid = w.deliver(ALICE, Delivery::default());
    w.poll(&engine, &m).await;
    assert!(w.email(&mid).await.is_some());
    assert_eq!(w.stored_profile().await.circuit, Circuit::Closed);
    assert!(w.alerts_of(PROFILE_OWNER).await.is_empty());
}

#[tokio::test]
async fn an_outage_answering_503_to_every_call_opens_the_circuit_and_disables_nothing() {
    let w = World::start("outage-503").await;
    let alice = w.mailbox(ALICE, IncomingTrackingOption::AllEmail).await;
    let bob = w.mailbox(BOB, IncomingTrackingOption::AllEmail).await;
    let engine = w.engine();

    // IIS or the proxy in front of Exchange answers 503 to everything.
    w.sim
        .add_fault(FaultRule::always(None, FaultKind::ServiceUnavailable));
    for _ in 0..6 {
        for m in [&alice, &bob] {
            let response = w.handle(&engine, &[w.job(m, PollReason::Scheduled)]).await;
            assert!(response.batch_item_failures.is_empty());
        }
    }
    let opened = w.stored_profile().await.circuit;
    assert!(
        matches!(opened, Circuit::Open { .. }),
        "an outage opens the circuit: {opened:?}"
    );

    // Exchange is back: the probe closes the circuit and the mailboxes sync again.
    w.sim.clear_faults();
    let waiting = w.deliver(ALICE, Delivery::default());
    w.clock.advance(Duration::minutes(5));
    w.handle(&engine, &[w.job(&alice, PollReason::CircuitProbe)])
        .await;
    assert_eq!(w.stored_profile().await.circuit, Circuit::Closed);
    assert!(w.email(&waiting).await.is_some(), "alice syncs again");

    for m in [&alice, &bob] {
        let stored = w.reload(m).await;
        assert!(stored.incoming_state.enabled, "no mailbox is disabled");
    }
    assert_eq!(
        w.alerts_of(PROFILE_OWNER).await.len(),
        1,
        "one alert for the outage"
    );
    assert!(w.alerts_of(MAILBOX_OWNER).await.is_empty());
}
