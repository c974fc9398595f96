//! The scrub end to end: a byte flipped in a stored file on one of two storage nodes is found by
//! that node's scrub, the object set aside and removed, fetched again from the other node, and
//! served whole; `/status` counts it corrupt and repaired.

use std::io::{Seek, SeekFrom, Write};

use crate::node::{eventually, StorageNode};
use crate::replication::{replicated, upload_accepted, Network};
use crate::storage::{register, video};

/// A scrub that never rests: passes one after the other, fast.
const SCRUB: &str = "scrub_mib_per_sec = 256\nscrub_pass_hours = 0\n";

#[tokio::test(flavor = "multi_thread")]
async fn a_flipped_byte_is_found_by_the_scrub_and_repaired_from_a_peer() {
    let net = Network::new(2);
    let nodes: Vec<StorageNode> = vec![net.node(0, ""), net.node_with(1, "", SCRUB)];
    let clip = video(300_000, 7);
    let thumb = video(20_000, 8);
    std::fs::write(net.path("clip.bin"), &clip).unwrap();
    std::fs::write(net.path("thumb.bin"), &thumb).unwrap();
    let ids = register(&net.chain, &[&net.path("clip.bin"), &net.path("thumb.bin")]);
    upload_accepted(&net.chain, &nodes[0], 0, ids[0], &clip).await;
    upload_accepted(&net.chain, &nodes[0], 0, ids[1], &thumb).await;
    replicated(&nodes[1], ids[0], &clip, 30).await;
    replicated(&nodes[1], ids[1], &thumb, 30).await;
    eventually(20, "a first clean scrub pass", || async {
        let s = nodes[1].status().await;
        (s["scrub"]["passes"].as_u64() >= Some(1) && s["scrub"]["corrupt"] == 0).then_some(())
    })
    .await;

    // One bit, in place, in the middle of the clip.
    let path = nodes[1].store.join("objects").join(ids[0].to_string());
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    f.seek(SeekFrom::Start(150_000)).unwrap();
    f.write_all(&[clip[150_000] ^ 0x04]).unwrap();
    f.sync_all().unwrap();
    drop(f);

    let status = eventually(30, "the corruption found and repaired", || async {
        let s = nodes[1].status().await;
        (s["scrub"]["corrupt"] == 1 && s["scrub"]["repaired"] == 1).then_some(s)
    })
    .await;
    replicated(&nodes[1], ids[0], &clip, 10).await;
    assert!(status["scrub"]["checked"].as_u64() >= Some(2), "{status}");
    // The bad copy was kept aside, not served, and the good one is back in place.
    let aside: Vec<_> = std::fs::read_dir(nodes[1].store.join("quarantine"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    let kept = std::fs::read(&aside[0]).unwrap();
    assert_eq!(kept.len(), clip.len());
    assert_ne!(kept, clip);
    assert_eq!(std::fs::read(&path).unwrap(), clip);
}
