//! `hecaton-dataplane serve`: recover the store, then serve it from one glommio executor per
//! shard (pinned to a CPU of its own with `--pin-shards`), each with its own SO_REUSEPORT
//! listener on the shared port.
//!
//! Start-up order: host checks (io_uring, locked memory, file limits) → a probe bind that
//! refuses an address another process holds (glommio sets SO_REUSEPORT on every listener, so a
//! stale server would otherwise silently share our connections) → the control executor, which
//! recovers the store, binds the control socket and then owns both → shards. SIGTERM or SIGINT drains: listeners close, idle connections
//! close, in-flight responses finish (bounded by the drain timeout), then the process exits 0.

pub mod access_log;
mod argus;
pub mod asset;
mod colossus;
mod connection;
pub mod data_objects;
mod exchange;
mod limits;
mod listener;
pub(crate) mod object;
mod open_files;
mod page_cache;
mod proof;
mod reaper;
mod respond;
pub mod sendfile;
pub(crate) mod shard;
mod slice;
mod upload;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use glommio::{CpuSet, LocalExecutorBuilder, Placement};
use hecaton_tuning::{Check, IoMemoryPlan, Status};
use tracing::{info, warn};

pub use limits::Limits;

use crate::cache::{CacheConfig, CacheEvent};
use crate::control::{self, ControlConfig, ControlError};
use crate::fetch::{AttemptResult, Order, ReplicationConfig};
use crate::store::{Recovery, Store, StoreError};
use crate::tls::TlsSettings;
use crate::views::Views;
use hecaton_shared::socket::Role;
pub use shard::ShardEnv;

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The store directory.
    pub store: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Shards (executors); `None` is one per online CPU.
    pub shards: Option<usize>,
    /// Pin each shard to a CPU of its own (when there are no more shards than CPUs).
    pub pin_shards: bool,
    /// io_uring memory each executor asks to register (reduced to fit the memlock limit).
    pub io_memory_bytes: usize,
    /// Connection limits.
    pub limits: Limits,
    /// The local socket the control plane connects to.
    pub control_socket: PathBuf,
    /// This node's role.
    pub role: Role,
    /// Replication from peers.
    pub replication: ReplicationConfig,
    /// Period of the sweep of temp leftovers and stale resumable uploads.
    pub sweep_interval: std::time::Duration,
    /// The scrub's pace.
    pub scrub: crate::control::scrub::ScrubConfig,
    /// Distributor: the cache.
    pub cache: Option<CacheConfig>,
    /// Bytes of the store's filesystem never written into (uploads are answered 507 first).
    pub disk_reserve: u64,
    /// The access log, if one is kept.
    pub access_log: Option<access_log::AccessLogConfig>,
    /// TLS: the CA file peers are also verified against, the listener's certificate.
    pub tls: TlsSettings,
    /// Connections kept to peers.
    pub peer_pool: crate::fetch::pool::PoolLimits,
}

/// What start-up found, for the caller to print.
#[derive(Debug)]
pub struct Started {
    /// The bound address (the real port when 0 was asked for).
    pub addr: SocketAddr,
    /// Shards serving.
    pub shards: usize,
    /// Host checks as they came out.
    pub checks: Vec<Check>,
    /// The io_uring memory plan.
    pub io_memory: IoMemoryPlan,
    /// Whether the public listener serves https.
    pub tls: bool,
    /// Store recovery.
    pub recovery: Recovery,
    /// The control socket's path.
    pub control_socket: PathBuf,
}

/// Why serving could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A host check failed; the check names the fix.
    #[error("{0}")]
    Host(Check),
    /// Another process holds the address.
    #[error(
        "{0} is already in use by another process; stop it or choose another --listen address"
    )]
    AddressInUse(SocketAddr),
    /// Binding failed for another reason.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The control socket could not be opened.
    #[error(transparent)]
    Control(#[from] ControlError),
    /// An executor could not be created or a shard failed.
    #[error("executor: {0}")]
    Executor(String),
    /// SIGTERM/SIGINT handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
    /// The TLS material could not be loaded.
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
}

/// Runs the data plane until SIGTERM/SIGINT has drained it. `on_ready` is called once every
/// shard listens.
pub fn run(config: ServeConfig, on_ready: impl FnOnce(&Started)) -> Result<(), ServeError> {
    // SAFETY: setting SIGPIPE to ignored has no preconditions; sendfile to a closed socket then
    // fails with EPIPE instead of killing the process.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let lifecycle = control::Lifecycle::default();
    let stop = lifecycle.stop.clone();
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone()).map_err(ServeError::Signals)?;
    }

    let cpus: Vec<usize> = CpuSet::online()
        .map(|set| set.into_iter().map(|c| c.cpu).collect())
        .unwrap_or_default();
    let shards = config.shards.unwrap_or(cpus.len()).max(1);
    let io_uring = hecaton_tuning::check_io_uring();
    if io_uring.status == Status::Fail {
        return Err(ServeError::Host(io_uring));
    }
    let mut checks = vec![io_uring];
    if config.tls.server.is_some() {
        checks.push(ktls_check());
    }
    let io_memory =
        hecaton_tuning::plan_io_memory(shards, config.io_memory_bytes).map_err(ServeError::Host)?;
    checks.push(io_memory.as_check());
    let connections = (shards * config.limits.max_connections_per_shard) as u64;
    checks.push(hecaton_tuning::raise_nofile(connections));

    let addr = probe(config.listen)?;
    let (publisher, queue) = control::channel();
    // Unbounded: the scheduler sends an order only within the fetch concurrency, and each
    // order ends in one result; cache events are one batch per shard per reaper tick plus one
    // per fill.
    let (results_tx, results_rx) = futures_channel::mpsc::unbounded::<AttemptResult>();
    let (order_txs, order_rxs): (Vec<_>, Vec<_>) = (0..shards)
        .map(|_| futures_channel::mpsc::unbounded::<Order>())
        .unzip();
    let fetch = control::FetchParts {
        orders: order_txs,
        results: results_rx,
    };
    let (cache_tx, cache_rx) = futures_channel::mpsc::unbounded::<CacheEvent>();
    let (views, recovery, (peer_tls, tls), control) = start_control(
        &config,
        &io_memory,
        shards,
        (queue, publisher.clone()),
        fetch,
        (cache_tx.clone(), cache_rx),
        &lifecycle,
    )?;
    let env = ShardEnv {
        views,
        publisher,
        tmp_dir: config.store.join("tmp"),
        uploads_dir: config.store.join("uploads"),
        fetch_results: results_tx,
        replication: config.replication,
        shards,
        role: config.role,
        cache_events: cache_tx,
        access_log: config.access_log.clone(),
        peer_tls,
        peer_pool: config.peer_pool,
        tls: tls.clone(),
    };

    if config.pin_shards && shards > cpus.len() {
        warn!(
            shards,
            cpus = cpus.len(),
            "--pin-shards: more shards than CPUs, so none is pinned"
        );
    }
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let mut handles = Vec::with_capacity(shards);
    for (index, orders) in order_rxs.into_iter().enumerate() {
        let placement = match cpus.get(index) {
            Some(&cpu) if config.pin_shards && shards <= cpus.len() => Placement::Fixed(cpu),
            _ => Placement::Unbound,
        };
        let (env, stop, ready) = (env.clone(), stop.clone(), ready_tx.clone());
        let limits = config.limits;
        let handle = LocalExecutorBuilder::new(placement)
            .name(&format!("shard-{index}"))
            .io_memory(io_memory.per_executor)
            .spawn(move || listener::run(index, addr, env, limits, orders, stop, ready))
            .map_err(|e| ServeError::Executor(format!("shard {index}: {e}")))?;
        handles.push(handle);
    }
    drop(ready_tx);
    // The store writer stops once every shard's publisher is gone.
    drop(env);
    for _ in 0..shards {
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                return Err(ServeError::Executor(e));
            }
            Err(_) => {
                return Err(ServeError::Executor(
                    "a shard exited before listening".into(),
                ))
            }
        }
    }
    info!(%addr, shards, objects = recovery.objects, "serving");
    on_ready(&Started {
        addr,
        shards,
        checks,
        io_memory,
        tls: tls.is_some(),
        recovery,
        control_socket: config.control_socket.clone(),
    });
    for h in handles {
        h.join().map_err(|e| ServeError::Executor(e.to_string()))?;
    }
    lifecycle
        .shards_done
        .store(true, std::sync::atomic::Ordering::Relaxed);
    control
        .join()
        .map_err(|e| ServeError::Executor(format!("control: {e}")))?;
    info!("drained; exiting");
    Ok(())
}

/// Binds `addr` without SO_REUSEPORT: that fails if any other socket holds the port (a stale
/// server included), and for port 0 tells which port the shards should share.
fn probe(addr: SocketAddr) -> Result<SocketAddr, ServeError> {
    let listener = std::net::TcpListener::bind(addr).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            ServeError::AddressInUse(addr)
        } else {
            ServeError::Listen { addr, source: e }
        }
    })?;
    listener
        .local_addr()
        .map_err(|source| ServeError::Listen { addr, source })
}

/// Whether the kernel could encrypt records (`tls/ktls.rs`), as a host check.
fn ktls_check() -> Check {
    let (status, detail) = match crate::tls::ktls::probe() {
        crate::tls::ktls::Support::Offered => (
            Status::Ok,
            "the kernel offers the tls ULP; records are still encrypted in user space".to_string(),
        ),
        crate::tls::ktls::Support::Absent(why) => (
            Status::Ok,
            format!("not offered by this kernel ({why}); records are encrypted in user space"),
        ),
    };
    Check {
        name: "kernel TLS",
        status,
        found: detail,
        fix: None,
    }
}

/// The peers' TLS client and the listener's TLS server, if any.
type TlsStart = (crate::tls::ClientTls, Option<crate::tls::ServerTls>);

type ControlStart = (
    Arc<Views>,
    Recovery,
    TlsStart,
    glommio::ExecutorJoinHandle<()>,
);

/// The cache manager's channel: its sender (for the session) and receiver.
type CacheChannel = (
    futures_channel::mpsc::UnboundedSender<CacheEvent>,
    futures_channel::mpsc::UnboundedReceiver<CacheEvent>,
);

/// Starts the control executor: it recovers the store and binds the control socket, hands back
/// the views shards read, then owns the store writer and the control sessions until the stop.
fn start_control(
    config: &ServeConfig,
    plan: &IoMemoryPlan,
    shards: usize,
    (queue, publisher): (control::PublishQueue, control::Publisher),
    fetch: control::FetchParts,
    cache: CacheChannel,
    lifecycle: &control::Lifecycle,
) -> Result<ControlStart, ServeError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let dir = config.store.clone();
    let control = ControlConfig {
        socket: config.control_socket.clone(),
        role: config.role,
        shards,
        fetch_limits: config.replication.limits,
        store: config.store.clone(),
        sweep_interval: config.sweep_interval,
        scrub: config.scrub,
        cache: config.cache.clone(),
        tus_expiry: config.limits.tus_expiry,
    };
    let space = crate::store::space::Space::new(config.disk_reserve);
    let lifecycle = lifecycle.clone();
    let tls_settings = config.tls.clone();
    // SIGHUP reloads the certificate; it is caught even without one, so that a node's
    // `systemctl reload` (passed on to its data plane) never ends a data plane serving http.
    let hup = Arc::new(std::sync::atomic::AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, hup.clone())
        .map_err(ServeError::Signals)?;
    let handle = LocalExecutorBuilder::new(Placement::Unbound)
        .name("control")
        .io_memory(plan.per_executor)
        .spawn(move || async move {
            let tls = match crate::tls::reload::load(&tls_settings).await {
                Ok(t) => t,
                Err(e) => return drop(tx.send(Err(ServeError::Tls(e)))),
            };
            let (store, recovery) = match Store::open_deferred(&dir).await {
                Ok(s) => s,
                Err(e) => return drop(tx.send(Err(ServeError::Store(e)))),
            };
            let listener = match control::bind(&control.socket).await {
                Ok(l) => l,
                Err(e) => return drop(tx.send(Err(ServeError::Control(e)))),
            };
            let views = Views::new(store.catalog(), control.shards, space);
            if let (Some(server), Some(files)) = (&tls.1, &tls_settings.server) {
                let watch = crate::tls::reload::watch(server.clone(), files.clone(), hup);
                glommio::spawn_local(watch).detach();
            }
            let _ = tx.send(Ok((views.clone(), recovery, tls)));
            let writer = control::Writer {
                store,
                queue,
                publisher,
            };
            control::run(writer, views, fetch, cache, listener, control, lifecycle).await;
        })
        .map_err(|e| ServeError::Executor(format!("control: {e}")))?;
    match rx.recv() {
        Ok(Ok((views, recovery, tls))) => Ok((views, recovery, tls, handle)),
        Ok(Err(e)) => {
            let _ = handle.join();
            Err(e)
        }
        Err(_) => Err(ServeError::Executor(
            "the control executor exited during start-up".into(),
        )),
    }
}
