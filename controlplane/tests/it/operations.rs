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
fn a_store_locked_by_another_process_stops_the_node_with_code_4_without_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let chain = chain_for(dir.path(), &[port]);
    let (config, store) = NodeSpec::new(dir.path(), port).write_config(&chain);
    std::fs::create_dir_all(&store).unwrap();
    let lock = std::fs::File::create(store.join("LOCK")).unwrap();
    // SAFETY: flock on a descriptor we own, open for the call's duration.
    let locked = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    assert_eq!(locked, 0);
    let out = run_node(&config, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(i32::from(exit_code::STORE_LOCKED)),
        "{stderr}"
    );
    assert!(stderr.contains("in use by another process"), "{stderr}");
    assert!(!stderr.contains("exited; restarting"), "{stderr}");
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
