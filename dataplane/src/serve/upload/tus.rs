//! Resumable uploads: the tus 1.0 core protocol with the creation and termination extensions,
//! on top of the same checks as the multipart upload.
//!
//! - `POST /api/v1/uploads?dataObjectId=&storageBucketId=&bagId=` with `Upload-Length` (the
//!   declared size): the multipart checks and room on disk (507), then an empty
//!   `uploads/<name>`; 201 with `Location: /api/v1/uploads/<name>` and `Upload-Expires`. The
//!   name is `<id>.<created>.<token>` (`store/upload_name.rs`): the random token makes the URL
//!   a capability, so a stranger who knows the object id can neither fill, probe nor delete
//!   the uploader's upload; a stranger's own upload of the same object is separate and its
//!   garbage never verifies.
//! - `HEAD /api/v1/uploads/<name>`: `Upload-Offset` (the file's length: bytes received and
//!   synced) and `Upload-Length`.
//! - `PATCH /api/v1/uploads/<name>` with `Upload-Offset` and an `application/offset+octet-stream`
//!   body: appended, synced, 204 with the new offset. A client cut off mid-body keeps what
//!   arrived. The last PATCH verifies size and content id and publishes the object. A PATCH
//!   reserves upload memory and disk room for its body before reading it, and is held to the
//!   minimum upload rate.
//! - `DELETE /api/v1/uploads/<name>`: drops the upload.
//!
//! The file lives in `uploads/`, which survives restarts, so an interrupted multi-GiB upload
//! continues where it stopped, across a data plane restart, until it expires (`--tus-expiry-secs`
//! after its creation; the sweep removes it). A PATCH holds `uploads/<name>.lock` (created
//! exclusively, swept at start-up), so concurrent PATCHes of one upload, on any shard, get 409.
//! The digest of the bytes so far is kept by the shard that received them; a PATCH arriving
//! elsewhere, or after a restart, re-reads the prefix once to rebuild it.

use std::io;
use std::path::{Path, PathBuf};

use crate::tls::Stream;
use futures_lite::AsyncWriteExt;
use glommio::io::{BufferedFile, OpenOptions};
use tracing::{debug, info};

use super::body::Body;
use super::checks;
use super::error::UploadError;
use crate::control::PublishError;
use crate::http::request::{Method, Request};
use crate::serve::exchange::{Exchange, Pending};
use crate::serve::shard::Shard;
use crate::store::temp::remove;
use crate::store::{unix_now, write_all_at, Digester, Expected, StoreError, UploadName};

/// Headers browsers may read from tus responses.
const EXPOSE: &[u8] =
    b"Upload-Offset, Upload-Length, Location, Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size";

/// Memory a PATCH reserves from its shard's upload budget before reading its body: the pieces
/// between the socket and the file.
const RESERVED_PER_PATCH: u64 = 4 * super::body::PIECE as u64;

/// Answers a request under `/api/v1/uploads`; `Ok(true)` when the connection stays open.
pub async fn handle(ex: Exchange<'_>, id_text: Option<&str>) -> io::Result<bool> {
    let Exchange {
        stream,
        req,
        shard,
        head,
        pending,
        ..
    } = ex;
    let mut consumed = !req.has_body;
    let outcome = route(stream, req, shard, pending, id_text, &mut consumed).await;
    let keep = consumed && req.keep_alive && !shard.draining.get();
    match &outcome {
        Ok(answer) if answer.completed => super::count(shard, Ok(())),
        Ok(_) => {}
        Err(e) => super::count(shard, Err(e)),
    }
    match outcome {
        Ok(answer) => {
            head.begin(answer.status)
                .header("Tus-Resumable", b"1.0.0")
                .header("Access-Control-Expose-Headers", EXPOSE)
                .header("Cache-Control", b"no-store");
            for (name, value) in &answer.headers {
                head.header(name, value.as_bytes());
            }
            if answer.status != 204 {
                head.header("Content-Length", b"0");
            }
            stream.write_all(head.finish(keep, req.http10)).await?;
            Ok(keep)
        }
        Err(UploadError::Aborted(why)) => {
            debug!("resumable upload cut: {why}");
            Ok(false)
        }
        Err(e) => {
            let mut extra: Vec<(&str, &[u8])> = vec![
                ("Tus-Resumable", b"1.0.0"),
                ("Access-Control-Expose-Headers", EXPOSE),
            ];
            if matches!(e, UploadError::TusVersion) {
                extra.push(("Tus-Version", b"1.0.0"));
            }
            super::refuse(stream, req, head, &e, extra, keep, consumed).await
        }
    }
}

struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    /// The upload was verified and published by this request.
    completed: bool,
}

async fn route(
    stream: &mut Stream,
    req: &Request,
    shard: &Shard,
    pending: Pending<'_>,
    id_text: Option<&str>,
    consumed: &mut bool,
) -> Result<Answer, UploadError> {
    if req.tus.resumable.as_deref() != Some(b"1.0.0") {
        return Err(UploadError::TusVersion);
    }
    let id = match id_text {
        None => None,
        Some(t) => Some(UploadName::parse(t).ok_or(UploadError::NoSuchUpload)?),
    };
    match (&req.method, id) {
        (Method::Post, None) => create(req, shard).await,
        (Method::Head, Some(id)) => offset(id, shard).await,
        (Method::Patch, Some(id)) => patch(stream, req, shard, pending, id, consumed).await,
        (Method::Delete, Some(id)) => terminate(id, shard).await,
        _ => Err(UploadError::Malformed(format!(
            "{} is not a tus request on this path",
            req.method.as_str()
        ))),
    }
}

fn header_u64(value: Option<&[u8]>, name: &'static str) -> Result<u64, UploadError> {
    value
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| hecaton_shared::parse_decimal_u64(v.trim()).ok())
        .ok_or(UploadError::TusHeader(name))
}

fn upload_path(shard: &Shard, name: UploadName) -> PathBuf {
    shard.storage.uploads_dir.join(name.to_string())
}

/// Refuses an upload past its expiry (the sweep removes its file).
fn live(shard: &Shard, name: UploadName) -> Result<(), UploadError> {
    if name.expired(unix_now(), shard.limits.tus_expiry.as_secs()) {
        return Err(UploadError::Gone(name.id));
    }
    Ok(())
}

async fn create(req: &Request, shard: &Shard) -> Result<Answer, UploadError> {
    let target = checks::parse_query(req.query.as_deref())?;
    let length = header_u64(req.tus.length.as_deref(), "Upload-Length")?;
    let wait = shard.limits.upload_placement_wait;
    let (_bag, object) = checks::check_settled(&target, &shard.views, wait).await?;
    if length > object.size {
        return Err(UploadError::TooLarge);
    }
    if length != object.size {
        return Err(UploadError::SizeMismatch(target.id));
    }
    if !shard.views.space.fits(length) {
        return Err(UploadError::InsufficientStorage(length));
    }
    let now = unix_now();
    let name = UploadName::new(target.id, now).map_err(internal)?;
    if !create_exclusive(&upload_path(shard, name))
        .await
        .map_err(internal)?
    {
        return Err(internal("an upload name was taken twice"));
    }
    info!(id = %target.id, length, "resumable upload created");
    let expires =
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(now) + shard.limits.tus_expiry;
    Ok(Answer {
        status: 201,
        headers: vec![
            ("Location", format!("/api/v1/uploads/{name}")),
            ("Upload-Offset", "0".into()),
            ("Upload-Expires", httpdate::fmt_http_date(expires)),
        ],
        completed: false,
    })
}

async fn file_len(path: &Path) -> Result<Option<u64>, UploadError> {
    match BufferedFile::open(path).await.map_err(io::Error::from) {
        Ok(file) => {
            let len = file.file_size().await.map_err(internal)?;
            file.close().await.map_err(internal)?;
            Ok(Some(len))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(internal(e)),
    }
}

async fn offset(name: UploadName, shard: &Shard) -> Result<Answer, UploadError> {
    let id = name.id;
    if let Some(meta) = shard.views.catalog().get(id) {
        let size = meta.size.to_string();
        return Ok(Answer {
            status: 200,
            headers: vec![("Upload-Offset", size.clone()), ("Upload-Length", size)],
            completed: false,
        });
    }
    live(shard, name)?;
    let Some(len) = file_len(&upload_path(shard, name)).await? else {
        return Err(UploadError::Gone(id));
    };
    let mut headers = vec![("Upload-Offset", len.to_string())];
    if let Some(object) = shard.views.placement().and_then(|p| p.object(id)) {
        headers.push(("Upload-Length", object.size.to_string()));
    }
    Ok(Answer {
        status: 200,
        headers,
        completed: false,
    })
}

/// Holds `uploads/<id>.lock` while a PATCH or DELETE runs; removed on every path.
struct UploadLock(PathBuf);

impl UploadLock {
    async fn acquire(shard: &Shard, name: UploadName) -> Result<Self, UploadError> {
        let path = shard.storage.uploads_dir.join(format!("{name}.lock"));
        if create_exclusive(&path).await.map_err(internal)? {
            Ok(UploadLock(path))
        } else {
            Err(UploadError::InProgress(name.id))
        }
    }

    async fn release(self) {
        remove(&self.0).await;
    }
}

async fn patch(
    stream: &mut Stream,
    req: &Request,
    shard: &Shard,
    mut pending: Pending<'_>,
    name: UploadName,
    consumed: &mut bool,
) -> Result<Answer, UploadError> {
    if req.content_type.as_deref() != Some(b"application/offset+octet-stream") {
        return Err(UploadError::NotOffsetStream);
    }
    let sent = header_u64(req.tus.offset.as_deref(), "Upload-Offset")?;
    let length = match req.content_length {
        Some(n) if !req.chunked => n,
        _ => return Err(UploadError::LengthRequired),
    };
    live(shard, name)?;
    let object = checks::check_continuation(
        name.id,
        shard.views.placement().as_deref(),
        &shard.views.catalog(),
    )?;
    // Checked before the lock or the file: an offset plus a length past the object (an
    // overflowing sum included) is refused outright (issue 14, defect 3).
    if sent.checked_add(length).is_none_or(|end| end > object.size) {
        return Err(UploadError::TooLarge);
    }
    let _memory = shard
        .storage
        .upload_memory
        .try_acquire_permit(RESERVED_PER_PATCH)
        .map_err(|_| UploadError::Busy)?;
    let _space = shard
        .views
        .space
        .lease(length)
        .ok_or(UploadError::InsufficientStorage(length))?;
    let lock = UploadLock::acquire(shard, name).await?;
    let result = append(
        stream,
        req,
        shard,
        &mut pending,
        name,
        (sent, length),
        &object,
        consumed,
    )
    .await;
    lock.release().await;
    result
}

#[allow(clippy::too_many_arguments)]
async fn append(
    stream: &mut Stream,
    req: &Request,
    shard: &Shard,
    pending: &mut Pending<'_>,
    name: UploadName,
    (sent, length): (u64, u64),
    object: &crate::placement::ObjectEntry,
    consumed: &mut bool,
) -> Result<Answer, UploadError> {
    let id = name.id;
    let path = upload_path(shard, name);
    let opened = OpenOptions::new()
        .write(true)
        .read(true)
        .buffered_open(&path)
        .await
        .map_err(io::Error::from);
    let file = match opened {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(UploadError::Gone(id)),
        Err(e) => return Err(internal(e)),
    };
    let at = file.file_size().await.map_err(internal)?;
    if sent != at {
        let _ = file.close().await;
        return Err(UploadError::OffsetMismatch { sent, actual: at });
    }
    let cached = shard.storage.resumable.borrow_mut().take(name, at);
    let mut digester = match cached {
        Some(d) => d,
        None => rehash(&file, at).await?,
    };
    if req.expect_continue {
        stream
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .await
            .map_err(|e| UploadError::Aborted(e.to_string()))?;
    }
    let mut body = Body::new(stream, pending, length, &shard.limits);
    let mut offset = at;
    let cut = loop {
        match body.next().await {
            Ok(Some(piece)) => {
                // Never past the object's end, whatever the body's length said.
                if offset + piece.len() as u64 > object.size {
                    break Some(UploadError::TooLarge);
                }
                // Every byte of the piece, whatever `write_at` managed at once (its count was
                // dropped before: issue 14, defect 8).
                if let Err(e) = write_all_at(&file, &piece, offset, &path).await {
                    break Some(internal(e));
                }
                digester.update(&piece);
                offset += piece.len() as u64;
            }
            Ok(None) => break None,
            Err(e) => break Some(e.into()),
        }
    };
    *consumed = body.remaining() == 0;
    // What arrived is kept, cut or not: the client resumes from here.
    file.fdatasync().await.map_err(internal)?;
    file.close().await.map_err(internal)?;
    if let Some(e) = cut {
        shard
            .storage
            .resumable
            .borrow_mut()
            .put(name, offset, digester);
        return Err(match e {
            UploadError::Aborted(why) => {
                UploadError::Aborted(format!("{why} (kept {offset} bytes)"))
            }
            other => other,
        });
    }
    if offset < object.size {
        shard
            .storage
            .resumable
            .borrow_mut()
            .put(name, offset, digester);
        return Ok(Answer {
            status: 204,
            headers: vec![("Upload-Offset", offset.to_string())],
            completed: false,
        });
    }
    let digest = digester.finish();
    if object.content_id.content_id() != Some(digest.content_id) {
        remove(&path).await;
        return Err(UploadError::HashMismatch(id));
    }
    let expected = Expected {
        size: object.size,
        content_id: digest.content_id,
    };
    match shard
        .publisher
        .publish(id, path.clone(), digest, expected, (Some(object.bag), None))
        .await
    {
        Ok(()) => {
            info!(%id, size = offset, "resumable upload complete");
            Ok(Answer {
                status: 204,
                headers: vec![("Upload-Offset", offset.to_string())],
                completed: true,
            })
        }
        Err(PublishError::Store(StoreError::AlreadyStored(id))) => {
            remove(&path).await;
            Err(UploadError::AlreadyStored(id))
        }
        Err(e) => Err(UploadError::Internal(e.to_string())),
    }
}

/// The digest of the first `len` bytes of `file`, read back (after a restart, or when the
/// previous PATCH landed on another shard).
async fn rehash(file: &BufferedFile, len: u64) -> Result<Digester, UploadError> {
    let mut digester = Digester::new();
    let mut pos = 0;
    while pos < len {
        let want = (len - pos).min(1 << 20) as usize;
        let chunk = file.read_at(pos, want).await.map_err(internal)?;
        if chunk.is_empty() {
            return Err(UploadError::Internal(
                "upload file shorter than its size".into(),
            ));
        }
        digester.update(&chunk);
        pos += chunk.len() as u64;
    }
    Ok(digester)
}

async fn terminate(name: UploadName, shard: &Shard) -> Result<Answer, UploadError> {
    let lock = UploadLock::acquire(shard, name).await?;
    let path = upload_path(shard, name);
    let existed = file_len(&path).await?.is_some();
    if existed {
        remove(&path).await;
        shard.storage.resumable.borrow_mut().forget(name);
    }
    lock.release().await;
    if !existed {
        return Err(UploadError::Gone(name.id));
    }
    Ok(Answer {
        status: 204,
        headers: Vec::new(),
        completed: false,
    })
}

/// Creates an empty, synced file at `path`; `false` if one exists already.
async fn create_exclusive(path: &Path) -> io::Result<bool> {
    let opened = OpenOptions::new()
        .write(true)
        .create_new(true)
        .buffered_open(path)
        .await
        .map_err(io::Error::from);
    match opened {
        Ok(file) => {
            file.fdatasync().await?;
            file.close().await?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

fn internal(e: impl std::fmt::Display) -> UploadError {
    UploadError::Internal(e.to_string())
}
