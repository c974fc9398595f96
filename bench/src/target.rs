//! Request targets: `http://host:port/path` URLs turned into an address and a ready-made
//! request.

use std::net::{SocketAddr, ToSocketAddrs};

use anyhow::{bail, Context};

/// One URL to load.
#[derive(Debug, Clone)]
pub struct Target {
    /// Where to connect.
    pub addr: SocketAddr,
    /// The full request, head only.
    pub request: Vec<u8>,
}

impl Target {
    /// Parses `url` (plain `http://` only) and builds its request, with `range` as a `Range`
    /// header value if given.
    pub fn parse(url: &str, range: Option<&str>) -> anyhow::Result<Target> {
        let Some(rest) = url.strip_prefix("http://") else {
            bail!("{url}: only http:// URLs are supported");
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let addr = authority
            .to_socket_addrs()
            .with_context(|| format!("{url}: cannot resolve {authority}"))?
            .next()
            .with_context(|| format!("{url}: {authority} has no address"))?;
        let mut request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\n");
        if let Some(r) = range {
            request.push_str(&format!("Range: {r}\r\n"));
        }
        request.push_str("\r\n");
        Ok(Target {
            addr,
            request: request.into_bytes(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_requests() {
        let t = Target::parse("http://127.0.0.1:8080/api/v1/files/3", Some("bytes=0-9")).unwrap();
        assert_eq!(t.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(
            String::from_utf8(t.request).unwrap(),
            "GET /api/v1/files/3 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nRange: bytes=0-9\r\n\r\n"
        );
        assert_eq!(
            Target::parse("http://127.0.0.1:1", None).unwrap().request,
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n"
        );
        assert!(Target::parse("https://x/", None).is_err());
    }
}
