//! SIGHUP to a node (`systemctl reload`): passed on to its data plane, which reads its TLS
//! certificate and key again (`dataplane/src/tls/reload.rs`). Without this handler SIGHUP's
//! default action would end the control plane.

use std::path::PathBuf;

use tracing::{info, warn};

/// Forwards every SIGHUP to the data plane serving `store_dir` (its pid is in the store's
/// `LOCK`), until the process ends.
pub async fn forward_sighup(store_dir: PathBuf) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => return warn!("cannot handle SIGHUP: {e}"),
    };
    while hup.recv().await.is_some() {
        // The store's lock file is read off the runtime's workers.
        let dir = store_dir.clone();
        let pid = tokio::task::spawn_blocking(move || super::process_metrics::dataplane_pid(&dir))
            .await
            .ok()
            .flatten()
            .and_then(|p| p.parse::<i32>().ok());
        match pid {
            Some(pid) => {
                // SAFETY: kill(2) with a pid and a signal number; no memory is involved.
                let rc = unsafe { libc::kill(pid, libc::SIGHUP) };
                if rc == 0 {
                    info!(
                        pid,
                        "SIGHUP passed to the data plane (TLS certificate reload)"
                    );
                } else {
                    warn!(
                        pid,
                        "SIGHUP to the data plane: {}",
                        std::io::Error::last_os_error()
                    );
                }
            }
            None => warn!("SIGHUP: no data plane holds {}", store_dir.display()),
        }
    }
}
