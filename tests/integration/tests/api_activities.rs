//! The admin API for activities and records, over HTTP against the local AWS endpoint:
//! sending an email (Pending Send), reading and listing tracked email; appointments,
//! contacts and tasks (create, read, update, delete, list); email-enabled records.

mod api_support;

use api_support::*;
use reqwest::Method;
use serde_json::{Value, json};

/// A sending mailbox owned by `owner` (no profile needed to queue email).
async fn sender(api: &Api, owner: &str) -> String {
    let m = api.create_mailbox(ALICE, None, owner).await;
    text(&m, "id").to_owned()
}

async fn record(api: &Api, kind: &str, name: &str, address: &str) -> Value {
    api.post(
        "/records",
        json!({"kind": kind, "name": name, "addresses": [address]}),
    )
    .await
    .expect(201)
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| text(i, "id").to_owned())
        .collect()
}

// --- email --------------------------------------------------------------------------

#[tokio::test]
async fn a_sent_email_is_pending_send_with_its_parties_resolved() {
    let api = Api::start("email-send").await;
    let from = sender(&api, ADMIN).await;
    let fabrikam = record(&api, "account", "Fabrikam", "orders@fabrikam.test").await;
    let email = api
        .post(
            "/emails",
            json!({
                "sender_mailbox_id": from,
                "to": ["orders@fabrikam.test"],
                "cc": ["someone@elsewhere.test"],
                "subject": "Your order",
                "body_text": "It has shipped.",
            }),
        )
        .await
        .expect(201);
    assert_eq!(email["status"], "pending_send");
    assert_eq!(email["direction"], "outgoing");
    assert_eq!(email["sender_mailbox"], from.as_str());
    assert_eq!(email["from"]["address"], ALICE);
    assert_eq!(email["to"][0]["record"], fabrikam["id"]);
    assert!(email["cc"][0].get("record").is_none(), "{email}");
    assert_eq!(email["owner"], ADMIN);

    let fetched = api
        .get(&format!("/emails/{}", text(&email, "id")))
        .await
        .expect(200);
    assert_eq!(fetched, email);
}

#[tokio::test]
async fn emails_are_listed_by_regarding_record() {
    let api = Api::start("email-regarding").await;
    let from = sender(&api, ADMIN).await;
    let lead = record(&api, "lead", "Prospect", "prospect@fabrikam.test").await;
    let lead_id = text(&lead, "id");
    let mut sent = Vec::new();
    for subject in ["first", "second"] {
        let e = api
            .post(
                "/emails",
                json!({"sender_mailbox_id": from, "to": ["prospect@fabrikam.test"],
                       "subject": subject, "regarding": lead_id}),
            )
            .await
            .expect(201);
        sent.push(text(&e, "id").to_owned());
    }
    api.post(
        "/emails",
        json!({"sender_mailbox_id": from, "to": ["x@fabrikam.test"], "subject": "unrelated"}),
    )
    .await
    .expect(201);
    let page = api
        .get(&format!("/emails?regarding={lead_id}"))
        .await
        .expect(200);
    let mut listed = ids(&page);
    listed.sort();
    sent.sort();
    assert_eq!(listed, sent);
}

#[tokio::test]
async fn emails_are_listed_by_mailbox() {
    let api = Api::start("email-mailbox").await;
    let from = sender(&api, ADMIN).await;
    let e = api
        .post(
            "/emails",
            json!({"sender_mailbox_id": from, "to": ["x@fabrikam.test"], "subject": "hello"}),
        )
        .await
        .expect(201);
    let page = api
        .get(&format!("/emails?mailbox={from}"))
        .await
        .expect(200);
    assert_eq!(ids(&page), [text(&e, "id")]);
}

#[tokio::test]
async fn bad_email_fields_are_named() {
    let api = Api::start("email-400").await;
    let from = sender(&api, ADMIN).await;
    let mut fields = api
        .post(
            "/emails",
            json!({"sender_mailbox_id": from, "to": ["ok@fabrikam.test", "not an address"],
                   "subject": "s".repeat(401)}),
        )
        .await
        .bad_fields();
    fields.sort();
    assert_eq!(fields, ["subject", "to.1"]);
    let fields = api
        .post("/emails", json!({"to": ["ok@fabrikam.test"]}))
        .await
        .bad_fields();
    assert_eq!(fields, ["sender_mailbox_id"]);
}

#[tokio::test]
async fn a_mailbox_that_does_not_send_through_server_side_sync_cannot_send() {
    let api = Api::start("email-409").await;
    let m = api
        .post(
            "/mailboxes",
            json!({"name": "Alice", "email": ALICE, "outgoing": "email_router"}),
        )
        .await
        .expect(201);
    api.post(
        "/emails",
        json!({"sender_mailbox_id": text(&m, "id"), "to": ["x@fabrikam.test"]}),
    )
    .await
    .expect(409);
}

#[tokio::test]
async fn listing_emails_needs_a_mailbox_or_a_record() {
    let api = Api::start("email-list-400").await;
    assert_eq!(api.get("/emails").await.bad_fields(), ["mailbox"]);
}

#[tokio::test]
async fn an_unknown_email_is_a_404() {
    let api = Api::start("email-404").await;
    api.get("/emails/no-such-email").await.expect(404);
}

// --- appointments, contacts, tasks --------------------------------------------------

#[tokio::test]
async fn an_appointment_is_created_read_updated_listed_and_deleted() {
    let api = Api::start("appointments").await;
    let created = api
        .post(
            "/appointments",
            json!({"subject": "Review", "start": "2026-12-01T09:00:00Z",
                   "end": "2026-12-01T10:00:00Z", "required_attendees": [BOB]}),
        )
        .await
        .expect(201);
    assert_eq!(created["owner"], ADMIN);
    assert_eq!(created["version"], 1);
    let path = format!("/appointments/{}", text(&created, "id"));
    assert_eq!(api.get(&path).await.expect(200), created);

    let moved = api
        .patch(&path, json!({"version": 1, "location": "Room 4"}))
        .await
        .expect(200);
    assert_eq!(moved["location"], "Room 4");
    assert_eq!(moved["subject"], "Review");
    api.patch(&path, json!({"version": 1, "location": "Stale"}))
        .await
        .expect(409);

    let mine = api.get("/appointments").await.expect(200);
    assert_eq!(ids(&mine), [text(&created, "id")]);
    api.delete(&path).await.expect(204);
    api.get(&path).await.expect(404);
}

#[tokio::test]
async fn an_appointment_that_ends_before_it_starts_names_the_field() {
    let api = Api::start("appointments-400").await;
    let fields = api
        .post(
            "/appointments",
            json!({"subject": "Backwards", "start": "2026-12-01T10:00:00Z",
                   "end": "2026-12-01T09:00:00Z"}),
        )
        .await
        .bad_fields();
    assert_eq!(fields, ["end"]);
}

#[tokio::test]
async fn a_contact_is_created_read_updated_listed_and_deleted() {
    let api = Api::start("contacts").await;
    let created = api
        .post(
            "/contacts",
            json!({"first_name": "Dana", "last_name": "Diaz", "email": "dana@fabrikam.test"}),
        )
        .await
        .expect(201);
    let path = format!("/contacts/{}", text(&created, "id"));
    assert_eq!(api.get(&path).await.expect(200), created);
    let updated = api
        .patch(&path, json!({"version": 1, "job_title": "Buyer"}))
        .await
        .expect(200);
    assert_eq!(updated["job_title"], "Buyer");
    assert_eq!(updated["last_name"], "Diaz");
    assert_eq!(
        ids(&api.get("/contacts").await.expect(200)),
        [text(&created, "id")]
    );
    api.delete(&path).await.expect(204);
    assert!(ids(&api.get("/contacts").await.expect(200)).is_empty());
}

#[tokio::test]
async fn a_contact_without_a_name_or_with_a_bad_address_names_the_fields() {
    let api = Api::start("contacts-400").await;
    let mut fields = api
        .post("/contacts", json!({"email": "not an address"}))
        .await
        .bad_fields();
    fields.sort();
    assert_eq!(fields, ["email", "last_name"]);
}

#[tokio::test]
async fn a_task_is_created_read_updated_listed_and_deleted() {
    let api = Api::start("tasks").await;
    let created = api
        .post(
            "/tasks",
            json!({"subject": "Call back", "due": "2026-12-02T12:00:00Z"}),
        )
        .await
        .expect(201);
    assert_eq!(created["status"], "not_started");
    let path = format!("/tasks/{}", text(&created, "id"));
    assert_eq!(api.get(&path).await.expect(200), created);
    let done = api
        .patch(
            &path,
            json!({"version": 1, "status": "completed", "percent_complete": 100}),
        )
        .await
        .expect(200);
    assert_eq!(done["status"], "completed");
    assert_eq!(
        ids(&api.get("/tasks").await.expect(200)),
        [text(&created, "id")]
    );
    api.delete(&path).await.expect(204);
    api.get(&path).await.expect(404);
}

#[tokio::test]
async fn a_task_more_than_complete_names_the_field() {
    let api = Api::start("tasks-400").await;
    let fields = api
        .post(
            "/tasks",
            json!({"subject": "Overdone", "percent_complete": 101}),
        )
        .await
        .bad_fields();
    assert_eq!(fields, ["percent_complete"]);
}

#[tokio::test]
async fn a_user_keeps_their_own_appointments_and_cannot_read_another_s() {
    let api = Api::start("appointments-owner").await;
    let mine = api
        .call(
            Some("dana"),
            Method::POST,
            "/appointments",
            Some(&json!({"subject": "Mine", "start": "2026-12-01T09:00:00Z",
                         "end": "2026-12-01T09:30:00Z"})),
        )
        .await
        .expect(201);
    assert_eq!(mine["owner"], "dana");
    let listed = api
        .call(Some("dana"), Method::GET, "/appointments", None)
        .await
        .expect(200);
    assert_eq!(ids(&listed), [text(&mine, "id")]);
    let admins = api
        .call(Some("dana"), Method::GET, "/appointments?owner=admin", None)
        .await;
    assert_eq!(admins.missing_privilege(), "read_activities");
    // The administrator reads anyone's.
    let theirs = api.get("/appointments?owner=dana").await.expect(200);
    assert_eq!(ids(&theirs), [text(&mine, "id")]);
}

// --- records ------------------------------------------------------------------------

#[tokio::test]
async fn records_are_created_and_listed_by_kind_and_name() {
    let api = Api::start("records").await;
    record(&api, "contact", "Zoe", "zoe@fabrikam.test").await;
    record(&api, "contact", "adam", "adam@fabrikam.test").await;
    record(&api, "account", "Fabrikam", "info@fabrikam.test").await;
    let contacts = api.get("/records?kind=contact").await.expect(200);
    let names: Vec<&str> = contacts["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| text(r, "name"))
        .collect();
    assert_eq!(names, ["adam", "Zoe"]);
    let page = api.get("/records?kind=contact&limit=1").await.expect(200);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert!(page["next"].is_string(), "{page}");
}

#[tokio::test]
async fn bad_records_name_each_field() {
    let api = Api::start("records-400").await;
    let mut fields = api
        .post("/records", json!({"name": "", "addresses": ["nope"]}))
        .await
        .bad_fields();
    fields.sort();
    assert_eq!(fields, ["addresses.0", "kind", "name"]);
    assert_eq!(api.get("/records").await.bad_fields(), ["kind"]);
    assert_eq!(api.get("/records?kind=planet").await.bad_fields(), ["kind"]);
}
