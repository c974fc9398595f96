//! TLS on both sides of the data plane, with certificates from a CA made at test time: https
//! served (whole objects, ranges, the TLS body path), a renewed certificate taken by new
//! connections while an open download goes on, and replication from https peers that refuses
//! expired and wrong-host certificates and reuses its connections.

use std::collections::BTreeSet;
use std::io::Read;
use std::time::{Duration, Instant};

use hecaton_shared::socket::{AttemptFailure, FromDataPlane, Report, Source, ToDataPlane};

use crate::control::{object, FakeControl};
use crate::pki::{answers, connect, Ca, Leaf};
use crate::replication::{job, reports_until, BAG};
use crate::support::{bytes, read_response, send, store_with, Server};

/// `--tls-cert`/`--tls-key` arguments for files written in `dir`.
fn tls_args(cert: &std::path::Path, key: &std::path::Path) -> Vec<String> {
    vec![
        "--tls-cert".into(),
        cert.display().to_string(),
        "--tls-key".into(),
        key.display().to_string(),
    ]
}

fn start(store: &std::path::Path, args: &[String]) -> Server {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start(store, &args)
}

#[test]
fn https_serves_objects_and_ranges_and_plain_http_gets_no_answer() {
    let big = bytes(3 << 20, 1);
    let small = bytes(5000, 2);
    let (dir, store) = store_with(&[(1, big.clone()), (2, small.clone())]);
    let ca = crate::pki::shared_ca();
    let (cert, key) = ca.write_leaf(dir.path(), "node", Leaf::Good);
    let server = start(&store, &tls_args(&cert, &key));

    let mut c = connect(server.addr, &ca.pem()).expect("handshake");
    // Keep-alive over TLS: three requests on one connection, the sendfile-less body path
    // (3 MiB), a range of it, and an object small enough to be sent with its head.
    send(&mut c, "GET", "/api/v1/files/1", &[]);
    let r = read_response(&mut c, false);
    assert_eq!(r.status, 200);
    assert!(r.body == big, "the whole object over TLS");
    send(
        &mut c,
        "GET",
        "/api/v1/files/1",
        &[("Range", "bytes=1000000-1999999")],
    );
    let r = read_response(&mut c, false);
    assert_eq!(r.status, 206);
    assert!(r.body[..] == big[1_000_000..2_000_000]);
    send(&mut c, "GET", "/api/v1/files/2", &[]);
    let r = read_response(&mut c, false);
    assert_eq!((r.status, r.body == small), (200, true));

    // Plain HTTP to the TLS port is not answered in clear text.
    let mut plain = server.connect();
    send(&mut plain, "GET", "/api/v1/version", &[]);
    let mut got = Vec::new();
    let _ = plain.read_to_end(&mut got);
    assert!(
        !got.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    // A client that does not trust the certificate is refused in the handshake.
    let other = Ca::new("someone else");
    assert!(connect(server.addr, &other.pem()).is_err());
}

#[test]
fn a_renewed_certificate_serves_new_connections_and_an_open_download_goes_on() {
    let data = bytes(24 << 20, 3);
    let (dir, store) = store_with(&[(1, data.clone())]);
    let (old_ca, new_ca) = (Ca::new("old CA"), Ca::new("new CA"));
    let (cert, key) = old_ca.write_leaf(dir.path(), "node", Leaf::Good);
    let mut args = tls_args(&cert, &key);
    args.extend(["--tls-check-secs".into(), "1".into()]);
    let server = start(&store, &args);
    assert!(answers(server.addr, &old_ca.pem()));

    // A download is under way, read slowly, when the files are replaced.
    let mut download = connect(server.addr, &old_ca.pem()).unwrap();
    send(&mut download, "GET", "/api/v1/files/1", &[]);
    let mut head_and_some = vec![0u8; 64 * 1024];
    download.read_exact(&mut head_and_some).unwrap();
    new_ca.write_leaf(dir.path(), "node", Leaf::Good);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !answers(server.addr, &new_ca.pem()) {
        assert!(
            Instant::now() < deadline,
            "the new certificate was not taken"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        !answers(server.addr, &old_ca.pem()),
        "new connections get the new certificate"
    );
    // The download negotiated before the renewal finishes with every byte.
    let mut rest = Vec::new();
    download.read_to_end(&mut rest).ok();
    let mut all = head_and_some;
    all.extend_from_slice(&rest);
    let body_at = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(all.len() - body_at, data.len(), "the download was cut");
    assert!(all[body_at..] == data[..]);
}

#[test]
fn sighup_reloads_the_certificate_and_a_broken_renewal_keeps_the_old_one() {
    let (dir, store) = store_with(&[(1, bytes(1000, 4))]);
    let (old_ca, new_ca) = (Ca::new("old CA"), Ca::new("new CA"));
    let (cert, key) = old_ca.write_leaf(dir.path(), "node", Leaf::Good);
    let mut args = tls_args(&cert, &key);
    // Checks far apart: only the signal can reload within the test.
    args.extend(["--tls-check-secs".into(), "3600".into()]);
    let server = start(&store, &args);
    // A certificate whose key does not match is refused; the old pair keeps serving.
    let (_, other_key) = new_ca.leaf(Leaf::Good);
    std::fs::write(&key, other_key).unwrap();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(server.child.id() as i32, libc::SIGHUP) };
    assert!(
        server.wait_log(|l| l.contains("not reloaded")),
        "{:?}",
        server.log()
    );
    assert!(answers(server.addr, &old_ca.pem()));

    new_ca.write_leaf(dir.path(), "node", Leaf::Good);
    assert!(
        !answers(server.addr, &new_ca.pem()),
        "no reload before the signal"
    );
    // SAFETY: as above.
    unsafe { libc::kill(server.child.id() as i32, libc::SIGHUP) };
    assert!(server.wait_log(|l| l.contains("certificate reloaded")));
    assert!(answers(server.addr, &new_ca.pem()));
}

/// An https source for `server` (its certificate names `localhost`).
fn https_source(server: &Server) -> Source {
    Source {
        endpoint: format!("https://localhost:{}/", server.addr.port()),
        addrs: vec![server.addr],
    }
}

#[test]
fn replication_over_https_refuses_bad_certificates_and_reuses_connections() {
    let objects: Vec<(u64, Vec<u8>)> = (1..=12)
        .map(|i| (i, bytes(20_000 + i as usize, i)))
        .collect();
    let ca = Ca::new("test CA");
    let peer = |kind: Leaf, log: bool| {
        let (dir, store) = store_with(&objects);
        let (cert, key) = ca.write_leaf(dir.path(), "peer", kind);
        let mut args = tls_args(&cert, &key);
        if log {
            args.extend([
                "--access-log".into(),
                dir.path().join("access.log").display().to_string(),
            ]);
        }
        let server = start(&store, &args);
        (dir, server)
    };
    let (_e, expired) = peer(Leaf::Expired, false);
    let (_w, wrong) = peer(Leaf::WrongHost, false);
    let (good_dir, good) = peer(Leaf::Good, true);

    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write(dir.path(), "ca.pem");
    let store = dir.path().join("fetcher");
    let fetcher = Server::start(
        &store,
        &[
            "--tls-ca-file",
            ca_file.to_str().unwrap(),
            "--fetch-concurrency",
            "2",
        ],
    );
    let mut control = FakeControl::connect(&store.join("control.sock"));
    let placed = objects
        .iter()
        .map(|(id, data)| {
            let mut o = object(*id, data);
            o.accepted = true;
            o
        })
        .collect();
    control.place_bag(1, BAG, placed);

    // The first object: the bad sources first.
    let sources = vec![
        https_source(&expired),
        https_source(&wrong),
        https_source(&good),
    ];
    let (id, data) = &objects[0];
    control.send(&ToDataPlane::Fetch {
        jobs: vec![job(*id, data, sources.clone())],
    });
    let seen = reports_until(&mut control, |r| {
        matches!(r, Report::Fetched { .. } | Report::FetchFailed { .. })
    });
    let failures: Vec<(String, AttemptFailure, String)> = seen
        .iter()
        .filter_map(|r| match r {
            Report::FetchAttemptFailed {
                source,
                failure,
                reason,
                ..
            } => Some((source.clone(), *failure, reason.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(failures.len(), 2, "{seen:?}");
    assert_eq!(failures[0].0, sources[0].endpoint);
    assert!(
        failures[0].2.contains("certificate has expired"),
        "{}",
        failures[0].2
    );
    assert_eq!(failures[1].0, sources[1].endpoint);
    assert!(
        failures[1].2.contains("not valid for its host name"),
        "{}",
        failures[1].2
    );
    assert!(
        matches!(seen.last(), Some(Report::Fetched { source, .. }) if *source == sources[2].endpoint)
    );

    // The rest from the good peer: its connections are kept and reused.
    control.send(&ToDataPlane::Fetch {
        jobs: objects[1..]
            .iter()
            .map(|(id, data)| job(*id, data, vec![https_source(&good)]))
            .collect(),
    });
    let mut fetched = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while fetched.len() < objects.len() - 1 {
        assert!(Instant::now() < deadline, "fetched only {fetched:?}");
        if let FromDataPlane::Report(Report::Fetched { id, .. }) = control.recv() {
            fetched.insert(id.0);
        }
    }
    for (id, data) in &objects {
        let r = fetcher.get(&format!("/api/v1/files/{id}"), &[]);
        assert!(r.status == 200 && r.body == *data, "object {id}");
    }
    // The peer's access log names each request's client address and port: a new port is a
    // new connection (and a new handshake).
    std::thread::sleep(Duration::from_millis(500));
    let log = std::fs::read_to_string(good_dir.path().join("access.log")).unwrap();
    // (Fetches ask for verified slices.)
    let fetch = |l: &&str| l.contains("/api/v1/slices/");
    let ports: BTreeSet<&str> = log
        .lines()
        .filter(fetch)
        .filter_map(|l| l.split(' ').nth(1))
        .collect();
    let requests = log.lines().filter(fetch).count();
    assert_eq!(requests, objects.len(), "{log}");
    assert!(
        ports.len() <= 4,
        "{requests} fetches over {} connections: {ports:?}",
        ports.len()
    );
}

#[test]
fn a_certificate_that_does_not_load_is_a_configuration_error_and_sighup_spares_plain_http() {
    let (dir, store) = store_with(&[(1, bytes(100, 6))]);
    let ca = Ca::new("test CA");
    let (cert, _) = ca.write_leaf(dir.path(), "node", Leaf::Good);
    let (_, other_key) = ca.write_leaf(dir.path(), "other", Leaf::Good);
    // A key of another certificate: exit 2 (configuration, not restarted by a supervisor),
    // naming what is wrong.
    let out = std::process::Command::new(crate::support::bin())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--io-memory-mib",
            "1",
            "--store",
        ])
        .arg(&store)
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&other_key)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TLS"), "{err}");
    // A data plane without TLS takes SIGHUP (a node's `systemctl reload` passes it on) and
    // goes on serving.
    let server = Server::start(&store, &[]);
    // SAFETY: signalling our own child.
    unsafe { libc::kill(server.child.id() as i32, libc::SIGHUP) };
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.get("/api/v1/files/1", &[]).status, 200);
}

#[test]
fn a_handshake_that_never_finishes_is_cut_at_the_head_deadline() {
    let (dir, store) = store_with(&[(1, bytes(100, 7))]);
    let ca = Ca::new("test CA");
    let (cert, key) = ca.write_leaf(dir.path(), "node", Leaf::Good);
    let mut args = tls_args(&cert, &key);
    args.extend(["--header-timeout-ms".into(), "500".into()]);
    let server = start(&store, &args);
    // The first bytes of a TLS record header, then nothing.
    let mut c = server.connect();
    std::io::Write::write_all(&mut c, &[0x16, 0x03]).unwrap();
    let started = Instant::now();
    assert!(crate::support::closed_by_server(&mut c));
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    // The shard goes on serving.
    assert!(answers(server.addr, &ca.pem()));
}
