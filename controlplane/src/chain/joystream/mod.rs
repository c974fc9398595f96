//! The `Chain` trait against a Joystream node, through subxt's dynamic API (no static codegen:
//! it costs more compile time than the rest of the control plane, and its per-item metadata
//! hashes would reject a runtime upgrade). Reads happen at the latest finalized block; the
//! block stream follows finalized heads and decodes each block's `Storage` events into the
//! model's; calls are signed with sr25519 keys and waited for until finalized.
//!
//! The connection is made on first use and dropped after any transport error, so the next call
//! reconnects (the follower and the acceptor retry with backoff). Metadata is cached per spec
//! version across reconnects and fetched again when a block reports a new one, so a runtime
//! upgrade needs no restart.

mod blocks;
pub mod config;
pub mod decode;
pub mod encode;
pub mod events;
pub mod keys;
pub mod operators;
pub mod reads;
pub mod squid;
mod submit;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use hecaton_shared::BagId;
use subxt::rpcs::RpcClient;
use subxt::OnlineClient;
use tokio::sync::Mutex;
use tracing::{info, warn};

use self::config::JoystreamConfig;
use self::keys::Keyring;
use self::operators::Directory;
use super::{
    BagInfo, BlockStream, Chain, ChainError, ChannelInfo, DistributionBucketInfo, FamilyInfo,
    ObjectInfo, StorageBucketInfo, UploadTerms,
};
use crate::account::AccountId;
use hecaton_vocabulary::block::{BlockHash, Inclusion};
use hecaton_vocabulary::call::{Call, Origin};
use hecaton_vocabulary::storage_types::{Cid, DynamicBagCreationPolicy, DynamicBagType};

/// Makes a JSON-RPC connection: to a URL, or (in tests) to an in-process fake node.
pub type Connect =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<RpcClient, String>> + Send>> + Send + Sync>;

/// What a client needs besides the node.
#[derive(Debug, Clone, Default)]
pub struct JoystreamOptions {
    /// Keys it may sign with.
    pub keys: Keyring,
    /// Storage bucket endpoints to use until (and over) what the bucket's operator publishes.
    pub endpoints: BTreeMap<u64, String>,
    /// Where to keep the operator metadata learned from events (see [`operators`]).
    pub directory_file: Option<PathBuf>,
    /// How a fresh directory learns every endpoint published before the node started.
    pub bootstrap: Bootstrap,
}

/// Where the directory's first entries come from (see `squid` and `blocks::scan`).
#[derive(Debug, Clone, Default)]
pub struct Bootstrap {
    /// A Storage-Squid GraphQL endpoint, read once at start.
    pub squid_url: Option<String>,
    /// Or: read every block from this one to the finalized head for metadata events (from
    /// an archive node), resuming where an interrupted scan stopped.
    pub scan_from: Option<u64>,
    /// The most blocks a scan reads (the newest are kept).
    pub scan_max_blocks: u64,
}

/// A client of a Joystream node. Clones share the connection, the keys and the nonces.
#[derive(Clone)]
pub struct JoystreamClient {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    connect: Connect,
    config: JoystreamConfig,
    api: Mutex<Option<OnlineClient<JoystreamConfig>>>,
    /// The same connection's raw RPC (keys-only reads).
    rpc: Mutex<Option<RpcClient>>,
    keys: Keyring,
    nonces: Mutex<BTreeMap<AccountId, u64>>,
    directory: Directory,
    bootstrap: Bootstrap,
    bootstrapped: tokio::sync::OnceCell<()>,
}

impl std::fmt::Debug for JoystreamClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoystreamClient")
            .field("url", &self.inner.url)
            .field("keys", &self.inner.keys)
            .finish()
    }
}

impl JoystreamClient {
    /// A client of the node at `url` (`wss://…` or `ws://…`). Nothing is sent until first use.
    pub fn new(url: &str, options: JoystreamOptions) -> Self {
        let target = url.to_string();
        let connect: Connect = Arc::new(move || {
            let target = target.clone();
            Box::pin(async move {
                RpcClient::from_insecure_url(&target)
                    .await
                    .map_err(|e| e.to_string())
            })
        });
        Self::with_connect(url, connect, options)
    }

    /// A client that connects through `connect` (`name` appears in errors and logs).
    pub fn with_connect(name: &str, connect: Connect, options: JoystreamOptions) -> Self {
        Self {
            inner: Arc::new(Inner {
                url: name.to_string(),
                connect,
                config: JoystreamConfig::default(),
                api: Mutex::new(None),
                rpc: Mutex::new(None),
                keys: options.keys,
                nonces: Mutex::new(BTreeMap::new()),
                directory: Directory::new(options.endpoints, options.directory_file),
                bootstrap: options.bootstrap,
                bootstrapped: tokio::sync::OnceCell::new(),
            }),
        }
    }

    /// Fills the operator directory once, at the first read of the buckets: from the squid if
    /// one is configured, else by a scan of old blocks. Failures are logged; the node then
    /// knows the endpoints it is configured with and learns the others as they are published.
    async fn bootstrap_directory(&self) {
        let b = &self.inner.bootstrap;
        if let Some(url) = &b.squid_url {
            let http = crate::node::peer_http::tool_client();
            match squid::directory(&http, url).await {
                Ok(found) => {
                    let taken = self.inner.directory.learn_from_squid(&found);
                    info!(
                        squid = %url,
                        height = found.height,
                        endpoints = found.endpoints.len(),
                        taken,
                        "operator directory read from the squid"
                    );
                }
                Err(e) => warn!("operator directory: the squid could not be read: {e}"),
            }
            return;
        }
        if let Some(from) = b.scan_from {
            let api = match self.api().await {
                Ok(api) => api,
                Err(e) => return warn!("operator directory: no scan: {e}"),
            };
            if let Err(e) = blocks::scan(self, &api, from, b.scan_max_blocks).await {
                warn!("operator directory: the scan stopped: {e}; it resumes at the next start");
            }
        }
    }

    /// The keys' default account, if any key was given.
    pub fn default_account(&self) -> Option<AccountId> {
        self.inner.keys.first()
    }

    fn transport(&self, message: impl std::fmt::Display) -> ChainError {
        ChainError::Transport {
            url: self.inner.url.clone(),
            message: message.to_string(),
        }
    }

    /// The connection, made if there is none.
    async fn api(&self) -> Result<OnlineClient<JoystreamConfig>, ChainError> {
        let mut slot = self.inner.api.lock().await;
        if let Some(api) = slot.as_ref() {
            return Ok(api.clone());
        }
        let rpc = (self.inner.connect)()
            .await
            .map_err(|e| self.transport(format!("cannot connect: {e}")))?;
        let api = OnlineClient::from_rpc_client_with_config(self.inner.config.clone(), rpc.clone())
            .await
            .map_err(|e| self.transport(format!("cannot start a client: {e}")))?;
        *self.inner.rpc.lock().await = Some(rpc);
        info!(node = %self.inner.url, "connected to the Joystream node");
        *slot = Some(api.clone());
        Ok(api)
    }

    /// Drops the connection after a transport error so that the next call makes a new one.
    async fn forget(&self, why: &ChainError) {
        if matches!(why, ChainError::Transport { .. }) {
            warn!(node = %self.inner.url, "dropping the connection: {why}");
            *self.inner.api.lock().await = None;
            *self.inner.rpc.lock().await = None;
        }
    }

    /// The client at the latest finalized block.
    async fn at(&self) -> Result<reads::At, ChainError> {
        let api = self.api().await?;
        match api.at_current_block().await {
            Ok(at) => Ok(at),
            Err(e) => {
                let e = self.transport(e);
                self.forget(&e).await;
                Err(e)
            }
        }
    }

    /// Runs a read at the latest finalized block.
    async fn read<T, F, Fut>(&self, f: F) -> Result<T, ChainError>
    where
        F: FnOnce(reads::At) -> Fut,
        Fut: Future<Output = reads::ReadResult<T>>,
    {
        let at = self.at().await?;
        match f(at).await {
            Ok(v) => Ok(v),
            Err(message) => {
                let e = self.transport(message);
                self.forget(&e).await;
                Err(e)
            }
        }
    }

    fn unsupported(&self, what: &str) -> ChainError {
        ChainError::Unsupported {
            what: format!("{what} against a Joystream node ({})", self.inner.url),
        }
    }
}

impl Chain for JoystreamClient {
    fn signers(&self) -> Option<Vec<AccountId>> {
        Some(self.inner.keys.accounts())
    }

    async fn submit(&self, origin: Origin, call: Call) -> Result<Inclusion, ChainError> {
        let result = submit::submit(self, origin, call).await;
        if let Err(e) = &result {
            self.forget(e).await;
        }
        result
    }

    async fn finalized_block(&self) -> Result<u64, ChainError> {
        Ok(self.at().await?.block_number())
    }

    async fn finalized_head(&self) -> Result<(u64, BlockHash), ChainError> {
        let at = self.at().await?;
        Ok((at.block_number(), BlockHash(at.block_hash().0)))
    }

    async fn storage_buckets(&self) -> Result<Vec<StorageBucketInfo>, ChainError> {
        self.inner
            .bootstrapped
            .get_or_init(|| self.bootstrap_directory())
            .await;
        let (buckets, bags) =
            self.read(|at| async move {
                Ok((reads::storage_buckets(&at).await?, reads::bags(&at).await?))
            })
            .await?;
        let mut per_bucket: BTreeMap<u64, Vec<BagId>> = BTreeMap::new();
        for (bag_id, bag) in &bags {
            for bucket in &bag.stored_by {
                per_bucket.entry(*bucket).or_default().push(*bag_id);
            }
        }
        Ok(buckets
            .into_iter()
            .map(|(id, bucket)| StorageBucketInfo {
                id,
                bucket,
                bags: per_bucket.remove(&id).unwrap_or_default(),
                operator_metadata: self.inner.directory.storage_operator(id),
            })
            .collect())
    }

    async fn families(&self) -> Result<Vec<FamilyInfo>, ChainError> {
        let (families, buckets, bags) = self
            .read(|at| async move {
                Ok((
                    reads::family_ids(&at).await?,
                    reads::distribution_buckets(&at).await?,
                    reads::bags(&at).await?,
                ))
            })
            .await?;
        let mut per_bucket: BTreeMap<_, Vec<BagId>> = BTreeMap::new();
        for (bag_id, bag) in &bags {
            for bucket in &bag.distributed_by {
                per_bucket.entry(*bucket).or_default().push(*bag_id);
            }
        }
        let mut out: BTreeMap<u64, FamilyInfo> = families
            .into_iter()
            .map(|id| {
                (
                    id,
                    FamilyInfo {
                        id,
                        buckets: Vec::new(),
                    },
                )
            })
            .collect();
        for (id, bucket) in buckets {
            if let Some(family) = out.get_mut(&id.family) {
                family.buckets.push(DistributionBucketInfo {
                    id,
                    bucket,
                    bags: per_bucket.remove(&id).unwrap_or_default(),
                });
            }
        }
        Ok(out.into_values().collect())
    }

    async fn policy(
        &self,
        bag_type: DynamicBagType,
    ) -> Result<DynamicBagCreationPolicy, ChainError> {
        self.read(|at| async move { reads::policy(&at, bag_type).await })
            .await
    }

    async fn upload_terms(&self) -> Result<UploadTerms, ChainError> {
        self.read(|at| async move { reads::upload_terms(&at).await })
            .await
    }

    async fn bag(&self, bag_id: BagId) -> Result<Option<BagInfo>, ChainError> {
        let bag = self
            .read(|at| async move { reads::bag(&at, bag_id).await })
            .await?;
        Ok(bag.map(|bag| BagInfo { bag_id, bag }))
    }

    async fn bag_objects(&self, bag_id: BagId) -> Result<Vec<ObjectInfo>, ChainError> {
        let objects = self
            .read(|at| async move { reads::bag_objects(&at, bag_id).await })
            .await?;
        Ok(objects
            .into_iter()
            .map(|(id, object)| ObjectInfo { id, bag_id, object })
            .collect())
    }

    async fn object_ids(&self) -> Result<Vec<u64>, ChainError> {
        let at = self.at().await?.block_hash();
        let rpc = self.inner.rpc.lock().await.clone();
        let Some(rpc) = rpc else {
            return Err(self.transport("the connection was dropped"));
        };
        match reads::object_ids(&reads::Rpc::new(rpc), at).await {
            Ok(ids) => Ok(ids),
            Err(message) => {
                let e = self.transport(message);
                self.forget(&e).await;
                Err(e)
            }
        }
    }

    async fn blacklist(&self) -> Result<Vec<Cid>, ChainError> {
        self.read(|at| async move { reads::blacklist(&at).await })
            .await
    }

    async fn follow(&self, from: u64) -> Result<BlockStream, ChainError> {
        let api = self.api().await?;
        Ok(blocks::follow(self.clone(), api, from))
    }

    async fn channel(&self, _channel_id: u64) -> Result<Option<ChannelInfo>, ChainError> {
        Err(self.unsupported("reading channels"))
    }
}
