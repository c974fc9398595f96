//! The owner's side of a fill: fetch the object from the storage nodes of its bag, best first,
//! into the temp file through the page cache (readers on any shard see each write as soon as it
//! completes), resume from the next source with `Range` when one fails, verify, publish into
//! the store, and tell the cache. Bytes that do not hash to the content id are dropped, their
//! sources blamed, and the object fetched again from the others (once).

use std::collections::HashSet;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

use futures_channel::mpsc;
use glommio::io::{BufferedFile, OpenOptions};
use hecaton_shared::socket::{AttemptFailure, Report, Source};
use hecaton_shared::{ContentId, DataObjectId};
use tracing::{info, warn};

use super::write_behind::WriteBehind;
use super::{Fill, FillState};
use crate::cache::CacheEvent;
use crate::control::Publisher;
use crate::fetch::client::Peers;
use crate::fetch::transfer::{self, Attempt, Proven, Sink, Transfer};
use crate::store::media_type::{safe_media_type, sniff, SNIFF_LEN};
use crate::store::{temp, Digester, Expected};
use crate::views::Views;

/// Rounds over the sources: the second only after the first one's bytes did not verify.
const ROUNDS: usize = 2;

/// What a shard's fills need.
#[derive(Debug)]
pub struct FillEnv {
    /// The shard (its metrics slot).
    pub shard: usize,
    /// The store's temp directory.
    pub tmp_dir: PathBuf,
    /// Shared views.
    pub views: Arc<Views>,
    /// The store writer.
    pub publisher: Publisher,
    /// The cache manager on the control executor.
    pub events: mpsc::UnboundedSender<CacheEvent>,
    /// The shard's peers: limits, TLS, kept connections.
    pub peers: Rc<Peers>,
}

/// The temp file a fill writes (behind the fetch), with the digest of what it holds.
struct FillSink<'a> {
    fill: &'a Fill,
    writer: WriteBehind,
    digester: Digester,
}

impl Sink for FillSink<'_> {
    fn held(&self) -> u64 {
        self.digester.len()
    }

    async fn append(
        &mut self,
        bytes: &mut Vec<u8>,
        proven: Option<Proven<'_>>,
    ) -> std::io::Result<()> {
        // Taken, not copied: the writer writes it behind the fetch.
        let bytes = std::mem::take(bytes);
        if proven.is_none() {
            // Before the writer advances over them: a reader that sees these bytes written
            // sees them unproven.
            self.fill.unproven();
        }
        self.digester
            .update_proven(&bytes, proven.map_or(&[][..], |p| p.cvs));
        if self.fill.media_type.get().is_none() {
            let head = self.digester.head();
            if head.len() >= SNIFF_LEN || self.digester.len() == self.fill.size {
                self.fill.typed(sniff(head).as_str());
            }
        }
        self.writer.push(bytes).await
    }

    /// A Hecaton storage node names the type in the slice's head: viewers get their response
    /// head now, while the first bytes are checked and written, as from a proxy (a type that
    /// is not a player's becomes octet-stream, as a proxied response's does).
    fn peer_media_type(&mut self, media: &str) {
        self.fill.typed(safe_media_type(Some(media)));
    }
}

/// Runs `fill` to its end from `sources` (best first), then unregisters it.
pub async fn run(env: Rc<FillEnv>, fill: Arc<Fill>, content_id: ContentId, sources: Vec<Source>) {
    let _ = env.events.unbounded_send(CacheEvent::Filling {
        id: fill.id,
        size: fill.size,
    });
    env.views.metrics.fill(env.shard, None);
    let outcome = fetch(&env, &fill, content_id, &sources).await;
    let ok = outcome.is_ok();
    match outcome {
        Ok(()) => {
            info!(id = %fill.id, size = fill.size, millis = fill.started.elapsed().as_millis() as u64, "cache fill verified and stored");
            fill.finish(FillState::Verified);
        }
        Err(reason) => {
            warn!(id = %fill.id, "cache fill failed: {reason}");
            fill.finish(FillState::Failed);
            temp::remove(&fill.path).await;
        }
    }
    env.views.fills.remove(fill.id);
    env.views.metrics.fill(env.shard, Some(ok));
    let _ = env.events.unbounded_send(CacheEvent::FillEnded {
        id: fill.id,
        size: fill.size,
        stored: ok,
    });
}

async fn fetch(
    env: &FillEnv,
    fill: &Arc<Fill>,
    content_id: ContentId,
    sources: &[Source],
) -> Result<(), String> {
    let _lease = env.views.temps.lease(fill.path.clone());
    let file = create(&fill.path)
        .await
        .map_err(|e| format!("creating {}: {e}", fill.path.display()))?;
    let file = Rc::new(file);
    let mut blamed: HashSet<String> = HashSet::new();
    let mut last = String::from("no storage node holds the bag");
    for _ in 0..ROUNDS {
        let mut sink = FillSink {
            fill,
            writer: WriteBehind::start(file.clone(), fill.clone(), 0),
            digester: Digester::new(),
        };
        let mut contributors: Vec<String> = Vec::new();
        // Sources caught forging a group of a slice: skipped from the next round on.
        let mut caught: Vec<String> = Vec::new();
        let mut complete = false;
        // Our side failed (the disk) or the fill was stopped: the fill ends.
        let mut ended = None;
        for source in sources.iter().filter(|s| !blamed.contains(&s.endpoint)) {
            fill.source.store(Some(Arc::new(source.clone())));
            let before = sink.held();
            let attempt = Attempt {
                id: fill.id,
                size: fill.size,
                source,
                peers: &env.peers,
                rate: None,
                cancelled: &std::cell::Cell::new(false),
                root: Some(*content_id.digest()),
            };
            let views = &env.views;
            let result = transfer::receive(&mut sink, attempt, |n| {
                views.metrics.fill_bytes(env.shard, n)
            })
            .await;
            if sink.held() > before {
                contributors.push(source.endpoint.clone());
            }
            match result {
                Transfer::Complete => {
                    complete = true;
                    break;
                }
                Transfer::Failed(failure, reason) => {
                    last = format!("{}: {reason}", source.endpoint);
                    report_failure(env, fill.id, &source.endpoint, failure, &reason);
                    if failure == AttemptFailure::Corrupt {
                        warn!(id = %fill.id, source = %source.endpoint, "cache fill source forged a group; going on from the next source");
                        caught.push(source.endpoint.clone());
                    }
                }
                Transfer::Local(reason) => {
                    ended = Some(reason);
                    break;
                }
                Transfer::Cancelled => {
                    ended = Some("cancelled".into());
                    break;
                }
            }
        }
        // Every run handed on is written, and readable, before the bytes are judged.
        let written = sink.writer.finish().await;
        if let Some(reason) = ended {
            close(file).await;
            return Err(reason);
        }
        if let Err(e) = written {
            close(file).await;
            return Err(format!("writing the temp file: {e}"));
        }
        blamed.extend(caught);
        if !complete {
            close(file).await;
            return Err(format!("every source failed; last: {last}"));
        }
        let digest = sink.digester.finish();
        if digest.size == fill.size && digest.content_id == content_id {
            // The bytes are right: waiting clients get their last byte now, while the file is
            // made durable and published.
            fill.finish(FillState::Checked);
            let synced = file.fdatasync().await;
            close(file).await;
            synced.map_err(|e| format!("syncing the fill: {e}"))?;
            let expected = Expected {
                size: fill.size,
                content_id,
            };
            return env
                .publisher
                .publish(
                    fill.id,
                    fill.path.clone(),
                    digest,
                    expected,
                    (Some(fill.bag), None),
                )
                .await
                .map_err(|e| format!("publishing: {e}"));
        }
        warn!(id = %fill.id, sources = ?contributors, "cache fill does not match its content id; fetching again from other sources");
        for source in &contributors {
            report_failure(
                env,
                fill.id,
                source,
                AttemptFailure::Corrupt,
                "the bytes do not match the content id",
            );
            blamed.insert(source.clone());
        }
        last = "the bytes did not match the content id".into();
        fill.reset();
        file.truncate(0)
            .await
            .map_err(|e| format!("truncating the fill: {e}"))?;
    }
    close(file).await;
    Err(last)
}

/// Closes the fill's file (its writer, which shared it, has finished).
async fn close(file: Rc<BufferedFile>) {
    if let Ok(file) = Rc::try_unwrap(file) {
        let _ = file.close().await;
    }
}

/// Tells the control plane that `source` failed to send object `id` (a fill's attempt, or a
/// proxied range).
pub fn report_failure(
    env: &FillEnv,
    id: DataObjectId,
    source: &str,
    failure: AttemptFailure,
    reason: &str,
) {
    let _ = env
        .events
        .unbounded_send(CacheEvent::Report(Report::FetchAttemptFailed {
            id,
            source: source.to_string(),
            failure,
            reason: reason.to_string(),
        }));
}

/// Creates the temp file (a leftover of a crashed fill is replaced: no fill of the object runs).
async fn create(path: &std::path::Path) -> std::io::Result<BufferedFile> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .buffered_open(path)
        .await?;
    Ok(file)
}
