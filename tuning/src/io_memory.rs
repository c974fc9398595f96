//! Sizing glommio's `io_memory`.
//!
//! Each glommio executor creates three io_uring rings (main, latency, poll) and registers its
//! `io_memory` buffer with each of them. The kernel charges every registration to the user's
//! locked memory, so `shards × 3 × io_memory` must fit under `RLIMIT_MEMLOCK` unless the process
//! has `CAP_IPC_LOCK`. When it does not fit, glommio only logs a warning and skips registration,
//! and below 512 KiB of locked memory an executor cannot start at all. We size it deliberately
//! instead and say what was registered.

use crate::check::Check;
use crate::limits::{has_cap_ipc_lock, memlock_limit};

/// io_uring rings each glommio executor registers its I/O memory with.
pub const RINGS_PER_EXECUTOR: usize = 3;

/// Below this locked-memory limit glommio cannot create an executor.
const EXECUTOR_FLOOR_BYTES: u64 = 512 * 1024;
/// Smallest I/O memory worth registering.
const MIN_IO_MEMORY: usize = 256 * 1024;
const GRANULE: usize = 64 * 1024;

/// How much I/O memory each executor gets, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoMemoryPlan {
    /// Bytes of I/O memory per executor (registered with each of its rings).
    pub per_executor: usize,
    /// Executors planned for.
    pub shards: usize,
    /// Whether registration is exempt from the limit (root or `CAP_IPC_LOCK`).
    pub exempt: bool,
    /// The locked-memory limit that applied, if any.
    pub memlock_soft: Option<u64>,
    /// Whether the request was reduced to fit the limit.
    pub reduced_from: Option<usize>,
}

impl IoMemoryPlan {
    /// Locked memory all registrations take together.
    pub fn total_registered(&self) -> usize {
        self.per_executor * RINGS_PER_EXECUTOR * self.shards
    }

    /// The plan as a report line.
    pub fn as_check(&self) -> Check {
        let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
        let found = format!(
            "io_memory {:.2} MiB per executor × {RINGS_PER_EXECUTOR} rings × {} executors = {:.2} MiB locked ({})",
            mib(self.per_executor),
            self.shards,
            mib(self.total_registered()),
            match (self.exempt, self.memlock_soft) {
                (true, _) => "exempt: CAP_IPC_LOCK".to_string(),
                (false, None) => "memlock unlimited".to_string(),
                (false, Some(l)) => format!("memlock limit {:.2} MiB", l as f64 / 1048576.0),
            }
        );
        match self.reduced_from {
            Some(asked) => Check::warn(
                "memlock",
                format!("{found}; reduced from {:.2} MiB to fit", mib(asked)),
                format!(
                    "raise the limit to {} KiB (`ulimit -l`, or LimitMEMLOCK= in the systemd unit) or grant CAP_IPC_LOCK",
                    (asked * RINGS_PER_EXECUTOR * self.shards).div_ceil(1024)
                ),
            ),
            None => Check::ok("memlock", found),
        }
    }
}

/// Plans `io_memory` for `shards` executors asking for `requested` bytes each. Fails (with the
/// fix) when executors could not start at all.
pub fn plan_io_memory(shards: usize, requested: usize) -> Result<IoMemoryPlan, Check> {
    plan(shards, requested, has_cap_ipc_lock(), memlock_limit().soft)
}

fn plan(
    shards: usize,
    requested: usize,
    exempt: bool,
    memlock_soft: Option<u64>,
) -> Result<IoMemoryPlan, Check> {
    let shards = shards.max(1);
    let base = IoMemoryPlan {
        per_executor: requested,
        shards,
        exempt,
        memlock_soft,
        reduced_from: None,
    };
    let limit = match (exempt, memlock_soft) {
        (true, _) | (false, None) => return Ok(base),
        (false, Some(limit)) => limit,
    };
    if limit < EXECUTOR_FLOOR_BYTES {
        return Err(Check::fail(
            "memlock",
            format!("locked-memory limit {} KiB is below the 512 KiB a glommio executor needs", limit / 1024),
            "raise it: `ulimit -l 65536`, LimitMEMLOCK=64M in the systemd unit, or run with CAP_IPC_LOCK".into(),
        ));
    }
    let fits = (limit as usize) / (RINGS_PER_EXECUTOR * shards) / GRANULE * GRANULE;
    if fits >= requested {
        return Ok(base);
    }
    if fits < MIN_IO_MEMORY {
        return Err(Check::fail(
            "memlock",
            format!(
                "locked-memory limit {} KiB leaves under {} KiB of io_uring memory per executor for {shards} executors",
                limit / 1024,
                MIN_IO_MEMORY / 1024
            ),
            format!(
                "raise it to at least {} KiB (`ulimit -l`), run fewer shards, or grant CAP_IPC_LOCK",
                (MIN_IO_MEMORY * RINGS_PER_EXECUTOR * shards) / 1024
            ),
        ));
    }
    Ok(IoMemoryPlan {
        per_executor: fits,
        reduced_from: Some(requested),
        ..base
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;

    const MIB: usize = 1024 * 1024;

    #[test]
    fn exempt_or_unlimited_keeps_the_request() {
        assert_eq!(
            plan(2, 10 * MIB, true, Some(8 * MIB as u64))
                .unwrap()
                .per_executor,
            10 * MIB
        );
        assert_eq!(
            plan(2, 10 * MIB, false, None).unwrap().per_executor,
            10 * MIB
        );
    }

    #[test]
    fn common_8_mib_limit_is_shared_by_all_rings() {
        let p = plan(2, 10 * MIB, false, Some(8 * MIB as u64)).unwrap();
        assert!(p.total_registered() <= 8 * MIB, "{p:?}");
        assert_eq!(p.per_executor % GRANULE, 0);
        assert_eq!(p.reduced_from, Some(10 * MIB));
        assert_eq!(p.as_check().status, Status::Warn);
    }

    #[test]
    fn below_the_executor_floor_fails_with_a_fix() {
        let err = plan(2, 10 * MIB, false, Some(256 * 1024)).unwrap_err();
        assert_eq!(err.status, Status::Fail);
        assert!(err.fix.unwrap().contains("ulimit -l"));
    }

    #[test]
    fn too_many_shards_for_the_limit_fails() {
        let err = plan(64, 10 * MIB, false, Some(MIB as u64)).unwrap_err();
        assert_eq!(err.status, Status::Fail);
    }
}
