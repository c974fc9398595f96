//! Resource limits: locked memory (io_uring buffer registration) and open files (connections).

use crate::check::Check;

/// A soft/hard rlimit pair; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// The soft limit, enforced now.
    pub soft: Option<u64>,
    /// The hard limit, the most the soft one can be raised to without privilege.
    pub hard: Option<u64>,
}

fn getrlimit(resource: libc::__rlimit_resource_t) -> Limit {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `rl` is a valid, writable rlimit struct.
    let rc = unsafe { libc::getrlimit(resource, &mut rl) };
    if rc != 0 {
        return Limit {
            soft: None,
            hard: None,
        };
    }
    let conv = |v: libc::rlim_t| (v != libc::RLIM_INFINITY).then_some(v);
    Limit {
        soft: conv(rl.rlim_cur),
        hard: conv(rl.rlim_max),
    }
}

/// `RLIMIT_MEMLOCK` of this process, in bytes.
pub fn memlock_limit() -> Limit {
    getrlimit(libc::RLIMIT_MEMLOCK)
}

/// Whether this process has `CAP_IPC_LOCK` in its effective set, which exempts io_uring buffer
/// registration from `RLIMIT_MEMLOCK`.
pub fn has_cap_ipc_lock() -> bool {
    const CAP_IPC_LOCK: u32 = 14;
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        })
        .is_some_and(|caps| caps & (1 << CAP_IPC_LOCK) != 0)
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and reports whether `connections`
/// sockets (plus a margin for files and rings) fit.
pub fn raise_nofile(connections: u64) -> Check {
    let before = getrlimit(libc::RLIMIT_NOFILE);
    if before.soft != before.hard {
        let rl = libc::rlimit {
            rlim_cur: before.hard.unwrap_or(libc::RLIM_INFINITY),
            rlim_max: before.hard.unwrap_or(libc::RLIM_INFINITY),
        };
        // SAFETY: `rl` is a valid rlimit struct; raising soft up to hard needs no privilege.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rl) };
    }
    check_nofile(connections)
}

pub(crate) fn check_nofile(connections: u64) -> Check {
    let limit = getrlimit(libc::RLIMIT_NOFILE);
    let wanted = connections + 1024;
    match limit.soft {
        Some(soft) if soft < wanted => Check::warn(
            "nofile",
            format!("open file limit {soft} is below {wanted} ({connections} connections + 1024 for files)"),
            format!("raise it: `ulimit -n {wanted}`, or LimitNOFILE={wanted} in the systemd unit"),
        ),
        soft => Check::ok(
            "nofile",
            format!(
                "open file limit {} covers {connections} connections",
                soft.map_or("unlimited".into(), |s| s.to_string())
            ),
        ),
    }
}
