//! The viewer's files: `index.html` at `/`, `src/`, and MapLibre's ES modules from the
//! viewer's `node_modules` (installed with `npm ci`; nothing is bundled or committed).

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
}
