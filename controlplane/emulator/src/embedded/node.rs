//! The embedded chain node: replays the log at start, then produces blocks on a dedicated thread
//! (the log is written with blocking, synced I/O) and publishes them to readers.
//!
//! Blocks come every `block_time`, empty or not, or in instant mode as soon as calls arrive.
//! A block's results are given out only after it is in the log and synced, so whatever a caller
//! was told survives a crash.

use std::path::PathBuf;
use std::sync::{mpsc, Arc, RwLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{oneshot, watch};

use super::block::{Block, BlockBody, BlockHash, ExtrinsicRecord};
use super::ledger::{Ledger, LedgerError};
use crate::runtime::{apply, Constants, DispatchError, Extrinsic, Profile, State};
pub use hecaton_vocabulary::block::Inclusion;

/// Most calls in one block; more wait for the next.
const MAX_EXTRINSICS_PER_BLOCK: usize = 10_000;

/// How the node runs.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Where the log lives.
    pub data_dir: PathBuf,
    /// Runtime profile (fixed at creation).
    pub profile: Profile,
    /// Time between blocks; `None`: instant mode (a block as soon as calls arrive).
    pub block_time: Option<Duration>,
    /// Calls for block 1 when the data directory is new (the `--bootstrap` network).
    pub bootstrap: Option<Vec<Extrinsic>>,
}

/// Why the node could not start or include a call.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The log could not be opened or written.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A bootstrap call failed: the bootstrap script and the runtime disagree.
    #[error("bootstrap call {index} ({call}) failed: {error}")]
    Bootstrap {
        /// Position in the bootstrap list.
        index: usize,
        /// The call, as JSON.
        call: String,
        /// Why.
        error: DispatchError,
    },
    /// The log replays to a different outcome than it had (a runtime change or corruption
    /// the checksums missed).
    #[error("block {0} does not replay: its parent hash does not match")]
    Replay(u64),
    /// The node is shutting down.
    #[error("the chain node is stopping")]
    Stopped,
}

/// The latest block and the state after it.
#[derive(Debug, Clone)]
pub struct Head {
    /// Block number (0 = genesis).
    pub number: u64,
    /// Its hash.
    pub hash: BlockHash,
    /// The state after it.
    pub state: State,
}

struct Submission {
    extrinsic: Extrinsic,
    reply: oneshot::Sender<Result<Inclusion, NodeError>>,
}

/// A running node: submit calls, read blocks and the head.
#[derive(Debug, Clone)]
pub struct Node {
    shared: Arc<Shared>,
    submit: mpsc::Sender<Submission>,
}

#[derive(Debug)]
struct Shared {
    constants: Constants,
    genesis_hash: BlockHash,
    block_time: Option<Duration>,
    blocks: RwLock<Vec<Arc<Block>>>,
    head: watch::Sender<Head>,
}

impl std::fmt::Debug for Submission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Submission").finish_non_exhaustive()
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Applies a body's calls to `state`; returns the records and the new state.
fn execute(
    constants: &Constants,
    state: &State,
    body: &BlockBody,
) -> (Vec<ExtrinsicRecord>, State) {
    let mut state = state.clone();
    let mut records = Vec::with_capacity(body.extrinsics.len());
    for extrinsic in &body.extrinsics {
        let applied = apply(constants, &state, extrinsic);
        state = applied.state;
        let (error, events) = match applied.outcome {
            Ok(events) => (None, events),
            Err(error) => (Some(error), Vec::new()),
        };
        records.push(ExtrinsicRecord {
            extrinsic: extrinsic.clone(),
            error,
            events,
        });
    }
    (records, state)
}

/// The chain's blocks and head, as a replay of a data directory yields them (used by `start`
/// and by tests that compare a replay with a live state).
pub struct Replayed {
    /// The constants of the directory's profile.
    pub constants: Constants,
    /// Hash of block 0.
    pub genesis_hash: BlockHash,
    /// Blocks 0..=head.
    pub blocks: Vec<Arc<Block>>,
    /// The head.
    pub head: Head,
}

impl std::fmt::Debug for Replayed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replayed")
            .field("head", &self.head.number)
            .finish_non_exhaustive()
    }
}

fn replay(
    genesis_bytes: &[u8],
    profile: Profile,
    bodies: Vec<(BlockBody, Vec<u8>)>,
) -> Result<Replayed, NodeError> {
    let constants = Constants::for_profile(profile);
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"hecaton-genesis");
    hasher.update(genesis_bytes);
    let genesis_hash = BlockHash(hasher.finalize().into());
    let mut state = State::genesis(&constants);
    let mut blocks = vec![Arc::new(Block {
        number: 0,
        hash: genesis_hash,
        parent_hash: BlockHash::default(),
        timestamp_ms: 0,
        extrinsics: Vec::new(),
    })];
    let mut hash = genesis_hash;
    for (body, encoded) in bodies {
        if body.parent_hash != hash {
            return Err(NodeError::Replay(body.number));
        }
        let (records, next) = execute(&constants, &state, &body);
        state = next;
        hash = BlockBody::hash_of(&encoded);
        blocks.push(Arc::new(Block {
            number: body.number,
            hash,
            parent_hash: body.parent_hash,
            timestamp_ms: body.timestamp_ms,
            extrinsics: records,
        }));
    }
    let head = Head {
        number: blocks.len() as u64 - 1,
        hash,
        state,
    };
    Ok(Replayed {
        constants,
        genesis_hash,
        blocks,
        head,
    })
}

/// Replays a data directory without starting a node (it must not be in use).
pub fn replay_dir(dir: &std::path::Path, profile: Profile) -> Result<Replayed, NodeError> {
    let opened = Ledger::open(dir, profile, now_ms())?;
    replay(&opened.genesis_bytes, opened.genesis.profile, opened.bodies)
}

struct Producer {
    shared: Arc<Shared>,
    ledger: Ledger,
    head: Head,
}

impl Producer {
    /// Executes, logs and publishes one block. Nothing changes if the log write fails.
    fn produce(&mut self, extrinsics: Vec<Extrinsic>) -> Result<Arc<Block>, NodeError> {
        let body = BlockBody {
            number: self.head.number + 1,
            parent_hash: self.head.hash,
            timestamp_ms: now_ms(),
            extrinsics,
        };
        let encoded = serde_json::to_vec(&body).expect("block body serializes");
        let (records, state) = execute(&self.shared.constants, &self.head.state, &body);
        self.ledger.append(&encoded)?;
        let block = Arc::new(Block {
            number: body.number,
            hash: BlockBody::hash_of(&encoded),
            parent_hash: body.parent_hash,
            timestamp_ms: body.timestamp_ms,
            extrinsics: records,
        });
        self.head = Head {
            number: block.number,
            hash: block.hash,
            state,
        };
        self.shared
            .blocks
            .write()
            .expect("blocks lock")
            .push(block.clone());
        self.shared.head.send_replace(self.head.clone());
        Ok(block)
    }

    fn run(mut self, submissions: mpsc::Receiver<Submission>) {
        let mut pending: Vec<Submission> = Vec::new();
        let mut next_tick = Instant::now() + self.shared.block_time.unwrap_or_default();
        loop {
            match self.shared.block_time {
                None => match submissions.recv() {
                    Ok(s) => pending.push(s),
                    Err(_) => return,
                },
                Some(block_time) => {
                    loop {
                        let wait = next_tick.saturating_duration_since(Instant::now());
                        match submissions.recv_timeout(wait) {
                            Ok(s) => pending.push(s),
                            Err(mpsc::RecvTimeoutError::Timeout) => break,
                            Err(mpsc::RecvTimeoutError::Disconnected) => return,
                        }
                    }
                    next_tick = Instant::now().max(next_tick) + block_time;
                }
            }
            while let Ok(s) = submissions.try_recv() {
                pending.push(s);
            }
            let take = pending.len().min(MAX_EXTRINSICS_PER_BLOCK);
            let batch: Vec<Submission> = pending.drain(..take).collect();
            let extrinsics = batch.iter().map(|s| s.extrinsic.clone()).collect();
            match self.produce(extrinsics) {
                Ok(block) => {
                    for (index, (submission, record)) in
                        batch.into_iter().zip(&block.extrinsics).enumerate()
                    {
                        let _ = submission.reply.send(Ok(Inclusion {
                            block: block.number,
                            block_hash: block.hash,
                            index,
                            error: record.error,
                            events: record.events.clone(),
                        }));
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "could not write a block; its calls are refused");
                    for submission in batch {
                        let _ = submission.reply.send(Err(NodeError::Stopped));
                    }
                }
            }
        }
    }
}

impl Node {
    /// Opens the data directory, replays it, bootstraps a new one if asked, and starts producing.
    pub fn start(config: NodeConfig) -> Result<Self, NodeError> {
        let opened = Ledger::open(&config.data_dir, config.profile, now_ms())?;
        let created = opened.created || opened.bodies.is_empty();
        let ledger = opened.ledger;
        let replayed = replay(&opened.genesis_bytes, opened.genesis.profile, opened.bodies)?;
        tracing::info!(
            head = replayed.head.number,
            dir = %config.data_dir.display(),
            "chain state replayed from the log"
        );
        let (head_tx, _) = watch::channel(replayed.head.clone());
        let shared = Arc::new(Shared {
            constants: replayed.constants,
            genesis_hash: replayed.genesis_hash,
            block_time: config.block_time,
            blocks: RwLock::new(replayed.blocks),
            head: head_tx,
        });
        let mut producer = Producer {
            shared: shared.clone(),
            ledger,
            head: replayed.head,
        };
        match (config.bootstrap, created) {
            (Some(calls), true) => {
                let trial = BlockBody {
                    number: 1,
                    parent_hash: producer.head.hash,
                    timestamp_ms: 0,
                    extrinsics: calls,
                };
                let (records, _) = execute(&shared.constants, &producer.head.state, &trial);
                if let Some((index, record)) =
                    records.iter().enumerate().find(|(_, r)| r.error.is_some())
                {
                    return Err(NodeError::Bootstrap {
                        index,
                        call: serde_json::to_string(&record.extrinsic.call).unwrap_or_default(),
                        error: record.error.expect("found an error"),
                    });
                }
                let block = producer.produce(trial.extrinsics)?;
                tracing::info!(
                    calls = block.extrinsics.len(),
                    "bootstrapped the network in block 1"
                );
            }
            (Some(_), false) => {
                tracing::info!("data directory already has blocks; not bootstrapping again")
            }
            (None, _) => {}
        }
        let (submit, submissions) = mpsc::channel();
        thread::Builder::new()
            .name("chain-producer".into())
            .spawn(move || producer.run(submissions))
            .expect("spawn the block producer");
        Ok(Self { shared, submit })
    }

    /// Submits a call and waits for the block that includes it.
    pub async fn submit(&self, extrinsic: Extrinsic) -> Result<Inclusion, NodeError> {
        let (reply, answer) = oneshot::channel();
        self.submit
            .send(Submission { extrinsic, reply })
            .map_err(|_| NodeError::Stopped)?;
        answer.await.map_err(|_| NodeError::Stopped)?
    }

    /// The latest block and state.
    pub fn head(&self) -> Head {
        self.shared.head.borrow().clone()
    }

    /// A receiver that wakes when a block is added.
    pub fn watch_head(&self) -> watch::Receiver<Head> {
        self.shared.head.subscribe()
    }

    /// Block `number`, if produced.
    pub fn block(&self, number: u64) -> Option<Arc<Block>> {
        let blocks = self.shared.blocks.read().expect("blocks lock");
        usize::try_from(number)
            .ok()
            .and_then(|n| blocks.get(n).cloned())
    }

    /// Blocks from `from` up to `from + limit` (exclusive), as far as produced.
    pub fn blocks_from(&self, from: u64, limit: usize) -> Vec<Arc<Block>> {
        let blocks = self.shared.blocks.read().expect("blocks lock");
        let start = usize::try_from(from)
            .unwrap_or(usize::MAX)
            .min(blocks.len());
        blocks[start..(start + limit).min(blocks.len())].to_vec()
    }

    /// The runtime constants.
    pub fn constants(&self) -> &Constants {
        &self.shared.constants
    }

    /// Block 0's hash.
    pub fn genesis_hash(&self) -> BlockHash {
        self.shared.genesis_hash
    }

    /// Time between blocks; `None` in instant mode.
    pub fn block_time(&self) -> Option<Duration> {
        self.shared.block_time
    }
}
