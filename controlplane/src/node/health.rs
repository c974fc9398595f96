//! `/healthz` and `/readyz` on both roles' operator APIs, for a load balancer, systemd's
//! watchdog scripts or a Kubernetes probe.
//!
//! - `/healthz`: 200 while the control plane answers (alive).
//! - `/readyz`: 200 when the node can serve what the chain says: the data plane is connected
//!   (it connects only once its store has been recovered), it applied a placement no more than
//!   `max_lag_blocks` behind the one computed, and that placement is no more than
//!   `max_lag_blocks` behind the chain's finalized head, asked directly every
//!   `head_interval`. Otherwise 503 with the checks that failed.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use tracing::debug;

use crate::chain::Chain;
use crate::node::link::LinkEvent;

/// Blocks the node may lag by and still be ready (Joystream makes a block every 6 s).
pub const DEFAULT_MAX_LAG_BLOCKS: u64 = 10;
/// How often the chain's finalized head is asked for.
pub const HEAD_INTERVAL: Duration = Duration::from_secs(6);

/// What readiness is judged on.
#[derive(Debug)]
pub struct Health {
    started: Instant,
    max_lag_blocks: u64,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    finalized: Option<(u64, Instant)>,
    chain_error: Option<String>,
    placement_block: Option<u64>,
    applied_block: Option<u64>,
    dataplane_connected: bool,
}

impl Health {
    /// Nothing known yet (not ready).
    pub fn new(max_lag_blocks: u64) -> Arc<Self> {
        Arc::new(Self {
            started: Instant::now(),
            max_lag_blocks,
            inner: Mutex::default(),
        })
    }

    fn with(&self, f: impl FnOnce(&mut Inner)) {
        f(&mut self.inner.lock().expect("health lock"));
    }

    /// The obligations were computed at `block`.
    pub fn placement(&self, block: u64) {
        self.with(|h| h.placement_block = Some(block));
    }

    /// The data plane applied the placement of `block`.
    pub fn applied(&self, block: u64) {
        self.with(|h| h.applied_block = Some(block));
    }

    /// The data plane's session opened or closed.
    pub fn dataplane(&self, connected: bool) {
        self.with(|h| {
            h.dataplane_connected = connected;
            if !connected {
                h.applied_block = None;
            }
        });
    }

    /// Follows the data plane's session: connected, disconnected, placement applied.
    pub fn link_event(&self, event: &LinkEvent) {
        match event {
            LinkEvent::Connected { .. } => self.dataplane(true),
            LinkEvent::Disconnected { .. } => self.dataplane(false),
            LinkEvent::Applied(block) => self.applied(*block),
            _ => {}
        }
    }

    /// Whether the node is ready, and the checks as JSON (each one's `ok` and `detail`).
    pub fn checks(&self) -> (bool, Value) {
        let h = self.inner.lock().expect("health lock");
        let lag = self.max_lag_blocks;
        let store = (
            h.dataplane_connected,
            if h.dataplane_connected {
                "data plane connected (store recovered)".to_owned()
            } else {
                "data plane not connected (starting, recovering its store, or down)".to_owned()
            },
        );
        let placement = match (h.placement_block, h.applied_block) {
            (Some(p), Some(a)) if p.saturating_sub(a) <= lag => {
                (true, format!("applied block {a}, computed {p}"))
            }
            (Some(p), Some(a)) => (false, format!("applied block {a} is behind {p}")),
            (Some(p), None) => (false, format!("placement of block {p} not applied yet")),
            (None, _) => (false, "obligations not read from the chain yet".to_owned()),
        };
        let fresh = HEAD_INTERVAL * 3;
        let chain = match (h.finalized, h.placement_block) {
            (Some((head, at)), Some(p)) if at.elapsed() <= fresh => {
                if head.saturating_sub(p) <= lag {
                    (true, format!("following block {p}, finalized head {head}"))
                } else {
                    (
                        false,
                        format!("following block {p}, {} behind the head {head}", head - p),
                    )
                }
            }
            (Some((_, at)), _) if at.elapsed() > fresh => (
                false,
                format!(
                    "chain not answering for {} s: {}",
                    at.elapsed().as_secs(),
                    h.chain_error.as_deref().unwrap_or("no answer")
                ),
            ),
            _ => (
                false,
                h.chain_error
                    .clone()
                    .unwrap_or_else(|| "finalized head not known yet".to_owned()),
            ),
        };
        let ready = store.0 && placement.0 && chain.0;
        let each = |(ok, detail): (bool, String)| json!({ "ok": ok, "detail": detail });
        (
            ready,
            json!({
                "ready": ready,
                "max_lag_blocks": lag,
                "checks": { "store": each(store), "placement": each(placement), "chain": each(chain) },
            }),
        )
    }
}

/// Asks the chain for its finalized head every [`HEAD_INTERVAL`], for as long as it runs.
pub async fn watch_head(chain: impl Chain, health: Arc<Health>) {
    let mut tick = tokio::time::interval(HEAD_INTERVAL);
    loop {
        tick.tick().await;
        match chain.finalized_block().await {
            Ok(head) => health.with(|h| {
                h.finalized = Some((head, Instant::now()));
                h.chain_error = None;
            }),
            Err(e) => {
                debug!("finalized head: {e}");
                health.with(|h| h.chain_error = Some(e.to_string()));
            }
        }
    }
}

/// `/healthz` and `/readyz`.
pub fn router(health: Arc<Health>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(health)
}

async fn healthz(State(health): State<Arc<Health>>) -> Json<Value> {
    Json(json!({ "alive": true, "uptime_secs": health.started.elapsed().as_secs() }))
}

async fn readyz(State(health): State<Arc<Health>>) -> (StatusCode, Json<Value>) {
    let (ready, body) = health.checks();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}
