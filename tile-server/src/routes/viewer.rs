//! The viewer's files: `index.html` at `/`, `src/`, and MapLibre's ES modules from the
//! viewer's `node_modules` (installed with `npm ci`; nothing is bundled or committed); the
//! offline viewer at `/offline.html` with the `pmtiles` decoder and its `fflate`.

use std::path::Path;

use axum::Router;
use tower_http::services::{ServeDir, ServeFile};

pub fn router(viewer_dir: &Path) -> Router {
    Router::new()
        .route_service("/", ServeFile::new(viewer_dir.join("index.html")))
        .nest_service("/src", ServeDir::new(viewer_dir.join("src")))
        .nest_service(
            "/vendor/maplibre-gl",
            ServeDir::new(viewer_dir.join("node_modules/maplibre-gl/dist")),
        )
        .route_service(
            "/offline.html",
            ServeFile::new(viewer_dir.join("offline.html")),
        )
        .nest_service(
            "/vendor/pmtiles",
            ServeDir::new(viewer_dir.join("node_modules/pmtiles/dist/esm")),
        )
        .nest_service(
            "/vendor/fflate",
            ServeDir::new(viewer_dir.join("node_modules/fflate/esm")),
        )
}
