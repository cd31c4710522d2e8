//! The admin API for email server profiles and org settings, over HTTP against the local
//! AWS endpoint and the Exchange simulator: create, read, list, update, delete, set as
//! default, Test Connection and its diagnoses, org settings, field validation, version
//! conflicts, and passwords that never reach the table in plaintext.

mod api_support;

use api_support::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_created_profile_is_returned_without_its_password() {
    let api = Api::start("prof-create").await;
    let created = api.create_profile("Contoso Exchange", json!({})).await;
    assert_eq!(created["name"], "Contoso Exchange");
    assert_eq!(created["owner"], ADMIN);
    assert_eq!(created["password_set"], true);
    assert!(created.get("password").is_none(), "{created}");
    assert_eq!(created["max_concurrent_connections"], 10);
    assert_eq!(created["version"], 1);

    let id = text(&created, "id");
    let fetched = api.get(&format!("/profiles/{id}")).await.expect(200);
    assert_eq!(fetched, created);
}

#[tokio::test]
async fn profiles_are_listed_by_name_in_pages() {
    let api = Api::start("prof-list").await;
    for name in ["Charlie", "alpha", "Bravo"] {
        api.create_profile(name, json!({})).await;
    }
    let first = api.get("/profiles?limit=2").await.expect(200);
    let names: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| text(p, "name"))
        .collect();
    assert_eq!(names, ["alpha", "Bravo"]);
    let next = text(&first, "next");
    let second = api
        .get(&format!("/profiles?limit=2&next={}", encode(next)))
        .await
        .expect(200);
    assert_eq!(second["items"][0]["name"], "Charlie");
    assert!(second.get("next").is_none(), "{second}");
}

#[tokio::test]
async fn an_update_changes_the_given_fields_and_keeps_the_rest() {
    let api = Api::start("prof-update").await;
    let p = api.create_profile("Before", json!({})).await;
    let id = text(&p, "id");
    let updated = api
        .patch(
            &format!("/profiles/{id}"),
            json!({"version": 1, "name": "After", "max_concurrent_connections": 25}),
        )
        .await
        .expect(200);
    assert_eq!(updated["name"], "After");
    assert_eq!(updated["max_concurrent_connections"], 25);
    assert_eq!(updated["user_name"], p["user_name"]);
    assert_eq!(updated["password_set"], true);
    assert_eq!(updated["version"], 2);
}

#[tokio::test]
async fn an_update_with_a_stale_version_is_a_conflict() {
    let api = Api::start("prof-409").await;
    let p = api.create_profile("Versioned", json!({})).await;
    let path = format!("/profiles/{}", text(&p, "id"));
    api.patch(&path, json!({"version": 1, "description": "first"}))
        .await
        .expect(200);
    let stale = api
        .patch(&path, json!({"version": 1, "description": "second"}))
        .await;
    stale.expect(409);
    let stored = api.get(&path).await.expect(200);
    assert_eq!(stored["description"], "first");
}

#[tokio::test]
async fn deleting_a_profile_with_a_stale_version_is_a_conflict_and_a_current_one_deletes_it() {
    let api = Api::start("prof-delete").await;
    let p = api.create_profile("Doomed", json!({})).await;
    let path = format!("/profiles/{}", text(&p, "id"));
    api.patch(&path, json!({"version": 1, "description": "touched"}))
        .await
        .expect(200);
    api.delete(&format!("{path}?version=1")).await.expect(409);
    api.delete(&format!("{path}?version=2")).await.expect(204);
    api.get(&path).await.expect(404);
}

#[tokio::test]
async fn a_profile_that_mailboxes_use_cannot_be_deleted() {
    let api = Api::start("prof-inuse").await;
    let p = api.create_profile("In use", json!({})).await;
    let id = text(&p, "id");
    api.create_mailbox(ALICE, Some(id), ADMIN).await;
    let refused = api.delete(&format!("/profiles/{id}")).await.expect(409);
    assert!(text(&refused, "error").contains("1 mailbox"), "{refused}");
    api.get(&format!("/profiles/{id}")).await.expect(200);
}

#[tokio::test]
async fn setting_a_default_profile_names_it_in_the_org_settings_and_moves_the_flag() {
    let api = Api::start("prof-default").await;
    let first = api.create_profile("First", json!({})).await;
    let second = api.create_profile("Second", json!({})).await;
    let (a, b) = (text(&first, "id"), text(&second, "id"));
    let made = api
        .post(&format!("/profiles/{a}/default"), json!({}))
        .await
        .expect(200);
    assert_eq!(made["is_default_for_new_mailboxes"], true);
    api.post(&format!("/profiles/{b}/default"), json!({}))
        .await
        .expect(200);
    let settings = api.get("/org-settings").await.expect(200);
    assert_eq!(settings["default_profile"], b);
    let first = api.get(&format!("/profiles/{a}")).await.expect(200);
    assert_eq!(first["is_default_for_new_mailboxes"], false);
}

#[tokio::test]
async fn an_unknown_profile_is_a_404() {
    let api = Api::start("prof-404").await;
    let answer = api.get("/profiles/no-such-profile").await.expect(404);
    assert!(
        text(&answer, "error").contains("no-such-profile"),
        "{answer}"
    );
}

// --- field validation ---------------------------------------------------------------

#[tokio::test]
async fn every_bad_field_of_a_profile_is_named() {
    let api = Api::start("prof-400").await;
    let body = api.profile_body(
        "x",
        json!({
            "name": "n".repeat(101),
            "owner_email": "not-an-address",
            "incoming_ews_url": "http://mail.contoso.test/EWS/Exchange.asmx",
            "max_concurrent_connections": 0,
            "min_polling_interval_minutes": 1441,
            "connection_timeout_seconds": 101,
        }),
    );
    let mut fields = api.post("/profiles", body).await.bad_fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "connection_timeout_seconds",
            "incoming_ews_url",
            "max_concurrent_connections",
            "min_polling_interval_minutes",
            "name",
            "owner_email",
        ]
    );
}

#[tokio::test]
async fn a_url_is_required_when_autodiscover_is_off() {
    let api = Api::start("prof-400-url").await;
    let body = api.profile_body("x", json!({"incoming_ews_url": null}));
    assert_eq!(
        api.post("/profiles", body).await.bad_fields(),
        ["incoming_ews_url"]
    );
}

#[tokio::test]
async fn an_unknown_exchange_version_names_the_field() {
    let api = Api::start("prof-400-enum").await;
    let body = api.profile_body("x", json!({"exchange_version": "2019"}));
    assert_eq!(
        api.post("/profiles", body).await.bad_fields(),
        ["exchange_version"]
    );
}

#[tokio::test]
async fn a_wrong_type_names_the_field() {
    let api = Api::start("prof-400-type").await;
    let body = api.profile_body("x", json!({"max_concurrent_connections": "ten"}));
    assert_eq!(
        api.post("/profiles", body).await.bad_fields(),
        ["max_concurrent_connections"]
    );
}

#[tokio::test]
async fn an_unknown_field_is_named() {
    let api = Api::start("prof-400-unknown").await;
    let body = api.profile_body("x", json!({"pasword": "typo"}));
    assert_eq!(api.post("/profiles", body).await.bad_fields(), ["pasword"]);
}

#[tokio::test]
async fn malformed_json_is_a_400_on_the_body() {
    let api = Api::start("prof-400-json").await;
    let answer = api
        .call_raw(
            ADMIN,
            Method::POST,
            "/profiles",
            "application/json",
            "{\"name\": ",
        )
        .await;
    assert_eq!(answer.bad_fields(), ["body"]);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_refused_by_its_content_type() {
    let api = Api::start("prof-415").await;
    let answer = api
        .call_raw(ADMIN, Method::POST, "/profiles", "text/plain", "name=x")
        .await;
    answer.expect(415);
}

#[tokio::test]
async fn an_update_without_a_version_names_the_field() {
    let api = Api::start("prof-400-version").await;
    let p = api.create_profile("V", json!({})).await;
    let answer = api
        .patch(
            &format!("/profiles/{}", text(&p, "id")),
            json!({"name": "W"}),
        )
        .await;
    assert_eq!(answer.bad_fields(), ["version"]);
}

#[tokio::test]
async fn a_bad_query_parameter_names_it() {
    let api = Api::start("prof-400-query").await;
    assert_eq!(
        api.get("/profiles?limit=many").await.bad_fields(),
        ["limit"]
    );
    assert_eq!(api.get("/profiles?limit=0").await.bad_fields(), ["limit"]);
}

// --- Test Connection ----------------------------------------------------------------

fn step_names(result: &serde_json::Value) -> Vec<(String, bool)> {
    steps(result)
}

fn failed_step(result: &serde_json::Value) -> serde_json::Value {
    result["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["ok"] == false)
        .cloned()
        .unwrap_or_else(|| panic!("no step failed: {result}"))
}

async fn test_connection(
    api: &Api,
    profile: &serde_json::Value,
    mailbox: &str,
) -> serde_json::Value {
    api.post(
        &format!("/profiles/{}/test-connection", text(profile, "id")),
        json!({"test_mailbox": mailbox}),
    )
    .await
    .expect(200)
}

#[tokio::test]
async fn test_connection_passes_every_step_and_stores_the_result() {
    let api = Api::start("tc-ok").await;
    let p = api.create_profile("Working", json!({})).await;
    let result = test_connection(&api, &p, ALICE).await;
    assert_eq!(result["outcome"], "success", "{result}");
    assert_eq!(
        step_names(&result),
        [
            "connection",
            "tls",
            "authentication",
            "impersonation",
            "mailbox"
        ]
        .map(|s| (s.to_owned(), true))
    );
    let stored = api
        .get(&format!("/profiles/{}", text(&p, "id")))
        .await
        .expect(200);
    assert_eq!(stored["last_test"], result);
}

#[tokio::test]
async fn test_connection_with_autodiscover_finds_the_url_first() {
    let api = Api::start("tc-ad").await;
    let p = api
        .create_profile(
            "Discovering",
            json!({"use_autodiscover": true, "incoming_ews_url": null}),
        )
        .await;
    let result = test_connection(&api, &p, ALICE).await;
    assert_eq!(result["outcome"], "success", "{result}");
    assert_eq!(step_names(&result)[0], ("autodiscover".to_owned(), true));
    assert_eq!(result["ews_url"], sim().ews_url());
}

#[tokio::test]
async fn a_wrong_password_fails_test_connection_at_authentication() {
    let api = Api::start("tc-password").await;
    let p = api
        .create_profile("Wrong password", json!({"password": "not-the-password"}))
        .await;
    let result = test_connection(&api, &p, ALICE).await;
    assert_eq!(result["outcome"], "failure");
    assert_eq!(
        step_names(&result),
        [
            ("connection", true),
            ("tls", true),
            ("authentication", false)
        ]
        .map(|(s, ok)| (s.to_owned(), ok))
    );
    let failed = failed_step(&result);
    assert!(failed["advice"].is_string(), "{failed}");
    // The diagnosis never repeats the password it was given.
    assert!(!result.to_string().contains("not-the-password"));
}

#[tokio::test]
async fn denied_impersonation_fails_test_connection_at_impersonation() {
    let api = Api::start("tc-impersonation").await;
    let p = api.create_profile("No grant for Carol", json!({})).await;
    let result = test_connection(&api, &p, CAROL).await;
    assert_eq!(result["outcome"], "failure");
    assert_eq!(
        step_names(&result).last().unwrap(),
        &("impersonation".to_owned(), false)
    );
    assert!(
        text(&failed_step(&result), "detail").contains(CAROL),
        "{result}"
    );
}

#[tokio::test]
async fn a_failing_autodiscover_fails_test_connection_at_autodiscover() {
    let api = Api::start("tc-ad-fails").await;
    let p = api
        .create_profile(
            "Nowhere to discover",
            json!({"use_autodiscover": true, "incoming_ews_url": null}),
        )
        .await;
    let result = test_connection(&api, &p, &format!("alice@{BROKEN_DOMAIN}")).await;
    assert_eq!(result["outcome"], "failure");
    assert_eq!(step_names(&result), [("autodiscover".to_owned(), false)]);
    assert!(result.get("ews_url").is_none(), "{result}");
}

#[tokio::test]
async fn a_certificate_from_an_untrusted_ca_fails_test_connection_at_tls() {
    let api = Api::start("tc-ca").await;
    let p = api
        .create_profile("Wrong CA", json!({"ca_bundle_pem": unrelated_ca_pem()}))
        .await;
    let result = test_connection(&api, &p, ALICE).await;
    assert_eq!(result["outcome"], "failure");
    assert_eq!(
        step_names(&result),
        [("connection", true), ("tls", false)].map(|(s, ok)| (s.to_owned(), ok))
    );
}

#[tokio::test]
async fn test_connection_of_an_unknown_profile_is_a_404() {
    let api = Api::start("tc-404").await;
    api.post("/profiles/missing/test-connection", json!({}))
        .await
        .expect(404);
}

#[tokio::test]
async fn test_connection_names_a_bad_test_mailbox() {
    let api = Api::start("tc-400").await;
    let p = api.create_profile("P", json!({})).await;
    let answer = api
        .post(
            &format!("/profiles/{}/test-connection", text(&p, "id")),
            json!({"test_mailbox": "not an address"}),
        )
        .await;
    assert_eq!(answer.bad_fields(), ["test_mailbox"]);
}

// --- org settings -------------------------------------------------------------------

#[tokio::test]
async fn org_settings_start_with_the_dynamics_defaults() {
    let api = Api::start("org-defaults").await;
    let s = api.get("/org-settings").await.expect(200);
    assert_eq!(s["version"], 0);
    assert_eq!(s["incoming"], "server_side_synchronization");
    assert_eq!(s["approval_required_for_user_mailboxes"], true);
    assert_eq!(
        s["alert_levels"],
        json!({"error": true, "warning": false, "information": true})
    );
    assert_eq!(s["smart_matching"], false);
}

#[tokio::test]
async fn org_settings_are_updated_field_by_field() {
    let api = Api::start("org-update").await;
    let updated = api
        .patch(
            "/org-settings",
            json!({
                "version": 0,
                "outgoing": "none",
                "tracking_token": {"prefix": "EXS:", "base_number": 0, "digits": 5},
                "contact_fields": {"job_title": "to_exchange"},
            }),
        )
        .await
        .expect(200);
    assert_eq!(updated["version"], 1);
    assert_eq!(updated["outgoing"], "none");
    assert_eq!(updated["incoming"], "server_side_synchronization");
    assert_eq!(updated["tracking_token"]["prefix"], "EXS:");
    assert_eq!(updated["contact_fields"]["job_title"], "to_exchange");
    assert_eq!(updated["contact_fields"]["email"], "both");
    assert_eq!(api.get("/org-settings").await.expect(200), updated);
}

#[tokio::test]
async fn org_settings_with_a_stale_version_are_a_conflict() {
    let api = Api::start("org-409").await;
    api.patch(
        "/org-settings",
        json!({"version": 0, "smart_matching": true}),
    )
    .await
    .expect(200);
    api.patch(
        "/org-settings",
        json!({"version": 0, "smart_matching": false}),
    )
    .await
    .expect(409);
}

#[tokio::test]
async fn bad_org_settings_name_each_field() {
    let api = Api::start("org-400").await;
    let mut fields = api
        .patch(
            "/org-settings",
            json!({
                "version": 0,
                "tracking_token": {"prefix": "", "base_number": 0, "digits": 12},
                "contact_fields": {"first_name": "to_exchange"},
                "default_profile": "no-such-profile",
            }),
        )
        .await
        .bad_fields();
    fields.sort();
    assert_eq!(fields, ["default_profile"]);
    let mut fields = api
        .patch(
            "/org-settings",
            json!({
                "version": 0,
                "tracking_token": {"prefix": "", "base_number": 0, "digits": 12},
                "contact_fields": {"first_name": "to_exchange"},
            }),
        )
        .await
        .bad_fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "contact_fields.first_name",
            "tracking_token.digits",
            "tracking_token.prefix"
        ]
    );
}

// --- credentials --------------------------------------------------------------------

#[tokio::test]
async fn passwords_set_through_the_api_are_nowhere_in_the_table_in_plaintext() {
    let api = Api::start("secrets").await;
    let profile_password = "Pr0file-Secret-7d1c";
    let new_profile_password = "Pr0file-Rotated-93ab";
    let mailbox_password = "Ma1lbox-Secret-51f0";
    let on_profile = api
        .create_profile("Service account", json!({"password": profile_password}))
        .await;
    api.patch(
        &format!("/profiles/{}", text(&on_profile, "id")),
        json!({"version": 1, "password": new_profile_password}),
    )
    .await
    .expect(200);
    let per_mailbox = api
        .create_profile(
            "Own credentials",
            json!({"credentials_location": "mailbox", "user_name": null, "password": null}),
        )
        .await;
    let mailbox = api
        .post(
            "/mailboxes",
            json!({
                "name": "Alice",
                "email": ALICE,
                "profile_id": text(&per_mailbox, "id"),
                "user_name": "CONTOSO\\alice",
                "password": mailbox_password,
            }),
        )
        .await
        .expect(201);
    assert_eq!(mailbox["password_set"], true);
    assert!(mailbox.get("password").is_none());

    let items = api.table_dump().await;
    assert!(
        items.len() >= 3,
        "the scan saw the profiles and the mailbox: {items:?}"
    );
    for secret in [profile_password, new_profile_password, mailbox_password] {
        let leaked: Vec<&String> = items.iter().filter(|i| i.contains(secret)).collect();
        assert!(
            leaked.is_empty(),
            "{secret} stored in plaintext: {leaked:?}"
        );
    }
    // And the sealed password is really there, as ciphertext.
    assert!(
        items.iter().any(|i| i.contains("ciphertext_b64")),
        "{items:?}"
    );
}
