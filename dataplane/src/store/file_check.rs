//! The check of `objects/` against the index that recovery starts: which indexed objects lost
//! their file (dropped from the catalog, as before serving), which files are leftovers of a
//! removal a crash interrupted (unlinked), which the index does not know (reported, never
//! served; `import --move` adopts them).
//!
//! Listing a directory of ten million files took 14 s with a cold page cache (ext4, this
//! machine), longer than replaying the whole index, so a serving store does not wait for it:
//! [`Store::open_deferred`] returns once the index is replayed, the listing goes on in its
//! thread, and the store's writer applies its result when it is ready
//! ([`Store::finish_file_check`]). Meanwhile an indexed object whose file is gone answers 404
//! when asked for (its open fails), as it would after the check. The result is applied against
//! the store as it is then: a file listed as missing is looked for again before its object is
//! dropped, an object removed or published since is left alone.

use std::collections::HashSet;
use std::thread::JoinHandle;
use std::time::Duration;

use glommio::io::BufferedFile;
use hecaton_shared::DataObjectId;
use tracing::{info, warn};

use super::error::IoContext;
use super::listing::ObjectFiles;
use super::{object_path, sync_dir, Store, StoreError};

/// How often a wait for the listing looks whether it is done.
const POLL: Duration = Duration::from_millis(20);

/// A check started by recovery and not applied yet.
#[derive(Debug)]
pub(super) struct PendingCheck {
    pub(super) listing: JoinHandle<std::io::Result<ObjectFiles>>,
    /// Objects whose last index record is a removal, sorted.
    pub(super) deleted: Vec<u64>,
    /// Objects removed since the store opened (their files go by the writer's own unlink).
    pub(super) removed_since: HashSet<DataObjectId>,
}

/// What tells a listed file the catalog does not hold from an unknown one.
struct Gone {
    deleted: Vec<u64>,
    removed_since: HashSet<DataObjectId>,
}

/// What the check found and did.
#[derive(Debug, Default)]
pub struct FileCheck {
    /// Indexed objects whose file is gone: dropped from the catalog.
    pub missing_files: Vec<DataObjectId>,
    /// Files the index does not know: not served.
    pub unknown_files: Vec<String>,
    /// Files of removed objects a crash left behind: unlinked.
    pub finished_removals: usize,
}

impl Store {
    /// Whether the check of `objects/` has not been applied yet.
    pub fn file_check_pending(&self) -> bool {
        self.check.is_some()
    }

    /// Whether the listing is done, so that [`Store::finish_file_check`] will not wait.
    pub fn file_check_ready(&self) -> bool {
        self.check.as_ref().is_some_and(|c| c.listing.is_finished())
    }

    /// Waits for the listing (without blocking the executor) and applies it; `None` when no
    /// check is pending.
    pub async fn finish_file_check(&mut self) -> Result<Option<FileCheck>, StoreError> {
        let Some(PendingCheck {
            listing,
            deleted,
            removed_since,
        }) = self.check.take()
        else {
            return Ok(None);
        };
        while !listing.is_finished() {
            glommio::timer::sleep(POLL).await;
        }
        let pending = Gone {
            deleted,
            removed_since,
        };
        let files = listing
            .join()
            .map_err(|_| StoreError::Io {
                what: "list",
                path: self.objects_dir.clone(),
                source: std::io::Error::other("the listing thread panicked"),
            })?
            .ctx("list", &self.objects_dir)?;
        let mut check = FileCheck {
            unknown_files: files.others,
            ..FileCheck::default()
        };
        // Both sorted: one walk finds the objects not listed and the files not indexed.
        let mut not_listed = Vec::new();
        let mut leftovers = Vec::new();
        let mut listed = files.ids.iter().copied().peekable();
        for id in self.catalog.ids() {
            while let Some(&l) = listed.peek().filter(|l| **l < id.0) {
                listed.next();
                self.classify(DataObjectId(l), &pending, &mut check, &mut leftovers);
            }
            if listed.peek() == Some(&id.0) {
                listed.next();
            } else {
                not_listed.push(id);
            }
        }
        for l in listed {
            self.classify(DataObjectId(l), &pending, &mut check, &mut leftovers);
        }
        for id in leftovers {
            let path = object_path(&self.objects_dir, id);
            glommio::io::remove(&path)
                .await
                .ctx("remove a removed object's file", &path)?;
            super::outboard::remove(&self.objects_dir, id)
                .await
                .ctx("remove a removed object's outboard", &path)?;
            check.finished_removals += 1;
        }
        if check.finished_removals > 0 {
            sync_dir(&self.objects_dir).await?;
            info!(
                count = check.finished_removals,
                "unlinked the files of removals a crash interrupted"
            );
        }
        for id in not_listed {
            let path = object_path(&self.objects_dir, id);
            match BufferedFile::open(&path)
                .await
                .map_err(std::io::Error::from)
            {
                Ok(file) => drop(file.close().await),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    self.catalog.remove(id);
                    check.missing_files.push(id);
                }
                Err(_) => {} // there, but not openable now: serving reports it
            }
        }
        if !check.unknown_files.is_empty() {
            warn!(
                count = check.unknown_files.len(),
                first = ?check.unknown_files.iter().take(5).collect::<Vec<_>>(),
                "files in {} that the index does not know are not served; adopt them with `hecaton-dataplane import --move`",
                self.objects_dir.display()
            );
        }
        if !check.missing_files.is_empty() {
            warn!(count = check.missing_files.len(), first = ?check.missing_files.iter().take(5).collect::<Vec<_>>(),
                "indexed objects whose files are gone are not served");
        }
        Ok(Some(check))
    }

    /// A listed file that the catalog does not hold: a leftover of a removal, a file of an
    /// object removed since the store opened (the writer unlinks it), or unknown.
    fn classify(
        &self,
        id: DataObjectId,
        pending: &Gone,
        check: &mut FileCheck,
        leftovers: &mut Vec<DataObjectId>,
    ) {
        if pending.removed_since.contains(&id) {
            return;
        }
        if pending.deleted.binary_search(&id.0).is_ok() {
            leftovers.push(id);
        } else {
            check.unknown_files.push(id.to_string());
        }
    }
}
