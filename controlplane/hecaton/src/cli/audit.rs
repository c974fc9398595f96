//! `hecaton audit`: asks storage buckets to prove they hold what the chain says they store (see
//! `hecaton_controlplane::audit`), and prints what each one proved.

use std::time::Duration;

use clap::Args;
use hecaton_controlplane::audit::{self, AuditOptions, Report};

use super::ChainArgs;

/// Proofs of storage, per bucket.
#[derive(Args, Debug)]
pub struct AuditCmd {
    #[command(flatten)]
    chain: ChainArgs,
    /// A bucket to audit (repeat for several; all when none is given).
    #[arg(long = "bucket")]
    buckets: Vec<u64>,
    /// Challenges per bucket: each one object drawn at random from the bucket's bags and one
    /// 16 KiB chunk of it. 44 catch a bucket missing 10% of its objects with 99% confidence,
    /// 459 one missing 1% (docs/storage-node.md).
    #[arg(long, default_value_t = 44)]
    challenges: usize,
    /// Longest wait for one proof, in milliseconds, from the request's start: enough for a node
    /// that reads from its own disk across the internet, too short to fetch the object first.
    #[arg(long, default_value_t = 2000)]
    deadline_ms: u64,
    /// The draw's seed, 64 hex digits (a report prints its own: pass it to draw the same
    /// challenges again); by default derived from the hash of the finalized block the audit
    /// reads the chain at, which no node knows in advance.
    #[arg(long)]
    seed: Option<String>,
    /// Challenges in flight per bucket.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Objects drawn from every bag of a bucket and proven (completeness: a bucket that dropped
    /// whole bags fails here even when the bucket-wide draw missed them); 0: none.
    #[arg(long, default_value_t = 1)]
    per_bag: usize,
    /// MiB of one object (the largest drawn) read from each bucket's public API, for time to
    /// first byte and throughput from where the audit runs; 0: none.
    #[arg(long, default_value_t = 16)]
    speed_mib: u64,
    /// Longest the speed read may take, in seconds.
    #[arg(long, default_value_t = 60)]
    speed_timeout_secs: u64,
    /// After the challenges, probe every bucket (`GET /api/v1/state/data`) for this many
    /// seconds and report its uptime; 0: no watch.
    #[arg(long, default_value_t = 0)]
    watch_secs: u64,
    /// Between probes of a watch, in milliseconds.
    #[arg(long, default_value_t = 60_000, value_parser = clap::value_parser!(u64).range(100..))]
    every_ms: u64,
}

impl AuditCmd {
    /// Runs the audit; the exit code is 1 when any bucket failed a challenge.
    pub async fn run(self) -> anyhow::Result<()> {
        let seed = self.seed.as_deref().map(parse_seed).transpose()?;
        let opts = AuditOptions {
            buckets: self.buckets.clone(),
            per_bucket: self.challenges,
            deadline: Duration::from_millis(self.deadline_ms),
            seed,
            concurrency: self.concurrency,
            per_bag: self.per_bag,
            speed_bytes: self.speed_mib << 20,
            speed_deadline: Duration::from_secs(self.speed_timeout_secs),
            watch: (self.watch_secs > 0).then(|| Duration::from_secs(self.watch_secs)),
            every: Duration::from_millis(self.every_ms),
        };
        let chain = self.chain.client()?;
        let http = hecaton_controlplane::node::peer_http::tool_client();
        let report = audit::run(&chain, &http, &opts).await?;
        if self.chain.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print_table(&report);
        }
        let clean = report.buckets.iter().all(|b| b.clean());
        if !clean {
            std::process::exit(1);
        }
        Ok(())
    }
}

fn print_table(report: &Report) {
    println!(
        "audit at block {} ({}), seed {}, deadline {} ms",
        report.block, report.block_hash, report.seed, report.deadline_ms
    );
    println!(
        "{:>6}  {:>8}  {:>10}  {:>6}  {:>6}  {:>9}  {:>8}  {:>8}  endpoint",
        "bucket", "objects", "challenged", "proven", "failed", "timed out", "p50 ms", "p99 ms"
    );
    for b in &report.buckets {
        println!(
            "{:>6}  {:>8}  {:>10}  {:>6}  {:>6}  {:>9}  {:>8.1}  {:>8.1}  {}",
            b.bucket,
            b.objects,
            b.challenged,
            b.proven,
            b.failed,
            b.timed_out,
            b.latency_ms.p50,
            b.latency_ms.p99,
            b.endpoint.as_deref().unwrap_or("(none)")
        );
        for f in &b.failures {
            println!("        object {} chunk {}: {}", f.object, f.chunk, f.why);
        }
        print_service(b, report.per_bag);
    }
}

/// The service report's lines under a bucket's row.
fn print_service(b: &audit::BucketReport, per_bag: usize) {
    let c = &b.completeness;
    if per_bag > 0 {
        println!(
            "        bags: {} of {} sampled complete ({} objects each; {} bags without objects to sample)",
            c.complete,
            c.sampled,
            per_bag,
            c.bags - c.sampled
        );
        for i in &c.incomplete {
            println!("          bag {} object {}: {}", i.bag, i.object, i.why);
        }
    }
    if let Some(s) = &b.speed {
        match &s.error {
            None => println!(
                "        speed: object {} ({} bytes): first byte {:.1} ms, {:.1} MiB/s{}",
                s.object,
                s.bytes,
                s.ttfb_ms,
                s.mib_per_sec,
                match s.verified {
                    Some(true) => ", bytes match the content id",
                    Some(false) => ", BYTES DO NOT MATCH THE CONTENT ID",
                    None => "",
                }
            ),
            Some(e) => println!("        speed: object {}: {e}", s.object),
        }
    }
    if let Some(u) = &b.uptime {
        println!(
            "        uptime: {:.1}% ({} of {} probes), longest outage {:.0} s{}",
            u.percent,
            u.up,
            u.probes,
            u.longest_outage_secs,
            u.last_error
                .as_deref()
                .map(|e| format!(", last error: {e}"))
                .unwrap_or_default()
        );
    }
}

fn parse_seed(text: &str) -> anyhow::Result<[u8; 32]> {
    let text = text.trim_start_matches("0x");
    anyhow::ensure!(
        text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()),
        "--seed takes 64 hex digits"
    );
    let mut seed = [0u8; 32];
    for (i, byte) in seed.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)?;
    }
    Ok(seed)
}
