//! The store's single writer. Shards verify uploads themselves (size and content id, computed
//! while the bytes arrived) and hand the temp file here; the writer syncs, renames and indexes it
//! (the index is one append-only log, so appends are serialised in one place), swaps the new
//! catalog in for every shard, and reports the object to the control plane.

use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

use futures_channel::{mpsc, oneshot};
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_lite::{future, StreamExt};
use hecaton_shared::socket::Report;
use hecaton_shared::DataObjectId;
use tracing::{info, warn};

use super::Ctx;
use crate::store::{Digest, Expected, Publish, Store, StoreError};

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
    id: DataObjectId,
    tmp: PathBuf,
    digest: Digest,
    expected: Expected,
    reply: oneshot::Sender<Result<(), PublishError>>,
}

/// A shard's handle on the writer (cheap to clone, usable from any executor).
#[derive(Debug, Clone)]
pub struct Publisher {
    tx: mpsc::UnboundedSender<PublishRequest>,
}

impl std::fmt::Debug for PublishRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublishRequest")
            .field("id", &self.id)
            .finish()
    }
}

/// The writer's end; it runs until every [`Publisher`] is dropped.
#[derive(Debug)]
pub struct PublishQueue {
    rx: mpsc::UnboundedReceiver<PublishRequest>,
}

/// A connected publisher and queue.
pub fn channel() -> (Publisher, PublishQueue) {
    let (tx, rx) = mpsc::unbounded();
    (Publisher { tx }, PublishQueue { rx })
}

impl Publisher {
    /// Publishes the verified file `tmp` as object `id` and waits until it is durable and
    /// served.
    pub async fn publish(
        &self,
        id: DataObjectId,
        tmp: PathBuf,
        digest: Digest,
        expected: Expected,
    ) -> Result<(), PublishError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .unbounded_send(PublishRequest {
                id,
                tmp,
                digest,
                expected,
                reply,
            })
            .map_err(|_| PublishError::Stopped)?;
        answer.await.map_err(|_| PublishError::Stopped)?
    }
}

/// Most requests committed together.
const GROUP: usize = 64;

/// Publishes requests until the shards are done (or every publisher is gone), then closes the
/// store. Requests that queued up while a commit ran are committed together (group commit).
pub(super) async fn run(mut store: Store, mut queue: PublishQueue, ctx: Rc<Ctx>) {
    loop {
        let next = future::or(queue.rx.next(), async {
            while !ctx.shards_done.load(Ordering::Relaxed) {
                glommio::timer::sleep(Duration::from_millis(50)).await;
            }
            None
        })
        .await;
        let Some(first) = next else { break };
        let mut batch = vec![first];
        while batch.len() < GROUP {
            match queue.rx.try_recv() {
                Ok(req) => batch.push(req),
                Err(_) => break,
            }
        }
        let (items, replies): (Vec<Publish>, Vec<_>) = batch
            .into_iter()
            .map(|req| {
                let item = Publish {
                    id: req.id,
                    from: req.tmp,
                    digest: req.digest,
                    expected: Some(req.expected),
                };
                (item, (req.id, req.reply))
            })
            .unzip();
        let sizes: Vec<u64> = items.iter().map(|i| i.digest.size).collect();
        let results = store.publish_many(items).await;
        // Shards see the new objects before any uploader hears back: a 201 is servable.
        if results.iter().any(Result::is_ok) {
            ctx.views.catalog.store(Arc::new(store.catalog()));
        }
        let mut stored = Vec::new();
        for (((id, reply), result), size) in replies.into_iter().zip(results).zip(sizes) {
            match &result {
                Ok(()) => {
                    info!(%id, size, "object published");
                    stored.push(id);
                }
                Err(e) => warn!(%id, "publish failed: {e}"),
            }
            let _ = reply.send(result.map_err(Into::into));
        }
        if !stored.is_empty() {
            ctx.report(Report::Stored { ids: stored });
        }
    }
    if let Err(e) = store.close().await {
        warn!("closing the store: {e}");
    }
}
