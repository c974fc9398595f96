//! The control executor: the data plane's side of the local socket (`session.rs`), the store's
//! single writer (`writer.rs`), the fetch scheduler (`crate::fetch::scheduler`) and the sweep of
//! leftovers (`sweep.rs`). It runs on its own unpinned glommio executor so that shards never wait
//! on index appends or on the control plane; shards hand it verified objects through a channel
//! and read what it publishes (catalog, placement, summary) through [`Views`].

pub mod scrub;
mod session;
mod sweep;
pub mod writer;

use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_channel::mpsc;
use futures_lite::future;
use glommio::channels::local_channel::{self, LocalReceiver, LocalSender};
use glommio::net::UnixListener;
use hecaton_shared::socket::{Report, Role};
use tracing::{info, warn};

pub use writer::{channel, PublishError, PublishQueue, Publisher, UNLINK_GRACE};

use crate::fetch::scheduler::{self, Input, Scheduler};
use crate::fetch::{AttemptResult, FetchLimits, Order};
use crate::store::Store;
use crate::views::Views;

/// The pause after a failed accept on the control socket, so the loop does not spin on it.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// What the control executor needs.
#[derive(Debug)]
pub struct ControlConfig {
    /// The local socket's path.
    pub socket: PathBuf,
    /// This node's role.
    pub role: Role,
    /// Shards serving (told to the control plane).
    pub shards: usize,
    /// Fetch concurrency and retries.
    pub fetch_limits: FetchLimits,
    /// The store's directory (for the sweep).
    pub store: PathBuf,
    /// Period of the sweep.
    pub sweep_interval: Duration,
    /// The scrub's pace (storage nodes).
    pub scrub: scrub::ScrubConfig,
    /// Distributor: the cache.
    pub cache: Option<crate::cache::CacheConfig>,
    /// How long a resumable upload lives after its creation.
    pub tus_expiry: Duration,
}

/// The store and its writer's queue, with a handle the control executor uses itself.
#[derive(Debug)]
pub struct Writer {
    /// The store.
    pub store: Store,
    /// Requests from shards.
    pub queue: PublishQueue,
    /// The control executor's own handle (removals).
    pub publisher: Publisher,
}

/// The scheduler's channels to and from the shards.
#[derive(Debug)]
pub struct FetchParts {
    /// Orders to each shard, by index.
    pub orders: Vec<mpsc::UnboundedSender<Order>>,
    /// Results from every shard.
    pub results: mpsc::UnboundedReceiver<AttemptResult>,
}

/// Why the control socket could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Binding the Unix socket failed.
    #[error("cannot listen on control socket {path}: {source}")]
    Bind {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A live process answers on the socket.
    #[error("control socket {0} is in use by a live process")]
    InUse(PathBuf),
}

/// Binds the control socket. A socket file left by a data plane that is gone (nothing answers a
/// connect) is replaced; one a live process answers on is refused.
pub async fn bind(path: &Path) -> Result<UnixListener, ControlError> {
    let err = |e: glommio::GlommioError<()>| ControlError::Bind {
        path: path.to_owned(),
        source: std::io::Error::from(e),
    };
    match bind_owner_only(path) {
        Ok(l) => return Ok(l),
        Err(e) => {
            let e = std::io::Error::from(e);
            if e.kind() != std::io::ErrorKind::AddrInUse {
                return Err(ControlError::Bind {
                    path: path.to_owned(),
                    source: e,
                });
            }
        }
    }
    if glommio::net::UnixStream::connect(path).await.is_ok() {
        return Err(ControlError::InUse(path.to_owned()));
    }
    glommio::io::remove(path).await.map_err(err)?;
    bind_owner_only(path).map_err(err)
}

/// Binds the control socket readable and writable by its owner only: connecting to a Unix
/// socket needs write permission on its file, so no other local user can reach the data
/// plane (it was created with the umask's permissions: issue 14, defect 17). The umask is
/// narrowed around the bind itself, so there is no moment when the file is open to others;
/// this runs at start-up, before any other thread creates files.
fn bind_owner_only(path: &Path) -> glommio::Result<UnixListener, ()> {
    // SAFETY: umask has no preconditions; the previous mask is restored right after.
    let previous = unsafe { libc::umask(0o177) };
    let bound = UnixListener::bind(path);
    // SAFETY: as above.
    unsafe { libc::umask(previous) };
    bound
}

/// Keeps the store's free byte count current for every shard (see `store/space.rs`).
async fn refresh_space(ctx: Rc<Ctx>) {
    while !ctx.stopping() {
        match crate::store::space::free_bytes(&ctx.config.store) {
            Ok(free) => ctx.views.space.set_free(free),
            Err(e) => warn!("statvfs {}: {e}", ctx.config.store.display()),
        }
        glommio::timer::sleep(crate::store::space::REFRESH).await;
    }
}

/// State the control executor's tasks share (one thread).
pub(crate) struct Ctx {
    pub views: Arc<Views>,
    pub config: ControlConfig,
    pub reports: LocalReceiver<Report>,
    pub report_tx: LocalSender<Report>,
    pub stop: Arc<AtomicBool>,
    pub shards_done: Arc<AtomicBool>,
    pub fetch: LocalSender<Input>,
    pub publisher: Publisher,
    pub cache: mpsc::UnboundedSender<crate::cache::CacheEvent>,
    /// Objects the scrub found corrupt and removed, until they are published again.
    pub set_aside: std::cell::RefCell<std::collections::HashSet<hecaton_shared::DataObjectId>>,
}

impl Ctx {
    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Queues a report for the control plane; dropped when none is connected (every new
    /// session's snapshot makes the data plane report again what the control plane must know).
    pub(crate) fn report(&self, report: Report) {
        if self.views.is_connected() {
            let _ = self.report_tx.try_send(report);
        }
    }
}

/// Process-wide signals the control executor watches.
#[derive(Debug, Clone, Default)]
pub struct Lifecycle {
    /// SIGTERM/SIGINT arrived: sessions end, no new ones.
    pub stop: Arc<AtomicBool>,
    /// Every shard has drained: no publish can arrive any more, so the store closes.
    pub shards_done: Arc<AtomicBool>,
}

/// Runs the control executor: the socket sessions until the stop, the store writer until the
/// shards are done, the fetch scheduler and the sweep meanwhile.
pub async fn run(
    writer: Writer,
    views: Arc<Views>,
    fetch: FetchParts,
    (cache_tx, cache_rx): (
        mpsc::UnboundedSender<crate::cache::CacheEvent>,
        mpsc::UnboundedReceiver<crate::cache::CacheEvent>,
    ),
    listener: UnixListener,
    config: ControlConfig,
    lifecycle: Lifecycle,
) {
    let Lifecycle { stop, shards_done } = lifecycle;
    // Unbounded: reports are queued only while a session is connected and its writer drains
    // them; fetch jobs come from that session's frames, each bounded by the frame cap.
    let (report_tx, reports) = local_channel::new_unbounded();
    let (fetch_tx, fetch_rx) = local_channel::new_unbounded();
    let limits = config.fetch_limits;
    let ctx = Rc::new(Ctx {
        views,
        config,
        reports,
        report_tx,
        stop,
        shards_done,
        fetch: fetch_tx,
        publisher: writer.publisher,
        cache: cache_tx,
        set_aside: Default::default(),
    });
    let c = ctx.clone();
    glommio::spawn_local(scheduler::run(
        Scheduler::new(limits, fetch.orders),
        fetch_rx,
        fetch.results,
        move |r| c.report(r),
    ))
    .detach();
    glommio::spawn_local(sweep::run(ctx.clone())).detach();
    glommio::spawn_local(scrub::run(ctx.clone())).detach();
    glommio::spawn_local(refresh_space(ctx.clone())).detach();
    let mut cache_manager = None;
    if let Some(config) = ctx.config.cache.clone() {
        let (c, s) = (ctx.clone(), ctx.clone());
        cache_manager = Some(glommio::spawn_local(crate::cache::manager::run(
            config,
            ctx.views.clone(),
            ctx.publisher.clone(),
            cache_rx,
            move |r| c.report(r),
            move || s.stopping(),
        )));
    }
    let writer = glommio::spawn_local(writer::run(writer.store, writer.queue, ctx.clone()));
    info!(socket = %ctx.config.socket.display(), "control socket listening");
    let mut busy: Option<glommio::task::JoinHandle<()>> = None;
    loop {
        let accepted = future::or(async { Some(listener.accept().await) }, async {
            while !ctx.stopping() {
                glommio::timer::sleep(Duration::from_millis(100)).await;
            }
            None
        })
        .await;
        let stream = match accepted {
            None => break,
            Some(Ok(s)) => s,
            Some(Err(e)) => {
                warn!("control socket accept failed: {e}");
                glommio::timer::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        if ctx.views.is_connected() {
            glommio::spawn_local(session::refuse(
                stream,
                "another control plane is connected",
            ))
            .detach();
            continue;
        }
        ctx.views.connected.store(true, Ordering::Relaxed);
        let c = ctx.clone();
        busy = Some(
            glommio::spawn_local(async move {
                session::serve(stream, &c).await;
                c.views.connected.store(false, Ordering::Relaxed);
            })
            .detach(),
        );
    }
    if let Some(session) = busy {
        let _ = session.await;
    }
    // The cache manager saves its state once it sees the stop.
    if let Some(manager) = cache_manager {
        manager.await;
    }
    let _ = writer.await;
    let _ = glommio::io::remove(&ctx.config.socket).await;
}
