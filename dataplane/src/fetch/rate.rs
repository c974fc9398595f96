//! A shard's replication bandwidth cap: a token bucket of bytes per second, refilled
//! continuously, one second deep. Each shard gets an equal part of the node's cap, so no state
//! crosses executors.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// The cap of one shard (`None` rate: unlimited).
#[derive(Debug)]
pub struct RateLimit {
    bytes_per_sec: Option<u64>,
    tokens: Cell<f64>,
    at: Cell<Instant>,
}

impl RateLimit {
    /// A bucket of `bytes_per_sec` (0: unlimited).
    pub fn new(bytes_per_sec: u64) -> Self {
        Self {
            bytes_per_sec: (bytes_per_sec > 0).then_some(bytes_per_sec),
            tokens: Cell::new(bytes_per_sec as f64),
            at: Cell::new(Instant::now()),
        }
    }

    /// How long to wait before `n` more bytes may be taken (zero when unlimited); the bytes are
    /// taken now.
    pub fn take(&self, n: usize, now: Instant) -> Duration {
        let Some(rate) = self.bytes_per_sec else {
            return Duration::ZERO;
        };
        let rate = rate as f64;
        let elapsed = now.saturating_duration_since(self.at.get()).as_secs_f64();
        let tokens = (self.tokens.get() + elapsed * rate).min(rate) - n as f64;
        self.tokens.set(tokens);
        self.at.set(now);
        if tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-tokens / rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_to_its_rate() {
        let t0 = Instant::now();
        let r = RateLimit::new(1000);
        assert_eq!(r.take(1000, t0), Duration::ZERO, "one second of burst");
        assert_eq!(r.take(500, t0), Duration::from_millis(500));
        // Half a second later the debt is paid; another 500 waits another half second.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(r.take(500, t1), Duration::from_millis(500));
        assert_eq!(RateLimit::new(0).take(1 << 30, t0), Duration::ZERO);
    }
}
