//! `hecaton-dataplane import`: adopt existing files named by decimal object id, such as a
//! Colossus uploads directory. Each file's digest is computed; with `--move` the file itself is
//! renamed into the store (same filesystem only), otherwise it is copied through a temp file.
//! Either way it is published like an upload: verified, durable, renamed, indexed.
//!
//! With an expectations file (`--expect`, [`expect`]) every file is checked against what the
//! chain declares for its id: a file whose id the chain does not list, whose size differs (known
//! before a byte is read) or whose content id differs is **left out** (not moved, not
//! published, never served) and listed with why.
//!
//! Files are digested and checked `jobs` at a time, then published in batches with one group
//! commit each: one `syncfs` of the store's filesystem for the whole batch (instead of an
//! `fdatasync` per file: the way `cp` + `sync` makes a copy durable) and the renames, all in
//! one job on a thread of its own ([`offload`]: glommio renames through its blocking pool one
//! hand-off per file, the most of an import's time, measured); then one sync of `objects/` and
//! one index append. The next batch is prepared while one is committed. A crash after the
//! renames and before the append leaves files in `objects/` the index does not know: never
//! served, and adopted by importing `objects/` itself (which `migrate` does).

pub mod expect;
mod offload;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use glommio::io::{BufferedFile, Directory};
use glommio::sync::Semaphore;
use glommio::task::JoinHandle;
use hecaton_shared::DataObjectId;
use indicatif::{ProgressBar, ProgressStyle};
use tracing::warn;

use crate::store::error::{IoContext, StoreError};
use crate::store::index::write_all_at;
use crate::store::{id_of_file_name, list_names, Digester, Expected, Publish, Store};
pub use expect::Declared;

const READ_CHUNK: usize = 1 << 20;

/// How to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Rename the files into the store instead of copying them.
    pub move_files: bool,
    /// Draw a progress bar on stderr (only when it is a terminal).
    pub progress: bool,
    /// Files digested at once.
    pub jobs: usize,
    /// Files published per group commit.
    pub batch: usize,
    /// What the chain declares, by id; `None` adopts every well-named file as it is.
    pub expected: Option<Arc<HashMap<DataObjectId, Declared>>>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            move_files: false,
            progress: false,
            jobs: 16,
            batch: 512,
            expected: None,
        }
    }
}

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportSummary {
    /// Objects published.
    pub imported: u64,
    /// Their bytes.
    pub imported_bytes: u64,
    /// Files whose id the store already had.
    pub already_stored: u64,
    /// Files not imported, with why (not a decimal id, not a regular file).
    pub skipped: Vec<(PathBuf, String)>,
    /// Files that do not match the chain (or that it does not list), with why: never served.
    pub left_out: Vec<(PathBuf, String)>,
    /// Files that failed, with the error.
    pub failed: Vec<(PathBuf, String)>,
}

/// What preparing one file came to.
enum Prepared {
    Ready(Publish),
    LeftOut(PathBuf, String),
    Skipped(PathBuf, String),
    Failed(PathBuf, String),
}

/// Imports every file named in `paths` (directories are expanded one level).
pub async fn import(store: &mut Store, paths: &[PathBuf], opts: ImportOptions) -> ImportSummary {
    let mut summary = ImportSummary::default();
    let files = expand(paths, &mut summary).await;
    let bar = progress_bar(opts.progress, files.len() as u64);
    let mut candidates = Vec::with_capacity(files.len());
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(id) = id_of_file_name(&name) else {
            summary
                .skipped
                .push((path, "name is not a decimal data object id".into()));
            bar.inc(1);
            continue;
        };
        if store.get(id).is_some() {
            summary.already_stored += 1;
            bar.inc(1);
            continue;
        }
        let declared = match &opts.expected {
            None => None,
            Some(map) => match map.get(&id) {
                Some(d) => Some(d.clone()),
                None => {
                    let why = "the chain lists no such object in this node's buckets";
                    summary.left_out.push((path, why.into()));
                    bar.inc(1);
                    continue;
                }
            },
        };
        candidates.push((id, path, declared));
    }
    let jobs = Rc::new(Semaphore::new(opts.jobs.max(1) as u64));
    let tmp = store.tmp_dir().to_owned();
    let mut in_flight: Option<Vec<JoinHandle<Prepared>>> = None;
    let mut rest = candidates.into_iter().peekable();
    while rest.peek().is_some() {
        let batch: Vec<JoinHandle<Prepared>> = rest
            .by_ref()
            .take(opts.batch.max(1))
            .map(|(id, path, declared)| {
                let (jobs, tmp) = (jobs.clone(), tmp.clone());
                let move_files = opts.move_files;
                glommio::spawn_local(async move {
                    let _permit = jobs.acquire_static_permit(1).await;
                    prepare(id, path, declared, move_files, &tmp).await
                })
                .detach()
            })
            .collect();
        // The batch just spawned is digested while the previous one is committed.
        if let Some(previous) = in_flight.replace(batch) {
            commit(store, previous, &mut summary, &bar).await;
        }
    }
    if let Some(last) = in_flight {
        commit(store, last, &mut summary, &bar).await;
    }
    bar.finish_and_clear();
    summary
}

fn progress_bar(show: bool, len: u64) -> ProgressBar {
    let bar = if show {
        ProgressBar::new(len)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} files, {msg} [{elapsed_precise}, eta {eta}]",
        )
        .expect("valid template"),
    );
    bar
}

/// Waits for a batch's preparations, then publishes the ready ones with one group commit.
async fn commit(
    store: &mut Store,
    batch: Vec<JoinHandle<Prepared>>,
    summary: &mut ImportSummary,
    bar: &ProgressBar,
) {
    let mut ready = Vec::new();
    for handle in batch {
        match handle.await {
            Some(Prepared::Ready(item)) => ready.push(item),
            Some(Prepared::LeftOut(path, why)) => summary.left_out.push((path, why)),
            Some(Prepared::Skipped(path, why)) => summary.skipped.push((path, why)),
            Some(Prepared::Failed(path, why)) => {
                warn!(path = %path.display(), "import failed: {why}");
                summary.failed.push((path, why));
            }
            None => {}
        }
        bar.inc(1);
    }
    if ready.is_empty() {
        return;
    }
    // One blocking job for the batch: syncfs, every rename, the source directories' syncs.
    let moves: Vec<(PathBuf, PathBuf)> = ready
        .iter()
        .map(|i| (i.from.clone(), store.object_path(i.id)))
        .collect();
    let objects_dir = store.objects_dir().to_owned();
    let placed = offload::run(move || place_all(&objects_dir, moves)).await;
    let placed = match placed {
        Ok(p) => p,
        Err(e) => {
            for item in &ready {
                summary.failed.push((item.from.clone(), e.to_string()));
            }
            return;
        }
    };
    let mut published = Vec::with_capacity(ready.len());
    let mut described = Vec::with_capacity(ready.len());
    for (mut item, outcome) in ready.into_iter().zip(placed) {
        let staged = item.from.starts_with(store.tmp_dir());
        match outcome {
            Ok(()) => {
                described.push((item.from.clone(), item.digest.size, staged));
                item.from = store.object_path(item.id);
                published.push(item);
            }
            Err(e) => {
                let why = if e.kind() == std::io::ErrorKind::CrossesDevices {
                    StoreError::CrossDevice {
                        path: item.from.clone(),
                    }
                    .to_string()
                } else {
                    format!("rename into the store: {e}")
                };
                if staged {
                    let _ = glommio::io::remove(&item.from).await;
                }
                summary.failed.push((item.from, why));
            }
        }
    }
    let results = store.publish_many(published).await;
    for ((from, size, staged), result) in described.into_iter().zip(results) {
        match result {
            Ok(()) => {
                summary.imported += 1;
                summary.imported_bytes += size;
            }
            Err(StoreError::AlreadyStored(_)) => summary.already_stored += 1,
            Err(e) => summary.failed.push((from, e.to_string())),
        }
        let _ = staged;
    }
    bar.set_message(format!("{} MiB imported", summary.imported_bytes >> 20));
}

/// Makes a batch durable and in place, on a thread of its own: `syncfs` of the store's
/// filesystem (every file's bytes at once, as `sync` after `cp`), each rename into
/// `objects/`, then a sync of each directory the files left. One result per move.
fn place_all(
    objects_dir: &Path,
    moves: Vec<(PathBuf, PathBuf)>,
) -> std::io::Result<Vec<std::io::Result<()>>> {
    let dir = std::fs::File::open(objects_dir)?;
    // SAFETY: `dir` is an open descriptor for the call's duration.
    if unsafe { libc::syncfs(std::os::fd::AsRawFd::as_raw_fd(&dir)) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut left = std::collections::BTreeSet::new();
    let results = moves
        .into_iter()
        .map(|(from, to)| {
            if from == to {
                return Ok(());
            }
            std::fs::rename(&from, &to)?;
            if let Some(parent) = from.parent() {
                left.insert(parent.to_owned());
            }
            Ok(())
        })
        .collect();
    for parent in left {
        std::fs::File::open(&parent)?.sync_all()?;
    }
    Ok(results)
}

async fn expand(paths: &[PathBuf], summary: &mut ImportSummary) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        match Directory::open(path).await {
            Ok(dir) => {
                let _ = dir.close().await;
                match list_names(path).await {
                    Ok(mut names) => {
                        names.sort_by_key(|n| (n.len(), n.clone()));
                        files.extend(names.into_iter().map(|n| path.join(n)));
                    }
                    Err(e) => summary.failed.push((path.clone(), e.to_string())),
                }
            }
            Err(e) => {
                let e = std::io::Error::from(e);
                if e.kind() == std::io::ErrorKind::NotADirectory {
                    files.push(path.clone());
                } else {
                    summary.failed.push((path.clone(), e.to_string()));
                }
            }
        }
    }
    files
}

/// Checks and digests one file (copying it to `tmp/` unless it is moved).
async fn prepare(
    id: DataObjectId,
    path: PathBuf,
    declared: Option<Declared>,
    move_files: bool,
    tmp: &Path,
) -> Prepared {
    let source = match BufferedFile::open(&path).await {
        Ok(f) => f,
        Err(e) => {
            let e = std::io::Error::from(e);
            return if e.kind() == std::io::ErrorKind::IsADirectory {
                Prepared::Skipped(path, "not a regular file".into())
            } else {
                Prepared::Failed(path, format!("open: {e}"))
            };
        }
    };
    let size = match source.file_size().await {
        Ok(s) => s,
        Err(e) => {
            let _ = source.close().await;
            return Prepared::Failed(path, format!("stat: {e}"));
        }
    };
    let expected = match declared {
        None => None,
        Some(Declared { size: want, .. }) if want != size => {
            let _ = source.close().await;
            let why = format!("size {size} bytes, the chain declares {want}");
            return Prepared::LeftOut(path, why);
        }
        Some(Declared {
            content_id: Err(text),
            ..
        }) => {
            let _ = source.close().await;
            let why = format!("the chain's content id {text:?} is not a BLAKE3 content id");
            return Prepared::LeftOut(path, why);
        }
        Some(Declared {
            size,
            content_id: Ok(content_id),
        }) => Some(Expected { size, content_id }),
    };
    let staging_path = tmp.join(format!("import-{id}"));
    let staging = if move_files {
        None
    } else {
        match BufferedFile::create(&staging_path).await {
            Ok(f) => Some(f),
            Err(e) => {
                let _ = source.close().await;
                return Prepared::Failed(path, format!("create {}: {e}", staging_path.display()));
            }
        }
    };
    let digest = digest_file(
        &source,
        &path,
        staging.as_ref().map(|f| (f, &*staging_path)),
    )
    .await;
    // What is published must be as long as its digest says: the file that will be renamed (the
    // copy, or the source itself) has its length checked here; the batch's syncfs makes it
    // durable, and its commit is renames and records only.
    let published = staging.as_ref().unwrap_or(&source);
    let (published_path, fallback_size) = if move_files {
        (&*path, size)
    } else {
        (&*staging_path, 0)
    };
    let durable = match &digest {
        Ok(d) => durable(published, published_path, d.size, fallback_size).await,
        Err(_) => Ok(()),
    };
    let _ = source.close().await;
    let closed = match staging {
        Some(f) => f.close().await.ctx("close", &staging_path),
        None => Ok(()),
    }
    .and(durable);
    let cleanup = || async {
        if !move_files {
            let _ = glommio::io::remove(&staging_path).await;
        }
    };
    let digest = match (digest, closed) {
        (Ok(d), Ok(())) => d,
        (Err(e), _) | (_, Err(e)) => {
            cleanup().await;
            return Prepared::Failed(path, e.to_string());
        }
    };
    if let Some(exp) = expected {
        if exp.content_id != digest.content_id {
            cleanup().await;
            let why = format!(
                "content id {}, the chain declares {}",
                digest.content_id, exp.content_id
            );
            return Prepared::LeftOut(path, why);
        }
    }
    Prepared::Ready(Publish {
        id,
        from: if move_files { path } else { staging_path },
        digest,
        expected,
        bag: None,
        durable: true,
    })
}

/// Checks that `file` holds `size` bytes (a short write at a full disk, or a source that
/// changed while it was read, must not be published). `known` is the size read before
/// digesting (0: ask the file). Its bytes are made durable with the batch's `syncfs`.
async fn durable(
    file: &BufferedFile,
    path: &Path,
    size: u64,
    known: u64,
) -> Result<(), StoreError> {
    let on_disk = if known > 0 {
        known
    } else {
        file.file_size().await.ctx("stat", path)?
    };
    if on_disk != size {
        return Err(StoreError::Io {
            what: "check length",
            path: path.to_owned(),
            source: std::io::Error::other(format!("{on_disk} bytes on disk, {size} read")),
        });
    }
    Ok(())
}

/// Reads `source` to the end, digesting it and, if given, copying it to `copy_to`.
async fn digest_file(
    source: &BufferedFile,
    path: &Path,
    copy_to: Option<(&BufferedFile, &Path)>,
) -> Result<crate::store::Digest, StoreError> {
    let mut digester = Digester::new();
    let mut pos = 0u64;
    loop {
        let chunk = source.read_at(pos, READ_CHUNK).await.ctx("read", path)?;
        if chunk.is_empty() {
            break;
        }
        digester.update(&chunk);
        if let Some((file, to)) = copy_to {
            write_all_at(file, &chunk, pos, to).await?;
        }
        pos += chunk.len() as u64;
    }
    Ok(digester.finish())
}
