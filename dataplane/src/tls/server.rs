//! The public listener's TLS (`--tls-cert`, `--tls-key`): a certificate chain and its key in
//! PEM, served to every new handshake from an atomically swapped slot, so a renewed certificate
//! (an ACME client replacing the files, or SIGHUP) is taken by the next connection while the open
//! ones go on with the one they negotiated. The control executor reads the files again on
//! SIGHUP and every [`ServerTlsFiles::check_every`], and swaps only when they changed and parse;
//! a broken renewal is logged and the old certificate kept.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use glommio::net::TcpStream;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::{Stream, TlsError};

/// Where the certificate and key are, and how often they are checked for a renewal.
#[derive(Debug, Clone)]
pub struct ServerTlsFiles {
    /// The certificate chain, PEM, leaf first.
    pub cert: PathBuf,
    /// Its private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// Between checks of the files for a renewal.
    pub check_every: Duration,
}

/// The certificate new handshakes get.
#[derive(Debug)]
struct Current(ArcSwap<CertifiedKey>);

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.load_full())
    }
}

/// The server side: the acceptor, and the slot a reload swaps (shared by every shard; see
/// [`ServerTls::for_shard`]).
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<rustls::ServerConfig>,
    acceptor: futures_rustls::TlsAcceptor,
    current: Arc<Current>,
    /// The PEM bytes the current certificate came from (to tell a change).
    loaded: Arc<ArcSwap<(Vec<u8>, Vec<u8>)>>,
}

impl ServerTls {
    /// A server configuration for the certificate chain `cert_pem` and key `key_pem`.
    pub fn new(files: &ServerTlsFiles, cert_pem: &[u8], key_pem: &[u8]) -> Result<Self, TlsError> {
        let key = certified_key(files, cert_pem, key_pem)?;
        let current = Arc::new(Current(ArcSwap::from_pointee(key)));
        let mut config = rustls::ServerConfig::builder_with_provider(super::provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let config = Arc::new(config);
        Ok(ServerTls {
            acceptor: futures_rustls::TlsAcceptor::from(config.clone()),
            config,
            current,
            loaded: Arc::new(ArcSwap::from_pointee((cert_pem.to_vec(), key_pem.to_vec()))),
        })
    }

    /// This configuration with a session cache of the shard's own: rustls's cache is behind a
    /// mutex, which shards sharing one would take at every handshake. The certificate slot
    /// stays shared (a lock-free swap), so a reload reaches every shard.
    pub fn for_shard(&self) -> ServerTls {
        let mut config = (*self.config).clone();
        config.session_storage =
            rustls::server::ServerSessionMemoryCache::new(super::SESSIONS_PER_SHARD);
        let config = Arc::new(config);
        ServerTls {
            acceptor: futures_rustls::TlsAcceptor::from(config.clone()),
            config,
            current: self.current.clone(),
            loaded: self.loaded.clone(),
        }
    }

    /// Takes the files' new contents: `Ok(true)` if they changed and now serve, `Ok(false)` if
    /// they are what serves already, an error (and the old certificate kept) if they do not
    /// make a certificate and its key.
    pub fn reload(
        &self,
        files: &ServerTlsFiles,
        cert_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<bool, TlsError> {
        let loaded = self.loaded.load();
        if loaded.0 == cert_pem && loaded.1 == key_pem {
            return Ok(false);
        }
        let key = certified_key(files, cert_pem, key_pem)?;
        self.current.0.store(Arc::new(key));
        self.loaded
            .store(Arc::new((cert_pem.to_vec(), key_pem.to_vec())));
        Ok(true)
    }

    /// Runs the server handshake over an accepted connection.
    pub async fn accept(&self, tcp: TcpStream) -> std::io::Result<Stream> {
        let s = self.acceptor.accept(tcp).await?;
        Ok(Stream::Server(Box::new(s)))
    }
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerTls")
    }
}

/// Parses the chain and key and checks that they belong together.
fn certified_key(
    files: &ServerTlsFiles,
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<CertifiedKey, TlsError> {
    let cert_err = |message: String| TlsError::Pem {
        path: files.cert.display().to_string(),
        message,
    };
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cert_err(e.to_string()))?;
    if chain.is_empty() {
        return Err(cert_err("no certificate in the file".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::Pem {
        path: files.key.display().to_string(),
        message: format!("no private key: {e}"),
    })?;
    let provider = super::provider();
    let key = CertifiedKey::from_der(chain, key, &provider)?;
    Ok(key)
}
