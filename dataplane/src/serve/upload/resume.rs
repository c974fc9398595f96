//! Digest states of resumable uploads kept between PATCHes on one shard: a client's next PATCH
//! usually arrives on the same connection, so the bytes before it need not be re-read to go on
//! hashing.

use std::collections::HashMap;

use crate::store::{Digester, UploadName};

/// Digest states kept between PATCHes, at most this many per shard.
const RESUME_CACHE: usize = 256;

/// Per-shard digests of uploads in progress: upload → (offset, digest of the bytes before).
#[derive(Debug, Default)]
pub struct ResumeCache(HashMap<UploadName, (u64, Digester)>);

impl ResumeCache {
    /// The digest of the bytes before `offset`, if this shard kept it.
    pub fn take(&mut self, id: UploadName, offset: u64) -> Option<Digester> {
        match self.0.remove(&id) {
            Some((at, d)) if at == offset => Some(d),
            _ => None,
        }
    }

    /// Keeps the digest of the bytes before `offset`, dropping another when full.
    pub fn put(&mut self, id: UploadName, offset: u64, digester: Digester) {
        if self.0.len() >= RESUME_CACHE {
            if let Some(victim) = self.0.keys().next().copied() {
                self.0.remove(&victim);
            }
        }
        self.0.insert(id, (offset, digester));
    }

    /// Drops the digest of an upload that ended.
    pub fn forget(&mut self, id: UploadName) {
        self.0.remove(&id);
    }
}
