//! Every task queue of a shard and its shares, in one place. glommio runs a shard's queues by
//! weight when more than one has work, so background work gets its share of the core and never
//! more while serving is busy, and all of it when serving is idle.
//!
//! | queue | shares | latency | what runs there |
//! |---|---|---|---|
//! | default | 1000 | (glommio's default) | connections: serving and uploads |
//! | `replication` | `--replication-shares` (100) | not important | fetch attempts from peers |
//! | `fill` | 1000 | not important | a distributor's cache fills (viewers wait on them) |

use glommio::{Latency, Shares, TaskQueueHandle};

/// Shares of the default queue, where connections run (glommio's default).
pub const SERVE_SHARES: usize = 1000;

/// Default shares of the replication queue: a tenth of serving's under contention.
pub const REPLICATION_SHARES: usize = hecaton_shared::defaults::REPLICATION_SHARES;

/// A shard's queues besides the default one.
#[derive(Debug, Clone, Copy)]
pub struct Queues {
    /// Fetch attempts.
    pub replication: TaskQueueHandle,
    /// Cache fills.
    pub fill: TaskQueueHandle,
}

impl Queues {
    /// Creates the queues on the current executor.
    pub fn create(replication_shares: usize) -> Self {
        let ex = glommio::executor();
        Self {
            replication: ex.create_task_queue(
                Shares::Static(replication_shares.max(1)),
                Latency::NotImportant,
                "replication",
            ),
            fill: ex.create_task_queue(Shares::Static(SERVE_SHARES), Latency::NotImportant, "fill"),
        }
    }
}
