//! `IdMap`: a persistent ordered map from object ids to small `Copy` values, for the maps that
//! hold one entry per object (the catalog, placement's objects and each bag's ids) and so
//! must stay small at tens of millions of entries.
//!
//! A general persistent map pays several times its payload: `imbl::HashMap` of a 56-byte value
//! took 268 bytes an entry, `imbl::OrdMap` 123 (measured with 1 M entries). Here entries sit
//! in sorted, immutable leaves of up to [`LEAF`] entries (`Arc<[(u64, V)]>`, no per-entry
//! allocation), and recent changes in a small ordered overlay in front of them. When the
//! overlay exceeds [`OVERLAY_MAX`] changes they are folded into the leaves they touch: those
//! leaves are rewritten (split when too full, joined to a neighbour when nearly empty), every
//! other leaf is shared with the previous version. A clone is O(1) (two `Arc`s and the
//! overlay's root), so a writer publishes a new version per change and readers never lock; a
//! fold costs the touched leaves plus one pointer and one id per leaf, about 300 KB at ten
//! million entries, once per [`OVERLAY_MAX`] changes.

use std::sync::Arc;

use hecaton_shared::DataObjectId;

/// Entries per leaf at most.
pub const LEAF: usize = 512;
/// Changes held in the overlay before they are folded into the leaves.
pub const OVERLAY_MAX: usize = 1024;

type Leaf<V> = Arc<[(u64, V)]>;

/// A persistent map from object ids to `V`, ordered by id.
#[derive(Clone)]
pub struct IdMap<V: Copy> {
    /// Sorted leaves, each non-empty, their key ranges ascending and disjoint.
    leaves: Arc<Vec<Leaf<V>>>,
    /// Each leaf's first id, in one array: a lookup searches it without touching the leaves
    /// it passes over (one cache miss for the leaf, not one per step).
    firsts: Arc<[u64]>,
    /// Changes newer than the leaves: `Some` sets a value, `None` removes what a leaf holds.
    overlay: imbl::OrdMap<u64, Option<V>>,
    len: usize,
}

impl<V: Copy> Default for IdMap<V> {
    fn default() -> Self {
        Self {
            leaves: Arc::default(),
            firsts: Arc::from([]),
            overlay: imbl::OrdMap::new(),
            len: 0,
        }
    }
}

impl<V: Copy> std::fmt::Debug for IdMap<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdMap")
            .field("len", &self.len)
            .field("leaves", &self.leaves.len())
            .field("overlay", &self.overlay.len())
            .finish()
    }
}

impl<V: Copy> IdMap<V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// A map of `entries`, which must be sorted by id with no id twice.
    pub fn from_sorted(entries: &[(u64, V)]) -> Self {
        debug_assert!(entries.windows(2).all(|w| w[0].0 < w[1].0));
        let mut leaves = Vec::with_capacity(entries.len().div_ceil(LEAF));
        push_leaves(&mut leaves, entries);
        Self {
            firsts: firsts_of(&leaves),
            leaves: Arc::new(leaves),
            overlay: imbl::OrdMap::new(),
            len: entries.len(),
        }
    }

    /// A map of `entries`, which must be sorted by id with no id twice, consumed as the
    /// leaves are made: the vector's memory is given back as it is copied, so building costs
    /// little more than the map itself.
    pub fn from_sorted_vec(mut entries: Vec<(u64, V)>) -> Self {
        debug_assert!(entries.windows(2).all(|w| w[0].0 < w[1].0));
        let len = entries.len();
        if len == 0 {
            return Self::default();
        }
        let size = len.div_ceil(len.div_ceil(LEAF));
        let mut leaves: Vec<Leaf<V>> = Vec::with_capacity(len.div_ceil(size));
        for (n, start) in (0..len).step_by(size).rev().enumerate() {
            leaves.push(Arc::from(&entries[start..]));
            entries.truncate(start);
            if n % 256 == 255 {
                entries.shrink_to_fit();
            }
        }
        leaves.reverse();
        Self {
            firsts: firsts_of(&leaves),
            leaves: Arc::new(leaves),
            overlay: imbl::OrdMap::new(),
            len,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The value of `id`.
    pub fn get(&self, id: DataObjectId) -> Option<&V> {
        match self.overlay.get(&id.0) {
            Some(change) => change.as_ref(),
            None => self.in_leaves(id.0),
        }
    }

    /// Whether `id` has a value.
    pub fn contains(&self, id: DataObjectId) -> bool {
        self.get(id).is_some()
    }

    fn in_leaves(&self, id: u64) -> Option<&V> {
        let i = self.firsts.partition_point(|f| *f <= id).checked_sub(1)?;
        let leaf = &self.leaves[i];
        leaf.binary_search_by_key(&id, |e| e.0)
            .ok()
            .map(|at| &leaf[at].1)
    }

    /// Sets `id` to `value`, returning the value it replaced.
    pub fn insert(&mut self, id: DataObjectId, value: V) -> Option<V> {
        let old = self.get(id).copied();
        self.overlay.insert(id.0, Some(value));
        if old.is_none() {
            self.len += 1;
        }
        self.fold_if_full();
        old
    }

    /// Removes `id`, returning its value.
    pub fn remove(&mut self, id: DataObjectId) -> Option<V> {
        let old = self.get(id).copied()?;
        if self.in_leaves(id.0).is_some() {
            self.overlay.insert(id.0, None);
        } else {
            self.overlay.remove(&id.0);
        }
        self.len -= 1;
        self.fold_if_full();
        Some(old)
    }

    /// Every entry in ascending id order.
    pub fn iter(&self) -> Iter<'_, V> {
        self.iter_from(DataObjectId(0))
    }

    /// The entries from id `from` on, in ascending id order.
    pub fn iter_from(&self, from: DataObjectId) -> Iter<'_, V> {
        let leaf = self
            .firsts
            .partition_point(|f| *f <= from.0)
            .saturating_sub(1);
        let at = self
            .leaves
            .get(leaf)
            .map_or(0, |l| l.partition_point(|e| e.0 < from.0));
        let mut iter = Iter {
            leaves: &self.leaves,
            leaf,
            at,
            overlay: self.overlay.range(from.0..).peekable(),
        };
        if iter.leaves.get(leaf).is_some_and(|l| at == l.len()) {
            iter.leaf += 1;
            iter.at = 0;
        }
        iter
    }

    /// Every id in ascending order.
    pub fn ids(&self) -> impl Iterator<Item = DataObjectId> + '_ {
        self.iter().map(|(id, _)| id)
    }

    fn fold_if_full(&mut self) {
        if self.overlay.len() > OVERLAY_MAX {
            self.fold();
        }
    }

    /// Folds the overlay into the leaves it touches.
    fn fold(&mut self) {
        let changes: Vec<(u64, Option<V>)> = self.overlay.iter().map(|(k, v)| (*k, *v)).collect();
        let old = &self.leaves;
        let mut leaves: Vec<Leaf<V>> = Vec::with_capacity(old.len() + 1);
        let mut c = 0;
        if old.is_empty() {
            let merged = apply(&[], &changes);
            push_leaves(&mut leaves, &merged);
        }
        for (i, leaf) in old.iter().enumerate() {
            // Leaf i owns the keys below the next leaf's first key (the first leaf also those
            // below its own).
            let upper = old.get(i + 1).map(|l| l[0].0);
            let start = c;
            while c < changes.len() && upper.is_none_or(|u| changes[c].0 < u) {
                c += 1;
            }
            if start == c {
                leaves.push(leaf.clone());
                continue;
            }
            let mut merged = apply(leaf, &changes[start..c]);
            if merged.len() < LEAF / 4 {
                if let Some(last) = leaves.last().filter(|l| l.len() + merged.len() <= LEAF) {
                    let mut joined = last.to_vec();
                    joined.append(&mut merged);
                    leaves.pop();
                    merged = joined;
                }
            }
            push_leaves(&mut leaves, &merged);
        }
        self.firsts = firsts_of(&leaves);
        self.leaves = Arc::new(leaves);
        self.overlay = imbl::OrdMap::new();
    }
}

/// `leaf` with `changes` (sorted, within its range) applied.
fn apply<V: Copy>(leaf: &[(u64, V)], changes: &[(u64, Option<V>)]) -> Vec<(u64, V)> {
    let mut out = Vec::with_capacity(leaf.len() + changes.len());
    let (mut a, mut b) = (0, 0);
    while a < leaf.len() || b < changes.len() {
        let take_change = b < changes.len() && (a == leaf.len() || changes[b].0 <= leaf[a].0);
        if take_change {
            if a < leaf.len() && leaf[a].0 == changes[b].0 {
                a += 1;
            }
            if let Some(v) = changes[b].1 {
                out.push((changes[b].0, v));
            }
            b += 1;
        } else {
            out.push(leaf[a]);
            a += 1;
        }
    }
    out
}

fn firsts_of<V: Copy>(leaves: &[Leaf<V>]) -> Arc<[u64]> {
    leaves.iter().map(|l| l[0].0).collect()
}

/// Cuts sorted `entries` into leaves of even size, none above [`LEAF`].
fn push_leaves<V: Copy>(leaves: &mut Vec<Leaf<V>>, entries: &[(u64, V)]) {
    if entries.is_empty() {
        return;
    }
    let count = entries.len().div_ceil(LEAF);
    let size = entries.len().div_ceil(count);
    leaves.extend(entries.chunks(size).map(Arc::from));
}

/// The entries of an [`IdMap`] in ascending id order.
pub struct Iter<'a, V: Copy> {
    leaves: &'a [Leaf<V>],
    leaf: usize,
    at: usize,
    overlay: std::iter::Peekable<
        imbl::ordmap::RangedIter<'a, u64, Option<V>, imbl::shared_ptr::DefaultSharedPtr>,
    >,
}

impl<V: Copy> Iter<'_, V> {
    fn peek_leaf(&self) -> Option<(u64, V)> {
        self.leaves.get(self.leaf).map(|l| l[self.at])
    }

    fn advance_leaf(&mut self) {
        self.at += 1;
        if self.at == self.leaves[self.leaf].len() {
            self.leaf += 1;
            self.at = 0;
        }
    }
}

impl<V: Copy> Iterator for Iter<'_, V> {
    type Item = (DataObjectId, V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let leaf = self.peek_leaf();
            let change = self.overlay.peek().map(|(k, v)| (**k, **v));
            match (leaf, change) {
                (None, None) => return None,
                (Some((id, v)), None) => {
                    self.advance_leaf();
                    return Some((DataObjectId(id), v));
                }
                (Some((id, v)), Some((c, _))) if id < c => {
                    self.advance_leaf();
                    return Some((DataObjectId(id), v));
                }
                (leaf, Some((c, v))) => {
                    if leaf.is_some_and(|(id, _)| id == c) {
                        self.advance_leaf();
                    }
                    self.overlay.next();
                    if let Some(v) = v {
                        return Some((DataObjectId(c), v));
                    }
                }
            }
        }
    }
}

impl<V: Copy> std::fmt::Debug for Iter<'_, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdMap::Iter")
    }
}

impl<V: Copy> FromIterator<(DataObjectId, V)> for IdMap<V> {
    /// A map of the entries; of an id given twice, the last value counts.
    fn from_iter<I: IntoIterator<Item = (DataObjectId, V)>>(iter: I) -> Self {
        let mut entries: Vec<(u64, V)> = iter.into_iter().map(|(id, v)| (id.0, v)).collect();
        entries.reverse();
        entries.sort_by_key(|e| e.0);
        entries.dedup_by_key(|e| e.0);
        Self::from_sorted_vec(entries)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u64, u32),
        Remove(u64),
        Clone,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..3000u64, any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
            2 => (0..3000u64).prop_map(Op::Remove),
            1 => Just(Op::Clone),
        ]
    }

    fn check(map: &IdMap<u32>, model: &BTreeMap<u64, u32>) {
        assert_eq!(map.len(), model.len());
        let got: Vec<(u64, u32)> = map.iter().map(|(k, v)| (k.0, v)).collect();
        let want: Vec<(u64, u32)> = model.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(got, want);
        for l in map.leaves.iter() {
            assert!(!l.is_empty() && l.len() <= LEAF);
        }
        assert!(map.firsts.iter().eq(map.leaves.iter().map(|l| &l[0].0)));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Any sequence of changes leaves the map equal to a `BTreeMap` given the same ones,
        /// and a clone taken on the way keeps what it saw.
        #[test]
        fn behaves_as_an_ordered_map(
            start in proptest::collection::btree_map(0..3000u64, any::<u32>(), 0..2000),
            ops in proptest::collection::vec(op(), 0..4000),
        ) {
            let mut model = start.clone();
            let mut map = IdMap::from_iter(start.iter().map(|(k, v)| (DataObjectId(*k), *v)));
            let mut kept: Option<(IdMap<u32>, BTreeMap<u64, u32>)> = None;
            for op in ops {
                match op {
                    Op::Insert(k, v) => {
                        prop_assert_eq!(map.insert(DataObjectId(k), v), model.insert(k, v));
                    }
                    Op::Remove(k) => {
                        prop_assert_eq!(map.remove(DataObjectId(k)), model.remove(&k));
                    }
                    Op::Clone => kept = Some((map.clone(), model.clone())),
                }
                if let Op::Insert(k, _) | Op::Remove(k) = op {
                    prop_assert_eq!(map.get(DataObjectId(k)), model.get(&k));
                }
            }
            check(&map, &model);
            for from in [0, 1, 999, 1500, 2999, 5000] {
                let got: Vec<u64> = map.iter_from(DataObjectId(from)).map(|(k, _)| k.0).collect();
                let want: Vec<u64> = model.range(from..).map(|(k, _)| *k).collect();
                prop_assert_eq!(got, want, "from {}", from);
            }
            if let Some((map, model)) = kept {
                check(&map, &model);
            }
        }
    }

    #[test]
    fn the_last_of_an_id_given_twice_counts() {
        let map: IdMap<u8> = [
            (DataObjectId(3), 1),
            (DataObjectId(1), 2),
            (DataObjectId(3), 9),
        ]
        .into_iter()
        .collect();
        assert_eq!(map.get(DataObjectId(3)), Some(&9));
        assert_eq!(
            map.ids().collect::<Vec<_>>(),
            [DataObjectId(1), DataObjectId(3)]
        );
    }

    #[test]
    fn a_fold_shares_the_leaves_it_does_not_touch() {
        let entries: Vec<(u64, u8)> = (0..10 * LEAF as u64).map(|i| (i * 2, 0)).collect();
        let mut map = IdMap::from_sorted(&entries);
        assert_eq!(map.leaves.len(), 10);
        let again = IdMap::from_sorted_vec(entries.clone());
        assert!(again.iter().eq(map.iter()) && again.leaves.len() == 10);
        let before = map.clone();
        for i in 0..=OVERLAY_MAX as u64 {
            map.insert(DataObjectId(1_000_000 + i), 1);
        }
        assert!(map.overlay.is_empty(), "folded");
        let shared = map
            .leaves
            .iter()
            .zip(before.leaves.iter())
            .filter(|(a, b)| Arc::ptr_eq(a, b))
            .count();
        assert_eq!(shared, 9, "only the last leaf was rewritten");
        assert_eq!(before.len(), 10 * LEAF);
        assert_eq!(map.len(), 10 * LEAF + OVERLAY_MAX + 1);
    }
}
