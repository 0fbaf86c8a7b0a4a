//! What every handler shares: the database pool (martin-core's, so tiles and API use the same
//! connections), the in-memory catalog, the tile sources and the viewer folder.

use std::path::PathBuf;
use std::sync::Arc;

use martin_core::tiles::postgres::PostgresPool;

use crate::catalog_cache::CatalogCache;
use crate::config::ServerConfig;
use crate::error::ServerResult;
use crate::tiles::TileSources;

/// Shared state, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub(crate) pool: PostgresPool,
    pub(crate) catalog: CatalogCache,
    pub(crate) tiles: Arc<TileSources>,
    pub(crate) viewer_dir: PathBuf,
}

impl AppState {
    /// Connects to the database, loads the catalog and starts listening for its changes.
    pub async fn new(config: &ServerConfig) -> ServerResult<Self> {
        let pool =
            PostgresPool::new(&config.database_url, None, None, None, config.pool_size).await?;
        let catalog = CatalogCache::start(&config.database_url, pool.clone()).await?;
        let tiles = Arc::new(TileSources::new(pool.clone(), config.tile_cache_mb));
        // Each new land-use version gets its low-zoom generalisation built in the background
        // as soon as it is published, not when the first visitor zooms out.
        let mut versions = catalog.subscribe();
        let warm = tiles.clone();
        tokio::spawn(async move {
            while versions.changed().await.is_ok() {
                let snapshot = versions.borrow_and_update().clone();
                warm.prepare_newest(&snapshot);
            }
        });
        Ok(Self {
            pool,
            catalog,
            tiles,
            viewer_dir: config.viewer_dir.clone(),
        })
    }

    /// Builds what the first visitor's view needs (the low-zoom generalisation of each
    /// land-use layer's newest version) and returns when it is ready. Kept in the database, so
    /// this is slow only once per version.
    pub async fn warm_up(&self) -> ServerResult<()> {
        self.tiles.ensure_newest(&self.catalog.get()).await
    }
}
