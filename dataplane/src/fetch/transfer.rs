//! One attempt to receive an object from a storage node, from the bytes already held: as a
//! verified slice (`slice.rs`; each group checked against the content id before it is kept),
//! or from a peer without slices as plain bytes (`GET` with `Range`; the answer's status,
//! range and declared length checked, no chunked bodies, the body read up to the object's
//! declared size and never past it). Into a [`Sink`]: replication's temp files and a
//! distributor's cache fills are sinks.

use std::cell::Cell;
use std::io;
use std::time::Instant;

use hecaton_shared::socket::{AttemptFailure, Source};
use hecaton_shared::DataObjectId;

use super::client::{self, ClientError, Peers};
use super::rate::RateLimit;
use super::slice::{self, Opened, SliceBody, SliceError};

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
    /// Appends `bytes`: a sink that writes them later takes them (the vector is left empty),
    /// others leave them, and the vector is used again; `proven` when they were checked
    /// against the content id as part of a verified slice (else they are checked once the
    /// object is whole).
    fn append(
        &mut self,
        bytes: &mut Vec<u8>,
        proven: Option<Proven<'_>>,
    ) -> impl std::future::Future<Output = io::Result<()>>;
    /// The media type the peer's store gives the object (a verified slice's head says it
    /// before any byte); sinks that do not answer viewers ignore it.
    fn peer_media_type(&mut self, _media: &str) {}
}

/// What is known of bytes that came in a verified slice.
#[derive(Debug, Clone, Copy)]
pub struct Proven<'a> {
    /// The CV of each of their groups, when they are whole groups from a group's start (else
    /// empty): a digest of them need not hash them again.
    pub cvs: &'a [[u8; 32]],
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
    /// The content id's digest: with it, the bytes are asked as a verified slice.
    pub root: Option<[u8; 32]>,
}

/// Receives the rest of the object from `a.source` into `sink`, `on_bytes` seeing each piece
/// kept: as a verified slice when the content id is known and the peer serves slices, else as
/// plain bytes (checked by the caller once whole).
pub async fn receive<S: Sink>(
    sink: &mut S,
    a: Attempt<'_>,
    mut on_bytes: impl FnMut(u64),
) -> Transfer {
    let offset = sink.held();
    if a.size > 0 && offset >= a.size {
        return Transfer::Complete;
    }
    let endpoint = &a.source.endpoint;
    let mut declined = None;
    if let Some(root) = a.root.filter(|_| a.peers.serves_slices(endpoint)) {
        let object = (a.size, &root);
        let range = (offset, None);
        match slice::open(a.peers, a.source, a.id, object, range, slice::READ).await {
            Opened::Slice(body) => return receive_slice(sink, &a, body, &mut on_bytes).await,
            Opened::Failed(failure, reason) => return Transfer::Failed(failure, reason),
            Opened::NotServed(status) => declined = Some(status),
        }
    }
    let transfer = receive_plain(sink, &a, &mut on_bytes).await;
    // A peer that has the object and answered its slice 404 has no slices route (Colossus).
    if declined == Some(404) && sink.held() > offset {
        a.peers.no_slices(endpoint);
    }
    transfer
}

/// Keeps `piece` (proven or not), within the bandwidth cap.
async fn keep<S: Sink>(
    sink: &mut S,
    a: &Attempt<'_>,
    piece: &mut Vec<u8>,
    proven: Option<Proven<'_>>,
    on_bytes: &mut impl FnMut(u64),
) -> Result<(), Transfer> {
    let len = piece.len();
    if let Some(rate) = a.rate {
        let wait = rate.take(len, Instant::now());
        if !wait.is_zero() {
            glommio::timer::sleep(wait).await;
        }
    }
    if let Err(e) = sink.append(piece, proven).await {
        return Err(Transfer::Local(format!("writing the temp file: {e}")));
    }
    on_bytes(len as u64);
    if a.cancelled.get() {
        return Err(Transfer::Cancelled);
    }
    glommio::yield_if_needed().await;
    Ok(())
}

/// Receives a verified slice from the bytes held to the end, keeping each group once proven.
async fn receive_slice<S: Sink>(
    sink: &mut S,
    a: &Attempt<'_>,
    mut body: Box<SliceBody>,
    on_bytes: &mut impl FnMut(u64),
) -> Transfer {
    use AttemptFailure::{Corrupt, Unreachable};
    if let Some(media) = body.media_type.as_deref() {
        sink.peer_media_type(media);
    }
    let capacity = slice::RUN + hecaton_shared::bao::GROUP as usize;
    let mut run = Vec::with_capacity(capacity);
    let mut cvs = Vec::new();
    // The first run is small, so that a viewer waiting on a fill has its first bytes sooner.
    let mut want = slice::FIRST_RUN;
    loop {
        let at = match body.next_run(&mut run, &mut cvs, want).await {
            Ok(Some(at)) => at,
            Ok(None) => break,
            Err(SliceError::Io(e)) => {
                return Transfer::Failed(Unreachable, format!("reading: {e}"))
            }
            Err(e @ SliceError::Forged { .. }) => return Transfer::Failed(Corrupt, e.to_string()),
        };
        // The first run may start before the bytes held (an earlier attempt cut mid-group).
        let skip = (sink.held().saturating_sub(at) as usize).min(run.len());
        // The groups' CVs spare the sink's digest hashing them again (only whole groups).
        let proven = Proven {
            cvs: if skip == 0 { &cvs } else { &[] },
        };
        run.drain(..skip);
        if let Err(t) = keep(sink, a, &mut run, Some(proven), on_bytes).await {
            return t;
        }
        // A fill took the run to write it behind the fetch: the next one needs room again.
        run.clear();
        run.reserve(capacity);
        want = slice::RUN;
    }
    if sink.held() != a.size {
        return Transfer::Failed(
            AttemptFailure::BadResponse,
            format!("the slice ended at {} of {} bytes", sink.held(), a.size),
        );
    }
    Transfer::Complete
}

/// Receives the rest of the object as plain bytes (`GET /api/v1/files/{id}` with `Range`).
async fn receive_plain<S: Sink>(
    sink: &mut S,
    a: &Attempt<'_>,
    on_bytes: &mut impl FnMut(u64),
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
    let mut skip = offset - start;
    let mut left = a.size - offset;
    let mut buf = vec![0u8; READ_CHUNK];
    // What is kept of each read, handed to the sink.
    let mut kept = Vec::with_capacity(READ_CHUNK);
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
            left -= piece.len() as u64;
            kept.clear();
            kept.extend_from_slice(piece);
            if let Err(t) = keep(sink, a, &mut kept, None, on_bytes).await {
                return t;
            }
        } else if a.cancelled.get() {
            return Transfer::Cancelled;
        }
    }
    Transfer::Complete
}
