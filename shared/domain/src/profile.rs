//! Email server profiles (Exchange Server, on-premises).
//!
//! The fields follow Dynamics 365's "Exchange Server" email server profile; see
//! <https://learn.microsoft.com/en-us/power-platform/admin/connect-exchange-server-on-premises>.

use crate::ids::{EmailAddress, Principal, ProfileId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The Exchange versions exsync supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExchangeVersion {
    /// Exchange Server 2010 SP3.
    #[serde(rename = "2010sp3")]
    Exchange2010Sp3,
    /// Exchange Server 2013 SP1.
    #[serde(rename = "2013sp1")]
    Exchange2013Sp1,
    /// Exchange Server 2016.
    #[serde(rename = "2016")]
    Exchange2016,
}

/// How exsync authenticates to EWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthType {
    /// NTLM (NTLMv2), the usual on-premises setting.
    Ntlm,
    /// Basic over TLS.
    Basic,
}

/// Where the credentials used to reach Exchange are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialsLocation {
    /// One service account on the profile, holding ApplicationImpersonation; "maximum
    /// concurrent connections" then applies to the whole profile.
    Profile,
    /// Each mailbox has its own credentials; the limit applies per mailbox.
    Mailbox,
}

/// A password sealed with KMS: only ciphertext and the key id are ever stored.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSecret {
    /// The KMS key (id or ARN) that sealed it.
    pub key_id: String,
    /// The ciphertext blob, base64.
    pub ciphertext_b64: String,
}

impl std::fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedSecret")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// The profile's owner: receives profile-level alerts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// The owner's principal.
    pub principal: Principal,
    /// Where alert emails go.
    pub email: EmailAddress,
}

/// One step of a Test Connection diagnosis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiagnosisStep {
    /// The step: `autodiscover`, `tls`, `authentication`, `impersonation`, `mailbox`.
    pub step: String,
    /// Whether it succeeded.
    pub ok: bool,
    /// What happened, in one line (no secrets).
    pub detail: String,
    /// What an admin should check, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
}

/// The outcome of Test Connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestOutcome {
    /// Every step succeeded.
    Success,
    /// A step failed.
    Failure,
}

/// The last Test Connection result, stored on the profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestConnectionResult {
    /// When the test started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// How long it took.
    pub duration_ms: u64,
    /// Success or failure.
    pub outcome: TestOutcome,
    /// The mailbox impersonated for the test.
    pub test_mailbox: EmailAddress,
    /// The EWS URL used (discovered or configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ews_url: Option<String>,
    /// Every step, in order.
    pub steps: Vec<DiagnosisStep>,
    /// A redacted excerpt of the last request and response (no credentials, no bodies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<String>,
}

/// The profile's circuit breaker (sync engine): open while the profile's Exchange fails at
/// profile level; its mailboxes are paused, none disabled.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Circuit {
    /// Mailboxes sync normally.
    #[default]
    Closed,
    /// Mailboxes are paused; a probe runs at `next_probe_at`.
    Open {
        /// When it opened.
        #[serde(with = "time::serde::rfc3339")]
        since: OffsetDateTime,
        /// When the next probe runs.
        #[serde(with = "time::serde::rfc3339")]
        next_probe_at: OffsetDateTime,
        /// The error that opened it (code or description; no secrets).
        reason: String,
    },
}

/// An Exchange Server (on-premises) email server profile as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Id.
    pub id: ProfileId,
    /// Name (required, at most 100 characters).
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Receives profile-level alerts.
    pub owner: Owner,
    /// The Exchange version.
    pub exchange_version: ExchangeVersion,
    /// Discover the EWS URL with Autodiscover (default yes).
    pub use_autodiscover: bool,
    /// The EWS URL for incoming email (required when Autodiscover is off; https only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incoming_ews_url: Option<String>,
    /// Use the incoming settings for outgoing email too (default yes).
    pub use_same_settings_for_outgoing: bool,
    /// The EWS URL for outgoing email (when the settings differ).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outgoing_ews_url: Option<String>,
    /// Extra CA certificates (PEM) trusted for this profile's Exchange, for on-premises PKI
    /// whose root is not publicly trusted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle_pem: Option<String>,
    /// NTLM or Basic.
    pub auth_type: AuthType,
    /// Where the credentials live.
    pub credentials_location: CredentialsLocation,
    /// The service account's user name (`DOMAIN\user` or UPN), when on the profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// The sealed password, when on the profile. Never returned by the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SealedSecret>,
    /// Email received before this is not processed.
    #[serde(with = "time::serde::rfc3339")]
    pub process_email_from: OffsetDateTime,
    /// Minimum polling interval, minutes (0–1440).
    pub min_polling_interval_minutes: u32,
    /// Maximum concurrent connections (1–300, default 10).
    pub max_concurrent_connections: u32,
    /// Connection timeout, seconds (1–100).
    pub connection_timeout_seconds: u32,
    /// Move email that cannot be tracked to an "Undeliverable" folder (default no).
    pub move_failed_to_undeliverable: bool,
    /// Email the owner when more than half of the profile's mailboxes fail within an hour.
    pub alert_owner_on_majority_failure: bool,
    /// Default profile for new mailboxes.
    pub is_default_for_new_mailboxes: bool,
    /// Inactive profiles are not synced.
    pub active: bool,
    /// The last Test Connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_test: Option<TestConnectionResult>,
    /// Circuit breaker state (sync engine).
    #[serde(default)]
    pub circuit: Circuit,
    /// Optimistic concurrency: incremented on every write.
    pub version: u64,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last modified.
    #[serde(with = "time::serde::rfc3339")]
    pub modified_at: OffsetDateTime,
}
