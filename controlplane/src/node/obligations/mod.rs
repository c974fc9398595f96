//! Obligations: what a node must hold or serve, computed from the chain.
//!
//! - A storage node: for the buckets its worker operates (all, or the configured ones), every
//!   bag they store, with the bag's objects as the chain declares them and the other holders'
//!   published endpoints (`storage.rs`).
//! - A distributor: for the distribution buckets its worker operates (or the configured ones),
//!   every bag they distribute, with its objects and the endpoints of the storage buckets that
//!   hold it; and the id of every object on chain (`distribution.rs`).
//!
//! Computed in full at start and at each reconciliation, and per bag when a block's events touch
//! a bag (`events.rs`); events about buckets redo it in full. Persistent maps make each version
//! cheap to keep next to the previous one, which is what the data plane link diffs against.

mod distribution;
mod events;
mod storage;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use hecaton_shared::socket::{BagPlacement, Change, Globals, ObjectPlacement, Role};
use hecaton_shared::{BagId, DataObjectId, DistributionBucketId, IdSet};

pub use events::Touched;

use crate::chain::{Chain, ChainError, StorageBucketInfo};

/// Which buckets a storage node serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketSelection {
    /// Every bucket the worker operates.
    All,
    /// These buckets (those the worker does not operate are read-only: uploads are refused).
    Only(BTreeSet<u64>),
}

/// Who a node is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// A storage node.
    Storage {
        /// The storage worker id.
        worker_id: u64,
        /// Its buckets.
        buckets: BucketSelection,
        /// The accounts this node can sign for (`None`: any, as with the embedded chain): an
        /// operated bucket whose transactor is not among them is kept but takes no uploads.
        signers: Option<BTreeSet<crate::account::AccountId>>,
    },
    /// A distributor.
    Distributor {
        /// The node id (Argus's `id`).
        node_id: String,
        /// The distribution worker id.
        worker_id: Option<u64>,
        /// Its buckets by id; `None`: every bucket the worker operates.
        buckets: Option<BTreeSet<DistributionBucketId>>,
    },
}

/// What this node must hold, as of a block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Obligations {
    /// The role they are computed for.
    pub role: Option<Role>,
    /// The block the state was read at (or after).
    pub block: u64,
    /// Node-wide values.
    pub globals: Globals,
    /// Bags, with their objects.
    pub bags: imbl::OrdMap<BagId, Arc<BagPlacement>>,
    /// Published endpoint of every storage bucket that has one.
    pub endpoints: imbl::OrdMap<u64, String>,
    /// Each object's bag.
    pub objects: imbl::HashMap<DataObjectId, BagId>,
    /// Distributor: every object on chain.
    pub existing: Option<Arc<IdSet>>,
    /// Storage: the transactor of each bucket that accepts uploads (it signs their
    /// acceptances).
    pub transactors: imbl::OrdMap<u64, crate::account::AccountId>,
}

impl Obligations {
    /// Reads everything from the chain.
    pub async fn read(chain: &impl Chain, scope: &Scope, block: u64) -> Result<Self, ChainError> {
        match scope {
            Scope::Storage { .. } => Self::read_storage(chain, scope, block).await,
            Scope::Distributor { .. } => Self::read_distribution(chain, scope, block).await,
        }
    }

    /// Re-reads one bag, or drops it when it is no longer this node's (or was deleted).
    pub async fn refresh_bag(&mut self, chain: &impl Chain, bag: BagId) -> Result<(), ChainError> {
        match self.role {
            Some(Role::Distributor) => self.refresh_distributed_bag(chain, bag).await,
            _ => self.refresh_stored_bag(chain, bag).await,
        }
    }

    /// Replaces `bag`'s entry (or removes it, with `None`), keeping the object index in step.
    fn set_bag(&mut self, bag: BagId, placement: Option<BagPlacement>) {
        if let Some(old) = self.bags.remove(&bag) {
            for o in &old.objects {
                self.objects.remove(&o.id);
            }
        }
        if let Some(p) = placement {
            for o in &p.objects {
                self.objects.insert(o.id, bag);
            }
            self.bags.insert(bag, Arc::new(p));
        }
    }

    /// An object this node must hold, with its bag.
    pub fn object(&self, id: DataObjectId) -> Option<(&BagPlacement, &ObjectPlacement)> {
        let bag = self.bags.get(self.objects.get(&id)?)?;
        let i = bag.objects.binary_search_by_key(&id, |o| o.id).ok()?;
        Some((bag, &bag.objects[i]))
    }

    /// Objects held and pending acceptance, and their bytes.
    pub fn counts(&self) -> (usize, usize, u64) {
        let (mut objects, mut pending, mut bytes) = (0, 0, 0);
        for bag in self.bags.values() {
            objects += bag.objects.len();
            pending += bag.objects.iter().filter(|o| !o.accepted).count();
            bytes += bag.objects.iter().map(|o| o.size).sum::<u64>();
        }
        (objects, pending, bytes)
    }
}

/// A bag's objects as placement lists them, by id.
async fn bag_objects(chain: &impl Chain, bag: BagId) -> Result<Vec<ObjectPlacement>, ChainError> {
    let mut objects: Vec<ObjectPlacement> = chain
        .bag_objects(bag)
        .await?
        .into_iter()
        .map(|o| ObjectPlacement {
            id: DataObjectId(o.id),
            size: o.object.size,
            content_id: String::from_utf8_lossy(&o.object.ipfs_content_id.0).into_owned(),
            accepted: o.object.accepted,
        })
        .collect();
    objects.sort_by_key(|o| o.id);
    Ok(objects)
}

/// The published endpoint of every storage bucket that has one.
fn endpoints(buckets: &[StorageBucketInfo]) -> imbl::OrdMap<u64, String> {
    buckets
        .iter()
        .filter_map(|b| {
            let endpoint = b.operator_metadata.as_ref()?.endpoint.clone()?;
            Some((b.id, endpoint))
        })
        .collect()
}

/// The changes that turn `old` into `new`.
pub fn diff(old: &Obligations, new: &Obligations) -> Vec<Change> {
    let mut changes = Vec::new();
    if old.globals != new.globals {
        changes.push(Change::Globals(new.globals.clone()));
    }
    match (&old.existing, &new.existing) {
        (Some(a), Some(b)) if !Arc::ptr_eq(a, b) && a != b => changes.push(Change::Existing {
            added: b.difference(a),
            removed: a.difference(b),
        }),
        (None, Some(b)) => changes.push(Change::Existing {
            added: b.difference(&IdSet::new()),
            removed: Vec::new(),
        }),
        _ => {}
    }
    for (bag, placement) in &old.bags {
        if !new.bags.contains_key(bag) {
            changes.push(Change::BagRemoved { bag: placement.bag });
        }
    }
    for (bag, placement) in &new.bags {
        let before = old.bags.get(bag);
        if before.is_some_and(|b| Arc::ptr_eq(b, placement) || **b == **placement) {
            continue;
        }
        if before.is_none_or(|b| b.buckets != placement.buckets || b.peers != placement.peers) {
            changes.push(Change::Bag {
                bag: *bag,
                buckets: placement.buckets.clone(),
                peers: placement.peers.clone(),
            });
        }
        let was: BTreeMap<DataObjectId, &ObjectPlacement> = before
            .map(|b| b.objects.iter().map(|o| (o.id, o)).collect())
            .unwrap_or_default();
        let changed: Vec<ObjectPlacement> = placement
            .objects
            .iter()
            .filter(|o| was.get(&o.id).is_none_or(|w| *w != *o))
            .cloned()
            .collect();
        if !changed.is_empty() {
            changes.push(Change::Objects {
                bag: *bag,
                objects: changed,
            });
        }
        let now: BTreeSet<DataObjectId> = placement.objects.iter().map(|o| o.id).collect();
        let removed: Vec<DataObjectId> =
            was.keys().filter(|id| !now.contains(id)).copied().collect();
        if !removed.is_empty() {
            changes.push(Change::ObjectsRemoved {
                bag: *bag,
                ids: removed,
            });
        }
    }
    changes
}

/// The snapshot of `ob`, in parts of at most `per_part` objects (a bag larger than that is a
/// part of its own), each cloned only when it is asked for: a snapshot of millions of objects
/// is never copied whole.
pub fn snapshot_parts(
    ob: &Obligations,
    per_part: usize,
) -> impl Iterator<Item = Vec<BagPlacement>> + '_ {
    let mut bags = ob.bags.values().peekable();
    std::iter::from_fn(move || {
        bags.peek()?;
        let mut part = Vec::new();
        let mut in_part = 0;
        while let Some(bag) = bags.peek() {
            if in_part > 0 && in_part + bag.objects.len() > per_part {
                break;
            }
            in_part += bag.objects.len().max(1);
            part.push(BagPlacement::clone(bag));
            bags.next();
        }
        Some(part)
    })
}
