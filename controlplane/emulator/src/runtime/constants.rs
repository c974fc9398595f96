//! Runtime constants, per profile.

use serde::{Deserialize, Serialize};

/// Which runtime build the embedded chain models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Mainnet's constants: at least 3 storage buckets per bag, 5 by default for new bags.
    #[default]
    Mainnet,
    /// The playground/testing build: one storage bucket per bag is enough.
    Playground,
}

/// The constants the pallet and its neighbours read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Constants {
    /// The profile these came from.
    pub profile: Profile,
    /// `BlacklistSizeLimit`.
    pub blacklist_size_limit: u64,
    /// `MinStorageBucketsPerBag`.
    pub min_storage_buckets_per_bag: u32,
    /// `MaxStorageBucketsPerBag` (also the bound of `stored_by`).
    pub max_storage_buckets_per_bag: u32,
    /// `MinDistributionBucketsPerBag`.
    pub min_distribution_buckets_per_bag: u32,
    /// `MaxDistributionBucketsPerBag` (also the bound of `distributed_by`).
    pub max_distribution_buckets_per_bag: u32,
    /// `DefaultMemberDynamicBagNumberOfStorageBuckets`.
    pub default_member_dynamic_bag_number_of_storage_buckets: u32,
    /// `DefaultChannelDynamicBagNumberOfStorageBuckets`.
    pub default_channel_dynamic_bag_number_of_storage_buckets: u32,
    /// `MaxDistributionBucketFamilyNumber`.
    pub max_distribution_bucket_family_number: u64,
    /// `MaxNumberOfPendingInvitationsPerDistributionBucket`.
    pub max_number_of_pending_invitations_per_distribution_bucket: u32,
    /// `MaxNumberOfOperatorsPerDistributionBucket`.
    pub max_number_of_operators_per_distribution_bucket: u32,
    /// `MaxDataObjectSize`, bytes.
    pub max_data_object_size: u64,
    /// Balances' `ExistentialDeposit`, HAPI (also the treasury's genesis balance).
    pub existential_deposit: u128,
    /// Genesis `DataObjectPerMegabyteFee`, HAPI per started MiB.
    pub genesis_data_object_per_megabyte_fee: u128,
    /// Genesis `DataObjectStateBloatBondValue`, HAPI per object (§6 estimate).
    pub genesis_data_object_state_bloat_bond: u128,
    /// Content pallet: assets per channel.
    pub max_channel_assets: u32,
    /// Content pallet: assets per video.
    pub max_video_assets: u32,
}

/// 1 JOY in HAPI.
pub const JOY: u128 = 10_000_000_000;
const MILLICENTS: u128 = 1_666_666;

impl Constants {
    /// The constants of a profile.
    pub fn for_profile(profile: Profile) -> Self {
        let (min_storage, default_storage) = match profile {
            Profile::Mainnet => (3, 5),
            Profile::Playground => (1, 1),
        };
        Self {
            profile,
            blacklist_size_limit: 1000,
            min_storage_buckets_per_bag: min_storage,
            max_storage_buckets_per_bag: 13,
            min_distribution_buckets_per_bag: 1,
            max_distribution_buckets_per_bag: 51,
            default_member_dynamic_bag_number_of_storage_buckets: default_storage,
            default_channel_dynamic_bag_number_of_storage_buckets: default_storage,
            max_distribution_bucket_family_number: 200,
            max_number_of_pending_invitations_per_distribution_bucket: 20,
            max_number_of_operators_per_distribution_bucket: 20,
            max_data_object_size: 64_424_509_440,
            existential_deposit: 266_666_560,
            genesis_data_object_per_megabyte_fee: 5 * MILLICENTS,
            genesis_data_object_state_bloat_bond: 383_499_833,
            max_channel_assets: 10,
            max_video_assets: 20,
        }
    }
}
