//! The catalog API: layers with their versions, and the reference tables.

use axum::extract::{Path, State};
use axum::Json;
use onemap_schemas::catalog::{self, Layer};
use onemap_schemas::reference::{Department, LandClass, Theme};
use serde::Serialize;

use super::Caller;
use crate::error::{ServerError, ServerResult};
use crate::state::AppState;

/// A layer as the API shows it: the catalog entry plus where its tiles are.
#[derive(Serialize)]
pub struct LayerEntry {
    #[serde(flatten)]
    layer: Layer,
    /// TileJSON path of the layer.
    tiles: String,
}

impl From<&Layer> for LayerEntry {
    fn from(layer: &Layer) -> Self {
        Self {
            tiles: format!("/tiles/{}", layer.id),
            layer: layer.clone(),
        }
    }
}

/// `GET /api/layers`: every layer the caller may see.
pub async fn layers_list(
    State(state): State<AppState>,
    Caller(who): Caller,
) -> Json<Vec<LayerEntry>> {
    let catalog = state.catalog.get();
    Json(catalog.visible(&who).map(LayerEntry::from).collect())
}

/// `GET /api/layers/{id}`.
pub async fn layer_get(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ServerResult<Json<LayerEntry>> {
    state
        .catalog
        .get()
        .layer(&who, &id)
        .map(|l| Json(LayerEntry::from(l)))
        .ok_or_else(|| ServerError::NotFound(format!("no layer {id:?}")))
}

/// `GET /api/land-classes`.
pub async fn land_classes_list(
    State(state): State<AppState>,
) -> ServerResult<Json<Vec<LandClass>>> {
    let conn = state.pool.get().await?;
    Ok(Json(catalog::land_classes(&**conn).await?))
}

/// `GET /api/departments`.
pub async fn departments_list(
    State(state): State<AppState>,
) -> ServerResult<Json<Vec<Department>>> {
    let conn = state.pool.get().await?;
    Ok(Json(catalog::departments(&**conn).await?))
}

/// `GET /api/themes`.
pub async fn themes_list(State(state): State<AppState>) -> ServerResult<Json<Vec<Theme>>> {
    let conn = state.pool.get().await?;
    Ok(Json(catalog::themes(&**conn).await?))
}
