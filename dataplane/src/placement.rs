//! Placement: what the control plane says this node stores, as of a chain block. Uploads are
//! checked against it (which buckets are ours, which bags they store, each object's declared
//! size and content id), and the bag listing of the public API reads it.
//!
//! Persistent maps, so that a delta makes a new version in time proportional to the change and
//! shards read the current version without locks.

use std::collections::HashMap;
use std::sync::Arc;

use hecaton_shared::socket::{BagPlacement, Change, Globals, ObjectPlacement};
use hecaton_shared::{BagId, DataObjectId, IdSet, StorageBucketId};

/// A bag this node stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BagEntry {
    /// This node's buckets that store it.
    pub buckets: Vec<StorageBucketId>,
    /// Other holders' endpoints.
    pub peers: Vec<String>,
    /// Its objects.
    pub objects: imbl::OrdSet<DataObjectId>,
}

/// An object as the chain declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectEntry {
    /// Its bag.
    pub bag: BagId,
    /// Declared size.
    pub size: u64,
    /// Declared content id, as text.
    pub content_id: String,
    /// Accepted on chain.
    pub accepted: bool,
}

/// Placement as of one chain block.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    /// The block it reflects.
    pub block: u64,
    /// Node-wide values.
    pub globals: Globals,
    bags: imbl::HashMap<BagId, BagEntry>,
    objects: imbl::HashMap<DataObjectId, ObjectEntry>,
    existing: Option<Arc<IdSet>>,
    /// The highest object id ever placed here (removals do not lower it: ids are never
    /// reused).
    highest: Option<DataObjectId>,
}

impl Placement {
    /// Placement from a complete snapshot.
    pub fn from_snapshot(
        block: u64,
        globals: Globals,
        bags: Vec<BagPlacement>,
        existing: Option<IdSet>,
    ) -> Self {
        let mut p = Placement {
            block,
            globals,
            existing: existing.map(Arc::new),
            ..Placement::default()
        };
        for bag in bags {
            p.set_bag(bag.bag, bag.buckets, bag.peers);
            p.set_objects(&bag.bag, bag.objects);
        }
        p
    }

    /// Applies a delta's changes and moves to `block`.
    pub fn apply(&mut self, block: u64, changes: Vec<Change>) {
        for change in changes {
            match change {
                Change::Globals(g) => self.globals = g,
                Change::Bag {
                    bag,
                    buckets,
                    peers,
                } => self.set_bag(bag, buckets, peers),
                Change::BagRemoved { bag } => {
                    if let Some(entry) = self.bags.remove(&bag) {
                        for id in entry.objects {
                            self.objects.remove(&id);
                        }
                    }
                }
                Change::Objects { bag, objects } => self.set_objects(&bag, objects),
                Change::Existing { added, removed } => {
                    let set = Arc::make_mut(self.existing.get_or_insert_with(Default::default));
                    for id in added {
                        set.insert(id);
                    }
                    for id in removed {
                        set.remove(id);
                    }
                }
                Change::ObjectsRemoved { bag, ids } => {
                    for id in ids {
                        if self.objects.get(&id).is_some_and(|o| o.bag == bag) {
                            self.objects.remove(&id);
                        }
                        if let Some(entry) = self.bags.get_mut(&bag) {
                            entry.objects.remove(&id);
                        }
                    }
                }
            }
        }
        self.block = block;
    }

    fn set_bag(&mut self, bag: BagId, buckets: Vec<StorageBucketId>, peers: Vec<String>) {
        let entry = self.bags.entry(bag).or_insert_with(|| BagEntry {
            buckets: Vec::new(),
            peers: Vec::new(),
            objects: imbl::OrdSet::new(),
        });
        entry.buckets = buckets;
        entry.peers = peers;
    }

    fn set_objects(&mut self, bag: &BagId, objects: Vec<ObjectPlacement>) {
        let Some(entry) = self.bags.get_mut(bag) else {
            return;
        };
        for o in objects {
            self.highest = self.highest.max(Some(o.id));
            entry.objects.insert(o.id);
            self.objects.insert(
                o.id,
                ObjectEntry {
                    bag: *bag,
                    size: o.size,
                    content_id: o.content_id,
                    accepted: o.accepted,
                },
            );
        }
    }

    /// Whether object `id` may have been registered in a block this placement has not reached.
    /// The runtime numbers objects in order (`NextDataObjectId`), so an id at or below one
    /// already placed here was registered in a block already applied: if it is not here, it is
    /// not this node's.
    pub fn may_come(&self, id: DataObjectId) -> bool {
        self.highest.is_none_or(|h| id > h)
    }

    /// A bag this node stores.
    pub fn bag(&self, bag: &BagId) -> Option<&BagEntry> {
        self.bags.get(bag)
    }

    /// An object of a bag this node stores.
    pub fn object(&self, id: DataObjectId) -> Option<&ObjectEntry> {
        self.objects.get(&id)
    }

    /// Distributor: whether object `id` exists on chain (in any bag); `None` when the control
    /// plane did not say.
    pub fn exists(&self, id: DataObjectId) -> Option<bool> {
        self.existing.as_ref().map(|s| s.contains(id))
    }

    /// Objects of bags this node stores that are not accepted on chain yet.
    pub fn pending(&self) -> impl Iterator<Item = DataObjectId> + '_ {
        self.objects
            .iter()
            .filter(|(_, o)| !o.accepted)
            .map(|(id, _)| *id)
    }

    /// Bags and objects held, for status.
    pub fn counts(&self) -> (usize, usize) {
        (self.bags.len(), self.objects.len())
    }

    /// Whether `bucket` is one of this node's buckets, and whether it accepts uploads.
    pub fn bucket(&self, bucket: StorageBucketId) -> Option<bool> {
        if self.globals.buckets.contains(&bucket) {
            Some(true)
        } else if self.globals.read_only_buckets.contains(&bucket) {
            Some(false)
        } else {
            None
        }
    }

    /// Everything as a map of bags to objects (tests and status).
    pub fn to_map(&self) -> HashMap<BagId, Vec<DataObjectId>> {
        self.bags
            .iter()
            .map(|(b, e)| (*b, e.objects.iter().copied().collect()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(id: u64, accepted: bool) -> ObjectPlacement {
        ObjectPlacement {
            id: DataObjectId(id),
            size: id * 10,
            content_id: format!("cid{id}"),
            accepted,
        }
    }

    #[test]
    fn snapshot_then_deltas() {
        let a: BagId = "dynamic:channel:1".parse().unwrap();
        let b: BagId = "static:council".parse().unwrap();
        let mut p = Placement::from_snapshot(
            5,
            Globals::default(),
            vec![BagPlacement {
                bag: a,
                buckets: vec![StorageBucketId(0)],
                peers: vec![],
                objects: vec![obj(1, true), obj(2, false)],
            }],
            Some([DataObjectId(1), DataObjectId(2)].into_iter().collect()),
        );
        assert_eq!(p.pending().collect::<Vec<_>>(), vec![DataObjectId(2)]);
        assert_eq!(p.exists(DataObjectId(2)), Some(true));
        let before = p.clone();
        p.apply(
            6,
            vec![
                Change::Objects {
                    bag: a,
                    objects: vec![obj(2, true), obj(3, false)],
                },
                Change::ObjectsRemoved {
                    bag: a,
                    ids: vec![DataObjectId(1)],
                },
                Change::Bag {
                    bag: b,
                    buckets: vec![StorageBucketId(0)],
                    peers: vec!["http://x/".into()],
                },
                Change::Objects {
                    bag: b,
                    objects: vec![obj(9, true)],
                },
            ],
        );
        assert_eq!(p.block, 6);
        assert!(p.object(DataObjectId(1)).is_none());
        assert!(p.object(DataObjectId(2)).unwrap().accepted);
        assert_eq!(p.object(DataObjectId(9)).unwrap().bag, b);
        assert_eq!(p.pending().collect::<Vec<_>>(), vec![DataObjectId(3)]);
        // The earlier version is untouched (readers holding it see a consistent view).
        assert!(before.object(DataObjectId(1)).is_some());
        p.apply(7, vec![Change::BagRemoved { bag: a }]);
        assert!(p.bag(&a).is_none());
        assert!(p.object(DataObjectId(3)).is_none());
        assert_eq!(p.counts(), (1, 1));
        p.apply(
            8,
            vec![Change::Existing {
                added: vec![DataObjectId(9)],
                removed: vec![DataObjectId(2)],
            }],
        );
        assert_eq!(p.exists(DataObjectId(2)), Some(false));
        assert_eq!(p.exists(DataObjectId(9)), Some(true));
        assert_eq!(before.exists(DataObjectId(9)), Some(false), "copy on write");
        assert_eq!(Placement::default().exists(DataObjectId(1)), None);
    }

    #[test]
    fn objects_of_an_unknown_bag_are_ignored() {
        let mut p = Placement::default();
        p.apply(
            1,
            vec![Change::Objects {
                bag: "static:council".parse().unwrap(),
                objects: vec![obj(1, false)],
            }],
        );
        assert!(p.object(DataObjectId(1)).is_none());
    }
}
