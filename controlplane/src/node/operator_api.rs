//! Where a node's operator API listens: bound before anything else starts, so a port already
//! taken stops the node at once with the address named.

use std::net::SocketAddr;

use std::time::Duration;

use tokio::task::JoinSet;

use crate::http_server::ServerLimits;
use crate::node::error::NodeError;

/// Binds `addr`, serves `api` on it in `tasks` and says where; returns the bound address (the
/// port chosen when `addr` asked for port 0).
pub async fn serve(
    addr: SocketAddr,
    api: axum::Router,
    tasks: &mut JoinSet<()>,
) -> Result<SocketAddr, NodeError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| NodeError::OperatorApi { addr, source })?;
    let bound = listener.local_addr().unwrap_or(addr);
    tasks.spawn(crate::http_server::serve(
        listener,
        api,
        ServerLimits::OPERATOR,
        std::future::pending(),
        Duration::ZERO,
    ));
    println!("operator API on http://{bound}");
    Ok(bound)
}
