//! A request body of known length, read from what the connection already buffered and then from
//! the socket, never past its end (bytes after it belong to the next request). Each read sets
//! the connection's body deadline, which the reaper enforces: the upload idle timeout after the
//! last byte, and no later than the moment the body falls below the minimum rate (bytes so far
//! over time since its start, after a grace). A client that stops sending, or trickles a byte
//! now and then, is cut.

use std::io;
use std::time::{Duration, Instant};

use crate::tls::Stream;
use bytes::Bytes;
use futures_lite::AsyncReadExt;

use crate::serve::exchange::Pending;
use crate::serve::limits::Limits;
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
    /// No byte arrived within the upload idle timeout, or the body fell below the minimum rate.
    #[error(
        "body too slow: {received} bytes in {elapsed:?} (idle limit {idle:?}, minimum {rate} B/s)"
    )]
    Stalled {
        /// Bytes received.
        received: u64,
        /// Since the body started.
        elapsed: Duration,
        /// The idle limit.
        idle: Duration,
        /// The minimum rate.
        rate: u64,
    },
    /// The socket failed.
    #[error("socket: {0}")]
    Io(#[from] io::Error),
}

/// A body of `Content-Length` bytes.
#[derive(Debug)]
pub struct Body<'a, 'p> {
    stream: &'a mut Stream,
    pending: &'a mut Pending<'p>,
    length: u64,
    received: u64,
    idle: Duration,
    rate: u64,
    grace: Duration,
    started: Instant,
}

impl<'a, 'p> Body<'a, 'p> {
    /// The body of `length` bytes that follows the head, held to `limits`' idle timeout and
    /// minimum rate.
    pub fn new(
        stream: &'a mut Stream,
        pending: &'a mut Pending<'p>,
        length: u64,
        limits: &Limits,
    ) -> Self {
        if pending.buf.len() < PIECE {
            pending.buf.resize(PIECE, 0);
        }
        Self {
            stream,
            pending,
            length,
            received: 0,
            idle: limits.upload_idle_timeout,
            rate: limits.min_upload_rate,
            grace: limits.min_upload_grace,
            started: Instant::now(),
        }
    }

    /// When the next byte must have arrived: the idle timeout from now, or earlier, the moment
    /// the bytes so far plus one stop meeting the minimum rate.
    fn deadline(&self, now: Instant) -> Instant {
        let idle = now + self.idle;
        if self.rate == 0 {
            return idle;
        }
        let due = Duration::from_secs_f64((self.received + 1) as f64 / self.rate as f64);
        idle.min(self.started + self.grace + due)
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
                .set(Phase::Body, self.deadline(Instant::now()));
            let n = self.stream.read(&mut self.pending.buf[..]).await;
            self.pending.slot.set(Phase::Busy, Instant::now());
            match n {
                Ok(0) | Err(_) if self.pending.slot.timed_out() => {
                    return Err(BodyError::Stalled {
                        received: self.received,
                        elapsed: self.started.elapsed(),
                        idle: self.idle,
                        rate: self.rate,
                    })
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
