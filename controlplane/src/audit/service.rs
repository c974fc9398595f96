//! The storage lead's service report, beside the proofs (the chain enforces no capacity,
//! uptime, speed or latency): per bucket, **completeness** (a sample of every assigned bag's
//! objects proven, so a bucket that dropped whole bags shows even when the bucket-wide draw
//! missed them), **speed** as a viewer or a distributor would see it from where the auditor runs
//! (time to first byte and throughput of one object, read plainly as Colossus serves it too),
//! and **uptime** over a watch period (a probe every interval).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde::Serialize;

use super::challenge::Candidate;

/// Bags listed as incomplete in a report, at most.
pub const INCOMPLETE_KEPT: usize = 20;

/// How many of a bucket's bags hold the objects sampled from them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Completeness {
    /// Bags assigned to the bucket.
    pub bags: usize,
    /// Of them, those with objects to sample (accepted, with a BLAKE3 content id).
    pub sampled: usize,
    /// Sampled bags whose every sampled object was proven.
    pub complete: usize,
    /// The first bags found incomplete (at most [`INCOMPLETE_KEPT`]).
    pub incomplete: Vec<IncompleteBag>,
}

/// A bag with a sampled object the bucket did not prove.
#[derive(Debug, Clone, Serialize)]
pub struct IncompleteBag {
    /// The bag.
    pub bag: String,
    /// The object.
    pub object: u64,
    /// What happened.
    pub why: String,
}

/// One object read from the bucket's public API.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Speed {
    /// The object.
    pub object: u64,
    /// Bytes asked for (its first bytes, at most the report's `--speed-mib`).
    pub asked: u64,
    /// Bytes received.
    pub bytes: u64,
    /// From the request's start to the response head, milliseconds.
    pub ttfb_ms: f64,
    /// Body bytes over the time from the head to the last byte, MiB/s.
    pub mib_per_sec: f64,
    /// When the whole object was read: whether it hashes to its content id.
    pub verified: Option<bool>,
    /// Why the read failed, if it did.
    pub error: Option<String>,
}

/// Reads the first `max_bytes` of `object` (all of it if smaller) from `endpoint` within
/// `deadline`.
pub async fn speed(
    http: &reqwest::Client,
    endpoint: &str,
    object: Candidate,
    max_bytes: u64,
    deadline: Duration,
) -> Speed {
    let asked = object.size.min(max_bytes);
    let mut s = Speed {
        object: object.id,
        asked,
        ..Speed::default()
    };
    let whole = asked == object.size;
    let url = format!(
        "{}/api/v1/files/{}",
        endpoint.trim_end_matches('/'),
        object.id
    );
    let started = Instant::now();
    let read = async {
        let mut req = http.get(&url);
        if !whole {
            req = req.header("Range", format!("bytes=0-{}", asked - 1));
        }
        let mut response = req
            .send()
            .await
            .map_err(|e| crate::node::peer_http::describe(&e))?;
        let head = started.elapsed();
        s.ttfb_ms = head.as_secs_f64() * 1000.0;
        let status = response.status().as_u16();
        if status != if whole { 200 } else { 206 } {
            return Err(format!("answered {status}"));
        }
        let mut hasher = blake3::Hasher::new();
        while let Some(piece) = response.chunk().await.map_err(|e| e.to_string())? {
            s.bytes += piece.len() as u64;
            if s.bytes > asked {
                return Err(format!("the answer is longer than the {asked} bytes asked"));
            }
            hasher.update(&piece);
        }
        let body = started.elapsed().saturating_sub(head).as_secs_f64();
        s.mib_per_sec = s.bytes as f64 / (1 << 20) as f64 / body.max(1e-6);
        if s.bytes != asked {
            return Err(format!("{} of {asked} bytes arrived", s.bytes));
        }
        Ok(whole.then(|| hasher.finalize().as_bytes() == &object.digest))
    };
    match tokio::time::timeout(deadline, read).await {
        Ok(Ok(verified)) => s.verified = verified,
        Ok(Err(why)) => s.error = Some(why),
        Err(_) => s.error = Some(format!("not read within {deadline:?}")),
    }
    s
}

/// A bucket's availability over a watch.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Uptime {
    /// Probes sent.
    pub probes: u64,
    /// Probes answered 2xx within the deadline.
    pub up: u64,
    /// `up / probes`, percent.
    pub percent: f64,
    /// The longest run of failed probes, seconds (from the first failed probe to the next one
    /// that succeeded, or to the watch's end).
    pub longest_outage_secs: f64,
    /// The last failure, if any.
    pub last_error: Option<String>,
}

/// One probe: `GET {endpoint}/api/v1/state/data` (Colossus and Hecaton both serve it), 2xx
/// within `deadline`.
async fn probe(http: &reqwest::Client, endpoint: &str, deadline: Duration) -> Result<(), String> {
    let url = format!("{}/api/v1/state/data", endpoint.trim_end_matches('/'));
    let ask = async {
        let r = http
            .get(&url)
            .send()
            .await
            .map_err(|e| crate::node::peer_http::describe(&e))?;
        if r.status().is_success() {
            Ok(())
        } else {
            Err(format!("answered {}", r.status()))
        }
    };
    match tokio::time::timeout(deadline, ask).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {deadline:?}")),
    }
}

/// Probes every bucket's endpoint (`None`: it has none, every probe fails) each `every` for
/// `total`.
pub async fn watch(
    http: &reqwest::Client,
    buckets: &[(u64, Option<String>)],
    total: Duration,
    every: Duration,
    deadline: Duration,
) -> HashMap<u64, Uptime> {
    let started = Instant::now();
    let mut uptime: HashMap<u64, Uptime> = HashMap::new();
    let mut down_since: HashMap<u64, Instant> = HashMap::new();
    loop {
        let round = Instant::now();
        let results = join_all(buckets.iter().map(|(id, endpoint)| async move {
            let r = match endpoint {
                Some(e) => probe(http, e, deadline).await,
                None => Err("the bucket has no endpoint".to_string()),
            };
            (*id, r)
        }))
        .await;
        for (id, result) in results {
            let u = uptime.entry(id).or_default();
            u.probes += 1;
            match result {
                Ok(()) => {
                    u.up += 1;
                    if let Some(since) = down_since.remove(&id) {
                        let outage = round.duration_since(since).as_secs_f64();
                        u.longest_outage_secs = u.longest_outage_secs.max(outage);
                    }
                }
                Err(why) => {
                    down_since.entry(id).or_insert(round);
                    u.last_error = Some(why);
                }
            }
        }
        let next = round + every;
        if next.duration_since(started) >= total {
            break;
        }
        tokio::time::sleep_until(next.into()).await;
    }
    let end = Instant::now();
    for (id, since) in down_since {
        let u = uptime.entry(id).or_default();
        let outage = end.duration_since(since).as_secs_f64();
        u.longest_outage_secs = u.longest_outage_secs.max(outage);
    }
    for u in uptime.values_mut() {
        u.percent = 100.0 * u.up as f64 / u.probes.max(1) as f64;
    }
    uptime
}
