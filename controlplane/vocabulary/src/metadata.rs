//! Operator and family metadata: the protobuf messages of `Storage.proto` and an index of them,
//! merged as the query node does: fields present overwrite, an empty `location` unsets it,
//! undecodable bytes change nothing. The embedded chain and the Joystream client's operator
//! directory both keep one.

use hecaton_shared::DistributionBucketId;
use imbl::OrdMap;
use prost::Message;
use serde::{Deserialize, Serialize};

/// `GeoCoordiantes` (sic).
#[derive(Clone, PartialEq, Message, Serialize, Deserialize)]
pub struct GeoCoordinates {
    /// Latitude.
    #[prost(float, optional, tag = "3")]
    pub latitude: Option<f32>,
    /// Longitude.
    #[prost(float, optional, tag = "4")]
    pub longitude: Option<f32>,
}

/// `NodeLocationMetadata`.
#[derive(Clone, PartialEq, Message, Serialize, Deserialize)]
pub struct NodeLocationMetadata {
    /// ISO 3166-1 alpha-2.
    #[prost(string, optional, tag = "1")]
    pub country_code: Option<String>,
    /// City.
    #[prost(string, optional, tag = "2")]
    pub city: Option<String>,
    /// Coordinates.
    #[prost(message, optional, tag = "3")]
    pub coordinates: Option<GeoCoordinates>,
}

/// `StorageBucketOperatorMetadata` and `DistributionBucketOperatorMetadata` (same fields).
#[derive(Clone, PartialEq, Message, Serialize, Deserialize)]
pub struct OperatorMetadata {
    /// Root URL of the node; clients append `api/v1/`.
    #[prost(string, optional, tag = "1")]
    pub endpoint: Option<String>,
    /// Where the node is.
    #[prost(message, optional, tag = "2")]
    pub location: Option<NodeLocationMetadata>,
    /// Free-form.
    #[prost(string, optional, tag = "3")]
    pub extra: Option<String>,
}

/// `GeographicalArea`.
#[derive(Clone, PartialEq, Message, Serialize, Deserialize)]
pub struct GeographicalArea {
    /// Continent (1 AF … 7 SA).
    #[prost(int32, optional, tag = "1")]
    pub continent: Option<i32>,
    /// ISO 3166-1 alpha-2.
    #[prost(string, optional, tag = "2")]
    pub country_code: Option<String>,
    /// ISO 3166-2.
    #[prost(string, optional, tag = "3")]
    pub subdivision_code: Option<String>,
}

/// `DistributionBucketFamilyMetadata`.
#[derive(Clone, PartialEq, Message, Serialize, Deserialize)]
pub struct FamilyMetadata {
    /// Region id, e.g. `us-east-1`.
    #[prost(string, optional, tag = "1")]
    pub region: Option<String>,
    /// Description.
    #[prost(string, optional, tag = "2")]
    pub description: Option<String>,
    /// Areas covered.
    #[prost(message, repeated, tag = "3")]
    pub areas: Vec<GeographicalArea>,
    /// Hosts to probe for latency.
    #[prost(string, repeated, tag = "4")]
    pub latency_test_targets: Vec<String>,
}

impl Eq for OperatorMetadata {}
impl Eq for FamilyMetadata {}

/// The latest metadata per bucket operator and family.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MetadataIndex {
    /// Storage bucket id → its operator's metadata.
    pub storage_operators: OrdMap<u64, OperatorMetadata>,
    /// Distribution bucket → worker id → that operator's metadata.
    pub distribution_operators: OrdMap<DistributionBucketId, OrdMap<u64, OperatorMetadata>>,
    /// Family id → its metadata.
    pub families: OrdMap<u64, FamilyMetadata>,
}

fn merge_operator(current: Option<OperatorMetadata>, bytes: &[u8]) -> Option<OperatorMetadata> {
    let Ok(update) = OperatorMetadata::decode(bytes) else {
        return current;
    };
    let mut merged = current.unwrap_or_default();
    if update.endpoint.is_some() {
        merged.endpoint = update.endpoint;
    }
    if let Some(location) = update.location {
        merged.location = (location != NodeLocationMetadata::default()).then_some(location);
    }
    if update.extra.is_some() {
        merged.extra = update.extra;
    }
    Some(merged)
}

impl MetadataIndex {
    /// Merges a `set_storage_operator_metadata` payload.
    pub fn apply_storage_operator(&mut self, bucket: u64, bytes: &[u8]) {
        if let Some(merged) = merge_operator(self.storage_operators.get(&bucket).cloned(), bytes) {
            self.storage_operators.insert(bucket, merged);
        }
    }

    /// Merges a `set_distribution_operator_metadata` payload.
    pub fn apply_distribution_operator(
        &mut self,
        bucket: DistributionBucketId,
        worker: u64,
        bytes: &[u8],
    ) {
        let mut per_worker = self
            .distribution_operators
            .get(&bucket)
            .cloned()
            .unwrap_or_default();
        if let Some(merged) = merge_operator(per_worker.get(&worker).cloned(), bytes) {
            per_worker.insert(worker, merged);
            self.distribution_operators.insert(bucket, per_worker);
        }
    }

    /// Forgets a removed distribution operator's metadata.
    pub fn remove_distribution_operator(&mut self, bucket: DistributionBucketId, worker: u64) {
        if let Some(mut per_worker) = self.distribution_operators.get(&bucket).cloned() {
            per_worker.remove(&worker);
            if per_worker.is_empty() {
                self.distribution_operators.remove(&bucket);
            } else {
                self.distribution_operators.insert(bucket, per_worker);
            }
        }
    }

    /// Merges a `set_distribution_bucket_family_metadata` payload.
    pub fn apply_family(&mut self, family: u64, bytes: &[u8]) {
        let Ok(update) = FamilyMetadata::decode(bytes) else {
            return;
        };
        let mut merged = self.families.get(&family).cloned().unwrap_or_default();
        if update.region.is_some() {
            merged.region = update.region;
        }
        if update.description.is_some() {
            merged.description = update.description;
        }
        if !update.areas.is_empty() {
            let unset = update.areas.len() == 1 && update.areas[0] == GeographicalArea::default();
            merged.areas = if unset { Vec::new() } else { update.areas };
        }
        if !update.latency_test_targets.is_empty() {
            merged.latency_test_targets = update.latency_test_targets;
        }
        self.families.insert(family, merged);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_metadata_merges_partially_and_ignores_garbage() {
        let mut index = MetadataIndex::default();
        let first = OperatorMetadata {
            endpoint: Some("http://a/".into()),
            location: Some(NodeLocationMetadata {
                country_code: Some("DE".into()),
                ..Default::default()
            }),
            extra: None,
        };
        index.apply_storage_operator(1, &first.encode_to_vec());
        let extra_only = OperatorMetadata {
            extra: Some("hi".into()),
            ..Default::default()
        };
        index.apply_storage_operator(1, &extra_only.encode_to_vec());
        let got = &index.storage_operators[&1];
        assert_eq!(got.endpoint.as_deref(), Some("http://a/"));
        assert_eq!(got.extra.as_deref(), Some("hi"));
        assert!(got.location.is_some());
        let unset_location = OperatorMetadata {
            location: Some(NodeLocationMetadata::default()),
            ..Default::default()
        };
        index.apply_storage_operator(1, &unset_location.encode_to_vec());
        assert!(index.storage_operators[&1].location.is_none());
        index.apply_storage_operator(1, &[0xff, 0xff, 0xff]);
        assert_eq!(
            index.storage_operators[&1].endpoint.as_deref(),
            Some("http://a/")
        );
    }
}
