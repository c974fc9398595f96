//! The Prometheus families every node exports besides its role's own: `hecaton_build_info`,
//! both planes' process figures (resident memory, open descriptors, CPU seconds; read from
//! `/proc`, the data plane's pid from its store's `LOCK` file, so attached data planes count
//! too) and the store's filesystem (free and total bytes).

use std::path::{Path, PathBuf};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

/// The collector; `role` is `storage` or `distributor`.
#[derive(Debug)]
pub struct ProcessCollector {
    /// The node's role.
    pub role: &'static str,
    /// Its store (or cache) directory.
    pub store_dir: PathBuf,
}

/// One process's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessSample {
    /// Resident set, bytes.
    pub resident_bytes: u64,
    /// CPU time, user + system, seconds.
    pub cpu_seconds: f64,
    /// Open descriptors.
    pub open_fds: u64,
}

/// Reads `/proc/<pid>` (`self` for this process); `None` when it is gone or unreadable.
pub fn sample(pid: &str) -> Option<ProcessSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
    // Fields after the name, 0-based from `state`: utime 11, stime 12, rss 21 (pages).
    let ticks = clock_ticks();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let rss_pages: u64 = fields.get(21)?.parse().ok()?;
    let open_fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64;
    Some(ProcessSample {
        resident_bytes: rss_pages * page_size(),
        cpu_seconds: (utime + stime) as f64 / ticks,
        open_fds,
    })
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(p).unwrap_or(4096)
}

/// The data plane's pid, from the `pid N` its store's lock file holds.
pub fn dataplane_pid(store_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(store_dir.join("LOCK")).ok()?;
    let pid = text.trim().strip_prefix("pid ")?;
    pid.parse::<u32>().ok().map(|p| p.to_string())
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let mut family = encoder.encode_descriptor(
            "hecaton_build_info",
            "The running build: version, git revision, build profile, role (always 1)",
            None,
            MetricType::Gauge,
        )?;
        let labels = [
            ("version", env!("CARGO_PKG_VERSION")),
            ("revision", env!("HECATON_REVISION")),
            ("profile", env!("HECATON_PROFILE")),
            ("role", self.role),
        ];
        ConstGauge::new(1i64).encode(family.encode_family(&labels)?)?;

        let planes: Vec<(&str, ProcessSample)> = [
            ("control", sample("self")),
            (
                "data",
                dataplane_pid(&self.store_dir).and_then(|p| sample(&p)),
            ),
        ]
        .into_iter()
        .filter_map(|(plane, s)| s.map(|s| (plane, s)))
        .collect();
        let mut family = encoder.encode_descriptor(
            "hecaton_process_resident_memory",
            "Resident memory of each plane's process",
            Some(&prometheus_client::registry::Unit::Bytes),
            MetricType::Gauge,
        )?;
        for (plane, s) in &planes {
            let gauge = ConstGauge::new(s.resident_bytes as i64);
            gauge.encode(family.encode_family(&[("plane", *plane)])?)?;
        }
        let mut family = encoder.encode_descriptor(
            "hecaton_process_open_fds",
            "Open file descriptors of each plane's process",
            None,
            MetricType::Gauge,
        )?;
        for (plane, s) in &planes {
            let gauge = ConstGauge::new(s.open_fds as i64);
            gauge.encode(family.encode_family(&[("plane", *plane)])?)?;
        }
        let mut family = encoder.encode_descriptor(
            "hecaton_process_cpu",
            "CPU time (user + system) of each plane's process",
            Some(&prometheus_client::registry::Unit::Seconds),
            MetricType::Counter,
        )?;
        for (plane, s) in &planes {
            family
                .encode_family(&[("plane", *plane)])?
                .encode_counter::<(), _, u64>(&s.cpu_seconds, None)?;
        }
        if let Some((free, total)) = hecaton_tuning::filesystem_bytes(&self.store_dir) {
            let store = self.store_dir.display().to_string();
            for (name, help, v) in [
                (
                    "hecaton_store_filesystem_free",
                    "Free bytes (for unprivileged writers) of the store's filesystem",
                    free,
                ),
                (
                    "hecaton_store_filesystem_size",
                    "Size of the store's filesystem",
                    total,
                ),
            ] {
                let mut family = encoder.encode_descriptor(
                    name,
                    help,
                    Some(&prometheus_client::registry::Unit::Bytes),
                    MetricType::Gauge,
                )?;
                ConstGauge::new(v as i64)
                    .encode(family.encode_family(&[("store", store.as_str())])?)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_samples_itself() {
        let s = sample("self").expect("/proc/self");
        assert!(s.resident_bytes > 1 << 20, "{s:?}");
        assert!(s.open_fds >= 3, "{s:?}");
        assert!(s.cpu_seconds >= 0.0);
        assert!(sample("999999999").is_none());
    }
}
