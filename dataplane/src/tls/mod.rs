//! TLS for both directions of the data plane, with rustls on ring (no OpenSSL):
//!
//! - [`stream`]: one stream type for a plain or TLS connection, so the serving and fetching code
//!   is written once;
//! - [`client`]: how peers are verified (the bundled webpki roots plus an operator's CA file,
//!   SNI, `http/1.1` ALPN);
//! - [`server`]: the public listener's certificate, reloaded without a restart;
//! - [`ktls`]: whether the kernel could take the record layer over (it is detected and
//!   reported; see that module for why records stay in user space).

pub mod client;
pub mod ktls;
pub mod reload;
pub mod server;
pub mod stream;

use std::io;
use std::path::Path;

pub use client::ClientTls;
pub use server::{ServerTls, ServerTlsFiles};
pub use stream::Stream;

/// Where TLS material is.
#[derive(Debug, Clone, Default)]
pub struct TlsSettings {
    /// PEM certificates trusted for peers besides the bundled roots.
    pub ca_file: Option<std::path::PathBuf>,
    /// The public listener's certificate and key: https instead of http.
    pub server: Option<ServerTlsFiles>,
}

/// TLS sessions each shard remembers for resumption, in each direction (rustls's own default
/// cache size). Per shard, so no cache lock is shared between shards; a client whose next
/// connection lands on another shard does a full handshake.
pub const SESSIONS_PER_SHARD: usize = 256;

/// The longest PEM file read (a certificate chain or a key; a CA bundle such as Mozilla's is
/// about 200 KiB).
pub const PEM_MAX_BYTES: u64 = 4 * 1024 * 1024;

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        source: io::Error,
    },
    /// A file is not the PEM it should be.
    #[error("{path}: {message}")]
    Pem {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// rustls refused the certificate, key or configuration.
    #[error("{0}")]
    Rustls(#[from] rustls::Error),
}

/// Reads a small file through glommio (io_uring; the data plane does no `std::fs`), refusing
/// one larger than [`PEM_MAX_BYTES`].
pub async fn read_file(path: &Path) -> Result<Vec<u8>, TlsError> {
    let err = |source: io::Error| TlsError::Read {
        path: path.display().to_string(),
        source,
    };
    let file = glommio::io::BufferedFile::open(path)
        .await
        .map_err(|e| err(e.into()))?;
    let read = crate::store::read_whole(&file, PEM_MAX_BYTES).await;
    let _ = file.close().await;
    read.map_err(err)
}

/// The crypto provider both directions use.
pub(crate) fn provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    std::sync::Arc::new(rustls::crypto::ring::default_provider())
}
