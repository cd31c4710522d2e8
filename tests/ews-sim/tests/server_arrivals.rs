//! Mail that keeps arriving: the configuration's arrival streams, and pausing and resuming
//! them over the `/sim/` control API.

mod server_support;

use exsync_ews_sim::config::{ArrivalConfig, ArrivalMessage};
use exsync_ews_sim::store::DistinguishedFolder;
use exsync_ews_sim::{ConfigError, SimConfig, SimError, SimHandle, SimOptions, Simulator};
use http::Method;
use serde_json::Value;
use server_support::*;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// The test period: short enough for quick tests, long enough that a loaded machine still
/// sees distinct deliveries.
const PERIOD_SECONDS: f64 = 0.05;

fn message(from: &str, subject: &str) -> ArrivalMessage {
    ArrivalMessage {
        from: from.into(),
        from_name: Some("Customer".into()),
        subject: subject.into(),
        body: Some(format!("About: {subject}")),
    }
}

/// [`config`] with one stream into Alice's Inbox cycling through two messages.
fn config_with_arrivals(every_seconds: f64) -> SimConfig {
    let mut cfg = config();
    cfg.arrivals.push(ArrivalConfig {
        to: ALICE.into(),
        every_seconds,
        messages: vec![
            message("nancy@northwind.test", "Cannot log in to the portal"),
            message("alan@adventure-works.test", "Invoice missing"),
        ],
    });
    cfg
}

async fn control(sim: &SimHandle, method: Method, path: &str) -> (u16, Value) {
    let mut conn = Connection::open(sim).await;
    let reply = conn.send(method, path, None, "").await.unwrap();
    let value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
    (reply.status, value)
}

/// Waits (bounded) until the streams have delivered at least `n` messages in all.
async fn wait_for_deliveries(sim: &SimHandle, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while sim.arrivals().delivered < n {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} deliveries",
            sim.arrivals().delivered
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_stream_delivers_its_messages_in_turn_numbered_with_fresh_message_ids() {
    let started = time::OffsetDateTime::now_utc();
    let sim = start_with(config_with_arrivals(PERIOD_SECONDS));
    wait_for_deliveries(&sim, 3).await;
    sim.pause_arrivals();
    // A delivery that passed the pause check just before completes within microseconds.
    tokio::time::sleep(Duration::from_millis(100)).await;

    let inbox = sim
        .exchange()
        .items(ALICE, DistinguishedFolder::Inbox)
        .unwrap();
    let delivered = sim.arrivals().delivered;
    assert_eq!(
        inbox.len() as u64,
        delivered,
        "every delivery is in the Inbox"
    );
    let mut oldest_first = inbox.clone();
    oldest_first.reverse();
    for (n, item) in oldest_first.iter().enumerate() {
        let sequence = n + 1;
        let subject = if n % 2 == 0 {
            "Cannot log in to the portal"
        } else {
            "Invoice missing"
        };
        assert_eq!(
            item.subject.as_deref(),
            Some(format!("{subject} (#{sequence})").as_str())
        );
        assert!(item.received >= started, "received at delivery time");
        assert_eq!(
            item.to.first().and_then(|a| a.name.as_deref()),
            Some("Alice Anders")
        );
    }
    let ids: HashSet<_> = inbox
        .iter()
        .map(|i| i.internet_message_id.clone().unwrap())
        .collect();
    assert_eq!(ids.len(), inbox.len(), "a fresh Message-ID per delivery");
    assert_eq!(sim.exchange().invalid_responses(), Vec::<String>::new());
}

#[tokio::test]
async fn pausing_over_json_stops_deliveries_and_resuming_continues_them() {
    let sim = start_with(config_with_arrivals(PERIOD_SECONDS));
    wait_for_deliveries(&sim, 1).await;

    let (status, _) = control(&sim, Method::POST, "/sim/arrivals/pause").await;
    assert_eq!(status, 200);
    // A delivery that passed the pause check just before completes within microseconds.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (_, paused) = control(&sim, Method::GET, "/sim/arrivals").await;
    assert_eq!(paused["paused"], true);
    let count = paused["delivered"].as_u64().unwrap();
    assert_eq!(paused["streams"][0]["to"], ALICE);
    assert_eq!(paused["streams"][0]["every_seconds"], PERIOD_SECONDS);
    assert_eq!(paused["streams"][0]["messages"], 2);
    assert_eq!(paused["streams"][0]["delivered"], count);

    // Ten periods: a running stream would have delivered several times.
    tokio::time::sleep(Duration::from_secs_f64(PERIOD_SECONDS * 10.0)).await;
    let (_, still) = control(&sim, Method::GET, "/sim/arrivals").await;
    assert_eq!(still["delivered"], count, "nothing delivered while paused");
    assert_eq!(
        sim.exchange()
            .item_count(ALICE, DistinguishedFolder::Inbox)
            .unwrap() as u64,
        count
    );

    let (status, _) = control(&sim, Method::POST, "/sim/arrivals/resume").await;
    assert_eq!(status, 200);
    wait_for_deliveries(&sim, count + 1).await;
    let (_, resumed) = control(&sim, Method::GET, "/sim/arrivals").await;
    assert_eq!(resumed["paused"], false);
}

#[tokio::test]
async fn without_arrivals_the_status_is_empty_and_pausing_is_harmless() {
    let sim = start();
    let (status, _) = control(&sim, Method::POST, "/sim/arrivals/pause").await;
    assert_eq!(status, 200);
    let (status, value) = control(&sim, Method::GET, "/sim/arrivals").await;
    assert_eq!(status, 200);
    assert_eq!(
        value,
        serde_json::json!({"paused": true, "delivered": 0, "streams": []})
    );
}

#[test]
fn the_first_delivery_comes_one_period_after_start() {
    let sim = start_with(config_with_arrivals(60.0));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(sim.arrivals().delivered, 0);
}

fn start_error(cfg: SimConfig) -> ConfigError {
    match Simulator::start(cfg, SimOptions::default()) {
        Err(SimError::Config(e)) => e,
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn a_stream_to_an_unknown_mailbox_or_without_messages_or_period_is_refused_at_start() {
    let mut cfg = config_with_arrivals(1.0);
    cfg.arrivals[0].to = "nobody@contoso.test".into();
    assert_eq!(
        start_error(cfg),
        ConfigError::ArrivalMailbox {
            to: "nobody@contoso.test".into()
        }
    );

    let mut cfg = config_with_arrivals(1.0);
    cfg.arrivals[0].messages.clear();
    assert_eq!(
        start_error(cfg),
        ConfigError::ArrivalMessages { to: ALICE.into() }
    );

    for every_seconds in [0.0, -1.0, f64::NAN, f64::INFINITY, 0.0001] {
        let error = start_error(config_with_arrivals(every_seconds));
        assert!(
            matches!(error, ConfigError::ArrivalPeriod { .. }),
            "{every_seconds}: {error:?}"
        );
    }
}

#[test]
fn the_arrivals_section_refuses_unknown_fields() {
    let error = SimConfig::from_json(
        r#"{"domains":["contoso.test"],"arrivals":[{"to":"a@contoso.test","every_seconds":1,
            "messages":[],"every_ms":5}]}"#,
    )
    .unwrap_err();
    assert!(error.to_string().contains("every_ms"), "{error}");
}
