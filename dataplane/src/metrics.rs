//! Serving counters: requests and latency per route, bytes in and out, uploads by outcome,
//! replication bytes; and the store writer's removals by reason.
//! Each shard writes its own cache-line-aligned slot with relaxed atomic adds (no sharing, no
//! locks); the control executor sums the slots and reports them to the control plane, which
//! exposes them on its Prometheus endpoint.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use hecaton_shared::socket::{DataPlaneMetrics, RouteMetrics, ScrubCounters, LATENCY_BUCKETS_US};

use crate::http::request::{Method, Request};

/// What a request was, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `GET /files/{id}`
    FileGet,
    /// `HEAD /files/{id}`
    FileHead,
    /// `POST /files`
    Upload,
    /// `/uploads` (tus)
    Resumable,
    /// `/state/...`, `/version`, `/status`
    State,
    /// `GET /proofs/{id}`
    Proof,
    /// `GET /slices/{id}`
    Slice,
    /// Preflights, 404s, malformed requests.
    Other,
}

const ROUTES: [(Route, &str); 8] = [
    (Route::FileGet, "files_get"),
    (Route::FileHead, "files_head"),
    (Route::Upload, "files_post"),
    (Route::Resumable, "uploads"),
    (Route::State, "state"),
    (Route::Proof, "proofs"),
    (Route::Slice, "slices"),
    (Route::Other, "other"),
];

/// How an upload ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadOutcome {
    /// Verified and published.
    Stored,
    /// Refused (a 4xx or 503).
    Refused,
    /// The client went away.
    Aborted,
    /// The node failed (500).
    Failed,
}

const OUTCOMES: [&str; 4] = ["stored", "refused", "aborted", "failed"];
/// Removal reasons (`RemovalReason::label`).
const REMOVALS: [&str; 6] = [
    "object_deleted",
    "bag_deleted",
    "unassigned",
    "evicted",
    "not_distributed",
    "corrupt",
];
const BUCKETS: usize = LATENCY_BUCKETS_US.len() + 1;

impl Route {
    /// Classifies a request by method and path.
    pub fn of(req: &Request) -> Route {
        let api = req.path.strip_prefix("/api/v1/").unwrap_or("");
        if api.starts_with("files/") {
            match req.method {
                Method::Get => Route::FileGet,
                Method::Head => Route::FileHead,
                _ => Route::Other,
            }
        } else if api == "files" && req.method == Method::Post {
            Route::Upload
        } else if api.starts_with("uploads") && req.method != Method::Options {
            Route::Resumable
        } else if api.starts_with("proofs/") && req.method != Method::Options {
            Route::Proof
        } else if api.starts_with("slices/") && req.method != Method::Options {
            Route::Slice
        } else if api.starts_with("state/") || api == "version" || api == "status" {
            Route::State
        } else {
            Route::Other
        }
    }

    fn index(self) -> usize {
        ROUTES.iter().position(|(r, _)| *r == self).expect("listed")
    }
}

#[derive(Debug, Default)]
#[repr(align(128))]
struct Slot {
    responses: [[AtomicU64; 4]; ROUTES.len()],
    latency: [[AtomicU64; BUCKETS]; ROUTES.len()],
    latency_sum_us: [AtomicU64; ROUTES.len()],
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    uploads: [AtomicU64; 4],
    connections: AtomicU64,
    fetch_bytes: AtomicU64,
    cache: [AtomicU64; CACHE_COUNTERS],
    panics: [AtomicU64; crate::panics::UNITS.len()],
    tls_failures: AtomicU64,
    uncached_body_bytes: AtomicU64,
}

const CACHE_COUNTERS: usize = 11;

/// Where a distributor's response came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// A verified cache entry.
    Hit,
    /// A fill this request started.
    Miss,
    /// A fill another request started.
    Pending,
    /// Proxied from a storage node.
    Proxied,
}

/// Every shard's counters, and the writer's.
#[derive(Debug)]
pub struct Metrics {
    slots: Box<[Slot]>,
    removals: [AtomicU64; REMOVALS.len()],
    /// The scrub's counters (written by the control executor only).
    pub scrub: ScrubStats,
}

/// The scrub's progress and findings (see `hecaton_shared::socket::ScrubCounters`).
#[derive(Debug, Default)]
pub struct ScrubStats {
    /// A rate is set.
    pub enabled: AtomicBool,
    /// Passes finished.
    pub passes: AtomicU64,
    /// Objects checked in the current pass.
    pub pass_checked: AtomicU64,
    /// Objects in the store when the pass started.
    pub pass_total: AtomicU64,
    /// End of the last pass, Unix seconds.
    pub last_pass_end: AtomicU64,
    /// Objects checked.
    pub checked: AtomicU64,
    /// Their bytes.
    pub bytes: AtomicU64,
    /// Objects found corrupt.
    pub corrupt: AtomicU64,
    /// Corrupt objects published again since.
    pub repaired: AtomicU64,
    /// Outboards written for objects without one.
    pub outboards_written: AtomicU64,
}

impl ScrubStats {
    /// Adds `n` to one counter.
    pub fn add(c: &AtomicU64, n: u64) {
        add(c, n);
    }

    fn snapshot(&self) -> ScrubCounters {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ScrubCounters {
            enabled: self.enabled.load(Ordering::Relaxed),
            passes: get(&self.passes),
            pass_checked: get(&self.pass_checked),
            pass_total: get(&self.pass_total),
            last_pass_end: get(&self.last_pass_end),
            checked: get(&self.checked),
            bytes: get(&self.bytes),
            corrupt: get(&self.corrupt),
            repaired: get(&self.repaired),
            outboards_written: get(&self.outboards_written),
        }
    }
}

fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

impl Metrics {
    /// Counters for `shards` shards.
    pub fn new(shards: usize) -> Self {
        Self {
            slots: (0..shards.max(1)).map(|_| Slot::default()).collect(),
            removals: Default::default(),
            scrub: ScrubStats::default(),
        }
    }

    fn slot(&self, shard: usize) -> &Slot {
        &self.slots[shard % self.slots.len()]
    }

    /// Counts one answered request.
    pub fn request(
        &self,
        shard: usize,
        route: Route,
        status: u16,
        took: Duration,
        bytes_in: u64,
        bytes_out: u64,
    ) {
        let s = self.slot(shard);
        let r = route.index();
        let class = match status {
            0..=299 => 0,
            300..=399 => 1,
            400..=499 => 2,
            _ => 3,
        };
        add(&s.responses[r][class], 1);
        let us = took.as_micros().min(u64::MAX as u128) as u64;
        let bucket = LATENCY_BUCKETS_US
            .iter()
            .position(|le| us <= *le)
            .unwrap_or(BUCKETS - 1);
        add(&s.latency[r][bucket], 1);
        add(&s.latency_sum_us[r], us);
        add(&s.bytes_in, bytes_in);
        add(&s.bytes_out, bytes_out);
    }

    /// Counts an upload's end.
    pub fn upload(&self, shard: usize, outcome: UploadOutcome) {
        add(&self.slot(shard).uploads[outcome as usize], 1);
    }

    /// Counts bytes received from a peer by replication.
    pub fn fetched(&self, shard: usize, bytes: u64) {
        add(&self.slot(shard).fetch_bytes, bytes);
    }

    /// Counts a distributor's asset response and its body bytes.
    pub fn served(&self, shard: usize, how: Served, bytes: u64) {
        let c = &self.slot(shard).cache;
        let (count, bytes_slot) = match how {
            Served::Hit => (0, 4),
            Served::Miss => (1, 5),
            Served::Pending => (2, 5),
            Served::Proxied => (3, 6),
        };
        add(&c[count], 1);
        add(&c[bytes_slot], bytes);
    }

    /// Counts a fill starting (`None`) or ending, stored or not.
    pub fn fill(&self, shard: usize, ended: Option<bool>) {
        let i = match ended {
            None => 7,
            Some(true) => 8,
            Some(false) => 9,
        };
        add(&self.slot(shard).cache[i], 1);
    }

    /// Counts bytes a fill received from a storage node.
    pub fn fill_bytes(&self, shard: usize, bytes: u64) {
        add(&self.slot(shard).cache[10], bytes);
    }

    /// Counts a panic caught in a unit of work.
    pub fn panicked(&self, shard: usize, unit: crate::panics::Unit) {
        add(&self.slot(shard).panics[unit as usize], 1);
    }

    /// Counts an object removed, by its reason's label.
    pub fn removal(&self, label: &str) {
        if let Some(i) = REMOVALS.iter().position(|r| *r == label) {
            add(&self.removals[i], 1);
        }
    }

    /// Counts response body bytes that were not in the page cache (read by io_uring, not sent
    /// by `sendfile`).
    pub fn uncached_body(&self, shard: usize, bytes: u64) {
        if bytes > 0 {
            add(&self.slot(shard).uncached_body_bytes, bytes);
        }
    }

    /// Counts a failed TLS handshake on the public listener.
    pub fn tls_handshake_failed(&self, shard: usize) {
        add(&self.slot(shard).tls_failures, 1);
    }

    /// A connection opened (`+1`) or closed (`-1`).
    pub fn connection(&self, shard: usize, opened: bool) {
        let c = &self.slot(shard).connections;
        if opened {
            add(c, 1);
        } else {
            c.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// The sums over all shards.
    pub fn snapshot(&self) -> DataPlaneMetrics {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = DataPlaneMetrics {
            routes: ROUTES
                .iter()
                .map(|(_, name)| RouteMetrics {
                    route: name.to_string(),
                    latency: vec![0; BUCKETS],
                    ..RouteMetrics::default()
                })
                .collect(),
            uploads: OUTCOMES.iter().map(|o| (o.to_string(), 0)).collect(),
            removals: REMOVALS
                .iter()
                .zip(&self.removals)
                .map(|(r, n)| (r.to_string(), get(n)))
                .collect(),
            panics: crate::panics::UNITS
                .iter()
                .map(|u| (u.to_string(), 0))
                .collect(),
            scrub: self.scrub.snapshot(),
            ..DataPlaneMetrics::default()
        };
        for s in self.slots.iter() {
            for (r, route) in out.routes.iter_mut().enumerate() {
                for class in 0..4 {
                    route.responses[class] += get(&s.responses[r][class]);
                }
                for b in 0..BUCKETS {
                    route.latency[b] += get(&s.latency[r][b]);
                }
                route.latency_sum_us += get(&s.latency_sum_us[r]);
            }
            out.bytes_in += get(&s.bytes_in);
            out.bytes_out += get(&s.bytes_out);
            for (o, (_, n)) in out.uploads.iter_mut().enumerate() {
                *n += get(&s.uploads[o]);
            }
            out.connections += get(&s.connections);
            for (u, (_, n)) in out.panics.iter_mut().enumerate() {
                *n += get(&s.panics[u]);
            }
            out.fetch_bytes += get(&s.fetch_bytes);
            out.tls_handshake_failures += get(&s.tls_failures);
            out.uncached_body_bytes += get(&s.uncached_body_bytes);
            let c: Vec<u64> = s.cache.iter().map(get).collect();
            let k = &mut out.cache;
            k.hits += c[0];
            k.misses += c[1];
            k.pending += c[2];
            k.proxied += c[3];
            k.bytes_hit += c[4];
            k.bytes_pending += c[5];
            k.bytes_proxied += c[6];
            k.fills += c[7];
            k.fills_stored += c[8];
            k.fills_failed += c[9];
            k.fill_bytes += c[10];
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hecaton_shared::socket::CacheCounters;

    #[test]
    fn sums_over_shards_and_buckets_latency() {
        let m = Metrics::new(2);
        m.request(0, Route::FileGet, 200, Duration::from_micros(90), 100, 4096);
        m.request(1, Route::FileGet, 206, Duration::from_millis(3), 100, 1024);
        m.request(1, Route::FileGet, 404, Duration::from_secs(5), 100, 50);
        m.upload(1, UploadOutcome::Stored);
        m.connection(0, true);
        m.fetched(0, 10);
        m.fetched(1, 5);
        m.uncached_body(0, 4096);
        m.uncached_body(1, 0);
        m.removal("unassigned");
        m.removal("no such reason");
        m.served(0, Served::Hit, 100);
        m.served(1, Served::Pending, 7);
        m.fill(1, None);
        m.fill(1, Some(true));
        m.panicked(1, crate::panics::Unit::Fetch);
        let s = m.snapshot();
        let get = &s.routes[0];
        assert_eq!(get.route, "files_get");
        assert_eq!(get.responses, [2, 0, 1, 0]);
        assert_eq!(get.latency[0], 1, "90 µs ≤ 100 µs");
        assert_eq!(get.latency[5], 1, "3 ms ≤ 5 ms");
        assert_eq!(get.latency[BUCKETS - 1], 1, "5 s overflows");
        assert_eq!(get.latency_sum_us, 90 + 3_000 + 5_000_000);
        assert_eq!((s.bytes_in, s.bytes_out), (300, 5170));
        assert_eq!(s.uploads[0], ("stored".to_string(), 1));
        assert_eq!(s.connections, 1);
        assert_eq!(s.fetch_bytes, 15);
        assert_eq!(s.uncached_body_bytes, 4096);
        assert_eq!(s.removals[2], ("unassigned".to_string(), 1));
        assert_eq!(s.removals.iter().map(|r| r.1).sum::<u64>(), 1);
        let expected = CacheCounters {
            hits: 1,
            pending: 1,
            bytes_hit: 100,
            bytes_pending: 7,
            fills: 1,
            fills_stored: 1,
            ..CacheCounters::default()
        };
        assert_eq!(s.cache, expected);
        assert_eq!(
            s.panics,
            vec![
                ("connection".to_string(), 0),
                ("fill".to_string(), 0),
                ("fetch".to_string(), 1)
            ]
        );
    }
}
