//! The service account exsync authenticates as, and the password wrapper that keeps it out
//! of logs.

use std::fmt;

use super::TransportError;

/// A password (or any other secret string).
///
/// `Debug` and `Display` print `***`, so a `Credentials` can sit in a config struct that
/// gets logged with `?config` without leaking the password. The only way to the text is
/// [`Secret::expose`], which the transport calls when it builds an authentication header or
/// an NTLM message.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret string.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret text. Call it only where the secret is consumed, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(secret: String) -> Self {
        Self(secret)
    }
}

impl From<&str> for Secret {
    fn from(secret: &str) -> Self {
        Self(secret.to_owned())
    }
}

/// How exsync proves who it is to the Exchange virtual directories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum AuthScheme {
    /// NTLMv2 over HTTP: authenticates a TCP connection, not a request, so it runs on
    /// connections exsync owns, one handshake each.
    Ntlm,
    /// `Authorization: Basic` on every request (only ever over TLS). Often disabled on the
    /// EWS virtual directory of on-premises Exchange.
    Basic,
}

impl fmt::Display for AuthScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthScheme::Ntlm => "NTLM",
            AuthScheme::Basic => "Basic",
        })
    }
}

/// The service account: scheme, user name and password.
///
/// The user is `DOMAIN\user` (down-level logon name, works with every server) or
/// `user@domain` (UPN; whether NTLM accepts it depends on the server). `Debug` never shows
/// the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Which scheme to authenticate with.
    pub scheme: AuthScheme,
    /// `DOMAIN\user` or `user@domain`.
    pub user: String,
    /// The account's password.
    pub password: Secret,
}

impl Credentials {
    /// Checks the user name's form before any connection is made, so a typo in a profile is
    /// reported as configuration, not as a rejected login.
    pub(crate) fn validate(&self) -> Result<(), TransportError> {
        let invalid = |reason: &str| TransportError::InvalidConfig {
            reason: format!("user name: {reason}"),
        };
        let user = self.user.as_str();
        if user.trim().is_empty() {
            return Err(invalid("empty"));
        }
        if user.chars().any(char::is_control) {
            return Err(invalid("contains control characters"));
        }
        if let Some((domain, account)) = user.split_once('\\') {
            if domain.is_empty() || account.is_empty() || account.contains('\\') {
                return Err(invalid("expected DOMAIN\\user"));
            }
        } else if let Some((account, domain)) = user.rsplit_once('@')
            && (account.is_empty() || domain.is_empty())
        {
            return Err(invalid("expected user@domain"));
        }
        // RFC 7617: the user-id of Basic cannot contain a colon.
        if self.scheme == AuthScheme::Basic && user.contains(':') {
            return Err(invalid("Basic does not allow ':' in the user name"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(scheme: AuthScheme, user: &str) -> Credentials {
        Credentials {
            scheme,
            user: user.into(),
            password: Secret::new("s3cr3t-P@ss"),
        }
    }

    #[test]
    fn secret_is_never_printed() {
        let c = creds(AuthScheme::Ntlm, "CONTOSO\\svc");
        let shown = format!("{c:?} {} {:?}", c.password, c.password);
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("***"));
        assert_eq!(c.password.expose(), "s3cr3t-P@ss");
    }

    #[test]
    fn down_level_and_upn_user_names_are_accepted() {
        assert!(
            creds(AuthScheme::Ntlm, "CONTOSO\\svc-exsync")
                .validate()
                .is_ok()
        );
        assert!(
            creds(AuthScheme::Basic, "svc@contoso.com")
                .validate()
                .is_ok()
        );
        assert!(creds(AuthScheme::Ntlm, "svc").validate().is_ok());
    }

    #[test]
    fn malformed_user_names_are_configuration_errors() {
        for user in [
            "",
            "CONTOSO\\",
            "\\svc",
            "@contoso.com",
            "svc@",
            "a\\b\\c",
            "svc\n",
        ] {
            let err = creds(AuthScheme::Ntlm, user).validate();
            assert!(
                matches!(err, Err(TransportError::InvalidConfig { .. })),
                "{user:?}: {err:?}"
            );
        }
        assert!(
            creds(AuthScheme::Basic, "CONTOSO\\sv:c")
                .validate()
                .is_err()
        );
    }
}
