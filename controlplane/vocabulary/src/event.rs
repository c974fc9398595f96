//! Events with the chain's names and positional fields, plus the
//! few the surrounding pallets emit.

use std::collections::{BTreeMap, BTreeSet};

use hecaton_shared::{BagId, DistributionBucketId, DynamicBagId};
use serde::{Deserialize, Serialize};

use crate::account::AccountId;
use crate::storage_types::{
    Bytes, Cid, DynBagCreationParameters, DynamicBagType, UploadParameters, Voucher,
};

/// A runtime event: `{"pallet": "Storage", "event": {"StorageBucketCreated": [...]}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "pallet", content = "event")]
pub enum Event {
    /// The `Storage` pallet.
    Storage(StorageEvent),
    /// The storage working group.
    StorageWorkingGroup(WorkingGroupEvent),
    /// The distribution working group.
    DistributionWorkingGroup(WorkingGroupEvent),
    /// Balances.
    Balances(BalancesEvent),
    /// Membership.
    Members(MembershipEvent),
    /// Content.
    Content(ContentEvent),
}

/// The `Storage` pallet's events, in index order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum StorageEvent {
    StorageBucketCreated(u64, Option<u64>, bool, u64, u64),
    StorageBucketInvitationAccepted(u64, u64, AccountId),
    StorageBucketsUpdatedForBag(BagId, BTreeSet<u64>, BTreeSet<u64>),
    DataObjectsUploaded(
        BTreeSet<u64>,
        UploadParameters,
        #[serde(with = "crate::amount")] u128,
    ),
    StorageOperatorMetadataSet(u64, u64, Bytes),
    StorageBucketVoucherLimitsSet(u64, u64, u64),
    PendingDataObjectsAccepted(u64, u64, BagId, BTreeSet<u64>),
    StorageBucketInvitationCancelled(u64),
    StorageBucketOperatorInvited(u64, u64),
    StorageBucketOperatorRemoved(u64),
    UploadingBlockStatusUpdated(bool),
    DataObjectPerMegabyteFeeUpdated(#[serde(with = "crate::amount")] u128),
    StorageBucketsPerBagLimitUpdated(u32),
    StorageBucketsVoucherMaxLimitsUpdated(u64, u64),
    DataObjectsMoved(BagId, BagId, BTreeSet<u64>),
    DataObjectsDeleted(AccountId, BagId, BTreeSet<u64>),
    StorageBucketStatusUpdated(u64, bool),
    UpdateBlacklist(BTreeSet<Cid>, BTreeSet<Cid>),
    DynamicBagDeleted(DynamicBagId),
    DynamicBagCreated(DynBagCreationParameters, BTreeSet<u64>),
    VoucherChanged(u64, Voucher),
    StorageBucketDeleted(u64),
    NumberOfStorageBucketsInDynamicBagCreationPolicyUpdated(DynamicBagType, u32),
    DistributionBucketFamilyCreated(u64),
    DistributionBucketFamilyDeleted(u64),
    DistributionBucketCreated(u64, bool, DistributionBucketId),
    DistributionBucketStatusUpdated(DistributionBucketId, bool),
    DistributionBucketDeleted(DistributionBucketId),
    DistributionBucketsUpdatedForBag(BagId, u64, BTreeSet<u64>, BTreeSet<u64>),
    DistributionBucketsPerBagLimitUpdated(u32),
    DistributionBucketModeUpdated(DistributionBucketId, bool),
    FamiliesInDynamicBagCreationPolicyUpdated(DynamicBagType, BTreeMap<u64, u32>),
    DistributionBucketOperatorInvited(DistributionBucketId, u64),
    DistributionBucketInvitationCancelled(DistributionBucketId, u64),
    DistributionBucketInvitationAccepted(u64, DistributionBucketId),
    DistributionBucketMetadataSet(u64, DistributionBucketId, Bytes),
    DistributionBucketOperatorRemoved(DistributionBucketId, u64),
    DistributionBucketFamilyMetadataSet(u64, Bytes),
    DataObjectStateBloatBondValueUpdated(#[serde(with = "crate::amount")] u128),
    DataObjectsUpdated(UploadParameters, BTreeSet<u64>, BTreeSet<u64>),
    StorageOperatorRemarked(u64, u64, Bytes),
    DistributionOperatorRemarked(u64, DistributionBucketId, Bytes),
}

/// Working-group events (hiring is simplified: no openings or applications).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum WorkingGroupEvent {
    LeaderSet(u64),
    WorkerHired(u64, AccountId),
    WorkerRoleAccountUpdated(u64, AccountId),
    TerminatedWorker(u64),
    TerminatedLeader(u64),
}

/// Balances events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum BalancesEvent {
    /// from, to, amount
    Transfer(AccountId, AccountId, #[serde(with = "crate::amount")] u128),
    /// An amount burned from an account (the data size fee).
    Withdraw(AccountId, #[serde(with = "crate::amount")] u128),
    /// Root set a free balance.
    BalanceSet(AccountId, #[serde(with = "crate::amount")] u128),
}

/// Membership events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum MembershipEvent {
    /// member id, handle, controller account
    MembershipBought(u64, String, AccountId),
}

/// Content events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum ContentEvent {
    /// channel id, owner member, data objects created with it
    ChannelCreated(u64, u64, BTreeSet<u64>),
    /// channel id, uploaded, removed
    ChannelAssetsUpdated(u64, BTreeSet<u64>, BTreeSet<u64>),
    ChannelDeleted(u64),
    /// channel id, video id, data objects
    VideoCreated(u64, u64, BTreeSet<u64>),
    /// video id, uploaded, removed
    VideoAssetsUpdated(u64, BTreeSet<u64>, BTreeSet<u64>),
    VideoDeleted(u64),
}
