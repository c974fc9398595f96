//! `hecaton-dataplane serve`: recover the store, then serve it from one pinned glommio executor
//! per shard, each with its own SO_REUSEPORT listener on the shared port.
//!
//! Start-up order: host checks (io_uring, locked memory, file limits) → a probe bind that
//! refuses an address another process holds (glommio sets SO_REUSEPORT on every listener, so a
//! stale server would otherwise silently share our connections) → store recovery on a
//! short-lived executor → shards. SIGTERM or SIGINT drains: listeners close, idle connections
//! close, in-flight responses finish (bounded by the drain timeout), then the process exits 0.

mod connection;
mod limits;
mod object;
mod open_files;
mod reaper;
mod routes;
pub mod sendfile;
mod shard;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use glommio::{CpuSet, LocalExecutorBuilder, Placement};
use hecaton_tuning::{Check, IoMemoryPlan, Status};
use tracing::info;

pub use limits::Limits;

use crate::store::{Catalog, Recovery, Store, StoreError, StoreLock};

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The store directory.
    pub store: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Shards (executors); `None` is one per online CPU.
    pub shards: Option<usize>,
    /// io_uring memory each executor asks to register (reduced to fit the memlock limit).
    pub io_memory_bytes: usize,
    /// Connection limits.
    pub limits: Limits,
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
    /// Store recovery.
    pub recovery: Recovery,
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
    /// An executor could not be created or a shard failed.
    #[error("executor: {0}")]
    Executor(String),
    /// SIGTERM/SIGINT handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
}

/// Runs the data plane until SIGTERM/SIGINT has drained it. `on_ready` is called once every
/// shard listens.
pub fn run(config: ServeConfig, on_ready: impl FnOnce(&Started)) -> Result<(), ServeError> {
    // SAFETY: setting SIGPIPE to ignored has no preconditions; sendfile to a closed socket then
    // fails with EPIPE instead of killing the process.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let stop = Arc::new(AtomicBool::new(false));
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
    let io_memory =
        hecaton_tuning::plan_io_memory(shards, config.io_memory_bytes).map_err(ServeError::Host)?;
    checks.push(io_memory.as_check());
    let connections = (shards * config.limits.max_connections_per_shard) as u64;
    checks.push(hecaton_tuning::raise_nofile(connections));

    let addr = probe(config.listen)?;
    // The lock is held until the process has drained.
    let (catalog, _lock, recovery) = recover(&config, &io_memory)?;
    let catalog = Arc::new(catalog);

    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let mut handles = Vec::with_capacity(shards);
    for index in 0..shards {
        let placement = match cpus.get(index) {
            Some(&cpu) if shards <= cpus.len() => Placement::Fixed(cpu),
            _ => Placement::Unbound,
        };
        let (catalog, stop, ready) = (catalog.clone(), stop.clone(), ready_tx.clone());
        let limits = config.limits;
        let handle = LocalExecutorBuilder::new(placement)
            .name(&format!("shard-{index}"))
            .io_memory(io_memory.per_executor)
            .spawn(move || shard::run(index, addr, catalog, limits, stop, ready))
            .map_err(|e| ServeError::Executor(format!("shard {index}: {e}")))?;
        handles.push(handle);
    }
    drop(ready_tx);
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
        recovery,
    });
    for h in handles {
        h.join().map_err(|e| ServeError::Executor(e.to_string()))?;
    }
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

fn recover(
    config: &ServeConfig,
    plan: &IoMemoryPlan,
) -> Result<(Catalog, StoreLock, Recovery), ServeError> {
    let executor = LocalExecutorBuilder::new(Placement::Unbound)
        .name("recovery")
        .io_memory(plan.per_executor)
        .make()
        .map_err(|e| ServeError::Executor(format!("recovery: {e}")))?;
    let dir = config.store.clone();
    let (catalog, recovery, lock) = executor.run(async move {
        let (store, recovery) = Store::open(&dir).await?;
        let (catalog, lock) = store.into_catalog().await?;
        Ok::<_, StoreError>((catalog, recovery, lock))
    })?;
    Ok((catalog, lock, recovery))
}
