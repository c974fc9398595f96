//! Where a call lands: the block hash and the inclusion a submission answers with, for every
//! chain a node talks to.

use std::fmt;

use serde::{Deserialize, Serialize};

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
