//! A certificate authority made at test time (rcgen), the certificates the TLS tests serve and
//! a blocking rustls client to read them with. Shared with the control plane's tests (included
//! there by path).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

/// The CA of a test binary's TLS networks (made once, on first use).
pub fn shared_ca() -> &'static Ca {
    static CA: std::sync::OnceLock<Ca> = std::sync::OnceLock::new();
    CA.get_or_init(|| Ca::new("hecaton test network CA"))
}

/// A test CA.
pub struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

/// How a leaf certificate is wrong, if it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaf {
    /// Valid for `localhost` and `127.0.0.1`, now.
    Good,
    /// Valid for another host only.
    WrongHost,
    /// Valid for the right names, but expired in 2020.
    Expired,
}

impl Ca {
    pub fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// Writes the CA certificate to `dir/<file>`.
    pub fn write(&self, dir: &Path, file: &str) -> PathBuf {
        let path = dir.join(file);
        std::fs::write(&path, self.pem()).unwrap();
        path
    }

    /// A leaf certificate and its key, PEM.
    pub fn leaf(&self, kind: Leaf) -> (String, String) {
        let names = match kind {
            Leaf::WrongHost => vec!["wrong.example".to_string()],
            _ => vec!["localhost".to_string(), "127.0.0.1".to_string()],
        };
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "hecaton test");
        if kind == Leaf::Expired {
            params.not_before = rcgen::date_time_ymd(2019, 1, 1);
            params.not_after = rcgen::date_time_ymd(2020, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// Writes a leaf's certificate and key as `dir/<stem>.crt` and `dir/<stem>.key`.
    pub fn write_leaf(&self, dir: &Path, stem: &str, kind: Leaf) -> (PathBuf, PathBuf) {
        let (cert, key) = self.leaf(kind);
        let (c, k) = (
            dir.join(format!("{stem}.crt")),
            dir.join(format!("{stem}.key")),
        );
        // The key first: a reload that reads between the two writes sees the old pair fail to
        // match and keeps the old certificate (then takes the new one at the next check).
        std::fs::write(&k, key).unwrap();
        std::fs::write(&c, cert).unwrap();
        (c, k)
    }
}

/// A blocking TLS connection to `addr` as `localhost`, trusting `ca_pem` only.
pub type TlsConn = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

pub fn connect(addr: SocketAddr, ca_pem: &str) -> Result<TlsConn, String> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let tcp = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut s = rustls::StreamOwned::new(conn, tcp);
    // Finish the handshake now, so a refused certificate shows here.
    while s.conn.is_handshaking() {
        s.conn.complete_io(&mut s.sock).map_err(|e| e.to_string())?;
    }
    s.flush().map_err(|e| e.to_string())?;
    Ok(s)
}

/// Whether `addr` completes a handshake trusting `ca_pem` and answers a request.
pub fn answers(addr: SocketAddr, ca_pem: &str) -> bool {
    let Ok(mut c) = connect(addr, ca_pem) else {
        return false;
    };
    if c.write_all(b"GET /api/v1/version HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut b = [0u8; 12];
    c.read_exact(&mut b).is_ok() && b.starts_with(b"HTTP/1.1 200")
}
