//! The control plane against the fake Joystream node: a storage node (in process, with a real
//! data plane process) follows it, gets its placement, accepts an upload through a signed
//! extrinsic the node checks, and survives a disconnect and a runtime upgrade; refused calls
//! come back with the pallet's error name, and concurrent calls get distinct nonces.

use std::path::Path;
use std::time::Duration;

use hecaton_controlplane::account::AccountId;
use hecaton_controlplane::chain::joystream::keys::Keyring;
use hecaton_controlplane::chain::joystream::{JoystreamClient, JoystreamOptions};
use hecaton_controlplane::chain::{Chain, ChainError};
use hecaton_controlplane::node::config::NodeConfig;
use hecaton_controlplane::storage_node::{self, config::StorageNodeConfig};
use hecaton_emulator::runtime::call::StorageCall;
use hecaton_emulator::runtime::error::StorageError;
use hecaton_emulator::runtime::{Call, DispatchError, Origin};
use hecaton_shared::{BagId, DynamicBagId};
use serde_json::Value;

use hecaton_emulator::embedded::bootstrap::STORAGE_LEAD;
use hecaton_emulator::runtime::storage::types::Cid;

use super::fake::{dev, FakeNode};
use crate::node::{eventually, free_port, DataPlane};
use crate::support::client;

const TRANSACTOR: &str = "//StorageTransactor0";
const BAG: BagId = BagId::Dynamic(DynamicBagId::Channel(0));

fn keys() -> (Keyring, AccountId) {
    let mut keys = Keyring::default();
    let account = keys.add_suri(TRANSACTOR, "test").unwrap();
    (keys, account)
}

fn joystream_client(fake: &FakeNode, keys: Keyring, dir: &Path) -> JoystreamClient {
    JoystreamClient::with_connect(
        "fake-node",
        fake.connector(),
        JoystreamOptions {
            keys,
            endpoints: Default::default(),
            directory_file: Some(dir.join("operators.json")),
            bootstrap: Default::default(),
        },
    )
}

async fn upload(port: u16, id: u64, bytes: &[u8]) -> (u16, Value) {
    upload_into(port, 0, id, bytes).await
}

/// A storage node run in process against the fake node (its data plane a real process,
/// attached), with `joystream` as its `[joystream]` keys and `transactor` as its default signer.
struct InProcessNode {
    _dataplane: DataPlane,
    operator: String,
    stop: tokio::sync::oneshot::Sender<()>,
    node: tokio::task::JoinHandle<Result<(), hecaton_controlplane::node::error::NodeError>>,
}

impl InProcessNode {
    fn start(
        chain: JoystreamClient,
        dir: &Path,
        port: u16,
        joystream: &str,
        transactor: AccountId,
    ) -> Self {
        let store = dir.join("store");
        let dataplane = DataPlane::start(&store, port);
        let operator_port = free_port();
        let text = format!(
            "worker_id = 1\nchain = \"wss://fake-node\"\nstore_dir = \"{}\"\n\
             public_listen = \"127.0.0.1:{port}\"\noperator_listen = \"127.0.0.1:{operator_port}\"\n\
             [joystream]\n{joystream}\n[dataplane]\nmode = \"attach\"\nallow_private_peers = true\n\
             [accept]\ninterval_ms = 200\n",
            store.display()
        );
        let mut config =
            StorageNodeConfig::parse(&text, Path::new("node.toml"), std::iter::empty()).unwrap();
        config.transactor = Some(transactor);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let node = tokio::spawn(storage_node::run(chain, config, async move {
            let _ = stopped.await;
        }));
        InProcessNode {
            _dataplane: dataplane,
            operator: format!("http://127.0.0.1:{operator_port}"),
            stop,
            node,
        }
    }

    /// Waits until the node's obligations hold `n` objects.
    async fn obliged(&self, n: u64) {
        eventually(30, "the node's obligations from the chain", || async {
            (obliged(&self.operator).await >= n).then_some(())
        })
        .await;
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(10), self.node).await;
    }
}

fn accepted(fake: &FakeNode, id: u64) -> bool {
    let st = fake.state();
    st.model
        .storage
        .data_objects_by_id
        .get(&BAG)
        .and_then(|objects| objects.get(&id))
        .is_some_and(|o| o.accepted)
}

/// Objects the node must hold (0 until its operator API answers: it starts in the background).
async fn obliged(operator: &str) -> u64 {
    let Ok(response) = client().get(format!("{operator}/status")).send().await else {
        return 0;
    };
    let status: Value = response.json().await.unwrap_or(Value::Null);
    status["objects"]["obliged"].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storage_node_follows_a_joystream_node_uploads_are_accepted_disconnects_and_upgrades_survived(
) {
    let port = free_port();
    let (keys, transactor) = keys();
    let Some(fake) = FakeNode::start(&format!("http://127.0.0.1:{port}/"), transactor) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let first: &[u8] = b"the first video, uploaded to a node that follows a Joystream chain";
    let ids = fake.create_video(&[first]);

    let chain = joystream_client(&fake, keys, dir.path());
    let observer = chain.clone();
    let joystream = format!("suri = \"{TRANSACTOR}\"");
    let node = InProcessNode::start(chain, dir.path(), port, &joystream, transactor);
    let operator = node.operator.clone();

    // Placement reaches the data plane: it answers for the object (not yet uploaded: 404
    // rather than "not in this node's bags").
    node.obliged(1).await;
    let (status, body) = upload(port, ids[0], first).await;
    assert_eq!(status, 201, "{body}");
    eventually(30, "acceptance on chain", || async {
        accepted(&fake, ids[0]).then_some(())
    })
    .await;
    {
        let st = fake.state();
        let (signer, _, call) = st.checked.first().expect("a checked transaction");
        assert_eq!(*signer, transactor, "signed by the bucket's transactor");
        assert!(
            matches!(call, StorageCall::AcceptPendingDataObjects { data_objects, .. } if data_objects.contains(&ids[0])),
            "{call:?}"
        );
        assert!(st.refused.is_empty(), "{:?}", st.refused);
    }
    let served = client()
        .get(format!("http://127.0.0.1:{port}/api/v1/files/{}", ids[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(&served.bytes().await.unwrap()[..], first);
    assert_eq!(fake.count("state_call/Metadata_metadata"), 1);

    // The node goes away, the chain moves on, the node comes back: the follower reconnects and
    // catches up.
    fake.down();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let second: &[u8] = b"a second video, registered while the node was unreachable";
    let more = fake.create_video(&[second]);
    // Operator metadata is only an event: the client reads the blocks it missed for it.
    let moved = "https://storage-0.example.com/";
    fake.publish_endpoint(moved);
    fake.up();
    eventually(30, "catching up after the disconnect", || async {
        (obliged(&operator).await >= 2).then_some(())
    })
    .await;
    // The follower reads the state at the new head (which already counts the second
    // obligation) before it subscribes to heads again: the subscription may come just after.
    eventually(
        10,
        "the follower resubscribing to finalized heads",
        || async { (fake.count("chain_subscribeFinalizedHeads") >= 2).then_some(()) },
    )
    .await;
    let endpoint = super::directory::endpoint_of_bucket_0(&observer).await;
    assert_eq!(
        endpoint.as_deref(),
        Some(moved),
        "learned from a block read back after the gap"
    );
    let saved = std::fs::read_to_string(dir.path().join("operators.json")).unwrap();
    assert!(saved.contains(moved), "the directory is saved: {saved}");
    assert_eq!(
        fake.count("state_call/Metadata_metadata"),
        1,
        "metadata is cached per spec version across reconnects"
    );
    let (status, body) = upload(port, more[0], second).await;
    assert_eq!(status, 201, "{body}");
    eventually(30, "acceptance after the reconnect", || async {
        accepted(&fake, more[0]).then_some(())
    })
    .await;

    // A runtime upgrade: blocks report a new spec version; the client fetches its metadata and
    // goes on.
    fake.upgrade(2005);
    let third: &[u8] = b"a third video, after the runtime upgrade";
    let after = fake.create_video(&[third]);
    eventually(30, "following across the upgrade", || async {
        (obliged(&operator).await >= 3).then_some(())
    })
    .await;
    assert_eq!(
        fake.count("state_call/Metadata_metadata"),
        2,
        "re-read for spec 2005"
    );
    let (status, body) = upload(port, after[0], third).await;
    assert_eq!(status, 201, "{body}");
    eventually(30, "acceptance signed for the new spec version", || async {
        accepted(&fake, after[0]).then_some(())
    })
    .await;
    assert!(
        fake.state().refused.is_empty(),
        "{:?}",
        fake.state().refused
    );

    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_calls_name_the_pallet_error_and_concurrent_calls_get_their_own_nonces() {
    let (keys, transactor) = keys();
    let Some(fake) = FakeNode::start("http://127.0.0.1:9/", transactor) else {
        return;
    };
    let ids = fake.create_video(&[b"one", b"two"]);
    let dir = tempfile::tempdir().unwrap();
    let chain = joystream_client(&fake, keys, dir.path());
    let accept = |bucket: u64, id: u64| {
        Call::Storage(StorageCall::AcceptPendingDataObjects {
            worker_id: 1,
            storage_bucket_id: bucket,
            bag_id: BAG,
            data_objects: [id].into_iter().collect(),
        })
    };
    let signed = Origin::Signed(transactor);

    // Two batches at once from one account: the second must not reuse the first's nonce,
    // which the node's finalized state does not count yet.
    let (a, b) = tokio::join!(
        chain.submit(signed, accept(0, ids[0])),
        chain.submit(signed, accept(0, ids[1]))
    );
    let refused = fake.state().refused.clone();
    let (a, b) = (
        a.unwrap_or_else(|e| panic!("first batch: {e} {refused:?}")),
        b.unwrap_or_else(|e| panic!("second batch: {e} {refused:?}")),
    );
    assert!(accepted(&fake, ids[0]) && accepted(&fake, ids[1]));
    let nonces: Vec<u64> = fake.state().checked.iter().map(|(_, n, _)| *n).collect();
    assert_eq!(
        nonces,
        vec![0, 1],
        "{:?} {:?}",
        fake.state().refused,
        fake.state().checked
    );
    assert!(a.events.iter().chain(&b.events).any(|e| matches!(
        e,
        hecaton_emulator::runtime::Event::Storage(
            hecaton_emulator::runtime::event::StorageEvent::PendingDataObjectsAccepted(..)
        )
    )));
    assert!(a.block >= 1 && b.block >= 1);

    // A call the pallet refuses: the error carries its name.
    let e = chain.submit(signed, accept(99, ids[0])).await.unwrap_err();
    assert!(
        matches!(
            e,
            ChainError::Dispatch {
                error: DispatchError::Storage(StorageError::StorageBucketDoesntExist),
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("StorageBucketDoesntExist"), "{e}");

    // No key for the account, and Root: refused before anything is sent.
    let stranger = Origin::Signed(AccountId([7; 32]));
    let e = chain.submit(stranger, accept(0, ids[0])).await.unwrap_err();
    assert!(matches!(e, ChainError::NoKey { .. }), "{e}");
    let e = chain
        .submit(Origin::Root, accept(0, ids[0]))
        .await
        .unwrap_err();
    assert!(matches!(e, ChainError::Unsupported { .. }), "{e}");

    // Reads apply the pallet's fallbacks: a static bag always exists, a dynamic one by key.
    assert!(chain
        .bag(BagId::Static(hecaton_shared::StaticBagId::Council))
        .await
        .unwrap()
        .is_some());
    assert!(chain
        .bag(BagId::Dynamic(DynamicBagId::Channel(42)))
        .await
        .unwrap()
        .is_none());
    let objects = chain.bag_objects(BAG).await.unwrap();
    assert_eq!(objects.iter().map(|o| o.id).collect::<Vec<_>>(), ids);
    // The finalized head (an audit's seed comes from its hash).
    let (number, hash) = chain.finalized_head().await.unwrap();
    assert!(number >= 1 && number <= chain.finalized_block().await.unwrap());
    assert_ne!(hash.0, [0; 32]);
    assert_eq!(chain.object_ids().await.unwrap(), ids);
    let buckets = chain.storage_buckets().await.unwrap();
    assert_eq!(buckets.len(), 1);
    assert!(buckets[0].bags.contains(&BAG));
    let terms = chain.upload_terms().await.unwrap();
    assert!(!terms.uploading_blocked);
    let policy = chain
        .policy(hecaton_emulator::runtime::storage::types::DynamicBagType::Member)
        .await
        .unwrap();
    assert_eq!(policy.number_of_storage_buckets, {
        let st = fake.state();
        st.model
            .storage
            .policy(
                &st.constants,
                hecaton_emulator::runtime::storage::types::DynamicBagType::Member,
            )
            .number_of_storage_buckets
    });
    assert_eq!(chain.families().await.unwrap().len(), 1);
    assert!(chain.blacklist().await.unwrap().is_empty());
    let banned = Cid(hecaton_shared::ContentId::of(b"banned")
        .to_string()
        .into_bytes());
    fake.apply(
        Origin::Signed(dev(STORAGE_LEAD)),
        Call::Storage(StorageCall::UpdateBlacklist {
            remove_hashes: Default::default(),
            add_hashes: [banned.clone()].into_iter().collect(),
        }),
    );
    assert_eq!(chain.blacklist().await.unwrap(), vec![banned]);
}

/// Uploads `bytes` as object `id` of channel 0's bag into `bucket` on the node at `port`.
async fn upload_into(port: u16, bucket: u64, id: u64, bytes: &[u8]) -> (u16, Value) {
    let url = format!(
        "http://127.0.0.1:{port}/api/v1/files?dataObjectId={id}&storageBucketId={bucket}&bagId={BAG}"
    );
    let part = reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("video.mp4");
    let form = reqwest::multipart::Form::new().part("file", part);
    let r = client().post(&url).multipart(form).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bucket_is_signed_for_by_its_own_transactor_and_a_bucket_without_its_key_takes_no_uploads(
) {
    let port = free_port();
    // Bucket 0's transactor is A; the node is given keys for C (an unrelated first key) and
    // B, bucket 1's transactor, but not A.
    let mut keys = Keyring::default();
    let unrelated = keys.add_suri("//Unrelated", "test").unwrap();
    let b = keys.add_suri("//StorageTransactor1", "test").unwrap();
    let a = Keyring::default().add_suri(TRANSACTOR, "test").unwrap();
    let Some(fake) = FakeNode::start(&format!("http://127.0.0.1:{port}/"), a) else {
        return;
    };
    let lead = Origin::Signed(dev(STORAGE_LEAD));
    fake.apply(
        lead,
        Call::Storage(StorageCall::UpdateStorageBucketsPerBagLimit { new_limit: 5 }),
    );
    fake.apply(
        lead,
        Call::Storage(StorageCall::CreateStorageBucket {
            invite_worker: Some(1),
            accepting_new_bags: true,
            size_limit: 1 << 40,
            objects_limit: 1 << 20,
        }),
    );
    fake.apply(
        Origin::Signed(dev("//StorageWorker0")),
        Call::Storage(StorageCall::AcceptStorageBucketInvitation {
            worker_id: 1,
            storage_bucket_id: 1,
            transactor_account_id: b,
        }),
    );
    let bytes: &[u8] = b"a video for a node with two buckets and one of their keys";
    let ids = fake.create_video(&[bytes]);
    fake.apply(
        lead,
        Call::Storage(StorageCall::UpdateStorageBucketsForBag {
            bag_id: BAG,
            add_buckets: [1].into(),
            remove_buckets: Default::default(),
        }),
    );

    let dir = tempfile::tempdir().unwrap();
    let chain = joystream_client(&fake, keys, dir.path());
    let joystream = r#"suris = ["//Unrelated", "//StorageTransactor1"]"#;
    let node = InProcessNode::start(chain, dir.path(), port, joystream, unrelated);
    node.obliged(1).await;

    // Bucket 0: the node holds no key for its transactor: Colossus's 503.
    let (status, body) = upload_into(port, 0, ids[0], bytes).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        body["message"], "Error: Server is not accepting uploads into this bucket",
        "{body}"
    );
    // Bucket 1: taken, and accepted with B's signature, not the default key's.
    let (status, body) = upload_into(port, 1, ids[0], bytes).await;
    assert_eq!(status, 201, "{body}");
    eventually(30, "acceptance on chain", || async {
        accepted(&fake, ids[0]).then_some(())
    })
    .await;
    {
        let st = fake.state();
        let (signer, _, call) = st.checked.last().expect("a checked transaction");
        assert_eq!(*signer, b, "signed by bucket 1's transactor");
        assert!(
            matches!(
                call,
                StorageCall::AcceptPendingDataObjects {
                    storage_bucket_id: 1,
                    ..
                }
            ),
            "{call:?}"
        );
        assert!(st.refused.is_empty(), "{:?}", st.refused);
    }
    node.stop().await;
}
