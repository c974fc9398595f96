//! `hecaton audit` against three storage nodes on loopback: every object of the bag on every
//! node, then one node loses 10% of its objects' files; the audit reports that node, and only
//! it, with the objects it could not prove.

use serde_json::Value;

use crate::node::StorageNode;
use crate::replication::{replicated, upload_accepted, Network};
use crate::storage::{register, video};
use crate::support::cli;

const SEED: &str = "0101010101010101010101010101010101010101010101010101010101010101";

#[tokio::test(flavor = "multi_thread")]
async fn an_audit_of_three_nodes_reports_the_one_that_lost_a_tenth_of_its_objects() {
    let net = Network::new(3);
    let nodes: Vec<StorageNode> = (0..3).map(|i| net.node(i, "")).collect();
    // Twenty objects: most of several 16 KiB chunks, some of one.
    let files: Vec<Vec<u8>> = (0..20u8)
        .map(|i| {
            video(
                if i % 4 == 0 {
                    5_000
                } else {
                    40_000 + 3_000 * i as usize
                },
                i,
            )
        })
        .collect();
    let paths: Vec<std::path::PathBuf> = (0..files.len())
        .map(|i| net.path(&format!("f{i}.bin")))
        .collect();
    for (path, bytes) in paths.iter().zip(&files) {
        std::fs::write(path, bytes).unwrap();
    }
    let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
    let ids = register(&net.chain, &refs);
    for (id, bytes) in ids.iter().zip(&files) {
        upload_accepted(&net.chain, &nodes[0], 0, *id, bytes).await;
    }
    for node in &nodes[1..] {
        for (id, bytes) in ids.iter().zip(&files) {
            replicated(node, *id, bytes, 30).await;
        }
    }

    let audit = |challenges: &str, extra: &[&str]| {
        let mut args = vec![
            "audit",
            "--json",
            "--challenges",
            challenges,
            "--seed",
            SEED,
        ];
        args.extend_from_slice(extra);
        let (ok, out, err) = cli(&net.chain, &args);
        let report: Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
        (ok, report)
    };
    let (ok, report) = audit("20", &[]);
    assert!(ok, "{report}");
    for b in report["buckets"].as_array().unwrap() {
        assert_eq!(b["objects"], 20, "{b}");
        assert_eq!(b["proven"], 20, "{b}");
        assert_eq!(b["failed"], 0, "{b}");
    }

    // Node 2 loses the files of two of its twenty objects.
    let lost = [ids[3], ids[9]];
    for id in lost {
        std::fs::remove_file(nodes[2].store.join("objects").join(id.to_string())).unwrap();
    }
    let (ok, report) = audit("20", &[]);
    assert!(!ok, "a failed bucket makes the exit code 1: {report}");
    let buckets = report["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 3);
    for b in &buckets[..2] {
        assert_eq!(
            (b["proven"].as_u64(), b["failed"].as_u64()),
            (Some(20), Some(0)),
            "{b}"
        );
    }
    let b = &buckets[2];
    assert_eq!(b["bucket"], 2);
    assert_eq!(b["proven"], 18, "{b}");
    assert_eq!(b["failed"], 2, "{b}");
    let mut failed: Vec<u64> = b["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["object"].as_u64().unwrap())
        .collect();
    failed.sort();
    assert_eq!(failed, lost.to_vec());
    assert_eq!(report["seed"], SEED);

    // One bucket only, and a sample smaller than the bag: the same seed draws the same objects.
    let (_, one) = audit("5", &["--bucket", "2"]);
    let (_, again) = audit("5", &["--bucket", "2"]);
    assert_eq!(one["buckets"].as_array().unwrap().len(), 1);
    assert_eq!(one["buckets"][0]["challenged"], 5);
    for key in ["proven", "failed", "failures"] {
        assert_eq!(one["buckets"][0][key], again["buckets"][0][key], "{key}");
    }

    // Without a seed, the draw is the finalized block's: its hash is in the report, and the
    // seed is derived from it.
    let (_, out, err) = cli(&net.chain, &["audit", "--json", "--challenges", "3"]);
    let by_block: Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    let hash = by_block["block_hash"].as_str().unwrap();
    assert_eq!(hash.len(), 64);
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hash[2 * i..2 * i + 2], 16).unwrap();
    }
    let derived = hecaton_controlplane::audit::challenge::seed_of_block(&bytes);
    let derived: String = derived.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(by_block["seed"], derived.as_str());

    // The service report. Every object of the bag sampled: node 2's bag is incomplete, the
    // others' complete; each bucket's largest drawn object read whole, matching its content id.
    let (ok, report) = audit("3", &["--per-bag", "20", "--speed-mib", "1"]);
    assert!(!ok, "an incomplete bag fails the audit: {report}");
    let buckets = report["buckets"].as_array().unwrap();
    for b in buckets {
        let c = &b["completeness"];
        // The bootstrap's bags without objects are counted, not sampled.
        assert!(c["bags"].as_u64().unwrap() >= 1, "{b}");
        assert_eq!(c["sampled"], 1, "{b}");
        let s = &b["speed"];
        assert_eq!(s["error"], Value::Null, "{b}");
        assert_eq!(s["verified"], true, "{b}");
        assert_eq!(s["bytes"], s["asked"], "{b}");
        assert!(s["ttfb_ms"].as_f64().unwrap() > 0.0 && s["mib_per_sec"].as_f64().unwrap() > 0.0);
    }
    assert_eq!(buckets[0]["completeness"]["complete"], 1);
    assert_eq!(buckets[1]["completeness"]["complete"], 1);
    let c = &buckets[2]["completeness"];
    assert_eq!(c["complete"], 0, "{c}");
    assert!(
        lost.contains(&c["incomplete"][0]["object"].as_u64().unwrap()),
        "{c}"
    );

    // The table says the same.
    let (_, table, _) = cli(
        &net.chain,
        &[
            "audit",
            "--challenges",
            "2",
            "--seed",
            SEED,
            "--speed-mib",
            "1",
        ],
    );
    assert!(table.contains("bags: 1 of 1 sampled complete"), "{table}");
    assert!(table.contains("bytes match the content id"), "{table}");

    // Uptime over a watch: node 1 stopped, node 0 answering every probe.
    let mut nodes = nodes;
    drop(nodes.remove(1));
    let (ok, report) = audit(
        "1",
        &[
            "--per-bag",
            "0",
            "--speed-mib",
            "0",
            "--watch-secs",
            "2",
            "--every-ms",
            "250",
        ],
    );
    assert!(!ok, "{report}");
    let buckets = report["buckets"].as_array().unwrap();
    let (up, down) = (&buckets[0]["uptime"], &buckets[1]["uptime"]);
    assert!(up["probes"].as_u64().unwrap() >= 6, "{up}");
    assert_eq!(up["percent"], 100.0, "{up}");
    assert_eq!(up["longest_outage_secs"], 0.0, "{up}");
    assert_eq!(down["up"], 0, "{down}");
    assert!(
        down["longest_outage_secs"].as_f64().unwrap() >= 1.5,
        "{down}"
    );
    assert!(down["last_error"].is_string(), "{down}");
    assert_eq!(report["watch_secs"], 2.0);
}
