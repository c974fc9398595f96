//! The data plane's command line (`hecaton-dataplane`, and `hecaton dataplane`, which runs the
//! same code in its own process so that one program ships both planes).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use glommio::{LocalExecutorBuilder, Placement};
use hecaton_shared::socket::Role as SocketRole;

use crate::cache::{CacheConfig, Split};
use crate::fetch::pool::PoolLimits;
use crate::fetch::{FetchLimits, PeerLimits, ReplicationConfig};
use crate::serve::{self, Limits, ServeConfig, ServeError};
use crate::store::{expect, import, ImportOptions, Store, StoreError};

/// The data plane's commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve a store over HTTP (Colossus-compatible storage API).
    Serve(Box<ServeArgs>),
    /// Adopt existing files named by decimal object id (a Colossus uploads directory works as is).
    Import(ImportArgs),
}

/// What the node serves.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A storage node: the Colossus API.
    Storage,
    /// A distributor: the Argus API, a verified cache in front of storage nodes.
    Distributor,
}

/// `serve`
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// What this node serves.
    #[arg(long, value_enum, default_value = "storage")]
    role: Role,
    /// The store directory (created if missing).
    #[arg(long)]
    store: PathBuf,
    /// Address to listen on; port 0 picks a free port (printed on stdout).
    #[arg(long, default_value = "127.0.0.1:3333")]
    listen: SocketAddr,
    /// Executors (shards); default: one per online CPU.
    #[arg(long)]
    shards: Option<usize>,
    /// Pin each shard to a CPU of its own (at most one shard per online CPU). Off by default:
    /// the kernel places the shards, which serves better on a host whose CPUs the shards share
    /// with other work (the control plane, a chain node, the load of a benchmark); pin on a
    /// host whose CPUs are the data plane's alone.
    #[arg(long)]
    pin_shards: bool,
    /// io_uring memory per executor, in MiB (reduced to fit RLIMIT_MEMLOCK, with a warning).
    #[arg(long, default_value_t = hecaton_shared::defaults::IO_MEMORY_MIB)]
    io_memory_mib: usize,
    /// Seconds a keep-alive connection may wait for its next request.
    #[arg(long, default_value_t = Limits::default().idle_timeout.as_secs())]
    idle_timeout_secs: u64,
    /// Milliseconds a client may take to send a request head (408 after).
    #[arg(long, default_value_t = Limits::default().header_timeout.as_millis() as u64)]
    header_timeout_ms: u64,
    /// Seconds a response may wait for the client to read before the connection is dropped.
    #[arg(long, default_value_t = Limits::default().send_timeout.as_secs())]
    send_timeout_secs: u64,
    /// Response bytes the kernel may hold unsent per connection, in KiB (`TCP_NOTSENT_LOWAT`;
    /// 0: the kernel's default, up to the whole send buffer).
    #[arg(long, default_value_t = Limits::default().notsent_lowat / 1024, value_parser = clap::value_parser!(u32).range(0..=1024 * 1024))]
    tcp_notsent_lowat_kib: u32,
    /// Connections per shard; more are answered 503.
    #[arg(long, default_value_t = Limits::default().max_connections_per_shard)]
    max_connections_per_shard: usize,
    /// The local socket the control plane connects to; default: `control.sock` in the store.
    #[arg(long)]
    control_socket: Option<PathBuf>,
    /// Upload memory per shard, in MiB: uploads reserve their buffers from it before reading a
    /// body; more concurrent uploads are answered 503 with Retry-After.
    #[arg(long, default_value_t = hecaton_shared::defaults::UPLOAD_MEMORY_MIB, value_parser = clap::value_parser!(u16).range(2..))]
    upload_memory_mib: u16,
    /// Seconds a SIGTERM drain waits for in-flight responses.
    #[arg(long, default_value_t = Limits::default().drain_timeout.as_secs())]
    drain_timeout_secs: u64,
    /// Replication: fetch attempts running at once, node-wide.
    #[arg(long, default_value_t = hecaton_shared::defaults::FETCH_CONCURRENCY, value_parser = clap::value_parser!(u16).range(1..))]
    fetch_concurrency: u16,
    /// Replication: fetch attempts running at once against one peer.
    #[arg(long, default_value_t = hecaton_shared::defaults::FETCH_PER_PEER, value_parser = clap::value_parser!(u16).range(1..))]
    fetch_per_peer: u16,
    /// Replication: bandwidth cap in MiB/s, node-wide (0: none).
    #[arg(long, default_value_t = 0)]
    fetch_max_mib_per_sec: u64,
    /// Replication: rounds over every source before a job is reported failed.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    fetch_rounds: u32,
    /// Replication: milliseconds before the second round (doubling, at most 30 s).
    #[arg(long, default_value_t = 1000)]
    fetch_retry_ms: u64,
    /// Replication: seconds a peer may go without sending a byte.
    #[arg(long, default_value_t = 30)]
    fetch_idle_timeout_secs: u64,
    /// Peers (replication, fills, proxying): the slowest a body may arrive, in bytes per second
    /// after the grace; a slower peer is cut and the next one tried (0: no minimum).
    #[arg(long, default_value_t = PeerLimits::default().min_rate)]
    fetch_min_bytes_per_sec: u64,
    /// Peers: seconds a request is given before its minimum rate counts.
    #[arg(long, default_value_t = PeerLimits::default().grace.as_secs())]
    fetch_grace_secs: u64,
    /// Peers: the longest one request to a peer may take, in seconds.
    #[arg(long, default_value_t = PeerLimits::default().max_duration.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    fetch_max_secs: u64,
    /// Peers: allow loopback, private, link-local, CGNAT and multicast addresses (a test
    /// network or a LAN; off on a public node, where a chain-published endpoint could
    /// otherwise reach the operator's own network).
    #[arg(long)]
    allow_private_peers: bool,
    /// Peers: trust the CA certificates in this PEM file besides the bundled webpki roots
    /// (a private network's CA). Peers' `https://` endpoints are verified against both.
    #[arg(long)]
    tls_ca_file: Option<PathBuf>,
    /// Peers: idle connections kept open per peer and shard for the next fetch (0: none).
    #[arg(long, default_value_t = PoolLimits::default().idle_per_peer)]
    peer_idle_connections: usize,
    /// Peers: milliseconds an idle connection to a peer is kept.
    #[arg(long, default_value_t = PoolLimits::default().keep_alive.as_millis() as u64)]
    peer_keep_alive_ms: u64,
    /// Serve https on the public listener with this certificate chain (PEM, leaf first);
    /// needs --tls-key. Reloaded on SIGHUP and when the file changes.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Seconds between checks of --tls-cert and --tls-key for a renewal.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    tls_check_secs: u64,
    /// Shares of each shard's replication task queue (serving has 1000).
    #[arg(long, default_value_t = hecaton_dataplane_sched_default())]
    replication_shares: usize,
    /// Storage node: MiB per second the scrub reads to re-check stored objects against their
    /// content ids (0: no scrub).
    #[arg(long, default_value_t = crate::control::scrub::ScrubConfig::default().bytes_per_sec >> 20)]
    scrub_mib_per_sec: u64,
    /// Storage node: hours from the start of one scrub pass over the store to the next (0: one
    /// after the other).
    #[arg(long, default_value_t = crate::control::scrub::ScrubConfig::default().pass_every.as_secs() / 3600)]
    scrub_pass_hours: u64,
    /// Seconds between sweeps of temp leftovers and stale resumable uploads.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
    sweep_interval_secs: u64,
    /// Write an access log to this file: one line per request (time, client, method, path,
    /// status, bytes, seconds, object id, x-cache). Off when not given.
    #[arg(long)]
    access_log: Option<PathBuf>,
    /// Rotate the access log when it reaches this size, in MiB.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    access_log_max_mib: u64,
    /// Rotated access logs kept (FILE.1 ... FILE.N).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    access_log_keep: u32,
    /// Bytes of the store's filesystem never written into, in MiB: uploads that would not fit
    /// above it are answered 507, replication waits, a distributor proxies instead of caching.
    #[arg(long, default_value_t = crate::store::space::DEFAULT_RESERVE_MIB)]
    disk_reserve_mib: u64,
    /// The slowest an upload body may arrive, in bytes per second (after the grace); slower
    /// uploads are cut.
    #[arg(long, default_value_t = Limits::default().min_upload_rate)]
    min_upload_bytes_per_sec: u64,
    /// Seconds an upload body is given before its minimum rate counts.
    #[arg(long, default_value_t = Limits::default().min_upload_grace.as_secs())]
    min_upload_grace_secs: u64,
    /// Seconds a resumable (tus) upload lives after its creation.
    #[arg(long, default_value_t = Limits::default().tus_expiry.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    tus_expiry_secs: u64,
    /// Milliseconds an upload for an object not placed yet waits for the block that
    /// registers it (Atlas uploads the moment it sees that block finalized), or, before the
    /// control plane's first placement, for that placement; 0 refuses at once.
    #[arg(long, default_value_t = Limits::default().upload_placement_wait.as_millis() as u64)]
    upload_placement_wait_ms: u64,
    /// Distributor: the cache's byte budget on disk, in MiB.
    #[arg(long, default_value_t = 10_240)]
    cache_mib: u64,
    /// Distributor: objects larger than this (MiB) are proxied, never cached (0: no limit).
    #[arg(long, default_value_t = 0)]
    max_cached_item_mib: u64,
    /// Distributor: cache fills running at once, node-wide (misses beyond get 503).
    #[arg(long, default_value_t = Limits::default().max_fills as u64, value_parser = clap::value_parser!(u64).range(1..))]
    max_concurrent_fills: u64,
    /// Proofs (`/api/v1/proofs`) one shard answers at once; more get 503.
    #[arg(long, default_value_t = Limits::default().max_proofs_per_shard as u64, value_parser = clap::value_parser!(u64).range(1..))]
    max_proofs_per_shard: u64,
    /// Verified slices (`/api/v1/slices`) one shard sends at once; more get 503.
    #[arg(long, default_value_t = Limits::default().max_slices_per_shard as u64, value_parser = clap::value_parser!(u64).range(1..))]
    max_slices_per_shard: u64,
    /// Distributor: the memory tier, in MiB (0: none).
    #[arg(long, default_value_t = 256)]
    memory_tier_mib: u64,
    /// Distributor: the largest object the memory tier keeps, in KiB.
    #[arg(long, default_value_t = 2048)]
    memory_tier_max_object_kib: u64,
    /// Distributor: objects up to this size (KiB) share their own part of the budget.
    #[arg(long, default_value_t = 1024)]
    small_object_kib: u64,
    /// Distributor: that part, in percent of the budget.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u8).range(0..=100))]
    small_share_percent: u8,
}

const fn hecaton_dataplane_sched_default() -> usize {
    crate::sched::REPLICATION_SHARES
}

/// `import`
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The store directory (created if missing; must not be served while importing).
    #[arg(long)]
    store: PathBuf,
    /// Rename files into the store instead of copying (same filesystem only).
    #[arg(long = "move")]
    move_files: bool,
    /// Check every file against this list of what the chain declares (`<id> <size> <content
    /// id>` per line): files it does not list or that differ are left out and reported.
    #[arg(long)]
    expect: Option<PathBuf>,
    /// Write the files left out (and failed), one `<path>\t<why>` per line, to this file.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Files digested at once.
    #[arg(long, default_value_t = 16)]
    jobs: usize,
    /// Files published per group commit (one filesystem sync and one index append each).
    #[arg(long, default_value_t = 512)]
    batch: usize,
    /// Files or directories of files named by decimal object id.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

/// `path` made absolute against the working directory: glommio opens directories relative
/// to no directory at all, so a relative `--store` failed with "Bad file descriptor".
fn absolute(path: PathBuf) -> anyhow::Result<PathBuf> {
    std::path::absolute(&path).with_context(|| format!("resolving {}", path.display()))
}

/// Runs a command; errors are printed.
pub fn run(command: Command) -> ExitCode {
    let result = match command {
        Command::Serve(mut args) => absolute(args.store.clone()).and_then(|store| {
            args.store = store;
            args.control_socket = args.control_socket.take().map(absolute).transpose()?;
            args.access_log = args.access_log.take().map(absolute).transpose()?;
            args.tls_ca_file = args.tls_ca_file.take().map(absolute).transpose()?;
            args.tls_cert = args.tls_cert.take().map(absolute).transpose()?;
            args.tls_key = args.tls_key.take().map(absolute).transpose()?;
            run_serve(*args)
        }),
        Command::Import(mut args) => absolute(args.store.clone()).and_then(|store| {
            args.store = store;
            args.expect = args.expect.take().map(absolute).transpose()?;
            args.report = args.report.take().map(absolute).transpose()?;
            args.paths = args
                .paths
                .into_iter()
                .map(absolute)
                .collect::<Result<_, _>>()?;
            run_import(args)
        }),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit_code_of(&e))
        }
    }
}

/// The exit code that names `e`'s cause (`hecaton_shared::exit_code`), so that a supervisor
/// does not restart a data plane that would fail the same way again.
fn exit_code_of(e: &anyhow::Error) -> u8 {
    use hecaton_shared::exit_code;
    for cause in e.chain() {
        if let Some(ServeError::AddressInUse(_) | ServeError::Listen { .. }) =
            cause.downcast_ref::<ServeError>()
        {
            return exit_code::ADDRESS_IN_USE;
        }
        if let Some(ServeError::Host(_)) = cause.downcast_ref::<ServeError>() {
            return exit_code::HOST_UNFIT;
        }
        // A certificate or key that does not load will not load on a restart either.
        if let Some(ServeError::Tls(_)) = cause.downcast_ref::<ServeError>() {
            return exit_code::CONFIG;
        }
        if let Some(StoreError::Locked { .. }) = cause.downcast_ref::<StoreError>() {
            return exit_code::STORE_LOCKED;
        }
        if let Some(ServeError::Store(StoreError::Locked { .. })) =
            cause.downcast_ref::<ServeError>()
        {
            return exit_code::STORE_LOCKED;
        }
    }
    exit_code::FAILURE
}

fn run_serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let limits = Limits {
        idle_timeout: Duration::from_secs(args.idle_timeout_secs),
        header_timeout: Duration::from_millis(args.header_timeout_ms),
        send_timeout: Duration::from_secs(args.send_timeout_secs),
        notsent_lowat: args.tcp_notsent_lowat_kib * 1024,
        max_connections_per_shard: args.max_connections_per_shard.max(1),
        drain_timeout: Duration::from_secs(args.drain_timeout_secs),
        upload_memory_per_shard: usize::from(args.upload_memory_mib) << 20,
        min_upload_rate: args.min_upload_bytes_per_sec,
        min_upload_grace: Duration::from_secs(args.min_upload_grace_secs),
        tus_expiry: Duration::from_secs(args.tus_expiry_secs),
        upload_placement_wait: Duration::from_millis(args.upload_placement_wait_ms),
        cache_capacity: args.cache_mib << 20,
        max_cached_item: (args.max_cached_item_mib > 0).then_some(args.max_cached_item_mib << 20),
        max_fills: args.max_concurrent_fills as usize,
        max_proofs_per_shard: args.max_proofs_per_shard as usize,
        max_slices_per_shard: args.max_slices_per_shard as usize,
        ..Limits::default()
    };
    if args.role == Role::Distributor
        && limits
            .max_cached_item
            .is_some_and(|m| m > limits.cache_capacity)
    {
        anyhow::bail!("--max-cached-item-mib must not exceed --cache-mib");
    }
    let cache = (args.role == Role::Distributor).then(|| CacheConfig {
        capacity: args.cache_mib << 20,
        split: Split {
            small_max: args.small_object_kib << 10,
            small_percent: args.small_share_percent,
        },
        memory_budget: args.memory_tier_mib << 20,
        memory_max_object: args.memory_tier_max_object_kib << 10,
        state_path: args.store.join("cache-state.json"),
    });
    let config = ServeConfig {
        control_socket: args
            .control_socket
            .unwrap_or_else(|| args.store.join("control.sock")),
        role: match args.role {
            Role::Storage => SocketRole::Storage,
            Role::Distributor => SocketRole::Distributor,
        },
        store: args.store,
        listen: args.listen,
        shards: args.shards,
        pin_shards: args.pin_shards,
        io_memory_bytes: args.io_memory_mib.max(1) << 20,
        limits,
        disk_reserve: args.disk_reserve_mib << 20,
        replication: ReplicationConfig {
            limits: FetchLimits {
                total: args.fetch_concurrency.into(),
                per_peer: args.fetch_per_peer.into(),
                rounds: args.fetch_rounds,
                retry_base: Duration::from_millis(args.fetch_retry_ms),
                retry_max: Duration::from_secs(30),
            },
            bytes_per_sec: args.fetch_max_mib_per_sec << 20,
            shares: args.replication_shares,
            peer_limits: PeerLimits {
                idle: Duration::from_secs(args.fetch_idle_timeout_secs.max(1)),
                min_rate: args.fetch_min_bytes_per_sec,
                grace: Duration::from_secs(args.fetch_grace_secs),
                max_duration: Duration::from_secs(args.fetch_max_secs),
                allow_private: args.allow_private_peers,
                ..PeerLimits::default()
            },
        },
        sweep_interval: Duration::from_secs(args.sweep_interval_secs),
        scrub: crate::control::scrub::ScrubConfig {
            bytes_per_sec: args.scrub_mib_per_sec << 20,
            pass_every: Duration::from_secs(args.scrub_pass_hours * 3600),
        },
        tls: crate::tls::TlsSettings {
            ca_file: args.tls_ca_file,
            server: args
                .tls_cert
                .zip(args.tls_key)
                .map(|(cert, key)| crate::tls::ServerTlsFiles {
                    cert,
                    key,
                    check_every: Duration::from_secs(args.tls_check_secs),
                }),
        },
        peer_pool: PoolLimits {
            idle_per_peer: args.peer_idle_connections,
            keep_alive: Duration::from_millis(args.peer_keep_alive_ms),
            ..PoolLimits::default()
        },
        access_log: args
            .access_log
            .map(|path| crate::serve::access_log::AccessLogConfig {
                path,
                max_bytes: args.access_log_max_mib << 20,
                keep: args.access_log_keep,
                generation: Default::default(),
                rotating: Default::default(),
            }),
        cache,
    };
    serve::run(config, |started| {
        for check in &started.checks {
            eprintln!("{check}");
        }
        eprintln!(
            "store: {} objects; {} temp files swept; its files are checked in the background",
            started.recovery.objects, started.recovery.swept_temp,
        );
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "listening on {} ({}, {} shards); control socket {}",
            started.addr,
            if started.tls { "https" } else { "http" },
            started.shards,
            started.control_socket.display()
        );
        let _ = out.flush();
    })?;
    Ok(ExitCode::SUCCESS)
}

fn run_import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let executor = LocalExecutorBuilder::new(Placement::Unbound)
        .name("import")
        .io_memory(1 << 20)
        .make()
        .map_err(std::io::Error::from)
        .context("starting the import executor")?;
    let started = std::time::Instant::now();
    let summary = executor.run(async move {
        let expected = match &args.expect {
            Some(path) => Some(std::sync::Arc::new(expect::read(path).await?)),
            None => None,
        };
        let opts = ImportOptions {
            move_files: args.move_files,
            progress: true,
            jobs: args.jobs,
            batch: args.batch,
            expected,
        };
        let (mut store, _) = Store::open(&args.store).await?;
        let summary = import(&mut store, &args.paths, opts).await;
        store.close().await?;
        if let Some(report) = &args.report {
            let mut text = String::new();
            for (path, why) in summary.left_out.iter().chain(&summary.failed) {
                text.push_str(&format!("{}\t{why}\n", path.display()));
            }
            write_report(report, text.into_bytes())
                .await
                .map_err(std::io::Error::from)
                .with_context(|| format!("writing {}", report.display()))?;
        }
        Ok::<_, anyhow::Error>(summary)
    })?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "imported {} objects ({} bytes) in {secs:.2} s ({:.0} objects/s, {:.1} MB/s); {} already \
         stored; {} skipped; {} left out; {} failed",
        summary.imported,
        summary.imported_bytes,
        summary.imported as f64 / secs.max(1e-9),
        summary.imported_bytes as f64 / 1e6 / secs.max(1e-9),
        summary.already_stored,
        summary.skipped.len(),
        summary.left_out.len(),
        summary.failed.len()
    );
    for (path, why) in summary.skipped.iter().take(20) {
        println!("  skipped {}: {why}", path.display());
    }
    for (path, why) in &summary.left_out {
        println!("  LEFT OUT {}: {why}", path.display());
    }
    for (path, why) in &summary.failed {
        println!("  FAILED {}: {why}", path.display());
    }
    Ok(if !summary.failed.is_empty() {
        ExitCode::FAILURE
    } else if !summary.left_out.is_empty() {
        ExitCode::from(hecaton_shared::exit_code::MIGRATE_LEFT_OUT)
    } else {
        ExitCode::SUCCESS
    })
}

/// Writes the import report through glommio (the data plane does no `std::fs`), synced.
async fn write_report(
    path: &std::path::Path,
    bytes: Vec<u8>,
) -> Result<(), glommio::GlommioError<()>> {
    let file = glommio::io::BufferedFile::create(path).await?;
    file.write_at(bytes, 0).await?;
    file.fdatasync().await?;
    file.close().await
}
