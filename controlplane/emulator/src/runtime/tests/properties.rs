//! Property tests over random call sequences: after every call the pallet's invariants hold, a
//! failed call leaves the state byte-identical (checked by `Net::run`), and replaying the
//! applied calls gives the same state hash.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;
use crate::runtime::call::{StorageCall as C, TraitCall as T};

/// Voucher usage equals the sums over the bags listing each bucket; `assigned_bags` counts them.
pub(in crate::runtime) fn check_invariants(state: &State) {
    let storage = &state.storage;
    for (id, bucket) in storage.storage_bucket_by_id.iter() {
        let bags: Vec<_> = storage
            .bags
            .values()
            .filter(|b| b.stored_by.contains(id))
            .collect();
        assert_eq!(
            bucket.assigned_bags,
            bags.len() as u64,
            "bucket {id} assigned_bags"
        );
        let objects: u64 = bags.iter().map(|b| b.objects_number).sum();
        let size: u64 = bags.iter().map(|b| b.objects_total_size).sum();
        assert_eq!(
            bucket.voucher.objects_used, objects,
            "bucket {id} objects_used"
        );
        assert_eq!(bucket.voucher.size_used, size, "bucket {id} size_used");
    }
    for (id, bucket) in storage.distribution_bucket_by_family_id_by_id.iter() {
        let n = storage
            .bags
            .values()
            .filter(|b| b.distributed_by.contains(id))
            .count();
        assert_eq!(
            bucket.assigned_bags, n as u64,
            "distribution bucket {id} assigned_bags"
        );
    }
    for (bag_id, bag) in storage.bags.iter() {
        let objects = storage.objects_of(bag_id);
        assert_eq!(
            bag.objects_number,
            objects.len() as u64,
            "bag {bag_id} objects_number"
        );
        let size: u64 = objects.values().map(|o| o.size).sum();
        assert_eq!(
            bag.objects_total_size, size,
            "bag {bag_id} objects_total_size"
        );
    }
    assert!(storage
        .data_objects_by_id
        .keys()
        .all(|k| storage.bags.contains_key(k)));
    assert!(storage.data_objects_by_id.values().all(|m| !m.is_empty()));
}

fn bag() -> impl Strategy<Value = BagId> {
    prop_oneof![Just(council()), (0u64..3).prop_map(channel_bag)]
}

fn ids() -> impl Strategy<Value = BTreeSet<u64>> {
    proptest::collection::btree_set(0u64..12, 0..3)
}

fn buckets() -> impl Strategy<Value = BTreeSet<u64>> {
    proptest::collection::btree_set(0u64..4, 0..3)
}

/// One random step: an origin and a call, over small id ranges so that calls often collide.
#[derive(Debug, Clone)]
enum Step {
    Upload(BagId, Vec<u64>),
    Delete(BagId, BTreeSet<u64>),
    UploadAndDelete(BagId, Vec<u64>, BTreeSet<u64>),
    Move(BagId, BagId, BTreeSet<u64>),
    CreateBag(u64, BTreeSet<u64>),
    DeleteBag(u64),
    StorageBuckets(BagId, BTreeSet<u64>, BTreeSet<u64>),
    DistributionBuckets(BagId, BTreeSet<u64>, BTreeSet<u64>),
    Limits(u64, u64, u64),
    CreateBucket(u64, u64),
    DeleteBucket(u64),
    Accept(u64, BagId, BTreeSet<u64>),
    Block(bool),
}

fn step() -> impl Strategy<Value = Step> {
    let sizes = proptest::collection::vec(0u64..3000, 0..4);
    prop_oneof![
        3 => (bag(), sizes.clone()).prop_map(|(b, s)| Step::Upload(b, s)),
        2 => (bag(), ids()).prop_map(|(b, i)| Step::Delete(b, i)),
        1 => (bag(), sizes, ids()).prop_map(|(b, s, i)| Step::UploadAndDelete(b, s, i)),
        1 => (bag(), bag(), ids()).prop_map(|(a, b, i)| Step::Move(a, b, i)),
        2 => (0u64..3, buckets()).prop_map(|(c, b)| Step::CreateBag(c, b)),
        1 => (0u64..3).prop_map(Step::DeleteBag),
        2 => (bag(), buckets(), buckets()).prop_map(|(b, a, r)| Step::StorageBuckets(b, a, r)),
        1 => (bag(), proptest::collection::btree_set(0u64..3, 0..2), proptest::collection::btree_set(0u64..3, 0..2))
            .prop_map(|(b, a, r)| Step::DistributionBuckets(b, a, r)),
        1 => (0u64..4, 0u64..20_000, 0u64..20).prop_map(|(b, s, n)| Step::Limits(b, s, n)),
        1 => (0u64..20_000, 0u64..20).prop_map(|(s, n)| Step::CreateBucket(s, n)),
        1 => (0u64..4).prop_map(Step::DeleteBucket),
        1 => (1u64..3, bag(), ids()).prop_map(|(w, b, i)| Step::Accept(w, b, i)),
        1 => any::<bool>().prop_map(Step::Block),
    ]
}

fn to_call(net: &Net, step: Step) -> (Origin, Call) {
    let root = |call| (Origin::Root, Call::DataObjectStorage(call));
    match step {
        Step::Upload(b, sizes) => root(T::UploadDataObjects {
            params: net.upload_params(b, &sizes),
        }),
        Step::Delete(b, objects) => root(T::DeleteDataObjects {
            state_bloat_bond_account_id: member_account(),
            bag_id: b,
            objects,
        }),
        Step::UploadAndDelete(b, sizes, objects) => root(T::UploadAndDeleteDataObjects {
            params: net.upload_params(b, &sizes),
            objects_to_remove: objects,
        }),
        Step::Move(src, dest, objects) => root(T::MoveDataObjects {
            src_bag_id: src,
            dest_bag_id: dest,
            objects,
        }),
        Step::CreateBag(channel, buckets) => {
            let mut params = net.bag_params(channel, &[100]);
            params.storage_buckets = buckets;
            root(T::CreateDynamicBag { params })
        }
        Step::DeleteBag(channel) => root(T::DeleteDynamicBag {
            account_id: member_account(),
            bag_id: DynamicBagId::Channel(channel),
        }),
        Step::StorageBuckets(bag_id, add, remove) => (
            storage_lead(),
            storage(C::UpdateStorageBucketsForBag {
                bag_id,
                add_buckets: add,
                remove_buckets: remove,
            }),
        ),
        Step::DistributionBuckets(bag_id, add, remove) => (
            distribution_lead(),
            storage(C::UpdateDistributionBucketsForBag {
                bag_id,
                family_id: 0,
                add_buckets_indices: add,
                remove_buckets_indices: remove,
            }),
        ),
        Step::Limits(bucket, size, number) => (
            storage_lead(),
            storage(C::SetStorageBucketVoucherLimits {
                storage_bucket_id: bucket,
                new_objects_size_limit: size,
                new_objects_number_limit: number,
            }),
        ),
        Step::CreateBucket(size, number) => (
            storage_lead(),
            storage(C::CreateStorageBucket {
                invite_worker: None,
                accepting_new_bags: true,
                size_limit: size,
                objects_limit: number,
            }),
        ),
        Step::DeleteBucket(bucket) => (
            storage_lead(),
            storage(C::DeleteStorageBucket {
                storage_bucket_id: bucket,
            }),
        ),
        Step::Accept(worker, bag_id, objects) => (
            transactor(worker),
            storage(C::AcceptPendingDataObjects {
                worker_id: worker,
                storage_bucket_id: worker - 1,
                bag_id,
                data_objects: objects,
            }),
        ),
        Step::Block(blocked) => (
            storage_lead(),
            storage(C::UpdateUploadingBlockedStatus {
                new_status: blocked,
            }),
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_call_sequences_keep_the_invariants(steps in proptest::collection::vec(step(), 1..40)) {
        let mut net = Net::dev();
        let genesis = net.clone();
        let mut applied = Vec::new();
        for step in steps {
            let (origin, call) = to_call(&net, step);
            if net.run(origin, call.clone()).is_ok() {
                applied.push(Extrinsic { origin, call });
            }
            check_invariants(&net.state);
        }
        let mut replay = genesis;
        for extrinsic in applied {
            replay.ok(extrinsic.origin, extrinsic.call);
        }
        prop_assert_eq!(replay.state.hash(), net.state.hash());
    }
}
