//! One client connection: read a request head (bounded in size and time), answer it, repeat
//! while the connection is kept alive. Pipelined requests are served in order from the bytes
//! already read.

use std::io;
use std::time::{Duration, Instant};

use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;
use tracing::debug;

use crate::http::request::{self, Request};
use crate::http::response::{error_body, ResponseHead};
use crate::serve::routes;
use crate::serve::sendfile::set_nonblocking;
use crate::serve::shard::Shard;

const INITIAL_BUFFER: usize = 8 * 1024;

enum Next {
    Request(Request),
    Close,
    Reject(u16, &'static str),
}

enum Event {
    Read(io::Result<usize>),
    TimedOut,
    Drain,
}

/// Serves `stream` until the client or the server closes it.
pub async fn serve(mut stream: TcpStream, shard: &Shard) {
    if let Err(e) = prepare(&stream, shard) {
        debug!("could not set up connection: {e}");
        return;
    }
    let mut buf = vec![0u8; INITIAL_BUFFER];
    let mut filled = 0usize;
    let mut head = ResponseHead::default();
    loop {
        let req = match next_request(&mut stream, &mut buf, &mut filled, shard).await {
            Next::Request(r) => r,
            Next::Close => return,
            Next::Reject(status, message) => {
                let body = error_body("request_exception", message);
                let _ =
                    routes::send_json(&mut stream, &mut head, status, &body, false, false, false)
                        .await;
                return;
            }
        };
        buf.copy_within(req.head_len..filled, 0);
        filled -= req.head_len;
        match routes::respond(&mut stream, &req, shard, &mut head).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                debug!("connection ended mid-response: {e}");
                return;
            }
        }
    }
}

fn prepare(stream: &TcpStream, shard: &Shard) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(shard.limits.send_timeout))?;
    set_nonblocking(std::os::fd::AsRawFd::as_raw_fd(stream))
}

async fn next_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    filled: &mut usize,
    shard: &Shard,
) -> Next {
    let limits = &shard.limits;
    let mut started: Option<Instant> = None;
    loop {
        if *filled > 0 {
            match request::parse(&buf[..*filled], &limits.head) {
                Ok(Some(r)) => return Next::Request(r),
                Ok(None) => {}
                Err(e) => return Next::Reject(e.status(), reject_message(e.status())),
            }
            started.get_or_insert_with(Instant::now);
        }
        if *filled == buf.len() {
            let cap = limits.head.max_head_bytes + 1;
            if buf.len() >= cap {
                return Next::Reject(431, reject_message(431));
            }
            buf.resize((buf.len() * 2).min(cap), 0);
        }
        let (wait, idle) = match started {
            None => (limits.idle_timeout, true),
            Some(t) => (limits.header_timeout.saturating_sub(t.elapsed()), false),
        };
        match read_or_wait(stream, &mut buf[*filled..], wait, idle, shard).await {
            Event::Read(Ok(0)) | Event::Read(Err(_)) | Event::Drain => return Next::Close,
            Event::Read(Ok(n)) => *filled += n,
            Event::TimedOut if idle => return Next::Close,
            Event::TimedOut => return Next::Reject(408, reject_message(408)),
        }
    }
}

fn reject_message(status: u16) -> &'static str {
    match status {
        408 => "request head not received in time",
        414 => "request target too long",
        431 => "request header fields too large",
        _ => "malformed request",
    }
}

/// Reads what is available, or reports a timeout, or (for an idle connection) the drain.
async fn read_or_wait(
    stream: &mut TcpStream,
    buf: &mut [u8],
    wait: Duration,
    idle: bool,
    shard: &Shard,
) -> Event {
    let read = async { Event::Read(stream.read(buf).await) };
    let timer = async {
        glommio::timer::sleep(wait).await;
        Event::TimedOut
    };
    if idle {
        let drain = async {
            shard.drained().await;
            Event::Drain
        };
        future::or(read, future::or(timer, drain)).await
    } else {
        future::or(read, timer).await
    }
}

/// Writes `bytes` through glommio (which waits for writability under the send timeout).
pub async fn write_all(stream: &mut TcpStream, bytes: &[u8]) -> io::Result<()> {
    stream.write_all(bytes).await
}
