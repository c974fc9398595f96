//! Supervision of the data plane process: start it, restart it with backoff when it exits on
//! its own, and stop it (SIGTERM, then SIGKILL after a grace period) when the node stops.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use hecaton_shared::exit_code;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{oneshot, watch};
use tracing::{error, info, warn};

use crate::storage_node::config::DataPlaneConfig;

/// How long a data plane that finds its store or port held is retried before the node stops.
pub const CONTENDED_FOR: Duration = Duration::from_secs(10);

/// How to start the data plane.
#[derive(Debug, Clone)]
pub struct DataPlaneCommand {
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
}

/// What every role's data plane is started with.
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions<'a> {
    /// `storage` or `distributor`.
    pub role: &'a str,
    /// The `[dataplane]` table: the program (empty: this program's `dataplane serve`), memory.
    pub dataplane: &'a DataPlaneConfig,
    /// The store directory.
    pub store: &'a Path,
    /// The public listener.
    pub listen: SocketAddr,
    /// The control socket.
    pub socket: &'a Path,
    /// Upload memory, MiB.
    pub upload_memory_mib: usize,
    /// Shards (0: one per core).
    pub shards: usize,
}

impl DataPlaneCommand {
    /// `serve` with the options every role passes, then the role's own `extra`.
    pub fn serve(
        o: ServeOptions<'_>,
        extra: impl IntoIterator<Item = String>,
    ) -> std::io::Result<Self> {
        let (program, mut args) = if o.dataplane.program.is_empty() {
            let me = std::env::current_exe()?;
            (me, vec!["dataplane".to_string(), "serve".to_string()])
        } else {
            (
                PathBuf::from(&o.dataplane.program),
                vec!["serve".to_string()],
            )
        };
        args.extend([
            "--role".into(),
            o.role.into(),
            "--store".into(),
            o.store.display().to_string(),
            "--listen".into(),
            o.listen.to_string(),
            "--control-socket".into(),
            o.socket.display().to_string(),
            "--io-memory-mib".into(),
            o.dataplane.io_memory_mib.to_string(),
            "--upload-memory-mib".into(),
            o.upload_memory_mib.to_string(),
        ]);
        args.extend(extra);
        args.extend(o.dataplane.limit_args());
        if o.dataplane.allow_private_peers {
            args.push("--allow-private-peers".into());
        }
        if o.dataplane.pin_shards {
            args.push("--pin-shards".into());
        }
        if o.shards > 0 {
            args.extend(["--shards".into(), o.shards.to_string()]);
        }
        Ok(Self { program, args })
    }
}

/// Runs the data plane until `stop` turns true; returns once it has exited. A data plane that
/// already answers on `socket` (one this node started before its control plane was restarted,
/// or one started by hand) is attached to instead, and started anew only once it is gone.
/// A data plane that exits with a code that restarting cannot change (a configuration error,
/// an unfit host: `exit_code::is_permanent`) is not restarted: its code is sent on `fatal` and
/// the node stops with it. One that finds its store or port held by another process
/// (`exit_code::is_contended`: often a previous data plane still draining) is retried with
/// backoff for [`CONTENDED_FOR`], then given up the same way.
pub async fn supervise(
    command: DataPlaneCommand,
    socket: PathBuf,
    mut stop: watch::Receiver<bool>,
    fatal: oneshot::Sender<i32>,
) {
    let mut backoff = Duration::from_millis(500);
    let mut contended: Option<(i32, Instant)> = None;
    loop {
        if *stop.borrow() {
            return;
        }
        if tokio::net::UnixStream::connect(&socket).await.is_ok() {
            info!(socket = %socket.display(), "a data plane already runs on this socket; attaching to it");
            while tokio::net::UnixStream::connect(&socket).await.is_ok() {
                if sleep_or_stop(Duration::from_secs(2), &mut stop).await {
                    return;
                }
            }
            info!("the attached data plane is gone; starting one");
        }
        let started = Instant::now();
        let mut child = match spawn(&command) {
            Ok(c) => c,
            Err(e) => {
                error!(program = %command.program.display(), "cannot start the data plane: {e}");
                if sleep_or_stop(backoff, &mut stop).await {
                    return;
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        let exited = tokio::select! {
            status = child.wait() => Some(status),
            _ = stop.wait_for(|s| *s) => None,
        };
        let Some(status) = exited else {
            terminate(&mut child).await;
            return;
        };
        let code = status.as_ref().ok().and_then(|s| s.code());
        if let Some(code) = code.filter(|c| exit_code::is_permanent(*c)) {
            error!(
                code,
                "the data plane cannot start ({}); not restarting it",
                exit_code::describe(code)
            );
            let _ = fatal.send(code);
            return;
        }
        match code.filter(|c| exit_code::is_contended(*c)) {
            Some(code) => {
                let since = match contended {
                    Some((c, t)) if c == code => t,
                    _ => started,
                };
                if since.elapsed() >= CONTENDED_FOR {
                    error!(
                        code,
                        "the data plane cannot start ({}) after {} s of retries; giving up",
                        exit_code::describe(code),
                        since.elapsed().as_secs()
                    );
                    let _ = fatal.send(code);
                    return;
                }
                contended = Some((code, since));
            }
            None => contended = None,
        }
        let status = status
            .map(|s| s.to_string())
            .unwrap_or_else(|e| e.to_string());
        if started.elapsed() > Duration::from_secs(30) {
            backoff = Duration::from_millis(500);
        }
        warn!(%status, restart_in = ?backoff, "the data plane exited; restarting it");
        if sleep_or_stop(backoff, &mut stop).await {
            return;
        }
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

fn spawn(command: &DataPlaneCommand) -> std::io::Result<Child> {
    let mut child = Command::new(&command.program)
        .args(&command.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;
    if let Some(out) = child.stdout.take() {
        tokio::spawn(async move {
            let mut lines = BufReader::new(out).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                info!("data plane: {line}");
            }
        });
    }
    info!(pid = child.id(), "data plane started");
    Ok(child)
}

async fn terminate(child: &mut Child) {
    if let Some(pid) = child.id() {
        // SAFETY: `pid` is our own child, not yet reaped (we hold its handle); kill has no
        // memory-safety preconditions.
        unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    }
    match tokio::time::timeout(Duration::from_secs(30), child.wait()).await {
        Ok(status) => info!(?status, "data plane stopped"),
        Err(_) => {
            warn!("the data plane did not stop within 30 s; killing it");
            let _ = child.kill().await;
        }
    }
}

/// Sleeps `d`; `true` if the stop came first.
async fn sleep_or_stop(d: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => false,
        _ = stop.wait_for(|s| *s) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args_with(dataplane_toml: &str, shards: usize) -> Vec<String> {
        let dataplane: DataPlaneConfig = toml::from_str(dataplane_toml).unwrap();
        let o = ServeOptions {
            role: "storage",
            dataplane: &dataplane,
            store: Path::new("/s"),
            listen: "127.0.0.1:3333".parse().unwrap(),
            socket: Path::new("/s/dp.sock"),
            upload_memory_mib: 2,
            shards,
        };
        DataPlaneCommand::serve(o, []).unwrap().args
    }

    /// Shards are pinned only when the operator says so; the count is passed when set.
    #[test]
    fn the_data_plane_is_started_with_the_shards_as_configured() {
        let default = args_with("program = \"dp\"", 0);
        assert!(!default
            .iter()
            .any(|a| a == "--pin-shards" || a == "--shards"));
        let pinned = args_with("program = \"dp\"\npin_shards = true", 4);
        assert!(pinned.iter().any(|a| a == "--pin-shards"), "{pinned:?}");
        assert!(
            pinned.windows(2).any(|w| w == ["--shards", "4"]),
            "{pinned:?}"
        );
    }
}
