//! The `/sim/` control API: JSON over the simulator's HTTPS port for callers that cannot use
//! the Rust handle (the exchangelib interop suite, the demo script). Unauthenticated, so it
//! answers loopback peers only.
//!
//! | method and path | body | effect |
//! |---|---|---|
//! | `GET /sim/info` | | URLs, addresses, CA path |
//! | `POST /sim/faults` | `[FaultRule…]` | replaces the fault script |
//! | `POST /sim/faults/add` | `FaultRule` | appends a rule |
//! | `POST /sim/faults/clear` | | removes every rule |
//! | `GET /sim/load` | | per-account load and peaks |
//! | `POST /sim/load/reset` | | restarts the peaks |
//! | `GET /sim/counts` | | requests per EWS operation |
//! | `POST /sim/auth` | `{"ntlm":bool,"basic":bool}` | switches schemes |
//! | `POST /sim/throttling` | `{"max_concurrency":n,"answer":…}` | changes the budget |
//! | `POST /sim/close-connections` | | closes every kept-alive connection |
//! | `POST /sim/autodiscover` | `{"host":…,"behavior":…}` | per-host Autodiscover behaviour |
//! | `POST /sim/password` | `{"account":…,"password":…}` | changes a password |
//! | `POST /sim/impersonation/grant` | `{"account":…,"scope":…}` | grants ApplicationImpersonation |
//! | `POST /sim/impersonation/revoke` | `{"account":…,"mailbox":…?}` | revokes it (or one mailbox) |
//! | `POST /sim/mailboxes` | `{"smtp":…,"display_name":…}` | adds a mailbox (directory and store) |
//! | `POST /sim/deliver` | `{"to":…,"from":…,"subject":…,…}` | delivers a message to an Inbox |
//! | `POST /sim/invalidate-sync-states` | `{"mailbox":…}` | makes issued SyncStates invalid |
//! | `GET /sim/invalid-responses` | | responses that failed schema validation |
//! | `GET /sim/items?mailbox=…&folder=…` | | the items of a distinguished folder, newest first |
//! | `POST /sim/calendar-items` | `{"mailbox":…,"subject":…,"start":…,"end":…,…}` | an appointment made in Outlook |
//! | `POST /sim/contacts` | `{"mailbox":…,"given_name":…,"surname":…,…}` | a contact made in Outlook |
//! | `POST /sim/tasks` | `{"mailbox":…,"subject":…,…}` | a task made in Outlook |
//! | `GET /sim/arrivals` | | the arrival streams: paused, delivered counts |
//! | `POST /sim/arrivals/pause` | | stops the arrival streams' deliveries |
//! | `POST /sim/arrivals/resume` | | lets them deliver again |
//!
//! Answers are JSON: `{"ok":true}` for changes, `{"item_id":…}` for created items, and
//! `{"error":…}` with 400 (a body or query that does not parse, a value the store refuses,
//! an unknown folder name), 404 (an unknown endpoint, or a mailbox `GET /sim/items` does not
//! know) or 403 (not from loopback). Bodies refuse unknown fields. Times are RFC 3339.
//!
//! `GET /sim/items` takes `mailbox` (SMTP address) and `folder` (a `DistinguishedFolderId`
//! the simulator models: `inbox`, `sentitems`, `drafts`, `deleteditems`, `outbox`,
//! `junkemail`, `calendar`, `contacts`, `tasks`, `msgfolderroot`, `root`) and answers an
//! array of:
//!
//! ```json
//! {"id": "…", "change_key": "…", "kind": "message|calendar_item|contact|task",
//!  "subject": "…"|null, "from": {"name": "…"|null, "address": "…"}|null,
//!  "to": [{"name", "address"}], "cc": [{"name", "address"}],
//!  "internet_message_id": "<…>"|null, "in_reply_to": "<…>"|null, "references": "…"|null,
//!  "is_read": false, "body_text": "…"|null, "received": "2024-05-06T08:15:00Z",
//!  "start": RFC 3339|null, "end": RFC 3339|null, "location": "…"|null,
//!  "status": "NotStarted"|…|null, "categories": ["…"], "attachment_names": ["…"],
//!  "contact": {"display_name", "given_name", "surname", "company", "job_title",
//!              "email_addresses": [{"key": "EmailAddress1", "address"}],
//!              "phone_numbers": [{"key": "BusinessPhone", "number"}]}|null,
//!  "extended_properties": [{"tag": "0x1081"|null, "set_guid": "…"|null,
//!      "distinguished_set": "PublicStrings"|null, "name": "…"|null, "id": 123|null,
//!      "type": "String", "value": "…" or ["…", …]}]}
//! ```
//!
//! `from` is the organizer of a calendar item, `to`/`cc` its required/optional attendees;
//! `start`/`end` are a calendar item's times or a task's start and due dates; `received` is
//! the creation time of items that were not received. `set_guid` is the property set's
//! GUID, lower-case for distinguished sets, as written for the others.
//!
//! The user-side creations (the next SyncFolderItems of the folder reports them as created):
//!
//! - `POST /sim/calendar-items`: `mailbox`, `subject`, `start`, `end` (not before `start`),
//!   optional `body`, `location`, `attendees` (`[{"address","name"?}]`, no invitations
//!   sent), `is_all_day`.
//! - each of the three also takes `categories` (`["Tracked to exsync"]` is how a user has
//!   exsync track an Outlook item).
//! - `POST /sim/contacts`: `mailbox`, optional `display_name` (default "given surname",
//!   else the e-mail), `given_name`, `surname`, `email`, `company`, `business_phone`.
//! - `POST /sim/tasks`: `mailbox`, `subject`, optional `body`, `start`, `due`, `status`
//!   (`NotStarted`, `InProgress`, `Completed`, `WaitingOnOthers`, `Deferred`).
//!
//! `GET /sim/arrivals` answers `{"paused": false, "delivered": 7, "streams": [{"to": "…",
//! "every_seconds": 15.0, "messages": 4, "delivered": 5}]}` (see
//! [`crate::config::ArrivalConfig`] for what the streams deliver).

use crate::autodiscover::AutodiscoverBehavior;
use crate::config::{AddressConfig, GrantScope, ThrottlingConfig};
use crate::ews::{IncomingMessage, ItemSummary, NewCalendarItem, NewContact, NewTask};
use crate::faults::FaultRule;
use crate::server::{Shared, SimBody, response};
use crate::store::{
    DistinguishedFolder, EmailAddress, ExtendedProperty, ItemKind, PropertyKey, PropertyName,
    PropertySet, PropertyValue, StoreError,
};
use bytes::Bytes;
use http::{Method, Response, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::PoisonError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthSwitch {
    ntlm: bool,
    basic: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HostBehavior {
    host: String,
    behavior: AutodiscoverBehavior,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Password {
    account: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Grant {
    account: String,
    scope: GrantScope,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Revoke {
    account: String,
    #[serde(default)]
    mailbox: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewMailbox {
    smtp: String,
    display_name: String,
}

/// A message arriving from outside EWS, as JSON.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Delivery {
    to: String,
    from: String,
    #[serde(default)]
    from_name: Option<String>,
    subject: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_html: Option<String>,
    #[serde(default)]
    message_id: Option<String>,
    #[serde(default)]
    in_reply_to: Option<String>,
    /// RFC 3339; now when absent.
    #[serde(default, with = "time::serde::rfc3339::option")]
    received: Option<time::OffsetDateTime>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MailboxRef {
    mailbox: String,
}

/// The query of `GET /sim/items`.
struct ItemsQuery {
    mailbox: String,
    folder: String,
}

impl ItemsQuery {
    /// Both parameters required, no others (as the JSON bodies refuse unknown fields).
    fn parse(query: &str) -> Result<Self, (StatusCode, String)> {
        let bad = |message: String| (StatusCode::BAD_REQUEST, format!("query: {message}"));
        let (mut mailbox, mut folder) = (None, None);
        for (key, value) in query_pairs(query).map_err(bad)? {
            match key.as_str() {
                "mailbox" => mailbox = Some(value),
                "folder" => folder = Some(value),
                other => {
                    return Err(bad(format!(
                        "unknown parameter {other:?} (expected mailbox and folder)"
                    )));
                }
            }
        }
        Ok(Self {
            mailbox: mailbox.ok_or_else(|| bad("missing parameter mailbox".into()))?,
            folder: folder.ok_or_else(|| bad("missing parameter folder".into()))?,
        })
    }
}

/// The `key=value` pairs of a URL query, decoded as HTML forms encode them (`+` is a space,
/// `%XX` a byte, the result UTF-8).
fn query_pairs(query: &str) -> Result<Vec<(String, String)>, String> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((form_decode(key)?, form_decode(value)?))
        })
        .collect()
}

fn form_decode(raw: &str) -> Result<String, String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    // from_str_radix alone would take a sign ("%+1").
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("bad percent escape in {raw:?}"))?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| format!("{raw:?} is not UTF-8"))
}

/// An appointment made on the user's side.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarItemBody {
    mailbox: String,
    subject: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    start: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    end: time::OffsetDateTime,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    attendees: Vec<AddressConfig>,
    #[serde(default)]
    is_all_day: bool,
    #[serde(default)]
    categories: Vec<String>,
}

/// A contact made on the user's side.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactBody {
    mailbox: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    given_name: Option<String>,
    #[serde(default)]
    surname: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    company: Option<String>,
    #[serde(default)]
    business_phone: Option<String>,
    #[serde(default)]
    categories: Vec<String>,
}

/// A task made on the user's side.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskBody {
    mailbox: String,
    subject: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    start: Option<time::OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    due: Option<time::OffsetDateTime>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    categories: Vec<String>,
}

/// Answers one `/sim/` request.
pub(crate) fn handle(
    shared: &Shared,
    peer: SocketAddr,
    method: &Method,
    path: &str,
    query: &str,
    body: &[u8],
) -> Response<SimBody> {
    if !peer.ip().is_loopback() {
        return json_response(StatusCode::FORBIDDEN, json!({"error": "loopback only"}));
    }
    match dispatch(shared, method, path, query, body) {
        Ok(value) => json_response(StatusCode::OK, value),
        Err((status, message)) => json_response(status, json!({ "error": message })),
    }
}

type Outcome = Result<Value, (StatusCode, String)>;

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, (StatusCode, String)> {
    serde_json::from_slice(body).map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))
}

fn ok() -> Outcome {
    Ok(json!({"ok": true}))
}

/// A store error as a 400 naming what was refused.
fn refused(e: StoreError) -> (StatusCode, String) {
    (StatusCode::BAD_REQUEST, e.to_string())
}

fn created(id: Result<crate::store::ItemId, StoreError>) -> Outcome {
    let id = id.map_err(refused)?;
    Ok(json!({ "item_id": id.as_str() }))
}

fn dispatch(shared: &Shared, method: &Method, path: &str, query: &str, body: &[u8]) -> Outcome {
    let path = path.trim_end_matches('/');
    match (method.as_str(), path) {
        ("GET", "/sim/info") => {
            let e = &shared.endpoints;
            Ok(json!({
                "ews_url": e.ews_url,
                "autodiscover_url": e.autodiscover_url,
                "http_probe_url": format!("http://{}/autodiscover/autodiscover.xml", e.http_addr),
                "https_addr": e.https_addr.to_string(),
                "http_addr": e.http_addr.to_string(),
                "ca_pem": e.ca_path.display().to_string(),
            }))
        }
        ("POST", "/sim/faults") => {
            shared.faults.set(parse::<Vec<FaultRule>>(body)?);
            ok()
        }
        ("POST", "/sim/faults/add") => {
            shared.faults.add(parse::<FaultRule>(body)?);
            ok()
        }
        ("POST", "/sim/faults/clear") | ("DELETE", "/sim/faults") => {
            shared.faults.clear();
            ok()
        }
        ("GET", "/sim/load") => Ok(json!(shared.throttle.loads())),
        ("POST", "/sim/load/reset") => {
            shared.throttle.reset_peaks();
            ok()
        }
        ("GET", "/sim/counts") => {
            let counts = shared
                .counts
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            Ok(json!(counts))
        }
        ("POST", "/sim/auth") => {
            let switch = parse::<AuthSwitch>(body)?;
            shared.switches.set(switch.ntlm, switch.basic);
            ok()
        }
        ("POST", "/sim/throttling") => {
            let t = parse::<ThrottlingConfig>(body)?;
            shared.throttle.configure(t.max_concurrency, t.answer);
            ok()
        }
        ("POST", "/sim/close-connections") => {
            shared.close_connections();
            ok()
        }
        ("POST", "/sim/autodiscover") => {
            let hb = parse::<HostBehavior>(body)?;
            shared
                .autodiscover
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(hb.host.to_ascii_lowercase(), hb.behavior);
            ok()
        }
        ("POST", "/sim/password") => {
            let p = parse::<Password>(body)?;
            write_directory(shared).set_password(&p.account, &p.password);
            ok()
        }
        ("POST", "/sim/impersonation/grant") => {
            let g = parse::<Grant>(body)?;
            write_directory(shared).grant(&g.account, g.scope);
            ok()
        }
        ("POST", "/sim/impersonation/revoke") => {
            let r = parse::<Revoke>(body)?;
            let mut directory = write_directory(shared);
            match r.mailbox {
                Some(mailbox) => directory.revoke_mailbox(&r.account, &mailbox),
                None => directory.revoke(&r.account),
            }
            ok()
        }
        ("POST", "/sim/mailboxes") => {
            let m = parse::<NewMailbox>(body)?;
            write_directory(shared).add_mailbox(&m.smtp, &m.display_name);
            shared.exchange.ensure_mailbox(&m.smtp, &m.display_name);
            ok()
        }
        ("POST", "/sim/deliver") => {
            let d = parse::<Delivery>(body)?;
            let from = match d.from_name {
                Some(name) => EmailAddress::named(name, d.from),
                None => EmailAddress::new(d.from),
            };
            let message = IncomingMessage {
                from,
                subject: d.subject,
                body_text: d.body,
                body_html: d.body_html,
                message_id: d.message_id,
                in_reply_to: d.in_reply_to,
                received: d.received,
                ..IncomingMessage::default()
            };
            let id = shared
                .exchange
                .deliver(&d.to, message)
                .map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
            Ok(json!({ "item_id": id.as_str() }))
        }
        ("POST", "/sim/invalidate-sync-states") => {
            let m = parse::<MailboxRef>(body)?;
            shared
                .exchange
                .invalidate_sync_states(&m.mailbox)
                .map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
            ok()
        }
        ("GET", "/sim/invalid-responses") => Ok(json!(shared.exchange.invalid_responses())),
        ("GET", "/sim/items") => {
            let q = ItemsQuery::parse(query)?;
            let folder = DistinguishedFolder::from_id(&q.folder).ok_or_else(|| {
                let known: Vec<&str> = DistinguishedFolder::ALL.iter().map(|f| f.id()).collect();
                (
                    StatusCode::BAD_REQUEST,
                    format!("unknown folder {:?}: one of {}", q.folder, known.join(", ")),
                )
            })?;
            let items = shared
                .exchange
                .items(&q.mailbox, folder)
                .map_err(|e| match e {
                    StoreError::NoSuchMailbox(_) | StoreError::NoSuchFolder(_) => {
                        (StatusCode::NOT_FOUND, e.to_string())
                    }
                    other => refused(other),
                })?;
            Ok(Value::Array(items.iter().map(item_json).collect()))
        }
        ("POST", "/sim/calendar-items") => {
            let c = parse::<CalendarItemBody>(body)?;
            created(
                shared.exchange.create_calendar_item(
                    &c.mailbox,
                    NewCalendarItem {
                        subject: c.subject,
                        body_text: c.body,
                        start: Some(c.start),
                        end: Some(c.end),
                        location: c.location,
                        attendees: c
                            .attendees
                            .into_iter()
                            .map(|a| EmailAddress {
                                name: a.name,
                                address: a.address,
                            })
                            .collect(),
                        optional_attendees: Vec::new(),
                        is_all_day: c.is_all_day,
                        extended_properties: Vec::new(),
                        categories: c.categories,
                    },
                ),
            )
        }
        ("POST", "/sim/contacts") => {
            let c = parse::<ContactBody>(body)?;
            created(shared.exchange.create_contact(
                &c.mailbox,
                NewContact {
                    display_name: c.display_name.unwrap_or_default(),
                    given_name: c.given_name,
                    surname: c.surname,
                    company_name: c.company,
                    email: c.email,
                    business_phone: c.business_phone,
                    extended_properties: Vec::new(),
                    categories: c.categories,
                },
            ))
        }
        ("POST", "/sim/tasks") => {
            let t = parse::<TaskBody>(body)?;
            created(shared.exchange.create_task(
                &t.mailbox,
                NewTask {
                    subject: t.subject,
                    body_text: t.body,
                    start: t.start,
                    due: t.due,
                    status: t.status,
                    extended_properties: Vec::new(),
                    categories: t.categories,
                },
            ))
        }
        ("GET", "/sim/arrivals") => Ok(json!(shared.arrivals.status())),
        ("POST", "/sim/arrivals/pause") => {
            shared.arrivals.pause();
            ok()
        }
        ("POST", "/sim/arrivals/resume") => {
            shared.arrivals.resume();
            ok()
        }
        _ => Err((
            StatusCode::NOT_FOUND,
            format!("no control endpoint {method} {path}"),
        )),
    }
}

fn write_directory(
    shared: &Shared,
) -> std::sync::RwLockWriteGuard<'_, crate::directory::Directory> {
    shared
        .directory
        .write()
        .unwrap_or_else(PoisonError::into_inner)
}

fn rfc3339(t: time::OffsetDateTime) -> Value {
    t.format(&time::format_description::well_known::Rfc3339)
        .map_or(Value::Null, Value::String)
}

fn address_json(a: &EmailAddress) -> Value {
    json!({ "name": a.name, "address": a.address })
}

fn kind_name(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Message => "message",
        ItemKind::CalendarItem => "calendar_item",
        ItemKind::Contact => "contact",
        ItemKind::Task => "task",
    }
}

fn property_json(p: &ExtendedProperty) -> Value {
    let (tag, set_guid, distinguished_set, name, id) = match &p.key {
        PropertyKey::Tag(tag) => (Some(format!("0x{tag:x}")), None, None, None, None),
        PropertyKey::Named { set, name } => {
            let (guid, distinguished) = match set {
                PropertySet::Distinguished(d) => (d.guid().to_owned(), Some(d.as_str())),
                PropertySet::Guid(g) => (g.clone(), None),
            };
            let (name, id) = match name {
                PropertyName::Name(n) => (Some(n.clone()), None),
                PropertyName::Id(i) => (None, Some(*i)),
            };
            (None, Some(guid), distinguished, name, id)
        }
    };
    let value = match &p.value {
        PropertyValue::Single(v) => json!(v),
        PropertyValue::Multiple(vs) => json!(vs),
    };
    json!({
        "tag": tag,
        "set_guid": set_guid,
        "distinguished_set": distinguished_set,
        "name": name,
        "id": id,
        "type": p.property_type,
        "value": value,
    })
}

/// One item of `GET /sim/items` (the shape the module documentation gives).
fn item_json(s: &ItemSummary) -> Value {
    let contact = s.contact.as_ref().map(|c| {
        json!({
            "display_name": c.display_name,
            "given_name": c.given_name,
            "surname": c.surname,
            "company": c.company_name,
            "job_title": c.job_title,
            "email_addresses": c.email_addresses.iter()
                .map(|(key, address)| json!({ "key": key, "address": address }))
                .collect::<Vec<_>>(),
            "phone_numbers": c.phone_numbers.iter()
                .map(|(key, number)| json!({ "key": key, "number": number }))
                .collect::<Vec<_>>(),
        })
    });
    json!({
        "id": s.id.as_str(),
        "change_key": s.change_key.as_str(),
        "kind": kind_name(s.kind),
        "subject": s.subject,
        "from": s.from.as_ref().map(address_json),
        "to": s.to.iter().map(address_json).collect::<Vec<_>>(),
        "cc": s.cc.iter().map(address_json).collect::<Vec<_>>(),
        "internet_message_id": s.internet_message_id,
        "in_reply_to": s.in_reply_to,
        "references": s.references,
        "is_read": s.is_read,
        "body_text": s.body_text,
        "received": rfc3339(s.received),
        "start": s.start.map_or(Value::Null, rfc3339),
        "end": s.end.map_or(Value::Null, rfc3339),
        "location": s.location,
        "status": s.status,
        "categories": s.categories,
        "attachment_names": s.attachment_names,
        "contact": contact,
        "extended_properties": s.extended_properties.iter().map(property_json).collect::<Vec<_>>(),
    })
}

fn json_response(status: StatusCode, value: Value) -> Response<SimBody> {
    response(status, "application/json", Bytes::from(value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_form_decoded() {
        assert_eq!(
            query_pairs("mailbox=alice%40contoso.test&folder=inbox&&x=a+b%2Bc&flag").unwrap(),
            [
                ("mailbox".to_owned(), "alice@contoso.test".to_owned()),
                ("folder".to_owned(), "inbox".to_owned()),
                ("x".to_owned(), "a b+c".to_owned()),
                ("flag".to_owned(), String::new()),
            ]
        );
        assert_eq!(
            query_pairs("mailbox=alice@contoso.test").unwrap()[0].1,
            "alice@contoso.test",
            "an unescaped @ is taken as it is"
        );
    }

    #[test]
    fn broken_escapes_and_unknown_or_missing_parameters_are_refused() {
        assert!(query_pairs("mailbox=%4").is_err());
        assert!(query_pairs("mailbox=%zz").is_err());
        assert!(query_pairs("mailbox=%+1").is_err());
        assert!(query_pairs("mailbox=%ff").is_err(), "not UTF-8");
        let error = |q: &str| {
            ItemsQuery::parse(q)
                .err()
                .map(|(_, m)| m)
                .unwrap_or_default()
        };
        assert!(error("mailbox=a&folder=inbox&limit=5").contains("limit"));
        assert!(error("folder=inbox").contains("mailbox"));
        assert!(error("mailbox=a").contains("folder"));
    }
}
