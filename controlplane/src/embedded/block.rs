//! Blocks: what the log stores (the body: the calls in order) and what followers see (the body
//! with each call's outcome and events, and the block's hash).

use serde::{Deserialize, Serialize};

use crate::runtime::{DispatchError, Event, Extrinsic};
pub use hecaton_vocabulary::block::BlockHash;

/// What the log keeps of a block: enough to re-execute it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockBody {
    /// Block number (genesis is 0; the first logged block is 1).
    pub number: u64,
    /// The previous block's hash.
    pub parent_hash: BlockHash,
    /// When it was produced, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// The calls, in order.
    pub extrinsics: Vec<Extrinsic>,
}

impl BlockBody {
    /// The block hash: BLAKE3 of the body's logged bytes (which include the parent hash).
    pub fn hash_of(encoded: &[u8]) -> BlockHash {
        BlockHash(blake3::hash(encoded).into())
    }
}

/// One call of a block, with its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtrinsicRecord {
    /// The call and its declared origin.
    #[serde(flatten)]
    pub extrinsic: Extrinsic,
    /// `null` on success, else the error.
    pub error: Option<DispatchError>,
    /// Events the call emitted (none when it failed).
    pub events: Vec<Event>,
}

/// A produced block, as followers see it. Blocks are final as soon as they exist: there is no
/// fork choice in the embedded chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// Block number.
    pub number: u64,
    /// This block's hash.
    pub hash: BlockHash,
    /// The previous block's hash.
    pub parent_hash: BlockHash,
    /// Production time, ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// Calls with their outcomes and events.
    pub extrinsics: Vec<ExtrinsicRecord>,
}
