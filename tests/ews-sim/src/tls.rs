//! The simulator's certificates: a CA and a server certificate generated at every start, so
//! nothing secret is ever committed and clients are exercised with a private CA exactly as
//! they will be against an on-premises Exchange with an internal PKI.

use rustls::ServerConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::Arc;

/// Why the certificates or the TLS configuration could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// rcgen refused a name or failed to sign.
    #[error("cannot generate the simulator's certificates")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the generated key or certificate.
    #[error("cannot build the TLS server configuration")]
    Config(#[from] rustls::Error),
}

/// A freshly generated CA and the server certificate it signed.
pub struct TlsMaterial {
    /// The CA certificate, PEM (what clients must trust).
    pub ca_pem: String,
    /// The server certificate, DER.
    pub server_cert: CertificateDer<'static>,
    /// The server's private key, PKCS#8 DER. Never written to disk.
    server_key: PrivatePkcs8KeyDer<'static>,
    /// The names the server certificate is valid for.
    pub names: Vec<String>,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

/// The subject alternative names of the server certificate: loopback names, every mail
/// domain with its `autodiscover.` and `mail.` hosts (the names Autodiscover clients try),
/// the public host name and any extra names, without duplicates.
pub fn server_names(domains: &[String], public_host: &str, extra: &[String]) -> Vec<String> {
    let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    for d in domains {
        let d = d.to_ascii_lowercase();
        names.push(format!("autodiscover.{d}"));
        names.push(format!("mail.{d}"));
        names.push(d);
    }
    names.push(public_host.to_ascii_lowercase());
    names.extend(extra.iter().map(|n| n.to_ascii_lowercase()));
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| !n.is_empty() && seen.insert(n.clone()));
    names
}

/// Generates a CA and a server certificate for `names` signed by it.
pub fn generate(names: Vec<String>) -> Result<TlsMaterial, TlsError> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let now = time::OffsetDateTime::now_utc();

    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "exsync ews-sim test CA");
    ca_params
        .distinguished_name
        .push(DnType::OrganizationName, "exsync simulator");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params.not_before = now - time::Duration::days(1);
    ca_params.not_after = now + time::Duration::days(365);
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let mut params = CertificateParams::new(names.clone())?;
    let common_name = names
        .iter()
        .find(|n| n.parse::<std::net::IpAddr>().is_err() && n.as_str() != "localhost")
        .cloned()
        .unwrap_or_else(|| "localhost".into());
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.is_ca = IsCa::NoCa;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    // Strict verifiers (OpenSSL's X509_STRICT, as in Python 3.13) require the AKID.
    params.use_authority_key_identifier_extension = true;
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(365);
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;

    Ok(TlsMaterial {
        ca_pem: ca_cert.pem(),
        server_cert: cert.der().clone(),
        server_key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        names,
    })
}

impl TlsMaterial {
    /// A rustls server configuration serving the generated certificate, offering only
    /// HTTP/1.1 in ALPN: NTLM is connection-bound and IIS refuses it over HTTP/2.
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(
                vec![self.server_cert.clone()],
                PrivateKeyDer::Pkcs8(self.server_key.clone_key()),
            )?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cover_loopback_domains_and_their_autodiscover_hosts() {
        let names = server_names(
            &["Contoso.test".into()],
            "localhost",
            &["ews.example.test".into()],
        );
        for expected in [
            "localhost",
            "127.0.0.1",
            "::1",
            "contoso.test",
            "autodiscover.contoso.test",
            "mail.contoso.test",
            "ews.example.test",
        ] {
            assert!(names.iter().any(|n| n == expected), "{expected} missing");
        }
        assert_eq!(
            names.iter().filter(|n| n.as_str() == "localhost").count(),
            1
        );
    }

    #[test]
    fn generated_material_builds_a_server_config() {
        let material = generate(server_names(&["contoso.test".into()], "localhost", &[])).unwrap();
        assert!(material.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        let config = material.server_config().unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }
}
