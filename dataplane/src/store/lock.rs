//! One process at a time per store: an exclusive, non-blocking `flock` on `DIR/LOCK`, held for
//! the process's life. A second data plane or an import on a live store is refused with the
//! holder's pid instead of corrupting the index.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use crate::store::error::{IoContext, StoreError};
use crate::store::index::{open_read_write, write_all_at};

/// The held lock. Dropping it releases the store.
#[derive(Debug)]
pub struct StoreLock {
    // A duplicate of the lock file's descriptor: flock belongs to the open file description, so
    // the lock lives as long as this descriptor, on whichever thread drops it.
    _fd: OwnedFd,
}

impl StoreLock {
    /// Takes the lock at `path` or says who holds it.
    pub async fn acquire(path: &Path) -> Result<StoreLock, StoreError> {
        let file = open_read_write(path, "open lock").await?;
        // SAFETY: the descriptor is valid for the life of `file`; LOCK_NB never blocks.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                let holder = file
                    .read_at(0, 64)
                    .await
                    .map(|b| b.to_vec())
                    .unwrap_or_default();
                let holder = String::from_utf8_lossy(&holder).trim().to_string();
                return Err(StoreError::Locked {
                    path: path.to_owned(),
                    holder,
                });
            }
            return Err(err).ctx("lock", path);
        }
        file.truncate(0).await.ctx("truncate lock", path)?;
        let me = format!("pid {}\n", std::process::id());
        write_all_at(&file, me.as_bytes(), 0, path).await?;
        // SAFETY: dup returns a new descriptor we own, or -1.
        let dup = unsafe { libc::dup(file.as_raw_fd()) };
        if dup < 0 {
            return Err(std::io::Error::last_os_error()).ctx("dup lock", path);
        }
        file.close().await.ctx("close lock", path)?;
        // SAFETY: `dup` is a fresh descriptor owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(dup) };
        Ok(StoreLock { _fd: fd })
    }
}
