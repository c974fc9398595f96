//! The local object store.
//!
//! Layout under the store directory:
//! - `objects/<id>`: published objects, one file each, named by decimal data object id (the
//!   same as a Colossus uploads directory, so one can be adopted in place);
//! - `tmp/`: bytes being written; nothing here is ever served, and it is swept at start-up;
//! - `uploads/`: resumable (tus) uploads in progress, one file per upload, named
//!   `<id>.<created>.<token>` ([`UploadName`]), kept across restarts so that clients resume them
//!   until they expire; their `.lock` files (a PATCH in progress) are swept at start-up;
//! - `outboards/<id>`: each object's BLAKE3 tree above 16 KiB groups, from which proofs of its
//!   parts are cut ([`outboard`]); derived data, written at publish and never synced;
//! - `quarantine/<id>.<unix time>`: objects the scrub found corrupt, set aside (the last few);
//! - `scrub.state`: where the scrub is (`control/scrub.rs`);
//! - `index.log`: the durable index ([`index`]);
//! - `LOCK`: held by the one process using the store.
//!
//! Publishing is: bytes in a temp file (or, for `import --move`, the operator's own file),
//! digest verified against what was declared, file synced, renamed into `objects/`, directory
//! synced, record appended and synced. An object is in the catalog only once all of that is
//! done, so a crash at any point leaves either nothing or a complete, verified object; what a
//! crash can leave behind is a temp file (swept) or a file in `objects/` the index does not
//! know (reported, never served).
//!
//! All file I/O goes through glommio. The listing of `objects/` at start-up runs on a thread of
//! its own (`listing.rs`); the other listings use glommio's `sync_read_dir`, which blocks the
//! executor while it reads: `import` of a directory (before serving), and, on the control
//! executor while serving, the periodic sweep of `tmp/` and `uploads/` and the scrub's
//! `quarantine/` (at most 17 names, only after a corruption); none runs on a shard.

mod catalog;
mod digest;
mod error;
mod file_check;
mod import;
mod index;
mod listing;
mod lock;
pub mod media_type;
pub mod outboard;
mod record;
pub mod space;
pub mod temp;
mod upload_name;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use glommio::io::{BufferedFile, Directory};
use hecaton_shared::{BagId, ContentId, DataObjectId};
use tracing::info;

pub use catalog::{id_of_file_name, object_path, Catalog, Published};
pub use digest::{Digest, Digester};
pub use error::StoreError;
pub use file_check::FileCheck;
pub use import::{expect, import, ImportOptions, ImportSummary};
pub(crate) use index::{read_whole, write_all_at};
pub use index::{Replay, MAGIC as INDEX_MAGIC};
pub use lock::StoreLock;
pub use record::{chunk_count, DecodeError, ObjectMeta, Record, CHUNK_SIZE};
pub use upload_name::{unix_now, NoRandom, UploadName};

use crate::idmap::IdMap;
use error::IoContext;
use index::Index;

/// What the caller declared an object to be (from the chain); publishing checks the digest
/// against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    /// Declared size.
    pub size: u64,
    /// Declared content id.
    pub content_id: ContentId,
}

/// One object to publish: its bytes are in `from`, described by `digest`.
#[derive(Debug)]
pub struct Publish {
    /// Object id.
    pub id: DataObjectId,
    /// The verified file.
    pub from: PathBuf,
    /// Its digest.
    pub digest: Digest,
    /// What the chain declared, checked against the digest.
    pub expected: Option<Expected>,
    /// The bag it is stored for, recorded with it.
    pub bag: Option<BagId>,
    /// The caller synced the file and checked its length against the digest already
    /// (`import` does, many files at once): publishing only renames it and records it.
    pub durable: bool,
}

/// What start-up found and did.
#[derive(Debug, Default)]
pub struct Recovery {
    /// Objects served after recovery.
    pub objects: usize,
    /// Index records replayed.
    pub records: u64,
    /// Bytes of an unfinished last index record that were dropped.
    pub torn_tail_bytes: u64,
    /// Offset of damage inside the index, if any (its bytes are kept aside).
    pub damaged_at: Option<u64>,
    /// Temp files removed.
    pub swept_temp: usize,
    /// Files in `objects/` the index does not know: not served; `import --move` adopts them.
    /// (Filled by [`Store::open`]; [`Store::open_deferred`] leaves the check to [`FileCheck`].)
    pub unknown_files: Vec<String>,
    /// Indexed objects whose file is gone: dropped from the catalog.
    pub missing_files: Vec<DataObjectId>,
    /// Files of removed objects that a crash left behind (removal is recorded, then the file
    /// unlinked): unlinked now.
    pub finished_removals: usize,
}

/// An open store, held exclusively by this process.
#[derive(Debug)]
pub struct Store {
    objects_dir: PathBuf,
    tmp_dir: PathBuf,
    objects_dir_handle: Directory,
    index: Index,
    catalog: Catalog,
    /// The check of `objects/` recovery started, until it is applied.
    check: Option<file_check::PendingCheck>,
    _lock: StoreLock,
}

impl Store {
    /// Opens the store at `root`, creating it if needed, and recovers, the check of its files
    /// included.
    pub async fn open(root: &Path) -> Result<(Store, Recovery), StoreError> {
        let (mut store, mut recovery) = Self::open_deferred(root).await?;
        if let Some(check) = store.finish_file_check().await? {
            recovery.objects -= check.missing_files.len();
            recovery.missing_files = check.missing_files;
            recovery.unknown_files = check.unknown_files;
            recovery.finished_removals = check.finished_removals;
        }
        Ok((store, recovery))
    }

    /// Opens the store at `root`, creating it if needed, and recovers from its index; the
    /// check of `objects/` against it goes on in the background (see [`FileCheck`]): the store
    /// can serve at once, and its writer applies the check with
    /// [`Store::finish_file_check`] when [`Store::file_check_ready`].
    pub async fn open_deferred(root: &Path) -> Result<(Store, Recovery), StoreError> {
        let root_dir = Directory::create(root)
            .await
            .ctx("create store directory", root)?;
        close_dir(root_dir, root).await?;
        let lock = StoreLock::acquire(&root.join("LOCK")).await?;
        let objects_dir = root.join("objects");
        let tmp_dir = root.join("tmp");
        let objects_dir_handle = Directory::create(&objects_dir)
            .await
            .ctx("create", &objects_dir)?;
        let outboards_dir = outboard::dir_of(&objects_dir);
        close_dir(
            Directory::create(&outboards_dir)
                .await
                .ctx("create", &outboards_dir)?,
            &outboards_dir,
        )
        .await?;
        close_dir(
            Directory::create(&tmp_dir).await.ctx("create", &tmp_dir)?,
            &tmp_dir,
        )
        .await?;

        let uploads_dir = root.join("uploads");
        close_dir(
            Directory::create(&uploads_dir)
                .await
                .ctx("create", &uploads_dir)?,
            &uploads_dir,
        )
        .await?;
        for name in list_names(&uploads_dir).await? {
            if name.ends_with(".lock") {
                let path = uploads_dir.join(&name);
                glommio::io::remove(&path)
                    .await
                    .ctx("remove stale upload lock", &path)?;
            }
        }
        // The listing of `objects/` runs on its own thread while the index is replayed.
        let listing = listing::spawn(objects_dir.clone()).ctx("start listing", &objects_dir)?;
        let (index, replay) = Index::open(&root.join("index.log")).await?;
        let recovery = Recovery {
            records: replay.records,
            torn_tail_bytes: replay.torn_tail_bytes,
            damaged_at: replay.damage.as_ref().map(|d| d.0),
            objects: replay.objects.len(),
            swept_temp: sweep_dir(&tmp_dir).await?,
            ..Recovery::default()
        };
        info!(
            objects = recovery.objects,
            swept_temp = recovery.swept_temp,
            "store recovered from its index; its files are being checked"
        );
        let store = Store {
            objects_dir: objects_dir.clone(),
            tmp_dir,
            objects_dir_handle,
            index,
            catalog: Catalog::of_map(IdMap::from_sorted_vec(replay.objects), objects_dir.clone()),
            check: Some(file_check::PendingCheck {
                listing,
                deleted: replay.deleted,
                removed_since: HashSet::new(),
            }),
            _lock: lock,
        };
        Ok((store, recovery))
    }

    /// The published object, if any.
    pub fn get(&self, id: DataObjectId) -> Option<Published> {
        self.catalog.get(id)
    }

    /// The published objects as they are now (an O(1) copy that later publishes do not change).
    pub fn catalog(&self) -> Catalog {
        self.catalog.clone()
    }

    /// Where temp files go.
    pub fn tmp_dir(&self) -> &Path {
        &self.tmp_dir
    }

    /// Where an object's file lives once published.
    pub fn object_path(&self, id: DataObjectId) -> PathBuf {
        object_path(&self.objects_dir, id)
    }

    /// Publishes the file at `from` as object `id`. `digest` must describe the file's bytes
    /// (computed while they were written or read); when `expected` is given it must match.
    /// The file is synced, renamed into place, the directories synced and the record made
    /// durable before this returns.
    pub async fn publish(
        &mut self,
        id: DataObjectId,
        from: &Path,
        digest: Digest,
        expected: Option<Expected>,
    ) -> Result<(), StoreError> {
        let item = Publish {
            id,
            from: from.to_owned(),
            digest,
            expected,
            bag: None,
            durable: false,
        };
        self.publish_many(vec![item])
            .await
            .pop()
            .expect("one result per item")
    }

    /// Publishes several objects with one commit (group commit): each file is synced and renamed
    /// into place, then the objects directory is synced once and all records are appended to
    /// the index with one sync. Objects that finish together pay two syncs between them instead
    /// of two each. One result per item, in order; an item refused or failing before the commit
    /// does not hold back the others.
    pub async fn publish_many(&mut self, items: Vec<Publish>) -> Vec<Result<(), StoreError>> {
        let mut results: Vec<Result<(), StoreError>> = Vec::with_capacity(items.len());
        let mut staged = Vec::new();
        let mut parents = HashSet::new();
        for (i, item) in items.into_iter().enumerate() {
            let batched = staged
                .iter()
                .any(|(_, m): &(usize, ObjectMeta)| m.id == item.id);
            let outcome = if self.catalog.contains(item.id) || batched {
                Err(StoreError::AlreadyStored(item.id))
            } else {
                self.place(&item).await
            };
            match outcome {
                Ok(()) => {
                    if let Some(parent) = item.from.parent().filter(|p| *p != self.objects_dir) {
                        parents.insert(parent.to_owned());
                    }
                    let meta = ObjectMeta {
                        id: item.id,
                        size: item.digest.size,
                        content_id: item.digest.content_id,
                        media_type: item.digest.media_type,
                        chunk_crcs: item.digest.chunk_crcs,
                        bag: item.bag,
                    };
                    staged.push((i, meta));
                    results.push(Ok(()));
                }
                Err(e) => results.push(Err(e)),
            }
        }
        if staged.is_empty() {
            return results;
        }
        if let Err(e) = self.commit(&staged, &parents).await {
            let why = e.to_string();
            for (i, _) in &staged {
                results[*i] = Err(StoreError::Commit(why.clone()));
            }
            return results;
        }
        for (_, meta) in staged {
            self.catalog.insert(Published::from(&meta));
        }
        results
    }

    /// Checks one item against what was declared, syncs its file and renames it into place.
    async fn place(&self, item: &Publish) -> Result<(), StoreError> {
        let (id, digest) = (item.id, &item.digest);
        if let Some(exp) = item.expected {
            if exp.size != digest.size {
                return Err(StoreError::SizeMismatch {
                    id,
                    expected: exp.size,
                    actual: digest.size,
                });
            }
            if exp.content_id != digest.content_id {
                return Err(StoreError::ContentMismatch {
                    id,
                    expected: exp.content_id,
                    actual: digest.content_id,
                });
            }
        }
        let from = &item.from;
        if !item.durable {
            self.sync_and_check(from, id, digest.size).await?;
        }
        let to = self.object_path(id);
        if to != *from {
            glommio::io::rename(from, &to).await.map_err(|e| {
                let e = std::io::Error::from(e);
                if e.kind() == std::io::ErrorKind::CrossesDevices {
                    StoreError::CrossDevice {
                        path: from.to_owned(),
                    }
                } else {
                    StoreError::Io {
                        what: "rename",
                        path: from.to_owned(),
                        source: e,
                    }
                }
            })?;
        }
        // Derived data: an object without its outboard is served all the same (its proofs
        // answer "not available" until it is rebuilt).
        if let Err(e) = outboard::write(&self.objects_dir, id, digest.size, &digest.outboard).await
        {
            tracing::warn!(%id, error = %e, "could not write the object's outboard");
        }
        Ok(())
    }

    /// Syncs the file at `from` after checking its length. The digest says what the writer
    /// hashed, not what reached the disk: a short write at disk full (issue 14, defect 8) leaves
    /// a file shorter than its digest, and what is published is checked here, whatever wrote it.
    async fn sync_and_check(
        &self,
        from: &Path,
        id: DataObjectId,
        size: u64,
    ) -> Result<(), StoreError> {
        let file = BufferedFile::open(from).await.ctx("open", from)?;
        let on_disk = file.file_size().await.ctx("stat", from)?;
        if on_disk != size {
            let _ = file.close().await;
            return Err(StoreError::SizeMismatch {
                id,
                expected: size,
                actual: on_disk,
            });
        }
        file.fdatasync().await.ctx("sync", from)?;
        file.close().await.ctx("close", from)
    }

    /// Makes renamed objects durable: the directories they left and entered, then their records.
    async fn commit(
        &mut self,
        staged: &[(usize, ObjectMeta)],
        parents: &HashSet<PathBuf>,
    ) -> Result<(), StoreError> {
        for parent in parents {
            sync_dir(parent).await?;
        }
        self.objects_dir_handle
            .sync()
            .await
            .ctx("sync", &self.objects_dir)?;
        let records: Vec<Record> = staged.iter().map(|(_, m)| Record::Put(m.clone())).collect();
        self.index.append(&records).await
    }

    /// Removes objects from the store: one durable `Delete` record each (one sync for all), and
    /// out of the catalog. Their files are not unlinked here: the caller does that with
    /// [`unlink_objects`] once readers that looked them up have opened them (an open file keeps
    /// its bytes after the unlink). A crash before the unlink is finished by recovery. Returns
    /// the ids that were stored (the others are ignored).
    pub async fn remove_many(
        &mut self,
        ids: &[DataObjectId],
    ) -> Result<Vec<DataObjectId>, StoreError> {
        let mut removed: Vec<DataObjectId> = Vec::new();
        for id in ids {
            if self.catalog.contains(*id) && !removed.contains(id) {
                removed.push(*id);
            }
        }
        if removed.is_empty() {
            return Ok(removed);
        }
        let records: Vec<Record> = removed.iter().map(|id| Record::Delete(*id)).collect();
        self.index.append(&records).await?;
        for id in &removed {
            self.catalog.remove(*id);
        }
        if let Some(check) = &mut self.check {
            check.removed_since.extend(removed.iter().copied());
        }
        Ok(removed)
    }

    /// The directory published objects live in.
    pub fn objects_dir(&self) -> &Path {
        &self.objects_dir
    }

    /// Closes the store and hands back the lock, which keeps the store reserved until it is
    /// dropped (on any thread).
    pub async fn close(self) -> Result<StoreLock, StoreError> {
        self.into_catalog().await.map(|(_, lock)| lock)
    }

    /// Closes the store, turning its objects into the read-only catalog serving needs (moved,
    /// not copied), and hands back the lock.
    pub async fn into_catalog(self) -> Result<(Catalog, StoreLock), StoreError> {
        self.index.close().await?;
        close_dir(self.objects_dir_handle, &self.objects_dir).await?;
        Ok((self.catalog, self._lock))
    }
}

/// Unlinks the files of removed objects (see [`Store::remove_many`]) and syncs the directory.
/// A file already gone is not an error.
pub async fn unlink_objects(objects_dir: &Path, ids: &[DataObjectId]) -> Result<(), StoreError> {
    for id in ids {
        let path = object_path(objects_dir, *id);
        if let Err(e) = glommio::io::remove(&path).await {
            let e = std::io::Error::from(e);
            if e.kind() != std::io::ErrorKind::NotFound {
                return Err(StoreError::Io {
                    what: "unlink removed object",
                    path,
                    source: e,
                });
            }
        }
        outboard::remove(objects_dir, *id).await.ctx(
            "unlink removed object's outboard",
            outboard::path_of(objects_dir, *id),
        )?;
    }
    sync_dir(objects_dir).await
}

async fn sync_dir(path: &Path) -> Result<(), StoreError> {
    let dir = Directory::open(path).await.ctx("open directory", path)?;
    dir.sync().await.ctx("sync directory", path)?;
    close_dir(dir, path).await
}

async fn close_dir(dir: Directory, path: &Path) -> Result<(), StoreError> {
    dir.close().await.ctx("close directory", path)
}

/// Entry names of a directory, through glommio's (synchronous) listing.
pub(crate) async fn list_names(dir: &Path) -> Result<Vec<String>, StoreError> {
    let mut names = Vec::new();
    for_each_name(dir, |name| names.push(name)).await?;
    Ok(names)
}

/// Calls `f` with each entry name of a directory as it is listed (glommio's synchronous
/// listing), without holding them all.
pub(crate) async fn for_each_name(dir: &Path, mut f: impl FnMut(String)) -> Result<(), StoreError> {
    let handle = Directory::open(dir).await.ctx("open directory", dir)?;
    for entry in handle.sync_read_dir().ctx("list", dir)? {
        let entry = entry.ctx("list", dir)?;
        f(entry.file_name().to_string_lossy().into_owned());
    }
    close_dir(handle, dir).await
}

async fn sweep_dir(dir: &Path) -> Result<usize, StoreError> {
    let names = list_names(dir).await?;
    for name in &names {
        let path = dir.join(name);
        glommio::io::remove(&path)
            .await
            .ctx("remove temp file", &path)?;
    }
    if !names.is_empty() {
        sync_dir(dir).await?;
        info!(
            count = names.len(),
            "swept temp files left by an earlier run"
        );
    }
    Ok(names.len())
}

#[cfg(test)]
mod tests;
