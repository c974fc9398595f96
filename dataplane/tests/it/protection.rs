//! Limits and misbehaving clients: oversized heads, slow heads, stalled readers, idle
//! connections, connection caps, a taken port, and draining on SIGTERM.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use crate::support::*;

fn small_store() -> (tempfile::TempDir, std::path::PathBuf) {
    store_with(&[(1, b"hello".to_vec())])
}

#[test]
fn oversized_and_malformed_heads() {
    let (_dir, store) = small_store();
    let server = Server::start(&store, &[]);
    let mut c = server.connect();
    c.write_all(format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(5000)).as_bytes())
        .unwrap();
    assert_eq!(read_response(&mut c, false).status, 414);
    assert!(closed_by_server(&mut c));

    let mut c = server.connect();
    c.write_all(format!("GET / HTTP/1.1\r\nX-Big: {}\r\n\r\n", "b".repeat(20_000)).as_bytes())
        .unwrap();
    assert_eq!(read_response(&mut c, false).status, 431);

    let mut c = server.connect();
    let many: String = (0..100).map(|i| format!("X-{i}: v\r\n")).collect();
    c.write_all(format!("GET /api/v1/files/1 HTTP/1.1\r\n{many}\r\n").as_bytes())
        .unwrap();
    assert_eq!(read_response(&mut c, false).status, 431);

    let mut c = server.connect();
    c.write_all(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03 not http\r\n\r\n")
        .unwrap();
    let r = read_response(&mut c, false);
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["type"], "request_exception");

    // A body on a GET is not read, so the connection must not be reused.
    let mut c = server.connect();
    c.write_all(b"GET /api/v1/files/1 HTTP/1.1\r\nContent-Length: 5\r\n\r\nGET /")
        .unwrap();
    let r = read_response(&mut c, false);
    assert_eq!((r.status, r.header("connection")), (200, Some("close")));
    assert!(closed_by_server(&mut c));
}

#[test]
fn a_slow_head_times_out_without_holding_the_shard() {
    let (_dir, store) = small_store();
    // One shard, so the stalled client and the others share it.
    let server = Server::start(&store, &["--shards", "1", "--header-timeout-ms", "2000"]);
    let mut slow = server.connect();
    slow.write_all(b"GET /api/v1/files/1 HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let t = Instant::now();
    for _ in 0..5 {
        assert_eq!(server.get("/api/v1/files/1", &[]).body, b"hello");
    }
    // Served while the stalled head was still pending, not after it timed out.
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "others waited {:?}",
        t.elapsed()
    );
    let r = read_response(&mut slow, false);
    assert_eq!(r.status, 408);
    assert!(closed_by_server(&mut slow));
}

#[test]
fn a_client_that_stops_reading_is_dropped_and_others_are_served() {
    let big = bytes(64 << 20, 3);
    let (_dir, store) = store_with(&[(1, b"hello".to_vec()), (2, big)]);
    let server = Server::start(&store, &["--shards", "1", "--send-timeout-secs", "2"]);
    // A tiny receive buffer, set before connecting so the window is small from the start,
    // makes the server's socket buffer fill at once.
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    sock.connect(&server.addr.into()).unwrap();
    let mut stalled: std::net::TcpStream = sock.into();
    send(&mut stalled, "GET", "/api/v1/files/2", &[]);
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    for _ in 0..5 {
        assert_eq!(server.get("/api/v1/files/1", &[]).body, b"hello");
    }
    // Well inside the send timeout: the shard was not blocked by the stalled send.
    assert!(
        t.elapsed() < Duration::from_millis(2000),
        "others waited {:?}",
        t.elapsed()
    );
    std::thread::sleep(Duration::from_millis(4000));
    // The server gave up: draining what was buffered ends in EOF or reset, far short of 64 MiB.
    stalled
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut got = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match stalled.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    assert!(
        got < 32 << 20,
        "received {got} bytes; the stalled send was not cut off"
    );
}

#[test]
fn idle_connections_are_closed() {
    let (_dir, store) = small_store();
    let server = Server::start(&store, &["--idle-timeout-secs", "1"]);
    let mut c = server.connect();
    send(&mut c, "GET", "/api/v1/files/1", &[]);
    assert_eq!(read_response(&mut c, false).status, 200);
    let t = Instant::now();
    assert!(closed_by_server(&mut c));
    assert!(
        t.elapsed() >= Duration::from_millis(800),
        "closed too early: {:?}",
        t.elapsed()
    );
}

#[test]
fn connections_over_the_cap_get_503() {
    let (_dir, store) = small_store();
    let server = Server::start(
        &store,
        &["--shards", "1", "--max-connections-per-shard", "2"],
    );
    let mut held: Vec<_> = (0..2).map(|_| server.connect()).collect();
    for c in held.iter_mut() {
        send(c, "GET", "/api/v1/files/1", &[]);
        assert_eq!(read_response(c, false).status, 200);
    }
    let mut third = server.connect();
    let r = read_response(&mut third, false);
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after"), Some("1"));
    drop(held);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        server.get("/api/v1/files/1", &[]).status,
        200,
        "capacity comes back"
    );
}

#[test]
fn a_port_taken_by_another_process_is_refused() {
    let (_dir, store) = small_store();
    let first = Server::start(&store, &[]);
    let other = tempfile::tempdir().unwrap();
    let err = match Server::try_start(other.path(), &first.addr.to_string(), &[]) {
        Ok(_) => panic!("a second server shared the port"),
        Err(e) => e,
    };
    assert!(err.contains("already in use"), "{err}");
    assert_eq!(first.get("/api/v1/files/1", &[]).body, b"hello");
}

#[test]
fn sigterm_drains_in_flight_responses() {
    let big = bytes(32 << 20, 4);
    let (_dir, store) = store_with(&[(1, big.clone())]);
    let mut server = Server::start(&store, &[]);
    let mut busy = server.connect();
    send(&mut busy, "GET", "/api/v1/files/1", &[]);
    let mut first = [0u8; 1024];
    busy.read_exact(&mut first).unwrap();
    let mut idle = server.connect();
    send(
        &mut idle,
        "GET",
        "/api/v1/files/1",
        &[("Range", "bytes=0-0")],
    );
    read_response(&mut idle, false);

    let addr = server.addr;
    // SAFETY: signalling our own child.
    unsafe { libc::kill(server.child.id() as i32, libc::SIGTERM) };
    assert!(
        closed_by_server(&mut idle),
        "idle keep-alive connections are closed"
    );
    let mut rest = Vec::new();
    busy.read_to_end(&mut rest).unwrap();
    let head_end = first.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let mut body = first[head_end..].to_vec();
    body.extend_from_slice(&rest);
    assert!(
        body == big,
        "the in-flight response completed ({} of {} bytes)",
        body.len(),
        big.len()
    );
    let status = server.child.wait().unwrap();
    assert!(status.success(), "exit {status}");
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "no longer listening"
    );
    server.terminate();
}
