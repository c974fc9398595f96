//! The `DataObjectStorage` trait (§3.5): uploads, deletions, moves, dynamic bags, with fees,
//! bonds and vouchers.

use std::collections::BTreeSet;

use super::*;
use crate::runtime::call::StorageCall as C;
use crate::runtime::call::TraitCall as T;

fn trait_call(call: T) -> Call {
    Call::DataObjectStorage(call)
}

fn upload(n: &Net, bag: BagId, sizes: &[u64]) -> Call {
    trait_call(T::UploadDataObjects {
        params: n.upload_params(bag, sizes),
    })
}

fn with_upload(net: &mut Net) {
    net.upload(council(), &[10, 20]);
}

#[test]
fn uploads() {
    run_table(&[
        Case {
            name: "origin: not root",
            setup: nothing,
            origin: storage_lead,
            call: |n| upload(n, council(), &[1]),
            expect: Some("BadOrigin"),
        },
        Case {
            name: "ok",
            setup: nothing,
            origin: || Origin::Root,
            call: |n| upload(n, council(), &[1, 2]),
            expect: None,
        },
        Case {
            name: "no objects",
            setup: nothing,
            origin: || Origin::Root,
            call: |n| upload(n, council(), &[]),
            expect: Some("NoObjectsOnUpload"),
        },
        Case {
            name: "fee changed",
            setup: nothing,
            origin: || Origin::Root,
            call: |n| {
                let mut p = n.upload_params(council(), &[1]);
                p.expected_data_size_fee += 1;
                trait_call(T::UploadDataObjects { params: p })
            },
            expect: Some("DataSizeFeeChanged"),
        },
        Case {
            name: "bond changed",
            setup: nothing,
            origin: || Origin::Root,
            call: |n| {
                let mut p = n.upload_params(council(), &[1]);
                p.expected_data_object_state_bloat_bond += 1;
                trait_call(T::UploadDataObjects { params: p })
            },
            expect: Some("DataObjectStateBloatBondChanged"),
        },
        Case {
            name: "missing dynamic bag",
            setup: nothing,
            origin: || Origin::Root,
            call: |n| upload(n, channel_bag(5), &[1]),
            expect: Some("DynamicBagDoesntExist"),
        },
        Case {
            name: "uploading blocked",
            setup: |n| {
                n.ok(
                    storage_lead(),
                    storage(C::UpdateUploadingBlockedStatus { new_status: true }),
                );
            },
            origin: || Origin::Root,
            call: |n| upload(n, council(), &[1]),
            expect: Some("UploadingBlocked"),
        },
        Case {
            name: "too large",
            setup: nothing,
            origin: || Origin::Root,
            call: |n| upload(n, council(), &[64_424_509_441]),
            expect: Some("MaxDataObjectSizeExceeded"),
        },
        Case {
            name: "zero size",
            setup: nothing,
            origin: || Origin::Root,
            call: |n| upload(n, council(), &[0]),
            expect: Some("ZeroObjectSize"),
        },
        Case {
            name: "empty content id",
            setup: nothing,
            origin: || Origin::Root,
            call: |n| {
                let mut p = n.upload_params(council(), &[1]);
                p.object_creation_list[0].ipfs_content_id = Cid(vec![]);
                trait_call(T::UploadDataObjects { params: p })
            },
            expect: Some("EmptyContentId"),
        },
        Case {
            name: "content id length",
            setup: nothing,
            origin: || Origin::Root,
            call: |n| {
                let mut p = n.upload_params(council(), &[1]);
                p.object_creation_list[0].ipfs_content_id = Cid(vec![b'Q'; 45]);
                trait_call(T::UploadDataObjects { params: p })
            },
            expect: Some("InvalidCidLength"),
        },
        Case {
            name: "blacklisted",
            setup: |n| {
                n.ok(
                    storage_lead(),
                    storage(C::UpdateBlacklist {
                        remove_hashes: BTreeSet::new(),
                        add_hashes: BTreeSet::from([cid(3)]),
                    }),
                );
            },
            origin: || Origin::Root,
            call: |n| upload(n, council(), &[3]),
            expect: Some("DataObjectBlacklisted"),
        },
        Case {
            name: "bucket number limit",
            setup: |n| {
                n.ok(
                    storage_lead(),
                    storage(C::SetStorageBucketVoucherLimits {
                        storage_bucket_id: 1,
                        new_objects_size_limit: 1000,
                        new_objects_number_limit: 1,
                    }),
                );
            },
            origin: || Origin::Root,
            call: |n| upload(n, council(), &[1, 2]),
            expect: Some("StorageBucketObjectNumberLimitReached"),
        },
        Case {
            name: "bucket size limit",
            setup: |n| {
                n.ok(
                    storage_lead(),
                    storage(C::SetStorageBucketVoucherLimits {
                        storage_bucket_id: 1,
                        new_objects_size_limit: 2,
                        new_objects_number_limit: 10,
                    }),
                );
            },
            origin: || Origin::Root,
            call: |n| upload(n, council(), &[3]),
            expect: Some("StorageBucketObjectSizeLimitReached"),
        },
        Case {
            name: "insufficient balance",
            setup: |n| {
                n.state.balances.free.remove(&member_account());
            },
            origin: || Origin::Root,
            call: |n| upload(n, council(), &[1]),
            expect: Some("InsufficientBalance"),
        },
        Case {
            name: "no bond, no fee: nothing to pay",
            setup: |n| {
                n.state.balances.free.remove(&member_account());
                n.ok(
                    storage_lead(),
                    storage(C::UpdateDataObjectStateBloatBond {
                        state_bloat_bond: 0,
                    }),
                );
                n.ok(
                    storage_lead(),
                    storage(C::UpdateDataSizeFee {
                        new_data_size_fee: 0,
                    }),
                );
            },
            origin: || Origin::Root,
            call: |n| upload(n, council(), &[1]),
            expect: None,
        },
        Case {
            name: "no bond: the fee is still checked",
            setup: |n| {
                n.state.balances.free.remove(&member_account());
                n.ok(
                    storage_lead(),
                    storage(C::UpdateDataObjectStateBloatBond {
                        state_bloat_bond: 0,
                    }),
                );
            },
            origin: || Origin::Root,
            call: |n| upload(n, council(), &[1]),
            expect: Some("InsufficientBalance"),
        },
    ]);
}

#[test]
fn deletions_and_updates() {
    run_table(&[
        Case {
            name: "delete: ok",
            setup: with_upload,
            origin: || Origin::Root,
            call: |_| {
                trait_call(T::DeleteDataObjects {
                    state_bloat_bond_account_id: member_account(),
                    bag_id: council(),
                    objects: BTreeSet::from([0]),
                })
            },
            expect: None,
        },
        Case {
            name: "delete: empty",
            setup: with_upload,
            origin: || Origin::Root,
            call: |_| {
                trait_call(T::DeleteDataObjects {
                    state_bloat_bond_account_id: member_account(),
                    bag_id: council(),
                    objects: BTreeSet::new(),
                })
            },
            expect: Some("DataObjectIdCollectionIsEmpty"),
        },
        Case {
            name: "delete: missing object",
            setup: with_upload,
            origin: || Origin::Root,
            call: |_| {
                trait_call(T::DeleteDataObjects {
                    state_bloat_bond_account_id: member_account(),
                    bag_id: council(),
                    objects: BTreeSet::from([7]),
                })
            },
            expect: Some("DataObjectDoesntExist"),
        },
        Case {
            name: "delete: works while uploads are blocked",
            setup: |n| {
                with_upload(n);
                n.ok(
                    storage_lead(),
                    storage(C::UpdateUploadingBlockedStatus { new_status: true }),
                );
            },
            origin: || Origin::Root,
            call: |_| {
                trait_call(T::DeleteDataObjects {
                    state_bloat_bond_account_id: member_account(),
                    bag_id: council(),
                    objects: BTreeSet::from([0]),
                })
            },
            expect: None,
        },
        Case {
            name: "delete: fails on a bucket lowered below usage (quirk)",
            setup: |n| {
                with_upload(n);
                n.ok(
                    storage_lead(),
                    storage(C::SetStorageBucketVoucherLimits {
                        storage_bucket_id: 0,
                        new_objects_size_limit: 0,
                        new_objects_number_limit: 0,
                    }),
                );
            },
            origin: || Origin::Root,
            call: |_| {
                trait_call(T::DeleteDataObjects {
                    state_bloat_bond_account_id: member_account(),
                    bag_id: council(),
                    objects: BTreeSet::from([0]),
                })
            },
            expect: Some("StorageBucketObjectNumberLimitReached"),
        },
        Case {
            name: "upload and delete: ok with nothing at all",
            setup: nothing,
            origin: || Origin::Root,
            call: |n| {
                let p = n.upload_params(council(), &[]);
                trait_call(T::UploadAndDeleteDataObjects {
                    params: UploadParameters {
                        expected_data_size_fee: 999,
                        ..p
                    },
                    objects_to_remove: BTreeSet::new(),
                })
            },
            expect: None,
        },
        Case {
            name: "upload and delete: fee checked with uploads",
            setup: with_upload,
            origin: || Origin::Root,
            call: |n| {
                let p = n.upload_params(council(), &[4]);
                trait_call(T::UploadAndDeleteDataObjects {
                    params: UploadParameters {
                        expected_data_size_fee: 999,
                        ..p
                    },
                    objects_to_remove: BTreeSet::from([0]),
                })
            },
            expect: Some("DataSizeFeeChanged"),
        },
        Case {
            name: "upload and delete: ok",
            setup: with_upload,
            origin: || Origin::Root,
            call: |n| {
                trait_call(T::UploadAndDeleteDataObjects {
                    params: n.upload_params(council(), &[4]),
                    objects_to_remove: BTreeSet::from([0]),
                })
            },
            expect: None,
        },
    ]);
}

#[test]
fn moves_and_dynamic_bags() {
    run_table(&[
        Case {
            name: "move: ok",
            setup: |n| {
                with_upload(n);
                n.create_bag(1);
            },
            origin: || Origin::Root,
            call: |_| {
                trait_call(T::MoveDataObjects {
                    src_bag_id: council(),
                    dest_bag_id: channel_bag(1),
                    objects: BTreeSet::from([0]),
                })
            },
            expect: None,
        },
        Case {
            name: "move: missing source",
            setup: nothing,
            origin: || Origin::Root,
            call: |_| {
                trait_call(T::MoveDataObjects {
                    src_bag_id: channel_bag(4),
                    dest_bag_id: council(),
                    objects: BTreeSet::from([0]),
                })
            },
            expect: Some("DynamicBagDoesntExist"),
        },
        Case {
            name: "move: same bag",
            setup: with_upload,
            origin: || Origin::Root,
            call: |_| {
                trait_call(T::MoveDataObjects {
                    src_bag_id: council(),
                    dest_bag_id: council(),
                    objects: BTreeSet::from([0]),
                })
            },
            expect: Some("SourceAndDestinationBagsAreEqual"),
        },
        Case {
            name: "move: missing destination",
            setup: with_upload,
            origin: || Origin::Root,
            call: |_| {
                trait_call(T::MoveDataObjects {
                    src_bag_id: council(),
                    dest_bag_id: channel_bag(1),
                    objects: BTreeSet::from([0]),
                })
            },
            expect: Some("DynamicBagDoesntExist"),
        },
        Case {
            name: "move: empty",
            setup: |n| {
                with_upload(n);
                n.create_bag(1);
            },
            origin: || Origin::Root,
            call: |_| {
                trait_call(T::MoveDataObjects {
                    src_bag_id: council(),
                    dest_bag_id: channel_bag(1),
                    objects: BTreeSet::new(),
                })
            },
            expect: Some("DataObjectIdCollectionIsEmpty"),
        },
        Case {
            name: "move: missing object",
            setup: |n| {
                n.create_bag(1);
            },
            origin: || Origin::Root,
            call: |_| {
                trait_call(T::MoveDataObjects {
                    src_bag_id: council(),
                    dest_bag_id: channel_bag(1),
                    objects: BTreeSet::from([9]),
                })
            },
            expect: Some("DataObjectDoesntExist"),
        },
        Case {
            name: "move: destination bucket full, no credit for the source",
            setup: |n| {
                with_upload(n);
                n.create_bag(1);
                n.ok(
                    storage_lead(),
                    storage(C::SetStorageBucketVoucherLimits {
                        storage_bucket_id: 0,
                        new_objects_size_limit: 1000,
                        new_objects_number_limit: 2,
                    }),
                );
            },
            origin: || Origin::Root,
            call: |_| {
                trait_call(T::MoveDataObjects {
                    src_bag_id: council(),
                    dest_bag_id: channel_bag(1),
                    objects: BTreeSet::from([0]),
                })
            },
            expect: Some("StorageBucketObjectNumberLimitReached"),
        },
        Case {
            name: "create bag: ok with objects",
            setup: nothing,
            origin: || Origin::Root,
            call: |n| {
                trait_call(T::CreateDynamicBag {
                    params: n.bag_params(3, &[5]),
                })
            },
            expect: None,
        },
        Case {
            name: "create bag: bond checked before fee",
            setup: nothing,
            origin: || Origin::Root,
            call: |n| {
                let mut p = n.bag_params(3, &[5]);
                p.expected_data_size_fee += 1;
                p.expected_data_object_state_bloat_bond += 1;
                trait_call(T::CreateDynamicBag { params: p })
            },
            expect: Some("DataObjectStateBloatBondChanged"),
        },
        Case {
            name: "create bag: expected values ignored without objects",
            setup: nothing,
            origin: || Origin::Root,
            call: |n| {
                let mut p = n.bag_params(3, &[]);
                p.expected_data_size_fee += 1;
                trait_call(T::CreateDynamicBag { params: p })
            },
            expect: None,
        },
        Case {
            name: "create bag: wrong storage count",
            setup: nothing,
            origin: || Origin::Root,
            call: |n| {
                let mut p = n.bag_params(3, &[]);
                p.storage_buckets = BTreeSet::from([0]);
                trait_call(T::CreateDynamicBag { params: p })
            },
            expect: Some("StorageBucketsNumberViolatesDynamicBagCreationPolicy"),
        },
        Case {
            name: "create bag: missing storage bucket",
            setup: nothing,
            origin: || Origin::Root,
            call: |n| {
                let mut p = n.bag_params(3, &[]);
                p.storage_buckets = BTreeSet::from([0, 9]);
                trait_call(T::CreateDynamicBag { params: p })
            },
            expect: Some("StorageBucketDoesntExist"),
        },
        Case {
            name: "create bag: distribution counts differ",
            setup: nothing,
            origin: || Origin::Root,
            call: |n| {
                let mut p = n.bag_params(3, &[]);
                p.distribution_buckets = BTreeSet::from([dbucket(0)]);
                trait_call(T::CreateDynamicBag { params: p })
            },
            expect: Some("DistributionBucketsViolatesDynamicBagCreationPolicy"),
        },
        Case {
            name: "create bag: missing distribution bucket",
            setup: nothing,
            origin: || Origin::Root,
            call: |n| {
                let mut p = n.bag_params(3, &[]);
                p.distribution_buckets = BTreeSet::from([dbucket(0), dbucket(7)]);
                trait_call(T::CreateDynamicBag { params: p })
            },
            expect: Some("DistributionBucketDoesntExist"),
        },
        Case {
            name: "create bag: object checks",
            setup: nothing,
            origin: || Origin::Root,
            call: |n| {
                trait_call(T::CreateDynamicBag {
                    params: n.bag_params(3, &[0]),
                })
            },
            expect: Some("ZeroObjectSize"),
        },
        Case {
            name: "create bag: exists",
            setup: |n| {
                n.create_bag(3);
            },
            origin: || Origin::Root,
            call: |n| {
                trait_call(T::CreateDynamicBag {
                    params: n.bag_params(3, &[]),
                })
            },
            expect: Some("DynamicBagExists"),
        },
        Case {
            name: "create bag: bucket full",
            setup: |n| {
                n.ok(
                    storage_lead(),
                    storage(C::SetStorageBucketVoucherLimits {
                        storage_bucket_id: 1,
                        new_objects_size_limit: 4,
                        new_objects_number_limit: 10,
                    }),
                );
            },
            origin: || Origin::Root,
            call: |n| {
                trait_call(T::CreateDynamicBag {
                    params: n.bag_params(3, &[5]),
                })
            },
            expect: Some("StorageBucketObjectSizeLimitReached"),
        },
        Case {
            name: "create bag: accepting flag not checked",
            setup: |n| {
                n.ok(
                    storage_lead(),
                    storage(C::UpdateStorageBucketStatus {
                        storage_bucket_id: 0,
                        accepting_new_bags: false,
                    }),
                );
            },
            origin: || Origin::Root,
            call: |n| {
                trait_call(T::CreateDynamicBag {
                    params: n.bag_params(3, &[]),
                })
            },
            expect: None,
        },
        Case {
            name: "create bag: insufficient balance",
            setup: |n| {
                n.state.balances.free.remove(&member_account());
            },
            origin: || Origin::Root,
            call: |n| {
                trait_call(T::CreateDynamicBag {
                    params: n.bag_params(3, &[5]),
                })
            },
            expect: Some("InsufficientBalance"),
        },
        Case {
            name: "delete bag: ok",
            setup: |n| {
                n.create_bag(3);
                n.upload(channel_bag(3), &[4]);
            },
            origin: || Origin::Root,
            call: |_| {
                trait_call(T::DeleteDynamicBag {
                    account_id: member_account(),
                    bag_id: DynamicBagId::Channel(3),
                })
            },
            expect: None,
        },
        Case {
            name: "delete bag: missing",
            setup: nothing,
            origin: || Origin::Root,
            call: |_| {
                trait_call(T::DeleteDynamicBag {
                    account_id: member_account(),
                    bag_id: DynamicBagId::Channel(3),
                })
            },
            expect: Some("DynamicBagDoesntExist"),
        },
    ]);
}

#[test]
fn fees_are_burned_bonds_go_to_the_treasury_and_come_back() {
    let mut net = Net::dev();
    let treasury = AccountId::storage_treasury();
    let before_member = net.state.balances.free_of(&member_account());
    let before_treasury = net.state.balances.free_of(&treasury);
    let issuance = net.state.balances.total_issuance;
    let bond = net.state.storage.data_object_state_bloat_bond_value;
    let fee = net.state.storage.data_object_per_megabyte_fee;
    // 1 MiB + 1 byte over two objects: two started MiBs, charged once per call.
    let ids = net.upload(council(), &[1 << 20, 1]);
    assert_eq!(
        net.state.balances.free_of(&member_account()),
        before_member - 2 * bond - 2 * fee
    );
    assert_eq!(
        net.state.balances.free_of(&treasury),
        before_treasury + 2 * bond
    );
    assert_eq!(net.state.balances.total_issuance, issuance - 2 * fee);
    // Someone else deletes: the bond goes to the account they name.
    let other = AccountId::dev("//Dave");
    net.ok(
        Origin::Root,
        trait_call(T::DeleteDataObjects {
            state_bloat_bond_account_id: other,
            bag_id: council(),
            objects: ids.iter().copied().collect(),
        }),
    );
    assert_eq!(net.state.balances.free_of(&other), 2 * bond);
    assert_eq!(net.state.balances.free_of(&treasury), before_treasury);
    // With no bond due the fee is not charged at all (§3.5 step 7).
    net.ok(
        storage_lead(),
        storage(C::UpdateDataObjectStateBloatBond {
            state_bloat_bond: 0,
        }),
    );
    let funds = net.state.balances.free_of(&member_account());
    net.upload(council(), &[5]);
    assert_eq!(net.state.balances.free_of(&member_account()), funds);
    // Ids are never reused.
    let again = net.upload(council(), &[1]);
    assert_eq!(again, vec![ids[1] + 2]);
}

#[test]
fn a_move_between_bags_sharing_a_bucket_nets_out() {
    let mut net = Net::dev();
    let ids = net.upload(council(), &[10, 20]);
    net.create_bag(1);
    net.ok(
        Origin::Root,
        trait_call(T::MoveDataObjects {
            src_bag_id: council(),
            dest_bag_id: channel_bag(1),
            objects: BTreeSet::from([ids[1]]),
        }),
    );
    let v = net.state.storage.storage_bucket_by_id[&0].voucher;
    assert_eq!((v.objects_used, v.size_used), (2, 30));
    assert_eq!(
        net.state.storage.bags[&channel_bag(1)].objects_total_size,
        20
    );
    assert!(net
        .state
        .storage
        .objects_of(&channel_bag(1))
        .contains_key(&ids[1]));
    super::properties::check_invariants(&net.state);
}
