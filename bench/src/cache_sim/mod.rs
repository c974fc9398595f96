//! `hecaton-bench cache-sim`: the distributor's cache policy (S3-FIFO, from the data plane)
//! against LRU and Argus's LRU-SP on the same Zipf-distributed trace, at several cache sizes;
//! prints object and byte hit ratios.
//!
//! The trace: `objects` objects with log-uniform sizes between `min_kib` and `max_mib` (a video
//! platform's mix of thumbnails and video files), popularity Zipf(`alpha`) over a random
//! permutation (popularity independent of size), `requests` requests at `rate` per second (the
//! clock LRU-SP's cost uses). Deterministic for a `seed`.

mod access_trace;
mod lru;
mod lru_sp;

use hecaton_dataplane::cache::{CachePolicy, S3Fifo, Split};
use serde::Serialize;

use self::lru::Lru;
use self::lru_sp::LruSp;

/// Arguments of `hecaton-bench cache-sim`.
#[derive(clap::Args, Debug)]
pub struct CacheSimArgs {
    /// Distinct objects.
    #[arg(long, default_value_t = 20_000)]
    objects: usize,
    /// Requests in the trace.
    #[arg(long, default_value_t = 2_000_000)]
    requests: usize,
    /// Zipf exponent of popularity.
    #[arg(long, default_value_t = 0.9)]
    alpha: f64,
    /// Smallest object, KiB.
    #[arg(long, default_value_t = 20)]
    min_kib: u64,
    /// Largest object, MiB.
    #[arg(long, default_value_t = 100)]
    max_mib: u64,
    /// Requests per second (the trace's clock).
    #[arg(long, default_value_t = 500)]
    rate: u64,
    /// Share of requests for objects asked for once and never again (new uploads nobody
    /// watches, crawlers): a CDN's one-hit wonders.
    #[arg(long, default_value_t = 0.0)]
    one_hit: f64,
    /// Cache sizes, percent of the corpus's bytes.
    #[arg(long, value_delimiter = ',', default_value = "1,5,10,25")]
    sizes: Vec<f64>,
    /// Seed of the trace.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    json: bool,
    /// Replay a distributor's access log (`--access-log` of its data plane) instead of a
    /// synthetic trace: size the cache on your own traffic.
    #[arg(long)]
    trace: Option<std::path::PathBuf>,
}

/// A cache policy under simulation.
pub trait Policy {
    /// Its name.
    fn name(&self) -> &'static str;
    /// A request at `now_ms`: whether it hit; on a miss the object is admitted if the policy
    /// takes it.
    fn request(&mut self, id: u64, size: u64, now_ms: u64) -> bool;
}

/// S3-FIFO as the distributor runs it: a miss is fetched and inserted.
struct S3FifoSim(S3Fifo, &'static str);

impl Policy for S3FifoSim {
    fn name(&self) -> &'static str {
        self.1
    }

    fn request(&mut self, id: u64, size: u64, _now_ms: u64) -> bool {
        if self.0.access(id) {
            return true;
        }
        let _ = self.0.insert(id, size);
        false
    }
}

/// The distributor's policy: S3-FIFO in two partitions by size.
struct Hecaton(CachePolicy);

impl Policy for Hecaton {
    fn name(&self) -> &'static str {
        "hecaton (S3-FIFO, ≤ 1 MiB in 20%)"
    }

    fn request(&mut self, id: u64, size: u64, _now_ms: u64) -> bool {
        if self.0.access(id) {
            return true;
        }
        let _ = self.0.insert(id, size);
        false
    }
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The trace: sizes by object, and the requested objects in order (one-hit wonders are the
/// objects past `objects`).
fn trace(a: &CacheSimArgs) -> (Vec<u64>, Vec<u32>) {
    let mut rng = Rng(a.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let (lo, hi) = ((a.min_kib * 1024) as f64, (a.max_mib << 20) as f64);
    let mut sizes: Vec<u64> = (0..a.objects)
        .map(|_| (lo * (hi / lo).powf(rng.unit())) as u64)
        .collect();
    // Rank r (0 = most popular) is object perm[r].
    let mut perm: Vec<u32> = (0..a.objects as u32).collect();
    for i in (1..perm.len()).rev() {
        perm.swap(i, (rng.next() % (i as u64 + 1)) as usize);
    }
    let weights: Vec<f64> = (1..=a.objects)
        .map(|r| 1.0 / (r as f64).powf(a.alpha))
        .collect();
    let total: f64 = weights.iter().sum();
    let mut cdf = Vec::with_capacity(a.objects);
    let mut acc = 0.0;
    for w in &weights {
        acc += w / total;
        cdf.push(acc);
    }
    let mut requests = Vec::with_capacity(a.requests);
    for _ in 0..a.requests {
        if rng.unit() < a.one_hit {
            requests.push(sizes.len() as u32);
            sizes.push((lo * (hi / lo).powf(rng.unit())) as u64);
            continue;
        }
        let u = rng.unit();
        let rank = cdf.partition_point(|c| *c < u).min(a.objects - 1);
        requests.push(perm[rank]);
    }
    (sizes, requests)
}

#[derive(Debug, Serialize)]
struct Row {
    policy: &'static str,
    cache_percent: f64,
    object_hit_ratio: f64,
    byte_hit_ratio: f64,
}

/// Runs the simulation and prints the results.
pub fn run(a: CacheSimArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        a.objects > 0 && a.requests > 0,
        "objects and requests must be above 0"
    );
    let (sizes, requests, corpus) = match &a.trace {
        Some(path) => {
            let t = access_trace::read(path)?;
            let corpus = t.sizes.iter().sum::<u64>();
            eprintln!(
                "trace {}: {} requests for {} objects ({:.2} GiB), {:.0} s of traffic; {} lines skipped",
                path.display(),
                t.requests.len(),
                t.sizes.len(),
                corpus as f64 / (1u64 << 30) as f64,
                t.requests.last().map_or(0, |r| r.1) as f64 / 1000.0,
                t.skipped
            );
            (t.sizes, t.requests, corpus)
        }
        None => {
            let (sizes, ids) = trace(&a);
            let rate = a.rate.max(1);
            let requests: Vec<(u32, u64)> = ids
                .into_iter()
                .enumerate()
                .map(|(i, id)| (id, i as u64 * 1000 / rate))
                .collect();
            // The cache is sized against the popular corpus (one-hit wonders come on top).
            let corpus: u64 = sizes[..a.objects].iter().sum();
            (sizes, requests, corpus)
        }
    };
    let mut rows = Vec::new();
    for pct in &a.sizes {
        let capacity = (corpus as f64 * pct / 100.0) as u64;
        let policies: Vec<Box<dyn Policy>> = vec![
            Box::new(Hecaton(CachePolicy::new(capacity, Split::default()))),
            Box::new(S3FifoSim(S3Fifo::new(capacity), "S3-FIFO, one partition")),
            Box::new(Lru::new(capacity)),
            Box::new(LruSp::new(capacity)),
        ];
        for mut p in policies {
            let (mut hits, mut hit_bytes, mut bytes) = (0u64, 0u64, 0u64);
            for (id, now_ms) in &requests {
                let size = sizes[*id as usize];
                bytes += size;
                if p.request(u64::from(*id), size, *now_ms) {
                    hits += 1;
                    hit_bytes += size;
                }
            }
            rows.push(Row {
                policy: p.name(),
                cache_percent: *pct,
                object_hit_ratio: hits as f64 / requests.len() as f64,
                byte_hit_ratio: hit_bytes as f64 / bytes as f64,
            });
        }
    }
    if a.json {
        for r in &rows {
            println!("{}", serde_json::to_string(r)?);
        }
        return Ok(());
    }
    if a.trace.is_some() {
        print_table(&rows);
        return Ok(());
    }
    println!(
        "trace: {} objects ({:.1} GiB, {} KiB to {} MiB, log-uniform), {} requests, Zipf α {}, \
         {:.0}% of requests one-hit wonders, seed {}",
        a.objects,
        corpus as f64 / (1u64 << 30) as f64,
        a.min_kib,
        a.max_mib,
        a.requests,
        a.alpha,
        a.one_hit * 100.0,
        a.seed
    );
    print_table(&rows);
    Ok(())
}

fn print_table(rows: &[Row]) {
    println!("| cache (% of corpus) | policy | object hit ratio | byte hit ratio |");
    println!("|---|---|---|---|");
    for r in rows {
        println!(
            "| {}% | {} | {:.3} | {:.3} |",
            r.cache_percent, r.policy, r.object_hit_ratio, r.byte_hit_ratio
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_policy_keeps_its_budget_and_counts_hits() {
        for mut p in [
            Box::new(Hecaton(CachePolicy::new(
                1000,
                Split {
                    small_max: 100,
                    small_percent: 20,
                },
            ))) as Box<dyn Policy>,
            Box::new(S3FifoSim(S3Fifo::new(1000), "S3-FIFO")),
            Box::new(Lru::new(1000)),
            Box::new(LruSp::new(1000)),
        ] {
            assert!(
                !p.request(1, 400, 0),
                "{}: a first request misses",
                p.name()
            );
            assert!(p.request(1, 400, 1), "{}: the second hits", p.name());
            assert!(
                !p.request(2, 2000, 2),
                "{}: larger than the cache",
                p.name()
            );
            assert!(!p.request(2, 2000, 3), "{}: never admitted", p.name());
        }
    }
}
