//! What the log stores of a block: its body, the calls in order. What followers see of a block
//! (with each call's outcome and events, and its hash) is the chain's vocabulary.

use serde::{Deserialize, Serialize};

use crate::runtime::Extrinsic;
pub use hecaton_vocabulary::block::{Block, BlockHash, ExtrinsicRecord};

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
