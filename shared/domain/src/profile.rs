//! Email server profiles (Exchange Server, on-premises).
//!
//! The fields follow Dynamics 365's "Exchange Server" email server profile; see
//! <https://learn.microsoft.com/en-us/power-platform/admin/connect-exchange-server-on-premises>.

use crate::ids::{EmailAddress, Principal, ProfileId};
use crate::validation::{ValidationErrors, check};
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
    /// When the owner was last emailed that most of the profile's mailboxes fail (sync
    /// engine, [`crate::sync::majority`]): at most one such email an hour, claimed by a
    /// versioned write of this field before the email goes out.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub last_majority_alert_at: Option<OffsetDateTime>,
    /// Optimistic concurrency: incremented on every write.
    pub version: u64,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last modified.
    #[serde(with = "time::serde::rfc3339")]
    pub modified_at: OffsetDateTime,
}

/// Longest profile name Dynamics 365 accepts.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest description kept.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;

/// What an admin sends to create or update a profile. On create a missing field takes its
/// default; on update it keeps its stored value (an empty string clears an optional text).
///
/// Fields that need checking arrive as plain strings and numbers, so a bad value is a 400
/// naming the field rather than a deserialisation error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProfileInput {
    /// On update, the version the caller read (required; a stale one is a 409). Ignored on
    /// create.
    pub version: Option<u64>,
    /// Name (required, at most 100 characters).
    pub name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// The owner's principal (default: the caller).
    pub owner: Option<String>,
    /// The owner's email address (required): profile-level alerts go there.
    pub owner_email: Option<String>,
    /// The Exchange version (required).
    pub exchange_version: Option<ExchangeVersion>,
    /// Discover the EWS URL (default yes).
    pub use_autodiscover: Option<bool>,
    /// The EWS URL for incoming email (required when Autodiscover is off; https only).
    pub incoming_ews_url: Option<String>,
    /// Use the incoming settings for outgoing email (default yes).
    pub use_same_settings_for_outgoing: Option<bool>,
    /// The EWS URL for outgoing email (required when Autodiscover is off and the settings
    /// differ).
    pub outgoing_ews_url: Option<String>,
    /// Extra trusted CA certificates (PEM).
    pub ca_bundle_pem: Option<String>,
    /// NTLM (default) or Basic.
    pub auth_type: Option<AuthType>,
    /// Where credentials live (default: on the profile).
    pub credentials_location: Option<CredentialsLocation>,
    /// The service account (required when credentials are on the profile).
    pub user_name: Option<String>,
    /// The service account's password: write-only; required when credentials are on the
    /// profile and none is stored yet; omitted on update, the stored one is kept.
    pub password: Option<String>,
    /// Email received before this is not processed (RFC 3339; default: now).
    pub process_email_from: Option<String>,
    /// Minimum polling interval, minutes (0–1440, default 0).
    pub min_polling_interval_minutes: Option<i64>,
    /// Maximum concurrent connections (1–300, default 10).
    pub max_concurrent_connections: Option<i64>,
    /// Connection timeout, seconds (1–100, default 100).
    pub connection_timeout_seconds: Option<i64>,
    /// Move email that cannot be tracked to Undeliverable (default no).
    pub move_failed_to_undeliverable: Option<bool>,
    /// Email the owner when most mailboxes fail within an hour (default no).
    pub alert_owner_on_majority_failure: Option<bool>,
    /// Make this the org's default profile for new mailboxes.
    pub is_default_for_new_mailboxes: Option<bool>,
    /// Active (default yes).
    pub active: Option<bool>,
}

/// Defaults of the numeric settings, as Dynamics 365 ships them (and the issue fixes).
pub mod defaults {
    /// Minimum polling interval in minutes.
    pub const MIN_POLLING_INTERVAL_MINUTES: u32 = 0;
    /// Maximum concurrent connections: Exchange 2010's EWSMaxConcurrency default.
    pub const MAX_CONCURRENT_CONNECTIONS: u32 = 10;
    /// Connection timeout in seconds.
    pub const CONNECTION_TIMEOUT_SECONDS: u32 = 100;
}

/// A validated profile and the new password to seal, if one was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedProfile {
    /// The profile as it will be stored (the sealed password carried over from the stored
    /// profile, or none).
    pub profile: Profile,
    /// A new password, still plain: the service seals it before anything is stored.
    pub new_password: Option<exsync_ews::transport::Secret>,
}

impl ProfileInput {
    /// Checks every field and builds the profile. `existing` is the stored profile on
    /// update (its id, creation time, sealed password, test result and circuit are kept);
    /// `caller` becomes the owner when none is named.
    pub fn validate(
        self,
        existing: Option<&Profile>,
        caller: Option<&Principal>,
        now: OffsetDateTime,
    ) -> Result<ValidatedProfile, ValidationErrors> {
        let input = match existing {
            Some(e) => self.merged(e),
            None => self,
        };
        input.check(existing, caller, now)
    }

    /// This input with every missing field taken from the stored profile.
    fn merged(self, e: &Profile) -> ProfileInput {
        use time::format_description::well_known::Rfc3339;
        let location = self.credentials_location.unwrap_or(e.credentials_location);
        // The stored account only carries over while credentials stay on the profile.
        let stored_user = match location {
            CredentialsLocation::Profile => e.user_name.clone(),
            CredentialsLocation::Mailbox => None,
        };
        ProfileInput {
            version: self.version,
            name: self.name.or_else(|| Some(e.name.clone())),
            description: self.description.or_else(|| Some(e.description.clone())),
            owner: self
                .owner
                .or_else(|| Some(e.owner.principal.as_str().to_owned())),
            owner_email: self
                .owner_email
                .or_else(|| Some(e.owner.email.as_str().to_owned())),
            exchange_version: self.exchange_version.or(Some(e.exchange_version)),
            use_autodiscover: self.use_autodiscover.or(Some(e.use_autodiscover)),
            incoming_ews_url: self.incoming_ews_url.or_else(|| e.incoming_ews_url.clone()),
            use_same_settings_for_outgoing: self
                .use_same_settings_for_outgoing
                .or(Some(e.use_same_settings_for_outgoing)),
            outgoing_ews_url: self.outgoing_ews_url.or_else(|| e.outgoing_ews_url.clone()),
            ca_bundle_pem: self.ca_bundle_pem.or_else(|| e.ca_bundle_pem.clone()),
            auth_type: self.auth_type.or(Some(e.auth_type)),
            credentials_location: Some(location),
            user_name: self.user_name.or(stored_user),
            password: self.password,
            process_email_from: self
                .process_email_from
                .or_else(|| e.process_email_from.format(&Rfc3339).ok()),
            min_polling_interval_minutes: self
                .min_polling_interval_minutes
                .or(Some(i64::from(e.min_polling_interval_minutes))),
            max_concurrent_connections: self
                .max_concurrent_connections
                .or(Some(i64::from(e.max_concurrent_connections))),
            connection_timeout_seconds: self
                .connection_timeout_seconds
                .or(Some(i64::from(e.connection_timeout_seconds))),
            move_failed_to_undeliverable: self
                .move_failed_to_undeliverable
                .or(Some(e.move_failed_to_undeliverable)),
            alert_owner_on_majority_failure: self
                .alert_owner_on_majority_failure
                .or(Some(e.alert_owner_on_majority_failure)),
            is_default_for_new_mailboxes: self
                .is_default_for_new_mailboxes
                .or(Some(e.is_default_for_new_mailboxes)),
            active: self.active.or(Some(e.active)),
        }
    }

    fn check(
        self,
        existing: Option<&Profile>,
        caller: Option<&Principal>,
        now: OffsetDateTime,
    ) -> Result<ValidatedProfile, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let name = check::required_text(&mut errs, "name", self.name.as_deref(), MAX_NAME_CHARS);
        let description = check::optional_text(
            &mut errs,
            "description",
            self.description.as_deref(),
            MAX_DESCRIPTION_CHARS,
        );
        let owner = match check::optional_principal(&mut errs, "owner", self.owner.as_deref()) {
            Some(p) => Some(p),
            None if self.owner.as_deref().is_none_or(|o| o.trim().is_empty()) => {
                let fallback = caller.cloned();
                if fallback.is_none() {
                    errs.add("owner", "is required");
                }
                fallback
            }
            None => None,
        };
        let owner_email = check::email(&mut errs, "owner_email", self.owner_email.as_deref());
        let exchange_version = self.exchange_version;
        if exchange_version.is_none() {
            errs.add("exchange_version", "is required (2010sp3, 2013sp1 or 2016)");
        }

        let use_autodiscover = self.use_autodiscover.unwrap_or(true);
        let use_same = self.use_same_settings_for_outgoing.unwrap_or(true);
        let incoming = check::optional_https_url(
            &mut errs,
            "incoming_ews_url",
            self.incoming_ews_url.as_deref(),
        );
        let outgoing = check::optional_https_url(
            &mut errs,
            "outgoing_ews_url",
            self.outgoing_ews_url.as_deref(),
        );
        let given = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        if !use_autodiscover && !given(&self.incoming_ews_url) {
            errs.add(
                "incoming_ews_url",
                "is required when use_autodiscover is false",
            );
        }
        if !use_autodiscover && !use_same && !given(&self.outgoing_ews_url) {
            errs.add(
                "outgoing_ews_url",
                "is required when use_autodiscover and use_same_settings_for_outgoing are false",
            );
        }
        let ca_bundle_pem = check::optional_pem_certificates(
            &mut errs,
            "ca_bundle_pem",
            self.ca_bundle_pem.as_deref(),
        );

        let auth_type = self.auth_type.unwrap_or(AuthType::Ntlm);
        let credentials_location = self
            .credentials_location
            .unwrap_or(CredentialsLocation::Profile);
        let mut new_password = None;
        let mut user_name = None;
        let mut sealed = None;
        match credentials_location {
            CredentialsLocation::Profile => {
                user_name = check::user_name(&mut errs, "user_name", self.user_name.as_deref());
                sealed = existing.and_then(|p| p.password.clone());
                match self.password.as_deref() {
                    Some("") => errs.add("password", "must not be empty"),
                    Some(p) if p.chars().count() > 256 => {
                        errs.add("password", "must be at most 256 characters")
                    }
                    Some(p) => new_password = Some(exsync_ews::transport::Secret::new(p)),
                    None if sealed.is_none() => errs.add(
                        "password",
                        "is required when credentials_location is profile",
                    ),
                    None => {}
                }
                // A new user name without a new password would pair the old account's
                // password with another account.
                if new_password.is_none()
                    && sealed.is_some()
                    && existing.is_some_and(|p| p.user_name != user_name)
                {
                    errs.add("password", "is required when user_name changes");
                }
            }
            CredentialsLocation::Mailbox => {
                if given(&self.user_name) {
                    errs.add(
                        "user_name",
                        "must be empty when credentials_location is mailbox (set it on each mailbox)",
                    );
                }
                if self.password.is_some() {
                    errs.add(
                        "password",
                        "must be empty when credentials_location is mailbox (set it on each mailbox)",
                    );
                }
            }
        }

        let process_email_from = check::optional_datetime(
            &mut errs,
            "process_email_from",
            self.process_email_from.as_deref(),
        )
        .unwrap_or(now);
        let min_polling = check::range(
            &mut errs,
            "min_polling_interval_minutes",
            self.min_polling_interval_minutes,
            0,
            1440,
            defaults::MIN_POLLING_INTERVAL_MINUTES,
        );
        let max_connections = check::range(
            &mut errs,
            "max_concurrent_connections",
            self.max_concurrent_connections,
            1,
            300,
            defaults::MAX_CONCURRENT_CONNECTIONS,
        );
        let timeout = check::range(
            &mut errs,
            "connection_timeout_seconds",
            self.connection_timeout_seconds,
            1,
            100,
            defaults::CONNECTION_TIMEOUT_SECONDS,
        );
        errs.into_result()?;

        let (Some(name), Some(owner), Some(owner_email), Some(exchange_version)) =
            (name, owner, owner_email, exchange_version)
        else {
            // Every None above recorded an error, so this is unreachable; answer as a
            // validation error rather than panic.
            let mut errs = ValidationErrors::default();
            errs.add("name", "is required");
            return Err(errs);
        };
        let profile = Profile {
            id: existing.map(|p| p.id.clone()).unwrap_or_default(),
            name,
            description,
            owner: Owner {
                principal: owner,
                email: owner_email,
            },
            exchange_version,
            use_autodiscover,
            incoming_ews_url: if use_autodiscover { None } else { incoming },
            use_same_settings_for_outgoing: use_same,
            outgoing_ews_url: if use_autodiscover || use_same {
                None
            } else {
                outgoing
            },
            ca_bundle_pem,
            auth_type,
            credentials_location,
            user_name,
            password: sealed,
            process_email_from,
            min_polling_interval_minutes: min_polling,
            max_concurrent_connections: max_connections,
            connection_timeout_seconds: timeout,
            move_failed_to_undeliverable: self.move_failed_to_undeliverable.unwrap_or(false),
            alert_owner_on_majority_failure: self.alert_owner_on_majority_failure.unwrap_or(false),
            is_default_for_new_mailboxes: self.is_default_for_new_mailboxes.unwrap_or(false),
            active: self.active.unwrap_or(true),
            last_test: existing.and_then(|p| p.last_test.clone()),
            circuit: existing.map(|p| p.circuit.clone()).unwrap_or_default(),
            last_majority_alert_at: existing.and_then(|p| p.last_majority_alert_at),
            version: existing.map_or(1, |p| p.version + 1),
            created_at: existing.map_or(now, |p| p.created_at),
            modified_at: now,
        };
        Ok(ValidatedProfile {
            profile,
            new_password,
        })
    }
}

/// A profile as the API shows it: everything but the password, which is reduced to
/// whether one is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileView {
    /// Id.
    pub id: ProfileId,
    /// Name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// The owner's principal.
    pub owner: Principal,
    /// The owner's email address.
    pub owner_email: EmailAddress,
    /// The Exchange version.
    pub exchange_version: ExchangeVersion,
    /// Discover the EWS URL.
    pub use_autodiscover: bool,
    /// The incoming EWS URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incoming_ews_url: Option<String>,
    /// Use the incoming settings for outgoing email.
    pub use_same_settings_for_outgoing: bool,
    /// The outgoing EWS URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outgoing_ews_url: Option<String>,
    /// Extra trusted CA certificates (public material, so shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle_pem: Option<String>,
    /// NTLM or Basic.
    pub auth_type: AuthType,
    /// Where credentials live.
    pub credentials_location: CredentialsLocation,
    /// The service account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// Whether a password is stored (the password itself is never returned).
    pub password_set: bool,
    /// Email received before this is not processed.
    #[serde(with = "time::serde::rfc3339")]
    pub process_email_from: OffsetDateTime,
    /// Minimum polling interval, minutes.
    pub min_polling_interval_minutes: u32,
    /// Maximum concurrent connections.
    pub max_concurrent_connections: u32,
    /// Connection timeout, seconds.
    pub connection_timeout_seconds: u32,
    /// Move untrackable email to Undeliverable.
    pub move_failed_to_undeliverable: bool,
    /// Email the owner when most mailboxes fail within an hour.
    pub alert_owner_on_majority_failure: bool,
    /// The org's default profile for new mailboxes.
    pub is_default_for_new_mailboxes: bool,
    /// Active.
    pub active: bool,
    /// The last Test Connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_test: Option<TestConnectionResult>,
    /// Circuit breaker state.
    pub circuit: Circuit,
    /// Send it back on update.
    pub version: u64,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last modified.
    #[serde(with = "time::serde::rfc3339")]
    pub modified_at: OffsetDateTime,
}

impl From<&Profile> for ProfileView {
    fn from(p: &Profile) -> Self {
        ProfileView {
            id: p.id.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            owner: p.owner.principal.clone(),
            owner_email: p.owner.email.clone(),
            exchange_version: p.exchange_version,
            use_autodiscover: p.use_autodiscover,
            incoming_ews_url: p.incoming_ews_url.clone(),
            use_same_settings_for_outgoing: p.use_same_settings_for_outgoing,
            outgoing_ews_url: p.outgoing_ews_url.clone(),
            ca_bundle_pem: p.ca_bundle_pem.clone(),
            auth_type: p.auth_type,
            credentials_location: p.credentials_location,
            user_name: p.user_name.clone(),
            password_set: p.password.is_some(),
            process_email_from: p.process_email_from,
            min_polling_interval_minutes: p.min_polling_interval_minutes,
            max_concurrent_connections: p.max_concurrent_connections,
            connection_timeout_seconds: p.connection_timeout_seconds,
            move_failed_to_undeliverable: p.move_failed_to_undeliverable,
            alert_owner_on_majority_failure: p.alert_owner_on_majority_failure,
            is_default_for_new_mailboxes: p.is_default_for_new_mailboxes,
            active: p.active,
            last_test: p.last_test.clone(),
            circuit: p.circuit.clone(),
            version: p.version,
            created_at: p.created_at,
            modified_at: p.modified_at,
        }
    }
}

impl Profile {
    /// The EWS URL for `workload`'s direction when it is configured (Autodiscover off):
    /// outgoing uses its own URL only when the profile says the settings differ.
    pub fn configured_ews_url(&self, outgoing: bool) -> Option<&str> {
        if self.use_autodiscover {
            return None;
        }
        if outgoing && !self.use_same_settings_for_outgoing {
            self.outgoing_ews_url.as_deref()
        } else {
            self.incoming_ews_url.as_deref()
        }
    }
}
