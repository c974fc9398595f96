//! Host checks and tuning for Hecaton operators.
//!
//! The data plane runs these before it starts its executors, and fails with a message that names
//! the fix; `hecaton tune check` prints the same report for an operator. Each check reads the
//! host (procfs, rlimits) and never changes it, except [`raise_nofile`], which only lifts the
//! soft file limit to the hard one, as most servers do.

mod check;
mod host;
mod io_memory;
mod io_uring;
mod limits;

pub use check::{Check, Status};
pub use host::{advisories, check_store, filesystem_bytes};
pub use io_memory::{plan_io_memory, IoMemoryPlan, RINGS_PER_EXECUTOR};
pub use io_uring::check_io_uring;
pub use limits::{has_cap_ipc_lock, memlock_limit, raise_nofile, Limit};

/// Everything `hecaton tune check` reports for a data plane with `shards` executors, each
/// registering `io_memory_bytes` with each of its rings, and `connections` connections in all.
pub fn host_report(shards: usize, io_memory_bytes: usize, connections: u64) -> Vec<Check> {
    let mut checks = vec![check_io_uring()];
    checks.push(match plan_io_memory(shards, io_memory_bytes) {
        Ok(plan) => plan.as_check(),
        Err(check) => check,
    });
    checks.push(limits::check_nofile(connections));
    checks
}
