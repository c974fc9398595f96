//! `hecaton dev`: a whole network on loopback, no configuration: the embedded chain
//! bootstrapped as a dev network, storage nodes whose buckets store the bootstrapped bags, and
//! a distributor whose bucket distributes them (each node a control plane supervising its data
//! plane). Prints what runs where and commands to try; Ctrl-C stops everything.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use hecaton_emulator::embedded::bootstrap;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The dev distributor's operator secret: long enough for the operator API's minimum, and
/// named for what it is (a dev network on loopback only).
pub const DEV_SECRET: &str = "dev-secret-of-32-bytes-for-local";

/// Run a development network.
#[derive(Args, Debug)]
pub struct DevCmd {
    /// Keep the chain and the stores here between runs (default: a temporary directory, removed
    /// on exit).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Storage nodes to start (one bucket each).
    #[arg(long, default_value_t = 2)]
    storage_nodes: usize,
    /// The chain API's port.
    #[arg(long, default_value_t = 9955)]
    chain_port: u16,
    /// The first storage node's public port; the others follow.
    #[arg(long, default_value_t = 3333)]
    storage_port: u16,
    /// The first storage node's operator API port; the others follow.
    #[arg(long, default_value_t = 3433)]
    operator_port: u16,
    /// The distributor's public port (its endpoint on chain).
    #[arg(long, default_value_t = 3533)]
    distributor_port: u16,
    /// The distributor's operator API port.
    #[arg(long, default_value_t = 3535)]
    distributor_operator_port: u16,
    /// Milliseconds between blocks.
    #[arg(long, default_value_t = 1000)]
    block_time_ms: u64,
    /// Data plane shards per storage node.
    #[arg(long, default_value_t = 1)]
    shards: usize,
}

/// Children, stopped (SIGTERM, then SIGKILL) in reverse order when dropped.
struct Processes(Vec<(String, Child)>);

impl Drop for Processes {
    fn drop(&mut self) {
        for (_, child) in self.0.iter().rev() {
            // SAFETY: signalling our own child; kill has no memory-safety preconditions.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        for (name, child) in self.0.iter_mut().rev() {
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            if let Ok(None) = child.try_wait() {
                eprintln!("{name} did not stop in time; killing it");
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

impl DevCmd {
    /// Runs the network until Ctrl-C. Synchronous, on the main thread, which lives as long as
    /// the process: the children's parent-death signal is tied to the thread that started them.
    pub fn run(self) -> anyhow::Result<()> {
        if self.storage_nodes == 0 {
            bail!("--storage-nodes must be at least 1");
        }
        let stop = Arc::new(AtomicBool::new(false));
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::flag::register(sig, stop.clone()).context("installing signal handlers")?;
        }
        let me = std::env::current_exe().context("locating this program")?;
        let (dir, temporary) = match &self.data_dir {
            Some(d) => (d.clone(), false),
            None => {
                let d = std::env::temp_dir().join(format!("hecaton-dev-{}", std::process::id()));
                (d, true)
            }
        };
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let result = self.start(&me, &dir).map(|procs| wait(procs, &stop));
        if temporary {
            let _ = std::fs::remove_dir_all(&dir);
        }
        result
    }

    /// Starts the chain and the storage nodes and prints what runs where.
    fn start(&self, me: &Path, dir: &Path) -> anyhow::Result<Processes> {
        let mut procs = Processes(Vec::new());
        let chain_addr = SocketAddr::from(([127, 0, 0, 1], self.chain_port));
        let chain_url = format!("http://{chain_addr}");
        let public = |i: usize| SocketAddr::from(([127, 0, 0, 1], self.storage_port + i as u16));
        let distributor = SocketAddr::from(([127, 0, 0, 1], self.distributor_port));
        let distributor_operator =
            SocketAddr::from(([127, 0, 0, 1], self.distributor_operator_port));
        let operator = |i: usize| SocketAddr::from(([127, 0, 0, 1], self.operator_port + i as u16));

        let mut chain = Command::new(me);
        chain
            .arg("chain")
            .arg("--data-dir")
            .arg(dir.join("chain"))
            .args(["--listen", &chain_addr.to_string()])
            .args(["--block-time-ms", &self.block_time_ms.to_string()])
            .args(["--bootstrap", "dev", "--profile", "playground"])
            .args(["--distribution-endpoint", &format!("http://{distributor}/")]);
        for i in 0..self.storage_nodes {
            chain.args(["--storage-endpoint", &format!("http://{}/", public(i))]);
        }
        let child = spawn_until_line(&mut chain, "listening on", "hecaton chain")?;
        procs.0.push(("chain".into(), child));

        for i in 0..self.storage_nodes {
            let node_dir = dir.join(format!("storage-{i}"));
            std::fs::create_dir_all(&node_dir)?;
            let config = node_dir.join("config.toml");
            std::fs::write(
                &config,
                format!(
                    "# written by `hecaton dev`\nworker_id = {worker}\nbuckets = \"all\"\nchain = \"{chain_url}\"\n\
                     transactor = \"{transactor}\"\nstore_dir = \"{store}\"\npublic_listen = \"{public}\"\n\
                     operator_listen = \"{operator}\"\nshards = {shards}\n\n[dataplane]\nio_memory_mib = 2\nallow_private_peers = true\n\n\
                     [accept]\ninterval_ms = 500\n",
                    worker = i + 1,
                    transactor = bootstrap::storage_transactor(i),
                    store = node_dir.join("store").display(),
                    public = public(i),
                    operator = operator(i),
                    shards = self.shards,
                ),
            )?;
            let mut node = Command::new(me);
            node.arg("storage-node").arg("--config").arg(&config);
            let child = spawn_until_line(&mut node, "operator API on", "storage node")?;
            procs.0.push((format!("storage node {i}"), child));
        }
        let distributor_dir = dir.join("distributor-0");
        std::fs::create_dir_all(&distributor_dir)?;
        let config = distributor_dir.join("config.toml");
        std::fs::write(
            &config,
            format!(
                "# written by `hecaton dev`\nid = \"dev-distributor-0\"\nworker_id = 1\nbuckets = \"all\"\n\
                 chain = \"{chain_url}\"\nstore_dir = \"{store}\"\npublic_listen = \"{distributor}\"\n\
                 operator_listen = \"{distributor_operator}\"\noperator_secret = \"{DEV_SECRET}\"\nshards = {shards}\n\n\
                 [dataplane]\nio_memory_mib = 2\nallow_private_peers = true\n\n[cache]\nsize_mib = 1024\nmemory_tier_mib = 64\n\n\
                 [sources]\nprobe_interval_secs = 5\n",
                store = distributor_dir.join("cache").display(),
                shards = self.shards,
            ),
        )?;
        let mut node = Command::new(me);
        node.arg("distributor-node").arg("--config").arg(&config);
        let child = spawn_until_line(&mut node, "operator API on", "distributor")?;
        procs.0.push(("distributor".into(), child));
        for i in 0..self.storage_nodes {
            wait_for_port(public(i), Duration::from_secs(30))
                .with_context(|| format!("storage node {i} did not start serving"))?;
        }
        wait_for_port(distributor, Duration::from_secs(30))
            .context("the distributor did not start serving")?;

        let exe = me.display();
        println!("\nhecaton dev is running; data in {}", dir.display());
        println!(
            "  chain           {chain_url}  (hecaton chain, a block every {} ms)",
            self.block_time_ms
        );
        for i in 0..self.storage_nodes {
            println!(
                "  storage node {i}  http://{}/  operator API http://{}/status  (worker {}, bucket {i})",
                public(i),
                operator(i),
                i + 1
            );
        }
        println!(
            "  distributor     http://{distributor}/  operator API http://{distributor_operator}/status  (worker 1, bucket 0:0; operator secret {DEV_SECRET})"
        );
        println!("\nTry it (as the dev member //Charlie):");
        println!("  {exe} member create-channel --chain {chain_url}");
        println!("  {exe} member upload --chain {chain_url} --channel <CHANNEL> ./video.mp4");
        println!("or upload by hand once `member upload` registered an object (it prints the id):");
        println!(
            "  curl -F file=@video.mp4 'http://{}/api/v1/files?dataObjectId=<ID>&storageBucketId=0&bagId=dynamic:channel:<CHANNEL>'",
            public(0)
        );
        println!("then fetch it from the distributor (cached after the first request):");
        println!("  curl -i http://{distributor}/api/v1/assets/<ID>");
        println!("Ctrl-C stops everything.");

        Ok(procs)
    }
}

/// Waits for Ctrl-C (or a child's exit), then stops everything.
fn wait(mut procs: Processes, stop: &AtomicBool) {
    let why = loop {
        if stop.load(Ordering::Relaxed) {
            break None;
        }
        if let Some(why) = procs.0.iter_mut().find_map(|(name, child)| {
            let status = child.try_wait().ok()??;
            Some(format!("{name} exited ({status})"))
        }) {
            break Some(why);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    match why {
        None => println!("stopping..."),
        Some(why) => eprintln!("{why}; stopping the rest"),
    }
    drop(procs);
    println!("stopped");
}

/// Starts `command`, echoing its stdout, and returns once a line starting with `marker` appeared.
fn spawn_until_line(command: &mut Command, marker: &str, what: &str) -> anyhow::Result<Child> {
    if std::env::var_os("RUST_LOG").is_none() {
        // Keep the terminal readable; RUST_LOG=info shows every process's log.
        command.env("RUST_LOG", "warn");
    }
    // The network's processes go with `hecaton dev`, however it ends (SIGTERM when it dies).
    // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and touches no memory of ours; it
    // runs in the child between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(command, || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {what}"))?;
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    loop {
        match lines.next() {
            Some(Ok(line)) => {
                let found = line.starts_with(marker);
                if found {
                    std::thread::spawn(move || for _ in lines.by_ref() {});
                    return Ok(child);
                }
            }
            _ => {
                let status = child.wait()?;
                bail!("{what} exited before it was ready ({status})");
            }
        }
    }
}

fn wait_for_port(addr: SocketAddr, within: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if Instant::now() > deadline {
            bail!("nothing listens on {addr}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}
