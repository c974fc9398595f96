//! The control executor: the data plane's side of the local socket (`session.rs`) and the
//! store's single writer (`publish.rs`). It runs on its own unpinned glommio executor so that
//! shards never wait on index appends or on the control plane; shards hand it verified uploads
//! through a channel and read what it publishes (catalog, placement) through [`Views`].

mod publish;
mod session;

use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_lite::future;
use glommio::channels::local_channel::{self, LocalReceiver, LocalSender};
use glommio::net::UnixListener;
use hecaton_shared::socket::{Report, Role};
use tracing::{info, warn};

pub use publish::{channel, PublishError, PublishQueue, Publisher};

use crate::store::Store;
use crate::views::Views;

/// What the control executor needs.
#[derive(Debug)]
pub struct ControlConfig {
    /// The local socket's path.
    pub socket: PathBuf,
    /// This node's role.
    pub role: Role,
    /// Shards serving (told to the control plane).
    pub shards: usize,
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
    match UnixListener::bind(path) {
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
    UnixListener::bind(path).map_err(err)
}

/// State the control executor's tasks share (one thread).
pub(crate) struct Ctx {
    pub views: Arc<Views>,
    pub config: ControlConfig,
    pub reports: LocalReceiver<Report>,
    pub report_tx: LocalSender<Report>,
    pub stop: Arc<AtomicBool>,
    pub shards_done: Arc<AtomicBool>,
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
/// shards are done.
pub async fn run(
    store: Store,
    views: Arc<Views>,
    queue: PublishQueue,
    listener: UnixListener,
    config: ControlConfig,
    lifecycle: Lifecycle,
) {
    let Lifecycle { stop, shards_done } = lifecycle;
    let (report_tx, reports) = local_channel::new_unbounded();
    let ctx = Rc::new(Ctx {
        views,
        config,
        reports,
        report_tx,
        stop,
        shards_done,
    });
    let writer = glommio::spawn_local(publish::run(store, queue, ctx.clone()));
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
                glommio::timer::sleep(Duration::from_millis(50)).await;
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
    let _ = writer.await;
    let _ = glommio::io::remove(&ctx.config.socket).await;
}
