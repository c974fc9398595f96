//! The Colossus storage API: statuses, headers, ranges, conditionals, keep-alive.

use std::io::{Read, Write};
use std::time::Duration;

use hecaton_shared::ContentId;

use crate::support::*;

fn jpeg(len: usize) -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0];
    v.extend(bytes(len - 4, 1));
    v
}

fn mp4() -> Vec<u8> {
    let mut v = vec![0, 0, 0, 0x18];
    v.extend_from_slice(b"ftypisom");
    v.extend(bytes(5000, 2));
    v
}

fn corpus() -> Vec<(u64, Vec<u8>)> {
    vec![
        (1, jpeg(100_000)),
        (2, Vec::new()),
        (3, b"hello".to_vec()),
        (4, mp4()),
    ]
}

fn etag(bytes: &[u8]) -> String {
    format!("\"{}\"", ContentId::of(bytes))
}

#[test]
fn object_statuses_and_headers() {
    let files = corpus();
    let (_dir, store) = store_with(&files);
    let server = Server::start(&store, &[]);
    let obj = &files[0].1;

    let r = server.get("/api/v1/files/1", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(&r.body, obj);
    assert_eq!(r.header("content-length"), Some("100000"));
    assert_eq!(r.header("content-type"), Some("image/jpeg"));
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    assert_eq!(r.header("content-disposition"), Some("inline"));
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("etag"), Some(etag(obj).as_str()));
    assert!(r.header("date").is_some());
    assert!(r.header("cache-control").is_some());

    // HEAD sends exactly the GET headers and no body.
    let h = server.request("HEAD", "/api/v1/files/1", &[]);
    assert_eq!(h.status, 200);
    let names = |r: &Response| {
        let mut v: Vec<(String, String)> = r
            .headers
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("date"))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&h), names(&r));

    assert_eq!(
        server.get("/api/v1/files/4", &[]).header("content-type"),
        Some("video/mp4")
    );
    let empty = server.get("/api/v1/files/2", &[]);
    assert_eq!((empty.status, empty.body.len()), (200, 0));
    assert_eq!(empty.header("content-length"), Some("0"));

    let missing = server.get("/api/v1/files/999", &[]);
    assert_eq!(missing.status, 404);
    assert_eq!(server.request("HEAD", "/api/v1/files/999", &[]).status, 404);

    for bad in [
        "/api/v1/files/abc",
        "/api/v1/files/-1",
        "/api/v1/files/1x",
        "/api/v1/files/18446744073709551616",
    ] {
        let r = server.get(bad, &[]);
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.json()["type"], "request_exception", "{bad}");
        assert!(r.json()["message"].is_string());
    }
    // Query strings (cache busters) do not change the answer.
    assert_eq!(server.get("/api/v1/files/3?v=1", &[]).body, b"hello");

    for path in [
        "/nope",
        "/api/v1/nope",
        "/api/v2/files/1",
        "/api/v1/files/1/extra",
    ] {
        let r = server.get(path, &[]);
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.json()["type"], "request_exception");
    }
    let r = server.request("DELETE", "/api/v1/files/1", &[]);
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    assert_eq!(r.json()["message"], "DELETE method not allowed");
}

#[test]
fn cors_state_and_version_endpoints() {
    let files = corpus();
    let (_dir, store) = store_with(&files);
    let server = Server::start(&store, &[]);

    let pre = server.request(
        "OPTIONS",
        "/api/v1/files",
        &[
            ("Origin", "https://atlas.example"),
            ("Access-Control-Request-Headers", "content-type"),
        ],
    );
    assert_eq!(pre.status, 204);
    assert_eq!(pre.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        pre.header("access-control-allow-methods"),
        Some("GET,HEAD,PUT,PATCH,POST,DELETE")
    );
    assert_eq!(
        pre.header("access-control-allow-headers"),
        Some("content-type")
    );

    let ids = server.get("/api/v1/state/data-objects", &[]);
    assert_eq!(ids.status, 200);
    assert_eq!(ids.json(), serde_json::json!(["1", "2", "3", "4"]));
    let stats = server.get("/api/v1/state/data", &[]).json();
    assert_eq!(stats["objectNumber"], 4);
    let total: usize = files.iter().map(|(_, b)| b.len()).sum();
    assert_eq!(stats["totalSize"], total);
    let version = server.get("/api/v1/version", &[]).json();
    assert_eq!(version["version"], env!("CARGO_PKG_VERSION"));
    assert!(version["userAgent"]
        .as_str()
        .unwrap()
        .starts_with("hecaton-dataplane/"));

    // No bucket is writable until a control plane pushed placement: Colossus's first answer.
    let up = server.request(
        "POST",
        "/api/v1/files?dataObjectId=1&storageBucketId=1&bagId=static:council",
        &[("Content-Length", "0")],
    );
    assert_eq!(up.status, 503);
    assert_eq!(up.json()["type"], "upload");
}

#[test]
fn conditional_requests() {
    let files = corpus();
    let (_dir, store) = store_with(&files);
    let server = Server::start(&store, &[]);
    let tag = etag(&files[0].1);

    let r = server.get("/api/v1/files/1", &[("If-None-Match", &tag)]);
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    assert_eq!(r.header("etag"), Some(tag.as_str()));
    let weak = format!("W/{tag}");
    assert_eq!(
        server
            .get("/api/v1/files/1", &[("If-None-Match", &weak)])
            .status,
        304
    );
    assert_eq!(
        server
            .get("/api/v1/files/1", &[("If-None-Match", "\"other\"")])
            .status,
        200
    );

    let ranged = server.get(
        "/api/v1/files/1",
        &[("Range", "bytes=10-19"), ("If-Range", &tag)],
    );
    assert_eq!(ranged.status, 206);
    assert_eq!(ranged.body, files[0].1[10..20]);
    let stale = server.get(
        "/api/v1/files/1",
        &[("Range", "bytes=10-19"), ("If-Range", "\"old\"")],
    );
    assert_eq!(stale.status, 200);
    assert_eq!(stale.body.len(), 100_000);
    let dated = server.get(
        "/api/v1/files/1",
        &[
            ("Range", "bytes=10-19"),
            ("If-Range", "Wed, 21 Oct 2015 07:28:00 GMT"),
        ],
    );
    assert_eq!(
        dated.status, 200,
        "no Last-Modified, so a date never validates"
    );
}

#[test]
fn ranges_at_the_edges() {
    let files = corpus();
    let (_dir, store) = store_with(&files);
    let server = Server::start(&store, &[]);
    let obj = &files[0].1;
    let n = obj.len();

    let cases: Vec<(String, usize, usize)> = vec![
        ("bytes=0-0".into(), 0, 0),
        (format!("bytes={}-{}", n - 1, n - 1), n - 1, n - 1),
        ("bytes=-10".into(), n - 10, n - 1),
        ("bytes=1000-".into(), 1000, n - 1),
        (format!("bytes=5-{}", n + 500), 5, n - 1),
        (format!("bytes=-{}", n + 7), 0, n - 1),
    ];
    for (range, start, end) in cases {
        let r = server.get("/api/v1/files/1", &[("Range", &range)]);
        assert_eq!(r.status, 206, "{range}");
        assert_eq!(r.body, obj[start..=end], "{range}");
        assert_eq!(
            r.header("content-length"),
            Some((end - start + 1).to_string().as_str()),
            "{range}"
        );
        assert_eq!(
            r.header("content-range"),
            Some(format!("bytes {start}-{end}/{n}").as_str()),
            "{range}"
        );
    }
    for past in [format!("bytes={n}-"), format!("bytes={}-{}", n + 1, n + 9)] {
        let r = server.get("/api/v1/files/1", &[("Range", &past)]);
        assert_eq!(r.status, 416, "{past}");
        assert_eq!(
            r.header("content-range"),
            Some(format!("bytes */{n}").as_str())
        );
    }
    assert_eq!(
        server
            .get("/api/v1/files/2", &[("Range", "bytes=0-")])
            .status,
        416,
        "empty object"
    );
    for ignored in ["bytes=0-1,5-6", "bytes=9-2", "pages=1-2", "bytes=x-"] {
        let r = server.get("/api/v1/files/1", &[("Range", ignored)]);
        assert_eq!((r.status, r.body.len()), (200, n), "{ignored}");
    }
    let head = server.request("HEAD", "/api/v1/files/1", &[("Range", "bytes=0-99")]);
    assert_eq!(head.status, 206);
    assert_eq!(head.header("content-length"), Some("100"));
}

#[test]
fn keep_alive_pipelining_and_close() {
    let files = corpus();
    let (_dir, store) = store_with(&files);
    let server = Server::start(&store, &[]);

    let mut c = server.connect();
    for i in 0..50 {
        let path = format!("/api/v1/files/{}", 1 + i % 4);
        send(&mut c, "GET", &path, &[]);
        let r = read_response(&mut c, false);
        assert_eq!(r.status, 200);
        assert_eq!(r.body, files[i % 4].1);
    }
    // A HEAD answered with an error carries no body either: the next response parses.
    send(&mut c, "HEAD", "/api/v1/files", &[]);
    let r = read_response(&mut c, true);
    assert_eq!((r.status, r.header("allow")), (405, Some("POST")));
    send(&mut c, "GET", "/api/v1/files/3", &[]);
    assert_eq!(read_response(&mut c, false).body, b"hello");
    // Three requests in one write come back in order.
    c.write_all(b"GET /api/v1/files/3 HTTP/1.1\r\n\r\nHEAD /api/v1/files/1 HTTP/1.1\r\n\r\nGET /api/v1/files/999 HTTP/1.1\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut c, false).body, b"hello");
    assert_eq!(read_response(&mut c, true).status, 200);
    assert_eq!(read_response(&mut c, false).status, 404);

    send(&mut c, "GET", "/api/v1/files/3", &[("Connection", "close")]);
    let r = read_response(&mut c, false);
    assert_eq!(r.header("connection"), Some("close"));
    assert!(closed_by_server(&mut c));

    let mut old = server.connect();
    old.write_all(b"GET /api/v1/files/3 HTTP/1.0\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut old, false).body, b"hello");
    assert!(
        closed_by_server(&mut old),
        "HTTP/1.0 without keep-alive closes"
    );
    let mut old_ka = server.connect();
    old_ka
        .write_all(b"GET /api/v1/files/3 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .unwrap();
    assert_eq!(
        read_response(&mut old_ka, false).header("connection"),
        Some("keep-alive")
    );
    old_ka
        .write_all(b"GET /api/v1/files/3 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut old_ka, false).body, b"hello");
}

#[test]
fn a_slow_reader_gets_every_byte_through_the_writability_wait() {
    // 24 MiB to a client that reads slowly at first: sendfile hits EAGAIN many times, and each
    // wait goes through glommio; the bytes must come out exact and in order.
    let big = bytes(24 << 20, 9);
    let (_dir, store) = store_with(&[(7, big.clone())]);
    let server = Server::start(&store, &[]);
    let mut c = server.connect();
    send(&mut c, "GET", "/api/v1/files/7", &[]);
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        c.read_exact(&mut b).unwrap();
        head.push(b[0]);
    }
    let mut got = Vec::with_capacity(big.len());
    let mut chunk = vec![0u8; 64 * 1024];
    let mut reads = 0;
    while got.len() < big.len() {
        let n = c.read(&mut chunk).unwrap();
        assert!(n > 0, "connection closed after {} bytes", got.len());
        got.extend_from_slice(&chunk[..n]);
        reads += 1;
        if reads < 40 {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    assert!(got == big, "body differs from the object");
    // And the connection is still usable.
    send(&mut c, "GET", "/api/v1/files/7", &[("Range", "bytes=-4")]);
    assert_eq!(read_response(&mut c, false).body, big[big.len() - 4..]);
}

#[test]
fn subtitles_and_text_get_their_media_types() {
    let vtt = b"WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nHello\n".to_vec();
    let srt = b"1\n00:00:01,000 --> 00:00:04,000\nHello\n".to_vec();
    let (_dir, store) = store_with(&[(1, vtt), (2, srt), (3, b"<svg></svg>".to_vec())]);
    let server = Server::start(&store, &[]);
    for (id, want) in [
        (1, "text/vtt"),
        (2, "text/plain"),
        (3, "application/octet-stream"),
    ] {
        let r = server.get(&format!("/api/v1/files/{id}"), &[]);
        assert_eq!(r.header("Content-Type"), Some(want), "object {id}");
    }
}

/// Writes a file's pages back and drops them from the page cache.
fn evict(path: &std::path::Path) {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::open(path).unwrap();
    f.sync_all().unwrap();
    // SAFETY: advice on an open descriptor, integers only.
    let rc = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    assert_eq!(rc, 0);
}

/// Bytes that are not in the page cache go out by io_uring reads rather than `sendfile` (which
/// would read them from the disk on the shard's thread): the responses are the same, whole and
/// ranged, and the metrics count those bytes.
#[test]
fn bytes_not_in_the_page_cache_are_served_alike_and_counted() {
    let data = bytes(5 << 20, 9);
    let (_dir, store) = store_with(&[(7, data.clone())]);
    let server = Server::start(&store, &[]);
    let mut control = crate::control::FakeControl::connect(&store.join("control.sock"));
    let file = store.join("objects").join("7");
    assert!(file.exists(), "objects are kept as objects/<id>");

    evict(&file);
    let whole = server.get("/api/v1/files/7", &[]);
    assert_eq!(whole.status, 200);
    assert!(whole.body == data, "whole object differs");
    evict(&file);
    let range = server.get("/api/v1/files/7", &[("Range", "bytes=3000001-4999999")]);
    assert_eq!(range.status, 206);
    assert!(range.body == data[3_000_001..5_000_000], "range differs");
    // Cached now: sent by `sendfile`, and alike.
    assert!(server.get("/api/v1/files/7", &[]).body == data);

    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let uncached = loop {
        use hecaton_shared::socket::{FromDataPlane, Report};
        if let FromDataPlane::Report(Report::Metrics(m)) = control.recv() {
            if m.uncached_body_bytes > 0 || std::time::Instant::now() > deadline {
                break m.uncached_body_bytes;
            }
        }
    };
    if cachestat_works(&file) {
        // Each evicted response found at least its first 256 KiB read not cached (read-ahead
        // behind each read may bring the rest in before it is asked for).
        assert!(
            uncached >= 2 * 256 * 1024,
            "only {uncached} bytes counted as not cached"
        );
        assert!(
            uncached <= (5 << 20) + 2_000_000,
            "{uncached} bytes counted"
        );
    } else {
        eprintln!("cachestat does not work here: the counter is not checked");
    }
}

/// Whether this kernel and file system let `cachestat` see an eviction.
fn cachestat_works(path: &std::path::Path) -> bool {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::open(path).unwrap();
    evict(path);
    let mut stat = [0u64; 5];
    let range = [0u64, 4096];
    // SAFETY: `cachestat(fd, &range, &stat, 0)` with buffers of the kernel's layout.
    let rc = unsafe { libc::syscall(451, f.as_raw_fd(), range.as_ptr(), stat.as_mut_ptr(), 0) };
    rc == 0 && stat[0] == 0
}

/// The `Cpus_allowed_list` of a `/proc/.../status` text ("" without one).
fn cpus_allowed(status: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// The allowed CPUs (`Cpus_allowed_list`) of each shard's threads (glommio names them
/// `shard-<index>-<executor id>`, the executor's and its helper thread's alike), by name,
/// each pair once.
fn shard_cpus(pid: u32) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let dir = task.unwrap().path();
        let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if !name.starts_with("shard-") {
            continue;
        }
        let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
        out.push((name.trim().to_owned(), cpus_allowed(&status)));
    }
    out.sort();
    out.dedup();
    out
}

/// Shards run where the kernel puts them unless the operator passes `--pin-shards`, which
/// gives each a CPU of its own (two shards here, so only on a host with two CPUs or more).
#[test]
fn shards_are_pinned_only_when_the_operator_asks() {
    let (_dir, store) = store_with(&[(1, bytes(10, 1))]);
    let own = cpus_allowed(&std::fs::read_to_string("/proc/self/status").unwrap());
    assert!(!own.is_empty());

    let mut server = Server::start(&store, &[]);
    assert_eq!(server.get("/api/v1/files/1", &[]).status, 200);
    let unpinned = shard_cpus(server.child.id());
    assert_eq!(unpinned.len(), 2, "{unpinned:?}");
    for (name, cpus) in &unpinned {
        assert_eq!(cpus, &own, "{name} runs on any CPU this process may use");
    }
    server.terminate();

    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        return; // one CPU: two shards cannot each have their own
    }
    let mut server = Server::start(&store, &["--pin-shards"]);
    assert_eq!(server.get("/api/v1/files/1", &[]).status, 200);
    let pinned = shard_cpus(server.child.id());
    assert_eq!(pinned.len(), 2, "{pinned:?}");
    for (name, cpus) in &pinned {
        assert!(
            cpus.parse::<usize>().is_ok(),
            "{name} pinned to one CPU: {cpus}"
        );
    }
    assert_ne!(pinned[0].1, pinned[1].1, "each shard has a CPU of its own");
    server.terminate();
}
