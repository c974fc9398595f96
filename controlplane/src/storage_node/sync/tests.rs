//! The incremental update of the backlog, the missing count and the cleanup candidates agrees
//! with recomputing them from scratch, over random histories of obligations.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use super::backlog::{Backlog, SyncOrder};
use super::cleanup::Cleanup;
use super::update_bags;
use crate::node::obligations::Obligations;
use hecaton_shared::socket::{BagPlacement, ObjectPlacement};
use hecaton_shared::{BagId, DataObjectId};

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// `ob` with bag `k` replaced by `objects` (or dropped when `None`), the object index kept.
fn with_bag(ob: &Obligations, k: u64, objects: Option<Vec<(u64, bool)>>, peer: u64) -> Obligations {
    let mut ob = ob.clone();
    let bag: BagId = format!("dynamic:channel:{k}").parse().unwrap();
    if let Some(old) = ob.bags.remove(&bag) {
        for o in &old.objects {
            ob.objects.remove(&o.id);
        }
    }
    if let Some(objects) = objects {
        for (id, _) in &objects {
            ob.objects.insert(DataObjectId(*id), bag);
        }
        let placement = BagPlacement {
            bag,
            buckets: vec![],
            peers: vec![format!("http://peer{peer}/")],
            objects: objects
                .into_iter()
                .map(|(id, accepted)| ObjectPlacement {
                    id: DataObjectId(id),
                    size: id,
                    content_id: format!("c{id}"),
                    accepted,
                })
                .collect(),
        };
        ob.bags.insert(bag, Arc::new(placement));
    }
    ob
}

fn missing(ob: &Obligations, held: &HashMap<DataObjectId, Option<BagId>>) -> u64 {
    ob.objects
        .keys()
        .filter(|id| !held.contains_key(id))
        .count() as u64
}

#[test]
fn bag_by_bag_updates_match_a_full_recount() {
    let own = HashSet::new();
    for seed in 1..40u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        // Held: some objects, some without a bag (imported), some in bags that will not exist.
        let mut held: HashMap<DataObjectId, Option<BagId>> = HashMap::new();
        for id in 0..120u64 {
            if rng.below(3) == 0 {
                let bag = (rng.below(4) > 0).then(|| format!("dynamic:channel:{}", id % 6));
                held.insert(DataObjectId(id), bag.map(|b| b.parse().unwrap()));
            }
        }
        let mut ob = Obligations::default();
        let mut backlog = Backlog::new(SyncOrder::NewestFirst, Duration::ZERO, Duration::ZERO);
        let mut cleanup = Cleanup::default();
        backlog.refresh(&ob, &held, &own);
        cleanup.refresh(&ob, &held);
        let mut count = missing(&ob, &held);
        for _ in 0..60 {
            // One block: a few bags replaced or dropped; objects keep their bag (k = id % 6).
            let mut next = ob.clone();
            for _ in 0..=rng.below(3) {
                let k = rng.below(6);
                let mut objects = Vec::new();
                for id in (0..120u64).filter(|id| id % 6 == k) {
                    if rng.below(2) == 0 {
                        objects.push((id, rng.below(4) > 0));
                    }
                }
                let objects = (rng.below(5) > 0).then_some(objects);
                next = with_bag(&next, k, objects, rng.below(2));
            }
            update_bags(
                &ob,
                &next,
                &held,
                &own,
                (&mut backlog, &mut cleanup, &mut count),
            );
            ob = next;
            let mut fresh = Backlog::new(SyncOrder::NewestFirst, Duration::ZERO, Duration::ZERO);
            fresh.refresh(&ob, &held, &own);
            assert_eq!(backlog.wanted(), fresh.wanted(), "seed {seed}");
            let mut fresh = Cleanup::default();
            fresh.refresh(&ob, &held);
            assert_eq!(cleanup.state(), fresh.state(), "seed {seed}");
            assert_eq!(count, missing(&ob, &held), "seed {seed}");
        }
    }
}
