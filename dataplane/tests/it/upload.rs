//! Uploads (`POST /api/v1/files`) against placement pushed by a stand-in control plane: success,
//! every refusal with its status and text, aborted bodies, and the control session itself.

use std::io::{Read, Write};
use std::path::Path;

use hecaton_shared::socket::{
    encode, BagPlacement, Change, FromDataPlane, Globals, HeldObject, StoredObject,
    PROTOCOL_VERSION,
};
use hecaton_shared::{ContentId, DataObjectId, StorageBucketId};

use crate::control::{buckets, object, FakeControl};
use crate::support::{bytes, read_response, Response, Server};

const BOUNDARY: &str = "hecatonTestBoundary";
const CHANNEL: &str = "dynamic:channel:1";

fn multipart(file: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"clip.mp4\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn query(id: u64, bucket: u64, bag: &str) -> String {
    format!("/api/v1/files?dataObjectId={id}&storageBucketId={bucket}&bagId={bag}")
}

/// The head of a multipart POST as curl sends it, with `extra` header lines (each ending CRLF).
fn post_head(path: &str, len: usize, extra: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n\
         Content-Length: {len}\r\n{extra}\r\n"
    )
}

/// Sends a POST as curl would (Content-Length, multipart content type) and reads the answer.
fn post(server: &Server, path: &str, body: &[u8], extra: &str) -> Response {
    let mut c = server.connect();
    c.write_all(post_head(path, body.len(), extra).as_bytes())
        .unwrap();
    let _ = c.write_all(body);
    read_response(&mut c, false)
}

/// As [`post`], to an address (for a thread other than the one that owns the server).
fn post_to(addr: std::net::SocketAddr, path: &str, body: &[u8]) -> Response {
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    c.write_all(post_head(path, body.len(), "").as_bytes())
        .unwrap();
    let _ = c.write_all(body);
    read_response(&mut c, false)
}

fn tmp_is_empty(store: &Path) -> bool {
    std::fs::read_dir(store.join("tmp"))
        .unwrap()
        .next()
        .is_none()
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: std::path::PathBuf,
    server: Server,
    control: FakeControl,
    video: Vec<u8>,
}

/// A node with bucket 0 (accepting) and 1 (not operated), storing the channel's bag with
/// objects 1 (the video), 2 (a thumbnail) and 3 (blacklisted content).
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    // Refusals of unknown objects come after a short wait for placement (see
    // `an_upload_waits_for_the_block_that_registers_its_object`).
    let server = Server::start(&store, &["--upload-placement-wait-ms", "300"]);
    let mut control = FakeControl::connect(&store.join("control.sock"));
    assert!(
        matches!(
            control.welcome,
            FromDataPlane::Welcome {
                applied_block: None,
                shards: 2,
                ..
            }
        ),
        "{:?}",
        control.welcome
    );
    let video = bytes(3 << 20, 1);
    let banned = bytes(100, 3);
    control.snapshot(
        10,
        Globals {
            buckets: buckets(&[0]),
            read_only_buckets: buckets(&[1]),
            uploading_blocked: false,
            blacklist: vec![ContentId::of(&banned).to_string()],
            ..Globals::default()
        },
        vec![BagPlacement {
            bag: CHANNEL.parse().unwrap(),
            buckets: buckets(&[0, 1]),
            peers: vec![],
            objects: vec![
                object(1, &video),
                object(2, &bytes(5000, 2)),
                object(3, &banned),
            ],
        }],
    );
    Fixture {
        _dir: dir,
        store,
        server,
        control,
        video,
    }
}

#[test]
fn an_upload_is_verified_published_served_at_once_and_reported() {
    let mut f = fixture();
    let r = post(&f.server, &query(1, 0, CHANNEL), &multipart(&f.video), "");
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["id"], ContentId::of(&f.video).to_string());
    // The report names the bucket and bag the upload named: the acceptor signs for them at
    // once, whether or not the chain's view has caught up.
    assert_eq!(
        f.control.stored_objects(),
        vec![StoredObject {
            id: DataObjectId(1),
            bag: Some(CHANNEL.parse().unwrap()),
            bucket: Some(StorageBucketId(0)),
        }]
    );
    let got = f.server.get("/api/v1/files/1", &[]);
    assert_eq!(got.status, 200);
    assert!(got.body == f.video, "served bytes differ from the upload");
    assert!(tmp_is_empty(&f.store));
    // Its outboard was made while it was hashed: any chunk proves against the content id.
    let size = f.video.len() as u64;
    assert_eq!(
        std::fs::metadata(f.store.join("outboards/1"))
            .unwrap()
            .len(),
        hecaton_shared::bao::outboard_len(size)
    );
    let proof = f.server.get("/api/v1/proofs/1?chunk=150", &[]);
    assert_eq!(proof.status, 200);
    let root = *ContentId::of(&f.video).digest();
    let chunk = hecaton_shared::bao::verify_group(&root, size, 150, &proof.body).unwrap();
    assert!(chunk == &f.video[150 * 16384..151 * 16384]);
    let again = post(&f.server, &query(1, 0, CHANNEL), &multipart(&f.video), "");
    assert_eq!(again.status, 400);
    assert_eq!(
        again.json()["message"],
        "Error: Data object 1 already exists (in storage)"
    );
    let listed = f.server.get("/api/v1/state/data-objects", &[]).json();
    assert_eq!(listed, serde_json::json!(["1"]));
}

#[test]
fn refusals_have_colossus_statuses_and_texts_and_leave_nothing_behind() {
    let mut f = fixture();
    let thumb = bytes(5000, 2);
    let mut wrong_hash = thumb.clone();
    wrong_hash[10] ^= 1;
    let cases: Vec<(String, Vec<u8>, u16, &str)> = vec![
        (
            "/api/v1/files?storageBucketId=0&bagId=x".into(),
            multipart(&thumb),
            400,
            "request.query should have required property 'dataObjectId'",
        ),
        (
            query(2, 9, CHANNEL),
            multipart(&thumb),
            503,
            "Error: Server is not accepting uploads into this bucket",
        ),
        (
            query(2, 0, "dynamic:nope:1"),
            multipart(&thumb),
            400,
            "Error: Invalid bagId",
        ),
        (
            query(2, 0, "static:council"),
            multipart(&thumb),
            400,
            "Error: Storage bag static:council is not assigned to storage bucket 0.",
        ),
        (
            query(2, 1, CHANNEL),
            multipart(&thumb),
            400,
            "Error: Incorrect storage bucket ID.",
        ),
        (
            query(99, 0, CHANNEL),
            multipart(&thumb),
            400,
            "Error: Data object 99 doesn't exist in storage bag dynamic:channel:1",
        ),
        (
            query(3, 0, CHANNEL),
            multipart(&bytes(100, 3)),
            400,
            "Error: Data object 3 has blacklisted content",
        ),
        (
            query(2, 0, CHANNEL),
            multipart(&thumb[..4000]),
            400,
            "Error: File size doesn't match the data object's size for data object ID = 2",
        ),
        (
            query(2, 0, CHANNEL),
            multipart(&wrong_hash),
            400,
            "Error: File multihash doesn't match the data object's ipfsContentId for data object ID = 2",
        ),
        (
            query(2, 0, CHANNEL),
            multipart(&bytes(300_000, 2)),
            413,
            "File too large",
        ),
        (
            query(2, 0, CHANNEL),
            multipart(&bytes(5001, 2)),
            413,
            "File too large",
        ),
        (
            query(2, 0, CHANNEL),
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nonly text\r\n--{BOUNDARY}--\r\n").into_bytes(),
            400,
            "Error: No file uploaded",
        ),
    ];
    for (path, body, status, message) in cases {
        let r = post(&f.server, &path, &body, "");
        let text = r.json()["message"].as_str().unwrap_or_default().to_string();
        assert_eq!(r.status, status, "{path}: {text}");
        assert!(text.starts_with(message), "{path}: {text:?} vs {message:?}");
        assert!(tmp_is_empty(&f.store), "{path}: temp file left behind");
    }
    // A large body refused before it is read: the node drains it after answering, so the client
    // (which sends it all before reading, as clients without Expect: 100-continue do) gets the
    // answer rather than a reset.
    let big = multipart(&bytes(32 << 20, 5));
    let mut c = f.server.connect();
    let head = post_head(&query(2, 9, CHANNEL), big.len(), "");
    c.write_all(head.as_bytes()).unwrap();
    c.write_all(&big)
        .expect("the whole refused body is taken, not reset");
    assert_eq!(read_response(&mut c, false).status, 503);
    // Not multipart.
    let mut c = f.server.connect();
    c.write_all(
        format!(
            "POST {} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 5000\r\n\r\n",
            query(2, 0, CHANNEL)
        )
        .as_bytes(),
    )
    .unwrap();
    let _ = c.write_all(&thumb);
    assert_eq!(read_response(&mut c, false).status, 415);
    // Uploads blocked on chain.
    f.control.delta(
        11,
        vec![Change::Globals(Globals {
            buckets: buckets(&[0]),
            read_only_buckets: vec![],
            uploading_blocked: true,
            blacklist: vec![],
            ..Globals::default()
        })],
    );
    f.control.applied(11);
    let r = post(&f.server, &query(2, 0, CHANNEL), &multipart(&thumb), "");
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["message"], "Error: Uploading is blocked on chain.");
    // Nothing was published by any of it.
    assert_eq!(f.server.get("/api/v1/files/2", &[]).status, 404);
}

#[test]
fn an_aborted_body_leaves_nothing_and_the_object_can_be_uploaded_after() {
    let mut f = fixture();
    let body = multipart(&f.video);
    {
        let mut c = f.server.connect();
        let head = post_head(&query(1, 0, CHANNEL), body.len(), "");
        c.write_all(head.as_bytes()).unwrap();
        c.write_all(&body[..body.len() / 2]).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !tmp_is_empty(&f.store) {
        assert!(
            std::time::Instant::now() < deadline,
            "temp file not removed after the client left"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(f.server.get("/api/v1/files/1", &[]).status, 404);
    // Expect: 100-continue, as curl sends for large bodies.
    let mut c = f.server.connect();
    let head = post_head(
        &query(1, 0, CHANNEL),
        body.len(),
        "Expect: 100-continue\r\n",
    );
    c.write_all(head.as_bytes()).unwrap();
    let mut interim = [0u8; 25];
    c.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    c.write_all(&body).unwrap();
    assert_eq!(read_response(&mut c, false).status, 201);
    assert_eq!(f.control.stored(), vec![DataObjectId(1)]);
}

/// A control plane of another protocol version is refused by its version, whether its hello has
/// this version's shape or version 3's (`{"type": "hello", ...}`), and one of the other role by
/// its role; the data plane then takes a control plane that fits.
#[test]
fn control_planes_of_another_version_or_role_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let _server = Server::start(&store, &[]);
    let socket = store.join("control.sock");
    let frame = |json: &str| {
        let mut out = Vec::new();
        encode(
            &serde_json::from_str::<serde_json::Value>(json).unwrap(),
            &mut out,
        );
        out
    };
    for (hello, expected) in [
        (
            r#"{"type": "hello", "version": 3, "role": "storage"}"#,
            "protocol version 3 is not supported",
        ),
        (
            r#"{"hello": {"version": 99, "role": "storage"}}"#,
            "protocol version 99 is not supported",
        ),
        (
            &format!(r#"{{"hello": {{"version": {PROTOCOL_VERSION}, "role": "distributor"}}}}"#),
            "role mismatch",
        ),
    ] {
        let c = FakeControl::connect_with(&socket, &frame(hello));
        match c.welcome {
            FromDataPlane::Refused { reason } => assert!(reason.contains(expected), "{reason}"),
            other => panic!("{hello}: expected a refusal, got {other:?}"),
        }
    }
    let c = FakeControl::connect(&socket);
    assert!(matches!(c.welcome, FromDataPlane::Welcome { .. }));
}

#[test]
fn uploads_wait_for_placement_and_sessions_survive_bad_frames_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let server = Server::start(&store, &[]);
    let video = bytes(1000, 9);
    let r = post(&server, &query(1, 0, CHANNEL), &multipart(&video), "");
    assert_eq!(r.status, 503, "no placement yet");
    assert_eq!(r.header("Retry-After"), Some("1"));

    let socket = store.join("control.sock");
    let mut control = FakeControl::connect(&socket);
    // A second control plane is refused while one is connected.
    let second = FakeControl::connect(&socket);
    assert!(matches!(second.welcome, FromDataPlane::Refused { .. }));
    let snapshot = |control: &mut FakeControl, block| {
        control.place_bag(block, CHANNEL, vec![object(1, &video)]);
    };
    snapshot(&mut control, 5);
    assert_eq!(
        post(&server, &query(1, 0, CHANNEL), &multipart(&video), "").status,
        201
    );
    // A corrupted frame ends the session; the data plane keeps its placement and serving.
    control.send_raw(&[
        5, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, b'x', b'x', b'x', b'x', b'x',
    ]);
    assert!(control.closed());
    assert!(server.wait_log(|l| l.contains("control session closed") && l.contains("checksum")));
    assert_eq!(server.get("/api/v1/files/1", &[]).status, 200);
    // The next session is told what was applied, stale deltas are ignored, and the store's
    // inventory (the upload, with its bag) is reported after the snapshot.
    let mut control = FakeControl::connect(&socket);
    assert!(matches!(
        control.welcome,
        FromDataPlane::Welcome {
            applied_block: Some(5),
            ..
        }
    ));
    snapshot(&mut control, 6);
    assert_eq!(
        control.inventory(),
        vec![HeldObject {
            id: DataObjectId(1),
            bag: Some(CHANNEL.parse().unwrap()),
        }]
    );
    control.delta(
        4,
        vec![Change::BagRemoved {
            bag: CHANNEL.parse().unwrap(),
        }],
    );
    control.applied(6);
}

#[test]
fn upload_memory_is_reserved_before_a_body_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    // One shard with room for one upload's buffers.
    let server = Server::start(&store, &["--shards", "1", "--upload-memory-mib", "2"]);
    let mut control = FakeControl::connect(&store.join("control.sock"));
    let (a, b) = (bytes(2 << 20, 21), bytes(1000, 22));
    control.place_bag(1, CHANNEL, vec![object(1, &a), object(2, &b)]);
    // The first upload holds the reservation while its body trickles in.
    let body = multipart(&a);
    let mut slow = server.connect();
    let head = post_head(&query(1, 0, CHANNEL), body.len(), "");
    slow.write_all(head.as_bytes()).unwrap();
    slow.write_all(&body[..1000]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let r = post(&server, &query(2, 0, CHANNEL), &multipart(&b), "");
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("Retry-After"), Some("1"));
    // Once the first upload is done, its memory serves the next.
    slow.write_all(&body[1000..]).unwrap();
    assert_eq!(read_response(&mut slow, false).status, 201);
    assert_eq!(
        post(&server, &query(2, 0, CHANNEL), &multipart(&b), "").status,
        201
    );
}

#[test]
fn an_upload_that_arrives_before_the_first_placement_waits_for_it() {
    // A node just (re)started: its data plane serves before the control plane has sent the
    // snapshot. The upload waits for it instead of a 503 (found as a flaky end-to-end test:
    // the control plane's view was ready, the data plane's placement not yet).
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let server = Server::start(&store, &[]);
    let addr = server.addr;
    let video = bytes(1000, 1);
    std::thread::scope(|s| {
        let upload = s.spawn(|| post_to(addr, &query(1, 0, CHANNEL), &multipart(&video)));
        std::thread::sleep(std::time::Duration::from_millis(400));
        let mut control = FakeControl::connect(&store.join("control.sock"));
        control.place_bag(5, CHANNEL, vec![object(1, &video)]);
        let r = upload.join().unwrap();
        assert_eq!(r.status, 201, "{:?}", String::from_utf8_lossy(&r.body));
    });
    // Without a control plane at all, the wait is bounded: Colossus's 503.
    let dir = tempfile::tempdir().unwrap();
    let lonely = Server::start(
        &dir.path().join("store"),
        &["--upload-placement-wait-ms", "300"],
    );
    let started = std::time::Instant::now();
    let r = post(&lonely, &query(1, 0, CHANNEL), &multipart(&video), "");
    assert_eq!(r.status, 503);
    let took = started.elapsed();
    assert!(took >= std::time::Duration::from_millis(300), "{took:?}");
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
}

#[test]
fn an_upload_waits_for_the_block_that_registers_its_object() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let server = Server::start(&store, &[]);
    let addr = server.addr;
    let mut control = FakeControl::connect(&store.join("control.sock"));
    let (first, second) = (bytes(1000, 1), bytes(2000, 2));
    control.place_bag(5, CHANNEL, vec![object(1, &first)]);
    let objects = |id: u64, data: &[u8]| Change::Objects {
        bag: CHANNEL.parse().unwrap(),
        objects: vec![object(id, data)],
    };
    // The client saw object 2's block before this node applied it (Atlas uploads the moment
    // its extrinsic is finalized): the upload waits for the block instead of a 400.
    std::thread::scope(|s| {
        let upload = s.spawn(|| {
            let started = std::time::Instant::now();
            let r = post_to(addr, &query(2, 0, CHANNEL), &multipart(&second));
            (r, started.elapsed())
        });
        std::thread::sleep(std::time::Duration::from_millis(500));
        control.delta(6, vec![objects(2, &second)]);
        let (r, took) = upload.join().unwrap();
        assert_eq!(r.status, 201, "{:?}", String::from_utf8_lossy(&r.body));
        assert!(took >= std::time::Duration::from_millis(400), "{took:?}");
    });
    // An id at or below one placed was registered in a block already applied: no wait.
    let started = std::time::Instant::now();
    let r = post(&server, &query(0, 0, CHANNEL), &multipart(&first), "");
    assert_eq!(r.status, 400);
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    // An id that never comes is refused once two more blocks were applied.
    std::thread::scope(|s| {
        let upload = s.spawn(|| {
            let started = std::time::Instant::now();
            let r = post_to(addr, &query(50, 0, CHANNEL), &multipart(&first));
            (r, started.elapsed())
        });
        std::thread::sleep(std::time::Duration::from_millis(300));
        control.delta(7, vec![]);
        std::thread::sleep(std::time::Duration::from_millis(300));
        control.delta(8, vec![]);
        let (r, took) = upload.join().unwrap();
        assert_eq!(r.status, 400);
        assert_eq!(
            r.json()["message"],
            "Error: Data object 50 doesn't exist in storage bag dynamic:channel:1"
        );
        assert!(took < std::time::Duration::from_secs(5), "{took:?}");
    });
}
