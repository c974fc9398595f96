//! Plans of bag-to-bucket changes for the storage lead's batch commands (as Colossus 4.5's
//! `leader:set-replication`, `copy-bags`, `empty-bucket` and `update-bags`): computed from the
//! chain's buckets and bags without side effects, so that a dry run prints exactly the calls a
//! real run sends.
//!
//! Capacity is what each bucket's voucher has left, counting the changes already planned: a bag
//! is added to the bucket with the most bytes left among those that accept new bags and have
//! room for it, and removed from the one with the least.

use std::collections::{BTreeMap, BTreeSet};

use hecaton_shared::BagId;

/// A bucket as planning sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// Its id.
    pub id: u64,
    /// Whether bags may be added to it.
    pub accepting_new_bags: bool,
    /// Bytes its voucher has left (limit − used − planned).
    pub bytes_left: i128,
    /// Objects its voucher has left.
    pub objects_left: i128,
}

/// A bag as planning sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bag {
    /// Its id.
    pub id: BagId,
    /// Bytes of its objects.
    pub size: u64,
    /// Its objects.
    pub objects: u64,
    /// Buckets storing it.
    pub stored_by: BTreeSet<u64>,
}

/// One `update_storage_buckets_for_bag` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// The bag.
    pub bag: BagId,
    /// Buckets added.
    pub add: BTreeSet<u64>,
    /// Buckets removed.
    pub remove: BTreeSet<u64>,
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// No bucket has room for the bag (or none accepts new bags).
    #[error(
        "no bucket can take bag {bag} ({size} bytes, {objects} objects): raise some buckets' \
         voucher limits, let more accept new bags, or lower the target"
    )]
    NoRoom {
        /// The bag.
        bag: BagId,
        /// Its bytes.
        size: u64,
        /// Its objects.
        objects: u64,
    },
    /// A bucket the command names does not exist.
    #[error("storage bucket {0} does not exist (or is not active)")]
    NoBucket(u64),
}

/// The buckets, by id, with the changes planned so far.
#[derive(Debug, Clone)]
pub struct Planner {
    buckets: BTreeMap<u64, Bucket>,
}

impl Planner {
    /// Plans over `buckets`.
    pub fn new(buckets: impl IntoIterator<Item = Bucket>) -> Self {
        Self {
            buckets: buckets.into_iter().map(|b| (b.id, b)).collect(),
        }
    }

    fn take(&mut self, bucket: u64, bag: &Bag, sign: i128) {
        if let Some(b) = self.buckets.get_mut(&bucket) {
            b.bytes_left -= sign * i128::from(bag.size);
            b.objects_left -= sign * i128::from(bag.objects);
        }
    }

    /// The bucket with the most room that may take `bag` and is not in `not`.
    fn best_for(&self, bag: &Bag, not: &BTreeSet<u64>) -> Result<u64, PlanError> {
        self.buckets
            .values()
            .filter(|b| !not.contains(&b.id) && b.accepting_new_bags)
            .filter(|b| {
                b.bytes_left >= i128::from(bag.size) && b.objects_left >= i128::from(bag.objects)
            })
            .max_by_key(|b| (b.bytes_left, std::cmp::Reverse(b.id)))
            .map(|b| b.id)
            .ok_or(PlanError::NoRoom {
                bag: bag.id,
                size: bag.size,
                objects: bag.objects,
            })
    }

    /// Every bag stored by exactly `target` of the known buckets: bags above it lose the
    /// buckets with the least room, bags below it gain the ones with the most. Buckets not
    /// known (inactive ones) are left as they are and do not count.
    pub fn set_replication(
        &mut self,
        bags: &[Bag],
        target: usize,
    ) -> Result<Vec<Update>, PlanError> {
        let mut updates = Vec::new();
        for bag in bags {
            let mut held: BTreeSet<u64> = bag
                .stored_by
                .iter()
                .copied()
                .filter(|b| self.buckets.contains_key(b))
                .collect();
            let mut update = Update {
                bag: bag.id,
                add: BTreeSet::new(),
                remove: BTreeSet::new(),
            };
            while held.len() > target {
                let worst = *held
                    .iter()
                    .min_by_key(|b| (self.buckets[b].bytes_left, **b))
                    .expect("held is not empty");
                held.remove(&worst);
                update.remove.insert(worst);
                self.take(worst, bag, -1);
            }
            while held.len() < target {
                let best = self.best_for(bag, &held)?;
                held.insert(best);
                update.add.insert(best);
                self.take(best, bag, 1);
            }
            if !update.add.is_empty() || !update.remove.is_empty() {
                updates.push(update);
            }
        }
        Ok(updates)
    }

    /// `to` added to every bag `from` stores that `to` does not.
    pub fn copy_bags(
        &mut self,
        bags: &[Bag],
        from: u64,
        to: u64,
    ) -> Result<Vec<Update>, PlanError> {
        for id in [from, to] {
            if !self.buckets.contains_key(&id) {
                return Err(PlanError::NoBucket(id));
            }
        }
        let mut updates = Vec::new();
        for bag in bags {
            if bag.stored_by.contains(&from) && !bag.stored_by.contains(&to) {
                self.take(to, bag, 1);
                updates.push(Update {
                    bag: bag.id,
                    add: [to].into(),
                    remove: BTreeSet::new(),
                });
            }
        }
        Ok(updates)
    }

    /// `bucket` removed from every bag it stores, each bag given another bucket (the one with
    /// the most room) so that its replication stays what it was.
    pub fn empty_bucket(&mut self, bags: &[Bag], bucket: u64) -> Result<Vec<Update>, PlanError> {
        if !self.buckets.contains_key(&bucket) {
            return Err(PlanError::NoBucket(bucket));
        }
        let mut updates = Vec::new();
        for bag in bags.iter().filter(|b| b.stored_by.contains(&bucket)) {
            let mut not = bag.stored_by.clone();
            not.insert(bucket);
            let replacement = self.best_for(bag, &not)?;
            self.take(replacement, bag, 1);
            self.take(bucket, bag, -1);
            updates.push(Update {
                bag: bag.id,
                add: [replacement].into(),
                remove: [bucket].into(),
            });
        }
        Ok(updates)
    }
}

/// The same change for every bag listed: one per line (blank lines and `#` comments skipped).
pub fn update_bags(
    list: &str,
    add: &BTreeSet<u64>,
    remove: &BTreeSet<u64>,
) -> Result<Vec<Update>, String> {
    list.lines()
        .map(str::trim)
        .enumerate()
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(i, l)| {
            let bag: BagId = l
                .parse()
                .map_err(|e| format!("line {}: {l:?}: {e}", i + 1))?;
            Ok(Update {
                bag,
                add: add.clone(),
                remove: remove.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(id: u64, bytes_left: i128) -> Bucket {
        Bucket {
            id,
            accepting_new_bags: true,
            bytes_left,
            objects_left: 1000,
        }
    }

    fn bag(channel: u64, size: u64, stored_by: &[u64]) -> Bag {
        Bag {
            id: format!("dynamic:channel:{channel}").parse().unwrap(),
            size,
            objects: 1,
            stored_by: stored_by.iter().copied().collect(),
        }
    }

    #[test]
    fn replication_is_raised_on_the_roomiest_buckets_and_lowered_on_the_fullest() {
        let mut p = Planner::new([bucket(0, 1000), bucket(1, 500), bucket(2, 800)]);
        let bags = [
            bag(1, 100, &[0]),
            bag(2, 100, &[0, 1, 2]),
            bag(3, 100, &[0, 2]),
        ];
        let plan = p.set_replication(&bags, 2).unwrap();
        // Bag 1 gains 2 (800 left, 0 holds it already); bag 2 loses 1 (500 left, the least);
        // bag 3 is at the target.
        assert_eq!(
            plan,
            vec![
                Update {
                    bag: bags[0].id,
                    add: [2].into(),
                    remove: BTreeSet::new()
                },
                Update {
                    bag: bags[1].id,
                    add: BTreeSet::new(),
                    remove: [1].into()
                },
            ]
        );
        // Planned changes count against capacity: 2 has 700 left now.
        assert_eq!(p.buckets[&2].bytes_left, 700);
    }

    #[test]
    fn a_bag_no_bucket_can_take_is_an_error_and_closed_buckets_are_skipped() {
        let mut closed = bucket(1, 10_000);
        closed.accepting_new_bags = false;
        let mut p = Planner::new([bucket(0, 50), closed]);
        let err = p.set_replication(&[bag(1, 100, &[])], 1).unwrap_err();
        assert!(matches!(err, PlanError::NoRoom { size: 100, .. }), "{err}");
    }

    #[test]
    fn copy_and_empty_keep_replication() {
        let bags = [bag(1, 10, &[0, 1]), bag(2, 10, &[1]), bag(3, 10, &[0, 2])];
        let mut p = Planner::new([bucket(0, 100), bucket(1, 100), bucket(2, 300)]);
        let copied = p.copy_bags(&bags, 0, 2).unwrap();
        assert_eq!(copied.len(), 1, "bag 3 is on 2 already: {copied:?}");
        assert_eq!(copied[0].bag, bags[0].id);
        let mut p = Planner::new([bucket(0, 100), bucket(1, 100), bucket(2, 300)]);
        let emptied = p.empty_bucket(&bags, 0).unwrap();
        assert_eq!(emptied.len(), 2);
        assert_eq!(
            (emptied[0].add.clone(), emptied[0].remove.clone()),
            ([2].into(), [0].into())
        );
        // Bag 3 is on 2 already: it goes to 1, the only other.
        assert_eq!(emptied[1].add, [1].into());
        assert_eq!(p.copy_bags(&bags, 0, 9), Err(PlanError::NoBucket(9)));
    }

    #[test]
    fn a_bag_list_takes_comments_and_names_bad_lines() {
        let add = [3].into();
        let list = "# bags to move\ndynamic:channel:1\n\nstatic:council\n";
        let plan = update_bags(list, &add, &BTreeSet::new()).unwrap();
        assert_eq!(plan.len(), 2);
        let err = update_bags("dynamic:channel:1\nnot a bag\n", &add, &BTreeSet::new());
        assert!(err.unwrap_err().starts_with("line 2:"));
    }
}
