//! Plain LRU by bytes: the textbook baseline.

use std::collections::{BTreeMap, HashMap};

use super::Policy;

/// Least recently used first out.
#[derive(Debug, Default)]
pub struct Lru {
    capacity: u64,
    used: u64,
    tick: u64,
    by_age: BTreeMap<u64, u64>,
    entries: HashMap<u64, (u64, u64)>,
}

impl Lru {
    /// An empty cache of `capacity` bytes.
    pub fn new(capacity: u64) -> Self {
        Self {
            capacity,
            ..Self::default()
        }
    }
}

impl Policy for Lru {
    fn name(&self) -> &'static str {
        "LRU"
    }

    fn request(&mut self, id: u64, size: u64, _now_ms: u64) -> bool {
        self.tick += 1;
        if let Some((tick, _)) = self.entries.get_mut(&id) {
            self.by_age.remove(tick);
            *tick = self.tick;
            self.by_age.insert(self.tick, id);
            return true;
        }
        if size > self.capacity {
            return false;
        }
        while self.used + size > self.capacity {
            let Some((_, victim)) = self.by_age.pop_first() else {
                break;
            };
            if let Some((_, s)) = self.entries.remove(&victim) {
                self.used -= s;
            }
        }
        self.entries.insert(id, (self.tick, size));
        self.by_age.insert(self.tick, id);
        self.used += size;
        false
    }
}
