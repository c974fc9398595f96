//! An upload's temp file: created exclusively (`tmp/upload-<id>`, so two uploads of one object
//! never share a file, on any shard), written with DMA through glommio's stream writer while the
//! digest is computed over the same bytes, and either finished (closed, ready to publish) or
//! discarded (closed and removed) on every failure path.

use std::io;
use std::path::{Path, PathBuf};

use futures_lite::AsyncWriteExt;
use glommio::io::{DmaStreamWriter, DmaStreamWriterBuilder, OpenOptions};
use hecaton_shared::DataObjectId;
use tracing::warn;

use crate::store::{Digest, Digester};

/// DMA buffer size; two are written behind, so an upload holds three.
pub const WRITE_BUFFER: usize = 512 * 1024;

/// Memory an upload reserves from its shard before its body is read: the DMA buffers plus the
/// pieces in flight between the socket and the parser (1.75 MiB; `--upload-memory-mib` is at
/// least 2, so one upload always fits).
pub const RESERVED_PER_UPLOAD: usize = 3 * WRITE_BUFFER + 4 * super::body::PIECE;

/// A temp file being written.
#[derive(Debug)]
pub struct TempObject {
    path: PathBuf,
    writer: DmaStreamWriter,
    digester: Digester,
}

/// Why a temp file could not be created.
#[derive(Debug, thiserror::Error)]
pub enum TempError {
    /// Another upload of the object is in progress.
    #[error("an upload of this object is in progress")]
    Busy,
    /// The file system refused.
    #[error("{0}")]
    Io(io::Error),
}

impl TempObject {
    /// Creates the temp file for object `id` in `tmp_dir`.
    pub async fn create(tmp_dir: &Path, id: DataObjectId) -> Result<Self, TempError> {
        let path = tmp_dir.join(format!("upload-{id}"));
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
        })
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.digester.len()
    }

    /// Appends `bytes`.
    pub async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.digester.update(bytes);
        self.writer.write_all(bytes).await
    }

    /// Closes the file and hands back its path and digest; on failure the file is removed.
    pub async fn finish(mut self) -> io::Result<(PathBuf, Digest)> {
        if let Err(e) = self.writer.close().await {
            remove(&self.path).await;
            return Err(e);
        }
        Ok((self.path, self.digester.finish()))
    }

    /// Closes and removes the file.
    pub async fn discard(mut self) {
        let _ = self.writer.close().await;
        remove(&self.path).await;
    }
}

/// Removes a temp file, logging (not failing) when that is impossible; the start-up sweep
/// removes whatever is left.
pub async fn remove(path: &Path) {
    if let Err(e) = glommio::io::remove(path).await {
        let e = io::Error::from(e);
        if e.kind() != io::ErrorKind::NotFound {
            warn!(path = %path.display(), "cannot remove temp file: {e}");
        }
    }
}
