//! The store's single writer. Shards verify uploads and fetches themselves (size and content
//! id, computed while the bytes arrived) and hand the temp file here; the writer syncs, renames
//! and indexes it (the index is one append-only log, so appends are serialised in one place),
//! swaps the new catalog in for every shard, and reports the object to the control plane. It
//! also removes what the control plane drops: a durable record first, out of the catalog at
//! once, the file unlinked a moment later (see [`UNLINK_GRACE`]).

use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_channel::{mpsc, oneshot};
use futures_lite::{future, StreamExt};
use hecaton_shared::socket::{Removal, Report, StoredObject};
use hecaton_shared::{BagId, DataObjectId, StorageBucketId};
use tracing::{info, warn};

use super::Ctx;
use crate::metrics::ScrubStats;
use crate::store::{unlink_objects, Digest, Expected, Publish, Store, StoreError};

/// How long a removed object's file stays after it left the catalog: a request that looked it
/// up just before opens it within this time, and an open file keeps its bytes after the unlink,
/// so no reader loses an object from under it.
pub const UNLINK_GRACE: Duration = Duration::from_secs(2);

/// Why an object was not published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The writer is gone (the process is stopping).
    #[error("the store is shutting down")]
    Stopped,
}

struct PublishRequest {
    item: Publish,
    /// The bucket an upload named, told to the control plane with the object.
    bucket: Option<StorageBucketId>,
    reply: oneshot::Sender<Result<(), PublishError>>,
}

enum Request {
    Publish(PublishRequest),
    Remove(Vec<Removal>),
}

/// A handle on the writer (cheap to clone, usable from any executor).
#[derive(Debug, Clone)]
pub struct Publisher {
    tx: mpsc::UnboundedSender<Request>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Publish(r) => f.debug_tuple("Publish").field(&r.item.id).finish(),
            Request::Remove(r) => f.debug_tuple("Remove").field(&r.len()).finish(),
        }
    }
}

/// The writer's end; it runs until every [`Publisher`] is dropped.
#[derive(Debug)]
pub struct PublishQueue {
    rx: mpsc::UnboundedReceiver<Request>,
}

/// A connected publisher and queue.
pub fn channel() -> (Publisher, PublishQueue) {
    // Unbounded: every publisher awaits its reply, so the queue holds at most one request per
    // upload, fetch attempt or fill in flight, each bounded by its own limit.
    let (tx, rx) = mpsc::unbounded();
    (Publisher { tx }, PublishQueue { rx })
}

impl Publisher {
    /// Publishes the verified file `tmp` as object `id` of `bag` and waits until it is durable
    /// and served; the report to the control plane names `bucket` (an upload's) and the bag.
    pub async fn publish(
        &self,
        id: DataObjectId,
        tmp: PathBuf,
        digest: Digest,
        expected: Expected,
        (bag, bucket): (Option<BagId>, Option<StorageBucketId>),
    ) -> Result<(), PublishError> {
        let (reply, answer) = oneshot::channel();
        let item = Publish {
            id,
            from: tmp,
            digest,
            expected: Some(expected),
            bag,
            durable: false,
        };
        self.tx
            .unbounded_send(Request::Publish(PublishRequest {
                item,
                bucket,
                reply,
            }))
            .map_err(|_| PublishError::Stopped)?;
        answer.await.map_err(|_| PublishError::Stopped)?
    }

    /// Queues removals; the writer reports what it removed.
    pub fn remove(&self, removals: Vec<Removal>) {
        let _ = self.tx.unbounded_send(Request::Remove(removals));
    }
}

/// Most requests committed together.
const GROUP: usize = 64;

/// How often an idle writer looks whether every shard has finished (then it closes the store):
/// once the shards are done nothing else wakes it.
const SHARDS_DONE_POLL: Duration = Duration::from_millis(50);

/// How often the writer looks whether the start-up check of the store's files is done.
const FILE_CHECK_POLL: Duration = Duration::from_millis(100);

/// What woke the writer.
enum Next {
    Request(Request),
    Unlink(Vec<DataObjectId>),
    FileCheck,
}

/// Serves requests until the shards are done (or every publisher is gone), then closes the
/// store. Publishes that queued up while a commit ran are committed together (group commit).
pub(super) async fn run(mut store: Store, mut queue: PublishQueue, ctx: Rc<Ctx>) {
    // Unlinks due after their grace come back here, so they are ordered with publishes.
    // Unbounded: one message per removal batch the writer itself committed.
    let (unlink_tx, mut unlink_rx) = mpsc::unbounded::<Vec<DataObjectId>>();
    loop {
        let checking = store.file_check_pending();
        let next = future::or(
            async { queue.rx.next().await.map(Next::Request) },
            future::or(
                async { unlink_rx.next().await.map(Next::Unlink) },
                future::or(
                    async {
                        while !ctx.shards_done.load(Ordering::Relaxed) {
                            glommio::timer::sleep(SHARDS_DONE_POLL).await;
                        }
                        None
                    },
                    async {
                        if !checking {
                            future::pending::<()>().await;
                        }
                        glommio::timer::sleep(FILE_CHECK_POLL).await;
                        Some(Next::FileCheck)
                    },
                ),
            ),
        )
        .await;
        let first = match next {
            None => break,
            Some(Next::Unlink(due)) => {
                unlink(&store, due).await;
                continue;
            }
            Some(Next::FileCheck) => {
                if store.file_check_ready() {
                    finish_file_check(&mut store, &ctx).await;
                }
                continue;
            }
            Some(Next::Request(first)) => first,
        };
        let mut publishes = Vec::new();
        let mut removals = Vec::new();
        let mut next = Some(first);
        while let Some(req) = next.take() {
            match req {
                Request::Publish(p) => publishes.push(p),
                Request::Remove(r) => removals.extend(r),
            }
            if publishes.len() < GROUP {
                next = queue.rx.try_recv().ok();
            }
        }
        if !publishes.is_empty() {
            publish(&mut store, publishes, &ctx).await;
        }
        if !removals.is_empty() {
            remove(&mut store, removals, &ctx, &unlink_tx).await;
        }
    }
    if let Err(e) = store.close().await {
        warn!("closing the store: {e}");
    }
}

/// Applies the start-up check of the store's files; objects whose files are gone leave the
/// catalog every shard reads.
async fn finish_file_check(store: &mut Store, ctx: &Ctx) {
    match store.finish_file_check().await {
        Ok(Some(check)) => {
            if !check.missing_files.is_empty() {
                ctx.views.catalog.store(Arc::new(store.catalog()));
            }
            info!(
                missing = check.missing_files.len(),
                unknown = check.unknown_files.len(),
                finished_removals = check.finished_removals,
                "store files checked against the index"
            );
        }
        Ok(None) => {}
        Err(e) => warn!("checking the store's files: {e}"),
    }
}

async fn publish(store: &mut Store, batch: Vec<PublishRequest>, ctx: &Ctx) {
    let (items, replies): (Vec<Publish>, Vec<_>) = batch
        .into_iter()
        .map(|req| {
            let stored = StoredObject {
                id: req.item.id,
                bag: req.item.bag,
                bucket: req.bucket,
            };
            let key = (stored, req.item.digest.size, req.reply);
            (req.item, key)
        })
        .unzip();
    let results = store.publish_many(items).await;
    // Shards see the new objects before any uploader hears back: a 201 is servable.
    if results.iter().any(Result::is_ok) {
        ctx.views.catalog.store(Arc::new(store.catalog()));
    }
    let mut stored = Vec::new();
    for ((object, size, reply), result) in replies.into_iter().zip(results) {
        let id = object.id;
        match &result {
            Ok(()) => {
                info!(%id, size, "object published");
                if ctx.set_aside.borrow_mut().remove(&id) {
                    info!(%id, "an object the scrub found corrupt is whole again");
                    ScrubStats::add(&ctx.views.metrics.scrub.repaired, 1);
                }
                stored.push(object);
            }
            Err(e) => warn!(%id, "publish failed: {e}"),
        }
        let _ = reply.send(result.map_err(Into::into));
    }
    if !stored.is_empty() {
        ctx.report(Report::Stored { objects: stored });
    }
}

/// Removes objects: durable records and a new catalog now, the files after [`UNLINK_GRACE`].
async fn remove(
    store: &mut Store,
    removals: Vec<Removal>,
    ctx: &Ctx,
    unlinks: &mpsc::UnboundedSender<Vec<DataObjectId>>,
) {
    let ids: Vec<DataObjectId> = removals.iter().map(|r| r.id).collect();
    let removed = match store.remove_many(&ids).await {
        Ok(removed) => removed,
        Err(e) => {
            warn!("removing {} objects failed: {e}", ids.len());
            return;
        }
    };
    if removed.is_empty() {
        return;
    }
    ctx.views.catalog.store(Arc::new(store.catalog()));
    for r in removals.iter().filter(|r| removed.contains(&r.id)) {
        info!(id = %r.id, reason = r.reason.label(), detail = ?r.reason, "object removed");
        ctx.views.metrics.removal(r.reason.label());
    }
    ctx.report(Report::Removed {
        ids: removed.clone(),
    });
    let unlinks = unlinks.clone();
    glommio::spawn_local(async move {
        glommio::timer::sleep(UNLINK_GRACE).await;
        let _ = unlinks.unbounded_send(removed);
    })
    .detach();
}

/// Unlinks removed objects once their grace is over, in the writer's order: an object published
/// again meanwhile (a distributor's evict and re-fill, a re-upload) is in the catalog again and
/// its new file is kept. Done from a timer of its own, the unlink deleted the new copy (issue
/// 14, defect 7: 404 until restart, its space leaked).
async fn unlink(store: &Store, due: Vec<DataObjectId>) {
    let gone: Vec<DataObjectId> = due
        .into_iter()
        .filter(|id| store.get(*id).is_none())
        .collect();
    if gone.is_empty() {
        return;
    }
    if let Err(e) = unlink_objects(store.objects_dir(), &gone).await {
        warn!("unlinking removed objects: {e} (recovery finishes it at the next start)");
    }
}
