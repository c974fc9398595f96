//! Acceptance on chain: objects the data plane reports stored, and still pending on chain, are
//! accepted with `accept_pending_data_objects`, batched per (bucket, bag) at a configurable
//! interval and batch size, and signed by the bucket's transactor. An upload's report names its
//! bucket and bag (straight from the link), so it is accepted at the next pass even while this
//! node's view of the chain lags the block that registered it; an object reported without them
//! waits for the obligations to list it. A failed batch is retried with exponential backoff;
//! objects the chain lists as accepted leave the queue, and so do objects it never lists after
//! [`UNLISTED_PASSES`]. Nothing is re-hashed: the data plane verified the bytes before
//! reporting.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hecaton_shared::socket::StoredObject;
use hecaton_shared::{BagId, DataObjectId, StorageBucketId};
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use crate::account::AccountId;
use crate::chain::{Chain, ChainError};
use crate::node::obligations::Obligations;
use hecaton_vocabulary::call::StorageCall;
use hecaton_vocabulary::call::{Call, Origin};

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

/// Passes (or failed calls) an object the obligations do not list stays queued: a report can
/// come before the chain's view lists the object, but an object deleted meanwhile must leave.
pub const UNLISTED_PASSES: u32 = 20;

#[derive(Debug, Default)]
struct Entry {
    /// Its bag, as reported.
    bag: Option<BagId>,
    /// The bucket its upload named.
    bucket: Option<StorageBucketId>,
    attempts: u32,
    last_error: Option<String>,
    not_before: Option<Instant>,
}

/// Runs acceptance until the report channel closes.
pub async fn run<C: Chain>(
    chain: C,
    config: AcceptConfig,
    mut stored: mpsc::UnboundedReceiver<Vec<StoredObject>>,
    obligations: watch::Receiver<Arc<Obligations>>,
    stats: Arc<Mutex<AcceptStats>>,
) {
    let mut queue: BTreeMap<DataObjectId, Entry> = BTreeMap::new();
    let mut tick = tokio::time::interval(config.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            objects = stored.recv() => match objects {
                Some(objects) => {
                    for o in objects {
                        let entry = queue.entry(o.id).or_default();
                        entry.bag = entry.bag.or(o.bag);
                        entry.bucket = entry.bucket.or(o.bucket);
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
        let due = entry.not_before.is_none_or(|t| t <= now);
        let signer = |bucket: &StorageBucketId| {
            // Each bucket's acceptances are signed by its own transactor.
            ob.transactors
                .get(&bucket.0)
                .copied()
                .unwrap_or(config.transactor)
        };
        match ob.object(*id) {
            // Accepted already (by us or another holder).
            Some((_, o)) if o.accepted => false,
            Some((bag, _)) => {
                // The bucket the upload named if this node operates it, else any of the bag's.
                let operated = entry
                    .bucket
                    .filter(|b| bag.buckets.contains(b) && ob.globals.buckets.contains(b))
                    .or_else(|| {
                        bag.buckets
                            .iter()
                            .find(|b| ob.globals.buckets.contains(b))
                            .copied()
                    });
                if let (true, Some(bucket)) = (due, operated) {
                    groups
                        .entry((bucket.0, bag.bag, signer(&bucket)))
                        .or_default()
                        .insert(*id);
                }
                true
            }
            // Not listed yet: the report says where it belongs, the chain will judge.
            None => match (entry.bag, entry.bucket) {
                (Some(bag), Some(bucket)) if entry.attempts < UNLISTED_PASSES => {
                    if due {
                        groups
                            .entry((bucket.0, bag, signer(&bucket)))
                            .or_default()
                            .insert(*id);
                    }
                    true
                }
                _ if ob.bags.is_empty() => true,
                _ => {
                    entry.attempts < UNLISTED_PASSES && {
                        // Reported before this node's obligations list it: wait a little.
                        entry.attempts += 1;
                        true
                    }
                }
            },
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
            bag: e.bag.or_else(|| ob.object(*id).map(|(b, _)| b.bag)),
            attempts: e.attempts,
            last_error: e.last_error.clone(),
        })
        .collect();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{
        BagInfo, BlockStream, ChannelInfo, FamilyInfo, ObjectInfo, StorageBucketInfo, UploadTerms,
    };
    use hecaton_shared::socket::BagPlacement;
    use hecaton_vocabulary::block::BlockHash;
    use hecaton_vocabulary::block::Inclusion;
    use hecaton_vocabulary::storage_types::{Cid, DynamicBagCreationPolicy, DynamicBagType};

    /// Records what is submitted; the acceptor reads nothing else from the chain.
    #[derive(Default)]
    struct Recording(Mutex<Vec<(Origin, Call)>>);

    async fn unused<T>() -> Result<T, ChainError> {
        unreachable!("the acceptor only submits")
    }

    impl Chain for Recording {
        async fn submit(&self, origin: Origin, call: Call) -> Result<Inclusion, ChainError> {
            self.0.lock().unwrap().push((origin, call));
            Ok(Inclusion {
                block: 1,
                block_hash: BlockHash([0; 32]),
                index: 0,
                error: None,
                events: Vec::new(),
            })
        }
        async fn finalized_block(&self) -> Result<u64, ChainError> {
            unused().await
        }
        async fn finalized_head(
            &self,
        ) -> Result<(u64, hecaton_vocabulary::block::BlockHash), ChainError> {
            unused().await
        }
        async fn storage_buckets(&self) -> Result<Vec<StorageBucketInfo>, ChainError> {
            unused().await
        }
        async fn families(&self) -> Result<Vec<FamilyInfo>, ChainError> {
            unused().await
        }
        async fn policy(&self, _: DynamicBagType) -> Result<DynamicBagCreationPolicy, ChainError> {
            unused().await
        }
        async fn upload_terms(&self) -> Result<UploadTerms, ChainError> {
            unused().await
        }
        async fn bag(&self, _: BagId) -> Result<Option<BagInfo>, ChainError> {
            unused().await
        }
        async fn bag_objects(&self, _: BagId) -> Result<Vec<ObjectInfo>, ChainError> {
            unused().await
        }
        async fn object_ids(&self) -> Result<Vec<u64>, ChainError> {
            unused().await
        }
        async fn blacklist(&self) -> Result<Vec<Cid>, ChainError> {
            unused().await
        }
        async fn follow(&self, _: u64) -> Result<BlockStream, ChainError> {
            unused().await
        }
        async fn channel(&self, _: u64) -> Result<Option<ChannelInfo>, ChainError> {
            unused().await
        }
    }

    fn config() -> AcceptConfig {
        AcceptConfig {
            worker_id: 3,
            transactor: AccountId::dev("//Alice"),
            interval: Duration::from_millis(10),
            batch_size: 10,
            max_backoff: Duration::from_secs(1),
        }
    }

    /// Obligations of bucket 0 with one other bag: the chain's view is live but does not list
    /// the object yet (it lags the block that registered the upload).
    fn lagging() -> Obligations {
        let other: BagId = "dynamic:channel:1".parse().unwrap();
        let mut ob = Obligations::default();
        ob.globals.buckets = vec![StorageBucketId(0)];
        ob.bags.insert(
            other,
            Arc::new(BagPlacement {
                bag: other,
                buckets: vec![StorageBucketId(0)],
                peers: vec![],
                objects: vec![],
            }),
        );
        ob
    }

    #[tokio::test]
    async fn an_upload_is_accepted_for_the_bucket_and_bag_it_named_before_the_chain_view_lists_it()
    {
        let chain = Recording::default();
        let bag: BagId = "dynamic:channel:5".parse().unwrap();
        let mut queue = BTreeMap::new();
        queue.insert(
            DataObjectId(7),
            Entry {
                bag: Some(bag),
                bucket: Some(StorageBucketId(0)),
                ..Entry::default()
            },
        );
        let stats = Mutex::new(AcceptStats::default());
        pass(&chain, &config(), &lagging(), &mut queue, &stats).await;
        let calls = chain.0.lock().unwrap();
        assert_eq!(calls.len(), 1, "one call at the first pass");
        let (origin, call) = &calls[0];
        assert_eq!(*origin, Origin::Signed(AccountId::dev("//Alice")));
        assert_eq!(
            *call,
            Call::Storage(StorageCall::AcceptPendingDataObjects {
                worker_id: 3,
                storage_bucket_id: 0,
                bag_id: bag,
                data_objects: [7].into(),
            })
        );
        assert!(queue.is_empty(), "accepted objects leave the queue");
    }

    #[tokio::test]
    async fn an_object_reported_without_its_bucket_waits_for_the_chain_view_then_leaves() {
        let chain = Recording::default();
        let mut queue = BTreeMap::new();
        queue.insert(DataObjectId(7), Entry::default());
        let stats = Mutex::new(AcceptStats::default());
        for _ in 0..UNLISTED_PASSES {
            pass(&chain, &config(), &lagging(), &mut queue, &stats).await;
            assert!(chain.0.lock().unwrap().is_empty());
        }
        pass(&chain, &config(), &lagging(), &mut queue, &stats).await;
        assert!(
            queue.is_empty(),
            "never listed: dropped after {UNLISTED_PASSES} passes"
        );
    }
}
