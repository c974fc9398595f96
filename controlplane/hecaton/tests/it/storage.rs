//! End to end with real processes: the embedded chain, storage nodes (control plane + data
//! plane), uploads over HTTP, acceptance on chain, restarts.

use std::time::Duration;

use hecaton_shared::ContentId;
use serde_json::Value;

use crate::node::{chain_for, eventually, free_port, DataPlane, NodeSpec, StorageNode};
use crate::support::{cli, client, get, ChainProcess};

pub const BAG: &str = "dynamic:channel:0";

/// Creates channel 0 and registers `files` as a video; returns the object ids.
pub fn register(chain: &ChainProcess, files: &[&std::path::Path]) -> Vec<u64> {
    register_video(chain, files).1
}

/// Creates channel 0 and registers `files` as a video; returns its id and the object ids.
pub fn register_video(chain: &ChainProcess, files: &[&std::path::Path]) -> (u64, Vec<u64>) {
    let (ok, _, err) = cli(chain, &["member", "create-channel"]);
    assert!(ok, "{err}");
    let mut args = vec![
        "member",
        "upload",
        "--register-only",
        "--channel",
        "0",
        "--json",
    ];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let (ok, out, err) = cli(chain, &args);
    assert!(ok, "{err}");
    let inclusion: Value = serde_json::from_str(out.trim()).unwrap();
    let created = inclusion["events"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|e| e.get("event")?.get("VideoCreated").cloned())
        .expect("VideoCreated");
    let ids = created[2]
        .as_array()
        .expect("object ids")
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    (created[1].as_u64().expect("video id"), ids)
}

/// A multipart upload as curl -F sends it; retried while the node has not seen the object yet.
pub async fn upload(node: &StorageNode, id: u64, bucket: u64, bytes: &[u8]) -> (u16, Value) {
    let url = node.url(&format!(
        "/api/v1/files?dataObjectId={id}&storageBucketId={bucket}&bagId={BAG}"
    ));
    // Sent the moment registration returned, as Atlas does: a node that has not applied the
    // registering block yet waits for it (no retries here).
    let part = reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("video.mp4");
    let form = reqwest::multipart::Form::new().part("file", part);
    let r = client().post(&url).multipart(form).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

pub async fn accepted(chain: &ChainProcess, id: u64) -> bool {
    let (_, objects) = get(&chain.api(&format!("storage/bags/{BAG}/objects"))).await;
    objects
        .as_array()
        .is_some_and(|a| a.iter().any(|o| o["id"] == id && o["accepted"] == true))
}

pub fn video(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_over_http_is_accepted_on_chain_within_blocks_and_served() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let chain = chain_for(&dir.path().join("chain"), &[port]);
    let node = StorageNode::start(&chain, NodeSpec::new(dir.path(), port));
    let bytes = video(1_500_000, 1);
    let file = dir.path().join("video.mp4");
    std::fs::write(&file, &bytes).unwrap();
    let ids = register(&chain, &[&file]);

    // A bucket this node does not operate: Colossus's 503.
    let (status, body) = upload(&node, ids[0], 7, &bytes).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (503, Some("upload")),
        "{body}"
    );

    let (status, body) = upload(&node, ids[0], 0, &bytes).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["id"], ContentId::of(&bytes).to_string());
    // Served at once, before acceptance, byte for byte.
    let served = client()
        .get(node.url(&format!("/api/v1/files/{}", ids[0])))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(served == bytes, "served bytes differ");
    // Accepted within a few blocks (200 ms each).
    eventually(5, "acceptance on chain", || async {
        accepted(&chain, ids[0]).await.then_some(())
    })
    .await;
    let (_, listed) = get(&node.url(&format!("/api/v1/state/bags/{BAG}/data-objects"))).await;
    assert_eq!(listed, serde_json::json!([ids[0].to_string()]));
    let (_, colossus) = get(&node.url("/api/v1/status")).await;
    assert_eq!(colossus["uploadBuckets"], serde_json::json!(["0"]));
    let status = eventually(5, "usage reported", || async {
        let s = node.status().await;
        (s["objects"]["held"] == 1).then_some(s)
    })
    .await;
    assert_eq!(status["acceptance"]["accepted"], 1, "{status}");
    assert_eq!(status["objects"]["missing"], 0, "{status}");
    assert_eq!(status["objects"]["pending_acceptance"], 0, "{status}");
    assert_eq!(status["dataplane"]["connected"], true);
    let metrics = client()
        .get(format!("{}/metrics", node.operator))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("hecaton_objects_accepted_total 1"),
        "{metrics}"
    );

    // The member's own command: register, send with the multipart API, wait for acceptance.
    let second = dir.path().join("thumb.jpg");
    std::fs::write(&second, video(70_000, 2)).unwrap();
    let (ok, out, err) = cli(
        &chain,
        &[
            "member",
            "upload",
            "--channel",
            "0",
            second.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("accepted on chain"), "{out}");
    assert!(
        out.contains("resumable upload"),
        "member upload uses tus: {out}"
    );

    // The data plane's counters reach the operator API's metrics (reported every 2 s).
    let metrics_url = format!("{}/metrics", node.operator);
    let metrics = eventually(10, "data plane metrics", || async {
        let text = client()
            .get(&metrics_url)
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        let uploads = text.contains("hecaton_dataplane_uploads_total{outcome=\"stored\"} 2")
            && text.contains("hecaton_dataplane_uploads_total{outcome=\"refused\"}");
        let latency = text.contains("hecaton_dataplane_request_duration_seconds_bucket{");
        (uploads && latency && text.contains("route=\"files_get\"")).then_some(text)
    })
    .await;
    crate::dashboards::assert_exported(crate::dashboards::STORAGE, &metrics);
    assert!(
        metrics.contains("hecaton_process_resident_memory_bytes{plane=\"data\"}"),
        "the data plane's process is measured: {metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_control_plane_resyncs_and_accepts_what_the_data_plane_stored() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let chain = chain_for(&dir.path().join("chain"), &[port]);
    // The data plane runs on its own; the control plane attaches to it.
    let _dataplane = DataPlane::start(&dir.path().join("store-0"), port);
    let spec = |interval| NodeSpec {
        attach: true,
        accept_interval_ms: interval,
        ..NodeSpec::new(dir.path(), port)
    };
    // Acceptance far in the future: the control plane dies before it submits.
    let mut node = StorageNode::start(&chain, spec(60_000));
    let bytes = video(300_000, 3);
    let file = dir.path().join("v.mp4");
    std::fs::write(&file, &bytes).unwrap();
    let ids = register(&chain, &[&file]);
    assert_eq!(upload(&node, ids[0], 0, &bytes).await.0, 201);
    node.kill();
    // The data plane keeps serving on its last placement.
    let (status, _) = get(&node.url(&format!("/api/v1/files/{}", ids[0]))).await;
    assert_eq!(status, 200);
    assert!(!accepted(&chain, ids[0]).await);

    let node = StorageNode::start(&chain, spec(200));
    eventually(10, "acceptance after the restart", || async {
        accepted(&chain, ids[0]).await.then_some(())
    })
    .await;
    let status = node.status().await;
    assert_eq!(status["dataplane"]["connected"], true, "{status}");
    assert!(status["placement"]["applied_block"].as_u64().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_data_plane_killed_mid_upload_is_restarted_and_serves_nothing_partial() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let chain = chain_for(&dir.path().join("chain"), &[port]);
    let node = StorageNode::start(&chain, NodeSpec::new(dir.path(), port));
    let bytes = video(4_000_000, 4);
    let file = dir.path().join("big.mp4");
    std::fs::write(&file, &bytes).unwrap();
    let ids = register(&chain, &[&file]);
    // Start an upload by hand and stop sending half-way.
    let mut c = std::net::TcpStream::connect(node.public).unwrap();
    let boundary = "b0undary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let head = format!(
        "POST /api/v1/files?dataObjectId={}&storageBucketId=0&bagId={BAG} HTTP/1.1\r\nHost: x\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        ids[0],
        body.len()
    );
    std::io::Write::write_all(&mut c, head.as_bytes()).unwrap();
    std::io::Write::write_all(&mut c, &body[..body.len() / 2]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // SIGKILL the data plane the node supervises.
    let pid = dataplane_pid(&node.store).expect("the supervised data plane");
    // SAFETY: signalling a process of this test; kill has no memory-safety preconditions.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    drop(c);
    // Restarted by the supervisor; nothing partial served; the temp file was swept.
    eventually(15, "a new data plane", || async {
        dataplane_pid(&node.store).filter(|p| *p != pid)
    })
    .await;
    crate::node::wait_for_port(node.public);
    let (status, _) = get(&node.url(&format!("/api/v1/files/{}", ids[0]))).await;
    assert_eq!(status, 404);
    let leftovers = std::fs::read_dir(node.store.join("tmp")).unwrap().count();
    assert_eq!(leftovers, 0, "temp files left after the restart");
    // Once the new data plane has its placement, the client can upload again.
    eventually(10, "placement pushed to the new data plane", || async {
        let s = node.status().await;
        (s["dataplane"]["sessions"].as_u64() >= Some(2) && s["dataplane"]["connected"] == true)
            .then_some(())
    })
    .await;
    let (status, body) = upload(&node, ids[0], 0, &bytes).await;
    assert_eq!(status, 201, "{body}");
    eventually(5, "acceptance", || async {
        accepted(&chain, ids[0]).await.then_some(())
    })
    .await;
}

/// The pid of the data plane serving `store`, from /proc.
fn dataplane_pid(store: &std::path::Path) -> Option<i32> {
    let needle = store.to_str()?;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let is_dataplane =
            args.iter().any(|a| *a == b"dataplane") && args.contains(&needle.as_bytes());
        let alive =
            std::fs::read_to_string(entry.path().join("stat")).is_ok_and(|s| !s.contains(") Z "));
        if is_dataplane && alive {
            return Some(pid);
        }
    }
    None
}

/// One multipart POST, no retry: (status, message).
async fn post_once(node: &StorageNode, query: &str, body: Vec<u8>) -> (u16, String) {
    let part = reqwest::multipart::Part::bytes(body).file_name("f");
    let form = reqwest::multipart::Form::new().part("file", part);
    let r = client()
        .post(node.url(&format!("/api/v1/files?{query}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    (
        status,
        body["message"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn every_refusal_end_to_end_with_the_chain_deciding() {
    let dir = tempfile::tempdir().unwrap();
    let (port, other) = (free_port(), free_port());
    let chain = chain_for(&dir.path().join("chain"), &[port, other]);
    // Bucket 1 belongs to worker 2; this node lists it but does not operate it.
    let node = StorageNode::start(
        &chain,
        NodeSpec {
            buckets: "[0, 1]",
            ..NodeSpec::new(dir.path(), port)
        },
    );
    let bytes = video(200_000, 5);
    let file = dir.path().join("v.mp4");
    std::fs::write(&file, &bytes).unwrap();
    let id = register(&chain, &[&file])[0];
    let q = |id: u64, bucket: u64, bag: &str| {
        format!("dataObjectId={id}&storageBucketId={bucket}&bagId={bag}")
    };

    // Wrong size first: its retries wait until the node has the object in placement.
    let (status, body) = upload(&node, id, 0, &bytes[..1000]).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("File size doesn't match"));
    let mut wrong = bytes.clone();
    wrong[7] ^= 1;
    let cases: Vec<(String, Vec<u8>, u16, &str)> = vec![
        (
            q(999, 0, BAG),
            bytes.clone(),
            400,
            "Error: Data object 999 doesn't exist in storage bag dynamic:channel:0",
        ),
        (
            q(id, 0, "dynamic:channel:5"),
            bytes.clone(),
            400,
            "Error: Storage bag dynamic:channel:5 is not assigned to storage bucket 0.",
        ),
        (
            q(id, 7, BAG),
            bytes.clone(),
            503,
            "Error: Server is not accepting uploads into this bucket",
        ),
        (
            q(id, 1, BAG),
            bytes.clone(),
            400,
            "Error: Incorrect storage bucket ID.",
        ),
        (
            q(id, 0, BAG),
            wrong.clone(),
            400,
            "Error: File multihash doesn't match",
        ),
        (q(id, 0, BAG), video(300_000, 5), 413, "File too large"),
    ];
    for (query, body, status, message) in cases {
        let (got, text) = post_once(&node, &query, body).await;
        assert_eq!(got, status, "{query}: {text}");
        assert!(text.starts_with(message), "{query}: {text:?}");
    }

    // The lead blacklists the object's content: refused once the node sees the block. (Probes
    // carry wrong bytes, so that a probe answered before the node sees the block stores nothing.)
    let cid = ContentId::of(&bytes).to_string();
    let (ok, _, err) = cli(
        &chain,
        &["leader", "storage", "update-blacklist", "--add", &cid],
    );
    assert!(ok, "{err}");
    let text = eventually(5, "the blacklist refusal", || async {
        let (status, text) = post_once(&node, &q(id, 0, BAG), wrong.clone()).await;
        (status == 400 && text.contains("blacklisted")).then_some(text)
    })
    .await;
    assert!(text.contains(&cid), "{text}");

    // The lead blocks all uploads (checked before the object, so the blacklist does not mask it).
    let (ok, _, err) = cli(
        &chain,
        &[
            "leader",
            "storage",
            "set-global-uploading-status",
            "--blocked",
            "on",
        ],
    );
    assert!(ok, "{err}");
    eventually(5, "the uploads-blocked refusal", || async {
        let (status, text) = post_once(&node, &q(id, 0, BAG), wrong.clone()).await;
        (status == 503 && text == "Error: Uploading is blocked on chain.").then_some(())
    })
    .await;
    let (ok, _, err) = cli(
        &chain,
        &[
            "leader",
            "storage",
            "set-global-uploading-status",
            "--blocked",
            "off",
        ],
    );
    assert!(ok, "{err}");

    let (ok, _, err) = cli(
        &chain,
        &["leader", "storage", "update-blacklist", "--remove", &cid],
    );
    assert!(ok, "{err}");
    // And with everything right (once the node has seen both blocks), the upload is stored
    // and accepted.
    let (status, body) = eventually(5, "the upload", || async {
        let r = upload(&node, id, 0, &bytes).await;
        let waiting = r.0 == 503
            || r.1["message"]
                .as_str()
                .is_some_and(|m| m.contains("blacklisted"));
        (!waiting).then_some(r)
    })
    .await;
    assert_eq!(status, 201, "{body}");
    eventually(5, "acceptance", || async {
        accepted(&chain, id).await.then_some(())
    })
    .await;
    assert_eq!(
        std::fs::read_dir(node.store.join("tmp")).unwrap().count(),
        0
    );
}
