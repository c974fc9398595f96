//! Calls, with the chain's call and argument names, and the origin each is submitted with.
//!
//! JSON: `{"pallet": "Storage", "call": {"create_storage_bucket": {"invite_worker": null, ...}}}`.

use std::collections::{BTreeMap, BTreeSet};

use hecaton_shared::{BagId, DistributionBucketId, DynamicBagId};
use serde::{Deserialize, Serialize};

use crate::account::AccountId;
use crate::storage_types::{
    Bytes, Cid, DataObjectCreationParameters, DynBagCreationParameters, DynamicBagType,
    UploadParameters,
};

/// Who submits a call. The embedded chain checks no signature: the caller declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Origin {
    /// Root (sudo / governance).
    Root,
    /// Unsigned.
    None,
    /// Signed by this account.
    Signed(AccountId),
}

/// A call to one of the modelled pallets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "pallet", content = "call")]
pub enum Call {
    /// The `Storage` pallet's 35 extrinsics.
    Storage(StorageCall),
    /// The pallet's `DataObjectStorage` trait, reachable with Root origin (the real runtime
    /// reaches it only through the content pallet; Root access lets tools exercise member bags
    /// and moves).
    DataObjectStorage(TraitCall),
    /// The storage working group.
    StorageWorkingGroup(WorkingGroupCall),
    /// The distribution working group.
    DistributionWorkingGroup(WorkingGroupCall),
    /// Balances.
    Balances(BalancesCall),
    /// Membership.
    Members(MembershipCall),
    /// Content (channels and videos), the trait's caller.
    Content(ContentCall),
}

/// The `Storage` pallet's extrinsics, in call-index order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[allow(missing_docs)]
pub enum StorageCall {
    DeleteStorageBucket {
        storage_bucket_id: u64,
    },
    UpdateUploadingBlockedStatus {
        new_status: bool,
    },
    UpdateDataSizeFee {
        #[serde(with = "crate::amount")]
        new_data_size_fee: u128,
    },
    UpdateStorageBucketsPerBagLimit {
        new_limit: u32,
    },
    UpdateStorageBucketsVoucherMaxLimits {
        new_objects_size: u64,
        new_objects_number: u64,
    },
    UpdateDataObjectStateBloatBond {
        #[serde(with = "crate::amount")]
        state_bloat_bond: u128,
    },
    UpdateNumberOfStorageBucketsInDynamicBagCreationPolicy {
        dynamic_bag_type: DynamicBagType,
        number_of_storage_buckets: u32,
    },
    UpdateBlacklist {
        remove_hashes: BTreeSet<Cid>,
        add_hashes: BTreeSet<Cid>,
    },
    CreateStorageBucket {
        invite_worker: Option<u64>,
        accepting_new_bags: bool,
        size_limit: u64,
        objects_limit: u64,
    },
    UpdateStorageBucketsForBag {
        bag_id: BagId,
        add_buckets: BTreeSet<u64>,
        remove_buckets: BTreeSet<u64>,
    },
    CancelStorageBucketOperatorInvite {
        storage_bucket_id: u64,
    },
    InviteStorageBucketOperator {
        storage_bucket_id: u64,
        operator_id: u64,
    },
    RemoveStorageBucketOperator {
        storage_bucket_id: u64,
    },
    UpdateStorageBucketStatus {
        storage_bucket_id: u64,
        accepting_new_bags: bool,
    },
    SetStorageBucketVoucherLimits {
        storage_bucket_id: u64,
        new_objects_size_limit: u64,
        new_objects_number_limit: u64,
    },
    AcceptStorageBucketInvitation {
        worker_id: u64,
        storage_bucket_id: u64,
        transactor_account_id: AccountId,
    },
    SetStorageOperatorMetadata {
        worker_id: u64,
        storage_bucket_id: u64,
        metadata: Bytes,
    },
    AcceptPendingDataObjects {
        worker_id: u64,
        storage_bucket_id: u64,
        bag_id: BagId,
        data_objects: BTreeSet<u64>,
    },
    CreateDistributionBucketFamily,
    DeleteDistributionBucketFamily {
        family_id: u64,
    },
    CreateDistributionBucket {
        family_id: u64,
        accepting_new_bags: bool,
    },
    UpdateDistributionBucketStatus {
        bucket_id: DistributionBucketId,
        accepting_new_bags: bool,
    },
    DeleteDistributionBucket {
        bucket_id: DistributionBucketId,
    },
    UpdateDistributionBucketsForBag {
        bag_id: BagId,
        family_id: u64,
        add_buckets_indices: BTreeSet<u64>,
        remove_buckets_indices: BTreeSet<u64>,
    },
    UpdateDistributionBucketsPerBagLimit {
        new_limit: u32,
    },
    UpdateDistributionBucketMode {
        bucket_id: DistributionBucketId,
        distributing: bool,
    },
    UpdateFamiliesInDynamicBagCreationPolicy {
        dynamic_bag_type: DynamicBagType,
        families: BTreeMap<u64, u32>,
    },
    InviteDistributionBucketOperator {
        bucket_id: DistributionBucketId,
        operator_worker_id: u64,
    },
    CancelDistributionBucketOperatorInvite {
        bucket_id: DistributionBucketId,
        operator_worker_id: u64,
    },
    RemoveDistributionBucketOperator {
        bucket_id: DistributionBucketId,
        operator_worker_id: u64,
    },
    SetDistributionBucketFamilyMetadata {
        family_id: u64,
        metadata: Bytes,
    },
    AcceptDistributionBucketInvitation {
        worker_id: u64,
        bucket_id: DistributionBucketId,
    },
    SetDistributionOperatorMetadata {
        worker_id: u64,
        bucket_id: DistributionBucketId,
        metadata: Bytes,
    },
    StorageOperatorRemark {
        worker_id: u64,
        storage_bucket_id: u64,
        msg: Bytes,
    },
    DistributionOperatorRemark {
        worker_id: u64,
        distribution_bucket_id: DistributionBucketId,
        msg: Bytes,
    },
}

/// The `DataObjectStorage` trait's mutating methods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[allow(missing_docs)]
pub enum TraitCall {
    UploadDataObjects {
        params: UploadParameters,
    },
    UploadAndDeleteDataObjects {
        params: UploadParameters,
        objects_to_remove: BTreeSet<u64>,
    },
    DeleteDataObjects {
        state_bloat_bond_account_id: AccountId,
        bag_id: BagId,
        objects: BTreeSet<u64>,
    },
    MoveDataObjects {
        src_bag_id: BagId,
        dest_bag_id: BagId,
        objects: BTreeSet<u64>,
    },
    CreateDynamicBag {
        params: DynBagCreationParameters,
    },
    DeleteDynamicBag {
        account_id: AccountId,
        bag_id: DynamicBagId,
    },
}

/// Working-group calls. Hiring is direct (no openings): Root sets the lead, the lead hires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[allow(missing_docs)]
pub enum WorkingGroupCall {
    /// Root: hire a lead (fails if one is set).
    HireLead { role_account: AccountId },
    /// Lead: hire a worker.
    HireWorker { role_account: AccountId },
    /// The worker itself: change its role account.
    UpdateRoleAccount {
        worker_id: u64,
        new_role_account: AccountId,
    },
    /// Lead for workers, Root for the lead.
    TerminateRole { worker_id: u64 },
}

/// Balances calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[allow(missing_docs)]
pub enum BalancesCall {
    TransferKeepAlive {
        dest: AccountId,
        #[serde(with = "crate::amount")]
        value: u128,
    },
    /// Root: set an account's free balance (the dev faucet).
    ForceSetBalance {
        who: AccountId,
        #[serde(with = "crate::amount")]
        new_free: u128,
    },
}

/// Membership calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[allow(missing_docs)]
pub enum MembershipCall {
    /// The signer becomes root and controller account of a new member.
    BuyMembership { handle: String },
}

/// Content calls: the only runtime callers of the storage trait.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[allow(missing_docs)]
pub enum ContentCall {
    CreateChannel {
        member_id: u64,
        assets: Vec<DataObjectCreationParameters>,
        #[serde(with = "crate::amount")]
        expected_data_size_fee: u128,
        #[serde(with = "crate::amount")]
        expected_data_object_state_bloat_bond: u128,
        storage_buckets: BTreeSet<u64>,
        distribution_buckets: BTreeSet<DistributionBucketId>,
    },
    UpdateChannelAssets {
        channel_id: u64,
        assets_to_upload: Vec<DataObjectCreationParameters>,
        assets_to_remove: BTreeSet<u64>,
        #[serde(with = "crate::amount")]
        expected_data_size_fee: u128,
        #[serde(with = "crate::amount")]
        expected_data_object_state_bloat_bond: u128,
        storage_buckets_num_witness: Option<u32>,
    },
    DeleteChannel {
        channel_id: u64,
        storage_buckets_num_witness: u32,
    },
    CreateVideo {
        channel_id: u64,
        assets: Vec<DataObjectCreationParameters>,
        #[serde(with = "crate::amount")]
        expected_data_size_fee: u128,
        #[serde(with = "crate::amount")]
        expected_data_object_state_bloat_bond: u128,
    },
    UpdateVideoAssets {
        video_id: u64,
        assets_to_upload: Vec<DataObjectCreationParameters>,
        assets_to_remove: BTreeSet<u64>,
        #[serde(with = "crate::amount")]
        expected_data_size_fee: u128,
        #[serde(with = "crate::amount")]
        expected_data_object_state_bloat_bond: u128,
        storage_buckets_num_witness: Option<u32>,
    },
    DeleteVideo {
        video_id: u64,
        storage_buckets_num_witness: Option<u32>,
    },
}

/// A call with its origin: what a block includes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extrinsic {
    /// Declared origin.
    pub origin: Origin,
    /// The call.
    pub call: Call,
}
