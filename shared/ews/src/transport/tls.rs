//! The one rustls client configuration every exsync connection uses.

use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::TransportError;

/// Builds the TLS client configuration: the system's native roots plus the certificates in
/// `ca_pem` (an on-premises CA bundle, possibly several PEM certificates), aws-lc-rs as the
/// crypto provider, and ALPN `http/1.1` only.
///
/// HTTP/2 is never offered: IIS cannot do Windows authentication (NTLM) over h2, and
/// Exchange 2016 on Windows Server 2016 would pick h2 if we offered it.
pub fn client_config(ca_pem: Option<&[u8]>) -> Result<Arc<rustls::ClientConfig>, TransportError> {
    let mut roots = RootCertStore::empty();

    // A broken system store must not make a profile with its own CA unusable, so individual
    // failures are only counted.
    let native = rustls_native_certs::load_native_certs();
    let (added, ignored) = roots.add_parsable_certificates(native.certs);
    tracing::debug!(
        native_roots = added,
        native_ignored = ignored,
        native_errors = native.errors.len(),
        "loaded system trust roots"
    );

    if let Some(pem) = ca_pem {
        let certs = parse_ca_bundle(pem)?;
        for cert in certs {
            roots.add(cert).map_err(|e| TransportError::InvalidConfig {
                reason: format!("CA bundle: unusable certificate ({e})"),
            })?;
        }
    }

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TransportError::InvalidConfig {
            reason: format!("TLS provider: {e}"),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Reads every `CERTIFICATE` block of a PEM bundle; anything else in the file (keys,
/// comments) is skipped, and a bundle without a certificate is an error rather than a
/// silent "trust nothing extra".
fn parse_ca_bundle(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TransportError::InvalidConfig {
            reason: format!("CA bundle is not valid PEM ({e})"),
        })?;
    if certs.is_empty() {
        return Err(TransportError::InvalidConfig {
            reason: "CA bundle holds no certificate".into(),
        });
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpn_offers_http1_only() {
        let config = client_config(None).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn a_bundle_without_certificates_is_a_configuration_error() {
        let err = client_config(Some(b"not a certificate")).unwrap_err();
        assert!(
            matches!(err, TransportError::InvalidConfig { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn a_bundle_with_several_certificates_is_accepted() {
        let mut bundle = String::new();
        for name in ["Contoso Root CA", "Contoso Issuing CA"] {
            let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, name);
            let key = rcgen::KeyPair::generate().unwrap();
            bundle.push_str(&params.self_signed(&key).unwrap().pem());
        }
        assert_eq!(parse_ca_bundle(bundle.as_bytes()).unwrap().len(), 2);
        assert!(client_config(Some(bundle.as_bytes())).is_ok());
    }
}
