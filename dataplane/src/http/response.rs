//! Response heads, written straight into a per-connection buffer that is reused for every
//! response. Every response carries `Date` and, as Colossus's `cors()` does,
//! `Access-Control-Allow-Origin: *`.

use crate::http::date;

/// The most a connection's response buffer keeps between responses, in bytes: heads are well
/// under 1 KiB and inline bodies (small objects, errors, status) a few KiB; a body larger than
/// this is written from its own buffer, never copied here (see [`ResponseHead::append_body`]).
pub const KEPT_CAPACITY: usize = 64 * 1024;

/// A response head under construction.
#[derive(Debug, Default)]
pub struct ResponseHead {
    buf: Vec<u8>,
    status: u16,
    body_len: u64,
    head_len: usize,
}

/// The reason phrase of every status this server sends (RFC 9110 §15); a status missing here
/// went out as `409 Unknown` before (issue 14, defect 18), so the table is checked by a test
/// against every status the code can answer.
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        206 => "Partial Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        421 => "Misdirected Request",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        507 => "Insufficient Storage",
        _ => "Unknown",
    }
}

impl ResponseHead {
    /// Starts a response with `status`, dropping whatever the buffer held. A buffer grown past
    /// [`KEPT_CAPACITY`] by a large body is given back first, so a keep-alive connection does not
    /// keep its largest response for life (issue 14, defect 5).
    pub fn begin(&mut self, status: u16) -> &mut Self {
        self.buf.clear();
        if self.buf.capacity() > KEPT_CAPACITY {
            self.buf = Vec::new();
        }
        self.status = status;
        self.body_len = 0;
        self.head_len = 0;
        self.buf.extend_from_slice(b"HTTP/1.1 ");
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(status).as_bytes());
        self.buf.push(b' ');
        self.buf.extend_from_slice(reason(status).as_bytes());
        self.buf.extend_from_slice(b"\r\nDate: ");
        date::append_now(&mut self.buf);
        self.buf
            .extend_from_slice(b"\r\nAccess-Control-Allow-Origin: *\r\n");
        self
    }

    /// Adds a header line.
    pub fn header(&mut self, name: &str, value: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.extend_from_slice(b": ");
        self.buf.extend_from_slice(value);
        self.buf.extend_from_slice(b"\r\n");
        self
    }

    /// Adds a header with a decimal value.
    pub fn header_u64(&mut self, name: &str, value: u64) -> &mut Self {
        if name == "Content-Length" {
            self.body_len = value;
        }
        self.header(name, itoa::Buffer::new().format(value).as_bytes())
    }

    /// Adds `Content-Range: bytes start-end/size`.
    pub fn content_range(&mut self, start: u64, end: u64, size: u64) -> &mut Self {
        let mut v = Vec::with_capacity(48);
        let mut n = itoa::Buffer::new();
        v.extend_from_slice(b"bytes ");
        v.extend_from_slice(n.format(start).as_bytes());
        v.push(b'-');
        v.extend_from_slice(n.format(end).as_bytes());
        v.push(b'/');
        v.extend_from_slice(n.format(size).as_bytes());
        self.header("Content-Range", &v)
    }

    /// Adds `Content-Range: bytes */size`, the answer to an unsatisfiable range.
    pub fn content_range_unsatisfied(&mut self, size: u64) -> &mut Self {
        let mut v = b"bytes */".to_vec();
        v.extend_from_slice(itoa::Buffer::new().format(size).as_bytes());
        self.header("Content-Range", &v)
    }

    /// Ends the head with the connection disposition and returns its bytes.
    pub fn finish(&mut self, keep_alive: bool, http10: bool) -> &[u8] {
        if !keep_alive {
            self.buf.extend_from_slice(b"Connection: close\r\n");
        } else if http10 {
            self.buf.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        self.buf.extend_from_slice(b"\r\n");
        self.head_len = self.buf.len();
        &self.buf
    }

    /// Appends a body after [`finish`](Self::finish), for small in-memory bodies sent in the
    /// same write as the head.
    pub fn append_body(&mut self, body: &[u8]) -> &[u8] {
        self.buf.extend_from_slice(body);
        &self.buf
    }

    /// The status of the response begun last (0 before any).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Bytes of the last response: its head plus the body its `Content-Length` announced.
    pub fn sent_len(&self) -> u64 {
        self.head_len as u64 + self.body_len
    }

    /// Bytes of the last response's head alone.
    pub fn head_len(&self) -> u64 {
        self.head_len as u64
    }

    /// The bytes written so far.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }
}

#[derive(serde::Serialize)]
struct ErrorResponse<'a> {
    r#type: &'a str,
    message: &'a str,
}

/// Colossus's error body: `{"type": ..., "message": ...}`.
pub fn error_body(kind: &str, message: &str) -> Vec<u8> {
    serde_json::to_vec(&ErrorResponse {
        r#type: kind,
        message,
    })
    .expect("two strings always serialize")
}

impl ResponseHead {
    /// The value of header `name` in the last response's head (for the access log's
    /// `x-cache`), matched case-insensitively.
    pub fn header_value(&self, name: &str) -> Option<&[u8]> {
        let head = self.buf.get(..self.head_len)?;
        head.split(|b| *b == b'\n').find_map(|line| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let (n, v) = line.split_at(line.iter().position(|b| *b == b':')?);
            n.eq_ignore_ascii_case(name.as_bytes())
                .then(|| v[1..].trim_ascii_start())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_response_head() {
        let mut h = ResponseHead::default();
        h.begin(206)
            .header_u64("Content-Length", 10)
            .content_range(5, 14, 100);
        let text = String::from_utf8(h.finish(true, false).to_vec()).unwrap();
        assert!(text.starts_with("HTTP/1.1 206 Partial Content\r\nDate: "));
        assert!(text.contains("\r\nAccess-Control-Allow-Origin: *\r\n"));
        assert!(text.contains("\r\nContent-Length: 10\r\n"));
        assert!(text.contains("\r\nContent-Range: bytes 5-14/100\r\n"));
        let mut h = ResponseHead::default();
        h.begin(416).content_range_unsatisfied(100);
        assert!(String::from_utf8_lossy(h.bytes()).contains("\r\nContent-Range: bytes */100\r\n"));
        assert!(text.ends_with("\r\n\r\n"));
        assert!(!text.contains("Connection"));
    }

    #[test]
    fn connection_disposition() {
        let mut h = ResponseHead::default();
        let close = String::from_utf8(h.begin(200).finish(false, false).to_vec()).unwrap();
        assert!(close.ends_with("Connection: close\r\n\r\n"));
        let ka10 = String::from_utf8(h.begin(200).finish(true, true).to_vec()).unwrap();
        assert!(ka10.ends_with("Connection: keep-alive\r\n\r\n"));
        assert_eq!(
            ka10.matches("HTTP/1.1").count(),
            1,
            "begin clears the buffer"
        );
    }

    #[test]
    fn every_status_the_server_sends_has_its_reason_phrase() {
        for status in [
            100, 200, 201, 204, 206, 304, 400, 401, 403, 404, 405, 408, 409, 410, 411, 412, 413,
            414, 415, 416, 421, 429, 431, 500, 501, 502, 503, 504, 507,
        ] {
            assert_ne!(reason(status), "Unknown", "{status}");
        }
        let mut h = ResponseHead::default();
        let text = String::from_utf8(h.begin(409).finish(false, false).to_vec()).unwrap();
        assert!(text.starts_with("HTTP/1.1 409 Conflict\r\n"), "{text}");
    }

    #[test]
    fn a_large_body_does_not_stay_in_the_buffer() {
        let mut h = ResponseHead::default();
        h.begin(200).finish(true, false);
        h.append_body(&vec![b'x'; 10 << 20]);
        h.begin(200);
        assert!(h.buf.capacity() <= KEPT_CAPACITY, "{}", h.buf.capacity());
    }

    #[test]
    fn error_bodies_are_colossus_shaped() {
        let v: serde_json::Value =
            serde_json::from_slice(&error_body("files", "a \"quoted\" thing")).unwrap();
        assert_eq!(v["type"], "files");
        assert_eq!(v["message"], "a \"quoted\" thing");
    }
}
