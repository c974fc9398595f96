//! The peers replication fetches from: each published endpoint of another holder, with its
//! resolved addresses, its measured latency and its record of fetches, ranked for each job.
//!
//! A probe (`GET {endpoint}api/v1/version`, what Argus times too) runs every probe interval;
//! unlike Argus, a failed probe marks the peer down at once instead of leaving it ranked by its
//! last good latency. Failed attempts add a penalty that halves every five minutes, so a peer
//! that served corrupt bytes or kept failing goes to the back and comes forward again as it
//! behaves.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hecaton_shared::socket::{AttemptFailure, PeerSummary, Source};
use tokio::sync::{mpsc, watch};

/// Latency assumed for a peer not probed yet, ms.
const UNPROBED_MS: f64 = 1000.0;
/// Score of a peer whose last probe failed: after every live one.
const DOWN_SCORE: f64 = 1e12;
/// The penalty halves in this time.
const PENALTY_HALF_LIFE: Duration = Duration::from_secs(300);
/// Probe samples averaged.
const SAMPLES: usize = 10;

#[derive(Debug, Default)]
struct Peer {
    addrs: Vec<SocketAddr>,
    samples: Vec<f64>,
    down: bool,
    fetched: u64,
    failures: u64,
    penalty: f64,
    penalty_at: Option<Instant>,
    last_error: Option<String>,
}

impl Peer {
    fn penalty(&self, now: Instant) -> f64 {
        let Some(at) = self.penalty_at else {
            return 0.0;
        };
        let halves =
            now.saturating_duration_since(at).as_secs_f64() / PENALTY_HALF_LIFE.as_secs_f64();
        self.penalty * 0.5f64.powf(halves)
    }

    fn latency(&self) -> Option<f64> {
        (!self.samples.is_empty())
            .then(|| self.samples.iter().sum::<f64>() / self.samples.len() as f64)
    }

    fn score(&self, now: Instant) -> f64 {
        if self.down {
            return DOWN_SCORE + self.penalty(now);
        }
        self.latency().unwrap_or(UNPROBED_MS) * (1.0 + self.penalty(now))
    }
}

/// What a probe found.
#[derive(Debug)]
pub struct Probe {
    /// The endpoint.
    pub endpoint: String,
    /// Its addresses, when the name resolved (a peer that is down keeps them: it may come back
    /// before the next probe, and is tried last meanwhile).
    pub addrs: Option<Vec<SocketAddr>>,
    /// The answer's latency, or why there was none.
    pub result: Result<Duration, String>,
}

/// Every peer replication knows.
#[derive(Debug, Default)]
pub struct Peers {
    map: HashMap<String, Peer>,
}

impl Peers {
    /// Keeps exactly these endpoints (new ones unprobed; records of the others dropped).
    pub fn track(&mut self, endpoints: &BTreeSet<String>) {
        self.map.retain(|e, _| endpoints.contains(e));
        for e in endpoints {
            self.map.entry(e.clone()).or_default();
        }
    }

    /// Takes a probe's result.
    pub fn probed(&mut self, probe: Probe) {
        let Some(p) = self.map.get_mut(&probe.endpoint) else {
            return;
        };
        if let Some(addrs) = probe.addrs {
            p.addrs = addrs;
        }
        match probe.result {
            Ok(took) => {
                if p.down {
                    tracing::info!(peer = %probe.endpoint, "peer answers again");
                }
                p.down = false;
                p.samples.push(took.as_secs_f64() * 1000.0);
                if p.samples.len() > SAMPLES {
                    p.samples.remove(0);
                }
            }
            Err(e) => {
                if !p.down {
                    // Once per fall, not per probe: a peer that stays down is not logged again.
                    tracing::warn!(peer = %probe.endpoint, "peer is down, ranked last: {e}");
                }
                p.down = true;
                p.samples.clear();
                p.last_error = Some(format!("probe: {e}"));
            }
        }
    }

    /// A fetch from `endpoint` succeeded.
    pub fn fetched(&mut self, endpoint: &str) {
        if let Some(p) = self.map.get_mut(endpoint) {
            p.fetched += 1;
        }
    }

    /// An attempt against `endpoint` failed.
    pub fn failed(&mut self, endpoint: &str, failure: AttemptFailure, reason: &str, now: Instant) {
        let Some(p) = self.map.get_mut(endpoint) else {
            return;
        };
        let weight = match failure {
            AttemptFailure::NotFound => 0.2,
            AttemptFailure::Unreachable | AttemptFailure::BadResponse => 1.0,
            AttemptFailure::Corrupt => 10.0,
        };
        p.penalty = p.penalty(now) + weight;
        p.penalty_at = Some(now);
        p.failures += 1;
        p.last_error = Some(reason.to_string());
    }

    /// `endpoints` as sources, best first; endpoints not resolved yet are left out.
    pub fn rank(&self, endpoints: &[String], now: Instant) -> Vec<Source> {
        let mut ranked: Vec<(f64, Source)> = endpoints
            .iter()
            .filter_map(|e| {
                let p = self.map.get(e)?;
                (!p.addrs.is_empty()).then(|| {
                    (
                        p.score(now),
                        Source {
                            endpoint: e.clone(),
                            addrs: p.addrs.clone(),
                        },
                    )
                })
            })
            .collect();
        ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
        ranked.into_iter().map(|(_, s)| s).collect()
    }

    /// For status.
    pub fn summary(&self) -> Vec<PeerSummary> {
        let mut v: Vec<PeerSummary> = self
            .map
            .iter()
            .map(|(e, p)| PeerSummary {
                endpoint: e.clone(),
                latency_ms: if p.down {
                    None
                } else {
                    p.latency().map(|l| l.round() as u64)
                },
                fetched: p.fetched,
                failures: p.failures,
                last_error: p.last_error.clone(),
            })
            .collect();
        v.sort_by(|a, b| a.endpoint.cmp(&b.endpoint));
        v
    }
}

/// Probes one endpoint: resolves its host (keeping the addresses the policy allows) and times
/// `GET api/v1/version`.
pub async fn probe(
    http: &reqwest::Client,
    endpoint: &str,
    timeout: Duration,
    allow_private: bool,
) -> Probe {
    let addrs = resolve(endpoint, timeout, allow_private).await;
    let result = match &addrs {
        Err(e) => Err(e.clone()),
        Ok(_) => {
            let version = format!("{}/api/v1/version", endpoint.trim_end_matches('/'));
            let started = Instant::now();
            match http
                .get(&version)
                .header("Connection", "close")
                .timeout(timeout)
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => Ok(started.elapsed()),
                Ok(r) => Err(format!("{version} answered {}", r.status())),
                Err(e) => Err(crate::node::peer_http::describe(&e)),
            }
        }
    };
    Probe {
        endpoint: endpoint.to_string(),
        addrs: addrs.ok(),
        result,
    }
}

/// The addresses of an endpoint's host.
async fn resolve(
    endpoint: &str,
    timeout: Duration,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, String> {
    let url = url::Url::parse(endpoint).map_err(|e| format!("not a URL: {e}"))?;
    let host = url.host_str().ok_or("no host")?.to_string();
    let port = url.port_or_known_default().ok_or("no port")?;
    let found = tokio::time::timeout(timeout, tokio::net::lookup_host((host.as_str(), port)))
        .await
        .map_err(|_| "name resolution timed out".to_string())?
        .map_err(|e| format!("cannot resolve {host}: {e}"))?;
    crate::node::peer_http::filter(&host, found.collect(), allow_private).map_err(|e| e.to_string())
}

/// Probes every endpoint of `endpoints` every `interval` (and new ones at once), sending what it
/// finds to `out`.
pub async fn run_prober(
    mut endpoints: watch::Receiver<BTreeSet<String>>,
    interval: Duration,
    timeout: Duration,
    allow_private: bool,
    out: mpsc::UnboundedSender<Probe>,
) {
    let http = crate::node::peer_http::client(allow_private);
    let mut known: BTreeSet<String> = BTreeSet::new();
    let mut next_round = tokio::time::Instant::now();
    loop {
        let now = tokio::time::Instant::now();
        let current = endpoints.borrow_and_update().clone();
        let due: Vec<String> = if now >= next_round {
            next_round = now + interval;
            current.iter().cloned().collect()
        } else {
            current.difference(&known).cloned().collect()
        };
        known = current;
        let probes = due.iter().map(|e| probe(&http, e, timeout, allow_private));
        for p in futures_util::future::join_all(probes).await {
            if out.send(p).is_err() {
                return;
            }
        }
        tokio::select! {
            changed = endpoints.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep_until(next_round) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(endpoint: &str, ms: u64) -> Probe {
        Probe {
            endpoint: endpoint.into(),
            addrs: Some(vec!["127.0.0.1:1".parse().unwrap()]),
            result: Ok(Duration::from_millis(ms)),
        }
    }

    fn order(p: &Peers, now: Instant) -> Vec<String> {
        let all = vec![
            "http://a/".to_string(),
            "http://b/".into(),
            "http://c/".into(),
        ];
        p.rank(&all, now).into_iter().map(|s| s.endpoint).collect()
    }

    #[test]
    fn ranked_by_latency_then_penalised_by_failures_and_down_peers_last() {
        let mut p = Peers::default();
        p.track(
            &["http://a/", "http://b/", "http://c/"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        );
        let now = Instant::now();
        assert!(order(&p, now).is_empty(), "nothing resolved yet");
        p.probed(ok("http://a/", 30));
        p.probed(ok("http://b/", 10));
        p.probed(ok("http://c/", 20));
        assert_eq!(order(&p, now), ["http://b/", "http://c/", "http://a/"]);
        // b served corrupt bytes: far back. c is down: after every live peer, old latency or not.
        p.failed("http://b/", AttemptFailure::Corrupt, "mismatch", now);
        p.probed(Probe {
            endpoint: "http://c/".into(),
            addrs: Some(vec!["127.0.0.1:1".parse().unwrap()]),
            result: Err("refused".into()),
        });
        assert_eq!(order(&p, now), ["http://a/", "http://b/", "http://c/"]);
        // The penalty fades: an hour later b is first again.
        assert_eq!(order(&p, now + Duration::from_secs(3600))[0], "http://b/");
        let s = p.summary();
        assert_eq!(s[1].failures, 1);
        assert_eq!(s[2].latency_ms, None, "a down peer shows no latency");
    }
}
