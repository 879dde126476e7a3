//! A certificate made for one test run (feature `tls`): servers present it,
//! clients trust exactly it, and nothing is read from or written to disk.

use std::fmt;
use std::io;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

/// A self-signed certificate for `127.0.0.1` and `localhost`, and the
/// rustls server configuration that presents it (ALPN: `h2`, then
/// `http/1.1`, as actix sets them up).
#[derive(Clone)]
pub struct TestCert {
    config: rustls::ServerConfig,
    pem: String,
}

impl fmt::Debug for TestCert {
    // The configuration holds the private key: show only the certificate.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestCert")
            .field("pem", &self.pem)
            .finish_non_exhaustive()
    }
}

impl TestCert {
    /// Makes a new key pair and certificate, with ring as rustls's crypto
    /// provider (so no process-wide default needs installing).
    ///
    /// # Panics
    /// If rcgen or rustls refuse what they are given, which would be a bug
    /// here, not in the test.
    pub fn new() -> TestCert {
        let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
            .expect("a self-signed certificate");
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(made.signing_key.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![made.cert.der().clone()], key)
        .expect("the certificate and its key");
        TestCert {
            config,
            pem: made.cert.pem(),
        }
    }

    /// The certificate in PEM, for a client to trust.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// The server configuration that presents it.
    pub fn server_config(&self) -> rustls::ServerConfig {
        self.config.clone()
    }
}

impl Default for TestCert {
    fn default() -> Self {
        TestCert::new()
    }
}

/// A client configuration that trusts exactly the certificate `pem` and
/// offers only HTTP/1.1 by ALPN (the raw client speaks nothing else), with
/// ring as the crypto provider, as the servers have.
pub(crate) fn http1_client_config(pem: &str) -> io::Result<Arc<rustls::ClientConfig>> {
    let invalid = |err: String| io::Error::new(io::ErrorKind::InvalidInput, err);
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert = cert.map_err(|err| invalid(format!("a certificate to trust: {err}")))?;
        roots
            .add(cert)
            .map_err(|err| invalid(format!("a certificate to trust: {err}")))?;
    }
    if roots.is_empty() {
        return Err(invalid("no certificate to trust in the PEM given".into()));
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|err| invalid(format!("TLS versions: {err}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
