//! The options `probe` and `sync` share: which mailbox, which service account, how to reach
//! and trust the server. Turning them into a transport configuration is the only place the
//! password is read, from the environment variable the admin names.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use exsync_ews::transport::{AuthScheme, ConnectOverrides, Credentials, Secret, TransportConfig};

use exsync_domain::diagnosis::{Audience, Context};

/// `--auth`: how the service account authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthArg {
    /// NTLMv2 on each connection (what on-premises Exchange enables by default).
    Ntlm,
    /// Basic, a header on every request (only ever over HTTPS).
    Basic,
}

impl From<AuthArg> for AuthScheme {
    fn from(a: AuthArg) -> Self {
        match a {
            AuthArg::Ntlm => AuthScheme::Ntlm,
            AuthArg::Basic => AuthScheme::Basic,
        }
    }
}

/// The mailbox, the service account and how to reach the server.
#[derive(Debug, Clone, Args)]
pub struct ServiceAccountArgs {
    /// The mailbox to act as (its primary SMTP address); exsync impersonates it.
    #[arg(long, value_name = "ADDR")]
    pub email: String,
    /// The service account: DOMAIN\user or user@domain.
    #[arg(long, value_name = "USER")]
    pub user: String,
    /// The environment variable holding the service account's password (never a flag, so it
    /// stays out of shell history and process listings).
    #[arg(long, value_name = "VAR")]
    pub password_env: String,
    /// Authentication scheme.
    #[arg(long, value_enum)]
    pub auth: AuthArg,
    /// Extra CA certificate(s) to trust, PEM (an on-premises CA).
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Connect to ADDR for HOST:PORT instead of asking DNS, like curl's --resolve; ADDR may
    /// carry its own port (HOST:PORT:IP:PORT). Repeatable.
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,
    /// Longest time each request, and the whole Autodiscover run, may take, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
}

impl ServiceAccountArgs {
    /// The transport configuration these options describe.
    ///
    /// Fails (a usage error) when the password variable is unset or empty, the CA file
    /// cannot be read, or a `--resolve` entry is malformed.
    pub fn transport_config(&self) -> anyhow::Result<TransportConfig> {
        let password = match std::env::var(&self.password_env) {
            Ok(p) if !p.is_empty() => p,
            Ok(_) => bail!(
                "the environment variable {} (--password-env) is empty",
                self.password_env
            ),
            Err(std::env::VarError::NotPresent) => bail!(
                "the environment variable {} (--password-env) is not set; it must hold the service account's password",
                self.password_env
            ),
            Err(std::env::VarError::NotUnicode(_)) => bail!(
                "the environment variable {} (--password-env) is not valid UTF-8",
                self.password_env
            ),
        };
        let mut config = TransportConfig::new(Credentials {
            scheme: self.auth.into(),
            user: self.user.clone(),
            password: Secret::new(password),
        });
        if let Some(path) = &self.ca_file {
            let pem = std::fs::read(path)
                .with_context(|| format!("cannot read --ca-file {}", path.display()))?;
            config.ca_pem = Some(pem);
        }
        let mut overrides = ConnectOverrides::new();
        for spec in &self.resolve {
            overrides
                .insert_spec(spec)
                .with_context(|| format!("--resolve {spec}"))?;
        }
        config.connect_overrides = overrides;
        config.request_timeout = self.timeout();
        Ok(config)
    }

    /// `--timeout` as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout)
    }

    /// When the current step must be done by.
    pub fn deadline(&self) -> Instant {
        Instant::now() + self.timeout()
    }

    /// What the diagnosis names in its sentences.
    pub fn context(&self) -> Context<'_> {
        Context {
            user: &self.user,
            scheme: self.auth.into(),
            mailbox: &self.email,
            audience: Audience::Cli,
        }
    }
}

/// `host:port` of a URL, for "reached …" lines.
pub fn host_port(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    let port = parsed.port_or_known_default()?;
    Some(format!("{host}:{port}"))
}

/// The host of a URL.
pub fn host(url: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
}
