//! `GET /api/v1/slices/{id}?ranges=FIRST-LAST`: the bytes `FIRST..=LAST` (`LAST` may be left
//! out: to the end) of a stored object as a verified slice (`hecaton_shared::bao::slice`): the
//! 16 KiB groups that hold them, with the tree's pairs a reader needs to check each group
//! against the content id as it arrives. Replication and distributor fills ask for these, so
//! that a peer's forged byte is caught at its group instead of after the whole object.
//!
//! Headers: `X-Object-Size`, `X-Slice-Groups: A-B` (the groups sent, `B` excluded),
//! `X-Slice-Group-Size` and `X-Object-Content-Type` (the media type the object is served as);
//! the body is `application/vnd.hecaton.blake3-slice`, its length known before a byte is sent,
//! the groups' bytes sent with `sendfile` from the shard's open descriptor, as a plain range's.
//! The node does not check what it sends (a reader does, and the scrub re-reads the store): a
//! damaged object fails at the reader, which tries another peer.
//! Errors: 400 (id or range), 404, 416 (with `X-Object-Size`), 503 + Retry-After (no tree yet,
//! or `--max-slices-per-shard` in flight).

use std::io;

use futures_lite::future::zip;
use glommio::io::BufferedFile;
use hecaton_shared::bao::{self, slice};
use hecaton_shared::DataObjectId;
use tracing::{debug, error, warn};

use crate::http::response::error_body;
use crate::serve::exchange::Exchange;
use crate::serve::proof::{busy, Permit};
use crate::serve::sendfile::{send_file, send_head};
use crate::store::outboard::{self, PairReader, ReadError};

/// Answers a slice request for `id_text` (the path segment after `slices/`).
pub async fn serve(mut ex: Exchange<'_>, id_text: &str) -> io::Result<bool> {
    let Ok(id) = id_text.parse::<DataObjectId>() else {
        let body = error_body("request_exception", "the object id must be a decimal u64");
        return ex.json(400, &body).await;
    };
    let Some((first, last)) = range_param(ex.req.query.as_deref()) else {
        let body = error_body(
            "request_exception",
            "query parameter ranges must be one byte range FIRST-LAST or FIRST-",
        );
        return ex.json(400, &body).await;
    };
    let shard = ex.shard;
    let Some(_permit) = Permit::take(&shard.slices, shard.limits.max_slices_per_shard) else {
        return busy(ex, "slices").await;
    };
    let catalog = ex.shard.catalog();
    let Some(meta) = catalog.get(id) else {
        let body = error_body("files", "File not found.");
        return ex.json(404, &body).await;
    };
    let size_text = meta.size.to_string();
    let Some(groups) = slice::groups_of(meta.size, first, last) else {
        let body = error_body(
            "request_exception",
            "the range starts past the object's end",
        );
        return ex
            .json_with(416, &[("X-Object-Size", size_text.as_bytes())], &body)
            .await;
    };
    // The object and its outboard are opened at once (each open may wait on io_uring's
    // workers; one after the other they delayed the first byte).
    let kept = outboard::kept(meta.size);
    let tree = async {
        match kept {
            true => Some(PairReader::open(catalog.objects_dir(), id, meta.size).await),
            false => None,
        }
    };
    shard.files.apply_purges(&shard.views.purged);
    let (open, tree) = zip(shard.files.get(&catalog, &meta), tree).await;
    let open = match open {
        Ok(f) => f,
        Err(e) => {
            if let Some(Ok(reader)) = tree {
                reader.close().await;
            }
            error!(object = %id, "no slice: opening the object: {e}");
            let (status, message) = crate::serve::object::unreadable(&e);
            return ex.json(status, &error_body("files", message)).await;
        }
    };
    let file = &open.file;
    let pairs = match tree {
        Some(opened) => opened.map(Pairs::File),
        None => outboard::rebuild(file, meta.size, |_, _| {})
            .await
            .map(Pairs::Memory)
            .map_err(ReadError::Io),
    };
    let mut pairs = match pairs {
        Ok(p) => p,
        Err(e) => return tree_error(ex, id, e).await,
    };
    let len = slice::slice_len(meta.size, groups.clone()).expect("groups_of is in range");
    let groups_text = format!("{}-{}", groups.start, groups.end);
    let group_text = bao::GROUP.to_string();
    let body = !ex.head_only();
    let head = &mut *ex.head;
    head.begin(200);
    head.header("X-Object-Size", size_text.as_bytes())
        .header("X-Slice-Groups", groups_text.as_bytes())
        .header("X-Slice-Group-Size", group_text.as_bytes())
        .header("X-Object-Content-Type", meta.media_type.as_str().as_bytes())
        .header("Content-Type", slice::CONTENT_TYPE.as_bytes())
        .header_u64("Content-Length", len);
    head.finish(ex.keep, ex.req.http10);
    let mut result = send_head(ex.stream, head.bytes(), body).await;
    if result.is_ok() && body {
        result = send(&mut ex, file, &mut pairs, meta.size, groups).await;
    }
    if let Pairs::File(reader) = pairs {
        reader.close().await;
    }
    if let Err(e) = &result {
        // Routine: a proxy stops reading once its viewer's range is sent.
        debug!(object = %id, "slice cut short: {e}");
    }
    result.map(|()| ex.keep)
}

/// The object's tree, from its outboard or rebuilt.
enum Pairs {
    File(PairReader),
    Memory(Vec<u8>),
}

impl Pairs {
    async fn get(&mut self, index: u64) -> Result<[u8; bao::PAIR], ReadError> {
        match self {
            Pairs::File(r) => r.pair(index).await,
            Pairs::Memory(m) => {
                let at = index as usize * bao::PAIR;
                m.get(at..at + bao::PAIR)
                    .map(|p| p.try_into().expect("a whole pair"))
                    .ok_or(ReadError::WrongLength {
                        expected: (at + bao::PAIR) as u64,
                        got: m.len() as u64,
                    })
            }
        }
    }
}

/// The slice's items: each segment's pairs (with `MSG_MORE`, so they leave with the groups'
/// first bytes), then its groups' bytes with `sendfile` as a plain range goes.
async fn send(
    ex: &mut Exchange<'_>,
    file: &BufferedFile,
    pairs: &mut Pairs,
    size: u64,
    groups: std::ops::Range<u64>,
) -> io::Result<()> {
    let shard = ex.shard;
    let mut held = Vec::with_capacity(4 * 1024);
    for item in slice::walk(size, groups).expect("checked") {
        match item {
            slice::Item::Pair(i) => {
                let pair = pairs.get(i).await.map_err(io::Error::other)?;
                held.extend_from_slice(&pair);
            }
            slice::Item::Groups(g) => {
                let r = slice::groups_bytes(size, &g);
                send_head(ex.stream, &held, r.end > r.start).await?;
                held.clear();
                if r.end > r.start {
                    let window = shard.limits.send_timeout;
                    let uncached =
                        send_file(ex.stream, file, r.start, r.end - r.start, window).await?;
                    shard.views.metrics.uncached_body(shard.index, uncached);
                }
            }
        }
    }
    Ok(())
}

/// The answer when the object's tree cannot be had.
async fn tree_error(mut ex: Exchange<'_>, id: DataObjectId, e: ReadError) -> io::Result<bool> {
    match e {
        ReadError::Missing | ReadError::WrongLength { .. } => {
            warn!(object = %id, "no slice: {e}");
            let body = error_body(
                "proofs",
                "The object's tree is not available on this node yet; try again later.",
            );
            ex.json_with(503, &[("Retry-After", b"60")], &body).await
        }
        ReadError::Io(e) => {
            error!(object = %id, "no slice: reading the object's tree: {e}");
            let (status, message) = crate::serve::object::unreadable(&e);
            ex.json(status, &error_body("files", message)).await
        }
    }
}

/// `ranges=FIRST-LAST` or `ranges=FIRST-` from a query string (one range, decimal bytes,
/// `FIRST <= LAST`).
fn range_param(query: Option<&str>) -> Option<(u64, Option<u64>)> {
    let value = query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("ranges="))?;
    let (first, last) = value.split_once('-')?;
    let number = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    let first = number(first)?;
    if last.is_empty() {
        return Some((first, None));
    }
    let last = number(last)?;
    (first <= last).then_some((first, Some(last)))
}

#[cfg(test)]
mod tests {
    use super::range_param;

    #[test]
    fn one_byte_range_is_taken() {
        assert_eq!(range_param(Some("ranges=0-")), Some((0, None)));
        assert_eq!(range_param(Some("ranges=5-9")), Some((5, Some(9))));
        assert_eq!(range_param(Some("x=1&ranges=7-7")), Some((7, Some(7))));
        for bad in [
            "ranges=",
            "ranges=-5",
            "ranges=9-5",
            "ranges=1-2,4-5",
            "ranges=a-",
            "ranges=99999999999999999999-",
            "x=1",
        ] {
            assert_eq!(range_param(Some(bad)), None, "{bad}");
        }
        assert_eq!(range_param(None), None);
    }
}
