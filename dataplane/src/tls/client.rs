//! How this node verifies the peers it fetches from: the webpki root store bundled at build
//! time (Mozilla's, as browsers trust), plus the certificates of an operator's CA file
//! (`--tls-ca-file`: a private network's CA, or a test's). SNI names the peer's host, ALPN
//! offers `http/1.1` only, TLS 1.2 and 1.3.

use std::sync::Arc;

use glommio::net::TcpStream;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use super::{Stream, TlsError};

/// The client side's configuration, shared by every shard.
#[derive(Clone)]
pub struct ClientTls {
    config: Arc<rustls::ClientConfig>,
    connector: futures_rustls::TlsConnector,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientTls")
    }
}

impl ClientTls {
    /// Trusts the bundled roots and the certificates in `ca_pem` (named `ca_path` in errors).
    pub fn new(ca: Option<(&str, &[u8])>) -> Result<ClientTls, TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some((path, pem)) = ca {
            let pem_err = |message: String| TlsError::Pem {
                path: path.to_string(),
                message,
            };
            let mut added = 0;
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| pem_err(e.to_string()))?;
                roots
                    .add(cert)
                    .map_err(|e| pem_err(format!("not a CA certificate: {e}")))?;
                added += 1;
            }
            if added == 0 {
                return Err(pem_err("no certificate in the file".into()));
            }
        }
        let mut config = rustls::ClientConfig::builder_with_provider(super::provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let config = Arc::new(config);
        Ok(ClientTls {
            connector: futures_rustls::TlsConnector::from(config.clone()),
            config,
        })
    }

    /// This configuration with a session cache of the shard's own (rustls's is behind a mutex
    /// that shards sharing one would all take).
    pub fn for_shard(&self) -> ClientTls {
        let mut config = (*self.config).clone();
        config.resumption =
            rustls::client::Resumption::in_memory_sessions(super::SESSIONS_PER_SHARD);
        let config = Arc::new(config);
        ClientTls {
            connector: futures_rustls::TlsConnector::from(config.clone()),
            config,
        }
    }

    /// Runs the handshake with `host` over `tcp`.
    pub async fn connect(&self, host: &str, tcp: TcpStream) -> Result<Stream, HandshakeError> {
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| HandshakeError(format!("{host:?} is not a TLS server name")))?;
        match self.connector.connect(name, tcp).await {
            Ok(s) => Ok(Stream::Client(Box::new(s))),
            Err(e) => Err(HandshakeError(describe(&e))),
        }
    }
}

/// Why a TLS handshake with a peer failed, in words an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("TLS: {0}")]
pub struct HandshakeError(pub String);

/// Names the reason of a failed handshake: an expired, unknown-issuer or wrong-host
/// certificate, an alert from the peer, or the I/O error.
pub fn describe(e: &std::io::Error) -> String {
    use rustls::{CertificateError, Error};
    let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<Error>()) else {
        return e.to_string();
    };
    match inner {
        Error::InvalidCertificate(c) => {
            let why = match c {
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    "the peer's certificate has expired".to_string()
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    "the peer's certificate is not valid yet".to_string()
                }
                CertificateError::UnknownIssuer => {
                    "the peer's certificate is not signed by a trusted CA (unknown issuer)"
                        .to_string()
                }
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => {
                    "the peer's certificate is not valid for its host name".to_string()
                }
                CertificateError::Revoked => "the peer's certificate is revoked".to_string(),
                other => format!("the peer's certificate is invalid: {other:?}"),
            };
            format!("bad certificate: {why}")
        }
        other => other.to_string(),
    }
}
