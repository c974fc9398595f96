//! Storage-lead and storage-operator calls (§3.1, §3.2): success and each error, in order.

use std::collections::BTreeSet;

use super::*;
use crate::runtime::call::StorageCall as C;
use crate::runtime::storage::types::{Bytes, DynamicBagType, StorageBucketOperatorStatus};

fn empty_bucket(net: &mut Net) {
    // Bucket 2: no operator, no bags, accepting, room for 10 objects / 1000 bytes.
    net.ok(
        storage_lead(),
        storage(C::CreateStorageBucket {
            invite_worker: None,
            accepting_new_bags: true,
            size_limit: 1000,
            objects_limit: 10,
        }),
    );
}

fn hire_third_worker(net: &mut Net) {
    use crate::runtime::call::WorkingGroupCall;
    net.ok(
        storage_lead(),
        Call::StorageWorkingGroup(WorkingGroupCall::HireWorker {
            role_account: AccountId::dev("//Third"),
        }),
    );
}

#[test]
fn storage_lead_calls() {
    run_table(&[
        Case {
            name: "origin: unsigned",
            setup: nothing,
            origin: || Origin::None,
            call: |_| storage(C::UpdateUploadingBlockedStatus { new_status: true }),
            expect: Some("BadOrigin"),
        },
        Case {
            name: "origin: not the lead",
            setup: nothing,
            origin: stranger,
            call: |_| storage(C::UpdateUploadingBlockedStatus { new_status: true }),
            expect: Some("IsNotLeadAccount"),
        },
        Case {
            name: "origin: distribution lead for a storage call",
            setup: nothing,
            origin: distribution_lead,
            call: |_| {
                storage(C::UpdateDataSizeFee {
                    new_data_size_fee: 1,
                })
            },
            expect: Some("IsNotLeadAccount"),
        },
        Case {
            name: "origin: no lead",
            setup: |n| {
                n.state.storage_working_group.current_lead = None;
            },
            origin: storage_lead,
            call: |_| {
                storage(C::UpdateDataSizeFee {
                    new_data_size_fee: 1,
                })
            },
            expect: Some("CurrentLeadNotSet"),
        },
        Case {
            name: "delete bucket: ok",
            setup: empty_bucket,
            origin: storage_lead,
            call: |_| {
                storage(C::DeleteStorageBucket {
                    storage_bucket_id: 2,
                })
            },
            expect: None,
        },
        Case {
            name: "delete bucket: missing",
            setup: nothing,
            origin: storage_lead,
            call: |_| {
                storage(C::DeleteStorageBucket {
                    storage_bucket_id: 9,
                })
            },
            expect: Some("StorageBucketDoesntExist"),
        },
        Case {
            name: "delete bucket: objects",
            setup: |n| {
                n.upload(council(), &[10]);
            },
            origin: storage_lead,
            call: |_| {
                storage(C::DeleteStorageBucket {
                    storage_bucket_id: 0,
                })
            },
            expect: Some("CannotDeleteNonEmptyStorageBucket"),
        },
        Case {
            name: "delete bucket: bags",
            setup: nothing,
            origin: storage_lead,
            call: |_| {
                storage(C::DeleteStorageBucket {
                    storage_bucket_id: 0,
                })
            },
            expect: Some("StorageBucketIsBoundToBag"),
        },
        Case {
            name: "uploading blocked: ok",
            setup: nothing,
            origin: storage_lead,
            call: |_| storage(C::UpdateUploadingBlockedStatus { new_status: true }),
            expect: None,
        },
        Case {
            name: "data size fee: ok",
            setup: nothing,
            origin: storage_lead,
            call: |_| {
                storage(C::UpdateDataSizeFee {
                    new_data_size_fee: 7,
                })
            },
            expect: None,
        },
        Case {
            name: "per-bag limit: ok",
            setup: nothing,
            origin: storage_lead,
            call: |_| storage(C::UpdateStorageBucketsPerBagLimit { new_limit: 13 }),
            expect: None,
        },
        Case {
            name: "per-bag limit: too low",
            setup: nothing,
            origin: storage_lead,
            call: |_| storage(C::UpdateStorageBucketsPerBagLimit { new_limit: 0 }),
            expect: Some("StorageBucketsPerBagLimitTooLow"),
        },
        Case {
            name: "per-bag limit: too high",
            setup: nothing,
            origin: storage_lead,
            call: |_| storage(C::UpdateStorageBucketsPerBagLimit { new_limit: 14 }),
            expect: Some("StorageBucketsPerBagLimitTooHigh"),
        },
        Case {
            name: "voucher maxima: ok, no checks",
            setup: nothing,
            origin: storage_lead,
            call: |_| {
                storage(C::UpdateStorageBucketsVoucherMaxLimits {
                    new_objects_size: 0,
                    new_objects_number: 0,
                })
            },
            expect: None,
        },
        Case {
            name: "bloat bond: ok",
            setup: nothing,
            origin: storage_lead,
            call: |_| {
                storage(C::UpdateDataObjectStateBloatBond {
                    state_bloat_bond: 0,
                })
            },
            expect: None,
        },
        Case {
            name: "policy number: ok",
            setup: nothing,
            origin: storage_lead,
            call: |_| {
                storage(C::UpdateNumberOfStorageBucketsInDynamicBagCreationPolicy {
                    dynamic_bag_type: DynamicBagType::Member,
                    number_of_storage_buckets: 13,
                })
            },
            expect: None,
        },
        Case {
            name: "policy number: outside",
            setup: nothing,
            origin: storage_lead,
            call: |_| {
                storage(C::UpdateNumberOfStorageBucketsInDynamicBagCreationPolicy {
                    dynamic_bag_type: DynamicBagType::Member,
                    number_of_storage_buckets: 14,
                })
            },
            expect: Some("NumberOfStorageBucketsOutsideOfAllowedContraints"),
        },
        Case {
            name: "blacklist: ok",
            setup: nothing,
            origin: storage_lead,
            call: |_| {
                storage(C::UpdateBlacklist {
                    remove_hashes: BTreeSet::new(),
                    add_hashes: BTreeSet::from([cid(1)]),
                })
            },
            expect: None,
        },
        Case {
            name: "blacklist: short cid in removals",
            setup: nothing,
            origin: storage_lead,
            call: |_| {
                storage(C::UpdateBlacklist {
                    remove_hashes: BTreeSet::from([Cid(b"short".to_vec())]),
                    add_hashes: BTreeSet::new(),
                })
            },
            expect: Some("InvalidCidLength"),
        },
        Case {
            name: "blacklist: over the size limit",
            setup: |n| {
                n.state.storage.current_blacklist_size = 1000;
            },
            origin: storage_lead,
            call: |_| {
                storage(C::UpdateBlacklist {
                    remove_hashes: BTreeSet::new(),
                    add_hashes: BTreeSet::from([cid(1)]),
                })
            },
            expect: Some("BlacklistSizeLimitExceeded"),
        },
        Case {
            name: "create bucket: ok with invitation",
            setup: nothing,
            origin: storage_lead,
            call: |_| {
                storage(C::CreateStorageBucket {
                    invite_worker: Some(1),
                    accepting_new_bags: false,
                    size_limit: 0,
                    objects_limit: 0,
                })
            },
            expect: None,
        },
        Case {
            name: "create bucket: size over maximum",
            setup: nothing,
            origin: storage_lead,
            call: |_| {
                storage(C::CreateStorageBucket {
                    invite_worker: None,
                    accepting_new_bags: true,
                    size_limit: u64::MAX,
                    objects_limit: 0,
                })
            },
            expect: Some("VoucherMaxObjectSizeLimitExceeded"),
        },
        Case {
            name: "create bucket: number over maximum",
            setup: nothing,
            origin: storage_lead,
            call: |_| {
                storage(C::CreateStorageBucket {
                    invite_worker: None,
                    accepting_new_bags: true,
                    size_limit: 0,
                    objects_limit: u64::MAX,
                })
            },
            expect: Some("VoucherMaxObjectNumberLimitExceeded"),
        },
        Case {
            name: "create bucket: unknown worker",
            setup: nothing,
            origin: storage_lead,
            call: |_| {
                storage(C::CreateStorageBucket {
                    invite_worker: Some(77),
                    accepting_new_bags: true,
                    size_limit: 0,
                    objects_limit: 0,
                })
            },
            expect: Some("StorageProviderOperatorDoesntExist"),
        },
        Case {
            name: "bag buckets: ok",
            setup: empty_bucket,
            origin: storage_lead,
            call: |_| {
                storage(C::UpdateStorageBucketsForBag {
                    bag_id: council(),
                    add_buckets: BTreeSet::from([2]),
                    remove_buckets: BTreeSet::from([0]),
                })
            },
            expect: None,
        },
        Case {
            name: "bag buckets: missing dynamic bag",
            setup: nothing,
            origin: storage_lead,
            call: |_| {
                storage(C::UpdateStorageBucketsForBag {
                    bag_id: channel_bag(9),
                    add_buckets: BTreeSet::from([0]),
                    remove_buckets: BTreeSet::new(),
                })
            },
            expect: Some("DynamicBagDoesntExist"),
        },
        Case {
            name: "bag buckets: both empty",
            setup: nothing,
            origin: storage_lead,
            call: |_| {
                storage(C::UpdateStorageBucketsForBag {
                    bag_id: council(),
                    add_buckets: BTreeSet::new(),
                    remove_buckets: BTreeSet::new(),
                })
            },
            expect: Some("StorageBucketIdCollectionsAreEmpty"),
        },
        Case {
            name: "bag buckets: over the per-bag limit",
            setup: empty_bucket,
            origin: storage_lead,
            call: |_| {
                storage(C::UpdateStorageBucketsForBag {
                    bag_id: council(),
                    add_buckets: BTreeSet::from([2]),
                    remove_buckets: BTreeSet::new(),
                })
            },
            expect: Some("StorageBucketPerBagLimitExceeded"),
        },
        Case {
            name: "bag buckets: removed bucket missing",
            setup: nothing,
            origin: storage_lead,
            call: |_| {
                storage(C::UpdateStorageBucketsForBag {
                    bag_id: council(),
                    add_buckets: BTreeSet::new(),
                    remove_buckets: BTreeSet::from([9]),
                })
            },
            expect: Some("StorageBucketDoesntExist"),
        },
        Case {
            name: "bag buckets: removed bucket not bound",
            setup: |n| {
                empty_bucket(n);
            },
            origin: storage_lead,
            call: |_| {
                storage(C::UpdateStorageBucketsForBag {
                    bag_id: council(),
                    add_buckets: BTreeSet::new(),
                    remove_buckets: BTreeSet::from([2]),
                })
            },
            expect: Some("StorageBucketIsNotBoundToBag"),
        },
        Case {
            name: "bag buckets: added bucket missing",
            setup: nothing,
            origin: storage_lead,
            call: |_| {
                storage(C::UpdateStorageBucketsForBag {
                    bag_id: council(),
                    add_buckets: BTreeSet::from([9]),
                    remove_buckets: BTreeSet::from([0]),
                })
            },
            expect: Some("StorageBucketDoesntExist"),
        },
        Case {
            name: "bag buckets: not accepting",
            setup: |n| {
                empty_bucket(n);
                n.ok(
                    storage_lead(),
                    storage(C::UpdateStorageBucketStatus {
                        storage_bucket_id: 2,
                        accepting_new_bags: false,
                    }),
                );
            },
            origin: storage_lead,
            call: |_| {
                storage(C::UpdateStorageBucketsForBag {
                    bag_id: council(),
                    add_buckets: BTreeSet::from([2]),
                    remove_buckets: BTreeSet::from([0]),
                })
            },
            expect: Some("StorageBucketDoesntAcceptNewBags"),
        },
        Case {
            name: "bag buckets: already bound",
            setup: nothing,
            origin: storage_lead,
            call: |_| {
                storage(C::UpdateStorageBucketsForBag {
                    bag_id: council(),
                    add_buckets: BTreeSet::from([0]),
                    remove_buckets: BTreeSet::from([1]),
                })
            },
            expect: Some("StorageBucketIsBoundToBag"),
        },
        Case {
            name: "bag buckets: object number limit",
            setup: |n| {
                empty_bucket(n);
                n.upload(council(), &[1; 11]);
            },
            origin: storage_lead,
            call: |_| {
                storage(C::UpdateStorageBucketsForBag {
                    bag_id: council(),
                    add_buckets: BTreeSet::from([2]),
                    remove_buckets: BTreeSet::from([0]),
                })
            },
            expect: Some("StorageBucketObjectNumberLimitReached"),
        },
        Case {
            name: "bag buckets: size limit",
            setup: |n| {
                empty_bucket(n);
                n.upload(council(), &[1001]);
            },
            origin: storage_lead,
            call: |_| {
                storage(C::UpdateStorageBucketsForBag {
                    bag_id: council(),
                    add_buckets: BTreeSet::from([2]),
                    remove_buckets: BTreeSet::from([0]),
                })
            },
            expect: Some("StorageBucketObjectSizeLimitReached"),
        },
        Case {
            name: "cancel invite: ok",
            setup: |n| {
                n.ok(
                    storage_lead(),
                    storage(C::CreateStorageBucket {
                        invite_worker: Some(1),
                        accepting_new_bags: true,
                        size_limit: 0,
                        objects_limit: 0,
                    }),
                );
            },
            origin: storage_lead,
            call: |_| {
                storage(C::CancelStorageBucketOperatorInvite {
                    storage_bucket_id: 2,
                })
            },
            expect: None,
        },
        Case {
            name: "cancel invite: missing bucket",
            setup: nothing,
            origin: storage_lead,
            call: |_| {
                storage(C::CancelStorageBucketOperatorInvite {
                    storage_bucket_id: 9,
                })
            },
            expect: Some("StorageBucketDoesntExist"),
        },
        Case {
            name: "cancel invite: none",
            setup: empty_bucket,
            origin: storage_lead,
            call: |_| {
                storage(C::CancelStorageBucketOperatorInvite {
                    storage_bucket_id: 2,
                })
            },
            expect: Some("NoStorageBucketInvitation"),
        },
        Case {
            name: "cancel invite: operator set",
            setup: nothing,
            origin: storage_lead,
            call: |_| {
                storage(C::CancelStorageBucketOperatorInvite {
                    storage_bucket_id: 0,
                })
            },
            expect: Some("StorageProviderAlreadySet"),
        },
        Case {
            name: "invite: ok",
            setup: empty_bucket,
            origin: storage_lead,
            call: |_| {
                storage(C::InviteStorageBucketOperator {
                    storage_bucket_id: 2,
                    operator_id: 1,
                })
            },
            expect: None,
        },
        Case {
            name: "invite: operator set",
            setup: nothing,
            origin: storage_lead,
            call: |_| {
                storage(C::InviteStorageBucketOperator {
                    storage_bucket_id: 0,
                    operator_id: 1,
                })
            },
            expect: Some("StorageProviderAlreadySet"),
        },
        Case {
            name: "invite: already invited",
            setup: |n| {
                empty_bucket(n);
                n.ok(
                    storage_lead(),
                    storage(C::InviteStorageBucketOperator {
                        storage_bucket_id: 2,
                        operator_id: 1,
                    }),
                );
            },
            origin: storage_lead,
            call: |_| {
                storage(C::InviteStorageBucketOperator {
                    storage_bucket_id: 2,
                    operator_id: 2,
                })
            },
            expect: Some("InvitedStorageProvider"),
        },
        Case {
            name: "invite: unknown worker",
            setup: empty_bucket,
            origin: storage_lead,
            call: |_| {
                storage(C::InviteStorageBucketOperator {
                    storage_bucket_id: 2,
                    operator_id: 99,
                })
            },
            expect: Some("StorageProviderOperatorDoesntExist"),
        },
        Case {
            name: "remove operator: ok",
            setup: nothing,
            origin: storage_lead,
            call: |_| {
                storage(C::RemoveStorageBucketOperator {
                    storage_bucket_id: 0,
                })
            },
            expect: None,
        },
        Case {
            name: "remove operator: none",
            setup: empty_bucket,
            origin: storage_lead,
            call: |_| {
                storage(C::RemoveStorageBucketOperator {
                    storage_bucket_id: 2,
                })
            },
            expect: Some("StorageProviderMustBeSet"),
        },
        Case {
            name: "bucket status: ok",
            setup: nothing,
            origin: storage_lead,
            call: |_| {
                storage(C::UpdateStorageBucketStatus {
                    storage_bucket_id: 0,
                    accepting_new_bags: false,
                })
            },
            expect: None,
        },
        Case {
            name: "bucket status: missing",
            setup: nothing,
            origin: storage_lead,
            call: |_| {
                storage(C::UpdateStorageBucketStatus {
                    storage_bucket_id: 9,
                    accepting_new_bags: false,
                })
            },
            expect: Some("StorageBucketDoesntExist"),
        },
        Case {
            name: "bucket limits: ok below usage",
            setup: |n| {
                n.upload(council(), &[10]);
            },
            origin: storage_lead,
            call: |_| {
                storage(C::SetStorageBucketVoucherLimits {
                    storage_bucket_id: 0,
                    new_objects_size_limit: 0,
                    new_objects_number_limit: 0,
                })
            },
            expect: None,
        },
        Case {
            name: "bucket limits: missing",
            setup: nothing,
            origin: storage_lead,
            call: |_| {
                storage(C::SetStorageBucketVoucherLimits {
                    storage_bucket_id: 9,
                    new_objects_size_limit: 0,
                    new_objects_number_limit: 0,
                })
            },
            expect: Some("StorageBucketDoesntExist"),
        },
        Case {
            name: "bucket limits: size over maximum",
            setup: nothing,
            origin: storage_lead,
            call: |_| {
                storage(C::SetStorageBucketVoucherLimits {
                    storage_bucket_id: 0,
                    new_objects_size_limit: u64::MAX,
                    new_objects_number_limit: 0,
                })
            },
            expect: Some("VoucherMaxObjectSizeLimitExceeded"),
        },
        Case {
            name: "bucket limits: number over maximum",
            setup: nothing,
            origin: storage_lead,
            call: |_| {
                storage(C::SetStorageBucketVoucherLimits {
                    storage_bucket_id: 0,
                    new_objects_size_limit: 0,
                    new_objects_number_limit: u64::MAX,
                })
            },
            expect: Some("VoucherMaxObjectNumberLimitExceeded"),
        },
    ]);
}

fn invited_bucket(net: &mut Net) {
    net.ok(
        storage_lead(),
        storage(C::CreateStorageBucket {
            invite_worker: Some(1),
            accepting_new_bags: true,
            size_limit: 0,
            objects_limit: 0,
        }),
    );
}

#[test]
fn storage_operator_calls() {
    run_table(&[
        Case {
            name: "accept invitation: ok",
            setup: invited_bucket,
            origin: || storage_worker(1),
            call: |_| {
                storage(C::AcceptStorageBucketInvitation {
                    worker_id: 1,
                    storage_bucket_id: 2,
                    transactor_account_id: AccountId::dev("//T"),
                })
            },
            expect: None,
        },
        Case {
            name: "accept invitation: unknown worker",
            setup: invited_bucket,
            origin: || storage_worker(1),
            call: |_| {
                storage(C::AcceptStorageBucketInvitation {
                    worker_id: 9,
                    storage_bucket_id: 2,
                    transactor_account_id: AccountId::dev("//T"),
                })
            },
            expect: Some("WorkerDoesNotExist"),
        },
        Case {
            name: "accept invitation: wrong signer",
            setup: invited_bucket,
            origin: || storage_worker(2),
            call: |_| {
                storage(C::AcceptStorageBucketInvitation {
                    worker_id: 1,
                    storage_bucket_id: 2,
                    transactor_account_id: AccountId::dev("//T"),
                })
            },
            expect: Some("SignerIsNotWorkerRoleAccount"),
        },
        Case {
            name: "accept invitation: missing bucket",
            setup: nothing,
            origin: || storage_worker(1),
            call: |_| {
                storage(C::AcceptStorageBucketInvitation {
                    worker_id: 1,
                    storage_bucket_id: 9,
                    transactor_account_id: AccountId::dev("//T"),
                })
            },
            expect: Some("StorageBucketDoesntExist"),
        },
        Case {
            name: "accept invitation: none",
            setup: empty_bucket,
            origin: || storage_worker(1),
            call: |_| {
                storage(C::AcceptStorageBucketInvitation {
                    worker_id: 1,
                    storage_bucket_id: 2,
                    transactor_account_id: AccountId::dev("//T"),
                })
            },
            expect: Some("NoStorageBucketInvitation"),
        },
        Case {
            name: "accept invitation: already operated",
            setup: nothing,
            origin: || storage_worker(1),
            call: |_| {
                storage(C::AcceptStorageBucketInvitation {
                    worker_id: 1,
                    storage_bucket_id: 0,
                    transactor_account_id: AccountId::dev("//T"),
                })
            },
            expect: Some("StorageProviderAlreadySet"),
        },
        Case {
            name: "accept invitation: someone else invited",
            setup: invited_bucket,
            origin: || storage_worker(2),
            call: |_| {
                storage(C::AcceptStorageBucketInvitation {
                    worker_id: 2,
                    storage_bucket_id: 2,
                    transactor_account_id: AccountId::dev("//T"),
                })
            },
            expect: Some("DifferentStorageProviderInvited"),
        },
        Case {
            name: "metadata: ok",
            setup: nothing,
            origin: || storage_worker(1),
            call: |_| {
                storage(C::SetStorageOperatorMetadata {
                    worker_id: 1,
                    storage_bucket_id: 0,
                    metadata: Bytes(vec![1, 2]),
                })
            },
            expect: None,
        },
        Case {
            name: "metadata: no operator",
            setup: empty_bucket,
            origin: || storage_worker(1),
            call: |_| {
                storage(C::SetStorageOperatorMetadata {
                    worker_id: 1,
                    storage_bucket_id: 2,
                    metadata: Bytes(vec![]),
                })
            },
            expect: Some("StorageProviderMustBeSet"),
        },
        Case {
            name: "metadata: only invited",
            setup: invited_bucket,
            origin: || storage_worker(1),
            call: |_| {
                storage(C::SetStorageOperatorMetadata {
                    worker_id: 1,
                    storage_bucket_id: 2,
                    metadata: Bytes(vec![]),
                })
            },
            expect: Some("InvalidStorageProvider"),
        },
        Case {
            name: "metadata: another operator's bucket",
            setup: nothing,
            origin: || storage_worker(2),
            call: |_| {
                storage(C::SetStorageOperatorMetadata {
                    worker_id: 2,
                    storage_bucket_id: 0,
                    metadata: Bytes(vec![]),
                })
            },
            expect: Some("InvalidStorageProvider"),
        },
        Case {
            name: "remark: ok",
            setup: nothing,
            origin: || storage_worker(1),
            call: |_| {
                storage(C::StorageOperatorRemark {
                    worker_id: 1,
                    storage_bucket_id: 0,
                    msg: Bytes(b"hi".to_vec()),
                })
            },
            expect: None,
        },
        Case {
            name: "remark: missing bucket",
            setup: nothing,
            origin: || storage_worker(1),
            call: |_| {
                storage(C::StorageOperatorRemark {
                    worker_id: 1,
                    storage_bucket_id: 9,
                    msg: Bytes(vec![]),
                })
            },
            expect: Some("StorageBucketDoesntExist"),
        },
        Case {
            name: "accept pending: ok",
            setup: |n| {
                n.upload(council(), &[5]);
            },
            origin: || transactor(1),
            call: |_| {
                storage(C::AcceptPendingDataObjects {
                    worker_id: 1,
                    storage_bucket_id: 0,
                    bag_id: council(),
                    data_objects: BTreeSet::from([0]),
                })
            },
            expect: None,
        },
        Case {
            name: "accept pending: unsigned",
            setup: nothing,
            origin: || Origin::None,
            call: |_| {
                storage(C::AcceptPendingDataObjects {
                    worker_id: 1,
                    storage_bucket_id: 0,
                    bag_id: council(),
                    data_objects: BTreeSet::from([0]),
                })
            },
            expect: Some("BadOrigin"),
        },
        Case {
            name: "accept pending: missing bucket",
            setup: nothing,
            origin: || transactor(1),
            call: |_| {
                storage(C::AcceptPendingDataObjects {
                    worker_id: 1,
                    storage_bucket_id: 9,
                    bag_id: council(),
                    data_objects: BTreeSet::from([0]),
                })
            },
            expect: Some("StorageBucketDoesntExist"),
        },
        Case {
            name: "accept pending: no operator",
            setup: empty_bucket,
            origin: || transactor(1),
            call: |_| {
                storage(C::AcceptPendingDataObjects {
                    worker_id: 1,
                    storage_bucket_id: 2,
                    bag_id: council(),
                    data_objects: BTreeSet::from([0]),
                })
            },
            expect: Some("StorageProviderMustBeSet"),
        },
        Case {
            name: "accept pending: invited only",
            setup: invited_bucket,
            origin: || transactor(1),
            call: |_| {
                storage(C::AcceptPendingDataObjects {
                    worker_id: 1,
                    storage_bucket_id: 2,
                    bag_id: council(),
                    data_objects: BTreeSet::from([0]),
                })
            },
            expect: Some("InvalidStorageProvider"),
        },
        Case {
            name: "accept pending: other worker",
            setup: nothing,
            origin: || transactor(1),
            call: |_| {
                storage(C::AcceptPendingDataObjects {
                    worker_id: 2,
                    storage_bucket_id: 0,
                    bag_id: council(),
                    data_objects: BTreeSet::from([0]),
                })
            },
            expect: Some("InvalidStorageProvider"),
        },
        Case {
            name: "accept pending: role account is not the transactor",
            setup: nothing,
            origin: || storage_worker(1),
            call: |_| {
                storage(C::AcceptPendingDataObjects {
                    worker_id: 1,
                    storage_bucket_id: 0,
                    bag_id: council(),
                    data_objects: BTreeSet::from([0]),
                })
            },
            expect: Some("InvalidTransactorAccount"),
        },
        Case {
            name: "accept pending: missing bag",
            setup: nothing,
            origin: || transactor(1),
            call: |_| {
                storage(C::AcceptPendingDataObjects {
                    worker_id: 1,
                    storage_bucket_id: 0,
                    bag_id: channel_bag(9),
                    data_objects: BTreeSet::from([0]),
                })
            },
            expect: Some("DynamicBagDoesntExist"),
        },
        Case {
            name: "accept pending: empty",
            setup: nothing,
            origin: || transactor(1),
            call: |_| {
                storage(C::AcceptPendingDataObjects {
                    worker_id: 1,
                    storage_bucket_id: 0,
                    bag_id: council(),
                    data_objects: BTreeSet::new(),
                })
            },
            expect: Some("DataObjectIdParamsAreEmpty"),
        },
        Case {
            name: "accept pending: bucket not on bag",
            setup: |n| {
                n.ok(
                    storage_lead(),
                    storage(C::UpdateStorageBucketsForBag {
                        bag_id: council(),
                        add_buckets: BTreeSet::new(),
                        remove_buckets: BTreeSet::from([0]),
                    }),
                );
            },
            origin: || transactor(1),
            call: |_| {
                storage(C::AcceptPendingDataObjects {
                    worker_id: 1,
                    storage_bucket_id: 0,
                    bag_id: council(),
                    data_objects: BTreeSet::from([0]),
                })
            },
            expect: Some("StorageBucketIsNotBoundToBag"),
        },
        Case {
            name: "accept pending: unknown object",
            setup: nothing,
            origin: || transactor(1),
            call: |_| {
                storage(C::AcceptPendingDataObjects {
                    worker_id: 1,
                    storage_bucket_id: 0,
                    bag_id: council(),
                    data_objects: BTreeSet::from([42]),
                })
            },
            expect: Some("DataObjectDoesntExist"),
        },
        Case {
            name: "worker origin errors name the storage group",
            setup: hire_third_worker,
            origin: stranger,
            call: |_| {
                storage(C::StorageOperatorRemark {
                    worker_id: 3,
                    storage_bucket_id: 0,
                    msg: Bytes(vec![]),
                })
            },
            expect: Some("SignerIsNotWorkerRoleAccount"),
        },
    ]);
}

#[test]
fn acceptance_is_global_and_operator_removal_forgets_metadata() {
    let mut net = Net::dev();
    let ids = net.upload(council(), &[5, 6]);
    net.ok(
        transactor(2),
        storage(C::AcceptPendingDataObjects {
            worker_id: 2,
            storage_bucket_id: 1,
            bag_id: council(),
            data_objects: BTreeSet::from([ids[0]]),
        }),
    );
    let objects = net.state.storage.objects_of(&council());
    assert!(objects[&ids[0]].accepted);
    assert!(!objects[&ids[1]].accepted);
    net.ok(
        storage_lead(),
        storage(C::RemoveStorageBucketOperator {
            storage_bucket_id: 1,
        }),
    );
    assert_eq!(
        net.state.storage.storage_bucket_by_id[&1].operator_status,
        StorageBucketOperatorStatus::Missing
    );
    assert!(!net.state.metadata.storage_operators.contains_key(&1));
}
