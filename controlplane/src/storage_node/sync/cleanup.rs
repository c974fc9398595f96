//! Cleanup: objects the store holds that this node no longer has to hold, and whether each may
//! go.
//!
//! - Deleted on chain (its bag is gone, or the bag no longer lists it): removed. The chain
//!   state read is finalized, so is the deletion.
//! - Still on chain in a bag this node's buckets no longer store (unassigned): removed only once
//!   at least `min_replication` other holders of the bag answer `HEAD api/v1/files/{id}` with
//!   success (Colossus's rule), rechecked until they do.
//! - Stored without a bag (imported from a plain directory) and not placed: kept, and counted.
//!
//! Objects moved between bags (`DataObjectsMoved`) keep the bag they were stored for; the
//! runtime's move is reachable only through the storage trait, which no extrinsic calls today,
//! so an object absent from its recorded bag is taken as deleted.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use hecaton_shared::socket::{BagPlacement, Removal, RemovalReason};
use hecaton_shared::{BagId, DataObjectId};
use serde::Serialize;
use tracing::{debug, info};

use crate::chain::{Chain, ChainError};
use crate::node::obligations::Obligations;

/// How cleanup runs.
#[derive(Debug, Clone)]
pub struct CleanupConfig {
    /// Whether anything is removed at all.
    pub enabled: bool,
    /// Other holders that must confirm before an unassigned object goes.
    pub min_replication: u32,
    /// Wait before an object that lacked confirmations is checked again.
    pub recheck: Duration,
    /// Timeout of one `HEAD`.
    pub head_timeout: Duration,
    /// Whether holders on private and special addresses may be asked.
    pub allow_private: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Due,
    Waiting {
        confirmed: Vec<String>,
        holders: usize,
        next: Instant,
    },
    Removing {
        since: Instant,
    },
}

#[derive(Debug)]
struct Candidate {
    bag: BagId,
    state: State,
}

/// What a check decided for one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It may go.
    Remove(RemovalReason),
    /// Not enough holders confirmed yet.
    Wait {
        /// Those that did.
        confirmed: Vec<String>,
        /// Holders with an endpoint.
        holders: usize,
    },
}

/// An object waiting for confirmations, for status.
#[derive(Debug, Clone, Serialize)]
pub struct WaitingObject {
    /// The object.
    pub id: DataObjectId,
    /// Its bag.
    pub bag: BagId,
    /// Holders that confirmed.
    pub confirmed: Vec<String>,
    /// Confirmations needed.
    pub needed: u32,
    /// Other holders with an endpoint.
    pub holders: usize,
}

/// The objects held but not obliged, and what was decided about them.
#[derive(Debug, Default)]
pub struct Cleanup {
    candidates: BTreeMap<DataObjectId, Candidate>,
    unplaced: u64,
    removed: BTreeMap<&'static str, u64>,
}

/// A removal that waits this long for the data plane's report is decided again.
const REMOVING_TIMEOUT: Duration = Duration::from_secs(60);

impl Cleanup {
    /// Recomputes the candidates: held objects the obligations do not list.
    pub fn refresh(&mut self, ob: &Obligations, held: &HashMap<DataObjectId, Option<BagId>>) {
        let mut unplaced = 0;
        let mut now_candidates = BTreeSet::new();
        for (id, bag) in held {
            if ob.objects.contains_key(id) {
                continue;
            }
            match bag {
                Some(bag) => {
                    now_candidates.insert(*id);
                    self.candidates.entry(*id).or_insert(Candidate {
                        bag: *bag,
                        state: State::Due,
                    });
                }
                None => unplaced += 1,
            }
        }
        self.candidates.retain(|id, _| now_candidates.contains(id));
        self.unplaced = unplaced;
    }

    /// Brings the candidates from obligations `was` to `now` for one bag whose placement
    /// changed from `old` to `new` (`None` for a bag added or dropped), as
    /// [`Cleanup::refresh`] would, looking at that bag's objects only: an object held that
    /// left the obligations becomes a candidate (or is counted unplaced, without a bag), one
    /// that came back stops being one.
    pub fn update_bag(
        &mut self,
        old: Option<&BagPlacement>,
        new: Option<&BagPlacement>,
        was: &Obligations,
        now: &Obligations,
        held: &HashMap<DataObjectId, Option<BagId>>,
    ) {
        for o in old.map_or(&[][..], |b| &b.objects) {
            if now.objects.contains_key(&o.id) {
                continue;
            }
            match held.get(&o.id) {
                Some(Some(bag)) => {
                    self.candidates.entry(o.id).or_insert(Candidate {
                        bag: *bag,
                        state: State::Due,
                    });
                }
                Some(None) => self.unplaced += 1,
                None => {}
            }
        }
        for o in new.map_or(&[][..], |b| &b.objects) {
            if was.objects.contains_key(&o.id) {
                continue;
            }
            match held.get(&o.id) {
                Some(Some(_)) => {
                    self.candidates.remove(&o.id);
                }
                Some(None) => self.unplaced = self.unplaced.saturating_sub(1),
                None => {}
            }
        }
    }

    /// The candidates with their bags, and the unplaced count (tests compare cleanups).
    #[cfg(test)]
    pub fn state(&self) -> (Vec<(DataObjectId, BagId)>, u64) {
        let c = self.candidates.iter().map(|(id, c)| (*id, c.bag)).collect();
        (c, self.unplaced)
    }

    /// Candidates to check now.
    pub fn due(&mut self, now: Instant) -> Vec<(DataObjectId, BagId)> {
        let mut out = Vec::new();
        for (id, c) in self.candidates.iter_mut() {
            let due = match &c.state {
                State::Due => true,
                State::Waiting { next, .. } => *next <= now,
                State::Removing { since } => {
                    now.saturating_duration_since(*since) >= REMOVING_TIMEOUT
                }
            };
            if due {
                c.state = State::Due;
                out.push((*id, c.bag));
            }
        }
        out
    }

    /// Takes a check's verdicts; returns the removals to order. `still_candidate` re-checks
    /// against the obligations of now (they may have changed while the check ran).
    pub fn apply(
        &mut self,
        verdicts: Vec<(DataObjectId, Verdict)>,
        recheck: Duration,
        now: Instant,
        still_candidate: impl Fn(DataObjectId) -> bool,
    ) -> Vec<Removal> {
        let mut removals = Vec::new();
        for (id, verdict) in verdicts {
            let Some(c) = self.candidates.get_mut(&id) else {
                continue;
            };
            if !still_candidate(id) {
                continue;
            }
            match verdict {
                Verdict::Remove(reason) => {
                    c.state = State::Removing { since: now };
                    removals.push(Removal { id, reason });
                }
                Verdict::Wait { confirmed, holders } => {
                    c.state = State::Waiting {
                        confirmed,
                        holders,
                        next: now + recheck,
                    };
                }
            }
        }
        removals
    }

    /// The data plane removed these.
    pub fn removed(&mut self, ids: &[DataObjectId], reasons: &HashMap<DataObjectId, &'static str>) {
        for id in ids {
            self.candidates.remove(id);
            let label = reasons.get(id).copied().unwrap_or("unknown");
            *self.removed.entry(label).or_default() += 1;
        }
    }

    /// Objects waiting for confirmations (at most `n`, and their number).
    pub fn waiting(&self, n: usize, needed: u32) -> (Vec<WaitingObject>, u64) {
        let mut count = 0;
        let mut list = Vec::new();
        for (id, c) in &self.candidates {
            if let State::Waiting {
                confirmed, holders, ..
            } = &c.state
            {
                count += 1;
                if list.len() < n {
                    list.push(WaitingObject {
                        id: *id,
                        bag: c.bag,
                        confirmed: confirmed.clone(),
                        needed,
                        holders: *holders,
                    });
                }
            }
        }
        (list, count)
    }

    /// Held objects without a bag that nothing places: kept.
    pub fn unplaced(&self) -> u64 {
        self.unplaced
    }

    /// Removals by reason since start.
    pub fn removed_by_reason(&self) -> BTreeMap<String, u64> {
        self.removed
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect()
    }

    /// Removals since start.
    pub fn removed_total(&self) -> u64 {
        self.removed.values().sum()
    }
}

/// What a check needs to know about this node.
#[derive(Debug, Clone)]
pub struct Us {
    /// Every bucket of this node (served or not).
    pub buckets: HashSet<u64>,
    /// Their endpoints (a holder there is this node itself).
    pub endpoints: HashSet<String>,
    /// Published endpoint of every storage bucket.
    pub all_endpoints: BTreeMap<u64, String>,
}

impl Us {
    /// From the obligations.
    pub fn of(ob: &Obligations) -> Self {
        let buckets: HashSet<u64> = ob
            .globals
            .kept_buckets()
            .chain(&ob.globals.read_only_buckets)
            .map(|b| b.0)
            .collect();
        let endpoints = buckets
            .iter()
            .filter_map(|b| ob.endpoints.get(b).cloned())
            .collect();
        Self {
            buckets,
            endpoints,
            all_endpoints: ob.endpoints.iter().map(|(k, v)| (*k, v.clone())).collect(),
        }
    }
}

/// Checks `due` objects against the chain and the other holders.
pub async fn check<C: Chain>(
    chain: &C,
    http: &reqwest::Client,
    due: Vec<(DataObjectId, BagId)>,
    us: &Us,
    config: &CleanupConfig,
) -> Result<Vec<(DataObjectId, Verdict)>, ChainError> {
    let mut by_bag: BTreeMap<BagId, Vec<DataObjectId>> = BTreeMap::new();
    for (id, bag) in due {
        by_bag.entry(bag).or_default().push(id);
    }
    let mut verdicts = Vec::new();
    for (bag, ids) in by_bag {
        let Some(info) = chain.bag(bag).await? else {
            verdicts.extend(
                ids.into_iter()
                    .map(|id| (id, Verdict::Remove(RemovalReason::BagDeleted))),
            );
            continue;
        };
        let listed: HashSet<u64> = chain
            .bag_objects(bag)
            .await?
            .into_iter()
            .map(|o| o.id)
            .collect();
        let holders: Vec<String> = info
            .bag
            .stored_by
            .iter()
            .filter(|b| !us.buckets.contains(b))
            .filter_map(|b| us.all_endpoints.get(b))
            .filter(|e| !us.endpoints.contains(*e))
            .cloned()
            .collect::<BTreeSet<String>>()
            .into_iter()
            .collect();
        for id in ids {
            if !listed.contains(&id.0) {
                verdicts.push((id, Verdict::Remove(RemovalReason::ObjectDeleted)));
                continue;
            }
            let mut confirmed = Vec::new();
            for holder in &holders {
                if confirmed.len() >= config.min_replication as usize {
                    break;
                }
                if has(http, holder, id, config).await {
                    confirmed.push(holder.clone());
                }
            }
            let verdict = if confirmed.len() >= config.min_replication as usize {
                info!(%id, %bag, ?confirmed, "unassigned object confirmed by other holders");
                Verdict::Remove(RemovalReason::Unassigned {
                    confirmed_by: confirmed,
                })
            } else {
                debug!(%id, %bag, ?confirmed, holders = holders.len(), "unassigned object waits for confirmations");
                Verdict::Wait {
                    confirmed,
                    holders: holders.len(),
                }
            };
            verdicts.push((id, verdict));
        }
    }
    Ok(verdicts)
}

/// Whether `endpoint` answers `HEAD api/v1/files/{id}` with success.
async fn has(http: &reqwest::Client, endpoint: &str, id: DataObjectId, c: &CleanupConfig) -> bool {
    if crate::node::peer_http::check_literal(endpoint, c.allow_private).is_err() {
        return false;
    }
    let url = format!("{}/api/v1/files/{id}", endpoint.trim_end_matches('/'));
    matches!(
        http.head(&url).timeout(c.head_timeout).send().await,
        Ok(r) if r.status().is_success()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use hecaton_shared::socket::{BagPlacement, ObjectPlacement};
    use std::sync::Arc;

    #[test]
    fn candidates_are_held_objects_not_obliged_and_decisions_are_rechecked() {
        let bag: BagId = "dynamic:channel:1".parse().unwrap();
        let mut ob = Obligations::default();
        ob.bags.insert(
            bag,
            Arc::new(BagPlacement {
                bag,
                buckets: vec![],
                peers: vec![],
                objects: vec![ObjectPlacement {
                    id: DataObjectId(1),
                    size: 1,
                    content_id: "c".into(),
                    accepted: true,
                }],
            }),
        );
        ob.objects.insert(DataObjectId(1), bag);
        let held: HashMap<DataObjectId, Option<BagId>> = [
            (DataObjectId(1), Some(bag)),
            (DataObjectId(2), Some(bag)),
            (DataObjectId(3), Some(bag)),
            (DataObjectId(4), None),
        ]
        .into_iter()
        .collect();
        let mut c = Cleanup::default();
        c.refresh(&ob, &held);
        assert_eq!(c.unplaced(), 1, "4 has no bag: kept");
        let t0 = Instant::now();
        let due = c.due(t0);
        assert_eq!(due.iter().map(|d| d.0 .0).collect::<Vec<_>>(), vec![2, 3]);
        let removals = c.apply(
            vec![
                (
                    DataObjectId(2),
                    Verdict::Remove(RemovalReason::ObjectDeleted),
                ),
                (
                    DataObjectId(3),
                    Verdict::Wait {
                        confirmed: vec!["http://a/".into()],
                        holders: 2,
                    },
                ),
            ],
            Duration::from_secs(30),
            t0,
            |_| true,
        );
        assert_eq!(removals.len(), 1);
        assert!(
            c.due(t0 + Duration::from_secs(29)).is_empty(),
            "3 waits, 2 is being removed"
        );
        assert_eq!(c.waiting(10, 2).1, 1);
        assert_eq!(
            c.due(t0 + Duration::from_secs(30)),
            vec![(DataObjectId(3), bag)]
        );
        c.removed(
            &[DataObjectId(2)],
            &[(DataObjectId(2), "object_deleted")].into_iter().collect(),
        );
        assert_eq!(c.removed_total(), 1);
        // A verdict for an object obliged again meanwhile is ignored.
        let removals = c.apply(
            vec![(DataObjectId(3), Verdict::Remove(RemovalReason::BagDeleted))],
            Duration::from_secs(60),
            t0,
            |_| false,
        );
        assert!(removals.is_empty());
    }
}
