//! Resumable uploads (tus 1.0): creation, offsets, interruption, resumption across a data plane
//! restart, verification at the end.

use std::io::Write;
use std::path::Path;

use hecaton_shared::{ContentId, DataObjectId};

use crate::control::{object, FakeControl};
use crate::support::{bytes, read_response, Response, Server};

const BAG: &str = "dynamic:channel:1";

fn place(control: &mut FakeControl, block: u64, objects: &[(u64, &[u8])]) {
    let objects = objects.iter().map(|(id, b)| object(*id, b)).collect();
    control.place_bag(block, BAG, objects);
}

pub(crate) fn request(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Response {
    let mut c = server.connect();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    c.write_all(head.as_bytes()).unwrap();
    c.write_all(body).unwrap();
    read_response(&mut c, method == "HEAD")
}

pub(crate) fn tus() -> (&'static str, String) {
    ("Tus-Resumable", "1.0.0".to_string())
}

pub(crate) fn patch(server: &Server, loc: &str, offset: u64, body: &[u8]) -> Response {
    request(
        server,
        "PATCH",
        loc,
        &[
            tus(),
            ("Upload-Offset", offset.to_string()),
            ("Content-Type", "application/offset+octet-stream".into()),
        ],
        body,
    )
}

pub(crate) fn head_offset(server: &Server, loc: &str) -> (u16, Option<u64>) {
    let r = request(server, "HEAD", loc, &[tus()], b"");
    (
        r.status,
        r.header("Upload-Offset").map(|v| v.parse().unwrap()),
    )
}

fn start(store: &Path) -> (Server, FakeControl) {
    let server = Server::start(store, &[]);
    let control = FakeControl::connect(&store.join("control.sock"));
    (server, control)
}

#[test]
fn an_interrupted_upload_resumes_across_a_data_plane_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let video = bytes(3 << 20, 11);
    let (mut server, mut control) = start(&store);
    place(&mut control, 3, &[(1, &video)]);

    let create = |server: &Server, length: usize| {
        request(
            server,
            "POST",
            &format!("/api/v1/uploads?dataObjectId=1&storageBucketId=0&bagId={BAG}"),
            &[tus(), ("Upload-Length", length.to_string())],
            b"",
        )
    };
    let r = create(&server, video.len() + 1);
    assert_eq!(r.status, 413, "longer than declared");
    let r = create(&server, video.len());
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let loc = r.header("Location").unwrap().to_string();
    assert!(loc.starts_with("/api/v1/uploads/1."), "{loc}");
    assert!(r.header("Upload-Expires").is_some());
    assert_eq!(r.header("Tus-Resumable"), Some("1.0.0"));
    let loc = loc.as_str();
    // Without the protocol header: 412 (with its reason phrase).
    let mut c = server.connect();
    c.write_all(format!("HEAD {loc} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap();
    let mut line = [0u8; 34];
    std::io::Read::read_exact(&mut c, &mut line).unwrap();
    assert!(line.starts_with(b"HTTP/1.1 412 Precondition Failed\r\n"));

    let first = 1 << 20;
    let r = patch(&server, loc, 0, &video[..first]);
    assert_eq!(
        (r.status, r.header("Upload-Offset")),
        (204, Some("1048576"))
    );
    assert_eq!(
        patch(&server, loc, 5, &video[5..10]).status,
        409,
        "wrong offset"
    );

    // A PATCH cut mid-body keeps what arrived.
    {
        let mut c = server.connect();
        let rest = &video[first..];
        let head = format!(
            "PATCH {loc} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: {first}\r\n\
             Content-Type: application/offset+octet-stream\r\nContent-Length: {}\r\n\r\n",
            rest.len()
        );
        c.write_all(head.as_bytes()).unwrap();
        c.write_all(&rest[..500_000]).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let kept = loop {
        let (_, offset) = head_offset(&server, loc);
        let offset = offset.unwrap();
        if offset > first as u64 || std::time::Instant::now() > deadline {
            break offset;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(
        kept > first as u64 && kept <= (first + 500_000) as u64,
        "kept {kept}"
    );
    assert_eq!(
        server.get("/api/v1/files/1", &[]).status,
        404,
        "nothing partial is served"
    );

    // The data plane is killed (SIGKILL) and restarted; the upload is where it was and finishes
    // from another connection.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop(control);
    let (server, mut control) = start(&store);
    place(&mut control, 4, &[(1, &video)]);
    assert_eq!(head_offset(&server, loc), (200, Some(kept)));
    let r = patch(&server, loc, kept, &video[kept as usize..]);
    assert_eq!(
        (r.status, r.header("Upload-Offset")),
        (204, Some(video.len().to_string().as_str()))
    );
    assert_eq!(control.stored(), vec![DataObjectId(1)]);
    let got = server.get("/api/v1/files/1", &[]);
    assert!(got.body == video, "served bytes differ");
    assert_eq!(
        got.header("ETag"),
        Some(format!("\"{}\"", ContentId::of(&video)).as_str())
    );
    assert_eq!(head_offset(&server, loc), (200, Some(video.len() as u64)));
    assert!(std::fs::read_dir(store.join("uploads"))
        .unwrap()
        .next()
        .is_none());
}

#[test]
fn a_resumable_upload_with_wrong_bytes_is_refused_and_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let declared = bytes(10_000, 12);
    let (server, mut control) = start(&store);
    place(&mut control, 3, &[(2, &declared)]);
    let r = request(
        &server,
        "POST",
        &format!("/api/v1/uploads?dataObjectId=2&storageBucketId=0&bagId={BAG}"),
        &[tus(), ("Upload-Length", "10000".into())],
        b"",
    );
    assert_eq!(r.status, 201);
    let loc = r.header("Location").unwrap().to_string();
    let loc = loc.as_str();
    let mut wrong = declared.clone();
    wrong[0] ^= 1;
    let r = patch(&server, loc, 0, &wrong);
    assert_eq!(r.status, 400);
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("multihash doesn't match"));
    assert_eq!(head_offset(&server, loc).0, 404);
    // Termination of an unknown upload.
    let r = request(&server, "DELETE", loc, &[tus()], b"");
    assert_eq!(r.status, 404);
}
