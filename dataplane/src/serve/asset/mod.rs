//! `GET`/`HEAD /api/v1/assets/{id}`: a distributor's answer, as Argus 2.x gives it, with its
//! bugs fixed.
//!
//! | the object | status | `x-cache` |
//! |---|---|---|
//! | cached (verified) | 200/206/304/416 from the store | `hit` |
//! | being fetched | 200/206 streamed from the fill (`from_fill.rs`) | `pending` |
//! | distributed here, not cached | a fill starts, then as above | `miss` |
//! | larger than the largest cached item | proxied from a storage node | `miss` |
//! | distributed here, not accepted on chain | 404 `Data object has not been uploaded yet` | |
//! | on chain, not in this node's bags | 421 `Data object not served by this node` | |
//! | not on chain | 404 `Data object does not exist` | |
//!
//! HEAD never starts a fetch.

mod from_fill;
pub mod proxy;

use std::io;
use std::rc::Rc;
use std::sync::Arc;

use hecaton_shared::socket::Source;
use hecaton_shared::{BagId, ContentId, DataObjectId, DecimalError};

use crate::fill::{task, Fill};
use crate::metrics::Served;
use crate::placement::Placement;
use crate::serve::exchange::Exchange;
use crate::serve::object::send_object;
use crate::serve::shard::Shard;
use from_fill::{FromFill, PENDING_HEADERS};

/// Headers of a cache hit: verified bytes, long-cacheable.
const HIT_HEADERS: &[(&str, &[u8])] = &[
    ("Cache-Control", b"public, max-age=31536000"),
    ("X-Cache", b"hit"),
    ("X-Data-Source", b"local"),
    ("Timing-Allow-Origin", b"*"),
    ("Access-Control-Expose-Headers", b"x-cache, x-data-source"),
];

fn message(text: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "message": text })).expect("a string serializes")
}

/// Serves asset `id_text`.
pub async fn serve(mut ex: Exchange<'_>, id_text: &str) -> io::Result<bool> {
    let (shard, head_only) = (ex.shard, ex.head_only());
    let id = match id_text.parse::<DataObjectId>() {
        Ok(id) => id,
        Err(e) => {
            let why = match e {
                DecimalError::TooLarge(_) => "objectId must fit in an unsigned 64-bit integer",
                _ => "objectId should match pattern \"^\\d+$\"",
            };
            let body = serde_json::to_vec(&serde_json::json!({
                "type": "request_validation",
                "message": why,
                "errors": [{ "path": ".params.objectId", "message": why }],
            }))
            .expect("strings serialize");
            return ex.json(400, &body).await;
        }
    };
    // Twice at most: a fill that ends while we look is then a hit.
    for _ in 0..2 {
        if let Some(answered) = hit(&mut ex, id).await {
            return answered;
        }
        let Some(placement) = shard.views.placement() else {
            let body = message("the node has not received its placement yet");
            let extra = [("Retry-After", &b"1"[..])];
            ex.keep = false;
            return ex.json_with(503, &extra, &body).await;
        };
        let Some(object) = placement.object(id) else {
            let (status, text) = match placement.exists(id) {
                Some(true) => (421, "Data object not served by this node"),
                _ => (404, "Data object does not exist"),
            };
            let body = message(text);
            return ex.json(status, &body).await;
        };
        if !object.accepted {
            let body = message("Data object has not been uploaded yet");
            return ex.json(404, &body).await;
        }
        let sources = sources(shard, &placement, &object.bag);
        let root = object.content_id.content_id().map(|c| *c.digest());
        let root = root.as_ref();
        if sources.is_empty() && !head_only {
            // The control plane has not resolved the bag's storage nodes yet (at start-up), or
            // none of them published an endpoint.
            let body = message("no storage node is known for the object's bag yet");
            let extra = [("Retry-After", &b"2"[..])];
            return ex.json_with(503, &extra, &body).await;
        }
        if head_only {
            return head_of_missing(&mut ex, id, object.size).await;
        }
        if shard
            .limits
            .max_cached_item
            .is_some_and(|max| object.size > max)
        {
            return proxied(&mut ex, (id, object.size), root, &sources).await;
        }
        let Some(content_id) = object.content_id.content_id() else {
            let body = message("the chain's content id of this object is not a BLAKE3 multihash");
            return ex.json(502, &body).await;
        };
        let (fill, how) = match join_or_start(
            shard,
            id,
            object.bag,
            object.size,
            content_id,
            sources.clone(),
        ) {
            Start::Fill(fill, how) => (fill, how),
            Start::Busy => {
                let body = message("too many objects are being fetched; retry in a moment");
                let extra = [("Retry-After", &b"1"[..])];
                return ex.json_with(503, &extra, &body).await;
            }
            Start::NoRoom => return proxied(&mut ex, (id, object.size), root, &sources).await,
        };
        match from_fill::serve(&mut ex, &fill, how).await {
            FromFill::Answered(answered) => return answered,
            FromFill::Stored => {
                // Verified: the catalog shows it before the fill says so, unless the
                // publish failed, which the state tells. (Looking at the catalog while the
                // publish ran gave viewers a 503: issue 14, defect 19.)
                if fill.ended().await == crate::fill::FillState::Failed {
                    return proxied(&mut ex, (id, object.size), root, &sources).await;
                }
                continue;
            }
            FromFill::Proxy => return proxied(&mut ex, (id, object.size), root, &sources).await,
            FromFill::Failed => {
                let body = message("no storage node could serve the object");
                return ex.json(502, &body).await;
            }
        }
    }
    let body = message("the object could not be served; try again");
    ex.keep = false;
    ex.json(503, &body).await
}

/// A cache hit, if the object is cached.
async fn hit(ex: &mut Exchange<'_>, id: DataObjectId) -> Option<io::Result<bool>> {
    let shard = ex.shard;
    let catalog = shard.catalog();
    let meta = catalog.get(id)?;
    shard.distributor.accessed(id);
    let memory = shard.views.memory.load().get(&id).cloned();
    let len = meta.size;
    let answered = send_object(ex, &catalog, &meta, HIT_HEADERS, memory).await;
    if answered.is_ok() && !ex.head_only() {
        shard.views.metrics.served(shard.index, Served::Hit, len);
    }
    Some(answered)
}

/// The sources of `bag`: its storage nodes, in the control plane's order, with their addresses.
fn sources(shard: &Shard, placement: &Placement, bag: &BagId) -> Vec<Source> {
    let Some(entry) = placement.bag(bag) else {
        return Vec::new();
    };
    shard
        .views
        .sources
        .load()
        .iter()
        .filter(|s| entry.peers.contains(&s.endpoint))
        .cloned()
        .collect()
}

/// What a miss comes to.
enum Start {
    /// A fill to serve from: joined (`Pending`) or started here (`Miss`).
    Fill(Arc<Fill>, Served),
    /// As many fills run as the node allows: the viewer retries in a moment.
    Busy,
    /// The fills' share of the cache, or the disk above its reserve, has no room for the
    /// object: it is proxied, not cached.
    NoRoom,
}

/// The running fill of `id`, or a new one this shard runs if the fills' limits allow. The count
/// and bytes are read without a lock across shards, so each may overshoot by the fills that
/// start at the same moment on other shards (one per shard at most).
fn join_or_start(
    shard: &Shard,
    id: DataObjectId,
    bag: BagId,
    size: u64,
    content_id: ContentId,
    sources: Vec<Source>,
) -> Start {
    let fills = &shard.views.fills;
    if let Some(fill) = fills.get(id) {
        return Start::Fill(fill, Served::Pending);
    }
    // Fills continue when their viewer hangs up: without a cap, N misses started N origin
    // fetches and evicted the cache for them (issue 14, defect 6).
    if fills.len() >= shard.limits.max_fills {
        return Start::Busy;
    }
    let share = shard.limits.cache_capacity / 100 * FILLS_SHARE_PERCENT;
    if fills.reserved_bytes().saturating_add(size) > share {
        return Start::NoRoom;
    }
    let Some(lease) = shard.views.space.lease(size) else {
        return Start::NoRoom;
    };
    let path = shard.tmp_dir.join(format!("fill-{id}"));
    let fill = Arc::new(Fill::new(id, bag, size, path));
    let (fill, owner) = fills.join_or_start(fill);
    if !owner {
        return Start::Fill(fill, Served::Pending);
    }
    let env = Rc::clone(&shard.distributor.fill_env);
    let f = fill.clone();
    let work = async move {
        let _lease = lease;
        let (failed, views, index) = (f.clone(), env.views.clone(), env.shard);
        let ran = crate::panics::isolate(
            index,
            crate::panics::Unit::Fill,
            |u| views.metrics.panicked(index, u),
            || format!("filling object {id}"),
            task::run(env, f, content_id, sources),
        )
        .await;
        if ran.is_none() {
            // Its readers stop and the next request starts a fill anew.
            failed.finish(crate::fill::FillState::Failed);
            views.fills.remove(id);
            crate::store::temp::remove(&failed.path).await;
        }
    };
    let spawned = glommio::spawn_local_into(work, shard.queues.fill);
    match spawned {
        Ok(t) => {
            t.detach();
        }
        Err(e) => {
            tracing::warn!(%id, "cannot start a cache fill: {e}");
            fill.finish(crate::fill::FillState::Failed);
            fills.remove(id);
        }
    }
    Start::Fill(fill, Served::Miss)
}

/// The part of the cache's budget fills in progress may take together: the rest keeps the
/// objects already cached, so a burst of misses cannot evict the whole working set.
const FILLS_SHARE_PERCENT: u64 = 50;

/// HEAD of an object not cached: its length from the chain, without fetching it.
async fn head_of_missing(ex: &mut Exchange<'_>, id: DataObjectId, size: u64) -> io::Result<bool> {
    let (keep, http10) = (ex.keep, ex.req.http10);
    let head = &mut *ex.head;
    let state: &[u8] = if ex.shard.views.fills.get(id).is_some() {
        b"pending"
    } else {
        b"miss"
    };
    head.begin(200).header("X-Cache", state);
    for (name, value) in PENDING_HEADERS
        .iter()
        .filter(|(n, _)| *n != "X-Data-Source")
    {
        head.header(name, value);
    }
    head.header_u64("Content-Length", size);
    crate::serve::sendfile::send_head(ex.stream, head.finish(keep, http10), false).await?;
    Ok(keep)
}

async fn proxied(
    ex: &mut Exchange<'_>,
    object: (DataObjectId, u64),
    root: Option<&[u8; 32]>,
    sources: &[Source],
) -> io::Result<bool> {
    match proxy::serve(ex, object, root, sources).await {
        Some(answered) => answered,
        None => {
            let body = message("no storage node could serve the object");
            ex.json(502, &body).await
        }
    }
}
