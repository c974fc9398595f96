//! Cache fills: a distributor's misses, fetched once per object however many clients ask, on
//! whichever shards they arrive.
//!
//! The first request for a missing object registers a [`Fill`] in the shared [`Fills`] registry
//! (a compare-and-swap on a persistent map: one winner) and its shard runs the transfer
//! (`task.rs`): from the best storage node of the object's bag, into `tmp/fill-<id>` through the
//! page cache, so that every other reader sees the bytes the moment they are written; on a cut,
//! the next source resumes with `Range`. Every request for the object meanwhile — the first
//! included — streams from that growing file (`serve/asset/from_fill.rs`), waking as bytes arrive; a range
//! that starts beyond what has arrived is fetched from the source for that client alone
//! (`serve/asset/proxy.rs`), not downloaded twice.
//!
//! From a Hecaton storage node the bytes come as a verified slice (`fetch/slice.rs`): each
//! 16 KiB group is checked against the content id before it is written, so every byte a reader
//! sees is proven, ranges included, and a source caught forging is blamed at that group and the
//! fill goes on from the next source where the proven bytes end.
//!
//! From a source without slices (Colossus) the bytes are plain, and become a cache entry only
//! once they hash to the content id. Until then the last byte of every response that ends at
//! the object's end is held back: a client can never receive a *complete* copy of bad bytes.
//! When verification fails, those responses are cut (the connection closes short of its
//! `Content-Length`, which every HTTP client reports as an error and no cache stores), the
//! source is blamed, and the fill starts over from another source for the clients that come
//! next. A range that ends before the object's end completes from unverified bytes; it is
//! marked `x-cache: pending` with a short `cache-control` (as Argus marks every pending
//! response), and is the one case where a bad source's bytes can reach a client as a complete
//! response.

pub mod task;
pub mod write_behind;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use arc_swap::{ArcSwap, ArcSwapOption};
use event_listener::Event;
use hecaton_shared::socket::Source;
use hecaton_shared::{BagId, DataObjectId};

/// The state of a fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum FillState {
    /// Bytes are arriving.
    Running = 0,
    /// Verified and published: the object is in the catalog.
    Verified = 1,
    /// Every source failed, or the bytes did not verify: readers stop.
    Failed = 2,
    /// Every byte arrived and hashes to the content id; being made durable and published.
    /// Readers may send the last byte.
    Checked = 3,
}

/// One object being fetched, shared by every shard's readers.
#[derive(Debug)]
pub struct Fill {
    /// The object.
    pub id: DataObjectId,
    /// Its bag.
    pub bag: BagId,
    /// Declared size.
    pub size: u64,
    /// The temp file the bytes go to.
    pub path: PathBuf,
    written: AtomicU64,
    /// Some bytes written came unproven (plain, from a peer without slices).
    unproven: AtomicBool,
    state: AtomicU8,
    generation: AtomicU32,
    /// The media type, once the first response head (or the first bytes) told it.
    pub media_type: OnceLock<String>,
    /// The source bytes come from now (ranges beyond the arrived bytes are proxied there).
    pub source: ArcSwapOption<Source>,
    /// When it started.
    pub started: Instant,
    event: Event,
}

impl Fill {
    /// A fill of object `id` into `path`.
    pub fn new(id: DataObjectId, bag: BagId, size: u64, path: PathBuf) -> Self {
        Self {
            id,
            bag,
            size,
            path,
            written: AtomicU64::new(0),
            unproven: AtomicBool::new(false),
            state: AtomicU8::new(FillState::Running as u8),
            generation: AtomicU32::new(0),
            media_type: OnceLock::new(),
            source: ArcSwapOption::empty(),
            started: Instant::now(),
            event: Event::new(),
        }
    }

    /// Bytes readable from the temp file.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Acquire)
    }

    /// Bytes that are not proven are about to be written (the owner calls it before
    /// [`Fill::advance`] makes them readable).
    pub fn unproven(&self) {
        self.unproven.store(true, Ordering::Release);
    }

    /// Whether every byte of [`Fill::written`] (read before this) was proven against the
    /// content id as it arrived (a verified slice): such bytes may go to a viewer whole.
    pub fn all_proven(&self) -> bool {
        !self.unproven.load(Ordering::Acquire)
    }

    /// The state now.
    pub fn state(&self) -> FillState {
        match self.state.load(Ordering::Acquire) {
            0 => FillState::Running,
            1 => FillState::Verified,
            3 => FillState::Checked,
            _ => FillState::Failed,
        }
    }

    /// The media type viewers are answered with, unless one was set already; wakes those
    /// waiting for it.
    pub fn typed(&self, media: &str) {
        if self.media_type.get().is_none() && self.media_type.set(media.to_string()).is_ok() {
            self.event.notify(usize::MAX);
        }
    }

    /// More bytes are readable (the owner calls it after each write completed).
    pub fn advance(&self, written: u64) {
        self.written.store(written, Ordering::Release);
        self.event.notify(usize::MAX);
    }

    /// The bytes start over after bad bytes: every reader of the earlier generation is cut.
    pub fn reset(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.written.store(0, Ordering::Release);
        self.unproven.store(false, Ordering::Release);
        self.event.notify(usize::MAX);
    }

    /// How many times the bytes started over.
    pub fn generation(&self) -> u32 {
        self.generation.load(Ordering::Acquire)
    }

    /// The fill ended.
    pub fn finish(&self, state: FillState) {
        self.state.store(state as u8, Ordering::Release);
        self.event.notify(usize::MAX);
    }

    /// Waits until the fill has ended, verified and published or failed; the state it ended in.
    pub async fn ended(&self) -> FillState {
        loop {
            let done = |f: &Fill| matches!(f.state(), FillState::Verified | FillState::Failed);
            if done(self) {
                return self.state();
            }
            let listener = self.event.listen();
            if done(self) {
                return self.state();
            }
            listener.await;
        }
    }

    /// Waits until more than `seen` bytes are readable, the media type is known, or the state
    /// changes from `Running`.
    pub async fn changed(&self, seen: u64, needs_type: bool) {
        loop {
            let ready = |f: &Fill| {
                f.written() > seen
                    || f.state() != FillState::Running
                    || (needs_type && f.media_type.get().is_some())
            };
            if ready(self) {
                return;
            }
            let listener = self.event.listen();
            if ready(self) {
                return;
            }
            listener.await;
        }
    }
}

/// The fills in progress, shared by every shard and the control executor.
#[derive(Debug, Default)]
pub struct Fills {
    map: ArcSwap<imbl::HashMap<DataObjectId, Arc<Fill>>>,
}

impl Fills {
    /// The fill of `id`, if one runs.
    pub fn get(&self, id: DataObjectId) -> Option<Arc<Fill>> {
        self.map.load().get(&id).cloned()
    }

    /// Registers `fill` unless one of its object runs already; returns the one that runs and
    /// whether it is `fill` (the caller then owns the transfer).
    pub fn join_or_start(&self, fill: Arc<Fill>) -> (Arc<Fill>, bool) {
        let id = fill.id;
        let prev = self.map.rcu(|m| {
            if m.contains_key(&id) {
                (**m).clone()
            } else {
                m.update(id, fill.clone())
            }
        });
        match prev.get(&id) {
            Some(running) => (running.clone(), false),
            None => (fill, true),
        }
    }

    /// Unregisters the fill of `id` (it ended).
    pub fn remove(&self, id: DataObjectId) {
        self.map.rcu(|m| m.without(&id));
    }

    /// Fills running.
    pub fn len(&self) -> usize {
        self.map.load().len()
    }

    /// Whether none runs.
    pub fn is_empty(&self) -> bool {
        self.map.load().is_empty()
    }

    /// Bytes the running fills will take.
    pub fn reserved_bytes(&self) -> u64 {
        self.map.load().values().map(|f| f.size).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_fill_per_object() {
        let fills = Fills::default();
        let bag: BagId = "static:council".parse().unwrap();
        let a = Arc::new(Fill::new(DataObjectId(1), bag, 10, "/t/a".into()));
        let b = Arc::new(Fill::new(DataObjectId(1), bag, 10, "/t/b".into()));
        let (first, owner) = fills.join_or_start(a.clone());
        assert!(owner && Arc::ptr_eq(&first, &a));
        let (second, owner) = fills.join_or_start(b);
        assert!(
            !owner && Arc::ptr_eq(&second, &a),
            "the second request joins the first fill"
        );
        assert_eq!((fills.len(), fills.reserved_bytes()), (1, 10));
        fills.remove(DataObjectId(1));
        assert!(fills.get(DataObjectId(1)).is_none());
    }

    #[test]
    fn readers_wake_on_progress_and_on_the_end() {
        let bag: BagId = "static:council".parse().unwrap();
        let fill = Arc::new(Fill::new(DataObjectId(1), bag, 10, "/t/a".into()));
        let f = fill.clone();
        let waiter = std::thread::spawn(move || {
            futures_lite::future::block_on(f.changed(0, false));
            f.written()
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        fill.advance(4);
        assert_eq!(waiter.join().unwrap(), 4);
        fill.finish(FillState::Failed);
        futures_lite::future::block_on(fill.changed(4, false));
        assert_eq!(fill.state(), FillState::Failed);
    }
}
