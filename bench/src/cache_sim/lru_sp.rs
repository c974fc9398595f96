//! Argus's LRU-SP (Argus 2.x): 24 groups by `ceil(log2(sizeKB / popularity))`, each an
//! insertion-ordered map; a use moves the object to the end of its (possibly new) group; the
//! victim is the group head with the highest `ceil(minutes since last access) × sizeKB /
//! popularity` (ties: the later group). Popularity starts at 1 and never decays.

use std::collections::{BTreeMap, HashMap};

use super::Policy;

const GROUPS: usize = 24;

#[derive(Debug, Clone, Copy)]
struct Item {
    group: usize,
    seq: u64,
    size: u64,
    size_kb: u64,
    popularity: u64,
    last_access_ms: u64,
}

/// The reference distributor's policy, as its code has it.
#[derive(Debug)]
pub struct LruSp {
    capacity: u64,
    used: u64,
    seq: u64,
    groups: Vec<BTreeMap<u64, u64>>,
    items: HashMap<u64, Item>,
}

impl LruSp {
    /// An empty cache of `capacity` bytes.
    pub fn new(capacity: u64) -> Self {
        Self {
            capacity,
            used: 0,
            seq: 0,
            groups: vec![BTreeMap::new(); GROUPS],
            items: HashMap::new(),
        }
    }

    fn group_of(size_kb: u64, popularity: u64) -> usize {
        let ratio = size_kb as f64 / popularity as f64;
        (ratio.log2().ceil().max(0.0) as usize).min(GROUPS - 1)
    }

    fn put(&mut self, id: u64, mut item: Item) {
        self.seq += 1;
        item.seq = self.seq;
        item.group = Self::group_of(item.size_kb, item.popularity);
        self.groups[item.group].insert(item.seq, id);
        self.items.insert(id, item);
    }

    fn evict_one(&mut self, now_ms: u64) -> bool {
        let mut best: Option<(f64, usize, u64)> = None;
        for (g, group) in self.groups.iter().enumerate() {
            let Some((_, id)) = group.first_key_value() else {
                continue;
            };
            let item = self.items[id];
            let minutes = (now_ms.saturating_sub(item.last_access_ms) as f64 / 60_000.0).ceil();
            let cost = minutes * item.size_kb as f64 / item.popularity as f64;
            if best.is_none_or(|(c, _, _)| cost >= c) {
                best = Some((cost, g, *id));
            }
        }
        let Some((_, g, id)) = best else { return false };
        let item = self.items.remove(&id).expect("listed");
        self.groups[g].remove(&item.seq);
        self.used -= item.size;
        true
    }
}

impl Policy for LruSp {
    fn name(&self) -> &'static str {
        "LRU-SP (Argus)"
    }

    fn request(&mut self, id: u64, size: u64, now_ms: u64) -> bool {
        if let Some(mut item) = self.items.get(&id).copied() {
            self.groups[item.group].remove(&item.seq);
            item.popularity += 1;
            item.last_access_ms = now_ms;
            self.put(id, item);
            return true;
        }
        if size > self.capacity {
            return false;
        }
        while self.used + size > self.capacity && self.evict_one(now_ms) {}
        let item = Item {
            group: 0,
            seq: 0,
            size,
            size_kb: size.div_ceil(1024),
            popularity: 1,
            last_access_ms: now_ms,
        };
        self.put(id, item);
        self.used += size;
        false
    }
}
