//! Writing responses that are not object bytes: JSON bodies with their head in one write, and
//! the CORS preflight. Object bodies go out in `sendfile.rs`; routes answer through
//! [`Exchange`](super::exchange::Exchange), which calls these.

use std::io;

use futures_lite::AsyncWriteExt;

use crate::http::request::Request;
use crate::http::response::ResponseHead;
use crate::tls::Stream;

const JSON: &[u8] = b"application/json; charset=utf-8";

/// JSON bodies up to this many bytes go out in the same write as their head.
const INLINE_BODY: usize = 16 * 1024;

/// Sends a JSON response (head and body in one write; the body is left out for HEAD).
pub async fn send_json(
    stream: &mut Stream,
    head: &mut ResponseHead,
    status: u16,
    body: &[u8],
    keep: bool,
    http10: bool,
    head_only: bool,
) -> io::Result<bool> {
    send_json_with(stream, head, status, &[], body, keep, http10, head_only).await
}

/// [`send_json`] with extra header lines.
#[allow(clippy::too_many_arguments)]
pub async fn send_json_with(
    stream: &mut Stream,
    head: &mut ResponseHead,
    status: u16,
    extra: &[(&str, &[u8])],
    body: &[u8],
    keep: bool,
    http10: bool,
    head_only: bool,
) -> io::Result<bool> {
    let typed = Typed {
        content_type: JSON,
        extra,
        body,
    };
    send_body_with(stream, head, status, typed, keep, http10, head_only).await
}

/// A response body with its type and extra header lines.
#[derive(Debug, Clone, Copy)]
pub struct Typed<'b> {
    /// `Content-Type`.
    pub content_type: &'b [u8],
    /// Extra header lines.
    pub extra: &'b [(&'b str, &'b [u8])],
    /// The body.
    pub body: &'b [u8],
}

/// Sends a response with a body in memory, of any type.
pub async fn send_body_with(
    stream: &mut Stream,
    head: &mut ResponseHead,
    status: u16,
    typed: Typed<'_>,
    keep: bool,
    http10: bool,
    head_only: bool,
) -> io::Result<bool> {
    let body = typed.body;
    head.begin(status);
    for (name, value) in typed.extra {
        head.header(name, value);
    }
    head.header("Content-Type", typed.content_type)
        .header_u64("Content-Length", body.len() as u64);
    head.finish(keep, http10);
    if head_only {
        stream.write_all(head.bytes()).await?;
    } else if body.len() > INLINE_BODY {
        // Large bodies (every id at mainnet's size is ~20 MB) go from their own buffer, so the
        // connection's head buffer never grows to them.
        stream.write_all(head.bytes()).await?;
        stream.write_all(body).await?;
    } else {
        stream.write_all(head.append_body(body)).await?;
    }
    Ok(keep)
}

/// Sends a JSON response of `len` bytes whose body `piece` appends a piece at a time (it
/// returns false after the last). A body that turns out not to be `len` bytes long is an
/// error (the connection is closed rather than left with a framing the client misreads).
#[allow(clippy::too_many_arguments)]
pub async fn send_json_streamed(
    stream: &mut Stream,
    head: &mut ResponseHead,
    status: u16,
    len: u64,
    mut piece: impl FnMut(&mut Vec<u8>) -> bool,
    keep: bool,
    http10: bool,
    head_only: bool,
) -> io::Result<bool> {
    head.begin(status);
    head.header("Content-Type", JSON)
        .header_u64("Content-Length", len);
    head.finish(keep, http10);
    stream.write_all(head.bytes()).await?;
    if head_only {
        return Ok(keep);
    }
    let mut buf = Vec::with_capacity(2 * INLINE_BODY);
    let mut sent = 0u64;
    loop {
        buf.clear();
        let more = piece(&mut buf);
        sent += buf.len() as u64;
        if sent > len {
            break;
        }
        stream.write_all(&buf).await?;
        if !more {
            break;
        }
    }
    if sent != len {
        return Err(io::Error::other(format!(
            "a streamed body of {sent} bytes was announced as {len}"
        )));
    }
    Ok(keep)
}

/// CORS preflight, as Express's `cors()` answers it for every path.
pub async fn preflight(
    stream: &mut Stream,
    req: &Request,
    head: &mut ResponseHead,
    keep: bool,
) -> io::Result<bool> {
    head.begin(204)
        .header(
            "Access-Control-Allow-Methods",
            b"GET,HEAD,PUT,PATCH,POST,DELETE",
        )
        // tus discovery (resumable uploads under /api/v1/uploads).
        .header("Tus-Resumable", b"1.0.0")
        .header("Tus-Version", b"1.0.0")
        .header("Tus-Extension", b"creation,termination")
        .header("Vary", b"Access-Control-Request-Headers");
    if let Some(asked) = &req.cors_request_headers {
        head.header("Access-Control-Allow-Headers", asked);
    }
    head.header("Content-Length", b"0");
    stream.write_all(head.finish(keep, req.http10)).await?;
    Ok(keep)
}
