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

use crate::autodiscover::AutodiscoverBehavior;
use crate::config::{GrantScope, ThrottlingConfig};
use crate::ews::IncomingMessage;
use crate::faults::FaultRule;
use crate::server::{Shared, SimBody, response};
use crate::store::EmailAddress;
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

/// Answers one `/sim/` request.
pub(crate) fn handle(
    shared: &Shared,
    peer: SocketAddr,
    method: &Method,
    path: &str,
    body: &[u8],
) -> Response<SimBody> {
    if !peer.ip().is_loopback() {
        return json_response(StatusCode::FORBIDDEN, json!({"error": "loopback only"}));
    }
    match dispatch(shared, method, path, body) {
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

fn dispatch(shared: &Shared, method: &Method, path: &str, body: &[u8]) -> Outcome {
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

fn json_response(status: StatusCode, value: Value) -> Response<SimBody> {
    response(status, "application/json", Bytes::from(value.to_string()))
}
