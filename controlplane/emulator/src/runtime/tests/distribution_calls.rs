//! Distribution-lead and distribution-operator calls (§3.3, §3.4).

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::runtime::call::StorageCall as C;
use crate::runtime::storage::types::{Bytes, DynamicBagType};

fn new_family(net: &mut Net) {
    // Family 1 with bucket 1:0 (accepting, no operators, no bags).
    net.ok(
        distribution_lead(),
        storage(C::CreateDistributionBucketFamily),
    );
    net.ok(
        distribution_lead(),
        storage(C::CreateDistributionBucket {
            family_id: 1,
            accepting_new_bags: true,
        }),
    );
}

fn fam1(index: u64) -> DistributionBucketId {
    DistributionBucketId { family: 1, index }
}

fn invited(net: &mut Net) {
    new_family(net);
    net.ok(
        distribution_lead(),
        storage(C::InviteDistributionBucketOperator {
            bucket_id: fam1(0),
            operator_worker_id: 1,
        }),
    );
}

#[test]
fn distribution_lead_calls() {
    run_table(&[
        Case {
            name: "origin: storage lead",
            setup: nothing,
            origin: storage_lead,
            call: |_| storage(C::CreateDistributionBucketFamily),
            expect: Some("IsNotLeadAccount"),
        },
        Case {
            name: "family: ok",
            setup: nothing,
            origin: distribution_lead,
            call: |_| storage(C::CreateDistributionBucketFamily),
            expect: None,
        },
        Case {
            name: "family: too many",
            setup: |n| {
                n.state.storage.distribution_bucket_family_number = 200;
            },
            origin: distribution_lead,
            call: |_| storage(C::CreateDistributionBucketFamily),
            expect: Some("MaxDistributionBucketFamilyNumberLimitExceeded"),
        },
        Case {
            name: "delete family: ok, buckets stay",
            setup: new_family,
            origin: distribution_lead,
            call: |_| storage(C::DeleteDistributionBucketFamily { family_id: 1 }),
            expect: None,
        },
        Case {
            name: "delete family: missing",
            setup: nothing,
            origin: distribution_lead,
            call: |_| storage(C::DeleteDistributionBucketFamily { family_id: 9 }),
            expect: Some("DistributionBucketFamilyDoesntExist"),
        },
        Case {
            name: "delete family: bucket bound",
            setup: nothing,
            origin: distribution_lead,
            call: |_| storage(C::DeleteDistributionBucketFamily { family_id: 0 }),
            expect: Some("DistributionBucketIsBoundToBag"),
        },
        Case {
            name: "delete family: in the policy",
            setup: |n| {
                new_family(n);
                n.ok(
                    distribution_lead(),
                    storage(C::UpdateFamiliesInDynamicBagCreationPolicy {
                        dynamic_bag_type: DynamicBagType::Member,
                        families: BTreeMap::from([(1, 1)]),
                    }),
                );
            },
            origin: distribution_lead,
            call: |_| storage(C::DeleteDistributionBucketFamily { family_id: 1 }),
            expect: Some("DistributionFamilyBoundToBagCreationPolicy"),
        },
        Case {
            name: "bucket: ok",
            setup: nothing,
            origin: distribution_lead,
            call: |_| {
                storage(C::CreateDistributionBucket {
                    family_id: 0,
                    accepting_new_bags: false,
                })
            },
            expect: None,
        },
        Case {
            name: "bucket: missing family",
            setup: nothing,
            origin: distribution_lead,
            call: |_| {
                storage(C::CreateDistributionBucket {
                    family_id: 9,
                    accepting_new_bags: false,
                })
            },
            expect: Some("DistributionBucketFamilyDoesntExist"),
        },
        Case {
            name: "bucket status: ok",
            setup: nothing,
            origin: distribution_lead,
            call: |_| {
                storage(C::UpdateDistributionBucketStatus {
                    bucket_id: dbucket(0),
                    accepting_new_bags: false,
                })
            },
            expect: None,
        },
        Case {
            name: "bucket status: missing",
            setup: nothing,
            origin: distribution_lead,
            call: |_| {
                storage(C::UpdateDistributionBucketStatus {
                    bucket_id: dbucket(9),
                    accepting_new_bags: false,
                })
            },
            expect: Some("DistributionBucketDoesntExist"),
        },
        Case {
            name: "bucket mode: ok",
            setup: nothing,
            origin: distribution_lead,
            call: |_| {
                storage(C::UpdateDistributionBucketMode {
                    bucket_id: dbucket(0),
                    distributing: false,
                })
            },
            expect: None,
        },
        Case {
            name: "bucket mode: missing",
            setup: nothing,
            origin: distribution_lead,
            call: |_| {
                storage(C::UpdateDistributionBucketMode {
                    bucket_id: dbucket(9),
                    distributing: false,
                })
            },
            expect: Some("DistributionBucketDoesntExist"),
        },
        Case {
            name: "delete bucket: ok",
            setup: new_family,
            origin: distribution_lead,
            call: |_| storage(C::DeleteDistributionBucket { bucket_id: fam1(0) }),
            expect: None,
        },
        Case {
            name: "delete bucket: missing",
            setup: nothing,
            origin: distribution_lead,
            call: |_| storage(C::DeleteDistributionBucket { bucket_id: fam1(5) }),
            expect: Some("DistributionBucketDoesntExist"),
        },
        Case {
            name: "delete bucket: bound",
            setup: nothing,
            origin: distribution_lead,
            call: |_| {
                storage(C::DeleteDistributionBucket {
                    bucket_id: dbucket(0),
                })
            },
            expect: Some("DistributionBucketIsBoundToBag"),
        },
        Case {
            name: "delete bucket: operated",
            setup: |n| {
                invited(n);
                n.ok(
                    distribution_worker(1),
                    storage(C::AcceptDistributionBucketInvitation {
                        worker_id: 1,
                        bucket_id: fam1(0),
                    }),
                );
            },
            origin: distribution_lead,
            call: |_| storage(C::DeleteDistributionBucket { bucket_id: fam1(0) }),
            expect: Some("DistributionProviderOperatorSet"),
        },
        Case {
            name: "bag buckets: ok",
            setup: nothing,
            origin: distribution_lead,
            call: |_| {
                storage(C::UpdateDistributionBucketsForBag {
                    bag_id: council(),
                    family_id: 0,
                    add_buckets_indices: BTreeSet::new(),
                    remove_buckets_indices: BTreeSet::from([1]),
                })
            },
            expect: None,
        },
        Case {
            name: "bag buckets: both empty (checked before the bag)",
            setup: nothing,
            origin: distribution_lead,
            call: |_| {
                storage(C::UpdateDistributionBucketsForBag {
                    bag_id: channel_bag(9),
                    family_id: 0,
                    add_buckets_indices: BTreeSet::new(),
                    remove_buckets_indices: BTreeSet::new(),
                })
            },
            expect: Some("DistributionBucketIdCollectionsAreEmpty"),
        },
        Case {
            name: "bag buckets: missing bag",
            setup: nothing,
            origin: distribution_lead,
            call: |_| {
                storage(C::UpdateDistributionBucketsForBag {
                    bag_id: channel_bag(9),
                    family_id: 0,
                    add_buckets_indices: BTreeSet::from([0]),
                    remove_buckets_indices: BTreeSet::new(),
                })
            },
            expect: Some("DynamicBagDoesntExist"),
        },
        Case {
            name: "bag buckets: missing family",
            setup: nothing,
            origin: distribution_lead,
            call: |_| {
                storage(C::UpdateDistributionBucketsForBag {
                    bag_id: council(),
                    family_id: 9,
                    add_buckets_indices: BTreeSet::from([0]),
                    remove_buckets_indices: BTreeSet::new(),
                })
            },
            expect: Some("DistributionBucketFamilyDoesntExist"),
        },
        Case {
            name: "bag buckets: over the limit",
            setup: new_family,
            origin: distribution_lead,
            call: |_| {
                storage(C::UpdateDistributionBucketsForBag {
                    bag_id: council(),
                    family_id: 1,
                    add_buckets_indices: BTreeSet::from([0]),
                    remove_buckets_indices: BTreeSet::new(),
                })
            },
            expect: Some("MaxDistributionBucketNumberPerBagLimitExceeded"),
        },
        Case {
            name: "bag buckets: removed missing",
            setup: nothing,
            origin: distribution_lead,
            call: |_| {
                storage(C::UpdateDistributionBucketsForBag {
                    bag_id: council(),
                    family_id: 0,
                    add_buckets_indices: BTreeSet::new(),
                    remove_buckets_indices: BTreeSet::from([7]),
                })
            },
            expect: Some("DistributionBucketDoesntExist"),
        },
        Case {
            name: "bag buckets: removed not bound",
            setup: |n| {
                new_family(n);
            },
            origin: distribution_lead,
            call: |_| {
                storage(C::UpdateDistributionBucketsForBag {
                    bag_id: council(),
                    family_id: 1,
                    add_buckets_indices: BTreeSet::new(),
                    remove_buckets_indices: BTreeSet::from([0]),
                })
            },
            expect: Some("DistributionBucketIsNotBoundToBag"),
        },
        Case {
            name: "bag buckets: added not accepting",
            setup: |n| {
                n.ok(
                    distribution_lead(),
                    storage(C::UpdateDistributionBucketsForBag {
                        bag_id: council(),
                        family_id: 0,
                        add_buckets_indices: BTreeSet::new(),
                        remove_buckets_indices: BTreeSet::from([1]),
                    }),
                );
                n.ok(
                    distribution_lead(),
                    storage(C::UpdateDistributionBucketStatus {
                        bucket_id: dbucket(1),
                        accepting_new_bags: false,
                    }),
                );
            },
            origin: distribution_lead,
            call: |_| {
                storage(C::UpdateDistributionBucketsForBag {
                    bag_id: council(),
                    family_id: 0,
                    add_buckets_indices: BTreeSet::from([1]),
                    remove_buckets_indices: BTreeSet::new(),
                })
            },
            expect: Some("DistributionBucketDoesntAcceptNewBags"),
        },
        Case {
            name: "bag buckets: added already bound",
            setup: nothing,
            origin: distribution_lead,
            call: |_| {
                storage(C::UpdateDistributionBucketsForBag {
                    bag_id: council(),
                    family_id: 0,
                    add_buckets_indices: BTreeSet::from([1]),
                    remove_buckets_indices: BTreeSet::from([0]),
                })
            },
            expect: Some("DistributionBucketIsBoundToBag"),
        },
        Case {
            name: "per-bag limit: ok",
            setup: nothing,
            origin: distribution_lead,
            call: |_| storage(C::UpdateDistributionBucketsPerBagLimit { new_limit: 51 }),
            expect: None,
        },
        Case {
            name: "per-bag limit: too low",
            setup: nothing,
            origin: distribution_lead,
            call: |_| storage(C::UpdateDistributionBucketsPerBagLimit { new_limit: 0 }),
            expect: Some("DistributionBucketsPerBagLimitTooLow"),
        },
        Case {
            name: "per-bag limit: too high",
            setup: nothing,
            origin: distribution_lead,
            call: |_| storage(C::UpdateDistributionBucketsPerBagLimit { new_limit: 52 }),
            expect: Some("DistributionBucketsPerBagLimitTooHigh"),
        },
        Case {
            name: "policy families: ok, zeros dropped",
            setup: new_family,
            origin: distribution_lead,
            call: |_| {
                storage(C::UpdateFamiliesInDynamicBagCreationPolicy {
                    dynamic_bag_type: DynamicBagType::Channel,
                    families: BTreeMap::from([(0, 0), (1, 1)]),
                })
            },
            expect: None,
        },
        Case {
            name: "policy families: all zero",
            setup: nothing,
            origin: distribution_lead,
            call: |_| {
                storage(C::UpdateFamiliesInDynamicBagCreationPolicy {
                    dynamic_bag_type: DynamicBagType::Channel,
                    families: BTreeMap::from([(0, 0)]),
                })
            },
            expect: Some("NumberOfDistributionBucketsOutsideOfAllowedContraints"),
        },
        Case {
            name: "policy families: too many",
            setup: nothing,
            origin: distribution_lead,
            call: |_| {
                storage(C::UpdateFamiliesInDynamicBagCreationPolicy {
                    dynamic_bag_type: DynamicBagType::Channel,
                    families: BTreeMap::from([(0, 52)]),
                })
            },
            expect: Some("NumberOfDistributionBucketsOutsideOfAllowedContraints"),
        },
        Case {
            name: "policy families: missing family",
            setup: nothing,
            origin: distribution_lead,
            call: |_| {
                storage(C::UpdateFamiliesInDynamicBagCreationPolicy {
                    dynamic_bag_type: DynamicBagType::Channel,
                    families: BTreeMap::from([(9, 1)]),
                })
            },
            expect: Some("DistributionBucketFamilyDoesntExist"),
        },
        Case {
            name: "invite: ok",
            setup: new_family,
            origin: distribution_lead,
            call: |_| {
                storage(C::InviteDistributionBucketOperator {
                    bucket_id: fam1(0),
                    operator_worker_id: 1,
                })
            },
            expect: None,
        },
        Case {
            name: "invite: missing bucket",
            setup: nothing,
            origin: distribution_lead,
            call: |_| {
                storage(C::InviteDistributionBucketOperator {
                    bucket_id: fam1(0),
                    operator_worker_id: 1,
                })
            },
            expect: Some("DistributionBucketDoesntExist"),
        },
        Case {
            name: "invite: unknown worker",
            setup: new_family,
            origin: distribution_lead,
            call: |_| {
                storage(C::InviteDistributionBucketOperator {
                    bucket_id: fam1(0),
                    operator_worker_id: 99,
                })
            },
            expect: Some("DistributionProviderOperatorDoesntExist"),
        },
        Case {
            name: "invite: already invited",
            setup: invited,
            origin: distribution_lead,
            call: |_| {
                storage(C::InviteDistributionBucketOperator {
                    bucket_id: fam1(0),
                    operator_worker_id: 1,
                })
            },
            expect: Some("DistributionProviderOperatorAlreadyInvited"),
        },
        Case {
            name: "invite: already operator",
            setup: nothing,
            origin: distribution_lead,
            call: |_| {
                storage(C::InviteDistributionBucketOperator {
                    bucket_id: dbucket(0),
                    operator_worker_id: 1,
                })
            },
            expect: Some("DistributionProviderOperatorSet"),
        },
        Case {
            name: "invite: too many pending",
            setup: |n| {
                new_family(n);
                let b = n
                    .state
                    .storage
                    .distribution_bucket_by_family_id_by_id
                    .get_mut(&fam1(0))
                    .unwrap();
                b.pending_invitations = (100..120).collect();
            },
            origin: distribution_lead,
            call: |_| {
                storage(C::InviteDistributionBucketOperator {
                    bucket_id: fam1(0),
                    operator_worker_id: 1,
                })
            },
            expect: Some("MaxNumberOfPendingInvitationsLimitForDistributionBucketReached"),
        },
        Case {
            name: "cancel: ok",
            setup: invited,
            origin: distribution_lead,
            call: |_| {
                storage(C::CancelDistributionBucketOperatorInvite {
                    bucket_id: fam1(0),
                    operator_worker_id: 1,
                })
            },
            expect: None,
        },
        Case {
            name: "cancel: none",
            setup: new_family,
            origin: distribution_lead,
            call: |_| {
                storage(C::CancelDistributionBucketOperatorInvite {
                    bucket_id: fam1(0),
                    operator_worker_id: 1,
                })
            },
            expect: Some("NoDistributionBucketInvitation"),
        },
        Case {
            name: "remove operator: ok",
            setup: nothing,
            origin: distribution_lead,
            call: |_| {
                storage(C::RemoveDistributionBucketOperator {
                    bucket_id: dbucket(0),
                    operator_worker_id: 1,
                })
            },
            expect: None,
        },
        Case {
            name: "remove operator: not an operator",
            setup: nothing,
            origin: distribution_lead,
            call: |_| {
                storage(C::RemoveDistributionBucketOperator {
                    bucket_id: dbucket(0),
                    operator_worker_id: 2,
                })
            },
            expect: Some("MustBeDistributionProviderOperatorForBucket"),
        },
        Case {
            name: "family metadata: ok",
            setup: nothing,
            origin: distribution_lead,
            call: |_| {
                storage(C::SetDistributionBucketFamilyMetadata {
                    family_id: 0,
                    metadata: Bytes(vec![]),
                })
            },
            expect: None,
        },
        Case {
            name: "family metadata: missing",
            setup: nothing,
            origin: distribution_lead,
            call: |_| {
                storage(C::SetDistributionBucketFamilyMetadata {
                    family_id: 9,
                    metadata: Bytes(vec![]),
                })
            },
            expect: Some("DistributionBucketFamilyDoesntExist"),
        },
    ]);
}

#[test]
fn distribution_operator_calls() {
    run_table(&[
        Case {
            name: "accept: ok",
            setup: invited,
            origin: || distribution_worker(1),
            call: |_| {
                storage(C::AcceptDistributionBucketInvitation {
                    worker_id: 1,
                    bucket_id: fam1(0),
                })
            },
            expect: None,
        },
        Case {
            name: "accept: signer",
            setup: invited,
            origin: || distribution_worker(2),
            call: |_| {
                storage(C::AcceptDistributionBucketInvitation {
                    worker_id: 1,
                    bucket_id: fam1(0),
                })
            },
            expect: Some("SignerIsNotWorkerRoleAccount"),
        },
        Case {
            name: "accept: missing bucket",
            setup: nothing,
            origin: || distribution_worker(1),
            call: |_| {
                storage(C::AcceptDistributionBucketInvitation {
                    worker_id: 1,
                    bucket_id: fam1(0),
                })
            },
            expect: Some("DistributionBucketDoesntExist"),
        },
        Case {
            name: "accept: not invited",
            setup: new_family,
            origin: || distribution_worker(1),
            call: |_| {
                storage(C::AcceptDistributionBucketInvitation {
                    worker_id: 1,
                    bucket_id: fam1(0),
                })
            },
            expect: Some("NoDistributionBucketInvitation"),
        },
        Case {
            name: "accept: too many operators",
            setup: |n| {
                invited(n);
                let b = n
                    .state
                    .storage
                    .distribution_bucket_by_family_id_by_id
                    .get_mut(&fam1(0))
                    .unwrap();
                b.operators = (100..120).collect();
            },
            origin: || distribution_worker(1),
            call: |_| {
                storage(C::AcceptDistributionBucketInvitation {
                    worker_id: 1,
                    bucket_id: fam1(0),
                })
            },
            expect: Some("MaxNumberOfOperatorsPerDistributionBucketReached"),
        },
        Case {
            name: "metadata: ok",
            setup: nothing,
            origin: || distribution_worker(2),
            call: |_| {
                storage(C::SetDistributionOperatorMetadata {
                    worker_id: 2,
                    bucket_id: dbucket(1),
                    metadata: Bytes(vec![]),
                })
            },
            expect: None,
        },
        Case {
            name: "metadata: not an operator",
            setup: nothing,
            origin: || distribution_worker(2),
            call: |_| {
                storage(C::SetDistributionOperatorMetadata {
                    worker_id: 2,
                    bucket_id: dbucket(0),
                    metadata: Bytes(vec![]),
                })
            },
            expect: Some("MustBeDistributionProviderOperatorForBucket"),
        },
        Case {
            name: "metadata: unknown worker",
            setup: nothing,
            origin: || distribution_worker(2),
            call: |_| {
                storage(C::SetDistributionOperatorMetadata {
                    worker_id: 9,
                    bucket_id: dbucket(0),
                    metadata: Bytes(vec![]),
                })
            },
            expect: Some("WorkerDoesNotExist"),
        },
        Case {
            name: "remark: ok",
            setup: nothing,
            origin: || distribution_worker(1),
            call: |_| {
                storage(C::DistributionOperatorRemark {
                    worker_id: 1,
                    distribution_bucket_id: dbucket(0),
                    msg: Bytes(vec![1]),
                })
            },
            expect: None,
        },
        Case {
            name: "remark: missing bucket",
            setup: nothing,
            origin: || distribution_worker(1),
            call: |_| {
                storage(C::DistributionOperatorRemark {
                    worker_id: 1,
                    distribution_bucket_id: dbucket(9),
                    msg: Bytes(vec![1]),
                })
            },
            expect: Some("DistributionBucketDoesntExist"),
        },
    ]);
}

#[test]
fn a_deleted_family_leaves_its_buckets_and_ids_are_not_reused() {
    let mut net = Net::dev();
    new_family(&mut net);
    net.ok(
        distribution_lead(),
        storage(C::DeleteDistributionBucketFamily { family_id: 1 }),
    );
    assert!(net
        .state
        .storage
        .distribution_bucket_by_family_id_by_id
        .contains_key(&fam1(0)));
    net.ok(
        distribution_lead(),
        storage(C::CreateDistributionBucketFamily),
    );
    assert!(net
        .state
        .storage
        .distribution_bucket_family_by_id
        .contains_key(&2));
    assert!(!net
        .state
        .storage
        .distribution_bucket_family_by_id
        .contains_key(&1));
}
