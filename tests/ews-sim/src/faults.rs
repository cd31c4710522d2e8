//! Scriptable fault injection: what goes wrong, on which operation, and when.
//!
//! Every failure a client meets in the field against Exchange and the proxies in front of it
//! can be scripted per EWS operation (or for all of them), either as an exact sequence ("the
//! next 3 SyncFolderItems calls answer 503, then normal") or by probability. Faults apply
//! after authentication, so a scripted fault never hides an authentication problem.
//!
//! The SOAP shapes follow Exchange's throttling documentation
//! ([EWS throttling in Exchange](https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/ews-throttling-in-exchange)).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

/// One way an EWS request can go wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultKind {
    /// HTTP 500 with a SOAP fault carrying `code` as its ResponseCode.
    SoapFault {
        /// The EWS response code (`ErrorInternalServerError`, `ErrorMailboxMoveInProgress`, …).
        code: String,
        /// The fault's message; a generic one when absent.
        #[serde(default)]
        message: Option<String>,
    },
    /// HTTP 503 from IIS: requests are queuing.
    ServiceUnavailable,
    /// `ErrorServerBusy` SOAP fault (HTTP 500) with `BackOffMilliseconds`.
    ServerBusy {
        /// The BackOffMilliseconds value.
        back_off_ms: u64,
    },
    /// HTTP 200 whose response message is `ErrorInternalServerError` with an inner
    /// `ErrorServerBusy` in MessageXml, the form Exchange uses inside batch responses.
    InnerServerBusy {
        /// A BackOffMilliseconds value to include in MessageXml, if any.
        #[serde(default)]
        back_off_ms: Option<u64>,
    },
    /// Waits this long, then answers normally (the request stays in flight meanwhile).
    Delay {
        /// How long to wait, in milliseconds.
        ms: u64,
    },
    /// Sends the status line, headers and part of the real body, then drops the connection.
    ResetMidResponse,
    /// Reads the whole request and runs the operation, then drops the connection without
    /// sending a byte of the answer: the server did the work and the client cannot know it
    /// (an application pool recycled, a proxy gave up, a Lambda was frozen mid-call). The
    /// case that decides whether a client may send the request again.
    DropAfterRequest,
    /// HTTP 200 with the real response cut short (a well-framed but truncated document).
    TruncatedXml,
    /// HTTP 200 with a document that is not well-formed XML.
    MalformedXml,
    /// An HTML error page as a reverse proxy or load balancer answers.
    HtmlErrorPage {
        /// The HTTP status (502 when absent).
        #[serde(default = "bad_gateway")]
        status: u16,
    },
    /// HTTP 401, and the connection forgets its NTLM authentication.
    Unauthorized,
}

fn bad_gateway() -> u16 {
    502
}

/// When a rule produces faults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultMode {
    /// Each matching call takes the next step: a fault, or `None` for a normal answer. The
    /// rule is spent when the steps run out.
    Sequence(Vec<Option<FaultKind>>),
    /// Each matching call fails with `fault` with probability `p` (0.0 to 1.0), for ever.
    Probability {
        /// Probability of failing one call.
        p: f64,
        /// The fault.
        fault: FaultKind,
    },
}

/// A fault script for one operation, or for all of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// The EWS operation (`SyncFolderItems`, case-insensitive); `None` matches every request,
    /// including those whose operation could not be read.
    #[serde(default)]
    pub operation: Option<String>,
    /// When it fires.
    pub mode: FaultMode,
}

impl FaultRule {
    /// The next `count` matching calls fail with `kind`, then calls are normal again.
    pub fn next(operation: Option<&str>, count: usize, kind: FaultKind) -> Self {
        Self {
            operation: operation.map(str::to_owned),
            mode: FaultMode::Sequence(vec![Some(kind); count]),
        }
    }

    /// Matching calls take these steps in order (`None`: a normal answer).
    pub fn sequence(operation: Option<&str>, steps: Vec<Option<FaultKind>>) -> Self {
        Self {
            operation: operation.map(str::to_owned),
            mode: FaultMode::Sequence(steps),
        }
    }

    /// Every matching call fails with `kind` with probability `p`.
    pub fn probability(operation: Option<&str>, p: f64, kind: FaultKind) -> Self {
        Self {
            operation: operation.map(str::to_owned),
            mode: FaultMode::Probability { p, fault: kind },
        }
    }

    /// Every matching call fails with `kind`.
    pub fn always(operation: Option<&str>, kind: FaultKind) -> Self {
        Self::probability(operation, 1.0, kind)
    }
}

/// True when a rule for `wanted` (`None`: every operation) applies to a call of `operation`.
fn operation_matches(wanted: Option<&str>, operation: Option<&str>) -> bool {
    match (wanted, operation) {
        (None, _) => true,
        (Some(wanted), Some(op)) => wanted.eq_ignore_ascii_case(op),
        (Some(_), None) => false,
    }
}

#[derive(Debug)]
struct ActiveRule {
    operation: Option<String>,
    mode: ActiveMode,
}

#[derive(Debug)]
enum ActiveMode {
    Sequence(VecDeque<Option<FaultKind>>),
    Probability { p: f64, fault: FaultKind },
}

#[derive(Debug)]
struct State {
    rules: Vec<ActiveRule>,
    rng: StdRng,
}

/// The fault script in force, shared by every connection.
#[derive(Debug)]
pub struct Faults {
    state: Mutex<State>,
}

impl Faults {
    /// No faults; `seed` makes probabilistic rules reproducible.
    pub fn new(seed: Option<u64>) -> Self {
        let rng = match seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        Self {
            state: Mutex::new(State {
                rules: Vec::new(),
                rng,
            }),
        }
    }

    /// Replaces the script.
    pub fn set(&self, rules: Vec<FaultRule>) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.rules = rules.into_iter().map(activate).collect();
    }

    /// Appends a rule after the existing ones.
    pub fn add(&self, rule: FaultRule) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.rules.push(activate(rule));
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.set(Vec::new());
    }

    /// The number of rules still in force (spent sequences are dropped).
    pub fn active_rules(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .rules
            .len()
    }

    /// Decides the fault for one call of `operation`. Rules are consulted in order; every
    /// matching sequence rule consumes a step; the first rule that yields a fault wins and
    /// the rules after it are not consulted.
    pub fn next(&self, operation: Option<&str>) -> Option<FaultKind> {
        let mut guard = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let State { rules, rng } = &mut *guard;
        let mut chosen = None;
        for rule in rules.iter_mut() {
            if !operation_matches(rule.operation.as_deref(), operation) {
                continue;
            }
            let fault = match &mut rule.mode {
                ActiveMode::Sequence(steps) => steps.pop_front().flatten(),
                ActiveMode::Probability { p, fault } => {
                    let roll: f64 = rng.random();
                    (roll < *p).then(|| fault.clone())
                }
            };
            if fault.is_some() {
                chosen = fault;
                break;
            }
        }
        rules.retain(|r| !matches!(&r.mode, ActiveMode::Sequence(steps) if steps.is_empty()));
        chosen
    }
}

fn activate(rule: FaultRule) -> ActiveRule {
    ActiveRule {
        operation: rule.operation,
        mode: match rule.mode {
            FaultMode::Sequence(steps) => ActiveMode::Sequence(steps.into()),
            FaultMode::Probability { p, fault } => ActiveMode::Probability { p, fault },
        },
    }
}

/// The response message element each operation answers with and the empty child the 2010 SP2
/// schema requires in it even on an error (`m:Items` of `ItemInfoResponseMessageType`, …).
/// Operations missing here get the SOAP-fault form of ErrorServerBusy instead.
fn response_message_shape(operation: &str) -> Option<Option<&'static str>> {
    match operation {
        "GetItem" | "CreateItem" | "UpdateItem" | "MoveItem" | "CopyItem" => Some(Some("Items")),
        "GetAttachment" | "CreateAttachment" => Some(Some("Attachments")),
        "DeleteItem"
        | "SendItem"
        | "DeleteFolder"
        | "EmptyFolder"
        | "CreateFolder"
        | "GetFolder"
        | "FindFolder"
        | "UpdateFolder"
        | "MoveFolder"
        | "CopyFolder"
        | "FindItem"
        | "ResolveNames"
        | "SyncFolderHierarchy"
        | "SyncFolderItems"
        | "Unsubscribe" => Some(None),
        _ => None,
    }
}

const BUSY_TEXT: &str = "The server cannot service this request right now. Try again later.";

/// The HTTP 200 answer whose single response message is `ErrorInternalServerError` with an
/// inner `ErrorServerBusy` in MessageXml. `None` for operations whose response shape is not
/// known here.
pub fn inner_server_busy_body(
    operation: &str,
    back_off_ms: Option<u64>,
    version: (u32, u32, u32, u32, &str),
) -> Option<String> {
    let required_child = response_message_shape(operation)?;
    let (major, minor, build, revision, version) = version;
    let back_off = back_off_ms
        .map(|ms| format!(r#"<t:Value Name="BackOffMilliseconds">{ms}</t:Value>"#))
        .unwrap_or_default();
    let child = required_child
        .map(|c| format!("<m:{c}/>"))
        .unwrap_or_default();
    Some(format!(
        concat!(
            r#"<?xml version="1.0" encoding="utf-8"?>"#,
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">"#,
            r#"<s:Header><h:ServerVersionInfo MajorVersion="{major}" MinorVersion="{minor}" "#,
            r#"MajorBuildNumber="{build}" MinorBuildNumber="{revision}" Version="{version}" "#,
            r#"xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types"/></s:Header>"#,
            r#"<s:Body><m:{op}Response "#,
            r#"xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" "#,
            r#"xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">"#,
            r#"<m:ResponseMessages><m:{op}ResponseMessage ResponseClass="Error">"#,
            r#"<m:MessageText>An internal server error occurred. The operation failed., {busy}</m:MessageText>"#,
            r#"<m:ResponseCode>ErrorInternalServerError</m:ResponseCode>"#,
            r#"<m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>"#,
            r#"<m:MessageXml>"#,
            r#"<t:Value Name="InnerErrorMessageText">{busy}</t:Value>"#,
            r#"<t:Value Name="InnerErrorResponseCode">ErrorServerBusy</t:Value>"#,
            r#"<t:Value Name="InnerErrorDescriptiveLinkKey">0</t:Value>"#,
            r#"{back_off}</m:MessageXml>{child}</m:{op}ResponseMessage></m:ResponseMessages>"#,
            r#"</m:{op}Response></s:Body></s:Envelope>"#
        ),
        major = major,
        minor = minor,
        build = build,
        revision = revision,
        version = version,
        op = operation,
        busy = BUSY_TEXT,
        back_off = back_off,
        child = child,
    ))
}

/// The message of an `ErrorServerBusy` fault.
pub fn server_busy_message() -> &'static str {
    BUSY_TEXT
}

/// The message of an `ErrorExceededConnectionCount` fault, as Exchange words it.
pub fn exceeded_connection_count_message() -> &'static str {
    "You have exceeded the available concurrent connections for your account.  Try again once your other requests have completed."
}

/// A document that is not well-formed: the end tags do not match the start tags.
pub fn malformed_body(operation: Option<&str>) -> String {
    let op = operation.unwrap_or("GetItem");
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="utf-8"?>"#,
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>"#,
            r#"<m:{op}Response xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">"#,
            r#"<m:ResponseMessages></m:{op}Response></s:Body></s:Envelope>"#
        ),
        op = op
    )
}

/// The first half of `body`, cut on a character boundary and never empty unless `body` is.
pub fn truncated(body: &str) -> String {
    let mut cut = body.len() / 2;
    while cut > 0 && !body.is_char_boundary(cut) {
        cut -= 1;
    }
    body.get(..cut).unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_three_calls_fail_then_calls_are_normal() {
        let faults = Faults::new(Some(1));
        faults.set(vec![FaultRule::next(
            Some("SyncFolderItems"),
            3,
            FaultKind::ServiceUnavailable,
        )]);
        let seen: Vec<_> = (0..5)
            .map(|_| faults.next(Some("SyncFolderItems")))
            .collect();
        assert_eq!(
            seen,
            vec![
                Some(FaultKind::ServiceUnavailable),
                Some(FaultKind::ServiceUnavailable),
                Some(FaultKind::ServiceUnavailable),
                None,
                None
            ]
        );
        assert_eq!(faults.active_rules(), 0);
    }

    #[test]
    fn rule_for_one_operation_leaves_others_alone() {
        let faults = Faults::new(Some(1));
        faults.set(vec![FaultRule::next(
            Some("SyncFolderItems"),
            1,
            FaultKind::MalformedXml,
        )]);
        assert_eq!(faults.next(Some("GetItem")), None);
        assert_eq!(faults.next(None), None);
        assert_eq!(
            faults.next(Some("syncfolderitems")),
            Some(FaultKind::MalformedXml)
        );
    }

    #[test]
    fn rule_without_operation_matches_every_call() {
        let faults = Faults::new(Some(1));
        faults.add(FaultRule::always(None, FaultKind::Unauthorized));
        assert_eq!(faults.next(Some("GetItem")), Some(FaultKind::Unauthorized));
        assert_eq!(faults.next(None), Some(FaultKind::Unauthorized));
    }

    #[test]
    fn sequence_steps_can_be_normal_in_between() {
        let faults = Faults::new(Some(1));
        faults.set(vec![FaultRule::sequence(
            None,
            vec![None, Some(FaultKind::TruncatedXml)],
        )]);
        assert_eq!(faults.next(Some("GetItem")), None);
        assert_eq!(faults.next(Some("GetItem")), Some(FaultKind::TruncatedXml));
        assert_eq!(faults.next(Some("GetItem")), None);
    }

    #[test]
    fn probability_zero_never_fires_and_one_always_fires() {
        let faults = Faults::new(Some(7));
        faults.set(vec![FaultRule::probability(
            None,
            0.0,
            FaultKind::ServiceUnavailable,
        )]);
        assert!((0..200).all(|_| faults.next(Some("GetItem")).is_none()));
        faults.set(vec![FaultRule::probability(
            None,
            1.0,
            FaultKind::ServiceUnavailable,
        )]);
        assert!((0..200).all(|_| faults.next(Some("GetItem")).is_some()));
    }

    #[test]
    fn probability_fires_on_some_calls_and_not_others() {
        let faults = Faults::new(Some(42));
        faults.set(vec![FaultRule::probability(
            None,
            0.5,
            FaultKind::ServiceUnavailable,
        )]);
        let fired = (0..1000)
            .filter(|_| faults.next(Some("GetItem")).is_some())
            .count();
        assert!(fired > 0 && fired < 1000, "fired {fired} of 1000");
    }

    #[test]
    fn same_seed_gives_the_same_faults() {
        let run = || {
            let faults = Faults::new(Some(9));
            faults.set(vec![FaultRule::probability(
                None,
                0.3,
                FaultKind::ServiceUnavailable,
            )]);
            (0..100)
                .map(|_| faults.next(None).is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn first_rule_that_fires_wins() {
        let faults = Faults::new(Some(1));
        faults.set(vec![
            FaultRule::next(Some("GetItem"), 1, FaultKind::MalformedXml),
            FaultRule::always(None, FaultKind::ServiceUnavailable),
        ]);
        assert_eq!(faults.next(Some("GetItem")), Some(FaultKind::MalformedXml));
        assert_eq!(
            faults.next(Some("GetItem")),
            Some(FaultKind::ServiceUnavailable)
        );
    }

    #[test]
    fn clear_removes_every_rule() {
        let faults = Faults::new(Some(1));
        faults.add(FaultRule::always(None, FaultKind::ServiceUnavailable));
        faults.clear();
        assert_eq!(faults.next(Some("GetItem")), None);
    }

    #[test]
    fn truncated_document_is_a_strict_prefix() {
        let body = "<a><b>ü</b></a>";
        let cut = truncated(body);
        assert!(!cut.is_empty());
        assert!(body.starts_with(&cut));
        assert!(cut.len() < body.len());
    }

    #[test]
    fn malformed_body_is_not_well_formed_xml() {
        assert!(roxmltree::Document::parse(&malformed_body(Some("SyncFolderItems"))).is_err());
    }

    #[test]
    fn inner_server_busy_names_the_operation_and_the_inner_code() {
        let body =
            inner_server_busy_body("GetItem", Some(3000), (15, 1, 225, 42, "V2_23")).unwrap();
        let doc = roxmltree::Document::parse(&body).unwrap();
        let message = doc
            .descendants()
            .find(|n| n.tag_name().name() == "GetItemResponseMessage")
            .unwrap();
        assert_eq!(message.attribute("ResponseClass"), Some("Error"));
        let value = |name: &str| {
            doc.descendants()
                .find(|n| n.attribute("Name") == Some(name))
                .and_then(|n| n.text())
                .map(str::to_owned)
        };
        assert_eq!(
            value("InnerErrorResponseCode").as_deref(),
            Some("ErrorServerBusy")
        );
        assert_eq!(value("BackOffMilliseconds").as_deref(), Some("3000"));
    }

    #[test]
    fn inner_server_busy_is_unknown_for_unlisted_operations() {
        assert!(inner_server_busy_body("GetUserOofSettings", None, (14, 3, 1, 1, "x")).is_none());
    }

    #[test]
    fn drop_after_request_reads_from_json() {
        let rule: FaultRule = serde_json::from_str(
            r#"{"operation":"CreateItem","mode":{"sequence":[{"kind":"drop_after_request"}]}}"#,
        )
        .unwrap();
        assert_eq!(
            rule,
            FaultRule::next(Some("CreateItem"), 1, FaultKind::DropAfterRequest)
        );
    }

    #[test]
    fn rules_read_from_json() {
        let rules: Vec<FaultRule> = serde_json::from_str(
            r#"[{"operation":"SyncFolderItems","mode":{"sequence":[{"kind":"service_unavailable"},null]}},
                {"mode":{"probability":{"p":0.25,"fault":{"kind":"server_busy","back_off_ms":5000}}}},
                {"mode":{"sequence":[{"kind":"html_error_page"},{"kind":"soap_fault","code":"ErrorMailboxMoveInProgress"}]}}]"#,
        )
        .unwrap();
        assert_eq!(
            rules[0],
            FaultRule::sequence(
                Some("SyncFolderItems"),
                vec![Some(FaultKind::ServiceUnavailable), None]
            )
        );
        assert_eq!(
            rules[1],
            FaultRule::probability(None, 0.25, FaultKind::ServerBusy { back_off_ms: 5000 })
        );
        assert_eq!(
            rules[2].mode,
            FaultMode::Sequence(vec![
                Some(FaultKind::HtmlErrorPage { status: 502 }),
                Some(FaultKind::SoapFault {
                    code: "ErrorMailboxMoveInProgress".into(),
                    message: None
                })
            ])
        );
    }
}
