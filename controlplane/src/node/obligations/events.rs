//! Applying a block's events to the obligations: what the events state exactly (objects
//! uploaded with their sizes and content ids, accepted, deleted; for a distributor the set of
//! existing ids) without reading the chain, and what they ask to re-read.

use std::collections::BTreeSet;
use std::sync::Arc;

use hecaton_shared::socket::{BagPlacement, ObjectPlacement, Role};
use hecaton_shared::{BagId, DataObjectId};

use super::Obligations;
use hecaton_vocabulary::event::Event;
use hecaton_vocabulary::event::StorageEvent;

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
        let distributor = self.role == Some(Role::Distributor);
        let mut t = Touched::default();
        for event in events {
            let Event::Storage(e) = event else { continue };
            match e {
                E::DataObjectsUploaded(ids, params, _) => {
                    self.add_objects(params.bag_id, ids, &params.object_creation_list);
                    self.exist(ids, true);
                }
                E::DataObjectsUpdated(params, uploaded, deleted) => {
                    self.add_objects(params.bag_id, uploaded, &params.object_creation_list);
                    self.remove_objects(params.bag_id, deleted);
                    self.exist(uploaded, true);
                    self.exist(deleted, false);
                }
                E::PendingDataObjectsAccepted(_, _, bag, ids) => {
                    self.edit_bag(*bag, |b| {
                        for o in b.objects.iter_mut().filter(|o| ids.contains(&o.id.0)) {
                            o.accepted = true;
                        }
                    });
                }
                E::DataObjectsDeleted(_, bag, ids) => {
                    self.remove_objects(*bag, ids);
                    self.exist(ids, false);
                }
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
                    // Its objects are gone too, and the event does not list them.
                    t.all |= distributor;
                }
                E::DistributionBucketsUpdatedForBag(bag, ..) if distributor => {
                    t.bags.insert(*bag);
                }
                E::DistributionBucketFamilyCreated(..)
                | E::DistributionBucketFamilyDeleted(..)
                | E::DistributionBucketCreated(..)
                | E::DistributionBucketStatusUpdated(..)
                | E::DistributionBucketDeleted(..)
                | E::DistributionBucketModeUpdated(..)
                | E::DistributionBucketInvitationAccepted(..)
                | E::DistributionBucketOperatorRemoved(..)
                    if distributor =>
                {
                    t.all = true
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

    /// Distributor: objects created (`true`) or deleted on chain.
    fn exist(&mut self, ids: &BTreeSet<u64>, created: bool) {
        let Some(set) = self.existing.as_mut() else {
            return;
        };
        let set = Arc::make_mut(set);
        for id in ids {
            if created {
                set.insert(DataObjectId(*id));
            } else {
                set.remove(DataObjectId(*id));
            }
        }
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
        params: &[hecaton_vocabulary::storage_types::DataObjectCreationParameters],
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
