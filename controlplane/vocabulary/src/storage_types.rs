//! The `Storage` pallet's records, field for field.

use std::collections::{BTreeMap, BTreeSet};

use hecaton_shared::{BagId, DistributionBucketId, DynamicBagId};
use serde::{Deserialize, Serialize};

use crate::account::AccountId;

/// The ASCII bytes of a content id, as `ipfs_content_id` holds them. Serialized as text when
/// they are UTF-8 (always, for content ids node software writes), else as `0x` hex.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cid(pub Vec<u8>);

impl Serialize for Cid {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(text) if !text.starts_with("0x") => serializer.serialize_str(text),
            _ => serializer.collect_str(&format_args!("0x{}", hex::encode(&self.0))),
        }
    }
}

impl<'de> Deserialize<'de> for Cid {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        bytes_from_text(&text)
            .map(Cid)
            .map_err(serde::de::Error::custom)
    }
}

/// Free-form bytes (metadata, remarks): `0x` hex in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bytes(pub Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("0x{}", hex::encode(&self.0)))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let hex_text = text
            .strip_prefix("0x")
            .ok_or_else(|| serde::de::Error::custom("bytes must be 0x-prefixed hex"))?;
        hex::decode(hex_text)
            .map(Bytes)
            .map_err(serde::de::Error::custom)
    }
}

fn bytes_from_text(text: &str) -> Result<Vec<u8>, hex::FromHexError> {
    match text.strip_prefix("0x") {
        Some(hex_text) => hex::decode(hex_text),
        None => Ok(text.as_bytes().to_vec()),
    }
}

/// The kind of a dynamic bag: the key of the creation policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DynamicBagType {
    /// Member bags.
    Member,
    /// Channel bags.
    Channel,
}

impl DynamicBagType {
    /// The type of a dynamic bag id.
    pub fn of(id: DynamicBagId) -> Self {
        match id {
            DynamicBagId::Member(_) => Self::Member,
            DynamicBagId::Channel(_) => Self::Channel,
        }
    }
}

/// `BagRecord`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Bag {
    /// Storage buckets holding the bag.
    pub stored_by: BTreeSet<u64>,
    /// Distribution buckets serving the bag.
    pub distributed_by: BTreeSet<DistributionBucketId>,
    /// Sum of the objects' sizes, bytes.
    pub objects_total_size: u64,
    /// Number of objects.
    pub objects_number: u64,
}

/// `RepayableBloatBond`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepayableBloatBond {
    /// Who gets the bond back, whoever deletes the object; `None`: the account the deleter names.
    pub repayment_restricted_to: Option<AccountId>,
    /// The bond.
    #[serde(with = "crate::amount")]
    pub amount: u128,
}

/// `DataObject`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataObject {
    /// Accepted by a storage operator.
    pub accepted: bool,
    /// The bond paid for it.
    pub state_bloat_bond: RepayableBloatBond,
    /// Size in bytes, as the uploader declared.
    pub size: u64,
    /// The content id's ASCII bytes.
    pub ipfs_content_id: Cid,
}

/// `DataObjectCreationParameters`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataObjectCreationParameters {
    /// Bytes.
    pub size: u64,
    /// Content id (text, or `0x` hex for arbitrary bytes).
    pub ipfs_content_id: Cid,
}

/// `UploadParametersRecord`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadParameters {
    /// Target bag.
    pub bag_id: BagId,
    /// Objects to create, in id order.
    pub object_creation_list: Vec<DataObjectCreationParameters>,
    /// Who pays bonds and fee.
    pub state_bloat_bond_source_account_id: AccountId,
    /// Must equal the current fee per MiB.
    #[serde(with = "crate::amount")]
    pub expected_data_size_fee: u128,
    /// Must equal the current bond per object.
    #[serde(with = "crate::amount")]
    pub expected_data_object_state_bloat_bond: u128,
}

/// `DynBagCreationParametersRecord`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DynBagCreationParameters {
    /// The new bag.
    pub bag_id: DynamicBagId,
    /// Objects to create with it.
    pub object_creation_list: Vec<DataObjectCreationParameters>,
    /// Who pays bonds and fee.
    pub state_bloat_bond_source_account_id: AccountId,
    /// Must equal the current fee per MiB (checked only with objects).
    #[serde(with = "crate::amount")]
    pub expected_data_size_fee: u128,
    /// Must equal the current bond (checked only with objects).
    #[serde(with = "crate::amount")]
    pub expected_data_object_state_bloat_bond: u128,
    /// Exactly the policy's number of storage buckets.
    pub storage_buckets: BTreeSet<u64>,
    /// Exactly the policy's count per family.
    pub distribution_buckets: BTreeSet<DistributionBucketId>,
}

/// `Voucher`: a storage bucket's limits and usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Voucher {
    /// Bytes allowed.
    pub size_limit: u64,
    /// Objects allowed.
    pub objects_limit: u64,
    /// Bytes used.
    pub size_used: u64,
    /// Objects used.
    pub objects_used: u64,
}

/// `StorageBucketOperatorStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum StorageBucketOperatorStatus {
    /// No operator, no invitation.
    #[default]
    Missing,
    /// This worker is invited.
    InvitedStorageWorker(u64),
    /// This worker operates it; the account is its transactor.
    StorageWorker(u64, AccountId),
}

/// `StorageBucketRecord`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageBucket {
    /// Operator or invitation.
    pub operator_status: StorageBucketOperatorStatus,
    /// Whether `update_storage_buckets_for_bag` may add it to bags.
    pub accepting_new_bags: bool,
    /// Limits and usage.
    pub voucher: Voucher,
    /// Bags listing it in `stored_by`.
    pub assigned_bags: u64,
}

/// `DistributionBucketFamilyRecord`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DistributionBucketFamily {
    /// The next bucket index in this family (never reused).
    pub next_distribution_bucket_index: u64,
}

/// `DistributionBucketRecord`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistributionBucket {
    /// Whether bags may be added by `update_distribution_buckets_for_bag`.
    pub accepting_new_bags: bool,
    /// Informational only.
    pub distributing: bool,
    /// Invited workers.
    pub pending_invitations: BTreeSet<u64>,
    /// Operating workers.
    pub operators: BTreeSet<u64>,
    /// Bags listing it in `distributed_by`.
    pub assigned_bags: u64,
}

/// `DynamicBagCreationPolicy`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DynamicBagCreationPolicy {
    /// Storage buckets a new bag must get.
    pub number_of_storage_buckets: u32,
    /// Distribution buckets per family a new bag must get.
    pub families: BTreeMap<u64, u32>,
}
