//! A request body of known length, read from what the connection already buffered and then from
//! the socket, never past its end (bytes after it belong to the next request). Each read moves
//! the connection's body deadline forward, so a client that stops sending is cut by the reaper
//! after the upload idle timeout.

use std::io;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_lite::AsyncReadExt;
use glommio::net::TcpStream;

use crate::serve::connection::Pending;
use crate::serve::reaper::Phase;

/// Largest piece handed out at once.
pub const PIECE: usize = 64 * 1024;

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The client closed the connection before the body's end.
    #[error("client disconnected after {received} of {expected} body bytes")]
    Disconnected {
        /// Bytes received.
        received: u64,
        /// Bytes announced.
        expected: u64,
    },
    /// No byte arrived within the upload idle timeout.
    #[error("no body bytes for {0:?}")]
    Stalled(Duration),
    /// The socket failed.
    #[error("socket: {0}")]
    Io(#[from] io::Error),
}

/// A body of `Content-Length` bytes.
#[derive(Debug)]
pub struct Body<'a, 'p> {
    stream: &'a mut TcpStream,
    pending: &'a mut Pending<'p>,
    length: u64,
    received: u64,
    idle: Duration,
}

impl<'a, 'p> Body<'a, 'p> {
    /// The body of `length` bytes that follows the head.
    pub fn new(
        stream: &'a mut TcpStream,
        pending: &'a mut Pending<'p>,
        length: u64,
        idle: Duration,
    ) -> Self {
        if pending.buf.len() < PIECE {
            pending.buf.resize(PIECE, 0);
        }
        Self {
            stream,
            pending,
            length,
            received: 0,
            idle,
        }
    }

    /// Bytes not received yet.
    pub fn remaining(&self) -> u64 {
        self.length - self.received
    }

    /// The next piece of the body; `None` at its end.
    pub async fn next(&mut self) -> Result<Option<Bytes>, BodyError> {
        if self.remaining() == 0 {
            return Ok(None);
        }
        if *self.pending.filled == 0 {
            self.pending
                .slot
                .set(Phase::Body, Instant::now() + self.idle);
            let n = self.stream.read(&mut self.pending.buf[..]).await;
            self.pending.slot.set(Phase::Busy, Instant::now());
            match n {
                Ok(0) | Err(_) if self.pending.slot.timed_out() => {
                    return Err(BodyError::Stalled(self.idle))
                }
                Ok(0) => {
                    return Err(BodyError::Disconnected {
                        received: self.received,
                        expected: self.length,
                    })
                }
                Ok(n) => *self.pending.filled = n,
                Err(e) => return Err(e.into()),
            }
        }
        let filled = *self.pending.filled;
        let take = (filled as u64).min(self.remaining()) as usize;
        let piece = Bytes::copy_from_slice(&self.pending.buf[..take]);
        self.pending.buf.copy_within(take..filled, 0);
        *self.pending.filled = filled - take;
        self.received += take as u64;
        Ok(Some(piece))
    }
}
