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
    /// Objects whose open files every shard must drop.
    pub purged: Purged,
}

/// Objects whose open files every shard must drop at once: the scrub's corrupt objects. A
/// shard keeps the files of objects it served open; one kept across the object's removal and
/// its publication again (fetched from a peer within a reaper tick) would go on serving the bad
/// bytes. Shards look at the epoch before each open-file lookup.
#[derive(Debug, Default)]
pub struct Purged {
    epoch: AtomicU64,
    recent: ArcSwap<Vec<(u64, hecaton_shared::DataObjectId)>>,
}

/// Purges remembered; a shard further behind drops all its open files.
const PURGES_KEPT: usize = 64;

impl Purged {
    /// Has every shard drop object `id`'s open file (one writer: the control executor).
    pub fn purge(&self, id: hecaton_shared::DataObjectId) {
        let epoch = self.epoch.load(Ordering::Acquire) + 1;
        self.recent.rcu(|recent| {
            let mut next: Vec<_> = recent.iter().copied().collect();
            next.push((epoch, id));
            let excess = next.len().saturating_sub(PURGES_KEPT);
            next.drain(..excess);
            next
        });
        self.epoch.store(epoch, Ordering::Release);
    }

    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// The objects purged after epoch `seen` and up to `now`; `None` when some are no longer
    /// remembered (drop every open file).
    pub fn since(&self, seen: u64, now: u64) -> Option<Vec<hecaton_shared::DataObjectId>> {
        let recent = self.recent.load();
        // Epochs are listed one after the other: every one in (seen, now] must still be there.
        let oldest = recent.first().map_or(u64::MAX, |(e, _)| *e);
        if now > seen && oldest > seen + 1 {
            return None;
        }
        Some(
            recent
                .iter()
                .filter(|(e, _)| *e > seen && *e <= now)
                .map(|(_, id)| *id)
                .collect(),
        )
    }
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
            purged: Purged::default(),
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

#[cfg(test)]
mod purge_tests {
    use super::Purged;
    use hecaton_shared::DataObjectId;

    #[test]
    fn a_shard_learns_what_was_purged_since_it_looked_or_to_drop_everything() {
        let p = Purged::default();
        assert_eq!(p.since(0, p.epoch()), Some(vec![]));
        p.purge(DataObjectId(7));
        p.purge(DataObjectId(9));
        assert_eq!(
            p.since(0, p.epoch()),
            Some(vec![DataObjectId(7), DataObjectId(9)])
        );
        assert_eq!(p.since(1, p.epoch()), Some(vec![DataObjectId(9)]));
        for i in 0..100 {
            p.purge(DataObjectId(100 + i));
        }
        // Epochs 1..=38 are no longer remembered: a shard that saw only 2 drops everything.
        assert_eq!(p.since(2, p.epoch()), None);
        assert_eq!(
            p.since(p.epoch() - 1, p.epoch()),
            Some(vec![DataObjectId(199)])
        );
    }
}
