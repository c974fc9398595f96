//! The control plane's side of the local socket: connect to the data plane (retrying while it
//! starts or restarts), shake hands, send the current obligations as a snapshot in parts, then a
//! delta for each new version, diffed against what was sent, and the replication and cleanup
//! work the sync task hands it. Acknowledgements and reports come back as [`LinkEvent`]s. A
//! broken session is logged and redone from a fresh snapshot.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hecaton_shared::socket::{
    encode, DataPlaneMetrics, FrameDecoder, FrameError, FromDataPlane, Report, Role, StoredObject,
    ToDataPlane, PROTOCOL_VERSION,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use super::obligations::{diff, snapshot_parts, Obligations};

/// Objects per snapshot part (a part is one frame, well below the frame cap).
const OBJECTS_PER_PART: usize = 20_000;

/// What the link tells the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    /// A session started.
    Connected {
        /// The data plane's shards.
        shards: usize,
    },
    /// The session ended.
    Disconnected {
        /// Why.
        reason: String,
    },
    /// The data plane applied placement as of this block.
    Applied(u64),
    /// The data plane stores these objects (an upload's with its bucket and bag).
    Stored(Vec<StoredObject>),
    /// Store totals.
    Usage {
        /// Objects.
        objects: u64,
        /// Bytes.
        bytes: u64,
    },
    /// The data plane's serving counters.
    Metrics(Box<DataPlaneMetrics>),
    /// A replication or cleanup report (inventory, fetch outcomes, removals).
    Sync(Report),
}

/// Why a session ended.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The socket failed or closed.
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    /// The data plane sent a bad frame.
    #[error("bad frame: {0}")]
    Frame(#[from] FrameError),
    /// The data plane refused the session.
    #[error("refused by the data plane: {0}")]
    Refused(String),
    /// The data plane did not follow the protocol.
    #[error("protocol: {0}")]
    Protocol(String),
}

/// Runs the link until the task is dropped; `commands` are sent as they come (after the
/// snapshot, within whichever session is up).
pub async fn run(
    socket: PathBuf,
    role: Role,
    mut obligations: watch::Receiver<Arc<Obligations>>,
    mut commands: mpsc::UnboundedReceiver<ToDataPlane>,
    events: mpsc::UnboundedSender<LinkEvent>,
) {
    let mut backoff = Duration::from_millis(100);
    let mut logged_waiting = false;
    loop {
        let stream = match UnixStream::connect(&socket).await {
            Ok(s) => s,
            Err(e) => {
                if !logged_waiting {
                    info!(socket = %socket.display(), "waiting for the data plane: {e}");
                    logged_waiting = true;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        logged_waiting = false;
        backoff = Duration::from_millis(100);
        let mut session = Session {
            stream,
            decoder: FrameDecoder::new(),
            out: Vec::new(),
        };
        let reason = match session
            .run(role, &mut obligations, &mut commands, &events)
            .await
        {
            Ok(()) => "closed".to_string(),
            Err(e) => e.to_string(),
        };
        warn!("data plane session ended: {reason}");
        let _ = events.send(LinkEvent::Disconnected { reason });
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

struct Session {
    stream: UnixStream,
    decoder: FrameDecoder,
    out: Vec<u8>,
}

impl Session {
    async fn run(
        &mut self,
        role: Role,
        obligations: &mut watch::Receiver<Arc<Obligations>>,
        commands: &mut mpsc::UnboundedReceiver<ToDataPlane>,
        events: &mpsc::UnboundedSender<LinkEvent>,
    ) -> Result<(), LinkError> {
        encode(
            &ToDataPlane::Hello {
                version: PROTOCOL_VERSION,
                role,
            },
            &mut self.out,
        );
        self.flush().await?;
        let welcome = tokio::time::timeout(Duration::from_secs(10), self.next())
            .await
            .map_err(|_| LinkError::Protocol("no answer to hello".into()))??;
        match welcome {
            FromDataPlane::Welcome {
                shards,
                applied_block,
                ..
            } => {
                info!(shards, ?applied_block, "connected to the data plane");
                let _ = events.send(LinkEvent::Connected { shards });
            }
            FromDataPlane::Refused { reason } => return Err(LinkError::Refused(reason)),
            other => {
                return Err(LinkError::Protocol(format!(
                    "expected welcome, got {other:?}"
                )))
            }
        }
        let mut sent = obligations.borrow_and_update().clone();
        self.snapshot(&sent).await?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            tokio::select! {
                changed = obligations.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    let next = obligations.borrow_and_update().clone();
                    if next.block > sent.block {
                        let changes = diff(&sent, &next);
                        encode(&ToDataPlane::Delta { block: next.block, changes }, &mut self.out);
                        self.flush().await?;
                        sent = next;
                    }
                }
                Some(command) = commands.recv() => {
                    encode(&command, &mut self.out);
                    while let Ok(more) = commands.try_recv() {
                        encode(&more, &mut self.out);
                    }
                    self.flush().await?;
                }
                n = self.stream.read(&mut buf) => {
                    let n = n?;
                    if n == 0 {
                        return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
                    }
                    self.decoder.extend(&buf[..n]);
                    while let Some(m) = self.decoder.decode::<FromDataPlane>()? {
                        forward(m, events)?;
                    }
                }
            }
        }
    }

    /// Sends `ob` as a snapshot, flushing each part as it is encoded (the data plane reads
    /// while it is sent), so the buffer holds one part, not the whole snapshot.
    async fn snapshot(&mut self, ob: &Obligations) -> Result<(), LinkError> {
        let block = ob.block;
        encode(
            &ToDataPlane::SnapshotBegin {
                block,
                globals: ob.globals.clone(),
                existing: ob.existing.as_deref().cloned(),
            },
            &mut self.out,
        );
        for bags in snapshot_parts(ob, OBJECTS_PER_PART) {
            encode(&ToDataPlane::SnapshotBags { block, bags }, &mut self.out);
            self.flush().await?;
        }
        encode(&ToDataPlane::SnapshotEnd { block }, &mut self.out);
        self.flush().await
    }

    async fn next(&mut self) -> Result<FromDataPlane, LinkError> {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(m) = self.decoder.decode()? {
                return Ok(m);
            }
            let n = self.stream.read(&mut buf).await?;
            if n == 0 {
                return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
            }
            self.decoder.extend(&buf[..n]);
        }
    }

    async fn flush(&mut self) -> Result<(), LinkError> {
        self.stream.write_all(&self.out).await?;
        self.out.clear();
        Ok(())
    }
}

fn forward(m: FromDataPlane, events: &mpsc::UnboundedSender<LinkEvent>) -> Result<(), LinkError> {
    let event = match m {
        FromDataPlane::Applied { block } => LinkEvent::Applied(block),
        FromDataPlane::Report(Report::Stored { objects }) => LinkEvent::Stored(objects),
        FromDataPlane::Report(Report::Usage { objects, bytes }) => {
            LinkEvent::Usage { objects, bytes }
        }
        FromDataPlane::Report(Report::Metrics(m)) => LinkEvent::Metrics(m),
        FromDataPlane::Report(other) => LinkEvent::Sync(other),
        FromDataPlane::Refused { reason } => return Err(LinkError::Refused(reason)),
        FromDataPlane::Welcome { .. } => return Err(LinkError::Protocol("second welcome".into())),
    };
    let _ = events.send(event);
    Ok(())
}
