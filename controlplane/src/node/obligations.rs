//! Obligations: what this storage node must hold, computed from the chain. For the buckets its
//! worker operates (all of them, or the configured ones): every bag they store, with the bag's
//! objects as the chain declares them and the other holders' published endpoints.
//!
//! Computed in full at start and at each reconciliation, and per bag when a block's events touch
//! a bag; events about buckets (operators, status, metadata, blacklist, the upload switch) redo
//! it in full. Persistent maps make each version cheap to keep next to the previous one, which is
//! what the data plane link diffs against.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use hecaton_shared::socket::{BagPlacement, Change, Globals, ObjectPlacement};
use hecaton_shared::{BagId, DataObjectId, StorageBucketId};

use crate::chain::{Chain, ChainError, StorageBucketInfo};
use crate::runtime::event::StorageEvent;
use crate::runtime::storage::types::StorageBucketOperatorStatus;
use crate::runtime::Event;

/// Which buckets a node serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketSelection {
    /// Every bucket the worker operates.
    All,
    /// These buckets (those the worker does not operate are read-only: uploads are refused).
    Only(BTreeSet<u64>),
}

/// Who this node is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The storage worker id.
    pub worker_id: u64,
    /// Its buckets.
    pub buckets: BucketSelection,
}

/// What this node must hold, as of a block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Obligations {
    /// The block the state was read at (or after).
    pub block: u64,
    /// Node-wide values.
    pub globals: Globals,
    /// Bags, with their objects.
    pub bags: imbl::OrdMap<BagId, Arc<BagPlacement>>,
    /// Published endpoint of every storage bucket that has one.
    pub endpoints: imbl::OrdMap<u64, String>,
    /// Each object's bag.
    pub objects: imbl::HashMap<DataObjectId, BagId>,
}

impl Obligations {
    /// Reads everything from the chain.
    pub async fn read(chain: &impl Chain, scope: &Scope, block: u64) -> Result<Self, ChainError> {
        let buckets = chain.storage_buckets().await?;
        let terms = chain.upload_terms().await?;
        let blacklist = chain.blacklist().await?;
        let mut ob = Obligations {
            block,
            globals: globals(scope, &buckets, terms.uploading_blocked, &blacklist),
            endpoints: endpoints(&buckets),
            ..Obligations::default()
        };
        let mut bags = BTreeSet::new();
        for b in &buckets {
            if ob.globals.buckets.contains(&StorageBucketId(b.id)) {
                bags.extend(b.bags.iter().copied());
            }
        }
        for bag in bags {
            ob.refresh_bag(chain, bag).await?;
        }
        Ok(ob)
    }

    /// Re-reads one bag: its holders and objects, or its removal when none of this node's
    /// buckets stores it any more (or it was deleted).
    pub async fn refresh_bag(&mut self, chain: &impl Chain, bag: BagId) -> Result<(), ChainError> {
        let info = chain.bag(bag).await?;
        // This node's buckets that store the bag: the operated ones make it an obligation; the
        // listed but not operated ones are kept so that uploads into them get Colossus's
        // "Incorrect storage bucket ID." rather than "not assigned".
        let ours: Vec<StorageBucketId> = info
            .as_ref()
            .map(|i| {
                i.bag
                    .stored_by
                    .iter()
                    .map(|b| StorageBucketId(*b))
                    .filter(|b| {
                        self.globals.buckets.contains(b)
                            || self.globals.read_only_buckets.contains(b)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let operated = ours.iter().any(|b| self.globals.buckets.contains(b));
        if let Some(old) = self.bags.remove(&bag) {
            for o in &old.objects {
                self.objects.remove(&o.id);
            }
        }
        let Some(info) = info.filter(|_| operated) else {
            return Ok(());
        };
        let peers = info
            .bag
            .stored_by
            .iter()
            .filter(|b| !ours.contains(&StorageBucketId(**b)))
            .filter_map(|b| self.endpoints.get(b).cloned())
            .collect();
        let mut objects: Vec<ObjectPlacement> = chain
            .bag_objects(bag)
            .await?
            .into_iter()
            .map(|o| ObjectPlacement {
                id: DataObjectId(o.id),
                size: o.object.size,
                content_id: String::from_utf8_lossy(&o.object.ipfs_content_id.0).into_owned(),
                accepted: o.object.accepted,
            })
            .collect();
        objects.sort_by_key(|o| o.id);
        for o in &objects {
            self.objects.insert(o.id, bag);
        }
        self.bags.insert(
            bag,
            Arc::new(BagPlacement {
                bag,
                buckets: ours,
                peers,
                objects,
            }),
        );
        Ok(())
    }

    /// An object this node must hold, with its bag.
    pub fn object(&self, id: DataObjectId) -> Option<(&BagPlacement, &ObjectPlacement)> {
        let bag = self.bags.get(self.objects.get(&id)?)?;
        let i = bag.objects.binary_search_by_key(&id, |o| o.id).ok()?;
        Some((bag, &bag.objects[i]))
    }

    /// Objects held and pending acceptance, and their bytes.
    pub fn counts(&self) -> (usize, usize, u64) {
        let (mut objects, mut pending, mut bytes) = (0, 0, 0);
        for bag in self.bags.values() {
            objects += bag.objects.len();
            pending += bag.objects.iter().filter(|o| !o.accepted).count();
            bytes += bag.objects.iter().map(|o| o.size).sum::<u64>();
        }
        (objects, pending, bytes)
    }
}

/// The node-wide values for `scope`.
fn globals(
    scope: &Scope,
    buckets: &[StorageBucketInfo],
    uploading_blocked: bool,
    blacklist: &[crate::runtime::storage::types::Cid],
) -> Globals {
    let mut g = Globals {
        uploading_blocked,
        blacklist: blacklist
            .iter()
            .map(|c| String::from_utf8_lossy(&c.0).into_owned())
            .collect(),
        ..Globals::default()
    };
    for b in buckets {
        let selected = match &scope.buckets {
            BucketSelection::All => true,
            BucketSelection::Only(ids) => ids.contains(&b.id),
        };
        if !selected {
            continue;
        }
        match &b.bucket.operator_status {
            StorageBucketOperatorStatus::StorageWorker(w, _) if *w == scope.worker_id => {
                g.buckets.push(StorageBucketId(b.id))
            }
            StorageBucketOperatorStatus::InvitedStorageWorker(w) if *w == scope.worker_id => {
                g.read_only_buckets.push(StorageBucketId(b.id))
            }
            _ if matches!(scope.buckets, BucketSelection::Only(_)) => {
                g.read_only_buckets.push(StorageBucketId(b.id))
            }
            _ => {}
        }
    }
    g
}

fn endpoints(buckets: &[StorageBucketInfo]) -> imbl::OrdMap<u64, String> {
    buckets
        .iter()
        .filter_map(|b| {
            let endpoint = b.operator_metadata.as_ref()?.endpoint.clone()?;
            Some((b.id, endpoint))
        })
        .collect()
}

/// What a block's events ask to re-read.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Touched {
    /// Everything (bucket-level events).
    pub all: bool,
    /// These bags.
    pub bags: BTreeSet<BagId>,
}

impl Obligations {
    /// Applies what a block's events state exactly — objects uploaded (with their sizes and
    /// content ids), accepted, deleted — without reading the chain, and returns what needs a
    /// read: bags whose holders or membership changed, or everything for bucket-level events.
    pub fn apply_events(&mut self, events: &[Event]) -> Touched {
        use StorageEvent as E;
        let mut t = Touched::default();
        for event in events {
            let Event::Storage(e) = event else { continue };
            match e {
                E::DataObjectsUploaded(ids, params, _) => {
                    self.add_objects(params.bag_id, ids, &params.object_creation_list);
                }
                E::DataObjectsUpdated(params, uploaded, deleted) => {
                    self.add_objects(params.bag_id, uploaded, &params.object_creation_list);
                    self.remove_objects(params.bag_id, deleted);
                }
                E::PendingDataObjectsAccepted(_, _, bag, ids) => {
                    self.edit_bag(*bag, |b| {
                        for o in b.objects.iter_mut().filter(|o| ids.contains(&o.id.0)) {
                            o.accepted = true;
                        }
                    });
                }
                E::DataObjectsDeleted(_, bag, ids) => self.remove_objects(*bag, ids),
                E::StorageBucketsUpdatedForBag(bag, _, _) => {
                    t.bags.insert(*bag);
                }
                E::DataObjectsMoved(from, to, _) => {
                    t.bags.insert(*from);
                    t.bags.insert(*to);
                }
                E::DynamicBagCreated(params, _) => {
                    t.bags.insert(BagId::Dynamic(params.bag_id));
                }
                E::DynamicBagDeleted(bag) => {
                    t.bags.insert(BagId::Dynamic(*bag));
                }
                E::StorageBucketCreated(..)
                | E::StorageBucketInvitationAccepted(..)
                | E::StorageBucketOperatorRemoved(..)
                | E::StorageBucketStatusUpdated(..)
                | E::StorageBucketDeleted(..)
                | E::StorageOperatorMetadataSet(..)
                | E::UpdateBlacklist(..)
                | E::UploadingBlockStatusUpdated(..) => t.all = true,
                _ => {}
            }
        }
        t
    }

    fn edit_bag(&mut self, bag: BagId, f: impl FnOnce(&mut BagPlacement)) {
        if let Some(placement) = self.bags.get_mut(&bag) {
            f(Arc::make_mut(placement));
        }
    }

    /// New objects of a bag this node holds (ids ascending, parameters in the same order).
    fn add_objects(
        &mut self,
        bag: BagId,
        ids: &BTreeSet<u64>,
        params: &[crate::runtime::storage::types::DataObjectCreationParameters],
    ) {
        if !self.bags.contains_key(&bag) {
            return;
        }
        for id in ids.iter().take(params.len()) {
            self.objects.insert(DataObjectId(*id), bag);
        }
        self.edit_bag(bag, |b| {
            for (id, p) in ids.iter().zip(params) {
                let object = ObjectPlacement {
                    id: DataObjectId(*id),
                    size: p.size,
                    content_id: String::from_utf8_lossy(&p.ipfs_content_id.0).into_owned(),
                    accepted: false,
                };
                match b.objects.binary_search_by_key(&object.id, |o| o.id) {
                    Ok(i) => b.objects[i] = object,
                    Err(i) => b.objects.insert(i, object),
                }
            }
        });
    }

    fn remove_objects(&mut self, bag: BagId, ids: &BTreeSet<u64>) {
        for id in ids {
            if self.objects.get(&DataObjectId(*id)) == Some(&bag) {
                self.objects.remove(&DataObjectId(*id));
            }
        }
        self.edit_bag(bag, |b| b.objects.retain(|o| !ids.contains(&o.id.0)));
    }
}

/// The changes that turn `old` into `new`.
pub fn diff(old: &Obligations, new: &Obligations) -> Vec<Change> {
    let mut changes = Vec::new();
    if old.globals != new.globals {
        changes.push(Change::Globals(new.globals.clone()));
    }
    for (bag, placement) in &old.bags {
        if !new.bags.contains_key(bag) {
            changes.push(Change::BagRemoved { bag: placement.bag });
        }
    }
    for (bag, placement) in &new.bags {
        let before = old.bags.get(bag);
        if before.is_some_and(|b| Arc::ptr_eq(b, placement) || **b == **placement) {
            continue;
        }
        if before.is_none_or(|b| b.buckets != placement.buckets || b.peers != placement.peers) {
            changes.push(Change::Bag {
                bag: *bag,
                buckets: placement.buckets.clone(),
                peers: placement.peers.clone(),
            });
        }
        let was: BTreeMap<DataObjectId, &ObjectPlacement> = before
            .map(|b| b.objects.iter().map(|o| (o.id, o)).collect())
            .unwrap_or_default();
        let changed: Vec<ObjectPlacement> = placement
            .objects
            .iter()
            .filter(|o| was.get(&o.id).is_none_or(|w| *w != *o))
            .cloned()
            .collect();
        if !changed.is_empty() {
            changes.push(Change::Objects {
                bag: *bag,
                objects: changed,
            });
        }
        let now: BTreeSet<DataObjectId> = placement.objects.iter().map(|o| o.id).collect();
        let removed: Vec<DataObjectId> =
            was.keys().filter(|id| !now.contains(id)).copied().collect();
        if !removed.is_empty() {
            changes.push(Change::ObjectsRemoved {
                bag: *bag,
                ids: removed,
            });
        }
    }
    changes
}

/// The snapshot of `ob`, in parts of at most `per_part` objects.
pub fn snapshot_parts(ob: &Obligations, per_part: usize) -> Vec<Vec<BagPlacement>> {
    let mut parts = vec![Vec::new()];
    let mut in_part = 0;
    for bag in ob.bags.values() {
        if in_part > 0 && in_part + bag.objects.len() > per_part {
            parts.push(Vec::new());
            in_part = 0;
        }
        in_part += bag.objects.len().max(1);
        parts.last_mut().expect("never empty").push((**bag).clone());
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::AccountId;
    use crate::runtime::storage::types::{Cid, DataObjectCreationParameters, UploadParameters};

    fn bag() -> BagId {
        "dynamic:channel:3".parse().unwrap()
    }

    fn held() -> Obligations {
        let mut ob = Obligations {
            globals: Globals {
                buckets: vec![StorageBucketId(0)],
                ..Globals::default()
            },
            ..Obligations::default()
        };
        ob.bags.insert(
            bag(),
            Arc::new(BagPlacement {
                bag: bag(),
                buckets: vec![StorageBucketId(0)],
                peers: vec![],
                objects: vec![],
            }),
        );
        ob
    }

    fn uploaded(bag: BagId, ids: &[u64]) -> Event {
        Event::Storage(StorageEvent::DataObjectsUploaded(
            ids.iter().copied().collect(),
            UploadParameters {
                bag_id: bag,
                object_creation_list: ids
                    .iter()
                    .map(|i| DataObjectCreationParameters {
                        size: i * 100,
                        ipfs_content_id: Cid(format!("cid{i}").into_bytes()),
                    })
                    .collect(),
                state_bloat_bond_source_account_id: AccountId::dev("//Charlie"),
                expected_data_size_fee: 0,
                expected_data_object_state_bloat_bond: 0,
            },
            0,
        ))
    }

    #[test]
    fn uploads_acceptances_and_deletions_apply_without_reading_the_chain() {
        let mut ob = held();
        let before = ob.clone();
        let other: BagId = "dynamic:channel:9".parse().unwrap();
        let t = ob.apply_events(&[
            uploaded(bag(), &[5, 6, 7]),
            uploaded(other, &[8]),
            Event::Storage(StorageEvent::PendingDataObjectsAccepted(
                1,
                0,
                bag(),
                [6].into_iter().collect(),
            )),
            Event::Storage(StorageEvent::DataObjectsDeleted(
                AccountId::dev("//Charlie"),
                bag(),
                [7].into_iter().collect(),
            )),
        ]);
        assert_eq!(t, Touched::default(), "nothing to re-read");
        let (_, o5) = ob.object(DataObjectId(5)).unwrap();
        assert_eq!(
            (o5.size, o5.content_id.as_str(), o5.accepted),
            (500, "cid5", false)
        );
        assert!(ob.object(DataObjectId(6)).unwrap().1.accepted);
        assert!(ob.object(DataObjectId(7)).is_none());
        assert!(ob.object(DataObjectId(8)).is_none(), "not this node's bag");
        assert_eq!(ob.counts(), (2, 1, 1100));
        // The data plane receives exactly the new objects.
        assert_eq!(
            diff(&before, &ob),
            vec![Change::Objects {
                bag: bag(),
                objects: ob.bags[&bag()].objects.clone(),
            }]
        );
    }

    #[test]
    fn holder_and_bucket_changes_ask_for_reads() {
        let mut ob = held();
        let t = ob.apply_events(&[Event::Storage(StorageEvent::StorageBucketsUpdatedForBag(
            bag(),
            [1].into_iter().collect(),
            Default::default(),
        ))]);
        assert_eq!(t.bags.into_iter().collect::<Vec<_>>(), vec![bag()]);
        let t = ob.apply_events(&[Event::Storage(StorageEvent::UploadingBlockStatusUpdated(
            true,
        ))]);
        assert!(t.all);
    }
}
