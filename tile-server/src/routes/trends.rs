//! `GET /api/trends/area` and `GET /api/trends/transitions`: area of each land class per survey
//! year, and the transition matrix between two years, inside a zone (`zone_layer=ID&zone=KEY`,
//! KEY a feature's fid or name; no zone: the whole extent). Both the land-use layer and the
//! zone layer are reached through the catalog's `layer(who, id)`: a layer the caller may not
//! see is a 404, like one that does not exist. `GET /api/changes` lists the change parcels
//! between two years in the zone, as GeoJSON or CSV.

use std::collections::HashMap;
use std::fmt::Write as _;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use onemap_schemas::authz::Principal;
use onemap_schemas::catalog::Catalog;
use onemap_trends::{Level, TrendQuery, TrendsError};

use super::{parse_year, Caller};
use crate::error::{ServerError, ServerResult};
use crate::state::AppState;

/// The query parameters both routes read.
pub(crate) const QUERY: &[&str] = &[
    "layer",
    "zone_layer",
    "zone",
    "from",
    "to",
    "level",
    "format",
];

pub async fn trends_area(
    State(state): State<AppState>,
    Caller(who): Caller,
    Query(q): Query<HashMap<String, String>>,
) -> ServerResult<Response> {
    let catalog = state.catalog.get();
    let query = trend_query(&catalog, &who, &q)?;
    let csv = wants_csv(&q)?;
    // Precomputes missing trend figures (derived tables): through the write pool.
    let mut conn = state.writer.get().await?;
    let series = onemap_trends::area_series(&mut conn, &query)
        .await
        .map_err(server_error)?;
    if !csv {
        return Ok(Json(series).into_response());
    }
    let mut out = String::from("year,class,area_m2\n");
    for p in &series.series {
        let _ = writeln!(out, "{},{},{}", p.year, csv_field(&p.class), p.area_m2);
    }
    Ok(csv_response(out))
}

pub async fn trends_transitions(
    State(state): State<AppState>,
    Caller(who): Caller,
    Query(q): Query<HashMap<String, String>>,
) -> ServerResult<Response> {
    let catalog = state.catalog.get();
    let query = trend_query(&catalog, &who, &q)?;
    let csv = wants_csv(&q)?;
    // Precomputes missing trend figures (derived tables): through the write pool.
    let mut conn = state.writer.get().await?;
    let matrix = onemap_trends::transitions(&mut conn, &query)
        .await
        .map_err(server_error)?;
    if !csv {
        return Ok(Json(matrix).into_response());
    }
    let mut out = String::from("from_year,to_year,from_class,to_class,area_m2\n");
    for c in &matrix.cells {
        let _ = writeln!(
            out,
            "{},{},{},{},{}",
            matrix.from,
            matrix.to,
            csv_field(&c.from_class),
            csv_field(&c.to_class),
            c.area_m2
        );
    }
    Ok(csv_response(out))
}

pub async fn changes_list(
    State(state): State<AppState>,
    Caller(who): Caller,
    Query(q): Query<HashMap<String, String>>,
) -> ServerResult<Response> {
    let catalog = state.catalog.get();
    let query = trend_query(&catalog, &who, &q)?;
    let csv = match q.get("format").map(String::as_str) {
        None | Some("") | Some("geojson") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ServerError::BadRequest(format!(
                "format must be geojson or csv, not {other:?}"
            )))
        }
    };
    // Precomputes missing trend figures (derived tables): through the write pool.
    let mut conn = state.writer.get().await?;
    let changes = onemap_trends::changes(&mut conn, &query)
        .await
        .map_err(server_error)?;
    if csv {
        let mut out =
            String::from("from_year,to_year,from_class,to_class,area_m2,from_fid,to_fid,wkt\n");
        for p in &changes.parcels {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{}",
                changes.from,
                changes.to,
                csv_field(&p.from_class),
                csv_field(&p.to_class),
                p.area_m2,
                p.from_fid,
                p.to_fid,
                csv_field(&p.wkt)
            );
        }
        return Ok(csv_response(out));
    }
    let features: Vec<serde_json::Value> = changes
        .parcels
        .iter()
        .map(|p| {
            serde_json::json!({
                "type": "Feature",
                "properties": {
                    "from_year": changes.from,
                    "to_year": changes.to,
                    "from_class": p.from_class,
                    "to_class": p.to_class,
                    "area_m2": p.area_m2,
                    "from_fid": p.from_fid,
                    "to_fid": p.to_fid,
                },
                "geometry": p.geometry,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({
        "type": "FeatureCollection",
        "from": changes.from,
        "to": changes.to,
        "features": features,
    }))
    .into_response())
}

/// The question the query string asks, with both layers authorized for `who`.
fn trend_query<'a>(
    catalog: &'a Catalog,
    who: &Principal,
    q: &'a HashMap<String, String>,
) -> ServerResult<TrendQuery<'a>> {
    let param = |name: &str| q.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let visible = |id: &str| {
        catalog
            .layer(who, id)
            .ok_or_else(|| ServerError::NotFound(format!("no layer {id:?}")))
    };
    let layer_id = param("layer")
        .ok_or_else(|| ServerError::BadRequest("layer is required: a land-use layer id".into()))?;
    let layer = visible(layer_id)?;
    let zone_layer = param("zone_layer").map(visible).transpose()?;
    let level = match param("level") {
        Some(l) => Level::parse(l).map_err(server_error)?,
        None => Level::Two,
    };
    Ok(TrendQuery {
        layer,
        zone_layer,
        zone: param("zone"),
        from: parse_year(param("from"))?,
        to: parse_year(param("to"))?,
        level,
    })
}

fn wants_csv(q: &HashMap<String, String>) -> ServerResult<bool> {
    match q.get("format").map(String::as_str) {
        None | Some("") | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(other) => Err(ServerError::BadRequest(format!(
            "format must be json or csv, not {other:?}"
        ))),
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn csv_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response()
}

/// Maps a trends error once: the caller's mistakes to 404/400, ours to 500 with the cause logged.
fn server_error(e: TrendsError) -> ServerError {
    if e.is_not_found() {
        return ServerError::NotFound(e.to_string());
    }
    if e.is_client_error() {
        return ServerError::BadRequest(e.to_string());
    }
    match e {
        TrendsError::Postgres { context, source } => {
            tracing::error!(context, "trends query failed");
            ServerError::Postgres(source)
        }
        other => ServerError::BadRequest(other.to_string()),
    }
}
