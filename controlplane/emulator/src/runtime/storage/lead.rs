//! Storage-lead calls, each with its checks in the chain's order.

use std::collections::BTreeSet;

use hecaton_shared::BagId;

use super::types::{Cid, DynamicBagType, StorageBucket, StorageBucketOperatorStatus, Voucher};
use crate::runtime::error::{DispatchResult, StorageError};
use crate::runtime::event::{Event, StorageEvent};
use crate::runtime::Ctx;

impl Ctx<'_> {
    pub(super) fn emit_storage(&mut self, event: StorageEvent) {
        self.emit(Event::Storage(event));
    }

    pub(super) fn delete_storage_bucket(&mut self, id: u64) -> DispatchResult {
        let bucket = self.state.storage.storage_bucket(id)?;
        if bucket.voucher.objects_used != 0 {
            return Err(StorageError::CannotDeleteNonEmptyStorageBucket.into());
        }
        if bucket.assigned_bags != 0 {
            return Err(StorageError::StorageBucketIsBoundToBag.into());
        }
        self.state.storage.storage_bucket_by_id.remove(&id);
        self.state.metadata.storage_operators.remove(&id);
        self.emit_storage(StorageEvent::StorageBucketDeleted(id));
        Ok(())
    }

    pub(super) fn update_storage_buckets_per_bag_limit(&mut self, limit: u32) -> DispatchResult {
        if limit < self.constants.min_storage_buckets_per_bag {
            return Err(StorageError::StorageBucketsPerBagLimitTooLow.into());
        }
        if limit > self.constants.max_storage_buckets_per_bag {
            return Err(StorageError::StorageBucketsPerBagLimitTooHigh.into());
        }
        self.state.storage.storage_buckets_per_bag_limit = limit;
        self.emit_storage(StorageEvent::StorageBucketsPerBagLimitUpdated(limit));
        Ok(())
    }

    pub(super) fn update_number_in_policy(
        &mut self,
        bag_type: DynamicBagType,
        n: u32,
    ) -> DispatchResult {
        let c = self.constants;
        if n < c.min_storage_buckets_per_bag || n > c.max_storage_buckets_per_bag {
            return Err(StorageError::NumberOfStorageBucketsOutsideOfAllowedContraints.into());
        }
        let mut policy = self.state.storage.policy(c, bag_type);
        policy.number_of_storage_buckets = n;
        self.state
            .storage
            .dynamic_bag_creation_policies
            .insert(bag_type, policy);
        self.emit_storage(
            StorageEvent::NumberOfStorageBucketsInDynamicBagCreationPolicyUpdated(bag_type, n),
        );
        Ok(())
    }

    pub(super) fn update_blacklist(
        &mut self,
        remove: &BTreeSet<Cid>,
        add: &BTreeSet<Cid>,
    ) -> DispatchResult {
        if remove
            .iter()
            .chain(add)
            .any(|cid| cid.0.len() != hecaton_shared::CONTENT_ID_LEN)
        {
            return Err(StorageError::InvalidCidLength.into());
        }
        let storage = &self.state.storage;
        let removals: Vec<&Cid> = remove
            .iter()
            .filter(|c| storage.blacklist.contains(c))
            .collect();
        let additions: Vec<&Cid> = add
            .iter()
            .filter(|c| !storage.blacklist.contains(c))
            .collect();
        let new_size = storage
            .current_blacklist_size
            .saturating_add(additions.len() as u64)
            .saturating_sub(removals.len() as u64);
        if new_size > self.constants.blacklist_size_limit {
            return Err(StorageError::BlacklistSizeLimitExceeded.into());
        }
        let (removals, additions): (Vec<Cid>, Vec<Cid>) = (
            removals.into_iter().cloned().collect(),
            additions.into_iter().cloned().collect(),
        );
        let storage = &mut self.state.storage;
        for cid in removals {
            storage.blacklist.remove(&cid);
        }
        for cid in additions {
            storage.blacklist.insert(cid);
        }
        storage.current_blacklist_size = new_size;
        self.emit_storage(StorageEvent::UpdateBlacklist(remove.clone(), add.clone()));
        Ok(())
    }

    fn check_voucher_maxima(&self, size_limit: u64, objects_limit: u64) -> DispatchResult {
        let storage = &self.state.storage;
        if size_limit > storage.voucher_max_objects_size_limit {
            return Err(StorageError::VoucherMaxObjectSizeLimitExceeded.into());
        }
        if objects_limit > storage.voucher_max_objects_number_limit {
            return Err(StorageError::VoucherMaxObjectNumberLimitExceeded.into());
        }
        Ok(())
    }

    pub(super) fn create_storage_bucket(
        &mut self,
        invite_worker: Option<u64>,
        accepting_new_bags: bool,
        size_limit: u64,
        objects_limit: u64,
    ) -> DispatchResult {
        self.check_voucher_maxima(size_limit, objects_limit)?;
        if let Some(worker) = invite_worker {
            self.ensure_storage_worker_exists(worker)?;
        }
        let storage = &mut self.state.storage;
        let id = storage.next_storage_bucket_id;
        storage.next_storage_bucket_id += 1;
        storage.storage_bucket_by_id.insert(
            id,
            StorageBucket {
                operator_status: match invite_worker {
                    Some(worker) => StorageBucketOperatorStatus::InvitedStorageWorker(worker),
                    None => StorageBucketOperatorStatus::Missing,
                },
                accepting_new_bags,
                voucher: Voucher {
                    size_limit,
                    objects_limit,
                    size_used: 0,
                    objects_used: 0,
                },
                assigned_bags: 0,
            },
        );
        self.emit_storage(StorageEvent::StorageBucketCreated(
            id,
            invite_worker,
            accepting_new_bags,
            size_limit,
            objects_limit,
        ));
        Ok(())
    }

    pub(super) fn ensure_storage_worker_exists(&self, worker: u64) -> DispatchResult {
        if self
            .state
            .storage_working_group
            .worker_by_id
            .contains_key(&worker)
        {
            Ok(())
        } else {
            Err(StorageError::StorageProviderOperatorDoesntExist.into())
        }
    }

    pub(super) fn update_storage_buckets_for_bag(
        &mut self,
        bag_id: BagId,
        add: &BTreeSet<u64>,
        remove: &BTreeSet<u64>,
    ) -> DispatchResult {
        let storage = &self.state.storage;
        let mut bag = storage.bag(&bag_id)?;
        if add.is_empty() && remove.is_empty() {
            return Err(StorageError::StorageBucketIdCollectionsAreEmpty.into());
        }
        let new_count = (bag.stored_by.len() + add.len()).saturating_sub(remove.len());
        if new_count > storage.storage_buckets_per_bag_limit as usize {
            return Err(StorageError::StorageBucketPerBagLimitExceeded.into());
        }
        for id in remove {
            storage.storage_bucket(*id)?;
            if !bag.stored_by.contains(id) {
                return Err(StorageError::StorageBucketIsNotBoundToBag.into());
            }
        }
        let mut added = Vec::with_capacity(add.len());
        for id in add {
            let bucket = storage.storage_bucket(*id)?;
            if !bucket.accepting_new_bags {
                return Err(StorageError::StorageBucketDoesntAcceptNewBags.into());
            }
            if bag.stored_by.contains(id) {
                return Err(StorageError::StorageBucketIsBoundToBag.into());
            }
            added.push((*id, bucket));
        }
        for (_, bucket) in &mut added {
            charge(
                &mut bucket.voucher,
                bag.objects_number,
                bag.objects_total_size,
            )?;
            bucket.assigned_bags += 1;
        }
        let mut removed = Vec::with_capacity(remove.len());
        for id in remove {
            let mut bucket = storage.storage_bucket(*id)?;
            let v = &mut bucket.voucher;
            v.objects_used = v.objects_used.saturating_sub(bag.objects_number);
            v.size_used = v.size_used.saturating_sub(bag.objects_total_size);
            bucket.assigned_bags = bucket.assigned_bags.saturating_sub(1);
            removed.push((*id, bucket));
        }
        for (id, bucket) in added.into_iter().chain(removed) {
            self.emit_storage(StorageEvent::VoucherChanged(id, bucket.voucher));
            self.state.storage.storage_bucket_by_id.insert(id, bucket);
        }
        bag.stored_by.extend(add.iter().copied());
        bag.stored_by.retain(|id| !remove.contains(id));
        if bag.stored_by.len() > self.constants.max_storage_buckets_per_bag as usize {
            return Err(StorageError::StorageBucketPerBagLimitExceeded.into());
        }
        self.state.storage.bags.insert(bag_id, bag);
        self.emit_storage(StorageEvent::StorageBucketsUpdatedForBag(
            bag_id,
            add.clone(),
            remove.clone(),
        ));
        Ok(())
    }

    pub(super) fn cancel_storage_bucket_operator_invite(&mut self, id: u64) -> DispatchResult {
        let mut bucket = self.state.storage.storage_bucket(id)?;
        match bucket.operator_status {
            StorageBucketOperatorStatus::Missing => {
                return Err(StorageError::NoStorageBucketInvitation.into())
            }
            StorageBucketOperatorStatus::StorageWorker(..) => {
                return Err(StorageError::StorageProviderAlreadySet.into())
            }
            StorageBucketOperatorStatus::InvitedStorageWorker(_) => {}
        }
        bucket.operator_status = StorageBucketOperatorStatus::Missing;
        self.state.storage.storage_bucket_by_id.insert(id, bucket);
        self.emit_storage(StorageEvent::StorageBucketInvitationCancelled(id));
        Ok(())
    }

    pub(super) fn invite_storage_bucket_operator(
        &mut self,
        id: u64,
        worker: u64,
    ) -> DispatchResult {
        let mut bucket = self.state.storage.storage_bucket(id)?;
        match bucket.operator_status {
            StorageBucketOperatorStatus::StorageWorker(..) => {
                return Err(StorageError::StorageProviderAlreadySet.into())
            }
            StorageBucketOperatorStatus::InvitedStorageWorker(_) => {
                return Err(StorageError::InvitedStorageProvider.into())
            }
            StorageBucketOperatorStatus::Missing => {}
        }
        self.ensure_storage_worker_exists(worker)?;
        bucket.operator_status = StorageBucketOperatorStatus::InvitedStorageWorker(worker);
        self.state.storage.storage_bucket_by_id.insert(id, bucket);
        self.emit_storage(StorageEvent::StorageBucketOperatorInvited(id, worker));
        Ok(())
    }

    pub(super) fn remove_storage_bucket_operator(&mut self, id: u64) -> DispatchResult {
        let mut bucket = self.state.storage.storage_bucket(id)?;
        if !matches!(
            bucket.operator_status,
            StorageBucketOperatorStatus::StorageWorker(..)
        ) {
            return Err(StorageError::StorageProviderMustBeSet.into());
        }
        bucket.operator_status = StorageBucketOperatorStatus::Missing;
        self.state.storage.storage_bucket_by_id.insert(id, bucket);
        self.state.metadata.storage_operators.remove(&id);
        self.emit_storage(StorageEvent::StorageBucketOperatorRemoved(id));
        Ok(())
    }

    pub(super) fn update_storage_bucket_status(
        &mut self,
        id: u64,
        accepting: bool,
    ) -> DispatchResult {
        let mut bucket = self.state.storage.storage_bucket(id)?;
        bucket.accepting_new_bags = accepting;
        self.state.storage.storage_bucket_by_id.insert(id, bucket);
        self.emit_storage(StorageEvent::StorageBucketStatusUpdated(id, accepting));
        Ok(())
    }

    pub(super) fn set_storage_bucket_voucher_limits(
        &mut self,
        id: u64,
        size_limit: u64,
        objects_limit: u64,
    ) -> DispatchResult {
        let mut bucket = self.state.storage.storage_bucket(id)?;
        self.check_voucher_maxima(size_limit, objects_limit)?;
        bucket.voucher.size_limit = size_limit;
        bucket.voucher.objects_limit = objects_limit;
        self.state.storage.storage_bucket_by_id.insert(id, bucket);
        self.emit_storage(StorageEvent::StorageBucketVoucherLimitsSet(
            id,
            size_limit,
            objects_limit,
        ));
        Ok(())
    }
}

/// Adds `objects` and `bytes` to a voucher's usage: an overflow is `ArithmeticError`, then the
/// object limit is checked before the size limit, as the pallet does.
pub(super) fn charge(v: &mut Voucher, objects: u64, bytes: u64) -> Result<(), StorageError> {
    let objects_used = v
        .objects_used
        .checked_add(objects)
        .ok_or(StorageError::ArithmeticError)?;
    if objects_used > v.objects_limit {
        return Err(StorageError::StorageBucketObjectNumberLimitReached);
    }
    let size_used = v
        .size_used
        .checked_add(bytes)
        .ok_or(StorageError::ArithmeticError)?;
    if size_used > v.size_limit {
        return Err(StorageError::StorageBucketObjectSizeLimitReached);
    }
    v.objects_used = objects_used;
    v.size_used = size_used;
    Ok(())
}
