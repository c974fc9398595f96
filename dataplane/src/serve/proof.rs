//! `GET /api/v1/proofs/{id}?chunk=N`: one 16 KiB chunk (a BLAKE3 group, `hecaton_shared::bao`)
//! of a stored object with the tree's pairs from the root down to it, which anyone who knows
//! the object's size and content id (both on chain) checks without trusting this node. It is
//! answered from the store as it is on disk: the pairs from the object's outboard (for an object
//! that keeps none, up to 1 MiB, from its bytes), the chunk from its file (both opened for the
//! request), and the whole checked against the content id before it goes out (a damaged outboard or file
//! answers an error, never a proof that fails).
//!
//! Body: `64 × depth` bytes of pairs, root first, then the chunk's bytes
//! (`application/vnd.hecaton.blake3-proof`); headers `X-Object-Size`, `X-Proof-Chunk` and
//! `X-Proof-Chunk-Size` say what it is.

use std::io;

use glommio::io::BufferedFile;
use hecaton_shared::bao::{self, ProofError};
use hecaton_shared::DataObjectId;
use tracing::{error, warn};

use crate::http::response::error_body;
use crate::serve::exchange::Exchange;
use crate::serve::respond::Typed;
use crate::store::outboard::{self, ReadError};

/// The proof's media type.
pub const CONTENT_TYPE: &[u8] = b"application/vnd.hecaton.blake3-proof";

/// Seconds a client is asked to wait when an object's outboard is not there.
const RETRY_AFTER: &[u8] = b"60";

/// Answers a proof request for `id_text` (the path segment after `proofs/`).
pub async fn serve(mut ex: Exchange<'_>, id_text: &str) -> io::Result<bool> {
    let Ok(id) = id_text.parse::<DataObjectId>() else {
        let body = error_body("request_exception", "the object id must be a decimal u64");
        return ex.json(400, &body).await;
    };
    let Some(chunk) = chunk_param(ex.req.query.as_deref()) else {
        let body = error_body(
            "request_exception",
            "query parameter chunk must be a decimal u64 (the 16 KiB chunk's index)",
        );
        return ex.json(400, &body).await;
    };
    let shard = ex.shard;
    let Some(_permit) = Permit::take(&shard.proofs, shard.limits.max_proofs_per_shard) else {
        return busy(ex, "proofs").await;
    };
    let catalog = ex.shard.catalog();
    let Some(meta) = catalog.get(id) else {
        let body = error_body("files", "File not found.");
        return ex.json(404, &body).await;
    };
    let size_text = meta.size.to_string();
    let steps = match bao::path(meta.size, chunk) {
        Ok(steps) => steps,
        Err(e) => {
            let body = error_body("request_exception", &e.to_string());
            return ex
                .json_with(416, &[("X-Object-Size", size_text.as_bytes())], &body)
                .await;
        }
    };
    let (pairs, bytes) = match pieces(&catalog, &meta, chunk, &steps).await {
        Ok(p) => p,
        Err(Failure::Tree(e @ (ReadError::Missing | ReadError::WrongLength { .. }))) => {
            warn!(object = %id, "no proof: {e}");
            let body = error_body(
                "proofs",
                "The object's tree is not available on this node yet; try again later.",
            );
            return ex
                .json_with(503, &[("Retry-After", RETRY_AFTER)], &body)
                .await;
        }
        Err(Failure::Tree(ReadError::Io(e))) => {
            error!(object = %id, "no proof: reading the outboard: {e}");
            let body = error_body("proofs", "Error: the object's tree cannot be read");
            return ex.json(500, &body).await;
        }
        Err(Failure::Object(e)) => {
            error!(object = %id, "no proof: reading the object: {e}");
            let (status, message) = crate::serve::object::unreadable(&e);
            let body = error_body("files", message);
            return ex.json(status, &body).await;
        }
    };
    let mut wire = pairs;
    wire.extend_from_slice(&bytes);
    if let Err(e) = bao::verify_group(meta.content_id.digest(), meta.size, chunk, &wire) {
        let what = match e {
            ProofError::Mismatch { depth } if depth == steps.len() => "its bytes",
            _ => "its tree",
        };
        error!(object = %id, chunk, "stored object fails its own proof ({what}): {e}");
        let body = error_body(
            "proofs",
            "Error: the stored object does not match its content id",
        );
        return ex.json(500, &body).await;
    }
    let chunk_text = chunk.to_string();
    let group_text = bao::GROUP.to_string();
    let extra: [(&str, &[u8]); 3] = [
        ("X-Object-Size", size_text.as_bytes()),
        ("X-Proof-Chunk", chunk_text.as_bytes()),
        ("X-Proof-Chunk-Size", group_text.as_bytes()),
    ];
    let typed = Typed {
        content_type: CONTENT_TYPE,
        extra: &extra,
        body: &wire,
    };
    ex.body(200, typed).await
}

/// A place among the proofs (or slices) a shard answers at once, given back when dropped.
#[derive(Debug)]
pub struct Permit<'a>(&'a std::cell::Cell<usize>);

impl<'a> Permit<'a> {
    /// One of the places `in_flight` counts, if fewer than `max` are taken.
    pub fn take(in_flight: &'a std::cell::Cell<usize>, max: usize) -> Option<Permit<'a>> {
        let n = in_flight.get();
        if n >= max {
            return None;
        }
        in_flight.set(n + 1);
        Some(Permit(in_flight))
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

/// 503: the shard answers as many proofs (or slices: `what`) as it may.
pub async fn busy(mut ex: Exchange<'_>, what: &str) -> io::Result<bool> {
    let body = error_body(
        what,
        &format!("Too many {what} in flight on this node; try again shortly."),
    );
    ex.json_with(503, &[("Retry-After", b"1")], &body).await
}

/// `chunk=N` from a query string.
fn chunk_param(query: Option<&str>) -> Option<u64> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("chunk="))
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse().ok())
}

/// Why the pieces of a proof could not be had.
enum Failure {
    /// The outboard.
    Tree(ReadError),
    /// The object's file.
    Object(io::Error),
}

/// The pairs on the path to group `chunk`, root first, and the group's bytes: from the outboard
/// and one read of the object when it keeps one, else from the whole object read afresh (at
/// most [`outboard::KEPT_ABOVE`] bytes, 64 KiB at a time). Files are opened for the
/// request, not taken from the shard's open files, whose descriptors keep a deleted file's
/// bytes readable: a proof tells what the store holds now.
async fn pieces(
    catalog: &crate::store::Catalog,
    meta: &crate::store::Published,
    chunk: u64,
    steps: &[bao::PathStep],
) -> Result<(Vec<u8>, Vec<u8>), Failure> {
    let range = bao::group_range(meta.size, chunk);
    let file = BufferedFile::open(catalog.path_of(meta.id))
        .await
        .map_err(|e| Failure::Object(e.into()))?;
    let result = if outboard::kept(meta.size) {
        match outboard::read_path(catalog.objects_dir(), meta.id, meta.size, steps).await {
            Ok(pairs) => read_exact(&file, range.start, range.end - range.start)
                .await
                .map(|bytes| (pairs, bytes))
                .map_err(Failure::Object),
            Err(e) => Err(Failure::Tree(e)),
        }
    } else {
        rebuild(&file, meta.size, range, steps)
            .await
            .map_err(Failure::Object)
    };
    let _ = file.close().await;
    result
}

/// Reads exactly `len` bytes at `start`.
async fn read_exact(file: &BufferedFile, start: u64, len: u64) -> io::Result<Vec<u8>> {
    let bytes = file.read_at(start, len as usize).await?;
    if bytes.len() as u64 != len {
        return Err(shorter());
    }
    Ok(bytes.to_vec())
}

/// Rebuilds a small object's tree from its bytes, keeping the group in `range`.
async fn rebuild(
    file: &BufferedFile,
    size: u64,
    range: std::ops::Range<u64>,
    steps: &[bao::PathStep],
) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let mut group = Vec::with_capacity((range.end - range.start) as usize);
    let outboard = outboard::rebuild(file, size, |at, piece| {
        let end = at + piece.len() as u64;
        let (from, to) = (range.start.max(at), range.end.min(end));
        if from < to {
            group.extend_from_slice(&piece[(from - at) as usize..(to - at) as usize]);
        }
    })
    .await?;
    let mut pairs = Vec::with_capacity(steps.len() * bao::PAIR);
    for step in steps {
        let at = step.index as usize * bao::PAIR;
        pairs.extend_from_slice(&outboard[at..at + bao::PAIR]);
    }
    Ok((pairs, group))
}

fn shorter() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "object file is shorter than its index record",
    )
}

#[cfg(test)]
mod tests {
    use super::chunk_param;

    #[test]
    fn the_chunk_is_a_decimal_u64() {
        assert_eq!(chunk_param(Some("chunk=0")), Some(0));
        assert_eq!(chunk_param(Some("x=1&chunk=42")), Some(42));
        for bad in [
            "chunk=",
            "chunk=-1",
            "chunk=1e3",
            "chunk=99999999999999999999",
            "x=1",
        ] {
            assert_eq!(chunk_param(Some(bad)), None, "{bad}");
        }
        assert_eq!(chunk_param(None), None);
    }
}
