//! The diagnosis of a failed connection to Exchange: which step failed (Autodiscover,
//! connection, TLS, authentication, impersonation, mailbox) and what an Exchange
//! administrator should check. Test Connection, Test & Enable, the sync engine's alerts and
//! the CLI's `exsync ews probe` all use this one mapping.
//!
//! The step is read from the error's variant, never from its text: a TLS failure is a
//! [`TransportError::Tls`], a refused password is a [`TransportError::Unauthorized`] (a 401
//! after the handshake or the Basic header), and a missing impersonation right is a SOAP
//! fault or response message carrying `ErrorImpersonateUserDenied`, which can only arrive
//! once TLS and authentication have succeeded.
//!
//! Advice names the knob the reader can turn, which differs by [`Audience`]: a CLI flag
//! (`--ca-file`) for `exsync ews probe`, a profile field (`ca_bundle_pem`) for the admin API.
//! Findings never carry a password, a token or a message body: only host names, addresses,
//! response codes and the server's one-line error text.
//!
//! References: [ExchangeImpersonation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/exchangeimpersonation),
//! [ResponseCode](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/responsecode).

use exsync_ews::autodiscover::{Attempt, DiscoveryError, MAX_HOPS, Outcome};
use exsync_ews::error::ErrorClass;
use exsync_ews::transport::{AuthScheme, TlsFailure, TransportError, UnauthorizedReason};
use exsync_ews::{EwsError, ResponseCode};
use serde::Serialize;
use std::time::Duration;

/// One step of a connection test, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// POX Autodiscover finds the EWS URL for the mailbox.
    Autodiscover,
    /// The EWS host name resolves and a TCP connection opens.
    Connection,
    /// The server's certificate is trusted and valid for the host.
    Tls,
    /// EWS accepts the service account (NTLM or Basic).
    Authentication,
    /// The service account may act as the mailbox (ApplicationImpersonation).
    Impersonation,
    /// The mailbox exists and its folders can be read (and, for outgoing, written).
    Mailbox,
}

impl Step {
    /// Every step, in the order a test runs them.
    pub const ALL: [Step; 6] = [
        Step::Autodiscover,
        Step::Connection,
        Step::Tls,
        Step::Authentication,
        Step::Impersonation,
        Step::Mailbox,
    ];

    /// The process exit code of `exsync ews probe` when this step fails: one per step, so
    /// scripts can branch on the failing step without parsing output.
    pub fn exit_code(self) -> u8 {
        match self {
            Step::Autodiscover => 10,
            Step::Connection => 11,
            Step::Tls => 12,
            Step::Authentication => 13,
            Step::Impersonation => 14,
            Step::Mailbox => 15,
        }
    }

    /// The step's name as a human-readable diagnosis prints it.
    pub fn label(self) -> &'static str {
        match self {
            Step::Autodiscover => "Autodiscover",
            Step::Connection => "Connection",
            Step::Tls => "TLS",
            Step::Authentication => "Authentication",
            Step::Impersonation => "Impersonation",
            Step::Mailbox => "Mailbox",
        }
    }

    /// The step's name in JSON and stored diagnoses (`authentication`).
    pub fn key(self) -> &'static str {
        match self {
            Step::Autodiscover => "autodiscover",
            Step::Connection => "connection",
            Step::Tls => "tls",
            Step::Authentication => "authentication",
            Step::Impersonation => "impersonation",
            Step::Mailbox => "mailbox",
        }
    }
}

/// Who reads the advice, and so which knobs it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Audience {
    /// `exsync ews probe` and the other CLI commands: flags such as `--ca-file`.
    Cli,
    /// The admin API and alerts: the email server profile's fields such as
    /// `ca_bundle_pem`.
    #[default]
    Profile,
}

impl Audience {
    fn trust_ca(self) -> &'static str {
        match self {
            Audience::Cli => "pass --ca-file with your CA (PEM)",
            Audience::Profile => "add your CA certificate (PEM) to the profile's ca_bundle_pem",
        }
    }

    fn raise_timeout(self) -> &'static str {
        match self {
            Audience::Cli => "raise --timeout",
            Audience::Profile => "raise the profile's connection_timeout_seconds",
        }
    }

    fn ran_out_of_time(self) -> &'static str {
        match self {
            Audience::Cli => "the test ran out of time (--timeout)",
            Audience::Profile => "the test ran out of time",
        }
    }

    fn autodiscover_ran_out_of_time(self) -> &'static str {
        match self {
            Audience::Cli => "Autodiscover did not finish in time (--timeout)",
            Audience::Profile => "Autodiscover did not finish in time",
        }
    }

    fn give_ews_url(self) -> &'static str {
        match self {
            Audience::Cli => "pass --ews-url",
            Audience::Profile => "turn off use_autodiscover and set incoming_ews_url",
        }
    }

    fn or_autodiscover(self) -> &'static str {
        match self {
            Audience::Cli => ", or use --autodiscover",
            Audience::Profile => ", or turn on use_autodiscover",
        }
    }

    fn other_auth(self) -> &'static str {
        match self {
            Audience::Cli => "choose another --auth",
            Audience::Profile => "change the profile's auth_type",
        }
    }

    fn resolve_hint(self, host: &str) -> String {
        match self {
            Audience::Cli => format!(
                "check the host name and DNS (or point it at an address with --resolve {host}:443:ADDR)"
            ),
            Audience::Profile => {
                format!("check the host name {host} and that exsync's DNS resolves it")
            }
        }
    }

    fn fix_setting(self) -> &'static str {
        match self {
            Audience::Cli => "fix the option named above",
            Audience::Profile => "fix the profile setting named above",
        }
    }

    fn restart_sync(self) -> &'static str {
        match self {
            Audience::Cli => "drop --sync-state to synchronize from the beginning",
            Audience::Profile => "exsync drops the sync state and synchronizes the folder again",
        }
    }

    fn ask_for_less(self) -> &'static str {
        match self {
            Audience::Cli => "ask for fewer items at a time (--max-changes)",
            Audience::Profile => "exsync asks for fewer items at a time; if it persists, report it",
        }
    }
}

/// What failed, where, and what to check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The failing step.
    pub step: Step,
    /// What went wrong, in one line.
    pub problem: String,
    /// What an administrator should check or do, in one line.
    pub advice: String,
    /// Trying again later may succeed without any change (throttling, a busy server).
    pub transient: bool,
    /// How long the server asked us to wait, when it said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// The EWS response code, for faults and response messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_code: Option<String>,
}

impl Finding {
    pub(crate) fn new(step: Step, problem: impl Into<String>, advice: impl Into<String>) -> Self {
        Finding {
            step,
            problem: problem.into(),
            advice: advice.into(),
            transient: false,
            retry_after_ms: None,
            response_code: None,
        }
    }

    fn class(mut self, class: ErrorClass) -> Self {
        if let ErrorClass::Transient { back_off } = class {
            self.transient = true;
            self.retry_after_ms = back_off.map(millis);
        }
        self
    }

    fn code(mut self, code: &ResponseCode) -> Self {
        self.response_code = Some(code.as_str().to_owned());
        self
    }

    fn retry_after(mut self, wait: Option<Duration>) -> Self {
        if let Some(wait) = wait {
            self.retry_after_ms = Some(millis(wait));
        }
        self
    }

    /// A stable code for alerts and stored statuses: the EWS response code when there is
    /// one, else the failing step (`TlsFailed`, `AuthenticationFailed`…).
    pub fn alert_code(&self) -> String {
        match &self.response_code {
            Some(code) => code.clone(),
            None => format!("{}Failed", self.step.label().replace(' ', "")),
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Who is testing what: the facts advice sentences name.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The account as given (`CONTOSO\svc-exsync`).
    pub user: &'a str,
    /// The authentication scheme in use.
    pub scheme: AuthScheme,
    /// The mailbox being tested.
    pub mailbox: &'a str,
    /// Who reads the advice.
    pub audience: Audience,
}

impl Context<'_> {
    /// The account name `New-ManagementRoleAssignment -User` takes: the down-level name
    /// without its domain, or the UPN as given.
    fn account_for_role(&self) -> &str {
        match self.user.split_once('\\') {
            Some((_, account)) => account,
            None => self.user,
        }
    }
}

/// Diagnoses a failed EWS call (a probe's impersonated GetFolder, a Test & Enable check, a
/// sync call).
pub fn diagnose_call(error: &EwsError, ctx: &Context<'_>) -> Finding {
    match error {
        EwsError::Transport(t) => diagnose_transport(t, ctx),
        // Something other than EWS answered at the URL (a proxy's page, a login form): the
        // service account never reached EWS.
        EwsError::NotSoapEnvelope { root_ns, root_name } => Finding::new(
            Step::Authentication,
            format!(
                "the EWS URL answered with a document that is not EWS (root element {{{root_ns}}}{root_name})"
            ),
            "check the EWS URL (usually https://HOST/EWS/Exchange.asmx); a proxy or login page may be answering in front of Exchange",
        ),
        EwsError::Xml(xml) => Finding::new(
            Step::Authentication,
            format!("the EWS URL answered with something that is not an EWS document ({xml})"),
            "check the EWS URL (usually https://HOST/EWS/Exchange.asmx); a proxy or error page may be answering in front of Exchange",
        )
        .class(error.class()),
        EwsError::UnexpectedShape { .. } | EwsError::MessageCount { .. } => Finding::new(
            Step::Mailbox,
            format!("Exchange answered with a response exsync cannot read ({error})"),
            "try again; if it persists, save the response (RUST_LOG=debug) and report it",
        )
        .class(error.class()),
        EwsError::Fault(_) | EwsError::Response(_) => diagnose_response_code(error, ctx),
        _ => Finding::new(
            Step::Mailbox,
            error.to_string(),
            "try again; if it persists, report it",
        )
        .class(error.class()),
    }
}

/// Diagnoses an EWS response code (from a SOAP fault or a response message).
fn diagnose_response_code(error: &EwsError, ctx: &Context<'_>) -> Finding {
    use ResponseCode::*;
    let Some(outer) = error.response_code() else {
        return Finding::new(Step::Mailbox, error.to_string(), "try again later");
    };
    // Exchange wraps the real cause of some failures as InnerErrorResponseCode.
    let code = error
        .inner_code()
        .filter(|inner| inner.explicit_class().is_some())
        .unwrap_or(outer);
    let text = error_text(error);
    let mailbox = ctx.mailbox;
    let account = ctx.account_for_role();
    let finding = match code {
        ErrorImpersonateUserDenied | ErrorImpersonationDenied => Finding::new(
            Step::Impersonation,
            format!("the service account lacks ApplicationImpersonation for {mailbox} ({code})"),
            format!(
                "New-ManagementRoleAssignment -Name exsync-impersonation -Role ApplicationImpersonation -User {account} (add -CustomRecipientWriteScope to limit it to the synced mailboxes)"
            ),
        ),
        ErrorImpersonationFailed | ErrorInvalidExchangeImpersonationHeaderData => Finding::new(
            Step::Impersonation,
            format!("Exchange could not impersonate {mailbox} ({code}{text})"),
            format!(
                "check that {mailbox} is the mailbox's primary SMTP address and that its account is resolvable in Active Directory"
            ),
        ),
        ErrorNonExistentMailbox => Finding::new(
            Step::Mailbox,
            format!("Exchange has no mailbox for {mailbox} ({code})"),
            "check the address: it must be the primary SMTP address of a mailbox on this Exchange organisation",
        ),
        ErrorNonPrimarySmtpAddress => Finding::new(
            Step::Mailbox,
            format!("{mailbox} is not the mailbox's primary SMTP address ({code})"),
            "use the mailbox's primary SMTP address (Get-Mailbox | Select PrimarySmtpAddress)",
        ),
        ErrorAccountDisabled => Finding::new(
            Step::Mailbox,
            format!("the account of {mailbox} is disabled ({code})"),
            "enable the user's account, or stop syncing this mailbox",
        ),
        ErrorAccessDenied => Finding::new(
            Step::Mailbox,
            format!("access to {mailbox} was denied ({code}{text})"),
            format!(
                "check the ApplicationImpersonation assignment of {account} and its scope (Get-ManagementRoleAssignment -Role ApplicationImpersonation)"
            ),
        ),
        ErrorMailboxLogonFailed | ErrorMailboxConfiguration => Finding::new(
            Step::Mailbox,
            format!("Exchange could not open the mailbox {mailbox} ({code}{text})"),
            "check the mailbox in the Exchange admin center (Test-MAPIConnectivity -Identity <mailbox>)",
        ),
        ErrorFolderNotFound | ErrorSyncFolderNotFound => Finding::new(
            Step::Mailbox,
            format!("the folder does not exist in {mailbox} ({code})"),
            "check the folder name",
        ),
        ErrorInvalidSyncStateData => Finding::new(
            Step::Mailbox,
            format!("the sync state is not valid for this folder ({code})"),
            ctx.audience.restart_sync(),
        ),
        ErrorPasswordExpired | ErrorPasswordChangeRequired => Finding::new(
            Step::Authentication,
            format!("the service account's password must be changed ({code})"),
            "set a new password for the service account, and store it in exsync's profile",
        ),
        _ => match error.class() {
            ErrorClass::Transient { .. } => Finding::new(
                Step::Mailbox,
                format!("Exchange is busy or temporarily unavailable ({code}{text})"),
                "try again later; exsync backs off by itself when it syncs",
            ),
            ErrorClass::Request => Finding::new(
                Step::Mailbox,
                format!("Exchange refused exsync's request ({code}{text})"),
                "the server may be older than Exchange 2010 SP2, which exsync requires",
            ),
            _ => Finding::new(
                Step::Mailbox,
                format!("Exchange answered {code}{text}"),
                format!("check the mailbox {mailbox} in the Exchange admin center"),
            ),
        },
    };
    finding.class(error.class()).code(outer)
}

/// `: message text` when the server gave one.
fn error_text(error: &EwsError) -> String {
    let message = match error {
        EwsError::Fault(f) => f.message.as_deref().or(Some(f.fault_string.as_str())),
        EwsError::Response(r) => r.message.as_deref(),
        _ => None,
    };
    match message.map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => format!(": {m}"),
        None => String::new(),
    }
}

/// Diagnoses a failure below SOAP: name resolution, TCP, TLS, HTTP authentication and
/// status codes.
pub fn diagnose_transport(error: &TransportError, ctx: &Context<'_>) -> Finding {
    let scheme = ctx.scheme;
    let audience = ctx.audience;
    let finding = match error {
        TransportError::InsecureUrl { url } => Finding::new(
            Step::Connection,
            format!("refusing the non-HTTPS URL {url}"),
            "exsync talks to EWS only over HTTPS: give the https:// EWS URL",
        ),
        TransportError::InvalidUrl { url, reason } => Finding::new(
            Step::Connection,
            format!("the URL {url} cannot be used ({reason})"),
            "give the EWS URL as https://HOST/EWS/Exchange.asmx",
        ),
        TransportError::InvalidConfig { reason } => Finding::new(
            Step::Connection,
            format!("the connection settings are not usable ({reason})"),
            audience.fix_setting(),
        ),
        TransportError::InvalidRequest { reason } => Finding::new(
            Step::Mailbox,
            format!("the request for {} cannot be sent ({reason})", ctx.mailbox),
            "check the mailbox address for stray characters",
        ),
        TransportError::Dns { host, .. } => Finding::new(
            Step::Connection,
            format!("cannot resolve {host}"),
            audience.resolve_hint(host),
        ),
        TransportError::Connect {
            host, addr, source, ..
        } => Finding::new(
            Step::Connection,
            format!("cannot reach {host}:{} ({source})", addr.port()),
            "check that Exchange is up, the host name and port, and that firewalls let exsync reach it over HTTPS",
        ),
        TransportError::Tls { host, failure, .. } => match failure {
            TlsFailure::UnknownIssuer => Finding::new(
                Step::Tls,
                format!("the server's certificate is not trusted ({host}: issuer unknown)"),
                format!(
                    "{}, or give Exchange a publicly trusted certificate",
                    audience.trust_ca()
                ),
            ),
            TlsFailure::BadCertificate => Finding::new(
                Step::Tls,
                format!("the certificate of {host} is not valid for this host name or has expired"),
                "use the host name the certificate was issued for, or renew the certificate",
            ),
            _ => Finding::new(
                Step::Tls,
                format!("the TLS handshake with {host} failed"),
                "check that the URL's host and port serve HTTPS with TLS 1.2 or later",
            ),
        },
        TransportError::ConnectionLost { host, .. } => Finding::new(
            Step::Connection,
            format!("the connection to {host} broke while waiting for the answer"),
            "try again; if it persists, check load balancers and proxies between exsync and Exchange",
        ),
        TransportError::Protocol { host, .. } => Finding::new(
            Step::Connection,
            format!("{host} did not answer with valid HTTP/1.1"),
            "check that the URL points at Exchange's web server, not another service",
        ),
        TransportError::Unauthorized { reason, .. } => match reason {
            UnauthorizedReason::CredentialsRejected => Finding::new(
                Step::Authentication,
                format!(
                    "the service account's user name or password was rejected (HTTP 401 after {scheme} authentication)"
                ),
                format!(
                    "check the credentials and that {scheme} is enabled on the EWS virtual directory"
                ),
            ),
            UnauthorizedReason::SchemeNotOffered { offered } => Finding::new(
                Step::Authentication,
                format!(
                    "the EWS virtual directory does not offer {scheme} authentication (it offers: {})",
                    if offered.is_empty() {
                        "nothing".to_owned()
                    } else {
                        offered.join(", ")
                    }
                ),
                format!(
                    "enable {scheme} on the EWS virtual directory (Set-WebServicesVirtualDirectory), or {}",
                    audience.other_auth()
                ),
            ),
            UnauthorizedReason::NoChallenge => Finding::new(
                Step::Authentication,
                "the server answered the NTLM negotiation without a challenge (HTTP 401)",
                "a proxy or load balancer in front of EWS may not pass NTLM through: connect to Exchange directly or enable NTLM pass-through",
            ),
            UnauthorizedReason::SessionRejected => Finding::new(
                Step::Authentication,
                "the server rejected an NTLM-authenticated connection, twice (HTTP 401)",
                "a load balancer may be moving the connection between servers: enable connection persistence for EWS",
            ),
            _ => Finding::new(
                Step::Authentication,
                format!("{scheme} authentication failed ({reason})"),
                format!(
                    "check the credentials and that {scheme} is enabled on the EWS virtual directory"
                ),
            ),
        },
        TransportError::Ntlm { host, .. } => Finding::new(
            Step::Authentication,
            format!("the NTLM handshake with {host} failed"),
            "check the user name's form (DOMAIN\\user) and that NTLM is enabled on the EWS virtual directory",
        ),
        TransportError::HttpStatus {
            status, location, ..
        } => http_status(*status, location.as_deref(), audience),
        TransportError::Timeout { timeout } => Finding::new(
            Step::Connection,
            format!("no complete answer within {} s", timeout.as_secs()),
            format!(
                "the server or the network is slow: try again, or {}",
                audience.raise_timeout()
            ),
        ),
        TransportError::DeadlineExceeded => Finding::new(
            Step::Connection,
            audience.ran_out_of_time(),
            format!(
                "the server or the network is slow: try again, or {}",
                audience.raise_timeout()
            ),
        ),
        TransportError::ResponseTooLarge { limit } => Finding::new(
            Step::Mailbox,
            format!("the answer is larger than {limit} bytes"),
            audience.ask_for_less(),
        ),
        _ => Finding::new(
            Step::Connection,
            error.to_string(),
            "check that Exchange is up and reachable over HTTPS",
        ),
    };
    finding
        .class(error.class())
        .retry_after(error.retry_after())
}

/// HTTP statuses other than 200, 401 and SOAP's 500. They come back once the connection
/// and TLS worked, in answer to the authenticated request, so they belong to the
/// authentication step: the EWS endpoint did not accept the service account's request.
fn http_status(status: u16, location: Option<&str>, audience: Audience) -> Finding {
    let redirect = |to: &str| {
        Finding::new(
            Step::Authentication,
            format!("EWS redirected the request to {to} (HTTP {status})"),
            "a login page or proxy sits in front of EWS: use the EWS URL Exchange itself serves, without forms-based pre-authentication",
        )
    };
    match status {
        403 => Finding::new(
            Step::Authentication,
            "EWS refused the service account (HTTP 403)",
            "check that EWS is enabled for the service account (Set-CASMailbox -EwsEnabled $true) and that the virtual directory does not require client certificates",
        ),
        404 => Finding::new(
            Step::Authentication,
            "there is no EWS endpoint at this URL (HTTP 404)",
            format!(
                "check the EWS URL (usually https://HOST/EWS/Exchange.asmx){}",
                audience.or_autodiscover()
            ),
        ),
        407 => Finding::new(
            Step::Authentication,
            "a proxy asked for its own credentials (HTTP 407)",
            "let exsync reach Exchange without an authenticating proxy",
        ),
        301 | 302 | 303 | 307 | 308 => redirect(location.unwrap_or("another URL")),
        408 | 429 | 500..=599 => Finding::new(
            Step::Authentication,
            format!("the server is unavailable or overloaded (HTTP {status})"),
            "try again later; if it persists, check the Exchange server and any proxy in front of it",
        ),
        _ => Finding::new(
            Step::Authentication,
            format!("EWS answered HTTP {status}"),
            "check the EWS URL and the EWS virtual directory's settings",
        ),
    }
}

/// Diagnoses an Autodiscover run that found no EWS URL, using what each attempt saw.
pub fn diagnose_discovery(
    error: &DiscoveryError,
    attempts: &[Attempt],
    ctx: &Context<'_>,
) -> Finding {
    let scheme = ctx.scheme;
    let audience = ctx.audience;
    let finding = match error {
        DiscoveryError::InvalidEmail { email } => Finding::new(
            Step::Autodiscover,
            format!("{email:?} is not an e-mail address"),
            "give the mailbox's primary SMTP address",
        ),
        DiscoveryError::CredentialsRejected { attempts: n } => Finding::new(
            Step::Autodiscover,
            format!(
                "every Autodiscover endpoint that answered ({n}) rejected the service account's user name or password (HTTP 401)"
            ),
            format!(
                "check the credentials and that {scheme} is enabled on the Autodiscover virtual directory"
            ),
        ),
        DiscoveryError::TooManyRedirects { .. } => Finding::new(
            Step::Autodiscover,
            format!("Autodiscover redirected more than {MAX_HOPS} times"),
            format!(
                "check the Autodiscover redirects for a loop, or {}",
                audience.give_ews_url()
            ),
        ),
        DiscoveryError::DeadlineExceeded => Finding::new(
            Step::Autodiscover,
            audience.autodiscover_ran_out_of_time(),
            format!(
                "try again, {}, or {}",
                audience.raise_timeout(),
                audience.give_ews_url()
            ),
        ),
        _ => not_found(attempts, ctx),
    };
    finding.class(error.class())
}

/// No candidate gave an EWS URL: the most telling attempt decides the advice.
fn not_found(attempts: &[Attempt], ctx: &Context<'_>) -> Finding {
    let audience = ctx.audience;
    let domain = ctx.mailbox.rsplit_once('@').map_or("", |(_, d)| d);
    let untrusted = attempts.iter().find_map(|a| match &a.outcome {
        Outcome::TlsFailed {
            failure: TlsFailure::UnknownIssuer,
            ..
        } => Some(a.url.as_str()),
        _ => None,
    });
    let autodiscover_error = attempts.iter().find_map(|a| match &a.outcome {
        Outcome::AutodiscoverError { code, message } => Some((code, message)),
        _ => None,
    });
    let any_answer = attempts.iter().any(|a| {
        !matches!(
            a.outcome,
            Outcome::Unreachable { .. }
                | Outcome::TlsFailed { .. }
                | Outcome::SrvLookupFailed { .. }
                | Outcome::NoSrvRecords
        )
    });
    if let Some(url) = untrusted {
        Finding::new(
            Step::Autodiscover,
            format!(
                "no Autodiscover endpoint returned an EWS URL; the server's certificate is not trusted ({url})"
            ),
            format!(
                "{}, or give Exchange a publicly trusted certificate",
                audience.trust_ca()
            ),
        )
    } else if let Some((code, message)) = autodiscover_error {
        let message = message
            .as_deref()
            .map_or(String::new(), |m| format!(": {m}"));
        Finding::new(
            Step::Autodiscover,
            format!(
                "Autodiscover answered error {code}{message} for {}",
                ctx.mailbox
            ),
            format!(
                "check that the address is a mailbox's primary SMTP address, or {}",
                audience.give_ews_url()
            ),
        )
    } else if !any_answer {
        Finding::new(
            Step::Autodiscover,
            format!("no Autodiscover endpoint for {domain} could be reached"),
            format!(
                "publish https://autodiscover.{domain}/autodiscover/autodiscover.xml (DNS and certificate), or {}",
                audience.give_ews_url()
            ),
        )
    } else {
        Finding::new(
            Step::Autodiscover,
            "no Autodiscover endpoint returned an EWS URL",
            format!(
                "check the Autodiscover virtual directory and the external EWS URL (Get-WebServicesVirtualDirectory), or {}",
                audience.give_ews_url()
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use exsync_ews::autodiscover::Step as AdStep;
    use exsync_ews::error::{ResponseError, SoapFault};
    use std::net::SocketAddr;

    const CLI: Context<'static> = Context {
        user: "CONTOSO\\svc-exsync",
        scheme: AuthScheme::Ntlm,
        mailbox: "alice@contoso.test",
        audience: Audience::Cli,
    };

    const API: Context<'static> = Context {
        audience: Audience::Profile,
        ..CLI
    };

    fn fault(code: &str) -> EwsError {
        EwsError::Fault(Box::new(SoapFault {
            fault_code: format!("a:{code}"),
            fault_string: "fault text".into(),
            code: code.into(),
            message: None,
            back_off: None,
            inner_code: None,
        }))
    }

    fn message(code: &str, back_off_ms: Option<u64>, inner: Option<&str>) -> EwsError {
        EwsError::Response(Box::new(ResponseError {
            response_class: "Error".into(),
            code: code.into(),
            message: Some("message text".into()),
            back_off: back_off_ms.map(Duration::from_millis),
            inner_code: inner.map(ResponseCode::from),
        }))
    }

    fn transport(error: TransportError, ctx: &Context<'_>) -> Finding {
        diagnose_call(&EwsError::Transport(error), ctx)
    }

    fn io(kind: std::io::ErrorKind) -> std::io::Error {
        std::io::Error::from(kind)
    }

    fn attempt(outcome: Outcome) -> Attempt {
        Attempt {
            step: AdStep::DomainRoot,
            url: "https://contoso.test/autodiscover/autodiscover.xml".into(),
            email: "alice@contoso.test".into(),
            outcome,
        }
    }

    fn untrusted() -> TransportError {
        TransportError::Tls {
            host: "mail.contoso.test".into(),
            failure: TlsFailure::UnknownIssuer,
            source: io(std::io::ErrorKind::InvalidData),
        }
    }

    #[test]
    fn wrong_password_is_an_authentication_failure_naming_the_scheme() {
        let f = transport(
            TransportError::Unauthorized {
                host: "mail.contoso.test".into(),
                scheme: AuthScheme::Ntlm,
                reason: UnauthorizedReason::CredentialsRejected,
            },
            &CLI,
        );
        assert_eq!(f.step, Step::Authentication);
        assert_eq!(
            f.problem,
            "the service account's user name or password was rejected (HTTP 401 after NTLM authentication)"
        );
        assert_eq!(
            f.advice,
            "check the credentials and that NTLM is enabled on the EWS virtual directory"
        );
        assert!(!f.transient);
        assert_eq!(f.alert_code(), "AuthenticationFailed");
    }

    #[test]
    fn scheme_not_offered_says_what_the_server_offers() {
        let f = transport(
            TransportError::Unauthorized {
                host: "mail.contoso.test".into(),
                scheme: AuthScheme::Ntlm,
                reason: UnauthorizedReason::SchemeNotOffered {
                    offered: vec!["Negotiate".into()],
                },
            },
            &CLI,
        );
        assert_eq!(f.step, Step::Authentication);
        assert!(f.problem.contains("offers: Negotiate"), "{}", f.problem);
        assert!(f.advice.contains("--auth"), "{}", f.advice);
    }

    #[test]
    fn scheme_not_offered_points_an_admin_at_the_profile_auth_type() {
        let f = transport(
            TransportError::Unauthorized {
                host: "mail.contoso.test".into(),
                scheme: AuthScheme::Basic,
                reason: UnauthorizedReason::SchemeNotOffered { offered: vec![] },
            },
            &API,
        );
        assert!(f.problem.contains("offers: nothing"), "{}", f.problem);
        assert!(f.advice.contains("auth_type"), "{}", f.advice);
    }

    #[test]
    fn missing_ntlm_challenge_points_at_a_proxy() {
        let f = transport(
            TransportError::Unauthorized {
                host: "mail.contoso.test".into(),
                scheme: AuthScheme::Ntlm,
                reason: UnauthorizedReason::NoChallenge,
            },
            &CLI,
        );
        assert_eq!(f.step, Step::Authentication);
        assert!(f.advice.contains("proxy"), "{}", f.advice);
    }

    #[test]
    fn a_rejected_ntlm_session_points_at_load_balancer_persistence() {
        let f = transport(
            TransportError::Unauthorized {
                host: "mail.contoso.test".into(),
                scheme: AuthScheme::Ntlm,
                reason: UnauthorizedReason::SessionRejected,
            },
            &CLI,
        );
        assert_eq!(f.step, Step::Authentication);
        assert!(f.advice.contains("persistence"), "{}", f.advice);
    }

    #[test]
    fn a_broken_ntlm_handshake_is_an_authentication_failure() {
        let f = transport(
            TransportError::Ntlm {
                host: "mail.contoso.test".into(),
                source: "bad challenge".into(),
            },
            &CLI,
        );
        assert_eq!(f.step, Step::Authentication);
    }

    #[test]
    fn impersonate_user_denied_is_an_impersonation_failure_with_the_role_command() {
        let f = diagnose_call(&fault("ErrorImpersonateUserDenied"), &CLI);
        assert_eq!(f.step, Step::Impersonation);
        assert!(
            f.problem.starts_with(
                "the service account lacks ApplicationImpersonation for alice@contoso.test"
            ),
            "{}",
            f.problem
        );
        assert!(
            f.advice.starts_with(
                "New-ManagementRoleAssignment -Name exsync-impersonation -Role ApplicationImpersonation -User svc-exsync"
            ),
            "{}",
            f.advice
        );
        assert_eq!(
            f.response_code.as_deref(),
            Some("ErrorImpersonateUserDenied")
        );
        assert_eq!(f.alert_code(), "ErrorImpersonateUserDenied");
    }

    #[test]
    fn a_upn_service_account_is_named_as_given_in_the_role_command() {
        let ctx = Context {
            user: "svc-exsync@contoso.test",
            ..CLI
        };
        let f = diagnose_call(&fault("ErrorImpersonateUserDenied"), &ctx);
        assert!(
            f.advice.contains("-User svc-exsync@contoso.test "),
            "{}",
            f.advice
        );
    }

    #[test]
    fn invalid_impersonation_header_data_is_an_impersonation_failure() {
        let f = diagnose_call(&fault("ErrorInvalidExchangeImpersonationHeaderData"), &CLI);
        assert_eq!(f.step, Step::Impersonation);
    }

    #[test]
    fn non_existent_mailbox_is_a_mailbox_failure() {
        let f = diagnose_call(&fault("ErrorNonExistentMailbox"), &CLI);
        assert_eq!(f.step, Step::Mailbox);
        assert!(f.problem.contains("alice@contoso.test"), "{}", f.problem);
    }

    #[test]
    fn non_primary_smtp_address_is_a_mailbox_failure() {
        let f = diagnose_call(&message("ErrorNonPrimarySmtpAddress", None, None), &CLI);
        assert_eq!(f.step, Step::Mailbox);
        assert!(f.advice.contains("primary SMTP"), "{}", f.advice);
    }

    #[test]
    fn access_denied_on_the_mailbox_points_at_the_impersonation_scope() {
        let f = diagnose_call(&message("ErrorAccessDenied", None, None), &CLI);
        assert_eq!(f.step, Step::Mailbox);
        assert!(f.advice.contains("scope"), "{}", f.advice);
    }

    #[test]
    fn disabled_account_is_a_mailbox_failure() {
        let f = diagnose_call(&fault("ErrorAccountDisabled"), &CLI);
        assert_eq!(f.step, Step::Mailbox);
    }

    #[test]
    fn expired_service_account_password_is_an_authentication_failure() {
        let f = diagnose_call(&fault("ErrorPasswordExpired"), &CLI);
        assert_eq!(f.step, Step::Authentication);
    }

    #[test]
    fn invalid_sync_state_asks_the_cli_user_to_start_over() {
        let f = diagnose_call(&message("ErrorInvalidSyncStateData", None, None), &CLI);
        assert_eq!(f.step, Step::Mailbox);
        assert!(f.advice.contains("--sync-state"), "{}", f.advice);
    }

    #[test]
    fn invalid_sync_state_tells_an_admin_exsync_resyncs_by_itself() {
        let f = diagnose_call(&message("ErrorInvalidSyncStateData", None, None), &API);
        assert!(!f.advice.contains("--"), "{}", f.advice);
    }

    #[test]
    fn server_busy_is_transient_and_keeps_the_back_off() {
        let f = diagnose_call(&message("ErrorServerBusy", Some(1500), None), &CLI);
        assert!(f.transient);
        assert_eq!(f.retry_after_ms, Some(1500));
        assert_eq!(f.response_code.as_deref(), Some("ErrorServerBusy"));
    }

    #[test]
    fn an_inner_impersonation_code_decides_over_an_internal_error() {
        let f = diagnose_call(
            &message(
                "ErrorInternalServerError",
                None,
                Some("ErrorImpersonateUserDenied"),
            ),
            &CLI,
        );
        assert_eq!(f.step, Step::Impersonation);
        assert_eq!(f.response_code.as_deref(), Some("ErrorInternalServerError"));
    }

    #[test]
    fn a_request_error_suggests_an_old_server() {
        let f = diagnose_call(&fault("ErrorInvalidServerVersion"), &CLI);
        assert_eq!(f.step, Step::Mailbox);
        assert!(f.advice.contains("2010 SP2"), "{}", f.advice);
    }

    #[test]
    fn untrusted_certificate_asks_the_cli_user_for_the_ca_file() {
        let f = transport(untrusted(), &CLI);
        assert_eq!(f.step, Step::Tls);
        assert!(
            f.problem
                .starts_with("the server's certificate is not trusted"),
            "{}",
            f.problem
        );
        assert!(f.advice.starts_with("pass --ca-file"), "{}", f.advice);
        assert_eq!(f.alert_code(), "TLSFailed");
    }

    #[test]
    fn untrusted_certificate_asks_an_admin_for_the_profile_ca_bundle() {
        let f = transport(untrusted(), &API);
        assert_eq!(f.step, Step::Tls);
        assert!(f.advice.contains("ca_bundle_pem"), "{}", f.advice);
        assert!(!f.advice.contains("--"), "{}", f.advice);
    }

    #[test]
    fn certificate_for_another_host_is_a_tls_failure() {
        let f = transport(
            TransportError::Tls {
                host: "mail.contoso.test".into(),
                failure: TlsFailure::BadCertificate,
                source: io(std::io::ErrorKind::InvalidData),
            },
            &CLI,
        );
        assert_eq!(f.step, Step::Tls);
        assert!(f.problem.contains("host name"), "{}", f.problem);
    }

    #[test]
    fn a_broken_tls_handshake_is_a_tls_failure() {
        let f = transport(
            TransportError::Tls {
                host: "mail.contoso.test".into(),
                failure: TlsFailure::Handshake,
                source: io(std::io::ErrorKind::InvalidData),
            },
            &CLI,
        );
        assert_eq!(f.step, Step::Tls);
        assert!(f.advice.contains("TLS 1.2"), "{}", f.advice);
    }

    #[test]
    fn refused_connection_says_which_host_and_port_cannot_be_reached() {
        let f = transport(
            TransportError::Connect {
                host: "mail.contoso.test".into(),
                addr: SocketAddr::from(([127, 0, 0, 1], 8443)),
                source: io(std::io::ErrorKind::ConnectionRefused),
            },
            &CLI,
        );
        assert_eq!(f.step, Step::Connection);
        assert!(
            f.problem.starts_with("cannot reach mail.contoso.test:8443"),
            "{}",
            f.problem
        );
    }

    #[test]
    fn unresolvable_host_is_a_connection_failure() {
        let f = transport(
            TransportError::Dns {
                host: "mail.contoso.test".into(),
                source: io(std::io::ErrorKind::NotFound),
            },
            &CLI,
        );
        assert_eq!(f.step, Step::Connection);
        assert_eq!(f.problem, "cannot resolve mail.contoso.test");
        assert!(f.advice.contains("--resolve"), "{}", f.advice);
    }

    #[test]
    fn timeout_is_a_transient_connection_failure() {
        let f = transport(
            TransportError::Timeout {
                timeout: Duration::from_secs(30),
            },
            &CLI,
        );
        assert_eq!(f.step, Step::Connection);
        assert!(f.transient);
        assert!(f.advice.contains("--timeout"), "{}", f.advice);
    }

    #[test]
    fn timeout_points_an_admin_at_the_profile_connection_timeout() {
        let f = transport(
            TransportError::Timeout {
                timeout: Duration::from_secs(30),
            },
            &API,
        );
        assert!(
            f.advice.contains("connection_timeout_seconds"),
            "{}",
            f.advice
        );
    }

    #[test]
    fn plain_http_url_is_refused_at_the_connection_step() {
        let f = transport(
            TransportError::InsecureUrl {
                url: "http://mail.contoso.test/EWS/Exchange.asmx".into(),
            },
            &CLI,
        );
        assert_eq!(f.step, Step::Connection);
        assert!(f.advice.contains("https://"), "{}", f.advice);
    }

    #[test]
    fn not_found_status_asks_to_check_the_ews_url() {
        let f = transport(
            TransportError::HttpStatus {
                host: "mail.contoso.test".into(),
                status: 404,
                retry_after: None,
                location: None,
            },
            &CLI,
        );
        assert_eq!(f.step, Step::Authentication);
        assert!(f.advice.contains("/EWS/Exchange.asmx"), "{}", f.advice);
    }

    #[test]
    fn forbidden_status_points_at_ews_being_disabled_for_the_account() {
        let f = transport(
            TransportError::HttpStatus {
                host: "mail.contoso.test".into(),
                status: 403,
                retry_after: None,
                location: None,
            },
            &CLI,
        );
        assert_eq!(f.step, Step::Authentication);
        assert!(f.advice.contains("EwsEnabled"), "{}", f.advice);
    }

    #[test]
    fn redirect_to_a_login_page_names_the_target() {
        let f = transport(
            TransportError::HttpStatus {
                host: "mail.contoso.test".into(),
                status: 302,
                retry_after: None,
                location: Some("https://mail.contoso.test/owa/auth/logon.aspx".into()),
            },
            &CLI,
        );
        assert!(f.problem.contains("/owa/auth/logon.aspx"), "{}", f.problem);
        assert!(!f.transient);
    }

    #[test]
    fn service_unavailable_is_transient_with_retry_after() {
        let f = transport(
            TransportError::HttpStatus {
                host: "mail.contoso.test".into(),
                status: 503,
                retry_after: Some(Duration::from_secs(30)),
                location: None,
            },
            &CLI,
        );
        assert!(f.transient);
        assert_eq!(f.retry_after_ms, Some(30_000));
    }

    #[test]
    fn an_html_page_instead_of_soap_is_not_ews_answering() {
        let f = diagnose_call(
            &EwsError::NotSoapEnvelope {
                root_ns: String::new(),
                root_name: "html".into(),
            },
            &CLI,
        );
        assert_eq!(f.step, Step::Authentication);
        assert!(f.problem.contains("{}html"), "{}", f.problem);
    }

    #[test]
    fn discovery_with_every_endpoint_refusing_the_password_names_autodiscover() {
        let f = diagnose_discovery(
            &DiscoveryError::CredentialsRejected { attempts: 2 },
            &[attempt(Outcome::Unauthorized)],
            &CLI,
        );
        assert_eq!(f.step, Step::Autodiscover);
        assert!(f.problem.contains("HTTP 401"), "{}", f.problem);
        assert!(f.advice.contains("Autodiscover virtual directory"));
        assert_eq!(f.alert_code(), "AutodiscoverFailed");
    }

    #[test]
    fn discovery_that_met_an_untrusted_certificate_asks_for_the_ca() {
        let f = diagnose_discovery(
            &DiscoveryError::NotFound,
            &[
                attempt(Outcome::Unreachable {
                    error: "refused".into(),
                }),
                attempt(Outcome::TlsFailed {
                    failure: TlsFailure::UnknownIssuer,
                    error: "unknown issuer".into(),
                }),
            ],
            &CLI,
        );
        assert_eq!(f.step, Step::Autodiscover);
        assert!(f.advice.starts_with("pass --ca-file"), "{}", f.advice);
    }

    #[test]
    fn discovery_that_reached_nothing_asks_to_publish_autodiscover() {
        let f = diagnose_discovery(
            &DiscoveryError::NotFound,
            &[
                attempt(Outcome::Unreachable {
                    error: "refused".into(),
                }),
                attempt(Outcome::NoSrvRecords),
            ],
            &CLI,
        );
        assert_eq!(
            f.problem,
            "no Autodiscover endpoint for contoso.test could be reached"
        );
        assert!(
            f.advice
                .contains("https://autodiscover.contoso.test/autodiscover/autodiscover.xml")
        );
    }

    #[test]
    fn discovery_that_reached_nothing_offers_an_admin_the_explicit_ews_url() {
        let f = diagnose_discovery(
            &DiscoveryError::NotFound,
            &[attempt(Outcome::Unreachable {
                error: "refused".into(),
            })],
            &API,
        );
        assert!(f.advice.contains("incoming_ews_url"), "{}", f.advice);
    }

    #[test]
    fn discovery_error_answer_is_quoted() {
        let f = diagnose_discovery(
            &DiscoveryError::NotFound,
            &[attempt(Outcome::AutodiscoverError {
                code: "500".into(),
                message: Some("The e-mail address cannot be found.".into()),
            })],
            &CLI,
        );
        assert!(
            f.problem
                .contains("error 500: The e-mail address cannot be found."),
            "{}",
            f.problem
        );
    }

    #[test]
    fn discovery_past_its_deadline_is_transient() {
        let f = diagnose_discovery(&DiscoveryError::DeadlineExceeded, &[], &CLI);
        assert_eq!(f.step, Step::Autodiscover);
        assert!(f.transient);
    }

    #[test]
    fn discovery_redirect_loop_suggests_the_ews_url() {
        let f = diagnose_discovery(&DiscoveryError::TooManyRedirects { limit: 10 }, &[], &CLI);
        assert!(f.advice.contains("--ews-url"), "{}", f.advice);
    }

    #[test]
    fn every_step_has_its_own_exit_code() {
        let mut codes: Vec<u8> = Step::ALL.iter().map(|s| s.exit_code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Step::ALL.len());
        assert!(
            codes.iter().all(|&c| c > 2),
            "0-2 are success, error, usage"
        );
    }

    #[test]
    fn profile_advice_never_names_a_cli_flag() {
        let errors = [
            EwsError::Transport(untrusted()),
            EwsError::Transport(TransportError::DeadlineExceeded),
            EwsError::Transport(TransportError::ResponseTooLarge { limit: 10 }),
            EwsError::Transport(TransportError::InvalidConfig {
                reason: "ca bundle".into(),
            }),
            EwsError::Transport(TransportError::HttpStatus {
                host: "mail.contoso.test".into(),
                status: 404,
                retry_after: None,
                location: None,
            }),
            message("ErrorInvalidSyncStateData", None, None),
        ];
        for e in &errors {
            let f = diagnose_call(e, &API);
            assert!(!f.advice.contains("--"), "{e}: {}", f.advice);
            assert!(!f.problem.contains("--"), "{e}: {}", f.problem);
        }
        for e in [
            DiscoveryError::TooManyRedirects { limit: 10 },
            DiscoveryError::DeadlineExceeded,
            DiscoveryError::NotFound,
        ] {
            let f = diagnose_discovery(&e, &[], &API);
            assert!(!f.advice.contains("--"), "{e}: {}", f.advice);
            assert!(!f.problem.contains("--"), "{e}: {}", f.problem);
        }
    }
}
