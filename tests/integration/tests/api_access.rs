//! Who may do what, over HTTP: the whole role × endpoint matrix (every built-in role and a
//! principal without roles, against every route the router serves), the caller's identity
//! (the local header, 401 without it), role assignment and custom roles, the bootstrap
//! administrator, and the owner rule.
//!
//! The matrix is generated from one table: each route with the privileges it needs from a
//! caller who owns nothing it touches. Roles and their privileges come from the domain's
//! built-in role definitions, and a test checks the table covers every route of the
//! router, so neither side can drift without a failing test.

mod api_support;

use std::collections::BTreeSet;

use api_support::*;
use exsync_domain::privilege::{Privilege, builtin_roles};
use reqwest::Method;
use serde_json::{Value, json};

/// What a route needs from a caller who owns nothing it touches.
#[derive(Debug, Clone, Copy)]
enum Needs {
    /// Nothing: anyone identified.
    Nothing,
    /// Every one of these privileges.
    All(&'static [Privilege]),
    /// Any one of these (the 403 names the first).
    Any(&'static [Privilege]),
}

impl Needs {
    fn allowed(self, held: &BTreeSet<Privilege>) -> bool {
        match self {
            Needs::Nothing => true,
            Needs::All(ps) => ps.iter().all(|p| held.contains(p)),
            Needs::Any(ps) => ps.iter().any(|p| held.contains(p)),
        }
    }

    /// The privileges a 403 may name.
    fn missing(self, held: &BTreeSet<Privilege>) -> Vec<&'static str> {
        match self {
            Needs::Nothing => Vec::new(),
            Needs::All(ps) => ps
                .iter()
                .filter(|p| !held.contains(p))
                .map(|p| p.as_str())
                .collect(),
            Needs::Any(ps) => ps.iter().take(1).map(|p| p.as_str()).collect(),
        }
    }
}

/// The entities the matrix calls act on, created by the administrator: none is owned by a
/// matrix principal, so the owner rule never lets one through.
struct Fixture {
    profile: String,
    mailbox: String,
    alert: String,
    job: String,
    email: String,
    record: String,
    appointment: String,
    contact: String,
    task: String,
    profile_body: Value,
}

async fn fixture(api: &Api) -> Fixture {
    let p = api.create_profile("Matrix", json!({})).await;
    let profile = text(&p, "id").to_owned();
    let m = api.create_mailbox(ALICE, Some(&profile), ADMIN).await;
    let mailbox = text(&m, "id").to_owned();
    api.approve(&[&mailbox]).await;
    api.post(
        "/mailboxes/test-and-enable",
        json!({"mailbox_ids": [mailbox]}),
    )
    .await
    .expect(200);
    let alerts = api
        .get(&format!("/alerts?mailbox={mailbox}"))
        .await
        .expect(200);
    let alert = text(&alerts["items"][0], "id").to_owned();
    let job = api
        .post(&format!("/profiles/{profile}/test-and-enable"), json!({}))
        .await
        .expect(202);
    let r = api
        .post(
            "/records",
            json!({"kind": "account", "name": "Fabrikam", "addresses": ["info@fabrikam.test"]}),
        )
        .await
        .expect(201);
    let e = api
        .post(
            "/emails",
            json!({"sender_mailbox_id": mailbox, "to": ["info@fabrikam.test"], "subject": "hi"}),
        )
        .await
        .expect(201);
    let a = api
        .post(
            "/appointments",
            json!({"subject": "A", "start": "2026-12-01T09:00:00Z", "end": "2026-12-01T10:00:00Z"}),
        )
        .await
        .expect(201);
    let c = api
        .post("/contacts", json!({"last_name": "C"}))
        .await
        .expect(201);
    let t = api
        .post("/tasks", json!({"subject": "T"}))
        .await
        .expect(201);
    Fixture {
        profile,
        mailbox,
        alert,
        job: text(&job, "id").to_owned(),
        email: text(&e, "id").to_owned(),
        record: text(&r, "id").to_owned(),
        appointment: text(&a, "id").to_owned(),
        contact: text(&c, "id").to_owned(),
        task: text(&t, "id").to_owned(),
        profile_body: api.profile_body("Made by a role", json!({})),
    }
}

/// One cell row of the matrix: a route, how to call it, and what it needs. Calls that
/// would change shared fixtures are made harmless: updates carry a stale version (an
/// allowed caller gets 409), deletes name ids that do not exist (an allowed caller gets
/// 404): privileges are checked before either.
struct Case {
    method: Method,
    template: &'static str,
    path: String,
    body: Option<Value>,
    needs: Needs,
}

fn cases(f: &Fixture) -> Vec<Case> {
    use Privilege::*;
    let case =
        |method: Method, template: &'static str, path: String, body: Option<Value>, needs| Case {
            method,
            template,
            path,
            body,
            needs,
        };
    let stale = json!({"version": 999});
    let (p, m) = (&f.profile, &f.mailbox);
    vec![
        case(
            Method::GET,
            "/openapi.json",
            "/openapi.json".into(),
            None,
            Needs::Nothing,
        ),
        case(Method::GET, "/me", "/me".into(), None, Needs::Nothing),
        // profiles
        case(
            Method::POST,
            "/profiles",
            "/profiles".into(),
            Some(f.profile_body.clone()),
            Needs::All(&[WriteProfiles]),
        ),
        case(
            Method::GET,
            "/profiles",
            "/profiles".into(),
            None,
            Needs::All(&[ReadProfiles]),
        ),
        case(
            Method::GET,
            "/profiles/{id}",
            format!("/profiles/{p}"),
            None,
            Needs::All(&[ReadProfiles]),
        ),
        case(
            Method::PATCH,
            "/profiles/{id}",
            format!("/profiles/{p}"),
            Some(stale.clone()),
            Needs::All(&[WriteProfiles]),
        ),
        case(
            Method::DELETE,
            "/profiles/{id}",
            "/profiles/missing".into(),
            None,
            Needs::All(&[WriteProfiles]),
        ),
        case(
            Method::POST,
            "/profiles/{id}/default",
            format!("/profiles/{p}/default"),
            Some(json!({})),
            Needs::All(&[WriteProfiles, WriteOrgSettings]),
        ),
        case(
            Method::POST,
            "/profiles/{id}/test-connection",
            format!("/profiles/{p}/test-connection"),
            Some(json!({"test_mailbox": ALICE})),
            Needs::All(&[WriteProfiles]),
        ),
        case(
            Method::POST,
            "/profiles/{id}/test-and-enable",
            format!("/profiles/{p}/test-and-enable"),
            Some(json!({})),
            Needs::All(&[TestAndEnable]),
        ),
        // org settings
        case(
            Method::GET,
            "/org-settings",
            "/org-settings".into(),
            None,
            Needs::All(&[ReadOrgSettings]),
        ),
        case(
            Method::PATCH,
            "/org-settings",
            "/org-settings".into(),
            Some(stale.clone()),
            Needs::All(&[WriteOrgSettings]),
        ),
        // mailboxes
        case(
            Method::POST,
            "/mailboxes",
            "/mailboxes".into(),
            Some(json!({"name": "Made", "email": BOB, "profile_id": ""})),
            Needs::All(&[WriteMailboxes]),
        ),
        case(
            Method::GET,
            "/mailboxes",
            "/mailboxes".into(),
            None,
            Needs::All(&[ReadMailboxes]),
        ),
        case(
            Method::GET,
            "/mailboxes/{id}",
            format!("/mailboxes/{m}"),
            None,
            Needs::All(&[ReadMailboxes]),
        ),
        case(
            Method::GET,
            "/mailboxes/{id}/decisions",
            format!("/mailboxes/{m}/decisions"),
            None,
            Needs::All(&[ReadMailboxes]),
        ),
        case(
            Method::PATCH,
            "/mailboxes/{id}",
            format!("/mailboxes/{m}"),
            Some(stale.clone()),
            Needs::All(&[WriteMailboxes]),
        ),
        case(
            Method::POST,
            "/mailboxes/apply-default-settings",
            "/mailboxes/apply-default-settings".into(),
            Some(json!({"mailbox_ids": [m], "test_and_enable": false})),
            Needs::All(&[ReadMailboxes, WriteMailboxes]),
        ),
        case(
            Method::POST,
            "/mailboxes/edit",
            "/mailboxes/edit".into(),
            Some(json!({"mailbox_ids": [m], "changes": {}})),
            Needs::All(&[WriteMailboxes]),
        ),
        case(
            Method::POST,
            "/mailboxes/approve",
            "/mailboxes/approve".into(),
            Some(json!({"mailbox_ids": [m]})),
            Needs::All(&[ApproveEmail]),
        ),
        case(
            Method::POST,
            "/mailboxes/reject",
            "/mailboxes/reject".into(),
            Some(json!({"mailbox_ids": ["missing"]})),
            Needs::All(&[ApproveEmail]),
        ),
        case(
            Method::POST,
            "/mailboxes/test-and-enable",
            "/mailboxes/test-and-enable".into(),
            Some(json!({"mailbox_ids": [m]})),
            Needs::All(&[TestAndEnable]),
        ),
        // alerts and jobs
        case(
            Method::GET,
            "/alerts",
            format!("/alerts?mailbox={m}"),
            None,
            Needs::All(&[ReadAlerts]),
        ),
        case(
            Method::POST,
            "/alerts/{id}/dismiss",
            format!("/alerts/{}/dismiss", f.alert),
            None,
            Needs::All(&[ReadAlerts]),
        ),
        case(
            Method::GET,
            "/jobs/{id}",
            format!("/jobs/{}", f.job),
            None,
            Needs::Any(&[TestAndEnable, ReadMailboxes]),
        ),
        // activities and records
        case(
            Method::POST,
            "/emails",
            "/emails".into(),
            Some(json!({"sender_mailbox_id": m, "to": ["info@fabrikam.test"]})),
            Needs::All(&[WriteActivities]),
        ),
        case(
            Method::GET,
            "/emails",
            format!("/emails?regarding={}", f.record),
            None,
            Needs::All(&[ReadActivities]),
        ),
        case(
            Method::GET,
            "/emails/{id}",
            format!("/emails/{}", f.email),
            None,
            Needs::All(&[ReadActivities]),
        ),
        case(
            Method::POST,
            "/records",
            "/records".into(),
            Some(json!({"kind": "lead", "name": "L", "addresses": ["l@fabrikam.test"]})),
            Needs::All(&[WriteActivities]),
        ),
        case(
            Method::GET,
            "/records",
            "/records?kind=account".into(),
            None,
            Needs::All(&[ReadActivities]),
        ),
        case(
            Method::POST,
            "/appointments",
            "/appointments".into(),
            Some(
                json!({"owner": ADMIN, "subject": "S", "start": "2026-12-01T09:00:00Z", "end": "2026-12-01T10:00:00Z"}),
            ),
            Needs::All(&[WriteActivities]),
        ),
        case(
            Method::GET,
            "/appointments",
            format!("/appointments?owner={ADMIN}"),
            None,
            Needs::All(&[ReadActivities]),
        ),
        case(
            Method::GET,
            "/appointments/{id}",
            format!("/appointments/{}", f.appointment),
            None,
            Needs::All(&[ReadActivities]),
        ),
        case(
            Method::PATCH,
            "/appointments/{id}",
            format!("/appointments/{}", f.appointment),
            Some(stale.clone()),
            Needs::All(&[WriteActivities]),
        ),
        case(
            Method::DELETE,
            "/appointments/{id}",
            "/appointments/missing".into(),
            None,
            Needs::All(&[WriteActivities]),
        ),
        case(
            Method::POST,
            "/contacts",
            "/contacts".into(),
            Some(json!({"owner": ADMIN, "last_name": "L"})),
            Needs::All(&[WriteActivities]),
        ),
        case(
            Method::GET,
            "/contacts",
            format!("/contacts?owner={ADMIN}"),
            None,
            Needs::All(&[ReadActivities]),
        ),
        case(
            Method::GET,
            "/contacts/{id}",
            format!("/contacts/{}", f.contact),
            None,
            Needs::All(&[ReadActivities]),
        ),
        case(
            Method::PATCH,
            "/contacts/{id}",
            format!("/contacts/{}", f.contact),
            Some(stale.clone()),
            Needs::All(&[WriteActivities]),
        ),
        case(
            Method::DELETE,
            "/contacts/{id}",
            "/contacts/missing".into(),
            None,
            Needs::All(&[WriteActivities]),
        ),
        case(
            Method::POST,
            "/tasks",
            "/tasks".into(),
            Some(json!({"owner": ADMIN, "subject": "S"})),
            Needs::All(&[WriteActivities]),
        ),
        case(
            Method::GET,
            "/tasks",
            format!("/tasks?owner={ADMIN}"),
            None,
            Needs::All(&[ReadActivities]),
        ),
        case(
            Method::GET,
            "/tasks/{id}",
            format!("/tasks/{}", f.task),
            None,
            Needs::All(&[ReadActivities]),
        ),
        case(
            Method::PATCH,
            "/tasks/{id}",
            format!("/tasks/{}", f.task),
            Some(stale.clone()),
            Needs::All(&[WriteActivities]),
        ),
        case(
            Method::DELETE,
            "/tasks/{id}",
            "/tasks/missing".into(),
            None,
            Needs::All(&[WriteActivities]),
        ),
        // roles
        case(
            Method::GET,
            "/principals/{principal}/roles",
            format!("/principals/{ADMIN}/roles"),
            None,
            Needs::All(&[ManageRoles]),
        ),
        case(
            Method::PUT,
            "/principals/{principal}/roles",
            "/principals/someone-else/roles".into(),
            Some(json!({"roles": ["salesperson"]})),
            Needs::All(&[ManageRoles]),
        ),
        case(
            Method::PUT,
            "/roles/{name}",
            "/roles/auditor".into(),
            Some(json!({"privileges": ["read_profiles"]})),
            Needs::All(&[ManageRoles]),
        ),
    ]
}

#[tokio::test]
async fn the_matrix_covers_every_route_of_the_router() {
    let api = Api::start("matrix-routes").await;
    let f = fixture(&api).await;
    let covered: BTreeSet<(String, String)> = cases(&f)
        .iter()
        .map(|c| (c.method.to_string(), c.template.to_owned()))
        .collect();
    let served: BTreeSet<(String, String)> = exsync_api::route_table()
        .into_iter()
        .map(|r| (r.method.to_string(), r.path.to_owned()))
        .collect();
    assert_eq!(covered, served);
}

#[tokio::test]
async fn every_role_is_allowed_exactly_what_its_privileges_grant_on_every_route() {
    let api = Api::start("matrix").await;
    let f = fixture(&api).await;
    // Every built-in role, and a principal holding none.
    let mut principals: Vec<(String, BTreeSet<Privilege>)> = Vec::new();
    for role in builtin_roles() {
        let principal = format!("matrix-{}", role.name);
        api.assign(&principal, &[role.name.as_str()]).await;
        principals.push((principal, role.privileges.clone()));
    }
    principals.push(("matrix-nobody".to_owned(), BTreeSet::new()));

    let mut wrong = Vec::new();
    for (principal, held) in &principals {
        for case in cases(&f) {
            let answer = api
                .call(
                    Some(principal),
                    case.method.clone(),
                    &case.path,
                    case.body.as_ref(),
                )
                .await;
            let status = answer.status.as_u16();
            let cell = format!("{principal} {} {}", case.method, case.path);
            if case.needs.allowed(held) {
                if status == 401 || status == 403 {
                    wrong.push(format!("{cell}: refused ({status}) {}", answer.body));
                }
            } else if status != 403 {
                wrong.push(format!(
                    "{cell}: expected 403, got {status} {}",
                    answer.body
                ));
            } else {
                let named = answer.body["privilege"].as_str().unwrap_or("").to_owned();
                if !case.needs.missing(held).contains(&named.as_str()) {
                    wrong.push(format!(
                        "{cell}: 403 names {named:?}, expected one of {:?}",
                        case.needs.missing(held)
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cells wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

// --- identity -----------------------------------------------------------------------

#[tokio::test]
async fn a_request_without_a_caller_is_a_401() {
    let api = Api::start("id-401").await;
    let answer = api.call(None, Method::GET, "/profiles", None).await;
    let body = answer.expect(401);
    assert!(body["error"].is_string(), "{body}");
}

#[tokio::test]
async fn the_openapi_document_needs_no_caller() {
    let api = Api::start("id-openapi").await;
    let doc = api
        .call(None, Method::GET, "/openapi.json", None)
        .await
        .expect(200);
    assert!(text(&doc, "openapi").starts_with("3."));
}

#[tokio::test]
async fn the_bootstrap_administrator_holds_every_privilege_and_the_administrator_role() {
    let api = Api::start("id-bootstrap").await;
    let me = api.get("/me").await.expect(200);
    let held: BTreeSet<&str> = me["privileges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    let all: BTreeSet<&str> = Privilege::ALL.iter().map(|p| p.as_str()).collect();
    assert_eq!(held, all);
    let roles = api
        .get(&format!("/principals/{ADMIN}/roles"))
        .await
        .expect(200);
    assert_eq!(roles["roles"], json!(["system_administrator"]));
}

#[tokio::test]
async fn bootstrapping_twice_assigns_the_administrator_role_once() {
    let api = Api::start("id-bootstrap-twice").await;
    let admin = exsync_domain::ids::Principal::parse(ADMIN).unwrap();
    exsync_api::bootstrap(&api.admin, &admin).await.unwrap();
    let roles = api
        .get(&format!("/principals/{ADMIN}/roles"))
        .await
        .expect(200);
    assert_eq!(roles["roles"], json!(["system_administrator"]));
}

#[tokio::test]
async fn an_assigned_role_takes_effect_on_the_next_request() {
    let api = Api::start("id-assign").await;
    let before = api.call(Some("dana"), Method::GET, "/profiles", None).await;
    assert_eq!(before.missing_privilege(), "read_profiles");
    api.assign("dana", &["mailbox_manager"]).await;
    api.call(Some("dana"), Method::GET, "/profiles", None)
        .await
        .expect(200);
    // A principal reads its own roles without manage_roles.
    let own = api
        .call(Some("dana"), Method::GET, "/principals/dana/roles", None)
        .await
        .expect(200);
    assert_eq!(own["roles"], json!(["mailbox_manager"]));
}

#[tokio::test]
async fn an_unknown_role_names_the_field() {
    let api = Api::start("id-unknown-role").await;
    let answer = api
        .put(
            "/principals/dana/roles",
            json!({"roles": ["salesperson", "wizard"]}),
        )
        .await;
    assert_eq!(answer.bad_fields(), ["roles.1"]);
}

#[tokio::test]
async fn a_custom_role_grants_its_privileges() {
    let api = Api::start("id-custom-role").await;
    api.put(
        "/roles/auditor",
        json!({"privileges": ["read_profiles", "read_alerts"]}),
    )
    .await
    .expect(200);
    api.assign("erin", &["auditor"]).await;
    api.call(Some("erin"), Method::GET, "/profiles", None)
        .await
        .expect(200);
    let denied = api
        .call(Some("erin"), Method::GET, "/mailboxes", None)
        .await;
    assert_eq!(denied.missing_privilege(), "read_mailboxes");
}

#[tokio::test]
async fn a_built_in_role_cannot_be_redefined() {
    let api = Api::start("id-builtin").await;
    let answer = api
        .put(
            "/roles/salesperson",
            json!({"privileges": ["manage_roles"]}),
        )
        .await;
    assert_eq!(answer.bad_fields(), ["name"]);
}

#[tokio::test]
async fn a_principal_with_slashes_is_one_path_segment() {
    let api = Api::start("id-arn").await;
    let arn = "arn:aws:iam::123456789012:user/ops/alice";
    api.assign(arn, &["email_approver"]).await;
    let roles = api
        .get(&format!("/principals/{}/roles", encode(arn)))
        .await
        .expect(200);
    assert_eq!(roles["roles"], json!(["email_approver"]));
    let me = api
        .call(Some(arn), Method::GET, "/me", None)
        .await
        .expect(200);
    assert_eq!(me["principal"], arn);
}

// --- the owner rule -----------------------------------------------------------------

#[tokio::test]
async fn a_mailbox_owner_reads_their_mailbox_and_its_alerts_without_privileges() {
    let api = Api::start("owner-rule").await;
    let p = api.create_profile("Contoso", json!({})).await;
    let m = api
        .create_mailbox(ALICE, Some(text(&p, "id")), "alice-user")
        .await;
    let id = text(&m, "id");
    api.post("/mailboxes/test-and-enable", json!({"mailbox_ids": [id]}))
        .await
        .expect(200);
    let as_owner = |path: String| {
        let api = &api;
        async move { api.call(Some("alice-user"), Method::GET, &path, None).await }
    };
    as_owner(format!("/mailboxes/{id}")).await.expect(200);
    let alerts = as_owner(format!("/alerts?mailbox={id}")).await.expect(200);
    assert!(!alerts["items"].as_array().unwrap().is_empty());
    as_owner("/alerts?owner=alice-user".into())
        .await
        .expect(200);
    // Someone else's mailbox, and everyone's, still need the privilege.
    let other = api.create_mailbox(BOB, None, ADMIN).await;
    let denied = as_owner(format!("/mailboxes/{}", text(&other, "id"))).await;
    assert_eq!(denied.missing_privilege(), "read_mailboxes");
    let all = as_owner("/mailboxes".into()).await;
    assert_eq!(all.missing_privilege(), "read_mailboxes");
}

#[tokio::test]
async fn an_owner_dismisses_an_alert_on_their_own_wall() {
    let api = Api::start("owner-dismiss").await;
    let p = api.create_profile("Contoso", json!({})).await;
    let m = api
        .create_mailbox(ALICE, Some(text(&p, "id")), "alice-user")
        .await;
    let id = text(&m, "id");
    api.post("/mailboxes/test-and-enable", json!({"mailbox_ids": [id]}))
        .await
        .expect(200);
    let alerts = api.get(&format!("/alerts?mailbox={id}")).await.expect(200);
    let alert = text(&alerts["items"][0], "id");
    api.call(
        Some("bob-user"),
        Method::POST,
        &format!("/alerts/{alert}/dismiss"),
        None,
    )
    .await
    .expect(403);
    api.call(
        Some("alice-user"),
        Method::POST,
        &format!("/alerts/{alert}/dismiss"),
        None,
    )
    .await
    .expect(204);
}

// --- routing ------------------------------------------------------------------------

#[tokio::test]
async fn an_unknown_path_is_a_json_404_and_a_wrong_method_a_json_405() {
    let api = Api::start("routing").await;
    let missing = api.get("/no/such/endpoint").await.expect(404);
    assert!(missing["error"].is_string());
    let wrong = api
        .call(Some(ADMIN), Method::PUT, "/profiles", Some(&json!({})))
        .await
        .expect(405);
    assert!(wrong["error"].is_string());
}
