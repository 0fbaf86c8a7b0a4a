//! The catalog API: layers with their versions, and the reference tables.

use axum::extract::{Path, State};
use axum::Json;
use onemap_schemas::catalog::{self, Layer};
use onemap_schemas::reference::{Department, LandClass, Theme};

use super::Caller;
use crate::error::{ServerError, ServerResult};
use crate::state::AppState;

/// `GET /api/layers`: every layer the caller may see.
pub async fn layers_list(State(state): State<AppState>, Caller(who): Caller) -> Json<Vec<Layer>> {
    let catalog = state.catalog.get();
    Json(catalog.visible(&who).cloned().collect())
}

/// `GET /api/layers/{id}`.
pub async fn layer_get(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ServerResult<Json<Layer>> {
    state
        .catalog
        .get()
        .layer(&who, &id)
        .cloned()
        .map(Json)
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
