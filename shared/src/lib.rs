//! What both Hecaton planes need to agree on: the chain's identifiers written as node software
//! writes them, content ids, and the proofs that bytes belong to one (`bao`).
//!
//! Everything here is pure: no I/O, no runtime. The data plane (glommio) and the control plane
//! (tokio) both depend on it.

/// Serde through `Display` and `FromStr`, for ids whose text form is the contract.
#[macro_export]
#[doc(hidden)]
macro_rules! text_serde {
    ($name:ty) => {
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

pub mod address;
mod bag;
pub mod bao;
mod content_id;
pub mod defaults;
pub mod exit_code;
mod ids;
mod idset;
#[cfg(feature = "logging")]
pub mod logging;
pub mod socket;

pub use bag::{BagId, BagIdError, DynamicBagId, StaticBagId, WorkingGroup};
pub use content_id::{ContentHasher, ContentId, ContentIdError, CONTENT_ID_LEN};
pub use ids::{
    parse_decimal_u64, DataObjectId, DecimalError, DistributionBucketId, DistributionBucketIdError,
    StorageBucketId,
};
pub use idset::IdSet;
