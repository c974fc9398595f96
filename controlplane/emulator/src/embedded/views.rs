//! The JSON shapes the API returns: pallet records with their ids and what readers want next to
//! them (a bucket's bags and operator metadata, a family's buckets).

use hecaton_shared::{BagId, DistributionBucketId};
use serde::Serialize;
use serde_json::{json, Value};

use crate::runtime::storage::types::{Bag, DataObject};
use crate::runtime::storage::StorageState;
use crate::runtime::{Constants, State};

/// A bag with its id.
pub fn bag(id: &BagId, bag: &Bag) -> Value {
    let mut value = to_value(bag);
    value["bag_id"] = json!(id);
    value
}

/// An object with its id and bag.
pub fn object(id: u64, bag_id: &BagId, object: &DataObject) -> Value {
    let mut value = to_value(object);
    value["id"] = json!(id);
    value["bag_id"] = json!(bag_id);
    value
}

/// A storage bucket with its bags and its operator's metadata.
pub fn storage_bucket(state: &State, id: u64) -> Option<Value> {
    let bucket = state.storage.storage_bucket_by_id.get(&id)?;
    let bags: Vec<&BagId> = state
        .storage
        .bags
        .iter()
        .filter(|(_, bag)| bag.stored_by.contains(&id))
        .map(|(bag_id, _)| bag_id)
        .collect();
    let mut value = to_value(bucket);
    value["id"] = json!(id);
    value["bags"] = json!(bags);
    value["operator_metadata"] = json!(state.metadata.storage_operators.get(&id));
    Some(value)
}

/// A distribution bucket with its bags and its operators' metadata.
pub fn distribution_bucket(state: &State, id: DistributionBucketId) -> Option<Value> {
    let bucket = state
        .storage
        .distribution_bucket_by_family_id_by_id
        .get(&id)?;
    let bags: Vec<&BagId> = state
        .storage
        .bags
        .iter()
        .filter(|(_, bag)| bag.distributed_by.contains(&id))
        .map(|(bag_id, _)| bag_id)
        .collect();
    let mut value = to_value(bucket);
    value["id"] = json!(id);
    value["bags"] = json!(bags);
    value["operator_metadata"] = json!(state.metadata.distribution_operators.get(&id));
    Some(value)
}

/// Every live family with its metadata and buckets.
pub fn families(state: &State) -> Value {
    let storage = &state.storage;
    let list: Vec<Value> = storage
        .distribution_bucket_family_by_id
        .iter()
        .map(|(id, family)| {
            let buckets: Vec<Value> = storage
                .distribution_bucket_by_family_id_by_id
                .keys()
                .filter(|b| b.family == *id)
                .filter_map(|b| distribution_bucket(state, *b))
                .collect();
            json!({
                "id": id,
                "next_distribution_bucket_index": family.next_distribution_bucket_index,
                "metadata": state.metadata.families.get(id),
                "buckets": buckets,
            })
        })
        .collect();
    json!(list)
}

/// Constants and the limit-like storage values.
pub fn limits(constants: &Constants, storage: &StorageState) -> Value {
    json!({
        "constants": constants,
        "uploading_blocked": storage.uploading_blocked,
        "data_object_per_megabyte_fee": storage.data_object_per_megabyte_fee,
        "data_object_state_bloat_bond_value": storage.data_object_state_bloat_bond_value,
        "storage_buckets_per_bag_limit": storage.storage_buckets_per_bag_limit,
        "distribution_buckets_per_bag_limit": storage.distribution_buckets_per_bag_limit,
        "voucher_max_objects_size_limit": storage.voucher_max_objects_size_limit,
        "voucher_max_objects_number_limit": storage.voucher_max_objects_number_limit,
        "current_blacklist_size": storage.current_blacklist_size,
        "next_storage_bucket_id": storage.next_storage_bucket_id,
        "next_data_object_id": storage.next_data_object_id,
        "next_distribution_bucket_family_id": storage.next_distribution_bucket_family_id,
        "distribution_bucket_family_number": storage.distribution_bucket_family_number,
    })
}

/// A channel with its videos.
pub fn channel(state: &State, id: u64) -> Option<Value> {
    let channel = state.content.channels.get(&id)?;
    let videos: Vec<Value> = state
        .content
        .videos
        .iter()
        .filter(|(_, v)| v.in_channel == id)
        .map(|(video_id, v)| json!({"id": video_id, "data_objects": v.data_objects}))
        .collect();
    let mut value = to_value(channel);
    value["id"] = json!(id);
    value["bag_id"] = json!(BagId::Dynamic(hecaton_shared::DynamicBagId::Channel(id)));
    value["videos"] = json!(videos);
    Some(value)
}

/// Serializes anything the API returns (used by views).
pub(super) fn to_value(value: impl Serialize) -> Value {
    serde_json::to_value(value).expect("view serializes")
}
