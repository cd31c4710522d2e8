//! The simulator's configuration: its directory (accounts, mailboxes, impersonation grants),
//! what it seeds into mailboxes, mail that keeps arriving, and how it behaves (auth schemes,
//! throttling, validation).
//!
//! Read from a JSON file by the standalone binary (see `example-config.json`), or built in
//! code by tests.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Everything the simulator needs to start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    /// Mail domains this server is authoritative for (`contoso.test`). Autodiscover answers
    /// for addresses in these domains.
    pub domains: Vec<String>,
    /// NetBIOS domain name used in `DOMAIN\user` logons and NTLM challenges.
    #[serde(default = "default_netbios")]
    pub netbios_domain: String,
    /// Accounts that can authenticate.
    #[serde(default)]
    pub accounts: Vec<AccountConfig>,
    /// Mailboxes that exist (an account's own mailbox must be listed here too).
    #[serde(default)]
    pub mailboxes: Vec<MailboxConfig>,
    /// ApplicationImpersonation role assignments.
    #[serde(default)]
    pub impersonation: Vec<GrantConfig>,
    /// Which authentication schemes the EWS and Autodiscover endpoints accept.
    #[serde(default)]
    pub auth: AuthConfig,
    /// EWSMaxConcurrency-style throttling.
    #[serde(default)]
    pub throttling: ThrottlingConfig,
    /// Which Exchange version the server claims (ServerVersionInfo) and validates against.
    #[serde(default)]
    pub server: ServerConfig,
    /// Mail that keeps arriving while the simulator runs (the demo's live traffic).
    #[serde(default)]
    pub arrivals: Vec<ArrivalConfig>,
}

fn default_netbios() -> String {
    "CONTOSO".to_owned()
}

/// One account (`DOMAIN\user` + password), optionally owning a mailbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// The logon name without domain (`svc-exsync`); `DOMAIN\user` and `user@domain` both
    /// resolve to it.
    pub user: String,
    /// The password (simulator only; never a real one).
    pub password: String,
    /// The account's primary SMTP address, if it has a mailbox.
    #[serde(default)]
    pub smtp: Option<String>,
}

/// One mailbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailboxConfig {
    /// Primary SMTP address.
    pub smtp: String,
    /// Display name.
    pub display_name: String,
    /// Messages placed in the Inbox at start.
    #[serde(default)]
    pub seed_messages: Vec<SeedMessage>,
    /// Contacts placed in the Contacts folder at start.
    #[serde(default)]
    pub seed_contacts: Vec<SeedContact>,
    /// Appointments placed in the Calendar at start.
    #[serde(default)]
    pub seed_calendar_items: Vec<SeedCalendarItem>,
    /// Tasks placed in the Tasks folder at start.
    #[serde(default)]
    pub seed_tasks: Vec<SeedTask>,
}

/// A message placed in a mailbox's Inbox at start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedMessage {
    /// Sender address.
    pub from: String,
    /// Sender display name.
    #[serde(default)]
    pub from_name: Option<String>,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    #[serde(default)]
    pub body: String,
    /// Internet Message-ID (generated when absent).
    #[serde(default)]
    pub internet_message_id: Option<String>,
    /// Message-ID this one replies to.
    #[serde(default)]
    pub in_reply_to: Option<String>,
    /// Received time, RFC 3339 (now when absent).
    #[serde(default)]
    pub received: Option<String>,
}

/// A contact placed in a mailbox's Contacts folder at start, as if its user had created it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedContact {
    /// Display name; "given surname" when absent (then the e-mail address).
    #[serde(default)]
    pub display_name: Option<String>,
    /// Given name.
    #[serde(default)]
    pub given_name: Option<String>,
    /// Surname.
    #[serde(default)]
    pub surname: Option<String>,
    /// E-mail address (EmailAddress1).
    #[serde(default)]
    pub email: Option<String>,
    /// Company.
    #[serde(default)]
    pub company: Option<String>,
    /// Business phone.
    #[serde(default)]
    pub business_phone: Option<String>,
}

/// An address with an optional display name, as configuration and the control API write it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressConfig {
    /// SMTP address.
    pub address: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
}

/// An appointment placed in a mailbox's Calendar at start, organised by its owner.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedCalendarItem {
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    #[serde(default)]
    pub body: Option<String>,
    /// Start, RFC 3339.
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// End, RFC 3339 (not before the start).
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
    /// Location.
    #[serde(default)]
    pub location: Option<String>,
    /// Required attendees (no invitations are sent).
    #[serde(default)]
    pub attendees: Vec<AddressConfig>,
    /// All-day event.
    #[serde(default)]
    pub is_all_day: bool,
}

/// A task placed in a mailbox's Tasks folder at start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedTask {
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    #[serde(default)]
    pub body: Option<String>,
    /// Start date, RFC 3339.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub start: Option<OffsetDateTime>,
    /// Due date, RFC 3339.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub due: Option<OffsetDateTime>,
    /// `NotStarted` (default), `InProgress`, `Completed`, `WaitingOnOthers` or `Deferred`.
    #[serde(default)]
    pub status: Option<String>,
}

/// A stream of mail that keeps arriving in one mailbox's Inbox: every `every_seconds` the
/// next message of `messages` (cycling) is delivered with a fresh Internet Message-ID, the
/// time of delivery as received time, and its sequence number in the stream appended to the
/// subject (`Cannot log in to the portal (#3)`), so each delivery is a distinct message.
/// The first delivery comes one period after start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArrivalConfig {
    /// The receiving mailbox (one of `mailboxes`).
    pub to: String,
    /// The period in seconds; fractions allowed (tests use tens of milliseconds), at least
    /// [`ArrivalConfig::MIN_SECONDS`].
    pub every_seconds: f64,
    /// The messages delivered in turn (at least one).
    pub messages: Vec<ArrivalMessage>,
}

impl ArrivalConfig {
    /// The shortest period accepted: shorter ones would only burn the simulator's threads.
    pub const MIN_SECONDS: f64 = 0.001;
    /// The longest period accepted (a year), so it always fits a timer.
    pub const MAX_SECONDS: f64 = 365.0 * 24.0 * 3600.0;
}

/// One message of an arrival stream.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArrivalMessage {
    /// Sender address.
    pub from: String,
    /// Sender display name.
    #[serde(default)]
    pub from_name: Option<String>,
    /// Subject (the sequence number is appended).
    pub subject: String,
    /// Plain-text body.
    #[serde(default)]
    pub body: Option<String>,
}

/// An ApplicationImpersonation role assignment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantConfig {
    /// The account holding the role (logon name without domain).
    pub account: String,
    /// Which mailboxes it may impersonate.
    pub scope: GrantScope,
}

/// The scope of an impersonation grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantScope {
    /// Every mailbox in the organisation.
    All,
    /// Only these SMTP addresses.
    Mailboxes(Vec<String>),
}

/// Authentication schemes offered.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Accept NTLM (NTLMv2, verified).
    #[serde(default = "yes")]
    pub ntlm: bool,
    /// Accept Basic.
    #[serde(default = "yes")]
    pub basic: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            ntlm: true,
            basic: true,
        }
    }
}

fn yes() -> bool {
    true
}

/// Throttling like Exchange's EWSMaxConcurrency.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottlingConfig {
    /// Concurrent requests per authenticated account before answering
    /// `ErrorExceededConnectionCount` (Exchange 2010's default is 10). `None`: unlimited.
    #[serde(default)]
    pub max_concurrency: Option<usize>,
    /// How a request above the budget is refused.
    #[serde(default)]
    pub answer: ThrottleAnswer,
}

impl Default for ThrottlingConfig {
    fn default() -> Self {
        Self {
            max_concurrency: Some(10),
            answer: ThrottleAnswer::default(),
        }
    }
}

/// How the server refuses a request above the concurrency budget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThrottleAnswer {
    /// `ErrorExceededConnectionCount` as a SOAP fault (HTTP 500) without BackOffMilliseconds,
    /// which is how Exchange enforces EWSMaxConcurrency.
    #[default]
    ExceededConnectionCount,
    /// `ErrorServerBusy` as a SOAP fault (HTTP 500) carrying BackOffMilliseconds, for tests of
    /// a client's back-off.
    ServerBusy {
        /// The BackOffMilliseconds value sent.
        back_off_ms: u64,
    },
}

/// The Exchange server being emulated.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Emulated version.
    #[serde(default)]
    pub version: ServerVersion,
    /// Reject requests that do not validate against the EWS schema (ErrorSchemaValidation).
    /// Off only for clients that ask for 2013+ field URIs (exchangelib against a "newer" server).
    #[serde(default = "yes")]
    pub validate_requests: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            version: ServerVersion::default(),
            validate_requests: true,
        }
    }
}

/// The Exchange versions exsync supports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerVersion {
    /// Exchange 2010 SP3 (14.3).
    #[serde(rename = "2010sp3")]
    Exchange2010Sp3,
    /// Exchange 2013 SP1 (15.0.847).
    #[serde(rename = "2013sp1")]
    Exchange2013Sp1,
    /// Exchange 2016 (15.1).
    #[default]
    #[serde(rename = "2016")]
    Exchange2016,
}

impl ServerVersion {
    /// `(MajorVersion, MinorVersion, MajorBuildNumber, MinorBuildNumber, Version)` for
    /// `t:ServerVersionInfo`. Responses carry `Exchange2010_SP2` as Version because that is the
    /// schema level the simulator validates against; real 2013+ servers send `V2_x` strings.
    pub fn server_version_info(self) -> (u32, u32, u32, u32, &'static str) {
        match self {
            ServerVersion::Exchange2010Sp3 => (14, 3, 123, 4, "Exchange2010_SP2"),
            ServerVersion::Exchange2013Sp1 => (15, 0, 847, 32, "V2_11"),
            ServerVersion::Exchange2016 => (15, 1, 225, 42, "V2_23"),
        }
    }
}

/// A configuration that parses but cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// An arrival stream names a mailbox the configuration does not list.
    #[error("arrivals: {to} is not one of the configured mailboxes")]
    ArrivalMailbox {
        /// The address named.
        to: String,
    },
    /// An arrival stream's period is not a usable number of seconds.
    #[error(
        "arrivals to {to}: every_seconds must be between {} and {}, not {every_seconds}",
        ArrivalConfig::MIN_SECONDS,
        ArrivalConfig::MAX_SECONDS
    )]
    ArrivalPeriod {
        /// The stream's mailbox.
        to: String,
        /// The period given.
        every_seconds: f64,
    },
    /// An arrival stream has nothing to deliver.
    #[error("arrivals to {to}: messages is empty")]
    ArrivalMessages {
        /// The stream's mailbox.
        to: String,
    },
}

impl SimConfig {
    /// Reads a JSON config file.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Checks what parsing cannot: that each arrival stream names a configured mailbox, has a
    /// usable period and at least one message. (Seed items are checked when the store is
    /// built, [`crate::ews::ExchangeError::Seed`].)
    pub fn validate(&self) -> Result<(), ConfigError> {
        for a in &self.arrivals {
            if !self
                .mailboxes
                .iter()
                .any(|m| m.smtp.eq_ignore_ascii_case(&a.to))
            {
                return Err(ConfigError::ArrivalMailbox { to: a.to.clone() });
            }
            // NaN fails both comparisons, so it is refused too.
            let period_ok = a.every_seconds >= ArrivalConfig::MIN_SECONDS
                && a.every_seconds <= ArrivalConfig::MAX_SECONDS;
            if !period_ok {
                return Err(ConfigError::ArrivalPeriod {
                    to: a.to.clone(),
                    every_seconds: a.every_seconds,
                });
            }
            if a.messages.is_empty() {
                return Err(ConfigError::ArrivalMessages { to: a.to.clone() });
            }
        }
        Ok(())
    }
}
