//! HTTP authentication as IIS does it in front of Exchange's EWS and Autodiscover virtual
//! directories: NTLM (connection-bound, three legs on one keep-alive connection) and Basic
//! (per request), each switchable at run time.
//!
//! The NTLM message crypto is in [`crate::ntlm`]; this module holds the per-connection state
//! machine and the header handling.

use crate::directory::{Account, Directory};
use crate::ntlm::{self, NtlmError, NtlmServer, PendingChallenge};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::sync::atomic::{AtomicBool, Ordering};
use subtle::ConstantTimeEq;

/// Which schemes are accepted right now.
#[derive(Debug)]
pub struct AuthSwitches {
    ntlm: AtomicBool,
    basic: AtomicBool,
}

impl AuthSwitches {
    /// Starts with the given schemes enabled.
    pub fn new(ntlm: bool, basic: bool) -> Self {
        Self {
            ntlm: AtomicBool::new(ntlm),
            basic: AtomicBool::new(basic),
        }
    }

    /// Turns the schemes on or off; takes effect on the next request.
    pub fn set(&self, ntlm: bool, basic: bool) {
        self.ntlm.store(ntlm, Ordering::SeqCst);
        self.basic.store(basic, Ordering::SeqCst);
    }

    /// NTLM accepted?
    pub fn ntlm(&self) -> bool {
        self.ntlm.load(Ordering::SeqCst)
    }

    /// Basic accepted?
    pub fn basic(&self) -> bool {
        self.basic.load(Ordering::SeqCst)
    }

    /// The `WWW-Authenticate` values of a 401: the enabled schemes, NTLM first as IIS lists
    /// them.
    pub fn challenges(&self, realm: &str) -> Vec<String> {
        let mut out = Vec::new();
        if self.ntlm() {
            out.push("NTLM".to_owned());
        }
        if self.basic() {
            out.push(format!("Basic realm=\"{realm}\""));
        }
        out
    }
}

/// NTLM state of one connection.
#[derive(Debug, Default)]
pub enum ConnectionAuth {
    /// No handshake, or a failed one.
    #[default]
    None,
    /// CHALLENGE sent; the next leg must be the AUTHENTICATE message.
    Challenged(PendingChallenge),
    /// Handshake finished: requests on this connection run as this account (logon name,
    /// lower-cased) without an Authorization header.
    Authenticated(String),
}

/// The result of authenticating one request.
#[derive(Debug)]
pub enum AuthOutcome {
    /// Authenticated as this account (its logon name, lower-cased).
    Account(String),
    /// Answer 401 with an NTLM CHALLENGE (`WWW-Authenticate: NTLM <base64>`).
    Challenge(String),
    /// Answer 401 offering the enabled schemes.
    Refused(Refusal),
}

/// Why a request was not authenticated (for the log; the client only sees 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No Authorization header and no authenticated connection.
    #[error("no credentials")]
    NoCredentials,
    /// A scheme that is switched off or unknown.
    #[error("scheme not accepted")]
    SchemeNotAccepted,
    /// The Authorization header could not be decoded.
    #[error("malformed Authorization header")]
    Malformed,
    /// An NTLM AUTHENTICATE message on a connection that has no pending challenge.
    #[error("NTLM AUTHENTICATE without a challenge on this connection")]
    NoPendingChallenge,
    /// The NTLM handshake failed.
    #[error("NTLM refused: {0}")]
    Ntlm(NtlmError),
    /// Basic credentials of an unknown user or with a wrong password.
    #[error("Basic credentials refused")]
    BadBasicCredentials,
}

/// The logon name an account is counted under (throttling, peaks): its configured user name,
/// lower-cased.
pub fn account_key(account: &Account) -> String {
    account.user.to_ascii_lowercase()
}

/// Authenticates one request on a connection.
///
/// `authorization` is the request's `Authorization` header. An NTLM handshake in progress
/// (or finished) lives in `conn`. Basic never changes `conn`: it authenticates one request.
pub fn authenticate(
    switches: &AuthSwitches,
    ntlm_server: &NtlmServer,
    directory: &Directory,
    conn: &mut ConnectionAuth,
    authorization: Option<&str>,
) -> AuthOutcome {
    let Some(header) = authorization.map(str::trim).filter(|h| !h.is_empty()) else {
        return match conn {
            ConnectionAuth::Authenticated(account) if switches.ntlm() => {
                AuthOutcome::Account(account.clone())
            }
            _ => AuthOutcome::Refused(Refusal::NoCredentials),
        };
    };
    let (scheme, token) = header.split_once(' ').unwrap_or((header, ""));
    let token = token.trim();
    if scheme.eq_ignore_ascii_case("NTLM") {
        if !switches.ntlm() {
            *conn = ConnectionAuth::None;
            return AuthOutcome::Refused(Refusal::SchemeNotAccepted);
        }
        ntlm_leg(ntlm_server, directory, conn, token)
    } else if scheme.eq_ignore_ascii_case("Basic") {
        if !switches.basic() {
            return AuthOutcome::Refused(Refusal::SchemeNotAccepted);
        }
        basic(directory, token)
    } else {
        AuthOutcome::Refused(Refusal::SchemeNotAccepted)
    }
}

fn ntlm_leg(
    server: &NtlmServer,
    directory: &Directory,
    conn: &mut ConnectionAuth,
    token: &str,
) -> AuthOutcome {
    let Ok(message) = BASE64.decode(token) else {
        *conn = ConnectionAuth::None;
        return AuthOutcome::Refused(Refusal::Malformed);
    };
    match ntlm::message_type(&message) {
        Ok(1) => match server.challenge(&message) {
            Ok((pending, challenge)) => {
                *conn = ConnectionAuth::Challenged(pending);
                AuthOutcome::Challenge(BASE64.encode(challenge))
            }
            Err(e) => {
                *conn = ConnectionAuth::None;
                AuthOutcome::Refused(Refusal::Ntlm(e))
            }
        },
        Ok(3) => {
            // Whatever happens, the challenge is used up: a second try needs a new handshake.
            let ConnectionAuth::Challenged(pending) = std::mem::take(conn) else {
                return AuthOutcome::Refused(Refusal::NoPendingChallenge);
            };
            let verified = pending.authenticate(&message, |user, domain| {
                ntlm_account(directory, user, domain).map(|a| a.password.clone())
            });
            match verified.map(|logon| ntlm_account(directory, &logon.user, &logon.domain)) {
                Ok(Some(account)) => {
                    let key = account_key(account);
                    *conn = ConnectionAuth::Authenticated(key.clone());
                    AuthOutcome::Account(key)
                }
                Ok(None) => AuthOutcome::Refused(Refusal::Ntlm(NtlmError::UnknownUser)),
                Err(e) => AuthOutcome::Refused(Refusal::Ntlm(e)),
            }
        }
        Ok(other) => {
            *conn = ConnectionAuth::None;
            AuthOutcome::Refused(Refusal::Ntlm(NtlmError::UnexpectedMessageType {
                expected: 1,
                actual: other,
            }))
        }
        Err(e) => {
            *conn = ConnectionAuth::None;
            AuthOutcome::Refused(Refusal::Ntlm(e))
        }
    }
}

/// The account an NTLM user/domain pair names: `DOMAIN\user` with our NetBIOS or DNS domain,
/// or a UPN (`user@domain`, sent with an empty domain), or a bare user name.
fn ntlm_account<'d>(directory: &'d Directory, user: &str, domain: &str) -> Option<&'d Account> {
    if domain.is_empty() {
        return directory.account(user);
    }
    if directory
        .domains
        .iter()
        .any(|d| d.eq_ignore_ascii_case(domain))
    {
        return directory.account(&format!("{user}@{domain}"));
    }
    directory.account(&format!("{domain}\\{user}"))
}

fn basic(directory: &Directory, token: &str) -> AuthOutcome {
    let Some((user, password)) = BASE64
        .decode(token)
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|s| s.split_once(':').map(|(u, p)| (u.to_owned(), p.to_owned())))
    else {
        return AuthOutcome::Refused(Refusal::Malformed);
    };
    match directory.account(&user) {
        Some(account) if bool::from(account.password.as_bytes().ct_eq(password.as_bytes())) => {
            AuthOutcome::Account(account_key(account))
        }
        _ => AuthOutcome::Refused(Refusal::BadBasicCredentials),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SimConfig;

    fn directory() -> Directory {
        let cfg = SimConfig::from_json(
            r#"{"domains":["contoso.test"],
                "accounts":[{"user":"svc-exsync","password":"Secret1!"}]}"#,
        )
        .unwrap();
        Directory::from_config(&cfg)
    }

    fn server() -> NtlmServer {
        NtlmServer::new("CONTOSO", "contoso.test", "EXCH01")
    }

    fn basic_header(user: &str, password: &str) -> String {
        format!("Basic {}", BASE64.encode(format!("{user}:{password}")))
    }

    #[test]
    fn basic_accepts_every_logon_form() {
        let switches = AuthSwitches::new(true, true);
        for logon in [
            "CONTOSO\\svc-exsync",
            "svc-exsync@contoso.test",
            "svc-exsync",
        ] {
            let mut conn = ConnectionAuth::None;
            let outcome = authenticate(
                &switches,
                &server(),
                &directory(),
                &mut conn,
                Some(&basic_header(logon, "Secret1!")),
            );
            assert!(
                matches!(outcome, AuthOutcome::Account(ref a) if a == "svc-exsync"),
                "{logon}: {outcome:?}"
            );
        }
    }

    #[test]
    fn basic_with_a_wrong_password_is_refused() {
        let mut conn = ConnectionAuth::None;
        let outcome = authenticate(
            &AuthSwitches::new(true, true),
            &server(),
            &directory(),
            &mut conn,
            Some(&basic_header("svc-exsync", "nope")),
        );
        assert!(matches!(
            outcome,
            AuthOutcome::Refused(Refusal::BadBasicCredentials)
        ));
    }

    #[test]
    fn basic_is_refused_when_switched_off() {
        let mut conn = ConnectionAuth::None;
        let outcome = authenticate(
            &AuthSwitches::new(true, false),
            &server(),
            &directory(),
            &mut conn,
            Some(&basic_header("svc-exsync", "Secret1!")),
        );
        assert!(matches!(
            outcome,
            AuthOutcome::Refused(Refusal::SchemeNotAccepted)
        ));
    }

    #[test]
    fn basic_does_not_authenticate_the_connection() {
        let switches = AuthSwitches::new(true, true);
        let mut conn = ConnectionAuth::None;
        authenticate(
            &switches,
            &server(),
            &directory(),
            &mut conn,
            Some(&basic_header("svc-exsync", "Secret1!")),
        );
        let next = authenticate(&switches, &server(), &directory(), &mut conn, None);
        assert!(matches!(next, AuthOutcome::Refused(Refusal::NoCredentials)));
    }

    #[test]
    fn ntlm_authenticate_without_a_challenge_is_refused() {
        let mut conn = ConnectionAuth::None;
        let type3 = format!("NTLM {}", BASE64.encode(b"NTLMSSP\0\x03\0\0\0"));
        let outcome = authenticate(
            &AuthSwitches::new(true, true),
            &server(),
            &directory(),
            &mut conn,
            Some(&type3),
        );
        assert!(matches!(
            outcome,
            AuthOutcome::Refused(Refusal::NoPendingChallenge)
        ));
    }

    #[test]
    fn ntlm_negotiate_gets_a_challenge_and_arms_the_connection() {
        let mut negotiate = b"NTLMSSP\0".to_vec();
        negotiate.extend_from_slice(&1u32.to_le_bytes());
        negotiate.extend_from_slice(&0x0008_8207u32.to_le_bytes());
        let mut conn = ConnectionAuth::None;
        let outcome = authenticate(
            &AuthSwitches::new(true, false),
            &server(),
            &directory(),
            &mut conn,
            Some(&format!("NTLM {}", BASE64.encode(&negotiate))),
        );
        assert!(matches!(outcome, AuthOutcome::Challenge(_)));
        assert!(matches!(conn, ConnectionAuth::Challenged(_)));
    }

    #[test]
    fn authenticated_connection_needs_no_header_while_ntlm_is_on() {
        let switches = AuthSwitches::new(true, true);
        let mut conn = ConnectionAuth::Authenticated("svc-exsync".into());
        assert!(matches!(
            authenticate(&switches, &server(), &directory(), &mut conn, None),
            AuthOutcome::Account(_)
        ));
        switches.set(false, true);
        assert!(matches!(
            authenticate(&switches, &server(), &directory(), &mut conn, None),
            AuthOutcome::Refused(Refusal::NoCredentials)
        ));
    }

    #[test]
    fn challenges_list_only_enabled_schemes() {
        let switches = AuthSwitches::new(true, false);
        assert_eq!(switches.challenges("localhost"), vec!["NTLM"]);
        switches.set(false, true);
        assert_eq!(
            switches.challenges("localhost"),
            vec!["Basic realm=\"localhost\""]
        );
    }

    #[test]
    fn ntlm_domain_may_be_netbios_dns_or_empty() {
        let dir = directory();
        assert!(ntlm_account(&dir, "svc-exsync", "CONTOSO").is_some());
        assert!(ntlm_account(&dir, "svc-exsync", "contoso.test").is_some());
        assert!(ntlm_account(&dir, "svc-exsync@contoso.test", "").is_some());
        assert!(ntlm_account(&dir, "svc-exsync", "FABRIKAM").is_none());
    }
}
