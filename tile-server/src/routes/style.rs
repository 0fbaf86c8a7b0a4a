//! `GET /style.json`: the MapLibre style of the one map, built from what the caller may see.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use onemap_schemas::catalog;
use serde_json::Value;

use super::{base_url, Caller};
use crate::error::ServerResult;
use crate::state::AppState;

pub async fn style_get(
    State(state): State<AppState>,
    Caller(who): Caller,
    headers: HeaderMap,
) -> ServerResult<Json<Value>> {
    let conn = state.pool.get().await?;
    let classes = catalog::land_classes(&**conn).await?;
    let cat = state.catalog.get();
    let layers: Vec<_> = cat.visible(&who).collect();
    Ok(Json(crate::style::one_map_style(
        &base_url(&headers),
        &layers,
        &classes,
    )))
}
