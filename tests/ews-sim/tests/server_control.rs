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

/// A SyncFolderItems of one of Alice's distinguished folders with every property, over HTTPS
/// as the service account: `(HTTP status, body)`.
async fn sync_alice(sim: &exsync_ews_sim::SimHandle, folder: &str) -> (u16, String) {
    let request = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
               xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"
               xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">
  <soap:Header>
    <t:RequestServerVersion Version="Exchange2010_SP2"/>
    <t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>{ALICE}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>
  </soap:Header>
  <soap:Body>
    <m:SyncFolderItems>
      <m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape>
      <m:SyncFolderId><t:DistinguishedFolderId Id="{folder}"/></m:SyncFolderId>
      <m:MaxChangesReturned>100</m:MaxChangesReturned>
    </m:SyncFolderItems>
  </soap:Body>
</soap:Envelope>"#
    );
    let mut conn = Connection::open(sim).await;
    let reply = conn
        .post(
            EWS_PATH,
            Some(&basic(SERVICE_LOGON, SERVICE_PASSWORD)),
            &request,
        )
        .await
        .unwrap();
    (reply.status, reply.body)
}

#[tokio::test]
async fn items_lists_a_folder_newest_first_with_every_documented_field() {
    use exsync_ews_sim::ews::IncomingMessage;
    use exsync_ews_sim::store::{EmailAddress, ExtendedProperty, PropertyKey};
    let sim = start();
    let guid = "5f6e2c1a-8d3b-4c7e-9a10-2b3c4d5e6f70";
    for (subject, received, reply_to) in [
        ("Order 4711", "2024-05-06T08:15:00Z", None),
        (
            "RE: Order 4711",
            "2024-05-07T14:02:00Z",
            Some("<order-4711@fabrikam.test>"),
        ),
    ] {
        sim.exchange()
            .deliver(
                ALICE,
                IncomingMessage {
                    from: EmailAddress::named("Fabrikam Orders", "orders@fabrikam.test"),
                    cc: vec![EmailAddress::new("bob@contoso.test")],
                    subject: subject.into(),
                    body_text: Some("Shipped.".into()),
                    message_id: reply_to
                        .is_none()
                        .then(|| "<order-4711@fabrikam.test>".to_owned()),
                    in_reply_to: reply_to.map(str::to_owned),
                    received: Some(
                        time::OffsetDateTime::parse(
                            received,
                            &time::format_description::well_known::Rfc3339,
                        )
                        .unwrap(),
                    ),
                    extended_properties: vec![ExtendedProperty::string(
                        PropertyKey::named(guid, "ExsyncActivityId"),
                        "act-1",
                    )],
                    ..IncomingMessage::default()
                },
            )
            .unwrap();
    }

    let (status, items) = control(
        &sim,
        Method::GET,
        "/sim/items?mailbox=alice%40contoso.test&folder=inbox",
        "",
    )
    .await;
    assert_eq!(status, 200, "{items}");
    let items = items.as_array().unwrap();
    assert_eq!(items.len(), 2);
    let newest = &items[0];
    assert_eq!(newest["kind"], "message");
    assert_eq!(newest["subject"], "RE: Order 4711");
    assert_eq!(newest["in_reply_to"], "<order-4711@fabrikam.test>");
    assert_eq!(newest["received"], "2024-05-07T14:02:00Z");
    assert_eq!(
        newest["from"],
        serde_json::json!({"name": "Fabrikam Orders", "address": "orders@fabrikam.test"})
    );
    assert_eq!(
        newest["cc"],
        serde_json::json!([{"name": null, "address": "bob@contoso.test"}])
    );
    assert_eq!(newest["is_read"], false);
    assert_eq!(newest["body_text"], "Shipped.");
    assert_eq!(newest["start"], Value::Null);
    assert_eq!(newest["contact"], Value::Null);
    assert_eq!(newest["attachment_names"], serde_json::json!([]));
    assert!(newest["id"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(newest["change_key"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(
        newest["extended_properties"],
        serde_json::json!([{"tag": null, "set_guid": guid, "distinguished_set": null,
            "name": "ExsyncActivityId", "id": null, "type": "String", "value": "act-1"}])
    );
    assert_eq!(
        items[1]["internet_message_id"],
        "<order-4711@fabrikam.test>"
    );
    assert_eq!(
        sim.exchange()
            .items(ALICE, exsync_ews_sim::store::DistinguishedFolder::Inbox)
            .unwrap()
            .iter()
            .map(|i| i.id.as_str().to_owned())
            .collect::<Vec<_>>(),
        items
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>(),
        "the same items as the Rust handle sees, in its order"
    );
}

#[tokio::test]
async fn items_of_an_unknown_mailbox_or_folder_are_refused_naming_it() {
    let sim = start();
    let (status, body) = control(
        &sim,
        Method::GET,
        "/sim/items?mailbox=nobody%40contoso.test&folder=inbox",
        "",
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("nobody@contoso.test")
    );

    let (status, body) = control(
        &sim,
        Method::GET,
        "/sim/items?mailbox=alice%40contoso.test&folder=journal",
        "",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("journal"));

    let (status, body) = control(&sim, Method::GET, "/sim/items?folder=inbox", "").await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("mailbox"));
}

#[tokio::test]
async fn a_calendar_item_created_over_json_is_listed_and_synced_schema_valid() {
    let sim = start();
    let (status, created) = control(
        &sim,
        Method::POST,
        "/sim/calendar-items",
        r#"{"mailbox":"alice@contoso.test","subject":"Partner call","body":"Agenda: Q3",
            "start":"2024-05-09T13:00:00Z","end":"2024-05-09T14:00:00+00:00",
            "location":"Room 4.12","attendees":[{"address":"bob@contoso.test","name":"Bob Berg"}]}"#,
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let id = created["item_id"].as_str().unwrap().to_owned();

    let (_, items) = control(
        &sim,
        Method::GET,
        "/sim/items?mailbox=alice%40contoso.test&folder=calendar",
        "",
    )
    .await;
    let item = &items[0];
    assert_eq!(item["id"], id.as_str());
    assert_eq!(item["kind"], "calendar_item");
    assert_eq!(item["start"], "2024-05-09T13:00:00Z");
    assert_eq!(item["end"], "2024-05-09T14:00:00Z");
    assert_eq!(item["location"], "Room 4.12");
    assert_eq!(
        item["from"]["address"], ALICE,
        "organised by the mailbox's owner"
    );
    assert_eq!(item["to"][0]["address"], "bob@contoso.test");

    let (status, body) = sync_alice(&sim, "calendar").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(&id) && body.contains("Partner call"),
        "{body}"
    );
    assert_eq!(sim.exchange().invalid_responses(), Vec::<String>::new());
}

#[tokio::test]
async fn a_contact_created_over_json_shows_its_names_company_and_email() {
    let sim = start();
    let (status, created) = control(
        &sim,
        Method::POST,
        "/sim/contacts",
        r#"{"mailbox":"alice@contoso.test","given_name":"Jonas","surname":"Fischer",
            "email":"jonas.fischer@fabrikam.test","company":"Fabrikam, Inc.",
            "business_phone":"+1 555 0142"}"#,
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let (_, items) = control(
        &sim,
        Method::GET,
        "/sim/items?mailbox=alice%40contoso.test&folder=contacts",
        "",
    )
    .await;
    let item = &items[0];
    assert_eq!(item["id"], created["item_id"]);
    assert_eq!(item["kind"], "contact");
    assert_eq!(item["subject"], "Jonas Fischer");
    assert_eq!(
        item["contact"],
        serde_json::json!({
            "display_name": "Jonas Fischer", "given_name": "Jonas", "surname": "Fischer",
            "company": "Fabrikam, Inc.", "job_title": null,
            "email_addresses": [{"key": "EmailAddress1", "address": "jonas.fischer@fabrikam.test"}],
            "phone_numbers": [{"key": "BusinessPhone", "number": "+1 555 0142"}],
        })
    );
    let (status, body) = sync_alice(&sim, "contacts").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("jonas.fischer@fabrikam.test"), "{body}");
    assert_eq!(sim.exchange().invalid_responses(), Vec::<String>::new());
}

#[tokio::test]
async fn a_task_created_over_json_is_listed_with_its_dates_and_status() {
    let sim = start();
    let (status, created) = control(
        &sim,
        Method::POST,
        "/sim/tasks",
        r#"{"mailbox":"alice@contoso.test","subject":"Send the NDA","body":"Signed copy",
            "start":"2024-05-07T00:00:00Z","due":"2024-05-10T00:00:00Z","status":"Completed"}"#,
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let (_, items) = control(
        &sim,
        Method::GET,
        "/sim/items?mailbox=alice%40contoso.test&folder=tasks",
        "",
    )
    .await;
    let item = &items[0];
    assert_eq!(item["kind"], "task");
    assert_eq!(item["subject"], "Send the NDA");
    assert_eq!(item["start"], "2024-05-07T00:00:00Z");
    assert_eq!(item["end"], "2024-05-10T00:00:00Z");
    assert_eq!(item["status"], "Completed");
    let (status, body) = sync_alice(&sim, "tasks").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("<t:IsComplete>true</t:IsComplete>") || body.contains("IsComplete>true<"),
        "a Completed task is complete: {body}"
    );
    assert_eq!(sim.exchange().invalid_responses(), Vec::<String>::new());
}

#[tokio::test]
async fn user_side_creations_that_the_store_refuses_answer_400_with_the_reason() {
    let sim = start();
    for (path, body, expected) in [
        (
            "/sim/calendar-items",
            r#"{"mailbox":"alice@contoso.test","subject":"x","start":"2024-05-09T14:00:00Z","end":"2024-05-09T13:00:00Z"}"#,
            "end",
        ),
        (
            "/sim/calendar-items",
            r#"{"mailbox":"alice@contoso.test","subject":"x","start":"2024-05-09T14:00:00Z"}"#,
            "end",
        ),
        (
            "/sim/tasks",
            r#"{"mailbox":"alice@contoso.test","subject":"x","status":"Done"}"#,
            "Done",
        ),
        (
            "/sim/tasks",
            r#"{"mailbox":"nobody@contoso.test","subject":"x"}"#,
            "nobody@contoso.test",
        ),
        (
            "/sim/contacts",
            r#"{"mailbox":"alice@contoso.test"}"#,
            "display_name",
        ),
        (
            "/sim/contacts",
            r#"{"mailbox":"alice@contoso.test","given_name":"A","nickname":"B"}"#,
            "nickname",
        ),
    ] {
        let (status, value) = control(&sim, Method::POST, path, body).await;
        assert_eq!(status, 400, "{path} {body}: {value}");
        let error = value["error"].as_str().unwrap_or_default();
        assert!(error.contains(expected), "{path} {body}: {error}");
    }
    for folder in ["calendar", "tasks", "contacts"] {
        let (_, items) = control(
            &sim,
            Method::GET,
            &format!("/sim/items?mailbox=alice%40contoso.test&folder={folder}"),
            "",
        )
        .await;
        assert_eq!(items, serde_json::json!([]), "nothing created in {folder}");
    }
}

#[tokio::test]
async fn items_created_over_json_keep_the_categories_the_user_gave_them() {
    let sim = start();
    for (path, body, folder) in [
        (
            "/sim/calendar-items",
            r#"{"mailbox":"alice@contoso.test","subject":"Lunch","start":"2024-05-09T12:00:00Z",
                "end":"2024-05-09T13:00:00Z","categories":["Tracked to exsync"]}"#,
            "calendar",
        ),
        (
            "/sim/contacts",
            r#"{"mailbox":"alice@contoso.test","surname":"Davolio","categories":["Tracked to exsync"]}"#,
            "contacts",
        ),
        (
            "/sim/tasks",
            r#"{"mailbox":"alice@contoso.test","subject":"Call back","categories":["Tracked to exsync"]}"#,
            "tasks",
        ),
    ] {
        let (status, created) = control(&sim, Method::POST, path, body).await;
        assert_eq!(status, 200, "{path}: {created}");
        let (_, items) = control(
            &sim,
            Method::GET,
            &format!("/sim/items?mailbox=alice%40contoso.test&folder={folder}"),
            "",
        )
        .await;
        let item = items
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == created["item_id"])
            .unwrap_or_else(|| panic!("{path}: not listed in {folder}"));
        assert_eq!(
            item["categories"],
            serde_json::json!(["Tracked to exsync"]),
            "{path}"
        );
        let (status, body) = sync_alice(&sim, folder).await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(sim.exchange().invalid_responses(), Vec::<String>::new());
}
