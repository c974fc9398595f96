//! One attempt to receive an object from a storage node: the `GET` (with `Range` from the
//! bytes already held), the checks on the answer (status, range, declared length, no chunked
//! bodies), then the body read up to the object's declared size and never past it, into a
//! [`Sink`]. Replication's temp files and a distributor's cache fills are sinks.

use std::cell::Cell;
use std::io;
use std::time::Instant;

use hecaton_shared::socket::{AttemptFailure, Source};
use hecaton_shared::DataObjectId;

use super::client::{self, ClientError, Head, Peers};
use super::rate::RateLimit;

/// Bytes read from a peer at a time. Each read is written to the temp file, hashed, and (for
/// a fill) wakes the viewers streaming it: at 64 KiB a 16 MiB miss took 67 ms through the
/// distributor against 21 ms straight from the storage node, at 256 KiB 41 ms
/// (`bench/compare-distributor`, 2026-12-06).
const READ_CHUNK: usize = 256 * 1024;
/// The first read of a body is smaller, so that the first bytes reach a waiting viewer sooner.
const FIRST_READ: usize = 32 * 1024;

/// Where received bytes go.
pub trait Sink {
    /// Bytes held (the next attempt resumes from here).
    fn held(&self) -> u64;
    /// Appends bytes.
    fn append(&mut self, bytes: &[u8]) -> impl std::future::Future<Output = io::Result<()>>;
}

/// What an attempt came to.
#[derive(Debug)]
pub enum Transfer {
    /// Every byte arrived.
    Complete,
    /// The source failed; what arrived is kept.
    Failed(AttemptFailure, String),
    /// Stopped on request.
    Cancelled,
    /// Our side failed (the disk): not the source's fault.
    Local(String),
}

/// An attempt's parameters.
#[derive(Debug)]
pub struct Attempt<'a> {
    /// The object.
    pub id: DataObjectId,
    /// Its declared size.
    pub size: u64,
    /// Where from.
    pub source: &'a Source,
    /// The shard's peers: limits, TLS, kept connections.
    pub peers: &'a Peers,
    /// The bandwidth cap to respect, if any.
    pub rate: Option<&'a RateLimit>,
    /// Set to stop the attempt.
    pub cancelled: &'a Cell<bool>,
}

/// Receives the rest of the object from `a.source` into `sink`; `on_head` sees the answer's
/// head before any body byte is kept, `on_bytes` each piece kept.
pub async fn receive<S: Sink>(
    sink: &mut S,
    a: Attempt<'_>,
    on_head: impl FnOnce(&Head),
    mut on_bytes: impl FnMut(u64),
) -> Transfer {
    use AttemptFailure::{BadResponse, NotFound, Unreachable};
    let offset = sink.held();
    let req = match client::Request::for_object(&a.source.endpoint, a.id) {
        Ok(r) => r,
        Err(e) => return Transfer::Failed(BadResponse, e.to_string()),
    };
    let range = (offset > 0).then(|| format!("bytes={offset}-"));
    let (head, mut body) = match client::get(a.peers, &a.source.addrs, &req, range.as_deref()).await
    {
        Ok(r) => r,
        Err(e @ (ClientError::Response(_) | ClientError::Endpoint(..))) => {
            return Transfer::Failed(BadResponse, e.to_string())
        }
        Err(e) => return Transfer::Failed(Unreachable, e.to_string()),
    };
    // Where the body starts in the object: a peer that ignores the range sends it whole, and the
    // prefix we hold is skipped (read, not kept).
    let start = match head.status {
        200 => 0,
        206 => match head.content_range {
            Some((first, last, complete))
                if first == offset && last + 1 == a.size && complete == a.size =>
            {
                offset
            }
            other => {
                return Transfer::Failed(
                    BadResponse,
                    format!("asked bytes {offset}- of {}, got range {other:?}", a.size),
                )
            }
        },
        404 => return Transfer::Failed(NotFound, "the peer does not have the object".into()),
        s => return Transfer::Failed(BadResponse, format!("the peer answered {s}")),
    };
    if head.chunked {
        return Transfer::Failed(BadResponse, "chunked bodies are not accepted".into());
    }
    let expected_len = a.size - start;
    if let Some(n) = head.content_length.filter(|n| *n != expected_len) {
        return Transfer::Failed(
            BadResponse,
            format!("the peer declares {n} bytes where the object has {expected_len} left"),
        );
    }
    on_head(&head);
    let mut skip = offset - start;
    let mut left = a.size - offset;
    let mut buf = vec![0u8; READ_CHUNK];
    let mut chunk = FIRST_READ;
    while left > 0 || skip > 0 {
        // Never more than the object's declared size: the read stops at its last byte.
        let want = (skip + left).min(chunk as u64) as usize;
        chunk = READ_CHUNK;
        let n = match body.read(&mut buf[..want]).await {
            Ok(0) => {
                return Transfer::Failed(
                    Unreachable,
                    format!("connection closed with {left} of {} bytes missing", a.size),
                )
            }
            Ok(n) => n,
            Err(e) => return Transfer::Failed(Unreachable, format!("reading: {e}")),
        };
        let mut piece = &buf[..n];
        let skipped = (skip as usize).min(piece.len());
        piece = &piece[skipped..];
        skip -= skipped as u64;
        if !piece.is_empty() {
            if let Some(rate) = a.rate {
                let wait = rate.take(piece.len(), Instant::now());
                if !wait.is_zero() {
                    glommio::timer::sleep(wait).await;
                }
            }
            if let Err(e) = sink.append(piece).await {
                return Transfer::Local(format!("writing the temp file: {e}"));
            }
            left -= piece.len() as u64;
            on_bytes(piece.len() as u64);
        }
        if a.cancelled.get() {
            return Transfer::Cancelled;
        }
        glommio::yield_if_needed().await;
    }
    Transfer::Complete
}
