//! The HTTP/1.1 client replication and cache fills fetch with: `GET {endpoint}api/v1/files/{id}`
//! (the Colossus API, so Colossus peers serve as sources too), over `http://` or `https://`
//! (see `tls/client.rs` for what is trusted), optionally from an offset with `Range: bytes=N-`,
//! the response head parsed by `httparse`, the body read under the peer limits. Connections
//! are kept alive and reused ([`Pool`]): a TLS handshake per object would cost more than a small
//! object's bytes. The addresses come resolved from the control plane: nothing here blocks on
//! DNS.
//!
//! It is deliberately small: replication needs a GET with a range and a bounded body, not a
//! general client, and glommio's sockets are used directly so that transfers run on the shard's
//! own io_uring like everything else.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use std::rc::Rc;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;
use hecaton_shared::DataObjectId;

use super::pool::{Pool, PoolKey, PoolLimits};
use crate::tls::{ClientTls, Stream};

/// The longest response head accepted.
const HEAD_MAX: usize = 16 * 1024;

/// How a peer is held: every request's timeouts, the slowest a body may arrive, and which
/// addresses may be reached at all.
#[derive(Debug, Clone, Copy)]
pub struct PeerLimits {
    /// Connecting to one address.
    pub connect: Duration,
    /// Waiting for any bytes (head or body).
    pub idle: Duration,
    /// The slowest a body may arrive, in bytes per second averaged from the request's start
    /// after [`PeerLimits::grace`]; a slower peer is cut. A peer sending a byte just inside the
    /// idle timeout held a fetch slot, and every viewer waiting on a fill, for hours (issue 14,
    /// defect 10).
    pub min_rate: u64,
    /// Time a request is given before its rate counts.
    pub grace: Duration,
    /// The longest one request may take in all, whatever its rate.
    pub max_duration: Duration,
    /// Whether loopback, private, link-local, CGNAT and multicast addresses may be fetched from
    /// (`hecaton dev` and tests on loopback; never on a public node: a chain-published
    /// endpoint would otherwise reach the operator's own network).
    pub allow_private: bool,
}

impl Default for PeerLimits {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            idle: Duration::from_secs(30),
            // 64 KiB/s: a tenth of a slow home uplink; a 64 MiB video then takes at most
            // 17 minutes from one peer before the next is tried (what was held is kept).
            min_rate: 64 * 1024,
            grace: Duration::from_secs(10),
            // A 20 GiB object at 10 MiB/s, with room: a bound, not a schedule.
            max_duration: Duration::from_secs(3600),
            allow_private: false,
        }
    }
}

/// What a shard's fetches from peers share: the limits each request is held to, how peers'
/// certificates are checked, and the kept connections.
#[derive(Debug)]
pub struct Peers {
    /// Timeouts, minimum rate, address policy.
    pub limits: PeerLimits,
    /// The TLS client configuration.
    pub tls: ClientTls,
    /// Kept-alive connections.
    pub pool: Rc<Pool>,
    /// Endpoints that answered a slice request 404 and then served the object plain (Colossus),
    /// with when: asked plain until [`NO_SLICES_FOR`] has passed (an operator may upgrade).
    no_slices: RefCell<HashMap<String, Instant>>,
}

/// How long a peer without slices is asked only for plain bytes.
const NO_SLICES_FOR: Duration = Duration::from_secs(3600);
/// Peers remembered without slices (per shard); the list starts over when full.
const NO_SLICES_KEPT: usize = 4096;

impl Peers {
    /// A shard's peers.
    pub fn new(limits: PeerLimits, tls: ClientTls, pool: PoolLimits) -> Self {
        Self {
            limits,
            tls,
            pool: Rc::new(Pool::new(pool)),
            no_slices: RefCell::new(HashMap::new()),
        }
    }

    /// Whether `endpoint` is asked for verified slices (not known to lack them).
    pub fn serves_slices(&self, endpoint: &str) -> bool {
        let mut map = self.no_slices.borrow_mut();
        match map.get(endpoint) {
            Some(since) if since.elapsed() < NO_SLICES_FOR => false,
            Some(_) => {
                map.remove(endpoint);
                true
            }
            None => true,
        }
    }

    /// `endpoint` has no slices: ask it for plain bytes for a while.
    pub fn no_slices(&self, endpoint: &str) {
        let mut map = self.no_slices.borrow_mut();
        if map.len() >= NO_SLICES_KEPT {
            map.clear();
        }
        map.insert(endpoint.to_string(), Instant::now());
    }
}

/// Where an object is fetched from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Over TLS (`https://`), verified for [`Request::server_name`].
    pub tls: bool,
    /// The endpoint's host name, for SNI and certificate verification.
    pub server_name: String,
    /// `Host` header value.
    pub host: String,
    /// The request target (`/api/v1/files/<id>` or `/api/v1/slices/<id>?ranges=` under the
    /// endpoint's path).
    pub path: String,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The endpoint is not an `http://` URL this client can use.
    #[error("endpoint {0:?}: {1}")]
    Endpoint(String, &'static str),
    /// No address accepted a connection.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The TLS handshake failed: a bad certificate, or no common protocol.
    #[error(transparent)]
    Tls(#[from] crate::tls::client::HandshakeError),
    /// The connection failed or timed out.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The peer's answer is not a usable HTTP response.
    #[error("bad response: {0}")]
    Response(String),
}

impl Request {
    /// The request for object `id` at `endpoint` (an operator's published base URL; its path is
    /// kept, as Colossus and Argus join `api/v1/files/<id>` under it).
    pub fn for_object(endpoint: &str, id: DataObjectId) -> Result<Request, ClientError> {
        Self::under(endpoint, &format!("api/v1/files/{id}"))
    }

    /// The request for bytes `first..=last` (to the end without `last`) of object `id` as a
    /// verified slice (`/api/v1/slices/{id}?ranges=`, served by Hecaton storage nodes).
    pub fn for_slice(
        endpoint: &str,
        id: DataObjectId,
        first: u64,
        last: Option<u64>,
    ) -> Result<Request, ClientError> {
        let last = last.map(|l| l.to_string()).unwrap_or_default();
        Self::under(
            endpoint,
            &format!("api/v1/slices/{id}?ranges={first}-{last}"),
        )
    }

    /// The request for `tail` under `endpoint`'s path.
    fn under(endpoint: &str, tail: &str) -> Result<Request, ClientError> {
        let url = url::Url::parse(endpoint)
            .map_err(|_| ClientError::Endpoint(endpoint.into(), "not a URL"))?;
        let tls = match url.scheme() {
            "http" => false,
            "https" => true,
            _ => return Err(ClientError::Endpoint(endpoint.into(), "not an http(s) URL")),
        };
        let name = url
            .host_str()
            .ok_or(ClientError::Endpoint(endpoint.into(), "no host"))?;
        // `url` keeps IPv6 literals bracketed; SNI and verification want the address itself.
        let server_name = name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let host = match url.port() {
            Some(p) => format!("{name}:{p}"),
            None => name.to_string(),
        };
        let base = url.path().trim_end_matches('/');
        Ok(Request {
            tls,
            server_name,
            host,
            path: format!("{base}/{tail}"),
        })
    }
}

/// A response's head, as far as a fetch needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Status code.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `X-Object-Content-Type`: a slice's object's media type, as its storage node sniffed it.
    pub object_type: Option<String>,
    /// `Content-Length`.
    pub content_length: Option<u64>,
    /// `Content-Range: bytes first-last/complete`.
    pub content_range: Option<(u64, u64, u64)>,
    /// `Transfer-Encoding: chunked`.
    pub chunked: bool,
    /// `Connection: close`: the peer closes the connection after this answer.
    pub close: bool,
}

/// A response body being read, held to the peer limits: each read waits at most the idle
/// timeout, and no longer than until the body falls below the minimum rate or past the
/// request's longest duration.
#[derive(Debug)]
pub struct Body {
    stream: Option<Stream>,
    leftover: Vec<u8>,
    at: usize,
    limits: PeerLimits,
    started: std::time::Instant,
    received: u64,
    /// The body's length, when the head declared it: the body ends there (not at the end of
    /// the connection), and the connection can then serve the next request.
    length: Option<u64>,
    /// Where the connection goes back once the body was read whole.
    reuse: Option<(Rc<Pool>, PoolKey)>,
}

impl Drop for Body {
    fn drop(&mut self) {
        let whole = self.length == Some(self.received) && self.at >= self.leftover.len();
        if let (true, Some((pool, key)), Some(stream)) =
            (whole, self.reuse.take(), self.stream.take())
        {
            pool.put(key, stream);
        }
    }
}

impl Body {
    /// Reads the next bytes into `buf`; 0 at the end of the body. A peer too slow for the
    /// limits fails the read with `TimedOut`, saying which limit.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let buf = match self.length {
            Some(length) => {
                let left = length.saturating_sub(self.received);
                let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                &mut buf[..n]
            }
            None => buf,
        };
        if buf.is_empty() {
            return Ok(0);
        }
        if self.at < self.leftover.len() {
            let n = (self.leftover.len() - self.at).min(buf.len());
            buf[..n].copy_from_slice(&self.leftover[self.at..self.at + n]);
            self.at += n;
            self.received += n as u64;
            return Ok(n);
        }
        let now = std::time::Instant::now();
        let due = self.due();
        let Some(left) = due.checked_duration_since(now).filter(|d| !d.is_zero()) else {
            return Err(self.too_slow());
        };
        let wait = left.min(self.limits.idle);
        let Some(stream) = self.stream.as_mut() else {
            return Ok(0);
        };
        stream
            .tcp()
            .set_read_timeout(Some(wait))
            .map_err(io::Error::from)?;
        match stream.read(buf).await {
            Ok(n) => {
                self.received += n as u64;
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::TimedOut && wait < self.limits.idle => {
                Err(self.too_slow())
            }
            Err(e) => Err(e),
        }
    }

    /// When the next byte must have arrived by.
    fn due(&self) -> std::time::Instant {
        let end = self.started + self.limits.max_duration;
        if self.limits.min_rate == 0 {
            return end;
        }
        let secs = (self.received + 1) as f64 / self.limits.min_rate as f64;
        end.min(self.started + self.limits.grace + Duration::from_secs_f64(secs))
    }

    fn too_slow(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "the peer is too slow: {} bytes in {:?} (minimum {} B/s after {:?}, at most {:?})",
                self.received,
                self.started.elapsed(),
                self.limits.min_rate,
                self.limits.grace,
                self.limits.max_duration
            ),
        )
    }
}

/// Sends `GET` with `range` as its `Range` header, if any, over a kept-alive connection to the
/// peer or a new one to the first of `addrs` that accepts, and reads the response head.
pub async fn get(
    peers: &Peers,
    addrs: &[SocketAddr],
    req: &Request,
    range: Option<&str>,
) -> Result<(Head, Body), ClientError> {
    let key = PoolKey::new(req.tls, &req.host);
    // A kept connection the peer closed meanwhile fails before any answer byte; the request
    // then goes on a new connection (it is a GET: nothing was done twice).
    while let Some(stream) = peers.pool.take(&key) {
        if let Ok(r) = exchange(stream, peers, req, range, &key).await {
            return Ok(r);
        }
    }
    let stream = connect(peers, addrs, req).await?;
    exchange(stream, peers, req, range, &key).await
}

/// Opens a connection to the first of `addrs` that accepts, with TLS if the request asks.
async fn connect(
    peers: &Peers,
    addrs: &[SocketAddr],
    req: &Request,
) -> Result<Stream, ClientError> {
    let limits = peers.limits;
    let mut last = String::from("no address");
    let mut stream = None;
    for addr in addrs {
        if !hecaton_shared::address::allowed(addr, limits.allow_private) {
            last = format!("{addr}: a private or special address (allow_private_peers is off)");
            continue;
        }
        match TcpStream::connect_timeout(*addr, limits.connect).await {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    let tcp = stream.ok_or(ClientError::Connect(last))?;
    tcp.set_read_timeout(Some(limits.connect))
        .map_err(io::Error::from)?;
    tcp.set_write_timeout(Some(limits.connect))
        .map_err(io::Error::from)?;
    let _ = tcp.set_nodelay(true);
    if !req.tls {
        return Ok(Stream::Plain(tcp));
    }
    Ok(peers.tls.connect(&req.server_name, tcp).await?)
}

/// Sends the request on `stream` and reads the answer's head.
async fn exchange(
    mut stream: Stream,
    peers: &Peers,
    req: &Request,
    range: Option<&str>,
    key: &PoolKey,
) -> Result<(Head, Body), ClientError> {
    let limits = peers.limits;
    let started = std::time::Instant::now();
    stream
        .tcp()
        .set_read_timeout(Some(limits.idle))
        .map_err(io::Error::from)?;
    stream
        .tcp()
        .set_write_timeout(Some(limits.idle))
        .map_err(io::Error::from)?;
    let mut head = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: hecaton/{}\r\nAccept: */*\r\n",
        req.path,
        req.host,
        env!("CARGO_PKG_VERSION")
    );
    if let Some(range) = range {
        head.push_str(&format!("Range: {range}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.flush().await?;

    let mut buf = vec![0u8; 8 * 1024];
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            if buf.len() >= HEAD_MAX {
                return Err(ClientError::Response("response head too large".into()));
            }
            buf.resize(buf.len() * 2, 0);
        }
        let n = stream.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Err(ClientError::Response(
                "connection closed before the response head".into(),
            ));
        }
        filled += n;
        if let Some((head, len)) = parse_head(&buf[..filled])? {
            buf.truncate(filled);
            // A body of declared length leaves the connection usable for the next request;
            // one that runs to the connection's end, or a peer closing it, does not.
            let length = head.content_length.filter(|_| !head.chunked);
            let reuse =
                (length.is_some() && !head.close).then(|| (peers.pool.clone(), key.clone()));
            return Ok((
                head,
                Body {
                    stream: Some(stream),
                    leftover: buf,
                    at: len,
                    limits,
                    started,
                    received: 0,
                    length,
                    reuse,
                },
            ));
        }
    }
}

/// Parses a complete response head at the start of `bytes`: the head and its length, or `None`
/// while it is incomplete.
pub fn parse_head(bytes: &[u8]) -> Result<Option<(Head, usize)>, ClientError> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut headers);
    let len = match resp.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(ClientError::Response(e.to_string())),
    };
    let mut head = Head {
        status: resp.code.unwrap_or(0),
        content_type: None,
        object_type: None,
        content_length: None,
        content_range: None,
        chunked: false,
        close: resp.version == Some(0),
    };
    for h in resp.headers.iter() {
        let value = std::str::from_utf8(h.value).unwrap_or("").trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = value
                .parse()
                .map_err(|_| ClientError::Response(format!("Content-Length {value:?}")))?;
            head.content_length = Some(n);
        } else if h.name.eq_ignore_ascii_case("content-range") {
            head.content_range = Some(
                parse_content_range(value)
                    .ok_or_else(|| ClientError::Response(format!("Content-Range {value:?}")))?,
            );
        } else if h.name.eq_ignore_ascii_case("content-type") {
            head.content_type = Some(value.to_string());
        } else if h.name.eq_ignore_ascii_case("x-object-content-type") {
            head.object_type = Some(value.to_string());
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            head.chunked = value.to_ascii_lowercase().contains("chunked");
        } else if h.name.eq_ignore_ascii_case("connection") {
            head.close = value.eq_ignore_ascii_case("close");
        }
    }
    Ok(Some((head, len)))
}

/// `bytes first-last/complete` → `(first, last, complete)`.
fn parse_content_range(v: &str) -> Option<(u64, u64, u64)> {
    let rest = v.strip_prefix("bytes ")?;
    let (range, complete) = rest.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let (first, last, complete) = (
        first.trim().parse().ok()?,
        last.trim().parse().ok()?,
        complete.trim().parse().ok()?,
    );
    (first <= last && last < complete).then_some((first, last, complete))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_urls_keep_the_endpoint_path() {
        let id = DataObjectId(42);
        for (endpoint, host, path) in [
            (
                "http://127.0.0.1:3333/",
                "127.0.0.1:3333",
                "/api/v1/files/42",
            ),
            ("http://10.0.0.1", "10.0.0.1", "/api/v1/files/42"),
            (
                "http://h.example/storage/",
                "h.example",
                "/storage/api/v1/files/42",
            ),
            (
                "http://h.example/storage",
                "h.example",
                "/storage/api/v1/files/42",
            ),
        ] {
            let r = Request::for_object(endpoint, id).unwrap();
            assert_eq!(
                (r.host.as_str(), r.path.as_str()),
                (host, path),
                "{endpoint}"
            );
        }
        for bad in ["ftp://x/", "not a url"] {
            assert!(Request::for_object(bad, id).is_err(), "{bad}");
        }
        let r = Request::for_object("https://storage.example:8443/s/", id).unwrap();
        assert!(r.tls);
        assert_eq!(r.server_name, "storage.example");
        assert_eq!(r.host, "storage.example:8443");
        let r = Request::for_slice("http://h.example/storage/", id, 16384, None).unwrap();
        assert_eq!(r.path, "/storage/api/v1/slices/42?ranges=16384-");
        let r = Request::for_slice("http://h.example", id, 0, Some(9)).unwrap();
        assert_eq!(r.path, "/api/v1/slices/42?ranges=0-9");
        let r = Request::for_object("https://[::1]/", id).unwrap();
        assert_eq!((r.server_name.as_str(), r.host.as_str()), ("::1", "[::1]"));
    }

    #[test]
    fn heads_and_ranges() {
        let raw = b"HTTP/1.1 206 Partial Content\r\nContent-Length: 100\r\nContent-Range: bytes 900-999/1000\r\n\r\nxyz";
        let (head, len) = parse_head(raw).unwrap().unwrap();
        assert_eq!(len, raw.len() - 3);
        assert_eq!(head.status, 206);
        assert_eq!(head.content_length, Some(100));
        assert_eq!(head.content_range, Some((900, 999, 1000)));
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Le")
            .unwrap()
            .is_none());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").is_err());
        assert!(parse_content_range("bytes 5-4/10").is_none());
        assert!(parse_content_range("bytes 0-10/10").is_none());
        assert!(parse_content_range("bytes */10").is_none());
        let (head, _) = parse_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(head.chunked && head.content_length.is_none());
    }
}
