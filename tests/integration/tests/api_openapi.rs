//! The OpenAPI document at `/openapi.json` against the live router: every documented
//! operation is served, every other method of a documented path is refused with 405, and
//! real answers have the shapes the document's schemas describe. (The route table and the
//! input schemas are compared with the code in `exsync-api`'s own tests.)

mod api_support;

use api_support::*;
use reqwest::Method;
use serde_json::{Value, json};

async fn document(api: &Api) -> Value {
    api.call(None, Method::GET, "/openapi.json", None)
        .await
        .expect(200)
}

/// `/profiles/{id}/default` → `/profiles/x/default`.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|s| {
            if s.starts_with('{') {
                "x".to_owned()
            } else {
                s.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn methods() -> [Method; 5] {
    [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ]
}

#[tokio::test]
async fn every_documented_operation_is_served_and_no_other_method() {
    let api = Api::start("openapi-routes").await;
    let doc = document(&api).await;
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() > 20, "{}", paths.len());
    let mut wrong = Vec::new();
    for (template, item) in paths {
        let path = concrete(template);
        for method in methods() {
            let documented = item.get(method.as_str().to_lowercase()).is_some();
            let body =
                matches!(method, Method::POST | Method::PUT | Method::PATCH).then(|| json!({}));
            let answer = api
                .call(Some(ADMIN), method.clone(), &path, body.as_ref())
                .await;
            let status = answer.status.as_u16();
            let unrouted = status == 404 && answer.body["error"] == "no such endpoint";
            if documented && (status == 405 || unrouted) {
                wrong.push(format!(
                    "{method} {template}: documented but answered {status}"
                ));
            }
            if !documented && status != 405 {
                wrong.push(format!(
                    "{method} {template}: not documented but answered {status}"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Checks `value` against `schema`, resolving `$ref`s in `doc`; each mismatch is pushed as
/// "path: problem".
fn check(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        let resolved = &doc["components"]["schemas"][name];
        assert!(!resolved.is_null(), "undefined schema {name}");
        return check(doc, resolved, value, at, errors);
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    match schema["type"].as_str() {
        Some("object") => {
            let Some(obj) = value.as_object() else {
                errors.push(format!("{at}: expected an object, got {value}"));
                return;
            };
            if let Some(props) = schema["properties"].as_object() {
                for (k, v) in obj {
                    match props.get(k) {
                        Some(s) => check(doc, s, v, &format!("{at}.{k}"), errors),
                        None if schema["additionalProperties"] == false => {
                            errors.push(format!("{at}.{k}: not in the schema"))
                        }
                        None => {}
                    }
                }
                for r in schema["required"].as_array().into_iter().flatten() {
                    let r = r.as_str().unwrap();
                    if !obj.contains_key(r) {
                        errors.push(format!("{at}.{r}: required but missing"));
                    }
                }
            } else if schema["additionalProperties"].is_object() {
                for (k, v) in obj {
                    check(
                        doc,
                        &schema["additionalProperties"],
                        v,
                        &format!("{at}.{k}"),
                        errors,
                    );
                }
            }
        }
        Some("array") => match value.as_array() {
            Some(items) => {
                for (i, v) in items.iter().enumerate() {
                    check(doc, &schema["items"], v, &format!("{at}[{i}]"), errors);
                }
            }
            None => errors.push(format!("{at}: expected an array, got {value}")),
        },
        Some("string") if !value.is_string() => {
            errors.push(format!("{at}: expected a string, got {value}"))
        }
        Some("integer") if !(value.is_u64() || value.is_i64()) => {
            errors.push(format!("{at}: expected an integer, got {value}"))
        }
        Some("boolean") if !value.is_boolean() => {
            errors.push(format!("{at}: expected a boolean, got {value}"))
        }
        _ => {}
    }
}

/// The schema of the documented `status` answer of `method path`.
fn response_schema<'a>(doc: &'a Value, method: &str, template: &str, status: u16) -> &'a Value {
    let schema = &doc["paths"][template][method]["responses"][status.to_string()]["content"]["application/json"]
        ["schema"];
    assert!(
        !schema.is_null(),
        "{method} {template} documents no {status} body"
    );
    schema
}

#[tokio::test]
async fn real_answers_have_the_documented_shapes() {
    let api = Api::start("openapi-shapes").await;
    let doc = document(&api).await;
    let mut errors = Vec::new();
    let mut expect = |method: &str, template: &str, status: u16, body: &Value| {
        let schema = response_schema(&doc, method, template, status);
        check(
            &doc,
            schema,
            body,
            &format!("{method} {template}"),
            &mut errors,
        );
    };

    let p = api.create_profile("Shapes", json!({})).await;
    expect("post", "/profiles", 201, &p);
    let pid = text(&p, "id").to_owned();
    let tested = api
        .post(
            &format!("/profiles/{pid}/test-connection"),
            json!({"test_mailbox": ALICE}),
        )
        .await
        .expect(200);
    expect("post", "/profiles/{id}/test-connection", 200, &tested);
    let fetched = api.get(&format!("/profiles/{pid}")).await.expect(200);
    expect("get", "/profiles/{id}", 200, &fetched);
    expect(
        "get",
        "/profiles",
        200,
        &api.get("/profiles").await.expect(200),
    );
    let settings = api
        .patch(
            "/org-settings",
            json!({"version": 0, "smart_matching": true}),
        )
        .await
        .expect(200);
    expect("patch", "/org-settings", 200, &settings);

    let m = api.create_mailbox(ALICE, Some(&pid), ADMIN).await;
    expect("post", "/mailboxes", 201, &m);
    let mid = text(&m, "id").to_owned();
    let approved = api
        .post("/mailboxes/approve", json!({"mailbox_ids": [mid]}))
        .await
        .expect(200);
    expect("post", "/mailboxes/approve", 200, &approved);
    let tested = api
        .post("/mailboxes/test-and-enable", json!({"mailbox_ids": [mid]}))
        .await
        .expect(200);
    expect("post", "/mailboxes/test-and-enable", 200, &tested);
    expect(
        "get",
        "/mailboxes",
        200,
        &api.get("/mailboxes").await.expect(200),
    );
    let alerts = api.get(&format!("/alerts?mailbox={mid}")).await.expect(200);
    expect("get", "/alerts", 200, &alerts);
    let job = api
        .post(&format!("/profiles/{pid}/test-and-enable"), json!({}))
        .await
        .expect(202);
    expect("post", "/profiles/{id}/test-and-enable", 202, &job);
    let done = api.run_job(text(&job, "id")).await;
    expect("get", "/jobs/{id}", 200, &done);

    let r = api
        .post(
            "/records",
            json!({"kind": "contact", "name": "Dana", "addresses": ["dana@fabrikam.test"]}),
        )
        .await
        .expect(201);
    expect("post", "/records", 201, &r);
    let e = api
        .post(
            "/emails",
            json!({"sender_mailbox_id": mid, "to": ["dana@fabrikam.test"], "subject": "s",
                   "body_html": "<p>s</p>", "regarding": r["id"]}),
        )
        .await
        .expect(201);
    expect("post", "/emails", 201, &e);
    let a = api
        .post(
            "/appointments",
            json!({"subject": "A", "start": "2026-12-01T09:00:00Z", "end": "2026-12-01T10:00:00Z",
                   "optional_attendees": [BOB], "regarding": r["id"]}),
        )
        .await
        .expect(201);
    expect("post", "/appointments", 201, &a);
    let c = api
        .post(
            "/contacts",
            json!({"first_name": "C", "email": "c@fabrikam.test"}),
        )
        .await
        .expect(201);
    expect("post", "/contacts", 201, &c);
    let t = api
        .post(
            "/tasks",
            json!({"subject": "T", "due": "2026-12-02T00:00:00Z"}),
        )
        .await
        .expect(201);
    expect("post", "/tasks", 201, &t);
    expect("get", "/tasks", 200, &api.get("/tasks").await.expect(200));
    expect("get", "/me", 200, &api.get("/me").await.expect(200));

    let bad = api.post("/profiles", json!({"name": 5})).await;
    assert_eq!(bad.status, 400);
    expect("post", "/profiles", 400, &bad.body);
    let forbidden = api
        .call(Some("nobody"), Method::GET, "/profiles", None)
        .await;
    assert_eq!(forbidden.status, 403);
    expect("get", "/profiles", 403, &forbidden.body);

    assert!(errors.is_empty(), "{}", errors.join("\n"));
}
