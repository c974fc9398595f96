//! Connection deadlines without a timer per request.
//!
//! Arming a glommio timer for every keep-alive wait costs an io_uring timeout submission and
//! cancellation per request (visible in a profile at 4 KiB). Instead each connection publishes
//! its phase and deadline in a shard-local table, and one task per shard wakes a few times per
//! timeout period: a connection past its deadline, or idle while the shard drains, gets
//! `shutdown(SHUT_RD)`, which makes its parked read return end-of-file. The connection then
//! sees why (`timed_out`, or the drain) and answers 408 or closes. Deadlines are therefore
//! enforced within one tick (a quarter of the shortest timeout, at most 100 ms, which also
//! bounds how long a SIGTERM waits to be noticed).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// What a connection is doing, as far as deadlines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for the first byte of the next request (idle timeout; drain closes it).
    Idle,
    /// Receiving a request head (header timeout).
    Head,
    /// Answering; the socket's write timeout bounds a client that does not read.
    Busy,
    /// Receiving a request body: the deadline moves forward whenever bytes arrive (the upload
    /// idle timeout); a drain lets it finish.
    Body,
}

/// One connection's entry in the table.
#[derive(Debug)]
pub struct Slot {
    fd: RawFd,
    phase: Cell<Phase>,
    deadline: Cell<Instant>,
    timed_out: Cell<bool>,
}

impl Slot {
    /// Enters `phase`, to be over by `deadline` (ignored for `Busy`).
    pub fn set(&self, phase: Phase, deadline: Instant) {
        self.phase.set(phase);
        self.deadline.set(deadline);
    }

    /// Whether the reaper cut this connection's read for a missed deadline.
    pub fn timed_out(&self) -> bool {
        self.timed_out.get()
    }
}

/// The shard's table of live connections.
#[derive(Debug, Default)]
pub struct Reaper {
    slots: RefCell<HashMap<u64, Rc<Slot>>>,
    next: Cell<u64>,
}

/// Removes the connection's slot when the connection ends.
#[derive(Debug)]
pub struct Registration<'a> {
    reaper: &'a Reaper,
    key: u64,
    /// The connection's slot.
    pub slot: Rc<Slot>,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.reaper.slots.borrow_mut().remove(&self.key);
    }
}

impl Reaper {
    /// Registers a connection on socket `fd`.
    pub fn register(&self, fd: RawFd) -> Registration<'_> {
        let key = self.next.get();
        self.next.set(key + 1);
        let slot = Rc::new(Slot {
            fd,
            phase: Cell::new(Phase::Busy),
            deadline: Cell::new(Instant::now()),
            timed_out: Cell::new(false),
        });
        self.slots.borrow_mut().insert(key, slot.clone());
        Registration {
            reaper: self,
            key,
            slot,
        }
    }

    /// One pass: cuts the reads of connections past their deadline, and of idle ones when
    /// `draining`.
    pub fn sweep(&self, now: Instant, draining: bool) {
        for slot in self.slots.borrow().values() {
            let expired = slot.phase.get() != Phase::Busy && now >= slot.deadline.get();
            let drained = draining && slot.phase.get() == Phase::Idle;
            if expired || drained {
                slot.timed_out.set(expired);
                slot.phase.set(Phase::Busy);
                // SAFETY: the descriptor stays open while its slot is registered (the
                // connection owns both); shutdown has no memory-safety preconditions.
                unsafe { libc::shutdown(slot.fd, libc::SHUT_RD) };
            }
        }
    }
}

/// How often the reaper runs for the given timeouts.
pub fn tick(timeouts: &[Duration]) -> Duration {
    let shortest = timeouts
        .iter()
        .min()
        .copied()
        .unwrap_or(Duration::from_secs(1));
    (shortest / 4).clamp(Duration::from_millis(10), Duration::from_millis(100))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks() {
        assert_eq!(
            tick(&[Duration::from_secs(60), Duration::from_secs(10)]),
            Duration::from_millis(100)
        );
        assert_eq!(
            tick(&[Duration::from_millis(200)]),
            Duration::from_millis(50)
        );
        assert_eq!(tick(&[Duration::from_millis(1)]), Duration::from_millis(10));
    }

    #[test]
    fn sweep_cuts_expired_and_drained_connections_only() {
        let reaper = Reaper::default();
        // Unconnected sockets: shutdown fails harmlessly; we check the bookkeeping.
        let now = Instant::now();
        let idle_late = reaper.register(-1);
        idle_late
            .slot
            .set(Phase::Idle, now - Duration::from_millis(1));
        let head_on_time = reaper.register(-1);
        head_on_time
            .slot
            .set(Phase::Head, now + Duration::from_secs(5));
        let busy_late = reaper.register(-1);
        busy_late
            .slot
            .set(Phase::Busy, now - Duration::from_secs(5));
        let idle_on_time = reaper.register(-1);
        idle_on_time
            .slot
            .set(Phase::Idle, now + Duration::from_secs(5));

        reaper.sweep(now, false);
        assert!(idle_late.slot.timed_out());
        assert!(!head_on_time.slot.timed_out());
        assert!(
            !busy_late.slot.timed_out(),
            "busy connections are the write timeout's"
        );
        assert_eq!(idle_on_time.slot.phase.get(), Phase::Idle);

        reaper.sweep(now, true);
        assert_eq!(
            idle_on_time.slot.phase.get(),
            Phase::Busy,
            "drain cuts idle connections"
        );
        assert!(!idle_on_time.slot.timed_out(), "but not as a timeout");
        assert_eq!(
            head_on_time.slot.phase.get(),
            Phase::Head,
            "a request being received is let in"
        );

        drop(idle_late);
        assert_eq!(reaper.slots.borrow().len(), 3);
    }
}
