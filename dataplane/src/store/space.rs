//! Disk space as an expected state: a free-space reserve the store never writes into, and
//! leases that promise bytes to writes in flight (uploads, tus PATCHes, fetches, fills) before
//! a byte of them is read. A write that does not fit is refused at once (uploads: 507 with the
//! Colossus error body; replication: the attempt fails and is retried after its backoff, so it
//! pauses while the disk is full and resumes when room comes back; a distributor proxies
//! instead of caching), so the filesystem never fills under the store and nothing is cut short
//! by `ENOSPC` half-way.
//!
//! The free byte count is refreshed by the control executor (`statvfs(2)`, a metadata read the
//! kernel answers from memory) every [`REFRESH`]; shards read it without a syscall. Until a
//! lease ends its bytes count twice (as written and as promised), which errs on the safe side
//! for at most one refresh.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often the free byte count is refreshed.
pub const REFRESH: Duration = Duration::from_millis(500);

/// The default reserve: room for the index, the cache state and the operating system's own
/// writes when the store shares its filesystem (`--disk-reserve-mib`).
pub const DEFAULT_RESERVE_MIB: u64 = 1024;

/// Free space, the operator's reserve, and what writes in flight were promised.
#[derive(Debug)]
pub struct Space {
    free: AtomicU64,
    promised: AtomicU64,
    reserve: u64,
}

/// Bytes promised to one write; given back when dropped.
#[derive(Debug)]
pub struct Lease {
    space: Arc<Space>,
    bytes: u64,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.space.promised.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

impl Space {
    /// Space with `reserve` bytes kept free, unknown free space (everything fits) until the
    /// first [`Space::set_free`].
    pub fn new(reserve: u64) -> Arc<Self> {
        Arc::new(Self {
            free: AtomicU64::new(u64::MAX),
            promised: AtomicU64::new(0),
            reserve,
        })
    }

    /// Records the filesystem's free bytes (as an unprivileged writer sees them).
    pub fn set_free(&self, bytes: u64) {
        self.free.store(bytes, Ordering::Relaxed);
    }

    /// Free bytes last seen.
    pub fn free(&self) -> u64 {
        self.free.load(Ordering::Relaxed)
    }

    /// Bytes promised to writes in flight.
    pub fn promised(&self) -> u64 {
        self.promised.load(Ordering::Relaxed)
    }

    /// The reserve kept free.
    pub fn reserve(&self) -> u64 {
        self.reserve
    }

    /// Whether `bytes` more would fit now (without promising them).
    pub fn fits(&self, bytes: u64) -> bool {
        let needed = self
            .promised()
            .saturating_add(bytes)
            .saturating_add(self.reserve);
        needed <= self.free()
    }

    /// Promises `bytes` to a write, or `None` if they would eat into the reserve.
    pub fn lease(self: &Arc<Self>, bytes: u64) -> Option<Lease> {
        let mut promised = self.promised.load(Ordering::Relaxed);
        loop {
            let needed = promised.saturating_add(bytes).saturating_add(self.reserve);
            if needed > self.free() {
                return None;
            }
            match self.promised.compare_exchange_weak(
                promised,
                promised + bytes,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    return Some(Lease {
                        space: self.clone(),
                        bytes,
                    })
                }
                Err(now) => promised = now,
            }
        }
    }
}

/// The free bytes of the filesystem holding `path`, as an unprivileged process may use them.
pub fn free_bytes(path: &std::path::Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: `statvfs` is plain data; zeroed is a valid value that the call overwrites.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `st` a valid, writable statvfs.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_keep_the_reserve_free_and_are_given_back() {
        let space = Space::new(100);
        assert!(space.lease(1 << 40).is_some(), "unknown free space fits");
        space.set_free(1000);
        let a = space.lease(600).unwrap();
        assert!(space.lease(301).is_none(), "would eat into the reserve");
        let b = space.lease(300).unwrap();
        assert!(!space.fits(1));
        drop(a);
        assert_eq!(space.promised(), 300);
        assert!(space.fits(600));
        drop(b);
        assert_eq!(space.promised(), 0);
        assert!(space.lease(u64::MAX).is_none(), "no overflow");
    }

    #[test]
    fn free_bytes_of_a_real_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert!(free_bytes(dir.path()).unwrap() > 0);
    }
}
