//! What both Hecaton planes need to agree on: the chain's identifiers written as node software
//! writes them (`storage-pallet.md` §7), content ids, and the error kinds both planes branch on.
//!
//! Everything here is pure: no I/O, no runtime. The data plane (glommio) and the control plane
//! (tokio) both depend on it.

mod bag;
mod content_id;
mod error;
mod ids;

pub use bag::{BagId, BagIdError, DynamicBagId, StaticBagId, WorkingGroup};
pub use content_id::{ContentHasher, ContentId, ContentIdError, CONTENT_ID_LEN};
pub use error::ErrorKind;
pub use ids::{
    parse_decimal_u64, DataObjectId, DecimalError, DistributionBucketId, DistributionBucketIdError,
    StorageBucketId,
};
