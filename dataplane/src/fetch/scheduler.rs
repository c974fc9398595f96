//! The fetch scheduler, on the control executor: the queue of jobs by priority, the connection
//! limits (in total and per peer), the choice of source for each attempt, retries in rounds
//! with exponential backoff, and the reports to the control plane.
//!
//! A job's attempts all run on the shard that ran its first one, where its partial bytes are.
//! Within a round each usable source is tried once, best first (the control plane's order); a
//! source that sent bytes not matching the content id is excluded for the job's life. When a
//! round ends without success the next starts after `retry_base × 2^(round-1)` (capped); after
//! `rounds` rounds the job is reported failed and its bytes dropped.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use futures_channel::mpsc;
use futures_lite::{future, StreamExt};
use glommio::channels::local_channel::LocalReceiver;
use hecaton_shared::socket::{AttemptFailure, FetchJob, Report};
use hecaton_shared::DataObjectId;
use tracing::{info, warn};

use super::{AttemptResult, Order, Outcome};

/// Limits and retry policy.
#[derive(Debug, Clone, Copy)]
pub struct FetchLimits {
    /// Attempts running at once, node-wide.
    pub total: usize,
    /// Attempts running at once against one peer.
    pub per_peer: usize,
    /// Rounds over every source before a job is reported failed.
    pub rounds: u32,
    /// Wait before the second round.
    pub retry_base: Duration,
    /// Longest wait between rounds.
    pub retry_max: Duration,
}

impl Default for FetchLimits {
    fn default() -> Self {
        Self {
            total: 16,
            per_peer: 4,
            rounds: 4,
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(30),
        }
    }
}

/// What the session hands the scheduler.
#[derive(Debug)]
pub enum Input {
    /// New or updated jobs.
    Jobs(Vec<FetchJob>),
    /// Jobs no longer wanted.
    Cancel(Vec<DataObjectId>),
}

#[derive(Debug)]
struct Job {
    job: FetchJob,
    shard: Option<usize>,
    round: u32,
    tried: HashSet<String>,
    blamed: HashSet<String>,
    not_before: Option<Instant>,
    started: Option<Instant>,
    held: u64,
    transferred: u64,
    running: Option<String>,
    last_error: Option<String>,
    cancelled: bool,
    /// Asked for again while a cancelled attempt was still running.
    requeue: Option<FetchJob>,
}

impl Job {
    fn new(job: FetchJob) -> Self {
        Self {
            job,
            shard: None,
            round: 0,
            tried: HashSet::new(),
            blamed: HashSet::new(),
            not_before: None,
            started: None,
            held: 0,
            transferred: 0,
            running: None,
            last_error: None,
            cancelled: false,
            requeue: None,
        }
    }
}

/// The scheduler's state (single-threaded, on the control executor).
#[derive(Debug)]
pub struct Scheduler {
    limits: FetchLimits,
    jobs: HashMap<DataObjectId, Job>,
    order: BTreeSet<(Reverse<u64>, DataObjectId)>,
    per_peer: HashMap<String, usize>,
    running: usize,
    shards: Vec<mpsc::UnboundedSender<Order>>,
    shard_jobs: Vec<usize>,
}

impl Scheduler {
    /// A scheduler dispatching to `shards`.
    pub fn new(limits: FetchLimits, shards: Vec<mpsc::UnboundedSender<Order>>) -> Self {
        let n = shards.len();
        Self {
            limits,
            jobs: HashMap::new(),
            order: BTreeSet::new(),
            per_peer: HashMap::new(),
            running: 0,
            shards,
            shard_jobs: vec![0; n],
        }
    }

    /// Jobs queued or running.
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    /// Whether nothing is queued or running.
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// Takes the session's input.
    pub fn input(&mut self, input: Input) {
        match input {
            Input::Jobs(jobs) => {
                for job in jobs {
                    self.add(job);
                }
            }
            Input::Cancel(ids) => {
                for id in ids {
                    self.cancel(id);
                }
            }
        }
    }

    fn add(&mut self, fresh: FetchJob) {
        let id = fresh.id;
        match self.jobs.get_mut(&id) {
            Some(j) if j.cancelled => j.requeue = Some(fresh),
            Some(j) => {
                self.order.remove(&(Reverse(j.job.priority), id));
                self.order.insert((Reverse(fresh.priority), id));
                j.job.priority = fresh.priority;
                j.job.sources = fresh.sources;
            }
            None => {
                self.order.insert((Reverse(fresh.priority), id));
                self.jobs.insert(id, Job::new(fresh));
            }
        }
    }

    fn cancel(&mut self, id: DataObjectId) {
        let Some(j) = self.jobs.get_mut(&id) else {
            return;
        };
        j.requeue = None;
        if j.running.is_some() {
            j.cancelled = true;
            if let Some(shard) = j.shard {
                let _ = self.shards[shard].unbounded_send(Order::Discard { id });
            }
        } else {
            self.drop_job(id);
        }
    }

    /// Removes a job, telling its shard to drop the bytes it kept.
    fn drop_job(&mut self, id: DataObjectId) {
        self.remove(id, true);
    }

    /// Removes a finished job (its shard kept nothing).
    fn forget(&mut self, id: DataObjectId) {
        self.remove(id, false);
    }

    fn remove(&mut self, id: DataObjectId, discard: bool) {
        if let Some(j) = self.jobs.remove(&id) {
            self.order.remove(&(Reverse(j.job.priority), id));
            if let Some(shard) = j.shard {
                self.shard_jobs[shard] -= 1;
                if discard {
                    let _ = self.shards[shard].unbounded_send(Order::Discard { id });
                }
            }
        }
    }

    fn give_up(&mut self, id: DataObjectId, reason: String, reports: &mut Vec<Report>) {
        warn!(%id, "fetch failed: {reason}");
        reports.push(Report::FetchFailed { id, reason });
        self.drop_job(id);
    }

    /// Starts every attempt the limits allow now; returns the reports to send and when the next
    /// waiting job becomes due.
    pub fn dispatch(&mut self, now: Instant, reports: &mut Vec<Report>) -> Option<Instant> {
        let mut next_due: Option<Instant> = None;
        let ids: Vec<DataObjectId> = self.order.iter().map(|(_, id)| *id).collect();
        for id in ids {
            if self.running >= self.limits.total {
                break;
            }
            let Some(j) = self.jobs.get_mut(&id) else {
                continue;
            };
            if j.running.is_some() || j.cancelled {
                continue;
            }
            if let Some(at) = j.not_before.filter(|at| *at > now) {
                next_due = Some(next_due.map_or(at, |n| n.min(at)));
                continue;
            }
            let usable: Vec<usize> = (0..j.job.sources.len())
                .filter(|i| !j.blamed.contains(&j.job.sources[*i].endpoint))
                .collect();
            if usable.is_empty() {
                let reason = j
                    .last_error
                    .clone()
                    .unwrap_or_else(|| "no source holds the object".into());
                self.give_up(id, format!("no usable source left ({reason})"), reports);
                continue;
            }
            let untried: Vec<usize> = usable
                .into_iter()
                .filter(|i| !j.tried.contains(&j.job.sources[*i].endpoint))
                .collect();
            if untried.is_empty() {
                j.round += 1;
                if j.round >= self.limits.rounds {
                    let reason = j.last_error.clone().unwrap_or_default();
                    let rounds = j.round;
                    self.give_up(
                        id,
                        format!("{rounds} rounds over every source failed; last: {reason}"),
                        reports,
                    );
                    continue;
                }
                j.tried.clear();
                let wait = self
                    .limits
                    .retry_base
                    .saturating_mul(1 << (j.round - 1).min(16))
                    .min(self.limits.retry_max);
                let at = now + wait;
                j.not_before = Some(at);
                next_due = Some(next_due.map_or(at, |n| n.min(at)));
                continue;
            }
            let per_peer = self.limits.per_peer;
            let Some(pick) = untried.into_iter().find(|i| {
                self.per_peer
                    .get(&j.job.sources[*i].endpoint)
                    .copied()
                    .unwrap_or(0)
                    < per_peer
            }) else {
                continue;
            };
            let source = j.job.sources[pick].clone();
            let shard = match j.shard {
                Some(s) => s,
                None => {
                    let s = (0..self.shard_jobs.len())
                        .min_by_key(|s| self.shard_jobs[*s])
                        .unwrap_or(0);
                    self.shard_jobs[s] += 1;
                    j.shard = Some(s);
                    s
                }
            };
            let order = Order::Attempt {
                job: j.job.clone(),
                source: source.clone(),
            };
            if self.shards[shard].unbounded_send(order).is_err() {
                self.give_up(id, "the shard is gone".into(), reports);
                continue;
            }
            j.started.get_or_insert(now);
            j.running = Some(source.endpoint.clone());
            reports.push(Report::FetchStarted {
                id,
                source: source.endpoint.clone(),
                offset: j.held,
            });
            *self.per_peer.entry(source.endpoint).or_default() += 1;
            self.running += 1;
        }
        next_due
    }

    /// Takes a shard's result.
    pub fn result(&mut self, r: AttemptResult, reports: &mut Vec<Report>) {
        if let Some(n) = self.per_peer.get_mut(&r.source) {
            *n -= 1;
            if *n == 0 {
                self.per_peer.remove(&r.source);
            }
        }
        self.running = self.running.saturating_sub(1);
        let Some(j) = self.jobs.get_mut(&r.id) else {
            return;
        };
        j.running = None;
        j.transferred += r.received;
        j.held = r.offset + r.received;
        let id = r.id;
        match r.outcome {
            Outcome::Published => {
                let millis = j.started.map_or(0, |s| s.elapsed().as_millis() as u64);
                info!(%id, source = %r.source, bytes = j.transferred, resumed_from = r.offset, millis, "object fetched");
                reports.push(Report::Fetched {
                    id,
                    source: r.source,
                    bytes: j.transferred,
                    resumed_from: r.offset,
                    millis,
                });
                self.forget(id);
            }
            Outcome::AlreadyStored => self.forget(id),
            Outcome::Failed(failure, reason) => {
                j.tried.insert(r.source.clone());
                if failure == AttemptFailure::Corrupt {
                    // Caught forging a group of a slice: never asked for this object again
                    // (the proven bytes before it are kept).
                    j.blamed.insert(r.source.clone());
                }
                j.last_error = Some(format!("{}: {reason}", r.source));
                reports.push(Report::FetchAttemptFailed {
                    id,
                    source: r.source,
                    failure,
                    reason,
                });
            }
            Outcome::Corrupt { blamed } => {
                j.held = 0;
                for source in blamed {
                    j.blamed.insert(source.clone());
                    j.last_error = Some(format!("{source}: content id mismatch"));
                    reports.push(Report::FetchAttemptFailed {
                        id,
                        source,
                        failure: AttemptFailure::Corrupt,
                        reason: "the bytes do not match the content id".into(),
                    });
                }
            }
            Outcome::Cancelled => {}
            Outcome::Fatal(reason) => {
                self.give_up(id, reason, reports);
                return;
            }
        }
        if let Some(j) = self.jobs.get_mut(&id) {
            if j.cancelled {
                let requeue = j.requeue.take();
                self.drop_job(id);
                if let Some(fresh) = requeue {
                    self.add(fresh);
                }
            }
        }
    }
}

/// Runs the scheduler: session input and shard results in, reports out through `report`.
pub async fn run(
    mut sched: Scheduler,
    inputs: LocalReceiver<Input>,
    mut results: mpsc::UnboundedReceiver<AttemptResult>,
    report: impl Fn(Report),
) {
    enum Event {
        Input(Input),
        Result(AttemptResult),
        Due,
        Closed,
    }
    let mut due: Option<Instant> = None;
    loop {
        let wait = due.map_or(Duration::from_secs(1), |d| {
            d.saturating_duration_since(Instant::now())
        });
        let event = future::or(
            future::or(
                async { inputs.recv().await.map_or(Event::Closed, Event::Input) },
                async { results.next().await.map_or(Event::Closed, Event::Result) },
            ),
            async {
                glommio::timer::sleep(wait).await;
                Event::Due
            },
        )
        .await;
        let mut reports = Vec::new();
        match event {
            Event::Input(i) => sched.input(i),
            Event::Result(r) => sched.result(r, &mut reports),
            Event::Due => {}
            Event::Closed => return,
        }
        due = sched.dispatch(Instant::now(), &mut reports);
        for r in reports {
            report(r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hecaton_shared::socket::Source;

    fn job(id: u64, sources: &[&str]) -> FetchJob {
        FetchJob {
            id: DataObjectId(id),
            bag: "static:council".parse().unwrap(),
            size: 10,
            content_id: "x".into(),
            sources: sources
                .iter()
                .map(|s| Source {
                    endpoint: s.to_string(),
                    addrs: vec![],
                })
                .collect(),
            priority: id,
        }
    }

    fn scheduler(limits: FetchLimits) -> (Scheduler, mpsc::UnboundedReceiver<Order>) {
        let (tx, rx) = mpsc::unbounded();
        (Scheduler::new(limits, vec![tx]), rx)
    }

    fn attempts(rx: &mut mpsc::UnboundedReceiver<Order>) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        while let Ok(order) = rx.try_recv() {
            if let Order::Attempt { job, source } = order {
                out.push((job.id.0, source.endpoint));
            }
        }
        out
    }

    fn result(id: u64, source: &str, outcome: Outcome) -> AttemptResult {
        AttemptResult {
            id: DataObjectId(id),
            source: source.into(),
            offset: 0,
            received: 3,
            outcome,
        }
    }

    #[test]
    fn highest_priority_first_within_the_limits() {
        let limits = FetchLimits {
            total: 2,
            per_peer: 1,
            ..FetchLimits::default()
        };
        let (mut s, mut rx) = scheduler(limits);
        s.input(Input::Jobs(vec![
            job(1, &["a", "b"]),
            job(3, &["a", "b"]),
            job(2, &["a", "b"]),
        ]));
        let mut reports = Vec::new();
        s.dispatch(Instant::now(), &mut reports);
        // Newest (highest priority) first; one per peer, so the second job takes peer b.
        assert_eq!(attempts(&mut rx), vec![(3, "a".into()), (2, "b".into())]);
        assert_eq!(reports.len(), 2, "two FetchStarted");
    }

    #[test]
    fn a_failed_source_gives_way_to_the_next_then_rounds_back_off_then_give_up() {
        let limits = FetchLimits {
            rounds: 2,
            retry_base: Duration::from_secs(5),
            ..FetchLimits::default()
        };
        let (mut s, mut rx) = scheduler(limits);
        let t0 = Instant::now();
        s.input(Input::Jobs(vec![job(1, &["a", "b"])]));
        let mut reports = Vec::new();
        s.dispatch(t0, &mut reports);
        assert_eq!(attempts(&mut rx), vec![(1, "a".into())]);
        s.result(
            result(
                1,
                "a",
                Outcome::Failed(AttemptFailure::Unreachable, "down".into()),
            ),
            &mut reports,
        );
        s.dispatch(t0, &mut reports);
        assert_eq!(
            attempts(&mut rx),
            vec![(1, "b".into())],
            "resumes from the next source"
        );
        s.result(
            result(
                1,
                "b",
                Outcome::Failed(AttemptFailure::NotFound, "404".into()),
            ),
            &mut reports,
        );
        let due = s.dispatch(t0, &mut reports);
        assert_eq!(
            due,
            Some(t0 + Duration::from_secs(5)),
            "round two after the backoff"
        );
        assert!(attempts(&mut rx).is_empty());
        s.dispatch(t0 + Duration::from_secs(5), &mut reports);
        assert_eq!(attempts(&mut rx), vec![(1, "a".into())]);
        s.result(
            result(
                1,
                "a",
                Outcome::Failed(AttemptFailure::Unreachable, "down".into()),
            ),
            &mut reports,
        );
        s.dispatch(t0 + Duration::from_secs(5), &mut reports);
        assert_eq!(attempts(&mut rx), vec![(1, "b".into())]);
        s.result(
            result(
                1,
                "b",
                Outcome::Failed(AttemptFailure::Unreachable, "down".into()),
            ),
            &mut reports,
        );
        reports.clear();
        s.dispatch(t0 + Duration::from_secs(6), &mut reports);
        assert!(
            matches!(&reports[..], [Report::FetchFailed { id, .. }] if id.0 == 1),
            "{reports:?}"
        );
        assert!(s.is_empty());
        // Its shard is told to drop the partial bytes.
        assert!(matches!(rx.try_recv(), Ok(Order::Discard { id }) if id.0 == 1));
    }

    #[test]
    fn corrupt_sources_are_excluded_for_the_job() {
        let (mut s, mut rx) = scheduler(FetchLimits::default());
        s.input(Input::Jobs(vec![job(1, &["bad", "good"])]));
        let mut reports = Vec::new();
        s.dispatch(Instant::now(), &mut reports);
        assert_eq!(attempts(&mut rx), vec![(1, "bad".into())]);
        s.result(
            result(
                1,
                "bad",
                Outcome::Corrupt {
                    blamed: vec!["bad".into()],
                },
            ),
            &mut reports,
        );
        assert!(reports.iter().any(|r| matches!(r, Report::FetchAttemptFailed { failure: AttemptFailure::Corrupt, source, .. } if source == "bad")));
        s.dispatch(Instant::now(), &mut reports);
        assert_eq!(attempts(&mut rx), vec![(1, "good".into())]);
        reports.clear();
        s.result(result(1, "good", Outcome::Published), &mut reports);
        assert!(
            matches!(&reports[..], [Report::Fetched { source, bytes: 6, .. }] if source == "good")
        );
        assert!(s.is_empty());
    }

    #[test]
    fn a_source_caught_forging_a_slice_is_not_asked_again_in_later_rounds() {
        let (mut s, mut rx) = scheduler(FetchLimits::default());
        s.input(Input::Jobs(vec![job(1, &["liar", "good"])]));
        let mut reports = Vec::new();
        let t0 = Instant::now();
        s.dispatch(t0, &mut reports);
        assert_eq!(attempts(&mut rx), vec![(1, "liar".into())]);
        let forged = Outcome::Failed(AttemptFailure::Corrupt, "group 3 forged".into());
        s.result(result(1, "liar", forged), &mut reports);
        // Every later attempt fails as unreachable, through all the rounds.
        let mut asked = Vec::new();
        for minute in 1..60u64 {
            s.dispatch(t0 + Duration::from_secs(60 * minute), &mut reports);
            for (_, source) in attempts(&mut rx) {
                let down = Outcome::Failed(AttemptFailure::Unreachable, "down".into());
                s.result(result(1, &source, down), &mut reports);
                asked.push(source);
            }
        }
        assert!(s.is_empty(), "the job gave up after its rounds");
        assert_eq!(
            asked,
            vec!["good"; 4],
            "one attempt per round, never the liar"
        );
    }

    #[test]
    fn a_cancel_stops_a_running_attempt_and_drops_its_bytes() {
        let (mut s, mut rx) = scheduler(FetchLimits::default());
        s.input(Input::Jobs(vec![job(1, &["a"])]));
        let mut reports = Vec::new();
        s.dispatch(Instant::now(), &mut reports);
        attempts(&mut rx);
        s.input(Input::Cancel(vec![DataObjectId(1)]));
        assert!(matches!(rx.try_recv(), Ok(Order::Discard { .. })));
        assert_eq!(s.len(), 1, "kept until its attempt returns");
        s.result(result(1, "a", Outcome::Cancelled), &mut reports);
        assert!(s.is_empty());
    }
}
