//! A fresh node learns every operator's endpoint at start: from a Storage-Squid (a stand-in
//! serving answers in the squid's schema, paged as the client asks), or by scanning old blocks
//! of the fake node for metadata events.

use std::sync::{Arc, Mutex};

use hecaton_controlplane::chain::joystream::keys::Keyring;
use hecaton_controlplane::chain::joystream::{Bootstrap, JoystreamClient, JoystreamOptions};
use hecaton_controlplane::chain::Chain;
use serde_json::{json, Value};

use super::fake::{dev, FakeNode};

const RECORDED: &str = include_str!("../../data/squid/storage-buckets.json");
const PAGE: usize = 1000;

/// Bucket 0's endpoint as the client knows it.
pub(super) async fn endpoint_of_bucket_0(chain: &JoystreamClient) -> Option<String> {
    let buckets = chain.storage_buckets().await.unwrap();
    buckets[0]
        .operator_metadata
        .as_ref()
        .and_then(|m| m.endpoint.clone())
}

/// The directory file the client saved.
fn saved(dir: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("operators.json")).unwrap()).unwrap()
}

fn client(fake: &FakeNode, dir: &std::path::Path, bootstrap: Bootstrap) -> JoystreamClient {
    JoystreamClient::with_connect(
        "fake-node",
        fake.connector(),
        JoystreamOptions {
            keys: Keyring::default(),
            endpoints: Default::default(),
            directory_file: Some(dir.join("operators.json")),
            bootstrap,
        },
    )
}

/// A squid stand-in: page 0 is the recorded answer padded with buckets 100.. to a full page,
/// page 1 holds bucket 5000; it records the offsets asked for.
async fn squid() -> (String, Arc<Mutex<Vec<u64>>>) {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let seen = asked.clone();
    let app = axum::Router::new().route(
        "/graphql",
        axum::routing::post(move |axum::Json(q): axum::Json<Value>| {
            let seen = seen.clone();
            async move {
                assert_eq!(q["operationName"], "getStorageBucketDetails");
                assert!(q["query"].as_str().unwrap().contains("nodeEndpoint"));
                let offset = q["variables"]["offset"].as_u64().unwrap();
                assert_eq!(q["variables"]["limit"], PAGE);
                seen.lock().unwrap().push(offset);
                let mut answer: Value = serde_json::from_str(RECORDED).unwrap();
                let buckets = answer["data"]["storageBuckets"].as_array_mut().unwrap();
                if offset == 0 {
                    let mut id = 100;
                    while buckets.len() < PAGE {
                        buckets.push(json!({
                            "id": id.to_string(),
                            "operatorMetadata": {"id": format!("{id}-1"), "nodeEndpoint": format!("https://s{id}.squid.example/")},
                            "operatorStatus": {"__typename": "StorageBucketOperatorStatusActive", "workerId": id}
                        }));
                        id += 1;
                    }
                } else {
                    *buckets = vec![json!({
                        "id": "5000",
                        "operatorMetadata": {"id": "5000-1", "nodeEndpoint": "https://last.squid.example/"},
                        "operatorStatus": {"__typename": "StorageBucketOperatorStatusActive", "workerId": 77}
                    })];
                }
                axum::Json(answer)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/graphql"), asked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_node_reads_every_endpoint_from_the_squid_in_pages() {
    let Some(fake) = FakeNode::start("http://127.0.0.1:9/", dev("//StorageTransactor0")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Without a bootstrap, a fresh node knows no endpoint of the buckets on chain: their
    // metadata was published before it started.
    let plain = client(&fake, dir.path(), Bootstrap::default());
    assert_eq!(endpoint_of_bucket_0(&plain).await, None);

    let (url, asked) = squid().await;
    let dir = tempfile::tempdir().unwrap();
    let chain = client(
        &fake,
        dir.path(),
        Bootstrap {
            squid_url: Some(url),
            ..Bootstrap::default()
        },
    );
    let endpoint = endpoint_of_bucket_0(&chain).await;
    assert_eq!(
        endpoint.as_deref(),
        Some("https://storage-0.squid.example/storage/")
    );
    assert_eq!(*asked.lock().unwrap(), vec![0, PAGE as u64], "two pages");
    // Every endpoint is kept, with the block the squid was current to.
    let saved = saved(dir.path());
    assert_eq!(saved["block"], 7214906);
    let text = saved.to_string();
    for url in [
        "https://storage-2.squid.example/storage/",
        "https://s999.squid.example/",
        "https://last.squid.example/",
    ] {
        assert!(text.contains(url), "{url} missing");
    }
    // Read once per process, not at every read of the buckets.
    chain.storage_buckets().await.unwrap();
    assert_eq!(asked.lock().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_node_scans_old_blocks_for_endpoints() {
    let Some(fake) = FakeNode::start("http://127.0.0.1:9/", dev("//StorageTransactor0")) else {
        return;
    };
    let published = "https://scanned.example/storage/";
    fake.publish_endpoint(published);
    // Blocks after it, which the scan reads too.
    for _ in 0..5 {
        fake.produce(Vec::new(), Vec::new());
    }
    let dir = tempfile::tempdir().unwrap();
    let chain = client(
        &fake,
        dir.path(),
        Bootstrap {
            scan_from: Some(1),
            scan_max_blocks: 1000,
            ..Bootstrap::default()
        },
    );
    let endpoint = endpoint_of_bucket_0(&chain).await;
    assert_eq!(endpoint.as_deref(), Some(published));
    let saved = saved(dir.path());
    assert!(saved["block"].as_u64().unwrap() >= 6, "{saved}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_object_id_comes_from_the_keys_alone_over_pages() {
    let Some(fake) = FakeNode::start("http://127.0.0.1:9/", dev("//StorageTransactor0")) else {
        return;
    };
    // More objects than one page of keys (1000).
    let files: Vec<Vec<u8>> = (0..1203u32).map(|i| i.to_le_bytes().to_vec()).collect();
    let mut ids = Vec::new();
    // A video takes a bounded number of assets.
    for chunk in files.chunks(20) {
        let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
        ids.extend(fake.create_video(&refs));
    }
    ids.sort_unstable();
    let dir = tempfile::tempdir().unwrap();
    let chain = client(&fake, dir.path(), Bootstrap::default());
    chain.storage_buckets().await.unwrap();
    let (pages, values) = {
        let st = fake.state();
        let count = |m: &str| st.counts.get(m).copied().unwrap_or(0);
        (count("state_getKeysPaged"), count("state_queryStorageAt"))
    };
    assert_eq!(chain.object_ids().await.unwrap(), ids);
    let st = fake.state();
    let count = |m: &str| st.counts.get(m).copied().unwrap_or(0);
    assert_eq!(count("state_getKeysPaged") - pages, 2, "two pages of keys");
    assert_eq!(count("state_queryStorageAt"), values, "no value was read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_squid_answer_too_large_is_refused_not_held() {
    let Some(fake) = FakeNode::start("http://127.0.0.1:9/", dev("//StorageTransactor0")) else {
        return;
    };
    // Valid JSON with 17 MiB of padding: over the page bound.
    let app = axum::Router::new().route(
        "/graphql",
        axum::routing::post(|| async {
            let mut body = " ".repeat(17 << 20);
            body.push_str(RECORDED);
            body
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/graphql", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dir = tempfile::tempdir().unwrap();
    let chain = client(
        &fake,
        dir.path(),
        Bootstrap {
            squid_url: Some(url),
            ..Bootstrap::default()
        },
    );
    assert_eq!(endpoint_of_bucket_0(&chain).await, None);
}
