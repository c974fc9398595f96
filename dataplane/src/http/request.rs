//! Request heads: parsed with `httparse` under the limits that keep a shard safe from
//! oversized or malicious heads, then copied into an owned [`Request`] with just the fields the
//! routes use.

/// Limits on a request head.
#[derive(Debug, Clone, Copy)]
pub struct HeadLimits {
    /// Largest request head, request line included (431 beyond).
    pub max_head_bytes: usize,
    /// Longest request target (414 beyond).
    pub max_uri_bytes: usize,
}

impl Default for HeadLimits {
    fn default() -> Self {
        Self {
            max_head_bytes: 16 * 1024,
            max_uri_bytes: 4096,
        }
    }
}

/// Most header lines accepted (431 beyond).
pub const MAX_HEADERS: usize = 64;

/// The request methods the server distinguishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// HEAD
    Head,
    /// OPTIONS (CORS preflight)
    Options,
    /// POST
    Post,
    /// PATCH (tus)
    Patch,
    /// DELETE (tus termination)
    Delete,
    /// Any other method, as sent (only error messages need it).
    Other(String),
}

impl Method {
    fn parse(m: &str) -> Self {
        match m {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "OPTIONS" => Method::Options,
            "POST" => Method::Post,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            other => Method::Other(other.to_owned()),
        }
    }

    /// The method's name.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Other(m) => m,
        }
    }
}

/// What the server needs from a request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The path, without the query.
    pub path: String,
    /// The query string, without `?`.
    pub query: Option<String>,
    /// Whether the connection stays open after the response.
    pub keep_alive: bool,
    /// HTTP/1.0 (needs an explicit `Connection: keep-alive` in the answer).
    pub http10: bool,
    /// `Range`
    pub range: Option<Vec<u8>>,
    /// `If-None-Match`
    pub if_none_match: Option<Vec<u8>>,
    /// `If-Range`
    pub if_range: Option<Vec<u8>>,
    /// `Access-Control-Request-Headers` (preflight).
    pub cors_request_headers: Option<Vec<u8>>,
    /// Whether a body follows the head (`Content-Length` > 0 or chunked).
    pub has_body: bool,
    /// `Content-Length`, when given.
    pub content_length: Option<u64>,
    /// `Transfer-Encoding` was given (the body length is not known in advance).
    pub chunked: bool,
    /// `Content-Type`
    pub content_type: Option<Vec<u8>>,
    /// `Expect: 100-continue`: the client waits for an interim answer before sending the body.
    pub expect_continue: bool,
    /// tus headers (`Tus-Resumable`, `Upload-Offset`, `Upload-Length`, `Upload-Metadata`).
    pub tus: TusHeaders,
    /// Bytes of the head, which the caller consumes from its buffer.
    pub head_len: usize,
}

/// The tus 1.0 request headers, raw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TusHeaders {
    /// `Tus-Resumable`
    pub resumable: Option<Vec<u8>>,
    /// `Upload-Offset`
    pub offset: Option<Vec<u8>>,
    /// `Upload-Length`
    pub length: Option<Vec<u8>>,
    /// `Upload-Metadata`
    pub metadata: Option<Vec<u8>>,
}

/// Why a head was refused; each maps to one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    /// 431: head or header count too large.
    #[error("request header fields too large")]
    TooLarge,
    /// 414: request target too long.
    #[error("request target too long")]
    UriTooLong,
    /// 400: not HTTP/1.x.
    #[error("malformed request")]
    Malformed,
    /// 400: conflicting or invalid framing headers.
    #[error("invalid Content-Length or Transfer-Encoding")]
    BadFraming,
}

impl HeadError {
    /// The status to answer with.
    pub fn status(self) -> u16 {
        match self {
            HeadError::TooLarge => 431,
            HeadError::UriTooLong => 414,
            HeadError::Malformed | HeadError::BadFraming => 400,
        }
    }
}

/// Parses the head at the start of `buf`. `Ok(None)` means more bytes are needed.
pub fn parse(buf: &[u8], limits: &HeadLimits) -> Result<Option<Request>, HeadError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let status = match req.parse(buf) {
        Ok(s) => s,
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
        Err(_) => return Err(HeadError::Malformed),
    };
    let head_len = match status {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => {
            return match partial_limit(buf, limits) {
                Some(e) => Err(e),
                None => Ok(None),
            };
        }
    };
    if head_len > limits.max_head_bytes {
        return Err(HeadError::TooLarge);
    }
    let target = req.path.ok_or(HeadError::Malformed)?;
    if target.len() > limits.max_uri_bytes {
        return Err(HeadError::UriTooLong);
    }
    let http10 = req.version == Some(0);
    let mut keep_alive = !http10;
    let (mut range, mut if_none_match, mut if_range, mut cors) = (None, None, None, None);
    let mut content_length: Option<u64> = None;
    let mut chunked = false;
    let (mut content_type, mut expect_continue) = (None, false);
    let mut tus = TusHeaders::default();
    for h in req.headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case("connection") {
            for token in h.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                if token.eq_ignore_ascii_case(b"close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    keep_alive = true;
                }
            }
        } else if name.eq_ignore_ascii_case("range") {
            range = Some(h.value.to_vec());
        } else if name.eq_ignore_ascii_case("if-none-match") {
            if_none_match = Some(h.value.to_vec());
        } else if name.eq_ignore_ascii_case("if-range") {
            if_range = Some(h.value.to_vec());
        } else if name.eq_ignore_ascii_case("access-control-request-headers") {
            cors = Some(h.value.to_vec());
        } else if name.eq_ignore_ascii_case("content-length") {
            let v = std::str::from_utf8(h.value)
                .ok()
                .and_then(|s| hecaton_shared::parse_decimal_u64(s.trim()).ok())
                .ok_or(HeadError::BadFraming)?;
            if content_length.is_some_and(|c| c != v) {
                return Err(HeadError::BadFraming);
            }
            content_length = Some(v);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = true;
        } else if name.eq_ignore_ascii_case("content-type") {
            content_type = Some(h.value.to_vec());
        } else if name.eq_ignore_ascii_case("expect") {
            expect_continue = h.value.trim_ascii().eq_ignore_ascii_case(b"100-continue");
        } else if name.len() > 4 && name[..4].eq_ignore_ascii_case("tus-") {
            if name.eq_ignore_ascii_case("tus-resumable") {
                tus.resumable = Some(h.value.to_vec());
            }
        } else if name.len() > 7 && name[..7].eq_ignore_ascii_case("upload-") {
            let slot = match &name[7..] {
                n if n.eq_ignore_ascii_case("offset") => &mut tus.offset,
                n if n.eq_ignore_ascii_case("length") => &mut tus.length,
                n if n.eq_ignore_ascii_case("metadata") => &mut tus.metadata,
                _ => continue,
            };
            *slot = Some(h.value.to_vec());
        }
    }
    if chunked && content_length.is_some() {
        return Err(HeadError::BadFraming);
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (target.to_owned(), None),
    };
    Ok(Some(Request {
        method: Method::parse(req.method.ok_or(HeadError::Malformed)?),
        path,
        query,
        keep_alive,
        http10,
        range,
        if_none_match,
        if_range,
        cors_request_headers: cors,
        has_body: chunked || content_length.is_some_and(|c| c > 0),
        content_length,
        chunked,
        content_type,
        expect_continue,
        tus,
        head_len,
    }))
}

/// For an incomplete head: is it already past a limit? `None` means keep reading.
fn partial_limit(buf: &[u8], limits: &HeadLimits) -> Option<HeadError> {
    let line_end = buf.iter().position(|&b| b == b'\n');
    // "GET " + target + " HTTP/1.1": the request line may be at most the URI cap plus a margin.
    let line_cap = limits.max_uri_bytes + 32;
    match line_end {
        None if buf.len() > line_cap => Some(HeadError::UriTooLong),
        _ if buf.len() >= limits.max_head_bytes => Some(HeadError::TooLarge),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Option<Request>, HeadError> {
        parse(s.as_bytes(), &HeadLimits::default())
    }

    #[test]
    fn a_get_with_everything() {
        let r = p("GET /api/v1/files/7?x=1 HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\nIf-None-Match: \"e\"\r\nIf-Range: \"e\"\r\n\r\nNEXT")
            .unwrap()
            .unwrap();
        assert_eq!(r.method, Method::Get);
        assert_eq!(r.path, "/api/v1/files/7");
        assert_eq!(r.query.as_deref(), Some("x=1"));
        assert!(r.keep_alive && !r.http10 && !r.has_body);
        assert_eq!(r.range.as_deref(), Some(&b"bytes=0-1"[..]));
        assert_eq!(r.if_none_match.as_deref(), Some(&b"\"e\""[..]));
        assert_eq!(r.if_range.as_deref(), Some(&b"\"e\""[..]));
        assert_eq!(r.head_len, "GET /api/v1/files/7?x=1 HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\nIf-None-Match: \"e\"\r\nIf-Range: \"e\"\r\n\r\n".len());
    }

    #[test]
    fn keep_alive_rules() {
        assert!(
            !p("GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
                .unwrap()
                .unwrap()
                .keep_alive
        );
        let r = p("GET / HTTP/1.0\r\n\r\n").unwrap().unwrap();
        assert!(!r.keep_alive && r.http10);
        assert!(
            p("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
                .unwrap()
                .unwrap()
                .keep_alive
        );
    }

    #[test]
    fn partial_heads_wait_for_more() {
        assert_eq!(p("GET /api/v1/fi"), Ok(None));
        assert_eq!(p("GET / HTTP/1.1\r\nHost: x\r\n"), Ok(None));
        assert_eq!(p(""), Ok(None));
    }

    #[test]
    fn limits() {
        let long_uri = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(5000));
        assert_eq!(p(&long_uri), Err(HeadError::UriTooLong));
        assert_eq!(
            p(&long_uri[..4500]),
            Err(HeadError::UriTooLong),
            "detected before the line ends"
        );
        let big = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "b".repeat(17_000));
        assert_eq!(p(&big), Err(HeadError::TooLarge));
        assert_eq!(
            p(&big[..16_500]),
            Err(HeadError::TooLarge),
            "detected before the head ends"
        );
        let many: String = (0..70).map(|i| format!("H{i}: v\r\n")).collect();
        assert_eq!(
            p(&format!("GET / HTTP/1.1\r\n{many}\r\n")),
            Err(HeadError::TooLarge)
        );
    }

    #[test]
    fn framing() {
        assert!(
            p("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n")
                .unwrap()
                .unwrap()
                .has_body
        );
        assert!(
            p("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
                .unwrap()
                .unwrap()
                .has_body
        );
        assert!(
            !p("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
                .unwrap()
                .unwrap()
                .has_body
        );
        assert_eq!(
            p("GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
            Err(HeadError::BadFraming)
        );
        assert_eq!(
            p("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            Err(HeadError::BadFraming)
        );
        assert_eq!(
            p("GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Err(HeadError::BadFraming)
        );
    }

    #[test]
    fn garbage_is_malformed() {
        assert_eq!(
            p("\x16\x03\x01\x02\x00\x01\x00\x01\x7c\x03\x03"),
            Err(HeadError::Malformed)
        );
        assert_eq!(p("GET / HTTP/2.0\r\n\r\n"), Err(HeadError::Malformed));
    }
}
