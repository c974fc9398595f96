//! What an operator relies on (issue 15): exit codes that name the cause, a worker that
//! operates nothing stops the node, JSON logs, `/healthz` and `/readyz`.

use std::os::fd::AsRawFd;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use hecaton_shared::exit_code;
use serde_json::Value;

use crate::node::{chain_for, free_port, DataPlane, NodeSpec, StorageNode};
use crate::support::client;

/// Runs `hecaton storage-node` on `config` to its end (it must stop by itself).
fn run_node(config: &std::path::Path, extra: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hecaton"))
        .args(extra)
        .arg("storage-node")
        .arg("--config")
        .arg(config)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn storage-node");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "the node did not stop by itself: {:?}",
                child.wait_with_output()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_worker_that_operates_no_bucket_stops_the_node_with_code_5_and_json_logs() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let chain = chain_for(dir.path(), &[port]);
    // Worker 1 operates bucket 0; worker 6 nothing.
    let mut spec = NodeSpec::new(dir.path(), port);
    spec.index = 5;
    let (config, _) = spec.write_config(&chain);
    let out = run_node(&config, &["--log-format", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(i32::from(exit_code::NO_BUCKETS)),
        "{stderr}"
    );
    assert!(
        stderr.contains("storage worker 6 operates none of the selected buckets"),
        "{stderr}"
    );
    let logged: Vec<Value> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert!(
        logged
            .iter()
            .any(|v| v["level"] == "INFO" && v["fields"]["message"].is_string()),
        "no JSON log line in {stderr}"
    );
}

#[test]
fn an_unreachable_chain_at_start_is_code_3_and_a_bad_log_filter_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let chain = chain_for(dir.path(), &[port]);
    let (config, _) = NodeSpec::new(dir.path(), port).write_config(&chain);
    let out = run_node(&config, &["--log", "info,["]);
    assert_eq!(out.status.code(), Some(i32::from(exit_code::CONFIG)));
    drop(chain);
    let out = run_node(&config, &[]);
    assert_eq!(
        out.status.code(),
        Some(i32::from(exit_code::CHAIN_UNREACHABLE)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_store_locked_by_another_process_stops_the_node_with_code_4_after_its_retries() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let chain = chain_for(dir.path(), &[port]);
    let (config, store) = NodeSpec::new(dir.path(), port).write_config(&chain);
    std::fs::create_dir_all(&store).unwrap();
    let lock = std::fs::File::create(store.join("LOCK")).unwrap();
    // SAFETY: flock on a descriptor we own, open for the call's duration.
    let locked = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    assert_eq!(locked, 0);
    let started = std::time::Instant::now();
    let out = run_node(&config, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(i32::from(exit_code::STORE_LOCKED)),
        "{stderr}"
    );
    assert!(stderr.contains("in use by another process"), "{stderr}");
    // Retried for a while (a previous data plane may still be draining), then given up.
    assert!(stderr.contains("giving up"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(40), "{stderr}");
    drop(lock);
}

async fn get_json(url: &str) -> (u16, Value) {
    let r = client().get(url).send().await.expect("GET");
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn readyz_waits_for_the_data_plane_and_the_placement_and_healthz_answers_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let chain = chain_for(dir.path(), &[port]);
    let mut spec = NodeSpec::new(dir.path(), port);
    spec.attach = true;
    let node = StorageNode::start(&chain, spec);
    let (status, body) = get_json(&format!("{}/healthz", node.operator)).await;
    assert_eq!((status, &body["alive"]), (200, &Value::Bool(true)));
    // No data plane yet: alive, not ready, and the store check says why.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (status, body) = get_json(&format!("{}/readyz", node.operator)).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["checks"]["store"]["ok"], false, "{body}");
    let _dataplane = DataPlane::start(&node.store, port);
    let mut last = Value::Null;
    for _ in 0..100 {
        let (status, body) = get_json(&format!("{}/readyz", node.operator)).await;
        if status == 200 {
            assert_eq!(body["ready"], true);
            assert_eq!(body["checks"]["chain"]["ok"], true, "{body}");
            return;
        }
        last = body;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("never ready: {last}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_colossus_node_migrates_in_place_and_a_corrupt_file_is_left_out_and_never_served() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let chain = chain_for(&dir.path().join("chain"), &[port]);
    let (ok, _, err) = crate::support::cli(&chain, &["member", "create-channel"]);
    assert!(ok, "{err}");
    let files: Vec<Vec<u8>> = (0..3)
        .map(|i| crate::storage::video(40_000 + i * 1000, i as u8))
        .collect();
    let mut ids = Vec::new();
    for (i, bytes) in files.iter().enumerate() {
        let path = dir.path().join(format!("v{i}.mp4"));
        std::fs::write(&path, bytes).unwrap();
        ids.push(crate::distributor::register_in(&chain, 0, &path));
    }
    // A Colossus uploads directory: objects 0 and 1 as the chain declares them, object 2 with
    // one byte flipped (same size), a file the chain does not know, and Colossus's subfolders.
    let uploads = dir.path().join("uploads");
    std::fs::create_dir_all(uploads.join("temp")).unwrap();
    std::fs::create_dir_all(uploads.join("pending")).unwrap();
    std::fs::write(uploads.join(ids[0].to_string()), &files[0]).unwrap();
    std::fs::write(uploads.join("pending").join(ids[1].to_string()), &files[1]).unwrap();
    let mut corrupt = files[2].clone();
    corrupt[1000] ^= 0x40;
    std::fs::write(uploads.join(ids[2].to_string()), &corrupt).unwrap();
    std::fs::write(uploads.join("424242"), b"not on chain").unwrap();

    let out_toml = dir.path().join("node.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_hecaton"))
        .args(["storage-node", "migrate", "--out"])
        .arg(&out_toml)
        .args([
            "--chain",
            &chain.url,
            "--",
            "storage-node",
            "server",
            "-w",
            "1",
            "-d",
        ])
        .arg(&uploads)
        .args([
            "-o",
            &port.to_string(),
            "--sync",
            "-q",
            "http://squid:4352/graphql",
        ])
        .env("ACCOUNT_URI", "//StorageTransactor0")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(i32::from(exit_code::MIGRATE_LEFT_OUT)),
        "{stdout}\n{stderr}"
    );
    assert!(stdout.contains("imported 2 objects"), "{stdout}");
    let report =
        std::fs::read_to_string(uploads.join("hecaton-store/migrate/left-out.tsv")).unwrap();
    assert_eq!(report.lines().count(), 2, "{report}");
    assert!(
        report.contains(&format!("/{}\tcontent id", ids[2])),
        "{report}"
    );
    assert!(
        report.contains("/424242\tthe chain lists no such object"),
        "{report}"
    );
    assert!(
        uploads.join(ids[2].to_string()).exists(),
        "left where it was"
    );
    assert!(
        !uploads.join(ids[0].to_string()).exists(),
        "adopted in place"
    );
    let toml = std::fs::read_to_string(&out_toml).unwrap();
    assert!(
        toml.contains("worker_id = 1") && toml.contains(&format!(":{port}\"")),
        "{toml}"
    );

    // The node runs on what migrate wrote (its operator port moved off the default), accepts
    // the adopted uploads on chain and serves them; the corrupt file is never served.
    let mut node = Command::new(env!("CARGO_BIN_EXE_hecaton"))
        .args(["storage-node", "--config"])
        .arg(&out_toml)
        .env("HECATON_OPERATOR_LISTEN", "127.0.0.1:0")
        .env("HECATON_SHARDS", "1")
        .env("HECATON_DATAPLANE_IO_MEMORY_MIB", "1")
        .env("HECATON_DATAPLANE_ALLOW_PRIVATE_PEERS", "true")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}/api/v1/files");
    for id in &ids[..2] {
        let want = &files[ids.iter().position(|i| i == id).unwrap()];
        let mut got = None;
        for _ in 0..150 {
            if let Ok(r) = client().get(format!("{base}/{id}")).send().await {
                if r.status() == 200 {
                    got = Some(r.bytes().await.unwrap());
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            got.as_deref() == Some(want.as_slice()),
            "object {id} not served"
        );
    }
    for id in [ids[2], 424242] {
        let r = client().get(format!("{base}/{id}")).send().await.unwrap();
        assert_eq!(r.status(), 404, "object {id}");
    }
    // The adopted objects were pending on chain: the node accepts them from its inventory.
    for id in &ids[..2] {
        crate::node::eventually(20, "acceptance of an adopted object", || async {
            crate::storage::accepted(&chain, *id).await.then_some(())
        })
        .await;
    }
    assert!(!crate::storage::accepted(&chain, ids[2]).await);
    // SAFETY: kill(2) on our own child; a SIGTERM lets it stop its data plane too.
    unsafe { libc::kill(node.id() as i32, libc::SIGTERM) };
    let _ = node.wait();
}

#[test]
fn an_argus_config_migrates_to_a_distributor_toml_the_node_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let yml = dir.path().join("config.yml");
    std::fs::write(
        &yml,
        "id: argus-1\nendpoints:\n  storageSquid: http://squid:4352/graphql\n  joystreamNodeWs: ws://localhost:9944\n\
         directories:\n  assets: ./data\n  cacheState: ./cache\nlimits:\n  storage: 20G\n  maxConcurrentStorageNodeDownloads: 50\n  \
         maxConcurrentOutboundConnections: 300\n  outboundRequestsTimeoutMs: 3000\n  pendingDownloadTimeoutSec: 3600\n\
         intervals:\n  saveCacheState: 60\n  checkStorageNodeResponseTimes: 20\n  cacheCleanup: 86400\n\
         publicApi:\n  port: 3334\noperatorApi:\n  port: 3335\n  hmacSecret: this-hmac-secret-is-32-bytes-long\nworkerId: 2\n",
    )
    .unwrap();
    let out = dir.path().join("distributor.toml");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hecaton"))
            .args(args)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let o = run(&[
        "distributor-node",
        "migrate",
        "--argus-config",
        yml.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("size_mib = 20480"), "{text}");
    assert!(
        text.contains(&format!(
            "{}",
            dir.path().join("data/hecaton-cache").display()
        )),
        "{text}"
    );
    let o = run(&[
        "distributor-node",
        "--config",
        out.to_str().unwrap(),
        "--check-config",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // A second run does not overwrite it.
    let o = run(&[
        "distributor-node",
        "migrate",
        "--argus-config",
        yml.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn tune_check_reports_the_host_and_the_store_as_json_with_fixes() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hecaton"))
        .args([
            "tune",
            "check",
            "--json",
            "--shards",
            "1",
            "--io-memory-mib",
            "1",
            "--store",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).expect("a JSON array");
    let names: Vec<&str> = rows.iter().filter_map(|r| r["name"].as_str()).collect();
    for want in [
        "io_uring", "memlock", "nofile", "sysctl", "thp", "governor", "store", "space",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    for r in &rows {
        if r["status"] != "ok" {
            assert!(r["fix"].is_string(), "a finding without its fix: {r}");
        }
    }
}
