//! The cache manager, on the control executor: the one [`CachePolicy`] of the node, fed by the
//! shards' hits (batched), the fills' reservations and results, and the control plane's
//! removals; it orders evictions from the store writer to stay within the byte budget, keeps
//! the hottest small objects in memory for every shard, and saves the policy's state.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_channel::mpsc;
use futures_lite::{future, StreamExt};
use glommio::io::BufferedFile;
use hecaton_shared::socket::{Removal, RemovalReason, Report};
use hecaton_shared::DataObjectId;
use tracing::{info, warn};

use super::{cold, state, CachePolicy, Split};
use crate::control::writer::Publisher;
use crate::store::Catalog;
use crate::views::Views;

/// What the manager hears.
#[derive(Debug)]
pub enum CacheEvent {
    /// Objects served from the cache (a shard's batch).
    Accessed(Vec<DataObjectId>),
    /// A fill started: room is made for it now.
    Filling {
        /// The object.
        id: DataObjectId,
        /// Its size.
        size: u64,
    },
    /// A fill ended; when `stored`, the object is in the store now.
    FillEnded {
        /// The object.
        id: DataObjectId,
        /// Its size.
        size: u64,
        /// Verified and published.
        stored: bool,
    },
    /// Objects removed from the store for another reason.
    Forget(Vec<DataObjectId>),
    /// A report for the control plane (a storage source's failure).
    Report(Report),
}

/// How the cache runs.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// The byte budget on disk.
    pub capacity: u64,
    /// How it is split by object size.
    pub split: Split,
    /// Bytes of the memory tier.
    pub memory_budget: u64,
    /// Largest object kept in memory.
    pub memory_max_object: u64,
    /// Where the policy's state is saved.
    pub state_path: PathBuf,
}

/// Between refreshes of the memory tier.
const MEMORY_EVERY: Duration = Duration::from_secs(5);
/// Between saves of the state.
const SAVE_EVERY: Duration = Duration::from_secs(60);

/// Runs the manager until `events` closes or `stopping` says so; saves the state at the end.
pub async fn run(
    config: CacheConfig,
    views: Arc<Views>,
    publisher: Publisher,
    mut events: mpsc::UnboundedReceiver<CacheEvent>,
    report: impl Fn(Report),
    stopping: impl Fn() -> bool,
) {
    let catalog = views.catalog();
    let (mut policy, over) = restore(&config, &catalog).await;
    // Over budget after a restart with a smaller budget: those go from the store too.
    evict(&publisher, over);
    info!(
        objects = policy.len(),
        bytes = policy.used(),
        capacity = config.capacity,
        "cache ready"
    );
    let mut reserved: HashMap<DataObjectId, u64> = HashMap::new();
    let mut next_memory = Instant::now();
    let mut next_save = Instant::now() + SAVE_EVERY;
    loop {
        let event = future::or(async { Some(events.next().await) }, async {
            glommio::timer::sleep(Duration::from_secs(1)).await;
            None
        })
        .await;
        match event {
            Some(None) => break,
            Some(Some(e)) => match e {
                CacheEvent::Accessed(ids) => {
                    let catalog = views.catalog();
                    for id in ids {
                        if !policy.access(id.0) {
                            if let Some(meta) = catalog.get(id) {
                                evict(
                                    &publisher,
                                    policy.insert(id.0, meta.size).unwrap_or_default(),
                                );
                            }
                        }
                    }
                }
                CacheEvent::Filling { id, size } => {
                    reserved.insert(id, size);
                    let extra: u64 = reserved.values().sum();
                    evict(&publisher, policy.reserve(size, extra));
                }
                CacheEvent::FillEnded { id, size, stored } => {
                    reserved.remove(&id);
                    if stored {
                        match policy.insert(id.0, size) {
                            Ok(evicted) => evict(&publisher, evicted),
                            Err(e) => {
                                warn!(%id, "cached object refused by the policy ({e}); dropping it");
                                evict(&publisher, vec![id.0]);
                            }
                        }
                    }
                }
                CacheEvent::Forget(ids) => {
                    for id in ids {
                        policy.remove(id.0);
                    }
                }
                CacheEvent::Report(r) => report(r),
            },
            None if stopping() => break,
            None => {}
        }
        let now = Instant::now();
        if now >= next_memory {
            next_memory = now + MEMORY_EVERY;
            refresh_memory(&config, &policy, &views).await;
        }
        if now >= next_save {
            next_save = now + SAVE_EVERY;
            save(&config, &policy).await;
        }
    }
    save(&config, &policy).await;
}

/// The policy from the saved state, reconciled with the store: what the store lacks is
/// dropped, what the state lacks comes in cold (as the oldest).
async fn restore(config: &CacheConfig, catalog: &Catalog) -> (CachePolicy, Vec<u64>) {
    let (saved, ghost) = state::load(&config.state_path).await.unwrap_or_default();
    let known: std::collections::HashSet<u64> = saved.iter().map(|s| s.id).collect();
    let mut entries: Vec<_> = catalog
        .iter()
        .filter(|m| !known.contains(&m.id.0))
        .map(|m| cold(m.id.0, m.size))
        .collect();
    let re_scanned = entries.len();
    entries.extend(saved.into_iter().filter_map(|mut s| {
        let meta = catalog.get(DataObjectId(s.id))?;
        s.size = meta.size;
        Some(s)
    }));
    if re_scanned > 0 {
        info!(
            objects = re_scanned,
            "cached objects the saved state did not know taken in cold"
        );
    }
    CachePolicy::restore(config.capacity, config.split, &entries, &ghost)
}

fn evict(publisher: &Publisher, ids: Vec<u64>) {
    if ids.is_empty() {
        return;
    }
    publisher.remove(
        ids.into_iter()
            .map(|id| Removal {
                id: DataObjectId(id),
                reason: RemovalReason::Evicted,
            })
            .collect(),
    );
}

async fn save(config: &CacheConfig, policy: &CachePolicy) {
    let (entries, ghost) = policy.save();
    if let Err(e) = state::save(&config.state_path, &entries, &ghost).await {
        warn!(path = %config.state_path.display(), "saving the cache state: {e}");
    }
}

/// Keeps the hottest objects' bytes in memory (read once, shared by every shard).
async fn refresh_memory(config: &CacheConfig, policy: &CachePolicy, views: &Views) {
    if config.memory_budget == 0 {
        return;
    }
    let want = policy.hottest(config.memory_budget, config.memory_max_object);
    let current = views.memory.load_full();
    if want.len() == current.len()
        && want
            .iter()
            .all(|id| current.contains_key(&DataObjectId(*id)))
    {
        return;
    }
    let catalog = views.catalog();
    let mut next = imbl::HashMap::new();
    for id in want.into_iter().map(DataObjectId) {
        if let Some(bytes) = current.get(&id) {
            next.insert(id, bytes.clone());
            continue;
        }
        let Some(meta) = catalog.get(id) else {
            continue;
        };
        match read_whole(&catalog.path_of(id), meta.size).await {
            Ok(bytes) => {
                next.insert(id, bytes);
            }
            Err(e) => warn!(%id, "memory tier: cannot read the object: {e}"),
        }
    }
    views.memory.store(Arc::new(next));
}

async fn read_whole(path: &std::path::Path, size: u64) -> std::io::Result<Arc<[u8]>> {
    let f = BufferedFile::open(path).await?;
    let mut bytes = Vec::with_capacity(size as usize);
    while (bytes.len() as u64) < size {
        let chunk = f
            .read_at(
                bytes.len() as u64,
                (size as usize - bytes.len()).min(1 << 20),
            )
            .await?;
        if chunk.is_empty() {
            break;
        }
        bytes.extend_from_slice(&chunk);
    }
    f.close().await?;
    if bytes.len() as u64 != size {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(bytes.into())
}
