//! Starting storage nodes (`hecaton storage-node`) and data planes for the end-to-end tests.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::pki::{shared_ca, Leaf};
use crate::support::{get, ChainProcess};

/// A port nothing listens on now (bound and released; tests accept the small race).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The dev network with one storage bucket per given public port, a block every 200 ms.
pub fn chain_for(dir: &Path, ports: &[u16]) -> ChainProcess {
    chain_with(dir, ports, &[1])
}

/// The dev network with a storage bucket per port of `storage` and a distribution bucket
/// (family 0, worker i + 1) per port of `distribution`.
pub fn chain_with(dir: &Path, storage: &[u16], distribution: &[u16]) -> ChainProcess {
    let urls = |ports: &[u16]| -> Vec<String> {
        ports
            .iter()
            .map(|p| format!("http://127.0.0.1:{p}/"))
            .collect()
    };
    chain_with_endpoints(dir, &urls(storage), &urls(distribution))
}

/// The dev network with a storage bucket per URL of `storage` and a distribution bucket
/// (family 0, worker i + 1) per URL of `distribution`.
pub fn chain_with_endpoints(
    dir: &Path,
    storage: &[String],
    distribution: &[String],
) -> ChainProcess {
    let mut args: Vec<String> = [
        "--block-time-ms",
        "200",
        "--profile",
        "playground",
        "--bootstrap",
        "dev",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for url in distribution {
        args.push("--distribution-endpoint".into());
        args.push(url.clone());
    }
    for url in storage {
        args.push("--storage-endpoint".into());
        args.push(url.clone());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ChainProcess::start(dir, &args)
}

/// A running `hecaton storage-node`, stopped when dropped.
pub struct StorageNode {
    pub child: Child,
    pub public: SocketAddr,
    /// `http` or `https`.
    pub scheme: &'static str,
    pub operator: String,
    pub store: PathBuf,
}

/// What differs between test nodes.
pub struct NodeSpec<'a> {
    pub index: usize,
    pub port: u16,
    pub attach: bool,
    pub accept_interval_ms: u64,
    pub dir: &'a Path,
    /// The `buckets` value of the configuration (`"all"` or a TOML list).
    pub buckets: &'a str,
    /// More TOML, appended (`[sync]`, `[cleanup]` tables).
    pub extra: &'a str,
    /// More lines of the `[dataplane]` table.
    pub dataplane: &'a str,
    /// Serve https with a certificate of this kind from the test network's CA (trusted by
    /// every node and by `support::client`).
    pub tls: Option<Leaf>,
}

impl<'a> NodeSpec<'a> {
    /// Node 0, supervising its data plane, serving every bucket its worker operates, accepting
    /// every 200 ms.
    pub fn new(dir: &'a Path, port: u16) -> Self {
        NodeSpec {
            index: 0,
            port,
            attach: false,
            accept_interval_ms: 200,
            dir,
            buckets: "\"all\"",
            extra: "",
            dataplane: "",
            tls: None,
        }
    }
}

impl NodeSpec<'_> {
    /// Writes the node's configuration; returns (its path, the store directory).
    pub fn write_config(&self, chain: &ChainProcess) -> (PathBuf, PathBuf) {
        let spec = self;
        let store = spec.dir.join(format!("store-{}", spec.index));
        let config = spec.dir.join(format!("node-{}.toml", spec.index));
        std::fs::write(
            &config,
            format!(
                "worker_id = {}\nbuckets = {}\nchain = \"{}\"\ntransactor = \"//StorageTransactor{}\"\nstore_dir = \"{}\"\n\
                 public_listen = \"127.0.0.1:{}\"\noperator_listen = \"127.0.0.1:0\"\nshards = 1\n\
                 [dataplane]\nmode = \"{}\"\nio_memory_mib = 1\nallow_private_peers = true\n{}{}[accept]\ninterval_ms = {}\n{}\n",
                spec.index + 1,
                spec.buckets,
                chain.url,
                spec.index,
                store.display(),
                spec.port,
                if spec.attach { "attach" } else { "supervise" },
                tls_lines(spec.dir, &format!("storage-{}", spec.index), spec.tls),
                spec.dataplane,
                spec.accept_interval_ms,
                spec.extra,
            ),
        )
        .unwrap();
        (config, store)
    }
}

/// `[dataplane]` lines serving https with a `kind` certificate written under `dir` as `stem`,
/// trusting the test network's CA; none without `kind`.
pub fn tls_lines(dir: &Path, stem: &str, kind: Option<Leaf>) -> String {
    let Some(kind) = kind else {
        return String::new();
    };
    let ca = shared_ca();
    let (cert, key) = ca.write_leaf(dir, stem, kind);
    let ca_file = ca.write(dir, "network-ca.pem");
    format!(
        "tls_cert = \"{}\"\ntls_key = \"{}\"\ntls_ca_file = \"{}\"\ntls_check_secs = 3600\n",
        cert.display(),
        key.display(),
        ca_file.display()
    )
}

impl StorageNode {
    pub fn start(chain: &ChainProcess, spec: NodeSpec<'_>) -> StorageNode {
        let (config, store) = spec.write_config(chain);
        let mut child = Command::new(env!("CARGO_BIN_EXE_hecaton"))
            .arg("storage-node")
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn storage-node");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let operator = loop {
            let line = lines.next().expect("a line").expect("stdout");
            if let Some(url) = line.strip_prefix("operator API on ") {
                break url.trim().to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        let node = StorageNode {
            child,
            public: SocketAddr::from(([127, 0, 0, 1], spec.port)),
            scheme: if spec.tls.is_some() { "https" } else { "http" },
            operator,
            store,
        };
        if !spec.attach {
            wait_for_port(node.public);
        }
        node
    }

    /// The operator API's status.
    pub async fn status(&self) -> Value {
        get(&format!("{}/status", self.operator)).await.1
    }

    /// A URL of the public API (`localhost` over https, which the certificates name).
    pub fn url(&self, path: &str) -> String {
        match self.scheme {
            "https" => format!("https://localhost:{}{path}", self.public.port()),
            _ => format!("http://{}{path}", self.public),
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGKILLs the data plane serving this node's store (its pid is in the store's LOCK).
    pub fn kill_dataplane(&self) {
        let lock = std::fs::read_to_string(self.store.join("LOCK")).expect("the store's LOCK");
        let pid: i32 = lock
            .trim()
            .strip_prefix("pid ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("LOCK holds {lock:?}"));
        // SAFETY: kill(2) on a pid read from our own test store; no memory is involved.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

impl Drop for StorageNode {
    fn drop(&mut self) {
        // SAFETY: signalling our own child; kill has no memory-safety preconditions.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
    }
}

/// A running `hecaton distributor-node`, stopped when dropped.
pub struct DistributorNode {
    pub child: Child,
    pub public: SocketAddr,
    pub tls: bool,
    pub operator: String,
}

impl DistributorNode {
    /// Distributor `index` (worker index + 1, bucket 0:index) on `port`, with `extra` TOML.
    pub fn start(chain: &ChainProcess, dir: &Path, index: usize, port: u16, extra: &str) -> Self {
        Self::start_with(chain, dir, index, port, extra, None)
    }

    /// As `start`, serving https with a `tls` certificate of the test network's CA.
    pub fn start_with(
        chain: &ChainProcess,
        dir: &Path,
        index: usize,
        port: u16,
        extra: &str,
        tls: Option<Leaf>,
    ) -> Self {
        let store = dir.join(format!("cache-{index}"));
        let config = dir.join(format!("distributor-{index}.toml"));
        std::fs::write(
            &config,
            format!(
                "id = \"distributor-{index}\"\nworker_id = {}\nchain = \"{}\"\nstore_dir = \"{}\"\n\
                 public_listen = \"127.0.0.1:{port}\"\noperator_listen = \"127.0.0.1:0\"\n\
                 operator_secret = \"test-secret-of-thirty-two-bytes!\"\nshards = 1\n{extra}\n\
                 [dataplane]\nio_memory_mib = 1\nallow_private_peers = true\naccess_log = \"{}\"\n{}\
                 [sources]\nprobe_interval_secs = 1\n",
                index + 1,
                chain.url,
                store.display(),
                dir.join(format!("access-{index}.log")).display(),
                tls_lines(dir, &format!("distributor-{index}"), tls),
            ),
        )
        .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_hecaton"))
            .arg("distributor-node")
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn distributor-node");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let operator = loop {
            let line = lines.next().expect("a line").expect("stdout");
            if let Some(url) = line.strip_prefix("operator API on ") {
                break url.trim().to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        let node = DistributorNode {
            child,
            public: SocketAddr::from(([127, 0, 0, 1], port)),
            tls: tls.is_some(),
            operator,
        };
        wait_for_port(node.public);
        node
    }

    pub fn url(&self, path: &str) -> String {
        if self.tls {
            return format!("https://localhost:{}{path}", self.public.port());
        }
        format!("http://{}{path}", self.public)
    }

    pub async fn status(&self) -> Value {
        get(&format!("{}/status", self.operator)).await.1
    }
}

impl Drop for DistributorNode {
    fn drop(&mut self) {
        // SAFETY: signalling our own child; kill has no memory-safety preconditions.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A data plane started on its own (`hecaton dataplane serve`), killed when dropped.
pub struct DataPlane(pub Child);

impl DataPlane {
    pub fn start(store: &Path, port: u16) -> DataPlane {
        let child = Command::new(env!("CARGO_BIN_EXE_hecaton"))
            .args(["dataplane", "serve", "--role", "storage", "--store"])
            .arg(store)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--shards", "1", "--io-memory-mib", "1"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the data plane");
        wait_for_port(SocketAddr::from(([127, 0, 0, 1], port)));
        DataPlane(child)
    }
}

impl Drop for DataPlane {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn wait_for_port(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Polls `f` every 100 ms until it returns `Some`, for at most `secs` seconds.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
