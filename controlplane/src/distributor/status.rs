//! What a distributor knows about itself, for its operator API: chain and placement, the data
//! plane's session, the cache's counters (hit ratio, bytes by source, origin fetches,
//! evictions) and the storage nodes it fetches from.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde_json::{json, Value};

use crate::node::metrics::{Reported, ReportedCollector};
use crate::node::process_metrics::ProcessCollector;

/// The mutable part.
#[derive(Debug, Default, Clone)]
pub struct Inner {
    /// Node id.
    pub id: String,
    /// Worker id.
    pub worker_id: Option<u64>,
    /// Buckets served.
    pub buckets: Vec<String>,
    /// Latest block of the obligations.
    pub block: u64,
    /// Block the data plane applied.
    pub applied_block: Option<u64>,
    /// Bags distributed.
    pub bags: usize,
    /// Objects of those bags, and how many are accepted (servable).
    pub objects: usize,
    /// Accepted ones.
    pub servable: usize,
    /// Data plane connected.
    pub connected: bool,
    /// Its shards.
    pub shards: usize,
    /// Sessions so far.
    pub sessions: u64,
    /// Last session end.
    pub last_error: Option<String>,
    /// Objects and bytes in the cache (the data plane's usage report).
    pub cached_objects: u64,
    /// Bytes.
    pub cached_bytes: u64,
}

/// The status.
#[derive(Debug)]
pub struct DistributorStatus {
    started: Instant,
    /// Mutable state.
    pub inner: Mutex<Inner>,
    /// The data plane's counters and the sources.
    pub reported: Arc<Reported>,
    public: AtomicBool,
    shutting_down: AtomicBool,
    registry: Registry,
    gauges: [Gauge; 7],
}

impl DistributorStatus {
    /// Nothing known yet.
    pub fn new(store_dir: &std::path::Path) -> Arc<Self> {
        let reported = Arc::new(Reported::default());
        let mut registry = Registry::default();
        let gauges: [Gauge; 7] = Default::default();
        for (g, (name, help)) in gauges.iter().zip([
            ("hecaton_placement_block", "Block of the placement computed"),
            (
                "hecaton_placement_applied_block",
                "Block of the placement the data plane applied",
            ),
            (
                "hecaton_socket_connected",
                "1 while the data plane is connected",
            ),
            (
                "hecaton_objects_distributed",
                "Accepted objects of the bags this node distributes",
            ),
            (
                "hecaton_public_api_enabled",
                "1 while the public API serves",
            ),
            ("hecaton_cache_objects", "Objects in the cache"),
            (
                "hecaton_cache_used_bytes",
                "Bytes of the objects in the cache",
            ),
        ]) {
            registry.register(name, help, g.clone());
        }
        registry.register_collector(Box::new(ReportedCollector(reported.clone())));
        registry.register_collector(Box::new(ProcessCollector {
            role: "distributor",
            store_dir: store_dir.to_owned(),
        }));
        Arc::new(Self {
            started: Instant::now(),
            inner: Mutex::new(Inner::default()),
            reported,
            public: AtomicBool::new(true),
            shutting_down: AtomicBool::new(false),
            registry,
            gauges,
        })
    }

    /// Updates the state.
    pub fn update(&self, f: impl FnOnce(&mut Inner)) {
        f(&mut self.inner.lock().expect("status"));
    }

    /// Whether the public API serves.
    pub fn public_enabled(&self) -> bool {
        self.public.load(Ordering::Relaxed)
    }

    /// Records the public API's state.
    pub fn set_public(&self, on: bool) {
        self.public.store(on, Ordering::Relaxed);
    }

    /// Marks the shutdown; `false` when it had begun already.
    pub fn begin_shutdown(&self) -> bool {
        !self.shutting_down.swap(true, Ordering::Relaxed)
    }

    /// The status as JSON.
    pub fn json(&self) -> Value {
        let s = self.inner.lock().expect("status").clone();
        let m = self.reported.dataplane.lock().expect("metrics").clone();
        let c = m.as_ref().map(|m| m.cache.clone()).unwrap_or_default();
        let evictions = m
            .as_ref()
            .and_then(|m| m.removals.iter().find(|(r, _)| r == "evicted").map(|r| r.1))
            .unwrap_or(0);
        let requests = c.hits + c.misses + c.pending + c.proxied;
        let hit_ratio = if requests == 0 {
            0.0
        } else {
            c.hits as f64 / requests as f64
        };
        json!({
            "role": "distributor",
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_secs": self.started.elapsed().as_secs(),
            "id": s.id,
            "worker_id": s.worker_id,
            "buckets": s.buckets,
            "placement": { "block": s.block, "applied_block": s.applied_block, "bags": s.bags },
            "objects": { "in_bags": s.objects, "servable": s.servable },
            "dataplane": {
                "connected": s.connected,
                "shards": s.shards,
                "sessions": s.sessions,
                "last_error": s.last_error,
            },
            "public_api": { "enabled": self.public_enabled() },
            "cache": {
                "objects": s.cached_objects,
                "bytes": s.cached_bytes,
                "hit_ratio": hit_ratio,
                "requests": { "hit": c.hits, "miss": c.misses, "pending": c.pending, "proxied": c.proxied },
                "bytes_served": { "cache": c.bytes_hit, "fill": c.bytes_pending, "storage": c.bytes_proxied },
                "origin_fetches": { "started": c.fills, "stored": c.fills_stored, "failed": c.fills_failed, "bytes": c.fill_bytes },
                "evictions": evictions,
            },
            "sources": *self.reported.peers.lock().expect("peers"),
        })
    }

    /// The Prometheus text.
    pub fn render_metrics(&self) -> String {
        let s = self.inner.lock().expect("status").clone();
        let set = |g: &Gauge, v: u64| g.set(i64::try_from(v).unwrap_or(i64::MAX));
        set(&self.gauges[0], s.block);
        set(&self.gauges[1], s.applied_block.unwrap_or(0));
        set(&self.gauges[2], u64::from(s.connected));
        set(&self.gauges[3], s.servable as u64);
        set(&self.gauges[4], u64::from(self.public_enabled()));
        set(&self.gauges[5], s.cached_objects);
        set(&self.gauges[6], s.cached_bytes);
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}
