//! The durable index: an append-only log of checksummed [`Record`] frames after an 8-byte
//! header. Appends are written at the end and `fdatasync`ed before the caller is told they
//! happened, so a record exists exactly when the operation it describes is complete.
//!
//! Replay stops at the first frame that is cut short or fails its crc. A cut at the very end is
//! an append that a crash interrupted: it is dropped with a warning. Damage with more bytes
//! after it is kept aside in `index.log.damaged-<offset>` for inspection before the log is
//! truncated; objects recorded past it show up as unknown files, which `import --move`
//! re-adopts. Either way start-up goes on, and nothing unverified is served.

use std::path::{Path, PathBuf};

use glommio::io::{BufferedFile, OpenOptions};
use tracing::{error, warn};

use crate::store::catalog::{Packed, Published};
use crate::store::error::{IoContext, StoreError};
use crate::store::record::{DecodeError, Record};

/// The first bytes of an index log.
pub const MAGIC: &[u8; 8] = b"HCIDX\x00\x00\x01";
const READ_CHUNK: usize = 4 << 20;

/// What replaying the log found.
#[derive(Debug, Default)]
pub struct Replay {
    /// Live objects after applying every valid record, sorted by id.
    pub(crate) objects: Vec<(u64, Packed)>,
    /// Objects whose last record is a removal, sorted: a file of theirs still present is a
    /// removal that a crash interrupted between the record and the unlink.
    pub deleted: Vec<u64>,
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
    /// Opens (creating if needed) and replays the log at `path`, reading it in chunks (the
    /// log is never in memory whole; replay holds 64 bytes per record until it sorts them).
    pub async fn open(path: &Path) -> Result<(Index, Replay), StoreError> {
        let file = open_read_write(path, "open index").await?;
        let size = file.file_size().await.ctx("stat index", path)?;
        let head = read_upto(&file, 0, MAGIC.len(), path).await?;
        let mut index = Index {
            file,
            path: path.to_owned(),
            end: size,
        };
        if head != MAGIC[..] {
            if size > MAGIC.len() as u64 || !MAGIC.starts_with(&head) {
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
        let (replay, good_end) = replay(&index.file, size, path, READ_CHUNK).await?;
        if let Some((offset, _, aside)) = &replay.damage {
            keep_aside(&index.file, *offset, size, aside, path).await?;
        }
        if good_end < size {
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

/// Up to `len` bytes of `file` at `pos` (fewer only at its end).
async fn read_upto(
    file: &BufferedFile,
    pos: u64,
    len: usize,
    path: &Path,
) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let chunk = file
            .read_at(pos + out.len() as u64, len - out.len())
            .await
            .ctx("read index", path)?;
        if chunk.is_empty() {
            break;
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
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

/// Applies every valid frame of the log's `size` bytes, read `chunk` bytes at a time; returns
/// the replay and the offset where valid data ends.
async fn replay(
    file: &BufferedFile,
    size: u64,
    path: &Path,
    chunk: usize,
) -> Result<(Replay, u64), StoreError> {
    let mut replayer = Replayer::default();
    let mut buf: Vec<u8> = Vec::new();
    let mut buf_at = MAGIC.len() as u64; // file offset of buf[0]
    let mut pos = 0; // consumed bytes of buf
    let mut read_to = buf_at; // file offset read so far
    loop {
        match replayer.feed(&buf[pos..], buf_at + pos as u64, read_to == size, path) {
            Fed::Consumed(n) => pos += n,
            Fed::NeedMore(needed) => {
                buf.drain(..pos);
                buf_at += pos as u64;
                pos = 0;
                let want = needed.max(chunk).saturating_sub(buf.len());
                let chunk = read_upto(file, read_to, want.max(1), path).await?;
                read_to += chunk.len() as u64;
                buf.extend_from_slice(&chunk);
                if chunk.is_empty() {
                    read_to = size;
                }
            }
            Fed::Stopped(end) => return Ok((replayer.finish(), end)),
        }
    }
}

/// What [`Replayer::feed`] did with the bytes it was given.
enum Fed {
    /// Applied records spanning this many bytes.
    Consumed(usize),
    /// The next frame needs at least this many bytes.
    NeedMore(usize),
    /// Replay ends; valid data ends at this offset.
    Stopped(u64),
}

/// Replay state: every record in log order, sorted at the end.
#[derive(Default)]
struct Replayer {
    /// `(id, Some(object))` for a put, `(id, None)` for a removal, in log order.
    log: Vec<(u64, Option<Packed>)>,
    records: u64,
    torn_tail_bytes: u64,
    damage: Option<(u64, DecodeError, PathBuf)>,
}

impl Replayer {
    /// Applies the frames at the start of `bytes` (which begin at file offset `at`); `eof`
    /// says no bytes follow them.
    fn feed(&mut self, bytes: &[u8], at: u64, eof: bool, path: &Path) -> Fed {
        let mut used = 0;
        loop {
            if used == bytes.len() && eof {
                return Fed::Stopped(at + used as u64);
            }
            match Record::decode(&bytes[used..]) {
                Ok((record, n)) => {
                    self.log.push(match record {
                        Record::Put(meta) => (meta.id.0, Some(Packed::of(&Published::from(&meta)))),
                        Record::Delete(id) => (id.0, None),
                    });
                    self.records += 1;
                    used += n;
                }
                Err(DecodeError::Truncated { needed, .. }) if !eof => {
                    return if used > 0 {
                        Fed::Consumed(used)
                    } else {
                        Fed::NeedMore(needed)
                    };
                }
                Err(DecodeError::Truncated { .. }) => {
                    let offset = at + used as u64;
                    let torn = bytes.len() - used;
                    warn!(
                        offset,
                        bytes = torn,
                        "index ends in an unfinished record; dropping it"
                    );
                    self.torn_tail_bytes = torn as u64;
                    return Fed::Stopped(offset);
                }
                Err(e) => {
                    let offset = at + used as u64;
                    let aside = PathBuf::from(format!("{}.damaged-{offset}", path.display()));
                    error!(
                        offset,
                        kept_in = %aside.display(),
                        "index damaged: {e}; records after it are dropped and their files will be reported as unknown"
                    );
                    self.damage = Some((offset, e, aside));
                    return Fed::Stopped(offset);
                }
            }
        }
    }

    /// The last record of each id decides: live objects and removals, each sorted by id.
    fn finish(self) -> Replay {
        let mut log = self.log;
        // Stable: records of one id keep their log order, the last one is kept. A log in id
        // order (appends of ascending ids) needs no sort, and no sort buffer (half the log).
        if !log.is_sorted_by_key(|e| e.0) {
            log.sort_by_key(|e| e.0);
        }
        // In place, so replay never holds two copies of the log: the last record of each id
        // takes its run's place, removals are noted and dropped, and the puts become the
        // objects in the same allocation (same size and alignment, so `collect` reuses it).
        log.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                std::mem::swap(later, kept);
            }
            same
        });
        let deleted: Vec<u64> = log.iter().filter(|e| e.1.is_none()).map(|e| e.0).collect();
        log.retain(|e| e.1.is_some());
        let objects: Vec<(u64, Packed)> = log
            .into_iter()
            .map(|(id, p)| (id, p.expect("puts only")))
            .collect();
        Replay {
            objects,
            deleted,
            records: self.records,
            torn_tail_bytes: self.torn_tail_bytes,
            damage: self.damage,
        }
    }
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

/// Copies the log's bytes from `from` to its end into `aside`.
async fn keep_aside(
    file: &BufferedFile,
    from: u64,
    size: u64,
    aside: &Path,
    path: &Path,
) -> Result<(), StoreError> {
    let out = BufferedFile::create(aside).await.ctx("create", aside)?;
    let mut pos = from;
    while pos < size {
        let chunk = read_upto(file, pos, READ_CHUNK.min((size - pos) as usize), path).await?;
        if chunk.is_empty() {
            break;
        }
        write_all_at(&out, &chunk, pos - from, aside).await?;
        pos += chunk.len() as u64;
    }
    out.fdatasync().await.ctx("sync", aside)?;
    out.close().await.ctx("close", aside)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::media_type::MediaType;
    use crate::store::record::ObjectMeta;
    use hecaton_shared::{ContentId, DataObjectId};

    /// Replays a whole log held in memory.
    fn replay(bytes: &[u8], path: &Path) -> (Replay, u64) {
        let mut r = Replayer::default();
        match r.feed(&bytes[MAGIC.len()..], MAGIC.len() as u64, true, path) {
            Fed::Stopped(end) => (r.finish(), end),
            _ => unreachable!("at the end of the bytes replay stops"),
        }
    }

    fn ids(r: &Replay) -> Vec<u64> {
        r.objects.iter().map(|e| e.0).collect()
    }

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
        assert_eq!(ids(&r), [2, 3]);
        assert_eq!(r.deleted, [1]);
        // Stored again after a removal: live, not deleted.
        let (r, _) = replay(
            &log(&[put(1), Record::Delete(DataObjectId(1)), put(1)]),
            Path::new("x"),
        );
        assert!(r.deleted.is_empty() && ids(&r) == [1]);
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

    /// Frames cut across read chunks anywhere replay as one read of the whole log does.
    #[test]
    fn replay_reads_the_log_in_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.log");
        let mut records: Vec<Record> = (0..60).map(put).collect();
        records.push(Record::Delete(DataObjectId(7)));
        records.push(Record::Put(ObjectMeta {
            id: DataObjectId(99),
            size: 5 << 20,
            content_id: ContentId::of(b"big"),
            media_type: MediaType::Mp4,
            chunk_crcs: vec![1, 2, 3, 4, 5].into(),
            bag: Some("dynamic:channel:4".parse().unwrap()),
        }));
        let mut bytes = log(&records);
        bytes.extend_from_slice(&[9, 0, 0]); // a torn last append
        std::fs::write(&path, &bytes).unwrap();
        let (whole, whole_end) = replay(&bytes, &path);
        assert_eq!(whole.objects.len(), 60);
        assert_eq!(whole_end as usize, bytes.len() - 3);
        let size = bytes.len() as u64;
        glommio::LocalExecutorBuilder::default()
            .spawn(move || async move {
                let file = BufferedFile::open(&path).await.unwrap();
                for chunk in [1, 7, 64, 1000, READ_CHUNK] {
                    let (r, end) = super::replay(&file, size, &path, chunk).await.unwrap();
                    assert_eq!(end, whole_end, "chunk {chunk}");
                    assert_eq!(ids(&r), ids(&whole), "chunk {chunk}");
                    assert_eq!(r.deleted, [7]);
                    assert_eq!(r.records, 62);
                    assert_eq!(r.torn_tail_bytes, 3);
                }
                file.close().await.unwrap();
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
