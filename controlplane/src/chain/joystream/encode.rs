//! The model's types as `scale_value::Value`s shaped like the chain's: the arguments of a
//! dynamic call, and (for tests and the fake node) storage values and events. The metadata's
//! type information turns them into SCALE, and refuses a shape that does not match.

use std::collections::{BTreeMap, BTreeSet};

use hecaton_shared::{BagId, DistributionBucketId, DynamicBagId, StaticBagId, WorkingGroup};
use subxt::dynamic::Value;

use crate::account::AccountId;
use hecaton_vocabulary::call::StorageCall;
use hecaton_vocabulary::event::StorageEvent;
use hecaton_vocabulary::storage_types::{
    Bag, Bytes, Cid, DataObject, DataObjectCreationParameters, DistributionBucket,
    DistributionBucketFamily, DynBagCreationParameters, DynamicBagCreationPolicy, DynamicBagType,
    StorageBucket, StorageBucketOperatorStatus, UploadParameters, Voucher,
};

/// A value in the chain's shape.
pub trait ToValue {
    /// The value.
    fn to_value(&self) -> Value;
}

macro_rules! unsigned {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                Value::u128(u128::from(*self))
            }
        }
    )*};
}
unsigned!(u8, u32, u64, u128);

impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::bool(*self)
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        match self {
            Some(v) => Value::unnamed_variant("Some", [v.to_value()]),
            None => Value::unnamed_variant("None", []),
        }
    }
}

impl<T: ToValue> ToValue for BTreeSet<T> {
    fn to_value(&self) -> Value {
        Value::unnamed_composite(self.iter().map(ToValue::to_value))
    }
}

impl<T: ToValue> ToValue for Vec<T> {
    fn to_value(&self) -> Value {
        Value::unnamed_composite(self.iter().map(ToValue::to_value))
    }
}

impl<K: ToValue, V: ToValue> ToValue for BTreeMap<K, V> {
    fn to_value(&self) -> Value {
        Value::unnamed_composite(
            self.iter()
                .map(|(k, v)| Value::unnamed_composite([k.to_value(), v.to_value()])),
        )
    }
}

impl ToValue for AccountId {
    fn to_value(&self) -> Value {
        Value::from_bytes(self.0)
    }
}

impl ToValue for Bytes {
    fn to_value(&self) -> Value {
        Value::from_bytes(&self.0)
    }
}

impl ToValue for Cid {
    fn to_value(&self) -> Value {
        Value::from_bytes(&self.0)
    }
}

fn unit(name: &str) -> Value {
    Value::unnamed_variant(name, [])
}

impl ToValue for WorkingGroup {
    fn to_value(&self) -> Value {
        unit(match self {
            WorkingGroup::Forum => "Forum",
            WorkingGroup::Storage => "Storage",
            WorkingGroup::Content => "Content",
            WorkingGroup::OperationsAlpha => "OperationsAlpha",
            WorkingGroup::App => "App",
            WorkingGroup::Distribution => "Distribution",
            WorkingGroup::OperationsBeta => "OperationsBeta",
            WorkingGroup::OperationsGamma => "OperationsGamma",
            WorkingGroup::Membership => "Membership",
        })
    }
}

impl ToValue for DynamicBagId {
    fn to_value(&self) -> Value {
        match self {
            DynamicBagId::Member(n) => Value::unnamed_variant("Member", [n.to_value()]),
            DynamicBagId::Channel(n) => Value::unnamed_variant("Channel", [n.to_value()]),
        }
    }
}

impl ToValue for BagId {
    fn to_value(&self) -> Value {
        match self {
            BagId::Static(StaticBagId::Council) => {
                Value::unnamed_variant("Static", [unit("Council")])
            }
            BagId::Static(StaticBagId::WorkingGroup(g)) => Value::unnamed_variant(
                "Static",
                [Value::unnamed_variant("WorkingGroup", [g.to_value()])],
            ),
            BagId::Dynamic(d) => Value::unnamed_variant("Dynamic", [d.to_value()]),
        }
    }
}

impl ToValue for DynamicBagType {
    fn to_value(&self) -> Value {
        unit(match self {
            DynamicBagType::Member => "Member",
            DynamicBagType::Channel => "Channel",
        })
    }
}

impl ToValue for DistributionBucketId {
    fn to_value(&self) -> Value {
        Value::named_composite([
            ("distribution_bucket_family_id", self.family.to_value()),
            ("distribution_bucket_index", self.index.to_value()),
        ])
    }
}

impl ToValue for Bag {
    fn to_value(&self) -> Value {
        Value::named_composite([
            ("stored_by", self.stored_by.to_value()),
            ("distributed_by", self.distributed_by.to_value()),
            ("objects_total_size", self.objects_total_size.to_value()),
            ("objects_number", self.objects_number.to_value()),
        ])
    }
}

impl ToValue for DataObject {
    fn to_value(&self) -> Value {
        let bond = &self.state_bloat_bond;
        Value::named_composite([
            ("accepted", self.accepted.to_value()),
            (
                "state_bloat_bond",
                Value::named_composite([
                    (
                        "repayment_restricted_to",
                        bond.repayment_restricted_to.to_value(),
                    ),
                    ("amount", bond.amount.to_value()),
                ]),
            ),
            ("size", self.size.to_value()),
            ("ipfs_content_id", self.ipfs_content_id.to_value()),
        ])
    }
}

impl ToValue for Voucher {
    fn to_value(&self) -> Value {
        Value::named_composite([
            ("size_limit", self.size_limit.to_value()),
            ("objects_limit", self.objects_limit.to_value()),
            ("size_used", self.size_used.to_value()),
            ("objects_used", self.objects_used.to_value()),
        ])
    }
}

impl ToValue for StorageBucket {
    fn to_value(&self) -> Value {
        let status = match self.operator_status {
            StorageBucketOperatorStatus::Missing => unit("Missing"),
            StorageBucketOperatorStatus::InvitedStorageWorker(w) => {
                Value::unnamed_variant("InvitedStorageWorker", [w.to_value()])
            }
            StorageBucketOperatorStatus::StorageWorker(w, a) => {
                Value::unnamed_variant("StorageWorker", [w.to_value(), a.to_value()])
            }
        };
        Value::named_composite([
            ("operator_status", status),
            ("accepting_new_bags", self.accepting_new_bags.to_value()),
            ("voucher", self.voucher.to_value()),
            ("assigned_bags", self.assigned_bags.to_value()),
        ])
    }
}

impl ToValue for DistributionBucketFamily {
    fn to_value(&self) -> Value {
        Value::named_composite([(
            "next_distribution_bucket_index",
            self.next_distribution_bucket_index.to_value(),
        )])
    }
}

impl ToValue for DistributionBucket {
    fn to_value(&self) -> Value {
        Value::named_composite([
            ("accepting_new_bags", self.accepting_new_bags.to_value()),
            ("distributing", self.distributing.to_value()),
            ("pending_invitations", self.pending_invitations.to_value()),
            ("operators", self.operators.to_value()),
            ("assigned_bags", self.assigned_bags.to_value()),
        ])
    }
}

impl ToValue for DynamicBagCreationPolicy {
    fn to_value(&self) -> Value {
        Value::named_composite([
            (
                "number_of_storage_buckets",
                self.number_of_storage_buckets.to_value(),
            ),
            ("families", self.families.to_value()),
        ])
    }
}

impl ToValue for DataObjectCreationParameters {
    fn to_value(&self) -> Value {
        Value::named_composite([
            ("size", self.size.to_value()),
            ("ipfs_content_id", self.ipfs_content_id.to_value()),
        ])
    }
}

/// The fields an upload and a dynamic bag's creation share, after `bag_id`.
fn upload_fields(
    objects: &[DataObjectCreationParameters],
    payer: &AccountId,
    fee: u128,
    bond: u128,
) -> [(&'static str, Value); 4] {
    [
        ("object_creation_list", objects.to_vec().to_value()),
        ("state_bloat_bond_source_account_id", payer.to_value()),
        ("expected_data_size_fee", fee.to_value()),
        ("expected_data_object_state_bloat_bond", bond.to_value()),
    ]
}

impl ToValue for UploadParameters {
    fn to_value(&self) -> Value {
        let shared = upload_fields(
            &self.object_creation_list,
            &self.state_bloat_bond_source_account_id,
            self.expected_data_size_fee,
            self.expected_data_object_state_bloat_bond,
        );
        Value::named_composite(std::iter::once(("bag_id", self.bag_id.to_value())).chain(shared))
    }
}

impl ToValue for DynBagCreationParameters {
    fn to_value(&self) -> Value {
        let shared = upload_fields(
            &self.object_creation_list,
            &self.state_bloat_bond_source_account_id,
            self.expected_data_size_fee,
            self.expected_data_object_state_bloat_bond,
        );
        Value::named_composite(
            std::iter::once(("bag_id", self.bag_id.to_value()))
                .chain(shared)
                .chain([
                    ("storage_buckets", self.storage_buckets.to_value()),
                    ("distribution_buckets", self.distribution_buckets.to_value()),
                ]),
        )
    }
}

/// `$name($field, ...)` variants of `$enum` as unnamed variants of their fields' values.
macro_rules! positional {
    ($value:expr, $enum:ident: $($name:ident($($f:ident),*)),* $(,)?) => {
        match $value {
            $($enum::$name($($f),*) => {
                Value::unnamed_variant(stringify!($name), [$($f.to_value()),*])
            })*
        }
    };
}

impl ToValue for StorageEvent {
    fn to_value(&self) -> Value {
        positional!(self, StorageEvent:
            StorageBucketCreated(a, b, c, d, e),
            StorageBucketInvitationAccepted(a, b, c),
            StorageBucketsUpdatedForBag(a, b, c),
            DataObjectsUploaded(a, b, c),
            StorageOperatorMetadataSet(a, b, c),
            StorageBucketVoucherLimitsSet(a, b, c),
            PendingDataObjectsAccepted(a, b, c, d),
            StorageBucketInvitationCancelled(a),
            StorageBucketOperatorInvited(a, b),
            StorageBucketOperatorRemoved(a),
            UploadingBlockStatusUpdated(a),
            DataObjectPerMegabyteFeeUpdated(a),
            StorageBucketsPerBagLimitUpdated(a),
            StorageBucketsVoucherMaxLimitsUpdated(a, b),
            DataObjectsMoved(a, b, c),
            DataObjectsDeleted(a, b, c),
            StorageBucketStatusUpdated(a, b),
            UpdateBlacklist(a, b),
            DynamicBagDeleted(a),
            DynamicBagCreated(a, b),
            VoucherChanged(a, b),
            StorageBucketDeleted(a),
            NumberOfStorageBucketsInDynamicBagCreationPolicyUpdated(a, b),
            DistributionBucketFamilyCreated(a),
            DistributionBucketFamilyDeleted(a),
            DistributionBucketCreated(a, b, c),
            DistributionBucketStatusUpdated(a, b),
            DistributionBucketDeleted(a),
            DistributionBucketsUpdatedForBag(a, b, c, d),
            DistributionBucketsPerBagLimitUpdated(a),
            DistributionBucketModeUpdated(a, b),
            FamiliesInDynamicBagCreationPolicyUpdated(a, b),
            DistributionBucketOperatorInvited(a, b),
            DistributionBucketInvitationCancelled(a, b),
            DistributionBucketInvitationAccepted(a, b),
            DistributionBucketMetadataSet(a, b, c),
            DistributionBucketOperatorRemoved(a, b),
            DistributionBucketFamilyMetadataSet(a, b),
            DataObjectStateBloatBondValueUpdated(a),
            DataObjectsUpdated(a, b, c),
            StorageOperatorRemarked(a, b, c),
            DistributionOperatorRemarked(a, b, c),
        )
    }
}

/// The metadata's name of a `Storage` call (`accept_pending_data_objects`): the model's serde
/// name, which is the chain's.
pub fn call_name(call: &StorageCall) -> String {
    match serde_json::to_value(call) {
        Ok(serde_json::Value::String(name)) => name,
        Ok(serde_json::Value::Object(map)) => map.keys().next().cloned().unwrap_or_default(),
        _ => String::new(),
    }
}

/// `$name { $field, ... }` variants of `StorageCall` as their arguments, in the chain's order.
macro_rules! arguments {
    ($value:expr, $($name:ident { $($f:ident),* }),* $(,)?) => {
        match $value {
            $(StorageCall::$name { $($f),* } => vec![$($f.to_value()),*],)*
            StorageCall::CreateDistributionBucketFamily => Vec::new(),
        }
    };
}

/// A `Storage` call's positional arguments.
pub fn call_arguments(call: &StorageCall) -> Vec<Value> {
    arguments!(
        call,
        DeleteStorageBucket { storage_bucket_id },
        UpdateUploadingBlockedStatus { new_status },
        UpdateDataSizeFee { new_data_size_fee },
        UpdateStorageBucketsPerBagLimit { new_limit },
        UpdateStorageBucketsVoucherMaxLimits {
            new_objects_size,
            new_objects_number
        },
        UpdateDataObjectStateBloatBond { state_bloat_bond },
        UpdateNumberOfStorageBucketsInDynamicBagCreationPolicy {
            dynamic_bag_type,
            number_of_storage_buckets
        },
        UpdateBlacklist {
            remove_hashes,
            add_hashes
        },
        CreateStorageBucket {
            invite_worker,
            accepting_new_bags,
            size_limit,
            objects_limit
        },
        UpdateStorageBucketsForBag {
            bag_id,
            add_buckets,
            remove_buckets
        },
        CancelStorageBucketOperatorInvite { storage_bucket_id },
        InviteStorageBucketOperator {
            storage_bucket_id,
            operator_id
        },
        RemoveStorageBucketOperator { storage_bucket_id },
        UpdateStorageBucketStatus {
            storage_bucket_id,
            accepting_new_bags
        },
        SetStorageBucketVoucherLimits {
            storage_bucket_id,
            new_objects_size_limit,
            new_objects_number_limit
        },
        AcceptStorageBucketInvitation {
            worker_id,
            storage_bucket_id,
            transactor_account_id
        },
        SetStorageOperatorMetadata {
            worker_id,
            storage_bucket_id,
            metadata
        },
        AcceptPendingDataObjects {
            worker_id,
            storage_bucket_id,
            bag_id,
            data_objects
        },
        DeleteDistributionBucketFamily { family_id },
        CreateDistributionBucket {
            family_id,
            accepting_new_bags
        },
        UpdateDistributionBucketStatus {
            bucket_id,
            accepting_new_bags
        },
        DeleteDistributionBucket { bucket_id },
        UpdateDistributionBucketsForBag {
            bag_id,
            family_id,
            add_buckets_indices,
            remove_buckets_indices
        },
        UpdateDistributionBucketsPerBagLimit { new_limit },
        UpdateDistributionBucketMode {
            bucket_id,
            distributing
        },
        UpdateFamiliesInDynamicBagCreationPolicy {
            dynamic_bag_type,
            families
        },
        InviteDistributionBucketOperator {
            bucket_id,
            operator_worker_id
        },
        CancelDistributionBucketOperatorInvite {
            bucket_id,
            operator_worker_id
        },
        RemoveDistributionBucketOperator {
            bucket_id,
            operator_worker_id
        },
        SetDistributionBucketFamilyMetadata {
            family_id,
            metadata
        },
        AcceptDistributionBucketInvitation {
            worker_id,
            bucket_id
        },
        SetDistributionOperatorMetadata {
            worker_id,
            bucket_id,
            metadata
        },
        StorageOperatorRemark {
            worker_id,
            storage_bucket_id,
            msg
        },
        DistributionOperatorRemark {
            worker_id,
            distribution_bucket_id,
            msg
        },
    )
}
