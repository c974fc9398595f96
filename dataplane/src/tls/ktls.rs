//! Kernel TLS: with the `tls` upper-layer protocol (`TCP_ULP`), the kernel encrypts records
//! itself once given the session keys, and `sendfile` works again on a TLS connection (nginx's
//! `ssl_conf_command Options KTLS`). Whether the running kernel offers it is probed once at
//! start on a loopback connection, and reported with the host checks.
//!
//! Records stay in user space either way, for now: handing rustls's keys over
//! (`dangerous_extract_secrets`, then `TLS_TX`/`TLS_RX` with the cipher's `tls12_crypto_info`)
//! is not written, because no kernel this project is built and tested on offers the module
//! (Debian 12's CI container and the developers' machine both answer `ENOENT`), and key
//! plumbing that no test runs is a defect waiting. The probe says when a host could use it.

use std::io;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;

/// `TCP_ULP` from `linux/tcp.h`.
const TCP_ULP: libc::c_int = 31;

/// What the probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Support {
    /// The kernel attached the `tls` ULP to a connection.
    Offered,
    /// It did not, and why (`ENOENT`: no `tls` module).
    Absent(String),
}

/// Tries to attach the `tls` ULP to a fresh loopback connection.
pub fn probe() -> Support {
    match try_attach() {
        Ok(()) => Support::Offered,
        Err(e) => Support::Absent(e.to_string()),
    }
}

fn try_attach() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let client = TcpStream::connect(listener.local_addr()?)?;
    let _server = listener.accept()?;
    let name = b"tls";
    // SAFETY: a valid socket descriptor and a buffer of the given length.
    let rc = unsafe {
        libc::setsockopt(
            client.as_raw_fd(),
            libc::SOL_TCP,
            TCP_ULP,
            name.as_ptr().cast(),
            name.len() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
