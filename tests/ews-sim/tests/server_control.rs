//! The `/sim/` JSON control API that non-Rust callers (the exchangelib suite, the demo) use.

mod server_support;

use http::Method;
use serde_json::Value;
use server_support::*;

async fn control(
    sim: &exsync_ews_sim::SimHandle,
    method: Method,
    path: &str,
    body: &str,
) -> (u16, Value) {
    let mut conn = Connection::open(sim).await;
    let reply = conn.send(method, path, None, body).await.unwrap();
    let value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
    (reply.status, value)
}

async fn ews_status(sim: &exsync_ews_sim::SimHandle) -> u16 {
    let mut conn = Connection::open(sim).await;
    conn.post(
        EWS_PATH,
        Some(&basic(SERVICE_LOGON, SERVICE_PASSWORD)),
        &get_folder_request(),
    )
    .await
    .unwrap()
    .status
}

#[tokio::test]
async fn info_reports_where_the_simulator_listens() {
    let sim = start();
    let (status, info) = control(&sim, Method::GET, "/sim/info", "").await;
    assert_eq!(status, 200);
    assert_eq!(info["ews_url"], sim.ews_url());
    assert_eq!(info["autodiscover_url"], sim.autodiscover_url());
    assert_eq!(info["http_probe_url"], sim.http_probe_url());
    assert_eq!(info["ca_pem"], sim.ca_pem_path().display().to_string());
}

#[tokio::test]
async fn fault_script_set_over_json_applies_to_ews() {
    let sim = start();
    let (status, _) = control(
        &sim,
        Method::POST,
        "/sim/faults",
        r#"[{"mode":{"sequence":[{"kind":"service_unavailable"}]}}]"#,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(ews_status(&sim).await, 503);
    assert_eq!(ews_status(&sim).await, 200, "the sequence is spent");
}

#[tokio::test]
async fn fault_added_and_cleared_over_json() {
    let sim = start();
    control(
        &sim,
        Method::POST,
        "/sim/faults/add",
        r#"{"mode":{"probability":{"p":1.0,"fault":{"kind":"html_error_page","status":502}}}}"#,
    )
    .await;
    assert_eq!(ews_status(&sim).await, 502);
    let (status, _) = control(&sim, Method::POST, "/sim/faults/clear", "").await;
    assert_eq!(status, 200);
    assert_eq!(ews_status(&sim).await, 200);
}

#[tokio::test]
async fn auth_switch_over_json_refuses_basic() {
    let sim = start();
    let (status, _) = control(
        &sim,
        Method::POST,
        "/sim/auth",
        r#"{"ntlm":true,"basic":false}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(ews_status(&sim).await, 401);
}

#[tokio::test]
async fn load_and_counts_are_reported_and_peaks_reset() {
    let sim = start();
    ews_status(&sim).await;
    let (_, load) = control(&sim, Method::GET, "/sim/load", "").await;
    assert_eq!(load[SERVICE_USER]["peak_in_flight"], 1);
    let (_, counts) = control(&sim, Method::GET, "/sim/counts", "").await;
    let total: u64 = counts
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert_eq!(total, 1);
    control(&sim, Method::POST, "/sim/load/reset", "").await;
    let (_, load) = control(&sim, Method::GET, "/sim/load", "").await;
    assert_eq!(load[SERVICE_USER]["peak_in_flight"], 0);
}

#[tokio::test]
async fn throttling_set_over_json_refuses_requests() {
    let sim = start();
    control(
        &sim,
        Method::POST,
        "/sim/throttling",
        r#"{"max_concurrency":0,"answer":{"server_busy":{"back_off_ms":1000}}}"#,
    )
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
    assert_eq!(reply.status, 500);
    assert_eq!(sim.peak_concurrency(SERVICE_USER), 1);
}

#[tokio::test]
async fn close_connections_over_json_closes_kept_alive_connections() {
    let sim = start();
    let mut ews = Connection::open(&sim).await;
    let reply = ews
        .ntlm(
            EWS_PATH,
            SERVICE_LOGON,
            SERVICE_PASSWORD,
            &get_folder_request(),
        )
        .await;
    assert_eq!(reply.status, 200);
    let (status, _) = control(&sim, Method::POST, "/sim/close-connections", "").await;
    assert_eq!(status, 200);
    ews.closed_by_server().await;
}

#[tokio::test]
async fn autodiscover_behavior_set_over_json() {
    let sim = start();
    control(
        &sim,
        Method::POST,
        "/sim/autodiscover",
        r#"{"host":"contoso.test","behavior":"not_found"}"#,
    )
    .await;
    let mut conn = Connection::open_as(&sim, "contoso.test").await;
    let reply = conn
        .post(
            AUTODISCOVER_PATH,
            Some(&basic(SERVICE_LOGON, SERVICE_PASSWORD)),
            &autodiscover_request(ALICE),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 404);
}

#[tokio::test]
async fn directory_changes_over_json() {
    let sim = start();
    control(
        &sim,
        Method::POST,
        "/sim/password",
        r#"{"account":"svc-exsync","password":"Changed-Pa55!"}"#,
    )
    .await;
    assert_eq!(ews_status(&sim).await, 401);
    control(
        &sim,
        Method::POST,
        "/sim/impersonation/revoke",
        r#"{"account":"svc-exsync","mailbox":"alice@contoso.test"}"#,
    )
    .await;
    assert!(!sim.directory().can_impersonate(SERVICE_USER, ALICE));
    assert!(
        sim.directory()
            .can_impersonate(SERVICE_USER, "bob@contoso.test")
    );
    control(
        &sim,
        Method::POST,
        "/sim/mailboxes",
        r#"{"smtp":"dave@contoso.test","display_name":"Dave"}"#,
    )
    .await;
    assert!(sim.directory().mailbox("dave@contoso.test").is_some());
}

#[tokio::test]
async fn unknown_endpoint_and_bad_json_are_refused() {
    let sim = start();
    let (status, body) = control(&sim, Method::POST, "/sim/nothing", "").await;
    assert_eq!(status, 404);
    assert!(body["error"].is_string());
    let (status, body) = control(&sim, Method::POST, "/sim/faults", "{not json").await;
    assert_eq!(status, 400);
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn deliver_over_json_puts_a_message_in_the_inbox() {
    let sim = start();
    let before = sim
        .exchange()
        .item_count(ALICE, exsync_ews_sim::store::DistinguishedFolder::Inbox)
        .unwrap();
    let (status, value) = control(
        &sim,
        Method::POST,
        "/sim/deliver",
        r#"{"to":"alice@contoso.test","from":"orders@fabrikam.test","from_name":"Fabrikam",
            "subject":"Delivered by the control API","body":"Hello",
            "received":"2024-05-06T08:15:00Z"}"#,
    )
    .await;
    assert_eq!(status, 200, "{value}");
    assert!(value["item_id"].as_str().is_some_and(|id| !id.is_empty()));
    let after = sim
        .exchange()
        .item_count(ALICE, exsync_ews_sim::store::DistinguishedFolder::Inbox)
        .unwrap();
    assert_eq!(after, before + 1);
}

#[tokio::test]
async fn deliver_to_an_unknown_mailbox_is_refused() {
    let sim = start();
    let (status, value) = control(
        &sim,
        Method::POST,
        "/sim/deliver",
        r#"{"to":"nobody@contoso.test","from":"x@fabrikam.test","subject":"lost"}"#,
    )
    .await;
    assert_eq!(status, 400, "{value}");
}

#[tokio::test]
async fn no_response_so_far_failed_schema_validation() {
    let sim = start();
    ews_status(&sim).await;
    let (status, value) = control(&sim, Method::GET, "/sim/invalid-responses", "").await;
    assert_eq!(status, 200);
    assert_eq!(value, serde_json::json!([]));
}
