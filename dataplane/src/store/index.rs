//! The durable index: an append-only log of checksummed [`Record`] frames after an 8-byte
//! header. Appends are written at the end and `fdatasync`ed before the caller is told they
//! happened, so a record exists exactly when the operation it describes is complete.
//!
//! Replay stops at the first frame that is cut short or fails its crc. A cut at the very end is
//! an append that a crash interrupted: it is dropped with a warning. Damage with more bytes
//! after it is kept aside in `index.log.damaged-<offset>` for inspection before the log is
//! truncated; objects recorded past it show up as unknown files, which `import --move`
//! re-adopts. Either way start-up goes on, and nothing unverified is served.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use glommio::io::{BufferedFile, OpenOptions};
use hecaton_shared::DataObjectId;
use tracing::{error, warn};

use crate::store::error::{IoContext, StoreError};
use crate::store::record::{DecodeError, ObjectMeta, Record};

const MAGIC: &[u8; 8] = b"HCIDX\x00\x00\x01";
const READ_CHUNK: usize = 4 << 20;

/// What replaying the log found.
#[derive(Debug, Default)]
pub struct Replay {
    /// Live objects after applying every valid record.
    pub objects: HashMap<DataObjectId, ObjectMeta>,
    /// Objects whose last record is a removal: a file of theirs still present is a removal
    /// that a crash interrupted between the record and the unlink.
    pub deleted: HashSet<DataObjectId>,
    /// Valid records read.
    pub records: u64,
    /// Bytes of an unfinished last append that were dropped.
    pub torn_tail_bytes: u64,
    /// Damage before the end: where, why, and where its bytes were kept.
    pub damage: Option<(u64, DecodeError, PathBuf)>,
}

/// The open index log.
#[derive(Debug)]
pub struct Index {
    file: BufferedFile,
    path: PathBuf,
    end: u64,
}

impl Index {
    /// Opens (creating if needed) and replays the log at `path`.
    pub async fn open(path: &Path) -> Result<(Index, Replay), StoreError> {
        let file = open_read_write(path, "open index").await?;
        let bytes = read_all(&file, path).await?;
        let mut index = Index {
            file,
            path: path.to_owned(),
            end: bytes.len() as u64,
        };
        if bytes.get(..MAGIC.len()) != Some(&MAGIC[..]) {
            if !MAGIC.starts_with(&bytes) {
                return Err(StoreError::ForeignIndex {
                    path: path.to_owned(),
                });
            }
            // Empty, or cut while its header was written: a new index.
            index.write_at(MAGIC, 0).await?;
            index.file.fdatasync().await.ctx("sync index", path)?;
            index.end = MAGIC.len() as u64;
            return Ok((index, Replay::default()));
        }
        let (replay, good_end) = replay(&bytes, path);
        if let Some((offset, _, aside)) = &replay.damage {
            keep_aside(aside, &bytes[*offset as usize..]).await?;
        }
        if good_end < bytes.len() as u64 {
            index
                .file
                .truncate(good_end)
                .await
                .ctx("truncate index", path)?;
            index.file.fdatasync().await.ctx("sync index", path)?;
            index.end = good_end;
        }
        Ok((index, replay))
    }

    /// Appends `records` and makes them durable before returning.
    pub async fn append(&mut self, records: &[Record]) -> Result<(), StoreError> {
        let mut buf = Vec::with_capacity(128 * records.len());
        for r in records {
            r.encode(&mut buf);
        }
        let len = buf.len() as u64;
        self.write_at(&buf, self.end).await?;
        self.file.fdatasync().await.ctx("sync index", &self.path)?;
        self.end += len;
        Ok(())
    }

    async fn write_at(&self, bytes: &[u8], pos: u64) -> Result<(), StoreError> {
        write_all_at(&self.file, bytes, pos, &self.path).await
    }

    /// Closes the file.
    pub async fn close(self) -> Result<(), StoreError> {
        self.file.close().await.ctx("close index", &self.path)
    }
}

async fn read_all(file: &BufferedFile, path: &Path) -> Result<Vec<u8>, StoreError> {
    read_whole(file, u64::MAX).await.ctx("read index", path)
}

/// Reads all of `file`, however many reads it takes; a file larger than `max` bytes is refused
/// (`InvalidData`) before anything is read.
pub(crate) async fn read_whole(file: &BufferedFile, max: u64) -> std::io::Result<Vec<u8>> {
    let size = file.file_size().await.map_err(std::io::Error::from)?;
    if size > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {max} bytes"),
        ));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    while (bytes.len() as u64) < size {
        let chunk = file
            .read_at(bytes.len() as u64, READ_CHUNK)
            .await
            .map_err(std::io::Error::from)?;
        if chunk.is_empty() {
            break;
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Applies every valid frame of `bytes` (header included); returns the replay and the offset
/// where valid data ends.
fn replay(bytes: &[u8], path: &Path) -> (Replay, u64) {
    let mut out = Replay::default();
    let mut pos = MAGIC.len();
    while pos < bytes.len() {
        match Record::decode(&bytes[pos..]) {
            Ok((record, n)) => {
                match record {
                    Record::Put(meta) => {
                        out.deleted.remove(&meta.id);
                        out.objects.insert(meta.id, meta);
                    }
                    Record::Delete(id) => {
                        out.objects.remove(&id);
                        out.deleted.insert(id);
                    }
                }
                out.records += 1;
                pos += n;
            }
            Err(DecodeError::Truncated { .. }) => {
                let torn = bytes.len() - pos;
                warn!(
                    offset = pos,
                    bytes = torn,
                    "index ends in an unfinished record; dropping it"
                );
                out.torn_tail_bytes = torn as u64;
                break;
            }
            Err(e) => {
                let aside = PathBuf::from(format!("{}.damaged-{pos}", path.display()));
                error!(
                    offset = pos,
                    dropped_bytes = bytes.len() - pos,
                    kept_in = %aside.display(),
                    "index damaged: {e}; records after it are dropped and their files will be reported as unknown"
                );
                out.damage = Some((pos as u64, e, aside));
                break;
            }
        }
    }
    (out, pos as u64)
}

/// Opens `path` for reading and writing, creating it if needed.
pub(crate) async fn open_read_write(
    path: &Path,
    what: &'static str,
) -> Result<BufferedFile, StoreError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .buffered_open(path)
        .await
        .ctx(what, path)
}

/// Writes all of `bytes` at `pos`, however many calls it takes.
pub(crate) async fn write_all_at(
    file: &BufferedFile,
    bytes: &[u8],
    mut pos: u64,
    path: &Path,
) -> Result<(), StoreError> {
    let mut done = 0;
    while done < bytes.len() {
        let n = file
            .write_at(bytes[done..].to_vec(), pos)
            .await
            .ctx("write", path)?;
        if n == 0 {
            return Err(std::io::Error::from(std::io::ErrorKind::WriteZero)).ctx("write", path);
        }
        done += n;
        pos += n as u64;
    }
    Ok(())
}

async fn keep_aside(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let file = BufferedFile::create(path).await.ctx("create", path)?;
    write_all_at(&file, bytes, 0, path).await?;
    file.fdatasync().await.ctx("sync", path)?;
    file.close().await.ctx("close", path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::media_type::MediaType;
    use hecaton_shared::ContentId;

    fn put(id: u64) -> Record {
        Record::Put(ObjectMeta {
            id: DataObjectId(id),
            size: 3,
            content_id: ContentId::of(b"abc"),
            media_type: MediaType::OctetStream,
            chunk_crcs: vec![crc32fast::hash(b"abc")].into(),
            bag: None,
        })
    }

    fn log(records: &[Record]) -> Vec<u8> {
        let mut buf = MAGIC.to_vec();
        records.iter().for_each(|r| r.encode(&mut buf));
        buf
    }

    #[test]
    fn replay_applies_puts_and_deletes() {
        let bytes = log(&[put(1), put(2), Record::Delete(DataObjectId(1)), put(3)]);
        let (r, end) = replay(&bytes, Path::new("x"));
        assert_eq!(end as usize, bytes.len());
        assert_eq!(r.records, 4);
        let mut ids: Vec<u64> = r.objects.keys().map(|k| k.0).collect();
        ids.sort();
        assert_eq!(ids, [2, 3]);
        assert_eq!(r.deleted, [DataObjectId(1)].into_iter().collect());
        // Stored again after a removal: live, not deleted.
        let (r, _) = replay(
            &log(&[put(1), Record::Delete(DataObjectId(1)), put(1)]),
            Path::new("x"),
        );
        assert!(r.deleted.is_empty() && r.objects.contains_key(&DataObjectId(1)));
    }

    #[test]
    fn a_torn_last_record_is_dropped_not_fatal() {
        let whole = log(&[put(1), put(2)]);
        let first_end = log(&[put(1)]).len();
        for cut in first_end + 1..whole.len() {
            let (r, end) = replay(&whole[..cut], Path::new("x"));
            assert_eq!(end as usize, first_end, "cut {cut}");
            assert_eq!(r.objects.len(), 1);
            assert_eq!(r.torn_tail_bytes as usize, cut - first_end);
            assert!(r.damage.is_none());
        }
    }

    #[test]
    fn damage_in_the_middle_stops_replay_and_is_reported() {
        let mut bytes = log(&[put(1), put(2), put(3)]);
        let second = log(&[put(1)]).len();
        bytes[second + 12] ^= 0xFF;
        let (r, end) = replay(&bytes, Path::new("/s/index.log"));
        assert_eq!(end as usize, second);
        assert_eq!(r.objects.len(), 1);
        let (offset, err, aside) = r.damage.unwrap();
        assert_eq!(offset as usize, second);
        assert_eq!(err, DecodeError::Crc);
        assert_eq!(
            aside,
            PathBuf::from(format!("/s/index.log.damaged-{second}"))
        );
    }
}
