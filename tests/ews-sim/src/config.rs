//! The simulator's configuration: its directory (accounts, mailboxes, impersonation grants),
//! what it seeds into mailboxes, and how it behaves (auth schemes, throttling, validation).
//!
//! Read from a JSON file by the standalone binary (see `example-config.json`), or built in
//! code by tests.

use serde::{Deserialize, Serialize};

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

impl SimConfig {
    /// Reads a JSON config file.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}
