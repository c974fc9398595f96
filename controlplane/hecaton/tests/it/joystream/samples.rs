//! One value of every `Storage` event and call, for the codec tests: each field distinct so that
//! a swapped pair of fields would show.

use std::collections::{BTreeMap, BTreeSet};

use hecaton_controlplane::account::AccountId;
use hecaton_emulator::runtime::call::StorageCall;
use hecaton_emulator::runtime::event::StorageEvent;
use hecaton_emulator::runtime::storage::types::{
    Bytes, Cid, DataObjectCreationParameters, DynBagCreationParameters, DynamicBagType,
    UploadParameters, Voucher,
};
use hecaton_shared::{BagId, DistributionBucketId, DynamicBagId, StaticBagId, WorkingGroup};

pub fn account(n: u8) -> AccountId {
    AccountId([n; 32])
}

pub fn bag() -> BagId {
    BagId::Dynamic(DynamicBagId::Channel(7))
}

pub fn wg_bag() -> BagId {
    BagId::Static(StaticBagId::WorkingGroup(WorkingGroup::Distribution))
}

pub fn dist(family: u64, index: u64) -> DistributionBucketId {
    DistributionBucketId { family, index }
}

fn set(ids: &[u64]) -> BTreeSet<u64> {
    ids.iter().copied().collect()
}

pub fn cid(text: &str) -> Cid {
    Cid(text.as_bytes().to_vec())
}

pub fn upload() -> UploadParameters {
    UploadParameters {
        bag_id: bag(),
        object_creation_list: vec![
            DataObjectCreationParameters {
                size: 1234,
                ipfs_content_id: cid("gW9xNSjUm5uGcbVAZhFWfqUzRJoQXuhhtLGsiRWaSr1pmT"),
            },
            DataObjectCreationParameters {
                size: 99,
                ipfs_content_id: cid("gWAsmGPXcJuQQ8KAfQbDkQgXkHzhT1cBcS9BquUaZhokqG"),
            },
        ],
        state_bloat_bond_source_account_id: account(9),
        expected_data_size_fee: 11,
        expected_data_object_state_bloat_bond: 12,
    }
}

/// Every `Storage` event, once.
pub fn events() -> Vec<StorageEvent> {
    use StorageEvent as E;
    let dyn_bag = DynBagCreationParameters {
        bag_id: DynamicBagId::Member(3),
        object_creation_list: upload().object_creation_list,
        state_bloat_bond_source_account_id: account(4),
        expected_data_size_fee: 5,
        expected_data_object_state_bloat_bond: 6,
        storage_buckets: set(&[1, 2]),
        distribution_buckets: [dist(0, 1), dist(2, 3)].into_iter().collect(),
    };
    vec![
        E::StorageBucketCreated(1, Some(2), true, 3, 4),
        E::StorageBucketInvitationAccepted(1, 2, account(3)),
        E::StorageBucketsUpdatedForBag(bag(), set(&[1, 2]), set(&[3])),
        E::DataObjectsUploaded(set(&[10, 11]), upload(), 77),
        E::StorageOperatorMetadataSet(1, 2, Bytes(b"\x0a\x04http".to_vec())),
        E::StorageBucketVoucherLimitsSet(1, 2, 3),
        E::PendingDataObjectsAccepted(1, 2, bag(), set(&[10, 11])),
        E::StorageBucketInvitationCancelled(4),
        E::StorageBucketOperatorInvited(4, 5),
        E::StorageBucketOperatorRemoved(6),
        E::UploadingBlockStatusUpdated(true),
        E::DataObjectPerMegabyteFeeUpdated(1_000_000_000_000),
        E::StorageBucketsPerBagLimitUpdated(9),
        E::StorageBucketsVoucherMaxLimitsUpdated(100, 200),
        E::DataObjectsMoved(bag(), wg_bag(), set(&[12])),
        E::DataObjectsDeleted(account(5), bag(), set(&[13, 14])),
        E::StorageBucketStatusUpdated(3, false),
        E::UpdateBlacklist(
            [cid("gWremove")].into_iter().collect(),
            [cid("gWadd1"), cid("gWadd2")].into_iter().collect(),
        ),
        E::DynamicBagDeleted(DynamicBagId::Channel(8)),
        E::DynamicBagCreated(dyn_bag, set(&[20, 21])),
        E::VoucherChanged(
            2,
            Voucher {
                size_limit: 1,
                objects_limit: 2,
                size_used: 3,
                objects_used: 4,
            },
        ),
        E::StorageBucketDeleted(5),
        E::NumberOfStorageBucketsInDynamicBagCreationPolicyUpdated(DynamicBagType::Channel, 5),
        E::DistributionBucketFamilyCreated(1),
        E::DistributionBucketFamilyDeleted(2),
        E::DistributionBucketCreated(1, true, dist(1, 4)),
        E::DistributionBucketStatusUpdated(dist(1, 4), false),
        E::DistributionBucketDeleted(dist(1, 5)),
        E::DistributionBucketsUpdatedForBag(bag(), 1, set(&[0, 2]), set(&[3])),
        E::DistributionBucketsPerBagLimitUpdated(7),
        E::DistributionBucketModeUpdated(dist(2, 1), true),
        E::FamiliesInDynamicBagCreationPolicyUpdated(
            DynamicBagType::Member,
            BTreeMap::from([(0, 1), (3, 2)]),
        ),
        E::DistributionBucketOperatorInvited(dist(0, 1), 8),
        E::DistributionBucketInvitationCancelled(dist(0, 1), 9),
        E::DistributionBucketInvitationAccepted(10, dist(0, 2)),
        E::DistributionBucketMetadataSet(11, dist(0, 3), Bytes(b"meta".to_vec())),
        E::DistributionBucketOperatorRemoved(dist(0, 4), 12),
        E::DistributionBucketFamilyMetadataSet(3, Bytes(b"family".to_vec())),
        E::DataObjectStateBloatBondValueUpdated(42),
        E::DataObjectsUpdated(upload(), set(&[30]), set(&[31, 32])),
        E::StorageOperatorRemarked(1, 2, Bytes(b"hello".to_vec())),
        E::DistributionOperatorRemarked(3, dist(4, 5), Bytes(b"hi".to_vec())),
    ]
}

/// Every `Storage` call, once.
pub fn calls() -> Vec<StorageCall> {
    use StorageCall as C;
    vec![
        C::DeleteStorageBucket {
            storage_bucket_id: 1,
        },
        C::UpdateUploadingBlockedStatus { new_status: true },
        C::UpdateDataSizeFee {
            new_data_size_fee: 5,
        },
        C::UpdateStorageBucketsPerBagLimit { new_limit: 6 },
        C::UpdateStorageBucketsVoucherMaxLimits {
            new_objects_size: 7,
            new_objects_number: 8,
        },
        C::UpdateDataObjectStateBloatBond {
            state_bloat_bond: 9,
        },
        C::UpdateNumberOfStorageBucketsInDynamicBagCreationPolicy {
            dynamic_bag_type: DynamicBagType::Member,
            number_of_storage_buckets: 3,
        },
        C::UpdateBlacklist {
            remove_hashes: [cid("gWa")].into_iter().collect(),
            add_hashes: [cid("gWb")].into_iter().collect(),
        },
        C::CreateStorageBucket {
            invite_worker: Some(4),
            accepting_new_bags: true,
            size_limit: 10,
            objects_limit: 11,
        },
        C::UpdateStorageBucketsForBag {
            bag_id: bag(),
            add_buckets: set(&[1]),
            remove_buckets: set(&[2]),
        },
        C::CancelStorageBucketOperatorInvite {
            storage_bucket_id: 3,
        },
        C::InviteStorageBucketOperator {
            storage_bucket_id: 4,
            operator_id: 5,
        },
        C::RemoveStorageBucketOperator {
            storage_bucket_id: 6,
        },
        C::UpdateStorageBucketStatus {
            storage_bucket_id: 7,
            accepting_new_bags: false,
        },
        C::SetStorageBucketVoucherLimits {
            storage_bucket_id: 8,
            new_objects_size_limit: 9,
            new_objects_number_limit: 10,
        },
        C::AcceptStorageBucketInvitation {
            worker_id: 11,
            storage_bucket_id: 12,
            transactor_account_id: account(13),
        },
        C::SetStorageOperatorMetadata {
            worker_id: 14,
            storage_bucket_id: 15,
            metadata: Bytes(b"\x0a\x03url".to_vec()),
        },
        C::AcceptPendingDataObjects {
            worker_id: 16,
            storage_bucket_id: 17,
            bag_id: bag(),
            data_objects: set(&[18, 19]),
        },
        C::CreateDistributionBucketFamily,
        C::DeleteDistributionBucketFamily { family_id: 20 },
        C::CreateDistributionBucket {
            family_id: 21,
            accepting_new_bags: true,
        },
        C::UpdateDistributionBucketStatus {
            bucket_id: dist(22, 23),
            accepting_new_bags: true,
        },
        C::DeleteDistributionBucket {
            bucket_id: dist(24, 25),
        },
        C::UpdateDistributionBucketsForBag {
            bag_id: wg_bag(),
            family_id: 26,
            add_buckets_indices: set(&[27]),
            remove_buckets_indices: set(&[28]),
        },
        C::UpdateDistributionBucketsPerBagLimit { new_limit: 29 },
        C::UpdateDistributionBucketMode {
            bucket_id: dist(30, 31),
            distributing: false,
        },
        C::UpdateFamiliesInDynamicBagCreationPolicy {
            dynamic_bag_type: DynamicBagType::Channel,
            families: BTreeMap::from([(32, 33)]),
        },
        C::InviteDistributionBucketOperator {
            bucket_id: dist(34, 35),
            operator_worker_id: 36,
        },
        C::CancelDistributionBucketOperatorInvite {
            bucket_id: dist(37, 38),
            operator_worker_id: 39,
        },
        C::RemoveDistributionBucketOperator {
            bucket_id: dist(40, 41),
            operator_worker_id: 42,
        },
        C::SetDistributionBucketFamilyMetadata {
            family_id: 43,
            metadata: Bytes(b"fam".to_vec()),
        },
        C::AcceptDistributionBucketInvitation {
            worker_id: 44,
            bucket_id: dist(45, 46),
        },
        C::SetDistributionOperatorMetadata {
            worker_id: 47,
            bucket_id: dist(48, 49),
            metadata: Bytes(b"op".to_vec()),
        },
        C::StorageOperatorRemark {
            worker_id: 50,
            storage_bucket_id: 51,
            msg: Bytes(b"r".to_vec()),
        },
        C::DistributionOperatorRemark {
            worker_id: 52,
            distribution_bucket_id: dist(53, 54),
            msg: Bytes(b"s".to_vec()),
        },
    ]
}
