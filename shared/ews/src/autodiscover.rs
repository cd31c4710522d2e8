//! POX Autodiscover for on-premises Exchange, from outside the domain.
//!
//! exsync runs in AWS, not on a domain-joined machine, so the Active Directory (SCP) lookup
//! is skipped. The candidates, in the order Microsoft describes in
//! [Autodiscover for Exchange](https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/autodiscover-for-exchange):
//!
//! 1. `https://<domain>/autodiscover/autodiscover.xml`
//! 2. `https://autodiscover.<domain>/autodiscover/autodiscover.xml`
//! 3. the unauthenticated GET `http://autodiscover.<domain>/autodiscover/autodiscover.xml`,
//!    which may only answer 301/302 to an `https://` URL (never sent credentials);
//! 4. DNS SRV `_autodiscover._tcp.<domain>`, lowest priority first, RFC 2782 weights.
//!
//! Each candidate gets the POX request
//! ([POX Autodiscover request](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/pox-autodiscover-request-for-exchange)),
//! authenticated like EWS. Answers are handled as in
//! [Handling Autodiscover error messages](https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/handling-autodiscover-error-messages):
//! redirects (HTTP 301/302, `redirectUrl`) are followed to `https://` URLs only,
//! `redirectAddr` restarts discovery with the new address, at most [`MAX_HOPS`] redirects in
//! all, never twice to the same URL or address; a 401 on one candidate is noted and the next
//! one tried. Every attempt lands in the [`DiscoveryReport`], so Test Connection can say
//! exactly where discovery failed.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use serde::Serialize;

use crate::error::error_chain;
use crate::transport::{HttpTransport, TlsFailure, TransportError};
use crate::xml::{
    self, Element, Limits, NS_AUTODISCOVER_OUTLOOK, NS_AUTODISCOVER_REQUEST,
    NS_AUTODISCOVER_RESPONSE, XmlWriter,
};

/// Most redirects (HTTP, `redirectUrl`, `redirectAddr`) followed in one discovery; the
/// [Action (POX)](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/action-pox)
/// page says to stop after 10.
pub const MAX_HOPS: usize = 10;

/// POX answers are a few kilobytes; anything near this is not Autodiscover.
const POX_LIMITS: Limits = Limits {
    max_bytes: 4 * 1024 * 1024,
    max_depth: 32,
    max_elements: 20_000,
};

// ---------------------------------------------------------------------------------------
// The report

/// Which step of discovery an attempt belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// `https://<domain>/autodiscover/autodiscover.xml`.
    DomainRoot,
    /// `https://autodiscover.<domain>/autodiscover/autodiscover.xml`.
    AutodiscoverHost,
    /// The unauthenticated plain-HTTP GET that may redirect to an HTTPS endpoint.
    HttpRedirect,
    /// A target from the `_autodiscover._tcp.<domain>` SRV records.
    DnsSrv,
    /// A URL a server redirected us to (HTTP redirect or `redirectUrl`).
    Redirect,
}

/// One thing discovery tried, and what came of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attempt {
    /// The step.
    pub step: Step,
    /// The URL (or, for the SRV lookup itself, the DNS name).
    pub url: String,
    /// The e-mail address asked about.
    pub email: String,
    /// What happened.
    pub outcome: Outcome,
}

/// What one attempt produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Settings with a usable EWS URL: discovery is done.
    Discovered {
        /// The EWS URL taken from the settings.
        ews_url: String,
    },
    /// The server answered 401: maybe wrong credentials, maybe just this endpoint.
    Unauthorized,
    /// The TLS handshake failed (untrusted issuer, wrong host name…).
    TlsFailed {
        /// Why.
        failure: TlsFailure,
        /// The full error.
        error: String,
    },
    /// No answer (DNS, refused, timeout, reset…).
    Unreachable {
        /// The full error.
        error: String,
    },
    /// A status other than 200 and the redirects.
    HttpStatus {
        /// The status code.
        status: u16,
    },
    /// An HTTP redirect, followed if valid.
    HttpRedirect {
        /// 301, 302, 307 or 308.
        status: u16,
        /// The absolute target.
        location: String,
    },
    /// `Action` `redirectAddr`: restart with another address.
    RedirectAddr {
        /// The new address.
        address: String,
    },
    /// `Action` `redirectUrl`: ask another URL.
    RedirectUrl {
        /// The new URL.
        url: String,
    },
    /// A redirect that was not followed.
    RedirectRefused {
        /// Where it pointed.
        to: String,
        /// Why it was refused.
        reason: RedirectRefusal,
    },
    /// The answer carried an Autodiscover `Error` (for example 600 Invalid Request).
    AutodiscoverError {
        /// `ErrorCode`.
        code: String,
        /// `Message`.
        message: Option<String>,
    },
    /// The 200 answer is not a POX Autodiscover response.
    InvalidResponse {
        /// What is wrong with it.
        error: String,
    },
    /// Settings without any EWS URL (EwsUrl or ASUrl in EXPR or EXCH).
    NoEwsUrl,
    /// Settings whose EWS URLs are all `http://`.
    InsecureEwsUrl {
        /// The first such URL.
        url: String,
    },
    /// The SRV lookup failed.
    SrvLookupFailed {
        /// The resolver's error.
        error: String,
    },
    /// The SRV lookup found no usable record (none, only port 80, or target `.`).
    NoSrvRecords,
}

/// Why a redirect was not followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RedirectRefusal {
    /// Not an `https://` URL.
    NotHttps,
    /// Not a usable URL or e-mail address.
    Invalid,
    /// Already tried for this address (a loop).
    Loop,
    /// `redirectAddr` to the address just asked about.
    SameAddress,
    /// [`MAX_HOPS`] redirects were already followed.
    TooManyHops,
}

/// What discovery found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Discovered {
    /// The EWS endpoint.
    pub ews_url: String,
    /// The address the settings belong to (differs from the one asked about after a
    /// `redirectAddr`).
    pub email: String,
    /// The Autodiscover URL that answered with the settings.
    pub autodiscover_url: String,
    /// The protocol block the EWS URL came from (`EXPR` or `EXCH`).
    pub protocol: String,
    /// That block's `AuthPackage` (`Ntlm`, `Basic`, `Negotiate`…), when given; a hint only.
    pub auth_package: Option<String>,
    /// That block's `ServerVersion` (hexadecimal build), when given.
    pub server_version: Option<String>,
    /// The user's display name, when given.
    pub display_name: Option<String>,
}

/// Why discovery found no EWS endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The address is not `local@domain`.
    #[error("not an e-mail address: {email:?}")]
    InvalidEmail {
        /// The address as given.
        email: String,
    },
    /// Every endpoint that answered refused the credentials.
    #[error("every Autodiscover endpoint that answered refused the credentials ({attempts} times)")]
    CredentialsRejected {
        /// How many endpoints answered 401.
        attempts: usize,
    },
    /// More than [`MAX_HOPS`] redirects.
    #[error("more than {limit} Autodiscover redirects")]
    TooManyRedirects {
        /// The limit.
        limit: usize,
    },
    /// The caller's deadline passed.
    #[error("deadline exceeded during Autodiscover")]
    DeadlineExceeded,
    /// No candidate produced settings with an EWS URL.
    #[error("no Autodiscover endpoint returned an EWS URL")]
    NotFound,
}

impl DiscoveryError {
    /// What a caller should do: only a passed deadline is worth retrying soon.
    pub fn class(&self) -> crate::ErrorClass {
        match self {
            DiscoveryError::DeadlineExceeded => crate::ErrorClass::Transient { back_off: None },
            _ => crate::ErrorClass::ProfileLevel,
        }
    }
}

/// Everything discovery tried, in order, and the result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiscoveryReport {
    /// Every attempt, in the order made.
    pub attempts: Vec<Attempt>,
    /// The endpoint, or why there is none.
    pub result: Result<Discovered, DiscoveryError>,
}

// ---------------------------------------------------------------------------------------
// SRV

/// One SRV record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SrvRecord {
    /// Lower is tried first.
    pub priority: u16,
    /// Relative share within a priority.
    pub weight: u16,
    /// The target port.
    pub port: u16,
    /// The target host (no trailing dot; `.` means "not offered").
    pub target: String,
}

/// An SRV lookup failed (not "no records": that is an empty answer).
#[derive(Debug, thiserror::Error)]
#[error("SRV lookup of {name} failed")]
pub struct SrvLookupError {
    /// The name looked up.
    pub name: String,
    /// The resolver's error.
    #[source]
    pub source: crate::transport::BoxError,
}

/// Looks up SRV records; injectable so tests need no DNS.
pub trait SrvResolver: Sync {
    /// The SRV records of `name`; no records is `Ok(vec![])`.
    fn lookup_srv(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Vec<SrvRecord>, SrvLookupError>> + Send;
}

/// SRV lookups through hickory-resolver with the system's resolver configuration.
pub struct HickorySrvResolver {
    resolver: hickory_resolver::TokioResolver,
}

impl HickorySrvResolver {
    /// Reads `/etc/resolv.conf` (or the platform's equivalent).
    pub fn from_system_conf() -> Result<Self, SrvLookupError> {
        let builder =
            hickory_resolver::TokioResolver::builder_tokio().map_err(|e| SrvLookupError {
                name: String::new(),
                source: Box::new(e),
            })?;
        Ok(Self {
            resolver: builder.build(),
        })
    }
}

impl std::fmt::Debug for HickorySrvResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HickorySrvResolver").finish_non_exhaustive()
    }
}

impl SrvResolver for HickorySrvResolver {
    async fn lookup_srv(&self, name: &str) -> Result<Vec<SrvRecord>, SrvLookupError> {
        match self.resolver.srv_lookup(name).await {
            Ok(lookup) => Ok(lookup
                .iter()
                .map(|srv| SrvRecord {
                    priority: srv.priority(),
                    weight: srv.weight(),
                    port: srv.port(),
                    target: srv.target().to_utf8().trim_end_matches('.').to_owned(),
                })
                .collect()),
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => Ok(Vec::new()),
            Err(e) => Err(SrvLookupError {
                name: name.to_owned(),
                source: Box::new(e),
            }),
        }
    }
}

/// Fixed SRV answers, for tests and demos.
#[derive(Debug, Clone, Default)]
pub struct StaticSrvResolver {
    records: HashMap<String, Vec<SrvRecord>>,
}

impl StaticSrvResolver {
    /// No records for any name.
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers `name` with `records`.
    pub fn insert(&mut self, name: &str, records: Vec<SrvRecord>) -> &mut Self {
        self.records.insert(name.to_ascii_lowercase(), records);
        self
    }
}

impl SrvResolver for StaticSrvResolver {
    async fn lookup_srv(&self, name: &str) -> Result<Vec<SrvRecord>, SrvLookupError> {
        Ok(self
            .records
            .get(&name.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default())
    }
}

/// Orders SRV records as RFC 2782 says: lowest priority first; within a priority, a
/// weighted random draw (zero weights first in the running sum, so they are picked only
/// when the draw is 0). `draw(total)` returns a number in `0..=total`.
fn order_srv(mut records: Vec<SrvRecord>, draw: &mut impl FnMut(u32) -> u32) -> Vec<SrvRecord> {
    records.sort_by_key(|r| r.priority);
    let mut ordered = Vec::with_capacity(records.len());
    let mut rest = records.as_slice();
    while let Some(first) = rest.first() {
        let same = rest
            .iter()
            .take_while(|r| r.priority == first.priority)
            .count();
        let (group, tail) = rest.split_at(same);
        rest = tail;
        let mut group: Vec<SrvRecord> = group.to_vec();
        group.sort_by_key(|r| r.weight != 0);
        while !group.is_empty() {
            let total: u32 = group.iter().map(|r| u32::from(r.weight)).sum();
            let n = draw(total).min(total);
            let mut running = 0u32;
            let index = group
                .iter()
                .position(|r| {
                    running += u32::from(r.weight);
                    running >= n
                })
                .unwrap_or(0);
            ordered.push(group.remove(index));
        }
    }
    ordered
}

fn random_draw(total: u32) -> u32 {
    use rand::Rng as _;
    rand::rng().random_range(0..=total)
}

// ---------------------------------------------------------------------------------------
// POX documents

/// A parsed POX Autodiscover response
/// ([POX Autodiscover response](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/pox-autodiscover-response-for-exchange)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum PoxResponse {
    /// `Action` `settings`: the user's configuration.
    Settings(PoxSettings),
    /// `Action` `redirectAddr`: ask again for another address.
    RedirectAddr {
        /// `RedirectAddr`.
        address: String,
    },
    /// `Action` `redirectUrl`: ask another Autodiscover URL.
    RedirectUrl {
        /// `RedirectUrl`.
        url: String,
    },
    /// `Response/Error`.
    Error(PoxError),
}

/// The settings of an `Action` `settings` answer that exsync uses.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct PoxSettings {
    /// `User/DisplayName`.
    pub display_name: Option<String>,
    /// `User/LegacyDN`.
    pub legacy_dn: Option<String>,
    /// `User/AutoDiscoverSMTPAddress`.
    pub smtp_address: Option<String>,
    /// `User/DeploymentId`.
    pub deployment_id: Option<String>,
    /// `Account/Protocol` blocks, in document order.
    pub protocols: Vec<PoxProtocol>,
}

/// One `Account/Protocol` block
/// ([Protocol (POX)](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/protocol-pox)).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct PoxProtocol {
    /// `Type`: `EXCH` (inside the network), `EXPR` (Outlook Anywhere, outside), `WEB`…
    pub kind: String,
    /// `Server`.
    pub server: Option<String>,
    /// `ServerVersion` (hexadecimal build number).
    pub server_version: Option<String>,
    /// `EwsUrl` (Exchange 2010 and later).
    pub ews_url: Option<String>,
    /// `ASUrl` (the EWS URL in Exchange 2007 answers).
    pub as_url: Option<String>,
    /// `OABUrl`.
    pub oab_url: Option<String>,
    /// `AuthPackage`.
    pub auth_package: Option<String>,
}

/// `Response/Error` of a POX answer
/// ([Error (POX)](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/error-pox)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoxError {
    /// `ErrorCode` (600 is "Invalid Request").
    pub code: String,
    /// `Message`.
    pub message: Option<String>,
    /// `DebugData`.
    pub debug_data: Option<String>,
    /// The `Time` attribute.
    pub time: Option<String>,
    /// The `Id` attribute.
    pub id: Option<String>,
}

/// Why bytes are not a POX Autodiscover response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PoxParseError {
    /// Not well-formed XML (or over the size limits).
    #[error("malformed XML")]
    Xml(#[from] xml::XmlError),
    /// The root is not `Autodiscover` in the response namespace.
    #[error("not a POX Autodiscover response (root {{{ns}}}{name})")]
    NotAutodiscover {
        /// The root's namespace.
        ns: String,
        /// The root's local name.
        name: String,
    },
    /// A required element is missing.
    #[error("missing {0}")]
    Missing(&'static str),
    /// `Action` is none of `settings`, `redirectAddr`, `redirectUrl`.
    #[error("unknown Action {0:?}")]
    UnknownAction(String),
}

impl PoxSettings {
    /// The EWS URLs in the order exsync prefers them, with the block each came from:
    /// `EwsUrl` of `EXPR` (external access: exsync runs outside the network), then of
    /// `EXCH`; then `ASUrl` of `EXPR` and `EXCH`, which is where Exchange 2007-era answers
    /// put the EWS URL (Microsoft's first POX sample has no `EwsUrl` at all).
    pub fn ews_url_candidates(&self) -> Vec<(&PoxProtocol, &str)> {
        let block = |kind: &str| {
            self.protocols
                .iter()
                .find(|p| p.kind.eq_ignore_ascii_case(kind))
        };
        let mut out = Vec::new();
        for (kind, as_url) in [
            ("EXPR", false),
            ("EXCH", false),
            ("EXPR", true),
            ("EXCH", true),
        ] {
            if let Some(p) = block(kind) {
                let url = if as_url { &p.as_url } else { &p.ews_url };
                if let Some(url) = url.as_deref().filter(|u| !u.is_empty()) {
                    out.push((p, url));
                }
            }
        }
        out
    }
}

/// Namespace equality that also accepts `https://` for `http://`: current Microsoft pages
/// print every Autodiscover namespace with `https://` (a documentation bug; servers send
/// `http://`), and we want their samples to parse.
fn ns_is(actual: &str, expected: &str) -> bool {
    actual == expected
        || matches!(
            (actual.strip_prefix("https://"), expected.strip_prefix("http://")),
            (Some(a), Some(e)) if a == e
        )
}

fn pox_child<'a>(parent: &'a Element, name: &str) -> Option<&'a Element> {
    parent.children.iter().find(|c| {
        c.name == name
            && (ns_is(&c.ns, NS_AUTODISCOVER_OUTLOOK) || ns_is(&c.ns, NS_AUTODISCOVER_RESPONSE))
    })
}

fn pox_text(parent: &Element, name: &str) -> Option<String> {
    pox_child(parent, name)
        .map(|e| e.trimmed().to_owned())
        .filter(|t| !t.is_empty())
}

/// Reads a POX Autodiscover response document.
pub fn parse_pox_response(bytes: &[u8]) -> Result<PoxResponse, PoxParseError> {
    let root = xml::parse(bytes, POX_LIMITS)?;
    if !(root.name == "Autodiscover" && ns_is(&root.ns, NS_AUTODISCOVER_RESPONSE)) {
        return Err(PoxParseError::NotAutodiscover {
            ns: root.ns,
            name: root.name,
        });
    }
    let response = pox_child(&root, "Response").ok_or(PoxParseError::Missing("Response"))?;
    if let Some(error) = pox_child(response, "Error") {
        return Ok(PoxResponse::Error(PoxError {
            code: pox_text(error, "ErrorCode").ok_or(PoxParseError::Missing("Error/ErrorCode"))?,
            message: pox_text(error, "Message"),
            debug_data: pox_text(error, "DebugData"),
            time: error.attr("Time").map(str::to_owned),
            id: error.attr("Id").map(str::to_owned),
        }));
    }
    let account = pox_child(response, "Account").ok_or(PoxParseError::Missing("Account"))?;
    let action = pox_text(account, "Action").ok_or(PoxParseError::Missing("Account/Action"))?;
    match action.as_str() {
        a if a.eq_ignore_ascii_case("settings") => {
            let user = pox_child(response, "User");
            let user_text = |name| user.and_then(|u| pox_text(u, name));
            let protocols = account
                .children
                .iter()
                .filter(|c| {
                    c.name == "Protocol"
                        && (ns_is(&c.ns, NS_AUTODISCOVER_OUTLOOK)
                            || ns_is(&c.ns, NS_AUTODISCOVER_RESPONSE))
                })
                .map(|p| PoxProtocol {
                    kind: pox_text(p, "Type").unwrap_or_default(),
                    server: pox_text(p, "Server"),
                    server_version: pox_text(p, "ServerVersion"),
                    ews_url: pox_text(p, "EwsUrl"),
                    as_url: pox_text(p, "ASUrl"),
                    oab_url: pox_text(p, "OABUrl"),
                    auth_package: pox_text(p, "AuthPackage"),
                })
                .collect();
            Ok(PoxResponse::Settings(PoxSettings {
                display_name: user_text("DisplayName"),
                legacy_dn: user_text("LegacyDN"),
                smtp_address: user_text("AutoDiscoverSMTPAddress"),
                deployment_id: user_text("DeploymentId"),
                protocols,
            }))
        }
        a if a.eq_ignore_ascii_case("redirectAddr") => Ok(PoxResponse::RedirectAddr {
            address: pox_text(account, "RedirectAddr")
                .ok_or(PoxParseError::Missing("Account/RedirectAddr"))?,
        }),
        a if a.eq_ignore_ascii_case("redirectUrl") => Ok(PoxResponse::RedirectUrl {
            url: pox_text(account, "RedirectUrl")
                .ok_or(PoxParseError::Missing("Account/RedirectUrl"))?,
        }),
        _ => Err(PoxParseError::UnknownAction(action)),
    }
}

/// The POX request body for `email`.
pub fn pox_request(email: &str) -> String {
    let mut w = XmlWriter::new();
    w.raw(r#"<?xml version="1.0" encoding="utf-8"?>"#)
        .start("Autodiscover", &[("xmlns", NS_AUTODISCOVER_REQUEST)])
        .start("Request", &[])
        .text_element("EMailAddress", email)
        .text_element("AcceptableResponseSchema", NS_AUTODISCOVER_OUTLOOK)
        .end("Request")
        .end("Autodiscover");
    w.into_string()
}

// ---------------------------------------------------------------------------------------
// Discovery

/// The two candidate URLs derived from the e-mail domain, in order.
pub fn domain_candidates(domain: &str) -> [(Step, String); 2] {
    [
        (
            Step::DomainRoot,
            format!("https://{domain}/autodiscover/autodiscover.xml"),
        ),
        (
            Step::AutodiscoverHost,
            format!("https://autodiscover.{domain}/autodiscover/autodiscover.xml"),
        ),
    ]
}

/// The URL of the plain-HTTP redirect probe.
fn redirect_probe_url(domain: &str) -> String {
    format!("http://autodiscover.{domain}/autodiscover/autodiscover.xml")
}

/// The SRV name to look up for `domain`.
fn srv_name(domain: &str) -> String {
    format!("_autodiscover._tcp.{domain}")
}

/// The Autodiscover URLs for ordered SRV records: only TLS targets (port 80 is plain HTTP;
/// target `.` means "no such service").
fn srv_urls(records: &[SrvRecord]) -> Vec<String> {
    records
        .iter()
        .filter(|r| r.port != 80 && !r.target.is_empty() && r.target != ".")
        .map(|r| {
            let host = r.target.trim_end_matches('.');
            if r.port == 443 {
                format!("https://{host}/autodiscover/autodiscover.xml")
            } else {
                format!("https://{host}:{}/autodiscover/autodiscover.xml", r.port)
            }
        })
        .collect()
}

/// Checks an address and returns it with its domain, both lower-cased domain-wise.
fn split_email(email: &str) -> Option<(String, String)> {
    let email = email.trim();
    let (local, domain) = email.rsplit_once('@')?;
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let valid_domain = !domain.is_empty()
        && domain.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if local.is_empty() || local.contains('@') || local.chars().any(char::is_whitespace) {
        return None;
    }
    valid_domain.then(|| (format!("{local}@{domain}"), domain))
}

/// Runs Autodiscover for `email` through `transport` (its credentials, CA, overrides and
/// connection cap), looking up SRV records with `resolver`, within `deadline`.
pub async fn discover<R: SrvResolver>(
    transport: &HttpTransport,
    resolver: &R,
    email: &str,
    deadline: Instant,
) -> DiscoveryReport {
    let mut run = Run {
        transport,
        deadline,
        attempts: Vec::new(),
        hops: 0,
        tried: HashSet::new(),
        addresses: HashSet::new(),
        answered: 0,
        unauthorized: 0,
    };
    let result = run.discover(resolver, email).await;
    match &result {
        Ok(found) => tracing::info!(
            attempts = run.attempts.len(),
            ews_url = %found.ews_url,
            protocol = %found.protocol,
            "Autodiscover found the EWS endpoint"
        ),
        Err(error) => tracing::warn!(
            attempts = run.attempts.len(),
            %error,
            "Autodiscover found no EWS endpoint"
        ),
    }
    DiscoveryReport {
        attempts: run.attempts,
        result,
    }
}

struct Run<'a> {
    transport: &'a HttpTransport,
    deadline: Instant,
    attempts: Vec<Attempt>,
    hops: usize,
    /// (address, URL) pairs already asked: asking again would loop.
    tried: HashSet<(String, String)>,
    /// Addresses discovery has run for.
    addresses: HashSet<String>,
    /// Attempts where a server answered at all.
    answered: usize,
    /// Of those, how many said 401.
    unauthorized: usize,
}

/// What one candidate (with the redirects it led to) came to.
enum Next {
    Found(Discovered),
    Restart(String),
    Continue,
}

/// What one POST came to.
enum Answer {
    Settings(PoxSettings),
    Redirect(String),
    RedirectAddr(String),
    Failed,
}

impl Run<'_> {
    async fn discover<R: SrvResolver>(
        &mut self,
        resolver: &R,
        email: &str,
    ) -> Result<Discovered, DiscoveryError> {
        let Some((mut email, _)) = split_email(email) else {
            return Err(DiscoveryError::InvalidEmail {
                email: email.to_owned(),
            });
        };
        self.addresses.insert(email.to_ascii_lowercase());
        'restart: loop {
            let Some((_, domain)) = split_email(&email) else {
                return Err(DiscoveryError::InvalidEmail { email });
            };
            let mut candidates: Vec<(Step, String)> = domain_candidates(&domain).into();

            // Steps 1 and 2.
            for (step, url) in candidates.drain(..) {
                match self.candidate(step, url, &email).await? {
                    Next::Found(found) => return Ok(found),
                    Next::Restart(address) => {
                        email = address;
                        continue 'restart;
                    }
                    Next::Continue => {}
                }
            }

            // Step 3: the plain-HTTP redirect probe.
            if let Some(url) = self.redirect_probe(&domain, &email).await? {
                match self.candidate(Step::Redirect, url, &email).await? {
                    Next::Found(found) => return Ok(found),
                    Next::Restart(address) => {
                        email = address;
                        continue 'restart;
                    }
                    Next::Continue => {}
                }
            }

            // Step 4: DNS SRV.
            for url in self.srv_candidates(resolver, &domain, &email).await {
                match self.candidate(Step::DnsSrv, url, &email).await? {
                    Next::Found(found) => return Ok(found),
                    Next::Restart(address) => {
                        email = address;
                        continue 'restart;
                    }
                    Next::Continue => {}
                }
            }

            return Err(if self.answered > 0 && self.unauthorized == self.answered {
                DiscoveryError::CredentialsRejected {
                    attempts: self.unauthorized,
                }
            } else {
                DiscoveryError::NotFound
            });
        }
    }

    fn record(&mut self, step: Step, url: &str, email: &str, outcome: Outcome) {
        tracing::debug!(?step, %url, outcome = ?outcome, "Autodiscover attempt");
        self.attempts.push(Attempt {
            step,
            url: url.to_owned(),
            email: email.to_owned(),
            outcome,
        });
    }

    fn check_deadline(&self) -> Result<(), DiscoveryError> {
        if Instant::now() >= self.deadline {
            Err(DiscoveryError::DeadlineExceeded)
        } else {
            Ok(())
        }
    }

    /// Counts one redirect; refuses it (and ends discovery) past [`MAX_HOPS`].
    fn hop(&mut self, to: &str, email: &str) -> Result<(), DiscoveryError> {
        if self.hops >= MAX_HOPS {
            self.record(
                Step::Redirect,
                to,
                email,
                Outcome::RedirectRefused {
                    to: to.to_owned(),
                    reason: RedirectRefusal::TooManyHops,
                },
            );
            return Err(DiscoveryError::TooManyRedirects { limit: MAX_HOPS });
        }
        self.hops += 1;
        Ok(())
    }

    /// Validates a redirect target URL: HTTPS, parsable, not yet tried for this address.
    fn redirect_target(&mut self, to: &str, email: &str) -> Result<Option<String>, DiscoveryError> {
        let refuse = |reason| Outcome::RedirectRefused {
            to: to.to_owned(),
            reason,
        };
        let parsed = match url::Url::parse(to) {
            Ok(u) if u.host_str().is_some_and(|h| !h.is_empty()) => u,
            _ => {
                self.record(Step::Redirect, to, email, refuse(RedirectRefusal::Invalid));
                return Ok(None);
            }
        };
        if parsed.scheme() != "https" {
            self.record(Step::Redirect, to, email, refuse(RedirectRefusal::NotHttps));
            return Ok(None);
        }
        let url = parsed.to_string();
        if self
            .tried
            .contains(&(email.to_ascii_lowercase(), url.clone()))
        {
            self.record(Step::Redirect, &url, email, refuse(RedirectRefusal::Loop));
            return Ok(None);
        }
        self.hop(&url, email)?;
        Ok(Some(url))
    }

    /// Tries one candidate URL and follows the URL redirects it leads to.
    async fn candidate(
        &mut self,
        step: Step,
        url: String,
        email: &str,
    ) -> Result<Next, DiscoveryError> {
        let mut step = step;
        let mut url = url;
        loop {
            self.check_deadline()?;
            if !self.tried.insert((email.to_ascii_lowercase(), url.clone())) {
                // Already asked (a redirectAddr to the same domain repeats the candidates).
                return Ok(Next::Continue);
            }
            match self.post(step, &url, email).await? {
                Answer::Settings(settings) => {
                    let candidates = settings.ews_url_candidates();
                    let Some((protocol, ews_url)) = candidates
                        .iter()
                        .find(|(_, u)| {
                            u.get(..8)
                                .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
                        })
                        .copied()
                    else {
                        let outcome = match candidates.first() {
                            Some((_, insecure)) => Outcome::InsecureEwsUrl {
                                url: (*insecure).to_owned(),
                            },
                            None => Outcome::NoEwsUrl,
                        };
                        self.record(step, &url, email, outcome);
                        return Ok(Next::Continue);
                    };
                    let found = Discovered {
                        ews_url: ews_url.to_owned(),
                        email: email.to_owned(),
                        autodiscover_url: url.clone(),
                        protocol: protocol.kind.clone(),
                        auth_package: protocol.auth_package.clone(),
                        server_version: protocol.server_version.clone(),
                        display_name: settings.display_name.clone(),
                    };
                    self.record(
                        step,
                        &url,
                        email,
                        Outcome::Discovered {
                            ews_url: found.ews_url.clone(),
                        },
                    );
                    return Ok(Next::Found(found));
                }
                Answer::Redirect(to) => match self.redirect_target(&to, email)? {
                    Some(next) => {
                        step = Step::Redirect;
                        url = next;
                    }
                    None => return Ok(Next::Continue),
                },
                Answer::RedirectAddr(address) => {
                    let refuse = |reason| Outcome::RedirectRefused {
                        to: address.clone(),
                        reason,
                    };
                    let Some((address, _)) = split_email(&address) else {
                        self.record(step, &url, email, refuse(RedirectRefusal::Invalid));
                        return Ok(Next::Continue);
                    };
                    if address.eq_ignore_ascii_case(email) {
                        // Microsoft: treat the URL that answered this as invalid.
                        self.record(step, &url, email, refuse(RedirectRefusal::SameAddress));
                        return Ok(Next::Continue);
                    }
                    if !self.addresses.insert(address.to_ascii_lowercase()) {
                        self.record(step, &url, email, refuse(RedirectRefusal::Loop));
                        return Ok(Next::Continue);
                    }
                    self.hop(&address, email)?;
                    return Ok(Next::Restart(address));
                }
                Answer::Failed => return Ok(Next::Continue),
            }
        }
    }

    /// POSTs the POX request to `url` and records what came back.
    async fn post(&mut self, step: Step, url: &str, email: &str) -> Result<Answer, DiscoveryError> {
        let request = match http::Request::post(url)
            .header(CONTENT_TYPE, "text/xml; charset=utf-8")
            .body(Bytes::from(pox_request(email)))
        {
            Ok(r) => r,
            Err(e) => {
                self.record(
                    step,
                    url,
                    email,
                    Outcome::Unreachable {
                        error: e.to_string(),
                    },
                );
                return Ok(Answer::Failed);
            }
        };
        let response = match self.transport.send(request, self.deadline).await {
            Ok(r) => r,
            Err(TransportError::DeadlineExceeded) => return Err(DiscoveryError::DeadlineExceeded),
            Err(e) => {
                let outcome = self.transport_outcome(&e);
                self.record(step, url, email, outcome);
                return Ok(Answer::Failed);
            }
        };
        self.answered += 1;
        let status = response.status.as_u16();
        if matches!(status, 301 | 302 | 307 | 308)
            && let Some(location) = response.location().and_then(|l| absolute(url, l))
        {
            self.record(
                step,
                url,
                email,
                Outcome::HttpRedirect {
                    status,
                    location: location.clone(),
                },
            );
            return Ok(Answer::Redirect(location));
        }
        if status != 200 {
            self.record(step, url, email, Outcome::HttpStatus { status });
            return Ok(Answer::Failed);
        }
        match parse_pox_response(&response.body) {
            Ok(PoxResponse::Settings(settings)) => Ok(Answer::Settings(settings)),
            Ok(PoxResponse::RedirectUrl { url: to }) => {
                self.record(step, url, email, Outcome::RedirectUrl { url: to.clone() });
                Ok(Answer::Redirect(to))
            }
            Ok(PoxResponse::RedirectAddr { address }) => {
                self.record(
                    step,
                    url,
                    email,
                    Outcome::RedirectAddr {
                        address: address.clone(),
                    },
                );
                Ok(Answer::RedirectAddr(address))
            }
            Ok(PoxResponse::Error(error)) => {
                self.record(
                    step,
                    url,
                    email,
                    Outcome::AutodiscoverError {
                        code: error.code,
                        message: error.message,
                    },
                );
                Ok(Answer::Failed)
            }
            Err(e) => {
                self.record(
                    step,
                    url,
                    email,
                    Outcome::InvalidResponse {
                        error: error_chain(&e),
                    },
                );
                Ok(Answer::Failed)
            }
        }
    }

    fn transport_outcome(&mut self, error: &TransportError) -> Outcome {
        match error {
            TransportError::Unauthorized { .. } => {
                self.answered += 1;
                self.unauthorized += 1;
                Outcome::Unauthorized
            }
            TransportError::Tls { failure, .. } => Outcome::TlsFailed {
                failure: *failure,
                error: error_chain(error),
            },
            _ => Outcome::Unreachable {
                error: error_chain(error),
            },
        }
    }

    /// Step 3: GET over plain HTTP, without credentials; only a 301/302 to an HTTPS URL is
    /// of use.
    async fn redirect_probe(
        &mut self,
        domain: &str,
        email: &str,
    ) -> Result<Option<String>, DiscoveryError> {
        self.check_deadline()?;
        let url = redirect_probe_url(domain);
        let uri: http::Uri = match url.parse() {
            Ok(u) => u,
            Err(e) => {
                let error = format!("{e}");
                self.record(
                    Step::HttpRedirect,
                    &url,
                    email,
                    Outcome::Unreachable { error },
                );
                return Ok(None);
            }
        };
        let response = match self.transport.get_plain_http(&uri, self.deadline).await {
            Ok(r) => r,
            Err(TransportError::DeadlineExceeded) => return Err(DiscoveryError::DeadlineExceeded),
            Err(e) => {
                let outcome = self.transport_outcome(&e);
                self.record(Step::HttpRedirect, &url, email, outcome);
                return Ok(None);
            }
        };
        let status = response.status.as_u16();
        let location = response.location().and_then(|l| absolute(&url, l));
        match (status, location) {
            (301 | 302, Some(location)) => {
                self.record(
                    Step::HttpRedirect,
                    &url,
                    email,
                    Outcome::HttpRedirect {
                        status,
                        location: location.clone(),
                    },
                );
                self.redirect_target(&location, email)
            }
            _ => {
                self.record(
                    Step::HttpRedirect,
                    &url,
                    email,
                    Outcome::HttpStatus { status },
                );
                Ok(None)
            }
        }
    }

    /// Step 4: the SRV targets, in RFC 2782 order.
    async fn srv_candidates<R: SrvResolver>(
        &mut self,
        resolver: &R,
        domain: &str,
        email: &str,
    ) -> Vec<String> {
        let name = srv_name(domain);
        let records = match resolver.lookup_srv(&name).await {
            Ok(records) => records,
            Err(e) => {
                let error = error_chain(&e);
                self.record(
                    Step::DnsSrv,
                    &name,
                    email,
                    Outcome::SrvLookupFailed { error },
                );
                return Vec::new();
            }
        };
        let urls = srv_urls(&order_srv(records, &mut random_draw));
        if urls.is_empty() {
            self.record(Step::DnsSrv, &name, email, Outcome::NoSrvRecords);
        }
        urls
    }
}

/// Resolves a `Location` against the URL it came from.
fn absolute(base: &str, location: &str) -> Option<String> {
    let base = url::Url::parse(base).ok()?;
    base.join(location.trim()).ok().map(|u| u.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn srv(priority: u16, weight: u16, port: u16, target: &str) -> SrvRecord {
        SrvRecord {
            priority,
            weight,
            port,
            target: target.into(),
        }
    }

    #[test]
    fn candidates_are_the_domain_then_the_autodiscover_host() {
        let c = domain_candidates("contoso.com");
        assert_eq!(
            c,
            [
                (
                    Step::DomainRoot,
                    "https://contoso.com/autodiscover/autodiscover.xml".to_owned()
                ),
                (
                    Step::AutodiscoverHost,
                    "https://autodiscover.contoso.com/autodiscover/autodiscover.xml".to_owned()
                ),
            ]
        );
        assert_eq!(
            redirect_probe_url("contoso.com"),
            "http://autodiscover.contoso.com/autodiscover/autodiscover.xml"
        );
        assert_eq!(srv_name("contoso.com"), "_autodiscover._tcp.contoso.com");
    }

    #[test]
    fn srv_records_are_ordered_by_priority_lowest_first() {
        let records = vec![
            srv(20, 0, 443, "backup.contoso.com"),
            srv(5, 0, 443, "primary.contoso.com"),
            srv(10, 0, 443, "second.contoso.com"),
        ];
        let ordered = order_srv(records, &mut |_| 0);
        let targets: Vec<_> = ordered.iter().map(|r| r.target.as_str()).collect();
        assert_eq!(
            targets,
            [
                "primary.contoso.com",
                "second.contoso.com",
                "backup.contoso.com"
            ]
        );
    }

    #[test]
    fn srv_weights_select_by_running_sum_within_a_priority() {
        // Weights 10 (a), 30 (b), 60 (c): running sums 10, 40, 100.
        let records = vec![
            srv(0, 10, 443, "a"),
            srv(0, 30, 443, "b"),
            srv(0, 60, 443, "c"),
        ];
        // Draw 50 of 100 → c; then of a(10), b(30): draw 40 → b; then a.
        let mut draws = vec![50u32, 40, 0].into_iter();
        let ordered = order_srv(records.clone(), &mut |_| draws.next().unwrap());
        let targets: Vec<_> = ordered.iter().map(|r| r.target.as_str()).collect();
        assert_eq!(targets, ["c", "b", "a"]);
        // Draw 0 picks the first with a running sum ≥ 0.
        let ordered = order_srv(records, &mut |_| 0);
        assert_eq!(ordered[0].target, "a");
    }

    #[test]
    fn zero_weight_srv_records_are_picked_only_on_a_zero_draw() {
        let records = vec![srv(0, 50, 443, "weighted"), srv(0, 0, 443, "zero")];
        let ordered = order_srv(records.clone(), &mut |total| total);
        assert_eq!(ordered[0].target, "weighted");
        let ordered = order_srv(records, &mut |_| 0);
        assert_eq!(ordered[0].target, "zero");
    }

    #[test]
    fn srv_urls_keep_only_tls_targets_and_non_default_ports() {
        let urls = srv_urls(&[
            srv(0, 0, 443, "mail.contoso.com."),
            srv(0, 0, 80, "plain.contoso.com"),
            srv(0, 0, 8443, "alt.contoso.com"),
            srv(0, 0, 443, "."),
        ]);
        assert_eq!(
            urls,
            [
                "https://mail.contoso.com/autodiscover/autodiscover.xml",
                "https://alt.contoso.com:8443/autodiscover/autodiscover.xml"
            ]
        );
    }

    #[test]
    fn email_addresses_are_checked_and_their_domain_lower_cased() {
        assert_eq!(
            split_email(" Mara@Contoso.COM "),
            Some(("Mara@contoso.com".into(), "contoso.com".into()))
        );
        for bad in [
            "",
            "mara",
            "@contoso.com",
            "mara@",
            "ma ra@contoso.com",
            "mara@con/toso.com",
            "mara@contoso..com",
        ] {
            assert_eq!(split_email(bad), None, "{bad}");
        }
    }

    #[test]
    fn location_is_resolved_against_the_request_url() {
        assert_eq!(
            absolute(
                "https://a.contoso.com/autodiscover/autodiscover.xml",
                "/x/y.xml"
            )
            .as_deref(),
            Some("https://a.contoso.com/x/y.xml")
        );
        assert_eq!(
            absolute("http://a.contoso.com/", "https://b.contoso.com/z").as_deref(),
            Some("https://b.contoso.com/z")
        );
    }

    #[test]
    fn request_names_the_address_and_the_2006a_response_schema() {
        let body = pox_request("mara&co@contoso.com");
        let root = xml::parse(body.as_bytes(), Limits::default()).unwrap();
        assert!(root.is(NS_AUTODISCOVER_REQUEST, "Autodiscover"));
        let request = root.child(NS_AUTODISCOVER_REQUEST, "Request").unwrap();
        assert_eq!(
            request.child_text(NS_AUTODISCOVER_REQUEST, "EMailAddress"),
            Some("mara&co@contoso.com")
        );
        assert_eq!(
            request.child_text(NS_AUTODISCOVER_REQUEST, "AcceptableResponseSchema"),
            Some(NS_AUTODISCOVER_OUTLOOK)
        );
    }
}
