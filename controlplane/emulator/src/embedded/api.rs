//! The embedded chain's HTTP API (`controlplane/emulator/api/chain.yaml` describes it): submit calls, read
//! the data directory, follow blocks. Errors are JSON: 400 names the bad field, 422 carries the
//! pallet error's name, 404 for unknown routes and missing entities.

use std::collections::HashMap;
use std::convert::Infallible;
use std::str::FromStr;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hecaton_shared::{BagId, DistributionBucketId};
use serde::Serialize;
use serde_json::{json, Value};

use super::node::{Node, NodeError};
use super::views;
use crate::account::AccountId;
use crate::runtime::storage::types::DynamicBagType;
use crate::runtime::working_group::Group;
use crate::runtime::Extrinsic;

/// Largest request body: a call with a full object list fits easily.
const MAX_BODY: usize = 4 << 20;
/// How much of an oversized body is read and dropped before the 413 (lingering, as nginx).
const MAX_DRAIN: usize = 16 << 20;
/// Blocks sent per read of the block list while streaming.
const STREAM_BATCH: usize = 256;

/// An API error: status and JSON body `{"error": ..., "message": ..., ...}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: Value,
}

impl ApiError {
    fn bad_request(field: &str, message: impl std::fmt::Display) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            body: json!({"error": "BadRequest", "field": field, "message": message.to_string()}),
        }
    }

    fn not_found(what: impl std::fmt::Display) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            body: json!({"error": "NotFound", "message": what.to_string()}),
        }
    }

    fn unavailable(error: NodeError) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            body: json!({"error": "Unavailable", "message": error.to_string()}),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

fn parse<T: FromStr>(field: &str, text: &str) -> ApiResult<T>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|e| ApiError::bad_request(field, e))
}

/// The router over a running node.
pub fn router(node: Node) -> Router {
    Router::new()
        .route("/api/v1/health", get(health))
        .route("/api/v1/extrinsics", post(submit))
        .route("/api/v1/blocks", get(follow_blocks))
        .route("/api/v1/blocks/{number}", get(block))
        .route("/api/v1/state-hash", get(state_hash))
        .route("/api/v1/storage/limits", get(limits))
        .route("/api/v1/storage/policies", get(policies))
        .route("/api/v1/storage/blacklist", get(blacklist))
        .route("/api/v1/storage/bags", get(bags))
        .route("/api/v1/storage/bags/{bag_id}", get(bag))
        .route("/api/v1/storage/bags/{bag_id}/objects", get(bag_objects))
        .route("/api/v1/storage/objects/ids", get(object_ids))
        .route("/api/v1/storage/buckets", get(storage_buckets))
        .route("/api/v1/storage/buckets/{bucket_id}", get(storage_bucket))
        .route("/api/v1/distribution/families", get(families))
        .route("/api/v1/distribution/buckets/{bucket_id}", get(distribution_bucket))
        .route("/api/v1/working-groups/{group}", get(working_group))
        .route("/api/v1/accounts/{account}", get(account))
        .route("/api/v1/members/{member_id}", get(member))
        .route("/api/v1/channels/{channel_id}", get(channel))
        .route("/api/v1/videos/{video_id}", get(video))
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError {
                status: StatusCode::METHOD_NOT_ALLOWED,
                body: json!({"error": "MethodNotAllowed", "message": "method not allowed on this route"}),
            }
        })
        .with_state(node)
}

async fn health(State(node): State<Node>) -> Json<Value> {
    let head = node.head();
    Json(json!({
        "status": "ok",
        "best_block": head.number,
        "best_hash": head.hash,
        "finalized_block": head.number,
        "genesis_hash": node.genesis_hash(),
        "profile": node.constants().profile,
        "block_time_ms": node.block_time().map(|t| t.as_millis() as u64),
    }))
}

/// Submits a call. Only `application/json` is taken: a browser sends a JSON body across
/// origins only after a CORS preflight this API never grants, whereas a `text/plain` POST it
/// sends from any page, which let a web page the operator visits submit calls with a declared
/// Root origin (issue 14, defect 12). The body is read here, against [`MAX_BODY`], so the limit
/// and its JSON answer are this API's, not axum's default 2 MiB.
async fn submit(
    State(node): State<Node>,
    headers: axum::http::HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(ApiError {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            body: json!({"error": "UnsupportedMediaType", "message": "calls are submitted as application/json"}),
        });
    }
    let body = read_limited(body).await.ok_or_else(|| ApiError {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        body: json!({"error": "PayloadTooLarge", "message": format!("bodies are limited to {MAX_BODY} bytes")}),
    })?;
    let extrinsic = parse_extrinsic(&body)?;
    let inclusion = node
        .submit(extrinsic)
        .await
        .map_err(ApiError::unavailable)?;
    let status = if inclusion.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    // Serialized directly (not through `Value`, which would sort keys and put each event's
    // payload before its `pallet` tag).
    let message = inclusion.error.map(|e| e.to_string());
    Ok((
        status,
        Json(SubmitReply {
            inclusion: &inclusion,
            message,
        }),
    )
        .into_response())
}

/// A request body of at most [`MAX_BODY`] bytes; `None` past it. The rest of an oversized body
/// is read and dropped (up to [`MAX_DRAIN`] more), so the client, still sending, reads the 413
/// instead of a reset; the listener's request deadline bounds the time.
async fn read_limited(body: Body) -> Option<Bytes> {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(Ok(chunk)) = stream.next().await {
        seen += chunk.len();
        if seen <= MAX_BODY {
            kept.extend_from_slice(&chunk);
        } else if seen > MAX_BODY + MAX_DRAIN {
            break;
        }
    }
    (seen <= MAX_BODY).then(|| Bytes::from(kept))
}

/// Parses a submitted extrinsic, naming the bad field on error. The call's `pallet` tag is put
/// before its `call` content first: serde buffers an adjacently tagged enum whose content comes
/// first, which loses the error path.
pub fn parse_extrinsic(body: &[u8]) -> ApiResult<Extrinsic> {
    let value: Value = serde_json::from_slice(body).map_err(|e| ApiError::bad_request(".", e))?;
    let canonical = match (&value["call"]["pallet"], &value["call"]["call"]) {
        (Value::String(pallet), inner) if !inner.is_null() => format!(
            r#"{{"origin":{},"call":{{"pallet":{},"call":{}}}}}"#,
            value.get("origin").unwrap_or(&Value::Null),
            Value::String(pallet.clone()),
            inner
        ),
        _ => value.to_string(),
    };
    let mut de = serde_json::Deserializer::from_str(&canonical);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = e.path().to_string();
        ApiError::bad_request(&field, e.into_inner())
    })
}

/// The answer to a submission: the inclusion, and for a failed call a readable message.
#[derive(Serialize)]
struct SubmitReply<'a> {
    #[serde(flatten)]
    inclusion: &'a super::Inclusion,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

async fn block(State(node): State<Node>, Path(number): Path<String>) -> ApiResult<Response> {
    let number: u64 = parse("number", &number)?;
    let block = node
        .block(number)
        .ok_or_else(|| ApiError::not_found(format!("block {number} is not produced yet")))?;
    Ok(Json(&*block).into_response())
}

/// `GET /api/v1/blocks?from=N&follow=true`: newline-delimited JSON blocks from `from`; with
/// `follow` (the default) the response stays open and new blocks are appended as produced.
async fn follow_blocks(
    State(node): State<Node>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let from: u64 = query.get("from").map_or(Ok(0), |v| parse("from", v))?;
    let follow: bool = query
        .get("follow")
        .map_or(Ok(true), |v| parse("follow", v))?;
    let head_rx = node.watch_head();
    let stream = futures_util::stream::unfold(
        (node, from, head_rx),
        move |(node, next, mut head_rx)| async move {
            loop {
                let batch = node.blocks_from(next, STREAM_BATCH);
                if !batch.is_empty() {
                    let mut lines = Vec::new();
                    for block in &batch {
                        serde_json::to_writer(&mut lines, &**block).expect("block serializes");
                        lines.push(b'\n');
                    }
                    let next = next + batch.len() as u64;
                    return Some((
                        Ok::<_, Infallible>(Bytes::from(lines)),
                        (node, next, head_rx),
                    ));
                }
                if !follow || head_rx.changed().await.is_err() {
                    return None;
                }
            }
        },
    );
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(stream),
    )
        .into_response())
}

async fn state_hash(State(node): State<Node>) -> Json<Value> {
    let head = node.head();
    Json(
        json!({"block": head.number, "state_hash": format!("0x{}", hex::encode(head.state.hash()))}),
    )
}

async fn limits(State(node): State<Node>) -> Json<Value> {
    Json(views::limits(node.constants(), &node.head().state.storage))
}

async fn policies(State(node): State<Node>) -> Json<Value> {
    let head = node.head();
    let storage = &head.state.storage;
    Json(json!({
        "Member": storage.policy(node.constants(), DynamicBagType::Member),
        "Channel": storage.policy(node.constants(), DynamicBagType::Channel),
    }))
}

async fn blacklist(State(node): State<Node>) -> Json<Value> {
    Json(json!(node.head().state.storage.blacklist))
}

async fn bags(
    State(node): State<Node>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let storage_bucket: Option<u64> = query
        .get("storage_bucket")
        .map(|v| parse("storage_bucket", v))
        .transpose()?;
    let distribution_bucket: Option<DistributionBucketId> = query
        .get("distribution_bucket")
        .map(|v| parse("distribution_bucket", v))
        .transpose()?;
    let head = node.head();
    let list: Vec<_> = head
        .state
        .storage
        .bags
        .iter()
        .filter(|(_, bag)| storage_bucket.is_none_or(|b| bag.stored_by.contains(&b)))
        .filter(|(_, bag)| distribution_bucket.is_none_or(|b| bag.distributed_by.contains(&b)))
        .map(|(id, bag)| views::bag(id, bag))
        .collect();
    Ok(Json(json!(list)))
}

fn parse_bag(text: &str) -> ApiResult<BagId> {
    parse("bag_id", text)
}

async fn bag(State(node): State<Node>, Path(bag_id): Path<String>) -> ApiResult<Json<Value>> {
    let bag_id = parse_bag(&bag_id)?;
    let head = node.head();
    let bag = head
        .state
        .storage
        .bag(&bag_id)
        .map_err(|_| ApiError::not_found(format!("bag {bag_id} does not exist")))?;
    Ok(Json(views::bag(&bag_id, &bag)))
}

async fn bag_objects(
    State(node): State<Node>,
    Path(bag_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let bag_id = parse_bag(&bag_id)?;
    let head = node.head();
    let storage = &head.state.storage;
    storage
        .bag(&bag_id)
        .map_err(|_| ApiError::not_found(format!("bag {bag_id} does not exist")))?;
    let objects: Vec<_> = storage
        .objects_of(&bag_id)
        .iter()
        .map(|(id, object)| views::object(*id, &bag_id, object))
        .collect();
    Ok(Json(json!(objects)))
}

/// The id of every data object, in every bag, ascending.
async fn object_ids(State(node): State<Node>) -> Json<Value> {
    let head = node.head();
    let mut ids: Vec<u64> = head
        .state
        .storage
        .data_objects_by_id
        .values()
        .flat_map(|objects| objects.keys().copied())
        .collect();
    ids.sort_unstable();
    Json(json!(ids))
}

async fn storage_buckets(State(node): State<Node>) -> Json<Value> {
    let head = node.head();
    let list: Vec<_> = head
        .state
        .storage
        .storage_bucket_by_id
        .keys()
        .filter_map(|id| views::storage_bucket(&head.state, *id))
        .collect();
    Json(json!(list))
}

async fn storage_bucket(
    State(node): State<Node>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id: u64 = parse("bucket_id", &id)?;
    views::storage_bucket(&node.head().state, id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("storage bucket {id} does not exist")))
}

async fn families(State(node): State<Node>) -> Json<Value> {
    Json(views::families(&node.head().state))
}

async fn distribution_bucket(
    State(node): State<Node>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id: DistributionBucketId = parse("bucket_id", &id)?;
    views::distribution_bucket(&node.head().state, id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("distribution bucket {id} does not exist")))
}

async fn working_group(
    State(node): State<Node>,
    Path(group): Path<String>,
) -> ApiResult<Json<Value>> {
    let group = match group.as_str() {
        "storage" => Group::Storage,
        "distribution" => Group::Distribution,
        other => {
            return Err(ApiError::bad_request(
                "group",
                format!("{other:?} is not a modelled working group (storage, distribution)"),
            ))
        }
    };
    Ok(Json(json!(node.head().state.group(group))))
}

async fn account(State(node): State<Node>, Path(account): Path<String>) -> ApiResult<Json<Value>> {
    let account: AccountId = parse("account", &account)?;
    let free = node.head().state.balances.free_of(&account);
    Ok(Json(json!({"account": account, "free": free})))
}

async fn member(State(node): State<Node>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id: u64 = parse("member_id", &id)?;
    let head = node.head();
    let member = head
        .state
        .members
        .members
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("member {id} does not exist")))?;
    Ok(Json(
        json!({"id": id, "handle": member.handle, "controller_account": member.controller_account}),
    ))
}

async fn channel(State(node): State<Node>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id: u64 = parse("channel_id", &id)?;
    views::channel(&node.head().state, id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("channel {id} does not exist")))
}

async fn video(State(node): State<Node>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id: u64 = parse("video_id", &id)?;
    let head = node.head();
    let video = head
        .state
        .content
        .videos
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("video {id} does not exist")))?;
    let mut value = views::to_value(video);
    value["id"] = json!(id);
    Ok(Json(value))
}

#[cfg(test)]
mod tests {
    /// Every route the router serves is in the OpenAPI file, and the file lists nothing else.
    #[test]
    fn the_openapi_file_lists_exactly_the_routes() {
        let spec = include_str!("../../api/chain.yaml");
        let source = include_str!("api.rs");
        let routed: std::collections::BTreeSet<&str> = source
            .lines()
            .filter_map(|l| l.trim().strip_prefix(".route(\""))
            .filter_map(|l| l.split('"').next())
            .collect();
        let documented: std::collections::BTreeSet<&str> = spec
            .lines()
            .filter_map(|l| l.strip_prefix("  /api/"))
            .map(|l| l.trim_end_matches(':'))
            .collect();
        let routed: std::collections::BTreeSet<String> = routed
            .iter()
            .map(|r| r.trim_start_matches("/api/").to_string())
            .collect();
        let documented: std::collections::BTreeSet<String> =
            documented.iter().map(|d| d.to_string()).collect();
        assert_eq!(routed, documented);
        assert!(routed.len() >= 19);
    }
}
