//! The control plane's HTTP client for other operators' nodes (latency probes, cleanup's
//! confirmations): endpoints come from the chain, so they are held like any stranger. The
//! client never follows a redirect (a peer could bounce it onto the operator's own network),
//! has a connect timeout and a whole-request timeout, and resolves names through a resolver
//! that drops loopback, private, link-local, CGNAT and multicast addresses unless the operator
//! allows private peers; an endpoint naming such an address literally is refused before the
//! request (issue 14, defect 11).

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use hecaton_shared::address;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Connecting to a peer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A whole request to a peer, unless the call sets its own.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why an endpoint cannot be reached under the policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The endpoint does not parse.
    #[error("not a URL: {0}")]
    NotUrl(String),
    /// It names, or resolves only to, addresses the policy refuses.
    #[error("{0}: a private or special address (allow_private_peers is off)")]
    Private(String),
}

/// CA certificates trusted for peers besides the bundled webpki roots (`[dataplane]
/// tls_ca_file`, which the data plane trusts too), set once at start.
static EXTRA_ROOTS: std::sync::OnceLock<Vec<reqwest::Certificate>> = std::sync::OnceLock::new();

/// Why the CA file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CaFileError {
    /// It could not be read.
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    /// It holds no usable certificate.
    #[error("{0}: no PEM certificate in it ({1})")]
    Pem(String, String),
}

/// Trusts the certificates of the PEM file `path` for every peer client made after.
pub fn trust_ca_file(path: &std::path::Path) -> Result<(), CaFileError> {
    let name = path.display().to_string();
    let pem = std::fs::read(path).map_err(|e| CaFileError::Read(name.clone(), e))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| CaFileError::Pem(name.clone(), e.to_string()))?;
    if certs.is_empty() {
        return Err(CaFileError::Pem(name, "empty".into()));
    }
    let _ = EXTRA_ROOTS.set(certs);
    Ok(())
}

/// An error with its causes, `a: b: c`: reqwest's own text ("error sending request") hides the
/// reason (a refused certificate, a reset) in its sources.
pub fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// A client for the node's own operators' tools (`hecaton distributor-api`, `hecaton
/// member upload`): TLS with the bundled roots, redirects never followed.
pub fn tool_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("hecaton/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a client with the bundled roots always builds")
}

/// The client; `allow_private` lifts the address policy (test networks, LANs). TLS is rustls
/// with the bundled webpki roots and those of [`trust_ca_file`].
pub fn client(allow_private: bool) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("hecaton/", env!("CARGO_PKG_VERSION")));
    for cert in EXTRA_ROOTS.get().into_iter().flatten() {
        builder = builder.add_root_certificate(cert.clone());
    }
    let builder = if allow_private {
        builder
    } else {
        builder.dns_resolver(Arc::new(PublicOnly))
    };
    builder
        .build()
        .expect("a client with parsed root certificates always builds")
}

/// Checks an endpoint whose host is an IP literal (the resolver never sees those).
pub fn check_literal(endpoint: &str, allow_private: bool) -> Result<(), PolicyError> {
    let url = url::Url::parse(endpoint).map_err(|e| PolicyError::NotUrl(e.to_string()))?;
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => std::net::IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => std::net::IpAddr::V6(ip),
        _ => return Ok(()),
    };
    if allow_private || address::is_public(ip) {
        Ok(())
    } else {
        Err(PolicyError::Private(ip.to_string()))
    }
}

/// Keeps the addresses the policy allows; an error if none is left.
pub fn filter(
    host: &str,
    addrs: Vec<SocketAddr>,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, PolicyError> {
    let kept: Vec<SocketAddr> = addrs
        .into_iter()
        .filter(|a| address::allowed(a, allow_private))
        .collect();
    if kept.is_empty() {
        return Err(PolicyError::Private(host.to_string()));
    }
    Ok(kept)
}

/// The system resolver, less the addresses the policy refuses.
#[derive(Debug)]
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found = tokio::task::spawn_blocking({
                let host = host.clone();
                move || {
                    (host.as_str(), 0)
                        .to_socket_addrs()
                        .map(|a| a.collect::<Vec<_>>())
                }
            })
            .await??;
            let kept = filter(&host, found, false)?;
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_private_endpoints_are_refused_unless_allowed() {
        assert!(check_literal("http://127.0.0.1:3333/", false).is_err());
        assert!(check_literal("http://[::1]:3333/", false).is_err());
        assert!(check_literal("http://169.254.169.254/", false).is_err());
        assert!(check_literal("http://127.0.0.1:3333/", true).is_ok());
        assert!(check_literal("https://storage.example.com/", false).is_ok());
        assert!(check_literal("http://8.8.8.8/", false).is_ok());
    }

    #[tokio::test]
    async fn the_client_never_follows_a_redirect_and_refuses_loopback_names() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/secret\r\nContent-Length: 0\r\n\r\n")
                    .await;
            }
        });
        let r = client(true)
            .get(format!("http://{addr}/api/v1/version"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 302, "the redirect is the answer, not followed");
        let refused = client(false)
            .get(format!("http://localhost:{}/api/v1/version", addr.port()))
            .send()
            .await;
        assert!(refused.is_err(), "localhost resolves only to loopback");
    }
}
