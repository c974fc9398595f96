//! Proxying to a storage node, for what is not cached: objects larger than the largest cached
//! item, ranges that start past what a fill has received, and misses while the fills are at
//! their limit of bytes or the disk at its reserve. From a storage node that serves verified
//! slices the bytes are asked as one and each 16 KiB group is checked against the content id
//! before any of it is relayed (a forged group cuts the response); from one that does not
//! (Colossus), plain. The distributor decides the answer itself
//! from the chain's size of the object (status, `Content-Length`, `Content-Range`, 416) and asks
//! the storage node for exactly those bytes; a source whose answer does not match them exactly
//! is skipped for the next. A peer therefore cannot choose the viewer's status, length or
//! media type: the type is passed on only when it is a media type a player uses, otherwise
//! `application/octet-stream`, always with `nosniff` (a peer answered `text/html`, served from
//! the distributor's origin: issue 14, defect 16). The body is relayed as it arrives, never
//! more than the length announced, and the viewer is held to the minimum send rate.

use std::io;

use futures_lite::AsyncWriteExt;
use hecaton_shared::socket::Source;
use hecaton_shared::DataObjectId;

use hecaton_shared::socket::AttemptFailure;
use tracing::warn;

use super::from_fill::answer_range;
use crate::fetch::client::{self, Head};
use crate::fetch::slice::{self, Opened, SliceBody, SliceError};
use crate::fill::task::report_failure;
use crate::http::request::Method;
use crate::http::response::ResponseHead;
use crate::metrics::Served;
use crate::serve::exchange::Exchange;
use crate::serve::sendfile::Pace;
use crate::store::media_type::safe_media_type;

/// Headers of every proxied response.
const EXTERNAL_HEADERS: &[(&str, &[u8])] = &[
    ("X-Cache", b"miss"),
    ("X-Data-Source", b"external"),
    ("Cache-Control", b"max-age=180, must-revalidate"),
    ("Timing-Allow-Origin", b"*"),
    ("Access-Control-Expose-Headers", b"x-cache, x-data-source"),
    ("Content-Disposition", b"inline"),
    ("Accept-Ranges", b"bytes"),
    ("X-Content-Type-Options", b"nosniff"),
];

/// Relays `req` for object `id` of `size` bytes (content id digest `root`, when known) from the
/// first of `sources` whose answer matches; `None` when none did (nothing was sent). A source
/// that serves slices sends the range as one, and only proven bytes are relayed.
pub async fn serve(
    ex: &mut Exchange<'_>,
    (id, size): (DataObjectId, u64),
    root: Option<&[u8; 32]>,
    sources: &[Source],
) -> Option<io::Result<bool>> {
    let (req, shard, keep) = (ex.req, ex.shard, ex.keep);
    let peers = &shard.distributor.fill_env.peers;
    let (status, start, end) = match answer_range(ex, size).await {
        Ok(resolved) => resolved,
        Err(answered) => return Some(answered),
    };
    let len = if size == 0 { 0 } else { end - start + 1 };
    let ask = (status == 206).then(|| format!("bytes={start}-{end}"));
    for source in sources {
        if let Some(root) = root.filter(|_| peers.serves_slices(&source.endpoint)) {
            let last = (size > 0).then_some(end);
            let range = (start, last);
            match slice::open(peers, source, id, (size, root), range, slice::RELAY).await {
                Opened::Slice(body) => {
                    let wanted = (status, start, len);
                    return Some(relay_proven(ex, (id, size), source, wanted, body).await);
                }
                Opened::Failed(..) => continue,
                Opened::NotServed(_) => {}
            }
        }
        let Ok(target) = client::Request::for_object(&source.endpoint, id) else {
            continue;
        };
        let Ok((up, mut body)) = client::get(peers, &source.addrs, &target, ask.as_deref()).await
        else {
            continue;
        };
        if !matches_exactly(&up, status, (start, end), size) {
            continue;
        }
        let Exchange { stream, head, .. } = &mut *ex;
        external_head(head, (status, start, len, size), up.content_type.as_deref());
        let result = async {
            stream.write_all(head.finish(keep, req.http10)).await?;
            if req.method == Method::Head {
                return Ok(keep);
            }
            let mut pace = Pace::new(shard.limits.send_timeout, 0);
            let mut left = len;
            let mut buf = vec![0u8; 64 * 1024];
            while left > 0 {
                pace.check(len - left)?;
                let want = (left as usize).min(buf.len());
                let n = body.read(&mut buf[..want]).await?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the storage node closed mid-body",
                    ));
                }
                stream.write_all(&buf[..n]).await?;
                left -= n as u64;
            }
            Ok(keep)
        }
        .await;
        if result.is_ok() {
            shard
                .views
                .metrics
                .served(shard.index, Served::Proxied, len);
        }
        return Some(result);
    }
    None
}

/// Begins a proxied answer's head: `status` (200 or 206 for `len` bytes from `start` of `size`),
/// the peer's media type if it is a safe one, the external headers.
fn external_head(
    head: &mut ResponseHead,
    (status, start, len, size): (u16, u64, u64, u64),
    media: Option<&str>,
) {
    head.begin(status)
        .header("Content-Type", safe_media_type(media).as_bytes())
        .header_u64("Content-Length", len);
    if status == 206 {
        head.content_range(start, start + len - 1, size);
    }
    for (name, value) in EXTERNAL_HEADERS {
        head.header(name, value);
    }
}

/// Sends the viewer `len` bytes from `start` (`status` 200 or 206) out of a verified slice, each
/// group only once proven; a forged group cuts the response (the viewer's client reports it
/// short) and is reported against the source.
async fn relay_proven(
    ex: &mut Exchange<'_>,
    (id, size): (DataObjectId, u64),
    source: &Source,
    (status, start, len): (u16, u64, u64),
    mut body: Box<SliceBody>,
) -> io::Result<bool> {
    let (req, shard, keep) = (ex.req, ex.shard, ex.keep);
    let Exchange { stream, head, .. } = &mut *ex;
    external_head(head, (status, start, len, size), body.media_type.as_deref());
    stream.write_all(head.finish(keep, req.http10)).await?;
    if req.method == Method::Head {
        return Ok(keep);
    }
    let mut pace = Pace::new(shard.limits.send_timeout, 0);
    let (mut pos, stop) = (start, start + len);
    let mut run = Vec::with_capacity(slice::RELAY + hecaton_shared::bao::GROUP as usize);
    let mut cvs = Vec::new();
    while pos < stop {
        pace.check(pos - start)?;
        let at = match body.next_run(&mut run, &mut cvs, slice::RELAY).await {
            Ok(Some(at)) => at,
            Ok(None) => break,
            Err(e) => {
                if let SliceError::Forged { .. } = e {
                    warn!(%id, source = %source.endpoint, "proxied range: {e}; response cut");
                    let env = &shard.distributor.fill_env;
                    let why = e.to_string();
                    report_failure(env, id, &source.endpoint, AttemptFailure::Corrupt, &why);
                }
                return Err(io::Error::new(io::ErrorKind::ConnectionAborted, e));
            }
        };
        // The slice's groups cover the range: each run starts at or before `pos`.
        let from = (pos - at) as usize;
        let to = ((stop - at) as usize).min(run.len());
        if from < to {
            stream.write_all(&run[from..to]).await?;
            pos = at + to as u64;
        }
    }
    if pos != stop {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the slice ended before the range",
        ));
    }
    shard
        .views
        .metrics
        .served(shard.index, Served::Proxied, len);
    Ok(keep)
}

/// Whether a peer's answer is exactly the bytes asked: the whole object (200 with its size)
/// or the range (206 with the same range of the same size), never chunked.
fn matches_exactly(up: &Head, status: u16, (start, end): (u64, u64), size: u64) -> bool {
    if up.chunked || up.status != status {
        return false;
    }
    match status {
        200 => up.content_length == Some(size),
        _ => {
            up.content_range == Some((start, end, size))
                && up.content_length == Some(end - start + 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_must_be_the_bytes_asked() {
        let head = |status, len, range| Head {
            status,
            content_type: None,
            object_type: None,
            content_length: len,
            content_range: range,
            chunked: false,
            close: false,
        };
        assert!(matches_exactly(&head(200, Some(10), None), 200, (0, 9), 10));
        assert!(!matches_exactly(
            &head(200, Some(11), None),
            200,
            (0, 9),
            10
        ));
        assert!(!matches_exactly(&head(200, None, None), 200, (0, 9), 10));
        assert!(!matches_exactly(
            &head(200, Some(10), None),
            206,
            (2, 5),
            10
        ));
        assert!(matches_exactly(
            &head(206, Some(4), Some((2, 5, 10))),
            206,
            (2, 5),
            10
        ));
        assert!(!matches_exactly(
            &head(206, Some(4), Some((2, 5, 11))),
            206,
            (2, 5),
            10
        ));
        assert!(!matches_exactly(
            &head(500, Some(10), None),
            200,
            (0, 9),
            10
        ));
    }
}
