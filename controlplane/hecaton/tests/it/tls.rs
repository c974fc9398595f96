//! A network that speaks https only, end to end: three storage nodes and a distributor, each
//! serving its own TLS listener with a certificate from a CA made at test time, replicate and
//! fill over https; the node whose certificate names another host is refused by its peers,
//! which say why on their status and fetch from the others.

use serde_json::Value;

use crate::node::{
    chain_with_endpoints, eventually, free_port, DistributorNode, NodeSpec, StorageNode,
};
use crate::pki::Leaf;
use crate::storage::{accepted, register, upload, video};
use crate::support::client;

const FAST: &str = "[sync]\nprobe_interval_secs = 1\nretry_secs = 1\nretry_max_secs = 2\n";

#[tokio::test(flavor = "multi_thread")]
async fn three_storage_nodes_and_a_distributor_replicate_and_fill_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let dport = free_port();
    let https = |p: &u16| format!("https://localhost:{p}/");
    let chain = chain_with_endpoints(
        &dir.path().join("chain"),
        &ports.iter().map(https).collect::<Vec<_>>(),
        &[https(&dport)],
    );
    // Node 1's certificate is for another host: every peer must refuse it.
    let kinds = [Leaf::Good, Leaf::WrongHost, Leaf::Good];
    let nodes: Vec<StorageNode> = (0..3)
        .map(|i| {
            StorageNode::start(
                &chain,
                NodeSpec {
                    index: i,
                    extra: FAST,
                    tls: Some(kinds[i]),
                    ..NodeSpec::new(dir.path(), ports[i])
                },
            )
        })
        .collect();
    let bytes = video(2_000_000, 5);
    let file = dir.path().join("clip.mp4");
    std::fs::write(&file, &bytes).unwrap();
    let id = register(&chain, &[&file])[0];

    let (status, body) = upload(&nodes[0], id, 0, &bytes).await;
    assert_eq!(status, 201, "{body}");
    eventually(10, "acceptance", || async {
        accepted(&chain, id).await.then_some(())
    })
    .await;
    let served = |node: &StorageNode| {
        let url = node.url(&format!("/api/v1/files/{id}"));
        async move {
            let r = client().get(url).send().await.ok()?;
            (r.status() == 200).then_some(())?;
            Some(r.bytes().await.ok()?.to_vec())
        }
    };
    // Node 2 has node 0 (good) and, once it holds the object, node 1 (refused) as sources.
    eventually(30, "replication to node 2 over https", || async {
        served(&nodes[2]).await.filter(|b| *b == bytes).map(|_| ())
    })
    .await;
    // Node 1 fetched from node 0 (whose certificate it trusts); its own certificate names
    // wrong.example, which is how a client must ask for it.
    let wrong_host = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(crate::pki::shared_ca().pem().as_bytes()).unwrap(),
        )
        .resolve("wrong.example", nodes[1].public)
        .build()
        .unwrap();
    let url = format!("https://wrong.example:{}/api/v1/files/{id}", ports[1]);
    eventually(30, "replication to node 1 over https", || async {
        let r = wrong_host.get(&url).send().await.ok()?;
        let b = r.bytes().await.ok()?;
        (b == bytes).then_some(())
    })
    .await;
    let refused = format!("https://localhost:{}/", ports[1]);
    let peer: Value = eventually(15, "node 1 refused with a reason", || async {
        let status = nodes[2].status().await;
        status["sync"]["peers"]
            .as_array()?
            .iter()
            .find(|p| p["endpoint"] == refused.as_str() && p["last_error"].is_string())
            .cloned()
    })
    .await;
    let why = peer["last_error"].as_str().unwrap();
    assert!(why.contains("certificate"), "{why}");
    assert!(
        peer["latency_ms"].is_null(),
        "a refused peer is down: {peer}"
    );

    // The distributor fills from the storage nodes over https and serves https.
    let distributor =
        DistributorNode::start_with(&chain, dir.path(), 0, dport, "", Some(Leaf::Good));
    let url = distributor.url(&format!("/api/v1/assets/{id}"));
    let got = eventually(30, "a fill over https", || async {
        let r = client().get(&url).send().await.ok()?;
        (r.status() == 200).then_some(())?;
        Some(r.bytes().await.ok()?.to_vec())
    })
    .await;
    assert!(got == bytes, "the distributor served other bytes");
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_to_a_node_reloads_its_data_planes_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let chain = chain_with_endpoints(
        &dir.path().join("chain"),
        &[format!("https://localhost:{port}/")],
        &["http://127.0.0.1:1/".to_string()],
    );
    let mut node = StorageNode::start(
        &chain,
        NodeSpec {
            tls: Some(Leaf::Good),
            ..NodeSpec::new(dir.path(), port)
        },
    );
    let renewed = crate::pki::Ca::new("renewal CA");
    // The files are replaced; the node checks them only hourly (tls_check_secs = 3600).
    renewed.write_leaf(dir.path(), "storage-0", Leaf::Good);
    assert!(!crate::pki::answers(node.public, &renewed.pem()));
    // SAFETY: signalling our own child (the control plane), which passes it on.
    unsafe { libc::kill(node.child.id() as i32, libc::SIGHUP) };
    eventually(10, "the renewed certificate", || async {
        crate::pki::answers(node.public, &renewed.pem()).then_some(())
    })
    .await;
    assert!(
        node.child.try_wait().unwrap().is_none(),
        "the node is still running"
    );
}
