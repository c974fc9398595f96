//! The exit code of a failed command: the first cause in the error's chain that names one
//! (`hecaton_shared::exit_code`, listed in `docs/exit-codes.md`), else 1.

use hecaton_controlplane::chain::ChainError;
use hecaton_controlplane::migrate::MigrateError;
use hecaton_controlplane::node::config::ConfigError;
use hecaton_controlplane::node::error::NodeError;
use hecaton_shared::exit_code;

/// The code for `e`.
pub fn code_of(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if cause.is::<super::migrate::LeftOut>() {
            return exit_code::MIGRATE_LEFT_OUT;
        }
        if cause.is::<ConfigError>()
            || cause.is::<MigrateError>()
            || cause.is::<super::util::InvalidBagId>()
        {
            return exit_code::CONFIG;
        }
        if let Some(ChainError::Transport { .. }) = cause.downcast_ref::<ChainError>() {
            return exit_code::CHAIN_UNREACHABLE;
        }
        match cause.downcast_ref::<NodeError>() {
            Some(NodeError::NoBuckets { .. }) => return exit_code::NO_BUCKETS,
            Some(NodeError::DataPlane { code, .. }) => return *code,
            Some(NodeError::OperatorApi { .. }) => return exit_code::ADDRESS_IN_USE,
            Some(NodeError::CaFile(_)) => return exit_code::CONFIG,
            _ => {}
        }
    }
    exit_code::FAILURE
}
