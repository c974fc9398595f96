//! Starting the real binary and speaking raw HTTP/1.1 to it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A marker for `Server::start`'s `extra`: keep the data plane's default peer address policy
/// (loopback refused).
pub const STRICT_PEERS: &str = "--strict-peers (test marker)";

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_hecaton-dataplane")
}

/// A running `hecaton-dataplane serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub stderr: mpsc::Receiver<String>,
}

impl Server {
    pub fn start(store: &Path, extra: &[&str]) -> Server {
        Self::try_start(store, "127.0.0.1:0", extra)
            .unwrap_or_else(|e| panic!("server did not start: {e}"))
    }

    /// A server whose `--role` is among `extra`.
    pub fn start_role(store: &Path, extra: &[&str]) -> Server {
        Self::spawn(store, "127.0.0.1:0", extra)
            .unwrap_or_else(|e| panic!("server did not start: {e}"))
    }

    pub fn try_start(store: &Path, listen: &str, extra: &[&str]) -> Result<Server, String> {
        let mut args = vec!["--role", "storage"];
        args.extend_from_slice(extra);
        Self::spawn(store, listen, &args)
    }

    /// Every test peer is on loopback, so private peers are allowed unless `extra` holds
    /// [`STRICT_PEERS`] (which is not passed on).
    fn spawn(store: &Path, listen: &str, extra: &[&str]) -> Result<Server, String> {
        let strict = extra.contains(&STRICT_PEERS);
        let extra: Vec<&str> = extra
            .iter()
            .copied()
            .filter(|a| *a != STRICT_PEERS)
            .collect();
        let extra = &extra[..];
        let mut child = Command::new(bin())
            .args(["serve", "--store"])
            .arg(store)
            .args(["--listen", listen, "--io-memory-mib", "1"])
            .args(if extra.contains(&"--shards") {
                &[][..]
            } else {
                &["--shards", "2"][..]
            })
            .args(extra)
            .args(if strict {
                &[][..]
            } else {
                &["--allow-private-peers"][..]
            })
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hecaton-dataplane");
        let (tx, stderr) = mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let read = out.read_line(&mut line);
        let Some(rest) = line.strip_prefix("listening on ").filter(|_| read.is_ok()) else {
            let _ = child.kill();
            let status = child.wait().map_err(|e| e.to_string())?;
            std::thread::sleep(Duration::from_millis(50));
            let log: Vec<String> = stderr.try_iter().collect();
            return Err(format!("exit {status}; stderr: {}", log.join("\n")));
        };
        let addr = rest.split_whitespace().next().unwrap().parse().unwrap();
        Ok(Server {
            child,
            addr,
            stderr,
        })
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s
    }

    /// One request on a fresh connection.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        self.request("GET", path, headers)
    }

    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
        let mut c = self.connect();
        send(&mut c, method, path, headers);
        read_response(&mut c, method == "HEAD")
    }

    /// stderr lines logged so far.
    pub fn log(&self) -> Vec<String> {
        self.stderr.try_iter().collect()
    }

    /// Waits up to five seconds for a log line matching `pred` (lines read are consumed).
    pub fn wait_log(&self, pred: impl Fn(&str) -> bool) -> bool {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.stderr.recv_timeout(left) {
                Ok(line) if pred(&line) => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
        false
    }

    pub fn terminate(&mut self) -> std::process::ExitStatus {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn send(c: &mut impl Write, method: &str, path: &str, headers: &[(&str, &str)]) {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: test\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    c.write_all(req.as_bytes()).unwrap();
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
}

/// Reads one response; `head_only` for HEAD (no body whatever Content-Length says).
pub fn read_response(c: &mut impl Read, head_only: bool) -> Response {
    try_read_response(c, head_only).expect("a response")
}

pub fn try_read_response(c: &mut impl Read, head_only: bool) -> Option<Response> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match c.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => return None,
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut headers);
    resp.parse(&buf).expect("valid response head");
    let status = resp.code.unwrap();
    let headers: Vec<(String, String)> = resp
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_string(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or(0);
    let mut body = vec![0u8; if head_only || status == 304 { 0 } else { len }];
    c.read_exact(&mut body).ok()?;
    Some(Response {
        status,
        headers,
        body,
    })
}

/// Whether the server closed the connection (EOF) within a few seconds.
pub fn closed_by_server(c: &mut TcpStream) -> bool {
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut b = [0u8; 1];
    matches!(c.read(&mut b), Ok(0) | Err(_))
}

pub fn import(store: &Path, paths: &[PathBuf], move_files: bool) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(["import", "--store"]).arg(store);
    if move_files {
        cmd.arg("--move");
    }
    cmd.args(paths).output().expect("run import")
}

/// Writes `files` (id, bytes) into a new directory and imports them into a new store.
pub fn store_with(files: &[(u64, Vec<u8>)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    for (id, bytes) in files {
        std::fs::write(src.join(id.to_string()), bytes).unwrap();
    }
    let store = dir.path().join("store");
    let out = import(&store, &[src], false);
    assert!(
        out.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    (dir, store)
}

/// Deterministic pseudo-random bytes.
pub fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}
