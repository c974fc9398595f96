//! What a load run measured, merged over threads, printed as text or JSON.

use hdrhistogram::Histogram;
use serde::Serialize;

/// Counters and latencies of one thread, or of all merged.
#[derive(Debug)]
pub struct Tally {
    /// Completed responses.
    pub responses: u64,
    /// Responses with a status outside 200..=299.
    pub non_2xx: u64,
    /// Connection errors (connect, read, write, malformed response).
    pub errors: u64,
    /// Bytes received, heads included.
    pub bytes: u64,
    /// Latency per response, microseconds.
    pub latency_us: Histogram<u64>,
    /// Responses each connection completed: a server that serves some connections less than
    /// others shows here (and in the latency tail) before it shows in the total.
    pub per_connection: Vec<u64>,
}

impl Tally {
    /// An empty tally (latencies up to 60 s at 3 significant digits).
    pub fn new() -> Self {
        Self {
            responses: 0,
            non_2xx: 0,
            errors: 0,
            bytes: 0,
            latency_us: Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds"),
            per_connection: Vec::new(),
        }
    }

    /// Adds another thread's tally.
    pub fn merge(&mut self, other: &Tally) {
        self.responses += other.responses;
        self.non_2xx += other.non_2xx;
        self.errors += other.errors;
        self.bytes += other.bytes;
        self.latency_us.add(&other.latency_us).expect("same bounds");
        self.per_connection.extend_from_slice(&other.per_connection);
    }
}

/// The printed result.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Measured seconds.
    pub duration_s: f64,
    /// Connections.
    pub connections: usize,
    /// Completed responses.
    pub requests: u64,
    /// Requests per second.
    pub rps: f64,
    /// Megabytes (10^6) per second received.
    pub mb_per_s: f64,
    /// Non-2xx responses.
    pub non_2xx: u64,
    /// Connection errors.
    pub errors: u64,
    /// Latency percentiles, milliseconds.
    pub latency_ms: Latency,
    /// Responses per connection: fewest, median, most.
    pub per_connection: [u64; 3],
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Maximum.
    pub max: f64,
}

impl Report {
    /// Builds the report of `tally` over `duration_s` seconds.
    pub fn new(tally: &Tally, duration_s: f64, connections: usize) -> Self {
        let q = |p: f64| tally.latency_us.value_at_quantile(p) as f64 / 1000.0;
        Self {
            duration_s,
            connections,
            requests: tally.responses,
            rps: tally.responses as f64 / duration_s,
            mb_per_s: tally.bytes as f64 / duration_s / 1e6,
            non_2xx: tally.non_2xx,
            errors: tally.errors,
            latency_ms: Latency {
                p50: q(0.5),
                p90: q(0.9),
                p99: q(0.99),
                p999: q(0.999),
                max: tally.latency_us.max() as f64 / 1000.0,
            },
            per_connection: spread(&tally.per_connection),
        }
    }

    /// Human-readable lines.
    pub fn text(&self) -> String {
        format!(
            "{} requests in {:.2}s over {} connections: {:.0} req/s, {:.1} MB/s\n\
             latency ms: p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}\n\
             non-2xx: {}  errors: {}\n\
             responses per connection: fewest {}  median {}  most {}",
            self.requests,
            self.duration_s,
            self.connections,
            self.rps,
            self.mb_per_s,
            self.latency_ms.p50,
            self.latency_ms.p90,
            self.latency_ms.p99,
            self.latency_ms.p999,
            self.latency_ms.max,
            self.non_2xx,
            self.errors,
            self.per_connection[0],
            self.per_connection[1],
            self.per_connection[2]
        )
    }
}

/// Fewest, median and most of `counts` (zeros when empty).
fn spread(counts: &[u64]) -> [u64; 3] {
    let mut sorted = counts.to_vec();
    sorted.sort_unstable();
    match sorted.len() {
        0 => [0; 3],
        n => [sorted[0], sorted[n / 2], sorted[n - 1]],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_report() {
        let mut a = Tally::new();
        a.responses = 10;
        a.bytes = 2_000_000;
        for v in 1..=10 {
            a.latency_us.record(v * 1000).unwrap();
        }
        let mut b = Tally::new();
        b.responses = 10;
        b.non_2xx = 1;
        b.latency_us.record(100_000).unwrap();
        a.per_connection = vec![4, 6];
        b.per_connection = vec![1, 9, 5];
        a.merge(&b);
        let r = Report::new(&a, 2.0, 4);
        assert_eq!(r.per_connection, [1, 5, 9]);
        assert_eq!(r.requests, 20);
        assert_eq!(r.rps, 10.0);
        assert_eq!(r.mb_per_s, 1.0);
        assert_eq!(r.non_2xx, 1);
        assert!((r.latency_ms.max - 100.0).abs() < 0.1);
        assert!(
            (r.latency_ms.p50 - 6.0).abs() < 0.01,
            "{}",
            r.latency_ms.p50
        );
    }
}
