//! The distributor's cache policy: two [`S3Fifo`] partitions by object size. Objects up to
//! `small_max` (thumbnails, avatars, covers) get their own share of the budget, so that a few
//! large video files cannot push out the small objects every page view asks for; everything
//! else shares the rest. Within each, S3-FIFO's frequency-aware queues keep what is asked for
//! again and let one-hit wonders pass.
//!
//! `hecaton-bench cache-sim` compares it with plain S3-FIFO, LRU and Argus's LRU-SP on Zipf
//! traces (BENCHMARKS.md): Argus's LRU-SP keeps nearly every small object, so it wins on object
//! hits, but it serves far fewer bytes from cache; the partition takes most of that object hit
//! ratio back for a small share of the bytes.

use super::s3fifo::{Queue, Refused, S3Fifo, Saved};

/// How the budget is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    /// Objects up to this size are small.
    pub small_max: u64,
    /// Percent of the budget for small objects.
    pub small_percent: u8,
}

impl Default for Split {
    fn default() -> Self {
        Self {
            small_max: 1 << 20,
            small_percent: 20,
        }
    }
}

/// The policy.
#[derive(Debug, Clone)]
pub struct CachePolicy {
    split: Split,
    small: S3Fifo,
    large: S3Fifo,
}

impl CachePolicy {
    /// An empty cache of `capacity` bytes.
    pub fn new(capacity: u64, split: Split) -> Self {
        let small = capacity / 100 * u64::from(split.small_percent.min(100));
        Self {
            split,
            small: S3Fifo::new(small),
            large: S3Fifo::new(capacity - small),
        }
    }

    /// The partition of objects of `size`: small ones in theirs unless it is too small to hold
    /// them (a tiny budget), everything else in the other.
    fn part(&mut self, size: u64) -> &mut S3Fifo {
        if size <= self.split.small_max && size <= self.small.capacity() {
            &mut self.small
        } else {
            &mut self.large
        }
    }

    /// The budget.
    pub fn capacity(&self) -> u64 {
        self.small.capacity() + self.large.capacity()
    }

    /// Bytes held.
    pub fn used(&self) -> u64 {
        self.small.used() + self.large.used()
    }

    /// Objects held.
    pub fn len(&self) -> usize {
        self.small.len() + self.large.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `id` is held.
    pub fn contains(&self, id: u64) -> bool {
        self.small.contains(id) || self.large.contains(id)
    }

    /// Counts a request; whether it is held.
    pub fn access(&mut self, id: u64) -> bool {
        self.small.access(id) || self.large.access(id)
    }

    /// Admits an object, returning what it evicts.
    pub fn insert(&mut self, id: u64, size: u64) -> Result<Vec<u64>, Refused> {
        self.part(size).insert(id, size)
    }

    /// Evicts until `extra` more bytes of objects of `size` fit.
    pub fn reserve(&mut self, size: u64, extra: u64) -> Vec<u64> {
        self.part(size).reserve(extra)
    }

    /// Forgets `id`.
    pub fn remove(&mut self, id: u64) -> bool {
        self.small.remove(id) || self.large.remove(id)
    }

    /// The most valuable objects for a memory tier (small ones first).
    pub fn hottest(&self, budget: u64, max_size: u64) -> Vec<u64> {
        let mut out = self.small.hottest(budget, max_size);
        let used: u64 = out.iter().filter_map(|id| self.small.size_of(*id)).sum();
        out.extend(self.large.hottest(budget.saturating_sub(used), max_size));
        out
    }

    /// The state to persist.
    pub fn save(&self) -> (Vec<Saved>, Vec<u64>) {
        let (mut entries, mut ghost) = self.small.save();
        let (e, g) = self.large.save();
        entries.extend(e);
        ghost.extend(g);
        (entries, ghost)
    }

    /// A policy restored from saved entries (each goes to its partition by size); returns what
    /// no longer fits.
    pub fn restore(
        capacity: u64,
        split: Split,
        saved: &[Saved],
        ghost: &[u64],
    ) -> (Self, Vec<u64>) {
        let empty = Self::new(capacity, split);
        let small_capacity = empty.small.capacity();
        let (small, large): (Vec<Saved>, Vec<Saved>) = saved
            .iter()
            .partition(|s| s.size <= split.small_max && s.size <= small_capacity);
        let (small, mut evicted) = S3Fifo::restore(empty.small.capacity(), &small, ghost);
        let (large, more) = S3Fifo::restore(empty.large.capacity(), &large, ghost);
        evicted.extend(more);
        (
            Self {
                split,
                small,
                large,
            },
            evicted,
        )
    }
}

/// An entry that was not in the saved state (cold): placed in main with no frequency, as the
/// oldest.
pub fn cold(id: u64, size: u64) -> Saved {
    Saved {
        id,
        size,
        freq: 0,
        queue: Queue::Main,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_objects_keep_their_share_when_large_ones_flood_in() {
        let split = Split {
            small_max: 100,
            small_percent: 20,
        };
        let mut p = CachePolicy::new(10_000, split);
        for id in 0..20 {
            p.insert(id, 100).unwrap();
        }
        // Large objects many times the budget.
        for id in 1000..1100 {
            p.insert(id, 1000).unwrap();
            assert!(p.used() <= p.capacity());
        }
        assert_eq!((0..20).filter(|id| p.contains(*id)).count(), 20);
        let (saved, ghost) = p.save();
        let (r, evicted) = CachePolicy::restore(10_000, split, &saved, &ghost);
        assert!(evicted.is_empty());
        assert_eq!(r.len(), p.len());
        assert_eq!(r.used(), p.used());
    }
}
