//! Finalized blocks from a given number on: the blocks up to the current finalized head are
//! read one by one, then each head the node announces (filling any gap). A task reads ahead
//! into a small channel; it ends when the stream is dropped or the connection fails, and the
//! failure is the stream's last item, so the follower retries and resumes from its own block.

use subxt::OnlineClient;
use tokio::sync::mpsc;

use super::config::JoystreamConfig;
use super::events::storage_events;
use super::JoystreamClient;
use crate::chain::{BlockStream, ChainBlock, ChainError};
use crate::runtime::Event;

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
            client.inner.directory.apply(&block.1);
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

/// The `Storage` events of block `number`.
async fn read_block(
    client: &JoystreamClient,
    api: &OnlineClient<JoystreamConfig>,
    number: u64,
) -> Result<(u64, Vec<crate::runtime::event::StorageEvent>), ChainError> {
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
