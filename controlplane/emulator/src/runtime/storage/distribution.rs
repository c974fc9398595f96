//! Distribution-lead and distribution-operator calls.

use std::collections::{BTreeMap, BTreeSet};

use hecaton_shared::{BagId, DistributionBucketId};

use super::types::{Bytes, DistributionBucket, DistributionBucketFamily, DynamicBagType};
use crate::runtime::call::Origin;
use crate::runtime::error::{DispatchResult, StorageError};
use crate::runtime::event::StorageEvent;
use crate::runtime::working_group::Group;
use crate::runtime::Ctx;

impl Ctx<'_> {
    pub(super) fn create_distribution_bucket_family(&mut self) -> DispatchResult {
        let storage = &mut self.state.storage;
        if storage.distribution_bucket_family_number
            >= self.constants.max_distribution_bucket_family_number
        {
            return Err(StorageError::MaxDistributionBucketFamilyNumberLimitExceeded.into());
        }
        storage.distribution_bucket_family_number += 1;
        let id = storage.next_distribution_bucket_family_id;
        storage.next_distribution_bucket_family_id += 1;
        storage
            .distribution_bucket_family_by_id
            .insert(id, DistributionBucketFamily::default());
        self.emit_storage(StorageEvent::DistributionBucketFamilyCreated(id));
        Ok(())
    }

    pub(super) fn delete_distribution_bucket_family(&mut self, family_id: u64) -> DispatchResult {
        let storage = &self.state.storage;
        storage.ensure_family(family_id)?;
        let bound = storage
            .distribution_bucket_by_family_id_by_id
            .iter()
            .any(|(id, bucket)| id.family == family_id && bucket.assigned_bags != 0);
        if bound {
            return Err(StorageError::DistributionBucketIsBoundToBag.into());
        }
        for bag_type in [DynamicBagType::Member, DynamicBagType::Channel] {
            if storage
                .policy(self.constants, bag_type)
                .families
                .contains_key(&family_id)
            {
                return Err(StorageError::DistributionFamilyBoundToBagCreationPolicy.into());
            }
        }
        let storage = &mut self.state.storage;
        storage.distribution_bucket_family_number -= 1;
        storage.distribution_bucket_family_by_id.remove(&family_id);
        self.state.metadata.families.remove(&family_id);
        self.emit_storage(StorageEvent::DistributionBucketFamilyDeleted(family_id));
        Ok(())
    }

    pub(super) fn create_distribution_bucket(
        &mut self,
        family_id: u64,
        accepting: bool,
    ) -> DispatchResult {
        let mut family = self.state.storage.ensure_family(family_id)?;
        let id = DistributionBucketId {
            family: family_id,
            index: family.next_distribution_bucket_index,
        };
        family.next_distribution_bucket_index += 1;
        let storage = &mut self.state.storage;
        storage
            .distribution_bucket_family_by_id
            .insert(family_id, family);
        storage.distribution_bucket_by_family_id_by_id.insert(
            id,
            DistributionBucket {
                accepting_new_bags: accepting,
                distributing: true,
                pending_invitations: BTreeSet::new(),
                operators: BTreeSet::new(),
                assigned_bags: 0,
            },
        );
        self.emit_storage(StorageEvent::DistributionBucketCreated(
            family_id, accepting, id,
        ));
        Ok(())
    }

    /// Loads a bucket, lets `change` edit it, stores it back.
    fn edit_distribution_bucket(
        &mut self,
        id: DistributionBucketId,
        change: impl FnOnce(&mut DistributionBucket) -> Result<(), StorageError>,
    ) -> DispatchResult {
        let mut bucket = self.state.storage.distribution_bucket(id)?;
        change(&mut bucket)?;
        self.state
            .storage
            .distribution_bucket_by_family_id_by_id
            .insert(id, bucket);
        Ok(())
    }

    pub(super) fn update_distribution_bucket_status(
        &mut self,
        id: DistributionBucketId,
        accepting: bool,
    ) -> DispatchResult {
        self.edit_distribution_bucket(id, |b| {
            b.accepting_new_bags = accepting;
            Ok(())
        })?;
        self.emit_storage(StorageEvent::DistributionBucketStatusUpdated(id, accepting));
        Ok(())
    }

    pub(super) fn update_distribution_bucket_mode(
        &mut self,
        id: DistributionBucketId,
        distributing: bool,
    ) -> DispatchResult {
        self.edit_distribution_bucket(id, |b| {
            b.distributing = distributing;
            Ok(())
        })?;
        self.emit_storage(StorageEvent::DistributionBucketModeUpdated(
            id,
            distributing,
        ));
        Ok(())
    }

    pub(super) fn delete_distribution_bucket(
        &mut self,
        id: DistributionBucketId,
    ) -> DispatchResult {
        let bucket = self.state.storage.distribution_bucket(id)?;
        if bucket.assigned_bags != 0 {
            return Err(StorageError::DistributionBucketIsBoundToBag.into());
        }
        if !bucket.operators.is_empty() {
            return Err(StorageError::DistributionProviderOperatorSet.into());
        }
        self.state
            .storage
            .distribution_bucket_by_family_id_by_id
            .remove(&id);
        self.state.metadata.distribution_operators.remove(&id);
        self.emit_storage(StorageEvent::DistributionBucketDeleted(id));
        Ok(())
    }

    pub(super) fn update_distribution_buckets_for_bag(
        &mut self,
        bag_id: BagId,
        family_id: u64,
        add: &BTreeSet<u64>,
        remove: &BTreeSet<u64>,
    ) -> DispatchResult {
        if add.is_empty() && remove.is_empty() {
            return Err(StorageError::DistributionBucketIdCollectionsAreEmpty.into());
        }
        let storage = &self.state.storage;
        let mut bag = storage.bag(&bag_id)?;
        storage.ensure_family(family_id)?;
        let new_count = (bag.distributed_by.len() + add.len()).saturating_sub(remove.len());
        if new_count > storage.distribution_buckets_per_bag_limit as usize {
            return Err(StorageError::MaxDistributionBucketNumberPerBagLimitExceeded.into());
        }
        let id = |index: u64| DistributionBucketId {
            family: family_id,
            index,
        };
        let mut changed = Vec::with_capacity(add.len() + remove.len());
        for index in remove {
            let mut bucket = storage.distribution_bucket(id(*index))?;
            if !bag.distributed_by.contains(&id(*index)) {
                return Err(StorageError::DistributionBucketIsNotBoundToBag.into());
            }
            bucket.assigned_bags = bucket.assigned_bags.saturating_sub(1);
            changed.push((id(*index), bucket));
        }
        for index in add {
            let mut bucket = storage.distribution_bucket(id(*index))?;
            if !bucket.accepting_new_bags {
                return Err(StorageError::DistributionBucketDoesntAcceptNewBags.into());
            }
            if bag.distributed_by.contains(&id(*index)) {
                return Err(StorageError::DistributionBucketIsBoundToBag.into());
            }
            bucket.assigned_bags += 1;
            changed.push((id(*index), bucket));
        }
        bag.distributed_by.extend(add.iter().map(|i| id(*i)));
        bag.distributed_by
            .retain(|b| !(b.family == family_id && remove.contains(&b.index)));
        if bag.distributed_by.len() > self.constants.max_distribution_buckets_per_bag as usize {
            return Err(StorageError::MaxDistributionBucketNumberPerBagLimitExceeded.into());
        }
        let storage = &mut self.state.storage;
        for (bucket_id, bucket) in changed {
            storage
                .distribution_bucket_by_family_id_by_id
                .insert(bucket_id, bucket);
        }
        storage.bags.insert(bag_id, bag);
        self.emit_storage(StorageEvent::DistributionBucketsUpdatedForBag(
            bag_id,
            family_id,
            add.clone(),
            remove.clone(),
        ));
        Ok(())
    }

    pub(super) fn update_distribution_buckets_per_bag_limit(
        &mut self,
        limit: u32,
    ) -> DispatchResult {
        if limit < self.constants.min_distribution_buckets_per_bag {
            return Err(StorageError::DistributionBucketsPerBagLimitTooLow.into());
        }
        if limit > self.constants.max_distribution_buckets_per_bag {
            return Err(StorageError::DistributionBucketsPerBagLimitTooHigh.into());
        }
        self.state.storage.distribution_buckets_per_bag_limit = limit;
        self.emit_storage(StorageEvent::DistributionBucketsPerBagLimitUpdated(limit));
        Ok(())
    }

    pub(super) fn update_families_in_policy(
        &mut self,
        bag_type: DynamicBagType,
        families: &BTreeMap<u64, u32>,
    ) -> DispatchResult {
        let c = self.constants;
        let kept: BTreeMap<u64, u32> = families
            .iter()
            .filter(|(_, n)| **n != 0)
            .map(|(f, n)| (*f, *n))
            .collect();
        let total = kept.values().fold(0u32, |sum, n| sum.saturating_add(*n));
        if kept.len() > c.max_distribution_buckets_per_bag as usize
            || total < c.min_distribution_buckets_per_bag
            || total > c.max_distribution_buckets_per_bag
        {
            return Err(StorageError::NumberOfDistributionBucketsOutsideOfAllowedContraints.into());
        }
        for family_id in kept.keys() {
            self.state.storage.ensure_family(*family_id)?;
        }
        let mut policy = self.state.storage.policy(c, bag_type);
        policy.families = kept;
        self.state
            .storage
            .dynamic_bag_creation_policies
            .insert(bag_type, policy);
        self.emit_storage(StorageEvent::FamiliesInDynamicBagCreationPolicyUpdated(
            bag_type,
            families.clone(),
        ));
        Ok(())
    }

    pub(super) fn invite_distribution_bucket_operator(
        &mut self,
        id: DistributionBucketId,
        worker: u64,
    ) -> DispatchResult {
        self.state.storage.distribution_bucket(id)?;
        if !self
            .state
            .distribution_working_group
            .worker_by_id
            .contains_key(&worker)
        {
            return Err(StorageError::DistributionProviderOperatorDoesntExist.into());
        }
        let max_pending = self
            .constants
            .max_number_of_pending_invitations_per_distribution_bucket;
        self.edit_distribution_bucket(id, |b| {
            if b.pending_invitations.contains(&worker) {
                return Err(StorageError::DistributionProviderOperatorAlreadyInvited);
            }
            if b.operators.contains(&worker) {
                return Err(StorageError::DistributionProviderOperatorSet);
            }
            if b.pending_invitations.len() >= max_pending as usize {
                return Err(
                    StorageError::MaxNumberOfPendingInvitationsLimitForDistributionBucketReached,
                );
            }
            b.pending_invitations.insert(worker);
            Ok(())
        })?;
        self.emit_storage(StorageEvent::DistributionBucketOperatorInvited(id, worker));
        Ok(())
    }

    pub(super) fn cancel_distribution_bucket_operator_invite(
        &mut self,
        id: DistributionBucketId,
        worker: u64,
    ) -> DispatchResult {
        self.edit_distribution_bucket(id, |b| {
            if !b.pending_invitations.remove(&worker) {
                return Err(StorageError::NoDistributionBucketInvitation);
            }
            Ok(())
        })?;
        self.emit_storage(StorageEvent::DistributionBucketInvitationCancelled(
            id, worker,
        ));
        Ok(())
    }

    pub(super) fn remove_distribution_bucket_operator(
        &mut self,
        id: DistributionBucketId,
        worker: u64,
    ) -> DispatchResult {
        self.edit_distribution_bucket(id, |b| {
            if !b.operators.remove(&worker) {
                return Err(StorageError::MustBeDistributionProviderOperatorForBucket);
            }
            Ok(())
        })?;
        self.state.metadata.remove_distribution_operator(id, worker);
        self.emit_storage(StorageEvent::DistributionBucketOperatorRemoved(id, worker));
        Ok(())
    }

    pub(super) fn set_distribution_bucket_family_metadata(
        &mut self,
        family_id: u64,
        metadata: &Bytes,
    ) -> DispatchResult {
        self.state.storage.ensure_family(family_id)?;
        self.state.metadata.apply_family(family_id, &metadata.0);
        self.emit_storage(StorageEvent::DistributionBucketFamilyMetadataSet(
            family_id,
            metadata.clone(),
        ));
        Ok(())
    }

    pub(super) fn accept_distribution_bucket_invitation(
        &mut self,
        origin: Origin,
        worker: u64,
        id: DistributionBucketId,
    ) -> DispatchResult {
        self.ensure_worker_signed(Group::Distribution, origin, worker)?;
        let max_operators = self
            .constants
            .max_number_of_operators_per_distribution_bucket;
        self.edit_distribution_bucket(id, |b| {
            if !b.pending_invitations.remove(&worker) {
                return Err(StorageError::NoDistributionBucketInvitation);
            }
            b.operators.insert(worker);
            if b.operators.len() > max_operators as usize {
                return Err(StorageError::MaxNumberOfOperatorsPerDistributionBucketReached);
            }
            Ok(())
        })?;
        self.emit_storage(StorageEvent::DistributionBucketInvitationAccepted(
            worker, id,
        ));
        Ok(())
    }

    /// Signed by `worker`, an operator of the bucket (metadata and remarks).
    fn ensure_distribution_operator(
        &self,
        origin: Origin,
        worker: u64,
        id: DistributionBucketId,
    ) -> DispatchResult {
        self.ensure_worker_signed(Group::Distribution, origin, worker)?;
        let bucket = self.state.storage.distribution_bucket(id)?;
        if !bucket.operators.contains(&worker) {
            return Err(StorageError::MustBeDistributionProviderOperatorForBucket.into());
        }
        Ok(())
    }

    pub(super) fn set_distribution_operator_metadata(
        &mut self,
        origin: Origin,
        worker: u64,
        id: DistributionBucketId,
        metadata: &Bytes,
    ) -> DispatchResult {
        self.ensure_distribution_operator(origin, worker, id)?;
        self.state
            .metadata
            .apply_distribution_operator(id, worker, &metadata.0);
        self.emit_storage(StorageEvent::DistributionBucketMetadataSet(
            worker,
            id,
            metadata.clone(),
        ));
        Ok(())
    }

    pub(super) fn distribution_operator_remark(
        &mut self,
        origin: Origin,
        worker: u64,
        id: DistributionBucketId,
        msg: &Bytes,
    ) -> DispatchResult {
        self.ensure_distribution_operator(origin, worker, id)?;
        self.emit_storage(StorageEvent::DistributionOperatorRemarked(
            worker,
            id,
            msg.clone(),
        ));
        Ok(())
    }
}
