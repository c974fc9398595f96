//! `GET /api/v1/slices/{id}?ranges=`: ranges of stored objects answered as verified slices,
//! checked here with the shared verifier as a fetching peer checks them; and the limit on
//! proofs and slices a shard answers at once.

use std::time::Duration;

use hecaton_shared::bao::{self, slice};
use hecaton_shared::ContentId;

use crate::support::*;

/// Checks a slice answer against the object: every group proven, the bytes the object's.
fn check(r: &Response, data: &[u8], first: u64, last: Option<u64>) {
    let size = data.len() as u64;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.hecaton.blake3-slice")
    );
    let groups = slice::groups_of(size, first, last).unwrap();
    assert_eq!(
        r.header("x-slice-groups"),
        Some(format!("{}-{}", groups.start, groups.end).as_str())
    );
    assert_eq!(r.header("x-object-size"), Some(size.to_string().as_str()));
    let root = *ContentId::of(data).digest();
    let mut v = slice::SliceVerifier::new(&root, size, groups.clone()).unwrap();
    let (mut at, mut next) = (0, groups.start);
    while let Some(n) = v.next_len() {
        let item = &r.body[at..at + n];
        if let Some(k) = v.accept(item).unwrap() {
            assert_eq!(k, next);
            let range = bao::group_range(size, k);
            assert!(item == &data[range.start as usize..range.end as usize]);
            next += 1;
        }
        at += n;
    }
    assert!(v.is_complete() && at == r.body.len() && next == groups.end);
}

#[test]
fn ranges_of_objects_large_and_small_come_as_slices_that_verify() {
    let big = bytes((3 << 20) + 77, 1);
    let small = bytes(100_000, 2);
    let (_dir, store) = store_with(&[(1, big.clone()), (2, small.clone()), (3, Vec::new())]);
    let server = Server::start(&store, &["--scrub-mib-per-sec", "0"]);
    for (first, last) in [
        (0, None),
        (1 << 20, None),
        (5, Some(5)),
        (16_383, Some(16_384)),
        (2_000_000, Some(2_100_000)),
        ((3 << 20) + 76, None),
    ] {
        let q = last.map_or(format!("{first}-"), |l| format!("{first}-{l}"));
        let r = server.get(&format!("/api/v1/slices/1?ranges={q}"), &[]);
        check(&r, &big, first, last);
    }
    // A small object's tree is rebuilt from its bytes; an empty object is one empty group.
    check(
        &server.get("/api/v1/slices/2?ranges=20000-", &[]),
        &small,
        20_000,
        None,
    );
    check(&server.get("/api/v1/slices/3?ranges=0-", &[]), &[], 0, None);
    // HEAD: the same head, no body.
    let mut c = server.connect();
    send(&mut c, "HEAD", "/api/v1/slices/1?ranges=0-", &[]);
    let head = read_response(&mut c, true);
    assert_eq!(head.status, 200);
    let len = slice::slice_len(big.len() as u64, 0..bao::groups(big.len() as u64)).unwrap();
    assert_eq!(
        head.header("content-length"),
        Some(len.to_string().as_str())
    );

    let past = server.get("/api/v1/slices/1?ranges=3145805-", &[]);
    assert_eq!(past.status, 416);
    assert_eq!(past.header("x-object-size"), Some("3145805"));
    for bad in [
        "/api/v1/slices/1",
        "/api/v1/slices/1?ranges=5-2",
        "/api/v1/slices/1?ranges=0-1,5-6",
        "/api/v1/slices/x?ranges=0-",
    ] {
        assert_eq!(server.get(bad, &[]).status, 400, "{bad}");
    }
    assert_eq!(server.get("/api/v1/slices/9?ranges=0-", &[]).status, 404);
    // Without its tree a large object has no slices yet (a peer then asks for plain bytes).
    std::fs::remove_file(store.join("outboards/1")).unwrap();
    let r = server.get("/api/v1/slices/1?ranges=0-", &[]);
    assert_eq!(r.status, 503);
    assert!(r.header("retry-after").is_some());
}

#[test]
fn slices_beyond_the_shards_limit_are_answered_503_and_do_not_hold_up_proofs() {
    let big = bytes(16 << 20, 3);
    let (_dir, store) = store_with(&[(1, big.clone())]);
    let server = Server::start(
        &store,
        &[
            "--scrub-mib-per-sec",
            "0",
            "--shards",
            "1",
            "--max-slices-per-shard",
            "1",
        ],
    );
    // A client asks for a whole slice and does not read it: the shard's one place is taken
    // while the send waits on the client.
    let mut hog = server.connect();
    send(&mut hog, "GET", "/api/v1/slices/1?ranges=0-", &[]);
    std::thread::sleep(Duration::from_millis(300));
    let r = server.get("/api/v1/slices/1?ranges=0-10", &[]);
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after"), Some("1"));
    // Proofs have their own places, plain reads none.
    assert_eq!(server.get("/api/v1/proofs/1?chunk=3", &[]).status, 200);
    let range = server.get("/api/v1/files/1", &[("Range", "bytes=0-9")]);
    assert_eq!(range.status, 206);
    // Once the slice is read whole, the place is free again.
    hog.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let whole = read_response(&mut hog, false);
    check(&whole, &big, 0, None);
    drop(hog);
    // (The slice's task lets its place go just after its last write.)
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut status = 0;
    while status != 200 && std::time::Instant::now() < deadline {
        status = server.get("/api/v1/slices/1?ranges=0-10", &[]).status;
    }
    assert_eq!(status, 200);
}

#[test]
fn a_flood_of_proofs_beyond_the_shards_limit_is_answered_503_and_the_node_stays_up() {
    // Objects of 1 MiB: each proof rebuilds the tree from the object's bytes.
    let files: Vec<(u64, Vec<u8>)> = (1..=4).map(|id| (id, bytes(1 << 20, id))).collect();
    let (_dir, store) = store_with(&files);
    let server = Server::start(
        &store,
        &[
            "--scrub-mib-per-sec",
            "0",
            "--shards",
            "1",
            "--max-proofs-per-shard",
            "2",
        ],
    );
    let addr = server.addr;
    let mut statuses = Vec::new();
    // Rounds of 32 clients at once, until the limit shows (the first round nearly always).
    for _ in 0..5 {
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(32));
        let clients: Vec<_> = (0..32u64)
            .map(|i| {
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    let mut c = std::net::TcpStream::connect(addr).unwrap();
                    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                    barrier.wait();
                    let path = format!("/api/v1/proofs/{}?chunk={}", 1 + i % 4, i % 64);
                    send(&mut c, "GET", &path, &[]);
                    let r = read_response(&mut c, false);
                    (r.status, r.header("retry-after").map(str::to_string))
                })
            })
            .collect();
        statuses.extend(clients.into_iter().map(|c| c.join().unwrap()));
        if statuses.iter().any(|(s, _)| *s == 503) {
            break;
        }
    }
    assert!(
        statuses.iter().all(|(s, _)| *s == 200 || *s == 503),
        "{statuses:?}"
    );
    assert!(statuses.iter().any(|(s, _)| *s == 200), "{statuses:?}");
    assert!(
        statuses
            .iter()
            .any(|(s, retry)| *s == 503 && retry.as_deref() == Some("1")),
        "the limit answered some with 503 and Retry-After: {statuses:?}"
    );
    // Still serving.
    assert_eq!(server.get("/api/v1/proofs/1?chunk=0", &[]).status, 200);
    assert_eq!(server.get("/api/v1/version", &[]).status, 200);
}
