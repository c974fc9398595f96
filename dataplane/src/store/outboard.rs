//! Outboards: each stored object's BLAKE3 tree above 16 KiB groups (`hecaton_shared::bao`), in
//! `outboards/<id>` beside `objects/`, from which proofs of any part of the object are cut.
//!
//! An outboard is derived from the object's bytes, which the content id already pins: it is
//! written when the object is published (the pairs were computed while the bytes were hashed),
//! renamed into place, and never synced. A crash may lose or truncate one; a reader finds the
//! wrong length, and every proof cut from one is checked against the content id before it goes
//! out, so a lost or damaged outboard means "not available", never a wrong answer.
//!
//! Only objects larger than [`KEPT_ABOVE`] keep one: a smaller object's tree is rebuilt from its
//! bytes when a proof is asked for (a read the size of a 1 MiB GET). A file per object cost
//! small uploads 18% of their rate (256 × 1 MiB, `bench/compare-upload`: the writer created,
//! wrote and renamed one more file per object, and each commit flushed them) and would double
//! the inodes of a store of thumbnails.

use std::io;
use std::path::{Path, PathBuf};

use glommio::io::BufferedFile;
use hecaton_shared::bao::{self, PathStep, PAIR};
use hecaton_shared::DataObjectId;

/// Objects up to this size keep no outboard.
pub const KEPT_ABOVE: u64 = 1 << 20;

/// Whether an object of `size` bytes keeps an outboard.
pub fn kept(size: u64) -> bool {
    size > KEPT_ABOVE
}

/// The outboards' directory of the store whose objects are in `objects_dir`.
pub fn dir_of(objects_dir: &Path) -> PathBuf {
    objects_dir.with_file_name("outboards")
}

/// Where object `id`'s outboard lives.
pub fn path_of(objects_dir: &Path, id: DataObjectId) -> PathBuf {
    dir_of(objects_dir).join(id.to_string())
}

/// Writes the outboard of object `id` (`size` bytes) into place, if it keeps one (a temp name,
/// then a rename, so a reader never sees a file being written). Not synced: see the module
/// docs.
pub async fn write(
    objects_dir: &Path,
    id: DataObjectId,
    size: u64,
    pairs: &[u8],
) -> io::Result<()> {
    if !kept(size) || pairs.is_empty() {
        return Ok(());
    }
    let to = path_of(objects_dir, id);
    let tmp = to.with_extension("tmp");
    let file = BufferedFile::create(&tmp).await?;
    let written = file.write_at(pairs.to_vec(), 0).await;
    let closed = file.close().await;
    match (written, closed) {
        (Ok(n), Ok(())) if n == pairs.len() => {}
        (Ok(_), Ok(())) => {
            let _ = glommio::io::remove(&tmp).await;
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "short outboard write",
            ));
        }
        (Err(e), _) | (_, Err(e)) => {
            let _ = glommio::io::remove(&tmp).await;
            return Err(e.into());
        }
    }
    glommio::io::rename(&tmp, &to).await?;
    Ok(())
}

/// The length of object `id`'s outboard on disk, if it has one.
pub async fn stored_len(objects_dir: &Path, id: DataObjectId) -> Option<u64> {
    let file = BufferedFile::open(path_of(objects_dir, id)).await.ok()?;
    let len = file.file_size().await.ok();
    let _ = file.close().await;
    len
}

/// Removes object `id`'s outboard, if it has one.
pub async fn remove(objects_dir: &Path, id: DataObjectId) -> io::Result<()> {
    match glommio::io::remove(path_of(objects_dir, id)).await {
        Ok(()) => Ok(()),
        Err(e) => {
            let e = io::Error::from(e);
            if e.kind() == io::ErrorKind::NotFound {
                Ok(())
            } else {
                Err(e)
            }
        }
    }
}

/// Why an outboard's pairs could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// There is none (an object stored before outboards, or one a crash lost).
    #[error("the object has no outboard")]
    Missing,
    /// It has the wrong length for the object (a crash cut it short).
    #[error("the object's outboard is {got} bytes where {expected} were expected")]
    WrongLength {
        /// Bytes an outboard of the object has.
        expected: u64,
        /// Bytes found.
        got: u64,
    },
    /// The file system failed.
    #[error("reading the outboard: {0}")]
    Io(io::Error),
}

/// Reads the pairs on a path through object `id`'s tree (`size` bytes), root first.
pub async fn read_path(
    objects_dir: &Path,
    id: DataObjectId,
    size: u64,
    steps: &[PathStep],
) -> Result<Vec<u8>, ReadError> {
    if steps.is_empty() {
        return Ok(Vec::new());
    }
    let file = open(objects_dir, id).await?;
    let result = read_steps(&file, size, steps).await;
    let _ = file.close().await;
    result
}

async fn read_steps(
    file: &BufferedFile,
    size: u64,
    steps: &[PathStep],
) -> Result<Vec<u8>, ReadError> {
    let expected = bao::outboard_len(size);
    let got = file
        .file_size()
        .await
        .map_err(|e| ReadError::Io(e.into()))?;
    if got != expected {
        return Err(ReadError::WrongLength { expected, got });
    }
    let mut pairs = Vec::with_capacity(steps.len() * PAIR);
    for step in steps {
        let at = step.index * PAIR as u64;
        let bytes = file
            .read_at(at, PAIR)
            .await
            .map_err(|e| ReadError::Io(e.into()))?;
        if bytes.len() != PAIR {
            return Err(ReadError::WrongLength { expected, got });
        }
        pairs.extend_from_slice(&bytes);
    }
    Ok(pairs)
}

/// Opens an object's outboard for reading (a missing one is [`ReadError::Missing`]).
async fn open(objects_dir: &Path, id: DataObjectId) -> Result<BufferedFile, ReadError> {
    BufferedFile::open(path_of(objects_dir, id))
        .await
        .map_err(|e| match io::Error::from(e) {
            e if e.kind() == io::ErrorKind::NotFound => ReadError::Missing,
            e => ReadError::Io(e),
        })
}

/// Bytes of the outboard read at a time by a [`PairReader`] (1024 pairs).
const BLOCK: u64 = 64 * 1024;
/// Blocks a [`PairReader`] keeps: a slice visits pairs roughly in file order, going back only
/// to the subtrees' own pairs near each subtree's end.
const BLOCKS_KEPT: usize = 4;

/// Reads an object's outboard a pair at a time, a block at a time from disk: what a slice
/// needs, in the order it needs it, with at most [`BLOCKS_KEPT`] × 64 KiB in memory.
#[derive(Debug)]
pub struct PairReader {
    file: BufferedFile,
    len: u64,
    /// Blocks read, the most recently used first.
    blocks: Vec<(u64, Vec<u8>)>,
}

impl PairReader {
    /// Opens the outboard of an object of `size` bytes, checking its length.
    pub async fn open(
        objects_dir: &Path,
        id: DataObjectId,
        size: u64,
    ) -> Result<PairReader, ReadError> {
        let file = open(objects_dir, id).await?;
        // The length is checked by reading the last block and one byte more (no `statx`: every
        // operation before a slice's first byte delays it); that block holds the root's pair,
        // which a slice needs first.
        let expected = bao::outboard_len(size);
        if expected == 0 {
            let _ = file.close().await;
            return Err(ReadError::WrongLength {
                expected,
                got: expected,
            });
        }
        let last = (expected - 1) / BLOCK;
        let read = file.read_at(last * BLOCK, BLOCK as usize + 1).await;
        let tail = match read {
            Ok(bytes) => bytes,
            Err(e) => {
                let _ = file.close().await;
                return Err(ReadError::Io(e.into()));
            }
        };
        let got = last * BLOCK + tail.len() as u64;
        if got != expected {
            let _ = file.close().await;
            return Err(ReadError::WrongLength { expected, got });
        }
        let mut blocks = Vec::with_capacity(BLOCKS_KEPT);
        blocks.push((last, tail.to_vec()));
        Ok(PairReader {
            file,
            len: expected,
            blocks,
        })
    }

    /// The pair at `index`.
    pub async fn pair(&mut self, index: u64) -> Result<[u8; PAIR], ReadError> {
        let at = index * PAIR as u64;
        if at + PAIR as u64 > self.len {
            return Err(ReadError::WrongLength {
                expected: at + PAIR as u64,
                got: self.len,
            });
        }
        let (block, off) = (at / BLOCK, (at % BLOCK) as usize);
        let found = match self.blocks.iter().position(|(b, _)| *b == block) {
            Some(i) => i,
            None => {
                let want = (self.len - block * BLOCK).min(BLOCK) as usize;
                let bytes = self
                    .file
                    .read_at(block * BLOCK, want)
                    .await
                    .map_err(|e| ReadError::Io(e.into()))?;
                if bytes.len() != want {
                    return Err(ReadError::WrongLength {
                        expected: self.len,
                        got: block * BLOCK + bytes.len() as u64,
                    });
                }
                if self.blocks.len() == BLOCKS_KEPT {
                    self.blocks.pop();
                }
                self.blocks.push((block, bytes.to_vec()));
                self.blocks.len() - 1
            }
        };
        let entry = self.blocks.remove(found);
        let pair = entry.1[off..off + PAIR].try_into().expect("a whole pair");
        self.blocks.insert(0, entry);
        Ok(pair)
    }

    /// Closes the file.
    pub async fn close(self) {
        let _ = self.file.close().await;
    }
}

/// Bytes read at a time when a small object's tree is rebuilt.
const REBUILD_READ: usize = 64 * 1024;

/// The outboard of an object that keeps none ([`kept`] is false: at most 1 MiB), rebuilt from
/// its file [`REBUILD_READ`] bytes at a time; `on_piece` sees each piece with its offset.
pub async fn rebuild(
    file: &BufferedFile,
    size: u64,
    mut on_piece: impl FnMut(u64, &[u8]),
) -> io::Result<Vec<u8>> {
    let mut tree = bao::Outboarder::new();
    let mut at = 0u64;
    while at < size {
        let piece = file
            .read_at(at, ((size - at) as usize).min(REBUILD_READ))
            .await?;
        if piece.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "object file is shorter than its index record",
            ));
        }
        on_piece(at, &piece);
        tree.update(&piece);
        at += piece.len() as u64;
    }
    Ok(tree.finish().1)
}
