//! Whether a range of a file is in the page cache, asked without reading it: `cachestat(2)`
//! (Linux 6.5) counts the cached pages of a range in one call and touches none of them.
//!
//! The body path asks before each `sendfile`: `sendfile` of bytes that are not cached reads them
//! from the disk inside the call, on the shard's thread, and every connection of the shard waits
//! (`bench/compare-cold`: hits behind cold reads at p99 40-57 ms). Bytes that are not cached are
//! read by io_uring instead, which the kernel completes without holding the shard.
//!
//! A kernel without `cachestat` (or a seccomp filter refusing it) answers [`Residency::Unknown`]
//! from then on, for the cost of one failed call per process, and the body path sends as before.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};

/// `cachestat`'s number: new system calls share one number on every architecture.
const SYS_CACHESTAT: libc::c_long = 451;

/// The page size `cachestat` counts in; every Linux architecture we build for uses 4 KiB base
/// pages (a larger page only makes the range look less cached, which is the safe side).
const PAGE: u64 = 4096;

/// Set once the kernel has refused the call: not asked again.
static UNSUPPORTED: AtomicBool = AtomicBool::new(false);

/// What the page cache holds of a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Residency {
    /// Every page of the range is cached: `sendfile` will not wait for the disk.
    Cached,
    /// Some page is not: reading the range would wait for the disk.
    NotCached,
    /// This kernel cannot say.
    Unknown,
}

#[repr(C)]
struct Range {
    off: u64,
    len: u64,
}

#[repr(C)]
#[derive(Default)]
struct Stat {
    nr_cache: u64,
    nr_dirty: u64,
    nr_writeback: u64,
    nr_evicted: u64,
    nr_recently_evicted: u64,
}

/// Bytes looked up at each end of a long range by [`residency_at_ends`].
pub const END_PROBE: u64 = 64 * 1024;

/// What the page cache holds of a range, looking only at its first and last [`END_PROBE`]
/// bytes when it is longer than twice that. `cachestat` walks every page it is asked about
/// (about 40 ns a page here, on top of a 0.5 µs call: 21 µs for 2 MiB), and read-ahead fills a
/// file's cache front to back, so the ends tell nearly always; a hole in the middle costs one
/// synchronous read of the read-ahead window, not of the range.
pub fn residency_at_ends(fd: RawFd, offset: u64, len: u64) -> Residency {
    if len <= 2 * END_PROBE {
        return residency(fd, offset, len);
    }
    match residency(fd, offset, END_PROBE) {
        Residency::Cached => residency(fd, offset + len - END_PROBE, END_PROBE),
        other => other,
    }
}

/// What the page cache holds of `len` bytes of `fd` from `offset`.
pub fn residency(fd: RawFd, offset: u64, len: u64) -> Residency {
    if len == 0 {
        return Residency::Cached;
    }
    if UNSUPPORTED.load(Ordering::Relaxed) {
        return Residency::Unknown;
    }
    let range = Range { off: offset, len };
    let mut stat = Stat::default();
    // SAFETY: both pointers refer to live structs laid out as the kernel's `cachestat_range` and
    // `cachestat`; the call writes only into `stat`.
    let rc = unsafe {
        libc::syscall(
            SYS_CACHESTAT,
            fd,
            &range as *const Range,
            &mut stat as *mut Stat,
            0u32,
        )
    };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::ENOSYS) | Some(libc::EPERM) => {
                UNSUPPORTED.store(true, Ordering::Relaxed);
                tracing::info!("the kernel does not answer cachestat: bodies are sent without asking whether they are cached");
            }
            _ => {}
        }
        return Residency::Unknown;
    }
    let pages = (offset + len - 1) / PAGE - offset / PAGE + 1;
    if stat.nr_cache >= pages {
        Residency::Cached
    } else {
        Residency::NotCached
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsRawFd;

    /// Drops a file's pages from the cache (written back first, so they can go).
    fn evict(file: &std::fs::File) {
        file.sync_all().unwrap();
        // SAFETY: advice on an open descriptor, integers only.
        let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        assert_eq!(rc, 0);
    }

    /// A new file to read and write, in a directory of its own (kept alive by the first).
    fn scratch() -> (tempfile::TempDir, std::path::PathBuf, std::fs::File) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        (dir, path, file)
    }

    #[test]
    fn a_range_read_is_cached_and_an_evicted_one_is_not() {
        let (_dir, path, mut file) = scratch();
        file.write_all(&vec![7u8; 64 * 1024]).unwrap();
        let fd = file.as_raw_fd();
        let first = residency(fd, 0, 64 * 1024);
        if first == Residency::Unknown {
            eprintln!("cachestat is not available here; nothing to check");
            return;
        }
        // Just written: in the cache.
        assert_eq!(first, Residency::Cached);
        assert_eq!(residency(fd, 100, 5000), Residency::Cached);
        if on_tmpfs(&path) {
            eprintln!("tmpfs keeps its pages; eviction not checked");
            return;
        }
        evict(&file);
        assert_eq!(residency(fd, 0, 64 * 1024), Residency::NotCached);
        // A page read back is cached again (read-ahead may bring its neighbours too).
        let mut buf = [0u8; 16];
        // SAFETY: reads into a live buffer of its length.
        let n = unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), 16, 8192) };
        assert_eq!(n, 16);
        assert_eq!(residency(fd, 8192, 16), Residency::Cached);
        assert_eq!(residency(fd, 8192 + 4095, 1), Residency::Cached);
    }

    fn on_tmpfs(path: &std::path::Path) -> bool {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: `statfs` is plain old data; all zeroes is a valid value of it.
        let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
        // SAFETY: a NUL-terminated path and a struct of the type the call fills.
        let rc = unsafe { libc::statfs(c.as_ptr(), &mut fs) };
        rc == 0 && fs.f_type == libc::TMPFS_MAGIC
    }

    #[test]
    fn a_long_range_is_judged_by_its_ends() {
        let (_dir, path, mut file) = scratch();
        // Page by page, so the cache holds it in single pages (a large write may make large
        // folios, which a one-page eviction does not split).
        for _ in 0..256 {
            file.write_all(&[1u8; 4096]).unwrap();
        }
        let fd = file.as_raw_fd();
        if residency(fd, 0, 4096) == Residency::Unknown || on_tmpfs(&path) {
            return;
        }
        assert_eq!(residency_at_ends(fd, 0, 1 << 20), Residency::Cached);
        file.sync_all().unwrap();
        // The last page alone evicted: the ends see it.
        // SAFETY: advice on an open descriptor, integers only.
        let rc =
            unsafe { libc::posix_fadvise(fd, (1 << 20) - 4096, 4096, libc::POSIX_FADV_DONTNEED) };
        assert_eq!(rc, 0);
        assert_eq!(residency_at_ends(fd, 0, 1 << 20), Residency::NotCached);
        assert_eq!(residency_at_ends(fd, 0, 1 << 19), Residency::Cached);
    }

    #[test]
    fn an_empty_range_is_cached() {
        assert_eq!(residency(-1, 0, 0), Residency::Cached);
    }
}
