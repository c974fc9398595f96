//! `--bootstrap dev`: the calls that turn a fresh chain into a working network, in the order
//! Joystream's `tests/network-tests` (`flows/storage/initStorage.ts`, `initDistribution.ts`) use:
//! leads and workers, funds, dynamic bag policy → voucher maxima → per-bag limit → buckets with
//! invited operators → operators accept and publish their endpoints → static bags assigned; the
//! same for distribution (family, metadata, buckets, operators, policy); and one member.
//!
//! Dev accounts are `//Name` pseudo keys (see [`crate::account`]).

use std::collections::{BTreeMap, BTreeSet};

use hecaton_shared::{BagId, DistributionBucketId, StaticBagId, WorkingGroup};
use prost::Message;

use crate::account::AccountId;
use crate::runtime::call::{
    BalancesCall, Call, Extrinsic, MembershipCall, Origin, StorageCall, WorkingGroupCall,
};
use crate::runtime::constants::JOY;
use crate::runtime::metadata::{FamilyMetadata, NodeLocationMetadata, OperatorMetadata};
use crate::runtime::storage::types::{Bytes, DynamicBagType};
use crate::runtime::{Constants, Profile};

/// The storage lead's dev account.
pub const STORAGE_LEAD: &str = "//Alice";
/// The distribution lead's dev account.
pub const DISTRIBUTION_LEAD: &str = "//Bob";
/// The dev member's account (member 0, handle `dev`).
pub const MEMBER: &str = "//Charlie";

/// Storage worker `i`'s role account (worker id `i + 1`; the lead is worker 0).
pub fn storage_worker(i: usize) -> String {
    format!("//StorageWorker{i}")
}

/// Storage worker `i`'s transactor account (signs `accept_pending_data_objects`).
pub fn storage_transactor(i: usize) -> String {
    format!("//StorageTransactor{i}")
}

/// Distribution worker `i`'s role account (worker id `i + 1`).
pub fn distribution_worker(i: usize) -> String {
    format!("//DistributionWorker{i}")
}

/// What the dev network looks like.
#[derive(Debug, Clone)]
pub struct DevNetwork {
    /// One storage bucket (and worker) per endpoint.
    pub storage_endpoints: Vec<String>,
    /// One distribution bucket (and worker) per endpoint, all in family 0.
    pub distribution_endpoints: Vec<String>,
}

/// Why the dev network cannot be built with these settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BootstrapError {
    /// Fewer storage buckets than the profile's minimum per bag.
    #[error("profile {profile:?} needs at least {min} storage buckets per bag; got {got} storage endpoints (use --profile playground for fewer)")]
    TooFewStorageBuckets {
        /// Profile.
        profile: Profile,
        /// Its minimum.
        min: u32,
        /// Endpoints given.
        got: usize,
    },
    /// More buckets than a bag can hold.
    #[error("at most {max} buckets of a kind per bag; got {got}")]
    TooManyBuckets {
        /// The cap.
        max: u32,
        /// Endpoints given.
        got: usize,
    },
    /// No distribution endpoint.
    #[error("the dev network needs at least one distribution endpoint")]
    NoDistributionBucket,
}

fn signed(uri: &str, call: Call) -> Extrinsic {
    Extrinsic {
        origin: Origin::Signed(AccountId::dev(uri)),
        call,
    }
}

fn root(call: Call) -> Extrinsic {
    Extrinsic {
        origin: Origin::Root,
        call,
    }
}

fn static_bags() -> Vec<BagId> {
    let mut bags = vec![BagId::Static(StaticBagId::Council)];
    bags.extend(
        WorkingGroup::ALL
            .iter()
            .map(|g| BagId::Static(StaticBagId::WorkingGroup(*g))),
    );
    bags
}

fn operator_metadata(endpoint: &str, extra: &str) -> Bytes {
    Bytes(
        OperatorMetadata {
            endpoint: Some(endpoint.to_string()),
            location: Some(NodeLocationMetadata {
                country_code: Some("DE".into()),
                city: Some("Loopback".into()),
                coordinates: None,
            }),
            extra: Some(extra.to_string()),
        }
        .encode_to_vec(),
    )
}

/// The calls of the dev network, for block 1.
pub fn dev(constants: &Constants, network: &DevNetwork) -> Result<Vec<Extrinsic>, BootstrapError> {
    let n_storage = network.storage_endpoints.len();
    let n_distribution = network.distribution_endpoints.len();
    if n_storage < constants.min_storage_buckets_per_bag as usize {
        return Err(BootstrapError::TooFewStorageBuckets {
            profile: constants.profile,
            min: constants.min_storage_buckets_per_bag,
            got: n_storage,
        });
    }
    if n_storage > constants.max_storage_buckets_per_bag as usize {
        return Err(BootstrapError::TooManyBuckets {
            max: constants.max_storage_buckets_per_bag,
            got: n_storage,
        });
    }
    if n_distribution == 0 {
        return Err(BootstrapError::NoDistributionBucket);
    }
    if n_distribution > constants.max_distribution_buckets_per_bag as usize {
        return Err(BootstrapError::TooManyBuckets {
            max: constants.max_distribution_buckets_per_bag,
            got: n_distribution,
        });
    }
    let storage = |call| Call::Storage(call);
    let mut calls = vec![
        root(Call::StorageWorkingGroup(WorkingGroupCall::HireLead {
            role_account: AccountId::dev(STORAGE_LEAD),
        })),
        root(Call::DistributionWorkingGroup(WorkingGroupCall::HireLead {
            role_account: AccountId::dev(DISTRIBUTION_LEAD),
        })),
    ];
    let mut funded: Vec<String> =
        vec![STORAGE_LEAD.into(), DISTRIBUTION_LEAD.into(), MEMBER.into()];
    funded.extend((0..n_storage).flat_map(|i| [storage_worker(i), storage_transactor(i)]));
    funded.extend((0..n_distribution).map(distribution_worker));
    for uri in &funded {
        calls.push(root(Call::Balances(BalancesCall::ForceSetBalance {
            who: AccountId::dev(uri),
            new_free: 100_000 * JOY,
        })));
    }
    for i in 0..n_storage {
        calls.push(signed(
            STORAGE_LEAD,
            Call::StorageWorkingGroup(WorkingGroupCall::HireWorker {
                role_account: AccountId::dev(&storage_worker(i)),
            }),
        ));
    }
    let per_bag = n_storage as u32;
    for bag_type in [DynamicBagType::Member, DynamicBagType::Channel] {
        calls.push(signed(
            STORAGE_LEAD,
            storage(
                StorageCall::UpdateNumberOfStorageBucketsInDynamicBagCreationPolicy {
                    dynamic_bag_type: bag_type,
                    number_of_storage_buckets: per_bag,
                },
            ),
        ));
    }
    let (size_limit, objects_limit) = (100u64 << 40, 10_000_000u64);
    calls.push(signed(
        STORAGE_LEAD,
        storage(StorageCall::UpdateStorageBucketsVoucherMaxLimits {
            new_objects_size: size_limit,
            new_objects_number: objects_limit,
        }),
    ));
    calls.push(signed(
        STORAGE_LEAD,
        storage(StorageCall::UpdateStorageBucketsPerBagLimit { new_limit: per_bag }),
    ));
    for i in 0..n_storage {
        calls.push(signed(
            STORAGE_LEAD,
            storage(StorageCall::CreateStorageBucket {
                invite_worker: Some(i as u64 + 1),
                accepting_new_bags: true,
                size_limit,
                objects_limit,
            }),
        ));
    }
    for (i, endpoint) in network.storage_endpoints.iter().enumerate() {
        let worker = &storage_worker(i);
        calls.push(signed(
            worker,
            storage(StorageCall::AcceptStorageBucketInvitation {
                worker_id: i as u64 + 1,
                storage_bucket_id: i as u64,
                transactor_account_id: AccountId::dev(&storage_transactor(i)),
            }),
        ));
        calls.push(signed(
            worker,
            storage(StorageCall::SetStorageOperatorMetadata {
                worker_id: i as u64 + 1,
                storage_bucket_id: i as u64,
                metadata: operator_metadata(endpoint, &format!("hecaton dev storage node {i}")),
            }),
        ));
    }
    let all_storage: BTreeSet<u64> = (0..n_storage as u64).collect();
    for bag_id in static_bags() {
        calls.push(signed(
            STORAGE_LEAD,
            storage(StorageCall::UpdateStorageBucketsForBag {
                bag_id,
                add_buckets: all_storage.clone(),
                remove_buckets: BTreeSet::new(),
            }),
        ));
    }
    // Distribution: family 0 with one bucket per endpoint.
    calls.push(signed(
        DISTRIBUTION_LEAD,
        storage(StorageCall::CreateDistributionBucketFamily),
    ));
    calls.push(signed(
        DISTRIBUTION_LEAD,
        storage(StorageCall::SetDistributionBucketFamilyMetadata {
            family_id: 0,
            metadata: Bytes(
                FamilyMetadata {
                    region: Some("dev-loopback".into()),
                    description: Some("hecaton dev network".into()),
                    areas: Vec::new(),
                    latency_test_targets: vec!["127.0.0.1".into()],
                }
                .encode_to_vec(),
            ),
        }),
    ));
    calls.push(signed(
        DISTRIBUTION_LEAD,
        storage(StorageCall::UpdateDistributionBucketsPerBagLimit {
            new_limit: n_distribution as u32,
        }),
    ));
    for (i, endpoint) in network.distribution_endpoints.iter().enumerate() {
        let worker_id = i as u64 + 1;
        let bucket_id = DistributionBucketId {
            family: 0,
            index: i as u64,
        };
        let worker = &distribution_worker(i);
        calls.extend([
            signed(
                DISTRIBUTION_LEAD,
                Call::DistributionWorkingGroup(WorkingGroupCall::HireWorker {
                    role_account: AccountId::dev(worker),
                }),
            ),
            signed(
                DISTRIBUTION_LEAD,
                storage(StorageCall::CreateDistributionBucket {
                    family_id: 0,
                    accepting_new_bags: true,
                }),
            ),
            signed(
                DISTRIBUTION_LEAD,
                storage(StorageCall::InviteDistributionBucketOperator {
                    bucket_id,
                    operator_worker_id: worker_id,
                }),
            ),
            signed(
                worker,
                storage(StorageCall::AcceptDistributionBucketInvitation {
                    worker_id,
                    bucket_id,
                }),
            ),
            signed(
                worker,
                storage(StorageCall::SetDistributionOperatorMetadata {
                    worker_id,
                    bucket_id,
                    metadata: operator_metadata(endpoint, &format!("hecaton dev distributor {i}")),
                }),
            ),
        ]);
    }
    for bag_type in [DynamicBagType::Member, DynamicBagType::Channel] {
        calls.push(signed(
            DISTRIBUTION_LEAD,
            storage(StorageCall::UpdateFamiliesInDynamicBagCreationPolicy {
                dynamic_bag_type: bag_type,
                families: BTreeMap::from([(0, n_distribution as u32)]),
            }),
        ));
    }
    let all_distribution: BTreeSet<u64> = (0..n_distribution as u64).collect();
    for bag_id in static_bags() {
        calls.push(signed(
            DISTRIBUTION_LEAD,
            storage(StorageCall::UpdateDistributionBucketsForBag {
                bag_id,
                family_id: 0,
                add_buckets_indices: all_distribution.clone(),
                remove_buckets_indices: BTreeSet::new(),
            }),
        ));
    }
    calls.push(signed(
        MEMBER,
        Call::Members(MembershipCall::BuyMembership {
            handle: "dev".into(),
        }),
    ));
    Ok(calls)
}
