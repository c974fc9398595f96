//! `POST /api/v1/files?dataObjectId=&storageBucketId=&bagId=`: a Colossus-compatible upload
//! (Colossus 4.x), done the way Colossus should:
//!
//! 1. the query and placement checks, in Colossus's order, before a byte of the body is read
//!    (`checks.rs`); a body longer than the declared size can be is refused at once (413);
//! 2. memory for the upload's buffers is reserved from the shard's budget (503 + Retry-After
//!    when it is taken), then `100 Continue` is sent if the client waits for it;
//! 3. the body is streamed, never buffered whole: multipart parsed as it arrives, the file part
//!    written with DMA and hashed (BLAKE3, crc32 per chunk) in the same pass, and cut off the
//!    moment it exceeds the declared size (`multipart.rs`, `temp.rs`);
//! 4. size and content id are compared with what the chain declared; only then is the file
//!    handed to the store writer, which syncs, renames and indexes it — and the object is served
//!    at once, before the chain accepts it (Colossus hides it until then: Joystream #5060);
//! 5. on every failure path, the client's disconnect included, the temp file is removed.
//!
//! A rejected request whose body was not read is answered, then its connection drained for a
//! bounded time before closing, so the client sees the answer instead of a reset.

mod body;
mod checks;
mod error;
mod multipart;
pub mod resume;
mod tus;

use std::io;
use std::time::{Duration, Instant};

use crate::tls::Stream;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use tracing::{debug, info};

pub use error::UploadError;
pub use tus::handle as tus;

use self::body::Body;
use crate::control::PublishError;
use crate::http::request::Request;
use crate::http::response::{error_body, ResponseHead};
use crate::metrics::UploadOutcome;
use crate::serve::exchange::{Exchange, Pending};
use crate::serve::respond::{send_json, send_json_with};
use crate::serve::shard::Shard;
use crate::store::temp::{self, TempObject, WRITE_BUFFER};
use crate::store::{Expected, StoreError};

/// Room for the multipart framing around the file (boundaries, part headers, small fields).
const MULTIPART_OVERHEAD: u64 = 64 * 1024;

/// Memory an upload reserves from its shard before its body is read: the DMA buffers plus the
/// pieces in flight between the socket and the parser (1.75 MiB; `--upload-memory-mib` is at
/// least 2, so one upload always fits).
pub const RESERVED_PER_UPLOAD: usize = 3 * WRITE_BUFFER + 4 * body::PIECE;

/// How long the rest of a refused body is drained after the answer (as nginx's lingering
/// close: at most `LINGER_TIME` in all, `LINGER_IDLE` without a byte).
const LINGER_TIME: Duration = Duration::from_secs(30);
const LINGER_IDLE: Duration = Duration::from_secs(2);

/// Answers an upload; `Ok(true)` when the connection stays open.
pub async fn post(ex: Exchange<'_>) -> io::Result<bool> {
    // The body is read here in pieces, between the socket and the pending bytes: the context
    // is taken apart once.
    let Exchange {
        stream,
        req,
        shard,
        head,
        mut pending,
        ..
    } = ex;
    let started = Instant::now();
    let mut consumed = false;
    let outcome = receive(stream, req, shard, &mut pending, &mut consumed).await;
    let keep = consumed && req.keep_alive && !shard.draining.get();
    count(shard, outcome.as_ref().map(|_| ()));
    match outcome {
        Ok(content_id) => {
            info!(elapsed_ms = started.elapsed().as_millis() as u64, %content_id, "upload stored");
            let body = serde_json::to_vec(&serde_json::json!({ "id": content_id }))
                .expect("a string serializes");
            send_json(stream, head, 201, &body, keep, req.http10, false).await
        }
        Err(UploadError::Aborted(why)) => {
            debug!("upload aborted: {why}");
            Ok(false)
        }
        Err(e) => {
            debug!(status = e.status(), "upload refused: {e}");
            let answered = refuse(stream, req, head, &e, Vec::new(), keep, consumed).await;
            // A body cut short is never the start of the next request.
            answered.map(|keep| keep && !matches!(e, UploadError::TooSlow(_)))
        }
    }
}

/// Answers an upload request (multipart or tus) that failed with `e`, with `extra` header
/// lines; then, if the body was not read, drains it so the client reads the answer.
pub(super) async fn refuse(
    stream: &mut Stream,
    req: &Request,
    head: &mut ResponseHead,
    e: &UploadError,
    mut extra: Vec<(&str, &[u8])>,
    keep: bool,
    consumed: bool,
) -> io::Result<bool> {
    let body = error_body(e.kind(), &e.message());
    if e.retry_later() {
        extra.push(("Retry-After", b"1"));
    }
    let head_only = req.method == crate::http::request::Method::Head;
    send_json_with(
        stream,
        head,
        e.status(),
        &extra,
        &body,
        keep,
        req.http10,
        head_only,
    )
    .await?;
    // A too-slow client is not waited for a second time.
    if !consumed && !req.expect_continue && !matches!(e, UploadError::TooSlow(_)) {
        linger(stream, req.content_length.unwrap_or(0)).await;
    }
    Ok(keep)
}

/// Counts how an upload request ended.
fn count(shard: &Shard, outcome: Result<(), &UploadError>) {
    let outcome = match outcome {
        Ok(()) => UploadOutcome::Stored,
        Err(UploadError::Aborted(_)) => UploadOutcome::Aborted,
        Err(e) if e.status() == 500 => UploadOutcome::Failed,
        Err(_) => UploadOutcome::Refused,
    };
    shard.views.metrics.upload(shard.index, outcome);
}

/// Checks, receives, verifies and publishes; the object's content id on success.
async fn receive(
    stream: &mut Stream,
    req: &Request,
    shard: &Shard,
    pending: &mut Pending<'_>,
    consumed: &mut bool,
) -> Result<String, UploadError> {
    let target = checks::parse_query(req.query.as_deref())?;
    let wait = shard.limits.upload_placement_wait;
    let (bag, object) = checks::check_settled(&target, &shard.views, wait).await?;
    let boundary = req
        .content_type
        .as_deref()
        .and_then(|ct| std::str::from_utf8(ct).ok())
        .and_then(|ct| multer::parse_boundary(ct).ok())
        .ok_or(UploadError::NotMultipart)?;
    let length = match req.content_length {
        Some(n) if !req.chunked => n,
        _ => return Err(UploadError::LengthRequired),
    };
    if length > object.size.saturating_add(MULTIPART_OVERHEAD) {
        return Err(UploadError::TooLarge);
    }
    let _memory = shard
        .storage
        .upload_memory
        .try_acquire_permit(RESERVED_PER_UPLOAD as u64)
        .map_err(|_| UploadError::Busy)?;
    let _space = shard
        .views
        .space
        .lease(object.size)
        .ok_or(UploadError::InsufficientStorage(object.size))?;
    let mut temp = TempObject::create(&shard.tmp_dir, "upload", target.id, &shard.views.temps)
        .await
        .map_err(|e| match e {
            temp::TempError::Busy => UploadError::InProgress(target.id),
            temp::TempError::Io(e) => UploadError::Internal(format!("creating a temp file: {e}")),
        })?;
    if req.expect_continue {
        if let Err(e) = stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await {
            temp.discard().await;
            return Err(UploadError::Aborted(e.to_string()));
        }
    }
    let mut body = Body::new(stream, pending, length, &shard.limits);
    let received = multipart::receive(&mut body, &boundary, &mut temp, object.size).await;
    *consumed = body.remaining() == 0;
    match received {
        Ok(true) => {}
        Ok(false) => {
            temp.discard().await;
            return Err(UploadError::NoFile);
        }
        Err(e) => {
            temp.discard().await;
            return Err(e);
        }
    }
    let temp::Finished {
        path,
        digest,
        lease: _lease,
    } = temp
        .finish()
        .await
        .map_err(|e| UploadError::Internal(format!("closing the upload: {e}")))?;
    let content_id = digest.content_id.to_string();
    let refusal = if digest.size != object.size {
        Some(UploadError::SizeMismatch(target.id))
    } else if object.content_id.content_id() != Some(digest.content_id) {
        Some(UploadError::HashMismatch(target.id))
    } else {
        None
    };
    if let Some(e) = refusal {
        temp::remove(&path).await;
        return Err(e);
    }
    let expected = Expected {
        size: object.size,
        content_id: digest.content_id,
    };
    match shard
        .publisher
        .publish(
            target.id,
            path.clone(),
            digest,
            expected,
            (Some(bag), Some(target.bucket)),
        )
        .await
    {
        Ok(()) => Ok(content_id),
        Err(e) => {
            temp::remove(&path).await;
            Err(match e {
                PublishError::Store(StoreError::AlreadyStored(id)) => {
                    UploadError::AlreadyStored(id)
                }
                other => UploadError::Internal(other.to_string()),
            })
        }
    }
}

/// Reads and drops what the client still sends of a body we refused, so that closing does not
/// reset the connection before the client read the answer (a reset discards it from the
/// client's receive buffer). Bounded by the body's length, `LINGER_TIME` and `LINGER_IDLE`.
async fn linger(stream: &mut Stream, body: u64) {
    let mut scratch = vec![0u8; 64 * 1024];
    let mut drained = 0u64;
    let deadline = std::time::Instant::now() + LINGER_TIME;
    while drained < body {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            break;
        }
        let read = glommio::timer::timeout(left.min(LINGER_IDLE), async {
            Ok(stream.read(&mut scratch).await)
        })
        .await;
        match read {
            Ok(Ok(n)) if n > 0 => drained += n as u64,
            _ => break,
        }
    }
}
