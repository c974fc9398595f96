//! What one shard's connections share: its open files, limits, deadlines and queues, and the
//! views of the catalog and placement the control executor publishes. Shards share nothing
//! mutable: they read those views and hand verified uploads to the store writer. The shard's
//! life (bind, accept, drain) is in `listener.rs`.

use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use glommio::sync::Semaphore;

use crate::cache::CacheEvent;
use crate::control::Publisher;
use crate::fetch::{AttemptResult, ReplicationConfig};
use crate::fill::task::FillEnv;
use crate::sched::Queues;
use crate::serve::limits::Limits;
use crate::serve::open_files::OpenFiles;
use crate::serve::reaper::Reaper;
use crate::serve::upload::resume::ResumeCache;
use crate::store::Catalog;
use crate::views::Views;
use hecaton_shared::socket::Role;
use hecaton_shared::DataObjectId;

/// What a shard is given by the process.
#[derive(Debug, Clone)]
pub struct ShardEnv {
    /// Cross-executor views.
    pub views: Arc<Views>,
    /// The store writer.
    pub publisher: Publisher,
    /// The store's temp directory.
    pub tmp_dir: PathBuf,
    /// The store's resumable uploads directory.
    pub uploads_dir: PathBuf,
    /// Where fetch attempts report.
    pub fetch_results: futures_channel::mpsc::UnboundedSender<AttemptResult>,
    /// How replication runs.
    pub replication: ReplicationConfig,
    /// Shards in all (the bandwidth cap is split between them).
    pub shards: usize,
    /// What the node serves.
    pub role: Role,
    /// Distributor: the cache manager.
    pub cache_events: futures_channel::mpsc::UnboundedSender<CacheEvent>,
    /// The access log, if one is kept.
    pub access_log: Option<crate::serve::access_log::AccessLogConfig>,
    /// How peers' certificates are checked.
    pub peer_tls: crate::tls::ClientTls,
    /// Connections kept to peers.
    pub peer_pool: crate::fetch::pool::PoolLimits,
    /// The public listener's TLS, if it serves https.
    pub tls: Option<crate::tls::ServerTls>,
}

/// What a shard's connections share.
#[derive(Debug)]
pub struct Shard {
    /// Catalog and placement, as the control executor publishes them.
    pub views: Arc<Views>,
    /// The store writer.
    pub publisher: Publisher,
    /// Where uploads and fills are written before they are published.
    pub tmp_dir: PathBuf,
    /// Open object files.
    pub files: OpenFiles,
    /// Connection limits.
    pub limits: Limits,
    /// Set once the process is draining: responses close their connections.
    pub draining: Cell<bool>,
    /// Closed when draining starts, which stops the accept loop (idle connections are woken by
    /// the reaper).
    pub drain: Semaphore,
    /// Connections open now.
    pub active: Cell<usize>,
    /// Proofs being answered now (at most `limits.max_proofs_per_shard`).
    pub proofs: Cell<usize>,
    /// Slices being sent now (at most `limits.max_slices_per_shard`).
    pub slices: Cell<usize>,
    /// The catalog version this shard last used (see [`Shard::catalog`]).
    #[allow(clippy::redundant_allocation)] // the Rc is the point: see `catalog`
    pub catalog_cache: RefCell<Rc<Arc<Catalog>>>,
    /// This shard's index (its metrics slot).
    pub index: usize,
    /// When the shard started (`/status` uptime).
    pub started: Instant,
    /// Deadlines and drain for every connection.
    pub reaper: Reaper,
    /// The catalog version the open files were last checked against.
    pub files_checked: Cell<u64>,
    /// What the node serves.
    pub role: Role,
    /// The shard's task queues.
    pub queues: Queues,
    /// This shard's access log, if one is kept.
    pub access_log: Option<Rc<crate::serve::access_log::AccessLog>>,
    /// The listener's TLS, if it serves https.
    pub tls: Option<crate::tls::ServerTls>,
    /// What a storage node's routes keep per shard.
    pub storage: StorageShard,
    /// What a distributor's routes keep per shard.
    pub distributor: DistributorShard,
}

/// A storage node's per-shard state: uploads and the Colossus views.
#[derive(Debug)]
pub struct StorageShard {
    /// Upload memory: bytes reserved before an upload's body is read.
    pub upload_memory: Semaphore,
    /// Where resumable uploads live until complete.
    pub uploads_dir: PathBuf,
    /// Digest states of resumable uploads this shard received the last bytes of (a client's
    /// next PATCH usually arrives on the same connection), so they need not be re-read.
    pub resumable: RefCell<ResumeCache>,
}

/// A distributor's per-shard state: cache fills and hits.
#[derive(Debug)]
pub struct DistributorShard {
    /// What cache fills need.
    pub fill_env: Rc<FillEnv>,
    /// Cache hits not yet told to the cache manager.
    pub accessed: RefCell<Vec<DataObjectId>>,
}

impl DistributorShard {
    /// Counts a cache hit for the cache manager (sent in batches by the reaper tick).
    pub fn accessed(&self, id: DataObjectId) {
        self.accessed.borrow_mut().push(id);
    }

    /// Sends the batch of hits to the cache manager.
    pub fn flush_accessed(&self) {
        let batch = std::mem::take(&mut *self.accessed.borrow_mut());
        if !batch.is_empty() {
            let _ = self
                .fill_env
                .events
                .unbounded_send(CacheEvent::Accessed(batch));
        }
    }
}

impl Shard {
    /// The current catalog. The shared `Arc` is cloned only when the control executor has
    /// published a new version; otherwise the shard's own `Rc` is, so that serving does not
    /// bounce the shared reference count between cores on every request.
    #[allow(clippy::redundant_allocation)] // one Rc per catalog version, cloned without atomics
    pub fn catalog(&self) -> Rc<Arc<Catalog>> {
        let current = self.views.catalog.load();
        let mut cached = self.catalog_cache.borrow_mut();
        if !Arc::ptr_eq(&cached, &current) {
            *cached = Rc::new(Arc::clone(&current));
        }
        cached.clone()
    }

    /// Waits until draining starts.
    pub async fn drained(&self) {
        let _ = self.drain.acquire(1).await;
    }
}
