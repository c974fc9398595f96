//! What `hecaton tune check` advises beyond what the data plane needs to start: the network
//! stack's queues and buffers, the store's filesystem, transparent huge pages and the CPU
//! frequency governor. Each finding is a warning with the command that fixes it; none stops a
//! node.

use std::path::Path;

use crate::check::Check;

/// A sysctl the node wants at least `min` of, with the value to set.
struct Sysctl {
    key: &'static str,
    min: u64,
    set: u64,
    why: &'static str,
}

const SYSCTLS: &[Sysctl] = &[
    Sysctl {
        key: "net.core.somaxconn",
        min: 4096,
        set: 65535,
        why: "accept queue: bursts of new viewers are refused beyond it",
    },
    Sysctl {
        key: "net.ipv4.tcp_max_syn_backlog",
        min: 4096,
        set: 65535,
        why: "half-open connections queued during a burst",
    },
    Sysctl {
        key: "net.core.netdev_max_backlog",
        min: 16384,
        set: 65536,
        why: "packets queued per CPU before the stack drops them at high bandwidth",
    },
    Sysctl {
        key: "net.core.wmem_max",
        min: 16 << 20,
        set: 64 << 20,
        why: "largest send buffer: caps one connection's throughput on long, fast paths",
    },
    Sysctl {
        key: "net.core.rmem_max",
        min: 16 << 20,
        set: 64 << 20,
        why: "largest receive buffer: caps uploads and replication from far peers",
    },
];

/// Reads `/proc/sys/<key with dots as slashes>`: the last number of its value (`tcp_wmem`'s
/// maximum is its third field).
fn read_sysctl(key: &str) -> Option<u64> {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    let text = std::fs::read_to_string(path).ok()?;
    text.split_whitespace().last()?.parse().ok()
}

fn check_sysctls() -> Vec<Check> {
    SYSCTLS
        .iter()
        .map(|s| match read_sysctl(s.key) {
            None => Check::ok(
                "sysctl",
                format!("{} not readable here (a container?)", s.key),
            ),
            Some(v) if v >= s.min => Check::ok("sysctl", format!("{} = {v}", s.key)),
            Some(v) => Check::warn(
                "sysctl",
                format!("{} = {v} (below {}): {}", s.key, s.min, s.why),
                format!(
                    "sysctl -w {}={} && echo '{} = {}' > /etc/sysctl.d/60-hecaton-{}.conf",
                    s.key, s.set, s.key, s.set, s.key
                ),
            ),
        })
        .collect()
}

/// Transparent huge pages: `always` makes khugepaged compact memory behind a latency-sensitive
/// server's back; `madvise` leaves it to programs that ask.
fn check_thp() -> Check {
    let Ok(text) = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled") else {
        return Check::ok("thp", "transparent huge pages not configurable here".into());
    };
    classify_thp(&text)
}

fn classify_thp(text: &str) -> Check {
    if text.contains("[always]") {
        Check::warn(
            "thp",
            "transparent huge pages: always (compaction stalls show up as tail latency)".into(),
            "echo madvise > /sys/kernel/mm/transparent_hugepage/enabled (and \
             transparent_hugepage=madvise on the kernel command line)"
                .into(),
        )
    } else {
        Check::ok("thp", format!("transparent huge pages: {}", text.trim()))
    }
}

/// The CPU frequency governor: `performance` keeps the shards' cores at full clock.
fn check_governor() -> Check {
    let path = "/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor";
    match std::fs::read_to_string(path) {
        Err(_) => Check::ok(
            "governor",
            "no cpufreq control (a virtual machine, or fixed clock)".into(),
        ),
        Ok(g) if g.trim() == "performance" => Check::ok("governor", "performance".into()),
        Ok(g) => Check::warn(
            "governor",
            format!("CPU governor {} (cores slow down between bursts)", g.trim()),
            "cpupower frequency-set -g performance".into(),
        ),
    }
}

/// The mount holding `dir`, from /proc/self/mountinfo: (mount point, type, options).
fn mount_of(dir: &Path) -> Option<(String, String, String)> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let dir = std::fs::canonicalize(dir).ok()?;
    let mut best: Option<(String, String, String)> = None;
    for line in info.lines() {
        // id parent major:minor root mountpoint options ... - fstype source superoptions
        let (left, right) = line.split_once(" - ")?;
        let fields: Vec<&str> = left.split(' ').collect();
        let (point, options) = (fields.get(4)?, fields.get(5)?);
        let fstype = right.split(' ').next()?;
        if dir.starts_with(point) && best.as_ref().is_none_or(|b| point.len() >= b.0.len()) {
            best = Some((
                (*point).to_owned(),
                fstype.to_owned(),
                (*options).to_owned(),
            ));
        }
    }
    best
}

/// The store's filesystem: type, mount options, free space.
pub fn check_store(dir: &Path) -> Vec<Check> {
    let mut checks = Vec::new();
    let Some((point, fstype, options)) = mount_of(dir) else {
        return vec![Check::warn(
            "store",
            format!("{} does not exist (or its mount is unknown)", dir.display()),
            format!("mkdir -p {}", dir.display()),
        )];
    };
    checks.push(classify_fs(&point, &fstype, &options));
    if let Some((free, total)) = filesystem_bytes(dir) {
        let pct = free as f64 * 100.0 / total.max(1) as f64;
        let found = format!(
            "{point}: {:.1} GiB free of {:.1} GiB ({pct:.0}%)",
            free as f64 / (1u64 << 30) as f64,
            total as f64 / (1u64 << 30) as f64
        );
        checks.push(if pct < 10.0 {
            Check::warn(
                "space",
                found,
                "free space or grow the volume: uploads get 507 below the node's disk_reserve_mib"
                    .into(),
            )
        } else {
            Check::ok("space", found)
        });
    }
    checks
}

fn classify_fs(point: &str, fstype: &str, options: &str) -> Check {
    let found = format!("{point}: {fstype} ({options})");
    if matches!(fstype, "tmpfs" | "overlay" | "ramfs") {
        return Check::warn(
            "store",
            format!("{found}: not a disk; objects are lost at reboot or with the container"),
            "put store_dir on a dedicated ext4 or xfs volume (a container: mount a volume there)"
                .into(),
        );
    }
    if !options
        .split(',')
        .any(|o| o == "noatime" || o == "relatime")
    {
        return Check::warn(
            "store",
            format!("{found}: every read updates access times"),
            format!("mount -o remount,noatime {point} (and add noatime in /etc/fstab)"),
        );
    }
    if !matches!(fstype, "ext4" | "xfs" | "btrfs") {
        return Check::warn(
            "store",
            format!("{found}: untested filesystem"),
            "ext4 and xfs are what the store is tested on".into(),
        );
    }
    Check::ok("store", found)
}

/// (free for unprivileged writers, total) bytes of the filesystem holding `dir`.
pub fn filesystem_bytes(dir: &Path) -> Option<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: an all-zero statvfs is a valid value to be overwritten.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is NUL-terminated and `st` a valid out-pointer for the call.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    let unit = st.f_frsize as u64;
    Some((st.f_bavail as u64 * unit, st.f_blocks as u64 * unit))
}

/// Every advisory check, the store's when a directory is given.
pub fn advisories(store: Option<&Path>) -> Vec<Check> {
    let mut checks = check_sysctls();
    checks.push(check_thp());
    checks.push(check_governor());
    if let Some(dir) = store {
        checks.extend(check_store(dir));
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;

    #[test]
    fn findings_name_their_fix() {
        assert_eq!(classify_thp("[always] madvise never").status, Status::Warn);
        assert_eq!(classify_thp("always [madvise] never").status, Status::Ok);
        let tmp = classify_fs("/", "tmpfs", "rw,relatime");
        assert_eq!(tmp.status, Status::Warn);
        let atime = classify_fs("/data", "ext4", "rw,strictatime");
        assert!(atime.fix.unwrap().contains("noatime /data"));
        assert_eq!(classify_fs("/data", "xfs", "rw,noatime").status, Status::Ok);
    }

    #[test]
    fn this_host_reads() {
        let checks = advisories(Some(Path::new("/")));
        assert!(checks.iter().any(|c| c.name == "space"), "{checks:?}");
        assert!(read_sysctl("net.core.somaxconn").is_some());
    }
}
