//! The control plane's HTTP listeners (the operator APIs, the embedded chain's API), held to
//! the same rules as the data plane's public port (issue 14, defect 14: `axum::serve` has no
//! head timeout, no request deadline and no connection cap, so one client could open
//! connections until the process ran out of descriptors, or hold one for ever):
//! - at most [`ServerLimits::max_connections`] connections; more are closed at once;
//! - a request head must arrive within [`ServerLimits::header_timeout`];
//! - a request (its body read and its handler run, up to the response head) must be done
//!   within [`ServerLimits::request_timeout`], else 503; a streamed response body (the chain's
//!   block stream) goes on after its head;
//! - an idle keep-alive connection is closed after the head timeout too (hyper starts that
//!   timer whenever it waits for a head, the first or the next; a streamed response is not
//!   idle).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::{debug, warn};

/// The bounds of one listener.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Time to receive a request head.
    pub header_timeout: Duration,
    /// Time from a request's head to its response's head.
    pub request_timeout: Duration,
}

impl ServerLimits {
    /// An operator API: a few dashboards and scrapers on loopback.
    pub const OPERATOR: ServerLimits = ServerLimits {
        max_connections: 256,
        header_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_secs(30),
    };

    /// The embedded chain's API: every node of a dev network follows its block stream, and a
    /// submission waits for its block.
    pub const CHAIN: ServerLimits = ServerLimits {
        max_connections: 1024,
        header_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_secs(60),
    };
}

/// Serves `router` on `listener` under `limits` until `shutdown` resolves; then stops accepting
/// and gives open connections `grace` before closing them.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) {
    let request_timeout = limits.request_timeout;
    let router = router.layer(axum::middleware::from_fn(
        move |req: Request, next: Next| deadline(req, next, request_timeout),
    ));
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning on the error.
                warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            debug!(%peer, "connection refused: at the connection cap");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        connections.spawn(async move {
            let _permit = permit;
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = conn.await {
                debug!(%peer, "connection ended: {e}");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        debug!("closing connections still open after the grace");
    }
}

/// Runs the rest of the stack for `req` within `limit` (the body is read inside it).
async fn deadline(req: Request, next: Next, limit: Duration) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({
                "error": "Timeout",
                "message": format!("the request was not completed within {limit:?}"),
            })),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Reads until the server closes the connection; what it sent, or `None` if it did not
    /// close within `within`.
    async fn until_closed(s: &mut tokio::net::TcpStream, within: Duration) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        tokio::time::timeout(within, s.read_to_end(&mut out))
            .await
            .ok()?
            .ok()?;
        Some(out)
    }

    #[tokio::test]
    async fn connections_are_capped_heads_and_requests_have_deadlines() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = Router::new().route("/ok", get(|| async { "ok" })).route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        );
        let limits = ServerLimits {
            max_connections: 2,
            header_timeout: Duration::from_millis(300),
            request_timeout: Duration::from_millis(400),
        };
        tokio::spawn(serve(
            listener,
            router,
            limits,
            std::future::pending(),
            Duration::ZERO,
        ));
        // Two silent connections take the cap; a third is closed at once.
        let mut a = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut b = tokio::net::TcpStream::connect(addr).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        assert_eq!(
            until_closed(&mut c, Duration::from_millis(200)).await,
            Some(Vec::new()),
            "over the cap"
        );
        // The silent ones are closed by the head timeout, which frees the cap.
        assert!(until_closed(&mut a, Duration::from_secs(2)).await.is_some());
        assert!(until_closed(&mut b, Duration::from_secs(2)).await.is_some());
        // A handler past the request deadline: 503, not a hang.
        let mut d = tokio::net::TcpStream::connect(addr).await.unwrap();
        d.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let answer = until_closed(&mut d, Duration::from_secs(2)).await.unwrap();
        assert!(
            answer.starts_with(b"HTTP/1.1 503"),
            "{}",
            String::from_utf8_lossy(&answer)
        );
        let mut e = tokio::net::TcpStream::connect(addr).await.unwrap();
        e.write_all(b"GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let answer = until_closed(&mut e, Duration::from_secs(2)).await.unwrap();
        assert!(answer.starts_with(b"HTTP/1.1 200"));
    }
}
