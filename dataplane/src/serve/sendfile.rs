//! The zero-copy body path: `sendfile(2)` from the object's file to the socket, without ever
//! blocking the shard.
//!
//! glommio leaves accepted sockets blocking at the descriptor level and does all its own I/O
//! with `MSG_DONTWAIT`, so the connection switches its socket to `O_NONBLOCK` once (glommio's
//! paths do not care) and `sendfile` then returns `EAGAIN` when the socket buffer is full
//! instead of stalling every connection of the shard. glommio's readiness API is crate-private;
//! the one public way to park a task until a socket is writable is one of its own writes. So on
//! `EAGAIN` the next body bytes (up to [`WAIT_CHUNK`]) are read from the page cache and sent
//! through glommio's `write_all`, which queues an io_uring `POLL_ADD(POLLOUT)`, parks the task,
//! and sends them when the client has drained the buffer; `sendfile` then goes on after them.
//! Handing over one byte works too, but with `TCP_NODELAY` it leaves as a one-byte segment that
//! wakes the client for nothing: 64 KiB measured about 25% faster at 64 MiB and 10% at 1 MiB.
//! The copy is one chunk per wait, a few percent of the bytes at full load.
//!
//! The file side of `sendfile` reads the page cache synchronously, like nginx without `aio`: bytes
//! that are not cached would be read from the disk inside the call, holding the shard and every
//! hit behind it. So before each call the range is looked up in the page cache (its ends:
//! [`page_cache`](super::page_cache)); what is not cached is read by io_uring (the kernel
//! completes buffered reads without holding the thread) [`COLD_READ_CHUNK`] at a time and
//! written from memory, and `sendfile` goes on once it meets cached bytes again (BENCHMARKS.md,
//! "The body path" and "Cold reads": the measurements behind this design).

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use futures_lite::AsyncWriteExt;
use glommio::io::BufferedFile;

use super::page_cache::{self, Residency};
use crate::tls::Stream;

/// Most bytes one `sendfile` call may send before the connection yields to the others on its
/// shard (nginx's `sendfile_max_chunk`, whose default this is). Without it a large response kept
/// the shard until glommio's preemption timer fired (p99 up to twice nginx's at 1 MiB). In an A/B
/// against 512 KiB (3 repetitions), 2 MiB served 64 MiB objects 12-40% faster and 1 MiB objects
/// 2-24% faster.
const MAX_CHUNK: usize = 2 * 1024 * 1024;

/// Bytes handed to glommio's write when `sendfile` finds the socket full (see the module docs).
const WAIT_CHUNK: usize = 64 * 1024;

/// Bytes read by io_uring at a time when a range is not in the page cache: the kernel's
/// read-ahead goes on behind each read, so the next one often finds its bytes cached.
const COLD_READ_CHUNK: usize = 256 * 1024;

/// Switches a socket to non-blocking mode.
pub fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own, with integer arguments only.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Bounds the bytes the kernel holds unsent on a socket (`TCP_NOTSENT_LOWAT`): writes take no
/// more once that many wait beyond the peer's window, and the socket polls writable again
/// when fewer than half do.
pub fn set_notsent_lowat(fd: RawFd, bytes: u32) -> io::Result<()> {
    let value = bytes as libc::c_int;
    // SAFETY: setsockopt on a descriptor we own, with a pointer to a live c_int and its size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NOTSENT_LOWAT,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sends a response head that a body will follow: `MSG_MORE` lets the kernel put the head and
/// the first body bytes in one segment (nginx's `tcp_nopush`, without the cork left behind).
/// Over TLS the head goes into the session's next record (sent with the body's first bytes
/// when a body follows, at once otherwise).
pub async fn send_head(stream: &mut Stream, head: &[u8], body_follows: bool) -> io::Result<()> {
    let Some(stream) = stream.plain() else {
        stream.write_all(head).await?;
        if !body_follows {
            stream.flush().await?;
        }
        return Ok(());
    };
    let fd = stream.as_raw_fd();
    let flags =
        libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL | if body_follows { libc::MSG_MORE } else { 0 };
    // SAFETY: `head` is a valid buffer of the given length for the duration of the call.
    let n = unsafe { libc::send(fd, head.as_ptr().cast(), head.len(), flags) };
    let sent = if n < 0 {
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::WouldBlock {
            return Err(err);
        }
        0
    } else {
        n as usize
    };
    if sent < head.len() {
        stream.write_all(&head[sent..]).await?;
    }
    Ok(())
}

/// The slowest a client may read a response: fewer bytes than this per second, averaged over each
/// send-timeout window, and the connection is dropped. The socket's write timeout alone only
/// catches a client that reads nothing; one whose receive window opens a few bytes at a time
/// makes "progress" before every timeout and could hold a connection for hours.
pub const MIN_SEND_BYTES_PER_SEC: u64 = 16 * 1024;

/// Sends `len` bytes of `file` from `offset` to the connection, dropping a client that reads
/// slower than [`MIN_SEND_BYTES_PER_SEC`] over any `window`: with `sendfile` on plain TCP, by
/// io_uring reads and encrypted records over TLS ([`send_file_tls`]). Returns the bytes of the
/// range that were not in the page cache (counted on plain TCP only).
pub async fn send_file(
    stream: &mut Stream,
    file: &BufferedFile,
    offset: u64,
    len: u64,
    window: Duration,
) -> io::Result<u64> {
    match stream.plain() {
        Some(tcp) => sendfile(tcp, file, offset, len, window).await,
        None => send_file_tls(stream, file, offset, len, window)
            .await
            .map(|()| 0),
    }
}

/// Bytes read from the file per TLS write: 64 KiB make four full 16 KiB records (the read size
/// of the plain path's `EAGAIN` hand-over too); not tuned for TLS, a larger read holds more
/// memory per connection.
const TLS_READ_CHUNK: usize = 64 * 1024;

/// The TLS body path: the kernel cannot encrypt for us (see `tls/ktls.rs`), so the bytes come
/// up from the page cache by io_uring reads (glommio's buffered file; the shard never blocks on
/// a disk read, unlike `sendfile`'s synchronous one) and go out as records.
async fn send_file_tls(
    stream: &mut Stream,
    file: &BufferedFile,
    offset: u64,
    len: u64,
    window: Duration,
) -> io::Result<()> {
    let end = offset + len;
    let mut at = offset;
    let mut pace = Pace::new(window, at);
    while at < end {
        pace.check(at)?;
        let want = ((end - at) as usize).min(TLS_READ_CHUNK);
        let bytes = file.read_at(at, want).await.map_err(io::Error::from)?;
        if bytes.is_empty() {
            return Err(shorter_than_indexed());
        }
        stream.write_all(&bytes).await?;
        at += bytes.len() as u64;
        glommio::yield_if_needed().await;
    }
    stream.flush().await
}

/// `sendfile(2)` to a plain socket, for the bytes in the page cache (see the module docs); the
/// bytes that were not.
async fn sendfile(
    stream: &mut glommio::net::TcpStream,
    file: &BufferedFile,
    offset: u64,
    len: u64,
    window: Duration,
) -> io::Result<u64> {
    let sock = stream.as_raw_fd();
    let fd = file.as_raw_fd();
    let end = offset + len;
    let mut off = offset as libc::off_t;
    let mut pace = Pace::new(window, off as u64);
    let mut wait_buf = Vec::new();
    let mut uncached = 0;
    while (off as u64) < end {
        pace.check(off as u64)?;
        let want = ((end - off as u64) as usize).min(MAX_CHUNK);
        if page_cache::residency_at_ends(fd, off as u64, want as u64) == Residency::NotCached {
            let n = write_read(stream, file, off as u64, want.min(COLD_READ_CHUNK)).await?;
            off += n as libc::off_t;
            uncached += n as u64;
            continue;
        }
        // SAFETY: both descriptors are open for the duration of the call; `off` is a valid
        // pointer the kernel advances by the bytes sent.
        let n = unsafe { libc::sendfile(sock, fd, &mut off, want) };
        if n > 0 {
            if (off as u64) < end {
                // Let the shard's other connections send before this one goes on.
                futures_lite::future::yield_now().await;
            }
            continue;
        }
        if n == 0 {
            return Err(shorter_than_indexed());
        }
        let err = io::Error::last_os_error();
        match err.kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock => {
                // The probe just found these bytes cached (at least at the range's start): a
                // plain read does not wait.
                let take = ((end - off as u64) as usize).min(WAIT_CHUNK);
                wait_buf.resize(take, 0);
                let got = read_at(fd, off as u64, &mut wait_buf)?;
                stream.write_all(&wait_buf[..got]).await?;
                off += got as libc::off_t;
            }
            _ => return Err(err),
        }
    }
    Ok(uncached)
}

/// Reads up to `len` bytes at `at` by io_uring and writes them through glommio (which waits for
/// the socket to take them); the bytes written.
async fn write_read(
    stream: &mut glommio::net::TcpStream,
    file: &BufferedFile,
    at: u64,
    len: usize,
) -> io::Result<usize> {
    let bytes = file.read_at(at, len).await.map_err(io::Error::from)?;
    if bytes.is_empty() {
        return Err(shorter_than_indexed());
    }
    stream.write_all(&bytes).await?;
    Ok(bytes.len())
}

/// The minimum send rate over each window of a response (shared by `sendfile` and the
/// distributor's proxy, which writes from memory).
#[derive(Debug)]
pub struct Pace {
    window: Duration,
    started: Instant,
    at: u64,
}

impl Pace {
    /// Pacing from byte `at` on, over windows of `window`.
    pub fn new(window: Duration, at: u64) -> Self {
        Self {
            window,
            started: Instant::now(),
            at,
        }
    }

    /// Fails once a window has passed with fewer bytes sent than the minimum rate asks.
    pub fn check(&mut self, now_at: u64) -> io::Result<()> {
        let elapsed = self.started.elapsed();
        if elapsed < self.window {
            return Ok(());
        }
        let floor = MIN_SEND_BYTES_PER_SEC.saturating_mul(elapsed.as_secs().max(1));
        if now_at - self.at < floor {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "client reads slower than the minimum send rate",
            ));
        }
        *self = Pace::new(self.window, now_at);
        Ok(())
    }
}

/// Reads what is there at `at` into `buf` (at least one byte), from the page cache.
fn read_at(file: RawFd, at: u64, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: reads at most `buf.len()` bytes into `buf`, which is valid for writes.
    let n = unsafe { libc::pread(file, buf.as_mut_ptr().cast(), buf.len(), at as libc::off_t) };
    match n {
        n if n > 0 => Ok(n as usize),
        0 => Err(shorter_than_indexed()),
        _ => Err(io::Error::last_os_error()),
    }
}

fn shorter_than_indexed() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "object file is shorter than its index record",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notsent_lowat(fd: RawFd) -> libc::c_int {
        let mut value: libc::c_int = -1;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt into a live c_int with its size.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_NOTSENT_LOWAT,
                (&mut value as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        assert_eq!(rc, 0, "{}", io::Error::last_os_error());
        value
    }

    #[test]
    fn notsent_lowat_is_set_on_the_socket() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let fd = client.as_raw_fd();
        let before = notsent_lowat(fd);
        set_notsent_lowat(fd, 512 * 1024).unwrap();
        assert_eq!(notsent_lowat(fd), 512 * 1024);
        assert_ne!(
            before,
            512 * 1024,
            "the kernel's default is not what we set"
        );
        assert!(set_notsent_lowat(-1, 1).is_err());
    }
}
