//! Finalized blocks from a given number on: the blocks up to the current finalized head are
//! read one by one, then each head the node announces (filling any gap). A task reads ahead
//! into a small channel; it ends when the stream is dropped or the connection fails, and the
//! failure is the stream's last item, so the follower retries and resumes from its own block.
//!
//! The follower resumes with a full read at the new head, which the state alone answers; the
//! operator metadata it would have learned from the events in between (see `operators`) is not
//! state, so those blocks are read for it first, back to the last block the directory saw
//! (at most [`MAX_REPLAY`] blocks: a node that prunes state may not have more).

use subxt::OnlineClient;
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::config::JoystreamConfig;
use super::events::storage_events;
use super::JoystreamClient;
use crate::chain::{BlockStream, ChainBlock, ChainError};
use hecaton_vocabulary::event::Event;

/// The most blocks read back for operator metadata after a gap.
pub const MAX_REPLAY: u64 = 20_000;

/// Blocks from `from` on.
pub fn follow(
    client: JoystreamClient,
    api: OnlineClient<JoystreamConfig>,
    from: u64,
) -> BlockStream {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        if let Err(e) = run(&client, &api, from, &tx).await {
            client.forget(&e).await;
            let _ = tx.send(Err(e)).await;
        }
    });
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

async fn run(
    client: &JoystreamClient,
    api: &OnlineClient<JoystreamConfig>,
    from: u64,
    tx: &mpsc::Sender<Result<ChainBlock, ChainError>>,
) -> Result<(), ChainError> {
    replay(client, api, from).await;
    let mut heads = api.stream_blocks().await.map_err(|e| client.transport(e))?;
    let mut next = from;
    loop {
        let head = match heads.next().await {
            Some(Ok(block)) => block.number(),
            Some(Err(e)) => return Err(client.transport(format!("finalized heads: {e}"))),
            None => return Err(client.transport("the finalized-head subscription ended")),
        };
        while next <= head {
            let block = read_block(client, api, next).await?;
            client.inner.directory.apply(next, &block.1);
            let events = block.1.into_iter().map(Event::Storage).collect();
            let item = ChainBlock {
                number: next,
                events,
            };
            if tx.send(Ok(item)).await.is_err() {
                return Ok(());
            }
            next += 1;
        }
    }
}

/// Blocks read at once by a scan (in order of application, see [`scan`]).
const SCAN_AHEAD: usize = 16;

/// How often a scan says how far it is.
const SCAN_PROGRESS: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads blocks `from`..=the finalized head for operator metadata (from an archive node: a
/// pruning node answers only recent blocks). At most `max_blocks`, the newest. Resumable: the
/// directory saves the block it is current to as it goes (every 600 blocks), and a scan starts
/// after it. Progress is logged every [`SCAN_PROGRESS`].
pub async fn scan(
    client: &JoystreamClient,
    api: &OnlineClient<JoystreamConfig>,
    from: u64,
    max_blocks: u64,
) -> Result<(), ChainError> {
    use futures_util::StreamExt;
    let directory = &client.inner.directory;
    let head = api
        .at_current_block()
        .await
        .map_err(|e| client.transport(e))?
        .block_number();
    let mut start = from.max(directory.block() + 1);
    if head.saturating_sub(start) > max_blocks {
        let skipped = start;
        start = head - max_blocks;
        warn!(
            "operator metadata scan: blocks {skipped}..{start} are not read (scan_max_blocks \
             is {max_blocks})"
        );
    }
    if start > head {
        return Ok(());
    }
    let total = head - start + 1;
    info!(
        from = start,
        to = head,
        blocks = total,
        "operator metadata scan started"
    );
    let began = std::time::Instant::now();
    let mut said = began;
    let mut reads = futures_util::stream::iter(start..=head)
        .map(|n| read_block(client, api, n))
        .buffered(SCAN_AHEAD);
    let mut done = 0u64;
    while let Some(read) = reads.next().await {
        let (number, events) = read?;
        directory.apply(number, &events);
        done += 1;
        if said.elapsed() >= SCAN_PROGRESS {
            said = std::time::Instant::now();
            let rate = done as f64 / began.elapsed().as_secs_f64().max(0.001);
            info!(
                at = number,
                done,
                total,
                blocks_per_sec = rate.round(),
                eta_secs = ((total - done) as f64 / rate.max(0.001)).round(),
                "operator metadata scan"
            );
        }
    }
    directory.save_now();
    info!(
        blocks = total,
        secs = began.elapsed().as_secs(),
        "operator metadata scan done"
    );
    Ok(())
}

/// Reads the blocks between the directory's last and `from` for their metadata events.
async fn replay(client: &JoystreamClient, api: &OnlineClient<JoystreamConfig>, from: u64) {
    let directory = &client.inner.directory;
    let last = directory.block();
    if last == 0 || last + 1 >= from {
        return;
    }
    let start = (last + 1).max(from.saturating_sub(MAX_REPLAY));
    if start > last + 1 {
        warn!(
            "operator metadata published in blocks {}..{start} is not read (too far back); \
             list endpoints that changed then in [joystream] endpoints",
            last + 1
        );
    }
    for number in start..from {
        match read_block(client, api, number).await {
            Ok((_, events)) => directory.apply(number, &events),
            Err(e) => {
                warn!("reading block {number} for operator metadata: {e}; skipping the rest");
                return;
            }
        }
    }
}

/// The `Storage` events of block `number`.
async fn read_block(
    client: &JoystreamClient,
    api: &OnlineClient<JoystreamConfig>,
    number: u64,
) -> Result<(u64, Vec<hecaton_vocabulary::event::StorageEvent>), ChainError> {
    let at = api
        .at_block(number)
        .await
        .map_err(|e| client.transport(format!("block {number}: {e}")))?;
    let events = at
        .events()
        .fetch()
        .await
        .map_err(|e| client.transport(format!("events of block {number}: {e}")))?;
    let decoded = storage_events(events.iter())
        .map_err(|e| client.transport(format!("block {number}: {e}")))?;
    Ok((number, decoded))
}
