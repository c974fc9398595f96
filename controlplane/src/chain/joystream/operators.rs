//! Operator metadata for a Joystream node. The chain does not store it: `set_*_metadata` only
//! emits an event, which Colossus and Argus read back through a query node. Hecaton has none,
//! so the client keeps its own directory: the configured endpoints to start from, then every
//! metadata event it sees while following, merged as the embedded chain merges them, saved
//! atomically (temp file, fsync, rename) with the last block applied, so that a restart
//! remembers them and the follower can replay the blocks it missed (see `blocks`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tracing::warn;

use hecaton_vocabulary::event::StorageEvent;
use hecaton_vocabulary::metadata::{MetadataIndex, OperatorMetadata};

/// The directory, shared by the clones of a client.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    inner: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    saved: Saved,
    configured: BTreeMap<u64, String>,
    file: Option<PathBuf>,
}

/// What the file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Saved {
    /// The last block whose events were applied (0: none).
    block: u64,
    index: MetadataIndex,
}

impl Directory {
    /// A directory that starts from `configured` endpoints (bucket id → URL) and what `file`
    /// holds (if it exists), and saves to `file` as it learns.
    pub fn new(configured: BTreeMap<u64, String>, file: Option<PathBuf>) -> Self {
        let saved = file
            .as_deref()
            .and_then(|path| match std::fs::read(path) {
                Ok(bytes) => serde_json::from_slice(&bytes)
                    .map_err(|e| {
                        warn!("operator directory {}: {e}; starting empty", path.display())
                    })
                    .ok(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => {
                    warn!("operator directory {}: {e}; starting empty", path.display());
                    None
                }
            })
            .unwrap_or_default();
        Self {
            inner: Arc::new(Mutex::new(State {
                saved,
                configured,
                file,
            })),
        }
    }

    /// A storage bucket's operator metadata: what it last published, with a configured endpoint
    /// taking precedence.
    pub fn storage_operator(&self, bucket: u64) -> Option<OperatorMetadata> {
        let state = self.inner.lock().expect("directory");
        let learned = state.saved.index.storage_operators.get(&bucket).cloned();
        match state.configured.get(&bucket) {
            Some(url) => Some(OperatorMetadata {
                endpoint: Some(url.clone()),
                ..learned.unwrap_or_default()
            }),
            None => learned,
        }
    }

    /// The last block applied (0: none).
    pub fn block(&self) -> u64 {
        self.inner.lock().expect("directory").saved.block
    }

    /// Takes a squid's directory: where the directory is older than the squid's height, the
    /// squid's endpoints replace its own, and the directory is then current to that height
    /// (the blocks after it are read for newer metadata, see `blocks`). Returns the endpoints
    /// taken.
    pub fn learn_from_squid(&self, squid: &super::squid::SquidDirectory) -> usize {
        let mut state = self.inner.lock().expect("directory");
        if state.saved.block >= squid.height {
            return 0;
        }
        let index = &mut state.saved.index;
        for (bucket, url) in &squid.endpoints {
            let entry = index.storage_operators.entry(*bucket).or_default();
            entry.endpoint = Some(url.clone());
        }
        state.saved.block = squid.height;
        if let Some(path) = state.file.clone() {
            if let Err(e) = save(&path, &state.saved) {
                warn!("saving the operator directory {}: {e}", path.display());
            }
        }
        squid.endpoints.len()
    }

    /// Saves now (the end of a scan: the block it is current to).
    pub fn save_now(&self) {
        let state = self.inner.lock().expect("directory");
        if let Some(path) = state.file.clone() {
            if let Err(e) = save(&path, &state.saved) {
                warn!("saving the operator directory {}: {e}", path.display());
            }
        }
    }

    /// Learns from block `block`'s events; saves when metadata changed (and every 600 blocks,
    /// so that the block it is current to stays close).
    pub fn apply(&self, block: u64, events: &[StorageEvent]) {
        let mut state = self.inner.lock().expect("directory");
        let before = state.saved.index.clone();
        let index = &mut state.saved.index;
        for event in events {
            match event {
                StorageEvent::StorageOperatorMetadataSet(bucket, _, bytes) => {
                    index.apply_storage_operator(*bucket, &bytes.0)
                }
                StorageEvent::DistributionBucketMetadataSet(worker, bucket, bytes) => {
                    index.apply_distribution_operator(*bucket, *worker, &bytes.0)
                }
                StorageEvent::DistributionBucketOperatorRemoved(bucket, worker) => {
                    index.remove_distribution_operator(*bucket, *worker)
                }
                StorageEvent::DistributionBucketFamilyMetadataSet(family, bytes) => {
                    index.apply_family(*family, &bytes.0)
                }
                StorageEvent::StorageBucketDeleted(bucket) => {
                    index.storage_operators.remove(bucket);
                }
                _ => {}
            }
        }
        let changed = state.saved.index != before;
        let due = block / 600 != state.saved.block / 600;
        state.saved.block = state.saved.block.max(block);
        if changed || due {
            if let Some(path) = state.file.clone() {
                if let Err(e) = save(&path, &state.saved) {
                    warn!("saving the operator directory {}: {e}", path.display());
                }
            }
        }
    }
}

fn save(path: &Path, saved: &Saved) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(&serde_json::to_vec_pretty(saved).map_err(std::io::Error::other)?)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hecaton_vocabulary::storage_types::Bytes;
    use prost::Message;

    fn meta(endpoint: &str) -> Bytes {
        Bytes(
            OperatorMetadata {
                endpoint: Some(endpoint.into()),
                ..Default::default()
            }
            .encode_to_vec(),
        )
    }

    #[test]
    fn learns_saves_and_prefers_configured_endpoints() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("operators.json");
        let d = Directory::new(
            BTreeMap::from([(7, "https://seed/".into())]),
            Some(file.clone()),
        );
        d.apply(
            5,
            &[
                StorageEvent::StorageOperatorMetadataSet(1, 3, meta("https://one/")),
                StorageEvent::StorageOperatorMetadataSet(7, 4, meta("https://seven/")),
            ],
        );
        assert_eq!(
            d.storage_operator(1).unwrap().endpoint.as_deref(),
            Some("https://one/")
        );
        assert_eq!(
            d.storage_operator(7).unwrap().endpoint.as_deref(),
            Some("https://seed/")
        );
        assert!(d.storage_operator(2).is_none());

        let again = Directory::new(BTreeMap::new(), Some(file));
        assert_eq!(
            again.storage_operator(1).unwrap().endpoint.as_deref(),
            Some("https://one/")
        );
        assert_eq!(
            again.storage_operator(7).unwrap().endpoint.as_deref(),
            Some("https://seven/")
        );
        assert_eq!(again.block(), 5, "the block it is current to");
        again.apply(6, &[StorageEvent::StorageBucketDeleted(1)]);
        assert!(again.storage_operator(1).is_none());
    }
}
