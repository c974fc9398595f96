//! Is io_uring available to this process? (`kernel.io_uring_disabled`, Linux 6.6+.)

use crate::check::Check;

const SYSCTL: &str = "/proc/sys/kernel/io_uring_disabled";

/// Reads `kernel.io_uring_disabled`: 0 allows everyone, 1 only root and `io_uring_group`,
/// 2 nobody. Kernels without the knob allow io_uring.
pub fn check_io_uring() -> Check {
    let value = std::fs::read_to_string(SYSCTL).ok();
    let by_sysctl = classify(value.as_deref().map(str::trim), is_root());
    if by_sysctl.status != crate::Status::Ok {
        return by_sysctl;
    }
    // The knob allows it; a seccomp filter (a container engine's default profile) may not.
    match probe() {
        Ok(()) => by_sysctl,
        Err(e) => blocked(e),
    }
}

/// Sets up (and closes) a one-entry ring: what the data plane's executors will do.
fn probe() -> std::io::Result<()> {
    // io_uring_params is 120 bytes; the kernel fills it in. Zeroed is a valid request.
    let mut params = [0u8; 120];
    // SAFETY: io_uring_setup(2) with a valid out-pointer to a zeroed io_uring_params-sized
    // buffer that lives for the call; the descriptor returned is closed below.
    let fd = unsafe { libc::syscall(libc::SYS_io_uring_setup, 1u32, params.as_mut_ptr()) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` is the ring descriptor just returned, closed once.
    unsafe { libc::close(fd as i32) };
    Ok(())
}

const SECCOMP_FIX: &str = "in a container, run with the profile that allows io_uring: \
     `--security-opt seccomp=deploy/docker/seccomp-io_uring.json` (Docker 25+, containerd and \
     podman block it by default); under systemd, add io_uring_setup, io_uring_enter and \
     io_uring_register to SystemCallFilter";

fn blocked(e: std::io::Error) -> Check {
    match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => Check::fail(
            "io_uring",
            format!("io_uring_setup is refused ({e}): a seccomp filter blocks it"),
            SECCOMP_FIX.into(),
        ),
        // Container engines' default profiles answer ENOSYS for syscalls they do not list.
        Some(libc::ENOSYS) => Check::fail(
            "io_uring",
            "io_uring_setup does not exist for this process: a seccomp filter hides it, or the \
             kernel has none (older than 5.1, or built without CONFIG_IO_URING)"
                .into(),
            format!("{SECCOMP_FIX}; otherwise run on Linux 5.8 or later with io_uring enabled"),
        ),
        _ => Check::fail(
            "io_uring",
            format!("io_uring_setup failed: {e}"),
            "check `hecaton tune check` as the node's user; the memlock limit may be too low"
                .into(),
        ),
    }
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
    fn this_host_sets_up_a_ring_and_a_refusal_names_seccomp() {
        probe().expect("io_uring works where the tests run");
        let c = blocked(std::io::Error::from_raw_os_error(libc::EPERM));
        assert_eq!(c.status, Status::Fail);
        assert!(c.fix.unwrap().contains("seccomp-io_uring.json"));
    }

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
