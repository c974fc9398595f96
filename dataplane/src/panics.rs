//! Panic isolation: a panic inside one unit of work (a connection, a cache fill, a fetch
//! attempt) ends that unit alone. It is caught at the unit's task boundary, logged with what
//! the unit was doing, and counted (`hecaton_dataplane_panics_total{unit}`); the shard's
//! executor, its other connections and the process go on. The caller undoes what the unit held
//! (a fill is failed so its readers stop, an attempt is reported failed so its slot is freed).
//!
//! Unwinding drops the unit's locals, so its `RefCell` borrows, permits and temp-file leases are
//! released as on any early return. State shared between units is only ever changed in steps
//! that cannot be cut by a panic half-way (counters, whole-value swaps).

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_lite::FutureExt;
use tracing::error;

/// The kinds of work a panic can end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A client connection.
    Connection = 0,
    /// A distributor's cache fill.
    Fill = 1,
    /// A replication fetch attempt.
    Fetch = 2,
}

/// The units' labels, by `Unit as usize`.
pub const UNITS: [&str; 3] = ["connection", "fill", "fetch"];

/// Runs `work`; `None` if it panicked (logged with `doing()`, and `count`ed: the callers pass
/// their shard's `Metrics::panicked`).
pub async fn isolate<F: Future>(
    shard: usize,
    unit: Unit,
    count: impl FnOnce(Unit),
    doing: impl FnOnce() -> String,
    work: F,
) -> Option<F::Output> {
    match AssertUnwindSafe(work).catch_unwind().await {
        Ok(out) => Some(out),
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into());
            count(unit);
            error!(
                shard,
                unit = UNITS[unit as usize],
                doing = %doing(),
                "panic caught; this {} was closed, the shard goes on: {message}",
                UNITS[unit as usize]
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_ends_the_unit_and_is_counted() {
        let counted = std::cell::Cell::new(None);
        let out = futures_lite::future::block_on(isolate(
            0,
            Unit::Fill,
            |u| counted.set(Some(u)),
            || "filling 7".into(),
            async { panic!("boom") },
        ));
        assert_eq!(out, None::<()>);
        assert_eq!(counted.get(), Some(Unit::Fill));
        let ok = futures_lite::future::block_on(isolate(
            0,
            Unit::Connection,
            |_| panic!("not counted"),
            String::new,
            async { 5 },
        ));
        assert_eq!(ok, Some(5));
    }
}
