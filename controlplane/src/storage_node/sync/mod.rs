//! Keeping every bag complete: replication of what is missing and cleanup of what is no longer
//! this node's, decided here and carried out by the data plane.
//!
//! The task learns what the store holds from the data plane (an inventory after every
//! snapshot, then each object stored, fetched or removed), and what it must hold from the
//! obligations. At each obligations revision it recomputes the [`backlog`] (accepted objects
//! missing here) and hands the data plane a bounded window of fetch jobs, each with its sources
//! ranked by [`peers`]; and the [`cleanup`] candidates (held, not obliged), each checked against
//! the chain and, if unassigned, against the other holders before it is removed.

pub mod backlog;
pub mod cleanup;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hecaton_shared::socket::{
    BagPlacement, FetchJob, HeldObject, Report, StoredObject, SyncSummary, ToDataPlane,
};
use hecaton_shared::{BagId, DataObjectId};
use imbl::ordmap::DiffItem;
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use self::backlog::{Backlog, Failing, InFlight, SyncOrder};
use self::cleanup::{Cleanup, CleanupConfig, Us, Verdict, WaitingObject};
use crate::chain::{Chain, ChainError};
use crate::node::link::LinkEvent;
use crate::node::obligations::Obligations;
use crate::node::peers::{self, Peers, Probe};

/// How replication and cleanup run.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Which objects go first.
    pub order: SyncOrder,
    /// Fetch jobs handed to the data plane at a time.
    pub window: usize,
    /// Wait before an object that failed from every source is handed out again (doubling).
    pub retry_base: Duration,
    /// Longest such wait.
    pub retry_max: Duration,
    /// Between probes of each peer.
    pub probe_interval: Duration,
    /// Timeout of a probe.
    pub probe_timeout: Duration,
    /// Whether peers on private and special addresses may be reached.
    pub allow_private: bool,
    /// Cleanup.
    pub cleanup: CleanupConfig,
}

/// What the operator API shows of replication and cleanup.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncStatus {
    /// The numbers the public status page shows too.
    pub summary: SyncSummary,
    /// Whether the data plane's inventory arrived (nothing is decided before).
    pub inventory_complete: bool,
    /// Objects the store holds.
    pub held: u64,
    /// Obliged objects the store lacks (pending ones included).
    pub missing: u64,
    /// Backlog objects no holder with an endpoint can serve.
    pub sourceless: u64,
    /// Being fetched (first 50).
    pub in_flight: Vec<InFlight>,
    /// Waiting for a retry (first 50).
    pub failing: Vec<Failing>,
    /// Waiting for other holders' confirmations (first 50).
    pub cleanup_waiting: Vec<WaitingObject>,
    /// Held without a bag and not placed: kept.
    pub unplaced: u64,
    /// Removals since start, by reason.
    pub removed_by_reason: BTreeMap<String, u64>,
    /// Fetches given up since start.
    pub fetch_failures: u64,
    /// The last objects fetched, newest first.
    pub recent: Vec<FetchedObject>,
}

/// A fetched object, for status.
#[derive(Debug, Clone, Serialize)]
pub struct FetchedObject {
    /// The object.
    pub id: DataObjectId,
    /// The source of its last bytes.
    pub source: String,
    /// Bytes transferred for it.
    pub bytes: u64,
    /// Where its last attempt started (above 0: a cut transfer resumed).
    pub resumed_from: u64,
    /// From its first attempt to publication.
    pub millis: u64,
}

/// Fetched objects kept for status.
const RECENT: usize = 20;

/// A running cleanup check.
type CleanupRound = JoinHandle<Result<Vec<(DataObjectId, Verdict)>, ChainError>>;

struct State {
    config: SyncConfig,
    ob: Arc<Obligations>,
    held: HashMap<DataObjectId, Option<BagId>>,
    inventory: Vec<HeldObject>,
    inventory_complete: bool,
    connected: bool,
    backlog: Backlog,
    peers: Peers,
    cleanup: Cleanup,
    removing: HashMap<DataObjectId, &'static str>,
    fetched: u64,
    fetch_failures: u64,
    rate: VecDeque<(Instant, u64)>,
    missing: u64,
    recent: VecDeque<FetchedObject>,
}

/// Runs replication and cleanup until the event channel closes.
#[allow(clippy::too_many_arguments)]
pub async fn run<C: Chain + Clone + Send + Sync + 'static>(
    chain: C,
    config: SyncConfig,
    mut obligations: watch::Receiver<Arc<Obligations>>,
    mut events: mpsc::UnboundedReceiver<LinkEvent>,
    to_link: mpsc::UnboundedSender<ToDataPlane>,
    accept: mpsc::UnboundedSender<Vec<StoredObject>>,
    status: Arc<Mutex<SyncStatus>>,
) {
    let (endpoints_tx, endpoints_rx) = watch::channel(BTreeSet::new());
    // Unbounded: one probe result per peer per probe interval.
    let (probe_tx, mut probes) = mpsc::unbounded_channel::<Probe>();
    let prober = tokio::spawn(peers::run_prober(
        endpoints_rx,
        config.probe_interval,
        config.probe_timeout,
        config.allow_private,
        probe_tx,
    ));
    let http = crate::node::peer_http::client(config.allow_private);
    let mut s = State {
        backlog: Backlog::new(config.order, config.retry_base, config.retry_max),
        config,
        ob: obligations.borrow_and_update().clone(),
        held: HashMap::new(),
        inventory: Vec::new(),
        inventory_complete: false,
        connected: false,
        peers: Peers::default(),
        cleanup: Cleanup::default(),
        removing: HashMap::new(),
        fetched: 0,
        fetch_failures: 0,
        rate: VecDeque::new(),
        missing: 0,
        recent: VecDeque::new(),
    };
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_summary: Option<SyncSummary> = None;
    let mut round: Option<CleanupRound> = None;
    loop {
        tokio::select! {
            changed = obligations.changed() => {
                if changed.is_err() {
                    break;
                }
                let next = obligations.borrow_and_update().clone();
                let bags_changed = !next.bags.ptr_eq(&s.ob.bags) || next.endpoints != s.ob.endpoints;
                let was = std::mem::replace(&mut s.ob, next);
                if bags_changed {
                    let peers: BTreeSet<String> =
                        s.ob.bags.values().flat_map(|b| b.peers.iter().cloned()).collect();
                    s.peers.track(&peers);
                    let _ = endpoints_tx.send(peers);
                    s.update(&was, &to_link);
                }
            }
            event = events.recv() => match event {
                Some(e) => s.event(e, &to_link, &accept),
                None => break,
            },
            Some(p) = probes.recv() => s.peers.probed(p),
            verdicts = async { round.as_mut().expect("guarded").await }, if round.is_some() => {
                round = None;
                match verdicts {
                    Ok(Ok(v)) => s.apply_verdicts(v, &to_link),
                    Ok(Err(e)) => warn!("cleanup check: {e}"),
                    Err(e) => warn!("cleanup check task: {e}"),
                }
            }
            _ = tick.tick() => {
                if round.is_none() && s.ready() && s.config.cleanup.enabled {
                    let due = s.cleanup.due(Instant::now());
                    if !due.is_empty() {
                        let (chain, http, us, cfg) = (chain.clone(), http.clone(), Us::of(&s.ob), s.config.cleanup.clone());
                        round = Some(tokio::spawn(async move {
                            cleanup::check(&chain, &http, due, &us, &cfg).await
                        }));
                    }
                }
                let summary = s.summary();
                if s.connected && last_summary.as_ref() != Some(&summary) {
                    let _ = to_link.send(ToDataPlane::Summary(summary.clone()));
                    last_summary = Some(summary);
                }
                *status.lock().expect("sync status") = s.status();
            }
        }
        s.dispatch(&to_link);
    }
    prober.abort();
}

impl State {
    fn ready(&self) -> bool {
        self.connected && self.inventory_complete
    }

    /// Recomputes the backlog and the cleanup candidates.
    fn refresh(&mut self, to_link: &mpsc::UnboundedSender<ToDataPlane>) {
        if !self.inventory_complete {
            return;
        }
        let own = Us::of(&self.ob).endpoints;
        let cancel = self.backlog.refresh(&self.ob, &self.held, &own);
        if !cancel.is_empty() {
            info!(count = cancel.len(), "fetches no longer needed; cancelling");
            let _ = to_link.send(ToDataPlane::CancelFetch { ids: cancel });
        }
        self.cleanup.refresh(&self.ob, &self.held);
        self.missing = self
            .ob
            .objects
            .keys()
            .filter(|id| !self.held.contains_key(id))
            .count() as u64;
    }

    /// Brings the backlog, the missing count and the cleanup candidates from obligations `was`
    /// to the current ones, looking only at the bags that changed (`imbl`'s diff skips what the
    /// two versions share): a block that touches a few bags costs those bags, not the store.
    /// A change of endpoints (which are every bag's sources) recomputes everything.
    fn update(&mut self, was: &Obligations, to_link: &mpsc::UnboundedSender<ToDataPlane>) {
        if !self.inventory_complete {
            return;
        }
        if was.endpoints != self.ob.endpoints {
            return self.refresh(to_link);
        }
        let own = Us::of(&self.ob).endpoints;
        let cancel = update_bags(
            was,
            &self.ob,
            &self.held,
            &own,
            (&mut self.backlog, &mut self.cleanup, &mut self.missing),
        );
        if !cancel.is_empty() {
            info!(count = cancel.len(), "fetches no longer needed; cancelling");
            let _ = to_link.send(ToDataPlane::CancelFetch { ids: cancel });
        }
    }

    /// Hands out fetch jobs while the window has room.
    fn dispatch(&mut self, to_link: &mpsc::UnboundedSender<ToDataPlane>) {
        if !self.ready() {
            return;
        }
        let (_, _, in_flight, _) = self.backlog.counts();
        let room = self.config.window.saturating_sub(in_flight as usize);
        if room == 0 {
            return;
        }
        let now = Instant::now();
        let peers = &self.peers;
        let taken = self
            .backlog
            .take_if(room, now, |w| !peers.rank(&w.sources, now).is_empty());
        if taken.is_empty() {
            return;
        }
        let jobs: Vec<FetchJob> = taken
            .into_iter()
            .map(|(id, w)| FetchJob {
                id,
                bag: w.bag,
                size: w.size,
                content_id: w.content_id,
                sources: self.peers.rank(&w.sources, now),
                priority: self.backlog.priority(id),
            })
            .collect();
        let _ = to_link.send(ToDataPlane::Fetch { jobs });
    }

    fn event(
        &mut self,
        event: LinkEvent,
        to_link: &mpsc::UnboundedSender<ToDataPlane>,
        accept: &mpsc::UnboundedSender<Vec<StoredObject>>,
    ) {
        let now = Instant::now();
        match event {
            LinkEvent::Connected { .. } => {
                self.connected = true;
                self.inventory_complete = false;
                self.inventory.clear();
                self.backlog.requeue_sent();
            }
            LinkEvent::Disconnected { .. } => self.connected = false,
            // The acceptor hears of them from the link directly.
            LinkEvent::Stored(objects) => {
                for o in &objects {
                    self.hold(o.id);
                }
            }
            LinkEvent::Metrics(m) => {
                self.rate.push_back((now, m.fetch_bytes));
                while self.rate.len() > 6 {
                    self.rate.pop_front();
                }
            }
            LinkEvent::Sync(report) => self.report(report, now, to_link, accept),
            LinkEvent::Applied(_) | LinkEvent::Usage { .. } => {}
        }
    }

    fn report(
        &mut self,
        report: Report,
        now: Instant,
        to_link: &mpsc::UnboundedSender<ToDataPlane>,
        accept: &mpsc::UnboundedSender<Vec<StoredObject>>,
    ) {
        match report {
            Report::Inventory { objects, last } => {
                self.inventory.extend(objects);
                if last {
                    self.held = self.inventory.drain(..).map(|o| (o.id, o.bag)).collect();
                    self.inventory_complete = true;
                    info!(held = self.held.len(), "store inventory received");
                    // Uploads the acceptor may not have seen (e.g. across a restart).
                    let pending: Vec<StoredObject> = self
                        .held
                        .iter()
                        .filter(|(id, _)| self.ob.object(**id).is_some_and(|(_, o)| !o.accepted))
                        .map(|(id, bag)| StoredObject {
                            id: *id,
                            bag: *bag,
                            bucket: None,
                        })
                        .collect();
                    if !pending.is_empty() {
                        let _ = accept.send(pending);
                    }
                    self.refresh(to_link);
                }
            }
            Report::FetchStarted { id, source, offset } => self.backlog.started(id, source, offset),
            Report::FetchAttemptFailed {
                source,
                failure,
                reason,
                ..
            } => self.peers.failed(&source, failure, &reason, now),
            Report::Fetched {
                id,
                source,
                bytes,
                resumed_from,
                millis,
            } => {
                self.peers.fetched(&source);
                self.fetched += 1;
                self.hold(id);
                self.recent.push_front(FetchedObject {
                    id,
                    source,
                    bytes,
                    resumed_from,
                    millis,
                });
                self.recent.truncate(RECENT);
            }
            Report::FetchFailed { id, reason } => {
                self.fetch_failures += 1;
                self.backlog.failed(id, reason, now);
            }
            Report::Removed { ids } => {
                for id in &ids {
                    self.held.remove(id);
                }
                self.cleanup.removed(&ids, &self.removing);
                for id in &ids {
                    self.removing.remove(id);
                }
                // Removals are of objects outside the obligations, which neither the backlog
                // nor the missing count hold; one that came back meanwhile is missing now.
                if ids.iter().any(|id| self.ob.objects.contains_key(id)) {
                    self.refresh(to_link);
                }
            }
            Report::Stored { .. } | Report::Usage { .. } | Report::Metrics(_) => {}
        }
    }

    /// The store holds `id` now.
    fn hold(&mut self, id: DataObjectId) {
        let bag = self.ob.objects.get(&id).copied();
        if self.held.insert(id, bag).is_none() && bag.is_some() {
            self.missing = self.missing.saturating_sub(1);
        }
        self.backlog.done(id);
    }

    fn apply_verdicts(
        &mut self,
        verdicts: Vec<(DataObjectId, Verdict)>,
        to_link: &mpsc::UnboundedSender<ToDataPlane>,
    ) {
        let (ob, held) = (&self.ob, &self.held);
        let removals = self.cleanup.apply(
            verdicts,
            self.config.cleanup.recheck,
            Instant::now(),
            |id| held.contains_key(&id) && !ob.objects.contains_key(&id),
        );
        if removals.is_empty() {
            return;
        }
        for r in &removals {
            info!(id = %r.id, reason = r.reason.label(), detail = ?r.reason, "ordering removal");
            self.removing.insert(r.id, r.reason.label());
        }
        let _ = to_link.send(ToDataPlane::Remove { removals });
    }

    fn bytes_per_sec(&self) -> u64 {
        match (self.rate.front(), self.rate.back()) {
            (Some((t0, b0)), Some((t1, b1))) if t1 > t0 => {
                (b1.saturating_sub(*b0) as f64 / (*t1 - *t0).as_secs_f64()) as u64
            }
            _ => 0,
        }
    }

    fn summary(&self) -> SyncSummary {
        let (objects, bytes, in_flight, failing) = self.backlog.counts();
        SyncSummary {
            backlog_objects: objects,
            backlog_bytes: bytes,
            in_flight,
            failing,
            bytes_per_sec: self.bytes_per_sec(),
            fetched: self.fetched,
            peers: self.peers.summary(),
            cleanup_waiting: self.cleanup.waiting(0, 0).1,
            removed: self.cleanup.removed_total(),
            min_replication: self.config.cleanup.min_replication,
        }
    }

    fn status(&self) -> SyncStatus {
        let now = Instant::now();
        SyncStatus {
            summary: self.summary(),
            inventory_complete: self.inventory_complete,
            held: self.held.len() as u64,
            missing: self.missing,
            sourceless: self.backlog.sourceless(),
            in_flight: self.backlog.in_flight(50, now),
            failing: self.backlog.failing(50, now),
            cleanup_waiting: self
                .cleanup
                .waiting(50, self.config.cleanup.min_replication)
                .0,
            unplaced: self.cleanup.unplaced(),
            removed_by_reason: self.cleanup.removed_by_reason(),
            fetch_failures: self.fetch_failures,
            recent: self.recent.iter().cloned().collect(),
        }
    }
}

/// What [`State::update`] does, for every bag that changed from obligations `was` to `now`:
/// the backlog, the cleanup candidates and the missing count brought up to date. Returns the
/// fetches to cancel.
fn update_bags(
    was: &Obligations,
    now: &Obligations,
    held: &HashMap<DataObjectId, Option<BagId>>,
    own: &std::collections::HashSet<String>,
    (backlog, cleanup, missing): (&mut Backlog, &mut Cleanup, &mut u64),
) -> Vec<DataObjectId> {
    let mut cancel = Vec::new();
    for d in was.bags.diff(&now.bags) {
        let (old, new) = match d {
            DiffItem::Add(_, new) => (None, Some(&**new)),
            DiffItem::Update {
                old: (_, old),
                new: (_, new),
            } => (Some(&**old), Some(&**new)),
            DiffItem::Remove(_, old) => (Some(&**old), None),
        };
        cancel.extend(backlog.update_bag(old, new, held, own));
        cleanup.update_bag(old, new, was, now, held);
        let unheld = |b: Option<&BagPlacement>| {
            b.map_or(0, |b| {
                b.objects
                    .iter()
                    .filter(|o| !held.contains_key(&o.id))
                    .count() as u64
            })
        };
        *missing = (*missing + unheld(new)).saturating_sub(unheld(old));
    }
    cancel
}

#[cfg(test)]
mod tests;
