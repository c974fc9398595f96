//! `GET /api/v1/proofs/{id}?chunk=N`: every chunk of stored objects proves against the content
//! id alone (checked here with the shared verifier, as an auditor would); a missing or damaged
//! outboard, and damaged bytes, answer errors rather than proofs that fail.

use hecaton_shared::bao;
use hecaton_shared::ContentId;

use crate::support::*;

const SIZES: [(u64, usize); 5] = [(1, 5), (2, 16384), (3, 100_000), (4, (1 << 20) + 3), (5, 0)];

fn check_all(server: &Server, id: u64, data: &[u8]) {
    let size = data.len() as u64;
    let root = *ContentId::of(data).digest();
    for k in 0..bao::groups(size) {
        let r = server.get(&format!("/api/v1/proofs/{id}?chunk={k}"), &[]);
        assert_eq!(
            r.status,
            200,
            "object {id} chunk {k}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(
            r.header("content-type"),
            Some("application/vnd.hecaton.blake3-proof")
        );
        assert_eq!(r.header("x-object-size"), Some(size.to_string().as_str()));
        assert_eq!(r.header("x-proof-chunk"), Some(k.to_string().as_str()));
        let range = bao::group_range(size, k);
        let bytes = bao::verify_group(&root, size, k, &r.body)
            .unwrap_or_else(|e| panic!("object {id} chunk {k}: {e}"));
        assert_eq!(bytes, &data[range.start as usize..range.end as usize]);
    }
}

#[test]
fn every_chunk_of_every_object_proves_against_its_content_id() {
    let files: Vec<(u64, Vec<u8>)> = SIZES.iter().map(|(id, n)| (*id, bytes(*n, *id))).collect();
    let (_dir, store) = store_with(&files);
    // No scrub: it would find the damage done below before the proofs do.
    let server = Server::start(&store, &["--scrub-mib-per-sec", "0"]);
    for (id, data) in &files {
        check_all(&server, *id, data);
    }
    // Only objects of more than 1 MiB keep an outboard; the others' trees are rebuilt.
    for small in [1, 2, 3, 5] {
        assert!(!store.join(format!("outboards/{small}")).exists());
    }
    assert_eq!(
        std::fs::metadata(store.join("outboards/4")).unwrap().len(),
        bao::outboard_len((1 << 20) + 3)
    );

    let past = server.get("/api/v1/proofs/4?chunk=65", &[]);
    assert_eq!(past.status, 416);
    assert_eq!(past.header("x-object-size"), Some("1048579"));
    for bad in [
        "/api/v1/proofs/4",
        "/api/v1/proofs/4?chunk=x",
        "/api/v1/proofs/x?chunk=0",
    ] {
        assert_eq!(server.get(bad, &[]).status, 400, "{bad}");
    }
    assert_eq!(server.get("/api/v1/proofs/99?chunk=0", &[]).status, 404);
    assert_eq!(
        server
            .request("POST", "/api/v1/proofs/4?chunk=0", &[])
            .status,
        405
    );
    // HEAD: the GET's head, no body.
    let head = server.request("HEAD", "/api/v1/proofs/4?chunk=3", &[]);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
}

#[test]
fn a_missing_or_damaged_outboard_or_object_answers_an_error_not_a_bad_proof() {
    // Larger than 1 MiB: each keeps an outboard.
    let data3 = bytes(1_100_000, 3);
    let data4 = bytes(1_500_000, 4);
    let data6 = bytes(1_200_000, 6);
    let data7 = bytes(50_000, 7);
    let files = vec![
        (3, data3),
        (4, data4.clone()),
        (6, data6),
        (7, data7.clone()),
    ];
    let (_dir, store) = store_with(&files);
    // No scrub: it would find the damage done below before the proofs do.
    let server = Server::start(&store, &["--scrub-mib-per-sec", "0"]);
    check_all(&server, 4, &data4);

    // Gone (an object stored before outboards, or lost in a crash): try again later.
    std::fs::remove_file(store.join("outboards/3")).unwrap();
    let r = server.get("/api/v1/proofs/3?chunk=1", &[]);
    assert_eq!(r.status, 503);
    assert!(r.header("retry-after").is_some());

    // Cut short: the same.
    let ob6 = store.join("outboards/6");
    let len = std::fs::metadata(&ob6).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&ob6)
        .unwrap()
        .set_len(len - 64)
        .unwrap();
    assert_eq!(server.get("/api/v1/proofs/6?chunk=0", &[]).status, 503);

    // A pair changed: refused, never a proof that fails.
    let ob4 = store.join("outboards/4");
    let mut pairs = std::fs::read(&ob4).unwrap();
    let last = pairs.len() - 1;
    pairs[last] ^= 1; // the root's right half: on the path of every chunk in the right subtree
    std::fs::write(&ob4, &pairs).unwrap();
    assert_eq!(server.get("/api/v1/proofs/4?chunk=80", &[]).status, 500);
    assert_eq!(server.get("/api/v1/proofs/4?chunk=3", &[]).status, 500);
    pairs[last] ^= 1;
    std::fs::write(&ob4, &pairs).unwrap();
    check_all(&server, 4, &data4);

    // A byte of the object flipped on disk: that chunk is refused, the others still prove.
    let object = store.join("objects/4");
    let mut stored = std::fs::read(&object).unwrap();
    stored[5 * 16384 + 10] ^= 0x80;
    std::fs::write(&object, &stored).unwrap();
    assert_eq!(server.get("/api/v1/proofs/4?chunk=5", &[]).status, 500);
    assert_eq!(server.get("/api/v1/proofs/4?chunk=6", &[]).status, 200);

    // A file deleted under a running node: its proofs fail at once, though an open descriptor
    // (the shard's open files, from the GET) still reads the bytes.
    assert!(server.get("/api/v1/files/7", &[]).body == data7);
    std::fs::remove_file(store.join("objects/7")).unwrap();
    assert_eq!(server.get("/api/v1/proofs/7?chunk=0", &[]).status, 404);
}

/// The scrub (fast here): an object without its outboard gets one back; a byte flipped on disk
/// makes the object set aside (moved into `quarantine/`) and removed, so it is no longer served;
/// the metrics report both.
#[test]
fn the_scrub_rebuilds_outboards_and_sets_corrupt_objects_aside() {
    let data1 = bytes(1_100_000, 1);
    let data2 = bytes(70_000, 2);
    let (_dir, store) = store_with(&[(1, data1.clone()), (2, data2)]);
    std::fs::remove_file(store.join("outboards/1")).unwrap();
    let server = Server::start(
        &store,
        &["--scrub-mib-per-sec", "64", "--scrub-pass-hours", "0"],
    );
    let mut control = crate::control::FakeControl::connect(&store.join("control.sock"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut wait_for =
        |what: &str, done: &dyn Fn(&hecaton_shared::socket::ScrubCounters) -> bool| loop {
            use hecaton_shared::socket::{FromDataPlane, Report};
            if let FromDataPlane::Report(Report::Metrics(m)) = control.recv() {
                if done(&m.scrub) {
                    return m.scrub.clone();
                }
            }
            assert!(std::time::Instant::now() < deadline, "{what}");
        };
    let s = wait_for("a pass", &|s| s.passes >= 1);
    assert!(s.enabled);
    assert_eq!(s.outboards_written, 1, "{s:?}");
    assert_eq!(s.corrupt, 0);
    check_all(&server, 1, &data1);

    let path = store.join("objects/2");
    let mut stored = std::fs::read(&path).unwrap();
    stored[40_000] ^= 1;
    std::fs::write(&path, &stored).unwrap();
    let s = wait_for("the corruption found", &|s| s.corrupt >= 1);
    assert_eq!(s.corrupt, 1);
    // Removed by the writer: no longer served.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while server.get("/api/v1/files/2", &[]).status != 404 {
        assert!(std::time::Instant::now() < deadline, "still served");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!path.exists());
    let aside: Vec<_> = std::fs::read_dir(store.join("quarantine"))
        .unwrap()
        .collect();
    assert_eq!(aside.len(), 1);
    assert_eq!(
        server.get("/api/v1/files/1", &[]).status,
        200,
        "the other object stays"
    );
}
