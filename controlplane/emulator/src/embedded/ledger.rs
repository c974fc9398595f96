//! The durable block log: `blocks.log` in the data directory, an 8-byte header then one frame per
//! block (`u32` length, `u32` crc32 of the payload, payload = the block body's JSON), appended and
//! `fdatasync`ed before the block's results are given out. `genesis.json` records the profile.
//!
//! A crash can leave at most a partly written last frame: it is dropped on open (the block was
//! never acknowledged). A damaged frame with data after it (bit rot, a bad disk) is not guessed
//! at: the log from there is copied aside to `blocks.log.damaged-<offset>` and the chain resumes
//! from the last good block, with a warning.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::block::BlockBody;
use crate::runtime::Profile;

const MAGIC: &[u8; 8] = b"HCCHAIN\x01";
/// Largest frame accepted on read: a block body never comes near it.
const MAX_FRAME: u32 = 256 << 20;

/// What a data directory was created with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// The runtime profile.
    pub profile: Profile,
    /// Creation time, ms since the Unix epoch (part of the genesis hash).
    pub created_ms: u64,
}

/// Why the log could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// An I/O error on a named file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// `genesis.json` does not parse.
    #[error("{path}: not a genesis file: {source}")]
    Genesis {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// The data directory was created with another profile.
    #[error("the data directory was created with profile {existing:?}, not {requested:?}")]
    ProfileMismatch {
        /// In `genesis.json`.
        existing: Profile,
        /// Asked for.
        requested: Profile,
    },
    /// `blocks.log` does not start with the expected header.
    #[error("{0}: not a hecaton chain log (bad header)")]
    Header(PathBuf),
}

/// What opening found.
#[derive(Debug)]
pub struct Opened {
    /// The log, ready to append.
    pub ledger: Ledger,
    /// The genesis record.
    pub genesis: Genesis,
    /// The genesis file's bytes (hashed into block 0's hash).
    pub genesis_bytes: Vec<u8>,
    /// Every intact block body with its logged bytes, in order.
    pub bodies: Vec<(BlockBody, Vec<u8>)>,
    /// Whether the data directory was created now.
    pub created: bool,
}

/// The open block log.
#[derive(Debug)]
pub struct Ledger {
    file: File,
    path: PathBuf,
    /// Where the last acknowledged block ends.
    len: u64,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> LedgerError + '_ {
    move |source| LedgerError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Ledger {
    /// Opens (or creates) the data directory's log and genesis record.
    pub fn open(dir: &Path, profile: Profile, now_ms: u64) -> Result<Opened, LedgerError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let genesis_path = dir.join("genesis.json");
        let (genesis, genesis_bytes, created) = match fs::read(&genesis_path) {
            Ok(bytes) => {
                let genesis: Genesis =
                    serde_json::from_slice(&bytes).map_err(|source| LedgerError::Genesis {
                        path: genesis_path.clone(),
                        source,
                    })?;
                if genesis.profile != profile {
                    return Err(LedgerError::ProfileMismatch {
                        existing: genesis.profile,
                        requested: profile,
                    });
                }
                (genesis, bytes, false)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let genesis = Genesis {
                    profile,
                    created_ms: now_ms,
                };
                let bytes = serde_json::to_vec_pretty(&genesis).expect("genesis serializes");
                write_atomically(dir, &genesis_path, &bytes)?;
                (genesis, bytes, true)
            }
            Err(e) => return Err(io_err(&genesis_path)(e)),
        };
        let path = dir.join("blocks.log");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err(&path))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io_err(&path))?;
        if bytes.is_empty() {
            file.write_all(MAGIC).map_err(io_err(&path))?;
            file.sync_all().map_err(io_err(&path))?;
            sync_dir(dir)?;
            bytes.extend_from_slice(MAGIC);
        } else if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(LedgerError::Header(path));
        }
        let (bodies, good_end) = read_frames(&bytes);
        if good_end < bytes.len() {
            let tail = bytes.len() - good_end;
            if tail > 8 + MAX_FRAME as usize || frame_is_torn_tail(&bytes[good_end..]) {
                tracing::warn!(
                    path = %path.display(),
                    offset = good_end,
                    bytes = tail,
                    "dropping a partly written last block (crash while writing it)"
                );
            } else {
                let aside = dir.join(format!("blocks.log.damaged-{good_end}"));
                fs::write(&aside, &bytes[good_end..]).map_err(io_err(&aside))?;
                tracing::warn!(
                    path = %path.display(),
                    offset = good_end,
                    kept_aside = %aside.display(),
                    "damaged block in the log; blocks from there are set aside"
                );
            }
            file.set_len(good_end as u64).map_err(io_err(&path))?;
            file.sync_all().map_err(io_err(&path))?;
        }
        let len = file.seek(SeekFrom::End(0)).map_err(io_err(&path))?;
        Ok(Opened {
            ledger: Ledger { file, path, len },
            genesis,
            genesis_bytes,
            bodies,
            created,
        })
    }

    /// Appends one block's encoded body and makes it durable. A failed append (a full disk)
    /// is cut back to the last acknowledged block before the error is returned: a partial frame
    /// left in place put every later block behind it, and a restart set them all aside as
    /// damage (issue 14, defect 13).
    pub fn append(&mut self, encoded: &[u8]) -> Result<(), LedgerError> {
        let mut frame = Vec::with_capacity(8 + encoded.len());
        frame.extend_from_slice(&(encoded.len() as u32).to_le_bytes());
        frame.extend_from_slice(&crc32fast::hash(encoded).to_le_bytes());
        frame.extend_from_slice(encoded);
        let written = self
            .file
            .write_all(&frame)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            let undone = self
                .file
                .set_len(self.len)
                .and_then(|()| self.file.seek(SeekFrom::Start(self.len)).map(drop));
            if let Err(undo) = undone {
                tracing::error!(path = %self.path.display(), "cannot cut a failed block append back: {undo}");
            }
            return Err(io_err(&self.path)(e));
        }
        self.len += frame.len() as u64;
        Ok(())
    }
}

/// Intact frames from the start (after the header), and the offset where they end.
pub fn read_frames(bytes: &[u8]) -> (Vec<(BlockBody, Vec<u8>)>, usize) {
    let mut bodies = Vec::new();
    // Callers check the header first; a shorter input (a fuzzer's) holds no frame.
    let mut at = MAGIC.len().min(bytes.len());
    let mut expected = 1u64;
    while bytes.len() - at >= 8 {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        let crc = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes"));
        let end = at + 8 + len as usize;
        if len > MAX_FRAME || end > bytes.len() {
            break;
        }
        let payload = &bytes[at + 8..end];
        if crc32fast::hash(payload) != crc {
            break;
        }
        let Ok(body) = serde_json::from_slice::<BlockBody>(payload) else {
            break;
        };
        if body.number != expected {
            break;
        }
        expected += 1;
        bodies.push((body, payload.to_vec()));
        at = end;
    }
    (bodies, at)
}

/// Whether what follows the last good frame is one frame cut short (a torn append), rather
/// than damage with data behind it.
fn frame_is_torn_tail(rest: &[u8]) -> bool {
    if rest.len() < 8 {
        return true;
    }
    let len = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
    rest.len() < 8 + len
}

fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), LedgerError> {
    let tmp = path.with_extension("tmp");
    let mut file = File::create(&tmp).map_err(io_err(&tmp))?;
    file.write_all(bytes).map_err(io_err(&tmp))?;
    file.sync_all().map_err(io_err(&tmp))?;
    fs::rename(&tmp, path).map_err(io_err(path))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<(), LedgerError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::block::BlockHash;

    #[test]
    fn a_failed_append_leaves_no_partial_block_behind() {
        // A real full disk: a small tmpfs (root only, as CI runs).
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("not root: cannot mount a small filesystem; skipped");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
            .arg(dir.path())
            .status()
            .unwrap()
            .success();
        assert!(mounted);
        let result = std::panic::catch_unwind(|| {
            let data = dir.path().join("chain");
            let mut opened = Ledger::open(&data, Profile::Playground, 1).unwrap();
            let filler = dir.path().join("filler");
            let _ = fs::write(&filler, vec![0u8; 256 << 10]);
            let big = |n: u64| {
                let mut b = body(n);
                b.resize(b.len() + 3000, b' ');
                b
            };
            let mut acknowledged = 0u64;
            let mut failed = false;
            for _ in 1..=200 {
                match opened.ledger.append(&big(acknowledged + 1)) {
                    Ok(()) => acknowledged += 1,
                    Err(_) => {
                        failed = true;
                        break;
                    }
                }
            }
            assert!(failed, "the disk never filled");
            // Room again: the next blocks follow the last acknowledged one.
            fs::remove_file(&filler).unwrap();
            for _ in 0..3 {
                opened.ledger.append(&big(acknowledged + 1)).unwrap();
                acknowledged += 1;
            }
            drop(opened);
            let reopened = Ledger::open(&data, Profile::Playground, 1).unwrap();
            assert_eq!(reopened.bodies.len() as u64, acknowledged);
            let aside = fs::read_dir(&data)
                .unwrap()
                .filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .file_name()
                        .to_string_lossy()
                        .contains("damaged")
                })
                .count();
            assert_eq!(aside, 0, "nothing set aside");
        });
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(dir.path())
            .status();
        if let Err(panic) = result {
            std::panic::resume_unwind(panic);
        }
    }

    fn body(number: u64) -> Vec<u8> {
        serde_json::to_vec(&BlockBody {
            number,
            parent_hash: BlockHash::default(),
            timestamp_ms: 0,
            extrinsics: Vec::new(),
        })
        .unwrap()
    }

    #[test]
    fn torn_tail_is_dropped_and_damage_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let mut opened = Ledger::open(dir.path(), Profile::Playground, 1).unwrap();
        assert!(opened.created);
        for n in 1..=3 {
            opened.ledger.append(&body(n)).unwrap();
        }
        drop(opened);
        let log = dir.path().join("blocks.log");
        let full = fs::read(&log).unwrap();
        // Torn: cut the last frame in half.
        fs::write(&log, &full[..full.len() - 5]).unwrap();
        let opened = Ledger::open(dir.path(), Profile::Playground, 1).unwrap();
        assert_eq!(opened.bodies.len(), 2);
        assert!(!opened.created);
        drop(opened);
        // Damage in the middle: flip a byte of block 1's payload; block 2 follows it.
        let mut bytes = fs::read(&log).unwrap();
        bytes[MAGIC.len() + 10] ^= 0xff;
        fs::write(&log, &bytes).unwrap();
        let opened = Ledger::open(dir.path(), Profile::Playground, 1).unwrap();
        assert!(opened.bodies.is_empty());
        let aside = dir
            .path()
            .join(format!("blocks.log.damaged-{}", MAGIC.len()));
        assert!(aside.exists(), "damaged blocks are kept aside");
        assert!(matches!(
            Ledger::open(dir.path(), Profile::Mainnet, 1),
            Err(LedgerError::ProfileMismatch { .. })
        ));
    }
}
