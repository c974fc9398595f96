//! Proofs of storage, asked of storage buckets from outside: `hecaton audit`. For each bucket,
//! objects of its bags are drawn at random from a seed ([`challenge`]), one 16 KiB chunk each;
//! the bucket's endpoint is asked for `GET /api/v1/proofs/{id}?chunk=N` with a deadline, and
//! every answer is checked against the size and content id the chain holds
//! (`hecaton_shared::bao::verify_group`), trusting nothing the node says. The same run is the
//! storage lead's service report ([`service`]): a sample of every bag (completeness), one
//! object's time to first byte and throughput, and uptime over a watch.
//!
//! The deadline is what makes an answer a proof of *storage*: a node that keeps only part of
//! what it is paid for must fetch a challenged object whole before it can build the tree that
//! proves a chunk (the pairs cover the whole object), which takes seconds for anything but small
//! objects, while a node that holds it answers with two small reads. What a deadline cannot
//! catch is a node relaying challenges to an honest holder (the outsourcing attack every proof
//! of storage without sealed replicas has): audits show that the network holds the bytes and
//! that the bucket answers for them, not where the bytes sit.

pub mod challenge;
pub mod service;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use hecaton_shared::{bao, BagId, ContentId};
use serde::Serialize;

use crate::chain::{Chain, ChainError};
use challenge::{Candidate, Challenge};

/// What to audit and how.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// The buckets (all when empty).
    pub buckets: Vec<u64>,
    /// Challenges per bucket.
    pub per_bucket: usize,
    /// Longest wait for one answer, from the request's start.
    pub deadline: Duration,
    /// The draw's seed; `None`: derived from the finalized block's hash.
    pub seed: Option<[u8; 32]>,
    /// Challenges in flight per bucket.
    pub concurrency: usize,
    /// Objects sampled from every bag of a bucket (completeness; 0: none).
    pub per_bag: usize,
    /// Bytes of one object read plainly for time to first byte and throughput (0: none).
    pub speed_bytes: u64,
    /// Longest the speed read may take.
    pub speed_deadline: Duration,
    /// Probe every bucket for this long after the challenges (uptime; `None`: no watch).
    pub watch: Option<Duration>,
    /// Between probes.
    pub every: Duration,
}

/// Why an audit could not run.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The chain could not be read.
    #[error("reading the chain: {0}")]
    Chain(#[from] ChainError),
    /// A bucket asked for does not exist.
    #[error("storage bucket {0} does not exist")]
    NoSuchBucket(u64),
}

/// How one challenge ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A proof that checks, in time.
    Proven,
    /// An answer that is not a proof: an error status, or bytes that do not check.
    Failed(String),
    /// No answer within the deadline (or no connection).
    TimedOut,
}

/// One challenge that did not end in a proof.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// The object.
    pub object: u64,
    /// The chunk asked for.
    pub chunk: u64,
    /// What happened.
    pub why: String,
}

/// Latency of the proofs, milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest.
    pub max: f64,
}

/// One bucket's result.
#[derive(Debug, Clone, Serialize)]
pub struct BucketReport {
    /// Bucket id.
    pub bucket: u64,
    /// Its endpoint from the operator metadata.
    pub endpoint: Option<String>,
    /// Accepted objects in its bags whose content id is a BLAKE3 one (the pool drawn from).
    pub objects: usize,
    /// Challenges sent.
    pub challenged: usize,
    /// Proofs that checked.
    pub proven: usize,
    /// Answers that were not proofs.
    pub failed: usize,
    /// No answer in time.
    pub timed_out: usize,
    /// Of the proven ones.
    pub latency_ms: Latency,
    /// The first failures and time-outs (at most [`FAILURES_KEPT`]).
    pub failures: Vec<Failure>,
    /// A sample of every bag's objects.
    pub completeness: service::Completeness,
    /// One object read plainly.
    pub speed: Option<service::Speed>,
    /// Over the watch.
    pub uptime: Option<service::Uptime>,
}

impl BucketReport {
    /// Whether the bucket proved every challenge, of the bucket and of its bags.
    pub fn clean(&self) -> bool {
        self.failed == 0
            && self.timed_out == 0
            && self.completeness.complete == self.completeness.sampled
    }
}

/// Failures listed per bucket in a report.
pub const FAILURES_KEPT: usize = 20;

/// An audit's result.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The seed, hex (`--seed` replays the same draw).
    pub seed: String,
    /// The finalized block the chain was read at.
    pub block: u64,
    /// Its hash, hex.
    pub block_hash: String,
    /// The deadline, milliseconds.
    pub deadline_ms: u64,
    /// Objects sampled per bag.
    pub per_bag: usize,
    /// The watch, seconds (0: none).
    pub watch_secs: f64,
    /// Per bucket.
    pub buckets: Vec<BucketReport>,
}

/// Audits the buckets `opts` names, with `http` as the client.
pub async fn run<C: Chain>(
    chain: &C,
    http: &reqwest::Client,
    opts: &AuditOptions,
) -> Result<Report, AuditError> {
    let (block, block_hash) = chain.finalized_head().await?;
    let seed = opts
        .seed
        .unwrap_or_else(|| challenge::seed_of_block(&block_hash.0));
    let mut buckets = chain.storage_buckets().await?;
    buckets.sort_by_key(|b| b.id);
    for wanted in &opts.buckets {
        if !buckets.iter().any(|b| b.id == *wanted) {
            return Err(AuditError::NoSuchBucket(*wanted));
        }
    }
    let mut bags: HashMap<BagId, Vec<Candidate>> = HashMap::new();
    let mut reports = Vec::new();
    for bucket in buckets
        .iter()
        .filter(|b| opts.buckets.is_empty() || opts.buckets.contains(&b.id))
    {
        let mut pool = Vec::new();
        for bag in &bucket.bags {
            if !bags.contains_key(bag) {
                let objects = chain.bag_objects(*bag).await?;
                bags.insert(*bag, objects.iter().filter_map(candidate).collect());
            }
            pool.extend_from_slice(&bags[bag]);
        }
        let endpoint = bucket
            .operator_metadata
            .as_ref()
            .and_then(|m| m.endpoint.clone())
            .filter(|e| !e.is_empty());
        let challenges = challenge::draw(&seed, bucket.id, &pool, opts.per_bucket);
        let outcomes = ask_all(http, endpoint.as_deref(), &challenges, opts).await;
        // The speed object: the largest drawn (Colossus buckets, which prove nothing, are
        // measured too).
        let largest = challenges
            .iter()
            .map(|c| c.object)
            .filter(|o| o.size > 0)
            .max_by_key(|o| (o.size, o.id));
        let mut report = summarize(bucket.id, endpoint.clone(), pool.len(), outcomes);
        // Completeness: `per_bag` objects of every bag, each bag its own draw.
        let mut sample = Vec::new();
        for bag in &bucket.bags {
            let name = bag.to_string();
            for c in challenge::draw_in_bag(&seed, bucket.id, &name, &bags[bag], opts.per_bag) {
                sample.push((name.clone(), c));
            }
        }
        let asked: Vec<Challenge> = sample.iter().map(|(_, c)| *c).collect();
        let outcomes = ask_all(http, endpoint.as_deref(), &asked, opts).await;
        report.completeness = completeness(bucket.bags.len(), &sample, outcomes);
        if let (Some(e), Some(o), true) = (&endpoint, largest, opts.speed_bytes > 0) {
            let s = service::speed(http, e, o, opts.speed_bytes, opts.speed_deadline).await;
            report.speed = Some(s);
        }
        reports.push(report);
    }
    if let Some(total) = opts.watch {
        let targets: Vec<(u64, Option<String>)> = reports
            .iter()
            .map(|r| (r.bucket, r.endpoint.clone()))
            .collect();
        let mut uptime = service::watch(http, &targets, total, opts.every, opts.deadline).await;
        for r in &mut reports {
            r.uptime = uptime.remove(&r.bucket);
        }
    }
    Ok(Report {
        seed: hex(&seed),
        block,
        block_hash: hex(&block_hash.0),
        deadline_ms: opts.deadline.as_millis() as u64,
        per_bag: opts.per_bag,
        watch_secs: opts.watch.map_or(0.0, |w| w.as_secs_f64()),
        buckets: reports,
    })
}

/// The completeness of a bucket of `bags` bags from the outcomes of `sample` (bag, challenge),
/// in order.
fn completeness(
    bags: usize,
    sample: &[(String, Challenge)],
    outcomes: Vec<(Challenge, Outcome, f64)>,
) -> service::Completeness {
    let mut sampled: Vec<&str> = sample.iter().map(|(b, _)| b.as_str()).collect();
    sampled.dedup();
    let mut failed: Vec<service::IncompleteBag> = Vec::new();
    for ((bag, _), (c, outcome, _)) in sample.iter().zip(outcomes) {
        let why = match outcome {
            Outcome::Proven => continue,
            Outcome::Failed(why) => why,
            Outcome::TimedOut => "no answer within the deadline".to_string(),
        };
        if failed.last().is_none_or(|f| f.bag != *bag) {
            failed.push(service::IncompleteBag {
                bag: bag.clone(),
                object: c.object.id,
                why,
            });
        }
    }
    let incomplete = failed.len();
    failed.truncate(service::INCOMPLETE_KEPT);
    service::Completeness {
        bags,
        sampled: sampled.len(),
        complete: sampled.len() - incomplete,
        incomplete: failed,
    }
}

/// An accepted object with a BLAKE3 content id (objects with other ids cannot be proven).
fn candidate(o: &crate::chain::ObjectInfo) -> Option<Candidate> {
    if !o.object.accepted {
        return None;
    }
    let text = std::str::from_utf8(&o.object.ipfs_content_id.0).ok()?;
    let id: ContentId = text.parse().ok()?;
    Some(Candidate {
        id: o.id,
        size: o.object.size,
        digest: *id.digest(),
    })
}

/// Asks `endpoint` for every challenge (`None`: the bucket has no endpoint, all fail); the
/// outcomes in the challenges' order, with each one's milliseconds.
async fn ask_all(
    http: &reqwest::Client,
    endpoint: Option<&str>,
    challenges: &[Challenge],
    opts: &AuditOptions,
) -> Vec<(Challenge, Outcome, f64)> {
    let Some(endpoint) = endpoint else {
        let none = || Outcome::Failed("the bucket has no endpoint".into());
        return challenges.iter().map(|c| (*c, none(), 0.0)).collect();
    };
    stream::iter(challenges.iter().copied())
        .map(|c| async move {
            let started = Instant::now();
            let outcome = match tokio::time::timeout(opts.deadline, ask(http, endpoint, c)).await {
                Ok(outcome) => outcome,
                Err(_) => Outcome::TimedOut,
            };
            (c, outcome, started.elapsed().as_secs_f64() * 1000.0)
        })
        .buffered(opts.concurrency.max(1))
        .collect()
        .await
}

/// Asks for one proof and checks it.
async fn ask(http: &reqwest::Client, endpoint: &str, c: Challenge) -> Outcome {
    let url = format!(
        "{}/api/v1/proofs/{}?chunk={}",
        endpoint.trim_end_matches('/'),
        c.object.id,
        c.chunk
    );
    let response = match http.get(&url).send().await {
        Ok(r) => r,
        Err(e) if e.is_connect() || e.is_timeout() => return Outcome::TimedOut,
        Err(e) => return Outcome::Failed(crate::node::peer_http::describe(&e)),
    };
    let status = response.status();
    if !status.is_success() {
        return Outcome::Failed(format!("answered {status}"));
    }
    // At most the proof's own length is read: a node cannot make the auditor hold more.
    let Ok(expected) = bao::Proof::wire_len(c.object.size, c.chunk) else {
        return Outcome::Failed("the chunk is past the object's end".into());
    };
    let body = match read_at_most(response, expected).await {
        Ok(b) => b,
        Err(why) => return Outcome::Failed(why),
    };
    match bao::verify_group(&c.object.digest, c.object.size, c.chunk, &body) {
        Ok(_) => Outcome::Proven,
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

async fn read_at_most(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::with_capacity(limit.min(64 * 1024));
    while let Some(piece) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + piece.len() > limit {
            return Err(format!("the answer is longer than a proof ({limit} bytes)"));
        }
        body.extend_from_slice(&piece);
    }
    Ok(body)
}

fn summarize(
    bucket: u64,
    endpoint: Option<String>,
    objects: usize,
    outcomes: Vec<(Challenge, Outcome, f64)>,
) -> BucketReport {
    let mut report = BucketReport {
        bucket,
        endpoint,
        objects,
        challenged: outcomes.len(),
        proven: 0,
        failed: 0,
        timed_out: 0,
        latency_ms: Latency::default(),
        failures: Vec::new(),
        completeness: service::Completeness::default(),
        speed: None,
        uptime: None,
    };
    let mut latencies = Vec::new();
    let mut sorted = outcomes;
    sorted.sort_by_key(|(c, _, _)| (c.object.id, c.chunk));
    for (c, outcome, ms) in sorted {
        let why = match outcome {
            Outcome::Proven => {
                report.proven += 1;
                latencies.push(ms);
                continue;
            }
            Outcome::Failed(why) => {
                report.failed += 1;
                why
            }
            Outcome::TimedOut => {
                report.timed_out += 1;
                "no answer within the deadline".to_string()
            }
        };
        if report.failures.len() < FAILURES_KEPT {
            report.failures.push(Failure {
                object: c.object.id,
                chunk: c.chunk,
                why,
            });
        }
    }
    latencies.sort_by(f64::total_cmp);
    if let Some(max) = latencies.last() {
        let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
        report.latency_ms = Latency {
            p50: at(0.5),
            p99: at(0.99),
            max: *max,
        };
    }
    report
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
