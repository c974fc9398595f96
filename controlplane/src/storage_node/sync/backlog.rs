//! The sync backlog: the accepted objects this node must hold and its store lacks, each with the
//! endpoints of the other holders of its bag, in priority order (newest uploads first by
//! default). A bounded window of it is handed to the data plane at a time; an object that failed
//! from every source waits before it is handed out again, longer after each failure.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use hecaton_shared::{BagId, DataObjectId};
use serde::{Deserialize, Serialize};

use hecaton_shared::socket::BagPlacement;

use crate::node::obligations::Obligations;

/// Which objects go first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncOrder {
    /// Highest object id (latest upload) first: what viewers ask for now.
    NewestFirst,
    /// Lowest object id first.
    OldestFirst,
}

/// What one backlog object is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// Its bag.
    pub bag: BagId,
    /// Declared size.
    pub size: u64,
    /// Declared content id.
    pub content_id: String,
    /// Endpoints of the other holders of the bag (never this node's own).
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Queued,
    Sent {
        since: Instant,
        source: Option<String>,
        offset: u64,
    },
    Failing {
        until: Instant,
    },
}

#[derive(Debug)]
struct Entry {
    wanted: Wanted,
    state: State,
    failures: u32,
    last_error: Option<String>,
}

/// An object being fetched, for status.
#[derive(Debug, Clone, Serialize)]
pub struct InFlight {
    /// The object.
    pub id: DataObjectId,
    /// Its size.
    pub size: u64,
    /// The source of the running attempt, once started.
    pub source: Option<String>,
    /// Bytes held when that attempt started.
    pub offset: u64,
    /// Seconds since it was handed out.
    pub secs: u64,
}

/// An object waiting for a retry, for status.
#[derive(Debug, Clone, Serialize)]
pub struct Failing {
    /// The object.
    pub id: DataObjectId,
    /// Times it failed from every source.
    pub failures: u32,
    /// The last failure.
    pub last_error: Option<String>,
    /// Seconds until it is handed out again.
    pub retry_in_secs: u64,
}

/// The backlog.
#[derive(Debug)]
pub struct Backlog {
    entries: HashMap<DataObjectId, Entry>,
    queue: BTreeSet<(Reverse<u64>, DataObjectId)>,
    order: SyncOrder,
    retry_base: Duration,
    retry_max: Duration,
}

impl Backlog {
    /// An empty backlog.
    pub fn new(order: SyncOrder, retry_base: Duration, retry_max: Duration) -> Self {
        Self {
            entries: HashMap::new(),
            queue: BTreeSet::new(),
            order,
            retry_base,
            retry_max,
        }
    }

    /// The priority the data plane orders by (higher first).
    pub fn priority(&self, id: DataObjectId) -> u64 {
        match self.order {
            SyncOrder::NewestFirst => id.0,
            SyncOrder::OldestFirst => u64::MAX - id.0,
        }
    }

    /// Recomputes the backlog from the obligations and what the store holds. Returns the objects
    /// handed out that are no longer wanted (to cancel in the data plane). This walks every
    /// object; when the obligations change, [`Backlog::update_bag`] does it for the bags that
    /// changed.
    pub fn refresh(
        &mut self,
        ob: &Obligations,
        held: &HashMap<DataObjectId, Option<BagId>>,
        own_endpoints: &HashSet<String>,
    ) -> Vec<DataObjectId> {
        let mut wanted: HashMap<DataObjectId, Wanted> = HashMap::new();
        for bag in ob.bags.values() {
            wanted.extend(wanted_of(bag, held, own_endpoints));
        }
        let gone: Vec<DataObjectId> = self
            .entries
            .keys()
            .filter(|id| !wanted.contains_key(id))
            .copied()
            .collect();
        let mut cancel = Vec::new();
        for id in gone {
            cancel.extend(self.drop_entry(id));
        }
        self.upsert(wanted);
        cancel
    }

    /// Brings the backlog from one bag's `old` placement to its `new` one (`None` for a bag
    /// added or dropped), as [`Backlog::refresh`] would, looking at that bag's objects only.
    /// Returns the objects handed out that are no longer wanted.
    pub fn update_bag(
        &mut self,
        old: Option<&BagPlacement>,
        new: Option<&BagPlacement>,
        held: &HashMap<DataObjectId, Option<BagId>>,
        own_endpoints: &HashSet<String>,
    ) -> Vec<DataObjectId> {
        let wanted = new.map_or_else(HashMap::new, |b| wanted_of(b, held, own_endpoints));
        let mut cancel = Vec::new();
        for o in old.map_or(&[][..], |b| &b.objects) {
            let ours = self
                .entries
                .get(&o.id)
                .is_some_and(|e| old.is_some_and(|b| b.bag == e.wanted.bag));
            if ours && !wanted.contains_key(&o.id) {
                cancel.extend(self.drop_entry(o.id));
            }
        }
        self.upsert(wanted);
        cancel
    }

    /// Every entry's object and what is wanted of it (tests compare backlogs).
    #[cfg(test)]
    pub fn wanted(&self) -> std::collections::BTreeMap<DataObjectId, Wanted> {
        self.entries
            .iter()
            .map(|(id, e)| (*id, e.wanted.clone()))
            .collect()
    }

    /// Removes an entry; returns its id when it was handed out (to cancel).
    fn drop_entry(&mut self, id: DataObjectId) -> Option<DataObjectId> {
        let e = self.entries.remove(&id)?;
        self.queue.remove(&(Reverse(self.priority(id)), id));
        matches!(e.state, State::Sent { .. }).then_some(id)
    }

    /// Adds what is wanted and not queued yet; updates what is.
    fn upsert(&mut self, wanted: HashMap<DataObjectId, Wanted>) {
        for (id, w) in wanted {
            match self.entries.get_mut(&id) {
                Some(e) => e.wanted = w,
                None => {
                    self.queue.insert((Reverse(self.priority(id)), id));
                    self.entries.insert(
                        id,
                        Entry {
                            wanted: w,
                            state: State::Queued,
                            failures: 0,
                            last_error: None,
                        },
                    );
                }
            }
        }
    }

    /// Hands out up to `room` more objects (highest priority first, skipping those waiting for
    /// a retry and those `usable` refuses, e.g. with no reachable source), marking them sent.
    pub fn take_if(
        &mut self,
        room: usize,
        now: Instant,
        usable: impl Fn(&Wanted) -> bool,
    ) -> Vec<(DataObjectId, Wanted)> {
        let mut out = Vec::new();
        for (_, id) in &self.queue {
            if out.len() >= room {
                break;
            }
            let Some(e) = self.entries.get_mut(id) else {
                continue;
            };
            let ready = match e.state {
                State::Queued => true,
                State::Failing { until } => until <= now,
                State::Sent { .. } => false,
            };
            if ready && !e.wanted.sources.is_empty() && usable(&e.wanted) {
                e.state = State::Sent {
                    since: now,
                    source: None,
                    offset: 0,
                };
                out.push((*id, e.wanted.clone()));
            }
        }
        out
    }

    /// An attempt started.
    pub fn started(&mut self, id: DataObjectId, source: String, offset: u64) {
        if let Some(Entry {
            state:
                State::Sent {
                    source: s,
                    offset: o,
                    ..
                },
            ..
        }) = self.entries.get_mut(&id)
        {
            *s = Some(source);
            *o = offset;
        }
    }

    /// The object is held now.
    pub fn done(&mut self, id: DataObjectId) {
        if self.entries.remove(&id).is_some() {
            self.queue.remove(&(Reverse(self.priority(id)), id));
        }
    }

    /// Every source failed: the object waits `retry_base × 2^failures` (capped).
    pub fn failed(&mut self, id: DataObjectId, reason: String, now: Instant) {
        if let Some(e) = self.entries.get_mut(&id) {
            let wait = self
                .retry_base
                .saturating_mul(1 << e.failures.min(16))
                .min(self.retry_max);
            e.failures += 1;
            e.last_error = Some(reason);
            e.state = State::Failing { until: now + wait };
        }
    }

    /// A new data plane session: what was handed out may be lost, so it is handed out again
    /// (the data plane merges a job it still has).
    pub fn requeue_sent(&mut self) {
        for e in self.entries.values_mut() {
            if matches!(e.state, State::Sent { .. }) {
                e.state = State::Queued;
            }
        }
    }

    /// Objects, their bytes, how many are handed out, how many wait for a retry.
    pub fn counts(&self) -> (u64, u64, u64, u64) {
        let (mut bytes, mut sent, mut failing) = (0, 0, 0);
        for e in self.entries.values() {
            bytes += e.wanted.size;
            match e.state {
                State::Sent { .. } => sent += 1,
                State::Failing { .. } => failing += 1,
                State::Queued => {}
            }
        }
        (self.entries.len() as u64, bytes, sent, failing)
    }

    /// Handed out now (at most `n`).
    pub fn in_flight(&self, n: usize, now: Instant) -> Vec<InFlight> {
        let mut v: Vec<InFlight> = self
            .entries
            .iter()
            .filter_map(|(id, e)| match &e.state {
                State::Sent {
                    since,
                    source,
                    offset,
                } => Some(InFlight {
                    id: *id,
                    size: e.wanted.size,
                    source: source.clone(),
                    offset: *offset,
                    secs: now.saturating_duration_since(*since).as_secs(),
                }),
                _ => None,
            })
            .collect();
        v.sort_by_key(|f| f.id);
        v.truncate(n);
        v
    }

    /// Waiting for a retry (at most `n`).
    pub fn failing(&self, n: usize, now: Instant) -> Vec<Failing> {
        let mut v: Vec<Failing> = self
            .entries
            .iter()
            .filter_map(|(id, e)| match e.state {
                State::Failing { until } => Some(Failing {
                    id: *id,
                    failures: e.failures,
                    last_error: e.last_error.clone(),
                    retry_in_secs: until.saturating_duration_since(now).as_secs(),
                }),
                _ => None,
            })
            .collect();
        v.sort_by_key(|f| f.id);
        v.truncate(n);
        v
    }

    /// Objects without any source (no other holder published an endpoint).
    pub fn sourceless(&self) -> u64 {
        self.entries
            .values()
            .filter(|e| e.wanted.sources.is_empty())
            .count() as u64
    }
}

/// The objects of `bag` to fetch: accepted, not held, with the bag's other holders as sources.
fn wanted_of(
    bag: &BagPlacement,
    held: &HashMap<DataObjectId, Option<BagId>>,
    own_endpoints: &HashSet<String>,
) -> HashMap<DataObjectId, Wanted> {
    let sources: Vec<String> = bag
        .peers
        .iter()
        .filter(|p| !own_endpoints.contains(*p))
        .cloned()
        .collect();
    bag.objects
        .iter()
        .filter(|o| o.accepted && !held.contains_key(&o.id))
        .map(|o| {
            let w = Wanted {
                bag: bag.bag,
                size: o.size,
                content_id: o.content_id.clone(),
                sources: sources.clone(),
            };
            (o.id, w)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hecaton_shared::socket::{BagPlacement, ObjectPlacement};
    use std::sync::Arc;

    impl Backlog {
        fn take(&mut self, room: usize, now: Instant) -> Vec<(DataObjectId, Wanted)> {
            self.take_if(room, now, |_| true)
        }
    }

    fn ob(objects: &[(u64, bool)], peers: &[&str]) -> Obligations {
        let bag: BagId = "dynamic:channel:1".parse().unwrap();
        let mut ob = Obligations::default();
        ob.bags.insert(
            bag,
            Arc::new(BagPlacement {
                bag,
                buckets: vec![],
                peers: peers.iter().map(|p| p.to_string()).collect(),
                objects: objects
                    .iter()
                    .map(|(id, accepted)| ObjectPlacement {
                        id: DataObjectId(*id),
                        size: 100,
                        content_id: "c".into(),
                        accepted: *accepted,
                    })
                    .collect(),
            }),
        );
        ob
    }

    #[test]
    fn accepted_missing_objects_newest_first_without_our_own_endpoint() {
        let mut b = Backlog::new(
            SyncOrder::NewestFirst,
            Duration::from_secs(1),
            Duration::from_secs(60),
        );
        let held: HashMap<_, _> = [(DataObjectId(2), None)].into_iter().collect();
        let own: HashSet<String> = ["http://me/".to_string()].into_iter().collect();
        let cancel = b.refresh(
            &ob(
                &[(1, true), (2, true), (3, true), (4, false)],
                &["http://me/", "http://a/"],
            ),
            &held,
            &own,
        );
        assert!(cancel.is_empty());
        assert_eq!(
            b.counts(),
            (2, 200, 0, 0),
            "1 and 3: 2 is held, 4 pending on chain"
        );
        let now = Instant::now();
        let taken = b.take(1, now);
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].0, DataObjectId(3), "newest first");
        assert_eq!(taken[0].1.sources, vec!["http://a/".to_string()]);
        assert_eq!(b.take(10, now)[0].0, DataObjectId(1));
        assert!(b.take(10, now).is_empty(), "everything is out");
        // Object 3 leaves the obligations while handed out: it is to be cancelled.
        let cancel = b.refresh(&ob(&[(1, true)], &["http://a/"]), &held, &own);
        assert_eq!(cancel, vec![DataObjectId(3)]);
        // Oldest first reverses the order.
        let mut o = Backlog::new(
            SyncOrder::OldestFirst,
            Duration::from_secs(1),
            Duration::from_secs(60),
        );
        o.refresh(
            &ob(&[(1, true), (3, true)], &["http://a/"]),
            &HashMap::new(),
            &own,
        );
        assert_eq!(o.take(1, now)[0].0, DataObjectId(1));
    }

    #[test]
    fn failures_back_off_and_a_new_session_hands_out_again() {
        let mut b = Backlog::new(
            SyncOrder::NewestFirst,
            Duration::from_secs(10),
            Duration::from_secs(25),
        );
        b.refresh(
            &ob(&[(1, true)], &["http://a/"]),
            &HashMap::new(),
            &HashSet::new(),
        );
        let t0 = Instant::now();
        b.take(1, t0);
        b.failed(DataObjectId(1), "down".into(), t0);
        assert!(b.take(1, t0 + Duration::from_secs(9)).is_empty());
        assert_eq!(b.take(1, t0 + Duration::from_secs(10)).len(), 1);
        b.failed(DataObjectId(1), "down".into(), t0);
        assert!(
            b.take(1, t0 + Duration::from_secs(19)).is_empty(),
            "twice as long"
        );
        assert_eq!(b.take(1, t0 + Duration::from_secs(20)).len(), 1);
        b.failed(DataObjectId(1), "down".into(), t0);
        assert_eq!(b.take(1, t0 + Duration::from_secs(25)).len(), 1, "capped");
        assert!(b.take(1, t0 + Duration::from_secs(25)).is_empty());
        b.requeue_sent();
        assert_eq!(b.take(1, t0).len(), 1);
        b.done(DataObjectId(1));
        assert_eq!(b.counts().0, 0);
    }
}
