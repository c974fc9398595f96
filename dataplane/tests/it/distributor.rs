//! A distributor data plane (`--role distributor`) in front of real storage data planes, with
//! a stand-in control plane handing it placement and sources: misses fetched once however many
//! clients ask, ranges while a fetch runs, bad bytes never cached, 404 and 421, the byte budget,
//! and a restart that keeps the cache.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use hecaton_shared::socket::{
    BagPlacement, DataPlaneMetrics, FromDataPlane, Globals, Report, Role, Source, ToDataPlane,
};
use hecaton_shared::DataObjectId;

use crate::control::{object, FakeControl};
use crate::slow_peer::SlowPeer;
use crate::support::{bytes, read_response, send, store_with, Server};

const BAG: &str = "dynamic:channel:4";

fn source(server: &Server) -> Source {
    Source {
        endpoint: format!("http://{}/", server.addr),
        addrs: vec![server.addr],
    }
}

/// A distributor data plane with placement listing `objects` (all accepted) in one bag stored
/// by `peers`, `also` existing elsewhere on chain.
fn distributor(
    store: &Path,
    objects: &[(u64, &[u8])],
    also: &[u64],
    peers: &[&Server],
    extra: &[&str],
) -> (Server, FakeControl) {
    let sources: Vec<Source> = peers.iter().map(|p| source(p)).collect();
    distributor_from(store, objects, also, sources, extra)
}

/// [`distributor`] with its sources given as they are (stand-in peers).
pub(crate) fn distributor_from(
    store: &Path,
    objects: &[(u64, &[u8])],
    also: &[u64],
    sources: Vec<Source>,
    extra: &[&str],
) -> (Server, FakeControl) {
    let mut args = vec!["--role", "distributor", "--shards", "2"];
    args.extend_from_slice(extra);
    let server = Server::start_role(store, &args);
    let mut control = FakeControl::connect_as(&store.join("control.sock"), Role::Distributor);
    let placed = objects
        .iter()
        .map(|(id, data)| {
            let mut o = object(*id, data);
            o.accepted = true;
            o
        })
        .collect();
    let existing = objects
        .iter()
        .map(|(id, _)| DataObjectId(*id))
        .chain(also.iter().map(|id| DataObjectId(*id)))
        .collect();
    control.send(&ToDataPlane::SnapshotBegin {
        block: 1,
        globals: Globals::default(),
        existing: Some(existing),
    });
    control.send(&ToDataPlane::SnapshotBags {
        block: 1,
        bags: vec![BagPlacement {
            bag: BAG.parse().unwrap(),
            buckets: vec![],
            peers: sources.iter().map(|s| s.endpoint.clone()).collect(),
            objects: placed,
        }],
    });
    // Before the snapshot's end: its acknowledgement then says the sources are in place too.
    control.send(&ToDataPlane::Sources { sources });
    control.send(&ToDataPlane::SnapshotEnd { block: 1 });
    control.applied(1);
    (server, control)
}

/// GETs `path` until it is a cache hit (a fill just done is published a moment after its
/// clients got their last byte).
fn until_hit(d: &Server, path: &str) -> crate::support::Response {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = d.get(path, &[]);
        if r.header("X-Cache") == Some("hit") {
            return r;
        }
        assert!(Instant::now() < deadline, "{path} never became a hit");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The storage data plane's object reads (plain and as slices), from its metrics report.
fn origin_gets(control: &mut FakeControl) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let FromDataPlane::Report(Report::Metrics(m)) = control.recv() {
            return files_get_2xx(&m);
        }
    }
    panic!("no metrics report");
}

fn files_get_2xx(m: &DataPlaneMetrics) -> u64 {
    m.routes
        .iter()
        .filter(|r| r.route == "files_get" || r.route == "slices")
        .map(|r| r.responses[0])
        .sum()
}

#[test]
fn a_miss_is_fetched_once_for_many_clients_then_served_as_a_verified_hit() {
    let data = bytes(8 << 20, 1);
    let (_d, storage) = store_with(&[(3, data.clone())]);
    // The storage node sends slowly enough that every client arrives during the fetch.
    let origin = Server::start(&storage, &[]);
    let mut origin_control = FakeControl::connect(&storage.join("control.sock"));
    origin_control.place_bag(1, BAG, vec![]);
    let dir = tempfile::tempdir().unwrap();
    let (d, _control) = distributor(
        &dir.path().join("cache"),
        &[(3, &data)],
        &[],
        &[&origin],
        &[],
    );
    let clients: Vec<_> = (0..12)
        .map(|i| {
            let addr = d.addr;
            std::thread::spawn(move || {
                let mut c = std::net::TcpStream::connect(addr).unwrap();
                c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                // Half ask for the whole object, half for a range inside it.
                let range = if i % 2 == 0 {
                    None
                } else {
                    Some(("Range", "bytes=1000-2999"))
                };
                send(
                    &mut c,
                    "GET",
                    "/api/v1/assets/3",
                    &range.into_iter().collect::<Vec<_>>(),
                );
                read_response(&mut c, false)
            })
        })
        .collect();
    for (i, c) in clients.into_iter().enumerate() {
        let r = c.join().unwrap();
        if i % 2 == 0 {
            assert_eq!(r.status, 200);
            assert!(r.body == data, "client {i}: whole object differs");
        } else {
            assert_eq!(r.status, 206);
            assert_eq!(r.header("Content-Range"), Some("bytes 1000-2999/8388608"));
            assert!(
                r.body == data[1000..3000],
                "client {i}: range differs (exact bytes)"
            );
        }
        let cache = r.header("X-Cache").unwrap();
        assert!(["miss", "pending", "hit"].contains(&cache), "{cache}");
    }
    let hit = until_hit(&d, "/api/v1/assets/3");
    assert_eq!(hit.status, 200);
    assert_eq!(hit.header("X-Data-Source"), Some("local"));
    assert_eq!(
        hit.header("Cache-Control"),
        Some("public, max-age=31536000")
    );
    assert_eq!(hit.header("Timing-Allow-Origin"), Some("*"));
    assert!(hit.body == data);
    assert_eq!(
        origin_gets(&mut origin_control),
        1,
        "one fetch from the storage node"
    );
}

#[test]
fn a_lying_source_is_caught_at_its_forged_group_and_the_viewer_gets_only_the_truth() {
    let data = bytes(2 << 20, 2);
    let (_d1, bad_store) = store_with(&[(5, data.clone())]);
    let (_d2, good_store) = store_with(&[(5, data.clone())]);
    let mut rotten = data.clone();
    rotten[1 << 20] ^= 1;
    std::fs::write(bad_store.join("objects/5"), &rotten).unwrap();
    // A liar: its own scrub would find the bad copy and stop serving it.
    let bad = Server::start(&bad_store, &["--scrub-mib-per-sec", "0"]);
    let good = Server::start(&good_store, &[]);
    let dir = tempfile::tempdir().unwrap();
    let (d, mut control) = distributor(
        &dir.path().join("cache"),
        &[(5, &data)],
        &[],
        &[&bad, &good],
        &[],
    );
    // The first client streams from the fill, which the liar's slice feeds until its forged
    // group, the good source after: every byte it gets is proven, and it gets them all.
    let mut c = d.connect();
    send(
        &mut c,
        "GET",
        "/api/v1/assets/5",
        &[("Connection", "close")],
    );
    let mut got = Vec::new();
    let _ = c.read_to_end(&mut got);
    let head_end = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(
        got[head_end..] == data[..],
        "the viewer got the object's bytes, whole"
    );
    // The source is blamed to the control plane.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut blamed = false;
    while Instant::now() < deadline && !blamed {
        if let FromDataPlane::Report(Report::FetchAttemptFailed { source, .. }) = control.recv() {
            blamed = source == format!("http://{}/", bad.addr);
        }
    }
    assert!(blamed, "the corrupt source was reported");
    // Fetched again from the good source and cached.
    let r = until_hit(&d, "/api/v1/assets/5");
    assert!(r.body == data, "the cached copy is the right one");
}

#[test]
fn a_range_far_ahead_of_a_fill_from_a_liar_gets_only_proven_bytes() {
    let data = bytes(8 << 20, 9);
    let forged_at = (7 << 20) + 100;
    let (_d1, bad_store) = store_with(&[(5, data.clone())]);
    let (_d2, good_store) = store_with(&[(5, data.clone())]);
    let mut rotten = data.clone();
    rotten[forged_at] ^= 1;
    std::fs::write(bad_store.join("objects/5"), &rotten).unwrap();
    let bad = Server::start(&bad_store, &["--scrub-mib-per-sec", "0"]);
    let good = Server::start(&good_store, &[]);
    let dir = tempfile::tempdir().unwrap();
    let (d, _control) = distributor(
        &dir.path().join("cache"),
        &[(5, &data)],
        &[],
        &[&bad, &good],
        &[],
    );
    // A seek far past what the fill it starts has: relayed from the liar as a slice, cut at
    // the forged group; or, had the fill got there first, from the fill's proven bytes.
    // Either way not one byte that is not the object's.
    let (first, last) = (6_900_000usize, 7_400_000usize);
    let mut c = d.connect();
    send(
        &mut c,
        "GET",
        "/api/v1/assets/5",
        &[
            ("Range", &format!("bytes={first}-{last}")),
            ("Connection", "close"),
        ],
    );
    let mut got = Vec::new();
    let _ = c.read_to_end(&mut got);
    let head_end = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&got[..head_end]).to_string();
    assert!(head.starts_with("HTTP/1.1 206"), "{head}");
    let body = &got[head_end..];
    assert!(
        body == &data[first..first + body.len()],
        "every byte relayed is the object's ({} bytes, {head})",
        body.len()
    );
    if head.contains("external") {
        let group_start = forged_at / 16384 * 16384;
        assert_eq!(body.len(), group_start - first, "cut at the forged group");
    }
    // The object itself is filled from proven groups and cached.
    let r = until_hit(&d, "/api/v1/assets/5");
    assert!(r.body == data);
}

#[test]
fn statuses_budget_and_restart() {
    let objects: Vec<(u64, Vec<u8>)> = (10..16).map(|i| (i, bytes(300_000, i))).collect();
    let (_d, storage) = store_with(&objects);
    let origin = Server::start(&storage, &[]);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let refs: Vec<(u64, &[u8])> = objects.iter().map(|(i, b)| (*i, &b[..])).collect();
    let extra = ["--cache-mib", "1", "--memory-tier-mib", "0"];
    let (d, _control) = distributor(&cache, &refs, &[99], &[&origin], &extra);
    // Not on chain: 404; on chain in another bag: 421; malformed: 400.
    assert_eq!(d.get("/api/v1/assets/1234", &[]).status, 404);
    let misdirected = d.get("/api/v1/assets/99", &[]);
    assert_eq!(misdirected.status, 421);
    assert_eq!(
        misdirected.json()["message"],
        "Data object not served by this node"
    );
    assert_eq!(d.get("/api/v1/assets/x1", &[]).status, 400);
    // HEAD of a miss says so without fetching.
    let head = d.request("HEAD", "/api/v1/assets/10", &[]);
    assert_eq!((head.status, head.header("X-Cache")), (200, Some("miss")));
    assert_eq!(head.header("Content-Length"), Some("300000"));
    // Six objects of 300 KB through a 1 MiB cache: every one served, the budget kept.
    for (id, data) in &objects {
        let r = d.get(&format!("/api/v1/assets/{id}"), &[]);
        assert_eq!(r.status, 200);
        assert!(r.body == *data, "object {id}");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let held = loop {
        let s = d.get("/api/v1/status", &[]).json();
        let used = s["storageUsed"].as_u64().unwrap();
        if used <= 1 << 20 && s["downloadsInProgress"] == 0 {
            break s["objectsInCache"].as_u64().unwrap();
        }
        assert!(Instant::now() < deadline, "over budget: {s}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!((1..=3).contains(&held), "{held} objects of 300 KB in 1 MiB");
    let cached: Vec<u64> = objects
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| {
            let r = d.request("HEAD", &format!("/api/v1/assets/{id}"), &[]);
            r.header("X-Cache") == Some("hit")
        })
        .collect();
    assert!(!cached.is_empty());
    drop(d);
    // A restart keeps what was cached, whatever the state file says.
    std::fs::write(cache.join("cache-state.json"), b"{ damaged").unwrap();
    let (d, _control) = distributor(&cache, &refs, &[99], &[&origin], &extra);
    for id in &cached {
        let r = d.request("HEAD", &format!("/api/v1/assets/{id}"), &[]);
        assert_eq!(
            r.header("X-Cache"),
            Some("hit"),
            "object {id} survived the restart"
        );
    }
    // Argus's bucket list and status shapes.
    assert!(d.get("/api/v1/buckets", &[]).json()["bucketIds"].is_array());
    let status = d.get("/api/v1/status", &[]).json();
    assert_eq!(status["storageLimit"], 1 << 20);
    let mut c = d.connect();
    c.write_all(b"OPTIONS /api/v1/assets/10 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut c, true).status, 204);
}

fn slow_source(peer: &SlowPeer) -> Source {
    Source {
        endpoint: format!("http://{}/", peer.addr),
        addrs: vec![peer.addr],
    }
}

/// A distributor whose only source for object 6 is `first`, then `second`.
fn distributor_with_sources(
    store: &Path,
    data: &[u8],
    sources: Vec<Source>,
) -> (Server, FakeControl) {
    let server = Server::start_role(store, &["--role", "distributor", "--shards", "2"]);
    let mut control = FakeControl::connect_as(&store.join("control.sock"), Role::Distributor);
    let mut placed = object(6, data);
    placed.accepted = true;
    control.send(&ToDataPlane::SnapshotBegin {
        block: 1,
        globals: Globals::default(),
        existing: Some([DataObjectId(6)].into_iter().collect()),
    });
    control.send(&ToDataPlane::SnapshotBags {
        block: 1,
        bags: vec![BagPlacement {
            bag: BAG.parse().unwrap(),
            buckets: vec![],
            peers: sources.iter().map(|s| s.endpoint.clone()).collect(),
            objects: vec![placed],
        }],
    });
    control.send(&ToDataPlane::Sources { sources });
    control.send(&ToDataPlane::SnapshotEnd { block: 1 });
    control.applied(1);
    (server, control)
}

#[test]
fn a_source_cut_mid_transfer_is_resumed_from_the_next_and_the_client_gets_every_byte() {
    let data = bytes(4 << 20, 8);
    // 64 KiB every 10 ms: about 6 MB/s, so the cut lands mid-transfer.
    let slow = SlowPeer::start(6, data.clone(), 64 * 1024, Duration::from_millis(10));
    let (_d, storage) = store_with(&[(6, data.clone())]);
    let good = Server::start(&storage, &[]);
    let dir = tempfile::tempdir().unwrap();
    let (d, _control) = distributor_with_sources(
        &dir.path().join("cache"),
        &data,
        vec![slow_source(&slow), source(&good)],
    );
    let addr = d.addr;
    let client = std::thread::spawn(move || {
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        send(&mut c, "GET", "/api/v1/assets/6", &[]);
        read_response(&mut c, false)
    });
    std::thread::sleep(Duration::from_millis(250));
    // A range inside what has arrived is served at once, exactly.
    let early = d.get("/api/v1/assets/6", &[("Range", "bytes=1000-1999")]);
    assert_eq!(early.status, 206);
    assert_eq!(early.header("X-Cache"), Some("pending"));
    assert!(early.body == data[1000..2000]);
    // A range far ahead is fetched from a source for that client alone.
    let ahead = d.get("/api/v1/assets/6", &[("Range", "bytes=4000000-4000099")]);
    assert_eq!(ahead.status, 206);
    assert_eq!(ahead.header("X-Data-Source"), Some("external"));
    assert!(ahead.body == data[4_000_000..4_000_100]);
    slow.kill();
    let r = client.join().unwrap();
    assert_eq!(r.status, 200);
    assert!(
        r.body == data,
        "the client got the whole object, right, across the cut"
    );
    let hit = until_hit(&d, "/api/v1/assets/6");
    assert!(hit.body == data);
}

/// A storage node that answers every request with the head of a verified slice of the whole
/// object (`size` bytes, named `media`) and then sends nothing, holding the connection until
/// the test ends.
fn stalling_slice_peer(size: u64, media: &'static str) -> (Source, std::net::TcpListener) {
    use hecaton_shared::bao::slice;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepting = listener.try_clone().unwrap();
    let len = slice::slice_len(size, slice::groups_of(size, 0, None).unwrap()).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in accepting.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut request = [0u8; 4096];
            let _ = conn.read(&mut request);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {len}\r\n\
                 X-Object-Content-Type: {media}\r\nX-Object-Size: {size}\r\n\r\n",
                slice::CONTENT_TYPE
            );
            let _ = conn.write_all(head.as_bytes());
            held.push(conn);
        }
    });
    let source = Source {
        endpoint: format!("http://{addr}/"),
        addrs: vec![addr],
    };
    (source, listener)
}

#[test]
fn a_miss_answers_its_head_when_the_storage_nodes_slice_head_arrives_before_any_byte() {
    let data = bytes(1 << 20, 9);
    let (stalling, _listener) = stalling_slice_peer(data.len() as u64, "video/mp4");
    let dir = tempfile::tempdir().unwrap();
    let (d, _control) = distributor_with_sources(&dir.path().join("cache"), &data, vec![stalling]);
    let mut c = std::net::TcpStream::connect(d.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    send(&mut c, "GET", "/api/v1/assets/6", &[]);
    // The viewer learns the status, length and type while no byte of the object has come.
    let r = crate::support::try_read_response(&mut c, true)
        .expect("the response head, before any byte of the object arrived");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("X-Cache"), Some("miss"));
    assert_eq!(r.header("Content-Type"), Some("video/mp4"));
    assert_eq!(r.header("X-Content-Type-Options"), Some("nosniff"));
    let len = data.len().to_string();
    assert_eq!(r.header("Content-Length"), Some(len.as_str()));
    // And no body byte: none was proven.
    let mut byte = [0u8; 1];
    c.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    assert!(
        !matches!(c.read(&mut byte), Ok(1)),
        "no byte of the object is sent before it arrives and is proven"
    );
}
