//! A hostile internet against the real binary (issue 14): each known defect as it was found,
//! and the guards that close its class. Every test asserts the node survives (the process and
//! its other clients), that memory and disk stay bounded, and that the client gets the right
//! status instead of a hang.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hecaton_shared::socket::{FetchJob, Removal, RemovalReason, Report, Source, ToDataPlane};
use hecaton_shared::{ContentId, DataObjectId};

use crate::control::{object, FakeControl};
use crate::slow_peer::SlowPeer;
use crate::support::{bytes, read_response, store_with, try_read_response, Server, STRICT_PEERS};
use crate::tus::{head_offset, patch, request, tus};

const BAG: &str = "dynamic:channel:1";
const BOUNDARY: &str = "hostileBoundary";

/// The server's resident memory, in bytes.
fn rss(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

/// Samples the server's RSS every 20 ms until stopped; the peak.
fn rss_sampler(server: &Server) -> (Arc<AtomicBool>, std::thread::JoinHandle<u64>) {
    let stop = Arc::new(AtomicBool::new(false));
    let pid = server.child.id();
    let s = stop.clone();
    let peak = std::thread::spawn(move || {
        let mut peak = 0;
        while !s.load(Ordering::Relaxed) {
            if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                let kib: u64 = status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                    .unwrap_or(0);
                peak = peak.max(kib * 1024);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        peak
    });
    (stop, peak)
}

fn alive(server: &mut Server) -> bool {
    server.child.try_wait().unwrap().is_none()
}

fn upload_path(id: u64) -> String {
    format!("/api/v1/files?dataObjectId={id}&storageBucketId=0&bagId={BAG}")
}

fn multipart(file: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"v.mp4\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn post_head(path: &str, len: u64) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n\
         Content-Length: {len}\r\n\r\n"
    )
}

/// A node with an empty store and `objects` placed in the channel's bag (bucket 0).
fn node(dir: &Path, objects: &[(u64, &[u8])], extra: &[&str]) -> (Server, FakeControl) {
    let store = dir.join("store");
    let server = Server::start(&store, extra);
    let mut control = FakeControl::connect(&store.join("control.sock"));
    let placed = objects.iter().map(|(id, b)| object(*id, b)).collect();
    control.place_bag(1, BAG, placed);
    (server, control)
}

#[test]
fn a_bag_path_without_a_bag_does_not_take_a_shard_down() {
    // Defect 1: `state/bags/data-objects` sliced [11..10] and killed the shard.
    let (_dir, store) = store_with(&[(1, b"hello".to_vec())]);
    let mut server = Server::start(&store, &["--shards", "1"]);
    for _ in 0..3 {
        let r = server.get("/api/v1/state/bags/data-objects", &[]);
        assert_eq!(r.status, 404);
        assert_eq!(
            server.get("/api/v1/state/bags//data-objects", &[]).status,
            200
        );
    }
    assert_eq!(server.get("/api/v1/files/1", &[]).body, b"hello");
    assert!(alive(&mut server));
}

#[test]
fn a_content_length_at_the_top_of_u64_is_answered_not_overflowed() {
    // Defect 15: head length + Content-Length overflowed the byte accounting.
    let (_dir, store) = store_with(&[(1, b"hello".to_vec())]);
    let mut server = Server::start(&store, &["--shards", "1"]);
    for _ in 0..3 {
        let r = server.get(
            "/api/v1/files/1",
            &[("Content-Length", "18446744073709551615")],
        );
        assert_eq!((r.status, r.header("connection")), (200, Some("close")));
    }
    assert!(alive(&mut server));
    assert_eq!(server.get("/api/v1/files/1", &[]).body, b"hello");
}

#[test]
fn a_multipart_body_without_its_boundary_is_cut_before_it_grows_memory() {
    // Defect 2: multer buffered a boundary-less body up to its declared size.
    let dir = tempfile::tempdir().unwrap();
    let declared = vec![7u8; 96 << 20];
    let (server, _control) = node(dir.path(), &[(1, &declared)], &["--shards", "1"]);
    let before = rss(&server);
    let (stop, peak) = rss_sampler(&server);
    let mut c = server.connect();
    c.write_all(post_head(&upload_path(1), declared.len() as u64).as_bytes())
        .unwrap();
    let mut writer = c.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let junk = vec![b'a'; 1 << 20];
        for _ in 0..96 {
            if writer.write_all(&junk).is_err() {
                break;
            }
        }
    });
    let r = read_response(&mut c, false);
    drop(c);
    sender.join().unwrap();
    stop.store(true, Ordering::Relaxed);
    let peak = peak.join().unwrap();
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("multipart framing exceeds"),
        "{:?}",
        r.json()
    );
    assert!(
        peak < before + (16 << 20),
        "RSS grew from {before} to {peak}"
    );
}

#[test]
fn a_tus_patch_whose_offset_and_length_overflow_is_refused() {
    // Defect 3: `Upload-Offset + Content-Length` wrapped and the append ran past the object.
    let dir = tempfile::tempdir().unwrap();
    let video = bytes(4096, 3);
    let (mut server, _control) = node(dir.path(), &[(1, &video)], &["--shards", "1"]);
    let created = request(
        &server,
        "POST",
        &format!("/api/v1/uploads?dataObjectId=1&storageBucketId=0&bagId={BAG}"),
        &[tus(), ("Upload-Length", "4096".into())],
        b"",
    );
    let loc = created.header("Location").unwrap().to_string();
    assert_eq!(patch(&server, &loc, 0, &video[..10]).status, 204);
    let mut c = server.connect();
    c.write_all(
        format!(
            "PATCH {loc} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 10\r\n\
             Content-Type: application/offset+octet-stream\r\nContent-Length: 18446744073709551610\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let _ = c.write_all(&vec![b'z'; 1 << 20]);
    let r = read_response(&mut c, false);
    assert_eq!(r.status, 413);
    assert!(alive(&mut server));
    let file = dir
        .path()
        .join("store/uploads")
        .join(loc.rsplit('/').next().unwrap());
    assert_eq!(std::fs::metadata(file).unwrap().len(), 10);
    assert_eq!(head_offset(&server, &loc), (200, Some(10)));
}

#[test]
fn a_tus_upload_is_reachable_only_through_the_url_its_creation_gave() {
    // Defect 4: the upload's URL was the public object id, so anyone could fill or delete it.
    let dir = tempfile::tempdir().unwrap();
    let video = bytes(50_000, 4);
    let (server, mut control) = node(dir.path(), &[(1, &video)], &[]);
    let create = || {
        let r = request(
            &server,
            "POST",
            &format!("/api/v1/uploads?dataObjectId=1&storageBucketId=0&bagId={BAG}"),
            &[tus(), ("Upload-Length", video.len().to_string())],
            b"",
        );
        assert_eq!(r.status, 201);
        r.header("Location").unwrap().to_string()
    };
    let mine = create();
    assert_eq!(patch(&server, &mine, 0, &video[..20_000]).status, 204);
    // A stranger who knows the id: nothing to find, fill or delete.
    for guess in [
        "/api/v1/uploads/1",
        "/api/v1/uploads/1.0.00000000000000000000000000000000",
    ] {
        assert_eq!(head_offset(&server, guess).0, 404, "{guess}");
        assert_eq!(patch(&server, guess, 20_000, b"junk").status, 404);
        assert_eq!(request(&server, "DELETE", guess, &[tus()], b"").status, 404);
    }
    // Their own upload of the same object is separate; its garbage never verifies.
    let theirs = create();
    assert_ne!(theirs, mine);
    let garbage = vec![0u8; video.len()];
    assert_eq!(patch(&server, &theirs, 0, &garbage).status, 400);
    assert_eq!(head_offset(&server, &mine), (200, Some(20_000)));
    let r = patch(&server, &mine, 20_000, &video[20_000..]);
    assert_eq!(r.status, 204);
    assert_eq!(control.stored(), vec![DataObjectId(1)]);
    assert!(server.get("/api/v1/files/1", &[]).body == video);
}

#[test]
fn a_tus_upload_expires() {
    let dir = tempfile::tempdir().unwrap();
    let video = bytes(1000, 5);
    let (server, _control) = node(dir.path(), &[(1, &video)], &["--tus-expiry-secs", "1"]);
    let r = request(
        &server,
        "POST",
        &format!("/api/v1/uploads?dataObjectId=1&storageBucketId=0&bagId={BAG}"),
        &[tus(), ("Upload-Length", "1000".into())],
        b"",
    );
    let loc = r.header("Location").unwrap().to_string();
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(patch(&server, &loc, 0, &video).status, 404);
    assert_eq!(head_offset(&server, &loc).0, 404);
}

#[test]
fn a_trickled_upload_is_cut_and_frees_its_object_for_the_real_uploader() {
    // Defect 9: a byte every 59 s held the object's temp file (the uploader got 409) for ever.
    let dir = tempfile::tempdir().unwrap();
    let video = bytes(100_000, 6);
    let limits = [
        "--min-upload-bytes-per-sec",
        "2000",
        "--min-upload-grace-secs",
        "1",
    ];
    let (mut server, mut control) = node(dir.path(), &[(1, &video)], &limits);
    let body = multipart(&video);
    let mut slow = server.connect();
    slow.write_all(post_head(&upload_path(1), body.len() as u64).as_bytes())
        .unwrap();
    slow.write_all(&body[..200]).unwrap();
    let started = Instant::now();
    let mut cut = None;
    for b in &body[200..260] {
        if slow.write_all(&[*b]).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        slow.set_read_timeout(Some(Duration::from_millis(1)))
            .unwrap();
        let mut probe = [0u8; 1];
        if slow.peek(&mut probe).is_ok() {
            cut = Some(started.elapsed());
            break;
        }
    }
    let cut = cut.expect("the trickle was never cut");
    assert!(cut < Duration::from_secs(4), "cut after {cut:?}");
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    if let Some(r) = try_read_response(&mut slow, false) {
        assert_eq!(r.status, 408);
    }
    // The object is free again at once.
    let mut c = server.connect();
    c.write_all(post_head(&upload_path(1), body.len() as u64).as_bytes())
        .unwrap();
    c.write_all(&body).unwrap();
    let r = read_response(&mut c, false);
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(control.stored(), vec![DataObjectId(1)]);
    assert!(alive(&mut server));
}

#[test]
fn an_object_published_again_within_the_unlink_grace_keeps_its_new_file() {
    // Defect 7: the delayed unlink of a removal deleted the copy published meanwhile.
    let data = bytes(200_000, 7);
    let (_src_dir, src_store) = store_with(&[(1, data.clone())]);
    let source = Server::start(&src_store, &[]);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("fetcher");
    let server = Server::start(&store, &[]);
    let mut control = FakeControl::connect(&store.join("control.sock"));
    let mut placed = object(1, &data);
    placed.accepted = true;
    control.place_bag(1, BAG, vec![placed]);
    let job = FetchJob {
        id: DataObjectId(1),
        bag: BAG.parse().unwrap(),
        size: data.len() as u64,
        content_id: ContentId::of(&data).to_string(),
        sources: vec![Source {
            endpoint: format!("http://{}/", source.addr),
            addrs: vec![source.addr],
        }],
        priority: 1,
    };
    let fetched = |control: &mut FakeControl| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let hecaton_shared::socket::FromDataPlane::Report(r) = control.recv() {
                match r {
                    Report::Fetched { .. } => return,
                    Report::FetchFailed { .. } => panic!("fetch failed: {r:?}"),
                    _ => {}
                }
            }
        }
        panic!("not fetched");
    };
    control.send(&ToDataPlane::Fetch {
        jobs: vec![job.clone()],
    });
    fetched(&mut control);
    control.send(&ToDataPlane::Remove {
        removals: vec![Removal {
            id: DataObjectId(1),
            reason: RemovalReason::ObjectDeleted,
        }],
    });
    let removed_at = Instant::now();
    loop {
        if let hecaton_shared::socket::FromDataPlane::Report(Report::Removed { .. }) =
            control.recv()
        {
            break;
        }
    }
    control.send(&ToDataPlane::Fetch { jobs: vec![job] });
    fetched(&mut control);
    assert!(
        removed_at.elapsed() < Duration::from_secs(2),
        "re-fetch too slow to test"
    );
    std::thread::sleep(Duration::from_secs(3));
    let r = server.get("/api/v1/files/1", &[]);
    assert_eq!(r.status, 200);
    assert!(r.body == data);
    assert!(store.join("objects/1").exists());
}

/// A tmpfs of `mib` MiB mounted on a new directory (root only), unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(mib: u64) -> Option<SmallDisk> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("not root: cannot mount a small filesystem; skipped");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .unwrap()
            .success();
        assert!(ok, "mount tmpfs failed");
        Some(SmallDisk { dir })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .args(["-l"])
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn a_full_disk_refuses_uploads_before_reading_them_and_keeps_the_store_whole() {
    let Some(disk) = SmallDisk::mount(48) else {
        return;
    };
    let first = bytes(24 << 20, 8);
    let second = bytes(20 << 20, 9);
    let extra = ["--disk-reserve-mib", "8", "--shards", "1"];
    let (mut server, mut control) = node(disk.dir.path(), &[(1, &first), (2, &second)], &extra);
    std::thread::sleep(Duration::from_millis(700));
    let body = multipart(&first);
    let mut c = server.connect();
    c.write_all(post_head(&upload_path(1), body.len() as u64).as_bytes())
        .unwrap();
    c.write_all(&body).unwrap();
    assert_eq!(read_response(&mut c, false).status, 201);
    assert_eq!(control.stored(), vec![DataObjectId(1)]);
    std::thread::sleep(Duration::from_millis(700));
    // 24 MiB used of 48, 8 reserved: 20 MiB does not fit. Refused before the body is read.
    let body = multipart(&second);
    let mut c = server.connect();
    c.write_all(post_head(&upload_path(2), body.len() as u64).as_bytes())
        .unwrap();
    let r = read_response(&mut c, false);
    assert_eq!(r.status, 507, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["type"], "upload");
    assert!(r.header("Retry-After").is_some());
    let r = request(
        &server,
        "POST",
        &format!("/api/v1/uploads?dataObjectId=2&storageBucketId=0&bagId={BAG}"),
        &[tus(), ("Upload-Length", second.len().to_string())],
        b"",
    );
    assert_eq!(r.status, 507);
    // Replication waits too: the fetch fails as ours, before a byte is read.
    let (_src_dir, src_store) = store_with(&[(2, second.clone())]);
    let source = Server::start(&src_store, &[]);
    control.send(&ToDataPlane::Fetch {
        jobs: vec![job_from(2, &second, &[source.addr])],
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let failed = loop {
        assert!(Instant::now() < deadline, "no fetch outcome");
        match control.recv() {
            hecaton_shared::socket::FromDataPlane::Report(Report::FetchFailed {
                reason, ..
            }) => break reason,
            hecaton_shared::socket::FromDataPlane::Report(Report::Fetched { .. }) => {
                panic!("fetched into a full disk")
            }
            _ => {}
        }
    };
    assert!(failed.contains("reserve"), "{failed}");
    let store = disk.dir.path().join("store");
    assert_eq!(std::fs::read_dir(store.join("tmp")).unwrap().count(), 0);
    assert!(alive(&mut server));
    drop(server);
    let server = Server::start(&store, &extra);
    assert!(server.get("/api/v1/files/1", &[]).body == first);
    assert_eq!(server.get("/api/v1/files/2", &[]).status, 404);
}

/// Reports until a fetch of the job ends; the attempt failures seen on the way and whether it
/// was fetched.
fn fetch_outcome(control: &mut FakeControl) -> (Vec<String>, bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut failures = Vec::new();
    while Instant::now() < deadline {
        if let hecaton_shared::socket::FromDataPlane::Report(r) = control.recv() {
            match r {
                Report::FetchAttemptFailed { reason, .. } => failures.push(reason),
                Report::Fetched { .. } => return (failures, true),
                Report::FetchFailed { .. } => return (failures, false),
                _ => {}
            }
        }
    }
    panic!("the fetch never ended; failures so far {failures:?}");
}

fn job_from(id: u64, data: &[u8], peers: &[SocketAddr]) -> FetchJob {
    FetchJob {
        id: DataObjectId(id),
        bag: BAG.parse().unwrap(),
        size: data.len() as u64,
        content_id: ContentId::of(data).to_string(),
        sources: peers
            .iter()
            .map(|a| Source {
                endpoint: format!("http://{a}/"),
                addrs: vec![*a],
            })
            .collect(),
        priority: id,
    }
}

#[test]
fn a_trickling_peer_is_cut_by_the_minimum_rate_and_the_next_one_serves() {
    // Defect 10: a byte every 29 s (within the idle timeout) held the fetch for hours.
    let data = bytes(256 * 1024, 10);
    let trickle = SlowPeer::start(1, data.clone(), 16, Duration::from_millis(200));
    let (_src_dir, src_store) = store_with(&[(1, data.clone())]);
    let good = Server::start(&src_store, &[]);
    let dir = tempfile::tempdir().unwrap();
    let limits = [
        "--fetch-min-bytes-per-sec",
        "4096",
        "--fetch-grace-secs",
        "1",
        "--fetch-idle-timeout-secs",
        "30",
    ];
    let mut placed = object(1, &data);
    placed.accepted = true;
    let store = dir.path().join("store");
    let _server = Server::start(&store, &limits);
    let mut control = FakeControl::connect(&store.join("control.sock"));
    control.place_bag(1, BAG, vec![placed]);
    let started = Instant::now();
    control.send(&ToDataPlane::Fetch {
        jobs: vec![job_from(1, &data, &[trickle.addr, good.addr])],
    });
    let (failures, fetched) = fetch_outcome(&mut control);
    assert!(fetched, "{failures:?}");
    assert!(
        failures.iter().any(|f| f.contains("too slow")),
        "{failures:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn loopback_peers_are_refused_unless_private_peers_are_allowed() {
    // Defect 11: endpoints published on chain were fetched whatever they resolved to.
    let data = bytes(10_000, 11);
    let (_src_dir, src_store) = store_with(&[(1, data.clone())]);
    let source = Server::start(&src_store, &[]);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let _server = Server::start(&store, &[STRICT_PEERS, "--fetch-rounds", "1"]);
    let mut control = FakeControl::connect(&store.join("control.sock"));
    let mut placed = object(1, &data);
    placed.accepted = true;
    control.place_bag(1, BAG, vec![placed]);
    control.send(&ToDataPlane::Fetch {
        jobs: vec![job_from(1, &data, &[source.addr])],
    });
    let (failures, fetched) = fetch_outcome(&mut control);
    assert!(!fetched);
    assert!(
        failures
            .iter()
            .any(|f| f.contains("private or special address")),
        "{failures:?}"
    );
}

/// A stand-in storage node that answers every request with `response` (head and body as given)
/// and counts the connections it accepted.
struct LyingPeer {
    addr: SocketAddr,
    connections: Arc<std::sync::atomic::AtomicUsize>,
}

impl LyingPeer {
    fn start(response: Vec<u8>, hold: Duration) -> LyingPeer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = connections.clone();
        let response = Arc::new(response);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                count.fetch_add(1, Ordering::Relaxed);
                let response = response.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    let _ = std::io::Read::read(&mut conn, &mut buf);
                    let _ = conn.write_all(&response);
                    std::thread::sleep(hold);
                });
            }
        });
        LyingPeer { addr, connections }
    }

    fn source(&self) -> Source {
        Source {
            endpoint: format!("http://{}/", self.addr),
            addrs: vec![self.addr],
        }
    }
}

#[test]
fn a_peer_cannot_choose_what_the_distributor_proxies() {
    // Defect 16: the proxy relayed the peer's status, type and length as the peer sent them.
    let data = bytes(3 << 20, 12);
    let mut html = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n",
        data.len()
    )
    .into_bytes();
    html.extend_from_slice(&data);
    let typed = LyingPeer::start(html, Duration::ZERO);
    let mut longer = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: {}\r\n\r\n",
        data.len() + 100
    )
    .into_bytes();
    longer.extend_from_slice(&data);
    longer.extend_from_slice(&[0u8; 100]);
    let long = LyingPeer::start(longer, Duration::ZERO);
    let wrong_status = LyingPeer::start(
        b"HTTP/1.1 302 Found\r\nLocation: http://x/\r\nContent-Length: 0\r\n\r\n".to_vec(),
        Duration::ZERO,
    );
    let dir = tempfile::tempdir().unwrap();
    // Objects over 1 MiB are proxied, never cached.
    let extra = ["--max-cached-item-mib", "1"];
    let (d, _control) = crate::distributor::distributor_from(
        &dir.path().join("d"),
        &[(1, &data)],
        &[],
        vec![wrong_status.source(), long.source(), typed.source()],
        &extra,
    );
    let r = d.get("/api/v1/assets/1", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some("application/octet-stream"));
    assert_eq!(r.header("X-Content-Type-Options"), Some("nosniff"));
    assert_eq!(r.header("X-Data-Source"), Some("external"));
    assert!(r.body == data);
    assert!(
        wrong_status.connections.load(Ordering::Relaxed) >= 1
            && long.connections.load(Ordering::Relaxed) >= 1,
        "the redirecting and the over-long peers were asked and skipped"
    );
    // A range the distributor resolves itself: no source answers it exactly, nothing is relayed.
    let r = d.get("/api/v1/assets/1", &[("Range", "bytes=10-19")]);
    assert_eq!(r.status, 502);
    let r = d.get("/api/v1/assets/1", &[("Range", "bytes=99999999-")]);
    assert_eq!(r.status, 416);
}

#[test]
fn misses_beyond_the_fill_limit_wait_instead_of_starting_origin_fetches() {
    // Defect 6: every distinct miss started a fill that outlived its viewer.
    let objects: Vec<Vec<u8>> = (0..6).map(|i| bytes(256 * 1024, 20 + i)).collect();
    let slow: Vec<SlowPeer> = objects
        .iter()
        .enumerate()
        .map(|(i, o)| SlowPeer::start(i as u64 + 1, o.clone(), 1024, Duration::from_millis(50)))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let placed: Vec<(u64, &[u8])> = objects
        .iter()
        .enumerate()
        .map(|(i, o)| (i as u64 + 1, &o[..]))
        .collect();
    let sources = slow
        .iter()
        .map(|p| Source {
            endpoint: format!("http://{}/", p.addr),
            addrs: vec![p.addr],
        })
        .collect();
    let (d, _control) = crate::distributor::distributor_from(
        &dir.path().join("d"),
        &placed,
        &[],
        sources,
        &["--max-concurrent-fills", "2"],
    );
    let mut statuses = Vec::new();
    for id in 1..=6 {
        // Ask and hang up after the head.
        let mut c = d.connect();
        crate::support::send(&mut c, "GET", &format!("/api/v1/assets/{id}"), &[]);
        let mut head = [0u8; 12];
        std::io::Read::read_exact(&mut c, &mut head).unwrap();
        statuses.push(String::from_utf8_lossy(&head[9..12]).to_string());
    }
    let started = statuses.iter().filter(|s| *s == "200").count();
    let refused = statuses.iter().filter(|s| *s == "503").count();
    assert_eq!((started, refused), (2, 4), "{statuses:?}");
}

#[test]
fn viewers_joining_fills_always_get_the_object() {
    // Defect 19: a request that saw its fill end looked at the catalog before the publish
    // showed there, twice, and answered 503.
    let objects: Vec<Vec<u8>> = (0..12).map(|i| bytes(300_000, 40 + i)).collect();
    let files: Vec<(u64, Vec<u8>)> = objects
        .iter()
        .enumerate()
        .map(|(i, o)| (i as u64 + 1, o.clone()))
        .collect();
    let (_src_dir, src_store) = store_with(&files);
    let source = Server::start(&src_store, &[]);
    let dir = tempfile::tempdir().unwrap();
    let placed: Vec<(u64, &[u8])> = files.iter().map(|(i, o)| (*i, &o[..])).collect();
    let (d, _control) = crate::distributor::distributor_from(
        &dir.path().join("d"),
        &placed,
        &[],
        vec![Source {
            endpoint: format!("http://{}/", source.addr),
            addrs: vec![source.addr],
        }],
        &[],
    );
    let addr = d.addr;
    let objects = Arc::new(objects);
    let clients: Vec<_> = (0..16)
        .map(|c| {
            let objects = objects.clone();
            std::thread::spawn(move || {
                let mut bad = Vec::new();
                for round in 0..12 {
                    let id = (c + round) % 12 + 1;
                    let mut conn = std::net::TcpStream::connect(addr).unwrap();
                    conn.set_read_timeout(Some(Duration::from_secs(20)))
                        .unwrap();
                    crate::support::send(&mut conn, "GET", &format!("/api/v1/assets/{id}"), &[]);
                    let r = read_response(&mut conn, false);
                    if r.status != 200 || r.body != objects[id - 1] {
                        bad.push((id, r.status));
                    }
                }
                bad
            })
        })
        .collect();
    let bad: Vec<_> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    assert!(bad.is_empty(), "{bad:?}");
}

#[test]
fn floods_of_pipelined_requests_ranges_and_contradictory_lengths_stay_bounded() {
    let object = bytes(64 * 1024, 13);
    let (_dir, store) = store_with(&[(1, object.clone()), (2, b"hello".to_vec())]);
    // One shard: the flood and the legitimate client share it.
    let mut server = Server::start(&store, &["--shards", "1", "--send-timeout-secs", "2"]);
    let before = rss(&server);
    // 20,000 pipelined requests on one connection that never reads an answer.
    let mut flood = server.connect();
    let one = "GET /api/v1/files/1 HTTP/1.1\r\nHost: x\r\n\r\n".repeat(1000);
    let writer = {
        let mut w = flood.try_clone().unwrap();
        w.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
        std::thread::spawn(move || {
            for _ in 0..20 {
                if w.write_all(one.as_bytes()).is_err() {
                    break;
                }
            }
        })
    };
    // Range storms: many ranges, reversed, overflowing, on fresh connections.
    for range in [
        "bytes=0-0,1-1,2-2,3-3,4-4,5-5,6-6,7-7,8-8,9-9",
        "bytes=9-1",
        "bytes=18446744073709551615-",
        "bytes=-18446744073709551615",
        "bytes=0-18446744073709551615",
    ] {
        let r = server.get("/api/v1/files/1", &[("Range", range)]);
        assert!(matches!(r.status, 200 | 206 | 416), "{range}: {}", r.status);
    }
    // Contradictory and oversized lengths.
    for extra in [
        "Content-Length: 5\r\nContent-Length: 6\r\n",
        "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
        "Content-Length: -1\r\n",
        "Content-Length: 99999999999999999999999\r\n",
    ] {
        let mut c = server.connect();
        c.write_all(format!("POST /api/v1/files HTTP/1.1\r\nHost: x\r\n{extra}\r\n").as_bytes())
            .unwrap();
        let r = read_response(&mut c, false);
        assert!(
            matches!(r.status, 400 | 411 | 413 | 415),
            "{extra:?}: {}",
            r.status
        );
    }
    // The legitimate client on the same shard is served at once.
    let t = Instant::now();
    assert_eq!(server.get("/api/v1/files/2", &[]).body, b"hello");
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "waited {:?}",
        t.elapsed()
    );
    // The flood's connection is dropped for not reading (what the kernel buffered for it is
    // still readable, then the end); memory never followed it.
    std::thread::sleep(Duration::from_secs(4));
    flood
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut sink = vec![0u8; 1 << 20];
    let ended = loop {
        match std::io::Read::read(&mut flood, &mut sink) {
            Ok(0) => break true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => break false,
        }
    };
    assert!(ended, "the non-reading client's connection stayed open");
    writer.join().unwrap();
    assert!(
        rss(&server) < before + (16 << 20),
        "RSS grew from {before} to {}",
        rss(&server)
    );
    assert!(alive(&mut server));
}

#[test]
fn peers_answering_slices_with_garbage_or_a_wrong_length_are_caught_before_a_byte_is_kept() {
    use hecaton_shared::bao::{self, slice};
    use hecaton_shared::socket::AttemptFailure;
    let data = bytes(3 << 20, 21);
    let size = data.len() as u64;
    let len = slice::slice_len(size, 0..bao::groups(size)).unwrap();
    let head = |declared: u64| {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {declared}\r\n\r\n",
            slice::CONTENT_TYPE
        )
    };
    // The slice's length and type, and bytes that are not it.
    let mut garbage = head(len).into_bytes();
    garbage.extend(std::iter::repeat_n(7u8, len as usize));
    let garbage = LyingPeer::start(garbage, Duration::ZERO);
    // A length that is not the slice's (more than the object).
    let longer = LyingPeer::start(head(len * 2).into_bytes(), Duration::ZERO);
    let (_d, good_store) = store_with(&[(7, data.clone())]);
    let good = Server::start(&good_store, &[]);
    let good_source = Source {
        endpoint: format!("http://{}/", good.addr),
        addrs: vec![good.addr],
    };
    let dir = tempfile::tempdir().unwrap();
    let (f, mut control) = crate::replication::fetcher(dir.path(), 7, &data, &[]);
    let sources = vec![garbage.source(), longer.source(), good_source.clone()];
    control.send(&ToDataPlane::Fetch {
        jobs: vec![crate::replication::job(7, &data, sources.clone())],
    });
    let seen = crate::replication::reports_until(&mut control, |r| {
        matches!(r, Report::Fetched { .. } | Report::FetchFailed { .. })
    });
    let failures = crate::replication::attempt_failures(&seen);
    assert_eq!(
        failures,
        vec![
            (sources[0].endpoint.clone(), AttemptFailure::Corrupt),
            (sources[1].endpoint.clone(), AttemptFailure::BadResponse),
        ],
        "{seen:?}"
    );
    match seen.last() {
        Some(Report::Fetched {
            source,
            bytes: got,
            resumed_from,
            ..
        }) => {
            assert_eq!(source, &good_source.endpoint);
            assert_eq!(
                (*resumed_from, *got),
                (0, size),
                "nothing kept from the liars"
            );
        }
        other => panic!("expected Fetched, got {other:?}"),
    }
    assert!(f.get("/api/v1/files/7", &[]).body == data);
}
