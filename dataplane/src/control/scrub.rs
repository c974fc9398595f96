//! The scrub: a storage node re-reads every stored object, at a low rate the operator sets
//! (Garage's "tranquility"), and checks it against its content id, building the object's tree
//! as it goes ([`hecaton_shared::bao::Outboarder`]).
//!
//! - Bytes that match: if the object has no outboard (stored by an earlier version, or one a
//!   crash lost), the tree just built is written: the scrub is also the outboards' backfill.
//! - Bytes that do not (a flipped bit on the disk, a truncated file): the file is moved into
//!   `quarantine/` (the last [`QUARANTINE_KEEP`] are kept for a look, older ones deleted), and
//!   the writer removes the object (reason `corrupt`), so no shard serves it again; the control
//!   plane, told of the removal, finds the object missing from its obligations and fetches it
//!   again from the bag's other holders. When it is published again it counts as repaired.
//!
//! One object at a time, on the control executor, reads of [`READ`] bytes by io_uring paced by a
//! token bucket; the position (pass, last object id) is saved to `scrub.state` every
//! [`SAVE_EVERY`], so a restart goes on where it was rather than starting the pass over.

use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use glommio::io::BufferedFile;
use hecaton_shared::bao::Outboarder;
use hecaton_shared::socket::{Removal, RemovalReason, Role};
use hecaton_shared::DataObjectId;
use serde::{Deserialize, Serialize};
use tracing::{error, info, warn};

use super::Ctx;
use crate::fetch::rate::RateLimit;
use crate::metrics::ScrubStats;
use crate::store::{outboard, unix_now, Published};

/// Bytes read at a time.
const READ: usize = 1 << 20;

/// How often the position is saved.
const SAVE_EVERY: Duration = Duration::from_secs(10);

/// Corrupt files kept in `quarantine/` (older ones are deleted): enough to look at, bounded.
pub const QUARANTINE_KEEP: usize = 16;

/// How long an idle scrub (between passes, or on an empty store) sleeps between looks.
const IDLE: Duration = Duration::from_secs(1);

/// The scrub's pace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScrubConfig {
    /// Bytes read per second (0: no scrub).
    pub bytes_per_sec: u64,
    /// From the start of one pass to the next.
    pub pass_every: Duration,
}

impl Default for ScrubConfig {
    /// 16 MiB/s (1.3 TiB a day, about 1% of a disk's sequential read), a pass a week at most.
    fn default() -> Self {
        Self {
            bytes_per_sec: 16 << 20,
            pass_every: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// Where a scrub is, saved across restarts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Position {
    /// Passes finished.
    passes: u64,
    /// The first object id the pass under way has yet to look at (`None`: no pass under way).
    next: Option<u64>,
    /// When the pass under way (or the last one) started, Unix seconds.
    started: u64,
    /// When the last pass finished, Unix seconds.
    last_end: u64,
    /// Objects checked in the pass under way.
    checked: u64,
    /// Objects in the store when it started.
    total: u64,
}

/// How one object's check ended.
#[derive(Debug, PartialEq, Eq)]
enum Checked {
    /// Its bytes match; whether an outboard was written for it.
    Good { outboard_written: bool },
    /// Its bytes do not match: set aside and removed.
    Corrupt,
    /// Its file is gone (the start-up check deals with that) or could not be read.
    Skipped,
}

/// Runs the scrub until the stop (storage nodes with a rate only).
pub(crate) async fn run(ctx: Rc<Ctx>) {
    let config = ctx.config.scrub;
    if ctx.config.role != Role::Storage || config.bytes_per_sec == 0 {
        return;
    }
    let stats = &ctx.views.metrics.scrub;
    stats
        .enabled
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let state_path = ctx.config.store.join("scrub.state");
    let mut pos = load(&state_path).await;
    publish_position(stats, &pos);
    let rate = RateLimit::new(config.bytes_per_sec);
    let mut saved_at = Instant::now();
    while !ctx.stopping() {
        let catalog = ctx.views.catalog();
        if pos.next.is_none() {
            let due = pos.started + config.pass_every.as_secs();
            if pos.passes > 0 && unix_now() < due || catalog.is_empty() {
                glommio::timer::sleep(IDLE).await;
                continue;
            }
            pos.next = Some(0);
            pos.started = unix_now();
            pos.checked = 0;
            pos.total = catalog.len() as u64;
            info!(
                objects = pos.total,
                pass = pos.passes + 1,
                "scrub pass started"
            );
        }
        let from = DataObjectId(pos.next.unwrap_or(0));
        match catalog.iter_from(from).next() {
            None => {
                pos.passes += 1;
                pos.next = None;
                pos.last_end = unix_now();
                info!(
                    pass = pos.passes,
                    checked = pos.checked,
                    "scrub pass finished"
                );
                save(&state_path, &pos).await;
                saved_at = Instant::now();
                publish_position(stats, &pos);
                // However short the pass, the next one starts a moment later at the soonest.
                glommio::timer::sleep(IDLE).await;
                continue;
            }
            Some(meta) => {
                let outcome = check(&ctx, catalog.path_of(meta.id), &meta, &rate).await;
                match outcome {
                    Checked::Good { outboard_written } => {
                        ScrubStats::add(&stats.checked, 1);
                        ScrubStats::add(&stats.bytes, meta.size);
                        if outboard_written {
                            ScrubStats::add(&stats.outboards_written, 1);
                        }
                    }
                    Checked::Corrupt => {
                        ScrubStats::add(&stats.checked, 1);
                        ScrubStats::add(&stats.bytes, meta.size);
                        ScrubStats::add(&stats.corrupt, 1);
                    }
                    Checked::Skipped => {}
                }
                // After the largest id possible, the pass is over (uncounted; no chain gets
                // there).
                pos.next = meta.id.0.checked_add(1);
                pos.checked += 1;
                if saved_at.elapsed() >= SAVE_EVERY {
                    save(&state_path, &pos).await;
                    saved_at = Instant::now();
                }
            }
        }
        publish_position(stats, &pos);
        // Reads of cached bytes complete without ever parking the task: let the writer and the
        // sessions on this executor run between objects.
        futures_lite::future::yield_now().await;
    }
    save(&state_path, &pos).await;
}

fn publish_position(stats: &ScrubStats, pos: &Position) {
    use std::sync::atomic::Ordering::Relaxed;
    stats.passes.store(pos.passes, Relaxed);
    stats.pass_checked.store(pos.checked, Relaxed);
    stats.pass_total.store(pos.total, Relaxed);
    stats.last_pass_end.store(pos.last_end, Relaxed);
}

/// Reads one object whole, paced, and acts on what it finds.
async fn check(ctx: &Ctx, path: PathBuf, meta: &Published, rate: &RateLimit) -> Checked {
    let file = match BufferedFile::open(&path).await {
        Ok(f) => f,
        Err(e) => {
            let e = std::io::Error::from(e);
            if e.kind() != std::io::ErrorKind::NotFound {
                warn!(id = %meta.id, "scrub cannot open the object: {e}");
            }
            return Checked::Skipped;
        }
    };
    let read = hash(&file, meta.size, rate, ctx).await;
    let _ = file.close().await;
    let (root, pairs, short) = match read {
        Ok(r) => r,
        Err(e) => {
            if !ctx.stopping() {
                warn!(id = %meta.id, "scrub cannot read the object: {e}");
            }
            return Checked::Skipped;
        }
    };
    if short || root.as_bytes() != meta.content_id.digest() {
        error!(
            id = %meta.id,
            size = meta.size,
            truncated = short,
            "scrub: the stored object does not match its content id; set aside, to be fetched again"
        );
        set_aside(ctx, &path, meta.id).await;
        return Checked::Corrupt;
    }
    let objects_dir = path.parent().unwrap_or(Path::new("."));
    let expected = hecaton_shared::bao::outboard_len(meta.size);
    if !outboard::kept(meta.size)
        || outboard::stored_len(objects_dir, meta.id).await == Some(expected)
    {
        return Checked::Good {
            outboard_written: false,
        };
    }
    match outboard::write(objects_dir, meta.id, meta.size, &pairs).await {
        Ok(()) => Checked::Good {
            outboard_written: true,
        },
        Err(e) => {
            warn!(id = %meta.id, "scrub could not write the object's outboard: {e}");
            Checked::Good {
                outboard_written: false,
            }
        }
    }
}

/// The object's tree and whether the file was shorter than its record.
async fn hash(
    file: &BufferedFile,
    size: u64,
    rate: &RateLimit,
    ctx: &Ctx,
) -> std::io::Result<(blake3::Hash, Vec<u8>, bool)> {
    let mut tree = Outboarder::new();
    let mut at = 0u64;
    while at < size {
        if ctx.stopping() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "stopping",
            ));
        }
        let want = ((size - at) as usize).min(READ);
        let wait = rate.take(want, Instant::now());
        if !wait.is_zero() {
            glommio::timer::sleep(wait).await;
        }
        let bytes = file.read_at(at, want).await?;
        if bytes.is_empty() {
            let (root, pairs) = tree.finish();
            return Ok((root, pairs, true));
        }
        tree.update(&bytes);
        at += bytes.len() as u64;
    }
    // A file longer than its record is not what was published either.
    let past = file.read_at(size, 1).await?;
    let (root, pairs) = tree.finish();
    Ok((root, pairs, !past.is_empty()))
}

/// Moves a corrupt object's file into `quarantine/` and has the writer remove the object.
async fn set_aside(ctx: &Ctx, path: &Path, id: DataObjectId) {
    let quarantine = ctx.config.store.join("quarantine");
    if let Ok(dir) = glommio::io::Directory::create(&quarantine).await {
        let _ = dir.close().await;
    }
    let to = quarantine.join(format!("{id}.{}", unix_now()));
    if let Err(e) = glommio::io::rename(path, &to).await {
        warn!(%id, "could not move the corrupt object aside: {e}");
    }
    prune_quarantine(&quarantine).await;
    // Shards drop their open descriptors of the bad file before the object can be published
    // again (a kept one would serve the bad bytes under the good object's name).
    ctx.views.purged.purge(id);
    ctx.set_aside.borrow_mut().insert(id);
    ctx.publisher.remove(vec![Removal {
        id,
        reason: RemovalReason::Corrupt,
    }]);
}

/// Deletes all but the newest [`QUARANTINE_KEEP`] files of `quarantine/` (names end in the Unix
/// time they were set aside).
async fn prune_quarantine(dir: &Path) {
    let Ok(mut names) = crate::store::list_names(dir).await else {
        return;
    };
    if names.len() <= QUARANTINE_KEEP {
        return;
    }
    let stamp = |n: &String| {
        n.rsplit('.')
            .next()
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(0)
    };
    names.sort_by_key(|n| std::cmp::Reverse(stamp(n)));
    for name in &names[QUARANTINE_KEEP..] {
        let _ = glommio::io::remove(dir.join(name)).await;
    }
}

async fn load(path: &Path) -> Position {
    let Ok(file) = BufferedFile::open(path).await else {
        return Position::default();
    };
    let bytes = file.read_at(0, 4096).await.map(|b| b.to_vec());
    let _ = file.close().await;
    bytes
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Saves the position (a temp file renamed over the old one; not synced: a lost position only
/// repeats some checks).
async fn save(path: &Path, pos: &Position) {
    let tmp = path.with_extension("tmp");
    let body = serde_json::to_vec(pos).expect("plain numbers serialize");
    let result = async {
        let file = BufferedFile::create(&tmp).await?;
        file.write_at(body, 0).await?;
        file.close().await?;
        glommio::io::rename(&tmp, path).await
    }
    .await;
    if let Err(e) = result {
        warn!("could not save the scrub's position: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_reads_back_and_a_damaged_one_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scrub.state");
        glommio::LocalExecutorBuilder::default()
            .spawn(move || async move {
                assert_eq!(load(&path).await, Position::default());
                let pos = Position {
                    passes: 3,
                    next: Some(77),
                    started: 10,
                    last_end: 9,
                    checked: 5,
                    total: 8,
                };
                save(&path, &pos).await;
                assert_eq!(load(&path).await, pos);
                let f = BufferedFile::create(&path).await.unwrap();
                f.write_at(b"{not json".to_vec(), 0).await.unwrap();
                f.close().await.unwrap();
                assert_eq!(load(&path).await, Position::default());
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
