//! The access log (off unless `--access-log FILE`): one line per request,
//!
//! ```text
//! 2026-12-06T03:40:00.123Z 203.0.113.7:51234 GET /api/v1/assets/12 200 1048576 0.001234 12 hit
//! ```
//!
//! time (UTC), client, method, path, status, response bytes, seconds from head to last byte,
//! object id (`-` when the path names none) and x-cache (`-` when the response has none). Paths
//! are written as received, with spaces and control bytes escaped, so a line always splits into
//! nine fields. `hecaton-bench cache-sim --trace FILE` replays a distributor's log.
//!
//! Without blocking a shard: each shard appends lines to its own memory buffer and a task of
//! the shard writes the buffer with one io_uring append every `FLUSH_EVERY`. A buffer that
//! reaches `MAX_BUFFERED` (the disk cannot keep up: 20 MiB/s of lines a shard) drops lines,
//! counted and reported at the next write. Every shard appends to the same file
//! (`O_APPEND`: each write lands whole at the end). Rotation by size: shard 0 renames `FILE` to
//! `FILE.1` (`FILE.1` to `FILE.2`, … up to `--access-log-keep`) once it passes
//! `--access-log-max-mib`, and bumps a generation every shard checks before it writes, so each
//! reopens `FILE`.

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use glommio::io::{BufferedFile, OpenOptions};
use tracing::warn;

/// How often a shard writes its buffered lines.
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);
/// A buffer this large drops lines until it is written.
const MAX_BUFFERED: usize = 4 << 20;

/// What every shard's log shares.
#[derive(Debug, Clone)]
pub struct AccessLogConfig {
    /// The file.
    pub path: PathBuf,
    /// Rotated past this size, bytes.
    pub max_bytes: u64,
    /// Rotated files kept (`FILE.1` … `FILE.keep`).
    pub keep: u32,
    /// Bumped by each rotation.
    pub generation: Arc<AtomicU64>,
    /// Held by the shard rotating.
    pub rotating: Arc<std::sync::atomic::AtomicBool>,
}

/// One shard's log.
#[derive(Debug)]
pub struct AccessLog {
    config: AccessLogConfig,
    shard: usize,
    buf: RefCell<Vec<u8>>,
    dropped: Cell<u64>,
}

/// One request, as the log line says it.
#[derive(Debug)]
pub struct Entry<'a> {
    /// The client.
    pub client: Option<SocketAddr>,
    /// Method.
    pub method: &'a str,
    /// Path (and query) as received.
    pub path: &'a str,
    /// Status.
    pub status: u16,
    /// Response bytes.
    pub bytes: u64,
    /// Head received to response written.
    pub took: Duration,
    /// The object id the path names.
    pub object: Option<u64>,
    /// The response's `x-cache`.
    pub x_cache: Option<&'a [u8]>,
}

impl AccessLog {
    /// Shard `shard`'s log.
    pub fn new(config: AccessLogConfig, shard: usize) -> Self {
        Self {
            config,
            shard,
            buf: RefCell::new(Vec::with_capacity(64 << 10)),
            dropped: Cell::new(0),
        }
    }

    /// Buffers one line.
    pub fn record(&self, e: &Entry<'_>) {
        let mut buf = self.buf.borrow_mut();
        if buf.len() >= MAX_BUFFERED {
            self.dropped.set(self.dropped.get() + 1);
            return;
        }
        format_line(&mut buf, SystemTime::now(), e);
    }

    /// Writes buffered lines every [`FLUSH_EVERY`] until `stopped()` says so, then once more
    /// (a drain's last requests are written a tick later).
    pub async fn run(self: std::rc::Rc<Self>, stopped: impl Fn() -> bool) {
        let mut file: Option<(BufferedFile, u64)> = None;
        let mut last_round = false;
        loop {
            glommio::timer::sleep(FLUSH_EVERY).await;
            self.flush(&mut file).await;
            if last_round {
                if let Some((f, _)) = file.take() {
                    let _ = f.close().await;
                }
                return;
            }
            last_round = stopped();
        }
    }

    async fn flush(&self, file: &mut Option<(BufferedFile, u64)>) {
        let dropped = self.dropped.replace(0);
        if dropped > 0 {
            warn!(
                shard = self.shard,
                dropped, "access log: lines dropped (the disk fell behind)"
            );
        }
        let lines = std::mem::take(&mut *self.buf.borrow_mut());
        if lines.is_empty() {
            return;
        }
        let generation = self.config.generation.load(Ordering::Acquire);
        if file.as_ref().is_some_and(|(_, g)| *g != generation) {
            if let Some((f, _)) = file.take() {
                let _ = f.close().await;
            }
        }
        if file.is_none() {
            match OpenOptions::new()
                .append(true)
                .create(true)
                .buffered_open(&self.config.path)
                .await
            {
                Ok(f) => *file = Some((f, generation)),
                Err(e) => {
                    warn!(path = %self.config.path.display(), "access log: cannot open: {e}");
                    return;
                }
            }
        }
        let Some((f, _)) = file.as_ref() else { return };
        // O_APPEND: the kernel writes at the end whatever the offset.
        if let Err(e) = f.write_at(lines, 0).await {
            warn!(path = %self.config.path.display(), "access log: write failed: {e}");
            return;
        }
        let Some((f, opened_at)) = file.as_ref() else {
            return;
        };
        if f.file_size()
            .await
            .is_ok_and(|size| size >= self.config.max_bytes)
        {
            self.rotate(*opened_at).await;
        }
    }

    /// `FILE.{keep-1}` → `FILE.{keep}`, …, `FILE` → `FILE.1`; then every shard reopens `FILE`.
    /// Whichever shard sees the file past its size rotates it, once: only a shard whose file
    /// is the current generation's, and only one at a time.
    async fn rotate(&self, opened_at: u64) {
        let (generation, rotating) = (&self.config.generation, &self.config.rotating);
        if generation.load(Ordering::Acquire) != opened_at
            || rotating
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            return;
        }
        if generation.load(Ordering::Acquire) != opened_at {
            rotating.store(false, Ordering::Release);
            return;
        }
        let path = &self.config.path;
        let numbered = |n: u32| {
            let mut p = path.clone().into_os_string();
            p.push(format!(".{n}"));
            PathBuf::from(p)
        };
        let keep = self.config.keep.max(1);
        let _ = glommio::io::remove(numbered(keep)).await;
        for n in (1..keep).rev() {
            let _ = glommio::io::rename(numbered(n), numbered(n + 1)).await;
        }
        if let Err(e) = glommio::io::rename(path, numbered(1)).await {
            warn!(path = %path.display(), "access log: cannot rotate: {e}");
        }
        generation.fetch_add(1, Ordering::AcqRel);
        rotating.store(false, Ordering::Release);
    }
}

/// Appends one line for `e` at `now`.
pub fn format_line(buf: &mut Vec<u8>, now: SystemTime, e: &Entry<'_>) {
    let since = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let (y, mo, d, h, mi, s) = civil(since.as_secs());
    let _ = write!(
        buf,
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z ",
        since.subsec_millis()
    );
    match e.client {
        Some(c) => {
            let _ = write!(buf, "{c} ");
        }
        None => buf.extend_from_slice(b"- "),
    }
    buf.extend_from_slice(e.method.as_bytes());
    buf.push(b' ');
    for b in e.path.bytes() {
        if b <= b' ' || b == 0x7f {
            let _ = write!(buf, "%{b:02X}");
        } else {
            buf.push(b);
        }
    }
    let _ = write!(
        buf,
        " {} {} {:.6} ",
        e.status,
        e.bytes,
        e.took.as_secs_f64()
    );
    match e.object {
        Some(id) => {
            let _ = write!(buf, "{id} ");
        }
        None => buf.extend_from_slice(b"- "),
    }
    match e.x_cache {
        Some(v) if !v.is_empty() && v.iter().all(|b| b.is_ascii_alphanumeric()) => {
            buf.extend_from_slice(v)
        }
        _ => buf.push(b'-'),
    }
    buf.push(b'\n');
}

/// (year, month, day, hour, minute, second) of a Unix time (days-from-civil, inverted).
fn civil(secs: u64) -> (u64, u64, u64, u64, u64, u64) {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The object id a Colossus or Argus path names (`/api/v1/files/<id>`, `/api/v1/assets/<id>`).
pub fn object_of(path: &str) -> Option<u64> {
    let path = path.split('?').next()?;
    let id = path
        .strip_prefix("/api/v1/files/")
        .or_else(|| path.strip_prefix("/api/v1/assets/"))?;
    crate::store::id_of_file_name(id).map(|id| id.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_has_nine_fields_whatever_the_path() {
        let mut buf = Vec::new();
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_796_530_800_123);
        let e = Entry {
            client: Some("203.0.113.7:51234".parse().unwrap()),
            method: "GET",
            path: "/api/v1/assets/12",
            status: 200,
            bytes: 1_048_576,
            took: Duration::from_micros(1234),
            object: object_of("/api/v1/assets/12"),
            x_cache: Some(b"hit"),
        };
        format_line(&mut buf, at, &e);
        assert_eq!(
            String::from_utf8(buf.clone()).unwrap(),
            "2026-12-06T04:20:00.123Z 203.0.113.7:51234 GET /api/v1/assets/12 200 1048576 0.001234 12 hit\n"
        );
        buf.clear();
        let odd = Entry {
            path: "/a b\u{1}c",
            object: None,
            x_cache: Some(b"x y"),
            client: None,
            ..e
        };
        format_line(&mut buf, at, &odd);
        let line = String::from_utf8(buf).unwrap();
        assert_eq!(line.split_whitespace().count(), 9, "{line}");
        assert!(line.contains(" /a%20b%01c "), "{line}");
    }

    #[test]
    fn object_ids_of_both_apis() {
        assert_eq!(object_of("/api/v1/files/7"), Some(7));
        assert_eq!(object_of("/api/v1/assets/7?x=1"), Some(7));
        assert_eq!(object_of("/api/v1/assets/007"), None);
        assert_eq!(object_of("/api/v1/status"), None);
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(civil(1_796_530_800), (2026, 12, 6, 4, 20, 0));
    }
}
