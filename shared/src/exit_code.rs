//! The exit codes both binaries use, so that systemd, a container engine or a script can tell
//! what went wrong without reading the log, and a supervisor can tell a data plane that will
//! fail again (a locked store, a taken port) from one that crashed. Listed in
//! `docs/exit-codes.md`.

/// The command did what it was asked.
pub const OK: u8 = 0;
/// Any other failure (an I/O error, a bug); see the log.
pub const FAILURE: u8 = 1;
/// The command line or the configuration is wrong (clap's own usage errors are 2 too).
pub const CONFIG: u8 = 2;
/// The chain could not be reached at start (or answered garbage).
pub const CHAIN_UNREACHABLE: u8 = 3;
/// Another process holds the store's lock.
pub const STORE_LOCKED: u8 = 4;
/// The worker id operates none of the selected buckets (or does not exist).
pub const NO_BUCKETS: u8 = 5;
/// The listen address is taken or cannot be bound.
pub const ADDRESS_IN_USE: u8 = 6;
/// The host lacks what the data plane needs (io_uring, locked memory, file limit).
pub const HOST_UNFIT: u8 = 7;
/// `migrate` finished but left files out (listed in its report).
pub const MIGRATE_LEFT_OUT: u8 = 8;

/// Whether a data plane that exited with `code` would only fail the same way if restarted.
pub fn is_permanent(code: i32) -> bool {
    [CONFIG, HOST_UNFIT].iter().any(|c| i32::from(*c) == code)
}

/// Whether `code` says a resource is held by another process (the store, the port): for a
/// while that is a previous data plane still draining, so a supervisor retries before it
/// gives up.
pub fn is_contended(code: i32) -> bool {
    [STORE_LOCKED, ADDRESS_IN_USE]
        .iter()
        .any(|c| i32::from(*c) == code)
}

/// A one-line description of a code, for logs.
pub fn describe(code: i32) -> &'static str {
    match u8::try_from(code) {
        Ok(OK) => "success",
        Ok(FAILURE) => "failure",
        Ok(CONFIG) => "configuration error",
        Ok(CHAIN_UNREACHABLE) => "chain unreachable",
        Ok(STORE_LOCKED) => "store locked by another process",
        Ok(NO_BUCKETS) => "worker operates no bucket",
        Ok(ADDRESS_IN_USE) => "listen address in use",
        Ok(HOST_UNFIT) => "host unfit for the data plane",
        Ok(MIGRATE_LEFT_OUT) => "migration left files out",
        _ => "unknown exit code",
    }
}
