//! The storage node's public API, Colossus-compatible, routed by path, with its JSON views.
//!
//! Where Colossus is wrong we do the right thing: a single range is 206, an unsatisfiable one
//! 416 (Colossus: 500), conditional requests use a strong ETag, HEAD sends exactly the GET
//! headers, and unknown query parameters are ignored rather than rejected.

use std::io;

use crate::http::request::Method;
use crate::serve::exchange::Exchange;
use crate::serve::shard::Shard;
use crate::serve::{data_objects, object, proof, slice, upload};

/// Answers a request to a storage node; `Ok(true)` when the connection stays open.
pub async fn respond(mut ex: Exchange<'_>) -> io::Result<bool> {
    let req = ex.req;
    if req.method == Method::Options {
        return ex.preflight().await;
    }
    let Some(api) = ex.api_path() else {
        return ex.not_found().await;
    };
    let readable = ex.readable();
    match api {
        "files" => {
            if req.method != Method::Post {
                return ex.not_allowed(b"POST").await;
            }
            upload::post(ex).await
        }
        "uploads" => upload::tus(ex, None).await,
        _ if api.starts_with("uploads/") && !api["uploads/".len()..].contains('/') => {
            let id = &api["uploads/".len()..];
            upload::tus(ex, Some(id)).await
        }
        _ if api.starts_with("files/") && !api["files/".len()..].contains('/') => {
            if !readable {
                return ex.not_allowed(b"GET, HEAD").await;
            }
            object::serve(ex, &api["files/".len()..]).await
        }
        _ if api.starts_with("proofs/") && !api["proofs/".len()..].contains('/') => {
            if !readable {
                return ex.not_allowed(b"GET, HEAD").await;
            }
            proof::serve(ex, &api["proofs/".len()..]).await
        }
        _ if api.starts_with("slices/") && !api["slices/".len()..].contains('/') => {
            if !readable {
                return ex.not_allowed(b"GET, HEAD").await;
            }
            slice::serve(ex, &api["slices/".len()..]).await
        }
        "state/data-objects" if readable => data_objects::send(ex).await,
        "state/data" if readable => {
            let catalog = ex.shard.views.catalog();
            let body = serde_json::to_vec(&serde_json::json!({
                "objectNumber": catalog.len(),
                "totalSize": catalog.total_size(),
                "tempDownloads": 0,
                "tempDirSize": 0,
                "pendingObjects": 0,
                "pendingDirSize": 0,
            }))
            .expect("numbers serialize");
            ex.json(200, &body).await
        }
        "version" if readable => {
            let version = env!("CARGO_PKG_VERSION");
            let body = serde_json::to_vec(&serde_json::json!({
                "version": version,
                "userAgent": format!("hecaton-dataplane/{version} {}-{}", std::env::consts::OS, std::env::consts::ARCH),
            }))
            .expect("strings serialize");
            ex.json(200, &body).await
        }
        "status" if readable => {
            let body = status_json(ex.shard);
            ex.json(200, &body).await
        }
        _ if readable && bag_of(api).is_some() => {
            let body = bag_objects_json(ex.shard, bag_of(api).unwrap_or_default());
            ex.json(200, &body).await
        }
        "state/data-objects" | "state/data" | "version" | "status" => {
            ex.not_allowed(b"GET, HEAD").await
        }
        _ => ex.not_found().await,
    }
}

/// The `{bagId}` of `state/bags/{bagId}/data-objects`. Prefix and suffix are stripped one
/// after the other, so a path where they overlap (`state/bags/data-objects`) is no bag at all
/// (slicing by both lengths at once took a shard down: issue 14, defect 1).
fn bag_of(api: &str) -> Option<&str> {
    api.strip_prefix("state/bags/")?
        .strip_suffix("/data-objects")
        .filter(|bag| !bag.contains('/'))
}

/// `/state/bags/{bagId}/data-objects`: the bag's objects this node stores, as decimal strings
/// (Colossus: local ids intersected with the bag's; an unknown or malformed bag is `[]`).
fn bag_objects_json(shard: &Shard, bag: &str) -> Vec<u8> {
    let catalog = shard.views.catalog();
    let bag = crate::http::percent_decode(bag);
    let ids: Vec<String> = match (
        shard.views.placement(),
        bag.parse::<hecaton_shared::BagId>(),
    ) {
        (Some(p), Ok(bag)) => p
            .bag(&bag)
            .map(|b| {
                b.objects
                    .ids()
                    .filter(|id| catalog.contains(*id))
                    .map(|id| id.to_string())
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    serde_json::to_vec(&ids).expect("strings serialize")
}

/// `/status` in the shape of Colossus's `GET /api/v1/status`, from in-memory values only:
/// the buckets accepting uploads, the chain block of the placement applied, and replication and
/// cleanup as the control plane last summarised them.
fn status_json(shard: &Shard) -> Vec<u8> {
    let placement = shard.views.placement();
    let buckets: Vec<String> = placement
        .as_ref()
        .map(|p| p.globals.buckets.iter().map(|b| b.to_string()).collect())
        .unwrap_or_default();
    let block = placement.as_ref().map_or(0, |p| p.block);
    let summary = shard.views.summary.load_full();
    let sync = summary.as_deref().cloned().unwrap_or_default();
    let peers: Vec<serde_json::Value> = sync
        .peers
        .iter()
        .map(|p| {
            serde_json::json!({
                "endpoint": p.endpoint,
                "latencyMs": p.latency_ms,
                "fetched": p.fetched,
                "failures": p.failures,
                // Health only: the error text named what answered on a peer's address, an
                // oracle for scanning the operator's network (issue 14, defect 11). The
                // operator's own /status keeps it.
                "healthy": p.last_error.is_none(),
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptime": shard.started.elapsed().as_secs(),
        "uploadBuckets": buckets,
        "downloadBuckets": buckets,
        "sync": {
            "enabled": summary.is_some(),
            "interval": 0,
            "backlog": sync.backlog_objects,
            "backlogBytes": sync.backlog_bytes,
            "inFlight": sync.in_flight,
            "failing": sync.failing,
            "bytesPerSecond": sync.bytes_per_sec,
            "fetched": sync.fetched,
            "peers": peers,
        },
        "cleanup": {
            "enabled": summary.is_some(),
            "interval": 0,
            "maxQnLaggingThresholdInBlocks": 0,
            "minReplicationThresholdForPruning": sync.min_replication,
            "waitingForConfirmations": sync.cleanup_waiting,
            "removed": sync.removed,
        },
        "queryNodeStatus": {
            "url": "",
            "chainHead": block,
            "blocksProcessed": block,
            "packageVersion": env!("CARGO_PKG_VERSION"),
        },
        "controlPlaneConnected": shard.views.is_connected(),
    }))
    .expect("values serialize")
}
