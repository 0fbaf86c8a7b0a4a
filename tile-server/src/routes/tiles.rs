//! `GET /tiles/{layer}` (TileJSON) and `GET /tiles/{layer}/{z}/{x}/{y}?year=` (MVT).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use martin_tile_utils::TileCoord;
use onemap_schemas::authz::Principal;
use onemap_schemas::catalog::{Catalog, Layer, LayerVersion};
use serde_json::Value;

use super::{base_url, parse_year, Caller};
use crate::error::{ServerError, ServerResult};
use crate::state::AppState;
use crate::tiles::layer_tilejson;

const MVT: &str = "application/vnd.mapbox-vector-tile";

/// The authorized layer and the version a request means.
fn resolve<'a>(
    catalog: &'a Catalog,
    who: &Principal,
    id: &str,
    q: &HashMap<String, String>,
) -> ServerResult<(&'a Layer, &'a LayerVersion, Option<i32>)> {
    let layer = catalog
        .layer(who, id)
        .ok_or_else(|| ServerError::NotFound(format!("no layer {id:?}")))?;
    let year = parse_year(q.get("year").map(String::as_str))?;
    let version = layer.version(year).ok_or_else(|| {
        ServerError::NotFound(match year {
            Some(y) => format!("layer {id:?} has no version for {y}"),
            None => format!("layer {id:?} has no version yet"),
        })
    })?;
    Ok((layer, version, year))
}

pub async fn tilejson_get(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ServerResult<Json<Value>> {
    let catalog = state.catalog.get();
    let (layer, version, year) = resolve(&catalog, &who, &id, &q)?;
    Ok(Json(layer_tilejson(
        &base_url(&headers),
        layer,
        version,
        year,
    )))
}

pub async fn tile_get(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path((id, z, x, y)): Path<(String, u8, u32, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> ServerResult<Response> {
    // Accept `{y}.pbf` / `{y}.mvt` as well as a bare `{y}`.
    let y: u32 = y
        .trim_end_matches(".pbf")
        .trim_end_matches(".mvt")
        .parse()
        .map_err(|_| ServerError::BadRequest(format!("bad tile row {y:?}")))?;
    let xyz = TileCoord::new_checked(z, x, y)
        .filter(|_| z <= 24)
        .ok_or_else(|| ServerError::BadRequest(format!("no tile {z}/{x}/{y}")))?;
    let catalog = state.catalog.get();
    let (layer, version, _) = resolve(&catalog, &who, &id, &q)?;
    let data = state.tiles.tile(layer, version, xyz).await?;
    if data.is_empty() {
        return Ok((StatusCode::NO_CONTENT, [(header::CONTENT_TYPE, MVT)]).into_response());
    }
    Ok(([(header::CONTENT_TYPE, MVT)], data).into_response())
}
