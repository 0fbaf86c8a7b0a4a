//! What every handler shares: the database pool (martin-core's, so tiles and API use the same
//! connections), the in-memory catalog, the tile sources and the viewer folder.

use std::path::PathBuf;
use std::sync::Arc;

use martin_core::tiles::postgres::PostgresPool;

use crate::catalog_cache::CatalogCache;
use crate::config::ServerConfig;
use crate::error::ServerResult;
use crate::sessions::{LoginLimiter, SessionConfig};
use crate::tiles::{TileCacheConfig, TileSources};

/// Shared state, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Reads (tiles, features, catalog, trends, audit): as `onemap_reader`, which may only
    /// SELECT (see [`with_role`]).
    pub(crate) pool: PostgresPool,
    /// Writes (logins, sessions, tokens, access and rule changes, the tile generalisation,
    /// the audit trail): a small pool as `onemap_writer`.
    pub(crate) writer: PostgresPool,
    pub(crate) sessions: Arc<SessionConfig>,
    pub(crate) login_limiter: Arc<LoginLimiter>,
    /// The Content-Security-Policy header, built once from the viewer's HTML.
    pub(crate) csp: axum::http::HeaderValue,
    pub(crate) catalog: CatalogCache,
    pub(crate) tiles: Arc<TileSources>,
    pub(crate) viewer_dir: PathBuf,
    /// Where uploaded files go and how large they may be.
    pub(crate) uploads: Arc<crate::routes::UploadConfig>,
}

impl AppState {
    /// Connects to the database, loads the catalog and starts listening for its changes.
    pub async fn new(config: &ServerConfig) -> ServerResult<Self> {
        Self::with_tile_cache(config, TileCacheConfig::from(config.tile_cache_mb)).await
    }

    /// As [`AppState::new`], with the tile cache `tile_cache` (memory and disk tiers; it
    /// replaces `config.tile_cache_mb`).
    pub async fn with_tile_cache(
        config: &ServerConfig,
        tile_cache: TileCacheConfig,
    ) -> ServerResult<Self> {
        let (read_url, write_url) = split_roles(&config.database_url).await?;
        let pool = PostgresPool::new(&read_url, None, None, None, config.pool_size).await?;
        let writer = PostgresPool::new(
            &write_url,
            None,
            None,
            None,
            (config.pool_size / 2).clamp(2, 8),
        )
        .await?;
        let catalog = CatalogCache::start(&config.database_url, pool.clone()).await?;
        let tiles = Arc::new(TileSources::new(pool.clone(), writer.clone(), tile_cache));
        // Cached tiles of versions superseded while the server was down go now, the others
        // as soon as the catalog changes.
        tiles.forget_superseded(&catalog.get()).await;
        // Each new land-use version gets its low-zoom generalisation built in the background
        // as soon as it is published, not when the first visitor zooms out.
        let mut versions = catalog.subscribe();
        let warm = tiles.clone();
        tokio::spawn(async move {
            while versions.changed().await.is_ok() {
                let snapshot = versions.borrow_and_update().clone();
                warm.prepare_newest(&snapshot);
                warm.forget_superseded(&snapshot).await;
            }
        });
        let sessions = SessionConfig::default();
        Ok(Self {
            pool,
            writer,
            login_limiter: Arc::new(LoginLimiter::new(
                sessions.login_failures,
                sessions.login_window,
            )),
            sessions: Arc::new(sessions),
            csp: crate::sessions::content_security_policy(&config.viewer_dir),
            catalog,
            tiles,
            viewer_dir: config.viewer_dir.clone(),
            uploads: Arc::default(),
        })
    }

    /// Stores uploads under `uploads` (`onemap serve`: the data folder's `uploads/`).
    #[must_use]
    pub fn with_uploads(mut self, uploads: crate::routes::UploadConfig) -> Self {
        self.uploads = Arc::new(uploads);
        self
    }

    /// The read pool (tiles, features, catalog), for tests that check what it may do.
    #[doc(hidden)]
    pub fn read_pool(&self) -> PostgresPool {
        self.pool.clone()
    }

    /// What the tile cache's disk tier did since start (none without one), for tests.
    #[doc(hidden)]
    pub fn disk_cache_stats(&self) -> Option<crate::tiles::DiskTierStats> {
        self.tiles.disk_cache_stats()
    }

    /// The same state with other session and login-limit settings (tests shorten the window).
    #[must_use]
    pub fn with_sessions(mut self, sessions: SessionConfig) -> Self {
        self.login_limiter = Arc::new(LoginLimiter::new(
            sessions.login_failures,
            sessions.login_window,
        ));
        self.sessions = Arc::new(sessions);
        self
    }

    /// Builds what the first visitor's view needs (the low-zoom generalisation of each
    /// land-use layer's newest version) and returns when it is ready. Kept in the database, so
    /// this is slow only once per version.
    pub async fn warm_up(&self) -> ServerResult<()> {
        self.tiles.ensure_newest(&self.catalog.get()).await
    }
}

/// The role of the read pool, which may only SELECT.
pub const READ_ROLE: &str = "onemap_reader";
/// The role of the write pool.
pub const WRITE_ROLE: &str = "onemap_writer";

/// The connection strings of the read and the write pool: `url` with the role each pool
/// assumes at connection start (`options=-c role=…`), when both roles exist and the login role
/// may assume them (V3 creates them, V11 grants them). Otherwise both pools use the login role
/// as it is, with a warning: the database then does not enforce the split.
async fn split_roles(url: &str) -> ServerResult<(String, String)> {
    let client = onemap_schemas::database::connect(url).await?;
    let members: i64 = client
        .query_one(
            include_str!("sql/roles_assumable.sql"),
            &[&READ_ROLE, &WRITE_ROLE],
        )
        .await?
        .get(0);
    if members == 2 {
        Ok((with_role(url, READ_ROLE), with_role(url, WRITE_ROLE)))
    } else {
        tracing::warn!(
            "the login role may not assume {READ_ROLE} and {WRITE_ROLE}: the server reads and \
             writes with the login role's privileges (grant both roles to it to fix this)"
        );
        Ok((url.to_owned(), url.to_owned()))
    }
}

/// `url` with `options=-c role=ROLE` added (key-value or URL form). `role` is one of the fixed
/// names above, so it needs no quoting.
pub fn with_role(url: &str, role: &str) -> String {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}options=-c%20role%3D{role}")
    } else {
        format!("{url} options='-c role={role}'")
    }
}
