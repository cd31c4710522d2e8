//! Throttling like EWSMaxConcurrency and the peak record tests use to prove a client-side cap.
//!
//! Requests are held in flight by a scripted delay; the tests wait until the simulator
//! reports them in flight (a condition, not a clock) before sending the one that matters.

mod server_support;

use exsync_ews_sim::{FaultKind, FaultRule, ThrottleAnswer};
use server_support::*;

/// Sends a GetFolder with Basic on its own connection, from a task, and returns the task.
async fn held_request(
    sim: &exsync_ews_sim::SimHandle,
    user: &str,
    password: &str,
) -> tokio::task::JoinHandle<Result<Reply, hyper::Error>> {
    let mut conn = Connection::open(sim).await;
    let auth = basic(user, password);
    tokio::spawn(async move {
        conn.post(EWS_PATH, Some(&auth), &get_folder_request())
            .await
    })
}

fn hold_every_request(sim: &exsync_ews_sim::SimHandle) {
    sim.set_faults(vec![FaultRule::always(
        None,
        FaultKind::Delay { ms: 120_000 },
    )]);
}

#[tokio::test]
async fn request_above_the_budget_gets_error_exceeded_connection_count() {
    let sim = start();
    sim.set_throttling(Some(2), ThrottleAnswer::ExceededConnectionCount);
    hold_every_request(&sim);
    let _a = held_request(&sim, SERVICE_LOGON, SERVICE_PASSWORD).await;
    let _b = held_request(&sim, SERVICE_LOGON, SERVICE_PASSWORD).await;
    eventually("two requests in flight", || {
        sim.load(SERVICE_USER).in_flight == 2
    })
    .await;

    let mut conn = Connection::open(&sim).await;
    let reply = conn
        .post(
            EWS_PATH,
            Some(&basic(SERVICE_LOGON, SERVICE_PASSWORD)),
            &get_folder_request(),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 500, "{reply:?}");
    assert!(
        reply.body.contains("ErrorExceededConnectionCount"),
        "{reply:?}"
    );
    assert!(
        !reply.body.contains("BackOffMilliseconds"),
        "Exchange sends no back-off with this code"
    );
    assert_eq!(sim.exchange().invalid_responses(), Vec::<String>::new());
}

#[tokio::test]
async fn peak_counts_every_request_sent_at_once_refused_ones_included() {
    let sim = start();
    sim.set_throttling(Some(2), ThrottleAnswer::ExceededConnectionCount);
    hold_every_request(&sim);
    let _a = held_request(&sim, SERVICE_LOGON, SERVICE_PASSWORD).await;
    let _b = held_request(&sim, SERVICE_LOGON, SERVICE_PASSWORD).await;
    eventually("two requests in flight", || {
        sim.load(SERVICE_USER).in_flight == 2
    })
    .await;
    let mut conn = Connection::open(&sim).await;
    conn.post(
        EWS_PATH,
        Some(&basic(SERVICE_LOGON, SERVICE_PASSWORD)),
        &get_folder_request(),
    )
    .await
    .unwrap();
    assert_eq!(sim.peak_concurrency(SERVICE_LOGON), 3);
    assert_eq!(sim.peak_concurrency("svc-exsync@contoso.test"), 3);
}

#[tokio::test]
async fn server_busy_switch_answers_with_back_off() {
    let sim = start();
    sim.set_throttling(Some(0), ThrottleAnswer::ServerBusy { back_off_ms: 4321 });
    let mut conn = Connection::open(&sim).await;
    let reply = conn
        .post(
            EWS_PATH,
            Some(&basic(SERVICE_LOGON, SERVICE_PASSWORD)),
            &get_folder_request(),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 500, "{reply:?}");
    assert!(reply.body.contains("ErrorServerBusy"), "{reply:?}");
    assert!(reply.body.contains("BackOffMilliseconds"), "{reply:?}");
    assert!(reply.body.contains("4321"), "{reply:?}");
    assert_eq!(sim.exchange().invalid_responses(), Vec::<String>::new());
}

#[tokio::test]
async fn sequential_requests_have_a_peak_of_one() {
    let sim = start();
    let mut conn = Connection::open(&sim).await;
    let auth = basic(SERVICE_LOGON, SERVICE_PASSWORD);
    for _ in 0..5 {
        conn.post(EWS_PATH, Some(&auth), &get_folder_request())
            .await
            .unwrap();
    }
    assert_eq!(sim.peak_concurrency(SERVICE_USER), 1);
    assert_eq!(sim.load(SERVICE_USER).in_flight, 0);
}

#[tokio::test]
async fn budget_is_counted_per_account() {
    let sim = start();
    sim.set_throttling(Some(1), ThrottleAnswer::ExceededConnectionCount);
    sim.set_faults(vec![FaultRule::next(
        None,
        1,
        FaultKind::Delay { ms: 120_000 },
    )]);
    let _held = held_request(&sim, SERVICE_LOGON, SERVICE_PASSWORD).await;
    eventually("the service account's request in flight", || {
        sim.load(SERVICE_USER).in_flight == 1
    })
    .await;
    let mut conn = Connection::open(&sim).await;
    let reply = conn
        .post(
            EWS_PATH,
            Some(&basic("CONTOSO\\alice", ALICE_PASSWORD)),
            &get_folder_request(),
        )
        .await
        .unwrap();
    assert!(
        !reply.body.contains("ErrorExceededConnectionCount"),
        "{reply:?}"
    );
    assert_eq!(sim.peak_concurrency("alice"), 1);
}

#[tokio::test]
async fn reset_peaks_restarts_from_the_current_load() {
    let sim = start();
    sim.set_faults(vec![FaultRule::always(None, FaultKind::Delay { ms: 200 })]);
    let a = held_request(&sim, SERVICE_LOGON, SERVICE_PASSWORD).await;
    let b = held_request(&sim, SERVICE_LOGON, SERVICE_PASSWORD).await;
    eventually("two requests in flight", || {
        sim.load(SERVICE_USER).in_flight == 2
    })
    .await;
    a.await.unwrap().unwrap();
    b.await.unwrap().unwrap();
    assert_eq!(sim.load(SERVICE_USER).in_flight, 0);
    assert_eq!(sim.peak_concurrency(SERVICE_USER), 2);
    sim.reset_peaks();
    assert_eq!(sim.peak_concurrency(SERVICE_USER), 0);
}

#[tokio::test]
async fn peak_connections_counts_authenticated_connections_per_account() {
    let sim = start();
    let mut conns = Vec::new();
    for _ in 0..3 {
        let mut conn = Connection::open(&sim).await;
        let reply = conn
            .ntlm(
                EWS_PATH,
                SERVICE_LOGON,
                SERVICE_PASSWORD,
                &get_folder_request(),
            )
            .await;
        assert_eq!(reply.status, 200);
        conns.push(conn);
    }
    assert_eq!(sim.load(SERVICE_USER).connections, 3);
    drop(conns.pop());
    eventually("one connection closed", || {
        sim.load(SERVICE_USER).connections == 2
    })
    .await;
    assert_eq!(sim.peak_connections(SERVICE_USER), 3);
}
