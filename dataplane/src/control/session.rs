//! One control plane session on the local socket: handshake, placement snapshot (assembled from
//! its parts, swapped in whole at its end), deltas (ignored unless newer than what is applied),
//! acknowledgements, and reports back. A bad frame ends the session with a logged reason; the
//! data plane keeps its placement and waits for the next session.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
use glommio::net::UnixStream;
use hecaton_shared::socket::{
    encode, hello_version, FrameDecoder, FrameError, FromDataPlane, HeldObject, Report,
    ToDataPlane, PROTOCOL_VERSION,
};
use hecaton_shared::DataObjectId;
use tracing::{debug, info, warn};

use super::Ctx;
use crate::fetch::scheduler::Input;
use crate::placement::{Placement, PlacementBuilder};
use crate::store::Catalog;

/// Objects per inventory report.
const INVENTORY_PART: usize = 10_000;

const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the session checks for the stop.
const TICK: Duration = Duration::from_millis(200);

/// How often metrics are reported.
const METRICS_EVERY: Duration = Duration::from_secs(2);

/// Why a session ended.
#[derive(Debug, thiserror::Error)]
enum SessionEnd {
    #[error("control plane disconnected")]
    Closed,
    #[error("socket error: {0}")]
    Io(#[from] std::io::Error),
    #[error("bad frame: {0}")]
    Frame(#[from] FrameError),
    #[error("protocol violation: {0}")]
    Protocol(String),
    #[error("stopping")]
    Stopping,
}

/// Answers a connection that cannot have a session, and closes it.
pub(super) async fn refuse(mut stream: UnixStream, reason: &str) {
    let mut out = Vec::new();
    encode(
        &FromDataPlane::Refused {
            reason: reason.into(),
        },
        &mut out,
    );
    let _ = stream.write_all(&out).await;
    warn!("refused a control connection: {reason}");
}

/// Serves one session until it ends.
pub(super) async fn serve(stream: UnixStream, ctx: &Ctx) {
    ctx.views
        .sessions
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut session = Session {
        stream,
        decoder: FrameDecoder::new(),
        buf: vec![0; 64 * 1024],
        out: Vec::new(),
        snapshot: None,
        inventory: None,
        welcomed: false,
    };
    match session.run(ctx).await {
        Err(SessionEnd::Closed) if !session.welcomed => {
            debug!("control connection closed before its hello")
        }
        Ok(()) | Err(SessionEnd::Closed) | Err(SessionEnd::Stopping) => {
            info!("control session ended")
        }
        Err(e) => warn!("control session closed: {e}"),
    }
    // Reports queued for this session are stale for the next one (its snapshot re-reports).
    while let Some(Some(_)) = future::poll_once(ctx.reports.recv()).await {}
}

struct Session {
    stream: UnixStream,
    decoder: FrameDecoder,
    buf: Vec<u8>,
    out: Vec<u8>,
    snapshot: Option<PlacementBuilder>,
    /// An inventory being reported, a part per turn of the loop: the catalog it describes
    /// and the first id not reported yet.
    inventory: Option<(Arc<Catalog>, DataObjectId)>,
    welcomed: bool,
}

enum Event {
    Read(std::io::Result<usize>),
    Report(Box<Report>),
    Tick,
    /// Nothing arrived, and an inventory has more parts to send.
    More,
}

impl Session {
    async fn run(&mut self, ctx: &Ctx) -> Result<(), SessionEnd> {
        self.handshake(ctx).await?;
        // Deadlines, not per-iteration sleeps: messages arriving more often than the tick
        // period must not starve it.
        let mut next_tick = Instant::now() + TICK;
        let mut next_metrics = Instant::now() + METRICS_EVERY;
        loop {
            while let Some(msg) = self.decoder.decode::<ToDataPlane>()? {
                self.handle(msg, ctx)?;
            }
            self.inventory_part(ctx);
            self.flush().await?;
            let more = self.inventory.is_some();
            let (stream, buf) = (&mut self.stream, &mut self.buf);
            let event = future::or(
                future::or(
                    future::or(async { Event::Read(stream.read(buf).await) }, async {
                        match ctx.reports.recv().await {
                            Some(r) => Event::Report(Box::new(r)),
                            None => future::pending().await,
                        }
                    }),
                    async {
                        glommio::timer::sleep(next_tick.saturating_duration_since(Instant::now()))
                            .await;
                        Event::Tick
                    },
                ),
                async {
                    if !more {
                        future::pending::<()>().await;
                    }
                    Event::More
                },
            )
            .await;
            match event {
                Event::Read(Ok(0)) => return Err(SessionEnd::Closed),
                Event::Read(Ok(n)) => self.decoder.extend(&self.buf[..n]),
                Event::Read(Err(e)) => return Err(e.into()),
                Event::Report(r) => self.send(&FromDataPlane::Report(*r)),
                Event::More => {}
                Event::Tick if ctx.stopping() => return Err(SessionEnd::Stopping),
                Event::Tick => {
                    next_tick = Instant::now() + TICK;
                    if Instant::now() >= next_metrics {
                        next_metrics = Instant::now() + METRICS_EVERY;
                        let metrics = ctx.views.metrics.snapshot();
                        self.send(&FromDataPlane::Report(Report::Metrics(Box::new(metrics))));
                        self.send(&FromDataPlane::Report(usage(ctx)));
                    }
                }
            }
        }
    }

    async fn handshake(&mut self, ctx: &Ctx) -> Result<(), SessionEnd> {
        let read_hello = async {
            loop {
                // Read as any JSON first: a hello of another version is refused by its version
                // even when its shape is not this version's.
                if let Some(m) = self.decoder.decode::<serde_json::Value>()? {
                    return Ok(m);
                }
                let n = self.stream.read(&mut self.buf).await?;
                if n == 0 {
                    // A probe (is a data plane here?) connects and closes: not an error.
                    return Err(SessionEnd::Closed);
                }
                self.decoder.extend(&self.buf[..n]);
            }
        };
        let hello = future::or(read_hello, async {
            glommio::timer::sleep(HELLO_TIMEOUT).await;
            Err(SessionEnd::Protocol(format!(
                "no hello within {HELLO_TIMEOUT:?}"
            )))
        })
        .await?;
        let stated = hello_version(&hello);
        let refusal = if stated.is_some_and(|v| v != u64::from(PROTOCOL_VERSION)) {
            Some(format!(
                "protocol version {} is not supported (this data plane speaks {PROTOCOL_VERSION})",
                stated.unwrap_or_default()
            ))
        } else {
            None
        };
        let role = match (&refusal, serde_json::from_value::<ToDataPlane>(hello)) {
            (Some(_), _) => ctx.config.role,
            (None, Ok(ToDataPlane::Hello { role, .. })) => role,
            (None, Ok(other)) => {
                return Err(SessionEnd::Protocol(format!(
                    "expected hello, got {other:?}"
                )))
            }
            (None, Err(e)) => return Err(SessionEnd::Protocol(format!("unreadable hello: {e}"))),
        };
        let refusal = if refusal.is_some() {
            refusal
        } else if role != ctx.config.role {
            Some(format!(
                "role mismatch: control plane is {role:?}, data plane is {:?}",
                ctx.config.role
            ))
        } else {
            None
        };
        if let Some(reason) = refusal {
            self.send(&FromDataPlane::Refused {
                reason: reason.clone(),
            });
            self.flush().await?;
            return Err(SessionEnd::Protocol(reason));
        }
        self.send(&FromDataPlane::Welcome {
            version: PROTOCOL_VERSION,
            role: ctx.config.role,
            applied_block: ctx.views.placement().map(|p| p.block),
            shards: ctx.config.shards,
        });
        self.welcomed = true;
        info!("control plane connected");
        Ok(())
    }

    fn handle(&mut self, msg: ToDataPlane, ctx: &Ctx) -> Result<(), SessionEnd> {
        match msg {
            ToDataPlane::Hello { .. } => {
                return Err(SessionEnd::Protocol("second hello".into()));
            }
            ToDataPlane::SnapshotBegin {
                block,
                globals,
                existing,
            } => {
                let base = Some(Catalog::clone(&ctx.views.catalog()));
                self.snapshot = Some(Placement::builder(block, globals, existing, base));
            }
            ToDataPlane::SnapshotBags { block, bags } => match &mut self.snapshot {
                Some(snapshot) if snapshot.block() == block => snapshot.add(bags),
                _ => {
                    return Err(SessionEnd::Protocol(
                        "snapshot part without its begin".into(),
                    ))
                }
            },
            ToDataPlane::SnapshotEnd { block } => {
                let Some(snapshot) = self.snapshot.take().filter(|s| s.block() == block) else {
                    return Err(SessionEnd::Protocol(
                        "snapshot end without its begin".into(),
                    ));
                };
                let b = snapshot.block();
                let applied = ctx.views.placement().map(|p| p.block);
                if applied.is_some_and(|a| b < a) {
                    warn!(
                        snapshot = b,
                        applied = ?applied,
                        "snapshot older than the applied placement ignored"
                    );
                } else {
                    let placement = snapshot.finish();
                    let (bags, objects) = placement.counts();
                    ctx.views.placement.store(Some(Arc::new(placement)));
                    info!(block = b, bags, objects, "placement snapshot applied");
                }
                self.acknowledge(ctx);
                self.report_inventory(ctx);
            }
            ToDataPlane::Delta { block, changes } => {
                let current = ctx.views.placement();
                match current {
                    Some(p) if block > p.block => {
                        let mut next = (*p).clone();
                        next.apply(block, changes);
                        let catalog = ctx.views.catalog();
                        if next.base_is_stale(&catalog) {
                            next.rebase(&catalog);
                        }
                        ctx.views.placement.store(Some(Arc::new(next)));
                        debug!(block, "placement delta applied");
                    }
                    Some(p) => debug!(block, applied = p.block, "stale delta ignored"),
                    None => {
                        return Err(SessionEnd::Protocol("delta before any snapshot".into()));
                    }
                }
                self.acknowledge(ctx);
            }
            ToDataPlane::Fetch { jobs } => {
                let _ = ctx.fetch.try_send(Input::Jobs(jobs));
            }
            ToDataPlane::CancelFetch { ids } => {
                let _ = ctx.fetch.try_send(Input::Cancel(ids));
            }
            ToDataPlane::Remove { removals } => {
                let ids = removals.iter().map(|r| r.id).collect();
                let _ = ctx
                    .cache
                    .unbounded_send(crate::cache::CacheEvent::Forget(ids));
                ctx.publisher.remove(removals);
            }
            ToDataPlane::Summary(summary) => ctx.views.summary.store(Some(Arc::new(summary))),
            ToDataPlane::Sources { sources } => ctx.views.sources.store(Arc::new(sources)),
            ToDataPlane::PublicApi { enabled } => {
                info!(enabled, "public API switched by the operator");
                ctx.views
                    .public_enabled
                    .store(enabled, std::sync::atomic::Ordering::Relaxed);
            }
        }
        Ok(())
    }

    fn acknowledge(&mut self, ctx: &Ctx) {
        if let Some(p) = ctx.views.placement() {
            self.send(&FromDataPlane::Applied { block: p.block });
        }
    }

    /// Tells the control plane everything the store holds, with each object's bag: what it
    /// need not fetch, what it may have to accept on chain (uploads it did not see reported,
    /// e.g. across its restart), and what it may have to clean up. Then the store totals. The
    /// parts go out one per turn of the session's loop ([`Self::inventory_part`]), so a store
    /// of millions of objects is never encoded whole and messages keep being read meanwhile.
    fn report_inventory(&mut self, ctx: &Ctx) {
        self.inventory = Some((ctx.views.catalog(), DataObjectId(0)));
    }

    /// Encodes the next part of the inventory being reported, if any.
    fn inventory_part(&mut self, ctx: &Ctx) {
        let Some((catalog, from)) = self.inventory.take() else {
            return;
        };
        let mut objects: Vec<HeldObject> = catalog
            .iter_from(from)
            .take(INVENTORY_PART + 1)
            .map(|p| HeldObject {
                id: p.id,
                bag: p.bag,
            })
            .collect();
        let next = (objects.len() > INVENTORY_PART).then(|| objects.pop().expect("one more").id);
        let last = next.is_none();
        self.send(&FromDataPlane::Report(Report::Inventory { objects, last }));
        match next {
            Some(next) => self.inventory = Some((catalog, next)),
            None => self.send(&FromDataPlane::Report(usage(ctx))),
        }
    }

    fn send(&mut self, msg: &FromDataPlane) {
        encode(msg, &mut self.out);
    }

    async fn flush(&mut self) -> Result<(), SessionEnd> {
        if !self.out.is_empty() {
            self.stream.write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }
}

/// Store totals.
fn usage(ctx: &Ctx) -> Report {
    let catalog = ctx.views.catalog();
    Report::Usage {
        objects: catalog.len() as u64,
        bytes: catalog.total_size(),
    }
}
