//! The operator API (axum, its own port, loopback by default): `GET /status` as JSON and
//! `GET /metrics` in the Prometheus text format.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde_json::json;

use crate::node::metrics::{Reported, ReportedCollector};
use crate::node::process_metrics::ProcessCollector;

use super::acceptor::AcceptStats;
use super::sync::SyncStatus;

/// What the node knows about itself, updated by its tasks.
#[derive(Debug)]
pub struct NodeStatus {
    started: Instant,
    /// Mutable state.
    pub inner: Mutex<StatusInner>,
    /// Acceptance.
    pub accept: Arc<Mutex<AcceptStats>>,
    /// Replication and cleanup.
    pub sync: Arc<Mutex<SyncStatus>>,
    /// What the data plane reported last.
    pub reported: Arc<Reported>,
    metrics: Metrics,
}

/// The mutable part of [`NodeStatus`].
#[derive(Debug, Default, Clone)]
pub struct StatusInner {
    /// Latest finalized block seen.
    pub chain_head: u64,
    /// Block of the current obligations.
    pub placement_block: u64,
    /// Block the data plane acknowledged.
    pub applied_block: Option<u64>,
    /// Whether the data plane is connected.
    pub socket_connected: bool,
    /// The data plane's shards.
    pub shards: usize,
    /// Sessions started with the data plane.
    pub socket_sessions: u64,
    /// Last session end reason.
    pub socket_last_error: Option<String>,
    /// Objects the obligations list, pending ones, their bytes.
    pub objects_obliged: usize,
    /// Of which not accepted on chain.
    pub objects_pending: usize,
    /// Bytes of all obliged objects.
    pub bytes_obliged: u64,
    /// Objects and bytes the data plane stores (its last usage report).
    pub objects_held: u64,
    /// Bytes stored.
    pub bytes_held: u64,
    /// Bags stored.
    pub bags: usize,
    /// This node's buckets.
    pub buckets: Vec<u64>,
    /// Operated buckets whose transactor key this node does not hold (kept, no uploads).
    pub unkeyed_buckets: Vec<u64>,
    /// The worker id.
    pub worker_id: u64,
}

#[derive(Debug, Default)]
struct Metrics {
    registry: Registry,
    chain_head: Gauge,
    placement_block: Gauge,
    applied_block: Gauge,
    socket_sessions: Counter,
    socket_connected: Gauge,
    objects_obliged: Gauge,
    objects_pending: Gauge,
    objects_held: Gauge,
    objects_missing: Gauge,
    bytes_held: Gauge,
    accepted: Counter,
    accept_batches_ok: Counter,
    accept_batches_failed: Counter,
    sync_backlog: Gauge,
    sync_backlog_bytes: Gauge,
    sync_in_flight: Gauge,
    sync_failing: Gauge,
    sync_fetched: Counter,
    sync_fetch_failures: Counter,
    cleanup_waiting: Gauge,
    cleanup_unplaced: Gauge,
}

impl Metrics {
    fn new() -> Self {
        let mut m = Metrics::default();
        let r = &mut m.registry;
        r.register(
            "hecaton_chain_head_block",
            "Latest finalized block seen",
            m.chain_head.clone(),
        );
        r.register(
            "hecaton_placement_block",
            "Block of the placement computed",
            m.placement_block.clone(),
        );
        r.register(
            "hecaton_placement_applied_block",
            "Block of the placement the data plane applied",
            m.applied_block.clone(),
        );
        r.register(
            "hecaton_socket_sessions",
            "Sessions with the data plane (reconnects + 1)",
            m.socket_sessions.clone(),
        );
        r.register(
            "hecaton_socket_connected",
            "1 while the data plane is connected",
            m.socket_connected.clone(),
        );
        r.register(
            "hecaton_objects_obliged",
            "Objects this node's buckets must hold",
            m.objects_obliged.clone(),
        );
        r.register(
            "hecaton_objects_pending_acceptance",
            "Obliged objects not accepted on chain",
            m.objects_pending.clone(),
        );
        r.register(
            "hecaton_store_objects",
            "Objects in the store",
            m.objects_held.clone(),
        );
        r.register(
            "hecaton_store_used_bytes",
            "Bytes of the objects in the store",
            m.bytes_held.clone(),
        );
        r.register(
            "hecaton_objects_missing",
            "Obliged objects the store lacks",
            m.objects_missing.clone(),
        );
        r.register(
            "hecaton_objects_accepted",
            "Objects this node accepted on chain",
            m.accepted.clone(),
        );
        r.register(
            "hecaton_accept_batches_ok",
            "accept_pending_data_objects calls that succeeded",
            m.accept_batches_ok.clone(),
        );
        r.register(
            "hecaton_accept_batches_failed",
            "accept_pending_data_objects calls that failed",
            m.accept_batches_failed.clone(),
        );
        r.register(
            "hecaton_sync_backlog_objects",
            "Accepted objects this node must hold and lacks",
            m.sync_backlog.clone(),
        );
        r.register(
            "hecaton_sync_backlog_bytes",
            "Bytes of the sync backlog",
            m.sync_backlog_bytes.clone(),
        );
        r.register(
            "hecaton_sync_in_flight",
            "Objects being fetched",
            m.sync_in_flight.clone(),
        );
        r.register(
            "hecaton_sync_failing",
            "Objects waiting for a retry after failing from every source",
            m.sync_failing.clone(),
        );
        r.register(
            "hecaton_sync_fetched_objects",
            "Objects fetched from peers",
            m.sync_fetched.clone(),
        );
        r.register(
            "hecaton_sync_fetch_failures",
            "Fetches given up after every source and retry failed",
            m.sync_fetch_failures.clone(),
        );
        r.register(
            "hecaton_cleanup_waiting_objects",
            "Unassigned objects waiting for other holders to confirm their copies",
            m.cleanup_waiting.clone(),
        );
        r.register(
            "hecaton_cleanup_unplaced_objects",
            "Objects held without a bag that nothing places (kept)",
            m.cleanup_unplaced.clone(),
        );
        m
    }
}

fn set(g: &Gauge, v: u64) {
    g.set(i64::try_from(v).unwrap_or(i64::MAX));
}

fn catch_up(c: &Counter, v: u64) {
    let now = c.get();
    if v > now {
        c.inc_by(v - now);
    }
}

impl NodeStatus {
    /// A status with nothing known yet.
    pub fn new(
        accept: Arc<Mutex<AcceptStats>>,
        sync: Arc<Mutex<SyncStatus>>,
        store_dir: &std::path::Path,
    ) -> Arc<Self> {
        let reported = Arc::new(Reported::default());
        let mut metrics = Metrics::new();
        metrics
            .registry
            .register_collector(Box::new(ReportedCollector(reported.clone())));
        metrics
            .registry
            .register_collector(Box::new(ProcessCollector {
                role: "storage",
                store_dir: store_dir.to_owned(),
            }));
        Arc::new(Self {
            started: Instant::now(),
            inner: Mutex::new(StatusInner::default()),
            accept,
            sync,
            reported,
            metrics,
        })
    }

    /// Updates the state.
    pub fn update(&self, f: impl FnOnce(&mut StatusInner)) {
        f(&mut self.inner.lock().expect("status lock"));
    }

    /// The state now.
    pub fn snapshot(&self) -> (StatusInner, AcceptStats, SyncStatus) {
        (
            self.inner.lock().expect("status lock").clone(),
            self.accept.lock().expect("stats lock").clone(),
            self.sync.lock().expect("sync status").clone(),
        )
    }

    fn render_metrics(&self) -> String {
        let (s, a, y) = self.snapshot();
        let m = &self.metrics;
        set(&m.chain_head, s.chain_head);
        set(&m.placement_block, s.placement_block);
        set(&m.applied_block, s.applied_block.unwrap_or(0));
        catch_up(&m.socket_sessions, s.socket_sessions);
        set(&m.socket_connected, u64::from(s.socket_connected));
        set(&m.objects_obliged, s.objects_obliged as u64);
        set(&m.objects_pending, s.objects_pending as u64);
        set(&m.objects_held, s.objects_held);
        set(&m.bytes_held, s.bytes_held);
        set(&m.objects_missing, y.missing);
        catch_up(&m.accepted, a.accepted);
        catch_up(&m.accept_batches_ok, a.batches_ok);
        catch_up(&m.accept_batches_failed, a.batches_failed);
        set(&m.sync_backlog, y.summary.backlog_objects);
        set(&m.sync_backlog_bytes, y.summary.backlog_bytes);
        set(&m.sync_in_flight, y.summary.in_flight);
        set(&m.sync_failing, y.summary.failing);
        catch_up(&m.sync_fetched, y.summary.fetched);
        catch_up(&m.sync_fetch_failures, y.fetch_failures);
        set(&m.cleanup_waiting, y.summary.cleanup_waiting);
        set(&m.cleanup_unplaced, y.unplaced);
        *self.reported.peers.lock().expect("peers") = y.summary.peers.clone();
        let mut out = String::new();
        encode(&mut out, &m.registry).expect("writing to a String cannot fail");
        out
    }
}

/// The operator API's routes.
pub fn router(status: Arc<NodeStatus>) -> Router {
    Router::new()
        .route("/status", get(get_status))
        .route("/metrics", get(get_metrics))
        .with_state(status)
}

async fn get_status(State(status): State<Arc<NodeStatus>>) -> Json<serde_json::Value> {
    let (s, a, y) = status.snapshot();
    let scrub = status
        .reported
        .dataplane
        .lock()
        .expect("metrics")
        .as_ref()
        .map(|m| m.scrub.clone());
    Json(json!({
        "role": "storage",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_secs": status.started.elapsed().as_secs(),
        "worker_id": s.worker_id,
        "buckets": s.buckets,
        "unkeyed_buckets": s.unkeyed_buckets,
        "chain": { "head": s.chain_head },
        "placement": { "block": s.placement_block, "applied_block": s.applied_block, "bags": s.bags },
        "objects": {
            "obliged": s.objects_obliged,
            "pending_acceptance": s.objects_pending,
            "held": s.objects_held,
            "missing": y.missing,
            "bytes_obliged": s.bytes_obliged,
            "bytes_held": s.bytes_held,
        },
        "dataplane": {
            "connected": s.socket_connected,
            "shards": s.shards,
            "sessions": s.socket_sessions,
            "last_error": s.socket_last_error,
        },
        "acceptance": a,
        "sync": {
            "inventory_complete": y.inventory_complete,
            "backlog": { "objects": y.summary.backlog_objects, "bytes": y.summary.backlog_bytes },
            "in_flight": y.in_flight,
            "failing": y.failing,
            "sourceless": y.sourceless,
            "bytes_per_sec": y.summary.bytes_per_sec,
            "fetched": y.summary.fetched,
            "fetch_failures": y.fetch_failures,
            "recent": y.recent,
            "peers": y.summary.peers,
        },
        "cleanup": {
            "min_replication": y.summary.min_replication,
            "waiting": { "objects": y.summary.cleanup_waiting, "first": y.cleanup_waiting },
            "unplaced": y.unplaced,
            "removed": y.removed_by_reason,
        },
        "scrub": scrub,
    }))
}

async fn get_metrics(State(status): State<Arc<NodeStatus>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        status.render_metrics(),
    )
}
