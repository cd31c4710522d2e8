//! Reaching a profile's Exchange: the environment exsync runs in (extra trusted CAs,
//! connect overrides, SRV lookups), the effective credentials of a mailbox, transports and
//! clients built from a profile (its CA bundle, connection timeout and connection cap), and
//! the EWS URL (configured, or found with Autodiscover).

use std::time::{Duration, Instant};

use exsync_ews::autodiscover::{DiscoveryReport, HickorySrvResolver, StaticSrvResolver, discover};
use exsync_ews::client::EwsClient;
use exsync_ews::transport::{
    AuthScheme, ConnectOverrides, Credentials, HttpTransport, Secret, TransportConfig,
    TransportError,
};

use crate::error::DomainError;
use crate::ids::{MailboxId, ProfileId};
use crate::mailbox::Mailbox;
use crate::ports::SecretSealer;
use crate::profile::{AuthType, CredentialsLocation, Profile};

/// How DNS SRV records for Autodiscover are looked up.
#[derive(Debug, Clone, Default)]
pub enum SrvLookup {
    /// The system resolver (`/etc/resolv.conf`).
    #[default]
    System,
    /// Fixed answers (tests, the local demo).
    Static(StaticSrvResolver),
}

/// Where exsync runs, as far as reaching Exchange is concerned. Deployed, everything is
/// default; tests and the local demo point real-looking host names at the simulator and
/// trust its CA.
#[derive(Debug, Clone)]
pub struct ExchangeEnvironment {
    /// CA certificates (PEM) trusted for every profile, besides the system roots and the
    /// profile's own `ca_bundle_pem`.
    pub extra_ca_pem: Option<Vec<u8>>,
    /// Where to connect for particular (host, port) pairs instead of asking DNS.
    pub connect_overrides: ConnectOverrides,
    /// SRV lookups for Autodiscover.
    pub srv: SrvLookup,
    /// Longest a Test Connection, or the Test & Enable of one mailbox, may take in all.
    pub budget: Duration,
}

impl Default for ExchangeEnvironment {
    fn default() -> Self {
        Self {
            extra_ca_pem: None,
            connect_overrides: ConnectOverrides::new(),
            srv: SrvLookup::System,
            budget: Duration::from_secs(240),
        }
    }
}

/// The secret-sealing context of a profile's password: the ciphertext is bound to the
/// profile, so it cannot be copied onto another entity and unsealed there.
pub fn profile_secret_context(id: &ProfileId) -> String {
    format!("profile:{id}")
}

/// The secret-sealing context of a mailbox's own password.
pub fn mailbox_secret_context(id: &MailboxId) -> String {
    format!("mailbox:{id}")
}

/// The credentials a mailbox is reached with, and whether to impersonate it.
#[derive(Debug, Clone)]
pub struct MailboxAccess {
    /// Scheme, account and (unsealed) password. `Debug` never shows the password.
    pub credentials: Credentials,
    /// The address to impersonate: set when a profile's service account acts for the
    /// mailbox; `None` when the mailbox's own account is used.
    pub impersonate: Option<String>,
}

/// Why a mailbox cannot be reached before anything is sent: nothing an admin can fix in
/// Exchange, only in exsync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingCredentials {
    /// What is missing, in words an admin understands.
    pub problem: String,
    /// The field to set.
    pub advice: String,
}

fn scheme(auth: AuthType) -> AuthScheme {
    match auth {
        AuthType::Ntlm => AuthScheme::Ntlm,
        AuthType::Basic => AuthScheme::Basic,
    }
}

/// The credentials of the profile's service account, unsealed.
pub async fn profile_credentials(
    profile: &Profile,
    sealer: &dyn SecretSealer,
) -> Result<Result<Credentials, MissingCredentials>, DomainError> {
    let (Some(user), Some(sealed)) = (&profile.user_name, &profile.password) else {
        return Ok(Err(MissingCredentials {
            problem: format!("the profile {} has no service account", profile.name),
            advice: "set the profile's user_name and password".into(),
        }));
    };
    let password = sealer
        .unseal(sealed, &profile_secret_context(&profile.id))
        .await?;
    Ok(Ok(Credentials {
        scheme: scheme(profile.auth_type),
        user: user.clone(),
        password: Secret::new(password),
    }))
}

/// How `mailbox` is reached on `profile`: the profile's service account impersonating it,
/// or the mailbox's own account.
pub async fn mailbox_access(
    profile: &Profile,
    mailbox: &Mailbox,
    sealer: &dyn SecretSealer,
) -> Result<Result<MailboxAccess, MissingCredentials>, DomainError> {
    match profile.credentials_location {
        CredentialsLocation::Profile => {
            Ok(profile_credentials(profile, sealer)
                .await?
                .map(|credentials| MailboxAccess {
                    credentials,
                    impersonate: Some(mailbox.email.as_str().to_owned()),
                }))
        }
        CredentialsLocation::Mailbox => {
            let (Some(user), Some(sealed)) = (&mailbox.user_name, &mailbox.password) else {
                return Ok(Err(MissingCredentials {
                    problem: format!(
                        "the mailbox {} has no credentials, and its profile keeps credentials on mailboxes",
                        mailbox.email
                    ),
                    advice: "set the mailbox's user_name and password".into(),
                }));
            };
            let password = sealer
                .unseal(sealed, &mailbox_secret_context(&mailbox.id))
                .await?;
            Ok(Ok(MailboxAccess {
                credentials: Credentials {
                    scheme: scheme(profile.auth_type),
                    user: user.clone(),
                    password: Secret::new(password),
                },
                impersonate: None,
            }))
        }
    }
}

impl ExchangeEnvironment {
    /// The trusted extra CAs for `profile`: the environment's and the profile's, joined.
    fn ca_pem(&self, profile: &Profile) -> Option<Vec<u8>> {
        let mut pem = self.extra_ca_pem.clone().unwrap_or_default();
        if let Some(own) = &profile.ca_bundle_pem {
            if !pem.is_empty() && !pem.ends_with(b"\n") {
                pem.push(b'\n');
            }
            pem.extend_from_slice(own.as_bytes());
        }
        (!pem.is_empty()).then_some(pem)
    }

    /// A transport for `profile` as `credentials`: the profile's CA bundle, connection
    /// timeout and maximum concurrent connections. Opens no connection.
    pub fn transport(
        &self,
        profile: &Profile,
        credentials: Credentials,
    ) -> Result<HttpTransport, TransportError> {
        let mut config = TransportConfig::new(credentials);
        config.ca_pem = self.ca_pem(profile);
        config.request_timeout =
            Duration::from_secs(u64::from(profile.connection_timeout_seconds.clamp(1, 100)));
        config.max_connections =
            usize::try_from(profile.max_concurrent_connections.clamp(1, 300)).unwrap_or(10);
        config.connect_overrides = self.connect_overrides.clone();
        HttpTransport::new(config)
    }

    /// An EWS client for `ews_url` on `transport` (sharing its pool and cap).
    pub fn client(
        &self,
        transport: &HttpTransport,
        ews_url: &str,
    ) -> Result<EwsClient, exsync_ews::EwsError> {
        EwsClient::with_transport(ews_url, transport.clone())
    }

    /// Runs Autodiscover for `email` through `transport`.
    pub async fn discover(
        &self,
        transport: &HttpTransport,
        email: &str,
        deadline: Instant,
    ) -> DiscoveryReport {
        match &self.srv {
            SrvLookup::Static(resolver) => discover(transport, resolver, email, deadline).await,
            SrvLookup::System => match HickorySrvResolver::from_system_conf() {
                Ok(resolver) => discover(transport, &resolver, email, deadline).await,
                Err(error) => {
                    tracing::warn!(%error, "no system DNS resolver: Autodiscover skips SRV");
                    discover(transport, &StaticSrvResolver::new(), email, deadline).await
                }
            },
        }
    }

    /// The deadline of an operation that starts now.
    pub fn deadline(&self) -> Instant {
        Instant::now() + self.budget
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem(label: &str) -> String {
        format!("-----BEGIN CERTIFICATE-----\n{label}\n-----END CERTIFICATE-----")
    }

    fn profile_with_ca(ca: Option<String>) -> Profile {
        use crate::ids::{EmailAddress, Principal};
        use crate::profile::{Circuit, ExchangeVersion, Owner};
        let now = time::OffsetDateTime::UNIX_EPOCH;
        Profile {
            id: ProfileId::new(),
            name: "p".into(),
            description: String::new(),
            owner: Owner {
                principal: Principal::parse("admin").unwrap(),
                email: EmailAddress::parse("admin@contoso.test").unwrap(),
            },
            exchange_version: ExchangeVersion::Exchange2016,
            use_autodiscover: true,
            incoming_ews_url: None,
            use_same_settings_for_outgoing: true,
            outgoing_ews_url: None,
            ca_bundle_pem: ca,
            auth_type: AuthType::Ntlm,
            credentials_location: CredentialsLocation::Profile,
            user_name: None,
            password: None,
            process_email_from: now,
            min_polling_interval_minutes: 0,
            max_concurrent_connections: 10,
            connection_timeout_seconds: 100,
            move_failed_to_undeliverable: false,
            alert_owner_on_majority_failure: false,
            is_default_for_new_mailboxes: false,
            active: true,
            last_test: None,
            circuit: Circuit::Closed,
            last_majority_alert_at: None,
            version: 1,
            created_at: now,
            modified_at: now,
        }
    }

    #[test]
    fn the_environment_ca_and_the_profile_ca_are_both_trusted() {
        let env = ExchangeEnvironment {
            extra_ca_pem: Some(pem("ENV").into_bytes()),
            ..ExchangeEnvironment::default()
        };
        let joined = env.ca_pem(&profile_with_ca(Some(pem("PROFILE")))).unwrap();
        let joined = String::from_utf8(joined).unwrap();
        assert!(
            joined.contains("ENV") && joined.contains("PROFILE"),
            "{joined}"
        );
        assert_eq!(joined.matches("-----BEGIN CERTIFICATE-----").count(), 2);
    }

    #[test]
    fn without_any_extra_ca_only_the_system_roots_are_trusted() {
        let env = ExchangeEnvironment::default();
        assert!(env.ca_pem(&profile_with_ca(None)).is_none());
    }

    #[test]
    fn secret_contexts_differ_between_a_profile_and_a_mailbox_with_the_same_id() {
        let p = ProfileId::parse("same").unwrap();
        let m = MailboxId::parse("same").unwrap();
        assert_ne!(profile_secret_context(&p), mailbox_secret_context(&m));
    }
}
