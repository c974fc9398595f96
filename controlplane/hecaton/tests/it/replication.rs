//! Storage nodes keeping every bag complete, end to end with real processes on loopback: the
//! embedded chain and up to three storage nodes (control plane + data plane each) whose buckets
//! all store the channel's bag.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::node::{chain_for, eventually, free_port, NodeSpec, StorageNode};
use crate::storage::{accepted, register, register_video, upload, video, BAG};
use crate::support::{cli, client, ChainProcess};

/// Sync and cleanup settings that make the tests quick: probes and rechecks every second.
const FAST_SYNC: &str = "probe_interval_secs = 1\nretry_secs = 1\nretry_max_secs = 2\n";
const FAST_CLEANUP: &str = "[cleanup]\nrecheck_secs = 1\nhead_timeout_secs = 2\n";

pub(crate) struct Network {
    dir: tempfile::TempDir,
    pub(crate) chain: ChainProcess,
    ports: Vec<u16>,
}

impl Network {
    /// A chain with `n` storage buckets (one per node, all storing every bag).
    pub(crate) fn new(n: usize) -> Network {
        let dir = tempfile::tempdir().unwrap();
        let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let chain = chain_for(&dir.path().join("chain"), &ports);
        Network { dir, chain, ports }
    }

    /// Starts node `index` with `sync` settings added to `[sync]`.
    pub(crate) fn node(&self, index: usize, sync: &str) -> StorageNode {
        self.node_with(index, sync, "")
    }

    /// Starts node `index` with `sync` settings added to `[sync]` and `dataplane` lines to
    /// `[dataplane]`.
    pub(crate) fn node_with(&self, index: usize, sync: &str, dataplane: &str) -> StorageNode {
        let extra = format!("[sync]\n{FAST_SYNC}{sync}{FAST_CLEANUP}");
        StorageNode::start(
            &self.chain,
            NodeSpec {
                index,
                extra: &extra,
                dataplane,
                ..NodeSpec::new(self.dir.path(), self.ports[index])
            },
        )
    }

    pub(crate) fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }
}

/// Uploads `bytes` as object `id` to `node` (its bucket is its index) and waits for acceptance.
pub(crate) async fn upload_accepted(
    chain: &ChainProcess,
    node: &StorageNode,
    bucket: u64,
    id: u64,
    bytes: &[u8],
) {
    let (status, body) = upload(node, id, bucket, bytes).await;
    assert_eq!(status, 201, "{body}");
    eventually(10, "acceptance on chain", || async {
        accepted(chain, id).await.then_some(())
    })
    .await;
}

/// The object's bytes as `node` serves them, if it does.
async fn served(node: &StorageNode, id: u64) -> Option<Vec<u8>> {
    let r = client()
        .get(node.url(&format!("/api/v1/files/{id}")))
        .send()
        .await
        .ok()?;
    if r.status() != 200 {
        return None;
    }
    Some(r.bytes().await.ok()?.to_vec())
}

async fn status_code(node: &StorageNode, id: u64) -> u16 {
    client()
        .get(node.url(&format!("/api/v1/files/{id}")))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// Waits until `node` serves exactly `bytes` as object `id`.
pub(crate) async fn replicated(node: &StorageNode, id: u64, bytes: &[u8], secs: u64) {
    eventually(secs, &format!("object {id} on {}", node.public), || async {
        served(node, id).await.filter(|b| b == bytes).map(|_| ())
    })
    .await;
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_to_one_node_appears_on_the_others_byte_identical() {
    let net = Network::new(3);
    let nodes: Vec<StorageNode> = (0..3).map(|i| net.node(i, "")).collect();
    let clip = video(2_500_000, 1);
    let thumb = video(40_000, 2);
    write(&net.path("clip.mp4"), &clip);
    write(&net.path("thumb.jpg"), &thumb);
    let ids = register(&net.chain, &[&net.path("clip.mp4"), &net.path("thumb.jpg")]);
    upload_accepted(&net.chain, &nodes[0], 0, ids[0], &clip).await;
    upload_accepted(&net.chain, &nodes[0], 0, ids[1], &thumb).await;
    for node in &nodes[1..] {
        replicated(node, ids[0], &clip, 20).await;
        replicated(node, ids[1], &thumb, 20).await;
    }
    // Both status pages say so.
    let status = eventually(10, "an empty backlog", || async {
        let s = nodes[2].status().await;
        (s["sync"]["backlog"]["objects"] == 0 && s["sync"]["fetched"] == 2).then_some(s)
    })
    .await;
    assert_eq!(status["objects"]["missing"], 0, "{status}");
    let peers = status["sync"]["peers"].as_array().unwrap();
    assert_eq!(
        peers.len(),
        2,
        "the two other nodes, never itself: {status}"
    );
    let (_, public) = crate::support::get(&nodes[2].url("/api/v1/status")).await;
    assert_eq!(public["sync"]["enabled"], true, "{public}");
    assert_eq!(public["sync"]["fetched"], 2, "{public}");
    assert_eq!(
        public["cleanup"]["minReplicationThresholdForPruning"], 2,
        "{public}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_copy_is_rejected_and_the_object_fetched_from_another_peer() {
    let net = Network::new(3);
    // A's scrub would find its rotten copy and stop serving it: A is to be a liar here.
    let a = net.node_with(0, "", "scrub_mib_per_sec = 0\n");
    let mut b = Some(net.node(1, ""));
    let bytes = video(1_500_000, 3);
    write(&net.path("v.mp4"), &bytes);
    let id = register(&net.chain, &[&net.path("v.mp4")])[0];
    upload_accepted(&net.chain, &a, 0, id, &bytes).await;
    replicated(b.as_ref().unwrap(), id, &bytes, 20).await;
    // A's copy rots on disk (same size, other bytes); B goes down. C can only get bad bytes.
    let mut rotten = bytes.clone();
    rotten[700_000] ^= 0x55;
    write(&a.store.join(format!("objects/{id}")), &rotten);
    drop(b.take());
    let c = net.node(2, "");
    let a_endpoint = format!("http://{}/", a.public);
    eventually(20, "C rejecting A's copy", || async {
        let s = c.status().await;
        let peers = s["sync"]["peers"].as_array()?.clone();
        peers
            .iter()
            .any(|p| {
                p["endpoint"] == a_endpoint.as_str()
                    && p["failures"].as_u64() > Some(0)
                    && p["last_error"]
                        .as_str()
                        .is_some_and(|e| e.contains("content id"))
            })
            .then_some(())
    })
    .await;
    assert_eq!(
        status_code(&c, id).await,
        404,
        "nothing unverified is served"
    );
    // B comes back; C fetches its good copy.
    let b = net.node(1, "");
    replicated(&c, id, &bytes, 30).await;
    let b_endpoint = format!("http://{}/", b.public);
    eventually(5, "the fetch from B in C's status", || async {
        let s = c.status().await;
        (s["sync"]["recent"][0]["source"] == b_endpoint.as_str()).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_killed_mid_transfer_is_resumed_from_another_peer() {
    let net = Network::new(3);
    let a = net.node(0, "");
    let b = net.node(1, "");
    let bytes = video(40 << 20, 4);
    write(&net.path("big.mp4"), &bytes);
    let id = register(&net.chain, &[&net.path("big.mp4")])[0];
    upload_accepted(&net.chain, &a, 0, id, &bytes).await;
    replicated(&b, id, &bytes, 30).await;
    // C replicates at 8 MiB/s: about five seconds for the object.
    let c = net.node(2, "max_mib_per_sec = 8\n");
    let source = eventually(20, "C's transfer to start", || async {
        let s = c.status().await;
        s["sync"]["in_flight"][0]["source"]
            .as_str()
            .map(str::to_string)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let killed = [&a, &b]
        .into_iter()
        .find(|n| format!("http://{}/", n.public) == source)
        .expect("the source is A or B");
    killed.kill_dataplane();
    replicated(&c, id, &bytes, 40).await;
    let s = eventually(5, "the fetch in C's status", || async {
        let s = c.status().await;
        s["sync"]["recent"][0].is_object().then_some(s)
    })
    .await;
    let done = &s["sync"]["recent"][0];
    assert!(
        done["resumed_from"].as_u64().unwrap() > 0,
        "resumed with a range: {s}"
    );
    assert!(
        s["sync"]["peers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["endpoint"] == source.as_str() && p["failures"].as_u64() > Some(0)),
        "the cut counts against the source: {s}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unassigned_bag_is_dropped_only_after_other_holders_confirm_their_copies() {
    let net = Network::new(3);
    let a = net.node(0, "");
    let mut b = Some(net.node(1, ""));
    let c = net.node(2, "");
    let bytes = video(300_000, 5);
    write(&net.path("v.mp4"), &bytes);
    let id = register(&net.chain, &[&net.path("v.mp4")])[0];
    upload_accepted(&net.chain, &a, 0, id, &bytes).await;
    replicated(b.as_ref().unwrap(), id, &bytes, 20).await;
    replicated(&c, id, &bytes, 20).await;
    // B goes down, then the bag leaves C's bucket: only A can confirm, two are needed.
    drop(b.take());
    let (ok, _, err) = cli(
        &net.chain,
        &[
            "leader",
            "storage",
            "update-bag",
            "--bag",
            BAG,
            "--remove",
            "2",
        ],
    );
    assert!(ok, "{err}");
    let status = eventually(15, "C waiting for confirmations", || async {
        let s = c.status().await;
        (s["cleanup"]["waiting"]["objects"] == 1).then_some(s)
    })
    .await;
    let first = &status["cleanup"]["waiting"]["first"][0];
    assert_eq!(
        first["confirmed"],
        serde_json::json!([format!("http://{}/", a.public)]),
        "{status}"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        served(&c, id).await.is_some(),
        "kept while only one holder confirms"
    );
    // B is back: two confirmations, and C drops its copy.
    let _b = net.node(1, "");
    eventually(20, "C dropping the object", || async {
        (status_code(&c, id).await == 404).then_some(())
    })
    .await;
    eventually(5, "the removal counted and the store emptied", || async {
        let s = c.status().await;
        (s["cleanup"]["removed"]["unassigned"] == 1 && s["objects"]["held"] == 0).then_some(())
    })
    .await;
    assert!(served(&a, id).await.is_some(), "the holders keep theirs");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_video_deleted_on_chain_is_removed_from_every_node() {
    let net = Network::new(3);
    let nodes: Vec<StorageNode> = (0..3).map(|i| net.node(i, "")).collect();
    let bytes = video(500_000, 6);
    write(&net.path("v.mp4"), &bytes);
    let (video_id, ids) = register_video(&net.chain, &[&net.path("v.mp4")]);
    upload_accepted(&net.chain, &nodes[0], 0, ids[0], &bytes).await;
    for node in &nodes[1..] {
        replicated(node, ids[0], &bytes, 20).await;
    }
    let (ok, _, err) = cli(
        &net.chain,
        &["member", "delete", "--video", &video_id.to_string()],
    );
    assert!(ok, "{err}");
    for node in &nodes {
        eventually(15, "the deletion everywhere", || async {
            (status_code(node, ids[0]).await == 404).then_some(())
        })
        .await;
        eventually(5, "the removal counted", || async {
            let s: Value = node.status().await;
            (s["cleanup"]["removed"]["object_deleted"] == 1).then_some(())
        })
        .await;
        // The file goes a moment after the object leaves the catalog.
        let file = node.store.join(format!("objects/{}", ids[0]));
        eventually(5, "the file unlinked", || async {
            (!file.exists()).then_some(())
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_restarted_with_half_its_backlog_completes_it() {
    let net = Network::new(2);
    let a = net.node(0, "");
    let objects: Vec<Vec<u8>> = (0..6).map(|i| video(3 << 20, 10 + i)).collect();
    let files: Vec<std::path::PathBuf> =
        (0..6).map(|i| net.path(&format!("part{i}.mp4"))).collect();
    for (f, o) in files.iter().zip(&objects) {
        write(f, o);
    }
    let refs: Vec<&Path> = files.iter().map(|f| f.as_path()).collect();
    let ids = register(&net.chain, &refs);
    for (id, o) in ids.iter().zip(&objects) {
        upload_accepted(&net.chain, &a, 0, *id, o).await;
    }
    // B replicates 18 MiB at 4 MiB/s; it is killed (both planes) part way.
    let slow = "max_mib_per_sec = 4\nconcurrency = 1\n";
    let mut b = net.node(1, slow);
    let held = eventually(20, "some of the backlog done", || async {
        let s = b.status().await;
        let held = s["objects"]["held"].as_u64()?;
        (held >= 1).then_some(held)
    })
    .await;
    b.kill();
    b.kill_dataplane();
    assert!(held < 6, "killed with work left ({held} held)");
    let b = net.node(1, "");
    for (id, o) in ids.iter().zip(&objects) {
        replicated(&b, *id, o, 30).await;
    }
    eventually(5, "an empty backlog", || async {
        let s = b.status().await;
        (s["sync"]["backlog"]["objects"] == 0).then_some(())
    })
    .await;
    let tmp = std::fs::read_dir(b.store.join("tmp")).unwrap().count();
    assert_eq!(tmp, 0, "no temp file left");
}
