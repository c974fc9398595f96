//! One shard's life: a glommio executor binds its own SO_REUSEPORT listener, builds its
//! [`Shard`], accepts connections under the per-shard cap until the drain, then waits (bounded)
//! for the connections in flight.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::future;
use glommio::net::{TcpListener, TcpStream};
use glommio::sync::{Gate, Semaphore};
use tracing::{debug, info, warn};

use crate::fetch::{self, Order};
use crate::fill::task::FillEnv;
use crate::http::response::{error_body, ResponseHead};
use crate::sched::Queues;
use crate::serve::limits::Limits;
use crate::serve::open_files::OpenFiles;
use crate::serve::reaper::{self, Reaper};
use crate::serve::shard::{DistributorShard, Shard, ShardEnv, StorageShard};
use crate::serve::{connection, respond};
use crate::tls::Stream;

/// Connections the kernel queues for a shard's listener before it accepts them: a burst of
/// this many new clients per shard waits instead of being refused (the kernel caps it at
/// `net.core.somaxconn`, 4096 by default since Linux 5.4).
const LISTEN_BACKLOG: i32 = 1024;

/// The pause after a failed accept (EMFILE and friends), so the loop does not spin on it.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// Runs shard `index`: binds `addr`, reports through `ready`, serves (and runs the fetch
/// attempts it is handed in `orders`) until `stop` is set, then drains.
pub async fn run(
    index: usize,
    addr: SocketAddr,
    env: ShardEnv,
    limits: Limits,
    orders: futures_channel::mpsc::UnboundedReceiver<Order>,
    stop: Arc<AtomicBool>,
    ready: std::sync::mpsc::Sender<Result<(), String>>,
) {
    let listener = match listen(addr) {
        Ok(l) => l,
        Err(e) => {
            let _ = ready.send(Err(format!("shard {index}: bind {addr}: {e}")));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    let queues = Queues::create(env.replication.shares);
    let peers = Rc::new(crate::fetch::client::Peers::new(
        env.replication.peer_limits,
        env.peer_tls.for_shard(),
        env.peer_pool,
    ));
    let worker = fetch::worker::WorkerEnv {
        shard: index,
        tmp_dir: env.tmp_dir.clone(),
        views: env.views.clone(),
        publisher: env.publisher.clone(),
        results: env.fetch_results.clone(),
        bytes_per_sec: env.replication.bytes_per_sec / env.shards.max(1) as u64,
        peers: peers.clone(),
    };
    match glommio::spawn_local_into(
        fetch::worker::run(worker, queues.replication, orders),
        queues.replication,
    ) {
        Ok(task) => {
            task.detach();
        }
        Err(e) => warn!(shard = index, "cannot start the fetch worker: {e}"),
    }
    let fill_env = Rc::new(FillEnv {
        shard: index,
        tmp_dir: env.tmp_dir.clone(),
        views: env.views.clone(),
        publisher: env.publisher.clone(),
        events: env.cache_events.clone(),
        peers,
    });
    let shard = Rc::new(Shard {
        catalog_cache: RefCell::new(Rc::new(env.views.catalog())),
        views: env.views,
        publisher: env.publisher,
        tmp_dir: env.tmp_dir,
        files: OpenFiles::new(limits.open_files_per_shard),
        limits,
        draining: Cell::new(false),
        drain: Semaphore::new(0),
        active: Cell::new(0),
        proofs: Cell::new(0),
        slices: Cell::new(0),
        started: Instant::now(),
        index,
        reaper: Reaper::default(),
        files_checked: Cell::new(0),
        role: env.role,
        queues,
        access_log: env
            .access_log
            .map(|c| Rc::new(crate::serve::access_log::AccessLog::new(c, index))),
        tls: env.tls.map(|t| t.for_shard()),
        storage: StorageShard {
            upload_memory: Semaphore::new(limits.upload_memory_per_shard as u64),
            uploads_dir: env.uploads_dir,
            resumable: RefCell::new(Default::default()),
        },
        distributor: DistributorShard {
            fill_env,
            accessed: RefCell::new(Vec::new()),
        },
    });
    if let Some(log) = &shard.access_log {
        let shard = shard.clone();
        glommio::spawn_local(log.clone().run(move || shard.draining.get())).detach();
    }
    glommio::spawn_local(reap(shard.clone(), stop)).detach();

    let gate = Gate::new();
    loop {
        let accepted = future::or(async { Some(listener.accept().await) }, async {
            shard.drained().await;
            None
        })
        .await;
        match accepted {
            None => break,
            Some(Ok(stream)) => {
                if !shard.views.public_enabled.load(Ordering::Relaxed) {
                    // The operator stopped the public API: connections are closed at once.
                    drop(stream);
                    continue;
                }
                if shard.active.get() >= shard.limits.max_connections_per_shard {
                    // Over TLS the 503 would cost a handshake first: the connection is closed.
                    if shard.tls.is_none() {
                        glommio::spawn_local(refuse(stream)).detach();
                    }
                    continue;
                }
                shard.active.set(shard.active.get() + 1);
                shard.views.metrics.connection(index, true);
                let s = shard.clone();
                let served = gate.spawn(async move {
                    // What the connection is doing, kept outside it so a panic can say.
                    let doing = RefCell::new(String::new());
                    let peer = stream.peer_addr().ok();
                    crate::panics::isolate(
                        s.index,
                        crate::panics::Unit::Connection,
                        |u| s.views.metrics.panicked(s.index, u),
                        || format!("client {peer:?}, request {:?}", doing.borrow()),
                        connection::serve(stream, &s, &doing),
                    )
                    .await;
                    s.active.set(s.active.get() - 1);
                    s.views.metrics.connection(s.index, false);
                });
                if let Ok(task) = served {
                    task.detach();
                }
            }
            Some(Err(e)) => {
                // EMFILE and friends: back off instead of spinning on the error.
                warn!(shard = index, "accept failed: {e}");
                glommio::timer::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
    drop(listener);
    let open = shard.active.get();
    info!(shard = index, open, "draining");
    if glommio::timer::timeout(shard.limits.drain_timeout, gate.close())
        .await
        .is_err()
    {
        warn!(
            shard = index,
            left = shard.active.get(),
            "drain timed out; closing remaining connections"
        );
    }
}

/// This shard's listener: SO_REUSEPORT, so every shard binds the same address and the kernel
/// spreads connections over them, and SO_REUSEADDR, which glommio's own `bind` does not set:
/// without it the connections this process closes leave TIME_WAIT entries that keep the next
/// data plane (a restart) from binding the port for a minute.
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    use std::os::fd::{FromRawFd, IntoRawFd};
    let domain = if addr.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let socket = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    // SAFETY: the descriptor is a bound, listening TCP socket that we own and hand over whole
    // (`into_raw_fd` gives up socket2's ownership); glommio's listener takes it over.
    Ok(unsafe { TcpListener::from_raw_fd(socket.into_raw_fd()) })
}

/// Enforces connection deadlines and notices the stop signal (see `reaper.rs`). Runs until the
/// shard's connections are gone after a drain.
async fn reap(shard: Rc<Shard>, stop: Arc<AtomicBool>) {
    let l = &shard.limits;
    let tick = reaper::tick(&[l.idle_timeout, l.header_timeout]);
    loop {
        glommio::timer::sleep(tick).await;
        if !shard.draining.get() && stop.load(Ordering::Relaxed) {
            shard.draining.set(true);
            shard.drain.close();
        }
        shard.reaper.sweep(Instant::now(), shard.draining.get());
        let catalog = shard.catalog();
        if catalog.version() != shard.files_checked.get() {
            shard.files.retain_published(&catalog);
            shard.files_checked.set(catalog.version());
        }
        shard.distributor.flush_accessed();
        if shard.draining.get() && shard.active.get() == 0 {
            return;
        }
    }
}

/// Over the connection cap: a short 503 and close, without reading the request.
async fn refuse(stream: TcpStream) {
    let mut stream = Stream::Plain(stream);
    let mut head = ResponseHead::default();
    let body = error_body(
        "general-request",
        "Error: Too many connections; retry later.",
    );
    let extra = [("Retry-After", &b"1"[..])];
    let _ = glommio::timer::timeout(Duration::from_secs(1), async {
        respond::send_json_with(
            &mut stream,
            &mut head,
            503,
            &extra,
            &body,
            false,
            false,
            false,
        )
        .await
        .map_err(Into::into)
    })
    .await;
    debug!("refused a connection over the per-shard cap");
}
