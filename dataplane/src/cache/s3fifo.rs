//! S3-FIFO (Yang et al., "FIFO queues are all you need for cache eviction", SOSP 2023), sized in
//! bytes: the distributor's admission and eviction policy.
//!
//! Three FIFO queues: *small* (a tenth of the budget) takes new objects; *main* takes objects
//! that were asked for again while in small, and objects the *ghost* queue remembers (ids only,
//! recently evicted from small). Eviction from small moves an object seen more than once to main
//! and forgets the rest (into ghost); eviction from main reinserts an object seen since its last
//! pass (one frequency point less) and drops one that was not. One-hit wonders — most of a video
//! platform's long tail — leave through small without displacing the objects people come back
//! to, which plain LRU (and Argus's LRU-SP) lets them do. Every operation is O(1) amortised.
//!
//! Queues hold `(id, stamp)`; an entry removed or re-inserted gets a new stamp, and queue items
//! whose stamp is stale are skipped, so removal never searches a queue.

use std::collections::{HashMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};

/// Which queue an entry is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Queue {
    /// New objects.
    Small,
    /// Objects that proved popular.
    Main,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    size: u64,
    freq: u8,
    queue: Queue,
    stamp: u64,
}

/// Frequencies saturate here (two bits, as in the paper).
const MAX_FREQ: u8 = 3;

/// A cached object as persisted: queue order is the list order, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saved {
    /// The object.
    pub id: u64,
    /// Its size.
    pub size: u64,
    /// Its frequency.
    pub freq: u8,
    /// Its queue.
    pub queue: Queue,
}

/// The policy's state.
#[derive(Debug, Clone)]
pub struct S3Fifo {
    capacity: u64,
    small: VecDeque<(u64, u64)>,
    main: VecDeque<(u64, u64)>,
    small_bytes: u64,
    main_bytes: u64,
    ghost: VecDeque<u64>,
    ghost_set: HashSet<u64>,
    entries: HashMap<u64, Entry>,
    next_stamp: u64,
}

/// Why an object is not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Larger than the whole budget.
    #[error("larger than the cache")]
    TooLarge,
}

impl S3Fifo {
    /// An empty cache of `capacity` bytes.
    pub fn new(capacity: u64) -> Self {
        Self {
            capacity,
            small: VecDeque::new(),
            main: VecDeque::new(),
            small_bytes: 0,
            main_bytes: 0,
            ghost: VecDeque::new(),
            ghost_set: HashSet::new(),
            entries: HashMap::new(),
            next_stamp: 0,
        }
    }

    /// The budget.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Bytes of the objects held.
    pub fn used(&self) -> u64 {
        self.small_bytes + self.main_bytes
    }

    /// Objects held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `id` is held.
    pub fn contains(&self, id: u64) -> bool {
        self.entries.contains_key(&id)
    }

    /// The size of `id`, if held.
    pub fn size_of(&self, id: u64) -> Option<u64> {
        self.entries.get(&id).map(|e| e.size)
    }

    /// Counts a request for `id`; whether it is held.
    pub fn access(&mut self, id: u64) -> bool {
        match self.entries.get_mut(&id) {
            Some(e) => {
                e.freq = (e.freq + 1).min(MAX_FREQ);
                true
            }
            None => false,
        }
    }

    /// Admits `id` of `size` bytes, evicting as needed; returns the ids evicted (their bytes
    /// are to be dropped).
    pub fn insert(&mut self, id: u64, size: u64) -> Result<Vec<u64>, Refused> {
        if size > self.capacity {
            return Err(Refused::TooLarge);
        }
        self.remove(id);
        let queue = if self.ghost_set.remove(&id) {
            Queue::Main
        } else {
            Queue::Small
        };
        self.place(id, size, 0, queue);
        let mut evicted = Vec::new();
        self.make_room(0, &mut evicted);
        evicted.retain(|e| *e != id || !self.entries.contains_key(&id));
        Ok(evicted)
    }

    /// Evicts until `extra` more bytes fit; returns what was evicted.
    pub fn reserve(&mut self, extra: u64) -> Vec<u64> {
        let mut evicted = Vec::new();
        self.make_room(extra, &mut evicted);
        evicted
    }

    /// Forgets `id` (removed for another reason); whether it was held.
    pub fn remove(&mut self, id: u64) -> bool {
        match self.entries.remove(&id) {
            Some(e) => {
                match e.queue {
                    Queue::Small => self.small_bytes -= e.size,
                    Queue::Main => self.main_bytes -= e.size,
                }
                true
            }
            None => false,
        }
    }

    /// The most valuable objects for a memory tier: from main, seen at least twice, at most
    /// `max_size` each, most recently promoted first, up to `budget` bytes.
    pub fn hottest(&self, budget: u64, max_size: u64) -> Vec<u64> {
        let mut out = Vec::new();
        let mut used = 0;
        for (id, stamp) in self.main.iter().rev() {
            let Some(e) = self.entries.get(id).filter(|e| e.stamp == *stamp) else {
                continue;
            };
            if e.freq >= 2 && e.size <= max_size && used + e.size <= budget {
                used += e.size;
                out.push(*id);
            }
        }
        out
    }

    /// The state to persist: every entry in queue order, then the ghost ids.
    pub fn save(&self) -> (Vec<Saved>, Vec<u64>) {
        let mut out = Vec::with_capacity(self.entries.len());
        for (queue, items) in [(Queue::Small, &self.small), (Queue::Main, &self.main)] {
            for (id, stamp) in items {
                if let Some(e) = self.entries.get(id).filter(|e| e.stamp == *stamp) {
                    out.push(Saved {
                        id: *id,
                        size: e.size,
                        freq: e.freq,
                        queue,
                    });
                }
            }
        }
        let ghost = self
            .ghost
            .iter()
            .filter(|g| self.ghost_set.contains(g))
            .copied()
            .collect();
        (out, ghost)
    }

    /// A cache restored from `saved` (in queue order) and `ghost`; entries beyond the budget are
    /// evicted (returned).
    pub fn restore(capacity: u64, saved: &[Saved], ghost: &[u64]) -> (Self, Vec<u64>) {
        let mut c = Self::new(capacity);
        for s in saved {
            if !c.entries.contains_key(&s.id) {
                c.place(s.id, s.size, s.freq.min(MAX_FREQ), s.queue);
            }
        }
        for g in ghost {
            if !c.entries.contains_key(g) && c.ghost_set.insert(*g) {
                c.ghost.push_back(*g);
            }
        }
        let mut evicted = Vec::new();
        c.make_room(0, &mut evicted);
        (c, evicted)
    }

    fn place(&mut self, id: u64, size: u64, freq: u8, queue: Queue) {
        let stamp = self.next_stamp;
        self.next_stamp += 1;
        self.entries.insert(
            id,
            Entry {
                size,
                freq,
                queue,
                stamp,
            },
        );
        match queue {
            Queue::Small => {
                self.small.push_back((id, stamp));
                self.small_bytes += size;
            }
            Queue::Main => {
                self.main.push_back((id, stamp));
                self.main_bytes += size;
            }
        }
    }

    fn make_room(&mut self, extra: u64, evicted: &mut Vec<u64>) {
        while self.used() + extra > self.capacity && !self.entries.is_empty() {
            if self.small_bytes > self.capacity / 10 || self.main_bytes == 0 {
                self.evict_small(evicted);
            } else {
                self.evict_main(evicted);
            }
        }
    }

    fn evict_small(&mut self, evicted: &mut Vec<u64>) {
        while let Some((id, stamp)) = self.small.pop_front() {
            let Some(e) = self.entries.get(&id).copied().filter(|e| e.stamp == stamp) else {
                continue;
            };
            self.small_bytes -= e.size;
            self.entries.remove(&id);
            if e.freq > 1 {
                self.place(id, e.size, 0, Queue::Main);
                return;
            }
            self.remember(id);
            evicted.push(id);
            return;
        }
    }

    fn evict_main(&mut self, evicted: &mut Vec<u64>) {
        while let Some((id, stamp)) = self.main.pop_front() {
            let Some(e) = self.entries.get(&id).copied().filter(|e| e.stamp == stamp) else {
                continue;
            };
            self.main_bytes -= e.size;
            self.entries.remove(&id);
            if e.freq > 0 {
                self.place(id, e.size, e.freq - 1, Queue::Main);
                continue;
            }
            evicted.push(id);
            return;
        }
    }

    /// Ghost holds about as many ids as main holds objects (at least 64).
    fn remember(&mut self, id: u64) {
        if self.ghost_set.insert(id) {
            self.ghost.push_back(id);
        }
        let cap = self.main.len().max(64);
        while self.ghost.len() > cap {
            if let Some(old) = self.ghost.pop_front() {
                self.ghost_set.remove(&old);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_hit_wonders_leave_through_small_and_popular_objects_stay() {
        let mut c = S3Fifo::new(1000);
        // A popular object, asked for twice while in small.
        c.insert(1, 100).unwrap();
        c.access(1);
        c.access(1);
        // A scan of one-hit wonders three times the cache.
        let mut evicted = Vec::new();
        for id in 100..130 {
            evicted.extend(c.insert(id, 100).unwrap());
            assert!(c.used() <= 1000);
        }
        assert!(c.contains(1), "the popular object survived the scan");
        assert!(!evicted.contains(&1));
        assert!(evicted.contains(&100), "the scan's first objects went");
    }

    #[test]
    fn ghosts_come_back_into_main_and_removal_and_restore_keep_the_books() {
        let mut c = S3Fifo::new(300);
        for id in 0..4 {
            c.insert(id, 100).unwrap();
        }
        assert!(!c.contains(0), "evicted from small into ghost");
        c.insert(0, 100).unwrap();
        let (saved, ghost) = c.save();
        let zero = saved.iter().find(|s| s.id == 0).unwrap();
        assert_eq!(zero.queue, Queue::Main, "a ghost hit is admitted to main");
        assert!(c.remove(0));
        assert!(!c.remove(0));
        assert_eq!(c.used(), saved.iter().map(|s| s.size).sum::<u64>() - 100);
        let (r, evicted) = S3Fifo::restore(300, &saved, &ghost);
        assert!(evicted.is_empty());
        assert_eq!(r.save(), (saved.clone(), ghost.clone()));
        // A smaller budget on restore evicts down to it.
        let (r, evicted) = S3Fifo::restore(150, &saved, &ghost);
        assert!(r.used() <= 150 && !evicted.is_empty());
        assert_eq!(S3Fifo::new(10).insert(1, 11), Err(Refused::TooLarge));
    }

    #[test]
    fn hottest_are_frequent_main_objects_within_the_budget() {
        let mut c = S3Fifo::new(1000);
        for id in 0..10 {
            c.insert(id, 90).unwrap();
        }
        for _ in 0..3 {
            c.access(3);
            c.access(5);
        }
        // Room for 400 more: 0, 1, 2 and 4 go; 3, seen since it came, moves to main.
        let evicted = c.reserve(400);
        assert_eq!(evicted, vec![0, 1, 2, 4]);
        assert!(c.hottest(1000, 1000).is_empty(), "3 starts over in main");
        for _ in 0..2 {
            c.access(3);
        }
        assert_eq!(c.hottest(1000, 1000), vec![3], "5 is still in small");
        assert!(c.hottest(80, 1000).is_empty(), "over the budget");
        assert!(c.hottest(1000, 50).is_empty(), "over the size limit");
    }
}
