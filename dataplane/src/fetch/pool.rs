//! The connections a shard keeps open to the peers it fetches from. A response read to its
//! declared end leaves its connection here; the next fetch from the same peer (same scheme and
//! `Host`) takes it instead of connecting and, over TLS, shaking hands again. Bounded: at most
//! [`PoolLimits::idle_per_peer`] kept per peer and [`PoolLimits::peers`] peers, each kept at
//! most [`PoolLimits::keep_alive`] (below Node's 5 s default `keepAliveTimeout`, so a Colossus
//! peer does not close a connection just as it is reused; one that did is retried on a new
//! connection, see `client::get`).

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::tls::Stream;

/// How many connections are kept, and how long.
#[derive(Debug, Clone, Copy)]
pub struct PoolLimits {
    /// Idle connections kept per peer (per shard).
    pub idle_per_peer: usize,
    /// Peers with idle connections kept (per shard); the longest idle go first.
    pub peers: usize,
    /// How long an idle connection is kept.
    pub keep_alive: Duration,
}

impl Default for PoolLimits {
    fn default() -> Self {
        Self {
            // As many as replication runs against one peer at a time by default (`per_peer`).
            idle_per_peer: 4,
            peers: 256,
            keep_alive: Duration::from_secs(4),
        }
    }
}

/// A peer, as far as reusing a connection goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolKey {
    tls: bool,
    host: String,
}

impl PoolKey {
    /// The key of a peer: over TLS or not, and its `Host`.
    pub fn new(tls: bool, host: &str) -> Self {
        Self {
            tls,
            host: host.to_string(),
        }
    }
}

/// Idle connections by peer.
#[derive(Debug)]
pub struct Pool {
    limits: PoolLimits,
    idle: RefCell<HashMap<PoolKey, VecDeque<(Stream, Instant)>>>,
}

impl Pool {
    /// An empty pool.
    pub fn new(limits: PoolLimits) -> Self {
        Self {
            limits,
            idle: RefCell::new(HashMap::new()),
        }
    }

    /// The most recently kept connection to `key` still within the keep-alive time.
    pub fn take(&self, key: &PoolKey) -> Option<Stream> {
        let mut idle = self.idle.borrow_mut();
        let queue = idle.get_mut(key)?;
        let now = Instant::now();
        let found = loop {
            match queue.pop_back() {
                Some((s, at)) if now.duration_since(at) < self.limits.keep_alive => break Some(s),
                Some(_) => continue,
                None => break None,
            }
        };
        // Older ones are older still: dropped (closed) with the empty queue or kept for later.
        queue.retain(|(_, at)| now.duration_since(*at) < self.limits.keep_alive);
        if queue.is_empty() {
            idle.remove(key);
        }
        found
    }

    /// Keeps a connection whose last response was read whole.
    pub fn put(&self, key: PoolKey, stream: Stream) {
        if self.limits.idle_per_peer == 0 {
            return;
        }
        let mut idle = self.idle.borrow_mut();
        if !idle.contains_key(&key) && idle.len() >= self.limits.peers {
            let oldest = idle
                .iter()
                .min_by_key(|(_, q)| q.back().map(|(_, at)| *at))
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                idle.remove(&k);
            }
        }
        let queue = idle.entry(key).or_default();
        if queue.len() >= self.limits.idle_per_peer {
            queue.pop_front();
        }
        queue.push_back((stream, Instant::now()));
    }

    /// Idle connections kept now.
    pub fn len(&self) -> usize {
        self.idle.borrow().values().map(VecDeque::len).sum()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
