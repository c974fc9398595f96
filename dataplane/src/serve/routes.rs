//! The Colossus-compatible storage API (`reference/colossus.md` §1), routed by path.
//!
//! Where Colossus is wrong we do the right thing: a single range is 206, an unsatisfiable one
//! 416 (Colossus: 500), conditional requests use a strong ETag, HEAD sends exactly the GET
//! headers, and unknown query parameters are ignored rather than rejected.

use std::io;
use std::rc::Rc;

use crate::tls::Stream;
use futures_lite::AsyncWriteExt;

use crate::http::request::{Method, Request};
use crate::http::response::{error_body, ResponseHead};
use crate::serve::connection::Pending;
use crate::serve::shard::Shard;
use crate::serve::{object, upload};

const JSON: &[u8] = b"application/json; charset=utf-8";

/// JSON bodies up to this many bytes go out in the same write as their head.
const INLINE_BODY: usize = 16 * 1024;

/// Answers `req`; `Ok(true)` when the connection stays open for the next request.
pub async fn respond(
    stream: &mut Stream,
    req: &Request,
    shard: &Shard,
    head: &mut ResponseHead,
    pending: Pending<'_>,
) -> io::Result<bool> {
    if shard.role == hecaton_shared::socket::Role::Distributor {
        return crate::serve::argus::respond(stream, req, shard, head, pending).await;
    }
    // A body we do not read would be taken for the next request: answer, then close.
    let keep = req.keep_alive && !shard.draining.get() && !req.has_body;
    let head_only = req.method == Method::Head;
    if req.method == Method::Options {
        return preflight(stream, req, head, keep).await;
    }
    let path = req
        .path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(&req.path);
    let Some(api) = path.strip_prefix("/api/v1/") else {
        return not_found(stream, head, req, keep).await;
    };
    let readable = matches!(req.method, Method::Get | Method::Head);
    match api {
        "files" => {
            if req.method != Method::Post {
                return not_allowed(stream, head, req, keep, b"POST").await;
            }
            upload::post(stream, req, shard, head, pending).await
        }
        "uploads" => upload::tus(stream, req, shard, head, pending, None).await,
        _ if api.starts_with("uploads/") && !api["uploads/".len()..].contains('/') => {
            let id = &api["uploads/".len()..];
            upload::tus(stream, req, shard, head, pending, Some(id)).await
        }
        _ if api.starts_with("files/") && !api["files/".len()..].contains('/') => {
            if !readable {
                return not_allowed(stream, head, req, keep, b"GET, HEAD").await;
            }
            object::serve(stream, req, shard, head, &api["files/".len()..], keep).await
        }
        "state/data-objects" if readable => {
            let body = data_objects_json(shard);
            send_json(stream, head, 200, &body, keep, req.http10, head_only).await
        }
        "state/data" if readable => {
            let catalog = shard.views.catalog();
            let body = serde_json::to_vec(&serde_json::json!({
                "objectNumber": catalog.len(),
                "totalSize": catalog.total_size(),
                "tempDownloads": 0,
                "tempDirSize": 0,
                "pendingObjects": 0,
                "pendingDirSize": 0,
            }))
            .expect("numbers serialize");
            send_json(stream, head, 200, &body, keep, req.http10, head_only).await
        }
        "version" if readable => {
            let version = env!("CARGO_PKG_VERSION");
            let body = serde_json::to_vec(&serde_json::json!({
                "version": version,
                "userAgent": format!("hecaton-dataplane/{version} {}-{}", std::env::consts::OS, std::env::consts::ARCH),
            }))
            .expect("strings serialize");
            send_json(stream, head, 200, &body, keep, req.http10, head_only).await
        }
        "status" if readable => {
            let body = status_json(shard);
            send_json(stream, head, 200, &body, keep, req.http10, head_only).await
        }
        _ if readable && bag_of(api).is_some() => {
            let body = bag_objects_json(shard, bag_of(api).unwrap_or_default());
            send_json(stream, head, 200, &body, keep, req.http10, head_only).await
        }
        "state/data-objects" | "state/data" | "version" | "status" => {
            not_allowed(stream, head, req, keep, b"GET, HEAD").await
        }
        _ => not_found(stream, head, req, keep).await,
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
                    .iter()
                    .filter(|id| catalog.contains(**id))
                    .map(|id| id.to_string())
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    serde_json::to_vec(&ids).expect("strings serialize")
}

/// `/status` in Colossus's shape (`reference/colossus.md` §1.9), from in-memory values only:
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

/// `/state/data-objects`: every published id as a decimal string, cached per catalog version.
fn data_objects_json(shard: &Shard) -> Rc<Vec<u8>> {
    let catalog = shard.views.catalog();
    let mut cached = shard.data_objects_json.borrow_mut();
    match &*cached {
        Some((version, body)) if *version == catalog.version() => body.clone(),
        _ => {
            let ids: Vec<String> = catalog.ids().iter().map(|id| id.to_string()).collect();
            let body = Rc::new(serde_json::to_vec(&ids).expect("strings serialize"));
            *cached = Some((catalog.version(), body.clone()));
            body
        }
    }
}

/// Sends a JSON response (head and body in one write; the body is left out for HEAD).
pub async fn send_json(
    stream: &mut Stream,
    head: &mut ResponseHead,
    status: u16,
    body: &[u8],
    keep: bool,
    http10: bool,
    head_only: bool,
) -> io::Result<bool> {
    send_json_with(stream, head, status, &[], body, keep, http10, head_only).await
}

/// [`send_json`] with extra header lines.
#[allow(clippy::too_many_arguments)]
pub async fn send_json_with(
    stream: &mut Stream,
    head: &mut ResponseHead,
    status: u16,
    extra: &[(&str, &[u8])],
    body: &[u8],
    keep: bool,
    http10: bool,
    head_only: bool,
) -> io::Result<bool> {
    head.begin(status);
    for (name, value) in extra {
        head.header(name, value);
    }
    head.header("Content-Type", JSON)
        .header_u64("Content-Length", body.len() as u64);
    head.finish(keep, http10);
    if head_only {
        stream.write_all(head.bytes()).await?;
    } else if body.len() > INLINE_BODY {
        // Large bodies (every id at mainnet's size is ~20 MB) go from their own buffer, so the
        // connection's head buffer never grows to them.
        stream.write_all(head.bytes()).await?;
        stream.write_all(body).await?;
    } else {
        stream.write_all(head.append_body(body)).await?;
    }
    Ok(keep)
}

async fn not_found(
    stream: &mut Stream,
    head: &mut ResponseHead,
    req: &Request,
    keep: bool,
) -> io::Result<bool> {
    let body = error_body("request_exception", "not found");
    send_json(
        stream,
        head,
        404,
        &body,
        keep,
        req.http10,
        req.method == Method::Head,
    )
    .await
}

pub(crate) async fn not_allowed(
    stream: &mut Stream,
    head: &mut ResponseHead,
    req: &Request,
    keep: bool,
    allow: &[u8],
) -> io::Result<bool> {
    let body = error_body(
        "request_exception",
        &format!("{} method not allowed", req.method.as_str()),
    );
    let head_only = req.method == Method::Head;
    let extra = [("Allow", allow)];
    send_json_with(
        stream, head, 405, &extra, &body, keep, req.http10, head_only,
    )
    .await
}

/// CORS preflight, as Express's `cors()` answers it for every path.
pub(crate) async fn preflight(
    stream: &mut Stream,
    req: &Request,
    head: &mut ResponseHead,
    keep: bool,
) -> io::Result<bool> {
    head.begin(204)
        .header(
            "Access-Control-Allow-Methods",
            b"GET,HEAD,PUT,PATCH,POST,DELETE",
        )
        // tus discovery (resumable uploads under /api/v1/uploads).
        .header("Tus-Resumable", b"1.0.0")
        .header("Tus-Version", b"1.0.0")
        .header("Tus-Extension", b"creation,termination")
        .header("Vary", b"Access-Control-Request-Headers");
    if let Some(asked) = &req.cors_request_headers {
        head.header("Access-Control-Allow-Headers", asked);
    }
    head.header("Content-Length", b"0");
    stream.write_all(head.finish(keep, req.http10)).await?;
    Ok(keep)
}
