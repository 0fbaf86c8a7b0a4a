//! `GET /tiles/{layers}` (TileJSON) and `GET /tiles/{layers}/{z}/{x}/{y}?year=` (MVT), where
//! `{layers}` is one layer id or several joined by commas (a composite tile, one MVT layer per
//! id, as martin does). Each id is authorized on its own; one the caller may not see makes the
//! whole request 404, as if it did not exist.
//!
//! Tiles carry a weak `ETag` (versions, coordinates, content hash) answered with 304, are sent
//! gzip-compressed when the client accepts it, and are `public` only if every layer is.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use martin_tile_utils::TileCoord;
use onemap_schemas::authz::Principal;
use onemap_schemas::catalog::{Catalog, Layer, LayerVersion};
use serde_json::Value;

use super::{base_url, parse_year, Caller};
use crate::error::{ServerError, ServerResult};
use crate::state::AppState;
use crate::tiles::{composite_tilejson, layer_tilejson, CachedTile};

const MVT: &str = "application/vnd.mapbox-vector-tile";
/// Most layers one composite request may name.
const MAX_LAYERS: usize = 16;
/// Clients and proxies may store tiles but must revalidate them (a 304 from memory) before
/// each use: the same URL shows a new version as soon as it is published.
const CACHE_PUBLIC: &str = "public, max-age=0, must-revalidate";
const CACHE_PRIVATE: &str = "private, max-age=0, must-revalidate";

/// The authorized layers and versions a request means, in request order.
fn resolve<'a>(
    catalog: &'a Catalog,
    who: &Principal,
    ids: &str,
    q: &HashMap<String, String>,
) -> ServerResult<(Vec<(&'a Layer, &'a LayerVersion)>, Option<i32>)> {
    let year = parse_year(q.get("year").map(String::as_str))?;
    let ids: Vec<&str> = ids.split(',').collect();
    if ids.len() > MAX_LAYERS {
        return Err(ServerError::BadRequest(format!(
            "at most {MAX_LAYERS} layers in one tile request"
        )));
    }
    let composite = ids.len() > 1;
    let mut out: Vec<(&Layer, &LayerVersion)> = Vec::with_capacity(ids.len());
    for id in ids {
        // Authorization first, for every layer: a layer the caller may not see does not exist.
        let layer = catalog
            .layer(who, id)
            .ok_or_else(|| ServerError::NotFound(format!("no layer {id:?}")))?;
        if out.iter().any(|(l, _)| l.id == layer.id) {
            return Err(ServerError::BadRequest(format!("layer {id:?} named twice")));
        }
        // In a composite request the year picks the survey year of the layers that have
        // years; a layer without dated versions (a boundary) shows its newest version.
        let undated = composite && layer.versions.iter().all(|v| v.year.is_none());
        let version = layer
            .version(if undated { None } else { year })
            .ok_or_else(|| {
                ServerError::NotFound(match year {
                    Some(y) => format!("layer {id:?} has no version for {y}"),
                    None => format!("layer {id:?} has no version yet"),
                })
            })?;
        out.push((layer, version));
    }
    Ok((out, year))
}

pub async fn tilejson_get(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ServerResult<Json<Value>> {
    let catalog = state.catalog.get();
    let (layers, year) = resolve(&catalog, &who, &id, &q)?;
    let base = base_url(&headers);
    Ok(Json(match layers.as_slice() {
        [(layer, version)] => layer_tilejson(&base, layer, version, year),
        _ => composite_tilejson(&base, &layers, year),
    }))
}

pub async fn tile_get(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path((id, z, x, y)): Path<(String, u8, u32, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
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
    let (layers, _) = resolve(&catalog, &who, &id, &q)?;
    let public = layers.iter().all(|(l, _)| l.access_level == "public");
    // Only now, with every layer authorized, may the cache be asked.
    let tile = state.tiles.tile(&layers, xyz).await?;
    respond(&tile, public, &headers)
}

/// The response for `tile` given the request's `If-None-Match` and `Accept-Encoding`.
fn respond(tile: &CachedTile, public: bool, request: &HeaderMap) -> ServerResult<Response> {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if public { CACHE_PUBLIC } else { CACHE_PRIVATE }),
    );
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(etag) = HeaderValue::from_str(&tile.etag) {
        headers.insert(header::ETAG, etag);
    }
    if none_match(request, &tile.etag) {
        return Ok((StatusCode::NOT_MODIFIED, headers).into_response());
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(MVT));
    if tile.raw_len == 0 {
        return Ok((StatusCode::NO_CONTENT, headers).into_response());
    }
    if accepts_gzip(request) {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        return Ok((headers, tile.gzip.clone()).into_response());
    }
    Ok((headers, tile.raw()?).into_response())
}

/// Whether `If-None-Match` names `etag` (weak comparison, as RFC 9110 asks for it).
fn none_match(request: &HeaderMap, etag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let ours = bare(etag);
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || bare(t) == ours)
}

/// Whether `Accept-Encoding` allows gzip (present and not `q=0`).
fn accepts_gzip(request: &HeaderMap) -> bool {
    request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn gzip_is_accepted_unless_refused() {
        assert!(accepts_gzip(&headers(&[(
            header::ACCEPT_ENCODING,
            "gzip, deflate, br"
        )])));
        assert!(accepts_gzip(&headers(&[(
            header::ACCEPT_ENCODING,
            "br;q=1.0, GZIP;q=0.5"
        )])));
        assert!(!accepts_gzip(&headers(&[(
            header::ACCEPT_ENCODING,
            "gzip;q=0"
        )])));
        assert!(!accepts_gzip(&headers(&[(
            header::ACCEPT_ENCODING,
            "identity"
        )])));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn if_none_match_compares_weakly_and_in_lists() {
        let tag = "W/\"v3-1-2-3-abcd\"";
        assert!(none_match(&headers(&[(header::IF_NONE_MATCH, tag)]), tag));
        assert!(none_match(
            &headers(&[(header::IF_NONE_MATCH, "\"x\", \"v3-1-2-3-abcd\"")]),
            tag
        ));
        assert!(none_match(&headers(&[(header::IF_NONE_MATCH, "*")]), tag));
        assert!(!none_match(
            &headers(&[(header::IF_NONE_MATCH, "W/\"v4-1-2-3-abcd\"")]),
            tag
        ));
        assert!(!none_match(&HeaderMap::new(), tag));
    }
}
