//! A shard's replication worker: runs the scheduler's attempts in the shard's replication task
//! queue, and keeps each job's partial transfer (temp file, digest so far, the sources that sent
//! it) between attempts, so that the next one resumes with `Range`.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

use futures_channel::mpsc;
use futures_lite::StreamExt;
use glommio::TaskQueueHandle;
use hecaton_shared::socket::{FetchJob, Source};
use hecaton_shared::{ContentId, DataObjectId};
use tracing::{debug, warn};

use super::client::Peers;
use super::rate::RateLimit;
use super::transfer::{self, Attempt, Transfer};
use super::{AttemptResult, Order, Outcome};
use crate::control::{PublishError, Publisher};
use crate::store::temp::{self, TempError, TempObject};
use crate::store::{Expected, StoreError};
use crate::views::Views;

/// What a worker is given.
#[derive(Debug)]
pub struct WorkerEnv {
    /// The shard's index (its metrics slot).
    pub shard: usize,
    /// The store's temp directory.
    pub tmp_dir: PathBuf,
    /// Shared views (temp registry, metrics).
    pub views: Arc<Views>,
    /// The store writer.
    pub publisher: Publisher,
    /// Where results go.
    pub results: mpsc::UnboundedSender<AttemptResult>,
    /// This shard's share of the bandwidth cap, bytes per second (0: none).
    pub bytes_per_sec: u64,
    /// The shard's peers: limits, TLS, kept connections.
    pub peers: Rc<Peers>,
}

struct Partial {
    temp: Option<TempObject>,
    contributors: Vec<String>,
    cancelled: Rc<Cell<bool>>,
    running: bool,
}

struct Worker {
    env: WorkerEnv,
    rate: RateLimit,
    queue: TaskQueueHandle,
    partials: RefCell<HashMap<DataObjectId, Partial>>,
}

/// Runs the worker until the order channel closes.
pub async fn run(
    env: WorkerEnv,
    queue: TaskQueueHandle,
    mut orders: mpsc::UnboundedReceiver<Order>,
) {
    let worker = Rc::new(Worker {
        rate: RateLimit::new(env.bytes_per_sec),
        env,
        queue,
        partials: RefCell::new(HashMap::new()),
    });
    while let Some(order) = orders.next().await {
        match order {
            Order::Attempt { job, source } => {
                let w = worker.clone();
                let spawned = glommio::spawn_local_into(
                    async move {
                        let (id, endpoint) = (job.id, source.endpoint.clone());
                        let result = crate::panics::isolate(
                            w.env.shard,
                            crate::panics::Unit::Fetch,
                            |u| w.env.views.metrics.panicked(w.env.shard, u),
                            || format!("fetching object {id} from {endpoint}"),
                            w.attempt(job, source),
                        )
                        .await
                        .unwrap_or_else(|| {
                            // The partial's state is unknown after a panic: start over.
                            w.forget(id);
                            AttemptResult {
                                id,
                                source: endpoint,
                                offset: 0,
                                received: 0,
                                outcome: Outcome::Fatal("the fetch attempt panicked".into()),
                            }
                        });
                        let _ = w.env.results.unbounded_send(result);
                    },
                    worker.queue,
                );
                match spawned {
                    Ok(task) => {
                        task.detach();
                    }
                    Err(e) => warn!("cannot spawn a fetch attempt: {e}"),
                }
            }
            Order::Discard { id } => worker.discard(id),
        }
    }
}

impl Worker {
    /// Drops what is held of `id` whatever its state (after a panic in its attempt).
    fn forget(&self, id: DataObjectId) {
        let removed = self.partials.borrow_mut().remove(&id);
        if let Some(temp) = removed.and_then(|p| p.temp) {
            glommio::spawn_local(temp.discard()).detach();
        }
    }

    fn discard(self: &Rc<Self>, id: DataObjectId) {
        let mut partials = self.partials.borrow_mut();
        let Some(p) = partials.get(&id) else { return };
        if p.running {
            p.cancelled.set(true);
            return;
        }
        let Some(p) = partials.remove(&id) else {
            return;
        };
        if let Some(temp) = p.temp {
            glommio::spawn_local(temp.discard()).detach();
        }
    }

    async fn attempt(self: &Rc<Self>, job: FetchJob, source: Source) -> AttemptResult {
        let id = job.id;
        let (temp, cancelled) = {
            let mut partials = self.partials.borrow_mut();
            let p = partials.entry(id).or_insert_with(|| Partial {
                temp: None,
                contributors: Vec::new(),
                cancelled: Rc::new(Cell::new(false)),
                running: false,
            });
            p.running = true;
            (p.temp.take(), p.cancelled.clone())
        };
        let offset = temp.as_ref().map_or(0, |t| t.len());
        let mut result = AttemptResult {
            id,
            source: source.endpoint.clone(),
            offset,
            received: 0,
            outcome: Outcome::Cancelled,
        };
        let mut temp = match temp {
            Some(t) => t,
            None => {
                match TempObject::create(&self.env.tmp_dir, "fetch", id, &self.env.views.temps)
                    .await
                {
                    Ok(t) => t,
                    Err(e) => {
                        self.partials.borrow_mut().remove(&id);
                        result.outcome = Outcome::Fatal(match e {
                            TempError::Busy => {
                                "another transfer of the object holds its temp file".into()
                            }
                            TempError::Io(e) => format!("creating a temp file: {e}"),
                        });
                        return result;
                    }
                }
            }
        };
        let transfer = self.transfer(&mut temp, &job, &source, &cancelled).await;
        result.received = temp.len() - offset;
        match transfer {
            Transfer::Failed(failure, reason) => {
                debug!(%id, source = %source.endpoint, "fetch attempt failed: {reason}");
                let keep = {
                    let mut partials = self.partials.borrow_mut();
                    match partials.get_mut(&id) {
                        Some(p) if !p.cancelled.get() => {
                            if result.received > 0 && !p.contributors.contains(&source.endpoint) {
                                p.contributors.push(source.endpoint.clone());
                            }
                            p.running = false;
                            true
                        }
                        _ => {
                            partials.remove(&id);
                            false
                        }
                    }
                };
                if !keep {
                    temp.discard().await;
                    result.outcome = Outcome::Cancelled;
                    return result;
                }
                if let Some(p) = self.partials.borrow_mut().get_mut(&id) {
                    p.temp = Some(temp);
                }
                result.outcome = Outcome::Failed(failure, reason);
                result
            }
            Transfer::Cancelled => {
                self.partials.borrow_mut().remove(&id);
                temp.discard().await;
                result.outcome = Outcome::Cancelled;
                result
            }
            Transfer::Local(reason) => {
                self.partials.borrow_mut().remove(&id);
                temp.discard().await;
                result.outcome = Outcome::Fatal(reason);
                result
            }
            Transfer::Complete => {
                let mut contributors = self
                    .partials
                    .borrow_mut()
                    .remove(&id)
                    .map(|p| p.contributors)
                    .unwrap_or_default();
                if !contributors.contains(&source.endpoint) {
                    contributors.push(source.endpoint.clone());
                }
                result.outcome = self.publish(temp, &job, contributors).await;
                result
            }
        }
    }

    /// Receives the rest of the object from `source` into `temp`.
    async fn transfer(
        &self,
        temp: &mut TempObject,
        job: &FetchJob,
        source: &Source,
        cancelled: &Cell<bool>,
    ) -> Transfer {
        let attempt = Attempt {
            id: job.id,
            size: job.size,
            source,
            peers: &self.env.peers,
            rate: Some(&self.rate),
            cancelled,
            root: job
                .content_id
                .parse::<ContentId>()
                .ok()
                .map(|c| *c.digest()),
        };
        let (views, shard) = (&self.env.views, self.env.shard);
        // Room for the rest of the object, promised before a byte is read: at the disk's
        // reserve the job fails as ours (not the peer's), and the control plane retries it
        // after its backoff, so replication pauses while the disk is full and resumes after.
        let rest = job.size.saturating_sub(temp.len());
        let Some(_room) = views.space.lease(rest) else {
            return Transfer::Local(format!(
                "the store's disk is at its reserve ({} bytes free, {} kept free); {rest} bytes wait",
                views.space.free(),
                views.space.reserve()
            ));
        };
        transfer::receive(temp, attempt, |n| views.metrics.fetched(shard, n)).await
    }

    /// Verifies the received object and publishes it.
    async fn publish(
        &self,
        temp: TempObject,
        job: &FetchJob,
        contributors: Vec<String>,
    ) -> Outcome {
        let Ok(content_id) = job.content_id.parse::<ContentId>() else {
            temp.discard().await;
            return Outcome::Fatal(format!(
                "the declared content id {:?} is not a BLAKE3 multihash",
                job.content_id
            ));
        };
        let done = match temp.finish().await {
            Ok(f) => f,
            Err(e) => return Outcome::Fatal(format!("closing the temp file: {e}")),
        };
        if done.digest.size != job.size || done.digest.content_id != content_id {
            warn!(
                id = %job.id,
                expected = %content_id,
                got = %done.digest.content_id,
                sources = ?contributors,
                "fetched bytes do not match the content id; discarded"
            );
            temp::remove(&done.path).await;
            return Outcome::Corrupt {
                blamed: contributors,
            };
        }
        let expected = Expected {
            size: job.size,
            content_id,
        };
        let path = done.path.clone();
        let published = self
            .env
            .publisher
            .publish(
                job.id,
                path.clone(),
                done.digest,
                expected,
                (Some(job.bag), None),
            )
            .await;
        match published {
            Ok(()) => Outcome::Published,
            Err(e) => {
                temp::remove(&path).await;
                match e {
                    PublishError::Store(StoreError::AlreadyStored(_)) => Outcome::AlreadyStored,
                    other => Outcome::Fatal(other.to_string()),
                }
            }
        }
    }
}
