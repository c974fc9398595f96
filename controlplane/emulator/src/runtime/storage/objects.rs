//! The `DataObjectStorage` trait: uploads, deletions, moves and dynamic
//! bags, with the vouchers, bonds and fee that go with them.

use std::collections::{BTreeMap, BTreeSet};

use hecaton_shared::{BagId, DynamicBagId};
use imbl::OrdMap;

use super::lead::charge;
use super::types::{
    Bag, DataObject, DataObjectCreationParameters, DynBagCreationParameters, DynamicBagType,
    RepayableBloatBond, StorageBucket, UploadParameters, Voucher,
};
use crate::account::AccountId;
use crate::runtime::error::{DispatchResult, StorageError};
use crate::runtime::event::StorageEvent;
use crate::runtime::Ctx;

/// What an upload adds: count and bytes.
fn totals(objects: &[DataObjectCreationParameters]) -> (u64, u64) {
    let bytes = objects
        .iter()
        .fold(0u64, |sum, o| sum.saturating_add(o.size));
    (objects.len() as u64, bytes)
}

/// A bucket's voucher after `+up` / `−down` objects and bytes, if within its limits.
fn net_voucher(v: Voucher, up: (u64, u64), down: (u64, u64)) -> Result<Voucher, StorageError> {
    let objects_used = v.objects_used.saturating_add(up.0).saturating_sub(down.0);
    let size_used = v.size_used.saturating_add(up.1).saturating_sub(down.1);
    if objects_used > v.objects_limit {
        return Err(StorageError::StorageBucketObjectNumberLimitReached);
    }
    if size_used > v.size_limit {
        return Err(StorageError::StorageBucketObjectSizeLimitReached);
    }
    Ok(Voucher {
        objects_used,
        size_used,
        ..v
    })
}

impl Ctx<'_> {
    fn check_expected_fee(&self, fee: u128) -> Result<(), StorageError> {
        if fee != self.state.storage.data_object_per_megabyte_fee {
            return Err(StorageError::DataSizeFeeChanged);
        }
        Ok(())
    }

    fn check_expected_bond(&self, bond: u128) -> Result<(), StorageError> {
        if bond != self.state.storage.data_object_state_bloat_bond_value {
            return Err(StorageError::DataObjectStateBloatBondChanged);
        }
        Ok(())
    }

    /// Bonds and fee for `n` objects of `bytes` in total, and whether `source` can pay them.
    fn check_funds(
        &self,
        source: &AccountId,
        n: u64,
        bytes: u64,
    ) -> Result<(u128, u128), StorageError> {
        let storage = &self.state.storage;
        let bonds = storage
            .data_object_state_bloat_bond_value
            .saturating_mul(u128::from(n));
        let fee = storage.data_size_fee(bytes);
        if !self.can_pay(source, bonds.saturating_add(fee)) {
            return Err(StorageError::InsufficientBalance);
        }
        Ok((bonds, fee))
    }

    /// Pays the bonds into the treasury and burns the fee; with no bond due, no fee either
    /// (§3.5 step 7).
    fn pay(&mut self, source: AccountId, bonds: u128, fee: u128) -> DispatchResult {
        if bonds == 0 {
            return Ok(());
        }
        self.transfer(source, AccountId::storage_treasury(), bonds)?;
        self.burn(source, fee)
    }

    /// Writes buckets and emits one `VoucherChanged` each, in the given order.
    fn write_storage_buckets(&mut self, buckets: Vec<(u64, StorageBucket)>) {
        for (id, bucket) in buckets {
            self.emit_storage(StorageEvent::VoucherChanged(id, bucket.voucher));
            self.state.storage.storage_bucket_by_id.insert(id, bucket);
        }
    }

    /// Inserts new objects under `bag_id` with consecutive ids; returns the ids.
    fn insert_objects(
        &mut self,
        objects: &mut OrdMap<u64, DataObject>,
        list: &[DataObjectCreationParameters],
    ) -> BTreeSet<u64> {
        let storage = &mut self.state.storage;
        let bond = storage.data_object_state_bloat_bond_value;
        let mut ids = BTreeSet::new();
        for params in list {
            let id = storage.next_data_object_id;
            storage.next_data_object_id += 1;
            objects.insert(
                id,
                DataObject {
                    accepted: false,
                    state_bloat_bond: RepayableBloatBond {
                        repayment_restricted_to: None,
                        amount: bond,
                    },
                    size: params.size,
                    ipfs_content_id: params.ipfs_content_id.clone(),
                },
            );
            ids.insert(id);
        }
        ids
    }

    /// Repays a removed object's bond from the treasury.
    fn repay(&mut self, object: &DataObject, fallback: AccountId) -> DispatchResult {
        let to = object
            .state_bloat_bond
            .repayment_restricted_to
            .unwrap_or(fallback);
        self.transfer(
            AccountId::storage_treasury(),
            to,
            object.state_bloat_bond.amount,
        )
    }

    fn store_objects(&mut self, bag_id: BagId, objects: OrdMap<u64, DataObject>) {
        let map = &mut self.state.storage.data_objects_by_id;
        if objects.is_empty() {
            map.remove(&bag_id);
        } else {
            map.insert(bag_id, objects);
        }
    }

    /// The common upload/delete engine (§3.5 "bag update"). Returns the new object ids.
    fn update_bag(
        &mut self,
        bag_id: BagId,
        uploads: &[DataObjectCreationParameters],
        source: AccountId,
        removals: &BTreeSet<u64>,
        repay_to: AccountId,
    ) -> DispatchResult<BTreeSet<u64>> {
        let mut bag = self.state.storage.bag(&bag_id)?;
        for object in uploads {
            self.check_object(object)?;
        }
        let mut objects = self.state.storage.objects_of(&bag_id);
        let mut removed = Vec::with_capacity(removals.len());
        let mut removed_bytes = 0u64;
        for id in removals {
            let object = objects.get(id).ok_or(StorageError::DataObjectDoesntExist)?;
            removed_bytes = removed_bytes.saturating_add(object.size);
            removed.push(object.clone());
        }
        let up = totals(uploads);
        let down = (removals.len() as u64, removed_bytes);
        let mut buckets = Vec::with_capacity(bag.stored_by.len());
        for id in &bag.stored_by {
            let mut bucket = self.state.storage.storage_bucket(*id)?;
            bucket.voucher = net_voucher(bucket.voucher, up, down)?;
            buckets.push((*id, bucket));
        }
        let (bonds, fee) = self.check_funds(&source, up.0, up.1)?;

        self.pay(source, bonds, fee)?;
        self.write_storage_buckets(buckets);
        for (id, object) in removals.iter().zip(&removed) {
            objects.remove(id);
            self.repay(object, repay_to)?;
        }
        let new_ids = self.insert_objects(&mut objects, uploads);
        self.store_objects(bag_id, objects);
        bag.objects_number = bag
            .objects_number
            .saturating_add(up.0)
            .saturating_sub(down.0);
        bag.objects_total_size = bag
            .objects_total_size
            .saturating_add(up.1)
            .saturating_sub(down.1);
        self.state.storage.bags.insert(bag_id, bag);
        Ok(new_ids)
    }

    pub(crate) fn upload_data_objects(
        &mut self,
        params: &UploadParameters,
    ) -> DispatchResult<BTreeSet<u64>> {
        if params.object_creation_list.is_empty() {
            return Err(StorageError::NoObjectsOnUpload.into());
        }
        self.check_expected_fee(params.expected_data_size_fee)?;
        self.check_expected_bond(params.expected_data_object_state_bloat_bond)?;
        let source = params.state_bloat_bond_source_account_id;
        let ids = self.update_bag(
            params.bag_id,
            &params.object_creation_list,
            source,
            &BTreeSet::new(),
            source,
        )?;
        let bond = self.state.storage.data_object_state_bloat_bond_value;
        self.emit_storage(StorageEvent::DataObjectsUploaded(
            ids.clone(),
            params.clone(),
            bond,
        ));
        Ok(ids)
    }

    pub(crate) fn upload_and_delete_data_objects(
        &mut self,
        params: &UploadParameters,
        to_remove: &BTreeSet<u64>,
    ) -> DispatchResult<BTreeSet<u64>> {
        if !params.object_creation_list.is_empty() {
            self.check_expected_fee(params.expected_data_size_fee)?;
            self.check_expected_bond(params.expected_data_object_state_bloat_bond)?;
        }
        let source = params.state_bloat_bond_source_account_id;
        let ids = self.update_bag(
            params.bag_id,
            &params.object_creation_list,
            source,
            to_remove,
            source,
        )?;
        self.emit_storage(StorageEvent::DataObjectsUpdated(
            params.clone(),
            ids.clone(),
            to_remove.clone(),
        ));
        Ok(ids)
    }

    pub(crate) fn delete_data_objects(
        &mut self,
        account: AccountId,
        bag_id: BagId,
        objects: &BTreeSet<u64>,
    ) -> DispatchResult {
        if objects.is_empty() {
            return Err(StorageError::DataObjectIdCollectionIsEmpty.into());
        }
        self.update_bag(bag_id, &[], account, objects, account)?;
        self.emit_storage(StorageEvent::DataObjectsDeleted(
            account,
            bag_id,
            objects.clone(),
        ));
        Ok(())
    }

    pub(crate) fn move_data_objects(
        &mut self,
        src: BagId,
        dest: BagId,
        ids: &BTreeSet<u64>,
    ) -> DispatchResult {
        let storage = &self.state.storage;
        let mut src_bag = storage.bag(&src)?;
        let mut dest_bag = storage.bag(&dest)?;
        if src == dest {
            return Err(StorageError::SourceAndDestinationBagsAreEqual.into());
        }
        if ids.is_empty() {
            return Err(StorageError::DataObjectIdCollectionIsEmpty.into());
        }
        let mut src_objects = storage.objects_of(&src);
        let mut moved = Vec::with_capacity(ids.len());
        let mut bytes = 0u64;
        for id in ids {
            let object = src_objects
                .get(id)
                .ok_or(StorageError::DataObjectDoesntExist)?;
            bytes = bytes.saturating_add(object.size);
            moved.push((*id, object.clone()));
        }
        let count = ids.len() as u64;
        let mut dest_buckets = Vec::with_capacity(dest_bag.stored_by.len());
        for id in &dest_bag.stored_by {
            let mut bucket = storage.storage_bucket(*id)?;
            charge(&mut bucket.voucher, count, bytes)?;
            dest_buckets.push((*id, bucket));
        }
        let mut src_buckets = Vec::with_capacity(src_bag.stored_by.len());
        for id in &src_bag.stored_by {
            let mut bucket = storage.storage_bucket(*id)?;
            bucket.voucher = Voucher {
                objects_used: bucket.voucher.objects_used.saturating_sub(count),
                size_used: bucket.voucher.size_used.saturating_sub(bytes),
                ..bucket.voucher
            };
            src_buckets.push((*id, bucket));
        }
        let mut dest_objects = storage.objects_of(&dest);
        for (id, object) in moved {
            src_objects.remove(&id);
            dest_objects.insert(id, object);
        }
        self.store_objects(src, src_objects);
        self.store_objects(dest, dest_objects);
        src_bag.objects_number = src_bag.objects_number.saturating_sub(count);
        src_bag.objects_total_size = src_bag.objects_total_size.saturating_sub(bytes);
        self.state.storage.bags.insert(src, src_bag);
        self.write_storage_buckets(src_buckets);
        // A bucket holding both bags: its source decrease is already written; add on top of it.
        let dest_buckets = dest_buckets
            .into_iter()
            .map(|(id, bucket)| {
                let current = self.state.storage.storage_bucket_by_id[&id].voucher;
                let voucher = Voucher {
                    objects_used: current.objects_used.saturating_add(count),
                    size_used: current.size_used.saturating_add(bytes),
                    ..bucket.voucher
                };
                (id, StorageBucket { voucher, ..bucket })
            })
            .collect();
        dest_bag.objects_number = dest_bag.objects_number.saturating_add(count);
        dest_bag.objects_total_size = dest_bag.objects_total_size.saturating_add(bytes);
        self.state.storage.bags.insert(dest, dest_bag);
        self.write_storage_buckets(dest_buckets);
        self.emit_storage(StorageEvent::DataObjectsMoved(src, dest, ids.clone()));
        Ok(())
    }

    pub(crate) fn create_dynamic_bag(
        &mut self,
        params: &DynBagCreationParameters,
    ) -> DispatchResult<BTreeSet<u64>> {
        let list = &params.object_creation_list;
        if !list.is_empty() {
            self.check_expected_bond(params.expected_data_object_state_bloat_bond)?;
            self.check_expected_fee(params.expected_data_size_fee)?;
        }
        let storage = &self.state.storage;
        let policy = storage.policy(self.constants, DynamicBagType::of(params.bag_id));
        if params.storage_buckets.len() != policy.number_of_storage_buckets as usize {
            return Err(StorageError::StorageBucketsNumberViolatesDynamicBagCreationPolicy.into());
        }
        for id in &params.storage_buckets {
            storage.storage_bucket(*id)?;
        }
        let mut per_family = BTreeMap::<u64, u32>::new();
        for id in &params.distribution_buckets {
            *per_family.entry(id.family).or_default() += 1;
        }
        if per_family != policy.families {
            return Err(StorageError::DistributionBucketsViolatesDynamicBagCreationPolicy.into());
        }
        for id in &params.distribution_buckets {
            storage.distribution_bucket(*id)?;
        }
        for object in list {
            self.check_object(object)?;
        }
        let bag_id = BagId::Dynamic(params.bag_id);
        if storage.bags.contains_key(&bag_id) {
            return Err(StorageError::DynamicBagExists.into());
        }
        if params.storage_buckets.len() > self.constants.max_storage_buckets_per_bag as usize {
            return Err(StorageError::StorageBucketPerBagLimitExceeded.into());
        }
        if params.distribution_buckets.len()
            > self.constants.max_distribution_buckets_per_bag as usize
        {
            return Err(StorageError::MaxDistributionBucketNumberPerBagLimitExceeded.into());
        }
        let (n, bytes) = totals(list);
        let mut storage_buckets = Vec::with_capacity(params.storage_buckets.len());
        for id in &params.storage_buckets {
            let mut bucket = storage.storage_bucket(*id)?;
            bucket.assigned_bags += 1;
            charge(&mut bucket.voucher, n, bytes)?;
            storage_buckets.push((*id, bucket));
        }
        let mut distribution_buckets = Vec::with_capacity(params.distribution_buckets.len());
        for id in &params.distribution_buckets {
            let mut bucket = storage.distribution_bucket(*id)?;
            bucket.assigned_bags += 1;
            distribution_buckets.push((*id, bucket));
        }
        let source = params.state_bloat_bond_source_account_id;
        let (bonds, fee) = self.check_funds(&source, n, bytes)?;

        self.pay(source, bonds, fee)?;
        self.write_storage_buckets(storage_buckets);
        for (id, bucket) in distribution_buckets {
            self.state
                .storage
                .distribution_bucket_by_family_id_by_id
                .insert(id, bucket);
        }
        let mut objects = OrdMap::new();
        let ids = self.insert_objects(&mut objects, list);
        self.store_objects(bag_id, objects);
        self.state.storage.bags.insert(
            bag_id,
            Bag {
                stored_by: params.storage_buckets.clone(),
                distributed_by: params.distribution_buckets.clone(),
                objects_number: n,
                objects_total_size: bytes,
            },
        );
        self.emit_storage(StorageEvent::DynamicBagCreated(params.clone(), ids.clone()));
        Ok(ids)
    }

    pub(crate) fn delete_dynamic_bag(
        &mut self,
        account: AccountId,
        id: DynamicBagId,
    ) -> DispatchResult {
        let bag_id = BagId::Dynamic(id);
        let storage = &self.state.storage;
        let bag = storage.bag(&bag_id)?;
        let objects = storage.objects_of(&bag_id);
        let mut storage_buckets = Vec::with_capacity(bag.stored_by.len());
        for bucket_id in &bag.stored_by {
            let mut bucket = storage.storage_bucket(*bucket_id)?;
            bucket.assigned_bags = bucket.assigned_bags.saturating_sub(1);
            bucket.voucher = net_voucher(
                bucket.voucher,
                (0, 0),
                (bag.objects_number, bag.objects_total_size),
            )?;
            storage_buckets.push((*bucket_id, bucket));
        }
        let mut distribution_buckets = Vec::with_capacity(bag.distributed_by.len());
        for bucket_id in &bag.distributed_by {
            let mut bucket = storage.distribution_bucket(*bucket_id)?;
            bucket.assigned_bags = bucket.assigned_bags.saturating_sub(1);
            distribution_buckets.push((*bucket_id, bucket));
        }
        self.write_storage_buckets(storage_buckets);
        for (bucket_id, bucket) in distribution_buckets {
            self.state
                .storage
                .distribution_bucket_by_family_id_by_id
                .insert(bucket_id, bucket);
        }
        for object in objects.values() {
            self.repay(object, account)?;
        }
        self.state.storage.data_objects_by_id.remove(&bag_id);
        self.state.storage.bags.remove(&bag_id);
        self.emit_storage(StorageEvent::DynamicBagDeleted(id));
        Ok(())
    }
}
