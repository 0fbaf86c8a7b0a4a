//! Onemap's HTTP server: the catalog API, vector tiles through martin-core's PostgreSQL
//! source, the MapLibre style of the one map, and the viewer's files.
//!
//! `app(state)` builds the router without a socket (tests call it with `oneshot`);
//! `serve(listener, state)` runs it on a listener bound beforehand, so tests can use port 0.

mod catalog_cache;
pub mod config;
mod error;
pub mod export;
mod routes;
mod sessions;
mod state;
mod style;
mod tiles;

use std::future::Future;

use axum::Router;
use tokio::net::TcpListener;

pub use config::ServerConfig;
pub use error::{ServerError, ServerResult};
pub use routes::{route_list, Guard, RouteInfo, UploadConfig};
pub use sessions::{SessionConfig, TrustedProxies, PRUNE_GRACE};
pub use state::{with_role, AppState, READ_ROLE, WRITE_ROLE};
pub use tiles::{DiskTierStats, TileCacheConfig};

/// The whole application's router.
pub fn app(state: AppState) -> Router {
    routes::router(state)
}

/// Serves `app(state)` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Expired sessions are deleted while the server runs.
    let pruning = sessions::spawn_prune(&state);
    // With the peer address, which the audit trail records as "from where".
    let service = app(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await;
    pruning.abort();
    served
}
