//! A stand-in storage node that serves one object slowly, honouring `Range: bytes=N-` and
//! `bytes=A-B`, and that can be cut off mid-transfer: what a distant or dying peer looks like.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The peer; stops (and cuts every transfer) when dropped or [`SlowPeer::kill`]ed.
pub struct SlowPeer {
    pub addr: SocketAddr,
    dead: Arc<AtomicBool>,
}

impl SlowPeer {
    /// Serves `data` as object `id`, `chunk` bytes every `every`.
    pub fn start(id: u64, data: Vec<u8>, chunk: usize, every: Duration) -> SlowPeer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let dead = Arc::new(AtomicBool::new(false));
        let d = dead.clone();
        let data = Arc::new(data);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if d.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let (d, data) = (d.clone(), data.clone());
                std::thread::spawn(move || serve(conn, id, &data, chunk, every, &d));
            }
        });
        SlowPeer { addr, dead }
    }

    /// Cuts every transfer now and refuses new ones.
    pub fn kill(&self) {
        self.dead.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr);
    }
}

impl Drop for SlowPeer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn serve(
    mut conn: TcpStream,
    id: u64,
    data: &[u8],
    chunk: usize,
    every: Duration,
    dead: &AtomicBool,
) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() || !line.starts_with("GET ") {
        return;
    }
    let mut range: Option<(usize, usize)> = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("range: bytes=") {
            let (a, b) = v.trim().split_once('-').unwrap();
            let a: usize = a.parse().unwrap();
            let b: usize = if b.is_empty() {
                data.len() - 1
            } else {
                b.parse().unwrap()
            };
            range = Some((a, b.min(data.len() - 1)));
        }
    }
    if !line.contains(&format!("/api/v1/files/{id} ")) {
        let _ = conn.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        return;
    }
    let (start, end) = range.unwrap_or((0, data.len() - 1));
    let head = match range {
        Some(_) => format!(
            "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {start}-{end}/{}\r\nContent-Type: video/mp4\r\n\r\n",
            end - start + 1,
            data.len()
        ),
        None => format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: video/mp4\r\n\r\n", data.len()),
    };
    if conn.write_all(head.as_bytes()).is_err() {
        return;
    }
    for piece in data[start..=end].chunks(chunk) {
        if dead.load(Ordering::Relaxed) {
            let _ = conn.shutdown(std::net::Shutdown::Both);
            return;
        }
        if conn.write_all(piece).is_err() {
            return;
        }
        std::thread::sleep(every);
    }
}
