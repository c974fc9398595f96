//! What can go wrong in the store, as callers branch on it.

use std::io;
use std::path::PathBuf;

use hecaton_shared::{ContentId, DataObjectId};

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the store (a running data plane, or an import).
    #[error("store {path} is in use by another process ({holder}); stop it first")]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// What the lock file says about its holder.
        holder: String,
    },
    /// The index file is not ours, or from an unknown format version.
    #[error("{path} is not a Hecaton index (bad header)")]
    ForeignIndex {
        /// The index file.
        path: PathBuf,
    },
    /// The object is already published.
    #[error("object {0} is already stored")]
    AlreadyStored(DataObjectId),
    /// The bytes are not the declared size.
    #[error("object {id}: {actual} bytes where {expected} were declared")]
    SizeMismatch {
        /// The object.
        id: DataObjectId,
        /// Declared size.
        expected: u64,
        /// Bytes received.
        actual: u64,
    },
    /// The bytes do not hash to the declared content id.
    #[error("object {id}: content id {actual} where {expected} was declared")]
    ContentMismatch {
        /// The object.
        id: DataObjectId,
        /// Declared content id.
        expected: ContentId,
        /// Content id of the bytes received.
        actual: ContentId,
    },
    /// `--move` across filesystems.
    #[error("{path} is not on the store's filesystem; import it without --move to copy it")]
    CrossDevice {
        /// The source file.
        path: PathBuf,
    },
    /// A group commit failed after the object was renamed into place: it is not indexed (a
    /// restart reports its file as unknown, never serves it).
    #[error("commit failed: {0}")]
    Commit(String),
    /// The operating system refused or failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// On what.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

/// Adds the operation and path to an I/O error (glommio's or the OS's).
pub(crate) trait IoContext<T> {
    fn ctx(self, what: &'static str, path: impl Into<PathBuf>) -> Result<T, StoreError>;
}

impl<T, E: Into<io::Error>> IoContext<T> for Result<T, E> {
    fn ctx(self, what: &'static str, path: impl Into<PathBuf>) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::Io {
            what,
            path: path.into(),
            source: e.into(),
        })
    }
}
