//! Transport errors and how each is classified.
//!
//! The rows below are what `docs/errors.md` lists for the transport (the protocol layer owns
//! that file). The rule of thumb: anything only an administrator can fix (wrong URL, TLS
//! trust, refused credentials, endpoint unreachable) is [`ErrorClass::ProfileLevel`];
//! anything that may pass by itself (5xx from a proxy, resets, timeouts) is
//! [`ErrorClass::Transient`]; a request exsync built that can never succeed is
//! [`ErrorClass::Request`].

use std::net::SocketAddr;
use std::time::Duration;

use super::AuthScheme;
use crate::error::ErrorClass;

/// A boxed cause; keeps dependency types (hyper, sspi, hickory) out of our public API.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failure below the SOAP layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The URL is not `https://`; exsync talks EWS only over TLS.
    #[error("refusing non-HTTPS URL {url}")]
    InsecureUrl {
        /// The refused URL.
        url: String,
    },
    /// The URL cannot be used at all (unparsable, no host…).
    #[error("invalid URL {url}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The transport configuration is unusable (CA bundle, user name, connect override…).
    #[error("invalid transport configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: String,
    },
    /// A request exsync built cannot be sent (for example a header value with a newline).
    #[error("invalid request: {reason}")]
    InvalidRequest {
        /// What is wrong.
        reason: &'static str,
    },
    /// The host name did not resolve.
    #[error("cannot resolve {host}")]
    Dns {
        /// The host name.
        host: String,
        /// The resolver's error.
        #[source]
        source: std::io::Error,
    },
    /// No TCP connection could be opened (refused, unreachable…).
    #[error("cannot connect to {host} at {addr}")]
    Connect {
        /// The host name from the URL.
        host: String,
        /// The last address tried.
        addr: SocketAddr,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
    /// The TLS handshake failed: the server's certificate is not trusted or not valid for
    /// the host, or the handshake itself broke.
    #[error("TLS handshake with {host} failed ({failure})")]
    Tls {
        /// The host name from the URL.
        host: String,
        /// Why, in a word the admin can act on.
        failure: TlsFailure,
        /// The TLS library's error.
        #[source]
        source: std::io::Error,
    },
    /// The connection broke while a request was in flight (reset, closed mid-response).
    #[error("connection to {host} lost")]
    ConnectionLost {
        /// The host name from the URL.
        host: String,
        /// The HTTP library's error.
        #[source]
        source: BoxError,
    },
    /// The server's answer is not valid HTTP/1.1.
    #[error("invalid HTTP response from {host}")]
    Protocol {
        /// The host name from the URL.
        host: String,
        /// The HTTP library's error.
        #[source]
        source: BoxError,
    },
    /// The server refused our credentials, or offers no scheme we can use.
    #[error("{scheme} authentication with {host} failed: {reason}")]
    Unauthorized {
        /// The host name from the URL.
        host: String,
        /// The scheme we tried.
        scheme: AuthScheme,
        /// What happened.
        reason: UnauthorizedReason,
    },
    /// An NTLM message could not be built or the server's challenge could not be read.
    #[error("NTLM handshake with {host} failed")]
    Ntlm {
        /// The host name from the URL.
        host: String,
        /// The NTLM library's error.
        #[source]
        source: BoxError,
    },
    /// The server answered with a status the caller does not handle itself.
    #[error("HTTP status {status} from {host}")]
    HttpStatus {
        /// The host name from the URL.
        host: String,
        /// The status code.
        status: u16,
        /// `Retry-After`, when the server sent one (503, 429).
        retry_after: Option<Duration>,
        /// `Location`, for redirects.
        location: Option<String>,
    },
    /// The request did not complete within the per-request timeout.
    #[error("no complete response within {timeout:?}")]
    Timeout {
        /// The configured per-request timeout.
        timeout: Duration,
    },
    /// The caller's deadline passed (waiting for a connection or for the answer).
    #[error("deadline exceeded")]
    DeadlineExceeded,
    /// The response body is larger than the configured limit; reading stopped there.
    #[error("response larger than {limit} bytes")]
    ResponseTooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
}

/// Why a TLS handshake failed, in terms an administrator can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub enum TlsFailure {
    /// The certificate chain does not lead to a trusted root: add the on-premises CA to
    /// the profile.
    UnknownIssuer,
    /// The certificate is expired, not yet valid, or not issued for this host name.
    BadCertificate,
    /// Anything else (protocol versions, ciphers, a non-TLS server…).
    Handshake,
}

impl std::fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TlsFailure::UnknownIssuer => "certificate issuer not trusted",
            TlsFailure::BadCertificate => "certificate not valid for this host or date",
            TlsFailure::Handshake => "handshake error",
        })
    }
}

/// What an authentication failure looked like on the wire.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub enum UnauthorizedReason {
    /// 401 after the credentials were sent (Basic header, or the NTLM Type 3 message).
    CredentialsRejected,
    /// 401 whose `WWW-Authenticate` offers none of the schemes we can use for this profile.
    SchemeNotOffered {
        /// The schemes the server offered.
        offered: Vec<String>,
    },
    /// The server answered the NTLM Type 1 message without a Type 2 challenge.
    NoChallenge,
    /// 401 on a connection that was already authenticated, and again after a fresh
    /// handshake.
    SessionRejected,
}

impl std::fmt::Display for UnauthorizedReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnauthorizedReason::CredentialsRejected => f.write_str("credentials rejected"),
            UnauthorizedReason::SchemeNotOffered { offered } => {
                write!(f, "server offers only [{}]", offered.join(", "))
            }
            UnauthorizedReason::NoChallenge => f.write_str("no NTLM challenge in the answer"),
            UnauthorizedReason::SessionRejected => {
                f.write_str("authenticated connection rejected twice")
            }
        }
    }
}

impl TransportError {
    /// What a caller should do about this error.
    pub fn class(&self) -> ErrorClass {
        use std::io::ErrorKind;
        match self {
            // Configuration and trust problems: only an administrator can fix them.
            TransportError::InsecureUrl { .. }
            | TransportError::InvalidUrl { .. }
            | TransportError::InvalidConfig { .. }
            | TransportError::Dns { .. }
            | TransportError::Tls { .. }
            | TransportError::Unauthorized { .. }
            | TransportError::Ntlm { .. } => ErrorClass::ProfileLevel,
            // Refused or unreachable endpoints are configuration; a reset or an OS-level
            // timeout while connecting is a network hiccup.
            TransportError::Connect { source, .. } => match source.kind() {
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::TimedOut => {
                    ErrorClass::Transient { back_off: None }
                }
                _ => ErrorClass::ProfileLevel,
            },
            TransportError::ConnectionLost { .. }
            | TransportError::Protocol { .. }
            | TransportError::Timeout { .. }
            | TransportError::DeadlineExceeded => ErrorClass::Transient { back_off: None },
            // Retrying the same request cannot help; the caller must ask for less.
            TransportError::InvalidRequest { .. } | TransportError::ResponseTooLarge { .. } => {
                ErrorClass::Request
            }
            TransportError::HttpStatus {
                status,
                retry_after,
                location,
                ..
            } => status_class(*status, *retry_after, location.as_deref()),
        }
    }

    /// The server's `Retry-After`, when this error carries one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            TransportError::HttpStatus { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Classifies an HTTP status the EWS client does not handle itself (200 and 500 are parsed
/// as SOAP; 401 becomes [`TransportError::Unauthorized`]).
fn status_class(status: u16, retry_after: Option<Duration>, location: Option<&str>) -> ErrorClass {
    match status {
        // 502/503/504: a proxy or IIS queueing (503 is how IIS says "too many requests").
        // 408 and 429 say the same in other words. Every 5xx may pass by itself.
        408 | 429 | 500..=599 => ErrorClass::Transient {
            back_off: retry_after,
        },
        // EWS itself never redirects, except to its generic error page on a server error
        // (exchangelib retries that one). Any other redirect is a login page or proxy in
        // front of EWS: the URL or the publishing is wrong.
        301 | 302 | 303 | 307 | 308 => {
            let error_page = location
                .map(|l| l.to_ascii_lowercase().contains("genericerrorpage"))
                .unwrap_or(false);
            if error_page {
                ErrorClass::Transient {
                    back_off: retry_after,
                }
            } else {
                ErrorClass::ProfileLevel
            }
        }
        // Malformed request (400), request too large for the vdir limits (413), URI or
        // headers too long (414, 431): sending it again cannot succeed.
        400 | 413 | 414 | 431 => ErrorClass::Request,
        // 401, 403 (EWS disabled for the account, client certificate required), 404 (wrong
        // URL), 407 (a proxy wants credentials), 440 (OWA login timeout) and every other
        // status: something other than a working EWS endpoint answers at this URL.
        _ => ErrorClass::ProfileLevel,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, retry_after: Option<Duration>, location: Option<&str>) -> ErrorClass {
        TransportError::HttpStatus {
            host: "mail.contoso.com".into(),
            status,
            retry_after,
            location: location.map(str::to_owned),
        }
        .class()
    }

    #[test]
    fn service_unavailable_is_transient_and_keeps_retry_after() {
        let wait = Some(Duration::from_secs(30));
        assert_eq!(
            status(503, wait, None),
            ErrorClass::Transient { back_off: wait }
        );
        assert_eq!(
            status(502, None, None),
            ErrorClass::Transient { back_off: None }
        );
        assert_eq!(
            status(504, None, None),
            ErrorClass::Transient { back_off: None }
        );
    }

    #[test]
    fn redirect_to_the_ews_error_page_is_transient_other_redirects_are_profile_level() {
        assert_eq!(
            status(
                302,
                None,
                Some("/ews/genericerrorpage.htm?aspxerrorpath=/EWS/Exchange.asmx")
            ),
            ErrorClass::Transient { back_off: None }
        );
        assert_eq!(
            status(
                302,
                None,
                Some("https://mail.contoso.com/owa/auth/logon.aspx")
            ),
            ErrorClass::ProfileLevel
        );
    }

    #[test]
    fn not_found_and_forbidden_are_profile_level() {
        assert_eq!(status(404, None, None), ErrorClass::ProfileLevel);
        assert_eq!(status(403, None, None), ErrorClass::ProfileLevel);
    }

    #[test]
    fn request_too_large_is_a_request_error() {
        assert_eq!(status(413, None, None), ErrorClass::Request);
        assert_eq!(
            TransportError::ResponseTooLarge { limit: 1 }.class(),
            ErrorClass::Request
        );
    }

    #[test]
    fn refused_connection_is_profile_level_but_reset_is_transient() {
        let connect = |kind| TransportError::Connect {
            host: "mail.contoso.com".into(),
            addr: SocketAddr::from(([127, 0, 0, 1], 443)),
            source: std::io::Error::from(kind),
        };
        assert_eq!(
            connect(std::io::ErrorKind::ConnectionRefused).class(),
            ErrorClass::ProfileLevel
        );
        assert_eq!(
            connect(std::io::ErrorKind::ConnectionReset).class(),
            ErrorClass::Transient { back_off: None }
        );
    }
}
