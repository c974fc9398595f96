//! `hecaton distributor-node`: the control plane of a distributor.
//!
//! It follows the distribution buckets this worker operates (or the configured ones), the bags
//! assigned to them, their objects and, for each bag, the storage buckets that hold it with
//! their endpoints; pushes that to the data plane as placement (with the set of every object on
//! chain, so the data plane answers 404 and 421 by itself); ranks the storage nodes by probed
//! latency and past failures and hands the data plane that order with their addresses; drops
//! cached objects no bag of its buckets lists any more; supervises the data plane; and serves
//! the Argus operator API.

mod check;
pub mod config;
pub mod jwt;
pub mod operator;
pub mod status;

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hecaton_shared::socket::{Removal, RemovalReason, Report, Role, Source, ToDataPlane};
use hecaton_shared::DataObjectId;
use tokio::sync::{mpsc, watch};
use tracing::info;

use self::config::{DistributionBuckets, DistributorConfig};
use self::operator::{Operator, OperatorCommand};
use self::status::DistributorStatus;
use crate::chain::Chain;
use crate::node::error::NodeError;
use crate::node::follow;
use crate::node::health::{self, Health};
use crate::node::link::{self, LinkEvent};
use crate::node::obligations::{Obligations, Scope};
use crate::node::operator_api;
use crate::node::peers::{self, Peers};
use crate::node::supervisor::{self, DataPlaneCommand, ServeOptions};

/// The data plane command line for `config`.
pub fn dataplane_command(config: &DistributorConfig) -> Result<DataPlaneCommand, NodeError> {
    let c = &config.cache;
    let options = ServeOptions {
        role: "distributor",
        dataplane: &config.dataplane,
        store: &config.store_dir,
        listen: config.public_listen,
        socket: &config.socket_path(),
        upload_memory_mib: 2,
        shards: config.shards,
    };
    let extra = [
        "--cache-mib".into(),
        c.size_mib.to_string(),
        "--max-cached-item-mib".into(),
        c.max_cached_item_mib.to_string(),
        "--memory-tier-mib".into(),
        c.memory_tier_mib.to_string(),
        "--memory-tier-max-object-kib".into(),
        c.memory_tier_max_object_kib.to_string(),
        "--small-object-kib".into(),
        c.small_object_kib.to_string(),
        "--small-share-percent".into(),
        c.small_share_percent.to_string(),
    ];
    DataPlaneCommand::serve(options, extra).map_err(NodeError::Program)
}

fn scope_of(config: &DistributorConfig) -> Scope {
    Scope::Distributor {
        node_id: config.id.clone(),
        worker_id: config.worker_id,
        buckets: match &config.buckets {
            DistributionBuckets::All => None,
            DistributionBuckets::Only(ids) => Some(ids.clone()),
        },
    }
}

/// Runs the distributor until `shutdown` resolves or an operator asks it to stop.
pub async fn run<C: Chain + Clone + Send + Sync + 'static>(
    chain: C,
    config: DistributorConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), NodeError> {
    info!("{}", config.summary());
    config.dataplane.trust_ca_file()?;
    check::check_worker(&chain, &config).await?;
    let status = DistributorStatus::new(&config.store_dir);
    status.update(|s| {
        s.id = config.id.clone();
        s.worker_id = config.worker_id;
    });
    // Unbounded: operator commands, from the authenticated operator API only.
    let (op_tx, mut op_rx) = mpsc::unbounded_channel();
    let api = operator::router(Operator {
        status: status.clone(),
        secret: config.operator_secret.as_str().into(),
        commands: op_tx,
        seen: Default::default(),
    });
    let mut tasks = tokio::task::JoinSet::new();
    let health = Health::new(config.ready_max_lag_blocks);
    let api = api.merge(health::router(health.clone()));
    operator_api::serve(config.operator_listen, api, &mut tasks).await?;
    tasks.spawn(health::watch_head(chain.clone(), health.clone()));
    tasks.spawn(crate::node::reload::forward_sighup(
        config.store_dir.clone(),
    ));

    let (stop_tx, stop_rx) = watch::channel(false);
    let (fatal_tx, mut fatal_rx) = tokio::sync::oneshot::channel();
    let supervisor = if config.supervised() {
        Some(tokio::spawn(supervisor::supervise(
            dataplane_command(&config)?,
            config.socket_path(),
            stop_rx,
            fatal_tx,
        )))
    } else {
        None
    };
    let (ob_tx, mut ob_rx) = watch::channel(Arc::new(Obligations::default()));
    let (scope_tx, scope_rx) = watch::channel(scope_of(&config));
    let reconcile = Duration::from_secs(config.sync.reconcile_interval_secs);
    tasks.spawn(follow::follow(chain, scope_rx, ob_tx, reconcile));
    // Unbounded: commands are placement deltas, one per followed block; link events are the
    // data plane's frames, read one at a time; probe results, one per peer per probe interval.
    let (to_link, commands) = mpsc::unbounded_channel();
    let (link_tx, mut link_rx) = mpsc::unbounded_channel();
    let (endpoints_tx, endpoints_rx) = watch::channel(BTreeSet::new());
    let (probe_tx, mut probes) = mpsc::unbounded_channel();
    tasks.spawn(peers::run_prober(
        endpoints_rx,
        Duration::from_secs(config.sources.probe_interval_secs),
        Duration::from_secs(config.sources.probe_timeout_secs),
        config.dataplane.allow_private_peers,
        probe_tx,
    ));
    let mut state = State {
        ob: Arc::new(Obligations::default()),
        peers: Peers::default(),
        held: HashSet::new(),
        inventory: Vec::new(),
        inventory_complete: false,
        removing: HashSet::new(),
        sent_sources: None,
    };
    let mut commands = Some(commands);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut stop_at: Option<Instant> = None;
    tokio::pin!(shutdown);
    let mut result = Ok(());
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Ok(code) = &mut fatal_rx => {
                result = Err(NodeError::data_plane(code));
                break;
            }
            changed = ob_rx.changed() => {
                if changed.is_err() {
                    break;
                }
                let ob = ob_rx.borrow_and_update().clone();
                health.placement(ob.block);
                if let Some(c) = commands.take() {
                    // The link starts with the first obligations, so the first snapshot is real.
                    tasks.spawn(link::run(config.socket_path(), Role::Distributor, ob_rx.clone(), c, link_tx.clone()));
                }
                let endpoints: BTreeSet<String> = ob.bags.values().flat_map(|b| b.peers.iter().cloned()).collect();
                state.peers.track(&endpoints);
                let _ = endpoints_tx.send(endpoints);
                status.update(|s| {
                    s.block = ob.block;
                    s.bags = ob.bags.len();
                    s.objects = ob.objects.len();
                    s.servable = ob.bags.values().map(|b| b.objects.iter().filter(|o| o.accepted).count()).sum();
                    s.buckets = ob.globals.distribution_buckets.iter().map(|b| b.to_string()).collect();
                });
                state.ob = ob;
                state.clean(&to_link);
            }
            Some(event) = link_rx.recv() => {
                health.link_event(&event);
                state.link_event(event, &status, &to_link);
            }
            Some(p) = probes.recv() => state.peers.probed(p),
            Some(command) = op_rx.recv() => match command {
                OperatorCommand::PublicApi(on) => {
                    let _ = to_link.send(ToDataPlane::PublicApi { enabled: on });
                }
                OperatorCommand::Shutdown => {
                    info!("shutting down in 5 s (operator call)");
                    stop_at = Some(Instant::now() + Duration::from_secs(5));
                }
                OperatorCommand::SetWorker(w) => {
                    scope_tx.send_modify(|s| if let Scope::Distributor { worker_id, .. } = s { *worker_id = Some(w) });
                    status.update(|s| s.worker_id = Some(w));
                }
                OperatorCommand::SetBuckets(ids) => {
                    scope_tx.send_modify(|s| if let Scope::Distributor { buckets, .. } = s {
                        *buckets = ids.map(|v| v.into_iter().collect());
                    });
                }
            },
            _ = tick.tick() => {
                if stop_at.is_some_and(|t| Instant::now() >= t) {
                    break;
                }
            }
        }
        state.push_sources(&to_link, &status);
    }
    info!("stopping");
    let _ = stop_tx.send(true);
    if let Some(s) = supervisor {
        let _ = s.await;
    }
    tasks.abort_all();
    result
}

struct State {
    ob: Arc<Obligations>,
    peers: Peers,
    held: HashSet<DataObjectId>,
    inventory: Vec<DataObjectId>,
    inventory_complete: bool,
    removing: HashSet<DataObjectId>,
    sent_sources: Option<Vec<Source>>,
}

impl State {
    fn link_event(
        &mut self,
        event: LinkEvent,
        status: &DistributorStatus,
        to_link: &mpsc::UnboundedSender<ToDataPlane>,
    ) {
        match event {
            LinkEvent::Connected { shards } => {
                self.inventory_complete = false;
                self.inventory.clear();
                // The new session gets the sources and the public API switch again.
                self.sent_sources = None;
                let _ = to_link.send(ToDataPlane::PublicApi {
                    enabled: status.public_enabled(),
                });
                status.update(|s| {
                    s.connected = true;
                    s.shards = shards;
                    s.sessions += 1;
                });
            }
            LinkEvent::Disconnected { reason } => status.update(|s| {
                s.connected = false;
                s.last_error = Some(reason);
            }),
            LinkEvent::Applied(b) => status.update(|s| s.applied_block = Some(b)),
            LinkEvent::Usage { objects, bytes } => status.update(|s| {
                s.cached_objects = objects;
                s.cached_bytes = bytes;
            }),
            LinkEvent::Metrics(m) => *status.reported.dataplane.lock().expect("metrics") = Some(*m),
            LinkEvent::Stored(objects) => self.held.extend(objects.iter().map(|o| o.id)),
            LinkEvent::Sync(Report::Inventory { objects, last }) => {
                self.inventory.extend(objects.iter().map(|o| o.id));
                if last {
                    self.held = self.inventory.drain(..).collect();
                    self.inventory_complete = true;
                    self.clean(to_link);
                }
            }
            LinkEvent::Sync(Report::Removed { ids }) => {
                for id in ids {
                    self.held.remove(&id);
                    self.removing.remove(&id);
                }
            }
            LinkEvent::Sync(Report::FetchAttemptFailed {
                source,
                failure,
                reason,
                ..
            }) => {
                self.peers.failed(&source, failure, &reason, Instant::now());
            }
            LinkEvent::Sync(_) => {}
        }
    }

    /// Drops cached objects that no bag of this node's buckets lists any more.
    fn clean(&mut self, to_link: &mpsc::UnboundedSender<ToDataPlane>) {
        if !self.inventory_complete || self.ob.role.is_none() {
            return;
        }
        let gone: Vec<Removal> = self
            .held
            .iter()
            .filter(|id| !self.ob.objects.contains_key(id) && !self.removing.contains(id))
            .map(|id| Removal {
                id: *id,
                reason: RemovalReason::NotDistributed,
            })
            .collect();
        if gone.is_empty() {
            return;
        }
        info!(
            count = gone.len(),
            "cached objects no longer distributed here; removing"
        );
        self.removing.extend(gone.iter().map(|r| r.id));
        let _ = to_link.send(ToDataPlane::Remove { removals: gone });
    }

    /// Hands the data plane the storage nodes, best first, when the order or an address changed.
    fn push_sources(
        &mut self,
        to_link: &mpsc::UnboundedSender<ToDataPlane>,
        status: &DistributorStatus,
    ) {
        let endpoints: Vec<String> = self
            .ob
            .bags
            .values()
            .flat_map(|b| b.peers.iter().cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let ranked = self.peers.rank(&endpoints, Instant::now());
        *status.reported.peers.lock().expect("peers") = self.peers.summary();
        if self.sent_sources.as_ref() != Some(&ranked) {
            let _ = to_link.send(ToDataPlane::Sources {
                sources: ranked.clone(),
            });
            self.sent_sources = Some(ranked);
        }
    }
}
