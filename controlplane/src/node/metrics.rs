//! The Prometheus families of what the data plane reports (responses, latency, bytes,
//! uploads, removals, connections, a distributor's cache) and of the peers a node fetches from,
//! shared by both roles' operator APIs.

use std::sync::{Arc, Mutex};

use hecaton_shared::socket::{DataPlaneMetrics, PeerSummary, LATENCY_BUCKETS_US};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;

/// What the data plane and the peer ranking last reported.
#[derive(Debug, Default)]
pub struct Reported {
    /// The data plane's counters.
    pub dataplane: Mutex<Option<DataPlaneMetrics>>,
    /// The peers (storage nodes) fetched from.
    pub peers: Mutex<Vec<PeerSummary>>,
}

/// Exposes [`Reported`] as Prometheus families.
#[derive(Debug)]
pub struct ReportedCollector(pub Arc<Reported>);

impl Collector for ReportedCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let peers = self.0.peers.lock().expect("peers").clone();
        let per_peer: [PeerFamily; 2] = [
            (
                "hecaton_peer_failures",
                "Failed fetch attempts per peer (storage node fetched from)",
                |p| p.failures,
            ),
            ("hecaton_peer_fetched", "Objects fetched per peer", |p| {
                p.fetched
            }),
        ];
        for (name, help, value) in per_peer {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for p in &peers {
                let labels = [("peer", p.endpoint.as_str())];
                ConstCounter(value(p)).encode(family.encode_family(&labels)?)?;
            }
        }
        let Some(m) = self.0.dataplane.lock().expect("metrics").clone() else {
            return Ok(());
        };
        let mut family = encoder.encode_descriptor(
            "hecaton_dataplane_responses",
            "Data plane responses by route and status class",
            None,
            MetricType::Counter,
        )?;
        for r in &m.routes {
            for (class, n) in ["2xx", "3xx", "4xx", "5xx"].iter().zip(r.responses) {
                let labels = [("route", r.route.as_str()), ("class", *class)];
                ConstCounter(n).encode(family.encode_family(&labels)?)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "hecaton_dataplane_request_duration_seconds",
            "Data plane request latency by route (head received to response written)",
            None,
            MetricType::Histogram,
        )?;
        for r in &m.routes {
            let mut cumulative = 0;
            let mut buckets = Vec::with_capacity(r.latency.len());
            for (i, n) in r.latency.iter().enumerate() {
                cumulative += n;
                let le = LATENCY_BUCKETS_US
                    .get(i)
                    .map_or(f64::INFINITY, |us| *us as f64 / 1e6);
                buckets.push((le, cumulative));
            }
            let labels = [("route", r.route.as_str())];
            family.encode_family(&labels)?.encode_histogram::<()>(
                r.latency_sum_us as f64 / 1e6,
                cumulative,
                &buckets,
                None,
            )?;
        }
        for (name, help, value) in [
            (
                "hecaton_dataplane_received_bytes",
                "Request bytes received by the data plane",
                m.bytes_in,
            ),
            (
                "hecaton_dataplane_sent_bytes",
                "Response bytes sent by the data plane",
                m.bytes_out,
            ),
            (
                "hecaton_dataplane_fetched_bytes",
                "Bytes the data plane received from peers by replication",
                m.fetch_bytes,
            ),
            (
                "hecaton_dataplane_tls_handshake_failures",
                "TLS handshakes on the public listener that failed",
                m.tls_handshake_failures,
            ),
            (
                "hecaton_dataplane_uncached_body_bytes",
                "Response body bytes that were not in the page cache, read from the disk by io_uring",
                m.uncached_body_bytes,
            ),
            (
                "hecaton_scrub_checked_objects",
                "Objects the scrub re-read and checked against their content ids",
                m.scrub.checked,
            ),
            (
                "hecaton_scrub_checked_bytes",
                "Bytes the scrub re-read",
                m.scrub.bytes,
            ),
            (
                "hecaton_scrub_corrupt_objects",
                "Objects the scrub found not matching their content ids (set aside, fetched again)",
                m.scrub.corrupt,
            ),
            (
                "hecaton_scrub_repaired_objects",
                "Corrupt objects published again since",
                m.scrub.repaired,
            ),
            (
                "hecaton_scrub_outboards_written",
                "Outboards the scrub wrote for objects that had none",
                m.scrub.outboards_written,
            ),
            (
                "hecaton_scrub_passes",
                "Scrub passes over the whole store finished",
                m.scrub.passes,
            ),
        ] {
            let family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            ConstCounter(value).encode(family)?;
        }
        let mut family = encoder.encode_descriptor(
            "hecaton_dataplane_uploads",
            "Uploads by outcome",
            None,
            MetricType::Counter,
        )?;
        for (outcome, n) in &m.uploads {
            let labels = [("outcome", outcome.as_str())];
            ConstCounter(*n).encode(family.encode_family(&labels)?)?;
        }
        let mut family = encoder.encode_descriptor(
            "hecaton_dataplane_removals",
            "Objects removed from the store, by reason",
            None,
            MetricType::Counter,
        )?;
        for (reason, n) in &m.removals {
            let labels = [("reason", reason.as_str())];
            ConstCounter(*n).encode(family.encode_family(&labels)?)?;
        }
        let mut family = encoder.encode_descriptor(
            "hecaton_dataplane_panics",
            "Panics caught in the data plane, by unit of work (each closed its unit only)",
            None,
            MetricType::Counter,
        )?;
        for (unit, n) in &m.panics {
            let labels = [("unit", unit.as_str())];
            ConstCounter(*n).encode(family.encode_family(&labels)?)?;
        }
        let mut family = encoder.encode_descriptor(
            "hecaton_dataplane_connections",
            "Client connections open on the data plane",
            None,
            MetricType::Gauge,
        )?;
        family.encode_gauge(&(m.connections as i64))?;
        encode_cache(&mut encoder, &m.cache)
    }
}

/// A distributor's cache counters.
fn encode_cache(
    encoder: &mut DescriptorEncoder<'_>,
    c: &hecaton_shared::socket::CacheCounters,
) -> Result<(), std::fmt::Error> {
    let mut family = encoder.encode_descriptor(
        "hecaton_cache_requests",
        "Asset requests by how they were served (hit, miss, pending, proxied)",
        None,
        MetricType::Counter,
    )?;
    for (how, n) in [
        ("hit", c.hits),
        ("miss", c.misses),
        ("pending", c.pending),
        ("proxied", c.proxied),
    ] {
        ConstCounter(n).encode(family.encode_family(&[("served", how)])?)?;
    }
    let mut family = encoder.encode_descriptor(
        "hecaton_cache_served_bytes",
        "Asset body bytes by source (cache, fill in progress, storage node)",
        None,
        MetricType::Counter,
    )?;
    for (source, n) in [
        ("cache", c.bytes_hit),
        ("fill", c.bytes_pending),
        ("storage", c.bytes_proxied),
    ] {
        ConstCounter(n).encode(family.encode_family(&[("source", source)])?)?;
    }
    let mut family = encoder.encode_descriptor(
        "hecaton_cache_fills",
        "Origin fetches (cache fills) by outcome",
        None,
        MetricType::Counter,
    )?;
    for (outcome, n) in [
        ("started", c.fills),
        ("stored", c.fills_stored),
        ("failed", c.fills_failed),
    ] {
        ConstCounter(n).encode(family.encode_family(&[("outcome", outcome)])?)?;
    }
    let family = encoder.encode_descriptor(
        "hecaton_cache_fill_bytes",
        "Bytes fetched from storage nodes by cache fills",
        None,
        MetricType::Counter,
    )?;
    ConstCounter(c.fill_bytes).encode(family)
}

/// A per-peer counter family: name, help, value.
type PeerFamily = (&'static str, &'static str, fn(&PeerSummary) -> u64);

/// A counter whose value is known (a sum reported by the data plane).
#[derive(Debug)]
pub struct ConstCounter(pub u64);

impl EncodeMetric for ConstCounter {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::MetricEncoder<'_>,
    ) -> Result<(), std::fmt::Error> {
        encoder.encode_counter::<(), _, u64>(&self.0, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Counter
    }
}
