//! Replication and removal in the data plane, with real peer data planes on loopback and a
//! stand-in control plane handing out the work: sources tried in the given order, corrupt and
//! over-long answers rejected, a transfer cut by a killed peer resumed from the next, removals
//! durable and harmless to readers, leftovers swept.

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use hecaton_shared::socket::{
    AttemptFailure, FetchJob, FromDataPlane, Removal, RemovalReason, Report, Source, ToDataPlane,
};
use hecaton_shared::{ContentId, DataObjectId};

use crate::control::{object, FakeControl};
use crate::support::{bytes, send, store_with, Server};

pub const BAG: &str = "dynamic:channel:2";

fn source(server: &Server) -> Source {
    Source {
        endpoint: format!("http://{}/", server.addr),
        addrs: vec![server.addr],
    }
}

pub fn job(id: u64, data: &[u8], sources: Vec<Source>) -> FetchJob {
    FetchJob {
        id: DataObjectId(id),
        bag: BAG.parse().unwrap(),
        size: data.len() as u64,
        content_id: ContentId::of(data).to_string(),
        sources,
        priority: id,
    }
}

/// A data plane with an empty store, its control session, and object `id` placed as accepted.
pub fn fetcher(dir: &Path, id: u64, data: &[u8], extra: &[&str]) -> (Server, FakeControl) {
    let store = dir.join("fetcher");
    let server = Server::start(&store, extra);
    let mut control = FakeControl::connect(&store.join("control.sock"));
    let mut placed = object(id, data);
    placed.accepted = true;
    control.place_bag(1, BAG, vec![placed]);
    (server, control)
}

/// The failed attempts among `seen`: each source with how it failed, in order.
pub fn attempt_failures(seen: &[Report]) -> Vec<(String, AttemptFailure)> {
    seen.iter()
        .filter_map(|r| match r {
            Report::FetchAttemptFailed {
                source, failure, ..
            } => Some((source.clone(), *failure)),
            _ => None,
        })
        .collect()
}

/// Reports until one matches `last` (returned with every report before it).
pub fn reports_until(control: &mut FakeControl, last: impl Fn(&Report) -> bool) -> Vec<Report> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let FromDataPlane::Report(r) = control.recv() {
            let done = last(&r);
            seen.push(r);
            if done {
                return seen;
            }
        }
    }
    panic!("no matching report; saw {seen:?}");
}

fn tmp_is_empty(store: &Path) -> bool {
    std::fs::read_dir(store.join("tmp"))
        .unwrap()
        .next()
        .is_none()
}

/// The liar's copy differs from the object here: in group 64 (1 MiB / 16 KiB).
const FORGED_AT: usize = (1 << 20) + 5000;

#[test]
fn over_long_and_lying_sources_are_caught_the_liar_at_its_first_forged_group() {
    let data = bytes(3 << 20, 7);
    let (_d1, longer) = store_with(&[(7, bytes(4 << 20, 7))]);
    let (_d2, corrupt) = store_with(&[(7, data.clone())]);
    let (_d3, good) = store_with(&[(7, data.clone())]);
    // Same size, other bytes: the peer's store serves them as they are.
    let mut bad = data.clone();
    bad[FORGED_AT] ^= 0xff;
    std::fs::write(corrupt.join("objects/7"), &bad).unwrap();
    let peers = [
        Server::start(&longer, &[]),
        // A liar: its own scrub would find the bad copy and stop serving it.
        Server::start(&corrupt, &["--scrub-mib-per-sec", "0"]),
        Server::start(&good, &[]),
    ];
    let dir = tempfile::tempdir().unwrap();
    let (f, mut control) = fetcher(dir.path(), 7, &data, &[]);
    let sources: Vec<Source> = peers.iter().map(source).collect();
    control.send(&ToDataPlane::Fetch {
        jobs: vec![job(7, &data, sources.clone())],
    });
    let seen = reports_until(&mut control, |r| {
        matches!(r, Report::Fetched { .. } | Report::FetchFailed { .. })
    });
    let failures = attempt_failures(&seen);
    assert_eq!(
        failures,
        vec![
            (sources[0].endpoint.clone(), AttemptFailure::BadResponse),
            (sources[1].endpoint.clone(), AttemptFailure::Corrupt),
        ],
        "{seen:?}"
    );
    // The liar's slice failed at the group holding the forged byte: the groups before it
    // were proven and kept, and the next source resumed from where they end.
    let group_start = (FORGED_AT as u64 / 16384) * 16384;
    match seen.last().unwrap() {
        Report::Fetched {
            source,
            bytes: transferred,
            resumed_from,
            ..
        } => {
            assert_eq!(source, &sources[2].endpoint);
            assert_eq!(*resumed_from, group_start, "only proven bytes were kept");
            assert_eq!(
                *transferred,
                data.len() as u64,
                "the liar's proven groups, then the rest from the good source"
            );
        }
        other => panic!("expected Fetched, got {other:?}"),
    }
    let served = f.get("/api/v1/files/7", &[]);
    assert_eq!(served.status, 200);
    assert!(served.body == data, "served bytes differ from the object");
    assert!(tmp_is_empty(&dir.path().join("fetcher")));
}

#[test]
fn a_peer_killed_mid_transfer_is_resumed_from_the_next_with_a_range() {
    let data = bytes(24 << 20, 3);
    let (_d1, s1) = store_with(&[(9, data.clone())]);
    let (_d2, s2) = store_with(&[(9, data.clone())]);
    let mut first = Server::start(&s1, &[]);
    let second = Server::start(&s2, &[]);
    let dir = tempfile::tempdir().unwrap();
    // 8 MiB/s (one second of burst): the transfer takes about two seconds.
    let (f, mut control) = fetcher(
        dir.path(),
        9,
        &data,
        &["--shards", "1", "--fetch-max-mib-per-sec", "8"],
    );
    let sources = vec![source(&first), source(&second)];
    control.send(&ToDataPlane::Fetch {
        jobs: vec![job(9, &data, sources.clone())],
    });
    reports_until(&mut control, |r| matches!(r, Report::FetchStarted { .. }));
    std::thread::sleep(Duration::from_millis(1200));
    first.child.kill().unwrap();
    let seen = reports_until(&mut control, |r| {
        matches!(r, Report::Fetched { .. } | Report::FetchFailed { .. })
    });
    assert!(
        seen.iter().any(|r| matches!(r, Report::FetchAttemptFailed { source, failure: AttemptFailure::Unreachable, .. } if *source == sources[0].endpoint)),
        "{seen:?}"
    );
    match seen.last().unwrap() {
        Report::Fetched {
            source,
            resumed_from,
            bytes: transferred,
            ..
        } => {
            assert_eq!(source, &sources[1].endpoint);
            assert!(
                *resumed_from > 0 && *resumed_from < data.len() as u64,
                "resumed at {resumed_from}"
            );
            assert_eq!(*transferred, data.len() as u64, "no byte fetched twice");
        }
        other => panic!("expected Fetched, got {other:?}"),
    }
    let served = f.get("/api/v1/files/9", &[]);
    assert!(served.body == data, "served bytes differ from the object");
}

#[test]
fn removals_are_durable_and_a_reader_mid_stream_keeps_its_bytes() {
    let big = bytes(32 << 20, 5);
    let small = bytes(1000, 6);
    let (_dir, store) = store_with(&[(1, big.clone()), (2, small.clone())]);
    let server = Server::start(&store, &["--shards", "1"]);
    let mut control = FakeControl::connect(&store.join("control.sock"));
    control.place_bag(1, BAG, vec![]);
    // A slow reader holds the big object open: only its head and a little of the body read.
    let mut reader = server.connect();
    send(
        &mut reader,
        "GET",
        "/api/v1/files/1",
        &[("Connection", "close")],
    );
    let mut first = vec![0u8; 64 * 1024];
    reader.read_exact(&mut first).unwrap();
    control.send(&ToDataPlane::Remove {
        removals: vec![
            Removal {
                id: DataObjectId(1),
                reason: RemovalReason::ObjectDeleted,
            },
            Removal {
                id: DataObjectId(2),
                reason: RemovalReason::Unassigned {
                    confirmed_by: vec!["http://a/".into(), "http://b/".into()],
                },
            },
        ],
    });
    let seen = reports_until(&mut control, |r| matches!(r, Report::Removed { .. }));
    assert!(
        matches!(seen.last(), Some(Report::Removed { ids }) if ids.len() == 2),
        "{seen:?}"
    );
    assert_eq!(server.get("/api/v1/files/2", &[]).status, 404);
    assert_eq!(server.get("/api/v1/files/1", &[]).status, 404);
    // Well past the unlink: the reader still gets every byte.
    std::thread::sleep(Duration::from_secs(3));
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).unwrap();
    let head_end = first.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let mut body = first[head_end..].to_vec();
    body.extend_from_slice(&rest);
    assert!(body == big, "the reader's bytes differ");
    assert!(!store.join("objects/1").exists(), "file unlinked");
    drop(reader);
    drop(server);
    // Still gone after a restart.
    let server = Server::start(&store, &[]);
    assert_eq!(server.get("/api/v1/files/1", &[]).status, 404);
    assert_eq!(
        server.get("/api/v1/state/data-objects", &[]).json(),
        serde_json::json!([])
    );
}

#[test]
fn leftover_temp_files_and_stale_resumable_uploads_are_swept() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let server = Server::start(&store, &["--sweep-interval-secs", "1"]);
    let mut control = FakeControl::connect(&store.join("control.sock"));
    let kept = bytes(10, 1);
    control.place_bag(1, BAG, vec![object(5, &kept)]);
    std::fs::write(store.join("tmp/fetch-77"), b"left by a task that died").unwrap();
    // A resumable upload of object 5 (placed) stays; one of object 6 (not placed) goes, and
    // so does an expired one of 5 and a file whose name no creation gives.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = "0123456789abcdef0123456789abcdef";
    let kept_upload = store.join(format!("uploads/5.{now}.{token}"));
    let gone = [
        store.join(format!("uploads/6.{now}.{token}")),
        store.join(format!("uploads/5.{}.{token}", now - 2 * 86_400)),
        store.join("uploads/5"),
    ];
    std::fs::write(&kept_upload, b"x").unwrap();
    for g in &gone {
        std::fs::write(g, b"y").unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.join("tmp/fetch-77").exists() || gone.iter().any(|g| g.exists()) {
        assert!(Instant::now() < deadline, "not swept");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(kept_upload.exists());
    let log = server.log().join("\n");
    assert!(log.contains("temp file removed"), "{log}");
    assert!(log.contains("resumable upload removed"), "{log}");
}
