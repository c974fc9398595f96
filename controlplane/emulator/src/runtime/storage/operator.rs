//! Storage-operator calls.

use std::collections::BTreeSet;

use hecaton_shared::BagId;

use super::types::{Bytes, StorageBucket, StorageBucketOperatorStatus};
use crate::account::AccountId;
use crate::runtime::call::Origin;
use crate::runtime::error::{DispatchResult, StorageError};
use crate::runtime::event::StorageEvent;
use crate::runtime::working_group::Group;
use crate::runtime::{ensure_signed, Ctx};

impl Ctx<'_> {
    pub(super) fn accept_storage_bucket_invitation(
        &mut self,
        origin: Origin,
        worker_id: u64,
        id: u64,
        transactor: AccountId,
    ) -> DispatchResult {
        self.ensure_worker_signed(Group::Storage, origin, worker_id)?;
        let mut bucket = self.state.storage.storage_bucket(id)?;
        match bucket.operator_status {
            StorageBucketOperatorStatus::Missing => {
                return Err(StorageError::NoStorageBucketInvitation.into())
            }
            StorageBucketOperatorStatus::StorageWorker(..) => {
                return Err(StorageError::StorageProviderAlreadySet.into())
            }
            StorageBucketOperatorStatus::InvitedStorageWorker(invited) if invited != worker_id => {
                return Err(StorageError::DifferentStorageProviderInvited.into())
            }
            StorageBucketOperatorStatus::InvitedStorageWorker(_) => {}
        }
        bucket.operator_status = StorageBucketOperatorStatus::StorageWorker(worker_id, transactor);
        self.state.storage.storage_bucket_by_id.insert(id, bucket);
        self.emit_storage(StorageEvent::StorageBucketInvitationAccepted(
            id, worker_id, transactor,
        ));
        Ok(())
    }

    /// The checks shared by metadata and remarks: signed by the worker, who operates the bucket.
    fn ensure_bucket_operator(
        &self,
        origin: Origin,
        worker_id: u64,
        id: u64,
    ) -> DispatchResult<StorageBucket> {
        self.ensure_worker_signed(Group::Storage, origin, worker_id)?;
        let bucket = self.state.storage.storage_bucket(id)?;
        match bucket.operator_status {
            StorageBucketOperatorStatus::Missing => {
                Err(StorageError::StorageProviderMustBeSet.into())
            }
            StorageBucketOperatorStatus::StorageWorker(w, _) if w == worker_id => Ok(bucket),
            _ => Err(StorageError::InvalidStorageProvider.into()),
        }
    }

    pub(super) fn set_storage_operator_metadata(
        &mut self,
        origin: Origin,
        worker_id: u64,
        id: u64,
        metadata: &Bytes,
    ) -> DispatchResult {
        self.ensure_bucket_operator(origin, worker_id, id)?;
        self.state.metadata.apply_storage_operator(id, &metadata.0);
        self.emit_storage(StorageEvent::StorageOperatorMetadataSet(
            id,
            worker_id,
            metadata.clone(),
        ));
        Ok(())
    }

    pub(super) fn storage_operator_remark(
        &mut self,
        origin: Origin,
        worker_id: u64,
        id: u64,
        msg: &Bytes,
    ) -> DispatchResult {
        self.ensure_bucket_operator(origin, worker_id, id)?;
        self.emit_storage(StorageEvent::StorageOperatorRemarked(
            worker_id,
            id,
            msg.clone(),
        ));
        Ok(())
    }

    pub(super) fn accept_pending_data_objects(
        &mut self,
        origin: Origin,
        worker_id: u64,
        id: u64,
        bag_id: BagId,
        objects: &BTreeSet<u64>,
    ) -> DispatchResult {
        let signer = ensure_signed(origin)?;
        let storage = &self.state.storage;
        let bucket = storage.storage_bucket(id)?;
        match bucket.operator_status {
            StorageBucketOperatorStatus::Missing => {
                return Err(StorageError::StorageProviderMustBeSet.into())
            }
            StorageBucketOperatorStatus::InvitedStorageWorker(_) => {
                return Err(StorageError::InvalidStorageProvider.into())
            }
            StorageBucketOperatorStatus::StorageWorker(w, _) if w != worker_id => {
                return Err(StorageError::InvalidStorageProvider.into())
            }
            StorageBucketOperatorStatus::StorageWorker(_, transactor) if transactor != signer => {
                return Err(StorageError::InvalidTransactorAccount.into())
            }
            StorageBucketOperatorStatus::StorageWorker(..) => {}
        }
        let bag = storage.bag(&bag_id)?;
        if objects.is_empty() {
            return Err(StorageError::DataObjectIdParamsAreEmpty.into());
        }
        if !bag.stored_by.contains(&id) {
            return Err(StorageError::StorageBucketIsNotBoundToBag.into());
        }
        let mut in_bag = storage.objects_of(&bag_id);
        for object_id in objects {
            let object = in_bag
                .get_mut(object_id)
                .ok_or(StorageError::DataObjectDoesntExist)?;
            object.accepted = true;
        }
        self.state.storage.data_objects_by_id.insert(bag_id, in_bag);
        self.emit_storage(StorageEvent::PendingDataObjectsAccepted(
            id,
            worker_id,
            bag_id,
            objects.clone(),
        ));
        Ok(())
    }
}
