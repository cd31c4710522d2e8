//! [`EwsClient`]: the one choke point every EWS operation goes through.
//!
//! It builds the SOAP envelope (with `ExchangeImpersonation` when a mailbox is named), adds
//! the headers Exchange routes on, sends through the [`HttpTransport`] (Basic or NTLM,
//! bounded pool, timeout, deadline, size cap), maps the HTTP status, parses the answer and
//! remembers the server's version. It never sleeps on throttling: a throttled call comes
//! back as an error whose [`ErrorClass`](crate::ErrorClass) carries the back-off, and the
//! caller postpones that mailbox instead of holding a Lambda idle. The only retries are the
//! transport's (a pooled connection found closed before the request was written, and one
//! NTLM re-authentication).

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, HeaderName};
use tracing::Instrument as _;

use crate::envelope::{self, Response, ServerVersionInfo};
use crate::error::EwsError;
use crate::error::error_chain;
use crate::operation::Operation;
use crate::transport::{
    ConnectOverrides, Credentials, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_REQUEST_TIMEOUT, HttpResponse, HttpTransport, TransportConfig, TransportError,
};
use crate::xml::Limits;

/// Exchange 2013 and later route an impersonated request to the mailbox's server by this
/// header; without it a busy service account's requests go through its own mailbox's
/// server and get slow or throttled (Microsoft, "Managing affinity for EWS impersonation in
/// Exchange 2013 and Exchange Online"). Exchange 2010 ignores it.
const X_ANCHOR_MAILBOX: HeaderName = HeaderName::from_static("x-anchormailbox");

/// Everything an [`EwsClient`] needs.
#[derive(Debug, Clone)]
pub struct EwsClientConfig {
    /// The EWS endpoint, `https://…/EWS/Exchange.asmx`. `http://` is refused.
    pub ews_url: String,
    /// The service account.
    pub credentials: Credentials,
    /// Extra trusted CA certificates (PEM) for on-premises PKI.
    pub ca_pem: Option<Vec<u8>>,
    /// Longest time one call may take once it has a connection (default 100 s).
    pub request_timeout: Duration,
    /// Most connections, and so calls in flight, at once (default 10).
    pub max_connections: usize,
    /// Largest response accepted (default 64 MiB).
    pub max_response_bytes: usize,
    /// Where to connect for particular (host, port) pairs instead of asking DNS.
    pub connect_overrides: ConnectOverrides,
}

impl EwsClientConfig {
    /// A configuration with defaults for everything but the endpoint and credentials.
    pub fn new(ews_url: impl Into<String>, credentials: Credentials) -> Self {
        Self {
            ews_url: ews_url.into(),
            credentials,
            ca_pem: None,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            connect_overrides: ConnectOverrides::new(),
        }
    }
}

/// An EWS client for one endpoint and one service account.
///
/// Cheap to share (`Arc<EwsClient>` or `&EwsClient` from many tasks): calls from all tasks
/// share the connection pool and its cap.
#[derive(Debug)]
pub struct EwsClient {
    url: http::Uri,
    host: String,
    transport: HttpTransport,
    limits: Limits,
    server_version: Mutex<Option<ServerVersionInfo>>,
}

impl EwsClient {
    /// Validates the configuration (HTTPS URL, user name form, CA bundle) and prepares the
    /// transport; opens no connection.
    pub fn new(config: EwsClientConfig) -> Result<Self, EwsError> {
        let transport = HttpTransport::new(TransportConfig {
            credentials: config.credentials,
            ca_pem: config.ca_pem,
            request_timeout: config.request_timeout,
            max_connections: config.max_connections,
            max_response_bytes: config.max_response_bytes,
            connect_overrides: config.connect_overrides,
        })?;
        Self::with_transport(&config.ews_url, transport)
    }

    /// A client on an existing transport (sharing its pool and connection cap with
    /// Autodiscover, for example).
    pub fn with_transport(ews_url: &str, transport: HttpTransport) -> Result<Self, EwsError> {
        let (url, host) = parse_ews_url(ews_url)?;
        Ok(Self {
            url,
            host,
            limits: Limits {
                max_bytes: transport.max_response_bytes(),
                ..Limits::default()
            },
            transport,
            server_version: Mutex::new(None),
        })
    }

    /// The endpoint this client talks to.
    pub fn ews_url(&self) -> String {
        self.url.to_string()
    }

    /// The `ServerVersionInfo` of the last response that carried one.
    pub fn server_version(&self) -> Option<ServerVersionInfo> {
        self.server_version
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Calls `op`, impersonating `mailbox` when given, and returns its parsed response.
    ///
    /// `deadline` bounds everything, including the wait for a free connection: a Lambda
    /// passes its own end of life minus a margin. Throttling comes back as an error (see
    /// [`EwsError::class`]); nothing here sleeps or retries it.
    pub async fn call<Op: Operation>(
        &self,
        mailbox: Option<&str>,
        op: &Op,
        deadline: Instant,
    ) -> Result<Response<Op::Response>, EwsError> {
        let span = tracing::info_span!(
            "ews_call",
            operation = Op::NAME,
            mailbox = mailbox.unwrap_or(""),
            http_status = tracing::field::Empty,
            response_code = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        let started = Instant::now();
        let result = self
            .call_inner(mailbox, op, deadline)
            .instrument(span.clone())
            .await;
        let (status, result) = match result {
            Ok((status, parsed)) => (Some(status), parsed),
            Err(error) => (None, Err(error)),
        };
        if let Some(status) = status {
            span.record("http_status", status);
        }
        span.record("duration_ms", started.elapsed().as_millis() as u64);
        let _entered = span.enter();
        match &result {
            Ok(_) => tracing::info!("EWS call succeeded"),
            Err(error) => {
                if let Some(code) = error.response_code() {
                    span.record("response_code", code.as_str());
                }
                // The whole chain: "EWS transport failed" alone says nothing to an operator.
                // No link of it carries credentials or bodies.
                let error_chain = error_chain(error);
                tracing::warn!(class = ?error.class(), error = %error_chain, "EWS call failed");
            }
        }
        result
    }

    /// Sends the request; the outer `Result` is "no HTTP answer", the inner one is what the
    /// answer means.
    async fn call_inner<Op: Operation>(
        &self,
        mailbox: Option<&str>,
        op: &Op,
        deadline: Instant,
    ) -> Result<(u16, Result<Response<Op::Response>, EwsError>), EwsError> {
        let mut request = http::Request::post(self.url.clone())
            .header(CONTENT_TYPE, "text/xml; charset=utf-8")
            .header(ACCEPT, "text/xml");
        if let Some(mailbox) = mailbox {
            request = request.header(X_ANCHOR_MAILBOX, header_value(mailbox)?);
        }
        let body = envelope::write_request(op, mailbox);
        if Op::READ_ONLY {
            request = request.extension(crate::transport::Replayable);
        }
        let request =
            request
                .body(Bytes::from(body))
                .map_err(|_| TransportError::InvalidRequest {
                    reason: "request could not be built",
                })?;
        let response = self.transport.send(request, deadline).await?;
        let status = response.status.as_u16();
        Ok((status, self.interpret(op, response)))
    }

    /// Maps the HTTP answer: 200 and 500 are SOAP (a fault classifies itself); every other
    /// status is a [`TransportError::HttpStatus`].
    fn interpret<Op: Operation>(
        &self,
        op: &Op,
        response: HttpResponse,
    ) -> Result<Response<Op::Response>, EwsError> {
        let status = response.status.as_u16();
        let parsed = match status {
            200 => envelope::read_response_for(op, &response.body, self.limits),
            500 => match envelope::read_response_for(op, &response.body, self.limits) {
                // A 500 that is not a SOAP fault ("Server Error in '/EWS' Application", a
                // proxy's page) says more as its status than as a parse error.
                Err(EwsError::Fault(fault)) => Err(EwsError::Fault(fault)),
                Err(_) => Err(self.status_error(&response)),
                ok => ok,
            },
            _ => Err(self.status_error(&response)),
        };
        if let Ok(Response {
            server_version: Some(version),
            ..
        }) = &parsed
        {
            *self
                .server_version
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(version.clone());
        }
        parsed
    }

    fn status_error(&self, response: &HttpResponse) -> EwsError {
        TransportError::HttpStatus {
            host: self.host.clone(),
            status: response.status.as_u16(),
            retry_after: response.retry_after(),
            location: response.location().map(str::to_owned),
        }
        .into()
    }
}

/// Checks that the EWS URL is absolute HTTPS with a host.
fn parse_ews_url(ews_url: &str) -> Result<(http::Uri, String), TransportError> {
    let invalid = |reason| TransportError::InvalidUrl {
        url: ews_url.to_owned(),
        reason,
    };
    let parsed = url::Url::parse(ews_url.trim()).map_err(|_| invalid("not a URL"))?;
    match parsed.scheme() {
        "https" => {}
        "http" => {
            return Err(TransportError::InsecureUrl {
                url: ews_url.to_owned(),
            });
        }
        _ => return Err(invalid("not an https URL")),
    }
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| invalid("no host"))?
        .to_owned();
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid("credentials in URLs are not supported"));
    }
    let uri = parsed
        .as_str()
        .parse::<http::Uri>()
        .map_err(|_| invalid("not a valid request URI"))?;
    Ok((uri, host))
}

/// A mailbox address as a header value; refuses anything that could split the header.
fn header_value(text: &str) -> Result<http::HeaderValue, TransportError> {
    http::HeaderValue::from_str(text).map_err(|_| TransportError::InvalidRequest {
        reason: "mailbox cannot be sent in an HTTP header",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_ews_url_is_refused() {
        assert!(matches!(
            parse_ews_url("http://mail.contoso.com/EWS/Exchange.asmx"),
            Err(TransportError::InsecureUrl { .. })
        ));
    }

    #[test]
    fn ews_url_needs_https_and_a_host() {
        for bad in [
            "",
            "mail.contoso.com/EWS",
            "ftp://mail.contoso.com/",
            "https://u:p@mail.contoso.com/EWS",
        ] {
            assert!(
                matches!(parse_ews_url(bad), Err(TransportError::InvalidUrl { .. })),
                "{bad}"
            );
        }
        let (uri, host) = parse_ews_url("https://Mail.Contoso.com/EWS/Exchange.asmx").unwrap();
        assert_eq!(host, "mail.contoso.com");
        assert_eq!(uri.path(), "/EWS/Exchange.asmx");
    }

    #[test]
    fn a_mailbox_with_a_line_break_cannot_become_a_header() {
        let err = header_value("mara@contoso.com\r\nX-Evil: 1").unwrap_err();
        assert_eq!(err.class(), crate::ErrorClass::Request);
    }
}
