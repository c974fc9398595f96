//! `hecaton storage-node`: the control plane of a storage node.
//!
//! It follows the chain from the latest finalized block, keeps this node's [`Obligations`]
//! current (objects uploaded, accepted and deleted straight from the events; a bag re-read when
//! its holders or membership change; everything at start, on bucket-level events and every
//! reconciliation period), publishes each version to the data plane [`link`], keeps every bag
//! complete ([`sync`]: replication of what is missing, cleanup of what is no longer this
//! node's), accepts uploaded objects on chain ([`acceptor`]), supervises the data plane process
//! or attaches to one, and serves the operator API ([`status`]).

pub mod acceptor;
mod check;
pub mod config;
pub mod status;
pub mod sync;

pub use check::check_worker;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hecaton_shared::socket::Role;
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use self::acceptor::{AcceptConfig, AcceptStats};
use self::config::{DataPlaneMode, StorageNodeConfig};
use self::status::NodeStatus;
use self::sync::cleanup::CleanupConfig;
use self::sync::{SyncConfig, SyncStatus};
use crate::chain::Chain;
use crate::node::error::NodeError;
use crate::node::follow;
use crate::node::health::{self, Health};
use crate::node::link::{self, LinkEvent};
use crate::node::obligations::{Obligations, Scope};
use crate::node::operator_api;
use crate::node::supervisor::{self, DataPlaneCommand, ServeOptions};

/// The data plane command line for `config`: this program's `dataplane serve`, or the
/// configured program's `serve`.
pub fn dataplane_command(config: &StorageNodeConfig) -> Result<DataPlaneCommand, NodeError> {
    let options = ServeOptions {
        role: "storage",
        dataplane: &config.dataplane,
        store: &config.store_dir,
        listen: config.public_listen,
        socket: &config.socket_path(),
        upload_memory_mib: config.dataplane.upload_memory_mib,
        shards: config.shards,
    };
    let extra = [
        "--fetch-concurrency".into(),
        config.sync.concurrency.to_string(),
        "--fetch-per-peer".into(),
        config.sync.per_peer.to_string(),
        "--fetch-max-mib-per-sec".into(),
        config.sync.max_mib_per_sec.to_string(),
        "--replication-shares".into(),
        config.sync.replication_shares.to_string(),
    ];
    DataPlaneCommand::serve(options, extra).map_err(NodeError::Program)
}

/// Runs the node until `shutdown` resolves.
pub async fn run<C: Chain + Clone + Send + Sync + 'static>(
    chain: C,
    config: StorageNodeConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), NodeError> {
    info!("{}", config.summary());
    config.dataplane.trust_ca_file()?;
    let mut scope = config.scope();
    if let Scope::Storage { signers, .. } = &mut scope {
        // The keys held: the keyring's against a Joystream node, the configured transactor
        // against the embedded chain (which signs as whichever account it is told).
        let held = chain
            .signers()
            .or_else(|| config.transactor.map(|t| vec![t]));
        *signers = held.map(|h| h.into_iter().collect());
    }
    let operated = check_worker(&chain, &scope).await?;
    info!(worker = config.worker_id, buckets = ?operated, "worker operates its buckets");
    let accept_stats = Arc::new(Mutex::new(AcceptStats::default()));
    let sync_status = Arc::new(Mutex::new(SyncStatus::default()));
    let status = NodeStatus::new(accept_stats.clone(), sync_status.clone(), &config.store_dir);
    status.update(|s| s.worker_id = config.worker_id);

    let mut tasks = tokio::task::JoinSet::new();
    let health = Health::new(config.ready_max_lag_blocks);
    operator_api::serve(
        config.operator_listen,
        status::router(status.clone()).merge(health::router(health.clone())),
        &mut tasks,
    )
    .await?;
    tasks.spawn(health::watch_head(chain.clone(), health.clone()));
    tasks.spawn(crate::node::reload::forward_sighup(
        config.store_dir.clone(),
    ));

    let (stop_tx, stop_rx) = watch::channel(false);
    let (fatal_tx, mut fatal_rx) = tokio::sync::oneshot::channel();
    let supervisor = match config.dataplane.mode {
        DataPlaneMode::Supervise => {
            let command = dataplane_command(&config)?;
            Some(tokio::spawn(supervisor::supervise(
                command,
                config.socket_path(),
                stop_rx,
                fatal_tx,
            )))
        }
        DataPlaneMode::Attach => None,
    };

    let (ob_tx, ob_rx) = watch::channel(Arc::new(Obligations::default()));
    // Unbounded: link events are the data plane's frames, read one at a time under the frame
    // cap, and the stored reports and sync events are copies of them; commands to the data
    // plane are placement deltas (one per block) and fetch jobs within the sync window.
    let (link_tx, mut link_rx) = mpsc::unbounded_channel();
    let (stored_tx, stored_rx) = mpsc::unbounded_channel();
    let (command_tx, command_rx) = mpsc::unbounded_channel();
    let (sync_tx, sync_rx) = mpsc::unbounded_channel();
    let accept = AcceptConfig {
        worker_id: config.worker_id,
        transactor: config.transactor.ok_or(NodeError::NoTransactor)?,
        interval: Duration::from_millis(config.accept.interval_ms),
        batch_size: config.accept.batch_size,
        max_backoff: Duration::from_secs(config.accept.max_backoff_secs),
    };
    tasks.spawn(acceptor::run(
        chain.clone(),
        accept,
        stored_rx,
        ob_rx.clone(),
        accept_stats,
    ));
    tasks.spawn(sync::run(
        chain.clone(),
        sync_config(&config),
        ob_rx.clone(),
        sync_rx,
        command_tx,
        stored_tx.clone(),
        sync_status,
    ));
    let st = status.clone();
    let link_health = health.clone();
    tasks.spawn(async move {
        // Every event to the status; stored objects to the acceptor; those replication needs
        // to the sync task too.
        while let Some(event) = link_rx.recv().await {
            if let LinkEvent::Stored(objects) = &event {
                let _ = stored_tx.send(objects.clone());
            }
            let for_sync = matches!(
                event,
                LinkEvent::Connected { .. }
                    | LinkEvent::Disconnected { .. }
                    | LinkEvent::Stored(_)
                    | LinkEvent::Metrics(_)
                    | LinkEvent::Sync(_)
            );
            st.update(|s| apply_link_event(s, &event));
            link_health.link_event(&event);
            if let LinkEvent::Metrics(m) = &event {
                *st.reported.dataplane.lock().expect("metrics") = Some((**m).clone());
            }
            if for_sync {
                let _ = sync_tx.send(event);
            }
        }
    });

    tasks.spawn(watch_obligations(ob_rx.clone(), status.clone(), health));
    let (_scope_tx, scope_rx) = watch::channel(scope);
    let reconcile = Duration::from_secs(config.sync.reconcile_interval_secs);
    let follow = follow::follow(chain, scope_rx, ob_tx, reconcile);
    tokio::pin!(follow);
    let mut link_started = false;
    let mut command_rx = Some(command_rx);
    let mut ob_watch = ob_rx.clone();
    tokio::pin!(shutdown);
    let mut result = Ok(());
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = &mut follow => break,
            Ok(code) = &mut fatal_rx => {
                result = Err(NodeError::data_plane(code));
                break;
            }
            changed = ob_watch.changed(), if !link_started => {
                if changed.is_ok() {
                    // Start the link once the first obligations are read, so that the data
                    // plane's first snapshot is a real one.
                    let commands = command_rx.take().expect("the link starts once");
                    tasks.spawn(link::run(config.socket_path(), Role::Storage, ob_rx.clone(), commands, link_tx.clone()));
                    link_started = true;
                }
            }
        }
    }
    info!("stopping");
    let _ = stop_tx.send(true);
    if let Some(s) = supervisor {
        let _ = s.await;
    }
    tasks.abort_all();
    result
}

/// The replication and cleanup settings of `config`.
fn sync_config(config: &StorageNodeConfig) -> SyncConfig {
    SyncConfig {
        order: config.sync.order,
        window: config.sync.window,
        retry_base: Duration::from_secs(config.sync.retry_secs),
        retry_max: Duration::from_secs(config.sync.retry_max_secs),
        probe_interval: Duration::from_secs(config.sync.probe_interval_secs),
        probe_timeout: Duration::from_secs(5),
        allow_private: config.dataplane.allow_private_peers,
        cleanup: CleanupConfig {
            enabled: config.cleanup.enabled,
            min_replication: config.cleanup.min_replication,
            recheck: Duration::from_secs(config.cleanup.recheck_secs),
            head_timeout: Duration::from_secs(config.cleanup.head_timeout_secs),
            allow_private: config.dataplane.allow_private_peers,
        },
    }
}

fn apply_link_event(s: &mut status::StatusInner, event: &LinkEvent) {
    match event {
        LinkEvent::Connected { shards } => {
            s.socket_connected = true;
            s.shards = *shards;
            s.socket_sessions += 1;
        }
        LinkEvent::Disconnected { reason } => {
            s.socket_connected = false;
            s.socket_last_error = Some(reason.clone());
        }
        LinkEvent::Applied(block) => s.applied_block = Some(*block),
        LinkEvent::Usage { objects, bytes } => {
            s.objects_held = *objects;
            s.bytes_held = *bytes;
        }
        LinkEvent::Stored(_) | LinkEvent::Sync(_) | LinkEvent::Metrics(_) => {}
    }
}

/// Mirrors each obligations version into the status.
async fn watch_obligations(
    mut ob: watch::Receiver<Arc<Obligations>>,
    status: Arc<NodeStatus>,
    health: Arc<Health>,
) {
    while ob.changed().await.is_ok() {
        let ob = ob.borrow_and_update().clone();
        health.placement(ob.block);
        let (objects, pending, bytes) = ob.counts();
        status.update(|s| {
            s.chain_head = ob.block;
            s.placement_block = ob.block;
            s.objects_obliged = objects;
            s.objects_pending = pending;
            s.bytes_obliged = bytes;
            s.bags = ob.bags.len();
            s.buckets = ob.globals.buckets.iter().map(|b| b.0).collect();
            let unkeyed: Vec<u64> = ob.globals.unkeyed_buckets.iter().map(|b| b.0).collect();
            if unkeyed != s.unkeyed_buckets && !unkeyed.is_empty() {
                warn!(
                    buckets = ?unkeyed,
                    "no key held for these buckets' transactors: kept in sync, uploads refused; \
                     add their keys to [joystream] suris, key_files or key_store"
                );
            }
            s.unkeyed_buckets = unkeyed;
        });
    }
}
