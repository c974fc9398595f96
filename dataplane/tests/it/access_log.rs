//! The access log: one nine-field line per request, written off the request path, rotated by
//! size with the number of files kept.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use crate::support::*;

fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_request_gets_a_line_with_its_status_bytes_and_object() {
    let (dir, store) = store_with(&[(7, bytes(3000, 1))]);
    let log = dir.path().join("access.log");
    let server = Server::start(&store, &["--access-log", log.to_str().unwrap()]);
    assert_eq!(server.get("/api/v1/files/7", &[]).status, 200);
    assert_eq!(server.get("/api/v1/files/8", &[]).status, 404);
    assert_eq!(
        server
            .get("/api/v1/files/7", &[("Range", "bytes=0-9")])
            .status,
        206
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while lines(&log).len() < 3 {
        assert!(
            Instant::now() < deadline,
            "no access log lines: {:?}",
            lines(&log)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let got = lines(&log);
    let fields: Vec<Vec<&str>> = got.iter().map(|l| l.split(' ').collect()).collect();
    for f in &fields {
        assert_eq!(f.len(), 9, "{f:?}");
        assert!(
            f[0].ends_with('Z') && f[1].starts_with("127.0.0.1:"),
            "{f:?}"
        );
        assert_eq!(f[2], "GET");
        assert_eq!(f[8], "-", "a storage node's responses have no x-cache");
    }
    // Each shard writes its own lines: across shards the file is not in request order.
    let with_status = |status: &str| {
        fields
            .iter()
            .find(|f| f[4] == status)
            .unwrap_or_else(|| panic!("no {status} line in {got:?}"))
    };
    let ok = with_status("200");
    assert_eq!((ok[3], ok[7]), ("/api/v1/files/7", "7"));
    assert!(ok[5].parse::<u64>().unwrap() > 3000, "head + body bytes");
    let missing = with_status("404");
    assert_eq!((missing[3], missing[7]), ("/api/v1/files/8", "8"));
    let range = with_status("206");
    assert!(range[5].parse::<u64>().unwrap() < 3000, "a range's bytes");
}

#[test]
fn the_log_rotates_by_size_and_keeps_the_number_of_files_asked() {
    let (dir, store) = store_with(&[(1, b"x".to_vec())]);
    let log = dir.path().join("access.log");
    let server = Server::start(
        &store,
        &[
            "--access-log",
            log.to_str().unwrap(),
            "--access-log-max-mib",
            "1",
            "--access-log-keep",
            "2",
        ],
    );
    // ~80 bytes a line: 60,000 pipelined requests write about 5 MiB, two rotations at least.
    let path = format!("/api/v1/files/1?{}", "p".repeat(20));
    let mut c = server.connect();
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut sink = [0u8; 1 << 16];
    // Every response has the same length (the same head, a one-byte body): learn it once.
    c.write_all(request.as_bytes()).unwrap();
    let one = c.read(&mut sink).unwrap();
    for _ in 0..60 {
        c.write_all(request.repeat(1000).as_bytes()).unwrap();
        let mut got = 0;
        while got < one * 1000 {
            got += c.read(&mut sink).unwrap();
        }
    }
    drop(c);
    let rotated = |n: u32| dir.path().join(format!("access.log.{n}"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !rotated(2).exists() {
        assert!(
            Instant::now() < deadline,
            "never rotated twice: {:?} {:?}",
            std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| {
                    let e = e.unwrap();
                    (e.file_name(), e.metadata().unwrap().len())
                })
                .collect::<Vec<_>>(),
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(!rotated(3).exists(), "keeps two rotated files");
    for n in [1, 2] {
        let size = std::fs::metadata(rotated(n)).unwrap().len();
        assert!(size >= 1 << 20, "access.log.{n} rotated at {size} bytes");
        let last = lines(&rotated(n)).pop().unwrap();
        assert_eq!(last.split(' ').count(), 9, "whole lines: {last}");
    }
}
