//! Placement: what the control plane says this node stores, as of a chain block. Uploads are
//! checked against it (which buckets are ours, which bags they store, each object's declared
//! size and content id), and the bag listing of the public API reads it.
//!
//! Persistent maps, so that a delta makes a new version in time proportional to the change and
//! shards read the current version without locks. An object costs 64 bytes in [`IdMap`] leaves
//! (id, size, content id as its 32-byte digest, packed bag, flags) and 8 in its bag's id set;
//! a declared content id that is not a BLAKE3 content id (the chain accepts any bytes) is kept
//! as text beside them.

use std::collections::HashMap;
use std::sync::Arc;

use hecaton_shared::socket::{BagPlacement, Change, Globals, ObjectPlacement};
use hecaton_shared::{BagId, ContentId, DataObjectId, IdSet, StorageBucketId};

use crate::bag_code;
use crate::idmap::IdMap;

/// A bag this node stores.
#[derive(Debug, Clone)]
pub struct BagEntry {
    /// This node's buckets that store it.
    pub buckets: Vec<StorageBucketId>,
    /// Other holders' endpoints.
    pub peers: Vec<String>,
    /// Its objects.
    pub objects: IdMap<()>,
}

/// An object as the chain declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectEntry {
    /// Its bag.
    pub bag: BagId,
    /// Declared size.
    pub size: u64,
    /// Declared content id.
    pub content_id: DeclaredId,
    /// Accepted on chain.
    pub accepted: bool,
}

/// A content id as the chain declared it: a BLAKE3 content id, held as its digest, or any other
/// text (the chain accepts any bytes; no upload can match it). Prints as declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeclaredId {
    /// A BLAKE3 content id.
    Blake3(ContentId),
    /// Text that is not one.
    Other(Arc<str>),
}

impl DeclaredId {
    /// The content id, when the declared text is one.
    pub fn content_id(&self) -> Option<ContentId> {
        match self {
            DeclaredId::Blake3(c) => Some(*c),
            DeclaredId::Other(_) => None,
        }
    }
}

impl std::fmt::Display for DeclaredId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeclaredId::Blake3(c) => c.fmt(f),
            DeclaredId::Other(text) => f.write_str(text),
        }
    }
}

/// [`ObjectEntry`] as placement holds it.
#[derive(Debug, Clone, Copy)]
struct Placed {
    size: u64,
    bag_value: u64,
    /// The declared content id; meaningless when `odd`.
    content_id: ContentId,
    bag_tag: u8,
    accepted: bool,
    /// The declared content id is not a content id: its text is in `odd_content_ids`.
    odd: bool,
}

/// Placement as of one chain block.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    /// The block it reflects.
    pub block: u64,
    /// Node-wide values.
    pub globals: Globals,
    bags: imbl::HashMap<BagId, BagEntry>,
    objects: IdMap<Placed>,
    odd_content_ids: imbl::HashMap<DataObjectId, Arc<str>>,
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
        let mut builder = Placement::builder(block, globals, existing);
        builder.add(bags);
        builder.finish()
    }

    /// A placement assembled from a snapshot's parts as they arrive.
    pub fn builder(block: u64, globals: Globals, existing: Option<IdSet>) -> PlacementBuilder {
        PlacementBuilder {
            placement: Placement {
                block,
                globals,
                existing: existing.map(Arc::new),
                ..Placement::default()
            },
            objects: Vec::new(),
        }
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
                        for (id, ()) in entry.objects.iter() {
                            self.remove_object(id);
                        }
                    }
                }
                Change::Objects { bag, objects } => {
                    if let Some(mut entry) = self.bags.remove(&bag) {
                        for o in objects {
                            entry.objects.insert(o.id, ());
                            let placed = self.place(&bag, o);
                            self.objects.insert(placed.0, placed.1);
                        }
                        self.bags.insert(bag, entry);
                    }
                }
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
                        let in_bag = self
                            .objects
                            .get(id)
                            .is_some_and(|p| bag_code::unpack(p.bag_tag, p.bag_value) == Some(bag));
                        if in_bag {
                            self.remove_object(id);
                        }
                        if let Some(entry) = self.bags.get_mut(&bag) {
                            entry.objects.remove(id);
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
            objects: IdMap::new(),
        });
        entry.buckets = buckets;
        entry.peers = peers;
    }

    /// `o` as held, noting its id as the highest seen and an odd content id's text.
    fn place(&mut self, bag: &BagId, o: ObjectPlacement) -> (DataObjectId, Placed) {
        self.highest = self.highest.max(Some(o.id));
        // Parsing is exact: a content id has one text (46 base58 digits of a multihash whose
        // first byte is not zero), so the digest alone gives the declared text back.
        let parsed = o.content_id.parse::<ContentId>().ok();
        if parsed.is_none() {
            self.odd_content_ids.insert(o.id, Arc::from(o.content_id));
        } else {
            self.odd_content_ids.remove(&o.id);
        }
        let (bag_tag, bag_value) = bag_code::pack(Some(*bag));
        let placed = Placed {
            size: o.size,
            bag_value,
            content_id: parsed.unwrap_or(ContentId::from_digest([0; 32])),
            bag_tag,
            accepted: o.accepted,
            odd: parsed.is_none(),
        };
        (o.id, placed)
    }

    fn remove_object(&mut self, id: DataObjectId) {
        if self.objects.remove(id).is_some_and(|p| p.odd) {
            self.odd_content_ids.remove(&id);
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
    pub fn object(&self, id: DataObjectId) -> Option<ObjectEntry> {
        let p = self.objects.get(id)?;
        let content_id = if p.odd {
            let text = self.odd_content_ids.get(&id).cloned();
            DeclaredId::Other(text.unwrap_or_else(|| Arc::from("")))
        } else {
            DeclaredId::Blake3(p.content_id)
        };
        Some(ObjectEntry {
            bag: bag_code::unpack(p.bag_tag, p.bag_value)?,
            size: p.size,
            content_id,
            accepted: p.accepted,
        })
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
            .map(|(id, _)| id)
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
            .map(|(b, e)| (*b, e.objects.ids().collect()))
            .collect()
    }
}

/// A snapshot being received: its parts are added as they arrive, and [`finish`] makes the
/// placement. Objects are collected in a flat vector (64 bytes each) and made into the map
/// once, at the end; nothing of a part is kept but what placement holds.
///
/// [`finish`]: PlacementBuilder::finish
#[derive(Debug)]
pub struct PlacementBuilder {
    placement: Placement,
    objects: Vec<(u64, Placed)>,
}

impl PlacementBuilder {
    /// The block the snapshot reflects.
    pub fn block(&self) -> u64 {
        self.placement.block
    }

    /// Adds one part of the snapshot.
    pub fn add(&mut self, bags: Vec<BagPlacement>) {
        for bag in bags {
            let p = &mut self.placement;
            p.set_bag(bag.bag, bag.buckets, bag.peers);
            let mut ids: Vec<(u64, ())> = Vec::with_capacity(bag.objects.len());
            for o in bag.objects {
                let (id, placed) = p.place(&bag.bag, o);
                ids.push((id.0, ()));
                self.objects.push((id.0, placed));
            }
            let entry = p.bags.get_mut(&bag.bag).expect("set above");
            if entry.objects.is_empty() {
                ids.sort_unstable_by_key(|e| e.0);
                ids.dedup_by_key(|e| e.0);
                entry.objects = IdMap::from_sorted_vec(ids);
            } else {
                for (id, ()) in ids {
                    entry.objects.insert(DataObjectId(id), ());
                }
            }
        }
    }

    /// The placement the snapshot describes.
    pub fn finish(self) -> Placement {
        let mut p = self.placement;
        let mut objects = self.objects;
        // Of an object listed twice, the last listing counts (a stable sort keeps their order).
        objects.reverse();
        objects.sort_by_key(|e| e.0);
        objects.dedup_by_key(|e| e.0);
        p.objects = IdMap::from_sorted_vec(objects);
        p
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
        assert_eq!(
            p.object(DataObjectId(2)).unwrap().content_id.to_string(),
            "cid2"
        );
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

    /// A declared content id comes back as the chain declared it, whether it is a content id
    /// (held as its digest) or any other text (held as text).
    #[test]
    fn declared_content_ids_come_back_as_declared() {
        let bag: BagId = "dynamic:member:3".parse().unwrap();
        let real = ContentId::of(b"bytes").to_string();
        let texts = [
            real.clone(),
            "not a cid".into(),
            String::new(),
            real[1..].into(),
        ];
        let objects = texts
            .iter()
            .enumerate()
            .map(|(i, t)| ObjectPlacement {
                id: DataObjectId(i as u64),
                size: 1,
                content_id: t.clone(),
                accepted: true,
            })
            .collect();
        let mut p = Placement::from_snapshot(
            1,
            Globals::default(),
            vec![BagPlacement {
                bag,
                buckets: vec![],
                peers: vec![],
                objects,
            }],
            None,
        );
        for (i, t) in texts.iter().enumerate() {
            let o = p.object(DataObjectId(i as u64)).unwrap();
            assert_eq!((o.content_id.to_string(), o.bag), (t.clone(), bag));
            assert_eq!(o.content_id.content_id().is_some(), i == 0);
        }
        assert_eq!(p.odd_content_ids.len(), 3);
        p.apply(
            2,
            vec![Change::ObjectsRemoved {
                bag,
                ids: vec![DataObjectId(1)],
            }],
        );
        assert_eq!(
            p.odd_content_ids.len(),
            2,
            "a removed object's text goes with it"
        );
    }
}
