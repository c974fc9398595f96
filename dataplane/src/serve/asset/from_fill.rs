//! A response served from a fill in progress: from the growing temp file with `sendfile`,
//! waking as bytes arrive; bytes that came plain (not as a verified slice) have the object's
//! last byte held back until the fill is verified.
//! Ranges are exact (Argus sent a whole megabyte after a `bytes=0-99` header); one that starts
//! past what has arrived (by more than [`AHEAD`]) is left to the proxy.

use std::io;
use std::rc::Rc;
use std::sync::Arc;

use glommio::io::BufferedFile;

use crate::fill::{Fill, FillState};
use crate::http::range;
use crate::http::request::Method;
use crate::metrics::Served;
use crate::serve::exchange::Exchange;
use crate::serve::open_files::OpenObject;
use crate::serve::sendfile::{send_file, send_head};
use crate::serve::shard::Shard;
use crate::tls::Stream;

/// A range starting this far past the arrived bytes is proxied rather than waited for (a player
/// reading the end of a file for its index must not wait for the whole file).
pub const AHEAD: u64 = 2 << 20;

/// What serving from a fill came to.
#[derive(Debug)]
pub enum FromFill {
    /// Answered (`Ok(true)`: keep the connection).
    Answered(io::Result<bool>),
    /// The fill finished and its file is in the store: serve it as a hit.
    Stored,
    /// The range starts too far ahead: proxy it.
    Proxy,
    /// The fill failed before anything was sent.
    Failed,
}

/// Headers of every response from a fill in progress (the bytes are not verified yet; the
/// media type may be the storage node's, as a proxied response's is, hence `nosniff`).
pub const PENDING_HEADERS: &[(&str, &[u8])] = &[
    ("Cache-Control", b"max-age=180, must-revalidate"),
    ("X-Data-Source", b"local"),
    ("Timing-Allow-Origin", b"*"),
    ("Access-Control-Expose-Headers", b"x-cache, x-data-source"),
    ("Content-Disposition", b"inline"),
    ("Accept-Ranges", b"bytes"),
    ("X-Content-Type-Options", b"nosniff"),
];

/// The status and inclusive byte range that answer `req` for an object of `size` bytes (200 and
/// the whole, or 206 and the range asked), or `Err` with the 416 already sent.
pub async fn answer_range(
    ex: &mut Exchange<'_>,
    size: u64,
) -> Result<(u16, u64, u64), io::Result<bool>> {
    let (req, keep) = (ex.req, ex.keep);
    let spec = req.range.as_ref().and_then(|r| range::parse(r));
    match range::resolve(spec, size) {
        range::Resolved::Full => Ok((200, 0, size.saturating_sub(1))),
        range::Resolved::Partial { start, end } => Ok((206, start, end)),
        range::Resolved::Unsatisfiable => {
            ex.head
                .begin(416)
                .header("Content-Length", b"0")
                .content_range_unsatisfied(size);
            let sent = send_head(ex.stream, ex.head.finish(keep, req.http10), false).await;
            Err(sent.map(|_| keep))
        }
    }
}

/// Answers `req` from `fill`; `how` says whether this request started it.
pub async fn serve(ex: &mut Exchange<'_>, fill: &Arc<Fill>, how: Served) -> FromFill {
    while fill.media_type.get().is_none() && fill.state() == FillState::Running {
        fill.changed(fill.written(), true).await;
    }

    match fill.state() {
        FillState::Failed => return FromFill::Failed,
        FillState::Verified => return FromFill::Stored,
        FillState::Running | FillState::Checked => {}
    }
    let size = fill.size;
    let (status, start, end) = match answer_range(ex, size).await {
        Ok(resolved) => resolved,
        Err(answered) => return FromFill::Answered(answered),
    };
    let (req, shard, keep) = (ex.req, ex.shard, ex.keep);
    let Exchange { stream, head, .. } = ex;
    if status == 206 && start > fill.written() + AHEAD {
        return FromFill::Proxy;
    }
    let generation = fill.generation();
    let len = if size == 0 { 0 } else { end - start + 1 };
    head.begin(status)
        .header(
            "Content-Type",
            fill.media_type.get().map_or(&b""[..], |m| m.as_bytes()),
        )
        .header(
            "X-Cache",
            if how == Served::Miss {
                b"miss"
            } else {
                b"pending"
            },
        );
    for (name, value) in PENDING_HEADERS {
        head.header(name, value);
    }
    head.header_u64("Content-Length", len);
    if status == 206 {
        head.content_range(start, end, size);
    }
    head.finish(keep, req.http10);
    let body = req.method != Method::Head && len > 0;
    // The head goes before the fill's file is opened (the open waits on io_uring behind the
    // fill on this shard: 1.5-3 ms of a miss's first byte, 2026-12-07). With bytes to send it
    // leaves with the first of them; without, at once: the viewer learns the length and type
    // while the first bytes are checked.
    let ready = fill.written() > start || fill.state() != FillState::Running;
    let result = async {
        send_head(stream, head.bytes(), body && ready).await?;
        if body {
            let Some(file) = FillFile::open(shard, fill).await else {
                let why = "the fill's bytes are gone; response cut";
                return Err(io::Error::new(io::ErrorKind::ConnectionAborted, why));
            };
            let sent = stream_body(stream, shard, fill, file.get(), generation, start, end).await;
            file.close().await;
            sent?;
        }
        Ok(keep)
    }
    .await;
    if result.is_ok() {
        shard.views.metrics.served(shard.index, how, len);
    }
    FromFill::Answered(result)
}

/// The file a response from a fill reads: the fill's temp file, or the object in the store
/// when the fill was published (its temp file renamed into the store) before the response
/// opened it.
enum FillFile {
    Temp(BufferedFile),
    Stored(Rc<OpenObject>),
}

impl FillFile {
    /// `None` when neither is there: the fill failed (its temp file removed), or its publish
    /// did after the bytes were checked.
    async fn open(shard: &Shard, fill: &Fill) -> Option<Self> {
        if let Ok(file) = BufferedFile::open(&fill.path).await {
            return Some(Self::Temp(file));
        }
        // Gone while the publish renames it, or after: the catalog has the object once the
        // fill says it is verified.
        if fill.ended().await != FillState::Verified {
            return None;
        }
        let catalog = shard.catalog();
        let meta = catalog.get(fill.id)?;
        shard
            .files
            .get(&catalog, &meta)
            .await
            .ok()
            .map(Self::Stored)
    }

    fn get(&self) -> &BufferedFile {
        match self {
            Self::Temp(file) => file,
            Self::Stored(open) => &open.file,
        }
    }

    async fn close(self) {
        if let Self::Temp(file) = self {
            let _ = file.close().await;
        }
    }
}

/// Sends bytes `start..=end` as they arrive. The object's last byte goes only once the fill
/// is verified; a failed fill, or one that started over (its bytes came from a bad source),
/// cuts the response.
async fn stream_body(
    stream: &mut Stream,
    shard: &Shard,
    fill: &Fill,
    file: &BufferedFile,
    generation: u32,
    start: u64,
    end: u64,
) -> io::Result<()> {
    let cut = |why: &str| io::Error::new(io::ErrorKind::ConnectionAborted, why.to_string());
    let mut pos = start;
    let stop = end + 1;
    // Once the bytes were checked, a failure to store them no longer concerns this response.
    let mut checked_before = false;
    while pos < stop {
        let written = fill.written();
        let state = fill.state();
        if state == FillState::Failed && pos < stop && !checked_before {
            return Err(cut("the fill failed; response cut"));
        }
        checked_before |= state == FillState::Checked;
        if fill.generation() != generation {
            return Err(cut("the fill started over after bad bytes; response cut"));
        }
        let limit = match state {
            FillState::Verified | FillState::Checked => stop,
            FillState::Failed => stop,
            // Every byte written was proven as it arrived (read after `written`).
            _ if fill.all_proven() => written.min(stop),
            // Plain bytes: hold back the object's last byte until the whole is verified.
            _ if stop == fill.size => written.min(fill.size - 1).min(stop),
            _ => written.min(stop),
        };
        if pos < limit {
            let uncached =
                send_file(stream, file, pos, limit - pos, shard.limits.send_timeout).await?;
            shard.views.metrics.uncached_body(shard.index, uncached);
            pos = limit;
            continue;
        }
        fill.changed(written, false).await;
    }
    Ok(())
}
