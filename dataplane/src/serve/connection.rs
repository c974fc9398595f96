//! One client connection: read a request head (bounded in size and time), answer it, repeat
//! while the connection is kept alive. Pipelined requests are served in order from the bytes
//! already read.

use std::cell::RefCell;
use std::io;
use std::time::Instant;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;
use tracing::debug;

use crate::http::request::{self, Method, Request};
use crate::http::response::{error_body, ResponseHead};
use crate::metrics::Route;
use crate::serve::access_log::{object_of, Entry};
use crate::serve::exchange::{Exchange, Pending};
use crate::serve::reaper::{Phase, Slot};
use crate::serve::sendfile::{set_nonblocking, set_notsent_lowat};
use crate::serve::shard::Shard;
use crate::serve::{argus, colossus, respond};
use crate::tls::Stream;
use hecaton_shared::socket::Role;

const INITIAL_BUFFER: usize = 8 * 1024;

enum Next {
    Request(Box<Request>),
    Close,
    Reject(u16, &'static str),
}

/// Serves `stream` until the client or the server closes it. `doing` is set to each request's
/// method and path, for the log line of a panic (see `panics.rs`).
pub async fn serve(tcp: TcpStream, shard: &Shard, doing: &RefCell<String>) {
    if let Err(e) = prepare(&tcp, shard) {
        debug!("could not set up connection: {e}");
        return;
    }
    let registration = shard.reaper.register(std::os::fd::AsRawFd::as_raw_fd(&tcp));
    let slot = &registration.slot;
    let mut stream = match &shard.tls {
        None => Stream::Plain(tcp),
        Some(tls) => {
            // The handshake is held to the request head's deadline: a client that opens
            // connections and never finishes one is cut like a slow head.
            slot.set(Phase::Head, Instant::now() + shard.limits.header_timeout);
            match tls.accept(tcp).await {
                Ok(s) => s,
                Err(e) => {
                    shard.views.metrics.tls_handshake_failed(shard.index);
                    debug!("TLS handshake failed: {e}");
                    return;
                }
            }
        }
    };
    let mut buf = vec![0u8; INITIAL_BUFFER];
    let mut filled = 0usize;
    let mut head = ResponseHead::default();
    loop {
        let req = match next_request(&mut stream, &mut buf, &mut filled, shard, slot).await {
            Next::Request(r) => r,
            Next::Close => return,
            Next::Reject(status, message) => {
                slot.set(Phase::Busy, Instant::now());
                let body = error_body("request_exception", message);
                let _ =
                    respond::send_json(&mut stream, &mut head, status, &body, false, false, false)
                        .await;
                return;
            }
        };
        slot.set(Phase::Busy, Instant::now());
        {
            let mut d = doing.borrow_mut();
            d.clear();
            d.push_str(req.method.as_str());
            d.push(' ');
            d.push_str(&req.path);
        }
        buf.copy_within(req.head_len..filled, 0);
        filled -= req.head_len;
        let started = Instant::now();
        let ex = Exchange {
            stream: &mut stream,
            req: &req,
            shard,
            head: &mut head,
            pending: Pending {
                buf: &mut buf,
                filled: &mut filled,
                slot,
            },
            keep: req.keep_alive && !shard.draining.get() && !req.has_body,
        };
        let mut answered = match shard.role {
            Role::Distributor => argus::respond(ex).await,
            Role::Storage => colossus::respond(ex).await,
        };
        if stream.is_tls() && answered.is_ok() {
            // Records a response left in the session go out before the next request is read.
            if let Err(e) = stream.flush().await {
                answered = Err(e);
            }
        }
        let body_in = req.content_length.unwrap_or(0);
        let mut out = head.sent_len();
        if req.method == Method::Head {
            out = head.head_len();
        }
        let took = started.elapsed();
        shard.views.metrics.request(
            shard.index,
            Route::of(&req),
            head.status(),
            took,
            (req.head_len as u64).saturating_add(body_in),
            out,
        );
        if let Some(log) = &shard.access_log {
            log.record(&Entry {
                client: stream.tcp().peer_addr().ok(),
                method: req.method.as_str(),
                path: &req.path,
                status: head.status(),
                bytes: out,
                took,
                object: object_of(&req.path),
                x_cache: head.header_value("x-cache"),
            });
        }
        // A body read or a long head grew the read buffer: give it back between requests
        // (4096 connections × a 64 KiB body buffer is 256 MiB a shard).
        if buf.len() > INITIAL_BUFFER && filled <= INITIAL_BUFFER {
            buf.truncate(INITIAL_BUFFER);
            buf.shrink_to_fit();
        }
        match answered {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                debug!("connection ended mid-response: {e}");
                return;
            }
        }
    }
}

/// Sets up an accepted socket: no Nagle delay, the send timeout, non-blocking (for
/// `sendfile`), and a bound on the bytes the kernel holds unsent. Without that bound the
/// kernel queues up to the whole send buffer (4 MiB) beyond the client's window, and whoever
/// opens the window later sends it: on loopback the client's own thread, which made a
/// one-thread load generator receive 64 MiB objects a quarter slower than from nginx
/// (BENCHMARKS.md, "The 64 MiB tail"). Bounded, the shard sends its bytes itself as the
/// window opens, and a slow client holds an eighth of a megabyte of unsent bytes, not four.
fn prepare(stream: &TcpStream, shard: &Shard) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(shard.limits.send_timeout))?;
    let fd = std::os::fd::AsRawFd::as_raw_fd(stream);
    if shard.limits.notsent_lowat > 0 {
        set_notsent_lowat(fd, shard.limits.notsent_lowat)?;
    }
    set_nonblocking(fd)
}

/// Reads until a whole request head is buffered. Deadlines and the drain are enforced by the
/// shard's reaper, which cuts the read; see `reaper.rs`.
async fn next_request(
    stream: &mut Stream,
    buf: &mut Vec<u8>,
    filled: &mut usize,
    shard: &Shard,
    slot: &Slot,
) -> Next {
    let limits = &shard.limits;
    let mut started: Option<Instant> = None;
    loop {
        if *filled > 0 {
            match request::parse(&buf[..*filled], &limits.head) {
                Ok(Some(r)) => return Next::Request(Box::new(r)),
                Ok(None) => {}
                Err(e) => return Next::Reject(e.status(), reject_message(e.status())),
            }
        }
        if *filled == buf.len() {
            let cap = limits.head.max_head_bytes + 1;
            if buf.len() >= cap {
                return Next::Reject(431, reject_message(431));
            }
            buf.resize((buf.len() * 2).min(cap), 0);
        }
        if *filled == 0 && started.is_none() {
            if shard.draining.get() {
                return Next::Close;
            }
            slot.set(Phase::Idle, Instant::now() + limits.idle_timeout);
        } else {
            let t = *started.get_or_insert_with(Instant::now);
            slot.set(Phase::Head, t + limits.header_timeout);
        }
        match stream.read(&mut buf[*filled..]).await {
            Ok(n) if n > 0 => *filled += n,
            _ if slot.timed_out() && *filled > 0 => return Next::Reject(408, reject_message(408)),
            _ => return Next::Close,
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
