//! The distributor's operator API (axum, its own port, loopback by default): Argus's signed
//! operator calls (`argus-operator.yml`) — `POST /api/v1/stop-api`, `start-api`, `shutdown`,
//! `set-worker`, `set-buckets` — each checked by [`jwt::verify`]; and our own `GET /status`
//! (JSON) and `GET /metrics` (Prometheus), unauthenticated like the storage node's.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hecaton_shared::DistributionBucketId;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::jwt;
use super::status::DistributorStatus;

/// What an operator call asks the node to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorCommand {
    /// Close or open the public API.
    PublicApi(bool),
    /// Exit (gracefully, in five seconds).
    Shutdown,
    /// Serve the buckets of this worker.
    SetWorker(u64),
    /// Serve these buckets (`None`: every bucket of the worker).
    SetBuckets(Option<Vec<DistributionBucketId>>),
}

/// The API's state.
#[derive(Debug, Clone)]
pub struct Operator {
    /// The node's status.
    pub status: Arc<DistributorStatus>,
    /// The HMAC secret (empty: calls refused).
    pub secret: Arc<str>,
    /// Where accepted calls go.
    pub commands: mpsc::UnboundedSender<OperatorCommand>,
    /// Tokens already used.
    pub seen: Arc<jwt::Seen>,
}

/// The routes.
pub fn router(op: Operator) -> Router {
    Router::new()
        .route("/api/v1/stop-api", post(stop_api))
        .route("/api/v1/start-api", post(start_api))
        .route("/api/v1/shutdown", post(shutdown))
        .route("/api/v1/set-worker", post(set_worker))
        .route("/api/v1/set-buckets", post(set_buckets))
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .with_state(op)
}

/// A refused call: its status and message.
#[derive(Debug)]
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        message(self.0, &self.1)
    }
}

fn message(status: StatusCode, text: &str) -> Response {
    (status, Json(json!({ "message": text }))).into_response()
}

/// Checks the call's token against its URL and body; the parsed body on success.
fn authorize(
    op: &Operator,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Value, Refusal> {
    let body: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| {
            Refusal(
                StatusCode::BAD_REQUEST,
                format!("the body is not JSON: {e}"),
            )
        })?
    };
    let url = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_string(), |pq| pq.as_str().to_string());
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    jwt::verify(auth, &op.secret, &url, &body, &op.seen).map_err(|e| {
        warn!(%url, "operator call refused: {e}");
        Refusal(StatusCode::UNAUTHORIZED, e.to_string())
    })?;
    Ok(body)
}

fn send(op: &Operator, command: OperatorCommand) -> Response {
    info!(?command, "operator call");
    let _ = op.commands.send(command);
    StatusCode::OK.into_response()
}

async fn stop_api(
    State(op): State<Operator>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = authorize(&op, &uri, &headers, &body) {
        return r.into_response();
    }
    if !op.status.public_enabled() {
        return message(StatusCode::CONFLICT, "Already stopped");
    }
    op.status.set_public(false);
    send(&op, OperatorCommand::PublicApi(false))
}

async fn start_api(
    State(op): State<Operator>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = authorize(&op, &uri, &headers, &body) {
        return r.into_response();
    }
    if op.status.public_enabled() {
        return message(StatusCode::CONFLICT, "Already started");
    }
    op.status.set_public(true);
    send(&op, OperatorCommand::PublicApi(true))
}

async fn shutdown(
    State(op): State<Operator>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = authorize(&op, &uri, &headers, &body) {
        return r.into_response();
    }
    if !op.status.begin_shutdown() {
        return message(StatusCode::CONFLICT, "Already shutting down");
    }
    send(&op, OperatorCommand::Shutdown)
}

async fn set_worker(
    State(op): State<Operator>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match authorize(&op, &uri, &headers, &body) {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    match body.get("workerId").and_then(Value::as_u64) {
        Some(w) => send(&op, OperatorCommand::SetWorker(w)),
        None => message(StatusCode::BAD_REQUEST, "workerId must be an integer ≥ 0"),
    }
}

async fn set_buckets(
    State(op): State<Operator>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match authorize(&op, &uri, &headers, &body) {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    let buckets = match body.get("buckets") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) if !items.is_empty() => {
            let parsed: Result<Vec<DistributionBucketId>, String> = items
                .iter()
                .map(|v| {
                    v.as_str()
                        .ok_or_else(|| "bucket ids are strings".to_string())?
                        .parse()
                        .map_err(|e: hecaton_shared::DistributionBucketIdError| e.to_string())
                })
                .collect();
            match parsed {
                Ok(ids) => Some(ids),
                Err(e) => return message(StatusCode::BAD_REQUEST, &e),
            }
        }
        Some(_) => {
            return message(
                StatusCode::BAD_REQUEST,
                "buckets must be a non-empty array of \"<family>:<index>\"",
            )
        }
    };
    send(&op, OperatorCommand::SetBuckets(buckets))
}

async fn status(State(op): State<Operator>) -> Json<Value> {
    Json(op.status.json())
}

async fn metrics(State(op): State<Operator>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        op.status.render_metrics(),
    )
}
