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
        };
        let chain = self.chain.client()?;
        let http = hecaton_controlplane::node::peer_http::tool_client();
        let report = audit::run(&chain, &http, &opts).await?;
        if self.chain.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print_table(&report);
        }
        let clean = report
            .buckets
            .iter()
            .all(|b| b.failed == 0 && b.timed_out == 0);
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
