//! The admin API for mailboxes, Test & Enable, jobs and alerts, over HTTP against the local
//! AWS endpoint and the Exchange simulator: create, read, list with filters and paging,
//! update; Apply Default Email Settings, edit many, approve and reject; Test & Enable
//! inline (success, failure, approval required, with the alerts each writes) and as a job
//! (many mailboxes, or a whole profile) run by the jobs-worker handler; alerts by mailbox,
//! profile and owner, and dismissal.

mod api_support;

use std::collections::BTreeSet;
use std::time::Duration;

use api_support::*;
use exsync_domain::alert::{Alert, AlertLevel, AlertSubject};
use exsync_domain::ids::{AlertId, Principal, ProfileId};
use exsync_domain::ports::OpsStore as _;
use reqwest::Method;
use serde_json::{Value, json};

/// A profile and mailboxes for Alice, Bob and Carol on it (owned by the administrator),
/// approved unless said otherwise.
async fn profile_with_mailboxes(api: &Api, approve: bool) -> (String, Vec<String>) {
    let p = api.create_profile("Contoso", json!({})).await;
    let pid = text(&p, "id").to_owned();
    let mut ids = Vec::new();
    for email in [ALICE, BOB, CAROL] {
        let m = api.create_mailbox(email, Some(&pid), ADMIN).await;
        ids.push(text(&m, "id").to_owned());
    }
    if approve {
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        api.approve(&refs).await;
    }
    (pid, ids)
}

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| text(m, "email").to_owned())
        .collect()
}

fn workloads(report: &Value) -> Vec<(String, String, bool)> {
    report["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                text(w, "workload").to_owned(),
                text(w, "outcome").to_owned(),
                w["enabled"].as_bool().unwrap(),
            )
        })
        .collect()
}

async fn test_and_enable(api: &Api, ids: &[&str]) -> reqwest::StatusCode {
    api.post("/mailboxes/test-and-enable", json!({"mailbox_ids": ids}))
        .await
        .status
}

// --- create, read, list, update -----------------------------------------------------

#[tokio::test]
async fn a_new_mailbox_takes_the_org_defaults_and_awaits_approval() {
    let api = Api::start("mbx-create").await;
    let m = api.create_mailbox(ALICE, None, ADMIN).await;
    assert_eq!(m["email"], ALICE);
    assert_eq!(m["kind"], "user");
    assert_eq!(m["incoming"], "server_side_synchronization");
    assert_eq!(
        m["appointments_contacts_tasks"],
        "server_side_synchronization"
    );
    assert_eq!(m["approval"], "empty");
    assert_eq!(m["status"], "not_run");
    assert_eq!(m["tracking"], "replies_to_tracked_email");
    assert_eq!(m["password_set"], false);
    let fetched = api
        .get(&format!("/mailboxes/{}", text(&m, "id")))
        .await
        .expect(200);
    assert_eq!(fetched, m);
}

#[tokio::test]
async fn a_new_mailbox_goes_on_the_org_s_default_profile() {
    let api = Api::start("mbx-default-profile").await;
    let p = api.create_profile("Default", json!({})).await;
    let pid = text(&p, "id");
    api.post(&format!("/profiles/{pid}/default"), json!({}))
        .await
        .expect(200);
    let m = api
        .post("/mailboxes", json!({"name": "Alice", "email": ALICE}))
        .await
        .expect(201);
    assert_eq!(m["profile_id"], pid);
}

#[tokio::test]
async fn bad_mailbox_fields_are_named() {
    let api = Api::start("mbx-400").await;
    let mut fields = api
        .post(
            "/mailboxes",
            json!({
                "name": "",
                "email": "support-at-contoso",
                "kind": "queue",
                "appointments_contacts_tasks": "server_side_synchronization",
            }),
        )
        .await
        .bad_fields();
    fields.sort();
    assert_eq!(fields, ["appointments_contacts_tasks", "email", "name"]);
    let unknown_profile = api
        .post(
            "/mailboxes",
            json!({"name": "A", "email": ALICE, "profile_id": "no-such-profile"}),
        )
        .await;
    assert_eq!(unknown_profile.bad_fields(), ["profile_id"]);
    let wrong_enum = api
        .post(
            "/mailboxes",
            json!({"name": "A", "email": ALICE, "incoming": "carrier_pigeon"}),
        )
        .await;
    assert_eq!(wrong_enum.bad_fields(), ["incoming"]);
}

#[tokio::test]
async fn mailboxes_are_listed_with_filters_and_pages() {
    let api = Api::start("mbx-list").await;
    let a = api.create_profile("A", json!({})).await;
    let b = api.create_profile("B", json!({})).await;
    let (a, b) = (text(&a, "id"), text(&b, "id"));
    let alice = api.create_mailbox(ALICE, Some(a), ADMIN).await;
    api.create_mailbox(BOB, Some(a), ADMIN).await;
    api.create_mailbox(CAROL, Some(b), ADMIN).await;
    let support = api
        .post(
            "/mailboxes",
            json!({"name": "support", "email": "support@contoso.test", "kind": "queue",
                   "profile_id": "", "active": false}),
        )
        .await
        .expect(201);
    assert_eq!(support["active"], false);
    api.approve(&[text(&alice, "id")]).await;

    let by_profile = api
        .get(&format!("/mailboxes?profile={a}"))
        .await
        .expect(200);
    assert_eq!(names(&by_profile), [ALICE, BOB]);
    let approved = api.get("/mailboxes?approval=approved").await.expect(200);
    assert_eq!(names(&approved), [ALICE]);
    let inactive = api.get("/mailboxes?active=false").await.expect(200);
    assert_eq!(names(&inactive), ["support@contoso.test"]);
    let not_run = api.get("/mailboxes?status=not_run").await.expect(200);
    assert_eq!(names(&not_run).len(), 4);
    let both = api
        .get(&format!("/mailboxes?profile={a}&approval=empty"))
        .await
        .expect(200);
    assert_eq!(names(&both), [BOB]);

    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..4 {
        let path = match &next {
            Some(n) => format!("/mailboxes?limit=3&next={}", encode(n)),
            None => "/mailboxes?limit=3".to_owned(),
        };
        let page = api.get(&path).await.expect(200);
        assert!(page["items"].as_array().unwrap().len() <= 3);
        seen.extend(names(&page));
        next = page["next"].as_str().map(str::to_owned);
        if next.is_none() {
            break;
        }
    }
    assert!(next.is_none(), "paging did not end");
    let seen: BTreeSet<String> = seen.into_iter().collect();
    assert_eq!(seen.len(), 4, "{seen:?}");
}

#[tokio::test]
async fn a_bad_list_filter_names_the_parameter() {
    let api = Api::start("mbx-list-400").await;
    assert_eq!(
        api.get("/mailboxes?status=sideways").await.bad_fields(),
        ["status"]
    );
    assert_eq!(
        api.get("/mailboxes?active=maybe").await.bad_fields(),
        ["active"]
    );
}

#[tokio::test]
async fn a_mailbox_update_with_a_stale_version_is_a_conflict() {
    let api = Api::start("mbx-409").await;
    let m = api.create_mailbox(ALICE, None, ADMIN).await;
    let path = format!("/mailboxes/{}", text(&m, "id"));
    let updated = api
        .patch(&path, json!({"version": 1, "name": "Alice A."}))
        .await
        .expect(200);
    assert_eq!(updated["version"], 2);
    api.patch(&path, json!({"version": 1, "name": "Stale"}))
        .await
        .expect(409);
    assert_eq!(api.get(&path).await.expect(200)["name"], "Alice A.");
}

#[tokio::test]
async fn a_new_address_needs_approval_again() {
    let api = Api::start("mbx-readdress").await;
    let m = api.create_mailbox(ALICE, None, ADMIN).await;
    let id = text(&m, "id");
    api.approve(&[id]).await;
    let changed = api
        .patch(
            &format!("/mailboxes/{id}"),
            json!({"version": 2, "email": "alice.anders@contoso.test"}),
        )
        .await
        .expect(200);
    assert_eq!(changed["approval"], "empty");
}

#[tokio::test]
async fn an_unknown_mailbox_is_a_404() {
    let api = Api::start("mbx-404").await;
    api.get("/mailboxes/no-such-mailbox").await.expect(404);
}

// --- bulk actions -------------------------------------------------------------------

#[tokio::test]
async fn apply_default_email_settings_puts_mailboxes_on_the_default_profile() {
    let api = Api::start("mbx-defaults").await;
    let m1 = api.create_mailbox(ALICE, None, ADMIN).await;
    let m2 = api.create_mailbox(BOB, None, ADMIN).await;
    let p = api.create_profile("Default", json!({})).await;
    let pid = text(&p, "id");
    api.patch("/org-settings", json!({"version": 0, "outgoing": "none"}))
        .await
        .expect(200);
    api.post(&format!("/profiles/{pid}/default"), json!({}))
        .await
        .expect(200);
    let outcome = api
        .post(
            "/mailboxes/apply-default-settings",
            json!({"mailbox_ids": [text(&m1, "id"), text(&m2, "id")], "test_and_enable": false}),
        )
        .await
        .expect(200);
    for item in outcome["mailboxes"].as_array().unwrap() {
        assert_eq!(item["status"], "ok", "{item}");
        assert_eq!(item["result"]["profile_id"], pid);
        assert_eq!(item["result"]["outgoing"], "none");
    }
    assert!(outcome.get("test_and_enable").is_none(), "{outcome}");
}

#[tokio::test]
async fn apply_default_email_settings_then_tests_and_enables_unless_opted_out() {
    let api = Api::start("mbx-defaults-te").await;
    let m = api.create_mailbox(ALICE, None, ADMIN).await;
    let id = text(&m, "id");
    api.approve(&[id]).await;
    let p = api.create_profile("Default", json!({})).await;
    api.post(&format!("/profiles/{}/default", text(&p, "id")), json!({}))
        .await
        .expect(200);
    let outcome = api
        .post(
            "/mailboxes/apply-default-settings",
            json!({"mailbox_ids": [id]}),
        )
        .await
        .expect(200);
    let tested = &outcome["test_and_enable"]["results"][0];
    assert_eq!(tested["status"], "ok", "{outcome}");
    assert_eq!(tested["result"]["status"], "success");
}

#[tokio::test]
async fn apply_default_email_settings_without_a_default_profile_is_a_conflict() {
    let api = Api::start("mbx-defaults-409").await;
    let m = api.create_mailbox(ALICE, None, ADMIN).await;
    api.post(
        "/mailboxes/apply-default-settings",
        json!({"mailbox_ids": [text(&m, "id")]}),
    )
    .await
    .expect(409);
}

#[tokio::test]
async fn edit_many_changes_each_mailbox_and_reports_each_one() {
    let api = Api::start("mbx-edit").await;
    let p = api.create_profile("Target", json!({})).await;
    let pid = text(&p, "id");
    let alice = api.create_mailbox(ALICE, None, ADMIN).await;
    let queue = api
        .post(
            "/mailboxes",
            json!({"name": "support", "email": "support@contoso.test", "kind": "queue", "profile_id": ""}),
        )
        .await
        .expect(201);
    let items = api
        .post(
            "/mailboxes/edit",
            json!({
                "mailbox_ids": [text(&alice, "id"), text(&queue, "id")],
                "changes": {"profile_id": pid, "appointments_contacts_tasks": "server_side_synchronization"},
            }),
        )
        .await
        .expect(200);
    let items = items.as_array().unwrap();
    assert_eq!(items[0]["status"], "ok");
    assert_eq!(items[0]["result"]["profile_id"], pid);
    // A queue cannot sync appointments, contacts and tasks: that item alone fails.
    assert_eq!(items[1]["status"], "error");
    assert_eq!(items[1]["error"]["kind"], "validation");
}

#[tokio::test]
async fn edit_many_without_mailboxes_names_the_field() {
    let api = Api::start("mbx-edit-400").await;
    let answer = api
        .post("/mailboxes/edit", json!({"mailbox_ids": [], "changes": {}}))
        .await;
    assert_eq!(answer.bad_fields(), ["mailbox_ids"]);
}

#[tokio::test]
async fn approve_and_reject_set_the_approval_of_each_mailbox() {
    let api = Api::start("mbx-approve").await;
    let a = api.create_mailbox(ALICE, None, ADMIN).await;
    let b = api.create_mailbox(BOB, None, ADMIN).await;
    let (a, b) = (text(&a, "id"), text(&b, "id"));
    let approved = api
        .post("/mailboxes/approve", json!({"mailbox_ids": [a, b]}))
        .await
        .expect(200);
    assert!(
        approved
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["result"]["approval"] == "approved")
    );
    let rejected = api
        .post("/mailboxes/reject", json!({"mailbox_ids": [b]}))
        .await
        .expect(200);
    assert_eq!(rejected[0]["result"]["approval"], "rejected");
    assert_eq!(
        api.get(&format!("/mailboxes/{a}")).await.expect(200)["approval"],
        "approved"
    );
}

// --- Test & Enable ------------------------------------------------------------------

#[tokio::test]
async fn test_and_enable_of_an_approved_mailbox_enables_every_workload_and_says_so() {
    let api = Api::start("te-success").await;
    let (_, ids) = profile_with_mailboxes(&api, true).await;
    let alice = &ids[0];
    let outcome = api
        .post(
            "/mailboxes/test-and-enable",
            json!({"mailbox_ids": [alice]}),
        )
        .await
        .expect(200);
    let report = &outcome["results"][0]["result"];
    assert_eq!(report["status"], "success", "{outcome}");
    assert_eq!(
        workloads(report),
        [
            ("incoming", "success", true),
            ("outgoing", "success", true),
            ("appointments_contacts_tasks", "success", true),
        ]
        .map(|(w, o, e)| (w.to_owned(), o.to_owned(), e))
    );
    let mailbox = api.get(&format!("/mailboxes/{alice}")).await.expect(200);
    assert_eq!(mailbox["status"], "success");
    assert_eq!(mailbox["incoming_state"]["enabled"], true);

    let alerts = api
        .get(&format!("/alerts?mailbox={alice}"))
        .await
        .expect(200);
    let alert = &alerts["items"][0];
    assert_eq!(alert["level"], "information");
    assert_eq!(alert["code"], "TestAndEnableSucceeded");
    assert_eq!(alert["owners"], json!([ADMIN]));
}

#[tokio::test]
async fn test_and_enable_failure_enables_nothing_and_alerts_both_owners() {
    let api = Api::start("te-failure").await;
    let p = api.create_profile("Contoso", json!({})).await;
    // Carol's mailbox is outside the service account's impersonation grant.
    let carol = api
        .create_mailbox(CAROL, Some(text(&p, "id")), "carol-owner")
        .await;
    let id = text(&carol, "id");
    api.approve(&[id]).await;
    let outcome = api
        .post("/mailboxes/test-and-enable", json!({"mailbox_ids": [id]}))
        .await
        .expect(200);
    let report = &outcome["results"][0]["result"];
    assert_eq!(report["status"], "failure", "{outcome}");
    assert!(
        workloads(report)
            .iter()
            .all(|(_, outcome, enabled)| outcome == "failure" && !enabled),
        "{report}"
    );
    let mailbox = api.get(&format!("/mailboxes/{id}")).await.expect(200);
    assert_eq!(mailbox["status"], "failure");
    assert_eq!(mailbox["incoming_state"]["enabled"], false);

    let alerts = api.get(&format!("/alerts?mailbox={id}")).await.expect(200);
    let alert = &alerts["items"][0];
    assert_eq!(alert["level"], "error");
    assert_eq!(alert["owners"], json!(["carol-owner", ADMIN]));
    assert!(text(alert, "text").contains(CAROL), "{alert}");
    // Each owner finds it on their own wall.
    for owner in ["carol-owner", ADMIN] {
        let wall = api.get(&format!("/alerts?owner={owner}")).await.expect(200);
        assert_eq!(wall["items"][0]["id"], alert["id"], "{owner}");
    }
}

#[tokio::test]
async fn test_and_enable_of_an_unapproved_mailbox_enables_nothing_and_says_why() {
    let api = Api::start("te-approval").await;
    let (_, ids) = profile_with_mailboxes(&api, false).await;
    let alice = &ids[0];
    let outcome = api
        .post(
            "/mailboxes/test-and-enable",
            json!({"mailbox_ids": [alice]}),
        )
        .await
        .expect(200);
    let report = &outcome["results"][0]["result"];
    for w in report["workloads"].as_array().unwrap() {
        assert_eq!(w["enabled"], false, "{w}");
        assert_eq!(w["error_code"], "EmailAddressNotApproved", "{w}");
    }
    let alerts = api
        .get(&format!("/alerts?mailbox={alice}"))
        .await
        .expect(200);
    let alert = &alerts["items"][0];
    assert_eq!(alert["code"], "EmailAddressNotApproved");
    assert!(text(alert, "text").contains("not approved"), "{alert}");
}

#[tokio::test]
async fn test_and_enable_of_more_mailboxes_than_run_inline_queues_the_rest_as_a_job() {
    let api = Api::start("te-many").await;
    let p = api.create_profile("Contoso", json!({})).await;
    let pid = text(&p, "id");
    let mut ids = Vec::new();
    for n in 0..6 {
        let m = api
            .post(
                "/mailboxes",
                json!({"name": format!("m{n}"), "email": format!("m{n}@contoso.test"),
                       "profile_id": pid, "incoming": "none", "outgoing": "none",
                       "appointments_contacts_tasks": "none"}),
            )
            .await
            .expect(201);
        ids.push(text(&m, "id").to_owned());
    }
    let answer = api
        .post("/mailboxes/test-and-enable", json!({"mailbox_ids": ids}))
        .await
        .expect(202);
    let statuses: Vec<&str> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| text(r, "status"))
        .collect();
    assert_eq!(statuses, ["ok", "ok", "ok", "ok", "ok", "queued"]);
    let job = &answer["job"];
    assert_eq!(job["total"], 1);
    let done = api.run_job(text(job, "id")).await;
    assert_eq!(
        (done["state"].clone(), done["done"].clone()),
        (json!("completed"), json!(1))
    );
}

#[tokio::test]
async fn test_and_enable_of_a_whole_profile_is_a_job_with_progress() {
    let api = Api::start("te-profile").await;
    let (pid, ids) = profile_with_mailboxes(&api, true).await;
    let job = api
        .post(&format!("/profiles/{pid}/test-and-enable"), json!({}))
        .await
        .expect(202);
    assert_eq!(job["state"], "queued");
    assert_eq!(job["total"], 3);
    assert_eq!(job["done"], 0);
    assert_eq!(
        job["kind"],
        json!({"kind": "test_and_enable_profile", "profile_id": pid})
    );

    let done = api.run_job(text(&job, "id")).await;
    assert_eq!(done["state"], "completed");
    assert_eq!(
        [&done["done"], &done["succeeded"], &done["failed"]],
        [&json!(3), &json!(2), &json!(1)],
        "{done}"
    );
    let statuses: Vec<String> = {
        let mut v = Vec::new();
        for id in &ids {
            let m = api.get(&format!("/mailboxes/{id}")).await.expect(200);
            v.push(text(&m, "status").to_owned());
        }
        v
    };
    // Alice and Bob pass; Carol is outside the impersonation grant.
    assert_eq!(statuses, ["success", "success", "failure"]);
}

#[tokio::test]
async fn a_queue_message_that_is_not_a_job_fails_alone_and_the_job_beside_it_completes() {
    let api = Api::start("te-bad-message").await;
    let p = api.create_profile("Empty", json!({})).await;
    let sqs = aws_sdk_sqs::Client::new(&api.aws.sdk);
    sqs.send_message()
        .queue_url(&api.aws.names.jobs_queue_url)
        .message_body("{\"not\": \"a job\"}")
        .send()
        .await
        .unwrap();
    let job = api
        .post(
            &format!("/profiles/{}/test-and-enable", text(&p, "id")),
            json!({}),
        )
        .await
        .expect(202);
    let (mut received, mut failed) = (0, 0);
    for _ in 0..20 {
        let outcome = api.poller.poll_once(Duration::from_secs(1)).await.unwrap();
        received += outcome.received;
        failed += outcome.failed;
        if received >= 2 {
            break;
        }
    }
    assert_eq!((received, failed), (2, 1));
    let done = api
        .get(&format!("/jobs/{}", text(&job, "id")))
        .await
        .expect(200);
    assert_eq!(done["state"], "completed");
}

#[tokio::test]
async fn test_and_enable_of_an_inactive_profile_is_a_conflict() {
    let api = Api::start("te-inactive").await;
    let p = api.create_profile("Off", json!({"active": false})).await;
    api.post(
        &format!("/profiles/{}/test-and-enable", text(&p, "id")),
        json!({}),
    )
    .await
    .expect(409);
}

#[tokio::test]
async fn an_unknown_job_is_a_404() {
    let api = Api::start("job-404").await;
    api.get("/jobs/no-such-job").await.expect(404);
}

// --- alerts -------------------------------------------------------------------------

#[tokio::test]
async fn profile_level_alerts_are_listed_by_profile_newest_first() {
    let api = Api::start("alerts-profile").await;
    let p = api.create_profile("Watched", json!({})).await;
    let pid = ProfileId::parse(text(&p, "id")).unwrap();
    // The sync engine writes profile-level alerts; here the store port writes two.
    let store = api.aws.adapters().store;
    let now = time::OffsetDateTime::now_utc();
    for (n, code) in ["ErrorConnectionFailed", "ErrorServerBusy"]
        .iter()
        .enumerate()
    {
        let at = now + time::Duration::seconds(n as i64);
        store
            .put_alert(&Alert {
                id: AlertId::new(),
                level: AlertLevel::Error,
                code: (*code).to_owned(),
                text: format!("{code} on the profile"),
                subject: AlertSubject::Profile(pid.clone()),
                owners: vec![Principal::parse(ADMIN).unwrap()],
                at,
                expires_at: at + time::Duration::days(30),
                dismissed: false,
            })
            .await
            .unwrap();
    }
    let alerts = api.get(&format!("/alerts?profile={pid}")).await.expect(200);
    let codes: Vec<&str> = alerts["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| text(a, "code"))
        .collect();
    assert_eq!(codes, ["ErrorServerBusy", "ErrorConnectionFailed"]);
}

#[tokio::test]
async fn a_dismissed_alert_shows_as_dismissed_everywhere() {
    let api = Api::start("alerts-dismiss").await;
    let (_, ids) = profile_with_mailboxes(&api, false).await;
    let alice = &ids[0];
    assert_eq!(test_and_enable(&api, &[alice]).await, 200);
    let alerts = api
        .get(&format!("/alerts?mailbox={alice}"))
        .await
        .expect(200);
    let id = text(&alerts["items"][0], "id").to_owned();
    api.post(&format!("/alerts/{id}/dismiss"), json!({}))
        .await
        .expect(204);
    let by_mailbox = api
        .get(&format!("/alerts?mailbox={alice}"))
        .await
        .expect(200);
    assert_eq!(by_mailbox["items"][0]["dismissed"], true);
    let by_owner = api.get(&format!("/alerts?owner={ADMIN}")).await.expect(200);
    assert_eq!(by_owner["items"][0]["dismissed"], true);
}

#[tokio::test]
async fn alerts_need_exactly_one_of_mailbox_profile_or_owner() {
    let api = Api::start("alerts-400").await;
    assert_eq!(api.get("/alerts").await.bad_fields(), ["mailbox"]);
    assert_eq!(
        api.get("/alerts?mailbox=a&owner=b").await.bad_fields(),
        ["mailbox"]
    );
}

#[tokio::test]
async fn dismissing_an_unknown_alert_is_a_404() {
    let api = Api::start("alerts-404").await;
    api.call(
        Some(ADMIN),
        Method::POST,
        "/alerts/no-such-alert/dismiss",
        None,
    )
    .await
    .expect(404);
}
