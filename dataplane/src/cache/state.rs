//! The cache policy's state on disk (`DIR/cache-state.json`): the order and frequency of every
//! cached object and the ghost ids, so that a restart keeps what was learnt about popularity.
//!
//! Written whole to `cache-state.json.tmp`, synced, renamed over the old one and the directory
//! synced: a crash leaves the old state or the new, never a torn one. The cache itself is the
//! store (verified objects and their durable index); the state only orders it. A state file
//! that is missing or damaged therefore costs a re-scan — every stored object is taken back in
//! as cold — and never a cached byte (Argus lost its whole cache to a bad `cache.json`).

use std::path::Path;

use glommio::io::{BufferedFile, Directory, OpenOptions};
use serde::{Deserialize, Serialize};
use tracing::warn;

use super::{Queue, Saved};

const VERSION: u32 = 1;

/// The largest state file read (about 30 bytes an object: ten million cached objects take
/// 300 MB). A larger one is not read whole into memory: it counts as damaged, and the cache is
/// re-scanned (nothing cached is lost, only what was learnt about popularity).
pub const STATE_MAX_BYTES: u64 = 1 << 30;

#[derive(Debug, Serialize, Deserialize)]
struct File {
    version: u32,
    /// `[id, size, freq, queue (0 small, 1 main)]`, oldest first.
    entries: Vec<(u64, u64, u8, u8)>,
    ghost: Vec<u64>,
}

/// Writes the state atomically.
pub async fn save(path: &Path, entries: &[Saved], ghost: &[u64]) -> std::io::Result<()> {
    let file = File {
        version: VERSION,
        entries: entries
            .iter()
            .map(|s| (s.id, s.size, s.freq, u8::from(s.queue == Queue::Main)))
            .collect(),
        ghost: ghost.to_vec(),
    };
    let bytes = serde_json::to_vec(&file).map_err(std::io::Error::other)?;
    let tmp = path.with_extension("json.tmp");
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .buffered_open(&tmp)
        .await?;
    let mut pos = 0;
    while pos < bytes.len() {
        let n = f.write_at(bytes[pos..].to_vec(), pos as u64).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        pos += n;
    }
    f.fdatasync().await?;
    f.close().await?;
    glommio::io::rename(&tmp, path).await?;
    if let Some(dir) = path.parent() {
        let d = Directory::open(dir).await?;
        d.sync().await?;
        d.close().await?;
    }
    Ok(())
}

/// Reads the state; `None` (with a warning) when it is missing or unreadable.
pub async fn load(path: &Path) -> Option<(Vec<Saved>, Vec<u64>)> {
    let f = match BufferedFile::open(path).await {
        Ok(f) => f,
        Err(_) => return None,
    };
    let read = crate::store::read_whole(&f, STATE_MAX_BYTES).await;
    if let Err(e) = &read {
        warn!(path = %path.display(), "cache state not read ({e}); re-scanning the cache, nothing is lost");
    }
    let _ = f.close().await;
    let bytes = read.ok()?;
    match serde_json::from_slice::<File>(&bytes) {
        Ok(file) if file.version == VERSION => Some((
            file.entries
                .into_iter()
                .map(|(id, size, freq, q)| Saved {
                    id,
                    size,
                    freq,
                    queue: if q == 1 { Queue::Main } else { Queue::Small },
                })
                .collect(),
            file.ghost,
        )),
        Ok(_) => {
            warn!(path = %path.display(), "cache state of another version; re-scanning the cache");
            None
        }
        Err(e) => {
            warn!(path = %path.display(), "cache state unreadable ({e}); re-scanning the cache, nothing is lost");
            None
        }
    }
}
