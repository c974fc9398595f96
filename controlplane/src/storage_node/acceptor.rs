//! Acceptance on chain: objects the data plane reports stored, and still pending on chain, are
//! accepted with `accept_pending_data_objects`, batched per (bucket, bag) at a configurable
//! interval and batch size, and signed by the bucket's transactor. A failed batch is retried
//! with exponential backoff; objects the chain no longer lists (deleted) or lists as accepted
//! leave the queue. Nothing is re-hashed: the data plane verified the bytes before reporting.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hecaton_shared::{BagId, DataObjectId};
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use crate::account::AccountId;
use crate::chain::{Chain, ChainError};
use crate::node::obligations::Obligations;
use crate::runtime::call::StorageCall;
use crate::runtime::{Call, Origin};

/// How acceptance runs.
#[derive(Debug, Clone)]
pub struct AcceptConfig {
    /// The storage worker id.
    pub worker_id: u64,
    /// The account that signs for a bucket whose transactor the obligations do not name.
    pub transactor: AccountId,
    /// Time between passes.
    pub interval: Duration,
    /// Most objects per call.
    pub batch_size: usize,
    /// Longest wait before retrying a failed batch.
    pub max_backoff: Duration,
}

/// An object waiting for acceptance, as the status shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PendingObject {
    /// Object id.
    pub id: DataObjectId,
    /// Its bag, once known.
    pub bag: Option<BagId>,
    /// Failed attempts so far.
    pub attempts: u32,
    /// The last failure.
    pub last_error: Option<String>,
}

/// Acceptance counters and the queue, for status and metrics.
#[derive(Debug, Default, Clone, Serialize)]
pub struct AcceptStats {
    /// Objects accepted by this node.
    pub accepted: u64,
    /// Calls that succeeded.
    pub batches_ok: u64,
    /// Calls that failed.
    pub batches_failed: u64,
    /// Objects waiting (first 100).
    pub queue: Vec<PendingObject>,
    /// Objects waiting, in all.
    pub queued: usize,
}

#[derive(Debug, Default)]
struct Entry {
    attempts: u32,
    last_error: Option<String>,
    not_before: Option<Instant>,
}

/// Runs acceptance until the report channel closes.
pub async fn run<C: Chain>(
    chain: C,
    config: AcceptConfig,
    mut stored: mpsc::UnboundedReceiver<Vec<DataObjectId>>,
    obligations: watch::Receiver<Arc<Obligations>>,
    stats: Arc<Mutex<AcceptStats>>,
) {
    let mut queue: BTreeMap<DataObjectId, Entry> = BTreeMap::new();
    let mut tick = tokio::time::interval(config.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            ids = stored.recv() => match ids {
                Some(ids) => {
                    for id in ids {
                        queue.entry(id).or_default();
                    }
                }
                None => return,
            },
            _ = tick.tick() => {
                let ob = obligations.borrow().clone();
                pass(&chain, &config, &ob, &mut queue, &stats).await;
                publish_stats(&queue, &ob, &stats);
            }
        }
    }
}

/// One pass: drop what needs no acceptance, group the rest and submit one call per group.
async fn pass<C: Chain>(
    chain: &C,
    config: &AcceptConfig,
    ob: &Obligations,
    queue: &mut BTreeMap<DataObjectId, Entry>,
    stats: &Mutex<AcceptStats>,
) {
    let now = Instant::now();
    let mut groups: BTreeMap<(u64, BagId, AccountId), BTreeSet<DataObjectId>> = BTreeMap::new();
    queue.retain(|id, entry| {
        match ob.object(*id) {
            // Accepted already (by us or another holder), or gone from this node's bags.
            Some((_, o)) if o.accepted => false,
            None if ob.bags.is_empty() => true,
            None => {
                entry.attempts < 20 && {
                    // Reported before this node's obligations list it: wait a little.
                    entry.attempts += 1;
                    true
                }
            }
            Some((bag, _)) => {
                if entry.not_before.is_none_or(|t| t <= now) {
                    let operated = bag.buckets.iter().find(|b| ob.globals.buckets.contains(b));
                    if let Some(bucket) = operated {
                        // Each bucket's acceptances are signed by its own transactor.
                        let signer = ob
                            .transactors
                            .get(&bucket.0)
                            .copied()
                            .unwrap_or(config.transactor);
                        groups
                            .entry((bucket.0, bag.bag, signer))
                            .or_default()
                            .insert(*id);
                    }
                }
                true
            }
        }
    });
    let calls = groups.into_iter().flat_map(|((bucket, bag, signer), ids)| {
        let ids: Vec<DataObjectId> = ids.into_iter().collect();
        ids.chunks(config.batch_size.max(1))
            .map(|c| (bucket, bag, signer, c.to_vec()))
            .collect::<Vec<_>>()
    });
    let submissions = calls.map(|(bucket, bag, signer, ids)| async move {
        let call = Call::Storage(StorageCall::AcceptPendingDataObjects {
            worker_id: config.worker_id,
            storage_bucket_id: bucket,
            bag_id: bag,
            data_objects: ids.iter().map(|i| i.0).collect(),
        });
        let result = chain.submit(Origin::Signed(signer), call).await;
        (bucket, bag, ids, result)
    });
    for (bucket, bag, ids, result) in futures_util::future::join_all(submissions).await {
        let mut stats = stats.lock().expect("stats lock");
        match result {
            Ok(inclusion) => {
                info!(bucket, %bag, objects = ids.len(), block = inclusion.block, "accepted on chain");
                stats.accepted += ids.len() as u64;
                stats.batches_ok += 1;
                for id in ids {
                    queue.remove(&id);
                }
            }
            Err(e) => {
                warn!(bucket, %bag, objects = ids.len(), "acceptance failed: {e}");
                stats.batches_failed += 1;
                for id in ids {
                    if let Some(entry) = queue.get_mut(&id) {
                        entry.attempts += 1;
                        entry.last_error = Some(describe(&e));
                        let wait = Duration::from_secs(1 << entry.attempts.min(10))
                            .min(config.max_backoff);
                        entry.not_before = Some(Instant::now() + wait);
                    }
                }
            }
        }
    }
}

fn describe(e: &ChainError) -> String {
    match e {
        ChainError::Dispatch { error, .. } => error.to_string(),
        other => other.to_string(),
    }
}

fn publish_stats(
    queue: &BTreeMap<DataObjectId, Entry>,
    ob: &Obligations,
    stats: &Mutex<AcceptStats>,
) {
    let mut stats = stats.lock().expect("stats lock");
    stats.queued = queue.len();
    stats.queue = queue
        .iter()
        .take(100)
        .map(|(id, e)| PendingObject {
            id: *id,
            bag: ob.object(*id).map(|(b, _)| b.bag),
            attempts: e.attempts,
            last_error: e.last_error.clone(),
        })
        .collect();
}
