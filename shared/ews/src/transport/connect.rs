//! Opening connections: connect overrides, TCP, TLS and the HTTP/1.1 handshake.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::error::{TlsFailure, TransportError};

/// Points connections for a (host, port) at another socket address, like curl's
/// `--resolve host:port:addr`, except that the target port may differ.
///
/// Every connection the transport makes consults this map first: EWS, Autodiscover
/// candidates, redirect targets and the plain-HTTP Autodiscover probe. The TLS server name
/// and the `Host` header stay those of the URL, so certificate checks are unchanged. Tests
/// and the CLI use it to reach the simulator under real-looking host names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectOverrides {
    map: HashMap<(String, u16), SocketAddr>,
}

impl ConnectOverrides {
    /// No overrides: every host name goes through DNS.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends connections for `host:port` to `addr`. Host names match case-insensitively.
    pub fn insert(&mut self, host: &str, port: u16, addr: SocketAddr) -> &mut Self {
        self.map.insert((normalize_host(host), port), addr);
        self
    }

    /// Adds an override written as `host:port:addr`, where `addr` is `ip`, `ip:port` or
    /// `[ipv6]:port`. Without a port in `addr` the URL's port is kept (curl's meaning).
    pub fn insert_spec(&mut self, spec: &str) -> Result<&mut Self, TransportError> {
        let invalid = || TransportError::InvalidConfig {
            reason: format!("connect override {spec:?}: expected host:port:addr[:port]"),
        };
        let mut parts = spec.splitn(3, ':');
        let host = parts.next().filter(|h| !h.is_empty()).ok_or_else(invalid)?;
        let port: u16 = parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(invalid)?;
        let target = parts.next().ok_or_else(invalid)?;
        let addr = match SocketAddr::from_str(target) {
            Ok(addr) => addr,
            Err(_) => {
                let ip = target.trim_start_matches('[').trim_end_matches(']');
                SocketAddr::new(IpAddr::from_str(ip).map_err(|_| invalid())?, port)
            }
        };
        Ok(self.insert(host, port, addr))
    }

    /// The override for `host:port`, if any.
    pub fn get(&self, host: &str, port: u16) -> Option<SocketAddr> {
        self.map.get(&(normalize_host(host), port)).copied()
    }

    /// True when there is no override.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

fn normalize_host(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// The sending half of one HTTP/1.1 connection; the connection itself is driven by a task.
pub(crate) type Sender = http1::SendRequest<Full<Bytes>>;

/// A second handle on a pooled connection's socket, to ask the kernel whether the server
/// has closed it before the connection is reused.
///
/// hyper's `SendRequest::is_closed` and `ready` only know what the connection's task has
/// read, and that task reads only when tokio's reactor has reported the socket readable.
/// When the runtime did not run while the server closed an idle connection (a Lambda
/// frozen between invocations, or simply a call made before the reactor was polled
/// again), both still say "open": a request is written into the dead socket, and a write
/// that cannot be replayed fails although the server never saw it. A non-blocking peek on
/// the socket itself sees the close at once. Unix only (the platforms exsync runs on);
/// elsewhere the check answers "open", as before.
#[derive(Debug)]
pub(crate) struct Liveness {
    #[cfg(unix)]
    socket: Option<std::net::TcpStream>,
}

impl Liveness {
    /// A probe on `tcp`'s socket (a duplicate descriptor; the connection's task keeps the
    /// original). Without one (out of descriptors), the probe always answers "open".
    pub(super) fn of(tcp: &TcpStream) -> Self {
        #[cfg(unix)]
        {
            use std::os::fd::AsFd as _;
            let socket = tcp
                .as_fd()
                .try_clone_to_owned()
                .map(std::net::TcpStream::from)
                // Tokio's socket is already non-blocking and the duplicate shares that flag;
                // setting it again makes sure a peek can never block the runtime.
                .and_then(|socket| socket.set_nonblocking(true).map(|()| socket));
            if let Err(error) = &socket {
                tracing::debug!(%error, "no liveness probe for this connection");
            }
            Self {
                socket: socket.ok(),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tcp;
            Self {}
        }
    }

    /// True when the server has closed the connection, or sent something on it unasked (on
    /// an idle HTTP/1.1 connection that is TLS's close_notify ahead of the FIN; anything
    /// else, a stray TLS record, costs no more than a new connection).
    pub(crate) fn closed_by_server(&self) -> bool {
        #[cfg(unix)]
        {
            let Some(socket) = &self.socket else {
                return false;
            };
            let mut byte = [0u8; 1];
            match socket.peek(&mut byte) {
                // Ok(0) is the server's FIN; Ok(_) bytes waiting on an idle connection.
                Ok(_) => true,
                Err(e) => !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                ),
            }
        }
        #[cfg(not(unix))]
        {
            false
        }
    }
}

/// Opens a TCP connection to `host:port`, honouring the overrides.
pub(crate) async fn connect_tcp(
    host: &str,
    port: u16,
    overrides: &ConnectOverrides,
) -> Result<TcpStream, TransportError> {
    let addrs: Vec<SocketAddr> = match overrides.get(host, port) {
        Some(addr) => vec![addr],
        None => tokio::net::lookup_host((host, port))
            .await
            .map_err(|source| TransportError::Dns {
                host: host.to_owned(),
                source,
            })?
            .collect(),
    };
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                // Without NODELAY the small NTLM legs wait for delayed ACKs (~40 ms each).
                if let Err(e) = stream.set_nodelay(true) {
                    tracing::debug!(error = %e, "could not set TCP_NODELAY");
                }
                return Ok(stream);
            }
            Err(source) => last = Some((addr, source)),
        }
    }
    Err(match last {
        Some((addr, source)) => TransportError::Connect {
            host: host.to_owned(),
            addr,
            source,
        },
        None => TransportError::Dns {
            host: host.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no addresses"),
        },
    })
}

/// Opens an HTTPS connection (TCP, TLS with our config, HTTP/1.1 handshake) and spawns the
/// task that drives it; the [`Liveness`] probe comes with it for the pool.
pub(crate) async fn connect_https(
    host: &str,
    port: u16,
    overrides: &ConnectOverrides,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<(Sender, Liveness), TransportError> {
    let tcp = connect_tcp(host, port, overrides).await?;
    let liveness = Liveness::of(&tcp);
    let server_name =
        ServerName::try_from(host.to_owned()).map_err(|_| TransportError::InvalidUrl {
            url: host.to_owned(),
            reason: "host is not a valid TLS server name",
        })?;
    let stream = TlsConnector::from(Arc::clone(tls))
        .connect(server_name, tcp)
        .await
        .map_err(|source| TransportError::Tls {
            host: host.to_owned(),
            failure: tls_failure(&source),
            source,
        })?;
    if let Some(alpn) = stream.get_ref().1.alpn_protocol()
        && alpn != b"http/1.1"
    {
        return Err(TransportError::Protocol {
            host: host.to_owned(),
            source: "server selected an ALPN protocol other than http/1.1".into(),
        });
    }
    let sender = handshake(host, TokioIo::new(stream)).await?;
    Ok((sender, liveness))
}

/// Opens a plain-HTTP connection. Used only by the unauthenticated Autodiscover redirect
/// probe, which never carries credentials.
pub(crate) async fn connect_plain_http(
    host: &str,
    port: u16,
    overrides: &ConnectOverrides,
) -> Result<Sender, TransportError> {
    let tcp = connect_tcp(host, port, overrides).await?;
    handshake(host, TokioIo::new(tcp)).await
}

async fn handshake<T>(host: &str, io: T) -> Result<Sender, TransportError>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, connection) =
        http1::handshake(io)
            .await
            .map_err(|e| TransportError::ConnectionLost {
                host: host.to_owned(),
                source: Box::new(e),
            })?;
    let host = host.to_owned();
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%host, %error, "connection closed with an error");
        }
    });
    Ok(sender)
}

/// Names a TLS failure from rustls' error inside tokio-rustls' `io::Error`.
fn tls_failure(error: &std::io::Error) -> TlsFailure {
    use rustls::{CertificateError, Error};
    match error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<Error>())
    {
        Some(Error::InvalidCertificate(CertificateError::UnknownIssuer)) => {
            TlsFailure::UnknownIssuer
        }
        Some(Error::InvalidCertificate(_)) => TlsFailure::BadCertificate,
        _ => TlsFailure::Handshake,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn liveness_sees_the_servers_close_without_the_reactor() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().unwrap();
        let liveness = Liveness::of(&client);
        assert!(!liveness.closed_by_server(), "an open, quiet connection");

        drop(server);

        // Nothing reads `client` meanwhile: the probe asks the socket, not the reactor.
        let give_up = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !liveness.closed_by_server() {
            assert!(std::time::Instant::now() < give_up, "the FIN never showed");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    #[tokio::test]
    async fn liveness_treats_unasked_bytes_on_an_idle_connection_as_a_close() {
        use std::io::Write as _;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let liveness = Liveness::of(&client);

        server.write_all(b"\x15").unwrap();

        let give_up = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !liveness.closed_by_server() {
            assert!(std::time::Instant::now() < give_up, "the byte never showed");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let mut byte = [0u8; 1];
        let read = tokio::io::AsyncReadExt::read(&mut client, &mut byte).await;
        assert_eq!(read.unwrap(), 1, "the probe only peeked");
    }

    #[test]
    fn override_spec_with_a_different_port() {
        let mut o = ConnectOverrides::new();
        o.insert_spec("Mail.Contoso.com:443:127.0.0.1:8443")
            .unwrap();
        assert_eq!(
            o.get("mail.contoso.com", 443),
            Some(SocketAddr::from(([127, 0, 0, 1], 8443)))
        );
        assert_eq!(o.get("mail.contoso.com", 80), None);
    }

    #[test]
    fn override_spec_without_port_keeps_the_url_port() {
        let mut o = ConnectOverrides::new();
        o.insert_spec("autodiscover.contoso.com:80:10.0.0.7")
            .unwrap();
        o.insert_spec("ipv6.contoso.com:443:[::1]:9443").unwrap();
        assert_eq!(
            o.get("autodiscover.contoso.com", 80),
            Some(SocketAddr::from(([10, 0, 0, 7], 80)))
        );
        assert_eq!(
            o.get("ipv6.contoso.com", 443),
            Some("[::1]:9443".parse().unwrap())
        );
    }

    #[test]
    fn malformed_override_spec_is_a_configuration_error() {
        for spec in [
            "",
            "host",
            "host:443",
            "host:x:127.0.0.1",
            "host:443:not-an-ip",
        ] {
            assert!(
                matches!(
                    ConnectOverrides::new().insert_spec(spec),
                    Err(TransportError::InvalidConfig { .. })
                ),
                "{spec}"
            );
        }
    }
}
