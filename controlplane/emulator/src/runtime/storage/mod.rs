//! The `Storage` pallet: its state and its calls, one file per
//! group of callers.

mod distribution;
mod lead;
mod objects;
mod operator;
pub use hecaton_vocabulary::storage_types as types;

use hecaton_shared::{BagId, DistributionBucketId};
use imbl::{OrdMap, OrdSet};
use serde::{Deserialize, Serialize};

use self::types::{
    Bag, Cid, DataObject, DataObjectCreationParameters, DistributionBucket,
    DistributionBucketFamily, DynamicBagCreationPolicy, DynamicBagType, StorageBucket,
};
use super::error::StorageError;
use super::Ctx;

/// The pallet's storage items, named as on chain.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StorageState {
    /// `UploadingBlocked`.
    pub uploading_blocked: bool,
    /// `Bags` (static bags appear once something touched them).
    pub bags: OrdMap<BagId, Bag>,
    /// `NextStorageBucketId`.
    pub next_storage_bucket_id: u64,
    /// `NextDataObjectId`.
    pub next_data_object_id: u64,
    /// `StorageBucketById`.
    pub storage_bucket_by_id: OrdMap<u64, StorageBucket>,
    /// `Blacklist`.
    pub blacklist: OrdSet<Cid>,
    /// `CurrentBlacklistSize`.
    pub current_blacklist_size: u64,
    /// `DataObjectPerMegabyteFee`.
    pub data_object_per_megabyte_fee: u128,
    /// `StorageBucketsPerBagLimit`.
    pub storage_buckets_per_bag_limit: u32,
    /// `VoucherMaxObjectsSizeLimit`.
    pub voucher_max_objects_size_limit: u64,
    /// `VoucherMaxObjectsNumberLimit`.
    pub voucher_max_objects_number_limit: u64,
    /// `DataObjectStateBloatBondValue`.
    pub data_object_state_bloat_bond_value: u128,
    /// `DynamicBagCreationPolicies` (absent: the constant fallback of §2).
    pub dynamic_bag_creation_policies: OrdMap<DynamicBagType, DynamicBagCreationPolicy>,
    /// `DataObjectsById`, grouped by bag.
    pub data_objects_by_id: OrdMap<BagId, OrdMap<u64, DataObject>>,
    /// `NextDistributionBucketFamilyId`.
    pub next_distribution_bucket_family_id: u64,
    /// `DistributionBucketFamilyById`.
    pub distribution_bucket_family_by_id: OrdMap<u64, DistributionBucketFamily>,
    /// `DistributionBucketByFamilyIdById`.
    pub distribution_bucket_by_family_id_by_id: OrdMap<DistributionBucketId, DistributionBucket>,
    /// `DistributionBucketFamilyNumber`.
    pub distribution_bucket_family_number: u64,
    /// `DistributionBucketsPerBagLimit`.
    pub distribution_buckets_per_bag_limit: u32,
}

impl StorageState {
    /// The objects stored under a bag, by id.
    pub fn objects_of(&self, bag_id: &BagId) -> OrdMap<u64, DataObject> {
        self.data_objects_by_id
            .get(bag_id)
            .cloned()
            .unwrap_or_default()
    }

    /// The dynamic bag creation policy, with the pallet's fallback when none is stored.
    pub fn policy(
        &self,
        constants: &super::Constants,
        bag_type: DynamicBagType,
    ) -> DynamicBagCreationPolicy {
        self.dynamic_bag_creation_policies
            .get(&bag_type)
            .cloned()
            .unwrap_or_else(|| DynamicBagCreationPolicy {
                number_of_storage_buckets: match bag_type {
                    DynamicBagType::Member => {
                        constants.default_member_dynamic_bag_number_of_storage_buckets
                    }
                    DynamicBagType::Channel => {
                        constants.default_channel_dynamic_bag_number_of_storage_buckets
                    }
                },
                families: Default::default(),
            })
    }

    /// `ensure_bag_exists`: dynamic bags must exist; a static bag always does.
    pub fn bag(&self, bag_id: &BagId) -> Result<Bag, StorageError> {
        match (self.bags.get(bag_id), bag_id) {
            (Some(bag), _) => Ok(bag.clone()),
            (None, BagId::Static(_)) => Ok(Bag::default()),
            (None, BagId::Dynamic(_)) => Err(StorageError::DynamicBagDoesntExist),
        }
    }

    /// `fee(total_bytes)`: the per-MiB fee times the started MiBs.
    pub fn data_size_fee(&self, total_bytes: u64) -> u128 {
        self.data_object_per_megabyte_fee
            .saturating_mul(u128::from(total_bytes.div_ceil(1_048_576)))
    }

    fn storage_bucket(&self, id: u64) -> Result<StorageBucket, StorageError> {
        self.storage_bucket_by_id
            .get(&id)
            .cloned()
            .ok_or(StorageError::StorageBucketDoesntExist)
    }

    fn distribution_bucket(
        &self,
        id: DistributionBucketId,
    ) -> Result<DistributionBucket, StorageError> {
        self.distribution_bucket_by_family_id_by_id
            .get(&id)
            .cloned()
            .ok_or(StorageError::DistributionBucketDoesntExist)
    }

    fn ensure_family(&self, family_id: u64) -> Result<DistributionBucketFamily, StorageError> {
        self.distribution_bucket_family_by_id
            .get(&family_id)
            .copied()
            .ok_or(StorageError::DistributionBucketFamilyDoesntExist)
    }
}

impl Ctx<'_> {
    /// The per-object upload checks (§3.5 engine step 2).
    fn check_object(&self, object: &DataObjectCreationParameters) -> Result<(), StorageError> {
        let storage = &self.state.storage;
        if storage.uploading_blocked {
            return Err(StorageError::UploadingBlocked);
        }
        if object.size > self.constants.max_data_object_size {
            return Err(StorageError::MaxDataObjectSizeExceeded);
        }
        if object.size == 0 {
            return Err(StorageError::ZeroObjectSize);
        }
        if object.ipfs_content_id.0.is_empty() {
            return Err(StorageError::EmptyContentId);
        }
        if object.ipfs_content_id.0.len() != hecaton_shared::CONTENT_ID_LEN {
            return Err(StorageError::InvalidCidLength);
        }
        if storage.blacklist.contains(&object.ipfs_content_id) {
            return Err(StorageError::DataObjectBlacklisted);
        }
        Ok(())
    }
}

impl Ctx<'_> {
    /// Dispatches an extrinsic of the pallet: the origin check, then the call's own checks.
    pub(crate) fn dispatch_storage(
        &mut self,
        origin: super::Origin,
        call: &super::call::StorageCall,
    ) -> super::DispatchResult {
        use super::call::StorageCall as C;
        use super::working_group::Group;

        match call {
            C::AcceptStorageBucketInvitation { .. }
            | C::SetStorageOperatorMetadata { .. }
            | C::AcceptPendingDataObjects { .. }
            | C::StorageOperatorRemark { .. }
            | C::AcceptDistributionBucketInvitation { .. }
            | C::SetDistributionOperatorMetadata { .. }
            | C::DistributionOperatorRemark { .. } => {}
            C::CreateDistributionBucketFamily
            | C::DeleteDistributionBucketFamily { .. }
            | C::CreateDistributionBucket { .. }
            | C::UpdateDistributionBucketStatus { .. }
            | C::DeleteDistributionBucket { .. }
            | C::UpdateDistributionBucketsForBag { .. }
            | C::UpdateDistributionBucketsPerBagLimit { .. }
            | C::UpdateDistributionBucketMode { .. }
            | C::UpdateFamiliesInDynamicBagCreationPolicy { .. }
            | C::InviteDistributionBucketOperator { .. }
            | C::CancelDistributionBucketOperatorInvite { .. }
            | C::RemoveDistributionBucketOperator { .. }
            | C::SetDistributionBucketFamilyMetadata { .. } => {
                self.ensure_lead(Group::Distribution, origin)?
            }
            _ => self.ensure_lead(Group::Storage, origin)?,
        }
        match call {
            C::DeleteStorageBucket { storage_bucket_id } => {
                self.delete_storage_bucket(*storage_bucket_id)
            }
            C::UpdateUploadingBlockedStatus { new_status } => {
                self.state.storage.uploading_blocked = *new_status;
                self.emit_storage(super::event::StorageEvent::UploadingBlockStatusUpdated(
                    *new_status,
                ));
                Ok(())
            }
            C::UpdateDataSizeFee { new_data_size_fee } => {
                self.state.storage.data_object_per_megabyte_fee = *new_data_size_fee;
                self.emit_storage(super::event::StorageEvent::DataObjectPerMegabyteFeeUpdated(
                    *new_data_size_fee,
                ));
                Ok(())
            }
            C::UpdateStorageBucketsPerBagLimit { new_limit } => {
                self.update_storage_buckets_per_bag_limit(*new_limit)
            }
            C::UpdateStorageBucketsVoucherMaxLimits {
                new_objects_size,
                new_objects_number,
            } => {
                self.state.storage.voucher_max_objects_size_limit = *new_objects_size;
                self.state.storage.voucher_max_objects_number_limit = *new_objects_number;
                self.emit_storage(
                    super::event::StorageEvent::StorageBucketsVoucherMaxLimitsUpdated(
                        *new_objects_size,
                        *new_objects_number,
                    ),
                );
                Ok(())
            }
            C::UpdateDataObjectStateBloatBond { state_bloat_bond } => {
                self.state.storage.data_object_state_bloat_bond_value = *state_bloat_bond;
                self.emit_storage(
                    super::event::StorageEvent::DataObjectStateBloatBondValueUpdated(
                        *state_bloat_bond,
                    ),
                );
                Ok(())
            }
            C::UpdateNumberOfStorageBucketsInDynamicBagCreationPolicy {
                dynamic_bag_type,
                number_of_storage_buckets,
            } => self.update_number_in_policy(*dynamic_bag_type, *number_of_storage_buckets),
            C::UpdateBlacklist {
                remove_hashes,
                add_hashes,
            } => self.update_blacklist(remove_hashes, add_hashes),
            C::CreateStorageBucket {
                invite_worker,
                accepting_new_bags,
                size_limit,
                objects_limit,
            } => self.create_storage_bucket(
                *invite_worker,
                *accepting_new_bags,
                *size_limit,
                *objects_limit,
            ),
            C::UpdateStorageBucketsForBag {
                bag_id,
                add_buckets,
                remove_buckets,
            } => self.update_storage_buckets_for_bag(*bag_id, add_buckets, remove_buckets),
            C::CancelStorageBucketOperatorInvite { storage_bucket_id } => {
                self.cancel_storage_bucket_operator_invite(*storage_bucket_id)
            }
            C::InviteStorageBucketOperator {
                storage_bucket_id,
                operator_id,
            } => self.invite_storage_bucket_operator(*storage_bucket_id, *operator_id),
            C::RemoveStorageBucketOperator { storage_bucket_id } => {
                self.remove_storage_bucket_operator(*storage_bucket_id)
            }
            C::UpdateStorageBucketStatus {
                storage_bucket_id,
                accepting_new_bags,
            } => self.update_storage_bucket_status(*storage_bucket_id, *accepting_new_bags),
            C::SetStorageBucketVoucherLimits {
                storage_bucket_id,
                new_objects_size_limit,
                new_objects_number_limit,
            } => self.set_storage_bucket_voucher_limits(
                *storage_bucket_id,
                *new_objects_size_limit,
                *new_objects_number_limit,
            ),
            C::AcceptStorageBucketInvitation {
                worker_id,
                storage_bucket_id,
                transactor_account_id,
            } => self.accept_storage_bucket_invitation(
                origin,
                *worker_id,
                *storage_bucket_id,
                *transactor_account_id,
            ),
            C::SetStorageOperatorMetadata {
                worker_id,
                storage_bucket_id,
                metadata,
            } => {
                self.set_storage_operator_metadata(origin, *worker_id, *storage_bucket_id, metadata)
            }
            C::AcceptPendingDataObjects {
                worker_id,
                storage_bucket_id,
                bag_id,
                data_objects,
            } => self.accept_pending_data_objects(
                origin,
                *worker_id,
                *storage_bucket_id,
                *bag_id,
                data_objects,
            ),
            C::CreateDistributionBucketFamily => self.create_distribution_bucket_family(),
            C::DeleteDistributionBucketFamily { family_id } => {
                self.delete_distribution_bucket_family(*family_id)
            }
            C::CreateDistributionBucket {
                family_id,
                accepting_new_bags,
            } => self.create_distribution_bucket(*family_id, *accepting_new_bags),
            C::UpdateDistributionBucketStatus {
                bucket_id,
                accepting_new_bags,
            } => self.update_distribution_bucket_status(*bucket_id, *accepting_new_bags),
            C::DeleteDistributionBucket { bucket_id } => {
                self.delete_distribution_bucket(*bucket_id)
            }
            C::UpdateDistributionBucketsForBag {
                bag_id,
                family_id,
                add_buckets_indices,
                remove_buckets_indices,
            } => self.update_distribution_buckets_for_bag(
                *bag_id,
                *family_id,
                add_buckets_indices,
                remove_buckets_indices,
            ),
            C::UpdateDistributionBucketsPerBagLimit { new_limit } => {
                self.update_distribution_buckets_per_bag_limit(*new_limit)
            }
            C::UpdateDistributionBucketMode {
                bucket_id,
                distributing,
            } => self.update_distribution_bucket_mode(*bucket_id, *distributing),
            C::UpdateFamiliesInDynamicBagCreationPolicy {
                dynamic_bag_type,
                families,
            } => self.update_families_in_policy(*dynamic_bag_type, families),
            C::InviteDistributionBucketOperator {
                bucket_id,
                operator_worker_id,
            } => self.invite_distribution_bucket_operator(*bucket_id, *operator_worker_id),
            C::CancelDistributionBucketOperatorInvite {
                bucket_id,
                operator_worker_id,
            } => self.cancel_distribution_bucket_operator_invite(*bucket_id, *operator_worker_id),
            C::RemoveDistributionBucketOperator {
                bucket_id,
                operator_worker_id,
            } => self.remove_distribution_bucket_operator(*bucket_id, *operator_worker_id),
            C::SetDistributionBucketFamilyMetadata {
                family_id,
                metadata,
            } => self.set_distribution_bucket_family_metadata(*family_id, metadata),
            C::AcceptDistributionBucketInvitation {
                worker_id,
                bucket_id,
            } => self.accept_distribution_bucket_invitation(origin, *worker_id, *bucket_id),
            C::SetDistributionOperatorMetadata {
                worker_id,
                bucket_id,
                metadata,
            } => self.set_distribution_operator_metadata(origin, *worker_id, *bucket_id, metadata),
            C::StorageOperatorRemark {
                worker_id,
                storage_bucket_id,
                msg,
            } => self.storage_operator_remark(origin, *worker_id, *storage_bucket_id, msg),
            C::DistributionOperatorRemark {
                worker_id,
                distribution_bucket_id,
                msg,
            } => {
                self.distribution_operator_remark(origin, *worker_id, *distribution_bucket_id, msg)
            }
        }
    }

    /// Dispatches a trait method (Root only; checked by the caller).
    pub(crate) fn dispatch_trait(
        &mut self,
        call: &super::call::TraitCall,
    ) -> super::DispatchResult {
        use super::call::TraitCall as T;
        match call {
            T::UploadDataObjects { params } => self.upload_data_objects(params).map(drop),
            T::UploadAndDeleteDataObjects {
                params,
                objects_to_remove,
            } => self
                .upload_and_delete_data_objects(params, objects_to_remove)
                .map(drop),
            T::DeleteDataObjects {
                state_bloat_bond_account_id,
                bag_id,
                objects,
            } => self.delete_data_objects(*state_bloat_bond_account_id, *bag_id, objects),
            T::MoveDataObjects {
                src_bag_id,
                dest_bag_id,
                objects,
            } => self.move_data_objects(*src_bag_id, *dest_bag_id, objects),
            T::CreateDynamicBag { params } => self.create_dynamic_bag(params).map(drop),
            T::DeleteDynamicBag { account_id, bag_id } => {
                self.delete_dynamic_bag(*account_id, *bag_id)
            }
        }
    }
}
