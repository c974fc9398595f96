//! What the control executor publishes and every shard reads: the catalog of published objects,
//! the current placement, the replication summary and the control session's state; and the
//! registry of live temp files every writer shares. Each is swapped whole (`ArcSwap`), so
//! readers on any executor take a consistent version without locking.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::{ArcSwap, ArcSwapOption};
use hecaton_shared::socket::{Source, SyncSummary};

use crate::fill::Fills;
use crate::metrics::Metrics;
use crate::placement::Placement;
use crate::store::space::Space;
use crate::store::temp::TempRegistry;
use crate::store::Catalog;

/// Cross-executor read views.
#[derive(Debug)]
pub struct Views {
    /// Published objects.
    pub catalog: ArcSwap<Catalog>,
    /// Placement from the control plane; `None` until a first snapshot arrived.
    pub placement: ArcSwapOption<Placement>,
    /// A control plane is connected now.
    pub connected: AtomicBool,
    /// Control sessions started since the process started.
    pub sessions: AtomicU64,
    /// Serving counters, one slot per shard.
    pub metrics: Metrics,
    /// Temp files writers own now.
    pub temps: TempRegistry,
    /// The control plane's latest replication and cleanup summary.
    pub summary: ArcSwapOption<SyncSummary>,
    /// Distributor: the storage nodes to fetch from, best first.
    pub sources: ArcSwap<Vec<Source>>,
    /// Distributor: whether the public API serves (the operator may stop it).
    pub public_enabled: AtomicBool,
    /// Distributor: cache fills in progress.
    pub fills: Fills,
    /// Distributor: the memory tier, objects whose bytes every shard serves from memory.
    pub memory: ArcSwap<imbl::HashMap<hecaton_shared::DataObjectId, Arc<[u8]>>>,
    /// The store's free space, its reserve and the bytes promised to writes in flight.
    pub space: Arc<Space>,
}

impl Views {
    /// Views over a recovered catalog, with no placement yet.
    pub fn new(catalog: Catalog, shards: usize, space: Arc<Space>) -> Arc<Self> {
        Arc::new(Self {
            catalog: ArcSwap::from_pointee(catalog),
            placement: ArcSwapOption::empty(),
            connected: AtomicBool::new(false),
            sessions: AtomicU64::new(0),
            metrics: Metrics::new(shards),
            temps: TempRegistry::default(),
            summary: ArcSwapOption::empty(),
            sources: ArcSwap::from_pointee(Vec::new()),
            public_enabled: AtomicBool::new(true),
            fills: Fills::default(),
            memory: ArcSwap::from_pointee(imbl::HashMap::new()),
            space,
        })
    }

    /// The current placement, if any.
    pub fn placement(&self) -> Option<Arc<Placement>> {
        self.placement.load_full()
    }

    /// The current catalog.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog.load_full()
    }

    /// Whether a control plane is connected.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }
}
