//! Why a node (either role) stopped, for `hecaton`'s exit code and message.

/// Why the node stopped.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The operator API could not listen.
    #[error("operator API on {addr}: {source}")]
    OperatorApi {
        /// The address.
        addr: std::net::SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The data plane program could not be found.
    #[error("cannot locate the data plane program: {0}")]
    Program(std::io::Error),
    /// No account to sign acceptances with.
    #[error("no transactor: set `transactor`, or give the Joystream key in [joystream]")]
    NoTransactor,
    /// The data plane exited with a code that restarting cannot change.
    #[error("the data plane cannot start: {what} (exit code {code}; see its log above)")]
    DataPlane {
        /// Its exit code (`hecaton_shared::exit_code`).
        code: u8,
        /// What the code means.
        what: &'static str,
    },
    /// The chain could not be read at start.
    #[error("cannot read the chain at start: {0}")]
    Chain(#[from] crate::chain::ChainError),
    /// `[dataplane] tls_ca_file` cannot be used.
    #[error("dataplane.tls_ca_file: {0}")]
    CaFile(#[from] crate::node::peer_http::CaFileError),
    /// The worker operates none of the selected buckets (or does not exist): a node for it
    /// would hold nothing. Colossus exits too.
    #[error("{role} worker {worker_id} operates none of the selected buckets{hint}")]
    NoBuckets {
        /// `storage` or `distribution`.
        role: &'static str,
        /// The configured worker.
        worker_id: u64,
        /// What to do about it.
        hint: String,
    },
}

impl NodeError {
    /// The data plane exited with `code`, which restarting cannot change.
    pub fn data_plane(code: i32) -> Self {
        NodeError::DataPlane {
            code: u8::try_from(code).unwrap_or(hecaton_shared::exit_code::FAILURE),
            what: hecaton_shared::exit_code::describe(code),
        }
    }
}
