//! Blocks as followers see them, and where a call lands: the block hash and the inclusion a
//! submission answers with, for every chain a node talks to.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::call::Extrinsic;
use crate::error::DispatchError;
use crate::event::Event;

/// A 32-byte block hash, `0x` hex in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BlockHash(pub [u8; 32]);

impl fmt::Display for BlockHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for BlockHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for BlockHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BlockHash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let bytes = text
            .strip_prefix("0x")
            .and_then(|h| hex::decode(h).ok())
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| serde::de::Error::custom("block hash must be 0x + 64 hex digits"))?;
        Ok(Self(bytes))
    }
}

/// Where a call landed.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Inclusion {
    /// Block number.
    pub block: u64,
    /// Block hash.
    pub block_hash: BlockHash,
    /// Position in the block.
    pub index: usize,
    /// Why it failed, if it did.
    pub error: Option<DispatchError>,
    /// What it emitted.
    pub events: Vec<Event>,
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
/// fork choice in the embedded chain (a Joystream client follows finalized blocks only).
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
