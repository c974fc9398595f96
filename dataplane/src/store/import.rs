//! `hecaton-dataplane import`: adopt existing files named by decimal object id, such as a
//! Colossus uploads directory. Each file's digest is computed; with `--move` the file itself is
//! renamed into the store (same filesystem only), otherwise it is copied through a temp file.
//! Either way it is published exactly like an upload: synced, renamed, indexed.

use std::path::{Path, PathBuf};

use glommio::io::{BufferedFile, Directory};
use hecaton_shared::DataObjectId;
use indicatif::{ProgressBar, ProgressStyle};
use tracing::warn;

use crate::store::error::{IoContext, StoreError};
use crate::store::index::write_all_at;
use crate::store::{id_of_file_name, list_names, Digester, Store};

const READ_CHUNK: usize = 1 << 20;

/// How to import.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Rename the files into the store instead of copying them.
    pub move_files: bool,
    /// Draw a progress bar on stderr (only when it is a terminal).
    pub progress: bool,
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
    /// Files that failed, with the error.
    pub failed: Vec<(PathBuf, String)>,
}

/// Imports every file named in `paths` (directories are expanded one level).
pub async fn import(store: &mut Store, paths: &[PathBuf], opts: ImportOptions) -> ImportSummary {
    let mut summary = ImportSummary::default();
    let files = expand(paths, &mut summary).await;
    let bar = if opts.progress {
        ProgressBar::new(files.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} files, {msg} [{elapsed_precise}, eta {eta}]",
        )
        .expect("valid template"),
    );
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match id_of_file_name(&name) {
            Some(id) => match import_one(store, id, &path, opts).await {
                Ok(Some(bytes)) => {
                    summary.imported += 1;
                    summary.imported_bytes += bytes;
                }
                Ok(None) => summary.already_stored += 1,
                Err(StoreError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::IsADirectory =>
                {
                    summary.skipped.push((path, "not a regular file".into()));
                }
                Err(e) => {
                    warn!(path = %path.display(), "import failed: {e}");
                    summary.failed.push((path, e.to_string()));
                }
            },
            None => summary
                .skipped
                .push((path, "name is not a decimal data object id".into())),
        }
        bar.inc(1);
        bar.set_message(format!("{} MiB imported", summary.imported_bytes >> 20));
    }
    bar.finish_and_clear();
    summary
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

/// Imports one file; `Ok(None)` when the store already has the id.
async fn import_one(
    store: &mut Store,
    id: DataObjectId,
    path: &Path,
    opts: ImportOptions,
) -> Result<Option<u64>, StoreError> {
    if store.get(id).is_some() {
        return Ok(None);
    }
    let source = BufferedFile::open(path).await.ctx("open", path)?;
    if opts.move_files {
        let digest = digest_file(&source, path, None).await;
        source.close().await.ctx("close", path)?;
        let digest = digest?;
        let size = digest.size;
        store.publish(id, path, digest, None).await?;
        return Ok(Some(size));
    }
    let staging_path = store.tmp_dir().join(format!("import-{id}"));
    let staging = BufferedFile::create(&staging_path)
        .await
        .ctx("create", &staging_path)?;
    let copied = digest_file(&source, path, Some((&staging, &staging_path))).await;
    let _ = source.close().await;
    let closed = staging.close().await.ctx("close", &staging_path);
    let result = match (copied, closed) {
        (Ok(digest), Ok(())) => {
            let size = digest.size;
            store
                .publish(id, &staging_path, digest, None)
                .await
                .map(|()| Some(size))
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    if result.is_err() {
        let _ = glommio::io::remove(&staging_path).await;
    }
    result
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
