//! Serving the router outside Lambda (`exsync serve`, the integration tests): a plain
//! HTTP/1.1 listener that records each connection's peer address, which the
//! [`crate::IdentitySource::LocalHeader`] source needs to trust only loopback callers.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

/// Serves `router` on `listener` until `shutdown` completes (in-flight requests finish).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
