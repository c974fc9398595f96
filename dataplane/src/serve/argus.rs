//! The distributor's router: its public API as Argus 2.x offers it (`argus-public.yml`):
//! `/api/v1/assets/{id}`, `/api/v1/status` (from in-memory values only,
//! never waiting on the chain), `/api/v1/buckets`, and CORS preflights.

use std::io;

use crate::http::request::Method;
use crate::serve::asset;
use crate::serve::exchange::Exchange;
use crate::serve::shard::Shard;

/// Answers a request to a distributor; `Ok(true)` when the connection stays open.
pub async fn respond(mut ex: Exchange<'_>) -> io::Result<bool> {
    let req = ex.req;
    if req.method == Method::Options {
        return ex.preflight().await;
    }
    let readable = ex.readable();
    let api = ex.api_path().unwrap_or("");
    match api {
        _ if api.starts_with("assets/") && !api["assets/".len()..].contains('/') => {
            if !readable {
                return ex.not_allowed(b"GET, HEAD").await;
            }
            asset::serve(ex, &api["assets/".len()..]).await
        }
        "status" if readable => {
            let body = status_json(ex.shard);
            ex.json(200, &body).await
        }
        "buckets" if readable => {
            let body = buckets_json(ex.shard);
            ex.json(200, &body).await
        }
        "status" | "buckets" => ex.not_allowed(b"GET, HEAD").await,
        _ => {
            let body = serde_json::to_vec(&serde_json::json!({
                "type": "request_validation",
                "message": "not found",
            }))
            .expect("strings serialize");
            ex.json(404, &body).await
        }
    }
}

/// Argus's `/status`: every value from memory.
fn status_json(shard: &Shard) -> Vec<u8> {
    let placement = shard.views.placement();
    let info = placement
        .as_ref()
        .and_then(|p| p.globals.distributor.clone())
        .unwrap_or_default();
    let catalog = shard.views.catalog();
    let block = placement.as_ref().map_or(0, |p| p.block);
    let fills = &shard.views.fills;
    let mut status = serde_json::json!({
        "id": info.id,
        "version": env!("CARGO_PKG_VERSION"),
        "objectsInCache": catalog.len(),
        "storageLimit": shard.limits.cache_capacity,
        "storageUsed": catalog.total_size() + fills.reserved_bytes(),
        "uptime": shard.started.elapsed().as_secs(),
        "downloadsInProgress": fills.len(),
        "nodeEnv": "",
        "queryNodeStatus": {
            "url": "",
            "chainHead": block,
            "blocksProcessed": block,
            "packageVersion": env!("CARGO_PKG_VERSION"),
        },
    });
    if let Some(w) = info.worker_id {
        status["workerId"] = w.into();
    }
    serde_json::to_vec(&status).expect("values serialize")
}

/// Argus's `/buckets`: the configured bucket ids, or the worker whose buckets are served.
fn buckets_json(shard: &Shard) -> Vec<u8> {
    let info = shard
        .views
        .placement()
        .and_then(|p| p.globals.distributor.clone())
        .unwrap_or_default();
    let body = match (info.configured_buckets, info.worker_id) {
        (Some(ids), _) => serde_json::json!({
            "bucketIds": ids.iter().map(|b| b.to_string()).collect::<Vec<_>>()
        }),
        (None, Some(w)) => serde_json::json!({ "allByWorkerId": w }),
        (None, None) => serde_json::json!({ "bucketIds": [] }),
    };
    serde_json::to_vec(&body).expect("values serialize")
}
