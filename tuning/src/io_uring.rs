//! Is io_uring available to this process? (`kernel.io_uring_disabled`, Linux 6.6+.)

use crate::check::Check;

const SYSCTL: &str = "/proc/sys/kernel/io_uring_disabled";

/// Reads `kernel.io_uring_disabled`: 0 allows everyone, 1 only root and `io_uring_group`,
/// 2 nobody. Kernels without the knob allow io_uring.
pub fn check_io_uring() -> Check {
    let value = std::fs::read_to_string(SYSCTL).ok();
    classify(value.as_deref().map(str::trim), is_root())
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn classify(value: Option<&str>, root: bool) -> Check {
    const FIX: &str =
        "run `sysctl -w kernel.io_uring_disabled=0` (and set it in /etc/sysctl.d/ to keep it)";
    match value {
        None => Check::ok(
            "io_uring",
            "enabled (kernel has no io_uring_disabled knob)".into(),
        ),
        Some("0") => Check::ok("io_uring", "enabled (kernel.io_uring_disabled=0)".into()),
        Some("1") if root => Check::ok(
            "io_uring",
            "restricted to privileged users (kernel.io_uring_disabled=1); running as root".into(),
        ),
        Some("1") => Check::fail(
            "io_uring",
            "restricted to root and kernel.io_uring_group (kernel.io_uring_disabled=1)".into(),
            format!("{FIX}, or add this user to the group named by kernel.io_uring_group"),
        ),
        Some(other) => Check::fail(
            "io_uring",
            format!("disabled (kernel.io_uring_disabled={other})"),
            FIX.into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;

    #[test]
    fn classification() {
        assert_eq!(classify(None, false).status, Status::Ok);
        assert_eq!(classify(Some("0"), false).status, Status::Ok);
        assert_eq!(classify(Some("1"), true).status, Status::Ok);
        assert_eq!(classify(Some("1"), false).status, Status::Fail);
        let off = classify(Some("2"), true);
        assert_eq!(off.status, Status::Fail);
        assert!(off.fix.unwrap().contains("io_uring_disabled=0"));
    }
}
