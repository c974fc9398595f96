//! `hecaton dev`: the README's first command starts a working network and stops it cleanly.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The first of `n` consecutive free loopback ports between 20000 and 32000 (below Linux's
/// ephemeral range, 32768 and up, so no test's client socket is given one meanwhile).
fn port_block(n: u16) -> u16 {
    let mut seed = u64::from(std::process::id())
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
    loop {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let base = 20_000 + (seed >> 33) as u16 % 12_000;
        if (base..base + n).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return base;
        }
    }
}

/// `hecaton dev`, interrupted (Ctrl-C, which stops its children) if the test ends early.
struct StopOnDrop(std::process::Child);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            // SAFETY: signalling our own child; kill has no memory-safety preconditions.
            unsafe { libc::kill(self.0.id() as i32, libc::SIGINT) };
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline && matches!(self.0.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
use crate::support::get;

#[tokio::test(flavor = "multi_thread")]
async fn dev_starts_a_network_that_takes_uploads_and_stops_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    // `dev` takes consecutive ports from each base (storage node i: base + i). Ports from the
    // kernel's ephemeral range (what `free_port` returns) are also handed to the other tests'
    // client sockets, and CI twice saw base + 1 taken that way: a block below that range.
    let base = port_block(7);
    let (chain, storage, operator) = (base, base + 1, base + 3);
    let (distributor, distributor_operator) = (base + 5, base + 6);
    let mut child = Command::new(env!("CARGO_BIN_EXE_hecaton"))
        .arg("dev")
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--storage-nodes", "2", "--block-time-ms", "200"])
        .args(["--chain-port", &chain.to_string()])
        .args(["--storage-port", &storage.to_string()])
        .args(["--operator-port", &operator.to_string()])
        .args(["--distributor-port", &distributor.to_string()])
        .args([
            "--distributor-operator-port",
            &distributor_operator.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn hecaton dev");
    let stdout = child.stdout.take().unwrap();
    let mut child = StopOnDrop(child);
    let mut lines = BufReader::new(stdout).lines();
    let mut printed = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.starts_with("Ctrl-C stops everything");
        printed.push(line);
        if done {
            break;
        }
    }
    let text = printed.join("\n");
    assert!(
        text.contains(&format!("http://127.0.0.1:{storage}/")),
        "{text}"
    );
    assert!(
        text.contains("member upload"),
        "a ready-to-paste upload command: {text}"
    );
    assert!(
        text.contains(&format!(
            "curl -i http://127.0.0.1:{distributor}/api/v1/assets/"
        )),
        "the distributor's asset URL: {text}"
    );

    // The network works: a member's upload through the CLI is accepted.
    let file = dir.path().join("clip.mp4");
    std::fs::write(&file, vec![7u8; 50_000]).unwrap();
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_hecaton"))
            .args(args)
            .env("HECATON_CHAIN", format!("http://127.0.0.1:{chain}"))
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    cli(&["member", "create-channel"]);
    let out = cli(&["member", "upload", "--channel", "0", file.to_str().unwrap()]);
    assert!(out.contains("accepted on chain"), "{out}");
    let mut accepted = 0;
    for port in [operator, operator + 1] {
        let (status, body) = get(&format!("http://127.0.0.1:{port}/status")).await;
        assert_eq!(status, 200);
        accepted += body["acceptance"]["accepted"].as_u64().unwrap();
    }
    assert_eq!(accepted, 1, "the node that took the upload accepted it");
    // The other node of the bag replicates it.
    let deadline = Instant::now() + Duration::from_secs(20);
    for node in [storage, storage + 1] {
        loop {
            let r = crate::support::client()
                .get(format!("http://127.0.0.1:{node}/api/v1/files/0"))
                .send()
                .await
                .unwrap();
            if r.status() == 200 && r.bytes().await.unwrap() == vec![7u8; 50_000] {
                break;
            }
            assert!(Instant::now() < deadline, "object 0 not on node {node}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // The distributor serves it: fetched once from a storage node, then from its cache.
    let asset = format!("http://127.0.0.1:{distributor}/api/v1/assets/0");
    let mut served: Vec<String> = Vec::new();
    while served.last().map(String::as_str) != Some("hit") {
        let r = crate::support::client().get(&asset).send().await.unwrap();
        if r.status() == 200 {
            let cache = r.headers().get("x-cache").and_then(|v| v.to_str().ok());
            served.push(cache.unwrap_or("").to_string());
            assert!(r.bytes().await.unwrap() == vec![7u8; 50_000]);
        }
        assert!(
            Instant::now() < deadline,
            "the distributor never cached object 0: {served:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(served[0], "miss", "{served:?}");

    // Ctrl-C stops everything and exits 0.
    // SAFETY: signalling our own child; kill has no memory-safety preconditions.
    unsafe { libc::kill(child.0.id() as i32, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "hecaton dev did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l == "stopped"), "{rest:?}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", storage)).is_err(),
        "the storage node is gone"
    );
}
