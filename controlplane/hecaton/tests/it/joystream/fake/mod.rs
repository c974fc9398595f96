//! An in-process Joystream node for end-to-end tests: the embedded chain's pallet model as its
//! state, each block's storage encoded through the real metadata, served over the legacy
//! JSON-RPC methods a real node answers (subxt's `MockRpcClient`), with a transaction pool that
//! checks signatures and nonces, finalized blocks, disconnects and runtime upgrades on demand.

mod check;
mod rpc;
mod snapshot;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hecaton_controlplane::account::AccountId;
use hecaton_controlplane::chain::joystream::Connect;
use hecaton_emulator::embedded::bootstrap::{self, DevNetwork, MEMBER};
use hecaton_emulator::runtime::call::{ContentCall, StorageCall};
use hecaton_emulator::runtime::event::{ContentEvent, Event};
use hecaton_emulator::runtime::storage::types::{
    Cid, DataObjectCreationParameters, DynamicBagType,
};
use hecaton_emulator::runtime::{self, Call, Constants, Extrinsic, Origin, Profile, State};
use serde_json::Value as Json;
use subxt::config::substrate::{Digest, SubstrateHeader, H256};
use subxt::ext::codec::Encode;
use subxt::rpcs::RpcClient;
use subxt::ArcMetadata;
use subxt_rpcs::client::MockRpcClient;
use tokio::sync::mpsc;

use super::codec::{extrinsic_failed, extrinsic_success, record, storage_event, system_events};
use super::metadata::{self, Offline};

/// One finalized block.
pub struct Block {
    pub hash: H256,
    pub header: SubstrateHeader<H256>,
    pub spec_version: u32,
    pub storage: Arc<BTreeMap<Vec<u8>, Vec<u8>>>,
    pub extrinsics: Vec<Vec<u8>>,
}

/// A checked transaction waiting for the next block.
pub struct Pending {
    pub bytes: Vec<u8>,
    pub signer: AccountId,
    pub call: StorageCall,
    pub status: mpsc::UnboundedSender<Json>,
}

/// What the node knows.
pub struct NodeState {
    pub constants: Constants,
    pub model: State,
    pub blocks: Vec<Block>,
    pub spec_version: u32,
    pub online: bool,
    pub heads: Vec<mpsc::UnboundedSender<Json>>,
    pub pool: Vec<Pending>,
    /// Included signed transactions per account.
    pub nonces: BTreeMap<AccountId, u64>,
    /// JSON-RPC calls by method.
    pub counts: BTreeMap<String, usize>,
    /// Signed calls that passed the checks: (signer, nonce, call).
    pub checked: Vec<(AccountId, u64, StorageCall)>,
    /// Transactions refused, with why.
    pub refused: Vec<String>,
}

/// The node, shared by its RPC clients.
#[derive(Clone)]
pub struct FakeNode {
    pub shared: Arc<Shared>,
}

pub struct Shared {
    pub metadata: ArcMetadata,
    pub metadata_bytes: Vec<u8>,
    pub offline: Offline,
    pub state: Mutex<NodeState>,
}

/// An account of the dev model (no key: the harness declares origins).
pub fn dev(uri: &str) -> AccountId {
    AccountId::dev(uri)
}

impl FakeNode {
    /// The dev network (one storage bucket whose endpoint is `storage_endpoint` and whose
    /// transactor is `transactor`, one distribution bucket) in block 1; `None` when the
    /// metadata file is being skipped.
    pub fn start(storage_endpoint: &str, transactor: AccountId) -> Option<FakeNode> {
        let metadata_bytes = metadata::bytes()?;
        let metadata = metadata::metadata()?;
        let offline = metadata::offline()?;
        let constants = Constants::for_profile(Profile::Playground);
        let model = State::genesis(&constants);
        let node = FakeNode {
            shared: Arc::new(Shared {
                metadata,
                metadata_bytes,
                offline,
                state: Mutex::new(NodeState {
                    constants: constants.clone(),
                    model,
                    blocks: Vec::new(),
                    spec_version: metadata::SPEC_VERSION,
                    online: true,
                    heads: Vec::new(),
                    pool: Vec::new(),
                    nonces: BTreeMap::new(),
                    counts: BTreeMap::new(),
                    checked: Vec::new(),
                    refused: Vec::new(),
                }),
            }),
        };
        node.produce(Vec::new(), Vec::new());
        let network = DevNetwork {
            storage_endpoints: vec![storage_endpoint.to_string()],
            distribution_endpoints: vec!["http://127.0.0.1:9/".into()],
        };
        let calls = bootstrap::dev(&constants, &network)
            .expect("dev network")
            .into_iter()
            .map(|mut x| {
                // The bucket's transactor is a real sr25519 account, so that the node's signed
                // acceptances are its.
                if let Call::Storage(StorageCall::AcceptStorageBucketInvitation {
                    transactor_account_id,
                    ..
                }) = &mut x.call
                {
                    *transactor_account_id = transactor;
                }
                x
            })
            .collect();
        node.produce(calls, Vec::new());
        let producer = node.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if Arc::strong_count(&producer.shared) == 1 {
                    return;
                }
                let pool = std::mem::take(&mut producer.state().pool);
                if !pool.is_empty() {
                    producer.produce(Vec::new(), pool);
                }
            }
        });
        Some(node)
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, NodeState> {
        self.shared.state.lock().expect("fake node state")
    }

    /// Applies the harness's calls (declared origins) and the pool's transactions in a new
    /// block, finalized at once. Returns the harness calls' events.
    pub fn produce(&self, calls: Vec<Extrinsic>, pool: Vec<Pending>) -> Vec<Event> {
        let mut st = self.state();
        let mut records = Vec::new();
        let mut harness_events = Vec::new();
        let mut bodies = Vec::new();
        let items = calls
            .into_iter()
            .map(|x| (x, None))
            .chain(pool.into_iter().map(|p| {
                let x = Extrinsic {
                    origin: Origin::Signed(p.signer),
                    call: Call::Storage(p.call.clone()),
                };
                (x, Some(p))
            }));
        let mut statuses = Vec::new();
        for (index, (extrinsic, pending)) in items.enumerate() {
            let index = index as u32;
            let applied = runtime::apply(&st.constants, &st.model, &extrinsic);
            match applied.outcome {
                Ok(events) => {
                    st.model = applied.state;
                    for event in &events {
                        if let Event::Storage(e) = event {
                            records.push(record(Some(index), storage_event(e)));
                        }
                    }
                    records.push(record(Some(index), extrinsic_success()));
                    if pending.is_none() {
                        harness_events.extend(events);
                    }
                }
                Err(error) => {
                    assert!(
                        pending.is_some(),
                        "a harness call failed: {error} ({extrinsic:?})"
                    );
                    records.push(record(
                        Some(index),
                        extrinsic_failed(&self.shared.metadata, &error),
                    ));
                }
            }
            if let Some(p) = pending {
                *st.nonces.entry(p.signer).or_default() += 1;
                bodies.push(p.bytes);
                statuses.push(p.status);
            } else {
                bodies.push(Vec::new());
            }
        }
        let events = system_events(&self.shared.metadata, records);
        let storage = snapshot::storage(&self.shared.offline, &st.model, events);
        let number = st.blocks.len() as u64;
        let parent_hash = st.blocks.last().map(|b| b.hash).unwrap_or_default();
        let header = SubstrateHeader {
            parent_hash,
            number,
            state_root: H256(sp_crypto_hashing::blake2_256(&number.to_le_bytes())),
            extrinsics_root: H256::zero(),
            digest: Digest::default(),
        };
        let hash = H256(sp_crypto_hashing::blake2_256(&header.encode()));
        let spec_version = st.spec_version;
        let extrinsics = bodies.into_iter().filter(|b| !b.is_empty()).collect();
        st.blocks.push(Block {
            hash,
            header: header.clone(),
            spec_version,
            storage: Arc::new(storage),
            extrinsics,
        });
        let header_json = serde_json::to_value(&header).expect("header JSON");
        st.heads.retain(|tx| tx.send(header_json.clone()).is_ok());
        let at = format!("0x{}", hex::encode(hash.0));
        for status in statuses {
            let _ = status.send(serde_json::json!({ "inBlock": at }));
            let _ = status.send(serde_json::json!({ "finalized": at }));
        }
        harness_events
    }

    /// Applies one call of the harness in its own block.
    pub fn apply(&self, origin: Origin, call: Call) -> Vec<Event> {
        self.produce(vec![Extrinsic { origin, call }], Vec::new())
    }

    /// Worker 1 publishes `endpoint` as bucket 0's operator metadata (an event only).
    pub fn publish_endpoint(&self, endpoint: &str) {
        use hecaton_emulator::runtime::metadata::OperatorMetadata;
        use prost::Message;
        let metadata = OperatorMetadata {
            endpoint: Some(endpoint.into()),
            ..Default::default()
        };
        self.apply(
            Origin::Signed(dev("//StorageWorker0")),
            Call::Storage(StorageCall::SetStorageOperatorMetadata {
                worker_id: 1,
                storage_bucket_id: 0,
                metadata: hecaton_emulator::runtime::storage::types::Bytes(
                    metadata.encode_to_vec(),
                ),
            }),
        );
    }

    /// Creates channel 0 (first time) and a video holding `files`; returns the object ids.
    pub fn create_video(&self, files: &[&[u8]]) -> Vec<u64> {
        let member = Origin::Signed(dev(MEMBER));
        let (fee, bond, has_channel, storage, distribution) = {
            let st = self.state();
            let s = &st.model.storage;
            let policy = s.policy(&st.constants, DynamicBagType::Channel);
            let storage = s
                .storage_bucket_by_id
                .keys()
                .take(policy.number_of_storage_buckets as usize)
                .copied()
                .collect();
            let distribution = policy
                .families
                .iter()
                .flat_map(|(family, n)| {
                    s.distribution_bucket_by_family_id_by_id
                        .keys()
                        .filter(move |id| id.family == *family)
                        .take(*n as usize)
                        .copied()
                })
                .collect();
            (
                s.data_object_per_megabyte_fee,
                s.data_object_state_bloat_bond_value,
                !st.model.content.channels.is_empty(),
                storage,
                distribution,
            )
        };
        if !has_channel {
            self.apply(
                member,
                Call::Content(ContentCall::CreateChannel {
                    member_id: 0,
                    assets: Vec::new(),
                    expected_data_size_fee: fee,
                    expected_data_object_state_bloat_bond: bond,
                    storage_buckets: storage,
                    distribution_buckets: distribution,
                }),
            );
        }
        let assets = files
            .iter()
            .map(|bytes| DataObjectCreationParameters {
                size: bytes.len() as u64,
                ipfs_content_id: Cid(hecaton_shared::ContentId::of(bytes)
                    .to_string()
                    .into_bytes()),
            })
            .collect();
        let events = self.apply(
            member,
            Call::Content(ContentCall::CreateVideo {
                channel_id: 0,
                assets,
                expected_data_size_fee: fee,
                expected_data_object_state_bloat_bond: bond,
            }),
        );
        events
            .iter()
            .find_map(|e| match e {
                Event::Content(ContentEvent::VideoCreated(_, _, ids)) => {
                    Some(ids.iter().copied().collect())
                }
                _ => None,
            })
            .expect("VideoCreated")
    }

    /// A connector for the client: a new mock RPC client on this node each time, refused
    /// while the node is "down".
    pub fn connector(&self) -> Connect {
        let node = self.clone();
        Arc::new(move || {
            let node = node.clone();
            Box::pin(async move {
                if !node.state().online {
                    return Err("connection refused (fake node down)".to_string());
                }
                Ok(RpcClient::new(node.mock()))
            })
        })
    }

    fn mock(&self) -> MockRpcClient {
        let methods = self.clone();
        let subscriptions = self.clone();
        MockRpcClient::builder()
            .method_fallback(move |method, params| {
                let node = methods.clone();
                async move { node.request(&method, params).await }
            })
            .subscription_fallback(move |name, params, _unsub| {
                let node = subscriptions.clone();
                async move { node.subscribe(&name, params).await }
            })
            .build()
    }

    /// Drops every connection and refuses new ones until [`FakeNode::up`].
    pub fn down(&self) {
        let mut st = self.state();
        st.online = false;
        st.heads.clear();
    }

    /// Accepts connections again.
    pub fn up(&self) {
        self.state().online = true;
    }

    /// Blocks from now on report `spec_version` (same metadata bytes: a runtime upgrade that
    /// changed nothing the node reads).
    pub fn upgrade(&self, spec_version: u32) {
        self.state().spec_version = spec_version;
    }

    /// How many times `method` was called.
    pub fn count(&self, method: &str) -> usize {
        self.state().counts.get(method).copied().unwrap_or(0)
    }
}
