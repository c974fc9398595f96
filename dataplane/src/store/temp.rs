//! Temp files: bytes being written into the store's `tmp/` before they are verified and
//! published. One per object and purpose (`tmp/upload-<id>`, `tmp/fetch-<id>`), created
//! exclusively so that two writers of one object never share a file on any shard; written with
//! DMA through glommio's stream writer while the digest is computed over the same bytes; either
//! finished (closed, ready to publish) or discarded (closed and removed) on every failure path.
//!
//! Every live temp file is listed in a [`TempRegistry`] from before it is created until it is
//! published or removed, so that the periodic sweep removes only leftovers, never a file a
//! writer still owns.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use futures_lite::AsyncWriteExt;
use glommio::io::{DmaStreamWriter, DmaStreamWriterBuilder, OpenOptions};
use hecaton_shared::DataObjectId;
use tracing::warn;

use crate::store::{Digest, Digester};

/// DMA buffer size; two are written behind, so a writer holds three.
pub const WRITE_BUFFER: usize = 512 * 1024;

/// The temp files writers own now, shared by every executor: a persistent map of path to
/// lease count, swapped whole (registering is a compare-and-swap, never a lock). Counted, so
/// that a writer turned away from a busy path takes nothing from the owner's lease.
#[derive(Debug, Clone, Default)]
pub struct TempRegistry(Arc<ArcSwap<imbl::HashMap<PathBuf, u32>>>);

impl TempRegistry {
    /// Lists `path` as owned until the lease is dropped.
    pub fn lease(&self, path: PathBuf) -> TempLease {
        self.0.rcu(|map| {
            let n = map.get(&path).copied().unwrap_or(0);
            map.update(path.clone(), n + 1)
        });
        TempLease {
            registry: self.clone(),
            path,
        }
    }

    /// Whether a writer owns `path`.
    pub fn owns(&self, path: &Path) -> bool {
        self.0.load().contains_key(path)
    }
}

/// A temp file's entry in the registry; dropping it ends the ownership.
#[derive(Debug)]
pub struct TempLease {
    registry: TempRegistry,
    path: PathBuf,
}

impl Drop for TempLease {
    fn drop(&mut self) {
        self.registry.0.rcu(|map| match map.get(&self.path) {
            Some(&n) if n > 1 => map.update(self.path.clone(), n - 1),
            _ => map.without(&self.path),
        });
    }
}

/// A temp file being written.
#[derive(Debug)]
pub struct TempObject {
    path: PathBuf,
    writer: DmaStreamWriter,
    digester: Digester,
    lease: TempLease,
}

/// Why a temp file could not be created.
#[derive(Debug, thiserror::Error)]
pub enum TempError {
    /// Another writer of the object is at work.
    #[error("another transfer of this object is in progress")]
    Busy,
    /// The file system refused.
    #[error("{0}")]
    Io(io::Error),
}

/// A finished temp file: closed, with the digest of its bytes; still owned until dropped.
#[derive(Debug)]
pub struct Finished {
    /// Where it is.
    pub path: PathBuf,
    /// What its bytes are.
    pub digest: Digest,
    /// Its ownership (drop it once the file is published or removed).
    pub lease: TempLease,
}

impl TempObject {
    /// Creates `tmp_dir/<purpose>-<id>`.
    pub async fn create(
        tmp_dir: &Path,
        purpose: &str,
        id: DataObjectId,
        registry: &TempRegistry,
    ) -> Result<Self, TempError> {
        let path = tmp_dir.join(format!("{purpose}-{id}"));
        let lease = registry.lease(path.clone());
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .dma_open(&path)
            .await
            .map_err(|e| {
                let e = io::Error::from(e);
                if e.kind() == io::ErrorKind::AlreadyExists {
                    TempError::Busy
                } else {
                    TempError::Io(e)
                }
            })?;
        let writer = DmaStreamWriterBuilder::new(file)
            .with_buffer_size(WRITE_BUFFER)
            .with_write_behind(2)
            // Publishing syncs the file; syncing here too would flush it twice.
            .with_sync_on_close_disabled(true)
            .build();
        Ok(Self {
            path,
            writer,
            digester: Digester::new(),
            lease,
        })
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.digester.len()
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.digester.is_empty()
    }

    /// Appends `bytes`.
    pub async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write_proven(bytes, &[]).await
    }

    /// Appends `bytes`, with the CVs of its groups when a verified slice proved them
    /// ([`Digester::update_proven`]).
    pub async fn write_proven(&mut self, bytes: &[u8], cvs: &[[u8; 32]]) -> io::Result<()> {
        self.digester.update_proven(bytes, cvs);
        self.writer.write_all(bytes).await
    }

    /// Closes the file and hands it back with its digest; on failure the file is removed.
    pub async fn finish(mut self) -> io::Result<Finished> {
        if let Err(e) = self.writer.close().await {
            remove(&self.path).await;
            return Err(e);
        }
        Ok(Finished {
            path: self.path,
            digest: self.digester.finish(),
            lease: self.lease,
        })
    }

    /// Closes and removes the file.
    pub async fn discard(mut self) {
        let _ = self.writer.close().await;
        remove(&self.path).await;
    }
}

impl crate::fetch::transfer::Sink for TempObject {
    fn held(&self) -> u64 {
        self.len()
    }

    async fn append(
        &mut self,
        bytes: &mut Vec<u8>,
        proven: Option<crate::fetch::transfer::Proven<'_>>,
    ) -> io::Result<()> {
        self.write_proven(bytes, proven.map_or(&[][..], |p| p.cvs))
            .await
    }
}

/// Removes a temp file, logging (not failing) when that is impossible; the sweeps remove
/// whatever is left.
pub async fn remove(path: &Path) {
    if let Err(e) = glommio::io::remove(path).await {
        let e = io::Error::from(e);
        if e.kind() != io::ErrorKind::NotFound {
            warn!(path = %path.display(), "cannot remove temp file: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_are_counted() {
        let r = TempRegistry::default();
        let p = PathBuf::from("/s/tmp/upload-1");
        let owner = r.lease(p.clone());
        let turned_away = r.lease(p.clone());
        drop(turned_away);
        assert!(r.owns(&p), "the owner keeps its lease");
        drop(owner);
        assert!(!r.owns(&p));
    }
}
