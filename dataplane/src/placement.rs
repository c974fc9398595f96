//! Placement: what the control plane says this node stores, as of a chain block. Uploads are
//! checked against it (which buckets are ours, which bags they store, each object's declared
//! size and content id), and the bag listing of the public API reads it.
//!
//! Persistent maps, so that a delta makes a new version in time proportional to the change and
//! shards read the current version without locks. An object costs 24 bytes in [`IdMap`] leaves
//! (id, packed bag, flags) and 8 in its bag's id set. Its declared size and content id are
//! not kept twice: placement holds the catalog as it was when placement was made (its base,
//! a version that never changes, sharing the current catalog's unchanged leaves), and an
//! object the base holds as declared is read from there; any other object's size and content
//! id (its 32-byte digest) take 48 bytes more. A declared content id that is not a BLAKE3
//! content id (the chain accepts any bytes) is kept as text. The base is renewed when the
//! catalog has moved [`REBASE_AFTER`] changes away from it, so that the leaves it alone still
//! holds are given back.

use std::collections::HashMap;
use std::sync::Arc;

use hecaton_shared::socket::{BagPlacement, Change, Globals, ObjectPlacement};
use hecaton_shared::{BagId, ContentId, DataObjectId, IdSet, StorageBucketId};

use crate::bag_code;
use crate::idmap::IdMap;
use crate::store::{Catalog, Published};

/// Catalog changes after which placement takes the current catalog as its base (a pass over
/// placement's objects and both catalogs, in id order: 0.42 s at ten million objects, on the
/// control executor).
pub const REBASE_AFTER: u64 = 1 << 16;

/// A bag this node stores.
#[derive(Debug, Clone)]
pub struct BagEntry {
    /// This node's buckets that store it (one list shared by the bags a snapshot gave alike).
    pub buckets: Arc<[StorageBucketId]>,
    /// Other holders' endpoints (shared likewise: most bags have the same few holders).
    pub peers: Arc<[String]>,
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

/// [`ObjectEntry`] as placement holds it, but for its size and content id.
#[derive(Debug, Clone, Copy)]
struct Placed {
    bag_value: u64,
    bag_tag: u8,
    accepted: bool,
    /// The base holds it with the declared size and content id: they are read from there.
    held: bool,
    /// The declared content id is not a content id: its text is in `odd_content_ids`.
    odd: bool,
}

/// An object's declared size and content id, kept when the base does not hold it so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Declared {
    size: u64,
    /// Meaningless when the object's content id is odd.
    content_id: ContentId,
}

impl Declared {
    /// Whether `held` is this declaration held.
    fn is_held_by(&self, odd: bool, held: Option<Published>) -> bool {
        !odd && held.is_some_and(|h| h.size == self.size && h.content_id == self.content_id)
    }
}

/// Placement as of one chain block.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    /// The block it reflects.
    pub block: u64,
    /// Node-wide values.
    pub globals: Globals,
    /// An ordered map: with 200 000 entries of a bag's size, `imbl::HashMap` took 466 bytes
    /// each and `OrdMap` 275 (measured apart).
    bags: imbl::OrdMap<BagId, BagEntry>,
    objects: IdMap<Placed>,
    /// Size and content id of the objects the base does not hold as declared.
    declared: IdMap<Declared>,
    /// The catalog as of the last rebase (`None`: nothing held).
    base: Option<Catalog>,
    odd_content_ids: imbl::HashMap<DataObjectId, Arc<str>>,
    existing: Option<Arc<IdSet>>,
    /// The highest object id ever placed here (removals do not lower it: ids are never
    /// reused).
    highest: Option<DataObjectId>,
}

impl Placement {
    /// Placement from a complete snapshot, over the catalog `base`.
    pub fn from_snapshot(
        block: u64,
        globals: Globals,
        bags: Vec<BagPlacement>,
        existing: Option<IdSet>,
        base: Option<Catalog>,
    ) -> Self {
        let mut builder = Placement::builder(block, globals, existing, base);
        builder.add(bags);
        builder.finish()
    }

    /// A placement assembled from a snapshot's parts as they arrive; `base` is the catalog it
    /// reads held objects' sizes and content ids from.
    pub fn builder(
        block: u64,
        globals: Globals,
        existing: Option<IdSet>,
        base: Option<Catalog>,
    ) -> PlacementBuilder {
        PlacementBuilder {
            placement: Placement {
                block,
                globals,
                existing: existing.map(Arc::new),
                base,
                ..Placement::default()
            },
            bags: Vec::new(),
            objects: Vec::new(),
            lists: HashMap::new(),
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
                } => self.set_bag(bag, buckets.into(), peers.into()),
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
                            let (id, mut placed, declared) = self.place(&bag, o);
                            let base = self.base.as_ref().and_then(|b| b.get(id));
                            placed.held = declared.is_held_by(placed.odd, base);
                            self.set_object(id, placed, declared);
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

    fn set_bag(&mut self, bag: BagId, buckets: Arc<[StorageBucketId]>, peers: Arc<[String]>) {
        let entry = self.bags.entry(bag).or_insert_with(|| BagEntry {
            buckets: Arc::from([]),
            peers: Arc::from([]),
            objects: IdMap::new(),
        });
        entry.buckets = buckets;
        entry.peers = peers;
    }

    /// `o` as placement holds it (not yet compared with the base), noting its id as the
    /// highest seen and an odd content id's text.
    fn place(&mut self, bag: &BagId, o: ObjectPlacement) -> (DataObjectId, Placed, Declared) {
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
            bag_value,
            bag_tag,
            accepted: o.accepted,
            held: false,
            odd: parsed.is_none(),
        };
        let declared = Declared {
            size: o.size,
            content_id: parsed.unwrap_or(ContentId::from_digest([0; 32])),
        };
        (o.id, placed, declared)
    }

    /// Sets an object, its size and content id kept here unless the base holds them.
    fn set_object(&mut self, id: DataObjectId, placed: Placed, declared: Declared) {
        self.objects.insert(id, placed);
        if placed.held {
            self.declared.remove(id);
        } else {
            self.declared.insert(id, declared);
        }
    }

    fn remove_object(&mut self, id: DataObjectId) {
        if let Some(p) = self.objects.remove(id) {
            if p.odd {
                self.odd_content_ids.remove(&id);
            }
            if !p.held {
                self.declared.remove(id);
            }
        }
    }

    /// An object's declared size and content id, from the base or as kept here.
    fn declared(&self, id: DataObjectId, p: &Placed) -> Option<Declared> {
        if p.held {
            let h = self.base.as_ref()?.get(id)?;
            Some(Declared {
                size: h.size,
                content_id: h.content_id,
            })
        } else {
            self.declared.get(id).copied()
        }
    }

    /// Whether the base is [`REBASE_AFTER`] or more changes behind `catalog` (or is not of its
    /// lineage).
    pub fn base_is_stale(&self, catalog: &Catalog) -> bool {
        match &self.base {
            None => !catalog.is_empty(),
            Some(b) => catalog
                .version()
                .checked_sub(b.version())
                .is_none_or(|d| d >= REBASE_AFTER),
        }
    }

    /// Takes `catalog` as the base: objects it holds as declared are read from it from now on,
    /// and the others' sizes and content ids are kept here. One pass in id order over the
    /// objects, the old base and `catalog`.
    pub fn rebase(&mut self, catalog: &Catalog) {
        let old_base = self.base.take();
        let mut old = old_base.as_ref().map(|b| b.iter().peekable());
        let mut new = catalog.iter().peekable();
        let mut changed = Vec::new();
        for (id, p) in self.objects.iter() {
            let old_held = old.as_mut().and_then(|it| seek(it, id));
            let new_held = seek(&mut new, id);
            let declared = match (p.held, old_held) {
                (true, Some(h)) => Declared {
                    size: h.size,
                    content_id: h.content_id,
                },
                (true, None) => continue, // impossible: the base held it when it was set
                (false, _) => match self.declared.get(id) {
                    Some(d) => *d,
                    None => continue,
                },
            };
            let held = declared.is_held_by(p.odd, new_held);
            if held != p.held {
                changed.push((id, Placed { held, ..p }, declared));
            }
        }
        drop((old, new));
        self.base = Some(catalog.clone());
        for (id, placed, declared) in changed {
            self.set_object(id, placed, declared);
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
        let declared = self.declared(id, p)?;
        let content_id = if p.odd {
            let text = self.odd_content_ids.get(&id).cloned();
            DeclaredId::Other(text.unwrap_or_else(|| Arc::from("")))
        } else {
            DeclaredId::Blake3(declared.content_id)
        };
        Some(ObjectEntry {
            bag: bag_code::unpack(p.bag_tag, p.bag_value)?,
            size: declared.size,
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

/// Advances `it` past the objects below `id` and returns `id`'s, if it has one.
fn seek<I: Iterator<Item = Published>>(
    it: &mut std::iter::Peekable<I>,
    id: DataObjectId,
) -> Option<Published> {
    while it.next_if(|p| p.id < id).is_some() {}
    it.next_if(|p| p.id == id)
}

/// A snapshot being received: its parts are added as they arrive, and [`finish`] makes the
/// placement. Bags and objects are collected in flat vectors (objects 64 bytes each) and made
/// into the maps once, at the end, in one pass beside the base, after the parts are gone:
/// nothing of a part is kept but what placement holds, and what placement holds is not
/// scattered among the parts' freed allocations (which kept 110 bytes a bag more resident at
/// a million objects).
///
/// [`finish`]: PlacementBuilder::finish
#[derive(Debug)]
pub struct PlacementBuilder {
    placement: Placement,
    bags: Vec<(BagId, Lists)>,
    objects: Vec<(u64, Placed, Declared)>,
    /// The bucket and peer lists given so far, each kept once.
    lists: HashMap<(Vec<StorageBucketId>, Vec<String>), Lists>,
}

/// A bag's buckets and peers, as [`BagEntry`] shares them.
type Lists = (Arc<[StorageBucketId]>, Arc<[String]>);

impl PlacementBuilder {
    /// The block the snapshot reflects.
    pub fn block(&self) -> u64 {
        self.placement.block
    }

    /// Adds one part of the snapshot.
    pub fn add(&mut self, bags: Vec<BagPlacement>) {
        for bag in bags {
            let lists = self
                .lists
                .entry((bag.buckets, bag.peers))
                .or_insert_with_key(|(b, p)| (b.as_slice().into(), p.as_slice().into()))
                .clone();
            self.bags.push((bag.bag, lists));
            for o in bag.objects {
                let (id, placed, declared) = self.placement.place(&bag.bag, o);
                self.objects.push((id.0, placed, declared));
            }
        }
    }

    /// The placement the snapshot describes.
    pub fn finish(self) -> Placement {
        let mut p = self.placement;
        let mut objects = self.objects;
        // Of an object or bag listed twice, the last listing counts (a stable sort keeps
        // their order).
        objects.reverse();
        objects.sort_by_key(|e| e.0);
        objects.dedup_by_key(|e| e.0);
        let mut base = p.base.as_ref().map(|b| b.iter().peekable());
        let mut placed = Vec::with_capacity(objects.len());
        let mut declared = Vec::new();
        for (id, mut o, d) in objects {
            let held = base.as_mut().and_then(|b| seek(b, DataObjectId(id)));
            o.held = d.is_held_by(o.odd, held);
            if !o.held {
                declared.push((id, d));
            }
            placed.push((id, o));
        }
        drop(base);

        // Each bag's ids: the objects ordered by bag, then id.
        let mut members: Vec<(u8, u64, u64)> = placed
            .iter()
            .map(|(id, o)| (o.bag_tag, o.bag_value, *id))
            .collect();
        members.sort_unstable();
        let ids: Vec<(u64, ())> = members.iter().map(|m| (m.2, ())).collect();
        let mut bags = self.bags;
        bags.reverse();
        bags.sort_by_key(|(bag, _)| bag_code::pack(Some(*bag)));
        bags.dedup_by_key(|(bag, _)| *bag);
        let mut at = 0;
        for (bag, (buckets, peers)) in bags {
            let key = bag_code::pack(Some(bag));
            while at < members.len() && (members[at].0, members[at].1) < key {
                at += 1;
            }
            let from = at;
            while at < members.len() && (members[at].0, members[at].1) == key {
                at += 1;
            }
            let entry = BagEntry {
                buckets,
                peers,
                objects: IdMap::from_sorted(&ids[from..at]),
            };
            p.bags.insert(bag, entry);
        }
        drop((members, ids));
        p.objects = IdMap::from_sorted_vec(placed);
        p.declared = IdMap::from_sorted_vec(declared);
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
            None,
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

    fn held(id: u64, size: u64, content_id: ContentId) -> Published {
        Published {
            id: DataObjectId(id),
            size,
            content_id,
            media_type: crate::store::media_type::MediaType::from_code(0),
            bag: None,
        }
    }

    fn declared(id: u64, size: u64, content_id: &ContentId) -> ObjectPlacement {
        ObjectPlacement {
            id: DataObjectId(id),
            size,
            content_id: content_id.to_string(),
            accepted: true,
        }
    }

    /// An object the catalog holds as declared keeps its size and content id only there;
    /// every object still answers as the chain declared it, whatever the catalog does later,
    /// and a rebase moves each object to where its declaration now is.
    #[test]
    fn sizes_and_content_ids_of_held_objects_are_read_from_the_catalog() {
        let bag: BagId = "dynamic:channel:4".parse().unwrap();
        let (a, b, c) = (
            ContentId::of(b"a"),
            ContentId::of(b"b"),
            ContentId::of(b"c"),
        );
        let mut catalog = Catalog::new(
            [
                held(1, 10, a),
                held(2, 20, c),
                held(3, 31, c),
                held(7, 70, a),
            ],
            "/nowhere".into(),
        );
        let objects = vec![
            declared(1, 10, &a), // held as declared
            declared(2, 20, &b), // another content id held
            declared(3, 30, &c), // another size held
            declared(4, 40, &c), // not held
            ObjectPlacement {
                content_id: "odd".into(),
                ..declared(7, 70, &a)
            },
        ];
        let globals = Globals::default();
        let bags = vec![BagPlacement {
            bag,
            buckets: vec![],
            peers: vec![],
            objects,
        }];
        let mut p = Placement::from_snapshot(1, globals, bags, None, Some(catalog.clone()));
        let answer = |p: &Placement, id: u64| {
            let o = p.object(DataObjectId(id)).unwrap();
            (o.size, o.content_id.to_string())
        };
        let expected = [
            (1, (10, a.to_string())),
            (2, (20, b.to_string())),
            (3, (30, c.to_string())),
            (4, (40, c.to_string())),
            (7, (70, "odd".to_string())),
        ];
        let kept = |p: &Placement| p.declared.ids().map(|i| i.0).collect::<Vec<_>>();
        for (id, want) in &expected {
            assert_eq!(answer(&p, *id), *want, "object {id}");
        }
        assert_eq!(kept(&p), [2, 3, 4, 7]);

        // The catalog moves on: 1 removed, 2 and 4 published as declared. Placement still
        // answers from the catalog it was made with.
        catalog.remove(DataObjectId(1));
        catalog.insert(held(2, 20, b));
        catalog.insert(held(4, 40, c));
        assert!(
            !p.base_is_stale(&catalog),
            "3 changes are not enough to rebase"
        );
        for (id, want) in &expected {
            assert_eq!(
                answer(&p, *id),
                *want,
                "object {id} after the catalog moved"
            );
        }
        // A delta's new object is compared with the base it reads from.
        p.apply(
            2,
            vec![Change::Objects {
                bag,
                objects: vec![declared(9, 90, &a)],
            }],
        );
        assert_eq!(kept(&p), [2, 3, 4, 7, 9]);

        p.rebase(&catalog);
        assert_eq!(
            kept(&p),
            [1, 3, 7, 9],
            "2 and 4 now held as declared, 1 no longer"
        );
        for (id, want) in &expected {
            assert_eq!(answer(&p, *id), *want, "object {id} after the rebase");
        }
        assert_eq!(answer(&p, 9), (90, a.to_string()));
        p.apply(
            3,
            vec![Change::ObjectsRemoved {
                bag,
                ids: vec![DataObjectId(2), DataObjectId(3)],
            }],
        );
        assert_eq!(
            kept(&p),
            [1, 7, 9],
            "a removed object's declaration goes with it"
        );
        assert!(p.object(DataObjectId(2)).is_none());
    }

    #[test]
    fn the_base_is_renewed_after_enough_catalog_changes() {
        let mut catalog = Catalog::new([], "/nowhere".into());
        let mut p = Placement::from_snapshot(1, Globals::default(), vec![], None, None);
        assert!(!p.base_is_stale(&catalog), "nothing held, nothing to read");
        catalog.insert(held(1, 1, ContentId::of(b"1")));
        assert!(
            p.base_is_stale(&catalog),
            "no base while the catalog holds objects"
        );
        p.rebase(&catalog);
        for i in 0..REBASE_AFTER - 1 {
            catalog.insert(held(i + 2, 1, ContentId::of(b"1")));
        }
        assert!(!p.base_is_stale(&catalog));
        catalog.remove(DataObjectId(1));
        assert!(p.base_is_stale(&catalog));
        p.rebase(&catalog);
        assert!(!p.base_is_stale(&catalog));
        let other = Catalog::new([held(5, 1, ContentId::of(b"5"))], "/nowhere".into());
        assert!(
            p.base_is_stale(&other),
            "a catalog of another lineage (version behind)"
        );
    }
}
