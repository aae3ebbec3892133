//! TLS to a real service (rustls, with ring). Trust comes from the system's store (which
//! honours `SSL_CERT_FILE` and `SSL_CERT_DIR`) plus `[target.tls] ca`; `cert` and `key` give a
//! client certificate for mutual TLS; `server_name` is what is verified and sent as SNI when the
//! URL's host is not it; `insecure` skips verification. ALPN asks for `h2` or `http/1.1`.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::TargetError;
use crate::scenario::model::Tls;
use crate::targets::ErrorKind;

/// What a TLS connection needs, built once before the run.
#[derive(Clone)]
pub struct Setup {
    pub connector: tokio_rustls::TlsConnector,
    pub server_name: ServerName<'static>,
    /// Verification is off (`insecure = true`).
    pub insecure: bool,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_error(what: &str, path: &Path, e: impl std::fmt::Display) -> TargetError {
    TargetError::Tls(format!(
        "[target.tls] {what}: cannot read {}: {e}",
        path.display()
    ))
}

/// Builds the TLS setup for `host` from `[target.tls]` (paths already expanded, relative to
/// `base_dir`), asking for HTTP/2 by ALPN when `http2`.
pub fn setup(tls: &Tls, host: &str, base_dir: &Path, http2: bool) -> Result<Setup, TargetError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TargetError::Tls(format!("TLS: {e}")))?;
    let builder = if tls.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider())))
    } else {
        let mut roots = RootCertStore::empty();
        // The system's store; certificates it cannot parse are skipped, as browsers do.
        let native = rustls_native_certs::load_native_certs();
        let (added, _) = roots.add_parsable_certificates(native.certs);
        if let Some(ca) = &tls.ca {
            let path = base_dir.join(ca);
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&path)
                .map_err(|e| read_error("ca", &path, e))?
                .collect::<Result<_, _>>()
                .map_err(|e| read_error("ca", &path, e))?;
            if certs.is_empty() {
                return Err(TargetError::Tls(format!(
                    "[target.tls] ca: {} holds no PEM certificate",
                    path.display()
                )));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| {
                    TargetError::Tls(format!(
                        "[target.tls] ca: {} holds a certificate rustls cannot use: {e}",
                        path.display()
                    ))
                })?;
            }
        } else if added == 0 {
            return Err(TargetError::Tls(
                "TLS: no trusted certificates: the system store is empty (install ca-certificates, set SSL_CERT_FILE, or give [target.tls] ca)".into(),
            ));
        }
        builder.with_root_certificates(roots)
    };
    let mut config = match (&tls.cert, &tls.key) {
        (Some(cert), Some(key)) => {
            let cert_path = base_dir.join(cert);
            let key_path = base_dir.join(key);
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
                .map_err(|e| read_error("cert", &cert_path, e))?
                .collect::<Result<_, _>>()
                .map_err(|e| read_error("cert", &cert_path, e))?;
            let key = PrivateKeyDer::from_pem_file(&key_path)
                .map_err(|e| read_error("key", &key_path, e))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| TargetError::Tls(format!("[target.tls] cert and key: {e}")))?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err(TargetError::Tls(
                "[target.tls] cert and key go together".into(),
            ));
        }
    };
    config.alpn_protocols = vec![if http2 {
        b"h2".to_vec()
    } else {
        b"http/1.1".to_vec()
    }];
    let name = tls.server_name.as_deref().unwrap_or(host);
    let server_name = ServerName::try_from(name.trim_matches(['[', ']']).to_string())
        .map_err(|_| TargetError::Tls(format!("TLS: \"{name}\" is not a valid server name")))?;
    Ok(Setup {
        connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
        server_name,
        insecure: tls.insecure,
    })
}

/// The kind of a failed TLS handshake, and what to say about it.
pub fn classify(e: &std::io::Error) -> (ErrorKind, String) {
    let inner = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match inner {
        Some(rustls::Error::InvalidCertificate(why)) => (
            ErrorKind::TlsCertificate,
            format!(
                "the service's certificate was refused ({why}); give its CA as [target.tls] ca, or its name as server_name"
            ),
        ),
        Some(other) => (
            ErrorKind::TlsHandshake,
            format!("the TLS handshake failed: {other}"),
        ),
        None => (
            ErrorKind::TlsHandshake,
            format!("the TLS handshake failed: {e}"),
        ),
    }
}

/// `insecure = true`: any certificate is taken; signatures are still checked, so the
/// connection is encrypted to whoever answered.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
