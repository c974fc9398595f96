//! An object's bytes, whole or one range, zero-copy: `GET`/`HEAD /api/v1/files/{id}` of a
//! storage node, and a distributor's cache hits (`/api/v1/assets/{id}`), which differ only in
//! their caching headers.

use std::io;

use futures_lite::AsyncWriteExt;
use hecaton_shared::{DataObjectId, DecimalError};
use tracing::error;

use crate::http::response::{error_body, ResponseHead};
use crate::http::{conditional, range};
use crate::serve::exchange::Exchange;
use crate::serve::sendfile::{send_file, send_head};

/// Colossus sends `max-age=0`: caches must revalidate, which the strong ETag makes a cheap 304.
/// (Objects are immutable under their id, but a deletion, e.g. for moderation, must take effect.)
pub const STORAGE_HEADERS: &[(&str, &[u8])] = &[("Cache-Control", b"public, max-age=0")];

/// The body of an object kept in memory (a distributor's memory tier).
pub type InMemory = std::sync::Arc<[u8]>;

/// Serves object `id_text` (the path segment after `files/`).
pub async fn serve(mut ex: Exchange<'_>, id_text: &str) -> io::Result<bool> {
    let id = match id_text.parse::<DataObjectId>() {
        Ok(id) => id,
        Err(e) => {
            let message = match e {
                DecimalError::TooLarge(_) => {
                    "request.params.id must fit in an unsigned 64-bit integer".to_string()
                }
                _ => "request.params.id should match pattern \"^\\d+$\"".to_string(),
            };
            let body = error_body("request_exception", &message);
            return ex.json(400, &body).await;
        }
    };
    let catalog = ex.shard.catalog();
    let Some(meta) = catalog.get(id) else {
        let body = error_body("files", "File not found.");
        return ex.json(404, &body).await;
    };
    send_object(&mut ex, &catalog, &meta, STORAGE_HEADERS, None).await
}

/// The status and message for an object file that could not be opened or read: gone (404), or
/// failing (500).
pub fn unreadable(e: &io::Error) -> (u16, &'static str) {
    if e.kind() == io::ErrorKind::NotFound {
        (404, "File not found.")
    } else {
        (500, "Error: the object cannot be read")
    }
}

/// Answers `req` with the published object `meta`, with `extra` header lines; from `memory`
/// when the object is kept there, else from its file.
pub async fn send_object(
    ex: &mut Exchange<'_>,
    catalog: &crate::store::Catalog,
    meta: &crate::store::Published,
    extra: &[(&str, &[u8])],
    memory: Option<InMemory>,
) -> io::Result<bool> {
    let id = meta.id;
    ex.shard.files.apply_purges(&ex.shard.views.purged);
    let open = match ex.shard.files.get(catalog, meta).await {
        Ok(open) => open,
        Err(e) => {
            error!(object = %id, "cannot serve: {e}");
            let (status, message) = unreadable(&e);
            let body = error_body("files", message);
            return ex.json(status, &body).await;
        }
    };
    let size = meta.size;
    let (req, keep, head_only) = (ex.req, ex.keep, ex.head_only());
    let Exchange {
        stream,
        head,
        shard,
        ..
    } = ex;
    let common = |head: &mut ResponseHead, status: u16| {
        head.begin(status)
            .header("Accept-Ranges", b"bytes")
            .header("ETag", &open.etag)
            .header("Content-Disposition", b"inline")
            .header("Content-Type", meta.media_type.as_str().as_bytes());
        for (name, value) in extra {
            head.header(name, value);
        }
    };

    if let Some(inm) = &req.if_none_match {
        if conditional::none_match(inm, &open.etag) {
            common(head, 304);
            send_head(stream, head.finish(keep, req.http10), false).await?;
            return Ok(keep);
        }
    }
    let range_applies = req
        .if_range
        .as_ref()
        .is_none_or(|ir| conditional::range_applies(ir, &open.etag));
    let spec = req
        .range
        .as_ref()
        .filter(|_| range_applies)
        .and_then(|r| range::parse(r));
    let (start, len) = match range::resolve(spec, size) {
        range::Resolved::Full => {
            common(head, 200);
            head.header_u64("Content-Length", size);
            (0, size)
        }
        range::Resolved::Partial { start, end } => {
            common(head, 206);
            head.header_u64("Content-Length", end - start + 1)
                .content_range(start, end, size);
            (start, end - start + 1)
        }
        range::Resolved::Unsatisfiable => {
            head.begin(416)
                .header("Content-Length", b"0")
                .content_range_unsatisfied(size);
            send_head(stream, head.finish(keep, req.http10), false).await?;
            return Ok(keep);
        }
    };
    let body_follows = !head_only && len > 0;
    head.finish(keep, req.http10);
    let range = start as usize..(start + len) as usize;
    if let (true, Some(bytes)) = (body_follows, &open.inline) {
        stream.write_all(head.append_body(&bytes[range])).await?;
        return Ok(keep);
    }
    send_head(stream, head.bytes(), body_follows).await?;
    if let (true, Some(bytes)) = (body_follows, memory) {
        stream.write_all(&bytes[range]).await?;
        return Ok(keep);
    }
    if body_follows {
        let uncached = send_file(stream, &open.file, start, len, shard.limits.send_timeout).await?;
        shard.views.metrics.uncached_body(shard.index, uncached);
    }
    Ok(keep)
}
