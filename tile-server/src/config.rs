//! The server's settings.

use std::path::PathBuf;

/// Settings of the HTTP server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Connection string of the database (never logged: it may hold a password).
    pub database_url: String,
    /// Folder holding the viewer: `index.html`, `src/`, and `node_modules/maplibre-gl/`.
    pub viewer_dir: PathBuf,
    /// Connections in the read pool (tiles, features, catalog); the write pool (logins,
    /// changes, trend precomputation) gets half as many, 2 to 8.
    pub pool_size: usize,
    /// MiB of gzip-compressed tiles kept in memory; 0 disables the tile cache.
    pub tile_cache_mb: u64,
}

impl ServerConfig {
    /// The viewer folder when none is configured: `./viewer` if it exists, else the source tree's.
    pub fn default_viewer_dir() -> PathBuf {
        let local = PathBuf::from("viewer");
        if local.join("index.html").exists() {
            return local;
        }
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../viewer")
    }
}
