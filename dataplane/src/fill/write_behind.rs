//! A fill's temp file written behind its fetch: each run of bytes the fetch keeps is handed to
//! a writer task on the same shard, which writes the runs in order and makes each readable
//! ([`Fill::advance`]) once it is written, while the fetch reads and checks the next run.
//!
//! The file goes through the page cache, and io_uring hands buffered ext4 writes to its
//! worker threads: the write of a run waited for another thread, and the fetch waited for the
//! write, so the socket was not read meanwhile (timed inside 16 MiB misses, 2026-12-07: 15-27
//! ms of a fill's 30-46 went to waiting for its own writes). The runs are moved, not copied.
//!
//! Memory: at most [`QUEUED`] runs wait while a batch of at most `QUEUED + 1` is written:
//! `2 × QUEUED + 1` runs of 272 KiB (1.9 MiB) per fill at most, `--max-concurrent-fills` of
//! them.

use std::io;
use std::rc::Rc;
use std::sync::Arc;

use futures_lite::future::poll_once;
use futures_util::future::join_all;
use glommio::channels::local_channel::{self, LocalSender};
use glommio::io::BufferedFile;
use glommio::Task;

use super::Fill;

/// Runs handed on that may wait behind the ones being written.
pub const QUEUED: usize = 3;

/// The writer of one round of a fill (its bytes from `from` on).
pub struct WriteBehind {
    queue: Option<LocalSender<Vec<u8>>>,
    writer: Option<Task<io::Result<()>>>,
}

impl std::fmt::Debug for WriteBehind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteBehind")
            .field("writing", &self.writer.is_some())
            .finish()
    }
}

impl WriteBehind {
    /// Starts writing runs into `file` at `from`, advancing `fill` as each is written.
    pub fn start(file: Rc<BufferedFile>, fill: Arc<Fill>, from: u64) -> Self {
        let (queue, runs) = local_channel::new_bounded::<Vec<u8>>(QUEUED);
        let writer = glommio::spawn_local(async move {
            if from == 0 {
                // The object's blocks at once, while the fetch opens (a write then only fills
                // pages: 16 MiB in 4.3 ms against 6.1 with dd here). Not every file system
                // can; its writes allocate as they go then.
                let _ = file.pre_allocate(fill.size, true).await;
            }
            let mut pos = from;
            while let Some(run) = runs.recv().await {
                // Every run waiting goes to the kernel at once: its worker writes them one
                // after the other without a round trip through the shard between them.
                let mut batch = vec![run];
                while let Some(Some(run)) = poll_once(runs.recv()).await {
                    batch.push(run);
                }
                let mut at = pos;
                let writes = batch.into_iter().map(|run| {
                    let start = at;
                    at += run.len() as u64;
                    write_run(&file, run, start)
                });
                for written in join_all(writes).await {
                    written?;
                }
                pos = at;
                fill.advance(pos);
            }
            Ok(())
        });
        Self {
            queue: Some(queue),
            writer: Some(writer),
        }
    }

    /// Hands `run` to the writer; waits while [`QUEUED`] runs wait already. An error is the
    /// writer's: it stopped at a failed write.
    pub async fn push(&mut self, run: Vec<u8>) -> io::Result<()> {
        let Some(queue) = &self.queue else {
            return Err(io::Error::other("the fill's writer was finished"));
        };
        if queue.send(run).await.is_ok() {
            // The writer and the viewers (on the serving queue) go before the fetch reads on.
            glommio::executor().yield_task_queue_now().await;
            return Ok(());
        }
        // The writer ended, which it does only after a failed write: its error.
        match self.finish().await {
            Err(e) => Err(e),
            Ok(()) => Err(io::Error::other("the fill's writer stopped")),
        }
    }

    /// Waits until every run handed on is written (and readable), and ends the writer: the
    /// first write that failed, if one did.
    pub async fn finish(&mut self) -> io::Result<()> {
        drop(self.queue.take());
        match self.writer.take() {
            Some(writer) => writer.await,
            None => Ok(()),
        }
    }
}

/// Writes `run` at `pos`. A short write (the disk filled up partway) is an error: the run's
/// buffer went to the kernel whole and is not handed back.
async fn write_run(file: &BufferedFile, run: Vec<u8>, pos: u64) -> io::Result<()> {
    let len = run.len();
    let n = file.write_at(run, pos).await?;
    if n != len {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("wrote {n} of {len} bytes at {pos}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::run;

    fn fill_of(path: &std::path::Path, size: u64) -> Arc<Fill> {
        let bag = "dynamic:channel:1".parse().unwrap();
        Arc::new(Fill::new(
            hecaton_shared::DataObjectId(1),
            bag,
            size,
            path.to_path_buf(),
        ))
    }

    #[test]
    fn runs_are_written_in_order_and_readable_only_once_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fill-1");
        let runs: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; 1000 + i as usize]).collect();
        let whole: Vec<u8> = runs.concat();
        let fill = fill_of(&path, whole.len() as u64);
        let f = fill.clone();
        let (p, total) = (path.clone(), whole.len() as u64);
        run(async move {
            let file = Rc::new(BufferedFile::create(&p).await.unwrap());
            let mut writer = WriteBehind::start(file.clone(), f.clone(), 0);
            let mut handed = 0u64;
            for r in runs {
                handed += r.len() as u64;
                writer.push(r).await.unwrap();
                assert!(
                    f.written() <= handed,
                    "nothing readable before it is handed on"
                );
            }
            writer.finish().await.unwrap();
            assert_eq!(f.written(), total, "every run readable once finished");
            // The object's blocks are taken up front without changing its size.
            assert_eq!(file.file_size().await.unwrap(), total);
            drop(writer);
            Rc::try_unwrap(file).unwrap().close().await.unwrap();
        });
        assert_eq!(std::fs::read(&path).unwrap(), whole);
        assert_eq!(fill.written(), whole.len() as u64);
    }

    #[test]
    fn a_failed_write_is_the_error_of_the_next_push_or_of_finish() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fill-1");
        std::fs::write(&path, b"").unwrap();
        let fill = fill_of(&path, 1 << 20);
        run(async move {
            // Opened read-only: every write fails.
            let file = Rc::new(BufferedFile::open(&path).await.unwrap());
            let mut writer = WriteBehind::start(file, fill.clone(), 0);
            let mut failed = None;
            for _ in 0..(QUEUED + 3) {
                if let Err(e) = writer.push(vec![7; 4096]).await {
                    failed = Some(e);
                    break;
                }
            }
            let failed = match failed {
                Some(e) => e,
                None => writer.finish().await.expect_err("the writes failed"),
            };
            assert!(!failed.to_string().is_empty());
            assert_eq!(fill.written(), 0, "nothing failed to write is readable");
            assert!(
                writer.push(vec![1]).await.is_err(),
                "a finished writer takes nothing"
            );
        });
    }
}
